//! The terminal report: summaries by severity and by rule, the failing and undecided findings
//! with their evidence, coverage gaps, and the gate's verdict. Colour only when asked (a TTY
//! without `NO_COLOR`).

use std::io::{self, Write};

use comfy_table::{Attribute, Cell, CellAlignment, Color, Table};

use super::common::{RenderOptions, styled_table};
use crate::result::ScanResult;
use crate::result::Status;
use crate::result::Summary;
use crate::result::document::FindingRecord;
use crate::result::summary::StatusCounts;
use crate::rules::Severity;
use crate::text;

/// Suppressed findings listed in full; the rest are counted.
const SUPPRESSED_LISTED: usize = 100;

/// A cell of input text: escaped and cut (`text::cell`).
fn text_cell(s: &str) -> Cell {
    Cell::new(text::cell(s))
}

/// Lines of input text in one cell, each escaped and cut on its own.
fn lines_cell<'a>(lines: impl IntoIterator<Item = &'a str>) -> Cell {
    Cell::new(lines.into_iter().map(text::cell).collect::<Vec<_>>().join("\n"))
}

fn table(options: &RenderOptions) -> Table {
    styled_table(options.color, options.width)
}

fn severity_cell(s: Severity, color: bool) -> Cell {
    let cell = Cell::new(s.as_str());
    if !color {
        return cell;
    }
    match s {
        Severity::Critical => cell.fg(Color::Red).add_attribute(Attribute::Bold),
        Severity::High => cell.fg(Color::Red),
        Severity::Medium => cell.fg(Color::Yellow),
        Severity::Low => cell.fg(Color::Blue),
        Severity::Info => cell.add_attribute(Attribute::Dim),
    }
}

fn count_cell(n: usize, status: Status, color: bool) -> Cell {
    let cell = Cell::new(n).set_alignment(CellAlignment::Right);
    if !color || n == 0 {
        return cell;
    }
    match status {
        Status::Fail => cell.fg(Color::Red),
        Status::Error => cell.fg(Color::Magenta),
        Status::Pass => cell.fg(Color::Green),
        Status::NotApplicable | Status::Suppressed | Status::Baselined => cell,
    }
}

/// Count columns: the four evaluation outcomes, and the waived ones when the scan has any.
fn counts_row(first: Vec<Cell>, c: &StatusCounts, waived: bool, color: bool) -> Vec<Cell> {
    let mut row = first;
    row.push(count_cell(c.fail, Status::Fail, color));
    row.push(count_cell(c.pass, Status::Pass, color));
    row.push(count_cell(c.not_applicable, Status::NotApplicable, color));
    row.push(count_cell(c.error, Status::Error, color));
    if waived {
        row.push(count_cell(c.suppressed, Status::Suppressed, color));
        row.push(count_cell(c.baselined, Status::Baselined, color));
    }
    row
}

