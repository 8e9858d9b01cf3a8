//! Live collection against moto server (tests/moto/): seeded through the AWS SDK, read by the
//! `ecaudit` binary exactly as users run it.
mod common;

use chrono::{Duration, Utc};
use common::moto::Moto;
use common::seed::{self, Group};
use common::*;
use ecaudit::inventory::{DeploymentKind, Inventory, LookupState};
use serde_json::Value;

fn run(moto: &Moto, args: &[&str]) -> (i32, String, String) {
    let out = ecaudit().envs(moto.env()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn collect(moto: &Moto, extra: &[&str]) -> (i32, Inventory, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.json");
    let mut args = vec![
        "collect",
        "--endpoint-url",
        &moto.endpoint,
        "--max-attempts",
        "2",
        "--output",
    ];
    let p = path.to_str().unwrap().to_string();
    args.push(&p);
    args.extend_from_slice(extra);
    let (code, _, stderr) = run(moto, &args);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("no inventory written: {stderr}"));
    (code, serde_json::from_str(&text).unwrap(), stderr)
}

fn finding<'a>(doc: &'a Value, rule: &str, resource: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == rule && f["resource_id"] == resource)
        .unwrap_or_else(|| panic!("no finding of {rule} on {resource}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn collects_and_evaluates_a_seeded_region() {
    let moto = Moto::start();
    let cfg = moto.config("us-east-1").await;
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

    let (code, inventory, stderr) = collect(&moto, &["--regions", "us-east-1"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("2 deployment(s) in 1 account(s), 1 region(s)"),
        "{stderr}"
    );
    assert!(inventory.gaps().next().is_none(), "{:#?}", inventory.coverage);

    let orders = inventory.deployments.iter().find(|d| d.id == "orders").unwrap();
    assert_eq!(orders.kind, DeploymentKind::ReplicationGroup);
    assert_eq!(orders.account_id, common::moto::ACCOUNT);
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
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scan.json");
    let (code, _, stderr) = run(
        &moto,
        &[
            "scan",
            "--endpoint-url",
            &moto.endpoint,
            "--regions",
            "us-east-1",
            "--format",
            "json",
            "--output",
            out.to_str().unwrap(),
            "--max-attempts",
            "2",
        ],
    );
    assert_eq!(code, 1, "a critical and high failures → exit 1: {stderr}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for rule in [
        "no-public-ingress",
        "ingress-within-vpc",
        "snapshot-retention",
        "at-rest-encryption",
        "auth-required",
        "multi-az",
        "automatic-failover",
        "alarm-coverage",
        "alarm-thresholds",
    ] {
        assert_eq!(
            finding(&doc, rule, "sessions")["status"],
            "fail",
            "{rule} on sessions"
        );
    }
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
}
