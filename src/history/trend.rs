//! Trends over a history (`ecaudit report --history DIR`): per night, failing findings by
//! severity, the pass rate, what was introduced and resolved and whether the night could read
//! everything; per rule, how long remediation took; the oldest findings still open. Every
//! figure is computed here; the report only draws them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::rules::Severity;

/// Failing findings of one night by severity (`fail` and `baselined`: still failing, whether
/// or not the gate counts them; suppressed findings are accepted and not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BySeverity {
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
}

impl BySeverity {
    pub fn total(&self) -> usize {
        self.critical + self.high + self.medium + self.low + self.info
    }

    pub fn get(&self, s: Severity) -> usize {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    pub fn get_mut(&mut self, s: Severity) -> &mut usize {
        match s {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Info => &mut self.info,
        }
    }
}

/// One recorded night of the history, oldest first in [`Trends::nights`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Night {
    /// The run's stamp in the history (`20261129T030000Z`).
    pub stamp: String,
    /// When its rules were evaluated.
    pub evaluated_at: DateTime<Utc>,
    /// The rule pack version it ran.
    pub rule_pack: String,
    /// Whether the rule pack differs from the night before (its figures may move for that
    /// reason alone).
    pub rule_pack_changed: bool,
    pub failing: BySeverity,
    /// `failing.total()`.
    pub failing_total: usize,
    /// `pass / (all − not applicable)` in percent, one decimal; `None` when nothing was
    /// evaluated.
    pub pass_rate: Option<f64>,
    /// Findings newly failing since the run it was compared with, `None` when it was compared
    /// with none (the first night of a history).
    pub introduced: Option<usize>,
    /// Findings resolved since the run it was compared with.
    pub resolved: Option<usize>,
    /// Failed reads that night: its counts miss what it could not read, so a drop on such a
    /// night is not an improvement.
    pub gaps: usize,
    /// The `account/region` units of those failed reads.
    pub gap_units: Vec<String>,
}

/// A rule over the history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleTrend {
    pub rule_id: String,
    pub severity: Severity,
    /// Failing findings of the rule in the newest night.
    pub open: usize,
    /// Findings of the rule resolved within the window.
    pub resolved: usize,
    /// Mean days from first seen to resolved over those, one decimal (`None`: none resolved).
    pub mean_days_to_remediate: Option<f64>,
}

/// A finding failing in the newest night, with how long it has.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpenFinding {
    pub rule_id: String,
    pub severity: Severity,
    pub resource_id: String,
    pub resource_arn: String,
    pub account_id: String,
    pub region: String,
    pub fingerprint: String,
    pub first_seen: DateTime<Utc>,
    pub age_days: u64,
    /// Past its severity's remediation deadline (`None`: no deadline for its severity).
    pub overdue: Option<bool>,
    /// The deployment's owner tag (`--owner-tag`, default `owner`), if it has one.
    pub owner: Option<String>,
}

/// A night of the history that was not read, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub stamp: String,
    pub why: String,
}

/// The history's trends: what `report.trends` holds in a report template.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trends {
    /// The history directory.
    pub dir: String,
    /// The window's start (`--since`), `None` for the whole history.
    pub since: Option<DateTime<Utc>>,
    /// Nights read, oldest first.
    pub nights: Vec<Night>,
    /// Nights in the window that could not be read (unreadable, truncated, not ecaudit's):
    /// left out of every figure, never taken as a night with nothing failing.
    pub skipped: Vec<Skipped>,
    /// Every rule of the newest night, and any other rule with findings resolved in the window.
    pub rules: Vec<RuleTrend>,
    /// The oldest findings still open in the newest night, oldest first (at most
    /// [`OLDEST_OPEN`]).
    pub oldest_open: Vec<OpenFinding>,
    /// Failing findings of the newest night (`oldest_open` lists the first of them).
    pub open_total: usize,
}

/// How many of the oldest open findings the report lists.
pub const OLDEST_OPEN: usize = 20;
