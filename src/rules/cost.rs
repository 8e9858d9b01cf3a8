//! What a rule expression may cost. Statically, from the AST: how many comprehension iterations
//! it can run, as a polynomial in the size of the lists it reads, and how much `replace` can
//! grow a string; over the limits it is a load-time diagnostic. At evaluation time: every
//! comprehension step draws on a per-evaluation budget ([`Budget`]), so an expression that still
//! runs away on a large deployment ends as an error instead of a hang or an abort. The `cel`
//! crate offers no cost limit or cancel hook; the budget is a function the compiled expression
//! calls at each step (the rewrite below), which is why the evaluated AST is not CEL's own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use cel::ExecutionError;
use cel::common::ast::{CallExpr, EntryExpr, Expr, IdedExpr, ListExpr, operators};
use cel::common::types::CelInt;
use cel::common::value::CowVal;

use super::diag::Code;

/// Comprehension iterations one evaluation of one expression may run (each `lists.range(n)` in a
/// loop body counts `n` more). The bundled pack needs a few thousand on the largest clusters.
pub const ITERATION_BUDGET: u64 = 1_000_000;

/// How deep comprehensions over facts may nest: the cost of `k` nested ones grows as the `k`-th
/// power of the lists they read. The bundled pack nests three deep.
pub const MAX_COMPREHENSION_DEPTH: u32 = 4;

/// How many times over `replace` may multiply a string's length (the product of
/// `size(new) + 1` along a chain of `replace` calls).
pub const MAX_STRING_GROWTH: u64 = 1 << 16;

/// The function each comprehension step calls; `@` keeps it out of reach of rule authors (no
/// CEL identifier starts with `@`).
pub const TICK_FN: &str = "@budget";

/// An upper bound `coef × F^deg`, where `F` is the size of the largest list an expression reads
/// from facts or params (at least 1, so sums can take the larger degree).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Poly {
    coef: u64,
    deg: u32,
}

impl Poly {
    const ZERO: Poly = Poly { coef: 0, deg: 0 };
    const ONE: Poly = Poly { coef: 1, deg: 0 };
    const F: Poly = Poly { coef: 1, deg: 1 };

    fn constant(coef: u64) -> Poly {
        Poly { coef, deg: 0 }
    }

    fn add(self, o: Poly) -> Poly {
        if self.coef == 0 {
            return o;
        }
        if o.coef == 0 {
            return self;
        }
        Poly {
            coef: self.coef.saturating_add(o.coef),
            deg: self.deg.max(o.deg),
        }
    }

    fn mul(self, o: Poly) -> Poly {
        if self.coef == 0 || o.coef == 0 {
            return Poly::ZERO;
        }
        Poly {
            coef: self.coef.saturating_mul(o.coef),
            deg: self.deg.saturating_add(o.deg),
        }
    }
}

/// What the analysis knows of a node.
#[derive(Clone, Copy)]
struct Info {
    /// Comprehension iterations (and `lists.range` elements) evaluating the node costs.
    iterations: Poly,
    /// Its length when a literal fixes it (list literal, `lists.range(n)`, string literal).
    len: Option<u64>,
    /// How many times the strings it yields may be longer than its inputs, through `replace`.
    growth: Poly,
}

impl Info {
    fn leaf(len: Option<u64>) -> Info {
        Info {
            iterations: Poly::ZERO,
            len,
            growth: Poly::ONE,
        }
    }
}

/// A cost over the limits, at the node with id `expr_id`.
pub(super) struct Problem {
    pub code: Code,
    pub expr_id: u64,
    pub message: String,
}

/// Checks an expression against the static limits.
pub(super) fn check(expr: &IdedExpr) -> Vec<Problem> {
    let mut problems = Vec::new();
    let info = walk(expr, &mut problems);
    if problems.is_empty() {
        let it = info.iterations;
        if it.deg > MAX_COMPREHENSION_DEPTH {
            problems.push(Problem {
                code: Code::CelTooCostly,
                expr_id: expr.id,
                message: format!(
                    "comprehensions over facts nest {} deep (at most {MAX_COMPREHENSION_DEPTH}): \
                     the cost would grow as the {}th power of the lists read; flatten the \
                     expression, or derive the fact in Rust",
                    it.deg, it.deg
                ),
            });
        } else if it.coef > ITERATION_BUDGET {
            problems.push(Problem {
                code: Code::CelTooCostly,
                expr_id: expr.id,
                message: format!(
                    "at least {} iterations over literal lists and ranges, more than the \
                     {ITERATION_BUDGET} an evaluation may run",
                    it.coef
                ),
            });
        }
    }
    problems
}

