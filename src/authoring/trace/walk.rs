//! Evaluating every sub-expression of a rule in the environments CEL evaluates it in.

use std::collections::HashMap;

use cel::common::ast::{CallExpr, ComprehensionExpr, EntryExpr, Expr as Ast, IdedExpr, operators};
use cel::common::value::{CowVal, Val};
use cel::{Context, Value};

use super::render::{Res, bool_of, describe, render, summary};
use super::source::{Parsed, constant};
use super::{Part, Step, StepValue};
use crate::rules::cost::{Budget, budget_error, with_budget};

/// The variables of one evaluation inside comprehensions: loop variables and accumulators.
#[derive(Clone, Default)]
struct Env<'v>(Vec<(String, Box<dyn Val + 'v>)>);

impl<'v> Env<'v> {
    fn with(&self, name: &str, value: Box<dyn Val + 'v>) -> Env<'v> {
        let mut vars: Vec<_> = self.0.iter().filter(|(n, _)| n != name).cloned().collect();
        vars.push((name.to_string(), value));
        Env(vars)
    }
}

pub(super) fn is_bool(value: &Option<Res<'_>>, b: bool) -> bool {
    matches!(value, Some(Ok(v)) if bool_of(v.as_ref()) == Some(b))
}

/// What a walk records.
pub(super) enum Sink {
    Steps(Vec<Step>),
    /// Per (part, node), whether it was seen true and seen false.
    Bools(HashMap<(Part, u64), (bool, bool)>),
}

/// Where a node sits: its expression, nesting, the enclosing comprehension's call (whose
/// expansion's nodes are not the author's) and whether it runs once per element.
#[derive(Clone, Copy)]
struct At<'x, 'r> {
    p: &'x Parsed<'r>,
    depth: usize,
    comp: Option<u32>,
    looped: bool,
    /// Elements were left untraced past [`MAX_TRACED`].
    capped: bool,
    root: u64,
}

/// How many evaluations of a comprehension's body a trace follows: each costs an evaluation
/// of every sub-expression of the body, and nested loops multiply.
const MAX_TRACED: usize = 100_000;

pub(super) struct Walker<'a, 'p, 'v> {
    ctx: &'a Context<'p, 'v>,
    budget: &'a Budget,
    pub(super) sink: Sink,
}

impl<'a, 'p, 'v> Walker<'a, 'p, 'v> {
    pub(super) fn new(ctx: &'a Context<'p, 'v>, budget: &'a Budget, sink: Sink) -> Self {
        Walker { ctx, budget, sink }
    }

