//! `ecaudit.toml`: scan defaults and per-rule severity, enablement and params. Parsed with spans
//! into a raw form, then checked against the loaded rules, so every mistake points at its line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use clap::ValueEnum;

use crate::output::Output;
use crate::report::Format;
use crate::rules::RuleSet;
use crate::rules::Severity;
use crate::rules::UnknownSeverity;
use crate::rules::params::{check_override, parse_for};
use crate::size::ByteSize;
use crate::suppress::{MAX_PATTERN, TagPolicy, excerpt};

/// The file read when `--config` is not given, if it exists in the working directory.
pub const DEFAULT_FILE: &str = "ecaudit.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read config: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("--param {arg}: {message}")]
    Param { arg: String, message: String },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    scan: RawScan,
    #[serde(default)]
    targets: Targets,
    #[serde(default)]
    suppress: RawSuppress,
    #[serde(default)]
    input: RawInput,
    #[serde(default)]
    gate: RawGate,
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, Spanned<RawRuleConfig>>,
}

/// `[suppress]`: what the `ecaudit:suppress` tags of scanned resources may suppress.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSuppress {
    tags: Option<bool>,
    tags_max_severity: Option<Spanned<String>>,
    tags_rules: Option<Vec<Spanned<String>>>,
}

/// `[gate]`: remediation deadlines and whether missing one fails the scan (`scan --history`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGate {
    /// `critical=7d,high=30d,medium=90d`, as `--sla`.
    sla: Option<Spanned<String>>,
    fail_on_overdue: Option<bool>,
}

/// `[input]`: limits on what ecaudit reads from untrusted documents.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawInput {
    max_document_size: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScan {
    fail_on: Option<Spanned<String>>,
    severity: Option<Spanned<String>>,
    allow_partial: Option<bool>,
    exit_zero: Option<bool>,
    #[serde(default)]
    rule_dirs: Vec<String>,
    #[serde(default)]
    suppressions: Vec<String>,
    baseline: Option<String>,
    #[serde(default)]
    outputs: Vec<Spanned<String>>,
}

/// `[targets]`: what a live scan reads (the command line overrides each key).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Region names, or `["all"]`.
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub accounts: Vec<String>,
    #[serde(default)]
    pub organization: bool,
    pub role_name: Option<String>,
    pub external_id: Option<String>,
    pub profile: Option<String>,
    pub concurrency: Option<usize>,
    pub max_attempts: Option<u32>,
    /// Read utilisation metrics (`--metrics`).
    #[serde(default)]
    pub metrics: bool,
    /// `--metrics-window`, e.g. `"7d"`.
    pub metrics_window: Option<crate::collect::metrics::MetricsWindow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleConfig {
    severity: Option<Spanned<String>>,
    enabled: Option<bool>,
    #[serde(default)]
    params: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

/// One extra output of a scan: a format and where it goes (`FORMAT=FILE`, `-`: standard output).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    pub format: Format,
    pub to: Output,
}

impl std::str::FromStr for OutputSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (format, path) = s
            .split_once('=')
            .ok_or_else(|| format!("expected FORMAT=FILE, got `{}`", excerpt(s)))?;
        let format = <Format as clap::ValueEnum>::from_str(format.trim(), true).map_err(|_| {
            let names: Vec<String> = Format::value_variants()
                .iter()
                .filter_map(|f| f.to_possible_value().map(|v| v.get_name().to_string()))
                .collect();
            format!(
                "unknown format `{}` (expected one of: {})",
                excerpt(format),
                names.join(", ")
            )
        })?;
        if path.trim().is_empty() {
            return Err(format!("no file after `{format:?}=`"));
        }
        Ok(OutputSpec {
            format,
            to: crate::output::parse(std::ffi::OsStr::new(path.trim()))?,
        })
    }
}

/// A position in the config file, for errors found after parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub line: usize,
    pub column: usize,
}

/// Per-rule settings.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleConfig {
    pub id: String,
    pub at: Span,
    pub severity: Option<Severity>,
    pub enabled: Option<bool>,
    pub params: Vec<(String, serde_json::Value, Span)>,
}

