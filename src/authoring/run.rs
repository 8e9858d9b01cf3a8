//! Running test cases: each case's deployment through its rule, as a scan evaluates it, and the
//! outcome compared with what the case expects.

use crate::evaluate::{Outcome, evaluate_one};
use crate::result::Status;
use crate::rules::testing::{Case, Expected};
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

/// The finding status an expected outcome names.
pub fn status_of(expected: Expected) -> Status {
    match expected {
        Expected::Pass => Status::Pass,
        Expected::Fail => Status::Fail,
        Expected::NotApplicable => Status::NotApplicable,
        Expected::Error => Status::Error,
    }
}

/// How `outcome` differs from what `case` expects.
fn compare(case: &Case, outcome: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    if outcome.status != status_of(case.expect) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::defaults;

    /// Every bundled rule has a passing and a failing case, and every case gives the outcome it
    /// expects (`ecaudit rules test`).
    #[test]
    fn every_bundled_rule_is_tested_and_its_cases_pass() {
        use crate::rules::testing::Expected;

        let set = crate::rules::RuleSet::load(&[]).unwrap_or_else(|e| panic!("{e}"));
        let results = run_all(&set);
        assert_eq!(results.len(), 26);
        let mut problems = Vec::new();
        for r in &results {
            for want in [Expected::Pass, Expected::Fail] {
                if !r.rule.tests.iter().any(|c| c.expect == want) {
                    problems.push(format!("{}: no `{}` case", r.rule.id, want.as_str()));
                }
            }
            for c in r.cases.iter().filter(|c| !c.passed()) {
                problems.push(format!(
                    "{}: {}:{}: case `{}`: {}",
                    r.rule.id,
                    c.case.file,
                    c.case.line,
                    c.case.name,
                    c.mismatches.join("; ")
                ));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// Each default is a valid deployment of its kind, and every bundled rule passes on it or
    /// does not apply: a case only writes the facts that make its point.
    #[test]
    fn every_default_is_valid_and_compliant() {
        let rules = crate::rules::RuleSet::load(&[]).expect("bundled pack");
        for kind in crate::inventory::DeploymentKind::ALL {
            let d: crate::inventory::Deployment = serde_json::from_value(defaults::deployment(kind))
                .unwrap_or_else(|e| panic!("the default {kind} is not a deployment: {e}"));
            assert_eq!(d.kind, kind);
            let evaluator = crate::evaluate::Evaluator::new(&rules, defaults::now());
            for finding in evaluator.evaluate(0, &d) {
                let rule = &rules.rules()[finding.rule];
                assert!(
                    matches!(
                        finding.status,
                        crate::result::Status::Pass | crate::result::Status::NotApplicable
                    ),
                    "{} on the default {kind}: {:?} {} {:?}",
                    rule.id,
                    finding.status,
                    finding.message,
                    finding.evidence
                );
            }
        }
    }
}
