//! Joining one unit's reads into deployments: a replication group takes its engine version,
//! parameter group, security groups, subnet group and notification topic from its member
//! clusters (the group itself does not carry them); alarms join nodes through their
//! `CacheClusterId` dimension; a referenced resource that was not found is recorded as such, one
//! that could not be read as unknown — never guessed.

mod index;

use std::collections::{BTreeMap, HashMap};

use aws_sdk_cloudwatch::types::MetricAlarm;
use aws_sdk_elasticache::types::{CacheCluster, LogDeliveryConfiguration, ReplicationGroup, ServerlessCache};

use super::ec2::NetworkReads;
use super::elasticache::CacheReads;
use crate::inventory::{
    AutomaticFailover, ClusterMode, Deployment, DeploymentKind, LogDelivery, LookupState, Node, NodeGroup,
    NodeRole, NotificationTopic, SecurityGroup, Subnet, SubnetGroup, TransitEncryptionMode,
};
use index::{Index, owned, time};

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
