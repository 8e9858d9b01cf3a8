//! Drift against declared state: a Terraform state written by hand from the documented
//! `terraform show -json` format (values.root_module, resources with address, mode, type and
//! values, child_modules) against the demo fleet.
use crate::common;

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
    let mut fleet: Value = demo_fleet();
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
        .stderr_has("not a Terraform plan or state")
        .stderr_has("terraform show -json PLANFILE");
    s.run([
        "drift",
        "--terraform-state",
        s.path("missing.json").to_str().unwrap(),
    ])
    .expect(2)
    .stderr_has("missing.json");
}

/// Issue 21: a raw state file (`terraform.tfstate`, `terraform state pull`, format version 4) is
/// read as its `terraform show -json` would be: the hand-written raw equivalent of `state.json`
/// gives the same drift.
#[test]
fn a_raw_state_file_gives_the_same_drift_as_its_show_json() {
    let s = Scratch::new();
    let raw: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_path("tests/fixtures/terraform/raw-state.json")).unwrap(),
    )
    .unwrap();
    let fleet = repo_path("examples/fleet.json");
    let run = |name: &str, doc: &Value| {
        let path = s.json(name, doc);
        let run = s.run([
            "drift",
            "--terraform-state",
            path.to_str().unwrap(),
            "--inventory",
            fleet.to_str().unwrap(),
            "--format",
            "json",
        ]);
        run.expect(1);
        assert!(!run.stdout().contains("do-not-print-this-auth-token"));
        let mut d = run.json();
        d.as_object_mut().unwrap().remove("state");
        d
    };
    let from_raw = run("terraform.tfstate", &raw);
    assert_eq!(from_raw, run("state.json", &state()));
    assert_eq!(from_raw["managed"], 4);
    // A state from before Terraform 0.12 is refused, saying so, before any AWS call.
    let old = s.file(
        "old.tfstate",
        r#"{"version": 3, "terraform_version": "0.11.14", "modules": []}"#,
    );
    s.run(["drift", "--terraform-state", old.to_str().unwrap()])
        .expect(2)
        .stderr_has("a state from before Terraform 0.12");
}

#[test]
fn provider_placeholders_are_not_drift() {
    // The AWS provider writes "" for unset strings and `6.x`-style versions.
    let s = Scratch::new();
    let mut st = state();
    let orders = &mut st["values"]["root_module"]["resources"][0]["values"];
    orders["kms_key_id"] = json!("");
    orders["snapshot_window"] = json!("");
    orders["engine_version"] = json!("7.x");
    orders.as_object_mut().unwrap().remove("engine_version_actual");
    let d = report(&s, &st, "json").json();
    let orders_drift: Vec<&str> = d["differ"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["resource"] == "orders-cache")
        .map(|x| x["attribute"].as_str().unwrap())
        .collect();
    assert_eq!(orders_drift, ["snapshot_retention_limit"]);
}

#[test]
fn provider_empty_values_percentiles_and_alarm_arns() {
    let s = Scratch::new();
    let mut st = state();
    let resources = st["values"]["root_module"]["resources"].as_array_mut().unwrap();
    // An ingress rule with an unset ("") source adds nothing; a percentile alarm uses
    // `extended_statistic`.
    resources.push(json!({
        "address": "aws_security_group_rule.empty", "mode": "managed", "type": "aws_security_group_rule",
        "values": {"type": "ingress", "security_group_id": "sg-0a1b2c3d4e5f60711", "protocol": "tcp", "from_port": 6379, "to_port": 6379, "cidr_blocks": ["10.10.0.0/16"], "source_security_group_id": ""}
    }));
    for r in resources.iter_mut() {
        if r["address"] == "aws_cloudwatch_metric_alarm.orders_cpu" {
            r["values"]["statistic"] = json!("");
            r["values"]["extended_statistic"] = json!("Average");
            r["values"]["threshold"] = json!(80);
            r["values"]["arn"] =
                json!("arn:aws:cloudwatch:us-east-1:111111111111:alarm:orders-cache-001-cpu-high");
        }
    }
    let d = report(&s, &st, "json").json();
    let attrs: Vec<(&str, &str)> = d["differ"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["address"].as_str().unwrap(), x["attribute"].as_str().unwrap()))
        .collect();
    assert!(!attrs.iter().any(|(a, _)| a.contains("orders_cpu")), "{attrs:?}");
    let orders_sg = d["differ"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["address"] == "aws_security_group.orders")
        .unwrap();
    assert_eq!(
        orders_sg["declared"],
        json!(["tcp/6379 from 10.10.5.0/24"]),
        "no phantom `from ` line"
    );
}