fn too_costly(problems: &mut Vec<Problem>, id: u64, message: String) {
    problems.push(Problem {
        code: Code::CelTooCostly,
        expr_id: id,
        message,
    });
}

fn walk(e: &IdedExpr, problems: &mut Vec<Problem>) -> Info {
    match &e.expr {
        Expr::Literal(cel::common::ast::LiteralValue::String(s)) => {
            Info::leaf(Some(s.inner().chars().count() as u64))
        }
        Expr::Literal(_) | Expr::Ident(_) | Expr::Unspecified => Info::leaf(None),
        Expr::Select(s) => {
            let operand = walk(&s.operand, problems);
            Info { len: None, ..operand }
        }
        Expr::List(list) => {
            let mut info = combine(list.elements.iter().map(|x| walk(x, problems)));
            info.len = Some(list.elements.len() as u64);
            info
        }
        Expr::Map(map) => combine(map.entries.iter().flat_map(|entry| match &entry.expr {
            EntryExpr::StructField(f) => vec![walk(&f.value, problems)],
            EntryExpr::MapEntry(m) => vec![walk(&m.key, problems), walk(&m.value, problems)],
        })),
        Expr::Struct(s) => combine(s.entries.iter().filter_map(|entry| match &entry.expr {
            EntryExpr::StructField(f) => Some(walk(&f.value, problems)),
            EntryExpr::MapEntry(_) => None,
        })),
        Expr::Call(call) => walk_call(e.id, call, problems),
        Expr::Comprehension(c) => {
            let range = walk(&c.iter_range, problems);
            let init = walk(&c.accu_init, problems);
            let body = walk(&c.loop_cond, problems)
                .iterations
                .add(walk(&c.loop_step, problems).iterations);
            let result = walk(&c.result, problems);
            let count = range.len.map(Poly::constant).unwrap_or(Poly::F);
            let iterations = range
                .iterations
                .add(init.iterations)
                .add(count.mul(Poly::ONE.add(body)))
                .add(result.iterations);
            Info {
                iterations,
                len: None,
                growth: range.growth.add(init.growth).add(result.growth),
            }
        }
    }
}

/// `lists.range(n)`, which CEL parses as the function `range` called on `lists`.
fn is_lists_range(call: &CallExpr) -> bool {
    call.func_name == "range"
        && call.args.len() == 1
        && call
            .target
            .as_deref()
            .is_some_and(|t| matches!(&t.expr, Expr::Ident(n) if n == "lists"))
}

/// The count of `lists.range(n)` when it is a literal.
fn range_count(call: &CallExpr) -> Option<u64> {
    match &call.args.first()?.expr {
        Expr::Literal(cel::common::ast::LiteralValue::Int(n)) => u64::try_from(*n.inner()).ok(),
        _ => None,
    }
}

/// Sub-expressions evaluated one after the other: their costs add up.
fn combine(parts: impl IntoIterator<Item = Info>) -> Info {
    let mut out = Info {
        iterations: Poly::ZERO,
        len: None,
        growth: Poly::ONE,
    };
    let mut growth = Poly::ZERO;
    for p in parts {
        out.iterations = out.iterations.add(p.iterations);
        growth = growth.add(p.growth);
    }
    if growth.coef > 0 {
        out.growth = growth;
    }
    out
}

