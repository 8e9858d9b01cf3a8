//! Bad input never panics (issue 7): property tests over every parser of user input (rule files,
//! `ecaudit.toml`, `--param`, inventories, suppressions, baselines) and over the CEL functions
//! ecaudit adds. Arbitrary text and bytes, and valid documents mutated at random (fields and lines
//! deleted, replaced, duplicated, values of another type, truncation), give a result or an error
//! that says something and names the file at fault; never a panic.
//!
//! Panics these properties found are kept at the end of the file as named tests.

use crate::common;

use std::sync::{LazyLock, Mutex, MutexGuard};

use ecaudit::config::{Config, apply_params};
use ecaudit::evaluate::Evaluator;
use ecaudit::inventory::{Deployment, Document, parse_inventory, read_text};
use ecaudit::position::{line_column, strip_position};
use ecaudit::result::BaselineEntry;
use ecaudit::result::Status;
use ecaudit::rules::functions::{
    contains, expected_family, is_private, is_public, parse_cidr, parse_version, render,
};
use ecaudit::rules::params::{check_override, check_value, parse_for};
use ecaudit::rules::{RuleSet, RuleSource, cel_env};
use ecaudit::suppress::Baseline;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

const FLEET: &str = include_str!("../../examples/fleet.json");
const SUPPRESSIONS: &str = include_str!("../../examples/suppressions.yaml");

const RULE_FILES: &[&str] = &[
    include_str!("../../rules/authentication.yaml"),
    include_str!("../../rules/availability.yaml"),
    include_str!("../../rules/backup.yaml"),
    include_str!("../../rules/encryption.yaml"),
    include_str!("../../rules/maintenance.yaml"),
    include_str!("../../rules/monitoring.yaml"),
    include_str!("../../rules/network.yaml"),
    include_str!("../../rules/parameter-groups.yaml"),
    include_str!("../../rules/tagging.yaml"),
];

const FIXTURES: &[&str] = &[
    "replication-group",
    "cluster-mode-enabled",
    "serverless",
    "memcached",
    "standalone",
];

/// A config that sets every key there is, with rule ids and params of the bundled pack.
const CONFIG: &str = r#"# ecaudit.toml
[scan]
fail_on = "high"
severity = "low"
allow_partial = false
exit_zero = false
rule_dirs = ["rules", "more-rules"]
suppressions = ["suppressions.yaml"]
baseline = "baseline.json"
outputs = ["sarif=out.sarif", "json=-"]

[targets]
regions = ["us-east-1", "eu-west-1"]
accounts = ["111111111111"]
organization = false
role_name = "EcauditAudit"
external_id = "x"
profile = "audit"
concurrency = 8
max_attempts = 5

[rules.snapshot-retention]
severity = "low"
params = { min_snapshot_retention_days = 14 }

[rules.ingress-within-vpc]
enabled = true
params.allowed_cidrs = ["192.168.0.0/16", "10.0.0.0/8"]

[rules.multi-az]
enabled = false
"#;

/// Every rule of the bundled pack, compiled once.
static BUNDLED: LazyLock<RuleSet> = LazyLock::new(|| RuleSet::load(&[]).expect("bundled pack"));

/// The bundled pack again, for the tests that change rules (config, `--param`): loading it takes
/// a while in a debug build, so the cases share it. Settings only ever replace settings, so what
/// one case leaves behind is just another valid state for the next.
static SHARED: LazyLock<Mutex<RuleSet>> =
    LazyLock::new(|| Mutex::new(RuleSet::load(&[]).expect("bundled pack")));

fn shared_rules() -> MutexGuard<'static, RuleSet> {
    SHARED.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The fixture deployments, parsed.
static DEPLOYMENTS: LazyLock<Vec<Deployment>> = LazyLock::new(|| {
    let doc = common::inventory(FIXTURES.iter().map(|f| common::fixture(f)).collect());
    parse_inventory(&doc.to_string(), "fixtures.json")
        .expect("fixtures")
        .deployments
});

fn now() -> chrono::DateTime<chrono::Utc> {
    common::NOW.parse().unwrap()
}

