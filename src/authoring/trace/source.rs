//! Where each node of a re-parsed expression is written: its text, balanced, and its place in
//! the rule file.

use cel::Program;
use cel::common::ast::{EntryExpr, Expr as Ast, IdedEntryExpr, IdedExpr};

use super::Part;
use crate::rules::{Expr, cel_env};

/// An expression parsed again, for its syntax tree and where each node is written.
pub(super) struct Parsed<'r> {
    pub(super) part: Part,
    expr: &'r Expr,
    /// `None` only if the source no longer parses, which loading rules out.
    pub(super) program: Option<Program>,
    /// Each bracket's byte offset and its partner's, both ways, sorted.
    pairs: Vec<(usize, usize)>,
    /// The byte ranges of `//` comments, left out of nodes' texts.
    comments: Vec<(usize, usize)>,
}

impl<'r> Parsed<'r> {
    pub(super) fn new(part: Part, expr: &'r Expr) -> Self {
        let (pairs, comments) = scan(&expr.source);
        Parsed {
            part,
            expr,
            program: cel_env().compile(&expr.source).ok(),
            pairs,
            comments,
        }
    }

    fn src(&self) -> &str {
        &self.expr.source
    }

    /// Where the node's own token starts (a call's is its parenthesis, a selection's its dot).
    pub(super) fn start_of(&self, id: u64) -> Option<u32> {
        self.program
            .as_ref()?
            .source_info()
            .offset_for(id)
            .map(|(s, _)| s)
    }

    /// Written by the rule's author rather than made by a macro's expansion (whose nodes all
    /// sit on the macro call's parenthesis, `comp`), and not a literal.
    pub(super) fn is_user(&self, e: &IdedExpr, comp: Option<u32>) -> bool {
        !matches!(e.expr, Ast::Literal(_)) && (comp.is_none() || self.start_of(e.id) != comp)
    }

