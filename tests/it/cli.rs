//! Integration tests of the `ecaudit` command line: exit codes, rule-file and inventory errors,
//! config and params, output formats and the `rules` / `inventory-schema` commands.
//!
//! Every test runs the binary in its own temporary directory (so no stray `ecaudit.toml` is
//! picked up) and passes absolute paths.

use crate::common;
use common::cli::{Run, Scratch};
use common::*;

use std::path::PathBuf;

use serde_json::{Value, json};

/// The 22 rules of the bundled pack.
const BUNDLED_IDS: [&str; 26] = [
    "alarm-coverage",
    "alarm-thresholds",
    "at-rest-encryption",
    "at-rest-encryption-cmk",
    "auth-required",
    "auto-minor-version-upgrade",
    "automatic-failover",
    "event-notifications",
    "evictions",
    "in-transit-encryption",
    "in-transit-encryption-required",
    "ingress-within-vpc",
    "memory-pressure",
    "multi-az",
    "no-public-ingress",
    "nodes-span-azs",
    "not-default-subnet-group",
    "parameter-group-cluster-mode",
    "parameter-group-family",
    "recent-automatic-snapshot",
    "replicas-per-shard",
    "required-tags",
    "snapshot-retention",
    "supported-engine-version",
    "sustained-high-cpu",
    "sustained-high-engine-cpu",
];

fn compliant() -> Value {
    inventory(vec![
        fixture("replication-group"),
        fixture("cluster-mode-enabled"),
        fixture("serverless"),
    ])
}

fn fleet() -> PathBuf {
    repo_path("examples/fleet.json")
}

/// The compliant replication group without a KMS key: its only failure is
/// `at-rest-encryption-cmk` (low).
fn low_only() -> Value {
    inventory(vec![patched("replication-group", json!({"kms_key_id": null}))])
}

fn coverage_gap() -> Value {
    json!({
        "account_id": "111111111111",
        "region": "eu-west-1",
        "service": "elasticache",
        "api": "DescribeReplicationGroups",
        "status": "failed",
        "error": {"code": "AccessDenied", "message": "User is not authorized to perform elasticache:DescribeReplicationGroups"}
    })
}

/// `deployments` plus a failed coverage entry.
fn with_gap(deployments: Vec<Value>) -> Value {
    let mut doc = inventory(deployments);
    doc["coverage"] = json!([coverage_gap()]);
    doc
}

/// The compliant replication group with no subnet group: `not-default-subnet-group` cannot
/// decide (an `error` finding).
fn undecidable() -> Value {
    inventory(vec![patched("replication-group", json!({"subnet_group": null}))])
}

/// The findings of a JSON report for `rule_id`.
fn findings_of<'a>(report: &'a Value, rule_id: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == rule_id)
        .collect()
}

