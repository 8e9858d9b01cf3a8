//! Joining one unit's reads into deployments: a replication group takes its engine version,
//! parameter group, security groups, subnet group and notification topic from its member
//! clusters (the group itself does not carry them); alarms join nodes through their
//! `CacheClusterId` dimension; a referenced resource that was not found is recorded as such, one
//! that could not be read as unknown — never guessed.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_cloudwatch::types::MetricAlarm;
use aws_sdk_ec2::types::{IpPermission, SecurityGroup as Ec2Group, Vpc as Ec2Vpc};
use aws_sdk_elasticache::types::{
    CacheCluster, CacheParameterGroup, CacheSubnetGroup, LogDeliveryConfiguration, ReplicationGroup,
    ServerlessCache,
};
use chrono::{DateTime, Utc};

use super::ec2::NetworkReads;
use super::elasticache::CacheReads;
use crate::inventory::{
    Alarm, AlarmMetric, AutomaticFailover, ClusterMode, Deployment, DeploymentKind,
    GlobalDatastoreMembership, GlobalRole, IngressPermission, IpRange, LogDelivery, LookupState, Node,
    NodeGroup, NodeRole, NotificationTopic, ParameterGroup, SecurityGroup, Subnet, SubnetGroup,
    TransitEncryptionMode, Vpc,
};

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

/// Everything a unit read, indexed for the join.
struct Index<'a> {
    account: &'a str,
    region: &'a str,
    clusters: Option<HashMap<&'a str, &'a CacheCluster>>,
    subnet_groups: Option<HashMap<&'a str, &'a CacheSubnetGroup>>,
    parameter_groups: Option<HashMap<&'a str, &'a CacheParameterGroup>>,
    cluster_enabled: &'a HashMap<String, Option<String>>,
    security_groups: Option<HashMap<&'a str, &'a Ec2Group>>,
    vpcs: Option<HashMap<&'a str, &'a Ec2Vpc>>,
    /// Newest automatic snapshot per replication group or cluster id; `None`: unreadable.
    snapshots: Option<HashMap<String, DateTime<Utc>>>,
    serverless_snapshots: Option<HashMap<String, DateTime<Utc>>>,
    /// Global Datastore membership per replication group id.
    global: HashMap<String, GlobalDatastoreMembership>,
    /// Alarms per `CacheClusterId` they name; `None`: unreadable.
    alarms: Option<HashMap<String, Vec<Alarm>>>,
    /// Tags by ARN; `None`: unreadable. A deployment not listed has no tags.
    tags: Option<&'a HashMap<String, BTreeMap<String, String>>>,
}

fn newest(entries: impl Iterator<Item = (String, DateTime<Utc>)>) -> HashMap<String, DateTime<Utc>> {
    let mut out: HashMap<String, DateTime<Utc>> = HashMap::new();
    for (key, t) in entries {
        out.entry(key).and_modify(|v| *v = (*v).max(t)).or_insert(t);
    }
    out
}

fn alarm(a: &MetricAlarm) -> Alarm {
    let dims = |d: &[aws_sdk_cloudwatch::types::Dimension]| -> BTreeMap<String, String> {
        d.iter()
            .filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
            .collect()
    };
    Alarm {
        name: a.alarm_name().unwrap_or_default().to_string(),
        arn: owned(a.alarm_arn()),
        namespace: owned(a.namespace()),
        metric_name: owned(a.metric_name()),
        dimensions: dims(a.dimensions()),
        metrics: a
            .metrics()
            .iter()
            .map(|q| {
                let metric = q.metric_stat().and_then(|s| s.metric());
                AlarmMetric {
                    id: q.id().unwrap_or_default().to_string(),
                    namespace: owned(metric.and_then(|m| m.namespace())),
                    metric_name: owned(metric.and_then(|m| m.metric_name())),
                    dimensions: metric.map(|m| dims(m.dimensions())).unwrap_or_default(),
                    statistic: owned(q.metric_stat().and_then(|s| s.stat())),
                    expression: owned(q.expression()),
                }
            })
            .collect(),
        statistic: a
            .statistic()
            .map(|s| s.as_str().to_string())
            .or_else(|| owned(a.extended_statistic())),
        threshold: a.threshold(),
        comparison: a.comparison_operator().map(|c| c.as_str().to_string()),
        evaluation_periods: a.evaluation_periods().and_then(|p| u32::try_from(p).ok()),
        period_seconds: a.period().and_then(|p| u32::try_from(p).ok()),
        actions_enabled: a.actions_enabled().unwrap_or(false),
        alarm_actions: a.alarm_actions().to_vec(),
        state: a.state_value().map(|s| s.as_str().to_string()),
    }
}