/// A validated config file (rule ids and params are checked by [`Config::apply`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// The file it came from (`None`: no config file).
    pub file: Option<PathBuf>,
    pub fail_on: Option<Severity>,
    pub severity: Option<Severity>,
    pub allow_partial: Option<bool>,
    pub exit_zero: Option<bool>,
    /// Rule directories, relative to the config file's directory.
    pub rule_dirs: Vec<PathBuf>,
    /// Suppressions files and the baseline, relative to the config file's directory.
    pub suppressions: Vec<PathBuf>,
    pub baseline: Option<PathBuf>,
    /// Extra outputs, `FORMAT=FILE` (FILE relative to the working directory, like `--output`).
    pub outputs: Vec<OutputSpec>,
    pub rules: Vec<RuleConfig>,
    pub targets: Targets,
    /// `[suppress]`: what resource tags may suppress (off unless `tags = true`).
    pub tags: TagPolicy,
    /// Where each `[suppress] tags_rules` id was written, checked by [`Config::apply`].
    pub tags_rules_at: Vec<Span>,
    /// `[input] max_document_size`: the largest Terraform document (and inventory compared
    /// with one) read; `--max-document-size` overrides it.
    pub max_document_size: Option<ByteSize>,
    /// `[gate] sla`: remediation deadlines per severity; `--sla` overrides it.
    pub sla: Option<crate::result::sla::Sla>,
    /// `[gate] fail_on_overdue`.
    pub fail_on_overdue: Option<bool>,
}

fn line_column(text: &str, offset: usize) -> Span {
    let (line, column) = crate::position::line_column(text, offset);
    Span { line, column }
}

fn toml_to_json(v: &toml::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    Ok(match v {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .ok_or("not a finite number")?,
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Array(items) => J::Array(items.iter().map(toml_to_json).collect::<Result<_, _>>()?),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Table(_) => return Err("a table is not a param value".into()),
    })
}

impl Config {
    /// The size limit of untrusted documents: `flag` (`--max-document-size`), else
    /// `[input] max_document_size`, else the default.
    pub fn document_limit(&self, flag: Option<ByteSize>) -> ByteSize {
        flag.or(self.max_document_size)
            .unwrap_or(ByteSize::DEFAULT_MAX_DOCUMENT)
    }

