//! `ecaudit rules test`: runs the test cases of rule files and reports, per rule, whether every
//! case gave the outcome it expects; with `--coverage`, the conditions no case made true or false.

use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::Error;
use crate::authoring::run::{CaseResult, RuleResult, run_all};
use crate::authoring::trace::{self, Branch};
use crate::cli::{RulesTestArgs, TestFormat};
use crate::output::Output;
use crate::rules::RuleSet;
use crate::text;

pub fn run(args: &RulesTestArgs) -> Result<u8, Error> {
    let rules = match args.paths.is_empty() {
        true => RuleSet::load(&[])?,
        false => RuleSet::load_only(&args.paths)?,
    };
    let results = run_all(&rules);
    let coverage: Vec<Vec<Branch>> = match args.coverage {
        true => results
            .iter()
            .map(|r| trace::coverage(r.rule, &r.rule.tests))
            .collect(),
        false => Vec::new(),
    };
    let to = args.output.clone().unwrap_or(Output::Stdout);
    match args.format {
        TestFormat::Text => to.write(|w| write_text(&results, &coverage, w))?,
        TestFormat::Junit => to.write(|w| write_junit(&results, &coverage, w))?,
    }
    let failed = results.iter().any(|r| r.failed() > 0);
    Ok(u8::from(failed))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The lines of a failing case: where it is, and each way it differs.
fn case_failure(c: &CaseResult) -> Vec<String> {
    let mut lines = vec![format!(
        "{}:{}: case `{}`",
        c.case.file,
        c.case.line,
        text::terminal(&c.case.name)
    )];
    lines.extend(c.mismatches.iter().map(|m| format!("  {}", text::terminal(m))));
    if !c.mismatches.iter().any(|m| m.contains("message")) {
        lines.push(format!("  message: {}", text::terminal(&c.outcome.message)));
    }
    if !c.mismatches.iter().any(|m| m.contains("evidence")) && !c.outcome.evidence.is_empty() {
        lines.push("  evidence:".to_string());
        lines.extend(
            c.outcome
                .evidence
                .iter()
                .map(|e| format!("    {}", text::terminal(e))),
        );
    }
    lines
}

/// What coverage says of one condition that a rule's cases did not make both true and false.
fn uncovered(b: &Branch) -> Option<String> {
    let missing = match (b.seen_true, b.seen_false) {
        (true, true) => return None,
        (false, false) => "never true, never false",
        (false, true) => "never true",
        (true, false) => "never false",
    };
    Some(format!(
        "{}:{}: `{}` {}: {missing}",
        b.line,
        b.column,
        b.part.as_str(),
        text::terminal(&b.text)
    ))
}

fn write_text(results: &[RuleResult], coverage: &[Vec<Branch>], w: &mut dyn Write) -> io::Result<()> {
    let width = results.iter().map(|r| r.rule.id.len()).max().unwrap_or(0);
    let (mut cases, mut failed_cases, mut failed_rules, mut without) = (0, 0, 0, 0);
    for (i, r) in results.iter().enumerate() {
        let failed = r.failed();
        cases += r.cases.len();
        failed_cases += failed;
        let (mark, what) = if r.cases.is_empty() {
            without += 1;
            ("--  ", "no test cases".to_string())
        } else if failed > 0 {
            failed_rules += 1;
            (
                "FAIL",
                format!("{failed} of {} failed", plural(r.cases.len(), "case", "cases")),
            )
        } else {
            ("ok  ", plural(r.cases.len(), "case", "cases"))
        };
        writeln!(w, "{mark}  {:width$}  {what}", r.rule.id)?;
        for c in r.cases.iter().filter(|c| !c.passed()) {
            for line in case_failure(c) {
                writeln!(w, "      {line}")?;
            }
        }
        if let Some(branches) = coverage.get(i) {
            let covered = branches.iter().filter(|b| b.covered()).count();
            writeln!(
                w,
                "      coverage: {covered} of {} both true and false",
                plural(branches.len(), "condition", "conditions")
            )?;
            for line in branches.iter().filter_map(uncovered) {
                writeln!(w, "        {}:{line}", r.rule.origin.file)?;
            }
        }
    }
    writeln!(
        w,
        "\n{}: {} passed, {failed_rules} failed, {without} without cases; {}: {} failed",
        plural(results.len(), "rule", "rules"),
        results.len() - failed_rules - without,
        plural(cases, "case", "cases"),
        failed_cases,
    )
}

fn write_junit(results: &[RuleResult], coverage: &[Vec<Branch>], out: &mut dyn Write) -> io::Result<()> {
    let xml = |s: &str| text::xml(s).into_owned();
    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let tests: usize = results.iter().map(|r| r.cases.len()).sum();
    let failures: usize = results.iter().map(|r| r.failed()).sum();
    w.write_event(Event::Start(BytesStart::new("testsuites").with_attributes([
        ("name", "ecaudit rules test"),
        ("tests", tests.to_string().as_str()),
        ("failures", failures.to_string().as_str()),
    ])))?;
    for (i, r) in results.iter().enumerate() {
        let suite = BytesStart::new("testsuite").with_attributes([
            ("name", xml(&r.rule.id).as_str()),
            ("tests", r.cases.len().to_string().as_str()),
            ("failures", r.failed().to_string().as_str()),
            ("errors", "0"),
            ("skipped", "0"),
            ("file", xml(&r.rule.origin.file).as_str()),
        ]);
        w.write_event(Event::Start(suite))?;
        if let Some(branches) = coverage.get(i) {
            let lines: Vec<String> = branches.iter().filter_map(uncovered).collect();
            let covered = branches.iter().filter(|b| b.covered()).count();
            w.write_event(Event::Start(BytesStart::new("properties")))?;
            for (name, value) in [
                ("coverage.conditions", branches.len().to_string()),
                ("coverage.covered", covered.to_string()),
                ("coverage.uncovered", lines.join("\n")),
            ] {
                w.write_event(Event::Empty(
                    BytesStart::new("property")
                        .with_attributes([("name", name), ("value", xml(&value).as_str())]),
                ))?;
            }
            w.write_event(Event::End(BytesEnd::new("properties")))?;
        }
        for c in &r.cases {
            let case = BytesStart::new("testcase").with_attributes([
                ("name", xml(&c.case.name).as_str()),
                ("classname", xml(&r.rule.id).as_str()),
                ("file", xml(&c.case.file).as_str()),
                ("line", c.case.line.to_string().as_str()),
            ]);
            if c.passed() {
                w.write_event(Event::Empty(case))?;
                continue;
            }
            w.write_event(Event::Start(case))?;
            w.write_event(Event::Start(
                BytesStart::new("failure").with_attributes([("message", xml(&c.mismatches[0]).as_str())]),
            ))?;
            let body = case_failure(c).join("\n");
            w.write_event(Event::Text(BytesText::new(&xml(&body))))?;
            w.write_event(Event::End(BytesEnd::new("failure")))?;
            w.write_event(Event::End(BytesEnd::new("testcase")))?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    writeln!(w.get_mut())
}