/// A valid baseline with a few entries, as `ecaudit baseline` writes it.
fn baseline_text() -> String {
    let entries = [
        (
            "multi-az",
            "arn:aws:elasticache:us-east-1:111111111111:replicationgroup:a",
        ),
        (
            "encryption-at-rest",
            "arn:aws:elasticache:eu-west-1:222222222222:cluster:b",
        ),
        (
            "no-public-ingress",
            "arn:aws:elasticache:us-east-1:111111111111:serverlesscache:c",
        ),
    ]
    .iter()
    .map(|(rule, arn)| BaselineEntry {
        rule_id: rule.to_string(),
        resource_arn: arn.to_string(),
        fingerprint: ecaudit::result::fingerprint(rule, arn),
    })
    .collect();
    let mut out = Vec::new();
    Baseline::write(&entries, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Strings that have broken parsers before: empty, huge numbers, quotes, YAML and TOML syntax,
/// malformed CIDR blocks and versions, impossible dates, unicode.
const NASTY: &[&str] = &[
    "",
    " ",
    "\n",
    "\r\n",
    "\t",
    "\0",
    "\u{feff}",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "\u{10ffff}",
    "é",
    "🦀",
    "ß\u{301}",
    "~",
    "null",
    "Null",
    "-",
    "- ",
    "? ",
    ": ",
    "---",
    "...",
    "[",
    "]",
    "{",
    "}",
    "[]",
    "{}",
    "'",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "&a",
    "*a",
    "&a [*a, *a]",
    "!!binary AAAA",
    "!!str",
    "!!int x",
    "!custom",
    "%YAML 1.2",
    "|",
    ">-",
    "#",
    "=",
    "==",
    "[[a]]",
    "[a.b]",
    "a = 1",
    "a.b.c = {}",
    "0",
    "-0",
    "-1",
    "1e400",
    "-1e400",
    "1.7976931348623157e308",
    "4.9e-324",
    "0x10",
    "0o17",
    "0b101",
    "1_000",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "true",
    "false",
    "yes",
    "on",
    "~",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "99999999999999999999",
    "2026-11-25T06:00:00Z",
    "2026-02-30",
    "0000-00-00",
    "9999-12-31",
    "+275760-09-13T00:00:00Z",
    "2026-13-01T25:61:61Z",
    "1979-05-27T07:32:00-08:00",
    "10.0.0.0/8",
    "10.0.0.0/99",
    "10.0.0.0/33",
    "0.0.0.0/0",
    "::/0",
    "::/200",
    "::/128",
    "1.2.3.4/-1",
    "1.2.3.4/",
    "/24",
    "256.0.0.1/8",
    "1.2.3/24",
    "01.02.03.04/8",
    "::ffff:10.0.0.0/104",
    "::ffff:0:0/96",
    "::ffff:255.255.255.255/128",
    "fe80::1%eth0/64",
    "2001:db8::/32",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
    "255.255.255.255/32",
    "10.0.0.0/4294967296",
    "7",
    "7.1",
    "7.1.0",
    "7..1",
    ".7",
    "7.",
    "6.x",
    "1.2.3.4",
    "v7.1",
    "7.1.0-rc1",
    "7.1.0+build",
    "99999999999999999999.1",
    "18446744073709551615.18446744073709551615.18446744073709551615",
    "18446744073709551616",
    "٣.٤",
    "redis",
    "valkey",
    "memcached",
    "replication_group",
    "cache_cluster",
    "serverless_cache",
    "critical",
    "*",
    "**",
    "[!",
    "{a,",
    "[z-a]",
    "\\*",
    "sarif=",
    "=x",
    "json=-",
    "multi-az",
    "multi-az.x=1",
];

fn nasty() -> impl Strategy<Value = String> {
    prop::sample::select(NASTY).prop_map(String::from)
}

/// Any characters at all, controls and newlines included.
fn any_chars(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..max).prop_map(String::from_iter)
}

/// A fragment to splice into a document.
fn fragment() -> BoxedStrategy<String> {
    prop_oneof![
        3 => nasty(),
        2 => "[ -~]{0,24}",
        1 => any_chars(24),
        1 => prop::collection::vec(nasty(), 1..5).prop_map(|v| v.concat()),
        1 => any::<i64>().prop_map(|i| i.to_string()),
        1 => any::<f64>().prop_map(|f| f.to_string()),
        1 => cidr_like(),
        1 => version_like(),
    ]
    .boxed()
}

/// Text shaped like a CIDR block, often with out-of-range parts.
fn cidr_like() -> BoxedStrategy<String> {
    let part = prop_oneof![0u32..=255, Just(256u32), any::<u32>()];
    let prefix = prop_oneof![
        (0i64..=129).prop_map(|p| format!("/{p}")),
        any::<i64>().prop_map(|p| format!("/{p}")),
        Just(String::new()),
        Just("/".to_string()),
    ];
    let v4 = (part.clone(), part.clone(), part.clone(), part, prefix.clone())
        .prop_map(|(a, b, c, d, p)| format!("{a}.{b}.{c}.{d}{p}"));
    let v6 = (prop::collection::vec(any::<u16>(), 0..9), any::<bool>(), prefix).prop_map(
        |(groups, compress, p)| {
            let hex: Vec<String> = groups.iter().map(|g| format!("{g:x}")).collect();
            let sep = if compress { "::" } else { ":" };
            format!("{}{p}", hex.join(sep))
        },
    );
    prop_oneof![v4, v6].boxed()
}

/// Text shaped like a dotted version, often malformed.
fn version_like() -> BoxedStrategy<String> {
    let part = prop_oneof![
        (0u64..20).prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just("99999999999999999999".to_string()),
        Just(String::new()),
        Just("x".to_string()),
        Just("-1".to_string()),
    ];
    (
        prop::collection::vec(part, 0..5),
        prop_oneof![Just("."), Just(".."), Just("-")],
    )
        .prop_map(|(parts, sep)| parts.join(sep))
        .boxed()
}

/// A string argument for a CEL function or a parser: nasty, shaped, or arbitrary.
fn arg() -> BoxedStrategy<String> {
    prop_oneof![
        2 => nasty(),
        3 => cidr_like(),
        3 => version_like(),
        1 => any_chars(40),
        1 => "[0-9a-f.:/x-]{0,40}",
    ]
    .boxed()
}

/// Field names of the documents under test, so mutations also hit known keys.
const KEYS: &[&str] = &[
    "schema_version",
    "collected_at",
    "collector",
    "deployments",
    "coverage",
    "kind",
    "id",
    "arn",
    "account_id",
    "region",
    "engine",
    "engine_version",
    "status",
    "port",
    "vpc",
    "ipv4_cidr_blocks",
    "ipv6_cidr_blocks",
    "security_groups",
    "ingress",
    "ipv4_ranges",
    "ipv6_ranges",
    "cidr",
    "from_port",
    "to_port",
    "protocol",
    "tags",
    "node_groups",
    "members",
    "alarms",
    "threshold",
    "created_at",
    "snapshot_retention_days",
    "findings",
    "fingerprint",
    "rule_id",
    "resource_arn",
    "tool",
];

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(String::from),
        1 => fragment(),
    ]
    .boxed()
}

/// Any JSON value, leaves biased towards the nasty strings.
fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        3 => arg().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

/// One edit of a text document.
#[derive(Clone, Debug)]
enum TextEdit {
    /// Cut the text at an offset.
    Truncate(Index),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// Insert a fragment at an offset.
    Insert(Index, String),
    /// Replace up to `len` bytes at an offset.
    Replace(Index, usize, String),
    /// Keep a line up to its first `:` or `=` and replace the value after it.
    ReplaceValue(Index, String),
    /// Add or remove indentation.
    Indent(Index, i8),
    /// Insert a whole line.
    InsertLine(Index, String),
    /// Replace the content of the last double-quoted string of a line, escaped: the document
    /// often stays well-formed, with an odd value.
    ReplaceQuoted(Index, String),
}

fn text_edit() -> BoxedStrategy<TextEdit> {
    prop_oneof![
        1 => any::<Index>().prop_map(TextEdit::Truncate),
        2 => any::<Index>().prop_map(TextEdit::DeleteLine),
        2 => any::<Index>().prop_map(TextEdit::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| TextEdit::SwapLines(a, b)),
        2 => (any::<Index>(), fragment()).prop_map(|(i, s)| TextEdit::Insert(i, s)),
        2 => (any::<Index>(), 0usize..16, fragment()).prop_map(|(i, n, s)| TextEdit::Replace(i, n, s)),
        4 => (any::<Index>(), fragment()).prop_map(|(i, s)| TextEdit::ReplaceValue(i, s)),
        1 => (any::<Index>(), -4i8..4).prop_map(|(i, n)| TextEdit::Indent(i, n)),
        1 => (any::<Index>(), fragment()).prop_map(|(i, s)| TextEdit::InsertLine(i, s)),
        4 => (any::<Index>(), arg()).prop_map(|(i, s)| TextEdit::ReplaceQuoted(i, s)),
    ]
    .boxed()
}

