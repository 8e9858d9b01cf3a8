//! Tracing a rule's expressions on one deployment: every sub-expression with the value it took
//! (or that it was not evaluated, its branch not taken), for `ecaudit rules eval`; and, over a
//! rule's test cases, which conditions were never true or never false (`rules test --coverage`).
//!
//! The compiled expression keeps no positions, so each expression is parsed again from its
//! source, and every sub-tree is evaluated on its own in the scope a scan uses. Short-circuits
//! are followed as CEL follows them: the right of `a && b` only where `a` was not false, a
//! conditional's branch only where its condition chose it, a comprehension's body once per
//! element it reached (the loop run here step by step, with the loop variable and the
//! accumulator bound as CEL binds them).

use std::collections::{BTreeMap, HashMap};

use cel::common::ast::{EntryExpr, Expr as Ast, IdedExpr, LiteralValue, operators};
use chrono::{DateTime, Utc};

use crate::evaluate::{being_deleted, evaluate_one, with_scope};
use crate::inventory::Deployment;
use crate::result::Status;
use crate::rules::testing::Case;
use crate::rules::{Expr, Rule, Test};
use source::Parsed;
use walk::{Sink, Walker, is_bool};

mod render;
mod source;
#[cfg(test)]
mod tests;
mod walk;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    /// Inside a comprehension, the values it took across the elements it was evaluated for
    /// (`true for 2 of 3 elements, false for 1`).
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
/// `d` with `params` as of `now`. Literals and bare variables are left out (but for a whole
/// expression that is one). Empty when the rule does not apply to the deployment's kind.
pub fn trace(
    rule: &Rule,
    params: &BTreeMap<String, serde_json::Value>,
    d: &Deployment,
    now: DateTime<Utc>,
) -> Vec<Step> {
    // The scan's own verdict decides whether `evidence` runs, so the trace cannot disagree.
    let Some(outcome) = evaluate_one(rule, params, d, now) else {
        return Vec::new();
    };
    let deleting = being_deleted(d);
    let (test_part, test) = test_of(rule);
    with_scope(d, params, now, |ctx, budget| {
        let mut walker = Walker::new(ctx, budget, Sink::Steps(Vec::new()));
        let mut live = !deleting;
        if let Some(when) = &rule.when {
            let value = walker.part(&Parsed::new(Part::When, when), live);
            live &= is_bool(&value, true);
        }
        walker.part(&Parsed::new(test_part, test), live);
        if let Some(evidence) = rule.evidence.as_ref().filter(|_| outcome.status == Status::Fail) {
            walker.part(&Parsed::new(Part::Evidence, evidence), true);
        }
        match walker.sink {
            Sink::Steps(steps) => steps,
            Sink::Bools(_) => unreachable!("a trace records steps"),
        }
    })
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

/// The conditions of `rule` and what its `cases` made of them, in source order: the whole of
/// `when` and `check`, the operands of `&&`, `||` and `!`, the conditions of `?:`, comparisons,
/// and calls that give booleans (comprehension bodies included). A condition no case reached
/// was neither true nor false.
pub fn coverage(rule: &Rule, cases: &[Case]) -> Vec<Branch> {
    let (test_part, test) = test_of(rule);
    let mut parts: Vec<Parsed> = rule.when.iter().map(|w| Parsed::new(Part::When, w)).collect();
    parts.push(Parsed::new(test_part, test));
    let mut seen: HashMap<(Part, u64), (bool, bool)> = HashMap::new();
    for case in cases {
        let d = &case.deployment;
        if !rule.applies_to_kind(d.kind) || being_deleted(d) {
            continue;
        }
        let found = with_scope(d, &case.params, case.now, |ctx, budget| {
            let mut walker = Walker::new(ctx, budget, Sink::Bools(HashMap::new()));
            let mut live = true;
            for parsed in &parts {
                let value = walker.part(parsed, live);
                if parsed.part == Part::When {
                    live &= is_bool(&value, true);
                }
            }
            match walker.sink {
                Sink::Bools(found) => found,
                Sink::Steps(_) => unreachable!("coverage records booleans"),
            }
        });
        for (key, (t, f)) in found {
            let entry = seen.entry(key).or_default();
            entry.0 |= t;
            entry.1 |= f;
        }
    }
    let mut branches = Vec::new();
    for parsed in &parts {
        let Some(program) = &parsed.program else { continue };
        let root = program.expression();
        let mut ids = Vec::new();
        conditions(
            parsed,
            root,
            None,
            parsed.part != Part::Violations,
            None,
            &seen,
            &mut ids,
        );
        for node in ids {
            let (text, line, column) = parsed.locate(node);
            let (seen_true, seen_false) = seen.get(&(parsed.part, node.id)).copied().unwrap_or_default();
            branches.push(Branch {
                part: parsed.part,
                text,
                line,
                column,
                seen_true,
                seen_false,
            });
        }
    }
    branches
}

fn test_of(rule: &Rule) -> (Part, &Expr) {
    match &rule.test {
        Test::Check(e) => (Part::Check, e),
        Test::Violations(e) => (Part::Violations, e),
    }
}

/// Collects, in source order, the nodes of `e` that are conditions. `cond` says the parent
/// takes `e` as a condition; `parent_op` is the parent's logical operator, so a chain `a && b
/// && c` (which CEL parses as a tree) counts its terms, not its inner links.
fn conditions<'e>(
    p: &Parsed,
    e: &'e IdedExpr,
    comp: Option<u32>,
    cond: bool,
    parent_op: Option<&str>,
    seen: &HashMap<(Part, u64), (bool, bool)>,
    out: &mut Vec<&'e IdedExpr>,
) {
    let user = p.is_user(e, comp);
    let op = match &e.expr {
        Ast::Call(c) if c.target.is_none() && is_logical(&c.func_name) => Some(c.func_name.as_str()),
        _ => None,
    };
    let chained = op.is_some() && op == parent_op && op != Some(operators::LOGICAL_NOT);
    let observed = matches!(e.expr, Ast::Call(_)) && seen.get(&(p.part, e.id)).is_some_and(|(t, f)| *t || *f);
    if user && !chained && (cond || boolean_shaped(e) || observed) {
        out.push(e);
    }
    let op = if user { op } else { None };
    let mut walk =
        |child: &'e IdedExpr, cond: bool, comp: Option<u32>| conditions(p, child, comp, cond, op, seen, out);
    match &e.expr {
        Ast::Call(c) => {
            let logical = c.target.is_none() && is_logical(&c.func_name);
            let ternary = c.target.is_none() && c.func_name == operators::CONDITIONAL;
            if let Some(t) = &c.target {
                walk(t, false, comp);
            }
            for (i, a) in c.args.iter().enumerate() {
                walk(a, logical || (ternary && i == 0), comp);
            }
        }
        Ast::Select(s) => walk(&s.operand, false, comp),
        Ast::List(l) => l.elements.iter().for_each(|x| walk(x, false, comp)),
        Ast::Map(m) => m.entries.iter().for_each(|x| match &x.expr {
            EntryExpr::MapEntry(x) => {
                walk(&x.key, false, comp);
                walk(&x.value, false, comp);
            }
            EntryExpr::StructField(f) => walk(&f.value, false, comp),
        }),
        Ast::Struct(s) => s.entries.iter().for_each(|x| match &x.expr {
            EntryExpr::StructField(f) => walk(&f.value, false, comp),
            EntryExpr::MapEntry(x) => walk(&x.value, false, comp),
        }),
        Ast::Comprehension(c) => {
            let at = p.start_of(e.id);
            for part in [&c.iter_range, &c.accu_init, &c.loop_step, &c.result] {
                walk(part, false, at);
            }
        }
        _ => {}
    }
}

