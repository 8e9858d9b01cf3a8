//! Findings: the outcome of one rule on one deployment, its status, how it was waived, and the
//! stable fingerprint that names it across scans.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The outcome of a rule on a deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The deployment violates the rule.
    Fail,
    /// The deployment satisfies the rule.
    Pass,
    /// The rule's `when` excludes the deployment, or the deployment is being deleted.
    NotApplicable,
    /// The rule could not be decided: a fact it needs is unknown, or the expression failed.
    Error,
    /// It failed (or could not be decided), and a suppression accepts it.
    Suppressed,
    /// It failed, and the baseline already knows it: reported, not gated on.
    Baselined,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Fail,
        Status::Pass,
        Status::NotApplicable,
        Status::Error,
        Status::Suppressed,
        Status::Baselined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fail => "fail",
            Status::Pass => "pass",
            Status::NotApplicable => "not_applicable",
            Status::Error => "error",
            Status::Suppressed => "suppressed",
            Status::Baselined => "baselined",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule evaluated on one deployment. Rule metadata and the deployment's identity live in the
/// [`ScanResult`](super::ScanResult) and are referenced by index, so a scan of a large fleet
/// does not copy titles and remediation texts into every finding.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// Index into the rule set.
    pub rule: usize,
    /// Index into the scan's resources (the inventory's deployments, in order).
    pub deployment: usize,
    pub status: Status,
    pub message: Arc<str>,
    pub evidence: Vec<String>,
    /// Why a `suppressed` or `baselined` finding is waived.
    pub waiver: Option<Waiver>,
    /// How it moved since the previous run (`scan --history`).
    pub transition: Option<super::Transition>,
    /// What the Terraform plan does to it (`ecaudit plan`).
    pub change: Option<PlanChange>,
    /// How long it has been failing (`scan --history`): failing findings only.
    pub age: Option<Age>,
}

/// How long a failing finding has failed, from the history, and its remediation deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Age {
    /// The earliest run of the history in which it failed, failing in every run since that
    /// read its unit (a run that could not is not a pass).
    pub first_seen: DateTime<Utc>,
    /// Whole days from `first_seen` to the run's evaluation time.
    pub days: u64,
    /// `first_seen` plus its severity's deadline (`--sla`), if it has one.
    pub due: Option<DateTime<Utc>>,
    /// Past `due`.
    pub overdue: bool,
}

impl Age {
    /// The age at `now` of a finding first seen at `first_seen`, with `deadline` to fix it.
    pub fn at(first_seen: DateTime<Utc>, now: DateTime<Utc>, deadline: Option<chrono::Duration>) -> Age {
        let due = deadline.map(|d| first_seen + d);
        Age {
            first_seen,
            days: u64::try_from((now - first_seen).num_days()).unwrap_or(0),
            due,
            overdue: due.is_some_and(|due| now > due),
        }
    }
}

/// What a Terraform plan does to a finding: judged before and after the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanChange {
    /// Fails after the plan, and passed (or the resource did not exist) before; for an undecided
    /// finding, the plan made it undecidable.
    Introduced,
    /// Fails (or is undecided) before and after the plan.
    Existing,
    /// Passes after the plan, and failed before.
    Fixed,
}

impl PlanChange {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanChange::Introduced => "introduced",
            PlanChange::Existing => "existing",
            PlanChange::Fixed => "fixed",
        }
    }
}

impl Finding {
    /// Whether evaluation found the deployment in violation (a waived failure included).
    pub fn failed(&self) -> bool {
        self.status == Status::Fail || self.waiver.is_some_and(|w| w.was == Status::Fail)
    }
}

/// How a finding came to be waived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waiver {
    /// The status evaluation gave it (`fail`, or `error` for a suppressed undecided finding).
    pub was: Status,
    /// The suppression that accepts it (an index into the scan's waivers), `None` for the
    /// baseline.
    pub suppression: Option<u32>,
}

/// The stable identity of a finding across scans: the rule id and the resource ARN, hashed.
/// Baselines and suppressions rely on it never changing for the same pair.
pub fn fingerprint(rule_id: &str, resource_arn: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rule_id.as_bytes());
    hasher.update([0u8]);
    hasher.update(resource_arn.as_bytes());
    let digest = hasher.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(32);
    for byte in &digest[..16] {
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_separates_fields() {
        // Pinned: `printf 'x\0y' | sha256sum | cut -c1-32`. Changing it breaks every baseline.
        assert_eq!(fingerprint("x", "y"), "ce3890a816f5237a17aa7e1436113bba");
        assert_ne!(fingerprint("ab", "c"), fingerprint("a", "bc"));
        assert_ne!(fingerprint("multi-az", "arn:a"), fingerprint("multi-az", "arn:b"));
    }
}
