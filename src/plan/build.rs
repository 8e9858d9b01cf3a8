//! Deployments from a Terraform document's resources: one per replication group, standalone
//! cache cluster and serverless cache, with the facts a live scan joins in (security groups and
//! their ingress, the VPC's CIDR blocks, the parameter group, alarms) taken from the other
//! resources of the same side of the plan. A value known only after apply is traced through the
//! configuration; when that fails it is an unknown fact, as an unreadable API makes one live.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use serde_json::Value;

use super::context::{Cx, Gap, NULL, Ref, gap, unique};
use super::document::{Doc, DocumentKind, Mode, PlanError};
use super::parameters;
use super::resolve::{Node, Obj, Resolver, Target};
use super::{Action, Planned};
use crate::inventory::{Deployment, DeploymentKind, Inventory};

/// A cluster that belongs to a replication group (`replication_group_id` set) is one of its
/// members, not a deployment.
fn member_of(cx: &Cx, i: usize) -> Option<Result<Ref, Gap>> {
    let node = cx.node(i).get("replication_group_id");
    if !node.unknown() {
        return node.str().ok().flatten().map(|g| Ok(Ref::Id(g.to_string())));
    }
    // Unknown, so it is set: find which group.
    Some(match cx.res.attribute(i, "replication_group_id").as_deref() {
        Some([Target::Resource(j, _)]) => Ok(Ref::Resource(*j)),
        Some([Target::Value(Value::String(s))]) => Ok(Ref::Id(s.clone())),
        _ => Err(Gap::Unknown),
    })
}

/// The deployments of one side, in document order, with what each resource index became.
fn deployments(cx: &Cx) -> Vec<(usize, Deployment)> {
    let mut out = Vec::new();
    let mut members = Vec::new();
    for (i, o) in cx.side.iter().enumerate() {
        if o.r.mode != Mode::Managed {
            continue;
        }
        match o.r.kind.as_str() {
            "aws_elasticache_replication_group" => out.push((i, cx.replication_group(i))),
            "aws_elasticache_cluster" => match member_of(cx, i) {
                Some(group) => members.push((i, group)),
                None => out.push((i, cx.cache_cluster(i))),
            },
            "aws_elasticache_serverless_cache" => out.push((i, cx.serverless_cache(i))),
            _ => {}
        }
    }
    parameters::members(cx, &mut out, members);
    parameters::alarms(cx, &mut out);
    for (_, d) in &mut out {
        // AWS places a node the configuration does not pin when it creates it, and a plan does
        // not say where existing nodes are: a shard's zones are unknown, not a violation.
        if d.kind == DeploymentKind::ReplicationGroup && d.nodes().any(|n| n.availability_zone.is_none()) {
            gap(
                d,
                crate::facts::AVAILABILITY_ZONES,
                "the Availability Zone of each node",
                Gap::Unknown,
            );
        }
        d.notes = unique(std::mem::take(&mut d.notes));
    }
    out
}

/// One side of the document as resources with values.
fn side<'a>(doc: &'a Doc, before: bool) -> Vec<Obj<'a>> {
    doc.resources
        .iter()
        .filter_map(|r| {
            let node = if before {
                Node::new(r.before.as_ref()?, &NULL, &r.before_sensitive)
            } else {
                Node::new(r.after.as_ref()?, &r.after_unknown, &r.after_sensitive)
            };
            Some(Obj { r, node })
        })
        .collect()
}

fn inventory(cx: &Cx) -> (Inventory, Vec<(usize, String)>) {
    let mut inv = Inventory::new();
    let built = deployments(cx);
    let ids = built.iter().map(|(i, d)| (*i, d.id.clone())).collect();
    inv.deployments = built.into_iter().map(|(_, d)| d).collect();
    (inv, ids)
}

pub fn planned(doc: &Doc, extra: Option<&Inventory>) -> Result<Planned, PlanError> {
    let after_side = side(doc, false);
    let before_side = if doc.kind == DocumentKind::Plan {
        side(doc, true)
    } else {
        Vec::new()
    };
    let cx = |side| Cx {
        side,
        res: Resolver::new(side, doc),
        extra,
        rules: OnceCell::new(),
        doc,
    };
    let after_cx = cx(&after_side);
    let (mut after, made) = inventory(&after_cx);
    let (before, was) = inventory(&cx(&before_side));
    let mut actions = BTreeMap::new();
    let mut config_addresses = BTreeMap::new();
    for (i, id) in made {
        actions.insert(id.clone(), after_side[i].r.action);
        config_addresses.insert(id, after_side[i].r.config_address());
    }
    // Deleted deployments are only before.
    for (i, id) in was {
        let r = before_side[i].r;
        actions
            .entry(id.clone())
            .or_insert(if r.after.is_none() && r.action != Action::Forget {
                Action::Delete
            } else {
                r.action
            });
        config_addresses.entry(id).or_insert_with(|| r.config_address());
    }
    // The facts are as of the plan: a cache it creates (or replaces) is created after it, so it
    // has no snapshot yet rather than an unknown one (`recent-automatic-snapshot` passes a cache
    // younger than its limit, as live).
    after.collected_at = doc.timestamp;
    if let Some(planned_at) = doc.timestamp {
        for d in &mut after.deployments {
            if matches!(actions.get(&d.id), Some(Action::Create | Action::Replace)) {
                d.created_at = Some(planned_at);
                d.unknown_facts.retain(|f| f != "latest_automatic_snapshot");
            }
        }
    }
    Ok(Planned {
        kind: doc.kind,
        after,
        before,
        actions,
        config_addresses,
        configuration: doc.configuration.clone(),
    })
}
