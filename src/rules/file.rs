//! The rule file as written: YAML parsed with spans, before validation. A YAML or shape error is
//! mapped back to the rule it falls in, so even those name the rule id.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::diag::{Code, Diagnostic};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub severity: Spanned<String>,
    pub applies_to: Vec<Spanned<String>>,
    #[serde(default)]
    pub when: Option<Spanned<String>>,
    #[serde(default)]
    pub check: Option<Spanned<String>>,
    #[serde(default)]
    pub violations: Option<Spanned<String>>,
    #[serde(default)]
    pub evidence: Option<Spanned<String>>,
    #[serde(default)]
    pub notes: Option<Spanned<String>>,
    #[serde(default)]
    pub fail_message: Option<Spanned<String>>,
    #[serde(default)]
    pub not_applicable_message: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, Spanned<serde_json::Value>>,
    pub remediation: Spanned<String>,
    #[serde(default)]
    pub controls: Option<Spanned<BTreeMap<String, serde_json::Value>>>,
    #[serde(default)]
    pub references: Vec<String>,
    /// Test cases of the rule (`ecaudit rules test`).
    #[serde(default)]
    pub tests: Vec<Spanned<RawCase>>,
}

/// A test case as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCase {
    /// The rule the case tests: required in a `.test.yaml` file, implied under a rule.
    #[serde(default)]
    pub rule: Option<Spanned<String>>,
    pub name: Spanned<String>,
    #[serde(default)]
    pub deployment: Option<Spanned<serde_json::Value>>,
    #[serde(default)]
    pub params: BTreeMap<String, Spanned<serde_json::Value>>,
    #[serde(default)]
    pub now: Option<Spanned<String>>,
    pub expect: Spanned<String>,
    #[serde(default)]
    pub message: Option<Spanned<String>>,
    #[serde(default)]
    pub evidence: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub evidence_contains: Vec<Spanned<String>>,
}

/// A `NAME.test.yaml` file: cases of the rules of `NAME.yaml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTestFile {
    #[serde(default)]
    pub tests: Vec<Spanned<RawCase>>,
}

/// Just enough of a rule to say which one an error falls in.
#[derive(Deserialize)]
struct LooseFile {
    #[serde(default)]
    rules: Vec<Spanned<serde_json::Value>>,
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        // YAML 1.1 booleans (`yes`, `no`, `on`) would turn a param such as `cluster_enabled: yes`
        // into `true`; only `true` and `false` are booleans here.
        strict_booleans: true,
        with_snippet: false,
    }
}

/// The location and bare message of a serde-saphyr error.
fn location_of(e: &serde_saphyr::Error) -> (usize, usize, String) {
    let (line, column) = e
        .location()
        .map(|l| (l.line() as usize, l.column() as usize))
        .unwrap_or((0, 0));
    (
        line,
        column,
        crate::position::strip_position(&e.without_snippet().to_string()),
    )
}

/// Parses a rule file's text, or explains why it cannot be.
pub(super) fn parse(file: &str, text: &str) -> Result<RawFile, Diagnostic> {
    let raw = parse_yaml(file, text)?;
    check_expression_sizes(file, &raw)?;
    Ok(raw)
}

/// The most tokens an expression may hold. CEL's parser and evaluator recurse once per link of
/// a chain such as `a + b + c ...`, `x.f.g ...` or `l[0][0] ...`, with no limit of their own: in
/// a release build some 1,500 links overflow the 2 MB stack of an evaluation thread, which aborts
/// the process. A link takes two tokens; the longest bundled expression has under 200.
const MAX_EXPRESSION_TOKENS: usize = 1000;

/// Tokens of a CEL expression, roughly: identifiers and numbers, string literals, and every
/// other character but whitespace. An upper bound on the depth of its syntax tree.
fn tokens(expr: &str) -> usize {
    let (mut count, mut quote, mut escaped, mut word) = (0, None, false, false);
    for c in expr.chars() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == q => quote = None,
                _ => {}
            }
            continue;
        }
        let in_word = c.is_alphanumeric() || c == '_';
        if (in_word && !word) || (!in_word && !c.is_whitespace()) {
            count += 1;
        }
        if c == '"' || c == '\'' {
            quote = Some(c);
        }
        word = in_word;
    }
    count
}

/// The most levels an expression may nest: CEL's parser refuses an expression nested inside 96
/// others (the whole expression is the first level; each bracket or conditional opens another)
/// with an error of its internals. Checked before CEL parses, so a deep expression is one
/// diagnostic at the token that goes too deep. A unit test pins this to CEL's limit.
pub(super) const MAX_NESTING: usize = 95;

