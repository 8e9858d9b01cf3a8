//! `ecaudit plan`: the plan of examples/terraform (a pull request that opens the cache security
//! group to the internet, drops the orders cache's snapshots and creates an unencrypted sessions
//! cache) judged with the bundled rules, with no AWS call.
use crate::common;

use common::cli::Scratch;
use common::*;
use serde_json::{Value, json};

/// The auth token the example plan carries in plain text, as `terraform show -json` prints it.
const TOKEN: &str = "tok-EXAMPLE-do-not-print-9f8e7d6c5b4a";

fn example_plan() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_path("examples/terraform/plan.json")).unwrap())
        .unwrap()
}

/// A scratch directory with the example's sources under `infra/` and its plan as `plan.json`.
fn example(plan: &Value) -> Scratch {
    let s = Scratch::new();
    let tf = std::fs::read_to_string(repo_path("examples/terraform/main.tf")).unwrap();
    s.file("infra/main.tf", &tf);
    s.json("plan.json", plan);
    s
}

/// The line of `resource "TYPE" "NAME"` in the example's main.tf.
fn block_line(kind: &str, name: &str) -> usize {
    let tf = std::fs::read_to_string(repo_path("examples/terraform/main.tf")).unwrap();
    let head = format!("resource \"{kind}\" \"{name}\"");
    tf.lines().position(|l| l.starts_with(&head)).unwrap() + 1
}

fn finding<'a>(report: &'a Value, rule: &str, address: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == rule && f["resource_id"] == address)
        .unwrap_or_else(|| panic!("no {rule} finding on {address}"))
}

const ORDERS: &str = "aws_elasticache_replication_group.orders";
const SESSIONS: &str = "aws_elasticache_replication_group.sessions";

#[test]
fn a_plan_is_judged_with_what_it_introduces() {
    let s = example(&example_plan());
    let report = s
        .run([
            "plan",
            "plan.json",
            "--source",
            "infra",
            "--format",
            "json",
            "--exit-zero",
        ])
        .expect(0)
        .json();
    // Two deployments, named by address; the alarms, group and network are joined, not judged.
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["resource_id"].as_str().unwrap())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(ids, [ORDERS, SESSIONS]);
    assert_eq!(report["summary"]["deployments"], 2);
    assert_eq!(report["scan"]["plan"]["document"], "plan");
    assert_eq!(report["scan"]["plan"]["gate"], "introduced");

    // The security group now admits 0.0.0.0/0 on the cache port: introduced on both caches.
    let open = finding(&report, "no-public-ingress", ORDERS);
    assert_eq!(open["status"], "fail");
    assert_eq!(open["change"], "introduced");
    assert!(open["evidence"].to_string().contains("0.0.0.0/0"), "{open}");
    assert_eq!(
        finding(&report, "no-public-ingress", SESSIONS)["change"],
        "introduced"
    );
    // Snapshots: 7 days before, none after.
    let snapshots = finding(&report, "snapshot-retention", ORDERS);
    assert_eq!(
        (&snapshots["status"], &snapshots["change"]),
        (&json!("fail"), &json!("introduced"))
    );
    // The new cache without encryption in transit; the existing one keeps it.
    assert_eq!(
        finding(&report, "in-transit-encryption", SESSIONS)["change"],
        "introduced"
    );
    assert_eq!(
        finding(&report, "in-transit-encryption", ORDERS)["status"],
        "pass"
    );
    // The orders cache's ARN is known; the new cache's is not yet: a stable stand-in.
    assert_eq!(
        open["resource_arn"],
        "arn:aws:elasticache:eu-west-1:111122223333:replicationgroup:orders-cache"
    );
    assert_eq!(
        finding(&report, "no-public-ingress", SESSIONS)["resource_arn"],
        format!("terraform:{SESSIONS}")
    );
    // Each finding names its resource block.
    assert_eq!(open["source"]["file"], "infra/main.tf");
    assert_eq!(
        open["source"]["line"],
        block_line("aws_elasticache_replication_group", "orders")
    );
    assert_eq!(
        finding(&report, "no-public-ingress", SESSIONS)["source"]["line"],
        block_line("aws_elasticache_replication_group", "sessions")
    );
    let counted = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["change"] == "introduced" && f["status"] == "fail")
        .count();
    assert_eq!(report["scan"]["plan"]["introduced"], counted);
    // The new cache's nodes are not pinned to zones: whether they span two cannot be told from
    // the plan, and is not invented either way; the existing cache's newest snapshot neither.
    let zones = finding(&report, "nodes-span-azs", SESSIONS);
    assert_eq!(
        (&zones["status"], &zones["change"]),
        (&json!("error"), &json!("introduced"))
    );
    let snapshot = finding(&report, "recent-automatic-snapshot", ORDERS);
    assert_eq!(
        (&snapshot["status"], &snapshot["change"]),
        (&json!("error"), &json!("existing"))
    );
    // The new cache is judged as of the plan, which it postdates: no snapshot is due yet.
    assert_eq!(
        finding(&report, "recent-automatic-snapshot", SESSIONS)["status"],
        "pass"
    );
    assert_eq!(report["scan"]["evaluated_at"], "2026-12-01T09:00:00Z");
}

