//! The audit report (`scan --format html`, `ecaudit report`): contents, escaping of untrusted
//! text, self-containment, templates, errors and size. tests/it/browser.rs renders it in Chromium.

use crate::common;

use common::cli::Scratch;
use common::{demo_fleet, report_fleet, small_fleet};
use serde_json::{Value, json};
use sha2::Digest;

/// `text` with the tool's and the rule pack's versions replaced, so snapshots survive a release.
fn versions_redacted(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "[version]")
        .replace(ecaudit::rules::pack::PACK_VERSION, "[pack]")
}

/// The scan result (JSON) and the HTML report of `inventory`, written by one scan.
fn scan_both(s: &Scratch, inventory: &Value, extra: &[&str]) -> (String, String) {
    let inv = s.json("fleet.json", inventory);
    let mut args = vec![
        "--format",
        "json",
        "--output",
        "result.json",
        "--output-format",
        "html=report.html",
        "--exit-zero",
    ];
    args.extend_from_slice(extra);
    s.scan(&inv, &args).expect(0);
    (
        std::fs::read_to_string(s.path("result.json")).unwrap(),
        std::fs::read_to_string(s.path("report.html")).unwrap(),
    )
}

/// The result and page of [`common::report_fleet`] scanned with [`common::REPORT_SUPPRESSIONS`].
fn scan_suppressed(s: &Scratch) -> (String, String) {
    // The fleet's events-stream suppresses a critical rule by tag: tags must be on, that far.
    s.file(
        "ecaudit.toml",
        "[suppress]\ntags = true\ntags_max_severity = \"critical\"\n",
    );
    let suppressions = s.file("suppressions.yaml", common::REPORT_SUPPRESSIONS);
    scan_both(
        s,
        &report_fleet(),
        &[
            "--suppressions",
            suppressions.to_str().unwrap(),
            "--now",
            "2026-11-25T06:00:00Z",
        ],
    )
}

/// The result and page of [`common::small_fleet`] with one suppression, for the golden files.
fn scan_small(s: &Scratch) -> (String, String) {
    s.file(
        "suppressions.yaml",
        "suppressions:\n  - rule: no-public-ingress\n    resource: queue-memcached-stg\n    reason: Behind the job runners' allow-list\n    owner: team-messaging\n",
    );
    // Named relative to the working directory, so that the page does not hold a temporary path.
    scan_both(s, &small_fleet(), &["--suppressions", "suppressions.yaml"])
}

/// The page's structure: its stylesheet and script are left out (what they do is checked in
/// Chromium, tests/it/browser.rs; that the policy admits exactly the script, above).
#[test]
fn html_report_golden() {
    let s = Scratch::new();
    let (_, html) = scan_small(&s);
    insta::with_settings!({filters => vec![
        (r"(?s)<style>.*?</style>", "<style>[stylesheet]</style>"),
        (r"(?s)<script>.*?</script>", "<script>[script]</script>"),
        (r"style-src 'sha256-[A-Za-z0-9+/=]+'", "style-src 'sha256-[stylesheet]'"),
        (r"script-src 'sha256-[A-Za-z0-9+/=]+'", "script-src 'sha256-[script]'"),
    ]}, {
        insta::assert_snapshot!("report_html", versions_redacted(&html));
    });
}

#[test]
fn markdown_report_golden() {
    let s = Scratch::new();
    scan_small(&s);
    let run = s.run(["report", "result.json", "--format", "markdown"]);
    run.expect(0);
    insta::assert_snapshot!("report_markdown", versions_redacted(&run.stdout()));
}

