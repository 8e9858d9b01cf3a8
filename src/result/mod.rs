//! The scan result: what a scan evaluated and decided (findings, their waivers and transitions,
//! coverage, counts and the gate), and the one document model it is written as and read back
//! from (`document`). Every later stage (suppress, drift, report, merge) works on these types.

pub mod document;
mod drift;
mod finding;
pub mod sla;
pub mod summary;
mod waivers;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use crate::inventory::{Account, Collector, CoverageEntry, Deployment, DeploymentKind, Inventory};
use crate::rules::{Rule, RuleSet};

pub use document::SCHEMA_VERSION;
pub use drift::{
    Change, Changed, DeploymentDrift, DriftReport, FindingRef, Identity, InventoryDrift, Side, Transition,
    Transitions,
};
pub use finding::{Age, Finding, PlanChange, Status, Waiver, fingerprint};
pub use summary::Summary;
pub use waivers::{BaselineEntry, BaselineState, EntryState, SuppressionEntry, SuppressionState, Waivers};

/// The identity of an evaluated deployment: what findings and reports name it by.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub kind: DeploymentKind,
    pub id: String,
    pub arn: String,
    pub account_id: String,
    pub region: String,
    pub tags: Option<BTreeMap<String, String>>,
    /// Where it is declared, for a resource of a Terraform plan found in `--source`.
    pub source: Option<SourceLocation>,
    /// Its account as the organization knows it (name, organizational unit), when the inventory
    /// lists the account (`--organization`); one copy per account, shared.
    pub owner: Option<std::sync::Arc<Account>>,
}

/// A resource block in a `.tf` file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLocation {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What `ecaudit plan` judged, and how its gate counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanInfo {
    /// The plan or state file (`-`: standard input).
    pub file: String,
    /// `plan`, `state` (`terraform show -json` of a state) or `raw_state` (a `.tfstate`).
    pub document: String,
    /// `introduced`: the gate counts only failing findings the plan introduces (the default);
    /// `all`: every failing finding (`--gate all`).
    pub gate: PlanGate,
    pub introduced: usize,
    pub existing: usize,
    pub fixed: usize,
}

/// Which failing findings of a plan the gate counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum PlanGate {
    /// Only those the plan introduces.
    #[default]
    Introduced,
    /// Every failing finding, existing ones included.
    All,
}

impl From<&Deployment> for Resource {
    fn from(d: &Deployment) -> Self {
        Resource {
            kind: d.kind,
            id: d.id.clone(),
            arn: d.arn.clone(),
            account_id: d.account_id.clone(),
            region: d.region.clone(),
            tags: d.tags.clone(),
            source: None,
            owner: None,
        }
    }
}

/// What a scan found: the deployments evaluated (by identity), the inventory's coverage, the
/// rules and the findings, then what the waivers and the previous run made of them. The full
/// inventory is not kept, so memory does not grow with the size of each deployment's facts.
pub struct ScanResult {
    pub resources: Vec<Resource>,
    pub coverage: Vec<CoverageEntry>,
    pub collected_at: Option<DateTime<Utc>>,
    pub collector: Option<Collector>,
    /// Which units this result covers, when it is one shard of a scan (`--shard K/N`).
    pub shard: Option<crate::shard::ShardInfo>,
    pub rules: RuleSet,
    pub findings: Vec<Finding>,
    /// The instant rules were evaluated as of (the inventory's collection time when it has one).
    pub evaluated_at: DateTime<Utc>,
    /// Suppressions and baseline applied after evaluation.
    pub waivers: Waivers,
    /// What drifted since the previous run (`--history`).
    pub drift: Option<DriftReport>,
    /// The Terraform document judged (`ecaudit plan`).
    pub plan: Option<PlanInfo>,
}

impl ScanResult {
    /// A result as evaluation leaves it: the inventory's header (coverage, collection time,
    /// collector, shard), the deployments' identities, each with its account's owner from the
    /// header's accounts, and their findings in inventory order; nothing waived, no drift.
    pub fn evaluated(
        header: Inventory,
        rules: RuleSet,
        evaluated_at: DateTime<Utc>,
        mut resources: Vec<Resource>,
        findings: Vec<Finding>,
    ) -> ScanResult {
        if !header.accounts.is_empty() {
            let owners: BTreeMap<String, std::sync::Arc<Account>> = header
                .accounts
                .into_iter()
                .map(|a| (a.id.clone(), std::sync::Arc::new(a)))
                .collect();
            for r in &mut resources {
                r.owner = owners.get(&r.account_id).cloned();
            }
        }
        ScanResult {
            resources,
            coverage: header.coverage,
            collected_at: header.collected_at,
            collector: header.collector,
            shard: header.shard,
            rules,
            findings,
            evaluated_at,
            waivers: Waivers::default(),
            drift: None,
            plan: None,
        }
    }

    pub fn rule(&self, f: &Finding) -> &Rule {
        &self.rules.rules()[f.rule]
    }

    pub fn resource(&self, f: &Finding) -> &Resource {
        &self.resources[f.deployment]
    }

    /// Coverage entries that failed.
    pub fn gaps(&self) -> impl Iterator<Item = &CoverageEntry> {
        self.coverage.iter().filter(|c| c.is_gap())
    }
}