/// The cache cluster ids an alarm names in `CacheClusterId` dimensions (own metric or math).
fn named_clusters(a: &Alarm) -> Vec<String> {
    let mut ids: Vec<String> = a.dimensions.get("CacheClusterId").cloned().into_iter().collect();
    for m in &a.metrics {
        if let Some(id) = m.dimensions.get("CacheClusterId")
            && !ids.contains(id)
        {
            ids.push(id.clone());
        }
    }
    ids
}

impl<'a> Index<'a> {
    fn new(
        account: &'a str,
        region: &'a str,
        cache: &'a CacheReads,
        network: &'a NetworkReads,
        alarms: Option<&'a [MetricAlarm]>,
        tags: Option<&'a HashMap<String, BTreeMap<String, String>>>,
    ) -> Self {
        let snapshots = cache.snapshots.as_ref().map(|snaps| {
            newest(snaps.iter().filter_map(|s| {
                let key = s.replication_group_id().or(s.cache_cluster_id())?.to_string();
                let t = s
                    .node_snapshots()
                    .iter()
                    .filter_map(|n| time(n.snapshot_create_time()))
                    .max()?;
                Some((key, t))
            }))
        });
        let serverless_snapshots = cache.serverless_snapshots.as_ref().map(|snaps| {
            newest(snaps.iter().filter_map(|s| {
                let name = s
                    .serverless_cache_configuration()?
                    .serverless_cache_name()?
                    .to_string();
                Some((name, time(s.create_time())?))
            }))
        });
        let mut global = HashMap::new();
        for g in cache.global_groups.iter().flatten() {
            for m in g.members() {
                if m.replication_group_region() != Some(region) {
                    continue;
                }
                let (Some(rg), Some(role)) = (m.replication_group_id(), m.role()) else {
                    continue;
                };
                global.insert(
                    rg.to_string(),
                    GlobalDatastoreMembership {
                        id: g.global_replication_group_id().unwrap_or_default().to_string(),
                        role: if role.eq_ignore_ascii_case("primary") {
                            GlobalRole::Primary
                        } else {
                            GlobalRole::Secondary
                        },
                        at_rest_encryption: g.at_rest_encryption_enabled(),
                        transit_encryption: g.transit_encryption_enabled(),
                        auth_token_enabled: g.auth_token_enabled(),
                    },
                );
            }
        }
        let alarms = alarms.map(|list| {
            let mut by_cluster: HashMap<String, Vec<Alarm>> = HashMap::new();
            for a in list.iter().map(alarm) {
                for id in named_clusters(&a) {
                    by_cluster.entry(id).or_default().push(a.clone());
                }
            }
            by_cluster
        });
        Index {
            account,
            region,
            clusters: cache.clusters.as_ref().map(|cs| {
                cs.iter()
                    .filter_map(|c| Some((c.cache_cluster_id()?, c)))
                    .collect()
            }),
            subnet_groups: cache.subnet_groups.as_ref().map(|gs| {
                gs.iter()
                    .filter_map(|g| Some((g.cache_subnet_group_name()?, g)))
                    .collect()
            }),
            parameter_groups: cache.parameter_groups.as_ref().map(|gs| {
                gs.iter()
                    .filter_map(|g| Some((g.cache_parameter_group_name()?, g)))
                    .collect()
            }),
            cluster_enabled: &cache.cluster_enabled,
            security_groups: network.security_groups_read.then(|| {
                network
                    .security_groups
                    .iter()
                    .filter_map(|g| Some((g.group_id()?, g)))
                    .collect()
            }),
            vpcs: network.vpcs_read.then(|| {
                network
                    .vpcs
                    .iter()
                    .filter_map(|v| Some((v.vpc_id()?, v)))
                    .collect()
            }),
            snapshots,
            serverless_snapshots,
            global,
            alarms,
            tags,
        }
    }