#[test]
fn a_saved_result_renders_the_page_the_scan_wrote() {
    let s = Scratch::new();
    let (_, html) = scan_suppressed(&s);
    let again = s.run(["report", "result.json"]);
    again.expect(0);
    assert_eq!(
        again.stdout(),
        html,
        "`ecaudit report` of the saved result differs from the scan's page"
    );
    // --output writes the same page, atomically, and says so.
    s.run([
        "report",
        "result.json",
        "--format",
        "html",
        "--output",
        "again.html",
    ])
    .expect(0)
    .stderr_has("wrote again.html (html report)");
    assert_eq!(std::fs::read_to_string(s.path("again.html")).unwrap(), html);
}

#[test]
fn the_report_holds_every_part_a_reviewer_needs() {
    let s = Scratch::new();
    let (result, html) = scan_suppressed(&s);
    let result: Value = serde_json::from_str(&result).unwrap();
    let findings = result["findings"].as_array().unwrap();
    // Findings needing attention: one table row each; passes are counted, not listed. The demo
    // fleet fails 53, of which the fixture suppresses 8 (1 by tag, 7 by file).
    let rows = html.matches("<tr data-severity=").count();
    assert_eq!(rows, 53);
    assert_eq!(html.matches("data-status=\"suppressed\"").count(), 8);
    // Compliance view: every framework, each control with its rules.
    for name in [
        "AWS Foundational Security Best Practices",
        "PCI DSS 4.0",
        "NIST SP 800-53 Rev. 5",
        "SOC 2 Trust Services Criteria",
        "ISO/IEC 27001:2022",
    ] {
        let name = name.replace('/', "&#x2f;"); // as minijinja escapes it
        assert!(
            html.contains(&format!(">{name}</h3>")),
            "framework {name} missing"
        );
    }
    assert!(html.contains("<td><code>ElastiCache.1</code></td><td><a href=\"#rule-snapshot-retention\">snapshot-retention</a></td>"));
    assert!(html.contains("No rule of this scan maps to ISO&#x2f;IEC 27001:2022."));
    // The suppression's reason, owner, ticket and expiry.
    for text in [
        "team-cache",
        "SEC-1234",
        "2027-01-31",
        "Migrating to Valkey in Q1",
    ] {
        assert!(html.contains(text), "suppression detail {text:?} missing");
    }
    // Remediation under each failing rule.
    let failing_rules: std::collections::BTreeSet<&str> = findings
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    for rule in failing_rules {
        let section = html.split(&format!("<h3 id=\"rule-{rule}\">")).nth(1).unwrap();
        let section = section.split("<h3").next().unwrap();
        assert!(
            section.contains("<strong>Remediation:</strong>"),
            "{rule} has no remediation"
        );
    }
    // Charts: inline SVG with the numbers beside them.
    assert!(html.contains("<svg class=\"donut\" id=\"pass-rate-chart\""));
    assert!(html.matches("<svg class=\"bar\"").count() > 20);
}

#[test]
fn coverage_gaps_are_on_page_one() {
    let s = Scratch::new();
    let inv = s.json("fleet.json", &report_fleet());
    s.scan(&inv, &["--format", "html", "--output", "report.html"])
        .expect(3);
    let html = std::fs::read_to_string(s.path("report.html")).unwrap();
    let alert = html.find("id=\"coverage-alert\"").expect("a coverage alert");
    let summary = html.find("<section id=\"summary\">").unwrap();
    assert!(
        alert < summary,
        "the coverage alert must come before the executive summary"
    );
    assert!(html.contains("This audit is incomplete."));
    assert!(
        html.contains("<code>222222222222</code> eu-west-1: elasticache DescribeCacheClusters: AccessDenied")
    );
    assert!(html.contains(">Incomplete</span>"));

    scan_both(&s, &report_fleet(), &[]);
    let md = s.run(["report", "result.json", "--format", "markdown"]);
    let md = md.expect(0).stdout();
    // --exit-zero changes the exit code, not the verdict.
    assert!(md.contains("**Incomplete**: \\--exit-zero"), "{md}");
    let caution = md.find("This audit is incomplete").unwrap();
    assert!(caution < md.find("## Executive summary").unwrap());
}

