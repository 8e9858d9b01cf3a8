//! Deployments from a Terraform document's resources. (Skeleton: filled in by the plan-model
//! work of issue 21.)

use super::Planned;
use super::document::{Doc, PlanError};
use crate::inventory::Inventory;

pub fn planned(doc: &Doc, _extra: Option<&Inventory>) -> Result<Planned, PlanError> {
    Ok(Planned {
        kind: doc.kind,
        after: Inventory::new(),
        before: Inventory::new(),
        actions: Default::default(),
        config_addresses: Default::default(),
        configuration: None,
    })
}
