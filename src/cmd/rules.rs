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
                let id = if r.enabled {
                    r.id.to_string()
                } else {
                    format!("{} (disabled)", r.id)
                };
                t.add_row(vec![
                    id,
                    r.severity.to_string(),
                    r.applies_to.join(", "),
                    r.title.to_string(),
                ]);
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
    line(format!("{} — {}", rule.id, rule.title));
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
    line(format!("defined in: {}:{}", rule.origin.file, rule.origin.line));
    if let Some(d) = &rule.description {
        line(format!("\n{d}"));
    }
    if let Some(w) = &rule.when {
        line(format!("\nwhen:\n  {}", w.source.replace('\n', "\n  ")));
    }
    let (label, expr) = match &rule.test {
        Test::Check(e) => ("check", e),
        Test::Violations(e) => ("violations", e),
    };
    line(format!("\n{label}:\n  {}", expr.source.replace('\n', "\n  ")));
    if let Some(e) = &rule.evidence {
        line(format!("\nevidence:\n  {}", e.source.replace('\n', "\n  ")));
    }
    if !rule.params.is_empty() {
        line("\nparams (in effect):".into());
        for (k, v) in &rule.params {
            let default = &rule.default_params[k];
            let note = if v != default {
                format!("   (default {default})")
            } else {
                String::new()
            };
            line(format!("  {k} = {v}{note}"));
        }
    }
    line(format!(
        "\nremediation:\n  {}",
        rule.remediation.replace('\n', "\n  ")
    ));
    if !rule.controls.is_empty() {
        line("\ncontrols:".into());
        for (framework, refs) in &rule.controls {
            line(format!("  {framework}: {}", refs.join(", ")));
        }
    }
    for r in &rule.references {
        line(format!("see: {r}"));
    }
    Output::Stdout.write(|w| w.write_all(text.as_bytes()))?;
    Ok(0)
}

pub fn validate(dir: &Path) -> Result<u8, Error> {
    let set = RuleSet::validate_dir(dir)?;
    let n = set.rules().len();
    Output::Stdout.write(|w| writeln!(w, "{}: {n} rule(s) valid", dir.display()))?;
    Ok(0)
}
