//! A read of one named deployment instead of a whole unit (`ecaudit doctor`): ElastiCache through
//! each API's own id parameter (a not-found fault meaning "no such deployment", not a failed
//! read), then only what that deployment references: its member clusters, subnet and parameter
//! groups, snapshots, Global Datastore, security groups and VPCs, its tags by ARN and its nodes'
//! metrics. The facts come out as a scan's, through the same assembly.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::operation::describe_cache_clusters::DescribeCacheClustersError;
use aws_sdk_elasticache::operation::describe_cache_parameter_groups::DescribeCacheParameterGroupsError;
use aws_sdk_elasticache::operation::describe_cache_subnet_groups::DescribeCacheSubnetGroupsError;
use aws_sdk_elasticache::operation::describe_global_replication_groups::DescribeGlobalReplicationGroupsError;
use aws_sdk_elasticache::operation::describe_replication_groups::DescribeReplicationGroupsError;
use aws_sdk_elasticache::operation::describe_serverless_caches::DescribeServerlessCachesError;
use aws_sdk_elasticache::types::{CacheCluster, ReplicationGroup};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::elasticache::{
    CacheOutcomes, CacheReads, Outcome, SNAPSHOT_PAGE, add_tags, all_pages, cluster_enabled,
};
use super::{Clients, OneDeployment, Reads, Unit, assemble, cloudwatch, describe_error, ec2, metrics};
use crate::inventory::{CoverageError, Deployment, DeploymentKind, UtilisationWindow};

/// Reads the deployment `one` of a unit: ElastiCache by id first, then, when it exists, the
/// security groups and VPCs it references, the alarms (DescribeAlarms cannot filter by
/// dimension: every alarm of the region, kept for its nodes as in a scan), its tags by ARN and
/// the utilisation of its nodes only.
pub(super) async fn collect(
    one: &OneDeployment,
    clients: &Clients,
    unit: &Unit,
    reads: &mut Reads,
    window: Option<&UtilisationWindow>,
) -> Vec<Deployment> {
    let cache = read(&clients.elasticache, one).await.record(reads);
    if !any_deployment(&cache) {
        return Vec::new();
    }
    let (network, alarms) = tokio::join!(
        ec2::read(&clients.ec2, &cache),
        cloudwatch::read(&clients.cloudwatch)
    );
    let network = network.record(reads);
    let alarms = reads.record("cloudwatch", "DescribeAlarms", alarms);
    let mut deployments = assemble::deployments(
        &unit.account_id,
        &unit.region,
        &cache,
        &network,
        alarms.as_deref(),
        None,
    );
    let arns: Vec<String> = deployments.iter().map(|d| d.arn.clone()).collect();
    if arns.is_empty() {
        return deployments;
    }
    let tags = tags_of(&clients.tagging, arns).await;
    if let Some(tags) = reads.record("tag", "GetResources", tags) {
        for d in &mut deployments {
            d.tags = Some(tags.get(&d.arn).cloned().unwrap_or_default());
        }
    }
    metrics::read_if_asked(&clients.cloudwatch, &mut deployments, window, reads).await;
    deployments.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    deployments
}

/// Whether the reads found a deployment: a replication group, a cluster of none, a serverless cache.
fn any_deployment(cache: &CacheReads) -> bool {
    cache.replication_groups.iter().flatten().next().is_some()
        || cache
            .clusters
            .iter()
            .flatten()
            .any(|c| c.replication_group_id().is_none())
        || cache.serverless.iter().flatten().next().is_some()
}

/// The items of a lookup by id; none when the id's not-found fault answers it (the resource does
/// not exist: a fact, not a failed read).
fn unless_not_found<T, E, R>(
    result: Result<Vec<T>, SdkError<E, R>>,
    not_found: fn(&E) -> bool,
) -> Result<Vec<T>, CoverageError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match result {
        Err(e) if e.as_service_error().is_some_and(not_found) => Ok(Vec::new()),
        other => other.map_err(|e| describe_error(&e)),
    }
}

/// The first failure of several calls to one API, else every item.
fn all_of<T>(outcomes: Vec<Result<Vec<T>, CoverageError>>) -> Result<Vec<T>, CoverageError> {
    let mut out = Vec::new();
    for outcome in outcomes {
        out.extend(outcome?);
    }
    Ok(out)
}

