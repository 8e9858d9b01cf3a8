//! The parameter group, member clusters and CloudWatch alarms of deployments, from the other
//! resources of the plan (or the `extra` inventory).

use std::collections::BTreeMap;

use super::context::Ref;
use super::context::{Cx, Gap, cache_node, gap};
use super::network::one_ref;
use super::resolve::{Node, Target};
use crate::inventory::{Alarm, AlarmMetric, Deployment, DeploymentKind, LookupState, ParameterGroup};

/// Family and `cluster-enabled` of a default parameter group, from its name
/// (`default.redis7.cluster.on`).
fn default_group(name: &str) -> (String, Option<String>) {
    let family = name
        .trim_start_matches("default.")
        .trim_end_matches(".cluster.on");
    let cluster = (!family.starts_with("memcached")).then(|| {
        if name.ends_with(".cluster.on") {
            "yes"
        } else {
            "no"
        }
        .to_string()
    });
    (family.to_string(), cluster)
}

pub(super) fn parameter_group(cx: &Cx, d: &mut Deployment, i: usize) -> Option<ParameterGroup> {
    let name = match cx.string(i, "parameter_group_name", false) {
        Ok(name) => name?,
        Err(why) => {
            gap(d, "parameter_group", "`parameter_group_name`", why);
            return None;
        }
    };
    let traced = match one_ref(cx, i, "parameter_group_name") {
        Some(Ref::Resource(j)) if cx.kind(j) == "aws_elasticache_parameter_group" => Some(j),
        _ => None,
    };
    let found = traced.or_else(|| {
        cx.of_type("aws_elasticache_parameter_group")
            .find(|j| cx.node(*j).get("name").str() == Ok(Some(&name)))
    });
    let is_default = name.starts_with("default.");
    let mut group = ParameterGroup {
        name: name.clone(),
        state: LookupState::Found,
        family: None,
        cluster_enabled: None,
        is_default: Some(is_default),
        status: None,
    };
    if let Some(j) = found {
        let n = cx.node(j);
        group.family = cx.string(j, "family", false).ok().flatten();
        let parameters = n.get("parameter");
        if parameters.unknown() {
            gap(
                d,
                "parameter_group",
                &format!("a parameter of `{}`", cx.address(j)),
                Gap::Unknown,
            );
        } else if !group
            .family
            .as_deref()
            .unwrap_or_default()
            .starts_with("memcached")
        {
            // Not set, it is the family's default: off.
            let set = parameters
                .items()
                .into_iter()
                .find(|p| p.get("name").v.as_str() == Some("cluster-enabled"))
                .and_then(|p| p.get("value").v.as_str().map(str::to_string));
            group.cluster_enabled = Some(set.unwrap_or_else(|| "no".into()));
        }
    } else if is_default {
        let (family, cluster) = default_group(&name);
        group.family = Some(family);
        group.cluster_enabled = cluster;
    } else if let Some(known) = cx.extra.and_then(|inv| {
        inv.deployments
            .iter()
            .filter_map(|e| e.parameter_group.as_ref())
            .find(|p| p.name == name && p.state == LookupState::Found)
    }) {
        group = ParameterGroup {
            status: None,
            ..known.clone()
        };
    } else {
        d.notes.push(format!("parameter group {name} is not in the plan"));
        group.state = LookupState::Unknown;
    }
    Some(group)
}

/// Joins each member cluster resource to its replication group, as a node of its first shard.
pub(super) fn members(cx: &Cx, out: &mut [(usize, Deployment)], members: Vec<(usize, Result<Ref, Gap>)>) {
    for (i, group) in members {
        let Ok(group) = group else { continue };
        let owner = out.iter_mut().find(|(j, d)| {
            d.kind == DeploymentKind::ReplicationGroup
                && match &group {
                    Ref::Resource(k) => k == j,
                    Ref::Id(id) => cx.node(*j).get("replication_group_id").str() == Ok(Some(id)),
                }
        });
        let Some((_, d)) = owner else { continue };
        let id = cx
            .node(i)
            .get("cluster_id")
            .str()
            .ok()
            .flatten()
            .map_or_else(|| cx.address(i).to_string(), str::to_string);
        if d.nodes().any(|n| n.cache_cluster_id == id) {
            continue;
        }
        let az = cx.node(i).get("availability_zone").str().ok().flatten();
        if d.node_groups.is_empty() {
            d.node_groups.push(crate::inventory::NodeGroup {
                id: Some("0001".into()),
                status: None,
                members: Vec::new(),
            });
        }
        d.node_groups[0].members.push(cache_node(&id, None, az));
    }
}

fn dimensions(node: Node) -> Result<BTreeMap<String, String>, Gap> {
    let v = node.known()?;
    Ok(v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect())
}

