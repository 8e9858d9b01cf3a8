//! Golden outputs of the renderers for the demo inventory (`examples/fleet.json`). Review changes
//! with `cargo insta review` (or `INSTA_UPDATE=always cargo test --test snapshots`).
use crate::common;

use common::*;
use ecaudit::evaluate::{ScanResult, evaluate};
use ecaudit::findings::Severity;
use ecaudit::inventory::load_inventory;
use ecaudit::report::{Format, RenderOptions, render};
use ecaudit::rules::RuleSet;
use ecaudit::summary::{GateOptions, Summary};

fn fleet() -> (ScanResult, Summary) {
    let inv = load_inventory(&repo_path("examples/fleet.json")).unwrap();
    let now = inv.collected_at.unwrap();
    let result = evaluate(&inv, RuleSet::load(&[]).unwrap(), now);
    let summary = Summary::compute(&result, GateOptions::default());
    (result, summary)
}

fn rendered(format: Format, pretty: bool, min_severity: Severity) -> String {
    let (result, summary) = fleet();
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

#[test]
fn fleet_table() {
    insta::assert_snapshot!(versions_redacted(&rendered(Format::Table, false, Severity::Info)));
}

#[test]
fn fleet_json() {
    let text = rendered(Format::Json, true, Severity::Info);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    insta::assert_json_snapshot!(doc, {".tool.version" => "[version]", ".tool.rule_pack" => "[pack]"});
}

#[test]
fn compact_and_pretty_json_are_the_same_document() {
    let pretty: serde_json::Value =
        serde_json::from_str(&rendered(Format::Json, true, Severity::Info)).unwrap();
    let compact_text = rendered(Format::Json, false, Severity::Info);
    assert_eq!(compact_text.lines().count(), 1, "compact JSON is one line");
    let compact: serde_json::Value = serde_json::from_str(&compact_text).unwrap();
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
        serde_json::from_slice::<serde_json::Value>(&out).unwrap()
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
    let all: serde_json::Value =
        serde_json::from_str(&rendered(Format::Json, false, Severity::Info)).unwrap();
    let high: serde_json::Value =
        serde_json::from_str(&rendered(Format::Json, false, Severity::High)).unwrap();
    assert_eq!(all["summary"], high["summary"]);
    let kept = high["findings"].as_array().unwrap();
    assert!(!kept.is_empty());
    assert!(
        kept.iter()
            .all(|f| f["severity"] == "high" || f["severity"] == "critical")
    );
    assert!(kept.len() < all["findings"].as_array().unwrap().len());
}