#[test]
fn untrusted_text_stays_inert() {
    let s = Scratch::new();
    let (_, html) = scan_suppressed(&s);
    // The tag value `<script>alert(1)</script>` (a suppression reason) and a deployment id with an
    // <img onerror> are shown as text.
    assert_eq!(html.matches("<script").count(), 1, "only the report's own script");
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));

    let md = s.run(["report", "result.json", "--format", "markdown"]);
    let md = md.expect(0).stdout();
    assert!(!md.contains("<script") && !md.contains("<img") && !md.contains("<b>"));
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(md.contains("@\u{2060}security-team"), "mentions must not ping");
    assert!(
        md.contains("\\| not a column"),
        "pipes must not split table cells"
    );
}

#[test]
fn the_page_is_self_contained() {
    let s = Scratch::new();
    let (_, html) = scan_both(&s, &demo_fleet(), &[]);
    for external in [
        "src=", "<link", "url(", "@import", "http://", "https://", "<iframe", "<object",
    ] {
        assert!(
            !html.contains(external),
            "the page refers to something outside it: {external}"
        );
    }
    for href in html.split("href=\"").skip(1) {
        assert!(
            href.starts_with('#'),
            "a link leaves the page: {}",
            &href[..href.len().min(60)]
        );
    }
    // The CSP allows exactly the inline stylesheet and script the page carries, by hash, and
    // nothing remote.
    let inline = |tag: &str| {
        let text = html
            .split(&format!("<{tag}>"))
            .nth(1)
            .unwrap()
            .split(&format!("</{tag}>"))
            .next()
            .unwrap();
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text.as_bytes()))
    };
    let csp = html
        .split("http-equiv=\"Content-Security-Policy\" content=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        csp.contains(&format!("script-src 'sha256-{}'", inline("script"))),
        "{csp}"
    );
    assert!(
        csp.contains(&format!("style-src 'sha256-{}'", inline("style"))),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"), "{csp}");
    // A print stylesheet: sections start on a new page, the controls are not printed.
    assert!(html.contains("@media print"));
    assert!(html.contains("section { break-before: page; }"));
}

#[test]
fn drift_since_the_previous_run_is_in_the_report() {
    let s = Scratch::new();
    let history = s.path("history");
    let h = history.to_str().unwrap();
    let monday = s.json("monday.json", &demo_fleet());
    s.scan(&monday, &["--history", h, "--exit-zero", "--format", "json"])
        .expect(0);
    let mut tuesday = demo_fleet();
    for d in tuesday["deployments"].as_array_mut().unwrap() {
        if d["id"] == "orders-cache" {
            d["snapshot_retention_days"] = json!(1);
        }
    }
    let tuesday = s.json("tuesday.json", &tuesday);
    s.scan(
        &tuesday,
        &[
            "--history",
            h,
            "--exit-zero",
            "--format",
            "html",
            "--output",
            "report.html",
        ],
    )
    .expect(0);
    let html = std::fs::read_to_string(s.path("report.html")).unwrap();
    let drift = html.split("<section id=\"drift\">").nth(1).unwrap();
    assert!(
        drift.contains("<code>snapshot_retention_days</code></td><td><code>7</code></td><td><code>1</code>"),
        "{drift}"
    );
    assert!(drift.contains("<h3>Newly failing</h3>"), "{drift}");
    assert!(
        drift.contains("snapshot-retention</a> on <code>orders-cache</code> (pass → fail)"),
        "{drift}"
    );
    assert!(!drift.contains("No previous run"));
}

