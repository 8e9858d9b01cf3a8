//! Golden outputs of the renderers for the demo inventory (`examples/fleet.json`). Review changes
//! with `cargo insta review` (or `INSTA_UPDATE=always cargo test --test snapshots`).
mod common;

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
