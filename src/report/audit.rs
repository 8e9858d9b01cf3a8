//! The audit report's model (`ecaudit report`, `scan --format html`): a saved scan result read
//! back and summarised for a security review: scope, pass rates, compliance per framework, the
//! findings that need attention per deployment, waivers, coverage gaps and drift.
//!
//! Both commands build it from the JSON result document (docs/findings.md), so a report rendered
//! later from a saved result is the report the scan wrote. The templates (`reports/`) only lay it
//! out; every figure is computed here. The template context is documented in docs/report.md.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::chart::Charts;
use crate::history::trend::Trends;
use crate::inventory::{CoverageEntry, DeploymentKind};
use crate::result::document::{Document, FindingRecord, RuleRecord, Tool, WaiverRecord};
use crate::result::summary::{Gate, StatusCounts};
use crate::result::{DriftReport, Status, Transition, Waivers};
use crate::rules::{FRAMEWORKS, Severity};

/// What the audit concluded, whatever `--exit-zero` or `--allow-partial` made of the exit code:
/// `incomplete` (something could not be read or decided), `failed`, or `passed`.
#[derive(Debug, Serialize)]
pub struct Verdict {
    pub outcome: &'static str,
    pub label: &'static str,
}

impl Verdict {
    fn of(gate: &Gate) -> Self {
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

/// Counts of findings by status, with the pass rate and the widths of a stacked bar.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Tally {
    #[serde(flatten)]
    pub counts: StatusCounts,
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
        self.counts.add(status);
    }

    fn of(counts: &StatusCounts) -> Self {
        Tally {
            counts: *counts,
            ..Tally::default()
        }
        .finish()
    }

    fn plus(mut self, o: &Tally) -> Self {
        self.counts.add_all(&o.counts);
        self.finish()
    }

