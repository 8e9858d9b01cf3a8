//! Renderers: findings as a table, JSON, JSON Lines, CSV, Markdown, SARIF, JUnit, OCSF, or the
//! HTML audit report. Renderers present what evaluation and the waivers decided; they never
//! re-derive facts.

pub mod audit;
pub mod chart;
pub mod common;
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

pub use common::{RenderOptions, write_json};

use crate::result::document::Document;
use crate::result::{ScanResult, Summary};

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

/// The audit report of a scan, rendered with `template`: built from the result document's
/// model, as `ecaudit report` builds it from a saved result, so both give the same page.
pub fn audit_report(
    result: &ScanResult,
    summary: &Summary,
    options: &RenderOptions,
    template: &templates::Template,
) -> Result<Vec<u8>, templates::TemplateError> {
    let doc = Document::records(result, summary, options.min_severity);
    let mut out = Vec::new();
    template.render(&audit::AuditReport::new(doc), &mut out)?;
    Ok(out)
}