#[test]
fn the_gate_counts_introduced_findings_unless_asked_for_all() {
    // The pull request fails the gate: it introduces an undecidable finding (the new cache's
    // zones), so the run is incomplete, exit 3; accepting that, the critical public ingress it
    // introduces fails it, exit 1. What the plan cannot tell about the existing cache (its
    // snapshots, its nodes' zones) is undecided before and after: reported, not blocking.
    let s = example(&example_plan());
    s.run(["plan", "plan.json"])
        .expect(3)
        .stdout_has("could not be decided");
    s.run(["plan", "plan.json", "--allow-partial"])
        .expect(1)
        .stdout_has("introduced by the plan");

    // The same plan without its three mistakes: only what was already there fails.
    let mut plan = example_plan();
    let changes = plan["resource_changes"].as_array_mut().unwrap();
    changes.retain(|c| c["address"] != SESSIONS);
    for c in changes.iter_mut() {
        if c["address"] == "aws_security_group.cache" || c["address"] == ORDERS {
            c["change"]["after"] = c["change"]["before"].clone();
            c["change"]["actions"] = json!(["no-op"]);
        }
    }
    let s = example(&plan);
    // A tag nobody set fails before and after: an existing finding.
    let args = [
        "plan",
        "plan.json",
        "--allow-partial",
        "--fail-on",
        "low",
        "--param",
        "required-tags.required_tags=owner",
    ];
    let report = s
        .run(args.iter().copied().chain(["--format", "json"]))
        .expect(0)
        .json();
    let tags = finding(&report, "required-tags", ORDERS);
    assert_eq!(
        (&tags["status"], &tags["change"]),
        (&json!("fail"), &json!("existing"))
    );
    assert_eq!(report["scan"]["plan"]["introduced"], 0);
    assert_eq!(report["summary"]["gate"]["failing"], 0);
    s.run(args.iter().copied().chain(["--gate", "all"])).expect(1);
    // Without --allow-partial: the carried-over undecided findings do not block by default,
    // and do with --gate all.
    s.run(["plan", "plan.json"]).expect(0);
    s.run(["plan", "plan.json", "--gate", "all"]).expect(3);
}

#[test]
fn a_fix_in_the_plan_is_marked_fixed() {
    // Reverse the plan: before is the open group and no snapshots, after is the closed group.
    let mut plan = example_plan();
    let changes = plan["resource_changes"].as_array_mut().unwrap();
    changes.retain(|c| c["address"] != SESSIONS);
    for c in changes.iter_mut() {
        if c["address"] == "aws_security_group.cache" || c["address"] == ORDERS {
            let change = c["change"].as_object_mut().unwrap();
            let (before, after) = (change["before"].clone(), change["after"].clone());
            change.insert("before".into(), after);
            change.insert("after".into(), before);
        }
    }
    let s = example(&plan);
    let report = s
        .run(["plan", "plan.json", "--format", "json", "--exit-zero"])
        .expect(0)
        .json();
    // Closing the group to the VPC fixes both ingress rules.
    for rule in ["no-public-ingress", "ingress-within-vpc", "snapshot-retention"] {
        let f = finding(&report, rule, ORDERS);
        assert_eq!(
            (&f["status"], &f["change"]),
            (&json!("pass"), &json!("fixed")),
            "{rule}"
        );
    }
    assert_eq!(report["scan"]["plan"]["fixed"], 3);
}