    fn alarms_for(&self, cluster_id: &str, node_id: Option<&str>) -> Vec<Alarm> {
        let Some(by_cluster) = &self.alarms else {
            return Vec::new();
        };
        by_cluster
            .get(cluster_id)
            .map(|alarms| {
                alarms
                    .iter()
                    .filter(|a| match (a.dimensions.get("CacheNodeId"), node_id) {
                        (Some(want), Some(have)) => want == have,
                        _ => true,
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn security_groups(&self, ids: &[String], notes: &mut Vec<String>) -> Vec<SecurityGroup> {
        ids.iter()
            .map(|id| match &self.security_groups {
                None => SecurityGroup {
                    id: id.clone(),
                    name: None,
                    vpc_id: None,
                    state: LookupState::Unknown,
                    ingress: Vec::new(),
                },
                Some(found) => match found.get(id.as_str()) {
                    Some(g) => SecurityGroup {
                        id: id.clone(),
                        name: owned(g.group_name()),
                        vpc_id: owned(g.vpc_id()),
                        state: LookupState::Found,
                        ingress: g.ip_permissions().iter().map(permission).collect(),
                    },
                    None => {
                        notes.push(format!("security group {id} is attached but no longer exists"));
                        SecurityGroup {
                            id: id.clone(),
                            name: None,
                            vpc_id: None,
                            state: LookupState::NotFound,
                            ingress: Vec::new(),
                        }
                    }
                },
            })
            .collect()
    }

    fn subnet_group(&self, name: Option<&str>, notes: &mut Vec<String>) -> Option<SubnetGroup> {
        let name = name?;
        Some(match &self.subnet_groups {
            None => SubnetGroup {
                name: Some(name.to_string()),
                state: LookupState::Unknown,
                vpc_id: None,
                subnets: Vec::new(),
            },
            Some(groups) => match groups.get(name) {
                Some(g) => SubnetGroup {
                    name: Some(name.to_string()),
                    state: LookupState::Found,
                    vpc_id: owned(g.vpc_id()),
                    subnets: g
                        .subnets()
                        .iter()
                        .filter_map(|s| {
                            Some(Subnet {
                                id: s.subnet_identifier()?.to_string(),
                                availability_zone: owned(s.subnet_availability_zone().and_then(|z| z.name())),
                            })
                        })
                        .collect(),
                },
                None => {
                    notes.push(format!("cache subnet group {name} no longer exists"));
                    SubnetGroup {
                        name: Some(name.to_string()),
                        state: LookupState::NotFound,
                        vpc_id: None,
                        subnets: Vec::new(),
                    }
                }
            },
        })
    }

    /// The VPC a deployment sits in: its subnet group's, else its security groups'.
    fn vpc_of(
        &self,
        subnet_group: Option<&SubnetGroup>,
        security_groups: &[SecurityGroup],
        notes: &mut Vec<String>,
    ) -> Option<Vpc> {
        let id = subnet_group
            .and_then(|g| g.vpc_id.clone())
            .or_else(|| security_groups.iter().find_map(|g| g.vpc_id.clone()));
        self.vpc(id.as_deref(), notes)
    }

    fn vpc(&self, id: Option<&str>, notes: &mut Vec<String>) -> Option<Vpc> {
        let id = id?;
        let v = self.vpcs.as_ref()?.get(id).copied();
        if v.is_none() {
            notes.push(format!("VPC {id} was not found"));
        }
        let v = v?;
        Some(Vpc {
            id: id.to_string(),
            ipv4_cidr_blocks: {
                let mut blocks: Vec<String> = v
                    .cidr_block_association_set()
                    .iter()
                    .filter(|a| {
                        a.cidr_block_state()
                            .and_then(|s| s.state())
                            .is_none_or(|s| s.as_str() == "associated")
                    })
                    .filter_map(|a| owned(a.cidr_block()))
                    .collect();
                if blocks.is_empty() {
                    blocks.extend(owned(v.cidr_block()));
                }
                blocks
            },
            ipv6_cidr_blocks: v
                .ipv6_cidr_block_association_set()
                .iter()
                .filter(|a| {
                    a.ipv6_cidr_block_state()
                        .and_then(|s| s.state())
                        .is_none_or(|s| s.as_str() == "associated")
                })
                .filter_map(|a| owned(a.ipv6_cidr_block()))
                .collect(),
        })
    }

    fn parameter_group(&self, cluster: &CacheCluster) -> Option<ParameterGroup> {
        let status = cluster.cache_parameter_group()?;
        let name = status.cache_parameter_group_name()?;
        let is_default = name.starts_with("default.");
        let (state, family) = match &self.parameter_groups {
            None => (LookupState::Unknown, None),
            Some(groups) => match groups.get(name) {
                Some(g) => (LookupState::Found, owned(g.cache_parameter_group_family())),
                None => (LookupState::NotFound, None),
            },
        };
        let cluster_enabled = if cluster.engine() == Some("memcached") {
            None
        } else if is_default {
            // Default groups are named after the setting: `default.redis7.cluster.on`.
            Some(
                if name.ends_with(".cluster.on") {
                    "yes"
                } else {
                    "no"
                }
                .to_string(),
            )
        } else {
            self.cluster_enabled.get(name).cloned().flatten()
        };
        Some(ParameterGroup {
            name: name.to_string(),
            state,
            family,
            cluster_enabled,
            is_default: Some(is_default),
            status: owned(status.parameter_apply_status()),
        })
    }

    fn tags(&self, arn: &str) -> Option<BTreeMap<String, String>> {
        self.tags.map(|t| t.get(arn).cloned().unwrap_or_default())
    }

    /// Facts that read as "none" but could not be read.
    fn unknown_facts(&self, snapshot_index: Option<&HashMap<String, DateTime<Utc>>>) -> Vec<String> {
        let mut out = Vec::new();
        if self.alarms.is_none() {
            out.push("alarms".to_string());
        }
        if snapshot_index.is_none() {
            out.push("latest_automatic_snapshot".to_string());
        }
        out
    }
}

fn permission(p: &IpPermission) -> IngressPermission {
    IngressPermission {
        protocol: p.ip_protocol().unwrap_or("-1").to_string(),
        from_port: p.from_port(),
        to_port: p.to_port(),
        ipv4_ranges: p
            .ip_ranges()
            .iter()
            .filter_map(|r| {
                Some(IpRange {
                    cidr: r.cidr_ip()?.to_string(),
                    description: owned(r.description()),
                })
            })
            .collect(),
        ipv6_ranges: p
            .ipv6_ranges()
            .iter()
            .filter_map(|r| {
                Some(IpRange {
                    cidr: r.cidr_ipv6()?.to_string(),
                    description: owned(r.description()),
                })
            })
            .collect(),
        security_groups: p
            .user_id_group_pairs()
            .iter()
            .filter_map(|g| owned(g.group_id()))
            .collect(),
        prefix_lists: p
            .prefix_list_ids()
            .iter()
            .filter_map(|l| owned(l.prefix_list_id()))
            .collect(),
    }
}

fn log_delivery(configs: &[LogDeliveryConfiguration]) -> Vec<LogDelivery> {
    configs
        .iter()
        .map(|l| LogDelivery {
            log_type: l.log_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
            destination_type: l.destination_type().map(|t| t.as_str().to_string()),
            destination: l.destination_details().and_then(|d| {
                d.cloud_watch_logs_details()
                    .and_then(|c| owned(c.log_group()))
                    .or_else(|| {
                        d.kinesis_firehose_details()
                            .and_then(|k| owned(k.delivery_stream()))
                    })
            }),
            format: l.log_format().map(|f| f.as_str().to_string()),
            status: l.status().map(|s| s.as_str().to_string()),
        })
        .collect()
}

fn notification(c: Option<&CacheCluster>) -> Option<NotificationTopic> {
    let n = c?.notification_configuration()?;
    Some(NotificationTopic {
        arn: n.topic_arn()?.to_string(),
        status: owned(n.topic_status()),
    })
}

fn security_group_ids(clusters: &[&CacheCluster]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for c in clusters {
        for g in c.security_groups() {
            if let Some(id) = g.security_group_id()
                && !ids.iter().any(|i| i == id)
            {
                ids.push(id.to_string());
            }
        }
    }
    ids
}

fn replication_group(ix: &Index, rg: &ReplicationGroup) -> Option<Deployment> {
    let id = rg.replication_group_id()?;
    let mut notes = Vec::new();
    let members: Vec<&CacheCluster> = match &ix.clusters {
        Some(clusters) => rg
            .member_clusters()
            .iter()
            .filter_map(|m| clusters.get(m.as_str()).copied())
            .collect(),
        None => Vec::new(),
    };
    let first = members.first().copied();
    let mut unknown_facts = ix.unknown_facts(ix.snapshots.as_ref());
    let security_groups = if ix.clusters.is_none() {
        notes.push("the member clusters could not be read: engine version, parameter group, security groups, subnet group and notification topic are unknown".into());
        unknown_facts.push("security_groups".into());
        unknown_facts.push("notification_topic".into());
        vec![SecurityGroup {
            id: "unknown".into(),
            name: None,
            vpc_id: None,
            state: LookupState::Unknown,
            ingress: Vec::new(),
        }]
    } else {
        ix.security_groups(&security_group_ids(&members), &mut notes)
    };
    let subnet_group = ix.subnet_group(first.and_then(|c| c.cache_subnet_group_name()), &mut notes);
    let vpc = ix.vpc_of(subnet_group.as_ref(), &security_groups, &mut notes);
    let cluster_mode = rg
        .cluster_mode()
        .map(|m| match m.as_str() {
            "enabled" => ClusterMode::Enabled,
            "compatible" => ClusterMode::Compatible,
            _ => ClusterMode::Disabled,
        })
        .or(rg.cluster_enabled().map(|e| {
            if e {
                ClusterMode::Enabled
            } else {
                ClusterMode::Disabled
            }
        }));
    let status_of = |cluster_id: &str| {
        ix.clusters
            .as_ref()
            .and_then(|cs| cs.get(cluster_id))
            .and_then(|c| owned(c.cache_cluster_status()))
    };
    let az_of = |cluster_id: &str| {
        ix.clusters
            .as_ref()
            .and_then(|cs| cs.get(cluster_id))
            .and_then(|c| owned(c.preferred_availability_zone()))
    };
    let node_groups = rg
        .node_groups()
        .iter()
        .map(|g| NodeGroup {
            id: owned(g.node_group_id()),
            status: owned(g.status()),
            members: g
                .node_group_members()
                .iter()
                .filter_map(|m| {
                    let cluster_id = m.cache_cluster_id()?;
                    Some(Node {
                        cache_cluster_id: cluster_id.to_string(),
                        cache_node_id: owned(m.cache_node_id()),
                        availability_zone: owned(m.preferred_availability_zone())
                            .or_else(|| az_of(cluster_id)),
                        role: m.current_role().map(|r| {
                            if r.eq_ignore_ascii_case("primary") {
                                NodeRole::Primary
                            } else {
                                NodeRole::Replica
                            }
                        }),
                        status: status_of(cluster_id),
                        alarms: ix.alarms_for(cluster_id, m.cache_node_id()),
                        utilisation: None,
                    })
                })
                .collect(),
        })
        .collect();
    let mut pending_changes = BTreeMap::new();
    if let Some(p) = rg.pending_modified_values() {
        if let Some(f) = p.automatic_failover_status() {
            pending_changes.insert("automatic_failover".to_string(), f.as_str().to_string());
        }
        if let Some(m) = p.transit_encryption_mode() {
            pending_changes.insert("transit_encryption_mode".to_string(), m.as_str().to_string());
        }
        if let Some(m) = p.cluster_mode() {
            pending_changes.insert("cluster_mode".to_string(), m.as_str().to_string());
        }
    }
    let arn = owned(rg.arn()).unwrap_or_else(|| {
        format!(
            "arn:aws:elasticache:{}:{}:replicationgroup:{id}",
            ix.region, ix.account
        )
    });
    let port = rg
        .configuration_endpoint()
        .and_then(|e| e.port())
        .or_else(|| {
            rg.node_groups()
                .first()
                .and_then(|g| g.primary_endpoint())
                .and_then(|e| e.port())
        })
        .and_then(|p| u16::try_from(p).ok());
    let endpoint = rg
        .configuration_endpoint()
        .or_else(|| rg.node_groups().first().and_then(|g| g.primary_endpoint()))
        .and_then(|e| owned(e.address()));
    Some(Deployment {
        kind: DeploymentKind::ReplicationGroup,
        id: id.to_string(),
        tags: ix.tags(&arn),
        arn,
        account_id: ix.account.to_string(),
        region: ix.region.to_string(),
        engine: owned(rg.engine())
            .or_else(|| owned(first.and_then(|c| c.engine())))
            .unwrap_or_else(|| "redis".into()),
        status: owned(rg.status()),
        engine_version: owned(first.and_then(|c| c.engine_version())),
        node_type: owned(rg.cache_node_type()),
        created_at: time(rg.replication_group_create_time()),
        port,
        endpoint,
        cluster_mode,
        node_groups,
        at_rest_encryption: rg.at_rest_encryption_enabled(),
        kms_key_id: owned(rg.kms_key_id()),
        transit_encryption: rg.transit_encryption_enabled(),
        transit_encryption_mode: transit_mode(rg.transit_encryption_mode().map(|m| m.as_str())),
        auth_token_enabled: rg.auth_token_enabled(),
        user_group_ids: rg.user_group_ids().to_vec(),
        multi_az: rg.multi_az().map(|m| m.as_str() == "enabled"),
        automatic_failover: rg.automatic_failover().and_then(|f| match f.as_str() {
            "enabled" => Some(AutomaticFailover::Enabled),
            "disabled" => Some(AutomaticFailover::Disabled),
            "enabling" => Some(AutomaticFailover::Enabling),
            "disabling" => Some(AutomaticFailover::Disabling),
            _ => None,
        }),
        pending_changes,
        snapshot_retention_days: rg.snapshot_retention_limit().and_then(|d| u32::try_from(d).ok()),
        snapshot_window: owned(rg.snapshot_window()),
        latest_automatic_snapshot: ix.snapshots.as_ref().and_then(|s| s.get(id).copied()),
        subnet_group,
        vpc,
        security_groups,
        parameter_group: first.and_then(|c| ix.parameter_group(c)),
        notification_topic: notification(first),
        auto_minor_version_upgrade: rg
            .auto_minor_version_upgrade()
            .or(first.and_then(|c| c.auto_minor_version_upgrade())),
        log_delivery: log_delivery(rg.log_delivery_configurations()),
        global_datastore: ix.global.get(id).cloned(),
        notes,
        unknown_facts,
        utilisation_window: None,
    })
}

fn transit_mode(mode: Option<&str>) -> Option<TransitEncryptionMode> {
    match mode? {
        "preferred" => Some(TransitEncryptionMode::Preferred),
        "required" => Some(TransitEncryptionMode::Required),
        _ => None,
    }
}

fn cache_cluster(ix: &Index, c: &CacheCluster) -> Option<Deployment> {
    let id = c.cache_cluster_id()?;
    let mut notes = Vec::new();
    let security_groups = ix.security_groups(&security_group_ids(&[c]), &mut notes);
    let subnet_group = ix.subnet_group(c.cache_subnet_group_name(), &mut notes);
    let vpc = ix.vpc_of(subnet_group.as_ref(), &security_groups, &mut notes);
    let members = c
        .cache_nodes()
        .iter()
        .map(|n| Node {
            cache_cluster_id: id.to_string(),
            cache_node_id: owned(n.cache_node_id()),
            availability_zone: owned(n.customer_availability_zone())
                .or_else(|| owned(c.preferred_availability_zone())),
            role: None,
            status: owned(n.cache_node_status()),
            alarms: ix.alarms_for(id, n.cache_node_id()),
            utilisation: None,
        })
        .collect::<Vec<_>>();
    let memcached = c.engine() == Some("memcached");
    let arn = owned(c.arn())
        .unwrap_or_else(|| format!("arn:aws:elasticache:{}:{}:cluster:{id}", ix.region, ix.account));
    let port = c
        .configuration_endpoint()
        .and_then(|e| e.port())
        .or_else(|| {
            c.cache_nodes()
                .first()
                .and_then(|n| n.endpoint())
                .and_then(|e| e.port())
        })
        .and_then(|p| u16::try_from(p).ok());
    let endpoint = c
        .configuration_endpoint()
        .or_else(|| c.cache_nodes().first().and_then(|n| n.endpoint()))
        .and_then(|e| owned(e.address()));
    Some(Deployment {
        kind: DeploymentKind::CacheCluster,
        id: id.to_string(),
        tags: ix.tags(&arn),
        arn,
        account_id: ix.account.to_string(),
        region: ix.region.to_string(),
        engine: owned(c.engine()).unwrap_or_else(|| "redis".into()),
        status: owned(c.cache_cluster_status()),
        engine_version: owned(c.engine_version()),
        node_type: owned(c.cache_node_type()),
        created_at: time(c.cache_cluster_create_time()),
        port,
        endpoint,
        cluster_mode: None,
        node_groups: vec![NodeGroup {
            id: None,
            status: owned(c.cache_cluster_status()),
            members,
        }],
        at_rest_encryption: c.at_rest_encryption_enabled().or(memcached.then_some(false)),
        kms_key_id: None,
        transit_encryption: c.transit_encryption_enabled(),
        transit_encryption_mode: transit_mode(c.transit_encryption_mode().map(|m| m.as_str())),
        auth_token_enabled: c.auth_token_enabled(),
        user_group_ids: Vec::new(),
        multi_az: None,
        automatic_failover: None,
        pending_changes: BTreeMap::new(),
        snapshot_retention_days: c.snapshot_retention_limit().and_then(|d| u32::try_from(d).ok()),
        snapshot_window: owned(c.snapshot_window()),
        latest_automatic_snapshot: ix.snapshots.as_ref().and_then(|s| s.get(id).copied()),
        subnet_group,
        vpc,
        security_groups,
        parameter_group: ix.parameter_group(c),
        notification_topic: notification(Some(c)),
        auto_minor_version_upgrade: c.auto_minor_version_upgrade(),
        log_delivery: log_delivery(c.log_delivery_configurations()),
        global_datastore: None,
        notes,
        unknown_facts: ix.unknown_facts(ix.snapshots.as_ref()),
        utilisation_window: None,
    })
}

fn serverless_cache(ix: &Index, s: &ServerlessCache) -> Option<Deployment> {
    let name = s.serverless_cache_name()?;
    let mut notes = Vec::new();
    let security_groups = ix.security_groups(s.security_group_ids(), &mut notes);
    // A serverless cache has no subnet group: its VPC is its security groups'.
    let vpc_id = security_groups.iter().find_map(|g| g.vpc_id.clone());
    let vpc = ix.vpc(vpc_id.as_deref(), &mut notes);
    let arn = owned(s.arn()).unwrap_or_else(|| {
        format!(
            "arn:aws:elasticache:{}:{}:serverlesscache:{name}",
            ix.region, ix.account
        )
    });
    let mut unknown_facts = Vec::new();
    if ix.serverless_snapshots.is_none() {
        unknown_facts.push("latest_automatic_snapshot".to_string());
    }
    Some(Deployment {
        kind: DeploymentKind::ServerlessCache,
        id: name.to_string(),
        tags: ix.tags(&arn),
        arn,
        account_id: ix.account.to_string(),
        region: ix.region.to_string(),
        engine: owned(s.engine()).unwrap_or_else(|| "redis".into()),
        status: owned(s.status()),
        engine_version: owned(s.full_engine_version()).or_else(|| owned(s.major_engine_version())),
        node_type: None,
        created_at: time(s.create_time()),
        port: s
            .endpoint()
            .and_then(|e| e.port())
            .and_then(|p| u16::try_from(p).ok()),
        endpoint: s.endpoint().and_then(|e| owned(e.address())),
        cluster_mode: None,
        node_groups: Vec::new(),
        // Serverless caches always encrypt at rest and require TLS.
        at_rest_encryption: Some(true),
        kms_key_id: owned(s.kms_key_id()),
        transit_encryption: Some(true),
        transit_encryption_mode: Some(TransitEncryptionMode::Required),
        auth_token_enabled: None,
        user_group_ids: owned(s.user_group_id()).into_iter().collect(),
        multi_az: None,
        automatic_failover: None,
        pending_changes: BTreeMap::new(),
        snapshot_retention_days: s.snapshot_retention_limit().and_then(|d| u32::try_from(d).ok()),
        snapshot_window: owned(s.daily_snapshot_time()),
        latest_automatic_snapshot: ix
            .serverless_snapshots
            .as_ref()
            .and_then(|m| m.get(name).copied()),
        subnet_group: Some(SubnetGroup {
            name: None,
            state: LookupState::Found,
            vpc_id,
            subnets: s
                .subnet_ids()
                .iter()
                .map(|id| Subnet {
                    id: id.clone(),
                    availability_zone: None,
                })
                .collect(),
        }),
        vpc,
        security_groups,
        parameter_group: None,
        notification_topic: None,
        auto_minor_version_upgrade: None,
        log_delivery: Vec::new(),
        global_datastore: None,
        notes,
        unknown_facts,
        utilisation_window: None,
    })
}

/// Every deployment of a unit: replication groups, clusters that belong to none, serverless caches.
pub(crate) fn deployments(
    account: &str,
    region: &str,
    cache: &CacheReads,
    network: &NetworkReads,
    alarms: Option<&[MetricAlarm]>,
    tags: Option<&HashMap<String, BTreeMap<String, String>>>,
) -> Vec<Deployment> {
    let ix = Index::new(account, region, cache, network, alarms, tags);
    let mut out = Vec::new();
    for rg in cache.replication_groups.iter().flatten() {
        out.extend(replication_group(&ix, rg));
    }
    for c in cache
        .clusters
        .iter()
        .flatten()
        .filter(|c| c.replication_group_id().is_none())
    {
        out.extend(cache_cluster(&ix, c));
    }
    for s in cache.serverless.iter().flatten() {
        out.extend(serverless_cache(&ix, s));
    }
    out
}
