//! The audit report's model (`ecaudit report`, `scan --format html`): a saved scan result read
//! back and summarised for a security review: scope, pass rates, compliance per framework, the
//! findings that need attention per deployment, waivers, coverage gaps and drift.
//!
//! Both commands build it from the JSON result document (docs/findings.md), so a report rendered
//! later from a saved result is the report the scan wrote. The templates (`reports/`) only lay it
//! out; every figure is computed here. The template context is documented in docs/report.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::findings::{Severity, Status};
use crate::inventory::{CoverageEntry, DeploymentKind};
use crate::report::json::RESULT_SCHEMA_VERSION;
use crate::rules::FRAMEWORKS;

/// A result document that cannot be reported on (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error("{file}: cannot read scan result: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: the file is not UTF-8")]
    Encoding {
        file: String,
        line: usize,
        column: usize,
    },
    #[error("{file}:{line}:{column}: not a scan result (`ecaudit scan --format json`): {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{file}: scan result schema_version {found} is not supported (this build reads {RESULT_SCHEMA_VERSION})"
    )]
    Version { file: String, found: u32 },
}

/// The scan result document as saved by `scan --format json`.
#[derive(Debug, Deserialize)]
pub struct SavedResult {
    pub schema_version: u32,
    pub tool: SavedTool,
    pub scan: SavedScan,
    pub summary: SavedSummary,
    #[serde(default)]
    pub coverage: Vec<CoverageEntry>,
    #[serde(default)]
    pub waivers: SavedWaivers,
    /// Passed through to the templates as written (`scan --history`).
    #[serde(default)]
    pub drift: Option<serde_json::Value>,
    /// The rules the scan evaluated (results written before ecaudit listed them have none: the
    /// report then knows only the rules of the findings shown).
    #[serde(default)]
    pub rules: Vec<SavedRule>,
    pub findings: Vec<SavedFinding>,
}

/// Suppressions (passed through to the templates as written), baseline and warnings.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct SavedWaivers {
    #[serde(default)]
    pub suppressions: Vec<serde_json::Value>,
    #[serde(default)]
    pub baseline: Option<serde_json::Value>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct SavedRule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    #[serde(default)]
    pub remediation: Option<String>,
    #[serde(default)]
    pub controls: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct SavedTool {
    pub name: String,
    pub version: String,
    pub rule_pack: String,
}

#[derive(Debug, Deserialize)]
pub struct SavedScan {
    pub evaluated_at: DateTime<Utc>,
    #[serde(default)]
    pub collected_at: Option<DateTime<Utc>>,
    pub min_severity: Severity,
    #[serde(default)]
    pub collector: Option<crate::inventory::Collector>,
}