/// Cache clusters read by id at once, at most this many at a time (a replication group names
/// up to 500; DescribeCacheClusters takes one id and has no other filter).
const CLUSTERS_AT_ONCE: usize = 8;

async fn clusters_by_id(c: &Client, ids: BTreeSet<String>) -> Result<Vec<CacheCluster>, CoverageError> {
    let mut ids = ids.into_iter();
    let mut tasks = tokio::task::JoinSet::new();
    let mut outcomes = Vec::new();
    loop {
        while tasks.len() < CLUSTERS_AT_ONCE
            && let Some(id) = ids.next()
        {
            let request = c
                .describe_cache_clusters()
                .cache_cluster_id(id)
                .show_cache_node_info(true);
            tasks.spawn(async move {
                let result = request.send().await.map(|o| o.cache_clusters.unwrap_or_default());
                unless_not_found(
                    result,
                    DescribeCacheClustersError::is_cache_cluster_not_found_fault,
                )
            });
        }
        match tasks.join_next().await {
            Some(joined) => outcomes.push(joined.expect("a DescribeCacheClusters task panicked")),
            None => break,
        }
    }
    all_of(outcomes)
}

/// The items an outcome holds (none when the calls failed or were not made).
fn found<T>(outcome: &Outcome<T>) -> Vec<&T> {
    outcome.iter().flatten().flatten().collect()
}