    /// The byte range of the node's own token, widened to what it alone spells: a global
    /// call's name before its parenthesis, a selection's field after its dot.
    fn own(&self, e: &IdedExpr) -> Option<(usize, usize)> {
        let src = self.src();
        let (start, stop) = self.program.as_ref()?.source_info().offset_for(e.id)?;
        let mut s = floor(src, start as usize);
        let mut t = ceil(src, (stop as usize + 1).max(s + 1));
        let paren = src[s..].starts_with('(');
        match &e.expr {
            Ast::Select(sel) if !sel.test && src[s..].starts_with('.') => {
                let rest = &src[t..];
                let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '?');
                let skip = rest.len() - trimmed.len();
                let name = match trimmed.strip_prefix('`') {
                    Some(quoted) => quoted.find('`').map_or(0, |i| i + 2),
                    None => trimmed.find(|c: char| !is_ident(c)).unwrap_or(trimmed.len()),
                };
                t += skip + name;
            }
            Ast::Call(c) if paren && c.target.is_none() => s = name_start(src, s),
            Ast::Select(sel) if paren && sel.test => s = name_start(src, s),
            _ => {}
        }
        Some((s, t))
    }

    /// The byte range of the node's whole text: its own and its descendants' tokens, widened
    /// until its brackets are balanced.
    fn span(&self, e: &IdedExpr) -> (usize, usize) {
        let mut range: Option<(usize, usize)> = None;
        visit(e, &mut |x| {
            if let Some((s, t)) = self.own(x) {
                range = Some(range.map_or((s, t), |(a, b)| (a.min(s), b.max(t))));
            }
        });
        let (mut s, mut t) = range.unwrap_or((0, self.src().len()));
        loop {
            let (s0, t0) = (s, t);
            let from = self.pairs.partition_point(|(p, _)| *p < s0);
            for &(_, q) in self.pairs[from..].iter().take_while(|(p, _)| *p < t0) {
                s = s.min(q);
                t = t.max(q + 1);
            }
            if (s, t) == (s0, t0) {
                return (s, t);
            }
        }
    }

    /// The node's text (whitespace runs collapsed) and where it starts in the rule file.
    pub(super) fn locate(&self, e: &IdedExpr) -> (String, usize, usize) {
        let (s, t) = self.span(e);
        let mut text = String::new();
        let mut at = s;
        for &(from, to) in self.comments.iter().filter(|(from, to)| *to > s && *from < t) {
            text.push_str(&self.src()[at..from.max(at)]);
            text.push(' ');
            at = to.min(t);
        }
        text.push_str(&self.src()[at..t]);
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let (line, column) = self.expr.position(self.src()[..s].chars().count());
        (text, line, column)
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The start of the (possibly qualified) function name before the parenthesis at `paren`.
fn name_start(src: &str, paren: usize) -> usize {
    let before = src[..paren].trim_end();
    let name = before.trim_end_matches(|c: char| is_ident(c) || c == '.');
    if name.len() < before.len() {
        name.len()
    } else {
        paren
    }
}

fn floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Byte ranges or pairs of byte offsets.
type Ranges = Vec<(usize, usize)>;

/// The matching brackets of CEL source (outside string literals, quoted names and comments),
/// and its comments.
fn scan(src: &str) -> (Ranges, Ranges) {
    let b = src.as_bytes();
    let (mut i, mut open, mut pairs, mut comments) = (0, Vec::new(), Vec::new(), Vec::new());
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'') => {
                let raw = i > 0 && matches!(b[i - 1], b'r' | b'R');
                let triple = b[i..].starts_with(&[q, q, q]);
                i += if triple { 3 } else { 1 };
                while i < b.len() {
                    if b[i] == b'\\' && !raw {
                        i += 2;
                    } else if b[i] == q && (!triple || b[i..].starts_with(&[q, q, q])) {
                        i += if triple { 3 } else { 1 };
                        break;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'`' => {
                i += b[i + 1..]
                    .iter()
                    .position(|&c| c == b'`')
                    .map_or(b.len(), |n| n + 1)
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = i + b[i..].iter().position(|&c| c == b'\n').unwrap_or(b.len() - i);
                comments.push((i, end));
                i = end;
                continue;
            }
            b'(' | b'[' | b'{' => open.push(i),
            b')' | b']' | b'}' => {
                if let Some(o) = open.pop() {
                    pairs.extend([(o, i), (i, o)]);
                }
            }
            _ => {}
        }
        i += 1;
    }
    pairs.sort_unstable();
    (pairs, comments)
}

fn visit(e: &IdedExpr, f: &mut dyn FnMut(&IdedExpr)) {
    f(e);
    match &e.expr {
        Ast::Call(c) => {
            if let Some(t) = &c.target {
                visit(t, f);
            }
            c.args.iter().for_each(|a| visit(a, f));
        }
        Ast::Select(s) => visit(&s.operand, f),
        Ast::List(l) => l.elements.iter().for_each(|x| visit(x, f)),
        Ast::Map(m) => m.entries.iter().for_each(|x| entry(x, f)),
        Ast::Struct(s) => s.entries.iter().for_each(|x| entry(x, f)),
        Ast::Comprehension(c) => {
            for x in [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                visit(x, f);
            }
        }
        _ => {}
    }
}

fn entry(x: &IdedEntryExpr, f: &mut dyn FnMut(&IdedExpr)) {
    match &x.expr {
        EntryExpr::MapEntry(m) => {
            visit(&m.key, f);
            visit(&m.value, f);
        }
        EntryExpr::StructField(s) => visit(&s.value, f),
    }
}

/// A literal, or a list or map of literals: nothing to show beyond its text.
pub(super) fn constant(e: &IdedExpr) -> bool {
    match &e.expr {
        Ast::Literal(_) => true,
        Ast::List(l) => l.elements.iter().all(constant),
        Ast::Map(m) => m.entries.iter().all(|x| match &x.expr {
            EntryExpr::MapEntry(m) => constant(&m.key) && constant(&m.value),
            EntryExpr::StructField(s) => constant(&s.value),
        }),
        _ => false,
    }
}