fn walk_call(id: u64, call: &CallExpr, problems: &mut Vec<Problem>) -> Info {
    let target = call.target.as_deref().map(|t| walk(t, problems));
    let args: Vec<Info> = call.args.iter().map(|a| walk(a, problems)).collect();
    let mut info = combine(target.iter().copied().chain(args.iter().copied()));
    match (call.func_name.as_str(), &target, args.as_slice()) {
        _ if is_lists_range(call) => {
            let count = range_count(call);
            match count.filter(|n| *n <= ITERATION_BUDGET) {
                Some(n) => {
                    info.len = Some(n);
                    info.iterations = info.iterations.add(Poly::constant(n));
                }
                None => too_costly(
                    problems,
                    id,
                    format!(
                        "`lists.range` takes a literal count of at most {ITERATION_BUDGET}: \
                         another count would make the list's size, and so the cost, unbounded"
                    ),
                ),
            }
        }
        ("replace", Some(target), [_, new, ..]) => {
            let factor = match new.len {
                Some(n) => Poly::constant(n.saturating_add(1)),
                None => Poly::F,
            };
            info.growth = target.growth.mul(factor).add(new.growth);
            if info.growth.deg > 1 || info.growth.coef > MAX_STRING_GROWTH {
                too_costly(
                    problems,
                    id,
                    format!(
                        "`replace` calls may multiply a string's length by more than \
                         {MAX_STRING_GROWTH} (or by a fact's size more than once); replace \
                         with shorter literals, or fewer times"
                    ),
                );
                // One diagnostic per chain, not one per link.
                info.growth = Poly::ONE;
            }
        }
        (op, None, [a, b]) if op == operators::ADD => {
            info.len = a.len.zip(b.len).map(|(a, b)| a.saturating_add(b));
        }
        _ => {}
    }
    info
}

/// The evaluation budget of one expression: comprehension steps left, and whether it ran out
/// (an exhausted budget is an error even where CEL's `||`/`&&` absorb the error it raises).
#[derive(Debug)]
pub struct Budget {
    left: AtomicU64,
    exhausted: AtomicBool,
}

impl Budget {
    pub fn new() -> Arc<Budget> {
        Arc::new(Budget {
            left: AtomicU64::new(ITERATION_BUDGET),
            exhausted: AtomicBool::new(false),
        })
    }

    /// A full budget, for the next expression.
    pub fn reset(&self) {
        self.left.store(ITERATION_BUDGET, Ordering::Relaxed);
        self.exhausted.store(false, Ordering::Relaxed);
    }

    pub fn exhausted(&self) -> bool {
        self.exhausted.load(Ordering::Relaxed)
    }

    /// Draws `weight` steps; fails once the budget is spent (and keeps failing).
    fn draw(&self, weight: u64) -> Result<(), ExecutionError> {
        let left = self.left.load(Ordering::Relaxed);
        if left < weight {
            self.left.store(0, Ordering::Relaxed);
            self.exhausted.store(true, Ordering::Relaxed);
            return Err(budget_error());
        }
        self.left.store(left - weight, Ordering::Relaxed);
        Ok(())
    }

    /// Registers [`TICK_FN`] in `ctx`, drawing on this budget. `@budget(value, weight)` draws
    /// `weight` steps and gives back `value` as it is (a borrowed fact stays borrowed).
    pub fn install(self: &Arc<Self>, ctx: &mut cel::Context) {
        let budget = self.clone();
        let tick: RawFunction = Box::new(move |ftx| {
            let weight = ftx
                .args
                .get(1)
                .and_then(|w| w.downcast_ref::<CelInt>())
                .map_or(1, |w| (*w.inner()).max(1) as u64);
            budget.draw(weight)?;
            if ftx.args.is_empty() {
                return Err(ExecutionError::invalid_argument_count(2, 0));
            }
            Ok(ftx.args.swap_remove(0))
        });
        ctx.add_function(TICK_FN, tick)
            .expect("the budget function's name is free");
    }
}

/// A function of `cel`'s own shape (its `magic::Function`, which the crate does not export).
type RawFunction = Box<
    dyn for<'c, 'k> Fn(&mut cel::FunctionContext<'c, 'k>) -> Result<CowVal<'c, 'k>, ExecutionError>
        + Send
        + Sync,
>;

/// The message of an expression stopped by its budget.
pub fn budget_error() -> ExecutionError {
    ExecutionError::function_error(
        "budget",
        format!(
            "the expression ran more than {ITERATION_BUDGET} comprehension steps on this \
             deployment (the per-rule evaluation budget) and was stopped"
        ),
    )
}

/// A copy of `expr` in which every comprehension step calls [`TICK_FN`] before the step's own
/// work can repeat: in `all`/`exists` the loop condition (checked before each step), in
/// `map`/`filter` the filter or the appended element (keeping the shape `cel` recognises to
/// append in place), elsewhere the step itself.
pub(crate) fn with_budget(expr: &IdedExpr) -> IdedExpr {
    let mut out = expr.clone();
    let mut next_id = max_id(expr) + 1;
    rewrite(&mut out, &mut next_id);
    out
}