fn text_edits() -> impl Strategy<Value = Vec<TextEdit>> {
    prop::collection::vec(text_edit(), 1..5)
}

/// The largest char boundary at or before `i`.
fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn offset(s: &str, at: &Index) -> usize {
    floor_boundary(s, at.index(s.len() + 1))
}

fn apply_text_edit(text: &str, edit: &TextEdit) -> String {
    let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
    let line = |i: &Index| i.index(lines.len());
    match edit {
        TextEdit::Truncate(at) => return text[..offset(text, at)].to_string(),
        TextEdit::Insert(at, s) => {
            let o = offset(text, at);
            return format!("{}{s}{}", &text[..o], &text[o..]);
        }
        TextEdit::Replace(at, len, s) => {
            let o = offset(text, at);
            let end = floor_boundary(text, o + len);
            return format!("{}{s}{}", &text[..o], &text[end..]);
        }
        TextEdit::DeleteLine(i) => {
            lines.remove(line(i));
        }
        TextEdit::DuplicateLine(i) => {
            let i = line(i);
            lines.insert(i, lines[i].clone());
        }
        TextEdit::SwapLines(a, b) => {
            let (a, b) = (line(a), line(b));
            lines.swap(a, b);
        }
        TextEdit::ReplaceValue(i, s) => {
            let i = line(i);
            let l = &lines[i];
            let cut = l.find([':', '=']).map_or(0, |p| p + 1);
            lines[i] = format!("{} {s}", &l[..cut]);
        }
        TextEdit::Indent(i, n) => {
            let i = line(i);
            let l = &lines[i];
            lines[i] = if *n >= 0 {
                format!("{}{l}", " ".repeat(*n as usize))
            } else {
                let strip = l.len() - l.trim_start_matches(' ').len();
                l[strip.min(n.unsigned_abs() as usize)..].to_string()
            };
        }
        TextEdit::InsertLine(i, s) => {
            let i = i.index(lines.len() + 1);
            lines.insert(i, s.clone());
        }
        TextEdit::ReplaceQuoted(i, s) => {
            let i = line(i);
            let l = &lines[i];
            if let Some(end) = l.rfind('"')
                && let Some(start) = l[..end].rfind('"')
            {
                let quoted = serde_json::to_string(s).unwrap();
                lines[i] = format!("{}{quoted}{}", &l[..start], &l[end + 1..]);
            }
        }
    }
    lines.join("\n")
}

fn apply_text_edits(text: &str, edits: &[TextEdit]) -> String {
    edits.iter().fold(text.to_string(), |t, e| apply_text_edit(&t, e))
}

/// One edit of a JSON document, at the end of a path chosen by `Index`es.
#[derive(Clone, Debug)]
enum JsonEdit {
    Remove,
    Replace(Value),
    Duplicate,
    /// The same content as another type: a number as a string, an object as a list, ...
    SwapType,
    /// Wrapped in a list.
    Wrap,
    /// A leaf replaced by another of its type (the path is followed down to a leaf): the
    /// document often stays valid, with odd values for the rules to evaluate.
    SameType(String, Value),
}

fn json_edit() -> BoxedStrategy<(Vec<Index>, JsonEdit)> {
    let edit = prop_oneof![
        2 => Just(JsonEdit::Remove),
        3 => json_value().prop_map(JsonEdit::Replace),
        1 => Just(JsonEdit::Duplicate),
        2 => Just(JsonEdit::SwapType),
        1 => Just(JsonEdit::Wrap),
        6 => (arg(), prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-100i64..100).prop_map(Value::from),
            any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        ])
            .prop_map(|(s, n)| JsonEdit::SameType(s, n)),
    ];
    (prop::collection::vec(any::<Index>(), 0..9), edit).boxed()
}

fn json_edits() -> impl Strategy<Value = Vec<(Vec<Index>, JsonEdit)>> {
    prop::collection::vec(json_edit(), 1..5)
}

fn swap_type(v: &Value) -> Value {
    match v {
        Value::Null => json!("null"),
        Value::Bool(b) => json!(b.to_string()),
        Value::Number(n) => json!(n.to_string()),
        Value::String(s) => serde_json::from_str::<serde_json::Number>(s)
            .map(Value::Number)
            .unwrap_or_else(|_| json!(s.len())),
        Value::Array(items) => Value::Object(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.clone()))
                .collect(),
        ),
        Value::Object(map) => Value::Array(map.values().cloned().collect()),
    }
}

/// Follows `path` (cyclically) down to a leaf and replaces it with a value of its type.
fn replace_leaf(v: &mut Value, path: &[Index], depth: usize, s: &str, n: &Value) {
    let pick = |len: usize| path.get(depth % path.len().max(1)).map_or(0, |i| i.index(len));
    match v {
        Value::Array(items) if !items.is_empty() && depth < 32 => {
            let i = pick(items.len());
            replace_leaf(&mut items[i], path, depth + 1, s, n);
        }
        Value::Object(map) if !map.is_empty() && depth < 32 => {
            let i = pick(map.len());
            replace_leaf(map.values_mut().nth(i).unwrap(), path, depth + 1, s, n);
        }
        Value::String(old) => *old = s.to_string(),
        Value::Number(_) => *v = n.clone(),
        Value::Bool(b) => *b = !*b,
        _ => {}
    }
}

