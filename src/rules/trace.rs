//! Tracing a rule's expressions on one deployment: every sub-expression with the value it took
//! (or that it was not evaluated, its branch not taken), for `ecaudit rules eval`; and, over a
//! rule's test cases, which conditions were never true or never false (`rules test --coverage`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::testing::Case;
use super::Rule;
use crate::inventory::Deployment;

/// One expression of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    When,
    Check,
    Violations,
    Evidence,
    Notes,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::When => "when",
            Part::Check => "check",
            Part::Violations => "violations",
            Part::Evidence => "evidence",
            Part::Notes => "notes",
        }
    }
}

/// What a sub-expression gave in one evaluation.
#[derive(Clone, Debug, PartialEq)]
pub enum StepValue {
    /// Not evaluated: a branch not taken, or a condition short-circuited.
    Skipped,
    /// Its value, written as CEL would write it (`true`, `7`, `"required"`, `["a"]`, `null`).
    Value(String),
    /// It failed: `unknown(...)` (a fact not known) or an evaluation error, in words.
    Error(String),
}

/// A sub-expression and what it gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub part: Part,
    /// Nesting below the whole expression (0).
    pub depth: usize,
    /// Its source text, as written in the rule (whitespace runs collapsed to one space).
    pub text: String,
    /// Where it starts in the rule file.
    pub line: usize,
    pub column: usize,
    pub value: StepValue,
}

/// Every sub-expression of the rule's `when`, its test (`check` or `violations`) and, when the
/// test fails, its `evidence`, in source order (a parent before its children), as evaluated on
/// `d` with `params` as of `now`. Literals and bare variables are left out.
pub fn trace(
    rule: &Rule,
    params: &BTreeMap<String, serde_json::Value>,
    d: &Deployment,
    now: DateTime<Utc>,
) -> Vec<Step> {
    let _ = (rule, params, d, now);
    todo!("trace")
}

/// A condition of a rule (a boolean sub-expression of `when`, `check` or `violations`) and
/// whether its cases made it true and false.
#[derive(Clone, Debug, PartialEq)]
pub struct Branch {
    pub part: Part,
    pub text: String,
    pub line: usize,
    pub column: usize,
    pub seen_true: bool,
    pub seen_false: bool,
}

impl Branch {
    pub fn covered(&self) -> bool {
        self.seen_true && self.seen_false
    }
}

/// The conditions of `rule` and what its `cases` made of them, in source order.
pub fn coverage(rule: &Rule, cases: &[Case]) -> Vec<Branch> {
    let _ = (rule, cases);
    todo!("coverage")
}
