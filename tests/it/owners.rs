//! Owners (issue 23, point 4): with `--organization`, every finding names its account and the
//! account's organizational unit path, read from moto's Organizations once per run, in every
//! output; suppressions match on the path; a collected or merged inventory keeps them.
use crate::common;

use aws_sdk_organizations::Client;
use common::aws::Aws;
use common::moto::ACCOUNT;
use common::proxy::{Fault, Faults, Persistent};
use common::seed::{self, Group};
use serde_json::Value;

/// The organization the tests read: the management account (`master`) under the root,
/// `payments` in Root/Workloads/Prod, `playground` in Root/Sandbox.
struct Org {
    payments: String,
    playground: String,
    sandbox_ou: String,
}

async fn organization(aws: &Aws) -> Org {
    let east = aws.config("us-east-1").await;
    let org = Client::new(&east);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let root = org.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_string();
    let ou = |parent: String, name: &'static str| {
        let org = org.clone();
        async move {
            org.create_organizational_unit()
                .parent_id(parent)
                .name(name)
                .send()
                .await
                .unwrap()
                .organizational_unit()
                .unwrap()
                .id()
                .unwrap()
                .to_string()
        }
    };
    let workloads = ou(root.clone(), "Workloads").await;
    let prod = ou(workloads, "Prod").await;
    let sandbox = ou(root.clone(), "Sandbox").await;
    let account = |name: &'static str, into: String| {
        let (org, root) = (org.clone(), root.clone());
        async move {
            let id = org
                .create_account()
                .email(format!("{name}@example.com"))
                .account_name(name)
                .send()
                .await
                .unwrap()
                .create_account_status
                .unwrap()
                .account_id
                .unwrap();
            org.move_account()
                .account_id(&id)
                .source_parent_id(root)
                .destination_parent_id(into)
                .send()
                .await
                .unwrap();
            id
        }
    };
    let payments = account("payments", prod).await;
    let playground = account("playground", sandbox.clone()).await;

    // A deployment in each account that fails `multi-az`.
    for (account, id) in [
        (ACCOUNT.to_string(), "orders"),
        (payments.clone(), "ledger"),
        (playground.clone(), "scratch"),
    ] {
        let cfg = if account == ACCOUNT {
            aws.config("us-east-1").await
        } else {
            aws.config_in_account(&account, "us-east-1").await
        };
        let net = seed::network(&cfg, "subnets", "10.7.0.0/16", false).await;
        let sg = seed::security_group(&cfg, &net.vpc_id, "cache", vec![]).await;
        let group = Group {
            multi_az: false,
            failover: false,
            ..Group::compliant(id, &sg, &net.subnet_group)
        };
        seed::replication_group(&cfg, &group).await;
    }
    Org {
        payments,
        playground,
        sandbox_ou: sandbox,
    }
}

