//! Counts over a scan's findings, and the gate: which exit code the scan ends with and why.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{ScanResult, Status};
use crate::exit;
use crate::rules::Severity;

/// What decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateOptions {
    pub fail_on: Severity,
    pub allow_partial: bool,
    pub exit_zero: bool,
    /// Fail on findings past their remediation deadline (`--fail-on-overdue`) instead of on
    /// `fail_on`.
    pub fail_on_overdue: bool,
}

impl Default for GateOptions {
    fn default() -> Self {
        GateOptions {
            fail_on: Severity::High,
            allow_partial: false,
            exit_zero: false,
            fail_on_overdue: false,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub total: usize,
    pub fail: usize,
    pub pass: usize,
    pub not_applicable: usize,
    pub error: usize,
    pub suppressed: usize,
    pub baselined: usize,
}

impl StatusCounts {
    /// Adds the counts of `other`.
    pub fn add_all(&mut self, other: &StatusCounts) {
        self.total += other.total;
        self.fail += other.fail;
        self.pass += other.pass;
        self.not_applicable += other.not_applicable;
        self.error += other.error;
        self.suppressed += other.suppressed;
        self.baselined += other.baselined;
    }

    /// `pass / (total − not applicable)` in percent, one decimal; `None` when nothing was
    /// evaluated. Waived findings count as not passing: they failed, and someone accepted it.
    pub fn pass_rate(&self) -> Option<f64> {
        let evaluated = self.total - self.not_applicable;
        (evaluated > 0).then(|| (self.pass as f64 * 1000.0 / evaluated as f64).round() / 10.0)
    }

    pub fn add(&mut self, status: Status) {
        self.total += 1;
        match status {
            Status::Fail => self.fail += 1,
            Status::Pass => self.pass += 1,
            Status::NotApplicable => self.not_applicable += 1,
            Status::Error => self.error += 1,
            Status::Suppressed => self.suppressed += 1,
            Status::Baselined => self.baselined += 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    pub severity: Severity,
    #[serde(flatten)]
    pub counts: StatusCounts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCounts {
    pub rule_id: String,
    pub severity: Severity,
    #[serde(flatten)]
    pub counts: StatusCounts,
}

/// The gate's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    pub fail_on: Severity,
    /// Failing findings at or above `fail_on` (suppressed and baselined ones do not count).
    pub failing: usize,
    /// Coverage gaps or `error` findings (not suppressed): what the scan could not decide.
    pub incomplete: bool,
    pub allow_partial: bool,
    pub exit_zero: bool,
    /// `--fail-on-overdue`: the gate fails on `overdue`, not on `failing`.
    #[serde(default)]
    pub fail_on_overdue: bool,
    /// Failing findings past their remediation deadline (`--sla`; suppressed and baselined
    /// ones do not count).
    #[serde(default)]
    pub overdue: usize,
    pub exit_code: u8,
    /// The exit code in words.
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub deployments: usize,
    pub accounts: usize,
    pub regions: usize,
    pub rules: usize,
    pub findings: StatusCounts,
    pub by_severity: Vec<SeverityCounts>,
    pub by_rule: Vec<RuleCounts>,
    pub coverage_gaps: usize,
    pub gate: Gate,
    /// Figures of the live collection, when the scan collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<crate::collect::CollectStats>,
}

/// Counts findings one at a time into a summary's counts and the gate's inputs: what a scan's
/// summary is computed from, and a merged one recomputed from.
pub struct Counter {
    total: StatusCounts,
    by_rule: Vec<StatusCounts>,
    by_severity: [StatusCounts; 5],
    failing: usize,
    overdue: usize,
    /// Undecided findings the gate counts (all but a plan's carried-over ones).
    undecided: usize,
    options: GateOptions,
}

impl Counter {
    /// A counter for findings of `rules` rules (by index), gated by `options`.
    pub fn new(rules: usize, options: GateOptions) -> Self {
        Counter {
            total: StatusCounts::default(),
            by_rule: vec![StatusCounts::default(); rules],
            by_severity: [StatusCounts::default(); 5],
            failing: 0,
            overdue: 0,
            undecided: 0,
            options,
        }
    }

    /// Counts a finding; `overdue`: past its remediation deadline.
    pub fn add(&mut self, rule: usize, severity: Severity, status: Status, overdue: bool) {
        self.add_ungated(rule, severity, status);
        if status == Status::Fail && severity >= self.options.fail_on {
            self.failing += 1;
        }
        if status == Status::Fail && overdue {
            self.overdue += 1;
        }
        if status == Status::Error {
            self.undecided += 1;
        }
    }

    /// Counts a finding the gate leaves out (a plan's existing failure under its default gate).
    pub fn add_ungated(&mut self, rule: usize, severity: Severity, status: Status) {
        self.total.add(status);
        self.by_rule[rule].add(status);
        self.by_severity[severity as usize].add(status);
    }

    /// The summary: `rules` are (id, severity) in the order their indexes count.
    pub fn summary(
        self,
        rules: impl IntoIterator<Item = (String, Severity)>,
        deployments: usize,
        accounts: usize,
        regions: usize,
        coverage_gaps: usize,
    ) -> Summary {
        let by_rule: Vec<RuleCounts> = rules
            .into_iter()
            .zip(self.by_rule)
            .map(|((rule_id, severity), counts)| RuleCounts {
                rule_id,
                severity,
                counts,
            })
            .collect();
        Summary {
            deployments,
            accounts,
            regions,
            rules: by_rule.len(),
            findings: self.total,
            by_severity: Severity::DESCENDING
                .iter()
                .map(|&s| SeverityCounts {
                    severity: s,
                    counts: self.by_severity[s as usize],
                })
                .collect(),
            by_rule,
            coverage_gaps,
            collection: None,
            gate: Gate::decide(
                self.options,
                self.failing,
                self.overdue,
                coverage_gaps,
                self.undecided,
            ),
        }
    }
}

impl Summary {
    pub fn compute(result: &ScanResult, options: GateOptions) -> Summary {
        let rules = result.rules.rules();
        let mut counter = Counter::new(rules.len(), options);
        // A plan gates by default on what it introduces: a failure it only carries over is not
        // the pull request's to fix.
        let introduced_only = result
            .plan
            .as_ref()
            .is_some_and(|p| p.gate == super::PlanGate::Introduced);
        for f in &result.findings {
            let severity = rules[f.rule].severity;
            match introduced_only && f.change != Some(super::PlanChange::Introduced) {
                true => counter.add_ungated(f.rule, severity, f.status),
                false => counter.add(f.rule, severity, f.status, f.age.is_some_and(|a| a.overdue)),
            }
        }
        let deployments = &result.resources;
        let accounts: BTreeSet<&str> = deployments.iter().map(|d| d.account_id.as_str()).collect();
        let regions: BTreeSet<&str> = deployments.iter().map(|d| d.region.as_str()).collect();
        let mut summary = counter.summary(
            rules.iter().map(|r| (r.id.clone(), r.severity)),
            deployments.len(),
            accounts.len(),
            regions.len(),
            result.gaps().count(),
        );
        if introduced_only {
            summary.gate.reason = summary
                .gate
                .reason
                .replacen(
                    "failing finding(s)",
                    "failing finding(s) introduced by the plan",
                    1,
                )
                .replacen(
                    "no failing findings",
                    "no failing findings introduced by the plan",
                    1,
                );
        }
        summary
    }
}

impl Gate {
    /// The exit code of a scan with `failing` findings at or above the gate, `overdue` ones
    /// past their deadline, `coverage_gaps` failed reads and `undecided` findings (not
    /// suppressed), and why.
    pub fn decide(
        options: GateOptions,
        failing: usize,
        overdue: usize,
        coverage_gaps: usize,
        undecided: usize,
    ) -> Gate {
        let incomplete = coverage_gaps > 0 || undecided > 0;
        let (exit_code, reason) = if options.exit_zero {
            (exit::OK, "--exit-zero: report only".to_string())
        } else if incomplete && !options.allow_partial {
            (
                exit::INCOMPLETE,
                format!(
                    "the scan is incomplete: {coverage_gaps} coverage gap(s), {undecided} finding(s) could not be decided (--allow-partial accepts this)",
                ),
            )
        } else if options.fail_on_overdue {
            match overdue {
                0 => (
                    exit::OK,
                    "no failing findings past their remediation deadline".to_string(),
                ),
                n => (
                    exit::FINDINGS,
                    format!("{n} failing finding(s) past their remediation deadline (--sla)"),
                ),
            }
        } else if failing > 0 {
            (
                exit::FINDINGS,
                format!("{failing} failing finding(s) at or above {}", options.fail_on),
            )
        } else {
            (
                exit::OK,
                format!("no failing findings at or above {}", options.fail_on),
            )
        };

        Gate {
            fail_on: options.fail_on,
            failing,
            incomplete,
            allow_partial: options.allow_partial,
            exit_zero: options.exit_zero,
            fail_on_overdue: options.fail_on_overdue,
            overdue,
            exit_code,
            reason,
        }
    }
}
