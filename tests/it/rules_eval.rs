//! `ecaudit rules eval`: a rule's sub-expressions and their values on one deployment.

use crate::common;

use common::cli::{Run, Scratch};
use common::repo_path;

/// Runs `ecaudit rules eval transit.yaml ARGS` in a scratch directory holding the fixture rule
/// file (tests/fixtures/rules-eval/transit.yaml) as `transit.yaml`.
fn eval(args: &[&str]) -> Run {
    let s = Scratch::new();
    let rules = std::fs::read_to_string(repo_path("tests/fixtures/rules-eval/transit.yaml")).unwrap();
    s.file("transit.yaml", &rules);
    let mut all = vec!["rules".to_string(), "eval".into(), "transit.yaml".into()];
    all.extend(args.iter().map(|a| a.to_string()));
    s.run(all)
}

fn fleet() -> String {
    repo_path("examples/fleet.json").display().to_string()
}

#[test]
fn a_passing_rule_on_a_fleet_deployment_shows_every_step() {
    let run = eval(&[
        "--inventory",
        &fleet(),
        "--deployment",
        "orders-cache",
        "--rule",
        "transit-required",
    ]);
    run.expect(0);
    let expected = [
        "rule        transit-required (transit.yaml:3)",
        "deployment  orders-cache (replication_group, arn:aws:elasticache:us-east-1:111111111111:replicationgroup:orders-cache)",
        "as of       2026-11-25T06:00:00Z",
        "outcome     pass: In-transit encryption is required",
        "",
        "when",
        "  7:11  d.engine != \"memcached\"  = true",
        "    7:11  d.engine  = \"redis\"",
        "",
        "check",
        "  8:12  d.transit_encryption && d.transit_encryption_mode != \"preferred\"  = true",
        "    8:12  d.transit_encryption  = true",
        "    8:36  d.transit_encryption_mode != \"preferred\"  = true",
        "      8:36  d.transit_encryption_mode  = \"required\"",
    ];
    assert_eq!(
        run.stdout().lines().collect::<Vec<_>>(),
        expected,
        "{}",
        run.stdout()
    );
}

#[test]
fn a_failing_rule_traces_its_evidence_and_json_says_the_same() {
    let run = eval(&[
        "--inventory",
        &fleet(),
        "--deployment",
        "catalog-redis",
        "--rule",
        "transit-required",
    ]);
    run.expect(0)
        .stdout_has("outcome     fail: Not satisfied: In-transit encryption is required\n")
        .stdout_has("            • TransitEncryptionMode: preferred\n")
        .stdout_has("      8:36  d.transit_encryption_mode  = \"preferred\"\n")
        .stdout_has(concat!(
            "\nevidence\n",
            "  10:7  [\"TransitEncryptionMode: \" + show(d.transit_encryption_mode)]  ",
            "= [\"TransitEncryptionMode: preferred\"]\n",
            "    10:8  \"TransitEncryptionMode: \" + show(d.transit_encryption_mode)  ",
            "= \"TransitEncryptionMode: preferred\"\n",
        ));

    let arn = "arn:aws:elasticache:eu-west-1:111111111111:replicationgroup:catalog-redis";
    let run = eval(&[
        "--inventory",
        &fleet(),
        "--deployment",
        arn,
        "--rule",
        "transit-required",
        "--format",
        "json",
    ]);
    let doc = run.expect(0).json();
    assert_eq!(doc["rule"], "transit-required");
    assert_eq!(doc["deployment"]["id"], "catalog-redis");
    assert_eq!(doc["outcome"]["status"], "fail");
    assert_eq!(doc["outcome"]["evidence"][0], "TransitEncryptionMode: preferred");
    let steps = doc["steps"].as_array().unwrap();
    let parts: Vec<&str> = steps.iter().map(|s| s["part"].as_str().unwrap()).collect();
    assert_eq!(parts.first(), Some(&"when"));
    assert_eq!(parts.last(), Some(&"evidence"));
    assert_eq!(
        steps[3],
        serde_json::json!({
            "part": "check", "depth": 1, "text": "d.transit_encryption", "line": 8, "column": 12,
            "value": "true",
        })
    );
}

