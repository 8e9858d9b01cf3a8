//! The facts of each kind of deployment from its resource: a replication group (its member
//! clusters named as AWS will name them), a standalone cache cluster, a serverless cache.

use std::collections::BTreeMap;

use super::context::Ref;
use super::context::{Cx, Gap, cache_node, gap};
use super::network;
use super::parameters;
use crate::inventory::{
    AutomaticFailover, ClusterMode, Deployment, DeploymentKind, GlobalDatastoreMembership, GlobalRole,
    Node as CacheNode, NodeGroup, TransitEncryptionMode,
};

impl Cx<'_> {
    pub(super) fn replication_group(&self, i: usize) -> Deployment {
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
        network::network(self, &mut d, i);
        d.parameter_group = parameters::parameter_group(self, &mut d, i);
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
        // AWS caps a replication group at 500 nodes: a larger count is no plan AWS accepts.
        if shards.saturating_mul(per_shard) > 500 {
            gap(
                d,
                "node_groups",
                "a node count over AWS's limit of 500",
                Gap::Unknown,
            );
            return Vec::new();
        }
        let groups: Vec<NodeGroup> = (1..=shards)
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
            .collect();
        groups
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

    pub(super) fn cache_cluster(&self, i: usize) -> Deployment {
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
        network::network(self, &mut d, i);
        d.parameter_group = parameters::parameter_group(self, &mut d, i);
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

    pub(super) fn serverless_cache(&self, i: usize) -> Deployment {
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
        network::network(self, &mut d, i);
        d
    }
}
