//! The source tree's shape, as DESIGN.md states it: no `unsafe`, no import cycle between modules
//! (data flows one way; a module never reaches back into one that uses it), no file over ~800
//! lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::repo_path;

/// Every `.rs` file under `src/`, by module path (`report::table`; `lib.rs` and `main.rs` are the
/// crate root, `""`), with its text up to its unit tests.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().with_extension("");
                let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
                if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                    parts.pop();
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap().to_string();
                out.entry(parts.join("::")).or_default().push_str(&code);
            }
        }
    }
    let root = repo_path("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

/// The text without comments (a path in a doc comment is not an import).
fn code_only(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a module names after `prefix` (`crate::` or `super::`), braces expanded one level:
/// `crate::a::{b, c::d}` gives `a::b` and `a::c::d`.
fn paths_after(text: &str, prefix: &str) -> Vec<String> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| ident(c) || c == ':') {
            continue;
        }
        let end = rest.find(|c: char| !(ident(c) || c == ':')).unwrap_or(rest.len());
        let base = rest[..end].trim_end_matches(':').to_string();
        if rest[end..].starts_with('{') && rest[..end].ends_with("::") {
            let close = rest[end..].find('}').map_or(rest.len(), |i| end + i);
            for item in rest[end + 1..close].split(',') {
                let item = item.split(" as ").next().unwrap().trim();
                let item: String = item.chars().take_while(|&c| ident(c) || c == ':').collect();
                if !item.is_empty() && item != "self" {
                    out.push(format!("{base}::{item}"));
                }
            }
        }
        out.push(base);
    }
    out
}

/// Which modules each module uses, by `crate::` and `super::` paths: a path names the longest
/// module it starts with.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|m| modules.contains_key(m))
    };
    let mut edges = BTreeMap::new();
    for (name, text) in &modules {
        let text = code_only(text);
        let parent = name.rsplit_once("::").map_or("", |(p, _)| p);
        let mut uses = BTreeSet::new();
        for path in paths_after(&text, "crate::") {
            uses.extend(resolve(&path));
        }
        for path in paths_after(&text, "super::") {
            let full = if parent.is_empty() {
                path
            } else {
                format!("{parent}::{path}")
            };
            uses.insert(resolve(&full).unwrap_or_else(|| parent.to_string()));
        }
        uses.remove(name);
        uses.remove("");
        edges.insert(name.clone(), uses);
    }
    edges
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let low = s.low[v].min(s.low[w.as_str()]);
                s.low.insert(v, low);
            } else if s.stack.contains(&w.as_str()) {
                let low = s.low[v].min(s.index[w.as_str()]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let at = s.stack.iter().rposition(|&x| x == v).unwrap();
            let component: Vec<String> = s.stack.drain(at..).map(str::to_string).collect();
            if component.len() > 1 {
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn no_module_imports_one_that_imports_it() {
    let edges = imports();
    // The checker sees what it must: `result` is used by the renderers, `report` by nobody it
    // uses.
    assert!(edges["report::table"].contains("result"));
    assert!(edges["result"].iter().all(|m| !m.starts_with("report")));
    let found = cycles(&edges);
    assert!(found.is_empty(), "import cycles between modules: {found:?}");

    // And between the top-level modules (collect, result, report, ...), whatever their files do.
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in &edges {
        let head = |m: &str| m.split("::").next().unwrap().to_string();
        let entry = top.entry(head(from)).or_default();
        entry.extend(to.iter().map(|t| head(t)).filter(|t| *t != head(from)));
    }
    let found = cycles(&top);
    assert!(
        found.is_empty(),
        "import cycles between top-level modules: {found:?}"
    );
}

#[test]
fn the_checker_finds_a_cycle() {
    let edges: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]
        .iter()
        .map(|(f, t)| (f.to_string(), BTreeSet::from([t.to_string()])))
        .collect();
    assert_eq!(cycles(&edges).len(), 1);
    assert_eq!(
        paths_after("use crate::a::{b, c::d as e};", "crate::"),
        ["a::b", "a::c::d", "a"]
    );
}

/// As `grep -rn unsafe src/` reads it: not in code, tests or comments.
#[test]
fn no_unsafe_in_src() {
    fn walk(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for (n, line) in text.lines().enumerate() {
                    if line.contains("unsafe") {
                        found.push(format!("{}:{}: {line}", path.display(), n + 1));
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(&repo_path("src"), &mut found);
    assert!(found.is_empty(), "{found:#?}");
}

/// One concern per module: no source file grows past ~800 lines (a file that needs more holds
/// more than one thing).
#[test]
fn no_source_file_over_800_lines() {
    fn walk(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let lines = std::fs::read_to_string(&path).unwrap().lines().count();
                if lines > 800 {
                    found.push(format!("{}: {lines} lines", path.display()));
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(&repo_path("src"), &mut found);
    assert!(found.is_empty(), "{found:#?}");
}