fn max_id(e: &IdedExpr) -> u64 {
    let mut max = e.id;
    visit(e, &mut |x| max = max.max(x.id));
    max
}

fn visit(e: &IdedExpr, f: &mut dyn FnMut(&IdedExpr)) {
    f(e);
    match &e.expr {
        Expr::Select(s) => visit(&s.operand, f),
        Expr::Call(c) => {
            if let Some(t) = &c.target {
                visit(t, f);
            }
            c.args.iter().for_each(|a| visit(a, f));
        }
        Expr::List(l) => l.elements.iter().for_each(|x| visit(x, f)),
        Expr::Map(m) => m.entries.iter().for_each(|entry| match &entry.expr {
            EntryExpr::StructField(s) => visit(&s.value, f),
            EntryExpr::MapEntry(m) => {
                visit(&m.key, f);
                visit(&m.value, f);
            }
        }),
        Expr::Struct(s) => s.entries.iter().for_each(|entry| {
            if let EntryExpr::StructField(s) = &entry.expr {
                visit(&s.value, f)
            }
        }),
        Expr::Comprehension(c) => {
            for x in [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                visit(x, f);
            }
        }
        Expr::Literal(_) | Expr::Ident(_) | Expr::Unspecified => {}
    }
}

/// `lists.range` elements built in `e` outside nested comprehensions (which draw for
/// themselves): what one step of the enclosing comprehension weighs beyond itself.
fn range_weight(e: &IdedExpr) -> u64 {
    match &e.expr {
        Expr::Comprehension(c) => range_weight(&c.iter_range).saturating_add(range_weight(&c.accu_init)),
        Expr::Call(c) => {
            let own = if is_lists_range(c) {
                range_count(c).unwrap_or(0)
            } else {
                0
            };
            c.target
                .iter()
                .map(|t| range_weight(t))
                .chain(c.args.iter().map(range_weight))
                .fold(own, u64::saturating_add)
        }
        Expr::Select(s) => range_weight(&s.operand),
        Expr::List(l) => l.elements.iter().map(range_weight).fold(0, u64::saturating_add),
        _ => 0,
    }
}

fn tick(inner: IdedExpr, weight: u64, next_id: &mut u64) -> IdedExpr {
    let mut id = || {
        *next_id += 1;
        *next_id
    };
    let weight = IdedExpr {
        id: id(),
        expr: Expr::Literal(cel::common::ast::LiteralValue::Int(
            (weight.min(i64::MAX as u64) as i64).into(),
        )),
    };
    IdedExpr {
        id: id(),
        expr: Expr::Call(CallExpr {
            func_name: TICK_FN.to_string(),
            target: None,
            args: vec![inner, weight],
        }),
    }
}

fn rewrite(e: &mut IdedExpr, next_id: &mut u64) {
    match &mut e.expr {
        Expr::Select(s) => rewrite(&mut s.operand, next_id),
        Expr::Call(c) => {
            if let Some(t) = c.target.as_deref_mut() {
                rewrite(t, next_id);
            }
            c.args.iter_mut().for_each(|a| rewrite(a, next_id));
        }
        Expr::List(l) => l.elements.iter_mut().for_each(|x| rewrite(x, next_id)),
        Expr::Map(m) => m.entries.iter_mut().for_each(|entry| match &mut entry.expr {
            EntryExpr::StructField(s) => rewrite(&mut s.value, next_id),
            EntryExpr::MapEntry(m) => {
                rewrite(&mut m.key, next_id);
                rewrite(&mut m.value, next_id);
            }
        }),
        Expr::Struct(s) => s.entries.iter_mut().for_each(|entry| {
            if let EntryExpr::StructField(s) = &mut entry.expr {
                rewrite(&mut s.value, next_id)
            }
        }),
        Expr::Comprehension(c) => {
            for x in [
                &mut c.iter_range,
                &mut c.accu_init,
                &mut c.loop_cond,
                &mut c.loop_step,
                &mut c.result,
            ] {
                rewrite(x, next_id);
            }
            let weight = 1u64
                .saturating_add(range_weight(&c.loop_cond))
                .saturating_add(range_weight(&c.loop_step));
            let slot = step_slot(&mut c.loop_step, &c.accu_var);
            let inner = std::mem::take(slot);
            *slot = tick(inner, weight, next_id);
        }
        Expr::Literal(_) | Expr::Ident(_) | Expr::Unspecified => {}
    }
}

