//! Renderers: findings as a table or JSON. Renderers present what evaluation decided; they never
//! re-derive facts.

pub mod json;
pub mod table;

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
    }
}
