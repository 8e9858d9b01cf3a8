//! Test cases of rules: each case a partial deployment (the facts that matter, the rest from a
//! default deployment of its kind), optional params and `now`, and the outcome the rule must
//! give. Cases are written under a rule's `tests:` key or in a sibling `NAME.test.yaml`, and are
//! validated when the rules load, like the rules: an unknown fact is an error at its line.

pub mod defaults;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde_saphyr::Spanned;

use super::diag::{Code, Diagnostic};
use super::file::RawCase;
use super::params;
use crate::inventory::{Deployment, DeploymentKind};

/// A rule's outcome as a case expects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    Pass,
    Fail,
    NotApplicable,
    /// Undecided: a fact is unknown (`Cannot decide`) or the expression failed.
    Error,
}

impl Expected {
    pub const ALL: [Expected; 4] = [
        Expected::Pass,
        Expected::Fail,
        Expected::NotApplicable,
        Expected::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Expected::Pass => "pass",
            Expected::Fail => "fail",
            Expected::NotApplicable => "not_applicable",
            Expected::Error => "error",
        }
    }
}

/// A validated test case.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    /// The file and line of the case.
    pub file: String,
    pub line: usize,
    /// The default deployment of its kind with the case's facts laid over it.
    pub deployment: Deployment,
    /// The rule's params with the case's laid over them.
    pub params: BTreeMap<String, serde_json::Value>,
    pub now: DateTime<Utc>,
    pub expect: Expected,
    /// A fragment the finding's message must contain.
    pub message: Option<String>,
    /// The evidence lines, exactly and in order.
    pub evidence: Option<Vec<String>>,
    /// Fragments each of which some evidence line must contain.
    pub evidence_contains: Vec<String>,
}

/// What a case is checked against: the rule it belongs to, as far as validation needs it.
pub(super) struct RuleFacts<'a> {
    pub id: &'a str,
    pub applies_to: &'a [DeploymentKind],
    pub params: &'a BTreeMap<String, serde_json::Value>,
}

/// Validates a raw case of `rule`, written in `file` (whose text is `text`); problems go to
/// `diags`.
pub(super) fn validate(
    file: &str,
    text: &str,
    raw: Spanned<RawCase>,
    rule: &RuleFacts,
    diags: &mut Vec<Diagnostic>,
) -> Option<Case> {
    let start = diags.len();
    let line = raw.referenced.line() as usize;
    let raw = raw.value;
    let at = |loc: &serde_saphyr::Location| (loc.line() as usize, loc.column() as usize);
    let name = raw.name.value.trim().to_string();
    let mut push = |code, (line, column): (usize, usize), message: String| {
        diags.push(Diagnostic {
            code,
            file: file.to_string(),
            line,
            column,
            rule_id: Some(rule.id.to_string()),
            message: format!("test case `{name}`: {message}"),
        })
    };
    if name.is_empty() {
        push(Code::BadCase, at(&raw.name.referenced), "`name` is empty".into());
    }

    let expect = raw.expect.value.trim();
    let expect = Expected::ALL.into_iter().find(|e| e.as_str() == expect);
    if expect.is_none() {
        push(
            Code::BadCase,
            at(&raw.expect.referenced),
            format!(
                "`expect: {}` is not an outcome (expected pass, fail, not_applicable or error)",
                raw.expect.value.trim()
            ),
        );
    }

    let mut params = rule.params.clone();
    for (key, value) in &raw.params {
        match rule.params.get(key) {
            None => {
                let declared: Vec<&str> = rule.params.keys().map(String::as_str).collect();
                let known = match declared.is_empty() {
                    true => "the rule declares no params".to_string(),
                    false => format!("the rule declares {}", declared.join(", ")),
                };
                push(
                    Code::BadCase,
                    at(&value.referenced),
                    format!("unknown param `{key}`: {known}"),
                );
            }
            Some(default) => match params::check_override(default, &value.value) {
                Ok(()) => {
                    params.insert(key.clone(), value.value.clone());
                }
                Err(why) => push(
                    Code::BadCase,
                    at(&value.referenced),
                    format!("param `{key}`: {why}"),
                ),
            },
        }
    }

    let now = match &raw.now {
        None => Some(defaults::now()),
        Some(now) => match now.value.trim().parse::<DateTime<Utc>>() {
            Ok(t) => Some(t),
            Err(e) => {
                push(
                    Code::BadCase,
                    at(&now.referenced),
                    format!(
                        "`now: {}`: {e}; expected an RFC 3339 time such as 2026-06-01T06:00:00Z",
                        now.value.trim()
                    ),
                );
                None
            }
        },
    };

    let deployment = deployment(text, raw.deployment.as_ref(), rule, line, &mut push);

    if diags.len() > start {
        return None;
    }
    Some(Case {
        name,
        file: file.to_string(),
        line,
        deployment: deployment?,
        params,
        now: now?,
        expect: expect?,
        message: raw.message.map(|m| m.value),
        evidence: raw.evidence.map(|e| e.value),
        evidence_contains: raw.evidence_contains.into_iter().map(|e| e.value).collect(),
    })
}