fn is_ident(x: &IdedExpr, name: &str) -> bool {
    matches!(&x.expr, Expr::Ident(n) if n == name)
}

/// The element of `@result + [x]`.
fn appended<'a>(step: &'a IdedExpr, accu: &str) -> Option<&'a IdedExpr> {
    let Expr::Call(add) = &step.expr else {
        return None;
    };
    if add.func_name != operators::ADD || add.target.is_some() {
        return None;
    }
    match add.args.as_slice() {
        [lhs, rhs] if is_ident(lhs, accu) => match &rhs.expr {
            Expr::List(ListExpr { elements, .. }) if elements.len() == 1 => elements.first(),
            _ => None,
        },
        _ => None,
    }
}

/// Where in a step with a literal loop condition the budget is drawn: the guard of a `filter`
/// (`guard ? @result + [x] : @result`), the element of a `map` (`@result + [x]`), else the step.
/// Either way the shapes `cel` appends in place are kept.
fn step_slot<'a>(step: &'a mut IdedExpr, accu: &str) -> &'a mut IdedExpr {
    let filter = matches!(&step.expr, Expr::Call(c)
        if c.func_name == operators::CONDITIONAL
            && c.target.is_none()
            && matches!(c.args.as_slice(), [_, then, otherwise]
                if is_ident(otherwise, accu) && appended(then, accu).is_some()));
    let map = appended(step, accu).is_some();
    if !filter && !map {
        return step;
    }
    let Expr::Call(c) = &mut step.expr else {
        unreachable!("checked above")
    };
    if filter {
        return &mut c.args[0];
    }
    match &mut c.args[1].expr {
        Expr::List(list) => &mut list.elements[0],
        _ => unreachable!("checked by `appended`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(expr: &str) -> Vec<String> {
        let program = crate::rules::cel_env().compile(expr).expect(expr);
        check(program.expression())
            .into_iter()
            .map(|p| {
                assert_eq!(p.code, Code::CelTooCostly);
                p.message
            })
            .collect()
    }

    /// `levels` comprehensions over `range`, each inside the previous one's step.
    fn nested(levels: usize, range: &str) -> String {
        let mut expr = "true".to_string();
        for i in 0..levels {
            expr = format!("{range}.all(x{i}, {expr})");
        }
        expr
    }

    #[test]
    fn nesting_over_facts_is_bounded() {
        assert!(problems(&nested(4, "d.nodes")).is_empty());
        let eight = problems(&nested(8, "d.nodes"));
        assert_eq!(eight.len(), 1, "{eight:?}");
        assert!(eight[0].contains("nest 8 deep (at most 4)"), "{}", eight[0]);
        assert!(problems(&nested(5, "d.nodes"))[0].contains("nest 5 deep"));
        // `map` inside `map`, as the issue found it.
        let maps = "d.nodes.map(a, d.nodes.map(b, d.nodes.map(c, d.nodes.map(e, \
                    d.nodes.map(f, d.nodes.map(g, d.nodes.map(h, d.nodes.map(i, i.name))))))))";
        assert!(problems(maps)[0].contains("nest 8 deep"));
        // Comprehensions one after the other do not multiply.
        let chained = "d.nodes.filter(n, true).map(n, n).filter(n, true).map(n, n)\
                       .filter(n, true).map(n, n).size() > 0";
        assert!(problems(chained).is_empty());
    }

    #[test]
    fn literal_ranges_count_by_their_size() {
        // 100 × 100 = 10,000 steps plus the ranges built: under the budget.
        assert!(problems("lists.range(100).map(a, lists.range(100).map(b, b))").is_empty());
        // 1,000 × 1,000: over it.
        let over = problems("lists.range(1000).map(a, lists.range(1000).map(b, b))");
        assert!(over[0].contains("more than the 1000000"), "{over:?}");
        // Eight nested literal lists of three: 3^8 = 6,561 steps.
        assert!(problems(&nested(8, "[1, 2, 3]")).is_empty());
        assert!(!problems(&nested(13, "[1, 2, 3]")).is_empty(), "3^13 > 1e6");
        assert!(problems("lists.range(size(d.nodes)).size() > 0")[0].contains("literal count"));
        assert!(!problems("lists.range(2000000).size() > 0").is_empty());
    }

    #[test]
    fn replace_growth_is_bounded() {
        assert!(problems("d.name.replace('a', 'bb').replace('b', 'cc') != ''").is_empty());
        let grow = ".replace('', 'xxxxxxxxxx')".repeat(6);
        assert!(problems(&format!("d.name{grow} != ''"))[0].contains("65536"));
        assert!(!problems("d.name.replace('', d.name).replace('', d.name) != ''").is_empty());
    }

    /// Runs `expr` (rewritten with the budget) with `xs` bound to the list 0..n; checks that the
    /// rewrite keeps the value when the budget suffices.
    fn run(expr: &str, n: i64) -> (Result<cel::Value, ExecutionError>, bool) {
        let program = crate::rules::cel_env().compile(expr).expect(expr);
        let mut ctx = cel::Context::with_env(crate::rules::cel_env());
        let budget = Budget::new();
        budget.install(&mut ctx);
        ctx.add_variable("xs", (0..n).collect::<Vec<i64>>()).unwrap();
        let value = ctx.resolve(&with_budget(program.expression()));
        if !budget.exhausted() {
            assert_eq!(
                value,
                program.execute(&ctx),
                "the rewrite keeps the value of `{expr}`"
            );
        }
        (value, budget.exhausted())
    }

    #[test]
    fn the_budget_stops_a_runaway_and_changes_nothing_else() {
        for expr in [
            "xs.map(x, x * 2)",
            "xs.filter(x, x % 2 == 0)",
            "xs.map(x, x % 2 == 0, x * 3)",
            "xs.all(x, x >= 0)",
            "xs.exists(x, x == 7)",
            "xs.exists_one(x, x == 7)",
            "xs.map(x, xs.filter(y, y < x).size())",
            "lists.range(3).map(x, lists.range(4).map(y, x * y))",
        ] {
            let (value, exhausted) = run(expr, 10);
            assert!(value.is_ok() && !exhausted, "{expr}: {value:?}");
        }
        // 100^4 = 10^8 steps would take minutes; the budget stops each after 10^6.
        let started = std::time::Instant::now();
        for expr in [
            "xs.all(a, xs.all(b, xs.all(c, xs.all(e, true))))",
            "xs.map(a, xs.map(b, xs.map(c, xs.map(e, e))))",
            "xs.filter(a, xs.filter(b, xs.filter(c, xs.filter(e, true).size() > 0).size() > 0).size() > 0)",
            "xs.exists(a, xs.exists(b, xs.exists(c, xs.exists(e, false))))",
            "xs.exists_one(a, xs.exists_one(b, xs.exists_one(c, xs.exists_one(e, false))))",
            // CEL's `||` absorbs the error; the budget still says it ran out.
            "xs.exists(a, xs.exists(b, xs.exists(c, xs.exists(e, false)))) || true",
            // Few steps, each building a large range: drawn by weight.
            "xs.map(a, xs.map(b, lists.range(1000)))",
        ] {
            let (value, exhausted) = run(expr, 100);
            let shown: String = format!("{value:?}").chars().take(200).collect();
            assert!(exhausted, "{expr}: {shown}");
            if !expr.ends_with("|| true") {
                let message = value.unwrap_err().to_string();
                assert!(
                    message.contains("per-rule evaluation budget"),
                    "{expr}: {message}"
                );
            }
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
    }

    #[test]
    fn the_bundled_pack_is_well_under_the_static_bound() {
        let set = crate::rules::RuleSet::load(&[]).unwrap();
        let mut deepest = 0;
        for rule in set.rules() {
            let exprs = [
                rule.when.as_ref(),
                Some(match &rule.test {
                    crate::rules::Test::Check(e) | crate::rules::Test::Violations(e) => e,
                }),
                rule.evidence.as_ref(),
                rule.notes.as_ref(),
            ];
            for e in exprs.into_iter().flatten() {
                let program = crate::rules::cel_env().compile(&e.source).unwrap();
                let info = walk(program.expression(), &mut Vec::new());
                deepest = deepest.max(info.iterations.deg);
                assert!(
                    info.iterations.coef <= 10_000,
                    "{}: {:?}",
                    rule.id,
                    info.iterations
                );
            }
        }
        assert_eq!(deepest, 3, "the deepest bundled nesting; the limit is 4");
    }
}