fn not_passing(report: &Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail" || f["status"] == "error")
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Exit codes
// ---------------------------------------------------------------------------------------------

#[test]
fn exit_0_when_nothing_fails() {
    let s = Scratch::new();
    let inv = s.json("inv.json", &compliant());
    s.scan(&inv, &[]).expect(0);
    // Even the strictest gate: nothing fails at all.
    s.scan(&inv, &["--fail-on", "info"]).expect(0);
    let report = s.scan(&inv, &["--format", "json"]).expect(0).json();
    assert_eq!(report["summary"]["findings"]["fail"], 0);
    assert_eq!(report["summary"]["gate"]["exit_code"], 0);
}

#[test]
fn exit_1_for_the_demo_fleet() {
    let s = Scratch::new();
    s.scan(&fleet(), &[]).expect(1);
    // Its public ingress is critical, so the strictest-severity gate still fails.
    s.scan(&fleet(), &["--fail-on", "critical"]).expect(1);
    let report = s.scan(&fleet(), &["--format", "json"]).expect(1).json();
    assert_eq!(report["summary"]["deployments"], 13);
    assert_eq!(report["summary"]["coverage_gaps"], 0);
    assert_eq!(report["summary"]["gate"]["exit_code"], 1);
}

#[test]
fn fail_on_sets_the_gate_severity() {
    let s = Scratch::new();
    let inv = s.json("low.json", &low_only());
    let report = s.scan(&inv, &["--format", "json"]).expect(0).json();
    assert_eq!(
        not_passing(&report),
        vec![("at-rest-encryption-cmk".into(), "low".into(), "fail".into())]
    );
    s.scan(&inv, &["--fail-on", "high"]).expect(0);
    s.scan(&inv, &["--fail-on", "medium"]).expect(0);
    s.scan(&inv, &["--fail-on", "low"]).expect(1);
    s.scan(&inv, &["--fail-on", "info"]).expect(1);
}

#[test]
fn fail_on_from_the_config_file_and_the_command_line_wins() {
    let s = Scratch::new();
    // A single old node: high failures, nothing critical.
    let inv = s.json("standalone.json", &inventory(vec![fixture("standalone")]));
    let config = s.file("critical.toml", "[scan]\nfail_on = \"critical\"\n");
    let config = config.to_str().unwrap();
    s.scan(&inv, &[]).expect(1);
    s.scan(&inv, &["--config", config]).expect(0);
    s.scan(&inv, &["--config", config, "--fail-on", "high"]).expect(1);
    // The fleet's critical failure still fails a critical gate from the config.
    s.scan(&fleet(), &["--config", config]).expect(1);
}

#[test]
fn exit_2_for_usage_errors() {
    let s = Scratch::new();
    let inv = s.json("inv.json", &compliant());
    let inv_s = inv.to_str().unwrap();
    s.run(["scan", "--inventory", inv_s, "--no-such-flag"])
        .expect(2)
        .stderr_has("--no-such-flag");
    s.run(["scan", "--inventory", inv_s, "--fail-on", "severe"])
        .expect(2)
        .stderr_has("severe");
    s.run(["scan", "--inventory", inv_s, "--severity", "loud"])
        .expect(2);
    s.run(["scan", "--inventory", inv_s, "--format", "xml"]).expect(2);
    s.run(["scan", "--inventory", inv_s, "--now", "yesterday"])
        .expect(2);
    // Without --inventory a scan collects live, which needs a region.
    s.run(["scan"]).expect(2).stderr_has("no AWS region");
    s.run(["scan", "--accounts", "12345"])
        .expect(2)
        .stderr_has("12345");
    s.run(["no-such-command"]).expect(2);
    s.run(Vec::<&str>::new()).expect(2);
}

/// Metrics are read while collecting: with a saved inventory they were silently ignored.
#[test]
fn metrics_with_a_saved_inventory_are_refused_before_anything_is_read() {
    let s = Scratch::new();
    // Neither the inventory nor the config exists: the refusal comes first.
    let missing = s.path("missing.json");
    let config = s.path("missing.toml");
    for flags in [
        &["--metrics"][..],
        &["--metrics-window", "14d"],
        &["--metrics", "--metrics-window", "1d"],
    ] {
        let mut args = vec!["--config", config.to_str().unwrap()];
        args.extend(flags);
        let run = s.scan(&missing, &args);
        run.expect(2).stderr_has(&format!(
            "ecaudit: error: {} cannot be used with --inventory (the inventory holds the metrics \
             it was collected with: `collect --metrics`)",
            flags[0]
        ));
        assert_eq!(run.stdout(), "", "{flags:?}");
    }
    // `[targets] metrics = true` is for the config's live scans; a saved inventory is scanned.
    let inv = s.json("inv.json", &compliant());
    let config = s.file(
        "metrics.toml",
        "[targets]\nmetrics = true\nmetrics_window = \"7d\"\n",
    );
    s.scan(&inv, &["--config", config.to_str().unwrap()]).expect(0);
}

#[test]
fn exit_2_for_an_unreadable_inventory() {
    let s = Scratch::new();
    let missing = s.path("missing.json");
    s.scan(&missing, &[])
        .expect(2)
        .stderr_has(&missing.display().to_string())
        .stderr_has("cannot read inventory");
    // A directory is not a file.
    let dir = s.path("a-directory");
    std::fs::create_dir(&dir).unwrap();
    s.scan(&dir, &[]).expect(2).stderr_has(&dir.display().to_string());
}

#[test]
fn exit_3_for_a_coverage_gap() {
    let s = Scratch::new();
    let inv = s.json("gap.json", &with_gap(vec![fixture("replication-group")]));
    s.scan(&inv, &[]).expect(3);
    let report = s.scan(&inv, &["--format", "json"]).expect(3).json();
    assert_eq!(report["summary"]["coverage_gaps"], 1);
    assert_eq!(report["summary"]["findings"]["fail"], 0);
    assert_eq!(report["summary"]["gate"]["incomplete"], true);
    let coverage = report["coverage"].as_array().unwrap();
    assert!(
        coverage
            .iter()
            .any(|c| c["status"] == "failed" && c["region"] == "eu-west-1"),
        "{coverage:?}"
    );
    // Even a lax gate cannot pass an incomplete scan.
    s.scan(&inv, &["--fail-on", "critical"]).expect(3);
}

#[test]
fn exit_3_when_a_rule_cannot_decide() {
    let s = Scratch::new();
    let inv = s.json("undecidable.json", &undecidable());
    let report = s.scan(&inv, &["--format", "json"]).expect(3).json();
    assert_eq!(
        not_passing(&report),
        vec![("not-default-subnet-group".into(), "high".into(), "error".into())]
    );
    assert_eq!(report["summary"]["coverage_gaps"], 0);
    assert_eq!(report["summary"]["findings"]["error"], 1);
    s.scan(&inv, &[]).expect(3);
}

#[test]
fn allow_partial_turns_3_into_the_findings_verdict() {
    let s = Scratch::new();
    let gap_only = s.json("gap.json", &with_gap(vec![fixture("replication-group")]));
    s.scan(&gap_only, &["--allow-partial"]).expect(0);
    let gap_failing = s.json("gap-failing.json", &with_gap(vec![fixture("standalone")]));
    s.scan(&gap_failing, &[]).expect(3);
    s.scan(&gap_failing, &["--allow-partial"]).expect(1);
    s.scan(&gap_failing, &["--allow-partial", "--fail-on", "critical"])
        .expect(0);
    let undecided = s.json("undecidable.json", &undecidable());
    s.scan(&undecided, &["--allow-partial"]).expect(0);
    // From the config file too.
    let config = s.file("partial.toml", "[scan]\nallow_partial = true\n");
    s.scan(&gap_failing, &["--config", config.to_str().unwrap()])
        .expect(1);
    s.scan(&gap_only, &["--config", config.to_str().unwrap()])
        .expect(0);
}

#[test]
fn exit_zero_reports_only_but_bad_input_still_exits_2() {
    let s = Scratch::new();
    s.scan(&fleet(), &["--exit-zero"]).expect(0);
    let gap = s.json("gap.json", &with_gap(vec![fixture("standalone")]));
    s.scan(&gap, &["--exit-zero"]).expect(0);
    let report = s
        .scan(&gap, &["--exit-zero", "--format", "json"])
        .expect(0)
        .json();
    assert_eq!(report["summary"]["gate"]["exit_zero"], true);
    assert!(report["summary"]["findings"]["fail"].as_u64().unwrap() > 0);

    let bad = s.file("bad.json", "not json\n");
    s.scan(&bad, &["--exit-zero"]).expect(2);
    s.scan(&s.path("missing.json"), &["--exit-zero"]).expect(2);
    s.scan(&fleet(), &["--exit-zero", "--fail-on", "severe"])
        .expect(2);
    let rules = s.rules(
        "bad-rules",
        &[(
            "r.yaml",
            "rules:\n  - id: my-rule\n    title: T\n    severity: severe\n    applies_to: [replication_group]\n    check: \"true\"\n    remediation: R\n",
        )],
    );
    s.scan(&fleet(), &["--exit-zero", "--rules", rules.to_str().unwrap()])
        .expect(2);
    let config = s.file("bad.toml", "[scan]\nfail_ob = \"high\"\n");
    s.scan(&fleet(), &["--exit-zero", "--config", config.to_str().unwrap()])
        .expect(2);
    // From the config file too.
    let config = s.file("zero.toml", "[scan]\nexit_zero = true\n");
    s.scan(&fleet(), &["--config", config.to_str().unwrap()])
        .expect(0);
}

// ---------------------------------------------------------------------------------------------
// 2. Rule files
// ---------------------------------------------------------------------------------------------

/// A rule file with one rule `id` whose lines are the given YAML body (indented under the list
/// item). Line 1 is `rules:`, line 2 is `  - id: ID`, the body starts on line 3.
fn rule_yaml(id: &str, body: &[&str]) -> String {
    let mut text = format!("rules:\n  - id: {id}\n");
    for line in body {
        text.push_str("    ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// Asserts that `yaml` in a `--rules` dir is rejected by `scan` and by `rules validate` with
/// `FILE:LINE:` (and `rule `ID``, when given) and `error[CODE]`; returns scan's stderr.
#[track_caller]
fn rejected(yaml: &str, line: usize, code: &str, rule_id: Option<&str>) -> String {
    let s = Scratch::new();
    let dir = s.rules("rules.d", &[("rules.yaml", yaml)]);
    let file = dir.join("rules.yaml").display().to_string();
    let inv = s.json("inv.json", &compliant());
    let scan = s.scan(&inv, &["--rules", dir.to_str().unwrap()]);
    let validate = s.run(["rules", "validate", dir.to_str().unwrap()]);
    for run in [&scan, &validate] {
        run.expect(2)
            .stderr_has(&format!("{file}:{line}:"))
            .stderr_has(&format!("error[{code}]"));
        if let Some(id) = rule_id {
            run.stderr_has(&format!("rule `{id}`"));
        }
        assert!(run.stdout().is_empty(), "stdout: {}", run.stdout());
    }
    // The diagnostic is one line that holds all of it.
    let err = scan.stderr();
    let diag = err
        .lines()
        .find(|l| l.contains(&format!("error[{code}]")))
        .unwrap();
    assert!(diag.starts_with(&format!("{file}:{line}:")), "{diag}");
    err
}

#[test]
fn rule_file_yaml_syntax_error() {
    let yaml = rule_yaml(
        "broken-yaml",
        &[
            "title: T",
            "severity: high",
            "applies_to: [replication_group]]",
            "check: \"true\"",
            "remediation: R",
        ],
    );
    rejected(&yaml, 5, "yaml-syntax", Some("broken-yaml"));
}

#[test]
fn rule_file_unknown_field() {
    let yaml = rule_yaml(
        "typo-rule",
        &[
            "title: T",
            "severty: high",
            "applies_to: [replication_group]",
            "check: \"true\"",
            "remediation: R",
        ],
    );
    let err = rejected(&yaml, 4, "unknown-field", Some("typo-rule"));
    assert!(err.contains("severty"), "{err}");
}

#[test]
fn rule_file_cel_syntax_error() {
    let yaml = rule_yaml(
        "bad-cel",
        &[
            "title: T",
            "severity: high",
            "applies_to: [replication_group]",
            "check: d.port >",
            "remediation: R",
        ],
    );
    let err = rejected(&yaml, 6, "cel-syntax", Some("bad-cel"));
    assert!(err.contains("`check`"), "{err}");
}

#[test]
fn rule_file_cel_error_in_a_block_scalar_points_at_its_line() {
    let yaml = rule_yaml(
        "block-rule",
        &[
            "title: T",
            "severity: high",
            "applies_to: [replication_group]",
            "check: |",
            "  d.port > 1 &&",
            "    frobnicate(d.port)",
            "remediation: R",
        ],
    );
    rejected(&yaml, 8, "unknown-function", Some("block-rule"));
}

#[test]
fn rule_file_unknown_function() {
    let yaml = rule_yaml(
        "calls-nothing",
        &[
            "title: T",
            "severity: high",
            "applies_to: [replication_group]",
            "check: frobnicate(d.port)",
            "remediation: R",
        ],
    );
    let err = rejected(&yaml, 6, "unknown-function", Some("calls-nothing"));
    assert!(err.contains("frobnicate"), "{err}");
}

#[test]
fn rule_file_unknown_fact_suggests_the_right_one() {
    let yaml = rule_yaml(
        "retention-typo",
        &[
            "title: T",
            "severity: high",
            "applies_to: [replication_group]",
            "check: d.snapshot_retention >= 7",
            "remediation: R",
        ],
    );
    let err = rejected(&yaml, 6, "unknown-fact", Some("retention-typo"));
    assert!(err.contains("snapshot_retention_days"), "{err}");
}

#[test]
fn rule_file_unknown_variable() {
    let yaml = rule_yaml(
        "stray-variable",
        &[
            "title: T",
            "severity: high",
            "applies_to: [replication_group]",
            "check: deployment.port > 1",
            "remediation: R",
        ],
    );
    let err = rejected(&yaml, 6, "unknown-variable", Some("stray-variable"));
    assert!(err.contains("deployment"), "{err}");
}

#[test]
fn rule_file_undeclared_param() {
    let yaml = rule_yaml(
        "undeclared-param",
        &[
            "title: T",
            "severity: high",
            "applies_to: [replication_group]",
            "params: { min_port: 1024 }",
            "check: d.port > params.max_port",
            "remediation: R",
        ],
    );
    let err = rejected(&yaml, 7, "unknown-param", Some("undeclared-param"));
    assert!(err.contains("max_port"), "{err}");
}

#[test]
fn rule_file_duplicate_id_in_the_user_dir() {
    let rule = |title: &str| {
        rule_yaml(
            "twice",
            &[
                &format!("title: {title}"),
                "severity: high",
                "applies_to: [replication_group]",
                "check: \"true\"",
                "remediation: R",
            ],
        )
    };
    // Within one file: the second rule starts on line 8.
    let both = format!(
        "{}{}",
        rule("First"),
        rule("Second").trim_start_matches("rules:\n")
    );
    let err = rejected(&both, 8, "duplicate-id", Some("twice"));
    assert!(err.contains(":2"), "names the first definition: {err}");

    // Across two files of the same dir.
    let s = Scratch::new();
    let dir = s.rules(
        "rules.d",
        &[("a.yaml", &rule("First")), ("b.yaml", &rule("Second"))],
    );
    s.run(["rules", "validate", dir.to_str().unwrap()])
        .expect(2)
        .stderr_has("error[duplicate-id]")
        .stderr_has("rule `twice`");

    // Across two --rules dirs.
    let other = s.rules("other.d", &[("a.yaml", &rule("Third"))]);
    s.run([
        "rules",
        "list",
        "--rules",
        dir.to_str().unwrap(),
        "--rules",
        other.to_str().unwrap(),
    ])
    .expect(2)
    .stderr_has("error[duplicate-id]");
}

#[test]
fn rule_file_bad_severity() {
    let yaml = rule_yaml(
        "too-loud",
        &[
            "title: T",
            "severity: severe",
            "applies_to: [replication_group]",
            "check: \"true\"",
            "remediation: R",
        ],
    );
    let err = rejected(&yaml, 4, "bad-severity", Some("too-loud"));
    assert!(err.contains("severe"), "{err}");
}

#[test]
fn rule_file_both_check_and_violations() {
    let yaml = rule_yaml(
        "two-tests",
        &[
            "title: T",
            "severity: high",
            "applies_to: [replication_group]",
            "check: \"true\"",
            "violations: \"[]\"",
            "remediation: R",
        ],
    );
    rejected(&yaml, 2, "check-form", Some("two-tests"));
}

#[test]
fn rule_file_bad_kind() {
    let yaml = rule_yaml(
        "wrong-kind",
        &[
            "title: T",
            "severity: high",
            "applies_to: [redis_cluster]",
            "check: \"true\"",
            "remediation: R",
        ],
    );
    let err = rejected(&yaml, 5, "bad-kind", Some("wrong-kind"));
    assert!(err.contains("redis_cluster"), "{err}");
}

#[test]
fn rule_file_unknown_framework() {
    let yaml = rule_yaml(
        "hipaa-rule",
        &[
            "title: T",
            "severity: high",
            "applies_to: [replication_group]",
            "check: \"true\"",
            "remediation: R",
            "controls: { hipaa: [\"164.312\"] }",
        ],
    );
    let err = rejected(&yaml, 8, "unknown-framework", Some("hipaa-rule"));
    assert!(err.contains("hipaa"), "{err}");
}

#[test]
fn rule_file_other_codes() {
    let missing_title = rule_yaml(
        "no-title",
        &[
            "severity: high",
            "applies_to: [replication_group]",
            "check: \"true\"",
            "remediation: R",
        ],
    );
    let s = Scratch::new();
    let dir = s.rules("missing", &[("r.yaml", &missing_title)]);
    s.run(["rules", "validate", dir.to_str().unwrap()])
        .expect(2)
        .stderr_has("error[missing-field]")
        .stderr_has("title");
    let bad_id = rule_yaml(
        "My_Rule",
        &[
            "title: T",
            "severity: high",
            "applies_to: [replication_group]",
            "check: \"true\"",
            "remediation: R",
        ],
    );
    rejected(&bad_id, 2, "bad-id", Some("My_Rule"));
    let empty_title = rule_yaml(
        "empty-title",
        &[
            "title: \"\"",
            "severity: high",
            "applies_to: [replication_group]",
            "check: \"true\"",
            "remediation: R",
        ],
    );
    rejected(&empty_title, 3, "empty-text", Some("empty-title"));
    let map_param = rule_yaml(
        "map-param",
        &[
            "title: T",
            "severity: high",
            "applies_to: [replication_group]",
            "params: { limits: { a: 1 } }",
            "check: \"true\"",
            "remediation: R",
        ],
    );
    rejected(&map_param, 6, "bad-param", Some("map-param"));
}

#[test]
fn rule_file_empty_fail_message() {
    let yaml = rule_yaml(
        "says-nothing",
        &[
            "title: T",
            "severity: high",
            "applies_to: [replication_group]",
            "fail_message: \"  \"",
            "check: \"true\"",
            "remediation: R",
        ],
    );
    let err = rejected(&yaml, 6, "empty-text", Some("says-nothing"));
    assert!(err.contains("`fail_message` is empty"), "{err}");
}

/// An expression nested deeper than CEL's parser allows is one diagnostic, not a dump of the
/// parser's internals (`OtherError(ParseError { ... })`) and the errors they cause.
#[test]
fn rule_file_expression_nested_too_deep() {
    let parens = format!("{}true{}", "(".repeat(100), ")".repeat(100));
    let conditionals = format!("{}1 == 1", "true ? 1 : ".repeat(100));
    for (id, check) in [("deep-parens", parens), ("deep-conditionals", conditionals)] {
        let yaml = rule_yaml(
            id,
            &[
                "title: T",
                "severity: high",
                "applies_to: [replication_group]",
                &format!("check: \"{check}\""),
                "remediation: R",
            ],
        );
        let err = rejected(&yaml, 6, "cel-too-deep", Some(id));
        assert_eq!(err.matches("error[").count(), 1, "{err}");
        assert!(err.contains("nests more than 95 levels deep"), "{err}");
        assert!(!err.contains("ParseError"), "{err}");
    }
}

#[test]
fn every_error_in_a_file_is_reported() {
    let text = "rules:
  - id: first-bad
    title: T
    severity: severe
    applies_to: [replication_group]
    check: \"true\"
    remediation: R
  - id: second-bad
    title: T
    severity: high
    applies_to: [replication_group]
    check: d.snapshot_retention > 1
    remediation: R
  - id: third-bad
    title: T
    severity: high
    applies_to: [replication_group]
    check: frob(1)
    remediation: R
  - id: fine
    title: T
    severity: high
    applies_to: [replication_group]
    check: \"true\"
    remediation: R
";
    let s = Scratch::new();
    let dir = s.rules("rules.d", &[("multi.yaml", text)]);
    let file = dir.join("multi.yaml").display().to_string();
    let run = s.run(["rules", "validate", dir.to_str().unwrap()]);
    run.expect(2);
    let err = run.stderr();
    for (line, code, id) in [
        (4, "bad-severity", "first-bad"),
        (12, "unknown-fact", "second-bad"),
        (18, "unknown-function", "third-bad"),
    ] {
        assert!(
            err.lines().any(|l| l.starts_with(&format!("{file}:{line}:"))
                && l.contains(&format!("error[{code}]"))
                && l.contains(&format!("rule `{id}`"))),
            "no {code} at line {line} for {id}:\n{err}"
        );
    }
    assert!(!err.contains("rule `fine`"), "{err}");
}

#[test]
fn a_user_rule_replaces_the_bundled_rule_of_the_same_id() {
    let s = Scratch::new();
    let dir = s.rules(
        "rules.d",
        &[(
            "backup.yaml",
            "rules:
  - id: snapshot-retention
    title: Snapshots are kept for two weeks
    severity: high
    applies_to: [replication_group, cache_cluster, serverless_cache]
    check: d.snapshot_retention_days >= 14
    evidence: '\"SnapshotRetentionLimit: \" + string(d.snapshot_retention_days)'
    remediation: Keep two weeks.
",
        )],
    );
    let dir_s = dir.to_str().unwrap();
    s.run(["rules", "validate", dir_s])
        .expect(0)
        .stdout_has("1 rule(s) valid");
    s.run(["rules", "show", "snapshot-retention", "--rules", dir_s])
        .expect(0)
        .stdout_has("Snapshots are kept for two weeks")
        .stdout_has("d.snapshot_retention_days >= 14")
        .stdout_has("backup.yaml:2");
    let list = s
        .run(["rules", "list", "--format", "json", "--rules", dir_s])
        .expect(0)
        .json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 26, "replaced, not added");
    let rule = list.iter().find(|r| r["id"] == "snapshot-retention").unwrap();
    assert_eq!(rule["title"], "Snapshots are kept for two weeks");

    // The compliant replication group keeps 7 days: it passes the bundled rule, fails this one.
    let inv = s.json("inv.json", &inventory(vec![fixture("replication-group")]));
    s.scan(&inv, &[]).expect(0);
    let report = s
        .scan(&inv, &["--rules", dir_s, "--format", "json"])
        .expect(1)
        .json();
    assert_eq!(report["summary"]["rules"], 26);
    let found = findings_of(&report, "snapshot-retention");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["status"], "fail");
    assert_eq!(found[0]["title"], "Snapshots are kept for two weeks");
    assert_eq!(found[0]["evidence"], json!(["SnapshotRetentionLimit: 7"]));

    // The replacement is visible in the result (issue 25): the rule is marked with its file, the
    // pack version says it was modified; the others are not marked.
    let file = dir.join("backup.yaml").display().to_string();
    assert_eq!(report["tool"]["rule_pack"], "2026.12.3+modified");
    let rules = report["rules"].as_array().unwrap();
    let replaced = rules.iter().find(|r| r["id"] == "snapshot-retention").unwrap();
    assert_eq!(replaced["overridden"]["file"], file.as_str());
    assert_eq!(replaced["overridden"]["line"], 2);
    assert_eq!(replaced["overridden"]["bundled_file"], "bundled:backup.yaml");
    let marked = rules.iter().filter(|r| r.get("overridden").is_some()).count();
    assert_eq!(marked, 1);
    // Loading warns, naming the file; the table and Markdown carry the marked version too.
    s.scan(&inv, &["--rules", dir_s])
        .expect(1)
        .stderr_has("ecaudit: warning: ")
        .stderr_has(&file)
        .stdout_has("rule pack 2026.12.3+modified");
    s.scan(&inv, &["--rules", dir_s, "--format", "markdown"])
        .expect(1)
        .stdout_has("2026.12.3+modified");
    // `diff` of two inventories evaluates each with its own rule set, and warns once.
    let inv_arg = inv.to_str().unwrap();
    let diffed = s.run(["diff", inv_arg, inv_arg, "--rules", dir_s]);
    diffed.expect(0);
    assert_eq!(
        diffed.stderr().matches("ecaudit: warning: ").count(),
        1,
        "{}",
        diffed.stderr()
    );
    // `rules list` and `rules show` mark it; the audit report's rule section names its file.
    s.run(["rules", "list", "--rules", dir_s])
        .expect(0)
        .stdout_has("snapshot-retention (overridden)");
    let listed = s
        .run(["rules", "list", "--format", "json", "--rules", dir_s])
        .expect(0)
        .json();
    let listed = listed.as_array().unwrap();
    let marked: Vec<_> = listed.iter().filter(|r| r.get("overrides").is_some()).collect();
    assert_eq!(marked.len(), 1, "{marked:?}");
    assert_eq!(marked[0]["overrides"], "bundled:backup.yaml:3");
    s.run(["rules", "show", "snapshot-retention", "--rules", dir_s])
        .expect(0)
        .stdout_has("overrides: the bundled rule at bundled:backup.yaml:3");
    let bundled = s.run(["rules", "show", "snapshot-retention"]).expect(0).stdout();
    assert!(!bundled.contains("overrides:"), "{bundled}");
    let saved = s.json("overridden.json", &report);
    let saved = saved.to_str().unwrap();
    for format in ["html", "markdown"] {
        let out = s.run(["report", saved, "--format", format]).expect(0).stdout();
        // HTML writes `/` as a character reference.
        let out = out.replace("&#x2f;", "/");
        let section = &out[out.find("Rules and remediation").unwrap()..];
        assert_eq!(section.matches("Overridden").count(), 1, "{format}");
        assert!(section.contains(&format!("{file}:2")), "{format}");
    }
    // --no-override refuses the replacement at the user rule's line, before anything is read.
    s.scan(&inv, &["--rules", dir_s, "--no-override"])
        .expect(2)
        .stderr_has(&format!("{file}:2:"))
        .stderr_has("override-refused");
    let plain = s.scan(&inv, &["--format", "json"]).expect(0).json();
    assert_eq!(plain["tool"]["rule_pack"], "2026.12.3");
    assert!(
        plain["rules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("overridden").is_none())
    );
}

/// `levels` comprehensions over the deployment's user groups, each inside the previous one.
fn nested_over_user_groups(levels: usize) -> String {
    let mut expr = "a0 != 'x'".to_string();
    for i in (0..levels).rev() {
        expr = format!("d.user_group_ids.all(a{i}, {expr})");
    }
    expr
}

#[test]
fn a_rule_nesting_comprehensions_eight_deep_is_rejected() {
    // Issue 25: eight nested `map`s passed validation, then ran for minutes or ran out of memory.
    let mut maps = "i.name".to_string();
    for v in ["i", "h", "g", "f", "e", "c", "b", "a"] {
        maps = format!("d.nodes.map({v}, {maps})");
    }
    let yaml = rule_yaml(
        "eight-deep",
        &[
            "title: T",
            "severity: low",
            "applies_to: [replication_group]",
            &format!(
                "violations: {maps}.flatten().flatten().flatten().flatten().flatten().flatten().flatten()"
            ),
            "remediation: R",
        ],
    );
    let err = rejected(&yaml, 6, "cel-too-costly", Some("eight-deep"));
    assert!(err.contains("nest 8 deep (at most 4)"), "{err}");
    let yaml = rule_yaml(
        "literal-ranges",
        &[
            "title: T",
            "severity: low",
            "applies_to: [replication_group]",
            "check: lists.range(1000).all(a, lists.range(1000).all(b, a + b >= 0))",
            "remediation: R",
        ],
    );
    rejected(&yaml, 6, "cel-too-costly", Some("literal-ranges"));
}

/// A rule whose check nests four comprehensions over the user groups: at the static bound.
fn four_deep_rule() -> String {
    rule_yaml(
        "four-deep",
        &[
            "title: T",
            "severity: low",
            "applies_to: [replication_group]",
            &format!("check: {}", nested_over_user_groups(4)),
            "remediation: R",
        ],
    )
}

#[test]
fn a_rule_just_under_the_cost_bound_is_accepted() {
    let s = Scratch::new();
    let yaml = four_deep_rule();
    let dir = s.rules("rules.d", &[("rules.yaml", &yaml)]);
    s.run(["rules", "validate", dir.to_str().unwrap()])
        .expect(0)
        .stdout_has("1 rule(s) valid");
}

/// A rule within the static bound that would still run away on a large deployment: 40 user
/// groups nested four deep are 40^4 = 2,560,000 steps, over the budget of 1,000,000.
#[test]
fn a_runaway_rule_is_an_error_finding_for_that_deployment_in_bounded_time() {
    let s = Scratch::new();
    let yaml = four_deep_rule();
    let dir = s.rules("rules.d", &[("rules.yaml", &yaml)]);
    let groups: Vec<String> = (0..40).map(|i| format!("ug-{i}")).collect();
    let big = patched(
        "replication-group",
        json!({"id": "big", "arn": "arn:aws:elasticache:eu-west-1:111122223333:replicationgroup:big",
               "user_group_ids": groups}),
    );
    let small = patched("replication-group", json!({"user_group_ids": ["ug-1", "ug-2"]}));
    let inv = s.json("inv.json", &inventory(vec![big, small]));
    let started = std::time::Instant::now();
    let report = s
        .scan(&inv, &["--rules", dir.to_str().unwrap(), "--format", "json"])
        .expect(3)
        .json();
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    let found = findings_of(&report, "four-deep");
    assert_eq!(found.len(), 2, "{found:?}");
    let big = found.iter().find(|f| f["resource_id"] == "big").unwrap();
    assert_eq!(big["status"], "error");
    let message = big["message"].as_str().unwrap();
    assert!(
        message.contains("more than 1000000 comprehension steps"),
        "{message}"
    );
    let small = found.iter().find(|f| f["resource_id"] != "big").unwrap();
    assert_eq!(small["status"], "pass", "the budget is per deployment");
}

#[test]
fn rules_validate_counts_a_valid_dir() {
    let s = Scratch::new();
    let dir = s.rules(
        "rules.d",
        &[
            (
                "a.yaml",
                &rule_yaml(
                    "port-is-standard",
                    &[
                        "title: The default port is used",
                        "severity: info",
                        "applies_to: [replication_group, cache_cluster]",
                        "params: { port: 6379 }",
                        "check: d.port == params.port",
                        "remediation: Use the default port.",
                    ],
                ),
            ),
            (
                "b.yml",
                &rule_yaml(
                    "has-team-tag",
                    &[
                        "title: The deployment names its team",
                        "severity: low",
                        "applies_to: [replication_group, cache_cluster, serverless_cache]",
                        "violations: 'd.tags != null && \"team\" in d.tags ? [] : [\"no team tag\"]'",
                        "remediation: Tag it.",
                        "controls: { nist-800-53: [CM-8] }",
                    ],
                ),
            ),
        ],
    );
    s.run(["rules", "validate", dir.to_str().unwrap()])
        .expect(0)
        .stdout_has("2 rule(s) valid");
    // And they run: the compliant fixtures pass both.
    let inv = s.json("inv.json", &compliant());
    let report = s
        .scan(&inv, &["--rules", dir.to_str().unwrap(), "--format", "json"])
        .expect(0)
        .json();
    assert_eq!(report["summary"]["rules"], 28);
    assert!(!findings_of(&report, "has-team-tag").is_empty());

    s.run(["rules", "validate", s.path("missing").to_str().unwrap()])
        .expect(2)
        .stderr_has("error[io]");
}

#[test]
fn rule_errors_are_reported_before_the_inventory_is_read() {
    let s = Scratch::new();
    let dir = s.rules(
        "rules.d",
        &[(
            "r.yaml",
            &rule_yaml(
                "too-loud",
                &[
                    "title: T",
                    "severity: severe",
                    "applies_to: [replication_group]",
                    "check: \"true\"",
                    "remediation: R",
                ],
            ),
        )],
    );
    let missing = s.path("missing.json");
    let run = s.scan(&missing, &["--rules", dir.to_str().unwrap()]);
    run.expect(2)
        .stderr_has("error[bad-severity]")
        .stderr_has("rule `too-loud`");
    assert!(!run.stderr().contains("missing.json"), "{}", run.stderr());
}

// ---------------------------------------------------------------------------------------------
// 3. Malformed inventories
// ---------------------------------------------------------------------------------------------

/// Writes `text` as an inventory, scans it, expects exit 2 and the file named in stderr;
/// returns stderr.
#[track_caller]
fn bad_inventory(text: &str) -> String {
    let s = Scratch::new();
    let path = s.file("inventory.json", text);
    let run = s.scan(&path, &[]);
    run.expect(2).stderr_has(&path.display().to_string());
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    run.stderr()
}

fn pretty(doc: &Value) -> String {
    serde_json::to_string_pretty(doc).unwrap()
}

#[test]
fn inventory_not_json() {
    let err = bad_inventory("this is not JSON\n");
    assert!(err.contains("invalid inventory"), "{err}");
    let err = bad_inventory("");
    assert!(err.contains("invalid inventory"), "{err}");
}

#[test]
fn inventory_truncated_json_reports_line_and_column() {
    let text = "{\n  \"schema_version\": 1,\n  \"deployments\": [\n    {\"kind\": \"replication_group\", \"id\": \"x\"";
    let err = bad_inventory(text);
    assert!(err.contains("inventory.json:4:43:"), "{err}");
    assert!(err.contains("EOF"), "{err}");
    assert!(err.contains("deployments[0]"), "{err}");
}

#[test]
fn inventory_unsupported_schema_version() {
    let mut doc = inventory(vec![fixture("replication-group")]);
    doc["schema_version"] = json!(2);
    let err = bad_inventory(&pretty(&doc));
    assert!(err.contains("unsupported inventory schema_version 2"), "{err}");
    assert!(err.contains("reads schema_version 1"), "{err}");
}

#[test]
fn inventory_missing_schema_version() {
    let mut doc = inventory(vec![fixture("replication-group")]);
    doc.as_object_mut().unwrap().remove("schema_version");
    let err = bad_inventory(&pretty(&doc));
    assert!(err.contains("missing field `schema_version`"), "{err}");
}

#[test]
fn inventory_missing_deployments() {
    let err = bad_inventory("{\"schema_version\": 1}");
    assert!(err.contains("missing field `deployments`"), "{err}");
    assert!(err.contains("ecaudit inventory-schema"), "{err}");
}

/// Issue 26: a document of another shape says what it is and what an inventory looks like
/// (never an internal type name, never its first element taken for `schema_version`).
#[test]
fn inventory_of_another_shape_says_what_is_expected() {
    for (text, found) in [
        ("[{\"a\": 1}]", "an array"),
        ("\n  \"x\"", "a string"),
        ("42", "a number"),
    ] {
        let err = bad_inventory(text);
        assert!(err.contains(&format!("this is {found}")), "{err}");
        assert!(err.contains("ecaudit inventory-schema"), "{err}");
        assert!(
            !err.contains("RawInventory") && !err.contains("schema_version {"),
            "{err}"
        );
    }
}

/// Issue 26: `--now` shows an example of the time it takes.
#[test]
fn a_bad_now_shows_an_example() {
    let s = Scratch::new();
    s.scan(&fleet(), &["--now", "yesterday"])
        .expect(2)
        .stderr_has("expected an RFC 3339 time such as 2026-12-01T06:00:00Z");
}

/// Issue 26: a write error names the file asked for and its missing directory, not the
/// temporary file it would have been written through.
#[test]
fn a_write_error_names_the_target_not_the_temporary_file() {
    let s = Scratch::new();
    let run = s.scan(&fleet(), &["--exit-zero", "-o", "missing/out.json"]);
    run.expect(2)
        .stderr_has("missing/out.json: cannot write: the directory missing does not exist");
    assert!(!run.stderr().contains(".ecaudit-"), "{}", run.stderr());
}

#[test]
fn inventory_deployment_missing_arn() {
    let doc = inventory(vec![patched("replication-group", json!({"arn": null}))]);
    let err = bad_inventory(&pretty(&doc));
    assert!(err.contains("deployments[0]"), "{err}");
    assert!(err.contains("missing field `arn`"), "{err}");
}

#[test]
fn inventory_wrong_type() {
    let doc = inventory(vec![
        fixture("serverless"),
        patched("replication-group", json!({"port": "x"})),
    ]);
    let err = bad_inventory(&pretty(&doc));
    assert!(err.contains("deployments[1].port"), "{err}");
    assert!(err.contains("invalid type"), "{err}");
}

#[test]
fn inventory_unknown_field_in_a_deployment() {
    let doc = inventory(vec![patched("replication-group", json!({"colour": "blue"}))]);
    let err = bad_inventory(&pretty(&doc));
    assert!(err.contains("deployments[0].colour"), "{err}");
    assert!(err.contains("unknown field `colour`"), "{err}");
}

#[test]
fn inventory_unknown_top_level_field() {
    let mut doc = inventory(vec![fixture("replication-group")]);
    doc["extra"] = json!(1);
    let err = bad_inventory(&pretty(&doc));
    assert!(err.contains("unknown field `extra`"), "{err}");
}

#[test]
fn inventory_invalid_cidr_names_its_json_path() {
    let mut d = fixture("replication-group");
    d["security_groups"][0]["ingress"][0]["ipv4_ranges"][0]["cidr"] = json!("10.10.0.0/33");
    let err = bad_inventory(&pretty(&inventory(vec![d])));
    assert!(
        err.contains("deployments[0].security_groups[0].ingress[0].ipv4_ranges[0].cidr"),
        "{err}"
    );
    assert!(err.contains("10.10.0.0/33"), "{err}");
}

#[test]
fn inventory_duplicate_arn() {
    let d = fixture("replication-group");
    let arn = d["arn"].as_str().unwrap().to_string();
    let err = bad_inventory(&pretty(&inventory(vec![d.clone(), fixture("serverless"), d])));
    assert!(err.contains("same ARN"), "{err}");
    assert!(err.contains(&arn), "{err}");
    assert!(
        err.contains("deployments[0]") && err.contains("deployments[2]"),
        "{err}"
    );
}

#[test]
fn inventory_from_standard_input() {
    let s = Scratch::new();
    let run = ecaudit()
        .current_dir(s.dir.path())
        .args(["scan", "--inventory", "-", "--format", "json"])
        .write_stdin(compliant().to_string())
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["summary"]["deployments"], 3);
}

// ---------------------------------------------------------------------------------------------
// 4. Config and params
// ---------------------------------------------------------------------------------------------

const RETENTION_14: &str = "snapshot-retention.min_snapshot_retention_days=14";

#[test]
fn param_override_turns_a_pass_into_a_fail() {
    let s = Scratch::new();
    let inv = s.json("rg.json", &inventory(vec![fixture("replication-group")]));
    let report = s.scan(&inv, &["--format", "json"]).expect(0).json();
    assert_eq!(findings_of(&report, "snapshot-retention")[0]["status"], "pass");

    let report = s
        .scan(&inv, &["--param", RETENTION_14, "--format", "json"])
        .expect(1)
        .json();
    let f = findings_of(&report, "snapshot-retention")[0];
    assert_eq!(f["status"], "fail");
    assert_eq!(f["severity"], "high");
    assert_eq!(
        f["evidence"],
        json!(["SnapshotRetentionLimit: 7 days; minimum 14 days"])
    );
    s.scan(&inv, &["--param", RETENTION_14]).expect(1);
    // Exactly at the minimum passes.
    s.scan(
        &inv,
        &["--param", "snapshot-retention.min_snapshot_retention_days=7"],
    )
    .expect(0);
    // `rules show` shows the value in effect.
    s.run(["rules", "show", "snapshot-retention", "--param", RETENTION_14])
        .expect(0)
        .stdout_has("min_snapshot_retention_days = 14")
        .stdout_has("default 7");
}

#[test]
fn list_param_override() {
    let s = Scratch::new();
    let inv = s.json("rg.json", &inventory(vec![fixture("replication-group")]));
    let report = s
        .scan(
            &inv,
            &[
                "--param",
                r#"required-tags.required_tags=["team","owner"]"#,
                "--format",
                "json",
            ],
        )
        .expect(0)
        .json();
    let f = findings_of(&report, "required-tags")[0];
    assert_eq!(f["status"], "fail");
    assert_eq!(f["evidence"], json!(["missing tag `owner`"]));
}

#[test]
fn bad_params_exit_2() {
    let s = Scratch::new();
    let inv = s.json("rg.json", &inventory(vec![fixture("replication-group")]));
    s.scan(&inv, &["--param", "no-such-rule.x=1"])
        .expect(2)
        .stderr_has("--param no-such-rule.x=1")
        .stderr_has("unknown rule id `no-such-rule`");
    s.scan(&inv, &["--param", "snapshot-retention.nope=1"])
        .expect(2)
        .stderr_has("has no param `nope`")
        .stderr_has("min_snapshot_retention_days");
    s.scan(
        &inv,
        &["--param", "snapshot-retention.min_snapshot_retention_days=abc"],
    )
    .expect(2)
    .stderr_has("--param snapshot-retention.min_snapshot_retention_days=abc")
    .stderr_has("abc");
    s.scan(&inv, &["--param", "snapshot-retention"])
        .expect(2)
        .stderr_has("RULE.KEY=VALUE");
}

#[test]
fn config_severity_makes_a_failure_low() {
    let s = Scratch::new();
    let inv = s.json("rg.json", &inventory(vec![fixture("replication-group")]));
    let config = s.file(
        "ecaudit-low.toml",
        "[rules.snapshot-retention]\nseverity = \"low\"\nparams = { min_snapshot_retention_days = 14 }\n",
    );
    let config = config.to_str().unwrap();
    let report = s
        .scan(&inv, &["--config", config, "--format", "json"])
        .expect(0)
        .json();
    assert_eq!(
        not_passing(&report),
        vec![("snapshot-retention".into(), "low".into(), "fail".into())]
    );
    s.scan(&inv, &["--config", config]).expect(0);
    s.scan(&inv, &["--config", config, "--fail-on", "low"]).expect(1);
    s.run(["rules", "show", "snapshot-retention", "--config", config])
        .expect(0)
        .stdout_has("severity: low (configured; the rule file says high)");
}

#[test]
fn config_can_disable_a_rule() {
    let s = Scratch::new();
    let inv = s.json("rg.json", &inventory(vec![fixture("replication-group")]));
    let config = s.file("off.toml", "[rules.snapshot-retention]\nenabled = false\n");
    let config = config.to_str().unwrap();
    s.scan(&inv, &["--param", RETENTION_14]).expect(1);
    let report = s
        .scan(
            &inv,
            &["--config", config, "--param", RETENTION_14, "--format", "json"],
        )
        .expect(0)
        .json();
    assert!(findings_of(&report, "snapshot-retention").is_empty());
    assert_eq!(report["summary"]["rules"], 25);
    let list = s
        .run(["rules", "list", "--format", "json", "--config", config])
        .expect(0)
        .json();
    let rule = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "snapshot-retention")
        .unwrap()
        .clone();
    assert_eq!(rule["enabled"], false);
}

#[test]
fn bad_config_exits_2_at_its_line() {
    let s = Scratch::new();
    let inv = s.json("rg.json", &inventory(vec![fixture("replication-group")]));
    let unknown_rule = s.file(
        "unknown-rule.toml",
        "[scan]\nfail_on = \"high\"\n\n[rules.no-such-rule]\nseverity = \"low\"\n",
    );
    s.scan(&inv, &["--config", unknown_rule.to_str().unwrap()])
        .expect(2)
        .stderr_has(&format!("{}:4:", unknown_rule.display()))
        .stderr_has("no-such-rule");
    let typo = s.file(
        "typo.toml",
        "[scan]\nfail_on = \"high\"\n\n[rules.snapshot-retention]\nsevrity = \"low\"\n",
    );
    s.scan(&inv, &["--config", typo.to_str().unwrap()])
        .expect(2)
        .stderr_has(&format!("{}:5:", typo.display()))
        .stderr_has("sevrity");
    let scan_typo = s.file("scan-typo.toml", "[scan]\nfail_ob = \"high\"\n");
    s.scan(&inv, &["--config", scan_typo.to_str().unwrap()])
        .expect(2)
        .stderr_has(&format!("{}:2:", scan_typo.display()))
        .stderr_has("fail_ob");
    let bad_severity = s.file("bad-severity.toml", "[scan]\nfail_on = \"severe\"\n");
    s.scan(&inv, &["--config", bad_severity.to_str().unwrap()])
        .expect(2)
        .stderr_has(&format!("{}:2:", bad_severity.display()))
        .stderr_has("severe");
    let bad_param = s.file(
        "bad-param.toml",
        "[rules.snapshot-retention]\nparams = { min_snapshot_retention_days = \"abc\" }\n",
    );
    s.scan(&inv, &["--config", bad_param.to_str().unwrap()])
        .expect(2)
        .stderr_has(&format!("{}:2:", bad_param.display()))
        .stderr_has("min_snapshot_retention_days");
    let unknown_param = s.file(
        "unknown-param.toml",
        "\n[rules.snapshot-retention]\nparams = { nope = 1 }\n",
    );
    s.scan(&inv, &["--config", unknown_param.to_str().unwrap()])
        .expect(2)
        .stderr_has(&format!("{}:3:", unknown_param.display()))
        .stderr_has("nope");
    s.scan(&inv, &["--config", s.path("missing.toml").to_str().unwrap()])
        .expect(2)
        .stderr_has("missing.toml");
}

#[test]
fn ecaudit_toml_in_the_working_directory_is_read() {
    let s = Scratch::new();
    let inv = s.json("standalone.json", &inventory(vec![fixture("standalone")]));
    s.scan(&inv, &[]).expect(1);
    s.file("ecaudit.toml", "[scan]\nfail_on = \"critical\"\n");
    s.scan(&inv, &[]).expect(0);
    // --config replaces it (back to the default gate, high).
    let other = s.file("other/empty.toml", "# no settings\n");
    s.scan(&inv, &["--config", other.to_str().unwrap()]).expect(1);
    // A broken one is an error too.
    s.file("ecaudit.toml", "[rules.snapshot-retention]\nsevrity = \"low\"\n");
    s.scan(&inv, &[])
        .expect(2)
        .stderr_has("ecaudit.toml:2:")
        .stderr_has("sevrity");
}

#[test]
fn a_bad_metrics_window_is_refused_before_any_aws_call() {
    let s = Scratch::new();
    // On the command line: clap names the flag and the reason.
    s.run([
        "scan",
        "--metrics-window",
        "7w",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ])
    .expect(2)
    .stderr_has("--metrics-window")
    .stderr_has("expected a number and d, h or m");
    s.run([
        "scan",
        "--metrics-window",
        "600d",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ])
    .expect(2)
    .stderr_has("between 1h and 455d");
    // In the config: the file and line.
    s.file(
        "ecaudit.toml",
        "[targets]\nmetrics = true\nmetrics_window = \"30m\"\n",
    );
    s.run(["scan", "--endpoint-url", "http://127.0.0.1:9"])
        .expect(2)
        .stderr_has("ecaudit.toml:3:")
        .stderr_has("between 1h and 455d");
}

#[test]
fn config_rule_dirs_are_relative_to_the_config_file() {
    let s = Scratch::new();
    s.rules(
        "conf/more-rules",
        &[(
            "r.yaml",
            &rule_yaml(
                "port-is-standard",
                &[
                    "title: The default port is used",
                    "severity: high",
                    "applies_to: [replication_group]",
                    "check: d.port == 6380",
                    "remediation: Use the default port.",
                ],
            ),
        )],
    );
    let config = s.file("conf/ecaudit.toml", "[scan]\nrule_dirs = [\"more-rules\"]\n");
    let inv = s.json("rg.json", &inventory(vec![fixture("replication-group")]));
    let report = s
        .scan(&inv, &["--config", config.to_str().unwrap(), "--format", "json"])
        .expect(1)
        .json();
    assert_eq!(findings_of(&report, "port-is-standard")[0]["status"], "fail");
}

// ---------------------------------------------------------------------------------------------
// 5. Output
// ---------------------------------------------------------------------------------------------

#[test]
fn json_report_shape() {
    let s = Scratch::new();
    let report = s.scan(&fleet(), &["--format", "json"]).expect(1).json();
    for key in ["schema_version", "tool", "summary", "coverage", "findings"] {
        assert!(report.get(key).is_some(), "no {key}");
    }
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["tool"]["name"], "ecaudit");
    let findings = report["findings"].as_array().unwrap();
    // 13 deployments, each with every rule that applies to its kind.
    assert_eq!(findings.len(), 310);
    assert_eq!(report["summary"]["findings"]["total"], 310);
    for f in findings {
        for key in [
            "rule_id",
            "title",
            "severity",
            "status",
            "resource_kind",
            "resource_id",
            "resource_arn",
            "account_id",
            "region",
            "message",
            "evidence",
            "remediation",
            "controls",
            "fingerprint",
        ] {
            assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
        }
        assert!(f["evidence"].is_array(), "{f}");
        assert!(f["controls"].is_object(), "{f}");
    }
    let public = findings
        .iter()
        .find(|f| f["rule_id"] == "no-public-ingress" && f["status"] == "fail")
        .expect("the fleet has public ingress");
    assert_eq!(public["severity"], "critical");
    assert!(!public["evidence"].as_array().unwrap().is_empty());
    assert!(public["remediation"].is_string());
}