#[test]
fn an_empty_workspace_manages_nothing() {
    let s = Scratch::new();
    let d = report(&s, &json!({"format_version": "1.0"}), "json");
    d.expect(1);
    let d = d.json();
    assert_eq!(d["managed"], 0);
    assert_eq!(d["unmanaged"].as_array().unwrap().len(), 13);
}

#[test]
fn a_declared_deployment_in_an_unread_region_is_unverified_not_missing() {
    let s = Scratch::new();
    let mut fleet: Value = demo_fleet();
    fleet["deployments"]
        .as_array_mut()
        .unwrap()
        .retain(|d| d["region"] != "ap-southeast-2");
    fleet["coverage"].as_array_mut().unwrap().push(json!({
        "account_id": "222222222222", "region": "ap-southeast-2", "service": "elasticache",
        "api": "DescribeCacheClusters", "status": "failed", "error": {"code": "AccessDenied", "message": "denied"}
    }));
    let inv = s.json("inv.json", &fleet);
    let st = s.json("state.json", &state());
    let run = s.run([
        "drift",
        "--terraform-state",
        st.to_str().unwrap(),
        "--inventory",
        inv.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let d = run.json();
    assert_eq!(
        d["unverified"],
        // reporting-legacy's ARN puts it in the unread region; ghost-cache has no ARN in the
        // state, so with any gap its region is unknown: neither is reported missing.
        json!([
            {"address": "aws_elasticache_cluster.reporting", "resource": "reporting-legacy"},
            {"address": "aws_elasticache_replication_group.ghost", "resource": "ghost-cache"},
        ])
    );
    assert!(
        d["missing"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["resource"] != "reporting-legacy")
    );
}

/// Issue 25: a state or inventory over the size limit (`--max-document-size`, else `[input]
/// max_document_size`, else 512 MiB) is refused before it is parsed, exit 2; a bad limit is
/// refused at its line.
#[test]
fn documents_over_the_size_limit_are_refused_before_parsing() {
    let s = Scratch::new();
    let state_path = s.json("state.json", &state());
    let state_arg = state_path.to_str().unwrap();
    let fleet = repo_path("examples/fleet.json");
    let fleet_arg = fleet.to_str().unwrap();
    let size = std::fs::metadata(&state_path).unwrap().len();
    assert!(size > 1024, "the fixture state is over 1 KiB ({size} bytes)");
    let drift = |extra: &[&str]| {
        let mut args = vec!["drift", "--terraform-state", state_arg, "--inventory", fleet_arg];
        args.extend_from_slice(extra);
        s.run(args)
    };
    // Under the default limit it is read as before.
    drift(&[]).expect(1);
    drift(&["--max-document-size", "1KiB"])
        .expect(2)
        .stderr_has(&format!(
            "{state_arg}: larger than the limit of 1 KiB; refused before parsing"
        ));
    // The inventory compared with it is bounded too.
    let big = std::fs::metadata(&fleet).unwrap().len();
    let between = format!("{}", size.max(1) + 1);
    assert!(
        big > size + 1,
        "the fleet ({big} bytes) is larger than the state ({size} bytes)"
    );
    drift(&["--max-document-size", &between])
        .expect(2)
        .stderr_has(&format!("{fleet_arg}: larger than the limit of"));
    // From the config file, overridden by the flag.
    let config = s.file("ecaudit.toml", "[input]\nmax_document_size = \"1KiB\"\n");
    let config_arg = config.to_str().unwrap();
    drift(&["--config", config_arg])
        .expect(2)
        .stderr_has("larger than the limit of 1 KiB");
    drift(&["--config", config_arg, "--max-document-size", "64MiB"]).expect(1);
    // A limit that is not a size: the flag's and the config's error, exit 2.
    drift(&["--max-document-size", "lots"])
        .expect(2)
        .stderr_has("expected a size such as 512MiB");
    let bad = s.file("bad.toml", "[input]\nmax_document_size = \"12 parsecs\"\n");
    drift(&["--config", bad.to_str().unwrap()])
        .expect(2)
        .stderr_has(&format!("{}:2:21: input.max_document_size", bad.display()));
}
