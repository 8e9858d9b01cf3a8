//! Drift against declared state: a Terraform state written by hand from the documented
//! `terraform show -json` format (values.root_module, resources with address, mode, type and
//! values, child_modules) against the demo fleet.
mod common;

use common::cli::Scratch;
use common::*;
use serde_json::{Value, json};

fn state() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_path("tests/fixtures/terraform/state.json")).unwrap())
        .unwrap()
}

fn report(s: &Scratch, state: &Value, format: &str) -> common::cli::Run {
    let path = s.json("state.json", state);
    s.run([
        "drift",
        "--terraform-state",
        path.to_str().unwrap(),
        "--inventory",
        repo_path("examples/fleet.json").to_str().unwrap(),
        "--format",
        format,
    ])
}

#[test]
fn managed_unmanaged_missing_and_changed_attributes() {
    let s = Scratch::new();
    let run = report(&s, &state(), "json");
    run.expect(1);
    let d = run.json();
    // orders-cache, reporting-legacy, payments-serverless and sessions-valkey (in a module) are
    // managed; the member cluster resource is not a deployment of its own.
    assert_eq!(d["managed"], 4);
    let differ: Vec<(String, String, Value, Value)> = d["differ"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["address"].as_str().unwrap().to_string(),
                x["attribute"].as_str().unwrap().to_string(),
                x["declared"].clone(),
                x["live"].clone(),
            )
        })
        .collect();
    let expected: Vec<(String, String, Value, Value)> = [
        (
            "aws_elasticache_cluster.reporting",
            "node_type",
            json!("cache.t3.small"),
            json!("cache.t3.medium"),
        ),
        (
            "aws_elasticache_replication_group.orders",
            "snapshot_retention_limit",
            json!(14),
            json!(7),
        ),
        (
            "aws_security_group.orders",
            "ingress",
            json!(["tcp/6379 from 10.10.5.0/24"]),
            json!([]),
        ),
        (
            "module.sessions.aws_security_group.admin",
            "ingress",
            json!([]),
            json!(["tcp/22 from 0.0.0.0/0"]),
        ),
        (
            "aws_elasticache_parameter_group.orders",
            "parameter[cluster-enabled]",
            json!("yes"),
            json!("no"),
        ),
        (
            "aws_cloudwatch_metric_alarm.orders_cpu",
            "threshold",
            json!(75.0),
            json!(80.0),
        ),
    ]
    .into_iter()
    .map(|(a, b, c, e)| (a.to_string(), b.to_string(), c, e))
    .collect();
    assert_eq!(differ, expected);
    assert_eq!(d["differ"][1]["fact"], "snapshot_retention_days");
    assert_eq!(d["differ"][1]["resource"], "orders-cache");
    // Declared but not live: the replication group, and an alarm on a node the scan read (an
    // alarm on an RDS instance is not something an ElastiCache scan would see).
    assert_eq!(
        d["missing"],
        json!([
            {"address": "aws_elasticache_replication_group.ghost", "resource": "ghost-cache"},
            {"address": "aws_cloudwatch_metric_alarm.orders_evictions", "resource": "orders-cache-001-evictions"},
        ])
    );
    let unmanaged: Vec<&str> = d["unmanaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(unmanaged.len(), 9);
    assert!(unmanaged.contains(&"events-stream") && !unmanaged.contains(&"orders-cache"));
}

#[test]
fn a_plan_is_read_from_its_planned_values() {
    let s = Scratch::new();
    let mut plan = json!({"format_version": "1.2", "planned_values": state()["values"].clone()});
    // The plan sets retention back to what is live.
    plan["planned_values"]["root_module"]["resources"][0]["values"]["snapshot_retention_limit"] = json!(7);
    let d = report(&s, &plan, "json").json();
    assert!(
        d["differ"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["attribute"] != "snapshot_retention_limit")
    );
    assert_eq!(d["managed"], 4);
}

#[test]
fn a_state_that_matches_exits_0() {
    let s = Scratch::new();
    let mut only = state();
    // Keep the resources that match the fleet exactly.
    let keep = ["aws_elasticache_serverless_cache.payments"];
    only["values"]["root_module"]["resources"]
        .as_array_mut()
        .unwrap()
        .retain(|r| keep.contains(&r["address"].as_str().unwrap()));
    only["values"]["root_module"]["child_modules"] = json!([]);
    let mut fleet: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path("examples/fleet.json")).unwrap()).unwrap();
    fleet["deployments"]
        .as_array_mut()
        .unwrap()
        .retain(|d| d["id"] == "payments-serverless");
    let state_path = s.json("state.json", &only);
    let inv = s.json("inv.json", &fleet);
    s.run([
        "drift",
        "--terraform-state",
        state_path.to_str().unwrap(),
        "--inventory",
        inv.to_str().unwrap(),
    ])
    .expect(0)
    .stdout_has("Live matches the declared state");
}

#[test]
fn secrets_in_the_state_never_reach_an_output() {
    let s = Scratch::new();
    for format in ["table", "json", "markdown"] {
        let run = report(&s, &state(), format);
        run.expect(1);
        assert!(!run.stdout().contains("do-not-print-this-auth-token"), "{format}");
        assert!(!run.stderr().contains("do-not-print-this-auth-token"), "{format}");
    }
}

#[test]
fn a_bad_state_exits_2_before_any_aws_call() {
    let s = Scratch::new();
    let garbage = s.file("garbage.json", "{\n  \"values\": [\n");
    // No --inventory, no region, no credentials: the state's error comes first.
    s.run(["drift", "--terraform-state", garbage.to_str().unwrap()])
        .expect(2)
        .stderr_has(&format!("{}:3:", garbage.display()));
    let not_state = s.file("other.json", "{\"resources\": []}");
    s.run(["drift", "--terraform-state", not_state.to_str().unwrap()])
        .expect(2)
        .stderr_has("not the JSON of `terraform show -json`");
    s.run([
        "drift",
        "--terraform-state",
        s.path("missing.json").to_str().unwrap(),
    ])
    .expect(2)
    .stderr_has("missing.json");
}
