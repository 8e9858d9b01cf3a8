//! What one unit read, indexed for the join: clusters, subnet and parameter groups, security
//! groups and VPCs by id, the newest automatic snapshot of each group or cluster, alarms by the
//! `CacheClusterId` they watch, tags by ARN; and the conversions of the SDK's shapes.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_cloudwatch::types::MetricAlarm;
use aws_sdk_ec2::types::{IpPermission, SecurityGroup as Ec2Group, Vpc as Ec2Vpc};
use aws_sdk_elasticache::types::{CacheCluster, CacheParameterGroup, CacheSubnetGroup};
use chrono::{DateTime, Utc};

use crate::collect::ec2::NetworkReads;
use crate::collect::elasticache::CacheReads;
use crate::inventory::{
    Alarm, AlarmMetric, GlobalDatastoreMembership, GlobalRole, IngressPermission, IpRange, LookupState,
    ParameterGroup, SecurityGroup, Subnet, SubnetGroup, Vpc,
};

pub(super) fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

pub(super) fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

/// Everything a unit read, indexed for the join.
pub(super) struct Index<'a> {
    pub(super) account: &'a str,
    pub(super) region: &'a str,
    pub(super) clusters: Option<HashMap<&'a str, &'a CacheCluster>>,
    pub(super) subnet_groups: Option<HashMap<&'a str, &'a CacheSubnetGroup>>,
    pub(super) parameter_groups: Option<HashMap<&'a str, &'a CacheParameterGroup>>,
    pub(super) cluster_enabled: &'a HashMap<String, Option<String>>,
    pub(super) security_groups: Option<HashMap<&'a str, &'a Ec2Group>>,
    pub(super) vpcs: Option<HashMap<&'a str, &'a Ec2Vpc>>,
    /// Newest automatic snapshot per replication group or cluster id; `None`: unreadable.
    pub(super) snapshots: Option<HashMap<String, DateTime<Utc>>>,
    pub(super) serverless_snapshots: Option<HashMap<String, DateTime<Utc>>>,
    /// Global Datastore membership per replication group id.
    pub(super) global: HashMap<String, GlobalDatastoreMembership>,
    /// Alarms per `CacheClusterId` they name; `None`: unreadable.
    pub(super) alarms: Option<HashMap<String, Vec<Alarm>>>,
    /// Tags by ARN; `None`: unreadable. A deployment not listed has no tags.
    pub(super) tags: Option<&'a HashMap<String, BTreeMap<String, String>>>,
}

pub(super) fn newest(
    entries: impl Iterator<Item = (String, DateTime<Utc>)>,
) -> HashMap<String, DateTime<Utc>> {
    let mut out: HashMap<String, DateTime<Utc>> = HashMap::new();
    for (key, t) in entries {
        out.entry(key).and_modify(|v| *v = (*v).max(t)).or_insert(t);
    }
    out
}

pub(super) fn alarm(a: &MetricAlarm) -> Alarm {
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
pub(super) fn named_clusters(a: &Alarm) -> Vec<String> {
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
    pub(super) fn new(
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

    pub(super) fn alarms_for(&self, cluster_id: &str, node_id: Option<&str>) -> Vec<Alarm> {
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

    pub(super) fn security_groups(&self, ids: &[String], notes: &mut Vec<String>) -> Vec<SecurityGroup> {
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

    pub(super) fn subnet_group(&self, name: Option<&str>, notes: &mut Vec<String>) -> Option<SubnetGroup> {
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
    pub(super) fn vpc_of(
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

    pub(super) fn vpc(&self, id: Option<&str>, notes: &mut Vec<String>) -> Option<Vpc> {
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

    pub(super) fn parameter_group(&self, cluster: &CacheCluster) -> Option<ParameterGroup> {
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

    pub(super) fn tags(&self, arn: &str) -> Option<BTreeMap<String, String>> {
        self.tags.map(|t| t.get(arn).cloned().unwrap_or_default())
    }

    /// Facts that read as "none" but could not be read.
    pub(super) fn unknown_facts(
        &self,
        snapshot_index: Option<&HashMap<String, DateTime<Utc>>>,
    ) -> Vec<String> {
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

pub(super) fn permission(p: &IpPermission) -> IngressPermission {
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