#[test]
fn sarif_results_land_on_the_resource_block() {
    let s = example(&example_plan());
    s.run([
        "plan",
        "plan.json",
        "--source",
        "infra",
        "--exit-zero",
        "--output-format",
        "sarif=with-sources.sarif",
    ])
    .expect(0);
    s.run([
        "plan",
        "plan.json",
        "--exit-zero",
        "--output-format",
        "sarif=no-sources.sarif",
    ])
    .expect(0);
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(s.path(name)).unwrap()).unwrap()
    };
    let validator = crate::formats::sarif_validator();
    let with = read("with-sources.sarif");
    let without = read("no-sources.sarif");
    for doc in [&with, &without] {
        let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
    let results = with["runs"][0]["results"].as_array().unwrap();
    let open = results
        .iter()
        .find(|r| {
            r["ruleId"] == "no-public-ingress" && r["locations"][0]["logicalLocations"][0]["name"] == ORDERS
        })
        .unwrap();
    let at = &open["locations"][0]["physicalLocation"];
    assert_eq!(at["artifactLocation"]["uri"], "infra/main.tf");
    assert_eq!(
        at["region"]["startLine"],
        block_line("aws_elasticache_replication_group", "orders")
    );
    assert_eq!(open["baselineState"], "new");
    // Without the sources, results point at the plan file.
    for r in without["runs"][0]["results"].as_array().unwrap() {
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "plan.json"
        );
    }
}

#[test]
fn the_table_and_markdown_lead_with_introduced_findings() {
    let mut plan = example_plan();
    // An existing failure too, so there is something to lead.
    plan["resource_changes"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["address"] != SESSIONS);
    let s = example(&plan);
    let args = [
        "plan",
        "plan.json",
        "--source",
        "infra",
        "--exit-zero",
        "--param",
        "required-tags.required_tags=owner",
    ];
    for format in ["table", "markdown"] {
        let out = s
            .run(args.iter().copied().chain(["--format", format]))
            .expect(0)
            .stdout();
        // A table cell's line, or a Markdown row's deployment column.
        let at = |what: &str| {
            out.find(&format!("┆ {what} "))
                .or_else(|| out.find(&format!("· {what}")))
                .unwrap_or_else(|| panic!("no {what} finding in {format}:\n{out}"))
        };
        let (introduced, existing) = (at("introduced"), at("existing"));
        assert!(introduced < existing, "{format}:\n{out}");
        assert!(
            out.contains(&format!(
                "infra/main.tf:{}",
                block_line("aws_elasticache_replication_group", "orders")
            )),
            "{format}:\n{out}"
        );
    }
}

#[test]
fn the_auth_token_never_reaches_an_output() {
    let s = example(&example_plan());
    for format in [
        "table", "json", "jsonl", "csv", "markdown", "sarif", "junit", "ocsf", "html",
    ] {
        let run = s.run([
            "-vvv",
            "plan",
            "plan.json",
            "--source",
            "infra",
            "--exit-zero",
            "--format",
            format,
        ]);
        run.expect(0);
        assert!(!run.stdout().contains(TOKEN), "{format}");
        assert!(!run.stderr().contains(TOKEN), "{format}");
    }
    assert!(
        example_plan().to_string().contains(TOKEN),
        "the plan does carry the token"
    );
}

#[test]
fn a_plan_on_standard_input_is_read() {
    let s = example(&example_plan());
    let out = ecaudit()
        .current_dir(s.dir.path())
        .args(["plan", "-", "--format", "json", "--exit-zero"])
        .write_stdin(std::fs::read_to_string(s.path("plan.json")).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["scan"]["plan"]["file"], "-");
    assert_eq!(
        finding(&report, "no-public-ingress", ORDERS)["change"],
        "introduced"
    );
}

#[test]
fn documents_that_are_not_plans_exit_2_with_what_to_do() {
    let s = Scratch::new();
    let cases = [
        ("unrelated.json", "{\"resources\": []}".to_string()),
        (
            "old-state.json",
            json!({"version": 3, "terraform_version": "0.11.14", "modules": []}).to_string(),
        ),
        ("truncated.json", example_plan().to_string()[..2000].to_string()),
        (
            "future.json",
            json!({"format_version": "2.0", "resource_changes": []}).to_string(),
        ),
    ];
    for (name, text) in &cases {
        let path = s.file(name, text);
        let run = s.run(["plan", path.to_str().unwrap()]);
        run.expect(2).stderr_has(name);
        assert!(run.stdout().is_empty(), "{name}: nothing is judged");
    }
    // Over the size limit: refused before parsing.
    let plan = s.json("plan.json", &example_plan());
    s.run(["plan", plan.to_str().unwrap(), "--max-document-size", "1KiB"])
        .expect(2)
        .stderr_has("larger than the limit of 1 KiB");
}
