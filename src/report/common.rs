//! What the renderers share: how to present a result, which findings a report lists and in
//! what order, the house table style, and Markdown-inert text. Renderers use this module, never
//! each other's internals.

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use crate::result::{Finding, ScanResult, Status};
use crate::rules::Severity;

/// Bytes of one escaped cell before it is cut.
const CELL: usize = 400;

/// How to present a result.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    /// Findings below this severity are left out (counts still include them).
    pub min_severity: Severity,
    /// ANSI colours (table only).
    pub color: bool,
    /// Wrap tables to this width (`None`: the terminal's width).
    pub width: Option<u16>,
    /// Indent JSON (for a terminal); compact otherwise.
    pub pretty: bool,
}

/// A JSON value and a newline: indented when `pretty` (for people), compact otherwise.
pub fn write_json<T: serde::Serialize + ?Sized>(
    value: &T,
    pretty: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    if pretty {
        serde_json::to_writer_pretty(&mut *out, value)?;
    } else {
        serde_json::to_writer(&mut *out, value)?;
    }
    out.write_all(b"\n")
}

/// The failing and undecided findings shown, overdue first (`--sla`), then failing, then by
/// severity (highest first), rule and deployment: the order the table and Markdown list them in.
pub fn failing_first<'a>(result: &'a ScanResult, options: &'a RenderOptions) -> Vec<&'a Finding> {
    let mut failing: Vec<_> = shown(result, options)
        .filter(|f| matches!(f.status, Status::Fail | Status::Error))
        .collect();
    // A plan's introduced findings lead: they are the pull request's to fix.
    failing.sort_by_key(|f| {
        let rule = result.rule(f);
        (
            !f.age.is_some_and(|a| a.overdue),
            f.change != Some(crate::result::PlanChange::Introduced),
            f.status,
            std::cmp::Reverse(rule.severity),
            rule.id.as_str(),
            f.deployment,
        )
    });
    failing
}

/// A failing finding's age as the table and Markdown show it: `12d`, `40d overdue`.
pub fn age_label(f: &Finding) -> String {
    match f.age {
        Some(a) if a.overdue => format!("{}d overdue", a.days),
        Some(a) => format!("{}d", a.days),
        None => String::new(),
    }
}

/// The findings a report lists: at or above the `--severity` display filter.
pub fn shown<'a>(
    result: &'a ScanResult,
    options: &'a RenderOptions,
) -> impl Iterator<Item = &'a Finding> + 'a {
    result
        .findings
        .iter()
        .filter(|f| result.rule(f).severity >= options.min_severity)
}

/// A table in the house style: wrapped to `width` (`None`: the terminal's), coloured only when
/// asked.
pub fn styled_table(color: bool, width: Option<u16>) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    // The terminal's width is read before `force_no_tty`, after which comfy-table sees none and
    // would not wrap at all.
    if let Some(width) = width.or_else(|| t.width()) {
        t.set_width(width);
    }
    if color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    t
}

/// Text from AWS or rule files made inert in a Markdown table cell: HTML and Markdown syntax
/// escaped, @-mentions and autolinks broken with invisible joiners (a tag value must not ping
/// anyone or become a link), lines joined with `<br>`, cut to a bounded length.
pub fn cell(text: &str) -> String {
    inert(text, CELL)
}

/// A rule id as Markdown code (`` `id` ``) when it is plain (a rule file's ids are kebab-case);
/// any other text (a rule id read from a saved result or a history file) as an inert [`cell`].
pub fn code(id: &str) -> String {
    if !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:*".contains(&b))
    {
        format!("`{id}`")
    } else {
        cell(id)
    }
}

/// [`cell`] cut at `limit` bytes instead of 400 (`usize::MAX`: never cut).
pub fn inert(text: &str, limit: usize) -> String {
    let mut out = String::with_capacity(text.len().min(limit) + 8);
    // Where the value may open a block when it starts a line: a list item (`-`, `+`, `1.`,
    // `1)`), a setext underline (`=`), an indented code block (leading spaces).
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    for (i, c) in text.char_indices() {
        if out.len() >= limit {
            out.push('…');
            break;
        }
        let at_start = i == 0;
        match c {
            ' ' | '\t' if text[..i].bytes().all(|b| b == b' ' || b == b'\t') => out.push_str("&#32;"),
            '-' | '+' | '=' if at_start => {
                out.push('\\');
                out.push(c);
            }
            // `1. ` or `1) ` (the marker, then a space or the end) opens an ordered list.
            '.' | ')'
                if i == digits
                    && digits > 0
                    && matches!(text.as_bytes().get(i + 1), None | Some(b' ' | b'\t')) =>
            {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{2060}"),
            // `scheme://` starts an autolink; `::/0` (IPv6) does not and stays as it is.
            ':' if text[i + 1..].starts_with("//") => out.push_str(":\u{2060}"),
            '.' if out.ends_with("www") => out.push_str(".\u{2060}"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            // `$` opens maths on GitHub.
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '#' | '$' => {
                out.push('\\');
                out.push(c);
            }
            // Control, bidi and zero-width characters are shown, not obeyed (`\u{202e}`).
            c if crate::text::hidden_in_markup(c) => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_inert() {
        assert_eq!(
            cell("<script>alert(1)</script> | [x](y)\nz"),
            "&lt;script&gt;alert(1)&lt;/script&gt; \\| \\[x\\](y)<br>z"
        );
        assert_eq!(cell(&"a".repeat(1000)).chars().count(), CELL + 1);
        assert!(
            cell(&"&".repeat(1000)).len() <= CELL + 8,
            "the cap is on what is written"
        );
        assert_eq!(cell("@org/team"), "@\u{2060}org/team");
        assert_eq!(cell("https://x"), "https:\u{2060}//x");
        assert_eq!(cell("sg-1: ::/0 on tcp/6379"), "sg-1: ::/0 on tcp/6379");
        // Block syntax at the start of a value, and maths.
        assert_eq!(cell("- item"), "\\- item");
        assert_eq!(cell("12. item"), "12\\. item");
        assert_eq!(cell("3) item"), "3\\) item");
        assert_eq!(cell("==="), "\\===");
        assert_eq!(cell("    code"), "&#32;&#32;&#32;&#32;code");
        assert_eq!(cell("a - b 1. c"), "a - b 1. c");
        assert_eq!(cell("81.2% of 0.1.0"), "81.2% of 0.1.0");
        assert_eq!(cell("$x$"), "\\$x\\$");
        // Invisible and control characters are shown.
        assert_eq!(cell("ab\u{202e}c\u{200b}\u{1b}"), "ab\\u{202e}c\\u{200b}\\u{1b}");
        assert_eq!(code("no-public-ingress"), "`no-public-ingress`");
        assert_eq!(code("x`|y"), "x\\`\\|y");
    }
}
