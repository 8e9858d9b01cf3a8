//! Evaluation: rules × deployments → findings. Pure (no I/O) and parallel over deployments; each
//! deployment is bound to CEL once and every rule runs in that scope.

use std::collections::BTreeMap;
use std::sync::Arc;

use cel::common::types::CelTimestamp;
use cel::{Context, Env, ExecutionError, Value};
use chrono::{DateTime, Utc};
use rayon::prelude::*;

use crate::findings::{Finding, Status};
use crate::inventory::{
    Collector, CoverageEntry, Deployment, DeploymentKind, Document, Inventory, InventoryError,
};
use crate::rules::functions::UNKNOWN_FN;
use crate::rules::{Expr, Rule, RuleSet, Test, cel_env, view};
use crate::suppress::Waivers;

/// A rule's decision: status, message, and the violations of a `violations` rule.
type Decision = (Status, Arc<str>, Vec<String>);

/// The identity of an evaluated deployment: what findings and reports name it by.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub kind: DeploymentKind,
    pub id: String,
    pub arn: String,
    pub account_id: String,
    pub region: String,
    pub tags: Option<BTreeMap<String, String>>,
}

impl From<&Deployment> for Resource {
    fn from(d: &Deployment) -> Self {
        Resource {
            kind: d.kind,
            id: d.id.clone(),
            arn: d.arn.clone(),
            account_id: d.account_id.clone(),
            region: d.region.clone(),
            tags: d.tags.clone(),
        }
    }
}

/// What a scan found: the deployments evaluated (by identity), the inventory's coverage, the
/// rules and the findings. The full inventory is not kept, so memory does not grow with the
/// size of each deployment's facts.
pub struct ScanResult {
    pub resources: Vec<Resource>,
    pub coverage: Vec<CoverageEntry>,
    pub collected_at: Option<DateTime<Utc>>,
    pub collector: Option<Collector>,
    /// Which units this result covers, when it is one shard of a scan (`--shard K/N`).
    pub shard: Option<crate::shard::ShardInfo>,
    pub rules: RuleSet,
    pub findings: Vec<Finding>,
    /// The instant rules were evaluated as of (the inventory's collection time when it has one).
    pub evaluated_at: DateTime<Utc>,
    /// Suppressions and baseline applied after evaluation.
    pub waivers: Waivers,
    /// What drifted since the previous run (`--history`).
    pub drift: Option<crate::drift::DriftReport>,
}

impl ScanResult {
    pub fn rule(&self, f: &Finding) -> &Rule {
        &self.rules.rules[f.rule]
    }

    pub fn resource(&self, f: &Finding) -> &Resource {
        &self.resources[f.deployment]
    }

    /// Coverage entries that failed.
    pub fn gaps(&self) -> impl Iterator<Item = &CoverageEntry> {
        self.coverage.iter().filter(|c| c.is_gap())
    }
}

/// Evaluates rules on deployments, one at a time or in parallel; shareable across threads.
pub struct Evaluator<'r> {
    rules: &'r RuleSet,
    now: DateTime<Utc>,
    env: Arc<Env>,
    deleting: Arc<str>,
}

impl<'r> Evaluator<'r> {
    /// An evaluator of `rules` as of `now`.
    pub fn new(rules: &'r RuleSet, now: DateTime<Utc>) -> Self {
        Evaluator {
            rules,
            now,
            env: cel_env(),
            deleting: Arc::from("Not applicable: the deployment is being deleted"),
        }
    }

    /// The findings of every enabled rule that applies to deployment `d` (number `index`).
    pub fn evaluate(&self, index: usize, d: &Deployment) -> Vec<Finding> {
        let mut ctx = Context::with_env(self.env.clone());
        ctx.add_variable_as_val("d", view::deployment(d));
        ctx.add_variable_as_val("now", Box::new(CelTimestamp::from(self.now.fixed_offset())));
        let being_deleted = matches!(d.status.as_deref(), Some("deleting" | "deleted"));
        let mut out = Vec::with_capacity(self.rules.rules.len());
        for (rule_index, rule) in self.rules.rules.iter().enumerate() {
            if !rule.applies_to_kind(d.kind) {
                continue;
            }
            let (status, message, evidence) = if being_deleted {
                (Status::NotApplicable, self.deleting.clone(), Vec::new())
            } else {
                // One scope per deployment; only `params` changes from rule to rule.
                ctx.add_variable_as_val("params", view::params(&rule.params));
                evaluate_rule(rule, &ctx)
            };
            out.push(Finding {
                rule: rule_index,
                deployment: index,
                status,
                message,
                evidence,
                waiver: None,
                transition: None,
            });
        }
        out
    }
}

