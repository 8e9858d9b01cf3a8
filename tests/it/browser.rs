//! The HTML audit report in a real browser: Debian's headless Chromium, driven through its
//! chromedriver by tests/browser/check_report.py (Selenium, from tests/moto/requirements.txt).
//! The page must load with no console errors and no requests, run none of the markup that AWS
//! values carry, draw its charts and tables, sort and filter the findings, and print to PDF.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::cli::Scratch;
use common::moto::python;
use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Loads `report` in Chromium; what the page did, as tests/browser/check_report.py saw it.
fn load(report: &Path, outdir: &Path, filter: &str, pdf: bool) -> Value {
    for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: the browser test needs Debian's `{package}` package. Run the test \
             command, tests/run.sh, which installs it (or: apt-get install chromium chromium-driver)."
        );
    }
    let script = common::repo_path("tests/browser/check_report.py");
    let out = Command::new(python())
        .arg(script)
        .arg(report)
        .arg(outdir)
        .arg(filter)
        .args((!pdf).then_some("--no-pdf"))
        .env("ECAUDIT_CHROMIUM", CHROMIUM)
        .env("ECAUDIT_CHROMEDRIVER", CHROMEDRIVER)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "check_report.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn numbers(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_i64().unwrap())
        .collect()
}

#[test]
fn the_report_renders_in_chromium_and_prints_to_pdf() {
    let s = Scratch::new();
    let inventory = s.json("fleet.json", &common::report_fleet());
    // The fleet's events-stream suppresses a critical rule by tag: tags must be on, that far.
    s.file(
        "ecaudit.toml",
        "[suppress]\ntags = true\ntags_max_severity = \"critical\"\n",
    );
    let suppressions = s.file("suppressions.yaml", common::REPORT_SUPPRESSIONS);
    s.scan(
        &inventory,
        &[
            "--suppressions",
            suppressions.to_str().unwrap(),
            "--now",
            "2026-11-25T06:00:00Z",
            "--format",
            "html",
            "--output",
            "report.html",
            "--exit-zero",
        ],
    )
    .expect(0);
    let seen = load(&s.path("report.html"), s.dir.path(), "catalog-redis", true);

    // No console errors or warnings, nothing fetched, no dialog: the `<script>alert(1)</script>`
    // tag value did not run, and neither did the `<img onerror>` deployment id.
    assert_eq!(seen["console"], serde_json::json!([]), "console messages");
    assert_eq!(
        seen["resources"],
        serde_json::json!([]),
        "the page requested resources"
    );
    assert_eq!(seen["alert"], Value::Null, "an alert opened");
    assert_eq!(seen["scripts"], 1, "only the report's own script");
    assert_eq!(seen["images"], 0);
    let text = seen["text"].as_str().unwrap();
    assert!(
        text.contains("<script>alert(1)</script>"),
        "the tag value is shown as text"
    );
    assert!(
        text.contains("<img src=x onerror=alert(2)>"),
        "the deployment id is shown as text"
    );

    // Charts are drawn, tables and sections present, coverage gaps first.
    let bars = seen["bar_charts"].as_i64().unwrap();
    assert!(bars > 20, "{bars} bar charts");
    assert_eq!(seen["bar_charts_drawn"], bars, "every chart has a size");
    assert!(seen["pass_rate_chart"].as_f64().unwrap() > 50.0);
    for table in [
        "by-severity",
        "by-rule",
        "by-account",
        "by-region",
        "deployments-table",
        "findings-table",
        "suppressions-table",
        "coverage-table",
    ] {
        assert!(
            seen["tables"].as_array().unwrap().iter().any(|t| t == table),
            "table {table} missing: {}",
            seen["tables"]
        );
    }
    assert_eq!(
        seen["sections"],
        serde_json::json!([
            "summary",
            "compliance",
            "deployments",
            "findings",
            "rules",
            "waivers",
            "coverage",
            "drift"
        ])
    );
    assert_eq!(seen["coverage_alert_before_summary"], true);

    // Issue 26: the first screen names the worst findings before any chart; the list of findings
    // starts with the most severe failing one; remediation shows its commands as code, never
    // as literal backticks.
    assert_eq!(seen["worst_before_summary"], true);
    assert!(
        seen["worst_first"].as_str().unwrap().starts_with("critical"),
        "{}",
        seen["worst_first"]
    );
    assert_eq!(seen["first_row_status"], "fail");
    let order = numbers(&seen["severity_order"]);
    assert_eq!(order.first(), order.iter().max(), "{order:?}");
    let rules_text = seen["rules_text"].as_str().unwrap();
    assert!(
        !rules_text.contains('`'),
        "a literal backtick in the rules section"
    );
    assert!(
        seen["rules_code_spans"].as_i64().unwrap() > 20,
        "{}",
        seen["rules_code_spans"]
    );

    // The script shows the controls, sorts and filters; without it every row is listed: the
    // demo fleet's 53 failures, 8 of them suppressed (1 by tag, 1 and 6 by the two entries of
    // REPORT_SUPPRESSIONS), 3 of them critical, 5 on catalog-redis.
    assert_eq!(seen["controls_shown"], true);
    assert_eq!(seen["rows"], 53);
    let ascending = numbers(&seen["severity_ascending"]);
    assert!(ascending.is_sorted(), "{ascending:?}");
    let mut descending = numbers(&seen["severity_descending"]);
    descending.reverse();
    assert!(descending.is_sorted(), "{descending:?}");
    assert_eq!(ascending.len(), 53);
    assert_eq!(seen["rows_critical"], 3);
    assert_eq!(seen["count_text"], "3 of 53 shown");
    assert_eq!(seen["rows_suppressed"], 8);
    assert_eq!(seen["rows_matching"], 5);
    for row in seen["rows_matching_text"].as_array().unwrap() {
        assert!(row.as_str().unwrap().contains("catalog-redis"), "{row}");
    }

    // A screenshot (PNG) and the page printed to PDF, one section per page at least.
    let png = std::fs::read(s.path("report.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert!(width >= 1000, "screenshot width {width}");
    let pdf = std::fs::read(s.path("report.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let pages = pdf_pages(&pdf);
    assert!(
        pages >= 9,
        "{pages} PDF page(s): the cover and each of the 8 sections start a page"
    );
    if let Ok(dir) = std::env::var("ECAUDIT_ARTIFACTS") {
        std::fs::copy(s.path("report.png"), Path::new(&dir).join("report.png")).unwrap();
        std::fs::copy(s.path("report.pdf"), Path::new(&dir).join("report.pdf")).unwrap();
    }
}

#[test]
fn a_thousand_deployment_report_opens_cleanly() {
    let s = Scratch::new();
    let inventory = s.json("fleet.json", &common::fleet_of(1000));
    s.scan(
        &inventory,
        &["--format", "html", "--output", "report.html", "--exit-zero"],
    )
    .expect(0);
    let size = std::fs::metadata(s.path("report.html")).unwrap().len();
    // Printing 1,000 deployments to PDF takes Chromium tens of seconds: the PDF is tested above.
    let seen = load(&s.path("report.html"), s.dir.path(), "catalog-redis", false);
    // Measured, not gated on: the figure is printed for the README.
    eprintln!(
        "1,000 deployments: {size} bytes, loaded in {} s",
        seen["load_seconds"]
    );
    assert_eq!(seen["console"], serde_json::json!([]));
    assert_eq!(seen["ready_state"], "complete");
    assert!(seen["rows"].as_i64().unwrap() > 1000);
    assert!(seen["rows_matching"].as_i64().unwrap() > 0);
}

/// Pages of a PDF: its `/Type /Page` objects (not `/Pages`).
fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.match_indices("/Type /Page")
        .filter(|(i, _)| !text[i + 11..].starts_with('s'))
        .count()
}

#[test]
fn the_trend_report_draws_each_night_as_its_result_counts_it() {
    let s = Scratch::new();
    let history = s.path("history");
    let base = common::demo_fleet();
    // Five nights of the demo fleet: on the third its us-east-1 replication groups could not be
    // read; on the fourth the public events-stream is closed.
    let nights = [
        "2026-11-01T03:00:00Z",
        "2026-11-02T03:00:00Z",
        "2026-11-03T03:00:00Z",
        "2026-11-04T03:00:00Z",
        "2026-11-05T03:00:00Z",
    ];
    let mut results = Vec::new();
    for (i, now) in nights.iter().enumerate() {
        let mut fleet = base.clone();
        if i == 2 {
            let coverage = fleet["coverage"].as_array_mut().unwrap();
            coverage[0]["status"] = "failed".into();
            coverage[0]["error"] = serde_json::json!({"code": "AccessDenied", "message": "denied"});
            fleet["deployments"]
                .as_array_mut()
                .unwrap()
                .retain(|d| !(d["account_id"] == "111111111111" && d["region"] == "us-east-1"));
        }
        if i >= 3 {
            for d in fleet["deployments"].as_array_mut().unwrap() {
                if d["id"] == "events-stream" {
                    d["security_groups"] = serde_json::json!([]);
                }
            }
        }
        let inventory = s.json(&format!("night-{i}.json"), &fleet);
        let out = format!("night-{i}.scan.json");
        s.scan(
            &inventory,
            &[
                "--history",
                history.to_str().unwrap(),
                "--now",
                now,
                "--format",
                "json",
                "--output",
                &out,
                "--exit-zero",
            ],
        )
        .expect(0);
        results.push(common::read_json(&s.path(&out)));
    }
    let run = s.run([
        "report",
        "--history",
        history.to_str().unwrap(),
        "--output",
        s.path("trends.html").to_str().unwrap(),
    ]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let seen = load(&s.path("trends.html"), s.dir.path(), "events-stream", true);
    assert_eq!(seen["console"], serde_json::json!([]), "console messages");
    assert_eq!(seen["resources"], serde_json::json!([]), "requests");

    let charts = seen["trend_charts"].as_array().unwrap();
    let ids: Vec<&str> = charts.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["trend-failing", "trend-pass-rate", "trend-flow"]);
    for chart in charts {
        assert!(
            chart["width"].as_f64().unwrap() > 200.0 && chart["height"].as_f64().unwrap() > 100.0,
            "{chart}"
        );
        assert!(chart["marks"].as_u64().unwrap() > 10, "{chart}");
        assert_eq!(chart["nights"].as_array().unwrap().len(), nights.len(), "{chart}");
    }
    // Each night's figures in the charts are those of its JSON result.
    let by_night = |chart: usize, key: &str| -> Vec<Value> {
        charts[chart]["nights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.get(key).cloned().unwrap_or(Value::Null))
            .collect()
    };
    let failing: Vec<Value> = results
        .iter()
        .map(|r| {
            let sum: u64 = r["summary"]["by_severity"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["fail"].as_u64().unwrap() + b["baselined"].as_u64().unwrap())
                .sum();
            Value::from(sum.to_string())
        })
        .collect();
    assert_eq!(by_night(0, "failing"), failing);
    let critical: Vec<Value> = results
        .iter()
        .map(|r| Value::from(r["summary"]["by_severity"][0]["fail"].to_string()))
        .collect();
    assert_eq!(by_night(0, "critical"), critical);
    let pass_rates: Vec<f64> = by_night(1, "passRate")
        .iter()
        .map(|v| v.as_str().unwrap().parse().unwrap())
        .collect();
    for (rate, r) in pass_rates.iter().zip(&results) {
        let c = &r["summary"]["findings"];
        let n = |k: &str| c[k].as_f64().unwrap();
        let expected = (n("pass") * 1000.0 / (n("total") - n("not_applicable"))).round() / 10.0;
        assert_eq!(*rate, expected);
    }
    let resolved: Vec<Value> = results
        .iter()
        .map(|r| match r["drift"]["findings"]["resolved"].as_array() {
            Some(l) => Value::from(l.len().to_string()),
            None => Value::Null,
        })
        .collect();
    assert_eq!(by_night(2, "resolved"), resolved);
    // The gap night is marked on every chart, and only it.
    for chart in 0..3 {
        assert_eq!(
            by_night(chart, "gap"),
            [Value::Null, Value::Null, "true".into(), Value::Null, Value::Null]
        );
    }
    // Fewer failing findings on the gap night, yet nothing was resolved by it.
    assert_eq!(resolved[2], "0");
    // The fourth night closed events-stream, behind the gap night: compared with the second.
    let closed = results[3]["drift"]["findings"]["resolved"].as_array().unwrap();
    assert!(
        closed
            .iter()
            .any(|f| f["rule_id"] == "no-public-ingress" && f["resource_id"] == "events-stream"),
        "{closed:?}"
    );
    assert!(s.path("trends.png").exists(), "a screenshot of the charts");
    // It prints to PDF, charts and all, over several pages.
    let pages = pdf_pages(&std::fs::read(s.path("report.pdf")).unwrap());
    assert!(pages > 3, "{pages} page(s)");
}
