//! Live collection against moto server (tests/moto/): seeded through the AWS SDK, read by the
//! `ecaudit` binary exactly as users run it.
use crate::common;

use chrono::{Duration, Utc};
use common::aws::Aws;
use common::cli::Run;
use common::moto::ACCOUNT;
use common::seed::{self, Group};
use common::*;
use ecaudit::inventory::{DeploymentKind, Inventory, LookupState};
use serde_json::Value;

/// `ecaudit scan` of us-east-1, with `extra` arguments.
fn scan_us_east_1(aws: &Aws, extra: &[&str]) -> Run {
    let mut args = vec!["--regions", "us-east-1", "--max-attempts", "2"];
    args.extend_from_slice(extra);
    aws.live("scan", &args)
}

/// `ecaudit collect` into `rel` (in the scratch directory), with `extra` arguments.
fn collect_into(aws: &Aws, rel: &str, extra: &[&str]) -> Run {
    let mut args = vec!["--max-attempts", "2", "--output", rel];
    args.extend_from_slice(extra);
    aws.live("collect", &args)
}

/// `ecaudit collect` with `extra` arguments, and the inventory it wrote.
fn collect(aws: &Aws, extra: &[&str]) -> (Run, Inventory) {
    let run = collect_into(aws, "inventory.json", extra);
    let text = std::fs::read_to_string(aws.path("inventory.json"))
        .unwrap_or_else(|_| panic!("no inventory written: {}", run.stderr()));
    (run, serde_json::from_str(&text).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn collects_and_evaluates_a_seeded_region() {
    let aws = Aws::start();
    let cfg = aws.config("us-east-1").await;
    let net = seed::network(&cfg, "app-subnets", "10.20.0.0/16", true).await;
    let closed = seed::security_group(
        &cfg,
        &net.vpc_id,
        "cache-closed",
        vec![seed::tcp(6379, 6379, "10.20.0.0/16")],
    )
    .await;
    let open = seed::security_group(
        &cfg,
        &net.vpc_id,
        "cache-open",
        vec![seed::tcp(6379, 6379, "0.0.0.0/0"), seed::tcp(22, 22, "0.0.0.0/0")],
    )
    .await;

    // A compliant group with its snapshot and alarms, and a non-compliant Valkey group.
    let good = Group::compliant("orders", &closed, &net.subnet_group);
    let good_nodes = seed::replication_group(&cfg, &good).await;
    seed::automatic_snapshot(&cfg, "orders", Utc::now() - Duration::hours(2)).await;
    seed::full_alarms(&cfg, &good_nodes).await;
    let bad = Group {
        id: "sessions",
        engine: "valkey",
        version: "8.0",
        security_groups: vec![open.clone()],
        encrypted: false,
        auth_token: false,
        multi_az: false,
        failover: false,
        retention: 0,
        notification_topic: None,
        ..Group::compliant("sessions", &open, &net.subnet_group)
    };
    let bad_nodes = seed::replication_group(&cfg, &bad).await;
    seed::alarm(&cfg, &bad_nodes[0], "CPUUtilization", 97.0, false).await;

    let (run, inventory) = collect(&aws, &["--regions", "us-east-1"]);
    run.expect(0)
        .stderr_has("2 deployment(s) in 1 account(s), 1 region(s)");
    assert!(inventory.gaps().next().is_none(), "{:#?}", inventory.coverage);

    let orders = inventory.deployments.iter().find(|d| d.id == "orders").unwrap();
    assert_eq!(orders.kind, DeploymentKind::ReplicationGroup);
    assert_eq!(orders.account_id, ACCOUNT);
    assert_eq!(
        orders.engine_version.as_deref(),
        Some("7.1"),
        "from the member clusters"
    );
    assert_eq!(orders.snapshot_retention_days, Some(7));
    assert!(orders.latest_automatic_snapshot.is_some());
    assert_eq!(
        orders.vpc.as_ref().unwrap().ipv4_cidr_blocks,
        vec!["10.20.0.0/16"]
    );
    assert_eq!(
        orders.subnet_group.as_ref().unwrap().name.as_deref(),
        Some("app-subnets")
    );
    assert_eq!(orders.security_groups[0].state, LookupState::Found);
    assert_eq!(orders.security_groups[0].id, closed);
    let nodes: Vec<_> = orders.nodes().collect();
    assert_eq!(nodes.len(), 2);
    assert!(nodes.iter().all(|n| n.alarms.len() == 3), "{nodes:#?}");
    assert_eq!(
        orders
            .parameter_group
            .as_ref()
            .unwrap()
            .cluster_enabled
            .as_deref(),
        Some("no")
    );

    let sessions = inventory.deployments.iter().find(|d| d.id == "sessions").unwrap();
    assert_eq!(sessions.engine, "valkey");
    assert_eq!(sessions.at_rest_encryption, Some(false));
    assert_eq!(sessions.snapshot_retention_days, Some(0));

    // The live scan reports exactly what the rules decide on these facts.
    scan_us_east_1(&aws, &["--format", "json", "--output", "scan.json"]).expect(1);
    let doc = aws.json("scan.json");
    let failing = |doc: &Value, resource: &str| -> Vec<String> {
        let mut rules: Vec<String> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["resource_id"] == resource && f["status"] == "fail")
            .map(|f| f["rule_id"].as_str().unwrap().to_string())
            .collect();
        rules.sort();
        rules
    };
    // Everything the seed left out of `sessions` fails, and nothing else.
    assert_eq!(
        failing(&doc, "sessions"),
        [
            "alarm-coverage",                 // one alarm, on one node
            "alarm-thresholds",               // CPU above 97 %, notifying nobody
            "at-rest-encryption",             // off
            "at-rest-encryption-cmk",         // off, so no key
            "auth-required",                  // no AUTH token
            "automatic-failover",             // off
            "event-notifications",            // no topic
            "in-transit-encryption",          // off
            "in-transit-encryption-required", // off
            "ingress-within-vpc",             // 0.0.0.0/0
            "multi-az",                       // off
            "no-public-ingress",              // 0.0.0.0/0 on 6379
            "snapshot-retention",             // 0 days
        ]
    );
    // `orders` is the reference deployment but for a customer-managed KMS key (low).
    assert_eq!(failing(&doc, "orders"), ["at-rest-encryption-cmk"]);
    for rule in [
        "no-public-ingress",
        "ingress-within-vpc",
        "snapshot-retention",
        "recent-automatic-snapshot",
        "at-rest-encryption",
        "auth-required",
        "multi-az",
        "automatic-failover",
        "alarm-coverage",
        "parameter-group-family",
        "parameter-group-cluster-mode",
    ] {
        assert_eq!(
            finding(&doc, rule, "orders")["status"],
            "pass",
            "{rule} on orders: {}",
            finding(&doc, rule, "orders")
        );
    }
    let evidence = finding(&doc, "no-public-ingress", "sessions")["evidence"].to_string();
    assert!(
        evidence.contains(&open) && evidence.contains("0.0.0.0/0"),
        "{evidence}"
    );
    assert!(
        !evidence.contains("tcp/22"),
        "port 22 does not reach the cache: {evidence}"
    );
    assert!(
        doc["summary"]["collection"]["api_calls"]["elasticache"]
            .as_u64()
            .unwrap()
            > 0
    );

    // Suppressions and several outputs work on a live scan as on a saved inventory.
    std::fs::write(
        aws.path("suppressions.yaml"),
        "suppressions:\n  - rule: \"*\"\n    resource: sessions\n    reason: being rebuilt\n",
    )
    .unwrap();
    let run = scan_us_east_1(
        &aws,
        &[
            "--suppressions",
            "suppressions.yaml",
            "--format",
            "json",
            "--output",
            "waived.json",
            "--output-format",
            "sarif=scan.sarif",
            "--output-format",
            "html=report.html",
        ],
    );
    // What still fails is `orders`' low finding, below the gate.
    run.expect(0);
    let waived = aws.json("waived.json");
    assert_eq!(waived["summary"]["findings"]["suppressed"], 13);
    assert_eq!(waived["summary"]["findings"]["fail"], 1);
    assert_eq!(
        finding(&waived, "no-public-ingress", "sessions")["status"],
        "suppressed"
    );
    let sarif = aws.json("scan.sarif");
    let with_suppressions = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["suppressions"][0]["justification"] == "being rebuilt")
        .count();
    assert_eq!(with_suppressions, 13);

    // The audit report says who ran the live collection (STS GetCallerIdentity) and how long
    // it took.
    let caller = waived["summary"]["collection"]["caller"].as_str().unwrap();
    assert!(
        caller.starts_with("arn:aws:") && caller.contains(ACCOUNT),
        "{caller}"
    );
    let html = std::fs::read_to_string(aws.path("report.html")).unwrap();
    let escaped = caller.replace('/', "&#x2f;");
    assert!(
        html.contains(&format!("<dt>Run by</dt><dd><code>{escaped}</code></dd>")),
        "caller missing"
    );
    assert!(
        html.contains(" by a live collection in "),
        "collection time missing"
    );
}