#[derive(Debug, Deserialize)]
pub struct SavedSummary {
    pub deployments: usize,
    pub rules: usize,
    /// Counts of every finding, also those a `--severity` filter left out of `findings`.
    pub findings: crate::summary::StatusCounts,
    pub by_severity: Vec<crate::summary::SeverityCounts>,
    pub by_rule: Vec<crate::summary::RuleCounts>,
    pub gate: SavedGate,
    #[serde(default)]
    pub collection: Option<SavedCollection>,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct SavedGate {
    pub fail_on: Severity,
    /// Failing findings at or above `fail_on`.
    pub failing: usize,
    pub incomplete: bool,
    pub exit_zero: bool,
    pub allow_partial: bool,
    pub exit_code: u8,
    pub reason: String,
}

/// What the audit concluded, whatever `--exit-zero` or `--allow-partial` made of the exit code:
/// `incomplete` (something could not be read or decided), `failed`, or `passed`.
#[derive(Debug, Serialize)]
pub struct Verdict {
    pub outcome: &'static str,
    pub label: &'static str,
}

impl Verdict {
    fn of(gate: &SavedGate) -> Self {
        let (outcome, label) = if gate.incomplete {
            ("incomplete", "Incomplete")
        } else if gate.failing > 0 {
            ("failed", "Failed")
        } else {
            ("passed", "Passed")
        };
        Verdict { outcome, label }
    }
}

#[derive(Debug, Deserialize)]
pub struct SavedCollection {
    pub duration_seconds: f64,
    #[serde(default)]
    pub caller: Option<String>,
    #[serde(default)]
    pub retries: u64,
    #[serde(default)]
    pub api_calls: BTreeMap<String, u64>,
}

#[derive(Debug, Deserialize)]
pub struct SavedFinding {
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub resource_kind: DeploymentKind,
    pub resource_id: String,
    pub resource_arn: String,
    pub account_id: String,
    pub region: String,
    pub message: String,
    #[serde(default)]
    pub evidence: Vec<String>,
    #[serde(default)]
    pub remediation: Option<String>,
    #[serde(default)]
    pub controls: BTreeMap<String, Vec<String>>,
    pub fingerprint: String,
    #[serde(default)]
    pub waiver: Option<SavedWaiver>,
    #[serde(default)]
    pub drift: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct SavedWaiver {
    pub by: String,
    pub original_status: Status,
    pub source: String,
    pub reason: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub ticket: Option<String>,
    #[serde(default)]
    pub expires: Option<NaiveDate>,
}

impl SavedResult {
    /// Parses a result document; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ResultError> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: u32,
        }
        let invalid = |e: serde_json::Error| ResultError::Invalid {
            file: file.to_string(),
            line: e.line(),
            column: e.column(),
            message: crate::position::strip_position(&e.to_string()),
        };
        let version: Version = serde_json::from_str(text).map_err(invalid)?;
        if version.schema_version != RESULT_SCHEMA_VERSION {
            return Err(ResultError::Version {
                file: file.to_string(),
                found: version.schema_version,
            });
        }
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            ResultError::Invalid {
                file: file.to_string(),
                line: inner.line(),
                column: inner.column(),
                message: format!(
                    "at `{path}`: {}",
                    crate::position::strip_position(&inner.to_string())
                ),
            }
        })
    }

    /// Reads a result document (`-`: standard input).
    pub fn read(path: &Path) -> Result<Self, ResultError> {
        use crate::inventory::InventoryError;
        let text = crate::inventory::read_text(path).map_err(|e| match e {
            InventoryError::Io { path, source } => ResultError::Io { file: path, source },
            InventoryError::Invalid {
                path, line, column, ..
            } => ResultError::Encoding {
                file: path,
                line,
                column,
            },
            other => ResultError::Io {
                file: path.display().to_string(),
                source: std::io::Error::other(other.to_string()),
            },
        })?;
        Self::parse(&text, &path.display().to_string())
    }
}

/// Counts of findings by status, with the pass rate and the widths of a stacked bar.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Tally {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub suppressed: usize,
    pub baselined: usize,
    pub not_applicable: usize,
    /// Findings that were decided on an applicable rule: all but `not_applicable`.
    pub evaluated: usize,
    /// `pass / evaluated` in percent, one decimal (`null` when nothing was evaluated). Waived
    /// findings count as not passing: they failed, and someone accepted it.
    pub pass_rate: Option<f64>,
    /// Bar segment widths in percent of `evaluated`: pass, fail, error, waived.
    pub bar: [f64; 4],
    /// Where each segment starts (percent), for drawing.
    pub offsets: [f64; 4],
}

impl Tally {
    fn add(&mut self, status: Status) {
        self.total += 1;
        match status {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Error => self.error += 1,
            Status::Suppressed => self.suppressed += 1,
            Status::Baselined => self.baselined += 1,
            Status::NotApplicable => self.not_applicable += 1,
        }
    }

    fn of(c: &crate::summary::StatusCounts) -> Self {
        Tally {
            total: c.total,
            pass: c.pass,
            fail: c.fail,
            error: c.error,
            suppressed: c.suppressed,
            baselined: c.baselined,
            not_applicable: c.not_applicable,
            ..Tally::default()
        }
        .finish()
    }

    fn plus(mut self, o: &Tally) -> Self {
        self.total += o.total;
        self.pass += o.pass;
        self.fail += o.fail;
        self.error += o.error;
        self.suppressed += o.suppressed;
        self.baselined += o.baselined;
        self.not_applicable += o.not_applicable;
        self.finish()
    }

