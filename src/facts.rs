//! Facts derived from a deployment's stored facts, in Rust, where they are hard or would be slow
//! in CEL: which ingress permissions reach the cache port, which metrics each node's alarms watch
//! and whether they notify anyone, per-shard replica and zone counts. Rules read them as fields
//! of `d` (listed in `docs/rules.md`).

use crate::inventory::{
    Alarm, Deployment, IngressPermission, LookupState, Node, NodeGroup, NodeRole, SecurityGroup,
};
use crate::net::{is_public, parse_cidr};

/// The CloudWatch namespace of ElastiCache metrics.
pub const ELASTICACHE_NAMESPACE: &str = "AWS/ElastiCache";

/// Metrics whose high-threshold alarms warn of CPU saturation.
pub const CPU_METRICS: &[&str] = &["CPUUtilization", "EngineCPUUtilization"];
/// Metrics whose high-threshold alarms warn of memory saturation.
pub const MEMORY_METRICS: &[&str] = &["DatabaseMemoryUsagePercentage"];

/// Distinct values in first-seen order.
pub fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Distinct Availability Zones of the deployment's nodes.
pub fn availability_zones(d: &Deployment) -> Vec<&str> {
    distinct(d.nodes().filter_map(|n| n.availability_zone.as_deref()))
}

/// Distinct Availability Zones of a shard's nodes.
pub fn shard_availability_zones(g: &NodeGroup) -> Vec<&str> {
    distinct(g.members.iter().filter_map(|m| m.availability_zone.as_deref()))
}

/// Replicas in a shard: members with the replica role where roles are reported, otherwise every
/// member but the primary.
pub fn replica_count(g: &NodeGroup) -> usize {
    if g.members.iter().any(|m| m.role.is_some()) {
        g.members
            .iter()
            .filter(|m| m.role == Some(NodeRole::Replica))
            .count()
    } else {
        g.members.len().saturating_sub(1)
    }
}

/// The fewest replicas any shard has (`None` without shards).
pub fn min_replicas_per_shard(d: &Deployment) -> Option<usize> {
    d.node_groups.iter().map(replica_count).min()
}

/// The fewest distinct Availability Zones any shard's nodes sit in (`None` without shards, or
/// when that number is not known).
pub fn min_azs_per_shard(d: &Deployment) -> Option<usize> {
    // A shard in fewer than two known zones says nothing when some of its nodes' zones are not
    // known: a plan's nodes before AWS places them, or a node whose zone was not reported. A
    // shard known to sit in one zone decides, whatever the others.
    let all_unknown = d.unknown_facts.iter().any(|f| f == AVAILABILITY_ZONES);
    let (mut min, mut unsure) = (None::<usize>, false);
    for g in &d.node_groups {
        let zones = shard_availability_zones(g).len();
        if zones < 2 && (all_unknown || g.members.iter().any(|m| m.availability_zone.is_none())) {
            unsure = true;
        } else {
            min = Some(min.map_or(zones, |m| m.min(zones)));
        }
    }
    match min {
        Some(m) if m < 2 => Some(m),
        _ if unsure => None,
        other => other,
    }
}

/// The `unknown_facts` entry of a deployment whose nodes' Availability Zones are not known.
pub const AVAILABILITY_ZONES: &str = "availability_zones";

/// `cluster-001`, or `cluster/0002` for a Memcached node.
pub fn node_name(n: &Node) -> String {
    match &n.cache_node_id {
        Some(id) if n.role.is_none() && id != "0001" => format!("{}/{id}", n.cache_cluster_id),
        _ => n.cache_cluster_id.clone(),
    }
}

/// Whether an ingress permission admits traffic to `port`: protocol `-1` (all traffic), or tcp
/// with a range covering the port.
pub fn reaches_port(perm: &IngressPermission, port: u16) -> bool {
    let port = i32::from(port);
    match perm.protocol.as_str() {
        "-1" | "all" => true,
        "tcp" | "6" => match (perm.from_port, perm.to_port) {
            (Some(from), Some(to)) => from <= port && port <= to,
            // A tcp permission without a range admits every port.
            (None, None) => true,
            (Some(p), None) | (None, Some(p)) => p == port,
        },
        _ => false,
    }
}

/// A permission's protocol and ports for evidence: `tcp/6379`, `tcp/6000-7000`, `all traffic`.
pub fn port_range(p: &IngressPermission) -> String {
    match (p.protocol.as_str(), p.from_port, p.to_port) {
        ("-1" | "all", _, _) => "all traffic".to_string(),
        (proto, Some(a), Some(b)) if a == b => format!("{proto}/{a}"),
        (proto, Some(a), Some(b)) => format!("{proto}/{a}-{b}"),
        (proto, _, _) => format!("{proto}/all ports"),
    }
}

/// Every permission of every found security group that reaches the cache port, with its group.
pub fn cache_port_ingress(d: &Deployment) -> Vec<(&IngressPermission, &SecurityGroup)> {
    let Some(port) = d.cache_port() else {
        return Vec::new();
    };
    d.security_groups
        .iter()
        .filter(|g| g.state == LookupState::Found)
        .flat_map(|g| g.ingress.iter().map(move |p| (p, g)))
        .filter(|(p, _)| reaches_port(p, port))
        .collect()
}

/// Distinct IPv4 CIDRs admitted to the cache port.
pub fn cache_port_ipv4_sources(d: &Deployment) -> Vec<&str> {
    distinct(
        cache_port_ingress(d)
            .into_iter()
            .flat_map(|(p, _)| p.ipv4_ranges.iter().map(|r| r.cidr.as_str())),
    )
}