    /// Walks a whole expression, evaluated when `live`; its value.
    pub(super) fn part(&mut self, p: &Parsed, live: bool) -> Option<Res<'v>> {
        let root = p.program.as_ref()?.expression();
        let envs = if live { vec![Env::default()] } else { Vec::new() };
        let at = At {
            p,
            depth: 0,
            comp: None,
            looped: false,
            capped: false,
            root: root.id,
        };
        self.walk(root, &envs, at, true).pop()
    }

    /// Evaluates `e` on a full budget in `env`, as a scan evaluates a whole expression.
    fn eval(&self, e: &IdedExpr, env: &Env<'v>) -> Res<'v> {
        self.budget.reset();
        let value = if env.0.is_empty() {
            Value::resolve_val(e, self.ctx).map(CowVal::into_owned)
        } else {
            let mut scope = self.ctx.new_inner_scope();
            for (name, value) in &env.0 {
                scope.add_variable_as_val(name.clone(), value.clone());
            }
            Value::resolve_val(e, &scope).map(CowVal::into_owned)
        };
        match value {
            Ok(_) if self.budget.exhausted() => Err(budget_error()),
            other => other,
        }
    }

    /// Records `e` and walks its children, each in the environments CEL evaluates it in.
    /// Returns `e`'s value in each of `envs` when `need`ed or recorded, else nothing.
    fn walk(&mut self, e: &IdedExpr, envs: &[Env<'v>], at: At, need: bool) -> Vec<Res<'v>> {
        let user = at.p.is_user(e, at.comp);
        let shown = user && (e.id == at.root || !(matches!(e.expr, Ast::Ident(_)) || constant(e)));
        let values: Vec<Res<'v>> = if need || shown || (user && matches!(self.sink, Sink::Bools(_))) {
            let budgeted = with_budget(e);
            envs.iter().map(|env| self.eval(&budgeted, env)).collect()
        } else {
            Vec::new()
        };
        match &mut self.sink {
            Sink::Steps(steps) if shown => {
                let (text, line, column) = at.p.locate(e);
                let mut value = match (values.as_slice(), at.looped) {
                    ([], _) => StepValue::Skipped,
                    ([one], false) => one.as_ref().map_or_else(
                        |e| StepValue::Error(describe(e)),
                        |v| StepValue::Value(render(v.as_ref())),
                    ),
                    (all, _) => summary(all),
                };
                if let (true, StepValue::Value(text) | StepValue::Error(text)) = (at.capped, &mut value) {
                    text.push_str(&format!(" (only the first {MAX_TRACED} evaluations traced)"));
                }
                steps.push(Step {
                    part: at.p.part,
                    depth: at.depth,
                    text,
                    line,
                    column,
                    value,
                });
            }
            Sink::Bools(found) if user => {
                let entry = found.entry((at.p.part, e.id)).or_default();
                for v in values.iter().flatten() {
                    match bool_of(v.as_ref()) {
                        Some(true) => entry.0 = true,
                        Some(false) => entry.1 = true,
                        None => {}
                    }
                }
            }
            _ => {}
        }
        let inner = At {
            depth: at.depth + usize::from(shown),
            ..at
        };
        let mut children: Vec<&IdedExpr> = Vec::new();
        match &e.expr {
            Ast::Call(call) => self.walk_call(call, envs, inner),
            Ast::Comprehension(c) => self.walk_comprehension(e.id, c, envs, inner),
            Ast::Select(s) => children.push(&s.operand),
            Ast::List(l) => children.extend(&l.elements),
            Ast::Map(cel::common::ast::MapExpr { entries })
            | Ast::Struct(cel::common::ast::StructExpr { entries, .. }) => {
                for x in entries {
                    match &x.expr {
                        EntryExpr::MapEntry(m) => children.extend([&m.key, &m.value]),
                        EntryExpr::StructField(f) => children.push(&f.value),
                    }
                }
            }
            _ => {}
        }
        for child in children {
            self.walk(child, envs, inner, false);
        }
        values
    }

    fn walk_call(&mut self, call: &CallExpr, envs: &[Env<'v>], at: At) {
        let keep =
            |envs: &[Env<'v>], values: &[Res<'v>], want: &dyn Fn(Option<bool>) -> bool| -> Vec<Env<'v>> {
                envs.iter()
                    .zip(values)
                    .filter(|(_, v)| want(v.as_ref().ok().and_then(|v| bool_of(v.as_ref()))))
                    .map(|(e, _)| e.clone())
                    .collect()
            };
        match (call.func_name.as_str(), call.args.as_slice(), &call.target) {
            // CEL evaluates the right operand unless the left one decided: false for `&&`,
            // true for `||` (an error on the left does not decide).
            (op @ (operators::LOGICAL_AND | operators::LOGICAL_OR), [left, right], None) => {
                let decides = op == operators::LOGICAL_OR;
                let lefts = self.walk(left, envs, at, true);
                let rest = keep(envs, &lefts, &|b| b != Some(decides));
                self.walk(right, &rest, at, false);
            }
            // A condition that is not a boolean takes neither branch.
            (operators::CONDITIONAL, [cond, yes, no], None) => {
                let conds = self.walk(cond, envs, at, true);
                let (yes_envs, no_envs) = (
                    keep(envs, &conds, &|b| b == Some(true)),
                    keep(envs, &conds, &|b| b == Some(false)),
                );
                self.walk(yes, &yes_envs, at, false);
                self.walk(no, &no_envs, at, false);
            }
            _ => {
                if let Some(target) = &call.target {
                    self.walk(target, envs, at, false);
                }
                for arg in &call.args {
                    self.walk(arg, envs, at, false);
                }
            }
        }
    }

    /// Runs the loop as CEL does, recording each element's environment, then walks the step
    /// in those (and the result after the loop).
    fn walk_comprehension(&mut self, id: u64, c: &ComprehensionExpr, envs: &[Env<'v>], at: At) {
        let at = At {
            comp: at.p.start_of(id),
            ..at
        };
        let ranges = self.walk(&c.iter_range, envs, at, true);
        let inits = self.walk(&c.accu_init, envs, at, true);
        let (cond, step) = (with_budget(&c.loop_cond), with_budget(&c.loop_step));
        // `all`/`exists` fold with `&&`/`||`: an error waits for an element that decides.
        let fold = match &c.loop_step.expr {
            Ast::Call(s) if matches!(s.args.first(), Some(IdedExpr { expr: Ast::Ident(n), .. }) if *n == c.accu_var) => {
                match s.func_name.as_str() {
                    operators::LOGICAL_AND => Some(false),
                    operators::LOGICAL_OR => Some(true),
                    _ => None,
                }
            }
            _ => None,
        };
        let (mut body, mut after, mut capped) = (Vec::new(), Vec::new(), at.capped);
        for ((env, range), init) in envs.iter().zip(ranges).zip(inits) {
            let (Ok(range), Ok(mut accu)) = (range, init) else {
                continue;
            };
            let Some(items) = range.as_iterable() else {
                continue;
            };
            let mut items = items.iter();
            let (mut pending, mut complete) = (false, true);
            while let Some(item) = items.next() {
                if body.len() == MAX_TRACED {
                    (capped, complete) = (true, false);
                    break;
                }
                let with_accu = env.with(&c.accu_var, accu.clone());
                match self.eval(&cond, &with_accu) {
                    Ok(v) if bool_of(v.as_ref()) == Some(true) => {}
                    Ok(v) if bool_of(v.as_ref()) == Some(false) => break,
                    _ => {
                        complete = false;
                        break;
                    }
                }
                let element = with_accu.with(&c.iter_var, item.clone_as_boxed());
                let stepped = self.eval(&step, &element);
                body.push(element);
                match (stepped, fold) {
                    (Err(_), Some(_)) => pending = true,
                    (Err(_), None) => {
                        complete = false;
                        break;
                    }
                    (Ok(v), Some(decides)) if pending && bool_of(v.as_ref()) != Some(decides) => {}
                    (Ok(v), _) => {
                        pending = false;
                        accu = v;
                    }
                }
            }
            if complete && !pending {
                after.push(env.with(&c.accu_var, accu));
            }
        }
        let each = At {
            looped: true,
            capped,
            ..at
        };
        self.walk(&c.loop_step, &body, each, false);
        self.walk(&c.result, &after, at, false);
    }
}
