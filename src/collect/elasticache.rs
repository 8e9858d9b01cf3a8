//! ElastiCache reads of one unit: every page of every list call, the `cluster-enabled` parameter
//! of the non-default parameter groups in use only, and tags per deployment (ElastiCache has no
//! batched tag read).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::types::{
    CacheCluster, CacheParameterGroup, CacheSubnetGroup, GlobalReplicationGroup, ReplicationGroup,
    ServerlessCache, ServerlessCacheSnapshot, Snapshot,
};
use tokio::task::JoinSet;

use super::{Reads, describe_error};
use crate::inventory::CoverageError;

/// Largest page each list call allows.
const PAGE: i32 = 100;
const SNAPSHOT_PAGE: i32 = 50;
/// `ListTagsForResource` calls in flight per unit.
const TAG_CONCURRENCY: usize = 8;

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

/// The raw outcomes, before they are recorded as coverage.
pub(crate) struct CacheOutcomes {
    replication_groups: Result<Vec<ReplicationGroup>, CoverageError>,
    clusters: Result<Vec<CacheCluster>, CoverageError>,
    serverless: Result<Vec<ServerlessCache>, CoverageError>,
    subnet_groups: Result<Vec<CacheSubnetGroup>, CoverageError>,
    parameter_groups: Result<Vec<CacheParameterGroup>, CoverageError>,
    parameters: Vec<(String, Result<Option<String>, CoverageError>)>,
    snapshots: Result<Vec<Snapshot>, CoverageError>,
    serverless_snapshots: Result<Vec<ServerlessCacheSnapshot>, CoverageError>,
    global_groups: Result<Vec<GlobalReplicationGroup>, CoverageError>,
}

impl CacheOutcomes {
    pub(crate) fn record(self, reads: &mut Reads) -> CacheReads {
        let s = "elasticache";
        let mut cluster_enabled = HashMap::new();
        for (group, outcome) in self.parameters {
            let value = reads.record(s, "DescribeCacheParameters", outcome);
            cluster_enabled.insert(group, value.flatten());
        }
        CacheReads {
            replication_groups: reads.record(s, "DescribeReplicationGroups", self.replication_groups),
            clusters: reads.record(s, "DescribeCacheClusters", self.clusters),
            serverless: reads.record(s, "DescribeServerlessCaches", self.serverless),
            subnet_groups: reads.record(s, "DescribeCacheSubnetGroups", self.subnet_groups),
            parameter_groups: reads.record(s, "DescribeCacheParameterGroups", self.parameter_groups),
            cluster_enabled,
            snapshots: reads.record(s, "DescribeSnapshots", self.snapshots),
            serverless_snapshots: reads.record(
                s,
                "DescribeServerlessCacheSnapshots",
                self.serverless_snapshots,
            ),
            global_groups: reads.record(s, "DescribeGlobalReplicationGroups", self.global_groups),
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

    // `cluster-enabled` is read only for the non-default groups clusters use; a default group's
    // name says it (`default.redis7.cluster.on`).
    let in_use: BTreeSet<String> = clusters
        .as_ref()
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

    CacheOutcomes {
        replication_groups,
        clusters,
        serverless,
        subnet_groups,
        parameter_groups,
        parameters,
        snapshots,
        serverless_snapshots,
        global_groups,
    }
}

/// The ARNs of the deployments of a unit.
pub(crate) fn deployment_arns(reads: &CacheReads) -> Vec<String> {
    let mut arns = Vec::new();
    for rg in reads.replication_groups.iter().flatten() {
        arns.extend(rg.arn().map(str::to_string));
    }
    for c in reads
        .clusters
        .iter()
        .flatten()
        .filter(|c| c.replication_group_id().is_none())
    {
        arns.extend(c.arn().map(str::to_string));
    }
    for s in reads.serverless.iter().flatten() {
        arns.extend(s.arn().map(str::to_string));
    }
    arns
}

/// Tags of every deployment, by ARN; those whose read failed are absent, and the first error is
/// returned beside them.
pub(crate) async fn read_tags(
    c: &Client,
    reads: &CacheReads,
) -> (HashMap<String, BTreeMap<String, String>>, Option<CoverageError>) {
    let arns = deployment_arns(reads);
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(TAG_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for arn in arns {
        let (c, semaphore) = (c.clone(), semaphore.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await.expect("semaphore open");
            let outcome = c.list_tags_for_resource().resource_name(&arn).send().await;
            (arn, outcome)
        });
    }
    let mut tags = HashMap::new();
    let mut error = None;
    while let Some(joined) = tasks.join_next().await {
        let (arn, outcome) = joined.expect("tag task panicked");
        match outcome {
            Ok(out) => {
                let map = out
                    .tag_list()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                    .collect();
                tags.insert(arn, map);
            }
            Err(e) => {
                error.get_or_insert_with(|| describe_error(&e));
            }
        }
    }
    (tags, error)
}
