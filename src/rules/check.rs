//! Static checks of a compiled rule expression: every function exists, every variable is bound,
//! every fact read from the inventory exists, every `params.X` is declared. CEL itself would only
//! notice these when evaluating, deployment by deployment; here they are rejected at load time.

use std::collections::BTreeMap;

use cel::common::ast::{EntryExpr, Expr, IdedExpr};

use super::diag::Code;
use super::functions::FUNCTIONS;
use super::view::{Shape, fields_of};

/// Functions of the CEL standard library and of the extensions ecaudit enables (strings, lists,
/// math). Operators (`_+_`, `@in`, ...) are not listed: their names cannot be written in an
/// expression, only produced by the parser.
pub const CEL_FUNCTIONS: &[&str] = &[
    // standard library
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "bool",
    "dyn",
    "type",
    "duration",
    "timestamp",
    "getDate",
    "getDayOfMonth",
    "getDayOfWeek",
    "getDayOfYear",
    "getFullYear",
    "getHours",
    "getMilliseconds",
    "getMinutes",
    "getMonth",
    "getSeconds",
    "optional.none",
    "optional.of",
    "optional.ofNonZeroValue",
    "hasValue",
    "value",
    "or",
    "orValue",
    // strings extension
    "charAt",
    "indexOf",
    "lastIndexOf",
    "join",
    "lowerAscii",
    "upperAscii",
    "trim",
    "replace",
    "split",
    "substring",
    "format",
    "strings.quote",
    "reverse",
    // lists extension
    "slice",
    "flatten",
    "distinct",
    "sort",
    "lists.range",
    // math extension
    "math.abs",
    "math.ceil",
    "math.floor",
    "math.round",
    "math.trunc",
    "math.sign",
    "math.sqrt",
    "math.isInf",
    "math.isNaN",
    "math.isFinite",
    "math.bitAnd",
    "math.bitOr",
    "math.bitXor",
    "math.bitNot",
    "math.bitShiftLeft",
    "math.bitShiftRight",
    "math.greatest",
    "math.least",
];

/// The variables every expression may read.
pub const ROOT_VARIABLES: &[&str] = &["d", "params", "now"];

/// A fact an expression reads: a chain of fields from `d`, and whether only its nullness matters
/// (`d.vpc == null`) or its whole value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyPath {
    pub fields: Vec<String>,
    pub nullness_only: bool,
}

/// What an expression reads of the deployment: every path, or `None` when `d` escapes whole
/// (passed to a function, compared, put in a list), so the result cannot be keyed by paths.
pub(super) type Inputs = Option<Vec<KeyPath>>;

/// How the parent of a node uses its value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Value,
    /// The operand of a field selection: the parent records the whole chain.
    SelectOperand,
    /// Compared with the `null` literal: only nullness matters.
    NullCompare,
}

/// A problem at the expression node with id `expr_id`.
pub(super) struct Problem {
    pub code: Code,
    pub expr_id: u64,
    pub message: String,
    /// Characters of a call's name before the position CEL records for the call.
    pub name_len: usize,
}

fn is_operator(name: &str) -> bool {
    name.starts_with(['_', '!', '-', '@'])
}

pub(super) fn known_function(name: &str) -> bool {
    is_operator(name) || CEL_FUNCTIONS.contains(&name) || FUNCTIONS.iter().any(|(f, _)| *f == name)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    Shape(Shape),
    Params,
}

struct Checker<'a> {
    params: &'a BTreeMap<String, serde_json::Value>,
    scopes: Vec<(&'a str, Bound)>,
    problems: Vec<Problem>,
    paths: Vec<KeyPath>,
    escapes: bool,
}

/// Checks an expression; returns its problems and what it reads of `d`.
pub(super) fn check(expr: &IdedExpr, params: &BTreeMap<String, serde_json::Value>) -> (Vec<Problem>, Inputs) {
    let mut checker = Checker {
        params,
        scopes: Vec::new(),
        problems: Vec::new(),
        paths: Vec::new(),
        escapes: false,
    };
    checker.walk(expr, Use::Value);
    let inputs = (!checker.escapes).then(|| {
        let mut paths = checker.paths;
        paths.sort();
        paths.dedup();
        paths
    });
    (checker.problems, inputs)
}