#[test]
fn a_comprehension_shows_what_its_body_gave_per_element() {
    let run = eval(&[
        "--inventory",
        &fleet(),
        "--deployment",
        "orders-cache",
        "--rule",
        "replicas-elsewhere",
    ]);
    run.expect(0)
        .stdout_has("params      min_replicas=1\n")
        .stdout_has("outcome     pass: Every shard has a replica outside its primary's zone\n")
        .stdout_has("  n.role == \"replica\"  = false for 1 of 2 elements, true for 1\n")
        .stdout_has("  g.replica_count < params.min_replicas  = false for the 1 element\n")
        .stdout_has(".map(g, \"shard \" + show(g.id) + \" has no replica outside \" + g.members[0].availability_zone)  = []\n")
        .stdout_has("  \"shard \" + show(g.id) + \" has no replica outside \" + g.members[0].availability_zone  (not evaluated)\n");

    // A param override changes the outcome.
    let run = eval(&[
        "--inventory",
        &fleet(),
        "--deployment",
        "orders-cache",
        "--rule",
        "replicas-elsewhere",
        "--param",
        "min_replicas=2",
    ]);
    run.expect(0)
        .stdout_has("params      min_replicas=2\n")
        .stdout_has("outcome     fail: Not satisfied: Every shard has a replica outside its primary's zone\n")
        .stdout_has("            • shard 0001 has no replica outside us-east-1a\n");
}

#[test]
fn every_rule_of_the_file_without_rule_and_kinds_it_does_not_apply_to() {
    let run = eval(&["--inventory", &fleet(), "--deployment", "payments-serverless"]);
    run.expect(0)
        .stdout_has("rule        transit-required (transit.yaml:3)\n")
        .stdout_has(
            "outcome     the rule applies to replication_group, cache_cluster, not to a serverless_cache: not evaluated\n",
        )
        .stdout_has("rule        replicas-elsewhere (transit.yaml:13)\n");
    let docs = eval(&[
        "--inventory",
        &fleet(),
        "--deployment",
        "payments-serverless",
        "--format",
        "json",
    ])
    .expect(0)
    .json();
    assert_eq!(docs.as_array().map(Vec::len), Some(2), "{docs}");
    assert_eq!(docs[0]["applies"], false);
    assert_eq!(docs[0]["outcome"], serde_json::Value::Null);
}

#[test]
fn an_unknown_deployment_or_param_is_an_error_naming_what_exists() {
    eval(&["--inventory", &fleet(), "--deployment", "orders-cach"])
        .expect(2)
        .stderr_has("no deployment `orders-cach` in ")
        .stderr_has("closest: `orders-cache`, ");
    eval(&[
        "--inventory",
        &fleet(),
        "--deployment",
        "orders-cache",
        "--param",
        "min_replica=2",
    ])
    .expect(2)
    .stderr_has("unknown param `min_replica` (declared: replicas-elsewhere.min_replicas)");
    eval(&[
        "--inventory",
        &fleet(),
        "--deployment",
        "orders-cache",
        "--rule",
        "nope",
    ])
    .expect(2)
    .stderr_has("has no rule `nope` (its rules: replicas-elsewhere, transit-required)");
}

#[test]
fn a_planned_deployment_is_found_by_its_terraform_address() {
    let plan = repo_path("tests/fixtures/plan/plan.json").display().to_string();
    let run = eval(&[
        "--plan",
        &plan,
        "--deployment",
        "aws_elasticache_replication_group.orders",
        "--rule",
        "transit-required",
    ]);
    run.expect(0)
        .stdout_has("deployment  aws_elasticache_replication_group.orders (replication_group, ")
        .stdout_has(
            "\ncheck\n  8:12  d.transit_encryption && d.transit_encryption_mode != \"preferred\"  = ",
        );
    eval(&[
        "--plan",
        &plan,
        "--deployment",
        "aws_elasticache_replication_group.order",
    ])
    .expect(2)
    .stderr_has("closest: `aws_elasticache_replication_group.orders`");
}
