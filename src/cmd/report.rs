//! `ecaudit report`: the audit report (HTML or Markdown) of a saved scan result. The command
//! line holds all its settings.

use super::Error;
use crate::cli::ReportArgs;
use crate::report::audit::AuditReport;
use crate::report::templates::Template;
use crate::result::document::{self, Document};

pub fn run(args: &ReportArgs) -> Result<u8, Error> {
    let output = args.output.clone().unwrap_or_default();
    if args.format == crate::report::templates::ReportFormat::Html {
        super::common::html_destination(&output)?;
    }
    // The template is checked before the (possibly large) result is read.
    let template = Template::load(args.format, args.template.as_deref())?;
    let doc: Document = document::read(&args.result)?;
    let mut page = Vec::new();
    template.render(&AuditReport::new(doc), &mut page)?;
    output.write(|w| w.write_all(&page))?;
    if !output.is_stdout() {
        eprintln!(
            "ecaudit: wrote {} ({} report)",
            crate::text::terminal(&output.to_string()),
            template.format().name()
        );
    }
    Ok(0)
}