const SUPPRESSIONS: &str = "suppressions:
  - rule: '*'
    resource: '*'
    ou: Root/Sandbox/*
    reason: sandboxes hold no customer data
";

fn scan(aws: &Aws, extra: &[&str]) -> common::cli::Run {
    let mut args = vec![
        "--organization",
        "--role-name",
        "ecaudit-audit",
        "--regions",
        "us-east-1",
        "--max-attempts",
        "2",
        "--exit-zero",
    ];
    args.extend_from_slice(extra);
    aws.live("scan", &args)
}

/// The `multi-az` finding of deployment `id` in a result document.
fn multi_az<'d>(doc: &'d Value, id: &str) -> &'d Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "multi-az" && f["resource_id"] == id)
        .unwrap_or_else(|| panic!("no multi-az finding of {id}"))
}

/// (account_name, ou_path, status) of each deployment's `multi-az` finding.
fn owners(doc: &Value) -> Vec<(Value, Value, Value)> {
    ["orders", "ledger", "scratch"]
        .iter()
        .map(|id| {
            let f = multi_az(doc, id);
            (
                f["account_name"].clone(),
                f["ou_path"].clone(),
                f["status"].clone(),
            )
        })
        .collect()
}

fn expected_owners() -> Vec<(Value, Value, Value)> {
    let row = |name: &str, path: &str, status: &str| (name.into(), path.into(), status.into());
    vec![
        row("master", "Root", "fail"),
        row("payments", "Root/Workloads/Prod", "fail"),
        row("playground", "Root/Sandbox", "suppressed"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn findings_name_their_account_and_ou_in_every_output_read_once_per_run() {
    let aws = Aws::behind_proxy(Faults::none());
    let org = organization(&aws).await;
    std::fs::write(aws.path("suppressions.yaml"), SUPPRESSIONS).unwrap();
    let run = scan(
        &aws,
        &[
            "--suppressions",
            "suppressions.yaml",
            "--format",
            "json",
            "--output",
            "scan.json",
            "--output-format",
            "csv=scan.csv",
            "--output-format",
            "sarif=scan.sarif",
            "--output-format",
            "ocsf=scan.ocsf",
        ],
    );
    run.expect(0);
    let doc = aws.json("scan.json");
    assert_eq!(doc["summary"]["coverage_gaps"], 0, "{}", doc["coverage"]);

    // JSON: every finding of each account names it; the suppression held for the sandbox only.
    assert_eq!(owners(&doc), expected_owners());
    for f in doc["findings"].as_array().unwrap() {
        let (name, path) = match f["account_id"].as_str().unwrap() {
            a if a == ACCOUNT => ("master", "Root"),
            a if a == org.payments => ("payments", "Root/Workloads/Prod"),
            a if a == org.playground => ("playground", "Root/Sandbox"),
            other => panic!("unexpected account {other}"),
        };
        assert_eq!(
            (f["account_name"].as_str(), f["ou_path"].as_str()),
            (Some(name), Some(path))
        );
        if path == "Root/Sandbox" {
            assert_ne!(
                f["status"], "fail",
                "a sandbox finding escaped the suppression: {f}"
            );
        }
    }
    let entry = &doc["waivers"]["suppressions"][0];
    assert_eq!(
        (&entry["ou"], &entry["state"]),
        (&"Root/Sandbox/*".into(), &"active".into())
    );

    // CSV: the last two columns.
    let csv = std::fs::read_to_string(aws.path("scan.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header[header.len() - 2..], ["account_name", "ou_path"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = rows
        .iter()
        .find(|r| &r[0] == "multi-az" && &r[5] == "ledger")
        .expect("the ledger row");
    assert_eq!(
        [&row[row.len() - 2], &row[row.len() - 1]],
        ["payments", "Root/Workloads/Prod"]
    );

    // SARIF: result properties.
    let sarif = aws.json("scan.sarif");
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["ruleId"] == "multi-az"
                && r["properties"]["resourceArn"]
                    .as_str()
                    .unwrap()
                    .ends_with(":ledger")
        })
        .expect("the ledger result");
    assert_eq!(result["properties"]["accountName"], "payments");
    assert_eq!(result["properties"]["ouPath"], "Root/Workloads/Prod");

    // OCSF: cloud.account.name and the organization object.
    let ocsf = std::fs::read_to_string(aws.path("scan.ocsf")).unwrap();
    let event: Value = ocsf
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["metadata"]["event_code"] == "multi-az" && e["resources"][0]["name"] == "scratch")
        .expect("the scratch event");
    assert_eq!(event["cloud"]["account"]["name"], "playground");
    assert_eq!(event["cloud"]["account"]["uid"], org.playground.as_str());
    assert_eq!(event["cloud"]["org"]["ou_name"], "Root/Sandbox");
    assert_eq!(event["cloud"]["org"]["ou_uid"], org.sandbox_ou.as_str());
    assert!(
        event["cloud"]["org"]["uid"].as_str().unwrap().starts_with("o-"),
        "{}",
        event["cloud"]
    );

    // Read once per run: ListRoots once; ListParents once per account (3) and once per unit
    // on the way up (Prod, Workloads, Sandbox); DescribeOrganizationalUnit once per unit.
    let actions = aws.proxy().stats().actions;
    let calls = |a: &str| actions.get(a).copied().unwrap_or(0);
    assert_eq!(
        [
            calls("ListAccounts"),
            calls("ListRoots"),
            calls("ListParents"),
            calls("DescribeOrganizationalUnit")
        ],
        [1, 1, 6, 3],
        "{actions:?}"
    );
    let by_action = &doc["summary"]["collection"]["api_calls_by_action"];
    assert_eq!(by_action["organizations:ListParents"], 6);
    assert_eq!(by_action["organizations:DescribeOrganizationalUnit"], 3);
}

/// A collected inventory keeps the owners for `scan --inventory`, and so do merged shard
/// inventories; without `--organization` nothing names an owner.
#[tokio::test(flavor = "multi_thread")]
async fn collected_and_merged_inventories_keep_the_owners() {
    let aws = Aws::start();
    organization(&aws).await;
    let collect = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "--organization",
            "--role-name",
            "ecaudit-audit",
            "--regions",
            "us-east-1",
            "--max-attempts",
            "2",
            "--output",
            out,
        ];
        args.extend_from_slice(extra);
        aws.live("collect", &args).expect(0);
    };
    collect("inventory.json", &[]);
    let inventory = aws.json("inventory.json");
    let accounts = inventory["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 3, "{accounts:?}");
    assert!(accounts.iter().any(|a| a["name"] == "payments"
        && a["ou_path"] == "Root/Workloads/Prod"
        && a["ou_id"].as_str().unwrap().starts_with("ou-")));

    std::fs::write(aws.path("suppressions.yaml"), SUPPRESSIONS).unwrap();
    let offline = |inventory: &str, out: &str| {
        aws.run(&[
            "scan",
            "--inventory",
            inventory,
            "--suppressions",
            "suppressions.yaml",
            "--format",
            "json",
            "--output",
            out,
            "--exit-zero",
        ])
        .expect(0);
        aws.json(out)
    };
    assert_eq!(
        owners(&offline("inventory.json", "offline.json")),
        expected_owners()
    );

    collect("shard-1.json", &["--shard", "1/2"]);
    collect("shard-2.json", &["--shard", "2/2"]);
    aws.run(&["merge", "shard-1.json", "shard-2.json", "--output", "merged.json"])
        .expect(0);
    assert_eq!(aws.json("merged.json")["accounts"], inventory["accounts"]);
    assert_eq!(
        owners(&offline("merged.json", "merged-scan.json")),
        expected_owners()
    );

    // Without --organization: no owner anywhere, and the suppression by OU holds for nothing.
    aws.live(
        "collect",
        &[
            "--regions",
            "us-east-1",
            "--max-attempts",
            "2",
            "--output",
            "mine.json",
        ],
    )
    .expect(0);
    assert!(aws.json("mine.json").get("accounts").is_none());
    let doc = offline("mine.json", "mine-scan.json");
    let f = multi_az(&doc, "orders");
    assert!(
        f.get("account_name").is_none() && f.get("ou_path").is_none(),
        "{f}"
    );
    assert_eq!(doc["waivers"]["suppressions"][0]["state"], "stale");
}

/// A unit that cannot be described is a coverage gap (exit 3), not an abort: the accounts in
/// it have no OU path, the others keep theirs, and every account keeps its name.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_unit_is_a_gap_and_leaves_only_its_accounts_without_a_path() {
    let aws = Aws::behind_proxy(Faults::none());
    let org = organization(&aws).await;
    aws.proxy().set(Faults {
        persistent: vec![Persistent {
            action: "DescribeOrganizationalUnit".into(),
            region: None,
            body_contains: Some(org.sandbox_ou.clone()),
            access_key: None,
            fault: Fault::AccessDenied,
        }],
        ..Faults::none()
    });
    let run = aws.live(
        "scan",
        &[
            "--organization",
            "--role-name",
            "ecaudit-audit",
            "--regions",
            "us-east-1",
            "--max-attempts",
            "2",
            "--format",
            "json",
            "--output",
            "scan.json",
        ],
    );
    run.expect(3);
    let doc = aws.json("scan.json");
    let gaps: Vec<(&str, &str, &str, &str)> = doc["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "failed")
        .map(|c| {
            (
                c["account_id"].as_str().unwrap(),
                c["region"].as_str().unwrap(),
                c["service"].as_str().unwrap(),
                c["api"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        gaps,
        [(ACCOUNT, "global", "organizations", "DescribeOrganizationalUnit")]
    );
    let scratch = multi_az(&doc, "scratch");
    assert_eq!(scratch["account_name"], "playground");
    assert!(scratch.get("ou_path").is_none(), "{scratch}");
    assert_eq!(multi_az(&doc, "ledger")["ou_path"], "Root/Workloads/Prod");
}
