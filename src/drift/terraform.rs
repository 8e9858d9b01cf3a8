//! Drift against declared state: the JSON of `terraform show -json` (a state, or a plan's
//! planned values; a raw state file is first put in that shape by
//! [`crate::plan::state_values`]) compared with live deployments. Each Terraform attribute maps to an inventory
//! fact (the table is in `docs/terraform.md` and `deployment_attributes`); a fact the inventory
//! does not know (null) is never reported as drift.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use super::permission_lines;
use crate::arn::Arn;
use crate::inventory::{Deployment, DeploymentKind, Inventory};
use crate::result::Identity;

impl StateDrift {
    /// Records `attribute` of `resource` when the declared and live values differ; not when it
    /// is not declared (null, or the provider's "" for unset) or not known live (null).
    #[allow(clippy::too_many_arguments)]
    fn check(
        &mut self,
        address: &str,
        resource: &str,
        attribute: &str,
        fact: &str,
        declared: Value,
        live: Value,
        how: Compare,
    ) {
        if undeclared(&declared) || live.is_null() || same(&declared, &live, &how) {
            return;
        }
        self.differ.push(AttributeDrift {
            address: address.to_string(),
            resource: resource.to_string(),
            attribute: attribute.to_string(),
            fact: fact.to_string(),
            declared,
            live,
        });
    }
}

/// A resource of the state, as `terraform show -json` lists it.
#[derive(Clone, Debug)]
struct TfResource {
    address: String,
    kind: String,
    values: Value,
}

/// One declared attribute that differs from what is live.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttributeDrift {
    /// The Terraform address, e.g. `module.cache.aws_elasticache_replication_group.orders`.
    pub address: String,
    /// The live resource: deployment id, security group id, alarm or parameter group name.
    pub resource: String,
    /// The Terraform attribute.
    pub attribute: String,
    /// The inventory fact it is compared with.
    pub fact: String,
    pub declared: Value,
    pub live: Value,
}

/// A declared resource with nothing live to match.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Missing {
    pub address: String,
    pub resource: String,
}

/// What `ecaudit drift --terraform-state` reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StateDrift {
    pub state: String,
    /// Declared deployments found live.
    pub managed: usize,
    /// Declared attributes that differ from live.
    pub differ: Vec<AttributeDrift>,
    /// Live deployments no Terraform resource declares.
    pub unmanaged: Vec<Identity>,
    /// Declared deployments and alarms not found live.
    pub missing: Vec<Missing>,
    /// Declared deployments not found in an account and region the collection could not read
    /// completely (coverage gaps): not known to be missing.
    pub unverified: Vec<Missing>,
    pub drifted: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct StateError {
    pub file: String,
    pub message: String,
}

/// The managed resources of a `terraform show -json` document: a state (`values`) or a plan
/// (`planned_values`), modules included.
fn resources(file: &str, doc: &Value) -> Result<Vec<TfResource>, StateError> {
    // An empty workspace's state is only `{"format_version": ...}`: it declares nothing.
    if doc.get("format_version").is_some()
        && doc.get("values").is_none()
        && doc.get("planned_values").is_none()
    {
        return Ok(Vec::new());
    }
    let root = doc
        .get("planned_values")
        .or_else(|| doc.get("values"))
        .and_then(|v| v.get("root_module"))
        .ok_or_else(|| StateError {
            file: file.to_string(),
            message:
                "not the JSON of `terraform show -json` (no values.root_module or planned_values.root_module)"
                    .into(),
        })?;
    let mut out = Vec::new();
    let mut modules = vec![root];
    while let Some(module) = modules.pop() {
        for r in module["resources"].as_array().into_iter().flatten() {
            if r["mode"] != "managed" {
                continue;
            }
            out.push(TfResource {
                address: r["address"].as_str().unwrap_or_default().to_string(),
                kind: r["type"].as_str().unwrap_or_default().to_string(),
                values: r["values"].clone(),
            });
        }
        modules.extend(module["child_modules"].as_array().into_iter().flatten());
    }
    out.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(out)
}

/// A Terraform boolean (`true`, or `"true"` in older providers); anything else as it is.
fn tf_bool(v: &Value) -> Value {
    crate::plan::tf_bool(v).map_or_else(|| v.clone(), Value::Bool)
}

/// A set of strings, sorted (`null` when not a list: not declared).
fn set(v: &Value) -> Value {
    if !v.is_array() {
        return Value::Null;
    }
    let mut items: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect();
    items.sort();
    items.dedup();
    json!(items)
}

fn to_value<T: Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// How a declared value is compared with the live one.
enum Compare {
    Equal,
    /// `7.1` declared matches `7.1.0` live.
    Version,
}

