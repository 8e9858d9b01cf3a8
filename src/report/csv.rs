//! CSV: one row per finding (the JSON document's fields, evidence as lines of one cell), for
//! spreadsheets and data tools. New columns go at the end, so a sheet that reads columns by
//! position keeps working.

use std::io::{self, Write};

use super::common::RenderOptions;
use crate::result::ScanResult;
use crate::result::document::FindingRecord;

const HEADER: [&str; 27] = [
    "rule_id",
    "title",
    "severity",
    "status",
    "resource_kind",
    "resource_id",
    "resource_arn",
    "account_id",
    "region",
    "message",
    "evidence",
    "remediation",
    "controls",
    "fingerprint",
    "waived_by",
    "waiver_reason",
    "waiver_source",
    "waiver_owner",
    "waiver_ticket",
    "waiver_expires",
    "drift",
    "first_seen",
    "age_days",
    "due_at",
    "overdue",
    "account_name",
    "ou_path",
];

/// A cell a spreadsheet will not run as a formula: text from AWS (tags, names) is untrusted, so
/// a leading `=`, `+`, `-`, `@`, tab or carriage return is escaped with `'` (OWASP's advice).
fn cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

pub fn render(result: &ScanResult, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    for f in super::common::shown(result, options) {
        let r = FindingRecord::new(result, f);
        let controls = r
            .controls
            .iter()
            .map(|(framework, ids)| format!("{framework}: {}", ids.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
        let waiver = r.waiver.as_ref();
        let expires = waiver.and_then(|w| w.expires).map(|d| d.to_string());
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        let (first_seen, due_at) = (time(r.first_seen), time(r.due_at));
        let age_days = r.age_days.map(|d| d.to_string()).unwrap_or_default();
        let row: [&str; 27] = [
            &r.rule_id,
            &r.title,
            r.severity.as_str(),
            r.status.as_str(),
            r.resource_kind.as_str(),
            &r.resource_id,
            &r.resource_arn,
            &r.account_id,
            &r.region,
            &r.message,
            &r.evidence.join("\n"),
            r.remediation.as_deref().unwrap_or_default(),
            &controls,
            &r.fingerprint,
            waiver.map_or("", |w| w.by.as_str()),
            waiver.map_or("", |w| &w.reason),
            waiver.map_or("", |w| &w.source),
            waiver.and_then(|w| w.owner.as_deref()).unwrap_or_default(),
            waiver.and_then(|w| w.ticket.as_deref()).unwrap_or_default(),
            expires.as_deref().unwrap_or_default(),
            r.drift.map_or("", |t| t.as_str()),
            &first_seen,
            &age_days,
            &due_at,
            r.overdue.map_or("", |o| if o { "true" } else { "false" }),
            r.account_name.as_deref().unwrap_or_default(),
            r.ou_path.as_deref().unwrap_or_default(),
        ];
        w.write_record(row.iter().map(|s| cell(s).into_owned()))?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_cells_are_escaped() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("redis-prod"), "redis-prod");
    }
}