/// The character offset of the first token of `expr` nested deeper than [`MAX_NESTING`] levels
/// of brackets (`(`, `[`, `{`) and conditionals (`? :`), if any. It counts a conditional from
/// its `?`, one level more than CEL for a bracket in its then-branch: never fewer.
pub(super) fn too_deep(expr: &str) -> Option<usize> {
    let mut open: Vec<char> = Vec::new();
    let (mut quote, mut escaped, mut comment, mut prev) = (None, false, false, ' ');
    let mut chars = expr.chars().enumerate().peekable();
    while let Some((offset, c)) = chars.next() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == q => quote = None,
                _ => {}
            }
            continue;
        }
        if comment || c.is_whitespace() {
            comment &= c != '\n';
            continue;
        }
        if c == '/' && chars.peek().is_some_and(|(_, next)| *next == '/') {
            comment = true;
            continue;
        }
        // A conditional ends with the list element or the bracket it is in.
        let close_conditionals = |open: &mut Vec<char>| {
            while open.last() == Some(&'?') {
                open.pop();
            }
        };
        match c {
            ')' | ']' | '}' => {
                close_conditionals(&mut open);
                open.pop();
            }
            ',' => close_conditionals(&mut open),
            _ if open.len() > MAX_NESTING => return Some(offset),
            '(' | '[' | '{' => open.push(c),
            // `.?field` and `[?key]` are optional selections, not conditionals.
            '?' if !matches!(prev, '.' | '[') => open.push(c),
            '"' | '\'' => quote = Some(c),
            _ => {}
        }
        prev = c;
    }
    None
}

/// Rejects an expression too long for CEL to compile and evaluate safely.
fn check_expression_sizes(file: &str, raw: &RawFile) -> Result<(), Diagnostic> {
    for rule in &raw.rules {
        let r = &rule.value;
        let exprs = [
            ("when", &r.when),
            ("check", &r.check),
            ("violations", &r.violations),
            ("evidence", &r.evidence),
            ("notes", &r.notes),
        ];
        for (what, expr) in exprs {
            let Some(expr) = expr else { continue };
            let n = tokens(&expr.value);
            if n > MAX_EXPRESSION_TOKENS {
                return Err(Diagnostic {
                    code: Code::CelSyntax,
                    file: file.to_string(),
                    line: expr.referenced.line() as usize,
                    column: expr.referenced.column() as usize,
                    rule_id: Some(r.id.value.trim().to_string()),
                    message: format!(
                        "`{what}`: the expression has {n} tokens, more than the {MAX_EXPRESSION_TOKENS} allowed; \
                         split it, or move long lists into params"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The code of a YAML or shape error: a syntax error when the text is not YAML at all, else what
/// serde's message says of the shape.
fn code_of(is_yaml: bool, message: &str) -> Code {
    match is_yaml {
        false => Code::YamlSyntax,
        true if message.starts_with("unknown field") => Code::UnknownField,
        true if message.starts_with("missing field") => Code::MissingField,
        true => Code::InvalidValue,
    }
}

/// Parses a `NAME.test.yaml` file's text, or explains why it cannot be.
pub(super) fn parse_tests(file: &str, text: &str) -> Result<RawTestFile, Diagnostic> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| {
        let (line, column, message) = location_of(&e);
        let is_yaml = serde_saphyr::from_str_with_options::<serde_json::Value>(text, options()).is_ok();
        let code = code_of(is_yaml, &message);
        Diagnostic {
            code,
            file: file.to_string(),
            line,
            column,
            rule_id: None,
            message: format!("{message} (a test file holds `tests:`, a list of cases)"),
        }
    })
}

/// The YAML of a rule file, or a diagnostic naming the rule an error falls in.
fn parse_yaml(file: &str, text: &str) -> Result<RawFile, Diagnostic> {
    serde_saphyr::from_str_with_options::<RawFile>(text, options()).map_err(|e| {
        let (line, column, message) = location_of(&e);
        // A second, lenient pass tells which rule the error is in (if the YAML parses at all).
        let loose = serde_saphyr::from_str_with_options::<LooseFile>(text, options());
        let code = code_of(loose.is_ok(), &message);
        // The rule the error falls in: the last one starting at or before the error's line.
        let rule = loose.ok().and_then(|f| {
            f.rules
                .iter()
                .take_while(|r| (r.referenced.line() as usize) <= line)
                .last()
                .map(|r| {
                    let id = r.value.get("id").and_then(|id| id.as_str()).map(str::to_string);
                    (id, r.referenced.line() as usize, r.referenced.column() as usize)
                })
        });
        // When the YAML does not parse at all, the last `id:` written above the error names the
        // rule it is in.
        let rule_id = rule.as_ref().and_then(|(id, _, _)| id.clone()).or_else(|| {
            text.lines()
                .take(line)
                .filter_map(|l| {
                    l.trim_start()
                        .trim_start_matches("- ")
                        .trim_start()
                        .strip_prefix("id:")
                })
                .map(|id| id.trim().trim_matches(['"', '\'']).to_string())
                .filter(|id| !id.is_empty())
                .last()
        });
        // serde reports a missing key where the rule ends; the rule's start is more useful.
        let (line, column) = match (&rule, code) {
            (Some((_, l, c)), Code::MissingField) => (*l, *c),
            _ => (line, column),
        };
        Diagnostic {
            code,
            file: file.to_string(),
            line,
            column,
            rule_id,
            message,
        }
    })
}
