//! ElastiCache reads of one unit: every page of every list call, the `cluster-enabled` parameter
//! of the non-default parameter groups in use only, and the deployments' tags through the Resource
//! Groups Tagging API (batched, where ElastiCache reads one resource at a time).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::types::{
    CacheCluster, CacheParameterGroup, CacheSubnetGroup, GlobalReplicationGroup, ReplicationGroup,
    ServerlessCache, ServerlessCacheSnapshot, Snapshot,
};
use aws_sdk_resourcegroupstagging::types::ResourceTagMapping;

use super::{Reads, describe_error};
use crate::inventory::CoverageError;

/// Largest page each list call allows.
const PAGE: i32 = 100;
pub(super) const SNAPSHOT_PAGE: i32 = 50;

/// What the ElastiCache APIs said; `None` where a read failed (the facts it gives are unknown).
#[derive(Default)]
pub(crate) struct CacheReads {
    pub replication_groups: Option<Vec<ReplicationGroup>>,
    pub clusters: Option<Vec<CacheCluster>>,
    pub serverless: Option<Vec<ServerlessCache>>,
    pub subnet_groups: Option<Vec<CacheSubnetGroup>>,
    pub parameter_groups: Option<Vec<CacheParameterGroup>>,
    /// `cluster-enabled` of each non-default parameter group in use (`None`: unreadable).
    pub cluster_enabled: HashMap<String, Option<String>>,
    pub snapshots: Option<Vec<Snapshot>>,
    pub serverless_snapshots: Option<Vec<ServerlessCacheSnapshot>>,
    pub global_groups: Option<Vec<GlobalReplicationGroup>>,
}

/// The outcome of one API's calls; `None`: not called, as nothing needed it (a read of one
/// deployment): it reads as none found, and makes no coverage entry.
pub(super) type Outcome<T> = Option<Result<Vec<T>, CoverageError>>;

/// The raw outcomes, before they are recorded as coverage.
pub(crate) struct CacheOutcomes {
    pub(super) replication_groups: Outcome<ReplicationGroup>,
    pub(super) clusters: Outcome<CacheCluster>,
    pub(super) serverless: Outcome<ServerlessCache>,
    pub(super) subnet_groups: Outcome<CacheSubnetGroup>,
    pub(super) parameter_groups: Outcome<CacheParameterGroup>,
    pub(super) parameters: Vec<(String, Result<Option<String>, CoverageError>)>,
    pub(super) snapshots: Outcome<Snapshot>,
    pub(super) serverless_snapshots: Outcome<ServerlessCacheSnapshot>,
    pub(super) global_groups: Outcome<GlobalReplicationGroup>,
}

impl CacheOutcomes {
    pub(crate) fn record(self, reads: &mut Reads) -> CacheReads {
        let s = "elasticache";
        let mut cluster_enabled = HashMap::new();
        for (group, outcome) in self.parameters {
            let value = reads.record(s, "DescribeCacheParameters", outcome);
            cluster_enabled.insert(group, value.flatten());
        }
        fn record<T>(reads: &mut Reads, api: &'static str, outcome: Outcome<T>) -> Option<Vec<T>> {
            match outcome {
                Some(result) => reads.record("elasticache", api, result),
                None => Some(Vec::new()),
            }
        }
        CacheReads {
            replication_groups: record(reads, "DescribeReplicationGroups", self.replication_groups),
            clusters: record(reads, "DescribeCacheClusters", self.clusters),
            serverless: record(reads, "DescribeServerlessCaches", self.serverless),
            subnet_groups: record(reads, "DescribeCacheSubnetGroups", self.subnet_groups),
            parameter_groups: record(reads, "DescribeCacheParameterGroups", self.parameter_groups),
            cluster_enabled,
            snapshots: record(reads, "DescribeSnapshots", self.snapshots),
            serverless_snapshots: record(
                reads,
                "DescribeServerlessCacheSnapshots",
                self.serverless_snapshots,
            ),
            global_groups: record(reads, "DescribeGlobalReplicationGroups", self.global_groups),
        }
    }
}

