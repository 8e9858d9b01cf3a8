//! The CI formats (SARIF, JUnit, JSON Lines, CSV, Markdown, OCSF) for three deployments of the
//! demo inventory (`common::small_fleet`) with suppressions (file entries, an expired one, a stale
//! one, resource tags) and a baseline in play: golden files, the official SARIF and OCSF schemas,
//! GitHub's extra SARIF requirements, and JUnit read back. Review golden changes with
//! `cargo insta review`.
use crate::common;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use common::*;
use ecaudit::evaluate::evaluate;
use ecaudit::report::{Format, RenderOptions, render};
use ecaudit::result::EntryState;
use ecaudit::result::ScanResult;
use ecaudit::result::summary::{GateOptions, Summary};
use ecaudit::result::{Status, fingerprint};
use ecaudit::rules::RuleSet;
use ecaudit::rules::Severity;
use ecaudit::suppress::{Baseline, TagPolicy, apply, apply_baseline, file};
use serde_json::Value;

const SUPPRESSIONS: &str = "\
suppressions:
  - rule: no-public-ingress
    resource: queue-memcached-stg
    reason: Public by design, behind the job runners' allow-list
    owner: team-messaging
    ticket: SEC-101
    expires: 2027-01-31
  - rule: \"*-encryption*\"
    resource: \"arn:aws:elasticache:*:222222222222:*\"
    account: \"222222222222\"
    region: ap-southeast-2
    reason: Legacy reporting holds synthetic data only
  - rule: multi-az
    resource: no-such-cache
    reason: Left over from a deleted cluster
  - rule: snapshot-retention
    resource: \"*\"
    tags: { env: staging }
    reason: Staging is rebuilt nightly
    expires: 2026-10-31
";

/// The instant (and day) the demo fleet is evaluated as of.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

/// The small fleet, with `ecaudit:suppress` tags on two deployments (one without a reason).
fn tagged_fleet() -> Value {
    let mut doc: Value = small_fleet();
    for d in doc["deployments"].as_array_mut().unwrap() {
        let id = d["id"].as_str().unwrap().to_string();
        let tags = d["tags"].as_object_mut().unwrap();
        match id.as_str() {
            "reporting-legacy" => {
                tags.insert(
                    "ecaudit:suppress".into(),
                    "auth-required, supported-engine-version".into(),
                );
                tags.insert(
                    "ecaudit:reason".into(),
                    "Decommissioned in Q1 <script>alert(1)</script>".into(),
                );
            }
            "queue-memcached-stg" => {
                tags.insert("ecaudit:suppress".into(), "multi-az".into());
            }
            _ => {}
        }
    }
    doc
}

/// The fleet evaluated, suppressed and compared with a baseline that knows one failing finding
/// and one that no longer fails.
fn waived_fleet() -> (ScanResult, Summary) {
    let inventory = parse(&tagged_fleet());
    let rules = RuleSet::load(&[]).unwrap();
    let ids: Vec<String> = rules.ids().map(str::to_string).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let entries = file::parse("suppressions.yaml", SUPPRESSIONS, &ids).unwrap();
    let mut result = evaluate(&inventory, rules, inventory.collected_at.unwrap());
    apply(&mut result, entries, &TagPolicy::UNRESTRICTED, today());
    let known = (
        "snapshot-retention".to_string(),
        "arn:aws:elasticache:ap-southeast-2:222222222222:cluster:reporting-legacy".to_string(),
    );
    let gone = (
        "multi-az".to_string(),
        "arn:aws:elasticache:us-east-1:111111111111:replicationgroup:retired".to_string(),
    );
    let text = format!(
        "{{\"schema_version\": 1, \"findings\": [{}]}}",
        [known, gone]
            .iter()
            .map(|(rule, arn)| format!(
                "{{\"rule_id\": \"{rule}\", \"resource_arn\": \"{arn}\", \"fingerprint\": \"{}\"}}",
                fingerprint(rule, arn)
            ))
            .collect::<Vec<_>>()
            .join(",")
    );
    let baseline = Baseline::parse("baseline.json", &text).unwrap();
    let state = apply_baseline(&mut result, &baseline);
    result.waivers.baseline = Some(state);
    let summary = Summary::compute(&result, GateOptions::default());
    (result, summary)
}