/// Distinct IPv6 CIDRs admitted to the cache port.
pub fn cache_port_ipv6_sources(d: &Deployment) -> Vec<&str> {
    distinct(
        cache_port_ingress(d)
            .into_iter()
            .flat_map(|(p, _)| p.ipv6_ranges.iter().map(|r| r.cidr.as_str())),
    )
}

/// Distinct prefix lists admitted to the cache port.
pub fn cache_port_prefix_lists(d: &Deployment) -> Vec<&str> {
    distinct(
        cache_port_ingress(d)
            .into_iter()
            .flat_map(|(p, _)| p.prefix_lists.iter().map(String::as_str)),
    )
}

/// Whether `cidr` lies inside one of the VPC's own CIDR blocks.
pub fn inside_vpc(d: &Deployment, cidr: &str) -> bool {
    let (Some(vpc), Ok(net)) = (&d.vpc, parse_cidr(cidr)) else {
        return false;
    };
    vpc.ipv4_cidr_blocks
        .iter()
        .chain(&vpc.ipv6_cidr_blocks)
        .filter_map(|b| parse_cidr(b).ok())
        .any(|block| block.contains(&net))
}

/// CIDRs admitted to the cache port that hold publicly routable addresses and are not the VPC's
/// own blocks (a VPC's IPv6 block, or a BYOIP IPv4 block, is public address space, but as a
/// source it means hosts inside the VPC). An unparsable CIDR counts as public: it cannot be
/// shown to be private.
pub fn public_cache_port_sources(d: &Deployment) -> Vec<&str> {
    cache_port_ipv4_sources(d)
        .into_iter()
        .chain(cache_port_ipv6_sources(d))
        .filter(|c| parse_cidr(c).map(|n| is_public(&n)).unwrap_or(true) && !inside_vpc(d, c))
        .collect()
}

/// Security groups attached to the deployment that are in `state`.
pub fn security_groups_in(d: &Deployment, state: LookupState) -> Vec<&str> {
    d.security_groups
        .iter()
        .filter(|g| g.state == state)
        .map(|g| g.id.as_str())
        .collect()
}

/// Whether a metric's dimensions identify `node`.
fn dimensions_match(dimensions: &std::collections::BTreeMap<String, String>, node: &Node) -> bool {
    dimensions.get("CacheClusterId") == Some(&node.cache_cluster_id)
        && match (dimensions.get("CacheNodeId"), &node.cache_node_id) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        }
}

/// The ElastiCache metrics an alarm evaluates for `node`: its own metric, or those of its
/// metric-math queries, whose dimensions identify the node.
pub fn watched_metrics<'a>(alarm: &'a Alarm, node: &Node) -> Vec<&'a str> {
    let own = alarm
        .metric_name
        .as_deref()
        .filter(|_| alarm.namespace.as_deref() == Some(ELASTICACHE_NAMESPACE))
        .filter(|_| dimensions_match(&alarm.dimensions, node));
    let math = alarm.metrics.iter().filter_map(|m| {
        m.metric_name
            .as_deref()
            .filter(|_| m.namespace.as_deref() == Some(ELASTICACHE_NAMESPACE))
            .filter(|_| dimensions_match(&m.dimensions, node))
    });
    distinct(own.into_iter().chain(math))
}

/// Whether an alarm would tell someone: actions enabled and at least one alarm action.
pub fn notifies(alarm: &Alarm) -> bool {
    alarm.actions_enabled && !alarm.alarm_actions.is_empty()
}

/// Metrics some alarm watches on `node`.
pub fn node_watched_metrics(node: &Node) -> Vec<&str> {
    distinct(node.alarms.iter().flat_map(|a| watched_metrics(a, node)))
}

/// Metrics watched on `node` by an alarm that notifies someone.
pub fn node_notifying_metrics(node: &Node) -> Vec<&str> {
    distinct(
        node.alarms
            .iter()
            .filter(|a| notifies(a))
            .flat_map(|a| watched_metrics(a, node)),
    )
}

/// Metrics that every node of the deployment has a notifying alarm on (empty without nodes).
pub fn notifying_metrics_on_every_node(d: &Deployment) -> Vec<&str> {
    let mut nodes = d.nodes();
    let Some(first) = nodes.next() else {
        return Vec::new();
    };
    let mut common = node_notifying_metrics(first);
    for node in nodes {
        let here = node_notifying_metrics(node);
        common.retain(|m| here.contains(m));
    }
    common
}

/// The metric of a high-utilisation alarm: a single-metric ElastiCache alarm on one of the
/// CPU or memory metrics that fires above its threshold (`GreaterThan...`).
pub fn high_utilisation_metric(alarm: &Alarm) -> Option<&str> {
    let metric = alarm.metric_name.as_deref()?;
    let high = alarm
        .comparison
        .as_deref()
        .is_some_and(|c| c.starts_with("GreaterThan"));
    (alarm.namespace.as_deref() == Some(ELASTICACHE_NAMESPACE)
        && high
        && (CPU_METRICS.contains(&metric) || MEMORY_METRICS.contains(&metric)))
    .then_some(metric)
}

/// The highest threshold of the deployment's high-utilisation alarms on `metrics`.
pub fn max_alarm_threshold(d: &Deployment, metrics: &[&str]) -> Option<f64> {
    d.nodes()
        .flat_map(|n| n.alarms.iter())
        .filter(|a| high_utilisation_metric(a).is_some_and(|m| metrics.contains(&m)))
        .filter_map(|a| a.threshold)
        .reduce(f64::max)
}