    /// Reads `path`, or `ecaudit.toml` in the working directory when `path` is `None` and that
    /// file exists.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => {
                let default = PathBuf::from(DEFAULT_FILE);
                if !default.is_file() {
                    return Ok(Config::default());
                }
                default
            }
        };
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
            file: file.clone(),
            source,
        })?;
        let mut config = Self::parse(&text, &file)?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.rule_dirs = config.rule_dirs.iter().map(|d| base.join(d)).collect();
        config.suppressions = config.suppressions.iter().map(|f| base.join(f)).collect();
        config.baseline = config.baseline.map(|f| base.join(f));
        config.file = Some(path);
        Ok(config)
    }

    /// Parses config text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let invalid = |span: Option<std::ops::Range<usize>>, message: String| {
            let at = line_column(text, span.map(|s| s.start).unwrap_or(0));
            ConfigError::Invalid {
                file: file.to_string(),
                line: at.line,
                column: at.column,
                message,
            }
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| invalid(e.span(), clip(e.message().trim())))?;
        // Ids, severities and output specs are short: a long one is a mistake or an attack, and
        // is refused before it reaches a message or a matcher.
        let bounded = |s: &Spanned<String>, key: &str| -> Result<(), ConfigError> {
            match s.get_ref().len() > MAX_PATTERN {
                true => Err(invalid(
                    Some(s.span()),
                    format!(
                        "{key}: `{}` is {} bytes long; a value here holds at most {MAX_PATTERN}",
                        excerpt(s.get_ref()),
                        s.get_ref().len()
                    ),
                )),
                false => Ok(()),
            }
        };
        let keys = raw.rules.iter().flat_map(|(id, rule)| {
            std::iter::once((id, "rules"))
                .chain(rule.get_ref().params.keys().map(|name| (name, "rules.*.params")))
                .chain(rule.get_ref().severity.iter().map(|s| (s, "rules.*.severity")))
        });
        let scan = [
            (&raw.scan.fail_on, "scan.fail_on"),
            (&raw.scan.severity, "scan.severity"),
        ];
        let scan = scan
            .into_iter()
            .filter_map(|(s, key)| s.as_ref().map(|s| (s, key)));
        let outputs = raw.scan.outputs.iter().map(|o| (o, "scan.outputs"));
        let suppress = raw
            .suppress
            .tags_rules
            .iter()
            .flatten()
            .map(|id| (id, "suppress.tags_rules"));
        let severity_max = raw
            .suppress
            .tags_max_severity
            .iter()
            .map(|s| (s, "suppress.tags_max_severity"));
        for (value, key) in keys
            .chain(scan)
            .chain(outputs)
            .chain(suppress)
            .chain(severity_max)
            .chain(
                raw.input
                    .max_document_size
                    .iter()
                    .map(|s| (s, "input.max_document_size")),
            )
        {
            bounded(value, key)?;
        }
        let severity = |s: &Option<Spanned<String>>, key: &str| -> Result<Option<Severity>, ConfigError> {
            s.as_ref()
                .map(|s| {
                    s.get_ref().parse::<Severity>().map_err(|e| {
                        invalid(
                            Some(s.span()),
                            format!("{key}: {}", UnknownSeverity(excerpt(&e.0))),
                        )
                    })
                })
                .transpose()
        };
        let mut rules = Vec::new();
        for (id, rule) in &raw.rules {
            let mut params = Vec::new();
            for (name, value) in &rule.get_ref().params {
                let json = toml_to_json(value.get_ref()).map_err(|e| {
                    invalid(
                        Some(value.span()),
                        format!(
                            "rules.{}.params.{}: {e}",
                            excerpt(id.get_ref()),
                            excerpt(name.get_ref())
                        ),
                    )
                })?;
                params.push((name.get_ref().clone(), json, line_column(text, name.span().start)));
            }
            rules.push(RuleConfig {
                id: id.get_ref().clone(),
                at: line_column(text, id.span().start),
                severity: severity(
                    &rule.get_ref().severity,
                    &format!("rules.{}.severity", excerpt(id.get_ref())),
                )?,
                enabled: rule.get_ref().enabled,
                params,
            });
        }
        let defaults = TagPolicy::default();
        let tags = TagPolicy {
            enabled: raw.suppress.tags.unwrap_or(defaults.enabled),
            max_severity: severity(&raw.suppress.tags_max_severity, "suppress.tags_max_severity")?
                .unwrap_or(defaults.max_severity),
            rules: raw
                .suppress
                .tags_rules
                .as_ref()
                .map(|ids| ids.iter().map(|id| id.get_ref().trim().to_string()).collect()),
        };
        let tags_rules_at = raw
            .suppress
            .tags_rules
            .iter()
            .flatten()
            .map(|id| line_column(text, id.span().start))
            .collect();
        Ok(Config {
            file: None,
            fail_on: severity(&raw.scan.fail_on, "scan.fail_on")?,
            severity: severity(&raw.scan.severity, "scan.severity")?,
            allow_partial: raw.scan.allow_partial,
            exit_zero: raw.scan.exit_zero,
            rule_dirs: raw.scan.rule_dirs.iter().map(PathBuf::from).collect(),
            suppressions: raw.scan.suppressions.iter().map(PathBuf::from).collect(),
            baseline: raw.scan.baseline.as_ref().map(PathBuf::from),
            outputs: raw
                .scan
                .outputs
                .iter()
                .map(|o| {
                    o.get_ref()
                        .parse()
                        .map_err(|e| invalid(Some(o.span()), format!("scan.outputs: {e}")))
                })
                .collect::<Result<_, _>>()?,
            rules,
            targets: raw.targets,
            tags,
            tags_rules_at,
            max_document_size: raw
                .input
                .max_document_size
                .as_ref()
                .map(|s| {
                    s.get_ref()
                        .parse()
                        .map_err(|e| invalid(Some(s.span()), format!("input.max_document_size: {e}")))
                })
                .transpose()?,
            sla: raw
                .gate
                .sla
                .as_ref()
                .map(|s| {
                    s.get_ref()
                        .parse()
                        .map_err(|e: String| invalid(Some(s.span()), format!("gate.sla: {}", clip(&e))))
                })
                .transpose()?,
            fail_on_overdue: raw.gate.fail_on_overdue,
        })
    }

    /// Applies per-rule settings to loaded rules: unknown rule ids, unknown params and params of
    /// the wrong type are errors at their line.
    pub fn apply(&self, rules: &mut RuleSet) -> Result<(), ConfigError> {
        let file = self
            .file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| DEFAULT_FILE.to_string());
        let invalid = |at: &Span, message: String| ConfigError::Invalid {
            file: file.clone(),
            line: at.line,
            column: at.column,
            message,
        };
        for rc in &self.rules {
            let Some(rule) = rules.get_mut(&rc.id) else {
                return Err(invalid(
                    &rc.at,
                    format!("unknown rule id `{}` (see `ecaudit rules list`)", excerpt(&rc.id)),
                ));
            };
            if let Some(severity) = rc.severity {
                rule.severity = severity;
            }
            for (name, value, at) in &rc.params {
                let Some(default) = rule.default_params.get(name) else {
                    return Err(invalid(
                        at,
                        unknown_param(&rc.id, name, rule.default_params.keys()),
                    ));
                };
                check_override(default, value).map_err(|e| {
                    invalid(
                        at,
                        format!("rules.{}.params.{}: {e}", excerpt(&rc.id), excerpt(name)),
                    )
                })?;
                rule.params.insert(name.clone(), value.clone());
            }
            if let Some(enabled) = rc.enabled {
                rules.set_enabled(&rc.id, enabled);
            }
        }
        let allowed = self.tags.rules.iter().flatten();
        for (id, at) in allowed.zip(&self.tags_rules_at) {
            if rules.get_mut(id).is_none() {
                return Err(invalid(
                    at,
                    format!(
                        "suppress.tags_rules: unknown rule id `{}` (see `ecaudit rules list`)",
                        excerpt(id)
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A message of the TOML parser, which may quote a value of the file (in backticks): each
/// quoted value shortened.
fn clip(message: &str) -> String {
    message
        .split('`')
        .enumerate()
        .map(|(i, part)| match i % 2 {
            1 => excerpt(part),
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join("`")
}

fn unknown_param<'a>(rule: &str, name: &str, declared: impl Iterator<Item = &'a String>) -> String {
    let declared: Vec<&str> = declared.map(String::as_str).collect();
    format!(
        "rule `{}` has no param `{}` (its params: {})",
        excerpt(rule),
        excerpt(name),
        if declared.is_empty() {
            "none".to_string()
        } else {
            declared.join(", ")
        }
    )
}

/// Applies `--param RULE.KEY=VALUE` overrides (after the config file).
pub fn apply_params(rules: &mut RuleSet, args: &[String]) -> Result<(), ConfigError> {
    for arg in args {
        let err = |message: String| ConfigError::Param {
            arg: arg.clone(),
            message,
        };
        let (key, value) = arg
            .split_once('=')
            .ok_or_else(|| err("expected RULE.KEY=VALUE".into()))?;
        let (rule_id, name) = key
            .split_once('.')
            .ok_or_else(|| err("expected RULE.KEY=VALUE".into()))?;
        let rule = rules
            .get_mut(rule_id.trim())
            .ok_or_else(|| err(format!("unknown rule id `{rule_id}` (see `ecaudit rules list`)")))?;
        let name = name.trim();
        let default = rule
            .default_params
            .get(name)
            .ok_or_else(|| err(unknown_param(rule_id, name, rule.default_params.keys())))?;
        let parsed = parse_for(default, value).map_err(err)?;
        check_override(default, &parsed).map_err(err)?;
        rule.params.insert(name.to_string(), parsed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scan_and_rule_settings() {
        let c = Config::parse(
            "[scan]\nfail_on = \"critical\"\nrule_dirs = [\"more\"]\n\n[rules.snapshot-retention]\nseverity = \"low\"\nparams = { min_snapshot_retention_days = 14 }\n",
            "ecaudit.toml",
        )
        .unwrap();
        assert_eq!(c.fail_on, Some(Severity::Critical));
        assert_eq!(c.rule_dirs, vec![PathBuf::from("more")]);
        assert_eq!(c.rules[0].id, "snapshot-retention");
        assert_eq!(c.rules[0].at.line, 5);
        assert_eq!(c.rules[0].params[0].1, serde_json::json!(14));
    }

    #[test]
    fn tag_suppressions_are_off_unless_turned_on() {
        let c = Config::parse("", "c.toml").unwrap();
        let off = TagPolicy {
            enabled: false,
            max_severity: Severity::Medium,
            rules: None,
        };
        assert_eq!(c.tags, off);
        let c = Config::parse(
            "[suppress]\ntags = true\ntags_max_severity = \"high\"\ntags_rules = [\"multi-az\"]\n",
            "c.toml",
        )
        .unwrap();
        assert_eq!(
            c.tags,
            TagPolicy {
                enabled: true,
                max_severity: Severity::High,
                rules: Some(vec!["multi-az".into()])
            }
        );
        assert_eq!(c.tags_rules_at, [Span { line: 4, column: 15 }]);
    }

    #[test]
    fn long_values_are_refused_and_quoted_briefly() {
        let long = "z".repeat(5000);
        let e = Config::parse(&format!("[suppress]\ntags_rules = [\"{long}\"]\n"), "c.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "c.toml:2:15: suppress.tags_rules: `{}… (5000 bytes)` is 5000 bytes long; a value here holds at most 1024",
                "z".repeat(200)
            )
        );
        // A value of exactly 1 KiB is a value (here, an unknown severity, quoted briefly).
        let e = Config::parse(&format!("[scan]\nfail_on = \"{}\"\n", "z".repeat(1024)), "c.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("c.toml:2:11: scan.fail_on: unknown severity `zzz"),
            "{e}"
        );
        assert!(e.len() < 400, "{e}");
    }

    #[test]
    fn errors_point_at_the_line() {
        let e = Config::parse("[scan]\nfail_on = \"severe\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2:"), "{e}");
        assert!(e.contains("unknown severity"), "{e}");
        let e = Config::parse("[scan]\nfail_no = \"high\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2:"), "{e}");
        assert!(e.contains("unknown field"), "{e}");
    }
}