/// Reads every page of a paginated call into one list, or the first error.
macro_rules! all_pages {
    ($builder:expr, $items:ident) => {{
        let mut pages = $builder.into_paginator().send();
        let mut out = Vec::new();
        let mut failure = None;
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => out.extend(page.$items().iter().cloned()),
                Err(e) => {
                    failure = Some(describe_error(&e));
                    break;
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }};
}
pub(super) use all_pages;

pub(crate) async fn read(c: &Client) -> CacheOutcomes {
    let (replication_groups, clusters, serverless, subnet_groups, parameter_groups) = tokio::join!(
        async {
            all_pages!(
                c.describe_replication_groups().max_records(PAGE),
                replication_groups
            )
        },
        async {
            all_pages!(
                c.describe_cache_clusters()
                    .show_cache_node_info(true)
                    .max_records(PAGE),
                cache_clusters
            )
        },
        async {
            all_pages!(
                c.describe_serverless_caches().max_results(PAGE),
                serverless_caches
            )
        },
        async {
            all_pages!(
                c.describe_cache_subnet_groups().max_records(PAGE),
                cache_subnet_groups
            )
        },
        async {
            all_pages!(
                c.describe_cache_parameter_groups().max_records(PAGE),
                cache_parameter_groups
            )
        },
    );
    let (snapshots, serverless_snapshots, global_groups) = tokio::join!(
        async {
            all_pages!(
                c.describe_snapshots()
                    .snapshot_source("system")
                    .max_records(SNAPSHOT_PAGE),
                snapshots
            )
        },
        async {
            all_pages!(
                c.describe_serverless_cache_snapshots()
                    .snapshot_type("automated")
                    .max_results(SNAPSHOT_PAGE),
                serverless_cache_snapshots
            )
        },
        async {
            all_pages!(
                c.describe_global_replication_groups()
                    .show_member_info(true)
                    .max_records(PAGE),
                global_replication_groups
            )
        },
    );

    let parameters = cluster_enabled(c, clusters.as_ref().ok()).await;

    CacheOutcomes {
        replication_groups: Some(replication_groups),
        clusters: Some(clusters),
        serverless: Some(serverless),
        subnet_groups: Some(subnet_groups),
        parameter_groups: Some(parameter_groups),
        parameters,
        snapshots: Some(snapshots),
        serverless_snapshots: Some(serverless_snapshots),
        global_groups: Some(global_groups),
    }
}

/// `cluster-enabled` of the non-default parameter groups `clusters` use (a default group's name
/// says it: `default.redis7.cluster.on`), one group at a time.
pub(super) async fn cluster_enabled(
    c: &Client,
    clusters: Option<&Vec<CacheCluster>>,
) -> Vec<(String, Result<Option<String>, CoverageError>)> {
    let in_use: BTreeSet<String> = clusters
        .map(|cs| {
            cs.iter()
                .filter(|c| c.engine() != Some("memcached"))
                .filter_map(|c| {
                    c.cache_parameter_group()
                        .and_then(|p| p.cache_parameter_group_name())
                })
                .filter(|name| !name.starts_with("default."))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut parameters = Vec::new();
    for group in in_use {
        let outcome = all_pages!(
            c.describe_cache_parameters()
                .cache_parameter_group_name(&group)
                .max_records(PAGE),
            parameters
        )
        .map(|params| {
            params
                .iter()
                .find(|p| p.parameter_name() == Some("cluster-enabled"))
                .and_then(|p| p.parameter_value().map(str::to_string))
        });
        parameters.push((group, outcome));
    }
    parameters
}

/// Resource types of the deployments, as the Resource Groups Tagging API names them.
const TAGGED_TYPES: [&str; 3] = [
    "elasticache:replicationgroup",
    "elasticache:cluster",
    "elasticache:serverlesscache",
];

/// Tags of every deployment of the region, by ARN, in pages of 100 from the Resource Groups
/// Tagging API (ElastiCache itself reads tags one resource at a time). A deployment it does not
/// list has no tags.
pub(crate) async fn read_tags(
    c: &aws_sdk_resourcegroupstagging::Client,
) -> Result<HashMap<String, BTreeMap<String, String>>, CoverageError> {
    let mut request = c.get_resources().resources_per_page(100);
    for t in TAGGED_TYPES {
        request = request.resource_type_filters(t);
    }
    let mut pages = request.into_paginator().send();
    let mut tags = HashMap::new();
    while let Some(page) = pages.next().await {
        add_tags(
            page.map_err(|e| describe_error(&e))?.resource_tag_mapping_list(),
            &mut tags,
        );
    }
    Ok(tags)
}

/// The tags of each resource listed, by ARN.
pub(super) fn add_tags(list: &[ResourceTagMapping], tags: &mut HashMap<String, BTreeMap<String, String>>) {
    for r in list {
        let Some(arn) = r.resource_arn() else { continue };
        let map = r
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        tags.insert(arn.to_string(), map);
    }
}
