//! Running test cases: each case's deployment through its rule, as a scan evaluates it, and the
//! outcome compared with what the case expects.

use super::Case;
use crate::evaluate::{Outcome, evaluate_one};
use crate::rules::{Rule, RuleSet};

/// A case and what its rule gave.
#[derive(Debug)]
pub struct CaseResult<'c> {
    pub case: &'c Case,
    pub outcome: Outcome,
    /// Each way the outcome differs from the expectation; empty when the case passed.
    pub mismatches: Vec<String>,
}

impl CaseResult<'_> {
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// A rule and the results of its cases.
#[derive(Debug)]
pub struct RuleResult<'r> {
    pub rule: &'r Rule,
    pub cases: Vec<CaseResult<'r>>,
}

impl RuleResult<'_> {
    pub fn failed(&self) -> usize {
        self.cases.iter().filter(|c| !c.passed()).count()
    }
}

/// Runs every case of every rule of `rules` (enabled or not), by rule id.
pub fn run_all(rules: &RuleSet) -> Vec<RuleResult<'_>> {
    let mut all: Vec<&Rule> = rules.rules().iter().chain(rules.disabled()).collect();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all.into_iter()
        .map(|rule| RuleResult {
            rule,
            cases: rule.tests.iter().map(|case| run_case(rule, case)).collect(),
        })
        .collect()
}

/// Runs one case of `rule`.
pub fn run_case<'c>(rule: &Rule, case: &'c Case) -> CaseResult<'c> {
    let outcome = evaluate_one(rule, &case.params, &case.deployment, case.now)
        .expect("validation keeps cases to the kinds their rule applies to");
    let mismatches = compare(case, &outcome);
    CaseResult {
        case,
        outcome,
        mismatches,
    }
}

/// How `outcome` differs from what `case` expects.
fn compare(case: &Case, outcome: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    if outcome.status != case.expect.status() {
        out.push(format!(
            "expected {}, got {}",
            case.expect.as_str(),
            outcome.status.as_str()
        ));
    }
    if let Some(fragment) = &case.message
        && !outcome.message.contains(fragment.as_str())
    {
        out.push(format!(
            "the message does not contain {fragment:?}: {:?}",
            outcome.message
        ));
    }
    if let Some(lines) = &case.evidence
        && *lines != outcome.evidence
    {
        out.push(format!(
            "evidence differs: expected {lines:?}, got {:?}",
            outcome.evidence
        ));
    }
    for fragment in &case.evidence_contains {
        if !outcome.evidence.iter().any(|l| l.contains(fragment.as_str())) {
            out.push(format!(
                "no evidence line contains {fragment:?}; evidence: {:?}",
                outcome.evidence
            ));
        }
    }
    out
}