#[test]
fn a_thousand_deployments_stay_small() {
    let s = Scratch::new();
    let fleet = common::fleet_of(1000);
    let (result, html) = scan_both(&s, &fleet, &[]);
    let result: Value = serde_json::from_str(&result).unwrap();
    assert_eq!(result["summary"]["deployments"], 1000);
    assert_eq!(html.matches("<tr id=\"d").count(), 1000, "one row per deployment");
    let md = s
        .run(["report", "result.json", "--format", "markdown"])
        .expect(0)
        .stdout();
    eprintln!(
        "1,000 deployments: HTML {} bytes, Markdown {} bytes",
        html.len(),
        md.len()
    );
    assert!(
        html.len() < 4_000_000,
        "HTML report of 1,000 deployments is {} bytes",
        html.len()
    );
    assert!(
        md.len() < 4_000_000,
        "Markdown report of 1,000 deployments is {} bytes",
        md.len()
    );
}

#[test]
fn templates_can_be_replaced_and_still_escape() {
    let s = Scratch::new();
    scan_both(&s, &report_fleet(), &[]);
    s.file(
        "mine.html.j2",
        "<h1>{{ report.scope.deployments }} deployments</h1>\n{% for d in report.deployments %}<p>{{ d.id }}</p>{% endfor %}\n",
    );
    let out = s
        .run(["report", "result.json", "--template", "mine.html.j2"])
        .expect(0)
        .stdout();
    assert!(out.starts_with("<h1>13 deployments</h1>"), "{out}");
    assert!(out.contains("<p>&lt;img src=x onerror=alert(2)&gt;</p>"), "{out}");

    s.file("mine.md.j2", "# {{ report.scope.deployments }} deployments\n{% for d in report.deployments %}- {{ d.id }}\n{% endfor %}");
    let out = s
        .run([
            "report",
            "result.json",
            "--format",
            "markdown",
            "--template",
            "mine.md.j2",
        ])
        .expect(0)
        .stdout();
    assert!(out.starts_with("# 13 deployments\n"), "{out}");
    assert!(out.contains("- &lt;img src=x onerror=alert(2)&gt;\n"), "{out}");

    // scan uses the template for its HTML output.
    let inv = s.json("fleet.json", &report_fleet());
    s.scan(
        &inv,
        &["--format", "html", "--template", "mine.html.j2", "--exit-zero"],
    )
    .expect(0)
    .stdout_has("<h1>13 deployments</h1>");
}

#[test]
fn bad_templates_fail_before_any_aws_call() {
    let s = Scratch::new();
    scan_both(&s, &demo_fleet(), &[]);
    s.file("broken.html.j2", "<p>\n{% for x in %}\n");
    s.run(["report", "result.json", "--template", "broken.html.j2"])
        .expect(2)
        .stderr_has("broken.html.j2:2: syntax error");
    s.file("typo.html.j2", "<p>\n{{ report.scope.nope.deeper }}\n");
    s.run(["report", "result.json", "--template", "typo.html.j2"])
        .expect(2)
        .stderr_has("typo.html.j2:2: undefined value");
    s.run(["report", "result.json", "--template", "missing.j2"])
        .expect(2)
        .stderr_has("missing.j2: cannot read template");

    // A live scan with a broken template stops before collecting: no credentials are needed to
    // find out.
    let run = common::ecaudit()
        .current_dir(s.dir.path())
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args(["scan", "--format", "html", "--template", "broken.html.j2"])
        .output()
        .unwrap();
    let run = common::cli::Run(run);
    run.expect(2).stderr_has("broken.html.j2:2: syntax error");
    assert!(!run.stderr().contains("127.0.0.1:9"), "{}", run.stderr());

    let inv = s.json("fleet.json", &demo_fleet());
    s.scan(&inv, &["--template", "broken.html.j2"])
        .expect(2)
        .stderr_has("--template applies to the HTML report");
}

