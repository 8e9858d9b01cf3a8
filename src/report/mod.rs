//! Renderers: findings as a table, JSON, JSON Lines, CSV, Markdown, SARIF, JUnit, OCSF, or the
//! HTML audit report. Renderers present what evaluation and the waivers decided; they never
//! re-derive facts.

pub mod audit;
pub mod csv;
pub mod drift;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod ocsf;
pub mod sarif;
pub mod table;
pub mod templates;

use std::io::{self, Write};

use clap::ValueEnum;

use crate::evaluate::ScanResult;
use crate::findings::Severity;
use crate::summary::Summary;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Summary tables and the failing findings with their evidence.
    Table,
    /// The full result: summary, coverage and every finding (docs/findings.md).
    Json,
    /// One finding per line (JSON Lines).
    Jsonl,
    /// One finding per row.
    Csv,
    /// A summary for a pull-request comment: counts, top failures, coverage gaps.
    Markdown,
    /// SARIF 2.1.0 for code scanning (GitHub and others): failing findings as results.
    Sarif,
    /// JUnit XML: a test suite per rule, a test case per deployment.
    Junit,
    /// OCSF 1.x Compliance Finding events (class 2003), one JSON object per line.
    Ocsf,
    /// The audit report: one self-contained HTML file for a security review (`reports/`).
    Html,
}

impl Format {
    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Markdown => "markdown",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Ocsf => "ocsf",
            Format::Html => "html",
        }
    }
}

/// How to present a result.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    /// Findings below this severity are left out (counts still include them).
    pub min_severity: Severity,
    /// ANSI colours (table only).
    pub color: bool,
    /// Wrap tables to this width (`None`: the terminal's width).
    pub width: Option<u16>,
    /// Indent JSON (for a terminal); compact otherwise.
    pub pretty: bool,
}

/// A JSON value and a newline: indented when `pretty` (for people), compact otherwise.
pub fn write_json<T: serde::Serialize + ?Sized>(
    value: &T,
    pretty: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    if pretty {
        serde_json::to_writer_pretty(&mut *out, value)?;
    } else {
        serde_json::to_writer(&mut *out, value)?;
    }
    out.write_all(b"\n")
}

/// The failing and undecided findings shown, failing first, then by severity (highest first),
/// rule and deployment: the order the table and Markdown list them in.
pub fn failing_first<'a>(
    result: &'a ScanResult,
    options: &'a RenderOptions,
) -> Vec<&'a crate::findings::Finding> {
    use crate::findings::Status;
    let mut failing: Vec<_> = shown(result, options)
        .filter(|f| matches!(f.status, Status::Fail | Status::Error))
        .collect();
    failing.sort_by_key(|f| {
        let rule = result.rule(f);
        (
            f.status,
            std::cmp::Reverse(rule.severity),
            rule.id.as_str(),
            f.deployment,
        )
    });
    failing
}

/// The findings a report lists: at or above the `--severity` display filter.
pub fn shown<'a>(
    result: &'a ScanResult,
    options: &'a RenderOptions,
) -> impl Iterator<Item = &'a crate::findings::Finding> + 'a {
    result
        .findings
        .iter()
        .filter(|f| result.rule(f).severity >= options.min_severity)
}

pub fn render(
    format: Format,
    result: &ScanResult,
    summary: &Summary,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => table::render(result, summary, options, out),
        Format::Json => json::render(result, summary, options, out),
        Format::Jsonl => json::render_lines(result, options, out),
        Format::Csv => csv::render(result, options, out),
        Format::Markdown => markdown::render(result, summary, options, out),
        Format::Sarif => sarif::render(result, summary, options, out),
        Format::Junit => junit::render(result, options, out),
        Format::Ocsf => ocsf::render(result, options, out),
        Format::Html => {
            let template = templates::Template::bundled(templates::ReportFormat::Html);
            let report = audit_report(result, summary, options, &template).map_err(io::Error::other)?;
            out.write_all(&report)
        }
    }
}

/// The audit report of a scan, rendered with `template`. It is built from the JSON result
/// document, exactly as `ecaudit report` builds it from a saved one, so both give the same page.
pub fn audit_report(
    result: &ScanResult,
    summary: &Summary,
    options: &RenderOptions,
    template: &templates::Template,
) -> Result<Vec<u8>, templates::TemplateError> {
    let mut json = Vec::new();
    let compact = RenderOptions {
        pretty: false,
        ..*options
    };
    json::render(result, summary, &compact, &mut json).expect("writing to memory cannot fail");
    let text = String::from_utf8(json).expect("serde_json writes UTF-8");
    let doc = audit::SavedResult::parse(&text, "the scan result").expect("a result document reads back");
    drop(text);
    let mut out = Vec::new();
    template.render(&audit::AuditReport::new(doc), &mut out)?;
    Ok(out)
}
