//! `ecaudit rules eval`: how a rule decides on one deployment, sub-expression by sub-expression.
//! A debugging view: it exits 0 whatever the outcome, and 2 only when it cannot run (a rule
//! file that does not load, a deployment not found, a param the rule does not declare).
//!
//! JSON gives per rule an object (`rule`, `file`, `deployment`, `now`, `params`, `applies`,
//! `outcome`, `steps`): the object itself when one rule is evaluated, else an array of them.

use std::collections::BTreeMap;
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Error;
use crate::authoring::trace::{self, Step, StepValue};
use crate::cli::{ListFormat, RulesEvalArgs};
use crate::evaluate::{Outcome, evaluate_one};
use crate::inventory::{Deployment, Inventory, load_inventory, read_text_at_most};
use crate::output::Output;
use crate::rules::{Rule, RuleSet, params};
use crate::size::ByteSize;
use crate::text;

/// One rule evaluated on the deployment: its params in effect, and (when it applies to the
/// deployment's kind) its outcome and trace.
struct Report<'r> {
    rule: &'r Rule,
    params: BTreeMap<String, Value>,
    outcome: Option<Outcome>,
    steps: Vec<Step>,
}

pub fn run(args: &RulesEvalArgs) -> Result<u8, Error> {
    let rules = RuleSet::load_only(std::slice::from_ref(&args.rule_file))?;
    let file = args.rule_file.display();
    let selected: Vec<&Rule> = match &args.rule {
        Some(id) => vec![rules.get(id).ok_or_else(|| {
            let ids: Vec<&str> = rules.ids().collect();
            Error::Usage(format!(
                "{file} has no rule `{id}` (its rules: {})",
                ids.join(", ")
            ))
        })?],
        None => rules.rules().iter().chain(rules.disabled()).collect(),
    };
    let given = args
        .params
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim(), v))
                .ok_or_else(|| Error::Usage(format!("--param `{p}`: expected KEY=VALUE")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let params = selected
        .iter()
        .map(|rule| params_of(rule, &given))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some((key, _)) = given
        .iter()
        .find(|(key, _)| !selected.iter().any(|r| r.params.contains_key(*key)))
    {
        let declared: Vec<String> = selected
            .iter()
            .flat_map(|r| r.params.keys().map(|k| format!("{}.{k}", r.id)))
            .collect();
        let known = match declared.is_empty() {
            true => "no rule evaluated declares a param".to_string(),
            false => format!("declared: {}", declared.join(", ")),
        };
        return Err(Error::Usage(format!("--param: unknown param `{key}` ({known})")));
    }

    let (inventory, source) = match (&args.inventory, &args.plan) {
        (Some(path), _) => (load_inventory(path)?, path.display().to_string()),
        (None, Some(path)) => {
            let name = path.display().to_string();
            let text = read_text_at_most(path, ByteSize::DEFAULT_MAX_DOCUMENT.0)?;
            (crate::plan::read(&text, &name, None)?.after, name)
        }
        (None, None) => return Err(Error::Usage("give --inventory or --plan".into())),
    };
    let d = find(&inventory, &args.deployment, &source)?;
    let now = args.now.or(inventory.collected_at).unwrap_or_else(Utc::now);

    let reports: Vec<Report> = selected
        .into_iter()
        .zip(params)
        .map(|(rule, params)| Report {
            rule,
            outcome: evaluate_one(rule, &params, d, now),
            steps: trace::trace(rule, &params, d, now),
            params,
        })
        .collect();
    match args.format {
        ListFormat::Table => Output::Stdout.write(|w| write_table(&reports, d, now, w))?,
        ListFormat::Json => Output::Stdout.write(|w| {
            let mut all: Vec<Value> = reports.iter().map(|r| to_json(r, d, now)).collect();
            let doc = match all.len() {
                1 => all.remove(0),
                _ => Value::Array(all),
            };
            serde_json::to_writer_pretty(&mut *w, &doc)?;
            writeln!(w)
        })?,
    }
    Ok(0)
}

/// The rule's params with the `--param`s it declares laid over them, each parsed to the type
/// of its default.
fn params_of(rule: &Rule, given: &[(&str, &str)]) -> Result<BTreeMap<String, Value>, Error> {
    let mut params = rule.params.clone();
    for (key, text) in given {
        if let Some(default) = rule.params.get(*key) {
            let value = params::parse_for(default, text)
                .map_err(|why| Error::Usage(format!("--param {key} of rule `{}`: {why}", rule.id)))?;
            params.insert(key.to_string(), value);
        }
    }
    Ok(params)
}

/// The deployment whose id, ARN or (in a plan) Terraform address is `wanted`.
fn find<'i>(inventory: &'i Inventory, wanted: &str, source: &str) -> Result<&'i Deployment, Error> {
    let found: Vec<&Deployment> = match inventory.deployments.iter().find(|d| d.arn == wanted) {
        Some(d) => vec![d],
        None => inventory.deployments.iter().filter(|d| d.id == wanted).collect(),
    };
    match found.as_slice() {
        [d] => Ok(d),
        [] => {
            let mut ids: Vec<(usize, &str)> = inventory
                .deployments
                .iter()
                .map(|d| (crate::rules::check::strsim_distance(wanted, &d.id), d.id.as_str()))
                .collect();
            ids.sort();
            ids.dedup_by_key(|(_, id)| *id);
            let close: Vec<String> = ids.iter().take(5).map(|(_, id)| format!("`{id}`")).collect();
            let hint = match close.is_empty() {
                true => "it has no deployments".to_string(),
                false => format!("closest: {}", close.join(", ")),
            };
            Err(Error::Usage(format!(
                "no deployment `{wanted}` in {source} (by id, ARN or Terraform address); {hint}"
            )))
        }
        several => {
            let arns: Vec<&str> = several.iter().map(|d| d.arn.as_str()).collect();
            Err(Error::Usage(format!(
                "{} deployments in {source} have the id `{wanted}`; give its ARN: {}",
                several.len(),
                arns.join(", ")
            )))
        }
    }
}