/// The case's deployment: its facts laid over the default deployment of its kind (the rule's
/// first kind unless it names one).
fn deployment(
    text: &str,
    facts: Option<&Spanned<serde_json::Value>>,
    rule: &RuleFacts,
    case_line: usize,
    push: &mut impl FnMut(Code, (usize, usize), String),
) -> Option<Deployment> {
    let empty = serde_json::Value::Object(Default::default());
    let (facts, facts_line) = match facts {
        Some(f) => (&f.value, f.referenced.line() as usize),
        None => (&empty, case_line),
    };
    let Some(fields) = facts.as_object() else {
        push(
            Code::BadCase,
            (facts_line, 0),
            "`deployment` is not a map of facts".into(),
        );
        return None;
    };
    let kind = match fields.get("kind") {
        None => rule
            .applies_to
            .first()
            .copied()
            .unwrap_or(DeploymentKind::ReplicationGroup),
        Some(serde_json::Value::String(k)) => match DeploymentKind::parse(k) {
            Some(kind) => kind,
            None => {
                let line = key_line(text, facts_line, "kind");
                push(
                    Code::BadCase,
                    (line, 0),
                    format!(
                        "unknown deployment kind `{k}` (expected replication_group, cache_cluster or serverless_cache)"
                    ),
                );
                return None;
            }
        },
        Some(other) => {
            let line = key_line(text, facts_line, "kind");
            push(Code::BadCase, (line, 0), format!("`kind: {other}` is not a kind"));
            return None;
        }
    };
    if !rule.applies_to.contains(&kind) {
        push(
            Code::BadCase,
            (facts_line, 0),
            format!("the rule does not apply to a {kind}, so it gives no outcome to test"),
        );
        return None;
    }
    let mut value = defaults::deployment(kind);
    lay_over(&mut value, facts);
    match serde_path_to_error::deserialize::<_, Deployment>(&value) {
        Ok(d) => Some(d),
        Err(e) => {
            let path = e.path().to_string();
            let message = e.inner().to_string();
            let (code, key, message) = match unknown_field(&message) {
                Some((field, expected)) => {
                    let hint = super::check::suggest(&field, expected.iter().map(String::as_str))
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    let within = path.strip_suffix(&field).unwrap_or(&path).trim_end_matches('.');
                    let place = match within {
                        "" | "." => String::new(),
                        w => format!(" in `{w}`"),
                    };
                    (
                        Code::CaseUnknownFact,
                        field.clone(),
                        format!("unknown fact `{field}`{place}{hint}; docs/rules.md lists the facts"),
                    )
                }
                None => {
                    let key = path.rsplit('.').next().unwrap_or(&path);
                    let key = key.split('[').next().unwrap_or(key).to_string();
                    (Code::BadCase, key, format!("fact `{path}`: {message}"))
                }
            };
            push(code, (key_line(text, facts_line, &key), 0), message);
            None
        }
    }
}