    fn finish(mut self) -> Self {
        let c = self.counts;
        self.evaluated = c.total - c.not_applicable;
        if self.evaluated > 0 {
            let pct = |n: usize| (n as f64 * 1000.0 / self.evaluated as f64).round() / 10.0;
            self.pass_rate = c.pass_rate();
            self.bar = [
                pct(c.pass),
                pct(c.fail),
                pct(c.error),
                pct(c.suppressed + c.baselined),
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
    /// `FILE:LINE` of the user rule that replaced the bundled rule of this id.
    pub overridden: Option<String>,
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
    pub waiver: Option<WaiverRecord<'static>>,
    pub drift: Option<Transition>,
    /// When it started failing, its age in days, deadline and whether it is past it
    /// (`scan --history`, `--sla`).
    pub first_seen: Option<DateTime<Utc>>,
    pub age_days: Option<u64>,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: Option<bool>,
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
    pub tool: Tool<'static>,
    pub scope: Scope,
    pub verdict: Verdict,
    pub gate: Gate,
    pub overall: Tally,
    pub by_severity: Vec<Bar>,
    pub by_rule: Vec<Bar>,
    pub by_account: Vec<Bar>,
    pub by_region: Vec<Bar>,
    pub frameworks: Vec<Framework>,
    pub rules: Vec<RuleView>,
    pub deployments: Vec<DeploymentView>,
    /// Failing, undecided and waived findings: failing first, then by severity (highest first),
    /// rule and deployment, so the worst lead.
    pub findings: Vec<FindingView>,
    /// The first failing findings (indexes into `findings`): what the report's first screen
    /// names before any chart.
    pub worst: Vec<usize>,
    /// Per status of `findings`.
    pub attention: Tally,
    /// Coverage entries that failed: what the scan could not read.
    pub gaps: Vec<CoverageEntry>,
    pub waivers: Waivers,
    pub drift: Option<DriftReport>,
    /// Whether any finding has an age (`scan --history`): the age column is shown.
    pub aged: bool,
    /// Findings past their remediation deadline (`--sla`).
    pub overdue: usize,
    /// Trends over a history (`ecaudit report --history DIR`).
    pub trends: Option<Trends>,
    /// The trend charts, inline SVG drawn from `trends`.
    pub trend_charts: Option<Charts>,
}

/// Failing findings the report's first screen names.
const WORST: usize = 5;

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

/// A rule as the report knows it: from the result's rule list, or from its findings.
struct RuleInfo {
    id: String,
    title: String,
    severity: Severity,
    remediation: Option<String>,
    controls: BTreeMap<String, Vec<String>>,
    overridden: Option<String>,
}

impl From<RuleRecord<'_>> for RuleInfo {
    fn from(r: RuleRecord<'_>) -> Self {
        RuleInfo {
            id: r.id.into_owned(),
            title: r.title.into_owned(),
            severity: r.severity,
            remediation: Some(r.remediation.into_owned()).filter(|t| !t.is_empty()),
            controls: r.controls.into_owned(),
            overridden: r.overridden.map(|o| format!("{}:{}", o.file, o.line)),
        }
    }
}

impl AuditReport {
    /// The report of a result document: read back from a file, or made from a scan's result.
    pub fn new(doc: Document<'_, Vec<FindingRecord<'_>>>) -> Self {
        let Document {
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
        let summary = summary.into_owned();

        let mut by_account: BTreeMap<String, Tally> = BTreeMap::new();
        let mut by_region: BTreeMap<String, Tally> = BTreeMap::new();
        let mut shown_rules: BTreeMap<String, RuleInfo> = BTreeMap::new();
        let mut deployments: BTreeMap<(String, String, String), DeploymentView> = BTreeMap::new();
        let mut attention = Vec::new();
        for f in findings {
            by_account
                .entry(f.account_id.to_string())
                .or_default()
                .add(f.status);
            by_region.entry(f.region.to_string()).or_default().add(f.status);
            let rule = shown_rules
                .entry(f.rule_id.to_string())
                .or_insert_with(|| RuleInfo {
                    id: f.rule_id.to_string(),
                    title: f.title.to_string(),
                    severity: f.severity,
                    remediation: None,
                    controls: f.controls.clone().into_owned(),
                    overridden: None,
                });
            if rule.remediation.is_none() {
                rule.remediation = f.remediation.as_deref().map(str::to_string);
            }
            let key = (
                f.account_id.to_string(),
                f.region.to_string(),
                f.resource_arn.to_string(),
            );
            deployments
                .entry(key)
                .or_insert_with(|| DeploymentView {
                    kind: f.resource_kind,
                    id: f.resource_id.to_string(),
                    arn: f.resource_arn.to_string(),
                    account_id: f.account_id.to_string(),
                    region: f.region.to_string(),
                    tally: Tally::default(),
                })
                .tally
                .add(f.status);
            if !matches!(f.status, Status::Pass | Status::NotApplicable) {
                attention.push(f);
            }
        }

        // Rules: those the result lists (every rule evaluated), else those of the findings shown.
        let rule_list: Vec<RuleInfo> = if saved_rules.is_empty() {
            shown_rules.into_values().collect()
        } else {
            saved_rules.into_iter().map(RuleInfo::from).collect()
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
                overridden: r.overridden.clone(),
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
                    deployment: index[&(
                        f.account_id.to_string(),
                        f.region.to_string(),
                        f.resource_arn.to_string(),
                    )],
                    rule_id: f.rule_id.into_owned(),
                    title: f.title.into_owned(),
                    severity: f.severity,
                    status: f.status,
                    message: f.message.into_owned(),
                    evidence: f.evidence.into_owned(),
                    fingerprint: f.fingerprint.into_owned(),
                    waiver: f.waiver.map(WaiverRecord::into_owned),
                    drift: f.drift,
                    first_seen: f.first_seen,
                    age_days: f.age_days,
                    due_at: f.due_at,
                    overdue: f.overdue,
                }
            })
            .collect();
        // Overdue first: a deadline missed is what a review asks about first.
        findings.sort_by(|a, b| {
            let key = |f: &FindingView| {
                (
                    f.overdue != Some(true),
                    f.status,
                    std::cmp::Reverse(f.severity),
                    f.rule_id.clone(),
                    f.deployment,
                )
            };
            key(a).cmp(&key(b))
        });
        let aged = findings.iter().any(|f| f.age_days.is_some());
        let overdue = findings.iter().filter(|f| f.overdue == Some(true)).count();
        let worst = (0..findings.len())
            .filter(|&i| findings[i].status == Status::Fail)
            .take(WORST)
            .collect();

        // Scope: every account and region the scan read or found a deployment in.
        let mut accounts: BTreeSet<String> = by_account.keys().cloned().collect();
        let mut regions: BTreeSet<String> = by_region.keys().cloned().collect();
        for c in coverage.iter() {
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
            tool: tool.into_owned(),
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
            worst,
            attention: tally.finish(),
            gaps: coverage.iter().filter(|c| c.is_gap()).cloned().collect(),
            waivers: waivers.into_owned(),
            drift: drift.map(Cow::into_owned),
            aged,
            overdue,
            trends: None,
            trend_charts: None,
        }
    }

    /// The report with the trends of a history, and their charts.
    pub fn with_trends(mut self, trends: Trends) -> Self {
        self.trend_charts = Some(super::chart::charts(&trends));
        self.trends = Some(trends);
        self
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
