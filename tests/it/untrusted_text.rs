//! Untrusted text through every renderer (issue 25, points 1, 4 and 9): a tag value, a deployment
//! id, a security group id (in evidence) and a suppression reason hold arbitrary text, control,
//! format and non-characters included. Text outputs (table, diff, Markdown, HTML) show such
//! characters as escapes and never let a value's next line start an output line; JSON, SARIF and
//! OCSF keep values exact; JUnit stays XML; CSV keeps its columns; the table cuts long tokens.

use crate::common;

use common::*;
use ecaudit::evaluate::evaluate;
use ecaudit::report::{Format, RenderOptions, render};
use ecaudit::result::summary::{GateOptions, Summary};
use ecaudit::result::{DriftReport, ScanResult, Side};
use ecaudit::rules::{RuleSet, RuleSource, Severity};
use ecaudit::suppress::{TagPolicy, apply, file};
use proptest::prelude::*;
use serde_json::Value;
use unicode_general_category::{GeneralCategory, get_general_category};

/// A rule that echoes the `owner` tag in its evidence, beside the bundled pack.
const ECHO_RULE: &str = r#"rules:
  - id: tag-echo
    title: The owner tag is echoed
    fail_message: The owner tag is shown
    severity: high
    applies_to: [replication_group, cache_cluster, serverless_cache]
    violations: |
      d.tags != null && "owner" in d.tags ? ["owner is " + d.tags["owner"]] : []
    remediation: Nothing.
"#;

/// The untrusted strings of one case.
#[derive(Clone, Debug)]
struct Inputs {
    /// `queue-memcached-stg`'s id (its name everywhere).
    id: String,
    /// Its `owner` tag, echoed by `tag-echo`.
    tag: String,
    /// Its security group's id, in `no-public-ingress`'s evidence.
    sg: String,
    /// The reason of a suppression of `reporting-legacy`'s `multi-az` finding.
    reason: String,
}

fn rules() -> RuleSet {
    let mut sources = ecaudit::rules::pack::sources();
    sources.push(RuleSource {
        name: "echo.yaml".into(),
        text: ECHO_RULE.into(),
        bundled: false,
        tests: None,
    });
    RuleSet::from_sources(sources).unwrap_or_else(|e| panic!("{e}"))
}

/// `s` as a YAML double-quoted scalar: everything but printable ASCII as `\U` escapes.
fn yaml_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// The small demo fleet with the inputs in place.
fn fleet(inputs: &Inputs) -> Value {
    let mut doc = small_fleet();
    for d in doc["deployments"].as_array_mut().unwrap() {
        if d["id"] == "queue-memcached-stg" {
            d["id"] = inputs.id.clone().into();
            d["tags"]["owner"] = inputs.tag.clone().into();
            d["security_groups"][0]["id"] = inputs.sg.clone().into();
        }
    }
    doc
}

/// The fleet evaluated with the echo rule and the suppression, and its summary.
fn scan(inputs: &Inputs) -> (ScanResult, Summary) {
    let inventory = parse(&fleet(inputs));
    let rules = rules();
    let ids: Vec<String> = rules.ids().map(str::to_string).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let text = format!(
        "suppressions:\n  - rule: multi-az\n    resource: reporting-legacy\n    reason: {}\n",
        yaml_quoted(&inputs.reason)
    );
    let entries = file::parse("suppressions.yaml", &text, &ids).unwrap_or_else(|e| panic!("{e}"));
    let mut result = evaluate(&inventory, rules, inventory.collected_at.unwrap());
    apply(
        &mut result,
        entries,
        &TagPolicy::UNRESTRICTED,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
    );
    let summary = Summary::compute(&result, GateOptions::default());
    (result, summary)
}

fn rendered(result: &ScanResult, summary: &Summary, format: Format) -> String {
    rendered_at(result, summary, format, 120)
}

