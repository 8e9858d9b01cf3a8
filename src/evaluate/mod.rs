//! Evaluation: rules × deployments → findings. Pure (no I/O) and parallel over deployments; each
//! deployment is bound to CEL once and every rule runs in that scope.

use std::collections::BTreeMap;
use std::sync::Arc;

use cel::common::types::CelTimestamp;
use cel::{Context, Env, ExecutionError, Value};
use chrono::{DateTime, Utc};
use rayon::prelude::*;

use crate::inventory::{Deployment, Document, Inventory, InventoryError};
use crate::result::{Finding, Resource, ScanResult, Status};
use crate::rules::cost::{Budget, budget_error};
use crate::rules::functions::UNKNOWN_FN;
use crate::rules::{Expr, Rule, RuleSet, Test, cel_env, view};

/// A rule's decision: status, message, and the violations of a `violations` rule.
type Decision = (Status, Arc<str>, Vec<String>);

/// Why no rule applies to a deployment being deleted.
const DELETING: &str = "Not applicable: the deployment is being deleted";

/// Whether `d` is being deleted (or is gone): every rule is then not applicable.
pub fn being_deleted(d: &Deployment) -> bool {
    matches!(d.status.as_deref(), Some("deleting" | "deleted"))
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
            deleting: Arc::from(DELETING),
        }
    }

    /// The findings of every enabled rule that applies to deployment `d` (number `index`).
    pub fn evaluate(&self, index: usize, d: &Deployment) -> Vec<Finding> {
        let mut ctx = Context::with_env(self.env.clone());
        let budget = Budget::new();
        budget.install(&mut ctx);
        ctx.add_variable_as_val("d", view::deployment(d));
        ctx.add_variable_as_val("now", Box::new(CelTimestamp::from(self.now.fixed_offset())));
        let being_deleted = being_deleted(d);
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
                evaluate_rule(
                    rule,
                    &Scope {
                        ctx: &ctx,
                        budget: &budget,
                    },
                )
            };
            out.push(Finding {
                rule: rule_index,
                deployment: index,
                status,
                message,
                evidence,
                waiver: None,
                transition: None,
                age: None,
                change: None,
            });
        }
        out
    }
}

/// One rule's outcome on one deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub message: String,
    pub evidence: Vec<String>,
}

/// Evaluates one rule on one deployment as a scan would, with `params` in place of the rule's
/// own: what `ecaudit rules test` runs a test case with. A rule that does not apply to the
/// deployment's kind gives `None`.
pub fn evaluate_one(
    rule: &Rule,
    params: &BTreeMap<String, serde_json::Value>,
    d: &Deployment,
    now: DateTime<Utc>,
) -> Option<Outcome> {
    if !rule.applies_to_kind(d.kind) {
        return None;
    }
    if being_deleted(d) {
        return Some(Outcome {
            status: Status::NotApplicable,
            message: DELETING.into(),
            evidence: Vec::new(),
        });
    }
    let (status, message, evidence) = with_scope(d, params, now, |ctx, budget| {
        evaluate_rule(rule, &Scope { ctx, budget })
    });
    Some(Outcome {
        status,
        message: message.to_string(),
        evidence,
    })
}

/// Runs `f` in the scope a scan evaluates a rule on `d` in: `d`, `now` and `params` bound, and
/// the evaluation budget installed (`f` resets it before each expression).
pub fn with_scope<T>(
    d: &Deployment,
    params: &BTreeMap<String, serde_json::Value>,
    now: DateTime<Utc>,
    f: impl FnOnce(&Context, &Budget) -> T,
) -> T {
    let mut ctx = Context::with_env(cel_env());
    let budget = Budget::new();
    budget.install(&mut ctx);
    ctx.add_variable_as_val("d", view::deployment(d));
    ctx.add_variable_as_val("now", Box::new(CelTimestamp::from(now.fixed_offset())));
    ctx.add_variable_as_val("params", view::params(params));
    f(&ctx, &budget)
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
    let mut found = Evaluated::default();
    found.extend(outcomes);
    found.into_result(header_of(inventory), rules, now)
}

/// Everything of an inventory but its deployments.
fn header_of(inventory: &Inventory) -> Inventory {
    Inventory {
        deployments: Vec::new(),
        coverage: inventory.coverage.clone(),
        accounts: inventory.accounts.clone(),
        collector: inventory.collector.clone(),
        shard: inventory.shard.clone(),
        ..*inventory
    }
}

/// What evaluation found, in inventory order: the deployments' identities and their findings.
#[derive(Default)]
pub struct Evaluated {
    resources: Vec<Resource>,
    findings: Vec<Finding>,
}