/// One call per name, in turn, and their items; `None` when there is nothing to ask for.
async fn each<'n, T, F>(names: impl IntoIterator<Item = &'n str>, call: impl Fn(&'n str) -> F) -> Outcome<T>
where
    F: Future<Output = Result<Vec<T>, CoverageError>>,
{
    let mut outcomes = Vec::new();
    for name in names {
        outcomes.push(call(name).await);
    }
    (!outcomes.is_empty()).then(|| all_of(outcomes))
}

/// Reads one deployment, named by `one`, and only what it references, each through the API's
/// own id parameter: the deployment (as each kind it may be, unless its ARN said which), the
/// member clusters of a replication group, their subnet and parameter groups, its automatic
/// snapshots and its Global Datastore. An id that names nothing reads as none found, not as a
/// failure.
async fn read(c: &Client, one: &OneDeployment) -> CacheOutcomes {
    let may_be = |kind| one.kind.is_none_or(|k| k == kind).then_some(one.id.as_str());
    let (as_group, as_cluster, as_serverless) = (
        may_be(DeploymentKind::ReplicationGroup),
        may_be(DeploymentKind::CacheCluster),
        may_be(DeploymentKind::ServerlessCache),
    );
    let (replication_groups, named_cluster, serverless) = tokio::join!(
        each(as_group, |id| async move {
            let result = c
                .describe_replication_groups()
                .replication_group_id(id)
                .send()
                .await;
            unless_not_found(
                result.map(|o| o.replication_groups.unwrap_or_default()),
                DescribeReplicationGroupsError::is_replication_group_not_found_fault,
            )
        }),
        each(as_cluster, |id| async move {
            clusters_by_id(c, BTreeSet::from([id.to_string()])).await
        }),
        each(as_serverless, |id| async move {
            let result = c
                .describe_serverless_caches()
                .serverless_cache_name(id)
                .send()
                .await;
            unless_not_found(
                result.map(|o| o.serverless_caches.unwrap_or_default()),
                DescribeServerlessCachesError::is_serverless_cache_not_found_fault,
            )
        }),
    );
    // A member of a replication group is no deployment of its own (a scan does not list it).
    let named_cluster = named_cluster.map(|r| {
        r.map(|cs| {
            cs.into_iter()
                .filter(|c| c.replication_group_id().is_none())
                .collect()
        })
    });
    let groups: Vec<&ReplicationGroup> = found(&replication_groups);
    let members: BTreeSet<String> = groups
        .iter()
        .flat_map(|rg| rg.member_clusters().iter().cloned())
        .collect();
    let clusters = if members.is_empty() {
        named_cluster
    } else {
        let members = clusters_by_id(c, members).await;
        Some(all_of(named_cluster.into_iter().chain([members]).collect()))
    };

    // What the deployment references, by name. Gathered into sets before the calls: a lazy
    // iterator holding a closure across an await fails the unit task's `Send` check (lifetimes
    // the compiler cannot prove general enough).
    let clusters_read = found(&clusters);
    let mut subnet_groups = BTreeSet::new();
    let mut parameter_groups = BTreeSet::new();
    let mut standalone = BTreeSet::new();
    for c in &clusters_read {
        subnet_groups.extend(c.cache_subnet_group_name());
        parameter_groups.extend(
            c.cache_parameter_group()
                .and_then(|p| p.cache_parameter_group_name()),
        );
        if c.replication_group_id().is_none() {
            standalone.extend(c.cache_cluster_id());
        }
    }
    let mut group_ids = BTreeSet::new();
    let mut global = BTreeSet::new();
    for rg in &groups {
        group_ids.extend(rg.replication_group_id());
        global.extend(
            rg.global_replication_group_info()
                .and_then(|g| g.global_replication_group_id()),
        );
    }
    let mut serverless_names = BTreeSet::new();
    for s in found(&serverless) {
        serverless_names.extend(s.serverless_cache_name());
    }
    let (subnet_groups, parameter_groups, snapshots, serverless_snapshots, global_groups) = tokio::join!(
        each(subnet_groups, |name| async move {
            let result = c
                .describe_cache_subnet_groups()
                .cache_subnet_group_name(name)
                .send()
                .await;
            unless_not_found(
                result.map(|o| o.cache_subnet_groups.unwrap_or_default()),
                DescribeCacheSubnetGroupsError::is_cache_subnet_group_not_found_fault,
            )
        }),
        each(parameter_groups, |name| async move {
            let result = c
                .describe_cache_parameter_groups()
                .cache_parameter_group_name(name)
                .send()
                .await;
            unless_not_found(
                result.map(|o| o.cache_parameter_groups.unwrap_or_default()),
                DescribeCacheParameterGroupsError::is_cache_parameter_group_not_found_fault,
            )
        }),
        async {
            // A replication group's snapshots by its id, a cluster's by its own.
            let by_group = each(group_ids, |id| async move {
                all_pages!(
                    c.describe_snapshots()
                        .replication_group_id(id)
                        .snapshot_source("system")
                        .max_records(SNAPSHOT_PAGE),
                    snapshots
                )
            })
            .await;
            let by_cluster = each(standalone, |id| async move {
                all_pages!(
                    c.describe_snapshots()
                        .cache_cluster_id(id)
                        .snapshot_source("system")
                        .max_records(SNAPSHOT_PAGE),
                    snapshots
                )
            })
            .await;
            match (by_group, by_cluster) {
                (None, None) => None,
                (a, b) => Some(all_of(a.into_iter().chain(b).collect())),
            }
        },
        each(serverless_names, |name| async move {
            all_pages!(
                c.describe_serverless_cache_snapshots()
                    .serverless_cache_name(name)
                    .snapshot_type("automated")
                    .max_results(SNAPSHOT_PAGE),
                serverless_cache_snapshots
            )
        }),
        each(global, |id| async move {
            let result = c
                .describe_global_replication_groups()
                .global_replication_group_id(id)
                .show_member_info(true)
                .send()
                .await;
            unless_not_found(
                result.map(|o| o.global_replication_groups.unwrap_or_default()),
                DescribeGlobalReplicationGroupsError::is_global_replication_group_not_found_fault,
            )
        }),
    );
    let parameters = cluster_enabled(c, clusters.as_ref().and_then(|r| r.as_ref().ok())).await;

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

/// Tags of the deployments `arns` (one per kind at most), in one call: with a list of ARNs the
/// Resource Groups Tagging API takes neither type filters nor paging. An ARN it does not list
/// has no tags.
async fn tags_of(
    c: &aws_sdk_resourcegroupstagging::Client,
    arns: Vec<String>,
) -> Result<HashMap<String, BTreeMap<String, String>>, CoverageError> {
    let page = c
        .get_resources()
        .set_resource_arn_list(Some(arns))
        .send()
        .await
        .map_err(|e| describe_error(&e))?;
    let mut tags = HashMap::new();
    add_tags(page.resource_tag_mapping_list(), &mut tags);
    Ok(tags)
}
