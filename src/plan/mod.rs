//! Terraform and OpenTofu documents judged with the rules (`ecaudit plan`): a plan (`terraform
//! show -json PLANFILE`), the JSON of a state (`terraform show -json`), or a raw state file
//! (`terraform.tfstate`, `terraform state pull`, format version 4), turned into the same
//! [`Inventory`] a live scan builds, so every rule applies unchanged.
//!
//! A plan gives two inventories: the deployments as they stood before (`before` of each resource
//! change, `prior_state`) and as they will be after apply (`after`, with `after_unknown`
//! resolved through `configuration` references where it can be, else an unknown fact). A state
//! gives one, as it stands. Each deployment's `id` is its Terraform address.
//!
//! A fact is unknown (named in `unknown_facts`, said in `notes`, and `null`, or a security group
//! or subnet group in state `unknown`) when the plan knows it only after apply and no reference
//! leads to a value, or when it lives outside the document (a security group, subnet group, VPC
//! or custom parameter group the plan only names) and `extra` does not have it. A resource the
//! plan creates stands in by its address while its id is unknown (`aws_security_group.cache`),
//! so its ingress still counts. A computed attribute the configuration does not set at all
//! (`kms_key_id`, `auth_token`, user groups, `port`) is what AWS does without it: unset. Alarms
//! are those the plan declares (and `extra`'s for the same node ids); the newest snapshot is
//! always unknown. `auth_token` and anything marked sensitive are never copied.
//!
//! Every document here comes from a pull request or a shared backend: it is untrusted (sizes are
//! bounded by the caller, values are data and are escaped by the renderers like any other).

mod build;
mod context;
mod document;
mod kinds;
mod network;
mod parameters;
mod resolve;
pub mod source;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::inventory::Inventory;

pub use document::{DocumentKind, PlanError, state_values};
pub(crate) use network::permission as ingress_permission;
pub(crate) use resolve::tf_bool;

/// What a resource change does, from its `change.actions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    /// `["delete","create"]` or `["create","delete"]`.
    Replace,
    NoOp,
    /// A data source read; never a deployment.
    Read,
    Delete,
    /// `["forget"]` (a `removed` block): no longer managed, left running; not in `after`.
    Forget,
}

/// A Terraform document as inventories.
#[derive(Clone, Debug)]
pub struct Planned {
    pub kind: DocumentKind,
    /// The deployments after apply (a plan), or as they stand (a state). Deleted resources are
    /// left out. `id` is the address (`module.cache.aws_elasticache_replication_group.main`,
    /// `...["key"]`, `...[0]`); `arn` the planned ARN when known, else `terraform:<address>`
    /// (unique and stable, so fingerprints and baselines work before the resource exists);
    /// `account_id` and `region` from the ARN when known, else the region of the provider's
    /// configuration when it is a constant, else `unknown`.
    pub after: Inventory,
    /// The same deployments as they stood before the plan, where they existed (same ids); empty
    /// for a state.
    pub before: Inventory,
    /// Per deployment address, what the plan does to it (`NoOp` for every deployment of a
    /// state).
    pub actions: BTreeMap<String, Action>,
    /// Per deployment address, its address in the configuration: module path and resource,
    /// without instance keys (`module.cache.aws_elasticache_replication_group.main`), to find its
    /// block in the `.tf` sources ([`source`]).
    pub config_addresses: BTreeMap<String, String>,
    /// The plan's `configuration` object (none in a state), for [`source::locate`].
    pub configuration: Option<serde_json::Value>,
}

/// Reads a Terraform document: a plan, the JSON of a state, or a raw state file. `extra` (a
/// collected inventory, `--inventory`) supplies facts about existing resources the document only
/// references: security groups, VPC CIDR blocks, alarms. `file` names the document in errors.
pub fn read(text: &str, file: &str, extra: Option<&Inventory>) -> Result<Planned, PlanError> {
    let doc = document::parse(text, file)?;
    build::planned(&doc, extra)
}