fn counts_header(first: &[&'static str], waived: bool) -> Vec<&'static str> {
    let mut header = first.to_vec();
    header.extend(["Fail", "Pass", "N/A", "Error"]);
    if waived {
        header.extend(["Suppressed", "Baselined"]);
    }
    header
}

pub fn render(
    result: &ScanResult,
    summary: &Summary,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let color = options.color;
    writeln!(
        out,
        "ecaudit {} · rule pack {} · {} deployment(s) in {} account(s), {} region(s) · evaluated as of {}",
        env!("CARGO_PKG_VERSION"),
        result.rules.pack_version(),
        summary.deployments,
        summary.accounts,
        summary.regions,
        result
            .evaluated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )?;
    if let Some(plan) = &result.plan {
        writeln!(
            out,
            "plan {}: {} failing finding(s) introduced, {} existing, {} fixed; the gate counts {}",
            text::terminal(&plan.file),
            plan.introduced,
            plan.existing,
            plan.fixed,
            match plan.gate {
                crate::result::PlanGate::Introduced => "introduced ones (--gate all: every one)",
                crate::result::PlanGate::All => "every failing finding",
            }
        )?;
    }

    let waived = summary.findings.suppressed + summary.findings.baselined > 0;
    let mut by_severity = table(options);
    by_severity.set_header(counts_header(&["Severity"], waived));
    for s in &summary.by_severity {
        by_severity.add_row(counts_row(
            vec![severity_cell(s.severity, color)],
            &s.counts,
            waived,
            color,
        ));
    }
    by_severity.add_row(counts_row(
        vec![Cell::new("total")],
        &summary.findings,
        waived,
        color,
    ));
    writeln!(out, "\nFindings by severity\n{by_severity}")?;

    let mut by_rule = table(options);
    by_rule.set_header(counts_header(&["Rule", "Severity"], waived));
    for r in &summary.by_rule {
        by_rule.add_row(counts_row(
            vec![text_cell(&r.rule_id), severity_cell(r.severity, color)],
            &r.counts,
            waived,
            color,
        ));
    }
    writeln!(out, "\nFindings by rule\n{by_rule}")?;

    // Failing findings first by severity, then undecided ones; evidence beside each.
    let shown = super::common::failing_first(result, options);
    let hidden = result
        .findings
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Error))
        .count()
        - shown.len();
    if shown.is_empty() {
        writeln!(out, "\nNo failing findings.")?;
    } else {
        let mut findings = table(options);
        // How long each has failed, when the history says (`scan --history`).
        let aged = shown.iter().any(|f| f.age.is_some());
        let mut header = vec!["Severity", "Rule", "Deployment", "Finding"];
        if aged {
            header.insert(3, "Age");
        }
        findings.set_header(header);
        for f in &shown {
            let rule = result.rule(f);
            let d = result.resource(f);
            let mut finding = text::cell(&f.message).into_owned();
            for line in &f.evidence {
                finding.push_str("\n• ");
                finding.push_str(&text::cell(line));
            }
            let severity = if f.status == Status::Error {
                let cell = Cell::new("error");
                if color { cell.fg(Color::Magenta) } else { cell }
            } else {
                severity_cell(rule.severity, color)
            };
            // A plan's finding also names its block in the sources and what the plan does.
            let unit = format!("{} {}", d.account_id, d.region);
            let source = d.source.as_ref().map(ToString::to_string);
            let place = [d.id.as_str(), d.kind.as_str(), unit.as_str()]
                .into_iter()
                .chain(source.as_deref())
                .chain(f.change.map(|c| c.as_str()));
            let mut row = vec![
                severity,
                text_cell(&rule.id),
                lines_cell(place),
                Cell::new(finding),
            ];
            if aged {
                let age = Cell::new(super::common::age_label(f)).set_alignment(CellAlignment::Right);
                let overdue = f.age.is_some_and(|a| a.overdue);
                row.insert(3, if color && overdue { age.fg(Color::Red) } else { age });
            }
            findings.add_row(row);
        }
        writeln!(out, "\nFailing and undecided findings\n{findings}")?;
    }
    if hidden > 0 {
        writeln!(
            out,
            "({hidden} finding(s) below {} not shown)",
            options.min_severity
        )?;
    }

    let suppressed: Vec<_> = super::common::shown(result, options)
        .filter(|f| f.status == Status::Suppressed)
        .collect();
    if !suppressed.is_empty() {
        let mut t = table(options);
        t.set_header(vec!["Rule", "Deployment", "Suppressed because", "Declared in"]);
        for f in suppressed.iter().take(SUPPRESSED_LISTED) {
            let r = FindingRecord::new(result, f);
            let Some(w) = r.waiver.as_ref() else { continue };
            let mut reason = text::cell(&w.reason).into_owned();
            for (label, value) in [
                ("owner", w.owner.as_deref().map(str::to_string)),
                ("ticket", w.ticket.as_deref().map(str::to_string)),
                ("until", w.expires.map(|d| d.to_string())),
            ] {
                if let Some(v) = value {
                    reason.push_str(&format!("\n{label}: {}", text::cell(&v)));
                }
            }
            t.add_row(vec![
                text_cell(&r.rule_id),
                lines_cell([&*r.resource_id, &format!("{} {}", r.account_id, r.region)]),
                Cell::new(reason),
                text_cell(&w.source),
            ]);
        }
        writeln!(out, "\nSuppressed findings\n{t}")?;
        if suppressed.len() > SUPPRESSED_LISTED {
            writeln!(
                out,
                "({} more suppressed finding(s); the JSON and SARIF outputs carry them all)",
                suppressed.len() - SUPPRESSED_LISTED
            )?;
        }
    }
    if summary.findings.baselined > 0 {
        writeln!(
            out,
            "({} baselined finding(s) not listed: failing, but already in the baseline)",
            summary.findings.baselined
        )?;
    }
    let notices = result.waivers.notices();
    if !notices.is_empty() {
        writeln!(out, "\nSuppressions and baseline to tidy")?;
        for n in &notices {
            writeln!(out, "- {}", text::terminal(n))?;
        }
    }

    let gaps: Vec<_> = result.gaps().collect();
    if !gaps.is_empty() {
        let mut coverage = table(options);
        coverage.set_header(vec!["Account", "Region", "API", "Error"]);
        for g in gaps {
            let error = g
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.code, e.message))
                .unwrap_or_default();
            coverage.add_row(vec![
                text_cell(&g.account_id),
                text_cell(&g.region),
                text_cell(&format!("{}:{}", g.service, g.api)),
                text_cell(&error),
            ]);
        }
        writeln!(out, "\nCoverage gaps: what this scan could not read\n{coverage}")?;
    }

    if let Some(drift) = &result.drift {
        super::drift::table_section(drift, color, options.width, out)?;
    }

    writeln!(
        out,
        "\nResult: {} → exit {}",
        text::terminal(&summary.gate.reason),
        summary.gate.exit_code
    )
}