/// What the rule's kinds are, when the deployment's is not one of them.
fn not_applied(rule: &Rule, d: &Deployment) -> String {
    let kinds: Vec<&str> = rule.applies_to.iter().map(|k| k.as_str()).collect();
    format!(
        "the rule applies to {}, not to a {}: not evaluated",
        kinds.join(", "),
        d.kind.as_str()
    )
}

fn param_text(params: &BTreeMap<String, Value>) -> String {
    let items: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    items.join(", ")
}

fn write_table(reports: &[Report], d: &Deployment, now: DateTime<Utc>, w: &mut dyn Write) -> io::Result<()> {
    let t = |s: &str| text::terminal(s).into_owned();
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        let origin = &r.rule.origin;
        writeln!(
            w,
            "rule        {} ({}:{})",
            t(&r.rule.id),
            t(&origin.file),
            origin.line
        )?;
        writeln!(w, "deployment  {} ({}, {})", t(&d.id), d.kind.as_str(), t(&d.arn))?;
        writeln!(
            w,
            "as of       {}",
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )?;
        if !r.params.is_empty() {
            writeln!(w, "params      {}", t(&param_text(&r.params)))?;
        }
        let Some(outcome) = &r.outcome else {
            writeln!(w, "outcome     {}", not_applied(r.rule, d))?;
            continue;
        };
        writeln!(
            w,
            "outcome     {}: {}",
            outcome.status.as_str(),
            t(&outcome.message)
        )?;
        for line in &outcome.evidence {
            writeln!(w, "            • {}", t(line))?;
        }
        let mut part = None;
        for step in &r.steps {
            if part != Some(step.part) {
                part = Some(step.part);
                writeln!(w, "\n{}", step.part.as_str())?;
            }
            let value = match &step.value {
                StepValue::Value(v) => format!("= {}", t(v)),
                StepValue::Skipped => "(not evaluated)".to_string(),
                StepValue::Error(e) => format!("= error: {}", t(e)),
            };
            let indent = "  ".repeat(step.depth + 1);
            writeln!(
                w,
                "{indent}{}:{}  {}  {value}",
                step.line,
                step.column,
                t(&step.text)
            )?;
        }
    }
    Ok(())
}

fn to_json(r: &Report, d: &Deployment, now: DateTime<Utc>) -> Value {
    let steps: Vec<Value> = r
        .steps
        .iter()
        .map(|s| {
            let mut step = json!({
                "part": s.part.as_str(),
                "depth": s.depth,
                "text": s.text,
                "line": s.line,
                "column": s.column,
            });
            let (key, value) = match &s.value {
                StepValue::Value(v) => ("value", json!(v)),
                StepValue::Skipped => ("skipped", json!(true)),
                StepValue::Error(e) => ("error", json!(e)),
            };
            step[key] = value;
            step
        })
        .collect();
    let outcome = r.outcome.as_ref().map(|o| {
        json!({
            "status": o.status.as_str(),
            "message": o.message,
            "evidence": o.evidence,
        })
    });
    json!({
        "rule": r.rule.id,
        "file": r.rule.origin.file,
        "deployment": { "id": d.id, "arn": d.arn, "kind": d.kind.as_str() },
        "now": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "params": r.params,
        "applies": r.outcome.is_some(),
        "outcome": outcome,
        "steps": steps,
    })
}