fn rendered_from(result: &ScanResult, summary: &Summary, format: Format, min_severity: Severity) -> String {
    let options = RenderOptions {
        min_severity,
        color: false,
        width: Some(120),
        pretty: true,
    };
    let mut out = Vec::new();
    render(format, result, summary, &options, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn rendered(format: Format, min_severity: Severity) -> String {
    let (result, summary) = waived_fleet();
    rendered_from(&result, &summary, format, min_severity)
}

fn versions_redacted(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "[version]")
        .replace(ecaudit::rules::pack::PACK_VERSION, "[pack]")
}

#[test]
fn waivers_did_what_the_fixture_says() {
    let (result, summary) = waived_fleet();
    let states: Vec<(String, EntryState)> = result
        .waivers
        .suppressions
        .iter()
        .map(|s| (s.entry.source.to_string(), s.state))
        .collect();
    assert_eq!(
        states,
        [
            ("suppressions.yaml:2".to_string(), EntryState::Active),
            ("suppressions.yaml:8".to_string(), EntryState::Active),
            ("suppressions.yaml:13".to_string(), EntryState::Stale),
            ("suppressions.yaml:16".to_string(), EntryState::Expired),
            ("tag ecaudit:suppress on arn:aws:elasticache:ap-southeast-2:222222222222:cluster:reporting-legacy".to_string(), EntryState::Active),
            ("tag ecaudit:suppress on arn:aws:elasticache:ap-southeast-2:222222222222:cluster:reporting-legacy".to_string(), EntryState::Active),
        ]
    );
    assert_eq!(result.waivers.warnings.len(), 1, "{:?}", result.waivers.warnings);
    assert!(result.waivers.warnings[0].contains("ecaudit:reason"));
    let baseline = result.waivers.baseline.as_ref().unwrap();
    assert_eq!(
        (baseline.entries, baseline.matched, baseline.resolved.len()),
        (2, 1, 1)
    );
    // Of the 76 findings: orders-cache's undecided subnet group; queue-memcached-stg's public
    // ingress suppressed by file, its ingress-within-vpc and multi-az failing (the tag without a
    // reason suppresses nothing); reporting-legacy's four encryption failures suppressed by file,
    // two by tag, snapshot-retention baselined, four failing (automatic-failover among them).
    let c = summary.findings;
    assert_eq!(
        (c.total, c.pass, c.fail, c.error, c.not_applicable),
        (76, 49, 6, 1, 12)
    );
    assert_eq!((c.suppressed, c.baselined), (7, 1));
    // Waived findings are not gated on: only ingress-within-vpc (high) on queue-memcached-stg.
    assert_eq!(summary.gate.failing, 1);
}

#[test]
fn golden_sarif() {
    let doc: Value = serde_json::from_str(&rendered(Format::Sarif, Severity::Info)).unwrap();
    // One rule descriptor whole; of the others, what the format decides (id, level, severity
    // score, tags), not the rule pack's texts.
    insta::assert_json_snapshot!(doc, {
        ".runs[0].tool.driver.version" => "[version]",
        ".runs[0].tool.driver.semanticVersion" => "[version]",
        ".runs[0].tool.driver.properties.rulePack" => "[pack]",
        ".runs[0].tool.driver.rules[1:].shortDescription" => "[title]",
        ".runs[0].tool.driver.rules[1:].fullDescription" => "[title]",
        ".runs[0].tool.driver.rules[1:].help" => "[remediation]",
    });
}

#[test]
fn golden_markdown() {
    insta::assert_snapshot!(versions_redacted(&rendered(Format::Markdown, Severity::Info)));
}

#[test]
fn golden_junit() {
    insta::assert_snapshot!(rendered(Format::Junit, Severity::High));
}

#[test]
fn golden_jsonl() {
    insta::assert_snapshot!(rendered(Format::Jsonl, Severity::High));
}

#[test]
fn golden_csv() {
    insta::assert_snapshot!(rendered(Format::Csv, Severity::High));
}

#[test]
fn golden_ocsf() {
    insta::assert_snapshot!(versions_redacted(&rendered(Format::Ocsf, Severity::High)));
}

/// The language codes' pattern in the official SARIF 2.1.0 schema: a known upstream typo (a
/// stray `]`) that no regex engine accepts.
const BAD_PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";

/// Removes every `pattern` equal to [`BAD_PATTERN`]; returns how many.
fn drop_bad_patterns(v: &mut Value) -> usize {
    match v {
        Value::Object(map) => {
            let mut n = 0;
            if map.get("pattern").and_then(Value::as_str) == Some(BAD_PATTERN) {
                map.remove("pattern");
                n += 1;
            }
            n + map.values_mut().map(drop_bad_patterns).sum::<usize>()
        }
        Value::Array(items) => items.iter_mut().map(drop_bad_patterns).sum(),
        _ => 0,
    }
}

/// The official SARIF 2.1.0 schema (tests/schemas/README.md), without its invalid regexes.
pub(crate) fn sarif_validator() -> jsonschema::Validator {
    let mut schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_path("tests/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    assert!(
        drop_bad_patterns(&mut schema) > 0,
        "the upstream typo is fixed: drop the workaround"
    );
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn sarif_is_valid_and_meets_githubs_requirements() {
    let (result, summary) = waived_fleet();
    let doc: Value =
        serde_json::from_str(&rendered_from(&result, &summary, Format::Sarif, Severity::Info)).unwrap();
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(doc["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "ecaudit");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 26);
    for rule in rules {
        for key in ["shortDescription", "fullDescription"] {
            let text = rule[key]["text"].as_str().unwrap();
            assert!(!text.is_empty() && text.chars().count() <= 1024, "{rule}");
        }
        assert!(!rule["help"]["text"].as_str().unwrap().is_empty());
        assert!(
            rule["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains("**Remediation**")
        );
        let tags = rule["properties"]["tags"].as_array().unwrap();
        assert!(tags.len() <= 20 && tags.contains(&Value::from("security")));
        let score: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let expected = match rule["properties"]["severity"].as_str().unwrap() {
            "critical" => 9.5,
            "high" => 8.0,
            "medium" => 5.5,
            "low" => 3.0,
            other => panic!("severity {other}"),
        };
        assert_eq!(score, expected);
    }

    // Only failing findings are results (waived ones included: 6 + 7 + 1), each located as GitHub
    // requires.
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 14);
    let mut fingerprints = std::collections::HashSet::new();
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], id);
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        let arn = r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
            .as_str()
            .unwrap();
        assert!(arn.starts_with("arn:aws:elasticache:"), "{r}");
        assert!(
            r["message"]["text"].as_str().unwrap().contains(arn),
            "the ARN is in the message"
        );
        let location = &r["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().unwrap();
        let parts: Vec<&str> = arn.split(':').collect();
        assert_eq!(
            uri,
            format!("aws/{}/{}/elasticache/{}", parts[4], parts[3], parts[6]),
            "{r}"
        );
        assert_eq!(location["region"]["startLine"], 1);
        let print = r["partialFingerprints"]["primaryLocationLineHash"]
            .as_str()
            .unwrap();
        assert_eq!(print, fingerprint(id, arn));
        assert!(fingerprints.insert(print.to_string()), "fingerprints are unique");
        // A baseline is in play: every result says whether it is new.
        assert!(
            matches!(r["baselineState"].as_str(), Some("new" | "unchanged")),
            "{r}"
        );
    }
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 7);
    for r in &suppressed {
        let s = &r["suppressions"][0];
        assert_eq!(s["kind"], "external");
        assert!(!s["justification"].as_str().unwrap().is_empty());
    }
    let queue = suppressed
        .iter()
        .find(|r| r["ruleId"] == "no-public-ingress")
        .expect("the queue-memcached-stg suppression");
    assert_eq!(
        queue["suppressions"][0]["justification"],
        "Public by design, behind the job runners' allow-list (owner: team-messaging) (ticket: SEC-101) (expires: 2027-01-31)"
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| r["baselineState"] == "unchanged")
            .count(),
        1
    );
}