#[test]
fn bad_result_files_are_rejected_with_their_position() {
    let s = Scratch::new();
    s.file("junk.json", "{\n  \"schema_version\": 1,\n  oops\n}\n");
    s.run(["report", "junk.json"])
        .expect(2)
        .stderr_has("junk.json:3:");
    s.json("future.json", &json!({"schema_version": 99, "findings": []}));
    s.run(["report", "future.json"])
        .expect(2)
        .stderr_has("future.json: scan result schema_version 99 is not supported");
    let inv = s.json("inventory.json", &demo_fleet());
    s.run(["report", inv.to_str().unwrap()])
        .expect(2)
        .stderr_has("not a scan result");
    s.run(["report", "absent.json"])
        .expect(2)
        .stderr_has("absent.json");
}

/// The audit report's model of a saved result, as JSON.
fn model(result: &str) -> Value {
    use ecaudit::report::audit::AuditReport;
    use ecaudit::result::document::{self, Document};
    let doc: Document = document::parse(result, "result.json").unwrap();
    let report = AuditReport::new(doc);
    serde_json::to_value(&report).unwrap()
}

#[test]
fn docs_describe_every_part_of_the_template_context() {
    let s = Scratch::new();
    let (result, _) = scan_suppressed(&s);
    let report = model(&result);
    let doc = std::fs::read_to_string(common::repo_path("docs/report.md")).unwrap();
    let tally_line = doc
        .lines()
        .find(|l| l.starts_with("A *tally* is"))
        .unwrap()
        .to_string()
        + doc
            .split("A *tally* is")
            .nth(1)
            .unwrap()
            .split("\n\n")
            .next()
            .unwrap();
    let word = |line: &str, w: &str| {
        line.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|t| t == w)
    };
    for (key, value) in report.as_object().unwrap() {
        // The table row that describes `report.KEY`.
        let row = doc
            .lines()
            .find(|l| {
                let first_cell = l.split('|').nth(1).unwrap_or_default();
                l.starts_with('|')
                    && (first_cell.contains(&format!("`report.{key}`"))
                        || first_cell.contains(&format!("`{key}`")))
            })
            .unwrap_or_else(|| panic!("docs/report.md has no row for report.{key}"));
        let inner = match value {
            Value::Array(rows) => rows.first().cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        let Value::Object(fields) = inner else { continue };
        if key == "drift" {
            continue; // the result's own, documented in findings.md
        }
        for field in fields.keys() {
            let documented =
                word(row, field) || (fields.contains_key("pass_rate") && word(&tally_line, field));
            assert!(
                documented,
                "docs/report.md does not describe report.{key}.{field}"
            );
        }
    }
}

#[test]
fn figures_match_the_result_they_come_from() {
    let s = Scratch::new();
    let (result, _) = scan_suppressed(&s);
    let report = model(&result);
    let doc: Value = serde_json::from_str(&result).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    let count = |pick: &dyn Fn(&Value) -> bool, status: &str| {
        findings
            .iter()
            .filter(|f| pick(f) && f["status"] == status)
            .count()
    };
    // The demo fleet's 310 findings, 8 failures of them suppressed by the fixture.
    for (status, n) in [
        ("pass", 245),
        ("fail", 45),
        ("error", 0),
        ("suppressed", 8),
        ("baselined", 0),
        ("not_applicable", 12),
    ] {
        assert_eq!(report["overall"][status], n, "{status}");
        assert_eq!(doc["summary"]["findings"][status], n, "{status}");
    }
    // Each framework counts each of its findings once, however many controls map it.
    for fw in report["frameworks"].as_array().unwrap() {
        let key = fw["key"].as_str().unwrap();
        let mapped = |f: &Value| f["controls"].get(key).is_some();
        for status in ["pass", "fail", "suppressed"] {
            assert_eq!(fw["tally"][status], count(&mapped, status), "{key} {status}");
        }
        for c in fw["controls"].as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            let in_control = |f: &Value| {
                f["controls"][key]
                    .as_array()
                    .is_some_and(|ids| ids.iter().any(|i| i == id))
            };
            assert_eq!(c["tally"]["fail"], count(&in_control, "fail"), "{key} {id}");
        }
    }
    let nist = &report["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "nist-800-53")
        .unwrap()["tally"];
    let rate = nist["pass_rate"].as_f64().unwrap();
    let expected = nist["pass"].as_f64().unwrap() * 100.0 / nist["evaluated"].as_f64().unwrap();
    assert!((rate - expected).abs() < 0.05, "{rate} vs {expected}");
    // Per account: exactly that account's findings.
    for b in report["by_account"].as_array().unwrap() {
        let account = b["label"].as_str().unwrap();
        assert_eq!(
            b["tally"]["fail"],
            count(&|f: &Value| f["account_id"] == account, "fail")
        );
    }
}