/// Evaluates every enabled rule on every deployment of an in-memory inventory, as of `now`.
pub fn evaluate(inventory: &Inventory, rules: RuleSet, now: DateTime<Utc>) -> ScanResult {
    let evaluator = Evaluator::new(&rules, now);
    let outcomes: Vec<(Resource, Vec<Finding>)> = inventory
        .deployments
        .par_iter()
        .enumerate()
        .with_min_len(32)
        .map(|(i, d)| (Resource::from(d), evaluator.evaluate(i, d)))
        .collect();
    drop(evaluator);
    ScanResult::assemble(inventory, rules, now, outcomes)
}

/// Evaluates an inventory that arrives in parts, as a live scan reads its units: each part is
/// evaluated when it comes, and only its deployments' identities and findings are kept.
pub struct PartEvaluator<'r> {
    evaluator: Evaluator<'r>,
    /// Each part's identities and findings (numbered within the part), by part number. Kept
    /// apart until [`finish`](Self::finish) joins them at their exact size: one vector grown
    /// as parts came held up to twice the findings, and three times while it was copied.
    parts: BTreeMap<usize, (Vec<Resource>, Vec<Finding>)>,
}

/// What [`PartEvaluator`] found, in the inventory's order.
pub struct Evaluated {
    resources: Vec<Resource>,
    findings: Vec<Finding>,
}

impl<'r> PartEvaluator<'r> {
    pub fn new(rules: &'r RuleSet, now: DateTime<Utc>) -> Self {
        PartEvaluator {
            evaluator: Evaluator::new(rules, now),
            parts: BTreeMap::new(),
        }
    }

    /// Evaluates part `index` of the inventory (parts come in any order, each once).
    pub fn add(&mut self, index: usize, deployments: &[Deployment]) {
        let evaluator = &self.evaluator;
        let found: Vec<Vec<Finding>> = deployments
            .par_iter()
            .enumerate()
            .with_min_len(32)
            .map(|(i, d)| evaluator.evaluate(i, d))
            .collect();
        let mut findings = Vec::with_capacity(found.iter().map(Vec::len).sum());
        findings.extend(found.into_iter().flatten());
        let resources = deployments.iter().map(Resource::from).collect();
        self.parts.insert(index, (resources, findings));
    }

    /// Everything found, in the order of the parts, numbered across them.
    pub fn finish(self) -> Evaluated {
        let (deployments, findings) = self
            .parts
            .values()
            .fold((0, 0), |(d, f), part| (d + part.0.len(), f + part.1.len()));
        let mut found = Evaluated {
            resources: Vec::with_capacity(deployments),
            findings: Vec::with_capacity(findings),
        };
        // Each part is freed as it is moved: the parts and the whole are held together once.
        for (resources, findings) in self.parts.into_values() {
            let base = found.resources.len();
            found.findings.extend(findings.into_iter().map(|mut f| {
                f.deployment += base;
                f
            }));
            found.resources.extend(resources);
        }
        found
    }
}

