//! JUnit XML for CI dashboards: one test suite per rule, one test case per deployment the rule
//! applies to; failing findings are failures, undecided ones errors, and not-applicable,
//! suppressed and baselined ones skipped (with the reason).

use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::common::RenderOptions;
use crate::result::ScanResult;
use crate::result::document::FindingRecord;
use crate::result::{Finding, Status};

#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn add(&mut self, status: Status) {
        self.tests += 1;
        match status {
            Status::Fail => self.failures += 1,
            Status::Error => self.errors += 1,
            Status::NotApplicable | Status::Suppressed | Status::Baselined => self.skipped += 1,
            Status::Pass => {}
        }
    }

    fn attributes<'a>(&self, start: BytesStart<'a>) -> BytesStart<'a> {
        start.with_attributes([
            ("tests", self.tests.to_string().as_str()),
            ("failures", self.failures.to_string().as_str()),
            ("errors", self.errors.to_string().as_str()),
            ("skipped", self.skipped.to_string().as_str()),
            ("time", "0"),
        ])
    }
}

// Text XML 1.0 can hold (`text::xml`): every value that reaches the document passes through it.
use crate::text::xml as xml_text;

/// The body of a failure: evidence, the resource, and how to fix it.
fn details(r: &FindingRecord) -> String {
    let mut text = String::new();
    for line in r.evidence.iter() {
        text.push_str("- ");
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&format!("resource: {}\n", r.resource_arn));
    if let Some(remediation) = &r.remediation {
        text.push_str(&format!("remediation: {remediation}\n"));
    }
    text.push_str(&format!("fingerprint: {}", r.fingerprint));
    text
}

pub fn render(result: &ScanResult, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let rules = result.rules.rules();
    let mut by_rule: Vec<Vec<&Finding>> = vec![Vec::new(); rules.len()];
    for f in super::common::shown(result, options) {
        by_rule[f.rule].push(f);
    }
    let mut total = Counts::default();
    for f in by_rule.iter().flatten() {
        total.add(f.status);
    }
    let drift_rows = result.drift.as_ref().map(super::drift::rows).unwrap_or_default();
    total.tests += drift_rows.len();
    total.failures += drift_rows.len();
    // The JUnit schema's timestamp has no zone; it is UTC.
    let timestamp = result.evaluated_at.format("%Y-%m-%dT%H:%M:%S").to_string();

    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.write_event(Event::Start(total.attributes(
        BytesStart::new("testsuites").with_attributes([("name", "ecaudit")]),
    )))?;
    for (rule, findings) in rules.iter().zip(&by_rule) {
        if findings.is_empty() {
            continue;
        }
        let mut counts = Counts::default();
        for f in findings {
            counts.add(f.status);
        }
        w.write_event(Event::Start(
            counts.attributes(
                BytesStart::new("testsuite")
                    .with_attributes([("name", &*xml_text(&rule.id)), ("timestamp", timestamp.as_str())]),
            ),
        ))?;
        w.write_event(Event::Start(BytesStart::new("properties")))?;
        for (name, value) in [
            ("title", &*xml_text(&rule.title)),
            ("severity", rule.severity.as_str()),
        ] {
            w.write_event(Event::Empty(
                BytesStart::new("property").with_attributes([("name", name), ("value", value)]),
            ))?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))?;
        for f in findings {
            let r = FindingRecord::new(result, f);
            let name = xml_text(&format!("{} ({} {})", r.resource_id, r.account_id, r.region)).into_owned();
            let case = BytesStart::new("testcase").with_attributes([
                ("name", name.as_str()),
                ("classname", &*xml_text(&r.rule_id)),
                ("time", "0"),
            ]);
            let child = match f.status {
                Status::Pass => None,
                Status::Fail => Some(("failure", r.severity.as_str(), r.message.to_string(), true)),
                Status::Error => Some(("error", "undecided", r.message.to_string(), true)),
                Status::NotApplicable => {
                    Some(("skipped", "", format!("not applicable: {}", r.message), false))
                }
                Status::Suppressed | Status::Baselined => {
                    let waiver = r.waiver.as_ref();
                    let message = match waiver {
                        Some(w) => format!("{}: {} ({}): {}", f.status, w.reason, w.source, r.message),
                        None => format!("{}: {}", f.status, r.message),
                    };
                    Some(("skipped", "", message, false))
                }
            };
            match child {
                None => {
                    w.write_event(Event::Empty(case))?;
                }
                Some((tag, kind, message, with_body)) => {
                    w.write_event(Event::Start(case))?;
                    let message = xml_text(&message);
                    let mut element = BytesStart::new(tag).with_attributes([("message", &*message)]);
                    if !kind.is_empty() {
                        element.push_attribute(("type", kind));
                    }
                    if with_body {
                        w.write_event(Event::Start(element))?;
                        w.write_event(Event::Text(BytesText::new(&xml_text(&details(&r)))))?;
                        w.write_event(Event::End(BytesEnd::new(tag)))?;
                    } else {
                        w.write_event(Event::Empty(element))?;
                    }
                    w.write_event(Event::End(BytesEnd::new("testcase")))?;
                }
            }
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    if let Some(drift) = &result.drift {
        // What changed since the previous run: a failing case per change, for dashboards.
        let rows = drift_rows;
        let counts = Counts {
            tests: rows.len(),
            failures: rows.len(),
            ..Counts::default()
        };
        let name = xml_text(&format!("drift since {}", drift.old.file)).into_owned();
        w.write_event(Event::Start(
            counts.attributes(
                BytesStart::new("testsuite")
                    .with_attributes([("name", name.as_str()), ("timestamp", timestamp.as_str())]),
            ),
        ))?;
        for (deployment, what, old, new) in rows {
            let case_name = xml_text(&format!("{deployment}: {what}")).into_owned();
            w.write_event(Event::Start(BytesStart::new("testcase").with_attributes([
                ("name", case_name.as_str()),
                ("classname", "drift"),
                ("time", "0"),
            ])))?;
            let message = xml_text(&format!("{old} → {new}")).into_owned();
            w.write_event(Event::Empty(
                BytesStart::new("failure")
                    .with_attributes([("message", message.as_str()), ("type", "drift")]),
            ))?;
            w.write_event(Event::End(BytesEnd::new("testcase")))?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    w.get_mut().write_all(b"\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_do_not_reach_the_xml() {
        assert_eq!(
            super::xml_text("a\u{1}b\tc\u{7f}é\u{fffe}"),
            "a\u{fffd}b\tc\u{fffd}é\u{fffd}"
        );
        assert_eq!(super::xml_text("plain"), "plain");
    }
}
