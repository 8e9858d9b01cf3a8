//! Compiling a rule's CEL expressions: where each sits in its file, static checks, and the
//! budgeted form that is evaluated.

use std::collections::BTreeMap;

use cel::Env;
use serde_saphyr::Spanned;

use super::diag::{Code, Diagnostic};
use super::{Expr, RuleSource, check, cost, file};

/// Where an expression's text starts in its file (line, column) and whether its line breaks are
/// the file's (a `|` block or a plain scalar; a folded `>` block joins lines).
pub(crate) type Origin = (usize, usize, bool);

/// Where, in the file, the text of a YAML scalar starts: after a `|`/`>` block indicator line the
/// content starts on the next line.
pub(super) fn expression_origin(text: &str, at: &serde_saphyr::Location) -> Origin {
    let line = at.line() as usize;
    let column = at.column() as usize;
    let line_text = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    let rest: String = line_text.chars().skip(column.saturating_sub(1)).collect();
    if rest.starts_with('|') || rest.starts_with('>') {
        let next = text.lines().nth(line).unwrap_or("");
        let indent = next.len() - next.trim_start().len();
        (line + 1, indent + 1, rest.starts_with('|'))
    } else if (rest.starts_with('"') || rest.starts_with('\''))
        && !line_text
            .chars()
            .take(column.saturating_sub(1))
            .all(char::is_whitespace)
    {
        // A quoted scalar's text starts one column after its quote. (A block scalar is located
        // at its first character, alone on its line after the indentation, and may itself
        // start with a quote: that quote is the expression's.)
        (line, column + 1, true)
    } else {
        (line, column, true)
    }
}

/// Maps a character offset within an expression to a file line and column.
pub(super) fn file_position(source: &str, offset: usize, origin: Origin) -> (usize, usize) {
    let (line, column, lines_preserved) = origin;
    if !lines_preserved {
        return (line, column);
    }
    let before: String = source.chars().take(offset).collect();
    let expr_line = before.matches('\n').count();
    let expr_col = before.chars().rev().take_while(|&c| c != '\n').count();
    if expr_line == 0 {
        (line, column + expr_col)
    } else {
        (line + expr_line, origin.1 + expr_col)
    }
}

/// Compiles one expression and checks it statically; records problems as diagnostics.
pub(super) fn compile(
    env: &Env,
    source: &RuleSource,
    rule_id: &str,
    what: &str,
    spanned: &Spanned<String>,
    params: &BTreeMap<String, serde_json::Value>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Expr> {
    let origin = expression_origin(&source.text, &spanned.referenced);
    let text = spanned.value.trim_end();
    let diag = |code, (line, column): (usize, usize), message: String| Diagnostic {
        code,
        file: source.name.clone(),
        line,
        column,
        rule_id: Some(rule_id.to_string()),
        message: format!("`{what}`: {message}"),
    };
    if text.trim().is_empty() {
        diags.push(diag(
            Code::CelSyntax,
            (origin.0, origin.1),
            "the expression is empty".into(),
        ));
        return None;
    }
    let too_deep = || {
        format!(
            "the expression nests more than {} levels deep (brackets and conditionals inside one \
             another), more than CEL's parser allows; flatten it, or split the rule",
            file::MAX_NESTING
        )
    };
    if let Some(offset) = file::too_deep(text) {
        diags.push(diag(
            Code::CelTooDeep,
            file_position(text, offset, origin),
            too_deep(),
        ));
        return None;
    }
    let program = match env.compile(text) {
        Ok(p) => p,
        // CEL's own limit, should a nesting get past `too_deep`: one diagnostic, not a dump of
        // the parser's internals followed by the errors they cause.
        Err(errors) if errors.errors.iter().any(is_recursion_limit) => {
            diags.push(diag(Code::CelTooDeep, (origin.0, origin.1), too_deep()));
            return None;
        }
        Err(errors) => {
            for e in errors.errors {
                // Positions are 1-based lines and 0-based columns within the expression.
                let (l, c) = (e.pos.0.max(1) as usize, e.pos.1.max(0) as usize);
                let offset: usize = text
                    .split('\n')
                    .take(l - 1)
                    .map(|s| s.chars().count() + 1)
                    .sum::<usize>()
                    + c;
                diags.push(diag(
                    Code::CelSyntax,
                    file_position(text, offset, origin),
                    e.msg.clone(),
                ));
            }
            return None;
        }
    };
    let mut problems = check::check(program.expression(), params);
    if problems.is_empty() {
        problems.extend(
            cost::check(program.expression())
                .into_iter()
                .map(|p| check::Problem {
                    code: p.code,
                    expr_id: p.expr_id,
                    message: p.message,
                    name_len: 0,
                }),
        );
    }
    if !problems.is_empty() {
        for p in problems {
            // CEL places a call at its parenthesis: step back over the function name.
            let offset = program
                .source_info()
                .offset_for(p.expr_id)
                .map(|(start, _)| (start as usize).saturating_sub(p.name_len))
                .unwrap_or(0);
            diags.push(diag(p.code, file_position(text, offset, origin), p.message));
        }
        return None;
    }
    Some(Expr {
        source: text.to_string(),
        budgeted: cost::with_budget(program.expression()),
        origin,
    })
}

/// Whether a CEL parse error is its recursion limit (worded differently by its two parsers).
pub(super) fn is_recursion_limit(e: &cel::ParseError) -> bool {
    e.msg.to_ascii_lowercase().contains("recursion limit")
}