/// The closest name, for "did you mean".
fn suggest<'n>(wrong: &str, names: impl Iterator<Item = &'n str>) -> Option<&'n str> {
    names
        .map(|n| (strsim_distance(wrong, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance (names are short; quadratic is fine).
fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

impl<'a> Checker<'a> {
    fn problem(&mut self, code: Code, expr_id: u64, message: String) {
        self.problems.push(Problem {
            code,
            expr_id,
            message,
            name_len: 0,
        });
    }

    /// The field chain of `d.a.b...` when `e` is one and `d` is the root variable.
    fn d_path(&self, e: &IdedExpr) -> Option<Vec<String>> {
        let mut fields = Vec::new();
        let mut at = e;
        loop {
            match &at.expr {
                Expr::Select(select) if !select.test => {
                    fields.push(select.field.clone());
                    at = &select.operand;
                }
                Expr::Ident(name) if name == "d" && !self.scopes.iter().any(|(n, _)| *n == "d") => {
                    fields.reverse();
                    return Some(fields);
                }
                _ => return None,
            }
        }
    }

    fn walk(&mut self, e: &'a IdedExpr, usage: Use) -> Bound {
        let other = Bound::Shape(Shape::Other);
        match &e.expr {
            Expr::Ident(name) => {
                if let Some((_, bound)) = self.scopes.iter().rev().find(|(n, _)| n == name) {
                    return *bound;
                }
                match name.as_str() {
                    "d" => {
                        if usage != Use::SelectOperand {
                            self.escapes = true;
                        }
                        Bound::Shape(Shape::Obj("ecaudit.Deployment"))
                    }
                    "params" => Bound::Params,
                    "now" => other,
                    n if n.starts_with('@') => other,
                    n => {
                        let hint = suggest(n, ROOT_VARIABLES.iter().copied())
                            .map(|s| format!(" (did you mean `{s}`?)"))
                            .unwrap_or_default();
                        self.problem(
                            Code::UnknownVariable,
                            e.id,
                            format!("unknown variable `{n}`{hint}; expressions read `d` (the deployment), `params` and `now`"),
                        );
                        other
                    }
                }
            }
            Expr::Select(select) => {
                if usage != Use::SelectOperand {
                    // The longest chain from `d` is the input; `has(d.x.y)` reads `d.x`.
                    let chain = if select.test {
                        self.d_path(&select.operand)
                    } else {
                        self.d_path(e)
                    };
                    if let Some(fields) = chain {
                        self.paths.push(KeyPath {
                            fields,
                            nullness_only: usage == Use::NullCompare && !select.test,
                        });
                    }
                }
                let base = self.walk(&select.operand, Use::SelectOperand);
                match base {
                    Bound::Params => {
                        if !self.params.contains_key(&select.field) {
                            let declared: Vec<&str> = self.params.keys().map(String::as_str).collect();
                            let hint = suggest(&select.field, declared.iter().copied())
                                .map(|s| format!(" (did you mean `{s}`?)"))
                                .unwrap_or_default();
                            self.problem(
                                Code::UnknownParam,
                                e.id,
                                format!(
                                    "`params.{}` is not declared{hint}; the rule declares: {}",
                                    select.field,
                                    if declared.is_empty() {
                                        "no params".to_string()
                                    } else {
                                        declared.join(", ")
                                    }
                                ),
                            );
                        }
                        other
                    }
                    Bound::Shape(Shape::Obj(type_name)) => {
                        let Some(fields) = fields_of(type_name) else {
                            return other;
                        };
                        match fields.iter().find(|(n, _)| *n == select.field) {
                            Some((_, shape)) => Bound::Shape(*shape),
                            None => {
                                let hint = suggest(&select.field, fields.iter().map(|(n, _)| *n))
                                    .map(|s| format!(" (did you mean `{s}`?)"))
                                    .unwrap_or_default();
                                let short = type_name.trim_start_matches("ecaudit.");
                                self.problem(
                                    Code::UnknownFieldRef,
                                    e.id,
                                    format!("{short} has no field `{}`{hint}", select.field),
                                );
                                other
                            }
                        }
                    }
                    Bound::Shape(_) => other,
                }
            }
            Expr::Call(call) => {
                if !known_function(&call.func_name) {
                    let hint = suggest(
                        &call.func_name,
                        CEL_FUNCTIONS
                            .iter()
                            .copied()
                            .chain(FUNCTIONS.iter().map(|(f, _)| *f)),
                    )
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                    self.problem(
                        Code::UnknownFunction,
                        e.id,
                        format!("unknown function `{}`{hint}", call.func_name),
                    );
                    if let Some(p) = self.problems.last_mut() {
                        p.name_len = call.func_name.chars().count();
                    }
                }
                let is_null =
                    |a: &IdedExpr| matches!(a.expr, Expr::Literal(cel::common::ast::LiteralValue::Null));
                let null_compare = matches!(call.func_name.as_str(), "_==_" | "_!=_")
                    && call.args.len() == 2
                    && call.args.iter().any(is_null);
                let arg_use = if null_compare {
                    Use::NullCompare
                } else {
                    Use::Value
                };
                let target = call.target.as_deref().map(|t| self.walk(t, Use::Value));
                let args: Vec<Bound> = call.args.iter().map(|a| self.walk(a, arg_use)).collect();
                // `list[i]` keeps the element's shape.
                match (call.func_name.as_str(), target, args.first()) {
                    ("_[_]", None, Some(Bound::Shape(Shape::List(t)))) => Bound::Shape(Shape::Obj(t)),
                    _ => other,
                }
            }
            Expr::Comprehension(c) => {
                let range = self.walk(&c.iter_range, Use::Value);
                self.walk(&c.accu_init, Use::Value);
                let element = match range {
                    Bound::Shape(Shape::List(t)) => Bound::Shape(Shape::Obj(t)),
                    _ => other,
                };
                let depth = self.scopes.len();
                self.scopes.push((c.iter_var.as_str(), element));
                if let Some(v2) = &c.iter_var2 {
                    self.scopes.push((v2.as_str(), other));
                }
                self.scopes.push((c.accu_var.as_str(), other));
                self.walk(&c.loop_cond, Use::Value);
                self.walk(&c.loop_step, Use::Value);
                self.walk(&c.result, Use::Value);
                self.scopes.truncate(depth);
                other
            }
            Expr::List(list) => {
                for item in &list.elements {
                    self.walk(item, Use::Value);
                }
                other
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    match &entry.expr {
                        EntryExpr::StructField(field) => {
                            self.walk(&field.value, Use::Value);
                        }
                        EntryExpr::MapEntry(entry) => {
                            self.walk(&entry.key, Use::Value);
                            self.walk(&entry.value, Use::Value);
                        }
                    }
                }
                other
            }
            Expr::Struct(s) => {
                for entry in &s.entries {
                    if let EntryExpr::StructField(field) = &entry.expr {
                        self.walk(&field.value, Use::Value);
                    }
                }
                other
            }
            Expr::Literal(_) | Expr::Unspecified => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_suggestions() {
        assert_eq!(strsim_distance("kitten", "sitting"), 3);
        assert_eq!(
            suggest(
                "snapshot_retention",
                ["snapshot_retention_days", "snapshot_window"].into_iter()
            ),
            Some("snapshot_retention_days")
        );
        assert_eq!(
            suggest("zzz", ["snapshot_window"].into_iter()),
            None,
            "too far to be a typo"
        );
        assert_eq!(
            suggest("multi_azz", ["multi_az", "kind"].into_iter()),
            Some("multi_az")
        );
    }
}