impl Evaluated {
    /// Appends per-deployment outcomes, in deployment order.
    fn extend(&mut self, outcomes: Vec<(Resource, Vec<Finding>)>) {
        self.resources.reserve(outcomes.len());
        self.findings.reserve(outcomes.iter().map(|(_, f)| f.len()).sum());
        for (resource, found) in outcomes {
            self.resources.push(resource);
            self.findings.extend(found);
        }
    }

    /// The result of the inventory whose `header` (coverage, collection time) this is,
    /// evaluated with `rules` as of `now`.
    pub fn into_result(self, header: Inventory, rules: RuleSet, now: DateTime<Utc>) -> ScanResult {
        ScanResult::evaluated(header, rules, now, self.resources, self.findings)
    }
}

/// Evaluates an inventory that arrives in parts, as a live scan reads its units: each part is
/// evaluated when it comes, and only its deployments' identities and findings are kept.
pub struct PartEvaluator<'r> {
    evaluator: Evaluator<'r>,
    /// Each part's identities and findings (numbered within the part), by part number.
    parts: BTreeMap<usize, (Vec<Resource>, Vec<Finding>)>,
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
        let findings = found.into_iter().flatten().collect();
        let resources = deployments.iter().map(Resource::from).collect();
        self.parts.insert(index, (resources, findings));
    }

    /// Everything found, in the order of the parts, numbered across them.
    pub fn finish(self) -> Evaluated {
        let mut found = Evaluated::default();
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
    // Sized once, to an upper bound (a rule makes at most one finding per deployment): grown
    // by doubling, millions of findings would be held twice while moved.
    let mut found = Evaluated {
        resources: Vec::with_capacity(doc.len()),
        findings: Vec::with_capacity(doc.len().saturating_mul(rules.rules().len())),
    };
    // Batches keep the per-deployment intermediate small: memory holds the findings once.
    const BATCH: usize = 1024;
    for start in (0..doc.len()).step_by(BATCH) {
        let batch = start..(start + BATCH).min(doc.len());
        let outcomes = batch
            .into_par_iter()
            .with_min_len(32)
            .map(|i| {
                let d = doc.deployment(i)?;
                Ok((Resource::from(&d), evaluator.evaluate(i, &d)))
            })
            .collect::<Result<Vec<_>, InventoryError>>()?;
        found.extend(outcomes);
    }
    drop(evaluator);
    doc.check_unique_arns(found.resources.iter().map(|r| r.arn.as_str()))?;
    Ok(found.into_result(header_of(&doc.header), rules, now))
}

/// One rule in a scope where `d`, `now` and the rule's `params` are bound. Evidence is gathered
/// for findings that failed.
fn evaluate_rule(rule: &Rule, scope: &Scope) -> Decision {
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
fn lines(expr: &Expr, scope: &Scope) -> Vec<String> {
    match run_strings(expr, scope) {
        Ok(lines) => lines,
        Err(e) => vec![format!("(evidence unavailable: {})", describe(&e))],
    }
}

/// Applicability and the test: status, message, and the violations of a `violations` rule.
fn decide(rule: &Rule, scope: &Scope) -> Decision {
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

/// A deployment's evaluation scope and the budget its expressions draw on.
struct Scope<'a, 'p, 'v> {
    ctx: &'a Context<'p, 'v>,
    budget: &'a Budget,
}

/// Runs one expression on a full budget. An exhausted budget is an error even when the
/// expression absorbed the error the budget raised (`error || true` is `true` in CEL).
fn run(expr: &Expr, scope: &Scope) -> Result<Value, EvalError> {
    scope.budget.reset();
    let value = scope.ctx.resolve(&expr.budgeted);
    let value = match value {
        Ok(_) if scope.budget.exhausted() => Err(budget_error()),
        other => other,
    };
    value.map_err(|e| match e {
        ExecutionError::FunctionError { function, message } if function == UNKNOWN_FN => {
            EvalError::Undecidable(message)
        }
        other => EvalError::Cel(other),
    })
}

fn run_bool(expr: &Expr, ctx: &Scope) -> Result<bool, EvalError> {
    match run(expr, ctx)? {
        Value::Bool(b) => Ok(b),
        other => Err(EvalError::Type(format!(
            "expected a boolean, got {}",
            other.type_of()
        ))),
    }
}

/// A list of strings (or a single string) as evidence lines.
fn run_strings(expr: &Expr, ctx: &Scope) -> Result<Vec<String>, EvalError> {
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
        let result = evaluated.into_result(header, rules, now);

        assert!(!whole.findings.is_empty());
        assert_eq!(result.resources, whole.resources);
        assert_eq!(result.findings, whole.findings);
        assert_eq!(result.coverage, whole.coverage);
        assert_eq!(result.collected_at, whole.collected_at);
    }
}