#[test]
fn ocsf_events_are_valid_compliance_findings() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_path(
            "tests/schemas/ocsf-1.4.0-compliance_finding.cloud.schema.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let (result, summary) = waived_fleet();
    let text = rendered_from(&result, &summary, Format::Ocsf, Severity::Info);
    let events: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 76, "one event per finding");
    let mut compliance_status = BTreeMap::new();
    for (e, f) in events.iter().zip(&result.findings) {
        let errors: Vec<String> = validator
            .iter_errors(e)
            .map(|x| format!("{} at {}", x, x.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}\n{e}");
        // What the schema cannot check: the class, the type formula and the content.
        assert_eq!(e["class_uid"], 2003);
        assert_eq!(e["category_uid"], 2);
        assert_eq!(e["type_uid"], 2003 * 100 + e["activity_id"].as_u64().unwrap());
        assert_eq!(e["metadata"]["version"], "1.4.0");
        assert_eq!(e["metadata"]["profiles"], serde_json::json!(["cloud"]));
        assert_eq!(e["time"], result.evaluated_at.timestamp_millis());
        let d = result.resource(f);
        assert_eq!(e["compliance"]["control"], result.rule(f).id.as_str());
        assert!(!e["compliance"]["standards"].as_array().unwrap().is_empty());
        assert_eq!(e["resources"][0]["uid"], d.arn.as_str());
        assert_eq!(
            e["resources"][0]["owner"]["account"]["uid"],
            d.account_id.as_str()
        );
        assert_eq!(e["resources"][0]["region"], d.region.as_str());
        assert_eq!(e["cloud"]["region"], d.region.as_str());
        assert_eq!(e["finding_info"]["uid"], fingerprint(&result.rule(f).id, &d.arn));
        assert_eq!(e.get("remediation").is_some(), f.failed(), "{e}");
        let expected_status = match f.status {
            Status::Suppressed => 3,
            Status::Baselined => 99,
            _ => 1,
        };
        assert_eq!(e["status_id"], expected_status);
        *compliance_status
            .entry(e["compliance"]["status"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert_eq!(compliance_status["Fail"], 14, "{compliance_status:?}");
    assert_eq!(compliance_status["Pass"], 49, "{compliance_status:?}");
}

#[test]
fn junit_reads_back_with_consistent_counts() {
    use quick_xml::events::Event;
    let (result, summary) = waived_fleet();
    let text = rendered_from(&result, &summary, Format::Junit, Severity::Info);
    let mut reader = quick_xml::Reader::from_str(&text);
    let attr = |e: &quick_xml::events::BytesStart, name: &str| -> String {
        e.try_get_attribute(name)
            .unwrap()
            .unwrap_or_else(|| panic!("no {name}"))
            .normalized_value(quick_xml::XmlVersion::Explicit1_0)
            .unwrap()
            .to_string()
    };
    let (mut suites, mut cases, mut failures, mut skipped, mut errors) = (0, 0, 0, 0, 0);
    let mut declared = (0, 0, 0);
    let mut messages = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) => match e.name().0 {
                "testsuites" => {
                    declared = (
                        attr(&e, "tests").parse::<usize>().unwrap(),
                        attr(&e, "failures").parse::<usize>().unwrap(),
                        attr(&e, "skipped").parse::<usize>().unwrap(),
                    );
                }
                "testsuite" => suites += 1,
                "testcase" => cases += 1,
                "failure" => failures += 1,
                "error" => errors += 1,
                "skipped" => {
                    skipped += 1;
                    messages.push(attr(&e, "message"));
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    // A suite per rule; skipped: 12 not applicable, 7 suppressed, 1 baselined.
    assert_eq!(suites, 26);
    assert_eq!(cases, 76);
    assert_eq!((failures, errors), (6, 1));
    assert_eq!(skipped, 20);
    assert_eq!(declared, (76, 6, 20));
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("suppressed: Decommissioned in Q1 <script>")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("baselined: already in the baseline (baseline.json)"))
    );
    assert!(text.contains("&lt;script&gt;"), "markup from tags is escaped");
}

#[test]
fn jsonl_lines_are_the_json_documents_findings() {
    let (result, summary) = waived_fleet();
    let document: Value =
        serde_json::from_str(&rendered_from(&result, &summary, Format::Json, Severity::Medium)).unwrap();
    let lines: Vec<Value> = rendered_from(&result, &summary, Format::Jsonl, Severity::Medium)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&lines, document["findings"].as_array().unwrap());
    let waived: Vec<&Value> = lines.iter().filter(|l| l.get("waiver").is_some()).collect();
    assert!(
        waived
            .iter()
            .all(|l| matches!(l["status"].as_str(), Some("suppressed" | "baselined")))
    );
    assert!(
        waived
            .iter()
            .all(|l| !l["remediation"].is_null() || l["waiver"]["original_status"] == "error")
    );
    assert_eq!(document["waivers"]["suppressions"].as_array().unwrap().len(), 6);
    assert_eq!(
        document["waivers"]["baseline"]["resolved"][0]["rule_id"],
        "multi-az"
    );
}

#[test]
fn csv_has_one_row_per_finding_and_reads_back() {
    let (result, summary) = waived_fleet();
    let text = rendered_from(&result, &summary, Format::Csv, Severity::Info);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "rule_id");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 76);
    let status = header.iter().position(|h| h == "status").unwrap();
    let reason = header.iter().position(|h| h == "waiver_reason").unwrap();
    let suppressed: Vec<_> = rows.iter().filter(|r| &r[status] == "suppressed").collect();
    assert_eq!(suppressed.len(), 7);
    assert!(suppressed.iter().all(|r| !r[reason].is_empty()));
}