/// An alarm resource in the inventory's shape; `Err` with the alarm (what is known of it) when
/// a part that decides which node it watches, or whether it notifies, is unknown.
fn alarm(cx: &Cx, j: usize) -> (Alarm, Option<Gap>) {
    let n = cx.node(j);
    let text = |a: &str| n.get(a).str().ok().flatten().map(str::to_string);
    let mut missing = None;
    let mut note = |r: Result<(), Gap>| {
        if let Err(g) = r {
            missing = Some(g);
        }
    };
    let dims = dimensions(n.get("dimensions"));
    note(dims.as_ref().map(|_| ()).map_err(|g| *g));
    let mut metrics = Vec::new();
    for q in n.get("metric_query").items() {
        let m = q.get("metric").at(0);
        let dims = dimensions(m.get("dimensions"));
        note(dims.as_ref().map(|_| ()).map_err(|g| *g));
        note(q.get("metric").known().map(|_| ()).map_err(Gap::from));
        metrics.push(AlarmMetric {
            id: q.get("id").str().ok().flatten().unwrap_or_default().to_string(),
            namespace: m.get("namespace").str().ok().flatten().map(str::to_string),
            metric_name: m.get("metric_name").str().ok().flatten().map(str::to_string),
            dimensions: dims.unwrap_or_default(),
            statistic: m.get("stat").str().ok().flatten().map(str::to_string),
            expression: q.get("expression").str().ok().flatten().map(str::to_string),
        });
    }
    if n.get("namespace").unknown() || n.get("metric_query").unknown() {
        note(Err(Gap::Unknown));
    }
    let actions = cx.refs(j, "alarm_actions").map(|refs| {
        refs.into_iter()
            .map(|r| match r {
                Ref::Id(id) => id,
                // A topic the plan creates: named by its address until it has an ARN.
                Ref::Resource(k) => cx
                    .string(k, "arn", true)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| cx.address(k).to_string()),
            })
            .collect()
    });
    let actions = match actions {
        Ok(a) => a,
        Err(Gap::Unknown) if !n.get("alarm_actions").v.is_array() && !n.get("alarm_actions").unknown() => {
            Vec::new()
        }
        Err(g) => {
            note(Err(g));
            Vec::new()
        }
    };
    let alarm = Alarm {
        name: text("alarm_name").unwrap_or_else(|| cx.address(j).to_string()),
        arn: text("arn"),
        namespace: text("namespace"),
        metric_name: text("metric_name"),
        dimensions: dims.unwrap_or_default(),
        metrics,
        statistic: text("statistic").or_else(|| text("extended_statistic")),
        threshold: n.get("threshold").number().ok().flatten(),
        comparison: text("comparison_operator"),
        evaluation_periods: n
            .get("evaluation_periods")
            .number()
            .ok()
            .flatten()
            .map(|p| p as u32),
        period_seconds: n.get("period").number().ok().flatten().map(|p| p as u32),
        // The provider's default.
        actions_enabled: n.get("actions_enabled").boolean().ok().flatten().unwrap_or(true),
        alarm_actions: actions,
        state: None,
    };
    (alarm, missing)
}

/// The `CacheClusterId`s an alarm names (its own metric, or its metric-math metrics).
fn named_clusters(a: &Alarm) -> Vec<&str> {
    a.dimensions
        .get("CacheClusterId")
        .into_iter()
        .chain(
            a.metrics
                .iter()
                .filter_map(|m| m.dimensions.get("CacheClusterId")),
        )
        .map(String::as_str)
        .collect()
}

fn watches(a: &Alarm, node: &crate::inventory::Node) -> bool {
    named_clusters(a).contains(&node.cache_cluster_id.as_str())
        && match (a.dimensions.get("CacheNodeId"), &node.cache_node_id) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        }
}

/// Puts each alarm of the plan (and of `extra`, by `CacheClusterId`) on the nodes it watches.
/// An ElastiCache alarm whose node or actions are unknown makes the alarms of the deployments
/// it may watch unknown.
pub(super) fn alarms(cx: &Cx, out: &mut [(usize, Deployment)]) {
    let mut declared = Vec::new();
    for j in cx.of_type("aws_cloudwatch_metric_alarm") {
        let (a, missing) = alarm(cx, j);
        let elasticache = a
            .namespace
            .as_deref()
            .is_none_or(|ns| ns == crate::facts::ELASTICACHE_NAMESPACE)
            || a.metrics
                .iter()
                .any(|m| m.namespace.as_deref() == Some(crate::facts::ELASTICACHE_NAMESPACE));
        if let Some(why) = missing.filter(|_| elasticache) {
            // Which deployments it may watch: those its dimensions refer to, else any.
            let refs: Vec<usize> = cx
                .res
                .attribute(j, "dimensions")
                .into_iter()
                .flatten()
                .filter_map(|t| match t {
                    Target::Resource(k, _) => Some(k),
                    Target::Value(_) => None,
                })
                .collect();
            let named = named_clusters(&a);
            for (k, d) in out.iter_mut() {
                let ours = if refs.is_empty() {
                    named.is_empty() || d.nodes().any(|n| named.contains(&n.cache_cluster_id.as_str()))
                } else {
                    refs.contains(k)
                };
                if ours && d.kind != DeploymentKind::ServerlessCache {
                    gap(d, "alarms", &format!("part of `{}`", cx.address(j)), why);
                }
            }
        }
        declared.push(a);
    }
    let collected: Vec<(&str, &Alarm)> = cx
        .extra
        .into_iter()
        .flat_map(|inv| inv.deployments.iter())
        .flat_map(|d| d.nodes())
        .flat_map(|n| n.alarms.iter().map(move |a| (n.cache_cluster_id.as_str(), a)))
        .collect();
    for (_, d) in out.iter_mut() {
        for group in &mut d.node_groups {
            for node in &mut group.members {
                let mut found: Vec<Alarm> = declared.iter().filter(|a| watches(a, node)).cloned().collect();
                for (cluster, a) in &collected {
                    if *cluster == node.cache_cluster_id && !found.iter().any(|f| f.name == a.name) {
                        found.push((*a).clone());
                    }
                }
                node.alarms = found;
            }
        }
    }
}