/// Validates the cases of a test file and adds each to its rule among `rules` (those of the
/// test file's rule file).
pub(super) fn add_test_file(
    tests: &super::TestSource,
    rules: &mut [super::Rule],
    diags: &mut Vec<Diagnostic>,
) {
    let raw = match super::file::parse_tests(&tests.name, &tests.text) {
        Ok(raw) => raw,
        Err(d) => return diags.push(d),
    };
    for case in raw.tests {
        let line = case.referenced.line() as usize;
        let Some(id) = case.value.rule.as_ref().map(|r| r.value.trim().to_string()) else {
            diags.push(Diagnostic {
                code: Code::BadCase,
                file: tests.name.clone(),
                line,
                column: case.referenced.column() as usize,
                rule_id: None,
                message: format!(
                    "test case `{}` names no rule: add `rule: ID` (a rule of the test file's rule file)",
                    case.value.name.value.trim()
                ),
            });
            continue;
        };
        let Some(rule) = rules.iter_mut().find(|r| r.id == id) else {
            let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
            let hint = super::check::suggest(&id, ids.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            diags.push(Diagnostic {
                code: Code::BadCase,
                file: tests.name.clone(),
                line,
                column: case.referenced.column() as usize,
                rule_id: Some(id.clone()),
                message: format!("test case for a rule its rule file does not define{hint}"),
            });
            continue;
        };
        let facts = RuleFacts {
            id: &rule.id,
            applies_to: &rule.applies_to,
            params: &rule.default_params,
        };
        if let Some(case) = validate(&tests.name, &tests.text, case, &facts, diags) {
            rule.tests.push(case);
        }
    }
}

/// Lays a case's facts over a default deployment: a record of facts (the deployment, its subnet
/// group, VPC, parameter group, ...) merges fact by fact; anything else replaces the default's
/// value: lists, values, `null`, and maps whose keys are data rather than facts (`tags`,
/// `pending_changes`, an alarm's `dimensions`), so `tags: {team: a}` means exactly that tag.
/// Which objects are records is read from the inventory's JSON Schema.
pub fn lay_over(base: &mut serde_json::Value, patch: &serde_json::Value) {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    let schema = SCHEMA.get_or_init(|| crate::inventory::Inventory::json_schema().to_value());
    let deployment = &schema["$defs"]["Deployment"];
    merge(base, patch, deployment, schema);
}

/// The facts of a record schema (`properties`), through `$ref` and `anyOf`/`oneOf` (an
/// optional record); `None` for a schema that is not a record.
fn record<'s>(schema: &'s serde_json::Value, root: &'s serde_json::Value) -> Option<&'s serde_json::Value> {
    if let Some(name) = schema.get("$ref").and_then(|r| r.as_str()) {
        let name = name.strip_prefix("#/$defs/")?;
        return record(&root["$defs"][name], root);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alternatives) = schema.get(key).and_then(|a| a.as_array()) {
            return alternatives.iter().find_map(|a| record(a, root));
        }
    }
    schema.get("properties")
}

fn merge(
    base: &mut serde_json::Value,
    patch: &serde_json::Value,
    schema: &serde_json::Value,
    root: &serde_json::Value,
) {
    let facts = record(schema, root);
    match (base, patch, facts) {
        (serde_json::Value::Object(base), serde_json::Value::Object(patch), Some(facts)) => {
            for (key, value) in patch {
                match (base.get_mut(key), facts.get(key)) {
                    (Some(slot), Some(fact)) => merge(slot, value, fact, root),
                    _ => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, patch, _) => *base = patch.clone(),
    }
}

/// The field and the expected fields of serde's "unknown field `x`, expected one of `a`, `b`".
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest.split('`').skip(1).step_by(2).map(str::to_string).collect();
    Some((field.to_string(), expected))
}

/// The line of the first `key:` at or after line `from` (1-based), else `from`: where a fact of
/// a case is written. Facts are not spanned one by one, so the key is looked up in the text.
fn key_line(text: &str, from: usize, key: &str) -> usize {
    if key.is_empty() {
        return from;
    }
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| {
            l.match_indices(key).any(|(i, _)| {
                let before = l[..i].chars().next_back();
                let after = l[i + key.len()..].trim_start_matches(['"', '\'']).chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && after == Some(':')
            })
        })
        .map(|(i, _)| i + 1)
        .unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_merge_and_tags_lists_and_values_replace() {
        let mut base = json!({
            "vpc": {"id": "vpc-1", "ipv4_cidr_blocks": ["10.0.0.0/16"]},
            "tags": {"team": "a", "env": "prod"},
            "security_groups": [{"id": "sg-1"}],
            "multi_az": true
        });
        lay_over(
            &mut base,
            &json!({
                "vpc": {"ipv4_cidr_blocks": ["10.1.0.0/16"]},
                "tags": {"team": "b"},
                "security_groups": [],
                "multi_az": null
            }),
        );
        assert_eq!(
            base,
            json!({
                "vpc": {"id": "vpc-1", "ipv4_cidr_blocks": ["10.1.0.0/16"]},
                "tags": {"team": "b"},
                "security_groups": [],
                "multi_az": null
            })
        );
    }

    #[test]
    fn a_fact_key_is_found_on_its_line() {
        let text = "tests:\n  - name: x\n    deployment:\n      vpc_id: 1\n      id: 2\n";
        assert_eq!(key_line(text, 3, "id"), 5, "not the `id` inside `vpc_id`");
        assert_eq!(key_line(text, 3, "missing"), 3);
    }

    #[test]
    fn unknown_fields_are_read_from_serdes_message() {
        let (field, expected) =
            unknown_field("unknown field `zone`, expected one of `id`, `availability_zone`").unwrap();
        assert_eq!(field, "zone");
        assert_eq!(expected, ["id", "availability_zone"]);
    }
}
