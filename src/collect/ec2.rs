//! EC2 reads of one unit: the security groups and VPCs the caches reference, and only those,
//! batched with filters (a filter, unlike `GroupIds`, does not fail the whole call when one
//! referenced group no longer exists).

use std::collections::BTreeSet;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, SecurityGroup, Vpc};

use super::elasticache::CacheReads;
use super::{Reads, describe_error};
use crate::inventory::CoverageError;

/// Values per filter (the EC2 limit).
const FILTER_VALUES: usize = 200;
const PAGE: i32 = 1000;

/// What EC2 said. `None`: the read failed or was not needed.
#[derive(Default)]
pub(crate) struct NetworkReads {
    /// The referenced security groups that exist; a referenced id missing here with
    /// `security_groups_read` true no longer exists.
    pub security_groups: Vec<SecurityGroup>,
    pub security_groups_read: bool,
    pub vpcs: Vec<Vpc>,
    pub vpcs_read: bool,
}

pub(crate) struct NetworkOutcomes {
    security_groups: Option<Result<Vec<SecurityGroup>, CoverageError>>,
    vpcs: Option<Result<Vec<Vpc>, CoverageError>>,
}

impl NetworkOutcomes {
    pub(crate) fn record(self, reads: &mut Reads) -> NetworkReads {
        let mut out = NetworkReads::default();
        if let Some(sgs) = self.security_groups {
            if let Some(sgs) = reads.record("ec2", "DescribeSecurityGroups", sgs) {
                out.security_groups = sgs;
                out.security_groups_read = true;
            }
        } else {
            out.security_groups_read = true;
        }
        if let Some(vpcs) = self.vpcs {
            if let Some(vpcs) = reads.record("ec2", "DescribeVpcs", vpcs) {
                out.vpcs = vpcs;
                out.vpcs_read = true;
            }
        } else {
            out.vpcs_read = true;
        }
        out
    }
}

/// Security groups referenced by the unit's caches.
fn referenced_groups(cache: &CacheReads) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for c in cache.clusters.iter().flatten() {
        ids.extend(
            c.security_groups()
                .iter()
                .filter_map(|g| g.security_group_id())
                .map(str::to_string),
        );
    }
    for s in cache.serverless.iter().flatten() {
        ids.extend(s.security_group_ids().iter().cloned());
    }
    ids
}

/// Every page of a describe call for `ids`, batched by a filter on `filter`.
macro_rules! by_filter {
    ($ids:expr, $filter:literal, |$f:ident| $request:expr, $items:ident) => {{
        let ids: Vec<String> = $ids.iter().cloned().collect();
        let mut out = Vec::new();
        for batch in ids.chunks(FILTER_VALUES) {
            let $f = Filter::builder()
                .name($filter)
                .set_values(Some(batch.to_vec()))
                .build();
            let mut pages = $request.max_results(PAGE).into_paginator().send();
            while let Some(page) = pages.next().await {
                out.extend(page.map_err(|e| describe_error(&e))?.$items().iter().cloned());
            }
        }
        Ok(out)
    }};
}

async fn groups(c: &Client, ids: &BTreeSet<String>) -> Result<Vec<SecurityGroup>, CoverageError> {
    by_filter!(
        ids,
        "group-id",
        |f| c.describe_security_groups().filters(f),
        security_groups
    )
}

async fn vpcs(c: &Client, ids: &BTreeSet<String>) -> Result<Vec<Vpc>, CoverageError> {
    by_filter!(ids, "vpc-id", |f| c.describe_vpcs().filters(f), vpcs)
}

/// Reads the security groups the caches reference, then the VPCs of those groups and of the
/// caches' subnet groups.
pub(crate) async fn read(c: &Client, cache: &CacheReads) -> NetworkOutcomes {
    let group_ids = referenced_groups(cache);
    let security_groups = if group_ids.is_empty() {
        None
    } else {
        Some(groups(c, &group_ids).await)
    };
    let used_subnet_groups: BTreeSet<&str> = cache
        .clusters
        .iter()
        .flatten()
        .filter_map(|c| c.cache_subnet_group_name())
        .collect();
    let mut vpc_ids: BTreeSet<String> = cache
        .subnet_groups
        .iter()
        .flatten()
        .filter(|g| {
            g.cache_subnet_group_name()
                .is_some_and(|n| used_subnet_groups.contains(n))
        })
        .filter_map(|g| g.vpc_id())
        .map(str::to_string)
        .collect();
    if let Some(Ok(groups)) = &security_groups {
        vpc_ids.extend(groups.iter().filter_map(|g| g.vpc_id()).map(str::to_string));
    }
    let vpcs = if vpc_ids.is_empty() {
        None
    } else {
        Some(vpcs(c, &vpc_ids).await)
    };
    NetworkOutcomes {
        security_groups,
        vpcs,
    }
}