fn rendered_at(result: &ScanResult, summary: &Summary, format: Format, width: u16) -> String {
    let options = RenderOptions {
        min_severity: Severity::Info,
        color: false,
        width: Some(width),
        pretty: false,
    };
    let mut out = Vec::new();
    render(format, result, summary, &options, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The drift from the plain small fleet to the fleet with the inputs.
fn drift(inputs: &Inputs) -> DriftReport {
    let (old, new) = (parse(&small_fleet()), parse(&fleet(inputs)));
    let states = |inv: &ecaudit::inventory::Inventory| {
        ecaudit::drift::finding_states(&evaluate(inv, rules(), inv.collected_at.unwrap()))
    };
    let side = |file: &str, inv: &ecaudit::inventory::Inventory| Side {
        file: file.into(),
        document: "inventory".into(),
        collected_at: inv.collected_at,
        deployments: inv.deployments.len(),
    };
    DriftReport::new(
        side("monday.json", &old),
        side("tuesday.json", &new),
        ecaudit::drift::diff(&old, &new),
        ecaudit::drift::transitions(
            &states(&old),
            &states(&new),
            [&Default::default(), &Default::default()],
        ),
    )
}

fn drift_table(report: &DriftReport) -> String {
    let mut out = Vec::new();
    ecaudit::report::drift::table(report, false, Some(120), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn drift_markdown(report: &DriftReport) -> String {
    let mut out = Vec::new();
    ecaudit::report::drift::markdown(report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Shown as an escape in text outputs: controls (but tab and newline, which are layout), format
/// characters (Cf: bidi controls, zero-width characters) and the line and paragraph separators.
fn raw_hidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n'))
        || matches!(
            get_general_category(c),
            GeneralCategory::Format | GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator
        )
}

/// A text output holds no raw hidden character. Markdown's own word joiner after `@`, `:` or `.`
/// (which keeps a value from pinging someone or becoming a link) is the one allowed.
fn assert_no_hidden(name: &str, text: &str) {
    let mut previous = ' ';
    for (i, c) in text.char_indices() {
        let joiner = c == '\u{2060}' && matches!(previous, '@' | ':' | '.');
        assert!(
            !raw_hidden(c) || joiner,
            "{name}: raw {c:?} at byte {i}: {:?}",
            &text[i.saturating_sub(40)..(i + 40).min(text.len())]
        );
        previous = c;
    }
}

/// No line of `text` starts (leading blanks aside, as GitHub Actions reads workflow commands)
/// with `marker`.
fn assert_no_line_starts_with(name: &str, text: &str, marker: &str) {
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with(marker),
            "{name}: a line starts with {marker:?}: {line:?}"
        );
    }
}

/// Every string in a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        Value::Object(o) => o.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// Each JSON document of `text` (one, or one a line) parses, and some string in them is `exact`
/// and some holds `inside` exactly.
fn assert_json_exact(name: &str, text: &str, lines: bool, exact: &str, inside: &str) {
    let docs: Vec<Value> = if lines {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}")))
            .collect()
    } else {
        vec![serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"))]
    };
    let mut all = Vec::new();
    docs.iter().for_each(|d| strings(d, &mut all));
    assert!(
        all.iter().any(|s| s == exact),
        "{name}: {exact:?} not kept exactly"
    );
    assert!(
        all.iter().any(|s| s.contains(inside)),
        "{name}: {inside:?} not kept exactly"
    );
}

/// XML 1.0's `Char` production.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// The JUnit document holds only characters XML allows and reads to its end.
fn assert_xml(text: &str) {
    if let Some(c) = text.chars().find(|c| !xml_char(*c)) {
        panic!("junit: {c:?} is not an XML character");
    }
    let mut reader = quick_xml::Reader::from_str(text);
    let mut elements = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                elements += 1;
                for a in e.attributes() {
                    let a = a.unwrap_or_else(|e| panic!("junit: {e}"));
                    quick_xml::escape::unescape(&a.value).unwrap_or_else(|e| panic!("junit: {e}"));
                }
            }
            Ok(_) => {}
            Err(e) => panic!("junit: {e} at {}", reader.buffer_position()),
        }
    }
    assert!(elements > 3, "junit: {elements} element(s)");
}

