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
}

/// Checks an expression; returns its problems.
pub(super) fn check(expr: &IdedExpr, params: &BTreeMap<String, serde_json::Value>) -> Vec<Problem> {
    let mut checker = Checker {
        params,
        scopes: Vec::new(),
        problems: Vec::new(),
    };
    checker.walk(expr);
    checker.problems
}

/// The closest name, for "did you mean".
pub(super) fn suggest<'n>(wrong: &str, names: impl Iterator<Item = &'n str>) -> Option<&'n str> {
    names
        .map(|n| (strsim_distance(wrong, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance (names are short; quadratic is fine).
pub(crate) fn strsim_distance(a: &str, b: &str) -> usize {
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

    fn walk(&mut self, e: &'a IdedExpr) -> Bound {
        let other = Bound::Shape(Shape::Other);
        match &e.expr {
            Expr::Ident(name) => {
                if let Some((_, bound)) = self.scopes.iter().rev().find(|(n, _)| n == name) {
                    return *bound;
                }
                match name.as_str() {
                    "d" => Bound::Shape(Shape::Obj("ecaudit.Deployment")),
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
                let base = self.walk(&select.operand);
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
                        match fields.iter().find(|f| f.name == select.field) {
                            Some(fact) => Bound::Shape(fact.shape),
                            None => {
                                let hint = suggest(&select.field, fields.iter().map(|f| f.name))
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
                // `lists.range(n)`, `math.greatest(...)`: CEL parses a qualified function as a
                // call on an identifier named like its namespace.
                if let Some(Expr::Ident(ns)) = call.target.as_deref().map(|t| &t.expr) {
                    let qualified = format!("{ns}.{}", call.func_name);
                    let bound = self.scopes.iter().any(|(n, _)| n == ns);
                    if !bound && CEL_FUNCTIONS.contains(&qualified.as_str()) {
                        for a in &call.args {
                            self.walk(a);
                        }
                        return other;
                    }
                }
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
                let target = call.target.as_deref().map(|t| self.walk(t));
                let args: Vec<Bound> = call.args.iter().map(|a| self.walk(a)).collect();
                // `list[i]` keeps the element's shape.
                match (call.func_name.as_str(), target, args.first()) {
                    ("_[_]", None, Some(Bound::Shape(Shape::List(t)))) => Bound::Shape(Shape::Obj(t)),
                    _ => other,
                }
            }
            Expr::Comprehension(c) => {
                let range = self.walk(&c.iter_range);
                self.walk(&c.accu_init);
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
                self.walk(&c.loop_cond);
                self.walk(&c.loop_step);
                self.walk(&c.result);
                self.scopes.truncate(depth);
                other
            }
            Expr::List(list) => {
                for item in &list.elements {
                    self.walk(item);
                }
                other
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    match &entry.expr {
                        EntryExpr::StructField(field) => {
                            self.walk(&field.value);
                        }
                        EntryExpr::MapEntry(entry) => {
                            self.walk(&entry.key);
                            self.walk(&entry.value);
                        }
                    }
                }
                other
            }
            Expr::Struct(s) => {
                for entry in &s.entries {
                    if let EntryExpr::StructField(field) = &entry.expr {
                        self.walk(&field.value);
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
    fn qualified_functions_are_known() {
        let env = crate::rules::cel_env();
        for expr in ["lists.range(3).size() > 0", "strings.quote('a') != ''"] {
            let program = env.compile(expr).unwrap();
            let problems = check(program.expression(), &BTreeMap::new());
            let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
            assert!(messages.is_empty(), "{expr}: {messages:?}");
        }
        let program = env.compile("lists.nope(3)").unwrap();
        assert!(!check(program.expression(), &BTreeMap::new()).is_empty());
    }

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
