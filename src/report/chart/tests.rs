//! The trend charts: figures, gaps, escaping, size and a snapshot.

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::history::trend::BySeverity;

fn night(i: usize, failing: BySeverity) -> Night {
    let at = Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap() + Duration::days(i as i64);
    Night {
        stamp: at.format("%Y%m%dT%H%M%SZ").to_string(),
        evaluated_at: at,
        rule_pack: "2026.12.2".to_string(),
        rule_pack_changed: false,
        failing,
        failing_total: failing.total(),
        pass_rate: Some(80.0 - i as f64 / 10.0),
        introduced: (i > 0).then_some(i % 4),
        resolved: (i > 0).then_some(i % 3),
        gaps: 0,
        gap_units: Vec::new(),
    }
}

fn sev(critical: usize, high: usize, medium: usize, low: usize, info: usize) -> BySeverity {
    BySeverity {
        critical,
        high,
        medium,
        low,
        info,
    }
}

fn trends(nights: Vec<Night>) -> Trends {
    Trends {
        dir: "history".to_string(),
        since: None,
        nights,
        skipped: Vec::new(),
        rules: Vec::new(),
        oldest_open: Vec::new(),
        open_total: 0,
    }
}

/// Three nights: the second with coverage gaps, the third on a new rule pack.
fn small() -> Trends {
    let mut nights = vec![
        night(0, sev(1, 3, 5, 2, 1)),
        night(1, sev(0, 1, 2, 0, 1)),
        night(2, sev(1, 2, 4, 2, 0)),
    ];
    nights[1].gaps = 2;
    nights[1].gap_units = vec![
        "111122223333/eu-west-1".to_string(),
        "111122223333/us-east-1".to_string(),
    ];
    nights[1].pass_rate = Some(91.5);
    nights[2].rule_pack = "2026.12.3".to_string();
    nights[2].rule_pack_changed = true;
    nights[2].pass_rate = None;
    trends(nights)
}

/// Each night's `data-*` attributes in `svg`, by its `data-night`.
fn night_attrs(svg: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    svg.split("<rect data-night=\"")
        .skip(1)
        .map(|rest| {
            let (stamp, rest) = rest.split_once('"').unwrap();
            let tag = rest.split_once('>').unwrap().0;
            let attrs = tag
                .split(" data-")
                .skip(1)
                .map(|a| {
                    let (k, v) = a.split_once("=\"").unwrap();
                    (k.to_string(), v.split('"').next().unwrap().to_string())
                })
                .collect();
            (stamp.to_string(), attrs)
        })
        .collect()
}

#[test]
fn every_night_carries_its_figures() {
    let t = small();
    let ch = charts(&t);
    let failing = night_attrs(&ch.failing);
    let pass = night_attrs(&ch.pass_rate);
    let flow = night_attrs(&ch.flow);
    for chart in [&failing, &pass, &flow] {
        assert_eq!(chart.len(), t.nights.len());
    }
    for n in &t.nights {
        let f = &failing[&n.stamp];
        for (key, v) in [
            ("failing", n.failing_total),
            ("critical", n.failing.critical),
            ("high", n.failing.high),
            ("medium", n.failing.medium),
            ("low", n.failing.low),
            ("info", n.failing.info),
        ] {
            assert_eq!(f[key], v.to_string(), "{} {key}", n.stamp);
        }
        assert_eq!(
            pass[&n.stamp].get("pass-rate").cloned(),
            n.pass_rate.map(|r| format!("{r:.1}"))
        );
        assert_eq!(
            flow[&n.stamp].get("introduced").cloned(),
            n.introduced.map(|v| v.to_string())
        );
        assert_eq!(
            flow[&n.stamp].get("resolved").cloned(),
            n.introduced.map(|_| n.resolved.unwrap_or(0).to_string())
        );
    }
    // The stacked bar of the first night reaches its total on the axis: 12 failing on a
    // scale to 15 (ticks every 5).
    assert!(ch.failing.contains(">15</text>"), "{}", ch.failing);
}

#[test]
fn a_night_with_coverage_gaps_is_marked_not_drawn_as_an_improvement() {
    let t = small();
    let gap = &t.nights[1].stamp;
    let ch = charts(&t);
    for svg in [&ch.failing, &ch.pass_rate, &ch.flow] {
        let nights = night_attrs(svg);
        assert_eq!(nights[gap].get("gap").map(String::as_str), Some("true"));
        assert_eq!(nights.values().filter(|a| a.contains_key("gap")).count(), 1);
        // A shaded band with a strip over its column, and the legend says what it means.
        assert!(svg.contains("<g class=\"gaps\">"), "{svg}");
        assert!(svg.contains(">coverage gap: counts incomplete</text>"), "{svg}");
        assert!(svg.contains("coverage gap: counts incomplete (2 failed read(s) in 111122223333&#x2f;eu-west-1, 111122223333&#x2f;us-east-1)"));
    }
    // Its bars are faded and the pass-rate line is dashed into and out of it, with a
    // hollow dot.
    assert!(
        ch.failing
            .contains("class=\"sev-high gap\" stroke-opacity=\".45\" fill=\"none\" stroke=\"#c62828\"")
    );
    assert!(ch.pass_rate.contains("<path class=\"line gap\""));
    assert!(ch.pass_rate.contains("<g class=\"dots gap\""));
    // The rule pack change is marked too.
    assert_eq!(
        night_attrs(&ch.failing)[&t.nights[2].stamp]
            .get("rule-pack-changed")
            .map(String::as_str),
        Some("true")
    );
    assert!(ch.failing.contains(">rule pack changed</text>"));
    // Without gaps, no band and no legend entry.
    let clean = charts(&trends(vec![
        night(0, sev(0, 1, 0, 0, 0)),
        night(1, sev(0, 0, 0, 0, 0)),
    ]));
    assert!(!clean.failing.contains("coverage gap") && !clean.failing.contains("data-gap"));
}

