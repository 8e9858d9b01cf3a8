//! `ecaudit report`: the audit report (HTML or Markdown) of a saved scan result, or of the
//! newest run of a history with its trends. The command line holds all its settings.

use super::Error;
use crate::cli::ReportArgs;
use crate::report::audit::AuditReport;
use crate::report::templates::Template;
use crate::result::document::{self, Document};

pub fn run(args: &ReportArgs) -> Result<u8, Error> {
    // clap leaves `requires` unchecked beside a positional the flag conflicts with.
    if args.history.is_none() {
        if args.since.is_some() {
            return Err(Error::Usage("--since needs --history DIR".into()));
        }
        if args.owner_tag.is_some() {
            return Err(Error::Usage("--owner-tag needs --history DIR".into()));
        }
    }
    super::common::reach_s3(
        args.aws.profile.as_ref(),
        args.aws.endpoint_url.as_ref(),
        &args.aws.s3,
    )?;
    let output = args.output.clone().unwrap_or_default();
    if args.format == crate::report::templates::ReportFormat::Html {
        super::common::html_destination(&output)?;
    }
    // The template is checked before the (possibly large) result is read.
    let template = Template::load(args.format, args.template.as_deref())?;
    let report = match (&args.history, &args.result) {
        (Some(dir), _) => {
            let options = crate::history::trend::Options {
                since: args.since.as_ref(),
                owner_tag: args.owner_tag.as_deref().unwrap_or("owner"),
            };
            let (trends, doc) = crate::history::trend::build(dir, &options)?;
            for s in &trends.skipped {
                eprintln!(
                    "ecaudit: warning: history {}: {} skipped: {}",
                    crate::text::terminal(&dir.display().to_string()),
                    crate::text::terminal(&s.stamp),
                    crate::text::terminal(&s.why)
                );
            }
            AuditReport::new(doc).with_trends(trends)
        }
        (None, Some(result)) => {
            let doc: Document = document::read(&super::common::input(result)?)?;
            AuditReport::new(doc)
        }
        (None, None) => unreachable!("clap requires a result or --history"),
    };
    let mut page = Vec::new();
    template.render(&report, &mut page)?;
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