#[test]
fn output_file_leaves_stdout_empty_and_summarises_on_stderr() {
    let s = Scratch::new();
    let out = s.path("reports/out.json");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let run = s.scan(&fleet(), &["--format", "json", "--output", out.to_str().unwrap()]);
    run.expect(1);
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    let err = run.stderr();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(&out.display().to_string()), "{err}");
    assert!(err.contains("exit 1"), "{err}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["summary"]["deployments"], 13);
    // `-o` too, and a table.
    let table = s.path("out.txt");
    let run = s.scan(&fleet(), &["-o", table.to_str().unwrap()]);
    run.expect(1);
    assert!(run.stdout().is_empty());
    assert!(
        std::fs::read_to_string(&table)
            .unwrap()
            .contains("no-public-ingress")
    );
    // An unwritable destination is an error.
    let nowhere = s.path("no/such/dir/out.json");
    s.scan(&fleet(), &["--output", nowhere.to_str().unwrap()])
        .expect(2)
        .stderr_has("cannot write");
}

#[test]
fn severity_filter_hides_findings_but_not_counts() {
    let s = Scratch::new();
    let inv = s.json("standalone.json", &inventory(vec![fixture("standalone")]));
    let all = s.scan(&inv, &["--format", "json"]).expect(1).json();
    let high = s
        .scan(&inv, &["--format", "json", "--severity", "high"])
        .expect(1)
        .json();
    assert_eq!(all["summary"], high["summary"]);
    let shown = high["findings"].as_array().unwrap();
    assert!(!shown.is_empty());
    assert!(
        shown
            .iter()
            .all(|f| f["severity"] == "high" || f["severity"] == "critical"),
        "{shown:?}"
    );
    // 9 of the node's 25 findings are high or critical.
    assert_eq!(all["findings"].as_array().unwrap().len(), 25);
    assert_eq!(shown.len(), 9);
    // The filter never changes the exit code.
    s.scan(&inv, &["--severity", "critical"]).expect(1);
    // The config file's [scan] severity does the same.
    let config = s.file("sev.toml", "[scan]\nseverity = \"critical\"\n");
    let crit = s
        .scan(&inv, &["--format", "json", "--config", config.to_str().unwrap()])
        .expect(1)
        .json();
    assert!(
        crit["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "critical")
    );
    // In a table too: the medium failure is counted but not listed.
    let medium_failure = "Plaintext connections are still accepted";
    s.scan(&inv, &[]).expect(1).stdout_has(medium_failure);
    let table = s.scan(&inv, &["--severity", "high"]).expect(1).stdout();
    assert!(table.contains("AtRestEncryptionEnabled: false"), "{table}");
    assert!(!table.contains(medium_failure), "{table}");
}

#[test]
fn table_output() {
    let s = Scratch::new();
    let inv = s.json("standalone.json", &inventory(vec![fixture("standalone")]));
    let run = s.scan(&inv, &[]);
    run.expect(1)
        .stdout_has("Findings by severity")
        .stdout_has("Findings by rule")
        .stdout_has("Failing and undecided findings")
        .stdout_has("at-rest-encryption")
        .stdout_has("AtRestEncryptionEnabled: false")
        .stdout_has("reporting-legacy");
    assert!(!run.stdout().contains("\x1b["), "no colour when piped");
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let s = Scratch::new();
    let inv = s.json("standalone.json", &inventory(vec![fixture("standalone")]));
    let plain = s.scan(&inv, &[]).expect(1).stdout();
    assert!(!plain.contains("\x1b["));
    let never = s.scan(&inv, &["--color", "never"]).expect(1).stdout();
    assert!(!never.contains("\x1b["));
    let always = s.scan(&inv, &["--color", "always"]).expect(1).stdout();
    assert!(always.contains("\x1b["), "{always}");
    // JSON stays JSON.
    let json = s
        .scan(&inv, &["--color", "always", "--format", "json"])
        .expect(1)
        .stdout();
    assert!(!json.contains("\x1b["));
    serde_json::from_str::<Value>(&json).unwrap();
}

#[test]
fn now_changes_time_dependent_outcomes() {
    let s = Scratch::new();
    // Newest automatic snapshot 2026-11-25T03:14:52Z, collected at 06:00 that day.
    let inv = s.json("rg.json", &inventory(vec![fixture("replication-group")]));
    let report = s.scan(&inv, &["--format", "json"]).expect(0).json();
    assert_eq!(
        findings_of(&report, "recent-automatic-snapshot")[0]["status"],
        "pass"
    );
    let later = s
        .scan(&inv, &["--format", "json", "--now", "2026-11-28T00:00:00Z"])
        .expect(0)
        .json();
    let f = findings_of(&later, "recent-automatic-snapshot")[0];
    assert_eq!(f["status"], "fail");
    assert_eq!(f["severity"], "medium");
    let evidence = f["evidence"][0].as_str().unwrap();
    assert!(evidence.contains("68h"), "{evidence}");
    s.scan(&inv, &["--now", "2026-11-28T00:00:00Z", "--fail-on", "medium"])
        .expect(1);
    // 26 hours is the limit: one second less passes.
    s.scan(&inv, &["--now", "2026-11-26T05:14:51Z", "--fail-on", "medium"])
        .expect(0);
}

// ---------------------------------------------------------------------------------------------
// 6. rules, inventory-schema, --help, --version
// ---------------------------------------------------------------------------------------------

#[test]
fn rules_list_shows_every_bundled_rule() {
    let s = Scratch::new();
    let run = s.run(["rules", "list"]);
    run.expect(0);
    for id in BUNDLED_IDS {
        run.stdout_has(id);
    }
}

#[test]
fn rules_list_as_json() {
    let s = Scratch::new();
    let list = s.run(["rules", "list", "--format", "json"]).expect(0).json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 26);
    let ids: Vec<&str> = list.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, BUNDLED_IDS.to_vec());
    for r in list {
        assert!(r["severity"].is_string(), "{r}");
        assert!(r["params"].is_object(), "{r}");
        assert_eq!(r["enabled"], true, "{r}");
    }
    let retention = list.iter().find(|r| r["id"] == "snapshot-retention").unwrap();
    assert_eq!(retention["severity"], "high");
    assert_eq!(retention["params"], json!({"min_snapshot_retention_days": 7}));
    let public = list.iter().find(|r| r["id"] == "no-public-ingress").unwrap();
    assert_eq!(public["severity"], "critical");
}