fn is_logical(name: &str) -> bool {
    matches!(
        name,
        operators::LOGICAL_AND | operators::LOGICAL_OR | operators::LOGICAL_NOT
    )
}

/// Functions (ecaudit's and CEL's) whose value is a boolean.
const BOOLEAN_FUNCTIONS: &[&str] = &[
    "cidr_contains",
    "cidr_within_any",
    "cidr_is_public",
    "cidr_is_private",
    "version_at_least",
    "startsWith",
    "endsWith",
    "contains",
    "matches",
];

/// Whether a node gives a boolean whatever its operands: a comparison, a logical operator, a
/// presence test, `all`/`exists`/`exists_one`, a predicate function.
fn boolean_shaped(e: &IdedExpr) -> bool {
    match &e.expr {
        Ast::Call(c) => {
            matches!(
                c.func_name.as_str(),
                operators::EQUALS
                    | operators::NOT_EQUALS
                    | operators::LESS
                    | operators::LESS_EQUALS
                    | operators::GREATER
                    | operators::GREATER_EQUALS
                    | operators::IN
            ) || is_logical(&c.func_name)
                || BOOLEAN_FUNCTIONS.contains(&c.func_name.as_str())
        }
        Ast::Select(s) => s.test,
        // `all` and `exists` start from a boolean; `exists_one` ends comparing its count.
        Ast::Comprehension(c) => {
            matches!(c.accu_init.expr, Ast::Literal(LiteralValue::Boolean(_)))
                || matches!(&c.result.expr, Ast::Call(r) if r.func_name == operators::EQUALS)
        }
        _ => false,
    }
}
