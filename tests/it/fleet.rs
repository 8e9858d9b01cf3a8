//! The demo inventory (`examples/fleet.json`): its totals, gate and failing findings as fixed
//! values; golden table and JSON of three of its deployments (`common::small_fleet`). Review
//! golden changes with `cargo insta review` (or `INSTA_UPDATE=always cargo test --test it fleet::`).
use crate::common;

use common::cli::Scratch;
use common::*;
use ecaudit::evaluate::evaluate;
use ecaudit::inventory::load_inventory;
use ecaudit::report::{Format, RenderOptions, render};
use ecaudit::result::ScanResult;
use ecaudit::result::summary::{GateOptions, Summary};
use ecaudit::rules::RuleSet;
use ecaudit::rules::Severity;
use serde_json::{Value, json};

fn evaluated(doc: &Value) -> (ScanResult, Summary) {
    let inv = parse(doc);
    let now = inv.collected_at.unwrap();
    let result = evaluate(&inv, RuleSet::load(&[]).unwrap(), now);
    let summary = Summary::compute(&result, GateOptions::default());
    (result, summary)
}

fn rendered(doc: &Value, format: Format, pretty: bool, min_severity: Severity) -> String {
    let (result, summary) = evaluated(doc);
    let options = RenderOptions {
        min_severity,
        color: false,
        width: Some(120),
        pretty,
    };
    let mut out = Vec::new();
    render(format, &result, &summary, &options, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn versions_redacted(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "[version]")
        .replace(ecaudit::rules::pack::PACK_VERSION, "[pack]")
}

/// What the bundled pack decides on the demo fleet, as the README shows it: the counts by
/// severity and by rule, the gate, and which rules fail on which deployment.
#[test]
fn the_demo_fleet_totals_gate_and_failures() {
    let s = Scratch::new();
    let report = s
        .scan(&repo_path("examples/fleet.json"), &["--format", "json"])
        .expect(1)
        .json();
    let summary = &report["summary"];
    assert_eq!(
        (
            &summary["deployments"],
            &summary["accounts"],
            &summary["regions"],
            &summary["rules"],
            &summary["coverage_gaps"]
        ),
        (&json!(13), &json!(2), &json!(3), &json!(26), &json!(0))
    );
    let counts = |row: &Value| {
        [
            "fail",
            "pass",
            "not_applicable",
            "error",
            "suppressed",
            "baselined",
        ]
        .map(|k| row[k].as_u64().unwrap())
    };
    assert_eq!(counts(&summary["findings"]), [53, 245, 12, 0, 0, 0]);
    assert_eq!(summary["findings"]["total"], 310);
    let by_severity: Vec<(&str, [u64; 6])> = summary["by_severity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["severity"].as_str().unwrap(), counts(r)))
        .collect();
    assert_eq!(
        by_severity,
        [
            ("critical", [3, 10, 0, 0, 0, 0]),
            ("high", [18, 75, 5, 0, 0, 0]),
            ("medium", [22, 104, 5, 0, 0, 0]),
            ("low", [10, 56, 2, 0, 0, 0]),
            ("info", [0, 0, 0, 0, 0, 0]),
        ]
    );
    // (rule, fail, pass, not applicable); nothing is undecided.
    let by_rule: Vec<(&str, u64, u64, u64)> = summary["by_rule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["error"], 0, "{r}");
            let [fail, pass, na, ..] = counts(r);
            (r["rule_id"].as_str().unwrap(), fail, pass, na)
        })
        .collect();
    assert_eq!(
        by_rule,
        [
            ("alarm-coverage", 2, 8, 1),
            ("alarm-thresholds", 1, 9, 1),
            ("at-rest-encryption", 2, 10, 1),
            ("at-rest-encryption-cmk", 5, 7, 1),
            ("auth-required", 3, 9, 1),
            ("auto-minor-version-upgrade", 2, 11, 0),
            ("automatic-failover", 2, 8, 1),
            ("event-notifications", 2, 9, 0),
            ("evictions", 1, 10, 0),
            ("in-transit-encryption", 2, 11, 0),
            ("in-transit-encryption-required", 3, 10, 0),
            ("ingress-within-vpc", 4, 9, 0),
            ("memory-pressure", 1, 9, 1),
            ("multi-az", 4, 9, 0),
            ("no-public-ingress", 3, 10, 0),
            ("nodes-span-azs", 1, 8, 0),
            ("not-default-subnet-group", 1, 10, 0),
            ("parameter-group-cluster-mode", 1, 9, 1),
            ("parameter-group-family", 1, 10, 0),
            ("recent-automatic-snapshot", 3, 9, 1),
            ("replicas-per-shard", 2, 8, 1),
            ("required-tags", 0, 13, 0),
            ("snapshot-retention", 4, 8, 1),
            ("supported-engine-version", 1, 12, 0),
            ("sustained-high-cpu", 1, 10, 0),
            ("sustained-high-engine-cpu", 1, 9, 1),
        ]
    );
    assert_eq!(summary["gate"]["failing"], 21, "high or critical failures");
    assert_eq!(summary["gate"]["exit_code"], 1);

    let mut failing: Vec<(String, Vec<String>)> = Vec::new();
    for f in report["findings"].as_array().unwrap() {
        if f["status"] != "fail" {
            continue;
        }
        let (id, rule) = (f["resource_id"].as_str().unwrap(), f["rule_id"].as_str().unwrap());
        match failing.iter_mut().find(|(d, _)| d == id) {
            Some((_, rules)) => rules.push(rule.to_string()),
            None => failing.push((id.to_string(), vec![rule.to_string()])),
        }
    }
    for (_, rules) in &mut failing {
        rules.sort();
    }
    failing.sort();
    let expected: &[(&str, &[&str])] = &[
        (
            "analytics-redis-stg",
            &[
                "at-rest-encryption",
                "at-rest-encryption-cmk",
                "auth-required",
                "in-transit-encryption",
                "in-transit-encryption-required",
                "ingress-within-vpc",
                "no-public-ingress",
                "not-default-subnet-group",
            ],
        ),
        (
            "cart-serverless-stg",
            &[
                "at-rest-encryption-cmk",
                "auth-required",
                "recent-automatic-snapshot",
                "snapshot-retention",
            ],
        ),
        (
            "catalog-redis",
            &[
                "at-rest-encryption-cmk",
                "in-transit-encryption-required",
                "ingress-within-vpc",
                "parameter-group-family",
                "snapshot-retention",
            ],
        ),
        (
            "events-stream",
            &[
                "alarm-coverage",
                "auto-minor-version-upgrade",
                "evictions",
                "ingress-within-vpc",
                "memory-pressure",
                "no-public-ingress",
            ],
        ),
        ("feature-flags-stg", &["event-notifications"]),
        (
            "queue-memcached-stg",
            &["ingress-within-vpc", "multi-az", "no-public-ingress"],
        ),
        (
            "ratelimit-redis",
            &["parameter-group-cluster-mode", "recent-automatic-snapshot"],
        ),
        (
            "reporting-legacy",
            &[
                "at-rest-encryption",
                "at-rest-encryption-cmk",
                "auth-required",
                "automatic-failover",
                "in-transit-encryption",
                "in-transit-encryption-required",
                "multi-az",
                "replicas-per-shard",
                "snapshot-retention",
                "supported-engine-version",
                "sustained-high-cpu",
            ],
        ),
        (
            "search-cluster",
            &[
                "alarm-thresholds",
                "multi-az",
                "nodes-span-azs",
                "replicas-per-shard",
            ],
        ),
        ("sessions-valkey", &["sustained-high-engine-cpu"]),
        (
            "web-sessions-stg",
            &[
                "alarm-coverage",
                "at-rest-encryption-cmk",
                "auto-minor-version-upgrade",
                "automatic-failover",
                "event-notifications",
                "multi-az",
                "recent-automatic-snapshot",
                "snapshot-retention",
            ],
        ),
    ];
    let expected: Vec<(String, Vec<String>)> = expected
        .iter()
        .map(|(d, rules)| (d.to_string(), rules.iter().map(|r| r.to_string()).collect()))
        .collect();
    assert_eq!(
        failing, expected,
        "orders-cache and payments-serverless pass everything"
    );
}

#[test]
fn golden_table() {
    insta::assert_snapshot!(versions_redacted(&rendered(
        &small_fleet(),
        Format::Table,
        false,
        Severity::Info
    )));
}

/// The document at `--severity high` (the counts stay whole; the listed findings still pass,
/// fail, are undecided and do not apply), with one rule's texts and not every rule's.
#[test]
fn golden_json() {
    let text = rendered(&small_fleet(), Format::Json, true, Severity::High);
    let doc: Value = serde_json::from_str(&text).unwrap();
    insta::assert_json_snapshot!(doc, {
        ".tool.version" => "[version]",
        ".tool.rule_pack" => "[pack]",
        ".rules[1:].title" => "[title]",
        ".rules[1:].remediation" => "[remediation]",
    });
}

#[test]
fn compact_and_pretty_json_are_the_same_document() {
    let pretty: Value =
        serde_json::from_str(&rendered(&demo_fleet(), Format::Json, true, Severity::Info)).unwrap();
    let compact_text = rendered(&demo_fleet(), Format::Json, false, Severity::Info);
    assert_eq!(compact_text.lines().count(), 1, "compact JSON is one line");
    let compact: Value = serde_json::from_str(&compact_text).unwrap();
    assert_eq!(pretty, compact);
}

#[test]
fn compact_json_rendered_in_many_windows_is_the_pretty_document() {
    // The fleet 40 times over: ~12,000 findings, rendered a window (4,096 findings on a
    // 2-core machine) at a time while the previous one is written.
    let mut inv = load_inventory(&repo_path("examples/fleet.json")).unwrap();
    let fleet = std::mem::take(&mut inv.deployments);
    for n in 0..40 {
        inv.deployments.extend(fleet.iter().cloned().map(|mut d| {
            d.arn = format!("{}-{n}", d.arn);
            d.id = format!("{}-{n}", d.id);
            d
        }));
    }
    let now = inv.collected_at.unwrap();
    let result = evaluate(&inv, RuleSet::load(&[]).unwrap(), now);
    assert!(
        result.findings.len() > 3 * 4096,
        "{} findings",
        result.findings.len()
    );
    let summary = Summary::compute(&result, GateOptions::default());
    let json = |pretty| {
        let options = RenderOptions {
            min_severity: Severity::Info,
            color: false,
            width: None,
            pretty,
        };
        let mut out = Vec::new();
        render(Format::Json, &result, &summary, &options, &mut out).unwrap();
        serde_json::from_slice::<Value>(&out).unwrap()
    };
    let compact = json(false);
    assert_eq!(
        compact["findings"].as_array().unwrap().len(),
        result.findings.len()
    );
    assert_eq!(compact, json(true));
}

#[test]
fn severity_filter_hides_findings_but_not_counts() {
    let all: Value =
        serde_json::from_str(&rendered(&demo_fleet(), Format::Json, false, Severity::Info)).unwrap();
    let high: Value =
        serde_json::from_str(&rendered(&demo_fleet(), Format::Json, false, Severity::High)).unwrap();
    assert_eq!(all["summary"], high["summary"]);
    let kept = high["findings"].as_array().unwrap();
    assert!(!kept.is_empty());
    assert!(
        kept.iter()
            .all(|f| f["severity"] == "high" || f["severity"] == "critical")
    );
    assert!(kept.len() < all["findings"].as_array().unwrap().len());
}
