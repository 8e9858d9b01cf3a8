//! The suppressions file as written (YAML, spans kept), validated into [`Suppression`]s: every
//! mistake points at its file and line, before any AWS call.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Pattern, Source, Suppression, SuppressionError, excerpt};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    suppressions: Vec<Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    rule: Spanned<String>,
    resource: Spanned<String>,
    #[serde(default)]
    account: Option<Spanned<String>>,
    #[serde(default)]
    region: Option<Spanned<String>>,
    #[serde(default)]
    ou: Option<Spanned<String>>,
    #[serde(default)]
    tags: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    reason: Option<Spanned<String>>,
    #[serde(default)]
    expires: Option<Spanned<String>>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    ticket: Option<String>,
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
    }
}

/// Reads and validates a suppressions file; `rule_ids` are the ids an entry may name.
pub fn load(path: &Path, rule_ids: &[&str]) -> Result<Vec<Suppression>, SuppressionError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SuppressionError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&file, &text, rule_ids)
}

/// Parses and validates the text of a suppressions file named `file`.
pub fn parse(file: &str, text: &str, rule_ids: &[&str]) -> Result<Vec<Suppression>, SuppressionError> {
    let invalid = |line: usize, column: usize, message: String| SuppressionError::Invalid {
        file: file.to_string(),
        line,
        column,
        message,
    };
    let raw: RawFile = serde_saphyr::from_str_with_options(text, options()).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .unwrap_or((0, 0));
        // The parser's message may quote a value of the file, however long.
        let message = crate::position::strip_position(&e.without_snippet().to_string());
        invalid(line, column, excerpt(&message))
    })?;
    let at = |l: &serde_saphyr::Location| (l.line() as usize, l.column() as usize);
    let pattern = |s: &Spanned<String>, what: &str| {
        let (line, column) = at(&s.referenced);
        Pattern::new(&s.value).map_err(|e| invalid(line, column, format!("{what}: {e}")))
    };
    let mut entries = Vec::with_capacity(raw.suppressions.len());
    for entry in raw.suppressions {
        let (line, column) = at(&entry.referenced);
        let e = entry.value;
        let reason = match e.reason {
            Some(r) if !r.value.trim().is_empty() => r.value.trim().to_string(),
            Some(r) => {
                let (l, c) = at(&r.referenced);
                return Err(invalid(
                    l,
                    c,
                    "`reason` is empty: say why the finding is accepted".into(),
                ));
            }
            None => {
                return Err(invalid(
                    line,
                    column,
                    "the entry has no `reason`: every suppression says why the finding is accepted".into(),
                ));
            }
        };
        let rule = pattern(&e.rule, "rule")?;
        if !rule_ids.iter().any(|id| rule.matches(id)) {
            let (l, c) = at(&e.rule.referenced);
            let what = if rule.is_literal() {
                format!(
                    "unknown rule id `{}` (see `ecaudit rules list`)",
                    excerpt(&e.rule.value)
                )
            } else {
                format!(
                    "the pattern `{}` matches no rule id (see `ecaudit rules list`)",
                    excerpt(&e.rule.value)
                )
            };
            return Err(invalid(l, c, what));
        }
        let expires = match &e.expires {
            None => None,
            Some(s) => Some(
                NaiveDate::parse_from_str(s.value.trim(), "%Y-%m-%d").map_err(|err| {
                    let (l, c) = at(&s.referenced);
                    invalid(
                        l,
                        c,
                        format!(
                            "`expires` is not a date (YYYY-MM-DD): `{}`: {err}",
                            excerpt(&s.value)
                        ),
                    )
                })?,
            ),
        };
        let tags = e
            .tags
            .iter()
            .map(|(k, v)| Ok((k.clone(), pattern(v, "tag value")?)))
            .collect::<Result<Vec<_>, SuppressionError>>()?;
        entries.push(Suppression {
            source: Source::File {
                file: file.to_string(),
                line,
            },
            rule,
            resource: pattern(&e.resource, "resource")?,
            account: e.account.as_ref().map(|a| pattern(a, "account")).transpose()?,
            region: e.region.as_ref().map(|r| pattern(r, "region")).transpose()?,
            ou: e.ou.as_ref().map(|o| pattern(o, "ou")).transpose()?,
            tags,
            reason,
            expires,
            owner: e.owner,
            ticket: e.ticket,
        });
    }
    Ok(entries)
}
