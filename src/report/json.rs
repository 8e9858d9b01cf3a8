//! The JSON result document and JSON Lines: the document model of [`crate::result::document`],
//! written with the display filter and indentation of the output.

use std::io::{self, Write};

use super::common::RenderOptions;
use crate::result::{ScanResult, Summary, document};

/// The result document: indented when `pretty` (for people), otherwise compact.
pub fn render(
    result: &ScanResult,
    summary: &Summary,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    document::write(result, summary, options.min_severity, options.pretty, out)
}

/// JSON Lines: one finding per line, each the object `findings` holds in the JSON document.
pub fn render_lines(result: &ScanResult, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    document::write_lines(result, options.min_severity, out)
}