#[test]
fn markdown_stays_small_and_inert() {
    let text = rendered(Format::Markdown, Severity::Info);
    assert!(text.len() < 65_536, "fits a GitHub comment");
    assert!(text.contains("### Top failures"));
    assert!(
        text.contains("suppressions.yaml:13: suppression of"),
        "stale entries are listed"
    );
    assert!(text.contains("it held through 2026-10-31"));
    assert!(text.contains("### Suppressed"));
    assert!(text.contains("baseline.json: 1 baseline entry no longer fails"));
    assert!(!text.contains("<script>"));
}

#[test]
fn junit_reads_back_with_python_junitparser() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.xml");
    std::fs::write(&path, rendered(Format::Junit, Severity::Info)).unwrap();
    let script = r#"
import sys
from junitparser import JUnitXml, Failure, Error, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
suites = list(xml)
cases = [c for s in suites for c in s]
kinds = lambda k: sum(1 for c in cases for r in c.result if isinstance(r, k))
print(len(suites), len(cases), kinds(Failure), kinds(Error), kinds(Skipped))
"#;
    let out = std::process::Command::new(common::moto::python())
        .args(["-c", script, path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Suites, cases, failures, errors, skipped: as read with quick-xml above.
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "26 76 6 1 20");
}

/// The result document is one model, written and read back: a result with every part
/// (suppressions, a baseline, drift with moved findings, coverage) reads back into a document
/// that writes the same bytes, compact or indented.
#[test]
fn the_result_document_reads_back_as_written() {
    use ecaudit::result::document::{self, Document};
    let (mut result, summary) = waived_fleet();
    let inventory = parse(&tagged_fleet());
    let mut tuesday = tagged_fleet();
    tuesday["deployments"][0]["snapshot_retention_days"] = 0.into();
    let side = |file: &str| ecaudit::result::Side {
        file: file.into(),
        document: "inventory".into(),
        collected_at: inventory.collected_at,
        deployments: inventory.deployments.len(),
    };
    let moved = ecaudit::drift::mark(&[], &ecaudit::drift::Reach::default(), &mut result);
    result.drift = Some(ecaudit::result::DriftReport::new(
        side("monday.json"),
        side("tuesday.json"),
        ecaudit::drift::diff(&inventory, &parse(&tuesday)),
        moved,
    ));
    let drift = result.drift.as_ref().unwrap();
    assert!(!drift.deployments.changed.is_empty() && !drift.findings.newly_failing.is_empty());
    assert!(!result.waivers.suppressions.is_empty() && result.waivers.baseline.is_some());
    assert!(!result.coverage.is_empty());

    for pretty in [false, true] {
        let mut written = Vec::new();
        document::write(&result, &summary, Severity::Info, pretty, &mut written).unwrap();
        let text = String::from_utf8(written).unwrap();
        let read: Document = document::parse(&text, "result.json").unwrap();
        assert_eq!(read.findings.len(), result.findings.len());
        let again = if pretty {
            serde_json::to_string_pretty(&read).unwrap()
        } else {
            serde_json::to_string(&read).unwrap()
        };
        assert_eq!(again + "\n", text, "pretty: {pretty}");
    }
}