/// Parses and evaluates the deployments of an inventory document in parallel, keeping only
/// their identities and findings. As of `now`, or the inventory's collection time, or the
/// current time.
pub fn evaluate_document(
    doc: &Document,
    rules: RuleSet,
    now: Option<DateTime<Utc>>,
) -> Result<ScanResult, InventoryError> {
    let now = now.or(doc.header.collected_at).unwrap_or_else(Utc::now);
    let evaluator = Evaluator::new(&rules, now);
    let mut result = ScanResult::assemble(&doc.header, RuleSet::empty(), now, Vec::new());
    // Sized once: growing a vector of millions of findings copies it and faults in fresh pages.
    // An upper bound (rules that do not apply to a kind make no finding); pages never written
    // cost no memory, and where the address space is too tight for it the vector grows instead.
    result.resources.reserve_exact(doc.len());
    let _ = result
        .findings
        .try_reserve_exact(doc.len().saturating_mul(rules.rules.len()));
    // Batches keep the per-deployment intermediate small: memory holds the findings once.
    const BATCH: usize = 1024;
    for start in (0..doc.len()).step_by(BATCH) {
        let batch = start..(start + BATCH).min(doc.len());
        let outcomes = batch
            .clone()
            .into_par_iter()
            .with_min_len(32)
            .map(|i| {
                let d = doc.deployment(i)?;
                Ok((Resource::from(&d), evaluator.evaluate(i, &d)))
            })
            .collect::<Result<Vec<_>, InventoryError>>()?;
        result.extend(outcomes);
    }
    drop(evaluator);
    doc.check_unique_arns(result.resources.iter().map(|r| r.arn.as_str()))?;
    result.rules = rules;
    Ok(result)
}

impl ScanResult {
    /// A result from the inventory's header (coverage, collection time) and per-deployment
    /// outcomes in deployment order.
    fn assemble(
        header: &Inventory,
        rules: RuleSet,
        now: DateTime<Utc>,
        outcomes: Vec<(Resource, Vec<Finding>)>,
    ) -> ScanResult {
        let header = Inventory {
            deployments: Vec::new(),
            coverage: header.coverage.clone(),
            collector: header.collector.clone(),
            shard: header.shard.clone(),
            ..*header
        };
        let evaluated = Evaluated {
            resources: Vec::new(),
            findings: Vec::new(),
        };
        let mut result = ScanResult::of_parts(header, rules, now, evaluated);
        result.extend(outcomes);
        result
    }

    /// A result from the inventory's header and what a [`PartEvaluator`] found. The header's
    /// coverage moves into the result: copied, it was the largest thing a large scan held twice.
    pub fn of_parts(
        header: Inventory,
        rules: RuleSet,
        now: DateTime<Utc>,
        evaluated: Evaluated,
    ) -> ScanResult {
        ScanResult {
            resources: evaluated.resources,
            coverage: header.coverage,
            collected_at: header.collected_at,
            collector: header.collector,
            shard: header.shard,
            rules,
            findings: evaluated.findings,
            evaluated_at: now,
            waivers: Waivers::default(),
            drift: None,
        }
    }

    /// Appends per-deployment outcomes, in deployment order.
    fn extend(&mut self, outcomes: Vec<(Resource, Vec<Finding>)>) {
        self.resources.reserve(outcomes.len());
        self.findings.reserve(outcomes.iter().map(|(_, f)| f.len()).sum());
        for (resource, found) in outcomes {
            self.resources.push(resource);
            self.findings.extend(found);
        }
    }
}

/// One rule in a scope where `d`, `now` and the rule's `params` are bound. Evidence is gathered
/// for findings that failed.
fn evaluate_rule(rule: &Rule, scope: &Context) -> Decision {
    let (status, message, mut evidence) = decide(rule, scope);
    if let Some(expr) = rule.evidence.as_ref().filter(|_| status == Status::Fail) {
        evidence.extend(lines(expr, scope));
    }
    if let Some(expr) = rule
        .notes
        .as_ref()
        .filter(|_| matches!(status, Status::Pass | Status::Fail))
    {
        evidence.extend(lines(expr, scope));
    }
    (status, message, evidence)
}

/// The lines an `evidence` or `notes` expression gives.
fn lines(expr: &Expr, scope: &Context) -> Vec<String> {
    match run_strings(expr, scope) {
        Ok(lines) => lines,
        Err(e) => vec![format!("(evidence unavailable: {})", describe(&e))],
    }
}