#[test]
fn rules_show_one_rule() {
    let s = Scratch::new();
    s.run(["rules", "show", "snapshot-retention"])
        .expect(0)
        .stdout_has("snapshot-retention")
        .stdout_has("severity: high")
        .stdout_has("min_snapshot_retention_days = 7")
        .stdout_has("d.snapshot_retention_days >= params.min_snapshot_retention_days")
        .stdout_has("remediation:")
        .stdout_has("ElastiCache.1");
    s.run(["rules", "show", "nope"])
        .expect(2)
        .stderr_has("unknown rule id `nope`");
}

#[test]
fn inventory_schema_is_a_json_schema() {
    let s = Scratch::new();
    let schema = s.run(["inventory-schema"]).expect(0).json();
    assert!(schema["title"].is_string(), "{schema}");
    assert!(schema["$schema"].as_str().unwrap().contains("json-schema.org"));
    assert!(schema["properties"]["deployments"].is_object(), "{schema}");
    assert!(schema["properties"]["schema_version"].is_object(), "{schema}");
}

#[test]
fn help_and_version() {
    let s = Scratch::new();
    s.run(["--help"])
        .expect(0)
        .stdout_has("Exit codes")
        .stdout_has("scan")
        .stdout_has("--allow-partial");
    s.run(["scan", "--help"])
        .expect(0)
        .stdout_has("--fail-on")
        .stdout_has("--inventory");
    let v = s.run(["--version"]).expect(0).stdout();
    assert!(v.starts_with("ecaudit "), "{v}");
    assert!(v.contains(env!("CARGO_PKG_VERSION")), "{v}");
}