#[test]
fn a_night_compared_with_none_draws_no_flow_bar() {
    let mut t = trends(vec![night(0, sev(0, 2, 0, 0, 0))]);
    t.nights[0].introduced = None;
    t.nights[0].resolved = None;
    let flow = charts(&t).flow;
    assert!(!flow.contains("class=\"introduced\"") && !flow.contains("class=\"resolved\""));
    assert!(!flow.contains("data-introduced"));
    assert!(flow.contains("not compared with an earlier night"));
}

#[test]
fn text_from_files_is_escaped() {
    let mut t = small();
    t.nights[0].stamp = "\"><script>alert(1)</script><x a=\"".to_string();
    t.nights[1].gap_units = vec!["<img onerror=x>/\u{202e}eu".to_string()];
    t.nights[2].rule_pack = "</title><svg onload=alert(2)>".to_string();
    let ch = charts(&t);
    for svg in [&ch.failing, &ch.pass_rate, &ch.flow] {
        for bad in [
            "<script",
            "<img",
            "<svg onload",
            "</title><svg",
            "\u{202e}",
            "=\"\"><",
        ] {
            assert!(!svg.contains(bad), "{bad} in {svg}");
        }
        assert!(svg.contains("data-night=\"&quot;&gt;&lt;script&gt;"));
        assert!(svg.contains("&lt;img onerror=x&gt;"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("</svg>").count(), 1);
    }
}

#[test]
fn a_year_of_nights_stays_small_and_legible() {
    let nights: Vec<Night> = (0..365)
        .map(|i| {
            let mut n = night(i, sev(120 + i, 4321, 9876, 555, 77));
            n.gaps = usize::from(i % 7 == 3) * 3;
            n.gap_units = vec!["111122223333/eu-west-1".to_string(); n.gaps];
            n.rule_pack_changed = i % 90 == 45;
            n
        })
        .collect();
    let ch = charts(&trends(nights));
    let sizes = [ch.failing.len(), ch.pass_rate.len(), ch.flow.len()];
    let total: usize = sizes.iter().sum();
    // Each chart well under 200 KB (most of it is the nights' figures and tooltips).
    assert!(sizes.iter().all(|&n| n < 160_000), "{sizes:?}");
    assert!(total < 320_000, "{sizes:?}");
    for svg in [&ch.failing, &ch.pass_rate, &ch.flow] {
        assert_eq!(night_attrs(svg).len(), 365);
        // Dates thinned to at most eight on the axis.
        let dates = svg.matches(&format!(" y=\"{}\">20", c(B + 16.0))).count();
        assert!((2..=X_LABELS).contains(&dates), "{dates} dates");
    }
}

#[test]
fn no_nights_no_charts() {
    assert_eq!(charts(&trends(Vec::new())), Charts::default());
}

#[test]
fn small_charts() {
    let ch = charts(&small());
    // An element a line, to read the snapshot.
    let text = [ch.failing, ch.pass_rate, ch.flow]
        .join("\n\n")
        .replace("><", ">\n<");
    insta::assert_snapshot!(text);
}

/// The audit report of the example fleet, its failing findings aged (every other one
/// overdue) when `aged`, with `trends`.
fn report_with(trends: Trends, aged: bool) -> crate::report::audit::AuditReport {
    use crate::result::document::Document;
    use crate::result::summary::{GateOptions, Summary};
    use crate::result::{Age, Status};

    let inventory =
        crate::inventory::parse_inventory(include_str!("../../../examples/fleet.json"), "fleet.json")
            .expect("the example fleet parses");
    let now = inventory.collected_at.unwrap_or_else(Utc::now);
    let rules = crate::rules::RuleSet::load(&[]).expect("bundled pack");
    let mut result = crate::evaluate::evaluate(&inventory, rules, now);
    for (k, f) in result
        .findings
        .iter_mut()
        .filter(|f| aged && f.status == Status::Fail)
        .enumerate()
    {
        f.age = Some(Age {
            first_seen: now - Duration::days(40 + k as i64),
            days: 40 + k as u64,
            due: Some(now - Duration::days(10)),
            overdue: k % 2 == 0,
        });
    }
    let summary = Summary::compute(&result, GateOptions::default());
    let doc = Document::records(&result, &summary, Severity::Info);
    crate::report::audit::AuditReport::new(doc).with_trends(trends)
}

fn render(
    report: &crate::report::audit::AuditReport,
    format: crate::report::templates::ReportFormat,
) -> String {
    let mut out = Vec::new();
    crate::report::templates::Template::bundled(format)
        .render(report, &mut out)
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// The bundled templates given trends and aged findings: the section with the charts as
/// markup (not as escaped text), its tables, the age column and the overdue count; nothing
/// the page's policy would refuse, and no SVG in Markdown.
#[test]
fn the_templates_show_the_trends() {
    use crate::history::trend::{OpenFinding, RuleTrend, Skipped};
    use crate::report::templates::ReportFormat;

    let mut t = small();
    t.skipped = vec![Skipped {
        stamp: "20261030T030000Z".to_string(),
        why: "truncated result file".to_string(),
    }];
    t.rules = vec![RuleTrend {
        rule_id: "snapshot-retention".to_string(),
        severity: Severity::High,
        open: 2,
        resolved: 3,
        mean_days_to_remediate: Some(4.3),
    }];
    t.oldest_open = vec![OpenFinding {
        rule_id: "snapshot-retention".to_string(),
        severity: Severity::High,
        resource_id: "orders-cache".to_string(),
        resource_arn: "arn:aws:elasticache:eu-west-1:111122223333:replicationgroup:orders-cache".to_string(),
        account_id: "111122223333".to_string(),
        region: "eu-west-1".to_string(),
        fingerprint: "f".to_string(),
        first_seen: Utc.with_ymd_and_hms(2026, 10, 1, 3, 0, 0).unwrap(),
        age_days: 61,
        overdue: Some(true),
        owner: Some("<team-orders>".to_string()),
    }];
    t.open_total = 2;
    let report = report_with(t, true);
    assert!(report.aged && report.overdue > 0);
    let render = |format| render(&report, format);

    let html = render(ReportFormat::Html);
    for part in [
        "<li><a href=\"#trends\">Trends over time</a></li>",
        "<section id=\"trends\">",
        "<svg class=\"trend\" id=\"trend-failing\"",
        "<svg class=\"trend\" id=\"trend-pass-rate\"",
        "<svg class=\"trend\" id=\"trend-flow\"",
        "id=\"trend-gaps-alert\"",
        "<table id=\"trend-nights-table\">",
        "<tr data-stamp=\"20261102T030000Z\" class=\"gap-night\">",
        "<code>20261030T030000Z</code>: truncated result file",
        "<td class=\"n\">4.3</td>",
        "<td>&lt;team-orders&gt;</td>",
        "<th data-sort=\"number\">Age</th>",
        "id=\"overdue-alert\"",
        "<strong class=\"overdue\">overdue</strong>",
    ] {
        assert!(html.contains(part), "no {part}");
    }
    assert_eq!(html.matches("data-night=").count(), 3 * 3);
    for refused in ["&lt;svg", " style=", "url(", "http://", "https://"] {
        assert!(!html.contains(refused), "{refused}");
    }
    for tag in ["section", "figure", "svg", "table", "tr", "td", "g", "rect"] {
        let open = html.matches(&format!("<{tag} ")).count() + html.matches(&format!("<{tag}>")).count();
        let closed = html.matches(&format!("</{tag}>")).count();
        let selfclosed = html
            .split(&format!("<{tag} "))
            .skip(1)
            .filter(|rest| rest.split('>').next().unwrap().ends_with('/'))
            .count();
        assert_eq!(open, closed + selfclosed, "<{tag}>");
    }

    let md = render(ReportFormat::Markdown);
    assert!(!md.contains("<svg"));
    for part in [
        "## Trends over time",
        "| Night | Evaluated | Critical |",
        "| 20261102T030000Z |",
        "**2 failed read(s): counts incomplete**",
        "- 20261030T030000Z: truncated result file",
        "| snapshot-retention | high | 2 | 3 | 4.3 |",
        "&lt;team-orders&gt;",
        "finding(s) past their remediation deadline.**",
        "**overdue**",
    ] {
        assert!(md.contains(part), "no {part} in {md}");
    }
    // Every row of a table has the header's number of cells.
    let header = md.lines().find(|l| l.starts_with("| Night |")).unwrap();
    let rows: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with("| Night |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(rows.len(), 2 + 3);
    for row in rows {
        assert_eq!(row.matches('|').count(), header.matches('|').count(), "{row}");
    }
}

/// A window without a night: no charts, a sentence instead; no age column without ages.
#[test]
fn the_templates_render_a_history_without_nights() {
    use crate::report::templates::ReportFormat;

    let mut t = trends(Vec::new());
    t.since = Some(Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap());
    let report = report_with(t, false);
    assert!(!report.aged);
    let html = render(&report, ReportFormat::Html);
    assert!(html.contains("<section id=\"trends\">"));
    assert!(html.contains("No night of the history was read since 2026-09-01T00:00:00Z"));
    assert!(!html.contains("<svg class=\"trend\"") && !html.contains(">Age</th>"));
    let md = render(&report, ReportFormat::Markdown);
    assert!(md.contains("No night of the history was read since"));
}