fn apply_json_edit(v: &mut Value, path: &[Index], edit: &JsonEdit) {
    if let JsonEdit::SameType(s, n) = edit {
        return replace_leaf(v, path, 0, s, n);
    }
    let children = match v {
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        _ => 0,
    };
    if let (Some(first), true) = (path.first(), children > 0) {
        let i = first.index(children);
        let last = path.len() == 1;
        match v {
            Value::Array(items) if last && matches!(edit, JsonEdit::Remove) => {
                items.remove(i);
            }
            Value::Array(items) if last && matches!(edit, JsonEdit::Duplicate) => {
                let copy = items[i].clone();
                items.insert(i, copy);
            }
            Value::Object(map) if last && matches!(edit, JsonEdit::Remove) => {
                let k = map.keys().nth(i).unwrap().clone();
                map.remove(&k);
            }
            Value::Array(items) => apply_json_edit(&mut items[i], &path[1..], edit),
            Value::Object(map) => apply_json_edit(map.values_mut().nth(i).unwrap(), &path[1..], edit),
            _ => unreachable!(),
        }
        return;
    }
    *v = match edit {
        JsonEdit::Remove => Value::Null,
        JsonEdit::Replace(new) => new.clone(),
        JsonEdit::Duplicate => json!([v.clone(), v.clone()]),
        JsonEdit::SwapType => swap_type(v),
        JsonEdit::Wrap => json!([v.clone()]),
        JsonEdit::SameType(..) => unreachable!(),
    };
}

fn apply_json_edits(mut v: Value, edits: &[(Vec<Index>, JsonEdit)]) -> Value {
    for (path, edit) in edits {
        apply_json_edit(&mut v, path, edit);
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// `cases` cases (`PROPTEST_CASES` overrides them all, for a longer run by hand); failures are
/// saved in `tests/proptest-regressions/robustness.txt` and replayed first on the next run.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(cases),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/proptest-regressions/robustness.txt"
        )))),
        ..ProptestConfig::default()
    }
}

/// An error says something and names the file it is about.
fn names_file(err: &dyn std::fmt::Display, file: &str) -> Result<(), TestCaseError> {
    let text = err.to_string();
    prop_assert!(!text.trim().is_empty(), "empty error message");
    prop_assert!(text.starts_with(file), "the error does not name {file}: {text}");
    Ok(())
}

/// Parses an inventory both ways (whole, and header then each deployment); evaluates the bundled
/// pack on every deployment that parses.
fn check_inventory(text: &str) -> Result<(), TestCaseError> {
    const FILE: &str = "inv.json";
    match parse_inventory(text, FILE) {
        Ok(inventory) => {
            let evaluator = Evaluator::new(&BUNDLED, now());
            for (i, d) in inventory.deployments.iter().enumerate() {
                let _ = evaluator.evaluate(i, d);
            }
        }
        Err(e) => names_file(&e, FILE)?,
    }
    match Document::parse(text, FILE) {
        Ok(doc) => {
            for i in 0..doc.len() {
                if let Err(e) = doc.deployment(i) {
                    names_file(&e, FILE)?;
                }
            }
        }
        Err(e) => names_file(&e, FILE)?,
    }
    Ok(())
}

/// Runs `f` on a thread with a large stack; a panic in `f` is re-raised on the caller's thread.
/// The CEL parser (generated by ANTLR) takes about 100 KB of stack per nesting level in a debug
/// build: on the 2 MB of a test thread 20 nested parentheses overflow it, while the release
/// binary parses up to CEL's recursion limit (96 levels) on its 8 MB main thread. Rule files are
/// compiled here with room for the debug build's frames (reserved, and touched only as used).
fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let thread = std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(s, f)
            .expect("thread");
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Loads one rule file on its own; evaluates what loads on the fixture deployments.
fn check_rule_file(text: &str) -> Result<(), TestCaseError> {
    on_big_stack(|| check_rule_file_here(text))
}

fn check_rule_file_here(text: &str) -> Result<(), TestCaseError> {
    const FILE: &str = "custom/rules.yaml";
    let source = RuleSource {
        name: FILE.to_string(),
        text: text.to_string(),
        bundled: false,
        tests: None,
    };
    match RuleSet::from_sources(vec![source]) {
        Ok(rules) => {
            let evaluator = Evaluator::new(&rules, now());
            for (i, d) in DEPLOYMENTS.iter().enumerate() {
                let _ = evaluator.evaluate(i, d);
            }
        }
        Err(errors) => {
            prop_assert!(!errors.0.is_empty(), "an error without diagnostics");
            for d in &errors.0 {
                names_file(d, FILE)?;
            }
        }
    }
    Ok(())
}

/// Parses a config; applies what parses to the bundled pack.
fn check_config(text: &str) -> Result<(), TestCaseError> {
    const FILE: &str = "conf/ecaudit.toml";
    match Config::parse(text, FILE) {
        Ok(mut config) => {
            config.file = Some(FILE.into());
            if let Err(e) = config.apply(&mut shared_rules()) {
                names_file(&e, FILE)?;
            }
        }
        Err(e) => names_file(&e, FILE)?,
    }
    Ok(())
}

fn check_suppressions(text: &str) -> Result<(), TestCaseError> {
    const FILE: &str = "suppressions.yaml";
    let ids: Vec<&str> = BUNDLED.ids().collect();
    if let Err(e) = ecaudit::suppress::file::parse(FILE, text, &ids) {
        names_file(&e, FILE)?;
    }
    Ok(())
}