/// A live collection that cannot keep its inventory on disk (an unwritable `TMPDIR` for `collect`
/// to standard output, a `--history` path that is a file) says so, exit 2, before any AWS call:
/// the endpoint is never dialled.
#[test]
fn nowhere_to_keep_the_inventory_is_reported_before_any_aws_call() {
    let s = Scratch::new();
    let missing = s.path("no-such-dir");
    let not_a_dir = s.file("history", "a file, not a directory");
    let endpoint = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    endpoint.set_nonblocking(true).unwrap();
    let url = format!("http://{}", endpoint.local_addr().unwrap());
    let cases: [(&[&str], String); 2] = [
        (
            &["collect"],
            format!(
                "cannot keep the inventory being collected in {}",
                missing.display()
            ),
        ),
        (
            &["scan", "--history", not_a_dir.to_str().unwrap()],
            "cannot create the history directory".to_string(),
        ),
    ];
    for (command, expected) in cases {
        let out = ecaudit()
            .current_dir(s.path(""))
            .env("TMPDIR", &missing)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .args(command)
            .args([
                "--endpoint-url",
                &url,
                "--regions",
                "us-east-1",
                "--max-attempts",
                "1",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(stderr.contains(&expected), "{command:?}: {stderr}");
        assert!(
            matches!(endpoint.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "{command:?}: the endpoint was called"
        );
    }
}

/// Issue 26: `--rules` takes a rule file as well as a directory; a directory without a rule file
/// is an error with its own code, for `rules validate` as for `--rules`.
#[test]
fn rules_come_from_a_file_and_an_empty_directory_is_an_error() {
    let s = Scratch::new();
    let file = s.file(
        "team-rules.yaml",
        "rules:\n  - id: team-owner\n    title: Caches name their owner\n    severity: low\n    applies_to: [replication_group]\n    check: \"'owner' in d.tags\"\n    remediation: Tag the cache with its owner.\n",
    );
    let file_arg = file.to_str().unwrap();
    s.run(["rules", "validate", file_arg])
        .expect(0)
        .stdout_has("1 rule(s) valid");
    s.run(["rules", "show", "team-owner", "--rules", file_arg])
        .expect(0)
        .stdout_has("Caches name their owner");
    let empty = s.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "not a rule").unwrap();
    let empty_arg = empty.to_str().unwrap();
    s.run(["rules", "validate", empty_arg])
        .expect(2)
        .stderr_has("error[no-rule-files]")
        .stderr_has(empty_arg);
    s.run(["rules", "list", "--rules", empty_arg])
        .expect(2)
        .stderr_has("no-rule-files");
}

/// Issue 26: the HTML report is not printed on a terminal (a pseudo-terminal from `script`,
/// util-linux, always on Debian): the command asks for a file instead, exit 2.
#[test]
fn the_html_report_is_not_printed_on_a_terminal() {
    let s = Scratch::new();
    let saved = s.json(
        "result.json",
        &s.scan(&fleet(), &["--format", "json", "--exit-zero"])
            .expect(0)
            .json(),
    );
    let bin = assert_cmd::cargo::cargo_bin("ecaudit");
    let on_terminal = |args: &str| {
        let out = std::process::Command::new("script")
            .args(["-qec", &format!("{} {args}", bin.display()), "/dev/null"])
            .current_dir(s.dir.path())
            .env("COLUMNS", "120")
            .output()
            .expect("script (util-linux) runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    for args in [
        format!("report {}", saved.display()),
        format!("scan --inventory {} --format html --exit-zero", fleet().display()),
    ] {
        let (code, out) = on_terminal(&args);
        assert_eq!(code, Some(2), "{args}: {out}");
        assert!(out.contains("give -o FILE"), "{args}: {out}");
        assert!(!out.contains("<html"), "{args}: {out}");
    }
    // Redirected, it is written as before.
    let (code, _) = on_terminal(&format!("report {} > page.html", saved.display()));
    assert_eq!(code, Some(0));
    assert!(
        std::fs::read_to_string(s.path("page.html"))
            .unwrap()
            .contains("<html")
    );
}

/// Issue 26 point 3: without credentials, or with STS out of reach, a live scan stops with one
/// line that says what was tried and what to do, exit 2, before any table; never the SDK's
/// Debug dump.
#[test]
fn no_credentials_or_no_network_is_one_line_a_person_can_act_on() {
    let s = Scratch::new();
    // `ecaudit()` clears every credential source (no variables, no files, no IMDS).
    let run = s.run(["scan", "--regions", "us-east-1"]);
    run.expect(2)
        .stderr_has("ecaudit: error: no usable AWS credentials (")
        .stderr_has("Give --profile NAME or set AWS_PROFILE")
        .stderr_has("aws sso login");
    assert!(run.stdout().is_empty(), "no table: {}", run.stdout());
    assert_eq!(run.stderr().lines().count(), 1, "{}", run.stderr());
    // Credentials, but nothing listens where STS should be.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = Run::of(
        ecaudit()
            .current_dir(s.dir.path())
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .args([
                "collect",
                "--regions",
                "us-east-1",
                "--max-attempts",
                "1",
                "--endpoint-url",
                &endpoint,
            ]),
    );
    run.expect(2)
        .stderr_has("cannot reach AWS STS in us-east-1 to identify the caller")
        .stderr_has("Connection refused");
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    for text in [run.stdout(), run.stderr()] {
        assert!(
            !text.contains("DispatchFailure {") && !text.contains("ConnectorError"),
            "{text}"
        );
    }
}
