//! Deployments from a Terraform document's resources: one per replication group, standalone
//! cache cluster and serverless cache, with the facts a live scan joins in (security groups and
//! their ingress, the VPC's CIDR blocks, the parameter group, alarms) taken from the other
//! resources of the same side of the plan. A value known only after apply is traced through the
//! configuration; when that fails it is an unknown fact, as an unreadable API makes one live.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use serde_json::Value;

use super::document::{Doc, DocumentKind, Mode, PlanError};
use super::joins::{self, Ref};
use super::resolve::{Node, Obj, Resolver, Target, Unknown, tf_bool};
use super::{Action, Planned};
use crate::arn::Arn;
use crate::inventory::{
    AutomaticFailover, ClusterMode, Deployment, DeploymentKind, GlobalDatastoreMembership, GlobalRole,
    Inventory, LogDelivery, Node as CacheNode, NodeGroup, NotificationTopic, TransitEncryptionMode,
};

static NULL: Value = Value::Null;

/// Why a fact is not in the inventory although the document sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Gap {
    /// Known only after apply, and not traceable through the configuration.
    Unknown,
    /// Marked sensitive: never copied.
    Sensitive,
}

impl From<Unknown> for Gap {
    fn from(_: Unknown) -> Self {
        Gap::Unknown
    }
}

/// One side of a document (the deployments before, or after, the plan) being turned into
/// deployments.
pub(super) struct Cx<'a> {
    pub side: &'a [Obj<'a>],
    pub res: Resolver<'a>,
    pub extra: Option<&'a Inventory>,
    /// The ingress rule resources, gathered once.
    pub rules: OnceCell<joins::Rules>,
    doc: &'a Doc,
}

/// Records a fact the document leaves unknown on a deployment: named in `unknown_facts`, said in
/// `notes`.
pub(super) fn gap(d: &mut Deployment, fact: &str, what: &str, why: Gap) {
    let because = match why {
        Gap::Unknown => "known only after apply",
        Gap::Sensitive => "sensitive, so not copied",
    };
    if !d.unknown_facts.iter().any(|f| f == fact) {
        d.unknown_facts.push(fact.to_string());
    }
    d.notes.push(format!("{what} is {because}"));
}

