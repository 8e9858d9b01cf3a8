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

/// Why a history cannot be reported on at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum TrendError {
    #[error(transparent)]
    History(#[from] super::HistoryError),
    #[error("{dir}: no run ecaudit recorded{within} can be read{why}")]
    Empty {
        dir: String,
        within: String,
        why: String,
    },
    #[error(transparent)]
    Result(#[from] crate::result::document::ResultError),
}

/// What `report --history` reads.
pub struct Options<'a> {
    /// Only nights evaluated within this span before the newest one.
    pub since: Option<&'a crate::result::sla::Span>,
    /// The tag naming a deployment's owner (matched without regard to case).
    pub owner_tag: &'a str,
}

/// The history's trends and the newest readable night's result document (the report's
/// subject). Nights are read one at a time, each only up to its findings; the newest is read
/// whole, and its inventory for the owner tags of the oldest open findings.
pub fn build(
    dir: &std::path::Path,
    options: &Options<'_>,
) -> Result<(Trends, crate::result::document::Document<'static>), TrendError> {
    let history = super::History::existing(dir)?;
    let survey = history.recorded()?;
    let mut skipped: Vec<Skipped> = survey
        .ignored
        .iter()
        .map(|i| Skipped {
            stamp: i.name.clone(),
            why: i.why.clone(),
        })
        .collect();
    let newest_at = survey.earlier.first().map(|r| r.evaluated_at);
    let since = match (options.since, newest_at) {
        (Some(span), Some(at)) => Some(at - span.duration()),
        _ => None,
    };
    let window: Vec<&super::Recorded> = survey
        .earlier
        .iter()
        .filter(|r| since.is_none_or(|s| r.evaluated_at >= s))
        .collect();

    // The newest night that reads whole is the report's subject.
    let mut newest = None;
    for r in &window {
        match crate::result::document::read::<Vec<crate::result::document::FindingRecord<'static>>>(
            &r.run.scan,
        ) {
            Ok(doc) => {
                newest = Some((r.run.clone(), doc));
                break;
            }
            Err(e) => skipped.push(Skipped {
                stamp: r.run.stamp.clone(),
                why: crate::suppress::excerpt(&e.to_string()),
            }),
        }
    }
    let Some((newest_run, doc)) = newest else {
        return Err(TrendError::Empty {
            dir: dir.display().to_string(),
            within: options.since.map(|s| format!(" within {s}")).unwrap_or_default(),
            why: skipped
                .first()
                .map(|s| format!(" ({}: {})", s.stamp, s.why))
                .unwrap_or_default(),
        });
    };

    let mut nights = Vec::new();
    let mut remediated: std::collections::BTreeMap<String, (Severity, usize, f64, usize)> =
        Default::default();
    for r in window.iter().rev() {
        if skipped.iter().any(|s| s.stamp == r.run.stamp) {
            continue;
        }
        let head = match super::night::read_head(&r.run.scan) {
            Ok(head) => head,
            Err(why) => {
                skipped.push(Skipped {
                    stamp: r.run.stamp.clone(),
                    why,
                });
                continue;
            }
        };
        let mut failing = BySeverity::default();
        for s in &head.summary.by_severity {
            *failing.get_mut(s.severity) += s.counts.fail + s.counts.baselined;
        }
        let mut gap_units: Vec<String> = head
            .coverage
            .iter()
            .filter(|c| c.is_gap())
            .map(|c| format!("{}/{}", c.account_id, c.region))
            .collect();
        gap_units.sort();
        gap_units.dedup();
        let transitions = head.drift.as_ref();
        for f in transitions.iter().flat_map(|t| &t.resolved) {
            let entry = remediated
                .entry(f.rule_id.to_string())
                .or_insert((f.severity, 0, 0.0, 0));
            entry.1 += 1;
            if let Some(first_seen) = f.first_seen {
                entry.2 += (head.evaluated_at - first_seen).num_seconds().max(0) as f64 / 86_400.0;
                entry.3 += 1;
            }
        }
        let rule_pack = head.rule_pack;
        nights.push(Night {
            stamp: r.run.stamp.clone(),
            evaluated_at: head.evaluated_at,
            rule_pack_changed: nights.last().is_some_and(|n: &Night| n.rule_pack != rule_pack),
            rule_pack,
            failing_total: failing.total(),
            failing,
            pass_rate: head.summary.findings.pass_rate(),
            introduced: transitions.map(|t| t.newly_failing),
            resolved: transitions.map(|t| t.resolved.len()),
            gaps: head.summary.coverage_gaps,
            gap_units,
        });
    }
    skipped.sort_by(|a, b| a.stamp.cmp(&b.stamp));

    // Per rule: open in the newest night, and the time resolved findings took.
    let mut rules: Vec<RuleTrend> = doc
        .summary
        .by_rule
        .iter()
        .map(|r| (r.rule_id.clone(), r.severity, r.counts.fail + r.counts.baselined))
        .chain(
            remediated
                .iter()
                .filter(|(id, _)| !doc.summary.by_rule.iter().any(|r| &r.rule_id == *id))
                .map(|(id, (severity, ..))| (id.clone(), *severity, 0)),
        )
        .map(|(rule_id, severity, open)| {
            let (_, resolved, days, dated) =
                remediated.get(&rule_id).copied().unwrap_or((severity, 0, 0.0, 0));
            RuleTrend {
                severity,
                open,
                resolved,
                mean_days_to_remediate: (dated > 0).then(|| (days / dated as f64 * 10.0).round() / 10.0),
                rule_id,
            }
        })
        .collect();
    rules.sort_by(|a, b| {
        (std::cmp::Reverse(a.severity), &a.rule_id).cmp(&(std::cmp::Reverse(b.severity), &b.rule_id))
    });

    let now = doc.scan.evaluated_at;
    let mut open: Vec<OpenFinding> = doc
        .findings
        .iter()
        .filter(|f| {
            matches!(
                f.status,
                crate::result::Status::Fail | crate::result::Status::Baselined
            )
        })
        .map(|f| OpenFinding {
            rule_id: f.rule_id.to_string(),
            severity: f.severity,
            resource_id: f.resource_id.to_string(),
            resource_arn: f.resource_arn.to_string(),
            account_id: f.account_id.to_string(),
            region: f.region.to_string(),
            fingerprint: f.fingerprint.to_string(),
            // A result recorded without ages: as old as the night itself.
            first_seen: f.first_seen.unwrap_or(now),
            age_days: f.age_days.unwrap_or(0),
            overdue: f.overdue,
            owner: None,
        })
        .collect();
    let open_total = open.len();
    open.sort_by(|a, b| {
        (
            a.first_seen,
            std::cmp::Reverse(a.severity),
            &a.rule_id,
            &a.resource_arn,
        )
            .cmp(&(
                b.first_seen,
                std::cmp::Reverse(b.severity),
                &b.rule_id,
                &b.resource_arn,
            ))
    });
    open.truncate(OLDEST_OPEN);
    let fetched = history
        .fetch(&newest_run.inventory)
        .map_err(|e| format!("cannot be read: {e}"));
    if let Err(why) = fetched.and_then(|()| owners(&newest_run.inventory, options.owner_tag, &mut open)) {
        skipped.push(Skipped {
            stamp: newest_run.stamp.clone(),
            why: format!("its inventory (for owner tags) {why}"),
        });
    }
    Ok((
        Trends {
            dir: dir.display().to_string(),
            since,
            nights,
            skipped,
            rules,
            oldest_open: open,
            open_total,
        },
        doc,
    ))
}

/// Fills in each finding's owner from the tag `key` of its deployment in `inventory`.
fn owners(inventory: &std::path::Path, key: &str, open: &mut [OpenFinding]) -> Result<(), String> {
    if open.is_empty() {
        return Ok(());
    }
    let text = crate::inventory::read_text(inventory).map_err(|e| format!("cannot be read: {e}"))?;
    let doc = crate::inventory::Document::parse(&text, &inventory.display().to_string())
        .map_err(|e| format!("cannot be read: {e}"))?;
    let wanted: std::collections::BTreeSet<String> = open.iter().map(|f| f.resource_arn.clone()).collect();
    let mut found = std::collections::BTreeMap::new();
    for i in 0..doc.len() {
        let d = doc.deployment(i).map_err(|e| format!("cannot be read: {e}"))?;
        if !wanted.contains(&d.arn) {
            continue;
        }
        let owner = d
            .tags
            .iter()
            .flatten()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone());
        found.insert(d.arn, owner);
    }
    for f in open {
        f.owner = found.get(&f.resource_arn).cloned().flatten();
    }
    Ok(())
}
