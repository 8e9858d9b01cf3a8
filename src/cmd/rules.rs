//! `ecaudit rules list|show|validate`: the rules in effect (bundled, added, configured), one
//! rule in full, and a check of a directory of rule files. The command line holds all their
//! settings; the config file only shapes the rules.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::Error;
use super::common::{Look, load_rules};
use crate::cli::{ColorChoice, ListFormat, RuleArgs};
use crate::config::Config;
use crate::output::Output;
use crate::report;
use crate::rules::Severity;
use crate::rules::{Rule, RuleSet, Test};
use crate::text;

#[derive(Serialize)]
struct RuleListing<'a> {
    id: &'a str,
    title: &'a str,
    severity: Severity,
    enabled: bool,
    applies_to: Vec<&'static str>,
    params: &'a BTreeMap<String, serde_json::Value>,
    controls: &'a BTreeMap<String, Vec<String>>,
    source: String,
    /// `FILE:LINE` of the bundled rule this user rule replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    overrides: Option<String>,
}

fn listing(rule: &Rule, enabled: bool) -> RuleListing<'_> {
    RuleListing {
        id: &rule.id,
        title: &rule.title,
        severity: rule.severity,
        enabled,
        applies_to: rule.applies_to.iter().map(|k| k.as_str()).collect(),
        params: &rule.params,
        controls: &rule.controls,
        source: format!("{}:{}", rule.origin.file, rule.origin.line),
        overrides: rule.overrides.as_ref().map(|o| format!("{}:{}", o.file, o.line)),
    }
}

pub fn list(format: ListFormat, args: &RuleArgs) -> Result<u8, Error> {
    let rules = load_rules(args, &Config::load(args.config.as_deref())?)?;
    let mut all: Vec<RuleListing> = rules
        .rules()
        .iter()
        .map(|r| listing(r, true))
        .chain(rules.disabled().iter().map(|r| listing(r, false)))
        .collect();
    all.sort_by(|a, b| a.id.cmp(b.id));
    match format {
        ListFormat::Json => {
            let text = serde_json::to_string_pretty(&all).expect("rules serialize");
            Output::Stdout.write(|w| writeln!(w, "{text}"))?;
        }
        ListFormat::Table => {
            let width = Look::new(&Output::Stdout, ColorChoice::Never).width;
            let mut t = report::common::styled_table(false, width);
            t.set_header(vec!["Rule", "Severity", "Applies to", "Title"]);
            for r in &all {
                let mut id = r.id.to_string();
                if r.overrides.is_some() {
                    id.push_str(" (overridden)");
                }
                if !r.enabled {
                    id.push_str(" (disabled)");
                }
                t.add_row(
                    [
                        id,
                        r.severity.to_string(),
                        r.applies_to.join(", "),
                        r.title.to_string(),
                    ]
                    .map(|s| text::cell(&s).into_owned()),
                );
            }
            Output::Stdout.write(|w| writeln!(w, "{t}"))?;
        }
    }
    Ok(0)
}

pub fn show(id: &str, args: &RuleArgs) -> Result<u8, Error> {
    let rules = load_rules(args, &Config::load(args.config.as_deref())?)?;
    let rule = rules.get(id).ok_or_else(|| Error::UnknownRule(id.to_string()))?;
    let enabled = rules.rules().iter().any(|r| r.id == id);
    let mut text = String::new();
    let mut line = |s: String| {
        text.push_str(&s);
        text.push('\n');
    };
    // Rule files are input too (a pull request may bring one): every value is escaped, and a
    // multi-line one is shown behind a gutter, so none of its lines starts a line of the output.
    let t = |s: &str| text::terminal(s).into_owned();
    line(format!("{} — {}", t(&rule.id), t(&rule.title)));
    line(format!(
        "severity: {}{}",
        rule.severity,
        if rule.severity != rule.default_severity {
            format!(" (configured; the rule file says {})", rule.default_severity)
        } else {
            String::new()
        }
    ));
    line(format!("enabled: {enabled}"));
    line(format!(
        "applies to: {}",
        rule.applies_to
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    line(format!(
        "defined in: {}:{}",
        t(&rule.origin.file),
        rule.origin.line
    ));
    if let Some(bundled) = &rule.overrides {
        line(format!(
            "overrides: the bundled rule at {}:{} (replaced by this user rule)",
            t(&bundled.file),
            bundled.line
        ));
    }
    if let Some(d) = &rule.description {
        line(format!("\n{}", block(d)));
    }
    if let Some(w) = &rule.when {
        line(format!("\nwhen:\n{}", block(&w.source)));
    }
    let (label, expr) = match &rule.test {
        Test::Check(e) => ("check", e),
        Test::Violations(e) => ("violations", e),
    };
    line(format!("\n{label}:\n{}", block(&expr.source)));
    if let Some(e) = &rule.evidence {
        line(format!("\nevidence:\n{}", block(&e.source)));
    }
    if !rule.params.is_empty() {
        line("\nparams (in effect):".into());
        for (k, v) in &rule.params {
            let default = &rule.default_params[k];
            let note = if v != default {
                format!("   (default {})", t(&default.to_string()))
            } else {
                String::new()
            };
            line(format!("  {} = {}{note}", t(k), t(&v.to_string())));
        }
    }
    line(format!("\nremediation:\n{}", block(&rule.remediation)));
    if !rule.controls.is_empty() {
        line("\ncontrols:".into());
        for (framework, refs) in &rule.controls {
            line(format!("  {}: {}", t(framework), t(&refs.join(", "))));
        }
    }
    for r in &rule.references {
        line(format!("see: {}", t(r)));
    }
    Output::Stdout.write(|w| w.write_all(text.as_bytes()))?;
    Ok(0)
}

/// A multi-line value of a rule, each line escaped and behind a gutter.
fn block(s: &str) -> String {
    let lines: Vec<String> = s.lines().map(|l| format!("  │ {}", text::terminal(l))).collect();
    if lines.is_empty() {
        "  │".to_string()
    } else {
        lines.join("\n")
    }
}

pub fn validate(dir: &Path) -> Result<u8, Error> {
    let set = RuleSet::validate_dir(dir)?;
    let n = set.rules().len();
    let cases: usize = set.rules().iter().map(|r| r.tests.len()).sum();
    let dir = text::terminal(&dir.display().to_string()).into_owned();
    Output::Stdout.write(|w| writeln!(w, "{dir}: {n} rule(s) valid, {cases} test case(s)"))?;
    Ok(0)
}