/// Applicability and the test: status, message, and the violations of a `violations` rule.
fn decide(rule: &Rule, scope: &Context) -> Decision {
    if let Some(when) = &rule.when {
        match run_bool(when, scope) {
            Ok(true) => {}
            Ok(false) => {
                return (
                    Status::NotApplicable,
                    rule.not_applicable_message.clone(),
                    Vec::new(),
                );
            }
            Err(e) => return error("when", e),
        }
    }
    let (status, evidence) = match &rule.test {
        Test::Check(expr) => match run_bool(expr, scope) {
            Ok(true) => (Status::Pass, Vec::new()),
            Ok(false) => (Status::Fail, Vec::new()),
            Err(e) => return error("check", e),
        },
        Test::Violations(expr) => match run_strings(expr, scope) {
            Ok(v) if v.is_empty() => (Status::Pass, v),
            Ok(v) => (Status::Fail, v),
            Err(e) => return error("violations", e),
        },
    };
    let message = match status {
        Status::Pass => rule.pass_message.clone(),
        _ => rule.fail_message.clone(),
    };
    (status, message, evidence)
}

/// Why evaluation failed, in words a reader of a report understands.
enum EvalError {
    /// The rule called `unknown(reason)`: a fact it needs is not known.
    Undecidable(String),
    Cel(ExecutionError),
    Type(String),
}

fn describe(e: &EvalError) -> String {
    match e {
        EvalError::Undecidable(reason) => reason.clone(),
        EvalError::Cel(e) => e.to_string(),
        EvalError::Type(t) => t.clone(),
    }
}

fn error(what: &str, e: EvalError) -> (Status, Arc<str>, Vec<String>) {
    let message = match &e {
        EvalError::Undecidable(reason) => format!("Cannot decide: {reason}"),
        other => format!("Evaluation error in `{what}`: {}", describe(other)),
    };
    (Status::Error, Arc::from(message.as_str()), Vec::new())
}

fn run(expr: &Expr, ctx: &Context) -> Result<Value, EvalError> {
    expr.program.execute(ctx).map_err(|e| match e {
        ExecutionError::FunctionError { function, message } if function == UNKNOWN_FN => {
            EvalError::Undecidable(message)
        }
        other => EvalError::Cel(other),
    })
}

fn run_bool(expr: &Expr, ctx: &Context) -> Result<bool, EvalError> {
    match run(expr, ctx)? {
        Value::Bool(b) => Ok(b),
        other => Err(EvalError::Type(format!(
            "expected a boolean, got {}",
            other.type_of()
        ))),
    }
}

/// A list of strings (or a single string) as evidence lines.
fn run_strings(expr: &Expr, ctx: &Context) -> Result<Vec<String>, EvalError> {
    match run(expr, ctx)? {
        Value::String(s) => Ok(vec![s.to_string()]),
        Value::List(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.to_string()),
                other => Err(EvalError::Type(format!(
                    "expected a list of strings, found an item of type {}",
                    other.type_of()
                ))),
            })
            .collect(),
        other => Err(EvalError::Type(format!(
            "expected a list of strings, got {}",
            other.type_of()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scan evaluated part by part, parts arriving out of order, finds exactly what the
    /// evaluation of the whole inventory finds, in the same order and numbering.
    #[test]
    fn parts_in_any_order_find_what_the_whole_inventory_finds() {
        let inventory =
            crate::inventory::parse_inventory(include_str!("../../examples/fleet.json"), "fleet.json")
                .expect("the example fleet parses");
        assert!(inventory.deployments.len() >= 4, "enough deployments to split");
        let rules = RuleSet::load(&[]).expect("bundled pack");
        let now = inventory.collected_at.unwrap_or_else(Utc::now);
        let whole = evaluate(&inventory, RuleSet::load(&[]).unwrap(), now);

        let cuts = [0, 1, 1, 3, inventory.deployments.len()];
        let mut parts = PartEvaluator::new(&rules, now);
        for index in [3, 1, 0, 2] {
            parts.add(index, &inventory.deployments[cuts[index]..cuts[index + 1]]);
        }
        let evaluated = parts.finish();
        let header = Inventory {
            deployments: Vec::new(),
            ..inventory.clone()
        };
        let result = ScanResult::of_parts(header, rules, now, evaluated);

        assert!(!whole.findings.is_empty());
        assert_eq!(result.resources, whole.resources);
        assert_eq!(result.findings, whole.findings);
        assert_eq!(result.coverage, whole.coverage);
        assert_eq!(result.collected_at, whole.collected_at);
    }
}