/// The attribute map: Terraform attribute, inventory fact, declared value (normalised), live
/// value, comparison. Documented in `docs/terraform.md`.
fn deployment_attributes(
    kind: DeploymentKind,
    v: &Value,
    d: &Deployment,
) -> Vec<(&'static str, &'static str, Value, Value, Compare)> {
    use Compare::*;
    let sg_ids = if d.unknown_facts.iter().any(|f| f == "security_groups") {
        Value::Null
    } else {
        json!(d.security_groups.iter().map(|g| g.id.clone()).collect::<Vec<_>>())
    };
    let version = if v["engine_version_actual"].is_string() {
        v["engine_version_actual"].clone()
    } else {
        v["engine_version"].clone()
    };
    let tags = if v["tags_all"].is_object() {
        v["tags_all"].clone()
    } else {
        v["tags"].clone()
    };
    let mut out = vec![
        ("engine", "engine", v["engine"].clone(), json!(d.engine), Equal),
        (
            "security_group_ids",
            "security_groups[].id",
            set(&v["security_group_ids"]),
            set(&sg_ids),
            Equal,
        ),
        (
            "snapshot_retention_limit",
            "snapshot_retention_days",
            v["snapshot_retention_limit"].clone(),
            to_value(d.snapshot_retention_days),
            Equal,
        ),
        (
            "kms_key_id",
            "kms_key_id",
            v["kms_key_id"].clone(),
            to_value(&d.kms_key_id),
            Equal,
        ),
        ("tags_all", "tags", tags, to_value(&d.tags), Equal),
    ];
    match kind {
        DeploymentKind::ServerlessCache => {
            out.push((
                "major_engine_version",
                "engine_version",
                v["major_engine_version"].clone(),
                to_value(&d.engine_version),
                Version,
            ));
            out.push((
                "daily_snapshot_time",
                "snapshot_window",
                v["daily_snapshot_time"].clone(),
                to_value(&d.snapshot_window),
                Equal,
            ));
            out.push((
                "user_group_id",
                "user_group_ids",
                v["user_group_id"]
                    .as_str()
                    .filter(|g| !g.is_empty())
                    .map_or(Value::Null, |g| json!([g])),
                set(&json!(d.user_group_ids)),
                Equal,
            ));
        }
        _ => {
            out.extend([
                (
                    "engine_version",
                    "engine_version",
                    version,
                    to_value(&d.engine_version),
                    Version,
                ),
                (
                    "node_type",
                    "node_type",
                    v["node_type"].clone(),
                    to_value(&d.node_type),
                    Equal,
                ),
                ("port", "port", v["port"].clone(), to_value(d.port), Equal),
                (
                    "parameter_group_name",
                    "parameter_group.name",
                    v["parameter_group_name"].clone(),
                    to_value(d.parameter_group.as_ref().map(|p| &p.name)),
                    Equal,
                ),
                (
                    "subnet_group_name",
                    "subnet_group.name",
                    v["subnet_group_name"].clone(),
                    to_value(d.subnet_group.as_ref().and_then(|s| s.name.as_ref())),
                    Equal,
                ),
                (
                    "snapshot_window",
                    "snapshot_window",
                    v["snapshot_window"].clone(),
                    to_value(&d.snapshot_window),
                    Equal,
                ),
                (
                    "notification_topic_arn",
                    "notification_topic.arn",
                    v["notification_topic_arn"].clone(),
                    to_value(d.notification_topic.as_ref().map(|t| &t.arn)),
                    Equal,
                ),
                (
                    "auto_minor_version_upgrade",
                    "auto_minor_version_upgrade",
                    tf_bool(&v["auto_minor_version_upgrade"]),
                    to_value(d.auto_minor_version_upgrade),
                    Equal,
                ),
                (
                    "transit_encryption_enabled",
                    "transit_encryption",
                    tf_bool(&v["transit_encryption_enabled"]),
                    to_value(d.transit_encryption),
                    Equal,
                ),
            ]);
        }
    }
    if kind == DeploymentKind::ReplicationGroup {
        out.extend([
            (
                "at_rest_encryption_enabled",
                "at_rest_encryption",
                tf_bool(&v["at_rest_encryption_enabled"]),
                to_value(d.at_rest_encryption),
                Equal,
            ),
            (
                "transit_encryption_mode",
                "transit_encryption_mode",
                v["transit_encryption_mode"].clone(),
                to_value(d.transit_encryption_mode),
                Equal,
            ),
            (
                "multi_az_enabled",
                "multi_az",
                tf_bool(&v["multi_az_enabled"]),
                to_value(d.multi_az),
                Equal,
            ),
            (
                "automatic_failover_enabled",
                "automatic_failover",
                match tf_bool(&v["automatic_failover_enabled"]) {
                    Value::Bool(true) => json!("enabled"),
                    Value::Bool(false) => json!("disabled"),
                    _ => Value::Null,
                },
                to_value(d.automatic_failover),
                Equal,
            ),
            (
                "cluster_mode",
                "cluster_mode",
                v["cluster_mode"].clone(),
                to_value(d.cluster_mode),
                Equal,
            ),
            (
                "num_node_groups",
                "node_groups (count)",
                v["num_node_groups"].clone(),
                json!(d.node_groups.len()),
                Equal,
            ),
            (
                "user_group_ids",
                "user_group_ids",
                if v["user_group_ids"].is_array() {
                    set(&v["user_group_ids"])
                } else {
                    Value::Null
                },
                set(&json!(d.user_group_ids)),
                Equal,
            ),
        ]);
    }
    out
}