/// Every record of the CSV has the header's 27 columns.
fn assert_csv_columns(text: &str) {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().len(), 27);
    let mut rows = 0;
    for record in reader.records() {
        let record = record.unwrap();
        assert_eq!(record.len(), 27, "csv: row {rows}: {record:?}");
        rows += 1;
    }
    assert!(rows > 10, "csv: {rows} row(s)");
}

/// Every property, for one case.
fn check(inputs: &Inputs) {
    let (result, summary) = scan(inputs);
    let report = drift(inputs);
    let texts = [
        ("table", rendered(&result, &summary, Format::Table)),
        ("markdown", rendered(&result, &summary, Format::Markdown)),
        ("html", rendered(&result, &summary, Format::Html)),
        ("diff table", drift_table(&report)),
        ("diff markdown", drift_markdown(&report)),
    ];
    for (name, text) in &texts {
        assert_no_hidden(name, text);
        assert_no_line_starts_with(name, text, "INJ-");
    }
    let evidence = format!("owner is {}", inputs.tag);
    for (format, lines) in [
        (Format::Json, false),
        (Format::Jsonl, true),
        (Format::Sarif, false),
    ] {
        let text = rendered(&result, &summary, format);
        assert_json_exact(format.name(), &text, lines, &inputs.id, &evidence);
    }
    let ocsf = rendered(&result, &summary, Format::Ocsf);
    assert_json_exact("ocsf", &ocsf, true, &inputs.id, &inputs.tag);
    assert_xml(&rendered(&result, &summary, Format::Junit));
    assert_csv_columns(&rendered(&result, &summary, Format::Csv));
}

/// Characters worth trying more often than at random: C0, DEL, C1, bidi and zero-width controls,
/// other format characters, line separators, noncharacters, and Markdown and HTML syntax.
const SPECIAL: &[char] = &[
    '\0',
    '\u{7}',
    '\u{8}',
    '\t',
    '\n',
    '\r',
    '\u{b}',
    '\u{c}',
    '\u{1b}',
    '\u{7f}',
    '\u{80}',
    '\u{85}',
    '\u{9b}',
    '\u{9d}',
    '\u{ad}',
    '\u{61c}',
    '\u{200b}',
    '\u{200c}',
    '\u{200d}',
    '\u{200e}',
    '\u{200f}',
    '\u{2028}',
    '\u{2029}',
    '\u{202a}',
    '\u{202e}',
    '\u{2060}',
    '\u{2066}',
    '\u{2069}',
    '\u{feff}',
    '\u{fff9}',
    '\u{fffe}',
    '\u{ffff}',
    '\u{1fffe}',
    '\u{e0001}',
    '\u{10ffff}',
    '<',
    '&',
    '|',
    '`',
    '@',
    ':',
    '/',
    '"',
    '\\',
    '=',
    '-',
    ' ',
    'a',
];

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![any::<char>(), prop::sample::select(SPECIAL)], 0..24)
        .prop_map(String::from_iter)
}