    fn finish(mut self) -> Self {
        self.evaluated = self.total - self.not_applicable;
        if self.evaluated > 0 {
            let pct = |n: usize| (n as f64 * 1000.0 / self.evaluated as f64).round() / 10.0;
            self.pass_rate = Some(pct(self.pass));
            self.bar = [
                pct(self.pass),
                pct(self.fail),
                pct(self.error),
                pct(self.suppressed + self.baselined),
            ];
            let mut at = 0.0;
            for (offset, width) in self.offsets.iter_mut().zip(self.bar) {
                *offset = (at * 10.0_f64).round() / 10.0;
                at += width;
            }
        }
        self
    }
}

/// A labelled row of a chart.
#[derive(Clone, Debug, Serialize)]
pub struct Bar {
    pub label: String,
    pub tally: Tally,
}

/// One control of a framework: the rules mapped to it and how their findings came out.
#[derive(Debug, Serialize)]
pub struct Control {
    pub id: String,
    pub rules: Vec<String>,
    pub tally: Tally,
}

#[derive(Debug, Serialize)]
pub struct Framework {
    pub key: &'static str,
    pub name: &'static str,
    pub controls: Vec<Control>,
    pub tally: Tally,
}

/// A rule as the report describes it once (findings link to it).
#[derive(Debug, Serialize)]
pub struct RuleView {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// How to fix a failure (known when at least one finding failed).
    pub remediation: Option<String>,
    /// Framework display name → control ids.
    pub controls: Vec<(String, Vec<String>)>,
    pub tally: Tally,
}

/// A finding that needs a reviewer's attention: failing, undecided or waived.
#[derive(Debug, Serialize)]
pub struct FindingView {
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    /// 4 (critical) … 0 (info): the sort key of the severity column.
    pub severity_rank: u8,
    pub status: Status,
    /// Index into `deployments`.
    pub deployment: usize,
    pub message: String,
    pub evidence: Vec<String>,
    pub fingerprint: String,
    pub waiver: Option<SavedWaiver>,
    pub drift: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DeploymentView {
    pub kind: DeploymentKind,
    pub id: String,
    pub arn: String,
    pub account_id: String,
    pub region: String,
    pub tally: Tally,
}

/// Who ran the scan, over what, when.
#[derive(Debug, Serialize)]
pub struct Scope {
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub deployments: usize,
    pub rules: usize,
    pub collected_at: Option<DateTime<Utc>>,
    pub evaluated_at: DateTime<Utc>,
    /// `live` (collected by this scan) or `inventory` (a saved inventory was evaluated).
    pub source: &'static str,
    pub caller: Option<String>,
    pub duration_seconds: Option<f64>,
    pub api_calls: Option<u64>,
    pub retries: Option<u64>,
    /// Findings below this severity were left out of the result: per-account, per-region,
    /// per-deployment and listed findings then cover only those shown.
    pub min_severity: Severity,
    /// Whether the inventory recorded what was read at all (saved inventories may not).
    pub coverage_recorded: bool,
}

/// Everything a report template is given as `report`.
#[derive(Debug, Serialize)]
pub struct AuditReport {
    pub tool: SavedTool,
    pub scope: Scope,
    pub verdict: Verdict,
    pub gate: SavedGate,
    pub overall: Tally,
    pub by_severity: Vec<Bar>,
    pub by_rule: Vec<Bar>,
    pub by_account: Vec<Bar>,
    pub by_region: Vec<Bar>,
    pub frameworks: Vec<Framework>,
    pub rules: Vec<RuleView>,
    pub deployments: Vec<DeploymentView>,
    /// Failing, undecided and waived findings: by account, region and deployment, then failing
    /// first and by severity, highest first.
    pub findings: Vec<FindingView>,
    /// Per status of `findings`.
    pub attention: Tally,
    /// Coverage entries that failed: what the scan could not read.
    pub gaps: Vec<CoverageEntry>,
    pub waivers: SavedWaivers,
    pub drift: Option<serde_json::Value>,
}

fn rank(s: Severity) -> u8 {
    match s {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

/// Orders control ids as people number them: `SC-7` before `SC-28`, `3.5.1` before `3.10`.
fn natural_key(id: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for c in id.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                key.push((std::mem::take(&mut text), digits.parse().unwrap_or(u64::MAX)));
                digits.clear();
            }
            text.push(c);
        }
    }
    key.push((text, digits.parse().unwrap_or(0)));
    key
}

fn bars(map: BTreeMap<String, Tally>) -> Vec<Bar> {
    map.into_iter()
        .map(|(label, tally)| Bar {
            label,
            tally: tally.finish(),
        })
        .collect()
}