const OTHER: &str = "222222222222";

fn deployment_ids(doc: &Value) -> Vec<(String, String, String, String)> {
    let mut ids: Vec<_> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["account_id"].as_str().unwrap().to_string(),
                f["region"].as_str().unwrap().to_string(),
                f["resource_kind"].as_str().unwrap().to_string(),
                f["resource_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The command other tools depend on, over two accounts (the second through AssumeRole) × two
/// regions, with every kind of deployment.
#[tokio::test(flavor = "multi_thread")]
async fn scans_two_accounts_and_two_regions_through_assume_role() {
    let aws = Aws::start();

    // Caller's account, us-east-1: a Redis group whose second node has no alarms.
    let east = aws.config("us-east-1").await;
    let net = seed::network(&east, "east-subnets", "10.1.0.0/16", false).await;
    let sg = seed::security_group(
        &east,
        &net.vpc_id,
        "east-cache",
        vec![seed::tcp(6379, 6379, "10.1.0.0/16")],
    )
    .await;
    let nodes = seed::replication_group(&east, &Group::compliant("payments", &sg, &net.subnet_group)).await;
    seed::full_alarms(&east, &nodes[..1]).await;

    // Caller's account, eu-west-1: Memcached with two nodes.
    let west = aws.config("eu-west-1").await;
    let wnet = seed::network(&west, "west-subnets", "10.2.0.0/16", false).await;
    let wsg = seed::security_group(
        &west,
        &wnet.vpc_id,
        "west-cache",
        vec![seed::tcp(11211, 11211, "10.2.0.0/16")],
    )
    .await;
    aws_sdk_elasticache::Client::new(&west)
        .create_cache_cluster()
        .cache_cluster_id("sessions-mc")
        .engine("memcached")
        .engine_version("1.6.22")
        .cache_node_type("cache.t4g.medium")
        .num_cache_nodes(2)
        .preferred_availability_zones("eu-west-1a")
        .preferred_availability_zones("eu-west-1b")
        .security_group_ids(&wsg)
        .cache_subnet_group_name(&wnet.subnet_group)
        .send()
        .await
        .unwrap();

    // Second account, us-east-1: a single-node Redis cluster and a serverless Valkey cache.
    let other_east = aws.config_in_account(OTHER, "us-east-1").await;
    let onet = seed::network(&other_east, "other-subnets", "10.3.0.0/16", false).await;
    let osg = seed::security_group(
        &other_east,
        &onet.vpc_id,
        "other-cache",
        vec![seed::tcp(6379, 6379, "0.0.0.0/0")],
    )
    .await;
    let ec = aws_sdk_elasticache::Client::new(&other_east);
    ec.create_cache_cluster()
        .cache_cluster_id("legacy")
        .engine("redis")
        .engine_version("6.2.6")
        .cache_node_type("cache.t4g.small")
        .security_group_ids(&osg)
        .cache_subnet_group_name(&onet.subnet_group)
        .send()
        .await
        .unwrap();
    ec.create_serverless_cache()
        .serverless_cache_name("flags")
        .engine("valkey")
        .major_engine_version("8")
        .security_group_ids(&osg)
        .set_subnet_ids(Some(onet.subnet_ids.clone()))
        .user_group_id("flags-users")
        .snapshot_retention_limit(7)
        .send()
        .await
        .unwrap();

    // Second account, eu-west-1: cluster mode enabled Valkey with a custom parameter group.
    let other_west = aws.config_in_account(OTHER, "eu-west-1").await;
    let ownet = seed::network(&other_west, "ow-subnets", "10.4.0.0/16", false).await;
    let owsg = seed::security_group(
        &other_west,
        &ownet.vpc_id,
        "ow-cache",
        vec![seed::tcp(6379, 6379, "10.4.0.0/16")],
    )
    .await;
    let ec = aws_sdk_elasticache::Client::new(&other_west);
    ec.create_cache_parameter_group()
        .cache_parameter_group_name("valkey8-cluster")
        .cache_parameter_group_family("valkey8")
        .description("cluster mode on")
        .send()
        .await
        .unwrap();
    ec.modify_cache_parameter_group()
        .cache_parameter_group_name("valkey8-cluster")
        .parameter_name_values(
            aws_sdk_elasticache::types::ParameterNameValue::builder()
                .parameter_name("cluster-enabled")
                .parameter_value("yes")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let sharded = Group {
        engine: "valkey",
        version: "8.0",
        cluster_mode: true,
        shards: 2,
        parameter_group: Some("valkey8-cluster"),
        ..Group::compliant("catalog", &owsg, &ownet.subnet_group)
    };
    let sharded_nodes = seed::replication_group(&other_west, &sharded).await;
    assert_eq!(sharded_nodes.len(), 4);

    let run = aws.live(
        "scan",
        &[
            "--regions",
            "us-east-1,eu-west-1",
            "--accounts",
            &format!("{},{OTHER}", ACCOUNT),
            "--role-name",
            "ecaudit-audit",
            "--format",
            "json",
            "--output",
            "scan.json",
            "--allow-partial",
            "--exit-zero",
            "--max-attempts",
            "2",
        ],
    );
    run.expect(0);
    let doc = aws.json("scan.json");
    assert_eq!(doc["summary"]["coverage_gaps"], 0, "{}", doc["coverage"]);
    // The other account's role is assumed once: the check that it can be assumed hands its
    // credentials to the clients.
    assert_eq!(
        doc["summary"]["collection"]["api_calls_by_action"]["sts:AssumeRole"], 1,
        "{}",
        doc["summary"]["collection"]
    );
    let a = ACCOUNT.to_string();
    let o = OTHER.to_string();
    let expected = vec![
        (
            a.clone(),
            "eu-west-1".to_string(),
            "cache_cluster".to_string(),
            "sessions-mc".to_string(),
        ),
        (
            a.clone(),
            "us-east-1".to_string(),
            "replication_group".to_string(),
            "payments".to_string(),
        ),
        (
            o.clone(),
            "eu-west-1".to_string(),
            "replication_group".to_string(),
            "catalog".to_string(),
        ),
        (
            o.clone(),
            "us-east-1".to_string(),
            "cache_cluster".to_string(),
            "legacy".to_string(),
        ),
        (
            o.clone(),
            "us-east-1".to_string(),
            "serverless_cache".to_string(),
            "flags".to_string(),
        ),
    ];
    assert_eq!(deployment_ids(&doc), expected);

    let coverage = finding(&doc, "alarm-coverage", "payments");
    assert_eq!(coverage["status"], "fail");
    assert!(coverage["evidence"].to_string().contains(&nodes[1]), "{coverage}");
    assert!(
        !coverage["evidence"]
            .to_string()
            .contains(&format!("{}:", nodes[0])),
        "{coverage}"
    );
    assert_eq!(
        finding(&doc, "parameter-group-cluster-mode", "catalog")["status"],
        "pass"
    );
    assert_eq!(
        finding(&doc, "parameter-group-family", "catalog")["status"],
        "pass"
    );
    assert_eq!(finding(&doc, "replicas-per-shard", "catalog")["status"], "pass");
    assert_eq!(
        finding(&doc, "multi-az", "sessions-mc")["status"],
        "pass",
        "two AZs"
    );
    assert_eq!(
        finding(&doc, "at-rest-encryption", "sessions-mc")["status"],
        "not_applicable"
    );
    assert_eq!(finding(&doc, "no-public-ingress", "legacy")["status"], "fail");
    assert_eq!(finding(&doc, "multi-az", "legacy")["status"], "fail");
    assert_eq!(finding(&doc, "auth-required", "flags")["status"], "pass");
    assert_eq!(finding(&doc, "no-public-ingress", "flags")["status"], "fail");
}

/// `--organization` over every enabled region, with `--metrics` and `--publish security-hub`:
/// every ACTIVE account is read, the collection calls exactly the actions of the read-only
/// docs/iam-policy.json, and publishing adds exactly those of the opt-in
/// docs/iam-policy-security-hub.json.
#[tokio::test(flavor = "multi_thread")]
async fn organization_scan_calls_exactly_the_documented_iam_actions() {
    let aws = Aws::start();
    let east = aws.config("us-east-1").await;
    let org = aws_sdk_organizations::Client::new(&east);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let created = org
        .create_account()
        .email("audit@example.com")
        .account_name("workloads")
        .send()
        .await
        .unwrap()
        .create_account_status
        .unwrap();
    let member = created.account_id.unwrap();
    // The member in a unit, so its path is read (DescribeOrganizationalUnit).
    let root = org.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_string();
    let unit = org
        .create_organizational_unit()
        .parent_id(&root)
        .name("Workloads")
        .send()
        .await
        .unwrap()
        .organizational_unit
        .unwrap()
        .id
        .unwrap();
    org.move_account()
        .account_id(&member)
        .source_parent_id(&root)
        .destination_parent_id(&unit)
        .send()
        .await
        .unwrap();

    // A deployment in each account, with a custom parameter group so every read is needed.
    let net = seed::network(&east, "subnets", "10.9.0.0/16", false).await;
    let sg = seed::security_group(
        &east,
        &net.vpc_id,
        "cache",
        vec![seed::tcp(6379, 6379, "10.9.0.0/16")],
    )
    .await;
    let ec = aws_sdk_elasticache::Client::new(&east);
    ec.create_cache_parameter_group()
        .cache_parameter_group_name("redis7-custom")
        .cache_parameter_group_family("redis7")
        .description("custom")
        .send()
        .await
        .unwrap();
    let group = Group {
        parameter_group: Some("redis7-custom"),
        ..Group::compliant("orders", &sg, &net.subnet_group)
    };
    let nodes = seed::replication_group(&east, &group).await;
    seed::full_alarms(&east, &nodes).await;
    let member_west = aws.config_in_account(&member, "eu-west-1").await;
    let mnet = seed::network(&member_west, "subnets", "10.8.0.0/16", false).await;
    let msg = seed::security_group(&member_west, &mnet.vpc_id, "cache", vec![]).await;
    seed::replication_group(
        &member_west,
        &Group::compliant("member-cache", &msg, &mnet.subnet_group),
    )
    .await;

    let run = aws.live(
        "scan",
        &[
            "--organization",
            "--role-name",
            "ecaudit-audit",
            "--regions",
            "all",
            "--format",
            "json",
            "--output",
            "scan.json",
            "--exit-zero",
            "--max-attempts",
            "2",
            "--concurrency",
            "8",
            "--metrics",
            "--publish",
            "security-hub",
        ],
    );
    run.expect(0);
    let doc = aws.json("scan.json");
    assert_eq!(doc["summary"]["coverage_gaps"], 0, "{}", doc["coverage"]);
    let ids = deployment_ids(&doc);
    assert!(
        ids.contains(&(
            ACCOUNT.into(),
            "us-east-1".into(),
            "replication_group".into(),
            "orders".into()
        )),
        "{ids:?}"
    );
    assert!(
        ids.contains(&(
            member.clone(),
            "eu-west-1".into(),
            "replication_group".into(),
            "member-cache".into()
        )),
        "{ids:?}"
    );
    assert!(
        doc["summary"]["collection"]["regions"].as_u64().unwrap() > 10,
        "every enabled region"
    );

    let called: std::collections::BTreeSet<String> = doc["summary"]["collection"]["api_calls_by_action"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let actions = |file: &str| -> std::collections::BTreeSet<String> {
        let policy = read_json(&repo_path(file));
        assert!(
            policy["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["Effect"] == "Allow")
        );
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| {
                s["Action"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
            })
            .collect()
    };
    let (read_only, publish) = (
        actions("docs/iam-policy.json"),
        actions("docs/iam-policy-security-hub.json"),
    );
    assert_eq!(
        called, read_only,
        "the calls made and docs/iam-policy.json differ"
    );
    // Publishing's calls, as ecaudit reports them: `calls: securityhub:GetFindings ×2, ...`.
    let line = run
        .stderr()
        .lines()
        .find(|l| l.starts_with("ecaudit: published to Security Hub"))
        .expect("a publication line")
        .to_string();
    let published: std::collections::BTreeSet<String> = line
        .split_once("calls: ")
        .unwrap()
        .1
        .split(", ")
        .map(|c| c.split(' ').next().unwrap().to_string())
        .collect();
    let all: std::collections::BTreeSet<String> = called.union(&published).cloned().collect();
    let allowed: std::collections::BTreeSet<String> = read_only.union(&publish).cloned().collect();
    assert_eq!(
        all, allowed,
        "the calls made and docs/iam-policy.json with docs/iam-policy-security-hub.json differ"
    );
    assert!(
        publish.iter().all(|a| a.starts_with("securityhub:"))
            && read_only.iter().all(|a| !a.starts_with("securityhub:")),
        "the opt-in policy holds the writes, the read-only one none"
    );
}

/// 130 replication groups (260 member clusters) and 120 alarms in one region: every page is
/// read, and the calls made are the fewest the APIs allow.
#[tokio::test(flavor = "multi_thread")]
async fn reads_every_page_with_the_fewest_calls() {
    let aws = Aws::start();
    let cfg = aws.config("us-east-1").await;
    let net = seed::network(&cfg, "subnets", "10.7.0.0/16", false).await;
    let sg = seed::security_group(
        &cfg,
        &net.vpc_id,
        "cache",
        vec![seed::tcp(6379, 6379, "10.7.0.0/16")],
    )
    .await;
    let mut all_nodes = Vec::new();
    for i in 0..130 {
        let id = format!("rg-{i:03}");
        all_nodes.extend(seed::replication_group(&cfg, &Group::compliant(&id, &sg, &net.subnet_group)).await);
    }
    for node in all_nodes.iter().take(40) {
        for metric in seed::METRICS {
            seed::alarm(&cfg, node, metric, 80.0, true).await;
        }
    }

    let (run, inventory) = collect(&aws, &["--regions", "us-east-1"]);
    run.expect(0);
    assert_eq!(inventory.deployments.len(), 130);
    assert_eq!(inventory.deployments.iter().flat_map(|d| d.nodes()).count(), 260);
    assert_eq!(
        inventory
            .deployments
            .iter()
            .flat_map(|d| d.nodes())
            .map(|n| n.alarms.len())
            .sum::<usize>(),
        120
    );
    let calls: std::collections::BTreeMap<String, u64> = inventory
        .coverage
        .iter()
        .filter(|c| &*c.region == "us-east-1")
        .map(|c| (format!("{}:{}", c.service, c.api), c.calls.unwrap()))
        .collect();
    let expected: std::collections::BTreeMap<String, u64> = [
        ("elasticache:DescribeReplicationGroups", 2), // 130 at 100 per page
        ("elasticache:DescribeCacheClusters", 3),     // 260 at 100 per page
        ("elasticache:DescribeServerlessCaches", 1),
        ("elasticache:DescribeCacheSubnetGroups", 1),
        ("elasticache:DescribeCacheParameterGroups", 1),
        ("elasticache:DescribeSnapshots", 1),
        ("elasticache:DescribeServerlessCacheSnapshots", 1),
        ("elasticache:DescribeGlobalReplicationGroups", 1),
        ("tag:GetResources", 2),           // 130 tagged groups at 100 per page
        ("ec2:DescribeSecurityGroups", 1), // one referenced group, by filter
        ("ec2:DescribeVpcs", 1),
        ("cloudwatch:DescribeAlarms", 2), // 120 at 100 per page
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(calls, expected);
}

/// A region the account has not enabled, an API the role may not call, and an account whose role
/// cannot be assumed are coverage gaps of those units only; the rest is read; exit 3.
#[tokio::test(flavor = "multi_thread")]
async fn failures_are_coverage_gaps_of_their_units_only() {
    let third = "333333333333";
    let aws = Aws::start_with(&[
        ("ECAUDIT_MOTO_DISABLED_REGIONS", "eu-south-2"),
        (
            "ECAUDIT_MOTO_DENY",
            &format!("ec2:DescribeSecurityGroups@{OTHER},sts:AssumeRole@{third}"),
        ),
    ]);
    let east = aws.config("us-east-1").await;
    let net = seed::network(&east, "subnets", "10.6.0.0/16", false).await;
    let sg = seed::security_group(
        &east,
        &net.vpc_id,
        "cache",
        vec![seed::tcp(6379, 6379, "10.6.0.0/16")],
    )
    .await;
    seed::replication_group(&east, &Group::compliant("healthy", &sg, &net.subnet_group)).await;
    let other = aws.config_in_account(OTHER, "us-east-1").await;
    let onet = seed::network(&other, "subnets", "10.5.0.0/16", false).await;
    let osg = seed::security_group(
        &other,
        &onet.vpc_id,
        "cache",
        vec![seed::tcp(6379, 6379, "0.0.0.0/0")],
    )
    .await;
    seed::replication_group(&other, &Group::compliant("blind", &osg, &onet.subnet_group)).await;

    let accounts = format!("{ACCOUNT},{OTHER},{third}");
    let args = [
        "--regions",
        "us-east-1,eu-south-2",
        "--accounts",
        &accounts,
        "--role-name",
        "audit",
        "--format",
        "json",
        "--output",
        "scan.json",
        "--max-attempts",
        "1",
    ];
    aws.live("scan", &args).expect(3); // incomplete
    let doc = aws.json("scan.json");
    let gaps = gaps(&doc);
    assert!(
        gaps.contains(&(
            third.into(),
            "global".into(),
            "sts:AssumeRole".into(),
            "AccessDenied".into()
        )),
        "{gaps:#?}"
    );
    assert!(
        gaps.contains(&(
            OTHER.into(),
            "us-east-1".into(),
            "ec2:DescribeSecurityGroups".into(),
            "UnauthorizedOperation".into()
        )),
        "{gaps:#?}"
    );
    for account in [ACCOUNT, OTHER] {
        assert!(
            gaps.iter().any(|g| g.0 == account
                && g.1 == "eu-south-2"
                && g.2 == "elasticache:DescribeReplicationGroups"
                && g.3 == "InvalidClientTokenId"),
            "{gaps:#?}"
        );
    }
    assert!(
        gaps.iter().all(|g| g.0 != third || g.2 == "sts:AssumeRole"),
        "one gap for the third account: {gaps:#?}"
    );
    assert!(
        !gaps.iter().any(|g| g.0 == ACCOUNT && g.1 == "us-east-1"),
        "{gaps:#?}"
    );

    // What could be read is evaluated; what could not is undecided, not passed.
    assert_eq!(finding(&doc, "no-public-ingress", "healthy")["status"], "pass");
    let blind = finding(&doc, "no-public-ingress", "blind");
    assert_eq!(blind["status"], "error", "{blind}");
    assert!(
        blind["message"].as_str().unwrap().starts_with("Cannot decide"),
        "{blind}"
    );

    // --allow-partial: the findings decide (blind's open ingress is undecided; healthy passes).
    let mut partial = args.to_vec();
    partial.push("--allow-partial");
    aws.live("scan", &partial).expect(0);
}

/// Facts that need a second look: a security group deleted after the cache referenced it, a VPC
/// with an IPv6 block, a Global Datastore secondary, a serverless cache's automatic snapshot; and
/// a collected inventory scanned offline gives the findings of the live scan.
#[tokio::test(flavor = "multi_thread")]
async fn collected_inventory_carries_the_joined_facts_and_rescans_identically() {
    let aws = Aws::start();
    let east = aws.config("us-east-1").await;
    let net = seed::network(&east, "subnets", "10.11.0.0/16", true).await;
    let sg = seed::security_group(
        &east,
        &net.vpc_id,
        "cache",
        vec![seed::tcp(6379, 6379, "10.11.0.0/16")],
    )
    .await;
    let doomed = seed::security_group(
        &east,
        &net.vpc_id,
        "doomed",
        vec![seed::tcp(6379, 6379, "0.0.0.0/0")],
    )
    .await;
    let group = Group {
        security_groups: vec![sg.clone(), doomed.clone()],
        ..Group::compliant("primary", &sg, &net.subnet_group)
    };
    seed::replication_group(&east, &group).await;
    aws_sdk_ec2::Client::new(&east)
        .delete_security_group()
        .group_id(&doomed)
        .send()
        .await
        .unwrap();
    let ec = aws_sdk_elasticache::Client::new(&east);
    ec.create_global_replication_group()
        .global_replication_group_id_suffix("orders")
        .primary_replication_group_id("primary")
        .send()
        .await
        .unwrap();
    let secondary = Group {
        encrypted: false,
        ..Group::compliant("secondary", &sg, &net.subnet_group)
    };
    // Joins the global group as a secondary (the emulator records the membership).
    ec.create_replication_group()
        .replication_group_id(secondary.id)
        .replication_group_description("secondary")
        .global_replication_group_id("ldgnf-orders")
        .engine("redis")
        .cache_node_type("cache.r7g.large")
        .send()
        .await
        .unwrap();
    ec.create_serverless_cache()
        .serverless_cache_name("sls")
        .engine("redis")
        .major_engine_version("7")
        .security_group_ids(&sg)
        .user_group_id("users")
        .snapshot_retention_limit(7)
        .send()
        .await
        .unwrap();
    ec.create_serverless_cache_snapshot()
        .serverless_cache_snapshot_name(format!(
            "automatic.sls-{}",
            (Utc::now() - Duration::hours(3)).format("%Y-%m-%d-%H-%M")
        ))
        .serverless_cache_name("sls")
        .send()
        .await
        .unwrap();

    let (run, inventory) = collect(&aws, &[]);
    run.expect(0);
    let primary = inventory.deployments.iter().find(|d| d.id == "primary").unwrap();
    let doomed_entry = primary.security_groups.iter().find(|g| g.id == doomed).unwrap();
    assert_eq!(doomed_entry.state, LookupState::NotFound);
    assert!(
        primary.notes.iter().any(|n| n.contains(&doomed)),
        "{:?}",
        primary.notes
    );
    assert_eq!(
        primary.vpc.as_ref().unwrap().ipv6_cidr_blocks.len(),
        1,
        "{:?}",
        primary.vpc
    );
    assert_eq!(
        primary.global_datastore.as_ref().unwrap().role,
        ecaudit::inventory::GlobalRole::Primary
    );
    let secondary = inventory
        .deployments
        .iter()
        .find(|d| d.id == "secondary")
        .unwrap();
    let membership = secondary.global_datastore.as_ref().unwrap();
    assert_eq!(membership.role, ecaudit::inventory::GlobalRole::Secondary);
    assert_eq!(membership.id, "ldgnf-orders");
    let sls = inventory.deployments.iter().find(|d| d.id == "sls").unwrap();
    assert_eq!(sls.kind, DeploymentKind::ServerlessCache);
    assert_eq!(sls.engine_version.as_deref(), Some("7.1"), "FullEngineVersion");
    assert!(sls.latest_automatic_snapshot.is_some());

    // The same facts evaluated offline and live give the same findings.
    aws.run(&[
        "scan",
        "--inventory",
        "inventory.json",
        "--format",
        "json",
        "-o",
        "offline.json",
        "--exit-zero",
    ])
    .expect(0);
    let now = inventory.collected_at.unwrap().to_rfc3339();
    aws.live(
        "scan",
        &[
            "--format",
            "json",
            "-o",
            "live.json",
            "--exit-zero",
            "--now",
            &now,
        ],
    )
    .expect(0);
    let (offline, live) = (aws.json("offline.json"), aws.json("live.json"));
    assert_eq!(offline["findings"], live["findings"]);
    assert_eq!(
        finding(&offline, "no-public-ingress", "primary")["status"],
        "pass",
        "a deleted group admits nothing"
    );
    assert!(
        finding(&offline, "no-public-ingress", "primary")["evidence"]
            .to_string()
            .contains("no longer exists")
    );
}

/// `ecaudit collect` of us-east-1 into `rel`, which must succeed.
fn collect_to(aws: &Aws, rel: &str) {
    collect_into(aws, rel, &["--regions", "us-east-1"]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_between_two_live_collections_is_exactly_what_changed() {
    let aws = Aws::start();
    let cfg = aws.config("us-east-1").await;
    let net = seed::network(&cfg, "drift-subnets", "10.40.0.0/16", false).await;
    let sg = seed::security_group(
        &cfg,
        &net.vpc_id,
        "cache",
        vec![seed::tcp(6379, 6379, "10.40.0.0/16")],
    )
    .await;
    let alpha_nodes = seed::replication_group(&cfg, &Group::compliant("alpha", &sg, &net.subnet_group)).await;
    seed::full_alarms(&cfg, &alpha_nodes).await;
    let beta_nodes = seed::replication_group(&cfg, &Group::compliant("beta", &sg, &net.subnet_group)).await;
    seed::full_alarms(&cfg, &beta_nodes).await;
    collect_to(&aws, "monday.json");
    // The nightly scan, live: it keeps only findings in memory and spools each night's inventory
    // to disk, compares it with the previous night's and records it.
    let nightly = |night: &str| -> Value {
        let out = format!("{night}.scan.json");
        scan_us_east_1(
            &aws,
            &[
                "--history",
                "history",
                "--format",
                "json",
                "--output",
                &out,
                "--exit-zero",
            ],
        )
        .expect(0)
        .stderr_has("recorded run");
        aws.json(&out)
    };
    let first = nightly("monday");
    assert!(first["drift"].is_null(), "nothing to compare with yet");
    let recorded: Vec<std::path::PathBuf> = std::fs::read_dir(aws.path("history"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".inventory.json"))
        .collect();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let recorded: Inventory = serde_json::from_str(&std::fs::read_to_string(&recorded[0]).unwrap()).unwrap();
    let collected: Inventory =
        serde_json::from_str(&std::fs::read_to_string(aws.path("monday.json")).unwrap()).unwrap();
    assert_eq!(
        recorded.deployments, collected.deployments,
        "the recorded inventory is the collected one"
    );
    assert_eq!(recorded.coverage.len(), collected.coverage.len());

    // The night's changes, through the same APIs an operator would call.
    let ec = aws_sdk_elasticache::Client::new(&cfg);
    ec.modify_replication_group()
        .replication_group_id("alpha")
        .snapshot_retention_limit(1)
        .automatic_failover_enabled(false)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    ec2.authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(seed::tcp(6379, 6379, "0.0.0.0/0"))
        .send()
        .await
        .unwrap();
    ec2.revoke_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(seed::tcp(6379, 6379, "10.40.0.0/16"))
        .send()
        .await
        .unwrap();
    let deleted_alarm = format!("{}-CPUUtilization", alpha_nodes[0]);
    aws_sdk_cloudwatch::Client::new(&cfg)
        .delete_alarms()
        .alarm_names(&deleted_alarm)
        .send()
        .await
        .unwrap();
    ec.delete_replication_group()
        .replication_group_id("beta")
        .send()
        .await
        .unwrap();
    seed::replication_group(&cfg, &Group::compliant("gamma", &sg, &net.subnet_group)).await;
    collect_to(&aws, "tuesday.json");
    // History stamps are to the second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = nightly("tuesday");

    let diff = aws.run(&["diff", "monday.json", "tuesday.json", "--format", "json"]);
    let report = diff.expect(1).json(); // drift → exit 1
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect()
    };
    let deployments = &report["deployments"];
    assert_eq!(
        &second["drift"]["deployments"], deployments,
        "the nightly scan's drift is `diff`'s"
    );
    assert_eq!(ids(&deployments["added"]), ["gamma"]);
    assert_eq!(ids(&deployments["removed"]), ["beta"]);
    assert_eq!(ids(&deployments["changed"]), ["alpha"], "{deployments:#}");
    let alpha = &deployments["changed"][0];
    assert_eq!(
        alpha["changes"],
        serde_json::json!([
            {"path": "automatic_failover", "old": "enabled", "new": "disabled"},
            {"path": "snapshot_retention_days", "old": 7, "new": 1},
        ]),
        "{alpha:#}"
    );
    assert_eq!(
        alpha["ingress_added"],
        serde_json::json!([format!("{sg}: tcp/6379 from 0.0.0.0/0")])
    );
    assert_eq!(
        alpha["ingress_removed"],
        serde_json::json!([format!("{sg}: tcp/6379 from 10.40.0.0/16")])
    );
    assert_eq!(
        alpha["alarms_removed"],
        serde_json::json!([format!("{}: {deleted_alarm}", alpha_nodes[0])])
    );
    assert!(alpha["alarms_added"].as_array().unwrap().is_empty());
    assert!(alpha["alarms_disabled"].as_array().unwrap().is_empty());

    // The findings that moved with it.
    let newly: Vec<(String, String)> = report["findings"]["newly_failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["resource_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for rule in [
        "snapshot-retention",
        "automatic-failover",
        "no-public-ingress",
        "alarm-coverage",
    ] {
        assert!(
            newly.contains(&(rule.to_string(), "alpha".to_string())),
            "{rule}: {newly:?}"
        );
    }
    assert!(
        newly.contains(&("no-public-ingress".to_string(), "gamma".to_string())),
        "{newly:?}"
    );
}