/// Arbitrary text with a line of its own that starts with `INJ-`: whatever else it holds, that
/// line must not start an output line.
fn value(field: &'static str) -> impl Strategy<Value = String> {
    (arbitrary_text(), arbitrary_text()).prop_map(move |(a, b)| format!("{a}\nINJ-{field}{b}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_through_every_renderer(
        id in value("id"),
        tag in value("tag"),
        sg in value("sg"),
        reason in value("reason"),
    ) {
        check(&Inputs { id, tag, sg, reason });
    }
}

fn plain() -> Inputs {
    Inputs {
        id: "queue-memcached-stg".into(),
        tag: "team-messaging".into(),
        sg: "sg-0f6a7b8c9d0e11716".into(),
        reason: "Multi-AZ is not worth it for a report cache".into(),
    }
}

#[test]
fn plain_inputs_pass_every_check() {
    check(&plain());
}

#[test]
fn escape_sequences_in_a_tag_value_are_shown_in_the_table() {
    let inputs = Inputs {
        tag: "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}]8;;https://evil.example\u{1b}\\x\u{9b}31m".into(),
        ..plain()
    };
    let (result, summary) = scan(&inputs);
    // Wide enough that the cell is not wrapped.
    let table = rendered_at(&result, &summary, Format::Table, 400);
    assert!(!table.contains('\u{1b}') && !table.contains('\u{7}') && !table.contains('\u{9b}'));
    assert!(
        table.contains(
            r"owner is \u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}]8;;https://evil.example\u{1b}\x\u{9b}31m"
        ),
        "{table}"
    );
}

#[test]
fn a_workflow_command_in_a_tag_value_does_not_start_a_line() {
    let inputs = Inputs {
        tag: "x\n::error ::boom".into(),
        ..plain()
    };
    let (result, summary) = scan(&inputs);
    let report = drift(&inputs);
    let table = rendered(&result, &summary, Format::Table);
    assert!(table.contains(r"owner is x\n::error ::boom"), "{table}");
    let diff = drift_table(&report);
    assert!(diff.contains(r"x\n::error ::boom"), "{diff}");
    for (name, text) in [
        ("table", table),
        ("diff", diff),
        ("markdown", rendered(&result, &summary, Format::Markdown)),
        ("html", rendered(&result, &summary, Format::Html)),
        ("diff markdown", drift_markdown(&report)),
    ] {
        assert_no_line_starts_with(name, &text, "::error");
    }
}

#[test]
fn a_bidi_override_in_a_name_is_shown_in_markdown_and_html() {
    let inputs = Inputs {
        id: "cache\u{202e}gnp.exe".into(),
        ..plain()
    };
    let (result, summary) = scan(&inputs);
    let markdown = rendered(&result, &summary, Format::Markdown);
    let html = rendered(&result, &summary, Format::Html);
    for (name, text) in [("markdown", &markdown), ("html", &html)] {
        assert!(!text.contains('\u{202e}'), "{name} holds a raw U+202E");
        assert!(text.contains(r"cache\u{202e}gnp.exe"), "{name}: {text}");
    }
    // The data formats keep the name as it is.
    let json: Value = serde_json::from_str(&rendered(&result, &summary, Format::Json)).unwrap();
    let mut all = Vec::new();
    strings(&json, &mut all);
    assert!(all.iter().any(|s| s == "cache\u{202e}gnp.exe"));
}

#[test]
fn a_noncharacter_in_an_id_leaves_junit_well_formed() {
    let inputs = Inputs {
        id: "cache\u{fffe}\u{ffff}\u{1}".into(),
        ..plain()
    };
    let (result, summary) = scan(&inputs);
    let junit = rendered(&result, &summary, Format::Junit);
    assert_xml(&junit);
    assert!(
        junit.contains("cache\u{fffd}\u{fffd}\u{fffd} (222222222222 us-east-1)"),
        "{junit}"
    );
}

#[test]
fn a_one_mebibyte_token_is_cut_in_the_table_and_kept_in_json() {
    // No other text of the table holds a `Q`.
    assert!(!rendered_plain_table().contains('Q'));
    let token = "Q".repeat(1 << 20);
    let inputs = Inputs {
        tag: token.clone(),
        ..plain()
    };
    let (result, summary) = scan(&inputs);
    let started = std::time::Instant::now();
    let table = rendered(&result, &summary, Format::Table);
    let took = started.elapsed();
    // 200 characters of the evidence are kept: "owner is " and 191 of the token, then "…",
    // wrapped over lines of the findings table.
    let kept: usize = table.matches('Q').count();
    assert_eq!(kept, 191, "table:\n{table}");
    assert!(table.contains("Q…"), "{table}");
    assert!(table.len() < 64 * 1024, "{} bytes", table.len());
    eprintln!("table of a 1 MiB token rendered in {took:?}");
    let json: Value = serde_json::from_str(&rendered(&result, &summary, Format::Json)).unwrap();
    let mut all = Vec::new();
    strings(&json, &mut all);
    assert!(all.iter().any(|s| *s == format!("owner is {token}")));
}

fn rendered_plain_table() -> String {
    let (result, summary) = scan(&plain());
    rendered(&result, &summary, Format::Table)
}