impl<'a> Cx<'a> {
    pub fn node(&self, i: usize) -> Node<'a> {
        self.side[i].node
    }

    pub fn kind(&self, i: usize) -> &'a str {
        &self.side[i].r.kind
    }

    pub fn address(&self, i: usize) -> &'a str {
        &self.side[i].r.address
    }

    /// Side resources of a type, in document order.
    pub fn of_type(&self, kind: &'a str) -> impl Iterator<Item = usize> + 'a {
        let side = self.side;
        (0..side.len()).filter(move |i| side[*i].r.kind == kind && side[*i].r.mode == Mode::Managed)
    }

    /// A string attribute of resource `i`: as `after` has it, else traced through the
    /// configuration to a constant or to a resource's known attribute; with `address_ok`, a
    /// resource the plan creates stands for its own value by its address (a KMS key, a topic).
    pub fn string(&self, i: usize, attribute: &str, address_ok: bool) -> Result<Option<String>, Gap> {
        let node = self.node(i).get(attribute);
        if node.sensitive() {
            return Err(Gap::Sensitive);
        }
        match node.str() {
            Ok(s) => Ok(s.map(str::to_string)),
            Err(Unknown) => {
                let targets = self.res.attribute(i, attribute).ok_or(Gap::Unknown)?;
                let [target] = targets.as_slice() else {
                    return Err(Gap::Unknown);
                };
                self.target_string(target, address_ok)
            }
        }
    }

    fn target_string(&self, target: &Target, address_ok: bool) -> Result<Option<String>, Gap> {
        match target {
            Target::Value(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
            Target::Value(Value::Null) => Ok(None),
            Target::Value(_) => Err(Gap::Unknown),
            Target::Resource(j, attribute) => {
                let node = attribute
                    .as_deref()
                    .map_or(Node::new(&NULL, &Value::Bool(true), &NULL), |a| {
                        self.node(*j).get(a)
                    });
                match node.str() {
                    Ok(Some(s)) if !node.sensitive() => Ok(Some(s.to_string())),
                    _ if address_ok => Ok(Some(self.address(*j).to_string())),
                    _ => Err(Gap::Unknown),
                }
            }
        }
    }

    /// A boolean attribute (`true`, or `"true"`), traced like [`Cx::string`].
    pub fn boolean(&self, i: usize, attribute: &str) -> Result<Option<bool>, Gap> {
        match self.node(i).get(attribute).boolean() {
            Ok(b) => Ok(b),
            Err(Unknown) => match self.res.attribute(i, attribute).as_deref() {
                Some([Target::Value(v)]) => Ok(tf_bool(v)),
                _ => Err(Gap::Unknown),
            },
        }
    }

    pub fn number(&self, i: usize, attribute: &str) -> Result<Option<f64>, Gap> {
        match self.node(i).get(attribute).number() {
            Ok(n) => Ok(n),
            Err(Unknown) => match self.res.attribute(i, attribute).as_deref() {
                Some([Target::Value(v)]) => Ok(v.as_f64()),
                _ => Err(Gap::Unknown),
            },
        }
    }

    /// A list or set of ids (`security_group_ids`, `subnet_ids`): the known elements, and where
    /// some are known only after apply, what the configuration's references lead to.
    pub fn refs(&self, i: usize, attribute: &str) -> Result<Vec<Ref>, Gap> {
        let node = self.node(i).get(attribute);
        let mut out: Vec<Ref> = node
            .known_strings()
            .into_iter()
            .map(|s| Ref::Id(s.to_string()))
            .collect();
        if node.unknown() {
            let targets = self.res.attribute(i, attribute).ok_or(Gap::Unknown)?;
            let before = out.len();
            for t in targets {
                match t {
                    Target::Resource(j, _) => out.push(Ref::Resource(j)),
                    Target::Value(Value::String(s)) if !s.is_empty() => out.push(Ref::Id(s)),
                    Target::Value(Value::Array(items)) => out.extend(
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .map(|s| Ref::Id(s.to_string())),
                    ),
                    Target::Value(_) => {}
                }
            }
            if out.len() == before {
                return Err(Gap::Unknown);
            }
        }
        out.dedup();
        Ok(out)
    }

    /// The region of a resource's provider configuration, when it is a constant (or a root
    /// variable).
    fn provider_region(&self, i: usize) -> Option<String> {
        let configuration = self.doc.configuration.as_ref()?;
        let key = self
            .res
            .config_resource(self.side[i].r)
            .and_then(|c| c["provider_config_key"].as_str())
            .unwrap_or("aws");
        let region = configuration
            .get("provider_config")?
            .get(key)?
            .get("expressions")?
            .get("region")?;
        if let Some(s) = region.get("constant_value").and_then(Value::as_str) {
            return Some(s.to_string());
        }
        let [reference] = region.get("references")?.as_array()?.as_slice() else {
            return None;
        };
        let name = reference.as_str()?.strip_prefix("var.")?;
        self.doc
            .variables
            .get(name)?
            .get("value")?
            .as_str()
            .map(str::to_string)
    }

    /// A deployment with its identity and the facts common to every kind filled in.
    fn base(&self, i: usize, kind: DeploymentKind, engine: String) -> Deployment {
        let address = self.address(i).to_string();
        let arn = self.node(i).get("arn").str().ok().flatten().map(str::to_string);
        let parsed = arn.as_deref().and_then(Arn::parse);
        let region = parsed
            .map(|a| a.region.to_string())
            .filter(|r| !r.is_empty())
            .or_else(|| self.provider_region(i))
            .unwrap_or_else(|| "unknown".into());
        let mut d = Deployment {
            kind,
            account_id: parsed.map_or_else(|| "unknown".into(), |a| a.account.to_string()),
            region,
            arn: arn.unwrap_or_else(|| format!("terraform:{address}")),
            id: address,
            engine,
            status: None,
            engine_version: None,
            node_type: None,
            created_at: None,
            port: None,
            endpoint: None,
            cluster_mode: None,
            node_groups: Vec::new(),
            at_rest_encryption: None,
            kms_key_id: None,
            transit_encryption: None,
            transit_encryption_mode: None,
            auth_token_enabled: None,
            user_group_ids: Vec::new(),
            multi_az: None,
            automatic_failover: None,
            pending_changes: BTreeMap::new(),
            snapshot_retention_days: None,
            snapshot_window: None,
            // A runtime fact no document holds.
            latest_automatic_snapshot: None,
            subnet_group: None,
            vpc: None,
            security_groups: Vec::new(),
            parameter_group: None,
            notification_topic: None,
            auto_minor_version_upgrade: None,
            log_delivery: Vec::new(),
            global_datastore: None,
            tags: None,
            notes: Vec::new(),
            unknown_facts: vec!["latest_automatic_snapshot".into()],
            utilisation_window: None,
        };
        d.tags = self.tags(i, &mut d);
        d.kms_key_id = self.text(&mut d, i, "kms_key_id", "kms_key_id", true);
        d.snapshot_retention_days = self
            .count(&mut d, i, "snapshot_retention_limit", "snapshot_retention_days")
            .and_then(|n| u32::try_from(n).ok());
        d
    }

    /// [`Cx::string`], a gap recorded on `d`.
    pub fn text(
        &self,
        d: &mut Deployment,
        i: usize,
        attribute: &str,
        fact: &str,
        address_ok: bool,
    ) -> Option<String> {
        self.string(i, attribute, address_ok).unwrap_or_else(|why| {
            gap(d, fact, &format!("`{attribute}`"), why);
            None
        })
    }

    fn flag(&self, d: &mut Deployment, i: usize, attribute: &str, fact: &str) -> Option<bool> {
        self.boolean(i, attribute).unwrap_or_else(|why| {
            gap(d, fact, &format!("`{attribute}`"), why);
            None
        })
    }

    fn count(&self, d: &mut Deployment, i: usize, attribute: &str, fact: &str) -> Option<u64> {
        self.number(i, attribute)
            .unwrap_or_else(|why| {
                gap(d, fact, &format!("`{attribute}`"), why);
                None
            })
            .filter(|n| *n >= 0.0 && n.fract() == 0.0)
            .map(|n| n as u64)
    }

    /// `tags_all` (the resource's tags with the provider's `default_tags`), else `tags`. A tag
    /// whose value is known only after apply is present all the same.
    fn tags(&self, i: usize, d: &mut Deployment) -> Option<BTreeMap<String, String>> {
        let node = self.node(i);
        let all = node.get("tags_all");
        let chosen = if all.v.is_object() || all.u.is_object() || all.u == &Value::Bool(true) {
            all
        } else {
            node.get("tags")
        };
        if chosen.u == &Value::Bool(true) {
            gap(d, "tags", "`tags_all`", Gap::Unknown);
            return None;
        }
        let mut out = BTreeMap::new();
        let keys = chosen
            .v
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
            .chain(chosen.u.as_object().into_iter().flatten().map(|(k, _)| k));
        for key in keys {
            let value = chosen.get(key);
            let shown = match (value.sensitive(), value.str()) {
                (true, _) => "(sensitive)".to_string(),
                (false, Ok(v)) => v.unwrap_or_default().to_string(),
                (false, Err(Unknown)) => "(known after apply)".to_string(),
            };
            out.insert(key.clone(), shown);
        }
        Some(out)
    }

    /// Whether an AUTH token is set, from the presence of `auth_token` (never its value).
    fn auth_token(&self, d: &mut Deployment, i: usize) -> Option<bool> {
        let node = self.node(i).get("auth_token");
        if !node.unknown() {
            return Some(node.v.as_str().is_some_and(|t| !t.is_empty()));
        }
        // A token made by another resource (`random_password.x.result`) will be set.
        match self.res.attribute(i, "auth_token").as_deref() {
            Some(targets) if targets.iter().any(|t| matches!(t, Target::Resource(..))) => Some(true),
            _ => {
                gap(
                    d,
                    "auth_token_enabled",
                    "whether `auth_token` is set",
                    Gap::Unknown,
                );
                None
            }
        }
    }

    fn engine(&self, i: usize, default: &str) -> String {
        match self.string(i, "engine", false) {
            Ok(Some(e)) => e,
            Ok(None) => default.to_string(),
            Err(_) => "unknown".to_string(),
        }
    }

    fn engine_version(&self, d: &mut Deployment, i: usize) -> Option<String> {
        match self.node(i).get("engine_version_actual").str() {
            Ok(Some(v)) => Some(v.to_string()),
            _ => self.text(d, i, "engine_version", "engine_version", false),
        }
    }

    fn port(&self, d: &mut Deployment, i: usize) -> Option<u16> {
        self.count(d, i, "port", "port")
            .and_then(|p| u16::try_from(p).ok())
    }

    fn log_delivery(&self, d: &mut Deployment, i: usize) -> Vec<LogDelivery> {
        let node = self.node(i).get("log_delivery_configuration");
        if node.unknown() {
            gap(d, "log_delivery", "`log_delivery_configuration`", Gap::Unknown);
        }
        node.items()
            .into_iter()
            .filter_map(|l| {
                let text = |k: &str| l.get(k).str().ok().flatten().map(str::to_string);
                Some(LogDelivery {
                    log_type: text("log_type")?,
                    destination_type: text("destination_type"),
                    destination: text("destination"),
                    format: text("log_format"),
                    status: None,
                })
            })
            .collect()
    }

    fn notification_topic(&self, d: &mut Deployment, i: usize) -> Option<NotificationTopic> {
        let arn = self.text(d, i, "notification_topic_arn", "notification_topic", true)?;
        // A topic Terraform sets is active; AWS reports `inactive` only for one it disabled.
        Some(NotificationTopic {
            arn,
            status: Some("active".into()),
        })
    }

    fn replication_group(&self, i: usize) -> Deployment {
        let mut d = self.base(i, DeploymentKind::ReplicationGroup, self.engine(i, "redis"));
        let group_id = self.string(i, "replication_group_id", false).ok().flatten();
        d.engine_version = self.engine_version(&mut d, i);
        d.node_type = self.text(&mut d, i, "node_type", "node_type", false);
        d.port = self.port(&mut d, i);
        d.endpoint = ["configuration_endpoint_address", "primary_endpoint_address"]
            .iter()
            .find_map(|a| self.node(i).get(a).str().ok().flatten().map(str::to_string));
        d.at_rest_encryption = self.flag(&mut d, i, "at_rest_encryption_enabled", "at_rest_encryption");
        d.transit_encryption = self.flag(&mut d, i, "transit_encryption_enabled", "transit_encryption");
        d.transit_encryption_mode = self.transit_mode(&mut d, i);
        d.auth_token_enabled = self.auth_token(&mut d, i);
        d.user_group_ids = self.user_groups(&mut d, i, "user_group_ids");
        d.multi_az = self.flag(&mut d, i, "multi_az_enabled", "multi_az");
        d.automatic_failover = self
            .flag(&mut d, i, "automatic_failover_enabled", "automatic_failover")
            .map(|on| {
                if on {
                    AutomaticFailover::Enabled
                } else {
                    AutomaticFailover::Disabled
                }
            });
        d.snapshot_window = self.text(&mut d, i, "snapshot_window", "snapshot_window", false);
        d.notification_topic = self.notification_topic(&mut d, i);
        d.auto_minor_version_upgrade = self.flag(
            &mut d,
            i,
            "auto_minor_version_upgrade",
            "auto_minor_version_upgrade",
        );
        d.log_delivery = self.log_delivery(&mut d, i);
        d.global_datastore = self.global_datastore(&mut d, i, group_id.as_deref());
        joins::network(self, &mut d, i);
        d.parameter_group = joins::parameter_group(self, &mut d, i);
        d.cluster_mode = self.cluster_mode(&mut d, i);
        d.node_groups = self.member_nodes(&mut d, i, group_id.as_deref());
        d
    }

    fn transit_mode(&self, d: &mut Deployment, i: usize) -> Option<TransitEncryptionMode> {
        match self
            .text(d, i, "transit_encryption_mode", "transit_encryption_mode", false)?
            .as_str()
        {
            "preferred" => Some(TransitEncryptionMode::Preferred),
            "required" => Some(TransitEncryptionMode::Required),
            _ => None,
        }
    }

    fn user_groups(&self, d: &mut Deployment, i: usize, attribute: &str) -> Vec<String> {
        let found = if self.node(i).get(attribute).v.is_array() || self.node(i).get(attribute).u.is_array() {
            self.refs(i, attribute)
        } else {
            self.string(i, attribute, true)
                .map(|g| g.into_iter().map(Ref::Id).collect())
        };
        match found {
            Ok(refs) => refs
                .into_iter()
                .map(|r| match r {
                    Ref::Id(id) => id,
                    Ref::Resource(j) => self
                        .node(j)
                        .get("user_group_id")
                        .str()
                        .ok()
                        .flatten()
                        .map_or_else(|| self.address(j).to_string(), str::to_string),
                })
                .collect(),
            Err(why) => {
                gap(d, "user_group_ids", &format!("`{attribute}`"), why);
                // Without knowing the user groups, no AUTH token is not a failure either.
                if d.auth_token_enabled == Some(false) {
                    d.auth_token_enabled = None;
                }
                Vec::new()
            }
        }
    }

    /// `cluster_mode` when set, else what decides it: more than one shard, or the parameter
    /// group's `cluster-enabled` (as AWS decides it).
    fn cluster_mode(&self, d: &mut Deployment, i: usize) -> Option<ClusterMode> {
        match self.string(i, "cluster_mode", false) {
            Ok(Some(m)) if m == "enabled" => return Some(ClusterMode::Enabled),
            Ok(Some(m)) if m == "compatible" => return Some(ClusterMode::Compatible),
            Ok(Some(m)) if m == "disabled" => return Some(ClusterMode::Disabled),
            _ => {}
        }
        if let Ok(Some(on)) = self.boolean(i, "cluster_enabled") {
            return Some(if on {
                ClusterMode::Enabled
            } else {
                ClusterMode::Disabled
            });
        }
        if matches!(self.number(i, "num_node_groups"), Ok(Some(n)) if n > 1.0) {
            return Some(ClusterMode::Enabled);
        }
        match d
            .parameter_group
            .as_ref()
            .and_then(|p| p.cluster_enabled.as_deref())
        {
            Some("yes") => Some(ClusterMode::Enabled),
            Some(_) => Some(ClusterMode::Disabled),
            None => {
                gap(d, "cluster_mode", "the cluster mode", Gap::Unknown);
                None
            }
        }
    }

    /// The member clusters a replication group will have: `member_clusters` when known, else
    /// named as AWS names them: `<id>-001`, ... (cluster mode disabled) or `<id>-0001-001`, ...
    fn member_nodes(&self, d: &mut Deployment, i: usize, group_id: Option<&str>) -> Vec<NodeGroup> {
        let node = self.node(i);
        let enabled = d.cluster_mode == Some(ClusterMode::Enabled);
        let known = node.get("member_clusters").known_strings();
        if !node.get("member_clusters").unknown() && !known.is_empty() {
            let mut ids: Vec<&str> = known;
            ids.sort_unstable();
            let mut groups: BTreeMap<String, Vec<CacheNode>> = BTreeMap::new();
            for id in ids {
                let shard = match (enabled, group_id.and_then(|g| id.strip_prefix(g))) {
                    (true, Some(rest)) => rest.trim_start_matches('-').split('-').next().unwrap_or("0001"),
                    _ => "0001",
                };
                groups
                    .entry(shard.to_string())
                    .or_default()
                    .push(cache_node(id, None, None));
            }
            return groups
                .into_iter()
                .map(|(id, members)| NodeGroup {
                    id: Some(id),
                    status: None,
                    members,
                })
                .collect();
        }
        let prefix = group_id.map_or_else(|| self.address(i).to_string(), str::to_string);
        if group_id.is_none() {
            gap(
                d,
                "alarms",
                "`replication_group_id` (so the member cluster ids)",
                Gap::Unknown,
            );
        }
        let number = |a: &str| {
            self.number(i, a)
                .ok()
                .flatten()
                .filter(|n| *n >= 1.0)
                .map(|n| n as usize)
        };
        let replicas = self
            .number(i, "replicas_per_node_group")
            .ok()
            .flatten()
            .map(|n| n.max(0.0) as usize);
        let (shards, per_shard) = if enabled {
            (number("num_node_groups").unwrap_or(1), replicas.map(|r| r + 1))
        } else {
            let clusters = number("num_cache_clusters").or_else(|| number("number_cache_clusters"));
            (1, clusters.or(replicas.map(|r| r + 1)))
        };
        let Some(per_shard) = per_shard else {
            gap(d, "node_groups", "the number of nodes", Gap::Unknown);
            return Vec::new();
        };
        let azs = node.get("preferred_cache_cluster_azs").known_strings();
        let configs = node.get("node_group_configuration").items();
        // AWS caps a replication group at 500 nodes; a larger count is no plan AWS accepts.
        let (shards, per_shard) = (shards.min(500), per_shard.min(500));
        (1..=shards)
            .map(|g| {
                let config = configs.get(g - 1);
                let members = (1..=per_shard)
                    .map(|n| {
                        let az = match config {
                            Some(c) if n == 1 => c.get("primary_availability_zone").str().ok().flatten(),
                            Some(c) => c.get("replica_availability_zones").at(n - 2).str().ok().flatten(),
                            None if !enabled => azs.get(n - 1).copied(),
                            None => None,
                        };
                        let id = if enabled {
                            format!("{prefix}-{g:04}-{n:03}")
                        } else {
                            format!("{prefix}-{n:03}")
                        };
                        cache_node(&id, None, az)
                    })
                    .collect();
                NodeGroup {
                    id: Some(format!("{g:04}")),
                    status: None,
                    members,
                }
            })
            .collect()
    }

    fn global_datastore(
        &self,
        d: &mut Deployment,
        i: usize,
        group_id: Option<&str>,
    ) -> Option<GlobalDatastoreMembership> {
        // A group joins a Global Datastore as a secondary; the primary is named by the global group.
        let (global, role) = match self.text(d, i, "global_replication_group_id", "global_datastore", true) {
            Some(id) => (
                self.of_type("aws_elasticache_global_replication_group")
                    .find(|g| {
                        self.node(*g)
                            .get("global_replication_group_id")
                            .str()
                            .ok()
                            .flatten()
                            == Some(id.as_str())
                            || self.address(*g) == id
                    }),
                Some((id, GlobalRole::Secondary)),
            ),
            None => {
                let g = self
                    .of_type("aws_elasticache_global_replication_group")
                    .find(|g| {
                        group_id.is_some()
                            && self
                                .string(*g, "primary_replication_group_id", false)
                                .ok()
                                .flatten()
                                .as_deref()
                                == group_id
                    })?;
                let id = self
                    .string(g, "global_replication_group_id", true)
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| self.address(g).to_string());
                (Some(g), Some((id, GlobalRole::Primary)))
            }
        };
        let (id, role) = role?;
        let fact = |a: &str| global.and_then(|g| self.node(g).get(a).boolean().ok().flatten());
        Some(GlobalDatastoreMembership {
            id,
            role,
            at_rest_encryption: fact("at_rest_encryption_enabled"),
            transit_encryption: fact("transit_encryption_enabled"),
            auth_token_enabled: fact("auth_token_enabled"),
        })
    }

    fn cache_cluster(&self, i: usize) -> Deployment {
        let engine = self.engine(i, "redis");
        let memcached = engine == "memcached";
        let mut d = self.base(i, DeploymentKind::CacheCluster, engine);
        let cluster_id = self.string(i, "cluster_id", false).ok().flatten();
        d.engine_version = self.engine_version(&mut d, i);
        d.node_type = self.text(&mut d, i, "node_type", "node_type", false);
        d.port = self.port(&mut d, i);
        d.endpoint = ["configuration_endpoint", "cluster_address"]
            .iter()
            .find_map(|a| self.node(i).get(a).str().ok().flatten().map(str::to_string));
        d.at_rest_encryption = if memcached {
            Some(false)
        } else {
            self.flag(&mut d, i, "at_rest_encryption_enabled", "at_rest_encryption")
        };
        d.transit_encryption = self.flag(&mut d, i, "transit_encryption_enabled", "transit_encryption");
        d.transit_encryption_mode = self.transit_mode(&mut d, i);
        d.auth_token_enabled = if memcached {
            Some(false)
        } else {
            self.auth_token(&mut d, i)
        };
        d.snapshot_window = self.text(&mut d, i, "snapshot_window", "snapshot_window", false);
        d.notification_topic = self.notification_topic(&mut d, i);
        d.auto_minor_version_upgrade = self.flag(
            &mut d,
            i,
            "auto_minor_version_upgrade",
            "auto_minor_version_upgrade",
        );
        d.log_delivery = self.log_delivery(&mut d, i);
        joins::network(self, &mut d, i);
        d.parameter_group = joins::parameter_group(self, &mut d, i);
        let id = cluster_id.unwrap_or_else(|| {
            gap(&mut d, "alarms", "`cluster_id`", Gap::Unknown);
            self.address(i).to_string()
        });
        let nodes = self
            .count(&mut d, i, "num_cache_nodes", "node_groups")
            .unwrap_or(1)
            .clamp(1, 500) as usize;
        let node = self.node(i);
        let azs = node.get("preferred_availability_zones").known_strings();
        let single_az = node.get("availability_zone").str().ok().flatten();
        let members = (1..=nodes)
            .map(|n| {
                cache_node(
                    &id,
                    Some(format!("{n:04}")),
                    azs.get(n - 1).copied().or(single_az),
                )
            })
            .collect();
        d.node_groups = vec![NodeGroup {
            id: None,
            status: None,
            members,
        }];
        d
    }

    fn serverless_cache(&self, i: usize) -> Deployment {
        let mut d = self.base(i, DeploymentKind::ServerlessCache, self.engine(i, "redis"));
        d.engine_version = match self.node(i).get("full_engine_version").str() {
            Ok(Some(v)) => Some(v.to_string()),
            _ => self.text(&mut d, i, "major_engine_version", "engine_version", false),
        };
        let endpoint = self.node(i).get("endpoint").at(0);
        d.endpoint = endpoint.get("address").str().ok().flatten().map(str::to_string);
        d.port = endpoint
            .get("port")
            .number()
            .ok()
            .flatten()
            .and_then(|p| u16::try_from(p as u64).ok());
        // Serverless caches always encrypt at rest and require TLS.
        d.at_rest_encryption = Some(true);
        d.transit_encryption = Some(true);
        d.transit_encryption_mode = Some(TransitEncryptionMode::Required);
        d.user_group_ids = self.user_groups(&mut d, i, "user_group_id");
        d.snapshot_window = self.text(&mut d, i, "daily_snapshot_time", "snapshot_window", false);
        joins::network(self, &mut d, i);
        d
    }
}

pub(super) fn cache_node(cluster_id: &str, node_id: Option<String>, az: Option<&str>) -> CacheNode {
    CacheNode {
        cache_cluster_id: cluster_id.to_string(),
        cache_node_id: node_id,
        availability_zone: az.map(str::to_string),
        role: None,
        status: None,
        alarms: Vec::new(),
        utilisation: None,
    }
}

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
    joins::members(cx, &mut out, members);
    joins::alarms(cx, &mut out);
    for (_, d) in &mut out {
        d.notes.dedup();
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
    let (after, made) = inventory(&after_cx);
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
    Ok(Planned {
        kind: doc.kind,
        after,
        before,
        actions,
        config_addresses,
        configuration: doc.configuration.clone(),
    })
}