#[test]
fn a_severity_filter_keeps_the_totals_and_the_compliance_view_whole() {
    let s = Scratch::new();
    let (result, html) = scan_both(&s, &demo_fleet(), &["--severity", "critical"]);
    let report = model(&result);
    let doc: Value = serde_json::from_str(&result).unwrap();
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "critical")
    );
    assert_eq!(report["overall"]["fail"], doc["summary"]["findings"]["fail"]);
    assert_eq!(
        report["overall"]["fail"], 53,
        "every failing finding, not only the critical ones"
    );
    let fsbp = &report["frameworks"][0];
    assert_eq!(fsbp["key"], "aws-fsbp");
    assert_eq!(fsbp["controls"].as_array().unwrap().len(), 7);
    assert_eq!(report["rules"].as_array().unwrap().len(), 26);
    assert!(
        report["rules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["remediation"].is_string())
    );
    assert!(html.contains("id=\"filter-note\""));
    assert!(!html.contains("No rule of this scan maps to AWS Foundational"));
}

#[test]
fn an_empty_fleet_still_lists_the_rules_and_controls() {
    let s = Scratch::new();
    let mut empty = demo_fleet();
    empty["deployments"] = json!([]);
    let (result, html) = scan_both(&s, &empty, &[]);
    let report = model(&result);
    assert_eq!(report["rules"].as_array().unwrap().len(), 26);
    assert!(html.contains("<h3 id=\"rule-snapshot-retention\">"));
    assert!(!html.contains("No rule of this scan maps to AWS Foundational"));
    assert!(html.contains("Nothing fails, nothing is undecided, nothing is waived."));
    assert!(
        html.contains("<tr class=\"placeholder\">"),
        "the placeholder is not a finding row"
    );
}

#[test]
fn older_or_sparser_results_still_render() {
    let s = Scratch::new();
    let (result, _) = scan_both(&s, &demo_fleet(), &[]);
    let mut doc: Value = serde_json::from_str(&result).unwrap();
    for key in ["waivers", "coverage", "rules", "drift"] {
        doc.as_object_mut().unwrap().remove(key);
    }
    s.json("old.json", &doc);
    let html = s.run(["report", "old.json"]).expect(0).stdout();
    assert!(
        html.contains("The inventory records no coverage"),
        "no claim that every read succeeded"
    );
    assert!(html.contains("No suppressions were in effect."));
    // Without the rule list, rules are known from their findings.
    assert!(html.contains("<h3 id=\"rule-snapshot-retention\">"));
    let md = s
        .run(["report", "old.json", "--format", "markdown"])
        .expect(0)
        .stdout();
    assert!(md.contains("records no coverage"));
    s.run(["report", "missing.json"])
        .expect(2)
        .stderr_has("missing.json: cannot read scan result");
}

#[test]
fn suppressions_show_their_whole_scope() {
    let s = Scratch::new();
    let (_, html) = scan_suppressed(&s);
    assert!(
        html.contains("<code>*</code> in <code>222222222222</code> with tags <code>env=staging</code>"),
        "a tag-scoped suppression must not read as `every resource`"
    );
    let md = s
        .run(["report", "result.json", "--format", "markdown"])
        .expect(0)
        .stdout();
    assert!(md.contains("\\* in 222222222222 with tags env=staging"), "{md}");
}