fn check_baseline(text: &str) -> Result<(), TestCaseError> {
    const FILE: &str = "baseline.json";
    if let Err(e) = Baseline::parse(FILE, text) {
        names_file(&e, FILE)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Properties: inventories
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn inventory_arbitrary_text(text in prop_oneof![
        any_chars(200),
        r#"[\[\]{}:,"0-9a-z_.\-+eE \\/\n]{0,200}"#,
        json_value().prop_map(|v| v.to_string()),
    ]) {
        check_inventory(&text)?;
    }

    #[test]
    fn inventory_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.json");
        std::fs::write(&path, &bytes).unwrap();
        match read_text(&path) {
            Ok(text) => check_inventory(&text)?,
            Err(e) => names_file(&e, &path.display().to_string())?,
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// One fixture deployment in an inventory, the whole document mutated; what parses is
    /// evaluated with the bundled pack.
    #[test]
    fn inventory_mutated_deployment(
        which in 0..FIXTURES.len(),
        edits in json_edits(),
    ) {
        let doc = common::inventory(vec![common::fixture(FIXTURES[which])]);
        let doc = apply_json_edits(doc, &edits);
        check_inventory(&doc.to_string())?;
        check_inventory(&serde_json::to_string_pretty(&doc).unwrap())?;
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// The demo fleet (116 KB), edited as text: lines dropped, duplicated, swapped, values
    /// replaced, truncated.
    #[test]
    fn inventory_mutated_fleet_text(edits in text_edits()) {
        check_inventory(&apply_text_edits(FLEET, &edits))?;
    }
}

// ---------------------------------------------------------------------------------------------
// Properties: rule files
// ---------------------------------------------------------------------------------------------

/// CEL tokens and small expressions, to build expressions that are almost valid.
const CEL_TOKENS: &[&str] = &[
    "d",
    "params",
    "now",
    "x",
    "d.engine",
    "d.engine_version",
    "d.vpc",
    "d.vpc.ipv4_cidr_blocks",
    "d.tags",
    "d.port",
    "d.node_groups",
    "d.security_groups",
    "d.cache_port_ipv4_sources",
    "d.created_at",
    "d.no_such_fact",
    "params.a",
    "params.l",
    "params.n",
    "params.missing",
    ".",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "?",
    "+",
    "-",
    "*",
    "/",
    "%",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "!",
    "in",
    "size",
    "has",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "duration",
    "timestamp",
    "type",
    "dyn",
    "map",
    "filter",
    "all",
    "exists",
    "exists_one",
    "cidr_contains",
    "cidr_within_any",
    "cidr_is_public",
    "cidr_is_private",
    "version_compare",
    "version_at_least",
    "parameter_family",
    "show",
    "unknown",
    "'10.0.0.0/99'",
    "'::/200'",
    "'1.2.3.4/-1'",
    "'7..1'",
    "'99999999999999999999.1'",
    "''",
    "'🦀'",
    "\"x\"",
    "b'\\xff'",
    "0",
    "1",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615u",
    "1.0",
    "1e308",
    "1e309",
    "true",
    "false",
    "null",
    "'1s'",
    "'-1h'",
    "'9999999999999999999s'",
    "'0001-01-01T00:00:00Z'",
    "'9999-12-31T23:59:59Z'",
];

fn cel_expression() -> BoxedStrategy<String> {
    let token = prop::sample::select(CEL_TOKENS).prop_map(String::from);
    let call = (
        prop::sample::select(
            &[
                "cidr_contains",
                "cidr_within_any",
                "cidr_is_public",
                "cidr_is_private",
                "version_compare",
                "version_at_least",
                "parameter_family",
                "show",
                "unknown",
                "size",
                "int",
                "string",
                "duration",
                "timestamp",
                "double",
                "uint",
            ][..],
        ),
        prop::collection::vec(prop::sample::select(CEL_TOKENS), 0..4),
    )
        .prop_map(|(f, args)| format!("{f}({})", args.join(", ")));
    prop_oneof![
        prop::collection::vec(token, 0..12).prop_map(|t| t.join(" ")),
        call,
        any_chars(40),
    ]
    .boxed()
}

/// A rule file holding `expr` as its check, written in one of the YAML scalar styles.
fn rule_with_check(expr: &str, style: usize, violations: bool) -> String {
    let key = if violations { "violations" } else { "check" };
    let value = match style {
        0 => format!("|\n      {}", expr.replace('\n', "\n      ")),
        1 => format!(">\n      {}", expr.replace('\n', "\n      ")),
        2 => serde_json::to_string(expr).unwrap(),
        3 => format!("'{}'", expr.replace('\'', "''")),
        _ => expr.to_string(),
    };
    format!(
        "rules:\n  - id: probe\n    title: Probe\n    severity: low\n    applies_to: [replication_group, cache_cluster, serverless_cache]\n    params:\n      a: \"10.0.0.0/8\"\n      l: [\"10.0.0.0/8\", \"fd00::/8\"]\n      n: 7\n    {key}: {value}\n    evidence: show(d.engine_version)\n    remediation: Nothing.\n"
    )
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn rule_file_arbitrary_text(text in prop_oneof![
        any_chars(200),
        r#"[-:\[\]{}#&*!|>'"%@,?~ a-z0-9_.\n]{0,200}"#,
        prop::collection::vec(fragment(), 0..20).prop_map(|v| v.join("\n")),
    ]) {
        check_rule_file(&text)?;
    }

    /// A valid rule whose expression is (almost) anything, in every scalar style; evaluated on
    /// the fixtures when it compiles.
    #[test]
    fn rule_expression_arbitrary(
        expr in cel_expression(),
        style in 0usize..5,
        violations in any::<bool>(),
    ) {
        check_rule_file(&rule_with_check(&expr, style, violations))?;
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// A bundled rule file, edited as text; what still loads is evaluated on the fixtures.
    #[test]
    fn rule_file_mutated_bundled(which in 0..RULE_FILES.len(), edits in text_edits()) {
        check_rule_file(&apply_text_edits(RULE_FILES[which], &edits))?;
    }

    /// A bundled rule file, edited as a document (keys dropped, values of other types, odd
    /// params and expressions) and written back as YAML.
    #[test]
    fn rule_file_mutated_structure(which in 0..RULE_FILES.len(), edits in json_edits()) {
        if let Some(text) = yaml_mutated(RULE_FILES[which], &edits) {
            check_rule_file(&text)?;
        }
    }
}

/// A YAML document mutated as a value and written back.
fn yaml_mutated(text: &str, edits: &[(Vec<Index>, JsonEdit)]) -> Option<String> {
    let doc: Value = serde_saphyr::from_str(text).unwrap();
    serde_saphyr::to_string(&apply_json_edits(doc, edits)).ok()
}

// ---------------------------------------------------------------------------------------------
// Properties: config and --param
// ---------------------------------------------------------------------------------------------

/// Every (rule id, param name) of the bundled pack.
static PARAMS: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    BUNDLED
        .rules()
        .iter()
        .flat_map(|r| r.default_params.keys().map(|k| (r.id.clone(), k.clone())))
        .collect()
});

fn param_arg() -> BoxedStrategy<String> {
    let known = (any::<Index>(), fragment()).prop_map(|(i, value)| {
        let (rule, name) = &PARAMS[i.index(PARAMS.len())];
        format!("{rule}.{name}={value}")
    });
    let list = (
        any::<Index>(),
        prop::collection::vec(fragment(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(i, items, brackets)| {
            let (rule, name) = &PARAMS[i.index(PARAMS.len())];
            let items = items.join(",");
            if brackets {
                format!("{rule}.{name}=[{items}]")
            } else {
                format!("{rule}.{name}={items}")
            }
        });
    prop_oneof![
        3 => known,
        1 => list,
        1 => fragment(),
        1 => any_chars(40),
        1 => (fragment(), fragment(), fragment()).prop_map(|(r, k, v)| format!("{r}.{k}={v}")),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn config_arbitrary_text(text in prop_oneof![
        any_chars(200),
        r#"[\[\]{}=.,"'#a-z0-9_\- \n]{0,200}"#,
        prop::collection::vec(fragment(), 0..20).prop_map(|v| v.join("\n")),
    ]) {
        check_config(&text)?;
    }

    /// `--param RULE.KEY=VALUE`, and the functions under it on any default and any text.
    #[test]
    fn param_args(
        args in prop::collection::vec(param_arg(), 1..4),
        default in json_value(),
        value in json_value(),
        text in fragment(),
    ) {
        if let Err(e) = apply_params(&mut shared_rules(), &args) {
            names_file(&e, "--param")?;
        }
        let _ = check_value(&value);
        let _ = check_override(&default, &value);
        if let Ok(parsed) = parse_for(&default, &text) {
            let _ = check_override(&default, &parsed);
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn config_mutated(text_edits in text_edits(), json_edits in json_edits()) {
        check_config(&apply_text_edits(CONFIG, &text_edits))?;
        // As a document: TOML has no null, so a mutation that makes one is dropped.
        let doc: Value = toml::from_str(CONFIG).unwrap();
        if let Ok(text) = toml::to_string(&apply_json_edits(doc, &json_edits)) {
            check_config(&text)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties: suppressions and baselines
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn suppressions_arbitrary_text(text in prop_oneof![
        any_chars(200),
        r#"[-:\[\]{}#&*!|>'"%@,?~ a-z0-9_.\n]{0,200}"#,
        prop::collection::vec(fragment(), 0..20).prop_map(|v| v.join("\n")),
    ]) {
        check_suppressions(&text)?;
    }

    #[test]
    fn suppressions_mutated(text_edits in text_edits(), json_edits in json_edits()) {
        check_suppressions(&apply_text_edits(SUPPRESSIONS, &text_edits))?;
        if let Some(text) = yaml_mutated(SUPPRESSIONS, &json_edits) {
            check_suppressions(&text)?;
        }
    }

    #[test]
    fn baseline_arbitrary_text(text in prop_oneof![
        any_chars(200),
        r#"[\[\]{}:,"0-9a-z_.\-+eE \\/\n]{0,200}"#,
        json_value().prop_map(|v| v.to_string()),
    ]) {
        check_baseline(&text)?;
    }

    #[test]
    fn baseline_mutated(text_edits in text_edits(), json_edits in json_edits()) {
        let text = baseline_text();
        check_baseline(&apply_text_edits(&text, &text_edits))?;
        let doc: Value = serde_json::from_str(&text).unwrap();
        check_baseline(&apply_json_edits(doc, &json_edits).to_string())?;
    }
}

// ---------------------------------------------------------------------------------------------
// Properties: CEL functions
// ---------------------------------------------------------------------------------------------

/// Any CEL value a rule could hand a function: strings above all, and every other type.
fn cel_value() -> BoxedStrategy<cel::Value> {
    let leaf = prop_oneof![
        4 => arg().prop_map(cel::Value::from),
        1 => Just(cel::Value::Null),
        1 => any::<bool>().prop_map(cel::Value::Bool),
        1 => any::<i64>().prop_map(cel::Value::Int),
        1 => any::<u64>().prop_map(cel::Value::UInt),
        1 => any::<f64>().prop_map(cel::Value::Float),
        1 => prop::collection::vec(any::<u8>(), 0..8).prop_map(cel::Value::from),
        1 => (-1_000_000_000_000i64..1_000_000_000_000)
            .prop_map(|s| cel::Value::Duration(chrono::Duration::seconds(s))),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(cel::Value::from),
            prop::collection::hash_map(arg(), inner, 0..3).prop_map(|m| cel::Value::Map(m.into())),
        ]
    })
    .boxed()
}

/// Every ecaudit function, with the right and the wrong number of arguments.
const CALLS: &[&str] = &[
    "cidr_contains(a, b)",
    "cidr_contains(b, a)",
    "cidr_within_any(a, l)",
    "cidr_within_any(a, [b, a])",
    "cidr_within_any(a, b)",
    "cidr_is_public(a)",
    "cidr_is_private(a)",
    "version_compare(a, b)",
    "version_at_least(a, b)",
    "parameter_family(a, b)",
    "parameter_family('redis', a)",
    "parameter_family('valkey', a)",
    "parameter_family('memcached', a)",
    "show(a)",
    "show(l)",
    "show(m)",
    "unknown(a)",
    "cidr_contains(a)",
    "cidr_contains(a, b, a)",
    "cidr_is_public()",
    "version_compare(a, b, a)",
    "show()",
    "unknown()",
];

proptest! {
    #![proptest_config(config(256))]

    /// The Rust functions behind the CEL functions, on any text.
    #[test]
    fn cidr_and_version_functions(a in arg(), b in arg()) {
        let (na, nb) = (parse_cidr(&a), parse_cidr(&b));
        for (text, net) in [(&a, &na), (&b, &nb)] {
            match net {
                Ok(n) => {
                    prop_assert!(contains(n, n), "{text} does not contain itself");
                    prop_assert!(!(is_private(n) && is_public(n)), "{text} is private and public");
                }
                Err(e) => prop_assert!(!e.is_empty()),
            }
        }
        if let (Ok(x), Ok(y)) = (&na, &nb) {
            let _ = contains(x, y);
        }
        for v in [&a, &b] {
            match parse_version(v) {
                Ok(_) => {}
                Err(e) => prop_assert!(!e.is_empty()),
            }
        }
        for engine in ["redis", "valkey", "memcached", a.as_str()] {
            if let Err(e) = expected_family(engine, &b) {
                prop_assert!(!e.is_empty());
            }
        }
    }

    /// Every function called from CEL on any values (wrong types and arities included).
    #[test]
    fn cel_functions_on_any_values(
        a in cel_value(),
        b in cel_value(),
        l in prop::collection::vec(cel_value(), 0..4),
        m in cel_value(),
    ) {
        let env = cel_env();
        let mut ctx = cel::Context::with_env(env.clone());
        ctx.add_variable_from_value("a", a);
        ctx.add_variable_from_value("b", b);
        ctx.add_variable_from_value("l", l);
        ctx.add_variable_from_value("m", m);
        for call in CALLS {
            let program = env.compile(call).unwrap();
            match program.execute(&ctx) {
                Ok(v) => {
                    let _ = render(&v);
                }
                Err(e) => prop_assert!(!e.to_string().is_empty(), "{call}: empty error"),
            }
        }
    }
}

/// One rule per function, each reading params `a`, `b` and `l` set with `--param`.
const PROBE_RULES: &str = r#"rules:
  - id: probe-cidr-contains
    check: cidr_contains(params.a, params.b)
  - id: probe-cidr-within-any
    check: cidr_within_any(params.a, params.l)
  - id: probe-cidr-within-vpc
    check: d.vpc == null || cidr_within_any(params.a, d.vpc.ipv4_cidr_blocks + params.l)
  - id: probe-cidr-is-public
    check: cidr_is_public(params.a)
  - id: probe-cidr-is-private
    check: cidr_is_private(params.b)
  - id: probe-version-compare
    check: version_compare(params.a, params.b) >= 0
  - id: probe-version-at-least
    check: version_at_least(d.engine_version, params.b)
  - id: probe-parameter-family
    check: parameter_family(d.engine, params.a) == parameter_family(params.b, d.engine_version)
  - id: probe-show
    violations: '[show(params.a), show(params.l), show(d.tags)].filter(s, s == params.b)'
"#;

fn probe_rules() -> RuleSet {
    let mut text = String::new();
    for line in PROBE_RULES.lines() {
        text.push_str(line);
        text.push('\n');
        if line.trim_start().starts_with("- id:") {
            text.push_str(
                "    title: Probe\n    severity: low\n    applies_to: [replication_group, cache_cluster, serverless_cache]\n    remediation: Nothing.\n    params: { a: \"10.0.0.0/8\", b: \"7.1\", l: [\"10.0.0.0/8\"] }\n",
            );
        }
    }
    RuleSet::from_sources(vec![RuleSource {
        name: "probe.yaml".into(),
        text,
        bundled: false,
        tests: None,
    }])
    .unwrap_or_else(|e| panic!("{e}"))
}

proptest! {
    #![proptest_config(config(256))]

    /// The functions as rules call them: params from `--param`, facts from a deployment. A
    /// function that cannot parse its input leaves the finding undecided, not passing or failing.
    #[test]
    fn cel_functions_through_rules(
        a in arg(),
        b in arg(),
        l in prop::collection::vec(arg(), 0..4),
        which in 0..FIXTURES.len(),
    ) {
        let mut rules = probe_rules();
        let l = l.iter().map(|s| s.replace(',', "")).collect::<Vec<_>>().join(",");
        let mut args = Vec::new();
        for id in rules.ids() {
            args.push(format!("{id}.a={a}"));
            args.push(format!("{id}.b={b}"));
            args.push(format!("{id}.l=[{l}]"));
        }
        apply_params(&mut rules, &args).unwrap_or_else(|e| panic!("{e}"));
        // The values as the rules got them (`--param` trims and unquotes).
        let param = |name: &str| {
            rules.get("probe-cidr-contains").unwrap().params[name].as_str().unwrap().to_string()
        };
        let (a, b) = (param("a"), param("b"));
        let bad_cidr = |s: &str| parse_cidr(s).is_err();
        let bad_version = |s: &str| parse_version(s).is_err();
        let evaluator = Evaluator::new(&rules, now());
        for f in evaluator.evaluate(0, &DEPLOYMENTS[which]) {
            let id = rules.rules()[f.rule].id.as_str();
            prop_assert!(!f.message.is_empty());
            let undecidable = match id {
                "probe-cidr-contains" => bad_cidr(&a) || bad_cidr(&b),
                "probe-cidr-is-public" => bad_cidr(&a),
                "probe-cidr-is-private" => bad_cidr(&b),
                "probe-version-compare" => bad_version(&a) || bad_version(&b),
                _ => false,
            };
            if undecidable {
                prop_assert_eq!(f.status, Status::Error, "{}: a = {:?}, b = {:?}: {}", id, a, b, f.message);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties: positions
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn positions_of_any_offset(text in any_chars(60), offset in any::<usize>(), small in 0usize..80) {
        for o in [offset, small] {
            let (line, column) = line_column(&text, o);
            prop_assert!(line >= 1 && column >= 1);
            prop_assert!(line <= text.matches('\n').count() + 1);
        }
        let _ = strip_position(&text);
    }
}

// ---------------------------------------------------------------------------------------------
// The documents mutated above are valid to begin with
// ---------------------------------------------------------------------------------------------

#[test]
fn the_documents_mutated_are_valid() {
    parse_inventory(FLEET, "fleet.json").unwrap();
    for (i, text) in RULE_FILES.iter().enumerate() {
        let source = RuleSource {
            name: format!("rules-{i}.yaml"),
            text: text.to_string(),
            bundled: false,
            tests: None,
        };
        RuleSet::from_sources(vec![source]).unwrap_or_else(|e| panic!("{e}"));
        let doc: Value = serde_saphyr::from_str(text).unwrap();
        assert_eq!(
            yaml_mutated(text, &[]).map(|t| serde_saphyr::from_str::<Value>(&t).unwrap()),
            Some(doc)
        );
    }
    let mut config = Config::parse(CONFIG, "ecaudit.toml").unwrap_or_else(|e| panic!("{e}"));
    config.file = Some("ecaudit.toml".into());
    config
        .apply(&mut RuleSet::load(&[]).unwrap())
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = BUNDLED.ids().collect();
    assert_eq!(
        ecaudit::suppress::file::parse("s.yaml", SUPPRESSIONS, &ids)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        Baseline::parse("b.json", &baseline_text()).unwrap().entries.len(),
        3
    );
    for style in 0..5 {
        for violations in [false, true] {
            let expr = if violations {
                "params.l.map(x, show(x))"
            } else {
                "params.n > 1"
            };
            check_rule_file_strict(&rule_with_check(expr, style, violations));
        }
    }
    probe_rules();
}

/// A rule file that must load.
fn check_rule_file_strict(text: &str) {
    let source = RuleSource {
        name: "probe.yaml".into(),
        text: text.to_string(),
        bundled: false,
        tests: None,
    };
    RuleSet::from_sources(vec![source]).unwrap_or_else(|e| panic!("{e}\n{text}"));
}

// ---------------------------------------------------------------------------------------------
// Explicit cases: nesting and expansion that random text does not reach
// ---------------------------------------------------------------------------------------------

/// Runs a check outside proptest.
fn run(check: impl Fn(&str) -> Result<(), TestCaseError>, text: &str) {
    check(text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn deeply_nested_documents_are_errors() {
    let n = 100_000;
    let brackets = "[".repeat(n);
    let braces = "{\"a\":".repeat(n);
    for text in [&brackets, &braces] {
        run(
            check_inventory,
            &format!("{{\"schema_version\": 1, \"deployments\": {text}"),
        );
        run(
            check_baseline,
            &format!("{{\"schema_version\": 1, \"findings\": {text}"),
        );
        run(check_rule_file, &format!("rules: {text}"));
        run(check_suppressions, &format!("suppressions: {text}"));
        run(check_config, &format!("a = {text}"));
        run(
            check_config,
            &format!("[rules.multi-az]\nparams = {}", text.replace(':', "=")),
        );
    }
    let sequences = format!("{}x", "- ".repeat(n));
    let mappings: String = (0..2_000).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
    for block in [&sequences, &mappings] {
        run(check_rule_file, &format!("rules:\n{block}"));
        run(check_suppressions, &format!("suppressions:\n{block}"));
    }
    run(check_config, &format!("{}\n", "[a".repeat(n)));
    run(check_config, &"a.".repeat(n));
}

/// Nesting is bounded by CEL's recursion limit (96 levels), chains of operators by the rule
/// file's limit on tokens: either way an error, not a stack overflow.
#[test]
fn deeply_nested_expressions_do_not_overflow() {
    for n in [50, 97, 200, 5_000] {
        let parens = format!("{}true{}", "(".repeat(n), ")".repeat(n));
        let lists = format!("size({}1{}) > 0", "[".repeat(n), "]".repeat(n));
        let nots = format!("{}true", "!".repeat(n));
        let sums = format!("1{} == 0", " + 1".repeat(n));
        let calls = format!("{}'10.0.0.0/8'{}", "show(".repeat(n), ")".repeat(n));
        for expr in [parens, lists, nots, sums, calls] {
            for style in 0..5 {
                run(check_rule_file, &rule_with_check(&expr, style, false));
            }
        }
    }
}

#[test]
fn yaml_alias_expansion_is_bounded() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    run(check_rule_file, &format!("{text}rules: *a11\n"));
    run(check_suppressions, &format!("{text}suppressions: *a11\n"));
}

#[test]
fn huge_and_odd_numbers_are_errors_or_values() {
    for n in [
        "1e400",
        "-1e400",
        "18446744073709551616",
        "-9223372036854775809",
        "1e-400",
        "0.0000000000000000000000000001",
        "123456789012345678901234567890",
    ] {
        run(
            check_inventory,
            &format!("{{\"schema_version\": {n}, \"deployments\": []}}"),
        );
        run(
            check_baseline,
            &format!("{{\"schema_version\": {n}, \"findings\": []}}"),
        );
        run(
            check_config,
            &format!("[rules.snapshot-retention]\nparams = {{ min_snapshot_retention_days = {n} }}"),
        );
        let mut d = common::fixture("replication-group");
        d["port"] = serde_json::from_str(n).unwrap_or(json!(n));
        d["snapshot_retention_days"] = d["port"].clone();
        run(check_inventory, &common::inventory(vec![d]).to_string());
        let text = common::inventory(vec![common::fixture("replication-group")])
            .to_string()
            .replace("6379", n);
        run(check_inventory, &text);
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: inputs that used to panic or abort
// ---------------------------------------------------------------------------------------------

/// A rule whose check is `expr`, on every kind of deployment.
fn rule_source(expr: &str) -> RuleSource {
    RuleSource {
        name: "custom/chain.yaml".into(),
        text: rule_with_check(expr, 0, false),
        bundled: false,
        tests: None,
    }
}

/// Chains of `links` links that CEL parses and evaluates by recursion, one level per link.
fn chains(links: usize) -> Vec<String> {
    vec![
        format!("1{} > 0", "+1".repeat(links)),
        format!("1{} > 0", " * 1".repeat(links)),
        format!("[1]{} == 1", "[0]".repeat(links)),
        format!("{{'a': 1}}{} == 1", ".a".repeat(links)),
        format!("'x'{} == 'x'", ".lowerAscii()".repeat(links)),
        format!("1{}", " in [1]".repeat(links)),
        format!("params.n{} > 0", " - params.n".repeat(links)),
    ]
}

/// Used to abort the process: CEL's parser and evaluator recurse once per link of a chain of
/// operators, with no limit of their own. In a release build a rule whose check was
/// `1+1+...+1 > 0` with 1,500 terms overflowed the 2 MB stack of an evaluation thread and aborted
/// `ecaudit scan` (on a 520-deployment inventory); 20,000 terms, or `x.a.a...` with 20,000
/// selections, overflowed the main thread while compiling (`ecaudit rules validate`). Found by
/// `deeply_nested_expressions_do_not_overflow`. A rule file now refuses an expression of more than
/// 1,000 tokens before CEL sees it (src/rules/file.rs), which is why this needs no large stack.
#[test]
fn long_operator_chains_are_refused_before_cel() {
    for links in [600, 1_500, 20_000] {
        for expr in chains(links) {
            let errors = RuleSet::from_sources(vec![rule_source(&expr)])
                .expect_err("a chain this long is refused")
                .0;
            assert_eq!(errors.len(), 1, "{errors:?}");
            let e = errors[0].to_string();
            assert!(
                e.starts_with("custom/chain.yaml:11:") && e.contains("error[cel-syntax]: rule `probe`"),
                "{e}"
            );
            assert!(
                e.contains("`check`: the expression has") && e.contains("tokens"),
                "{e}"
            );
        }
    }
}

/// The other side of the limit: chains of 240 links (up to 970 tokens) compile, and evaluate on
/// the fixtures.
#[test]
fn operator_chains_under_the_limit_still_work() {
    for expr in chains(240) {
        on_big_stack(|| {
            let rules = RuleSet::from_sources(vec![rule_source(&expr)])
                .unwrap_or_else(|e| panic!("{}: {e}", &expr[..40]));
            let evaluator = Evaluator::new(&rules, now());
            for (i, d) in DEPLOYMENTS.iter().enumerate() {
                let findings = evaluator.evaluate(i, d);
                assert_eq!(findings.len(), 1);
            }
        });
    }
}