fn same(declared: &Value, live: &Value, how: &Compare) -> bool {
    match (how, declared, live) {
        // `7.1` matches `7.1.0`; `6.x` matches `6.2.6`.
        (Compare::Version, Value::String(a), Value::String(b)) => {
            let a = a.strip_suffix(".x").unwrap_or(a);
            b == a || b.starts_with(&format!("{a}."))
        }
        _ => declared == live,
    }
}

/// Whether a state value declares nothing: the AWS provider writes `""` for unset strings.
fn undeclared(v: &Value) -> bool {
    v.is_null() || v.as_str() == Some("")
}

/// The live deployment a Terraform resource of `kind` declares, by ARN, else by id.
fn find<'a>(
    inventory: &'a Inventory,
    kind: DeploymentKind,
    id: &str,
    arn: Option<&str>,
) -> Option<&'a Deployment> {
    inventory
        .deployments
        .iter()
        .find(|d| arn.is_some_and(|a| a == d.arn))
        .or_else(|| {
            inventory
                .deployments
                .iter()
                .find(|d| d.kind == kind && d.id == id)
        })
}

/// Ingress as lines per source, from a Terraform `ingress` block or rule resource, in the
/// inventory's permission shape (built as `ecaudit plan` builds it).
fn tf_permission(
    protocol: &Value,
    from: &Value,
    to: &Value,
    v4: Vec<Value>,
    v6: Vec<Value>,
    groups: Vec<Value>,
    prefixes: Vec<Value>,
) -> Vec<String> {
    let strings = |v: Vec<Value>| -> Vec<String> {
        v.into_iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let permission = crate::plan::ingress_permission(
        protocol.as_str().unwrap_or("-1"),
        from.as_i64(),
        to.as_i64(),
        strings(v4),
        strings(v6),
        strings(groups),
        strings(prefixes),
    );
    permission_lines(&to_value(&permission))
}

fn list(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// Compares a Terraform state with an inventory.
pub fn compare(file: &str, state: &Value, inventory: &Inventory) -> Result<StateDrift, StateError> {
    let resources = resources(file, state)?;
    let mut drift = StateDrift {
        state: file.to_string(),
        managed: 0,
        differ: Vec::new(),
        unmanaged: Vec::new(),
        missing: Vec::new(),
        unverified: Vec::new(),
        drifted: false,
    };
    let gaps: BTreeSet<(&str, &str)> = inventory.gaps().map(|c| (&*c.account_id, &*c.region)).collect();
    let mut managed: BTreeSet<&str> = BTreeSet::new();
    for r in &resources {
        let v = &r.values;
        let (kind, id) = match r.kind.as_str() {
            "aws_elasticache_replication_group" => {
                (DeploymentKind::ReplicationGroup, &v["replication_group_id"])
            }
            // A cluster that belongs to a replication group is a member, not a deployment.
            "aws_elasticache_cluster" if v["replication_group_id"].as_str().is_none_or(str::is_empty) => {
                (DeploymentKind::CacheCluster, &v["cluster_id"])
            }
            "aws_elasticache_serverless_cache" => (DeploymentKind::ServerlessCache, &v["name"]),
            _ => continue,
        };
        let id = id.as_str().unwrap_or_default();
        let Some(d) = find(inventory, kind, id, v["arn"].as_str()) else {
            let entry = Missing {
                address: r.address.clone(),
                resource: id.to_string(),
            };
            let unread = match v["arn"].as_str() {
                Some(arn) => Arn::parse(arn).is_some_and(|a| gaps.contains(&(a.account, a.region))),
                None => !gaps.is_empty(),
            };
            if unread {
                drift.unverified.push(entry);
            } else {
                drift.missing.push(entry);
            }
            continue;
        };
        drift.managed += 1;
        managed.insert(d.arn.as_str());
        for (attribute, fact, declared, live, how) in deployment_attributes(kind, v, d) {
            drift.check(&r.address, &d.id, attribute, fact, declared, live, how);
        }
    }
    drift.unmanaged = inventory
        .deployments
        .iter()
        .filter(|d| !managed.contains(d.arn.as_str()))
        .map(Identity::from)
        .collect();
    security_groups(&resources, inventory, &mut drift);
    parameter_groups(&resources, inventory, &mut drift);
    alarms(&resources, inventory, &mut drift);
    drift.drifted = !drift.differ.is_empty() || !drift.unmanaged.is_empty() || !drift.missing.is_empty();
    Ok(drift)
}

/// Declared ingress (inline `ingress` blocks and rule resources) against the live permissions of
/// the security groups attached to deployments.
fn security_groups(resources: &[TfResource], inventory: &Inventory, drift: &mut StateDrift) {
    let live: BTreeMap<&str, BTreeSet<String>> = inventory
        .deployments
        .iter()
        .flat_map(|d| &d.security_groups)
        .map(|g| {
            let lines = g
                .ingress
                .iter()
                .flat_map(|p| permission_lines(&to_value(p)))
                .collect();
            (g.id.as_str(), lines)
        })
        .collect();
    let mut declared: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for r in resources {
        let v = &r.values;
        let (group, lines) = match r.kind.as_str() {
            "aws_security_group" => {
                let Some(id) = v["id"].as_str() else { continue };
                let lines: Vec<String> = list(&v["ingress"])
                    .iter()
                    .flat_map(|i| {
                        let mut groups = list(&i["security_groups"]);
                        if i["self"] == Value::Bool(true) {
                            groups.push(json!(id));
                        }
                        tf_permission(
                            &i["protocol"],
                            &i["from_port"],
                            &i["to_port"],
                            list(&i["cidr_blocks"]),
                            list(&i["ipv6_cidr_blocks"]),
                            groups,
                            list(&i["prefix_list_ids"]),
                        )
                    })
                    .collect();
                (id.to_string(), lines)
            }
            "aws_vpc_security_group_ingress_rule" => {
                let Some(id) = v["security_group_id"].as_str() else {
                    continue;
                };
                let lines = tf_permission(
                    &v["ip_protocol"],
                    &v["from_port"],
                    &v["to_port"],
                    vec![v["cidr_ipv4"].clone()],
                    vec![v["cidr_ipv6"].clone()],
                    vec![v["referenced_security_group_id"].clone()],
                    vec![v["prefix_list_id"].clone()],
                );
                (id.to_string(), lines)
            }
            "aws_security_group_rule" if v["type"] == "ingress" => {
                let Some(id) = v["security_group_id"].as_str() else {
                    continue;
                };
                let mut groups = vec![v["source_security_group_id"].clone()];
                if v["self"] == Value::Bool(true) {
                    groups.push(json!(id));
                }
                let lines = tf_permission(
                    &v["protocol"],
                    &v["from_port"],
                    &v["to_port"],
                    list(&v["cidr_blocks"]),
                    list(&v["ipv6_cidr_blocks"]),
                    groups,
                    list(&v["prefix_list_ids"]),
                );
                (id.to_string(), lines)
            }
            _ => continue,
        };
        let entry = declared
            .entry(group)
            .or_insert_with(|| (r.address.clone(), BTreeSet::new()));
        if r.kind == "aws_security_group" {
            entry.0 = r.address.clone();
        }
        entry.1.extend(lines);
    }
    for (group, (address, lines)) in declared {
        // A group no deployment uses is not in the inventory: nothing to compare.
        let Some(now) = live.get(group.as_str()) else {
            continue;
        };
        let not_live: Vec<&String> = lines.difference(now).collect();
        let not_declared: Vec<&String> = now.difference(&lines).collect();
        if not_live.is_empty() && not_declared.is_empty() {
            continue;
        }
        drift.differ.push(AttributeDrift {
            address,
            resource: group,
            attribute: "ingress".into(),
            fact: "security_groups[].ingress".into(),
            declared: json!(not_live),
            live: json!(not_declared),
        });
    }
}

fn parameter_groups(resources: &[TfResource], inventory: &Inventory, drift: &mut StateDrift) {
    for r in resources
        .iter()
        .filter(|r| r.kind == "aws_elasticache_parameter_group")
    {
        let v = &r.values;
        let Some(name) = v["name"].as_str() else { continue };
        let used: Vec<&crate::inventory::ParameterGroup> = inventory
            .deployments
            .iter()
            .filter_map(|d| d.parameter_group.as_ref())
            .filter(|p| p.name == name)
            .collect();
        // Parameter groups are read through the deployments that use them.
        let Some(live) = used.first() else { continue };
        let cluster_enabled = list(&v["parameter"])
            .iter()
            .find(|p| p["name"] == "cluster-enabled")
            .map(|p| p["value"].clone())
            .unwrap_or(Value::Null);
        for (attribute, fact, declared, now) in [
            (
                "family",
                "parameter_group.family",
                v["family"].clone(),
                to_value(&live.family),
            ),
            (
                "parameter[cluster-enabled]",
                "parameter_group.cluster_enabled",
                cluster_enabled,
                to_value(&live.cluster_enabled),
            ),
        ] {
            drift.check(&r.address, name, attribute, fact, declared, now, Compare::Equal);
        }
    }
}

fn alarms(resources: &[TfResource], inventory: &Inventory, drift: &mut StateDrift) {
    // Nodes whose alarms were read: a declared alarm missing on another node is unknown.
    let nodes: BTreeSet<&str> = inventory
        .deployments
        .iter()
        .filter(|d| !d.unknown_facts.iter().any(|f| f == "alarms"))
        .flat_map(|d| &d.node_groups)
        .flat_map(|g| &g.members)
        .map(|m| m.cache_cluster_id.as_str())
        .collect();
    let live: BTreeMap<&str, &crate::inventory::Alarm> = inventory
        .deployments
        .iter()
        .flat_map(|d| &d.node_groups)
        .flat_map(|g| &g.members)
        .flat_map(|m| &m.alarms)
        .flat_map(|a| {
            [Some(a.name.as_str()), a.arn.as_deref()]
                .into_iter()
                .flatten()
                .map(move |k| (k, a))
        })
        .collect();
    for r in resources
        .iter()
        .filter(|r| r.kind == "aws_cloudwatch_metric_alarm")
    {
        let v = &r.values;
        let Some(name) = v["alarm_name"].as_str() else {
            continue;
        };
        // By ARN when the state has one (names repeat across accounts and regions).
        let Some(a) = v["arn"]
            .as_str()
            .and_then(|arn| live.get(arn))
            .or_else(|| live.get(name))
        else {
            // Only alarms on nodes of the inventory are ones a scan would have seen.
            if v["dimensions"]["CacheClusterId"]
                .as_str()
                .is_some_and(|n| nodes.contains(n))
            {
                drift.missing.push(Missing {
                    address: r.address.clone(),
                    resource: name.to_string(),
                });
            }
            continue;
        };
        let number = |x: &Value| x.as_f64().map_or(Value::Null, |f| json!(f));
        for (attribute, fact, declared, now) in [
            (
                "namespace",
                "alarms[].namespace",
                v["namespace"].clone(),
                to_value(&a.namespace),
            ),
            (
                "metric_name",
                "alarms[].metric_name",
                v["metric_name"].clone(),
                to_value(&a.metric_name),
            ),
            (
                "statistic",
                "alarms[].statistic",
                // A percentile is `extended_statistic`, with `statistic` left "".
                if undeclared(&v["statistic"]) {
                    v["extended_statistic"].clone()
                } else {
                    v["statistic"].clone()
                },
                to_value(&a.statistic),
            ),
            (
                "threshold",
                "alarms[].threshold",
                number(&v["threshold"]),
                to_value(a.threshold),
            ),
            (
                "comparison_operator",
                "alarms[].comparison",
                v["comparison_operator"].clone(),
                to_value(&a.comparison),
            ),
            (
                "evaluation_periods",
                "alarms[].evaluation_periods",
                v["evaluation_periods"].clone(),
                to_value(a.evaluation_periods),
            ),
            (
                "period",
                "alarms[].period_seconds",
                v["period"].clone(),
                to_value(a.period_seconds),
            ),
            (
                "actions_enabled",
                "alarms[].actions_enabled",
                tf_bool(&v["actions_enabled"]),
                json!(a.actions_enabled),
            ),
            (
                "alarm_actions",
                "alarms[].alarm_actions",
                if v["alarm_actions"].is_array() {
                    set(&v["alarm_actions"])
                } else {
                    Value::Null
                },
                set(&json!(a.alarm_actions)),
            ),
            (
                "dimensions",
                "alarms[].dimensions",
                v["dimensions"].clone(),
                to_value(&a.dimensions),
            ),
        ] {
            drift.check(&r.address, name, attribute, fact, declared, now, Compare::Equal);
        }
    }
}