impl AuditReport {
    pub fn new(doc: SavedResult) -> Self {
        let SavedResult {
            tool,
            scan,
            summary,
            coverage,
            waivers,
            drift,
            rules: saved_rules,
            findings,
            ..
        } = doc;

        let mut by_account: BTreeMap<String, Tally> = BTreeMap::new();
        let mut by_region: BTreeMap<String, Tally> = BTreeMap::new();
        let mut shown_rules: BTreeMap<String, SavedRule> = BTreeMap::new();
        let mut deployments: BTreeMap<(String, String, String), DeploymentView> = BTreeMap::new();
        let mut attention = Vec::new();
        for f in findings {
            by_account.entry(f.account_id.clone()).or_default().add(f.status);
            by_region.entry(f.region.clone()).or_default().add(f.status);
            let rule = shown_rules.entry(f.rule_id.clone()).or_insert_with(|| SavedRule {
                id: f.rule_id.clone(),
                title: f.title.clone(),
                severity: f.severity,
                remediation: None,
                controls: f.controls.clone(),
            });
            if rule.remediation.is_none() {
                rule.remediation = f.remediation.clone();
            }
            let key = (f.account_id.clone(), f.region.clone(), f.resource_arn.clone());
            deployments
                .entry(key)
                .or_insert_with(|| DeploymentView {
                    kind: f.resource_kind,
                    id: f.resource_id.clone(),
                    arn: f.resource_arn.clone(),
                    account_id: f.account_id.clone(),
                    region: f.region.clone(),
                    tally: Tally::default(),
                })
                .tally
                .add(f.status);
            if !matches!(f.status, Status::Pass | Status::NotApplicable) {
                attention.push(f);
            }
        }

        // Rules: those the result lists (every rule evaluated), else those of the findings shown.
        let rule_list: Vec<SavedRule> = if saved_rules.is_empty() {
            shown_rules.into_values().collect()
        } else {
            saved_rules
        };
        // Tallies per rule come from the summary, which counts every finding, shown or not.
        let rule_tally: BTreeMap<&str, Tally> = summary
            .by_rule
            .iter()
            .map(|r| (r.rule_id.as_str(), Tally::of(&r.counts)))
            .collect();
        let tally_of = |id: &str| {
            rule_tally
                .get(id)
                .cloned()
                .unwrap_or_else(|| Tally::default().finish())
        };
        let mut rules: Vec<RuleView> = rule_list
            .iter()
            .map(|r| RuleView {
                id: r.id.clone(),
                title: r.title.clone(),
                severity: r.severity,
                remediation: r.remediation.clone(),
                controls: FRAMEWORKS
                    .iter()
                    .filter_map(|(key, name)| Some((name.to_string(), r.controls.get(*key)?.clone())))
                    .collect(),
                tally: tally_of(&r.id),
            })
            .collect();
        rules.sort_by(|a, b| a.id.cmp(&b.id));

        // A control's findings are its rules' findings; a framework's, those of the rules mapped
        // to any of its controls (each finding once, whatever the number of its controls).
        let frameworks = FRAMEWORKS
            .iter()
            .map(|&(key, name)| {
                let mut controls: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
                for r in &rule_list {
                    for id in r.controls.get(key).into_iter().flatten() {
                        controls.entry(id.as_str()).or_default().insert(r.id.as_str());
                    }
                }
                let mapped: BTreeSet<&str> = controls.values().flatten().copied().collect();
                let tally = mapped
                    .iter()
                    .fold(Tally::default(), |t, id| t.plus(&tally_of(id)))
                    .finish();
                let mut list: Vec<Control> = controls
                    .into_iter()
                    .map(|(id, rules)| Control {
                        id: id.to_string(),
                        tally: rules
                            .iter()
                            .fold(Tally::default(), |t, r| t.plus(&tally_of(r)))
                            .finish(),
                        rules: rules.into_iter().map(str::to_string).collect(),
                    })
                    .collect();
                list.sort_by_cached_key(|c| natural_key(&c.id));
                Framework {
                    key,
                    name,
                    controls: list,
                    tally,
                }
            })
            .collect();

        // Deployments in (account, region, ARN) order; findings refer to them by index.
        let index: BTreeMap<(String, String, String), usize> = deployments
            .keys()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect();
        let deployments: Vec<DeploymentView> = deployments
            .into_values()
            .map(|mut d| {
                d.tally = std::mem::take(&mut d.tally).finish();
                d
            })
            .collect();
        let mut tally = Tally::default();
        let mut findings: Vec<FindingView> = attention
            .into_iter()
            .map(|f| {
                tally.add(f.status);
                FindingView {
                    severity_rank: rank(f.severity),
                    deployment: index[&(f.account_id.clone(), f.region.clone(), f.resource_arn.clone())],
                    rule_id: f.rule_id,
                    title: f.title,
                    severity: f.severity,
                    status: f.status,
                    message: f.message,
                    evidence: f.evidence,
                    fingerprint: f.fingerprint,
                    waiver: f.waiver,
                    drift: f.drift,
                }
            })
            .collect();
        findings.sort_by(|a, b| {
            (a.deployment, a.status, std::cmp::Reverse(a.severity), &a.rule_id).cmp(&(
                b.deployment,
                b.status,
                std::cmp::Reverse(b.severity),
                &b.rule_id,
            ))
        });

        // Scope: every account and region the scan read or found a deployment in.
        let mut accounts: BTreeSet<String> = by_account.keys().cloned().collect();
        let mut regions: BTreeSet<String> = by_region.keys().cloned().collect();
        for c in &coverage {
            if c.account_id.len() == 12 && c.account_id.bytes().all(|b| b.is_ascii_digit()) {
                accounts.insert(c.account_id.to_string());
            }
            if &*c.region != "global" {
                regions.insert(c.region.to_string());
            }
        }
        let collection = summary.collection.as_ref();
        let scope = Scope {
            accounts: accounts.into_iter().collect(),
            regions: regions.into_iter().collect(),
            deployments: summary.deployments,
            rules: summary.rules,
            collected_at: scan.collected_at,
            evaluated_at: scan.evaluated_at,
            source: if collection.is_some() { "live" } else { "inventory" },
            caller: collection
                .and_then(|c| c.caller.clone())
                .or_else(|| scan.collector.as_ref().and_then(|c| c.caller.clone())),
            duration_seconds: collection.map(|c| (c.duration_seconds * 10.0).round() / 10.0),
            api_calls: collection.map(|c| c.api_calls.values().sum()),
            retries: collection.map(|c| c.retries),
            min_severity: scan.min_severity,
            coverage_recorded: !coverage.is_empty(),
        };

        AuditReport {
            tool,
            scope,
            verdict: Verdict::of(&summary.gate),
            overall: Tally::of(&summary.findings),
            by_severity: summary
                .by_severity
                .iter()
                .filter(|s| s.counts.total > 0)
                .map(|s| Bar {
                    label: s.severity.to_string(),
                    tally: Tally::of(&s.counts),
                })
                .collect(),
            by_rule: summary
                .by_rule
                .iter()
                .map(|r| Bar {
                    label: r.rule_id.clone(),
                    tally: Tally::of(&r.counts),
                })
                .collect(),
            gate: summary.gate,
            by_account: bars(by_account),
            by_region: bars(by_region),
            frameworks,
            rules,
            deployments,
            findings,
            attention: tally.finish(),
            gaps: coverage.into_iter().filter(|c| c.is_gap()).collect(),
            waivers,
            drift,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_sort_as_numbered() {
        let mut ids = vec!["SC-28", "SC-7", "SC-28(1)", "AC-4", "3.10", "3.5.1"];
        ids.sort_by_cached_key(|id| natural_key(id));
        assert_eq!(ids, ["3.5.1", "3.10", "AC-4", "SC-7", "SC-28", "SC-28(1)"]);
    }

    #[test]
    fn pass_rate_leaves_out_not_applicable_and_counts_waived_as_not_passing() {
        let mut t = Tally::default();
        for s in [
            Status::Pass,
            Status::Pass,
            Status::Fail,
            Status::Suppressed,
            Status::NotApplicable,
        ] {
            t.add(s);
        }
        let t = t.finish();
        assert_eq!(t.evaluated, 4);
        assert_eq!(t.pass_rate, Some(50.0));
        assert_eq!(t.bar, [50.0, 25.0, 0.0, 25.0]);
        assert_eq!(Tally::default().finish().pass_rate, None);
    }
}
