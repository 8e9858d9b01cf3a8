//! What changed since another run, as a result records it: deployments added, removed and
//! changed, and how findings moved. `crate::drift` computes these; the result carries them.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Status;
use crate::inventory::DeploymentKind;
use crate::rules::Severity;

/// A deployment's identity in a drift report.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Identity {
    pub arn: String,
    pub id: String,
    pub kind: DeploymentKind,
    pub account_id: String,
    pub region: String,
}

impl From<&crate::inventory::Deployment> for Identity {
    fn from(d: &crate::inventory::Deployment) -> Self {
        Identity {
            arn: d.arn.clone(),
            id: d.id.clone(),
            kind: d.kind,
            account_id: d.account_id.clone(),
            region: d.region.clone(),
        }
    }
}

/// One changed attribute. `old`/`new` are `null` when the attribute (or list element) did not
/// exist on that side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Where in the deployment, e.g. `snapshot_retention_days`,
    /// `security_groups[sg-0abc].name`, `node_groups[0001].members[orders-0001-001].alarms[cpu-high]`.
    pub path: String,
    pub old: Value,
    pub new: Value,
}

/// How a deployment drifted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentDrift {
    /// Attribute changes other than those listed below.
    pub changes: Vec<Change>,
    /// Ingress permissions, one line per source: `sg-0abc: tcp/6379 from 10.0.0.0/16`.
    pub ingress_added: Vec<String>,
    pub ingress_removed: Vec<String>,
    /// Alarms, as `node: alarm name`.
    pub alarms_added: Vec<String>,
    pub alarms_removed: Vec<String>,
    /// Alarms whose actions were turned off.
    pub alarms_disabled: Vec<String>,
}

impl DeploymentDrift {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.ingress_added.is_empty()
            && self.ingress_removed.is_empty()
            && self.alarms_added.is_empty()
            && self.alarms_removed.is_empty()
            && self.alarms_disabled.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Changed {
    #[serde(flatten)]
    pub deployment: Identity,
    #[serde(flatten)]
    pub drift: DeploymentDrift,
}

/// What drifted between two inventories.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InventoryDrift {
    pub added: Vec<Identity>,
    pub removed: Vec<Identity>,
    pub changed: Vec<Changed>,
    /// `account/region` units one of the two inventories could not read completely (coverage
    /// gaps): deployments there are not reported added or removed.
    pub unread: Vec<String>,
}

impl InventoryDrift {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// What `ecaudit diff` reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub old: Side,
    pub new: Side,
    /// Deployments added, removed and changed. From scan results (which carry no facts) only
    /// deployments added and removed are known; `changed` is then empty.
    pub deployments: InventoryDrift,
    pub findings: Transitions,
    /// Whether anything drifted: the exit code is 1 when it did.
    pub drifted: bool,
}

/// One of the two documents compared.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub file: String,
    /// `inventory` or `scan`.
    pub document: Cow<'static, str>,
    pub collected_at: Option<chrono::DateTime<chrono::Utc>>,
    pub deployments: usize,
}

impl DriftReport {
    pub fn new(old: Side, new: Side, deployments: InventoryDrift, findings: Transitions) -> Self {
        let drifted = !deployments.is_empty() || !findings.is_empty();
        DriftReport {
            old,
            new,
            deployments,
            findings,
            drifted,
        }
    }
}

/// One finding as a drift report names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingRef {
    pub rule_id: Arc<str>,
    pub severity: Severity,
    pub resource_id: Arc<str>,
    pub resource_arn: Arc<str>,
    /// Status in the older result (`null`: no such finding then).
    pub old_status: Option<Status>,
    /// Status in the newer result (`null`: no such finding now).
    pub new_status: Option<Status>,
    /// For a resolved finding: when it started failing, as the older result recorded it
    /// (`scan --history`), so the time it took to fix is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<chrono::DateTime<chrono::Utc>>,
}

/// How one finding moved since the previous run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    NewlyFailing,
    StillFailing,
    NewlySuppressed,
    Resolved,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::NewlyFailing => "newly_failing",
            Transition::StillFailing => "still_failing",
            Transition::NewlySuppressed => "newly_suppressed",
            Transition::Resolved => "resolved",
        }
    }

    /// How a finding moved from status `was` to status `is` (`None` on a side: no such
    /// finding there; `None` returned: nothing that matters moved).
    pub fn between(was: Option<Status>, is: Option<Status>) -> Option<Transition> {
        let failing = |s: Option<Status>| matches!(s, Some(Status::Fail | Status::Baselined));
        if failing(is) && failing(was) {
            Some(Transition::StillFailing)
        } else if failing(is) {
            Some(Transition::NewlyFailing)
        } else if is == Some(Status::Suppressed) && was != Some(Status::Suppressed) {
            Some(Transition::NewlySuppressed)
        } else if failing(was) && is != Some(Status::Suppressed) && is != Some(Status::Error) {
            Some(Transition::Resolved)
        } else {
            None
        }
    }
}

/// How findings moved between two results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Transitions {
    /// Failing now, not before (passing, not applicable, undecided, suppressed, or absent).
    pub newly_failing: Vec<FindingRef>,
    /// Failing before, passing or gone now (not merely suppressed).
    pub resolved: Vec<FindingRef>,
    /// Failing in both.
    pub still_failing: Vec<FindingRef>,
    /// Suppressed now, not before.
    pub newly_suppressed: Vec<FindingRef>,
}

impl Transitions {
    /// Whether anything moved (findings failing in both are not drift).
    pub fn is_empty(&self) -> bool {
        self.newly_failing.is_empty() && self.resolved.is_empty() && self.newly_suppressed.is_empty()
    }

    /// The list of findings that moved as `t`.
    pub fn list_mut(&mut self, t: Transition) -> &mut Vec<FindingRef> {
        match t {
            Transition::NewlyFailing => &mut self.newly_failing,
            Transition::StillFailing => &mut self.still_failing,
            Transition::NewlySuppressed => &mut self.newly_suppressed,
            Transition::Resolved => &mut self.resolved,
        }
    }
}
