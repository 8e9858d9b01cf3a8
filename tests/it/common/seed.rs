//! Seeding moto through the AWS SDK: VPCs and security groups, replication groups with their
//! member clusters (created as AWS shows them: `CreateCacheCluster` with `ReplicationGroupId`),
//! standalone clusters, serverless caches, automatic snapshots and CloudWatch alarms.

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use aws_sdk_ec2::types::{IpPermission, IpRange};
use chrono::{DateTime, Utc};

pub struct Network {
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub subnet_group: String,
}

/// A VPC with two subnets (AZs a and b), an Amazon IPv6 block when `ipv6`, and a cache subnet
/// group of them.
pub async fn network(cfg: &SdkConfig, name: &str, cidr: &str, ipv6: bool) -> Network {
    let ec2 = aws_sdk_ec2::Client::new(cfg);
    let region = cfg.region().unwrap().to_string();
    let vpc = ec2
        .create_vpc()
        .cidr_block(cidr)
        .amazon_provided_ipv6_cidr_block(ipv6)
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap();
    let vpc_id = vpc.vpc_id.unwrap();
    let base: Vec<&str> = cidr.split('.').collect();
    let mut subnet_ids = Vec::new();
    for (i, az) in ["a", "b"].iter().enumerate() {
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block(format!("{}.{}.{}.0/24", base[0], base[1], i + 1))
            .availability_zone(format!("{region}{az}"))
            .send()
            .await
            .unwrap()
            .subnet
            .unwrap();
        subnet_ids.push(subnet.subnet_id.unwrap());
    }
    let ec = aws_sdk_elasticache::Client::new(cfg);
    ec.create_cache_subnet_group()
        .cache_subnet_group_name(name)
        .cache_subnet_group_description(name)
        .set_subnet_ids(Some(subnet_ids.clone()))
        .send()
        .await
        .unwrap();
    Network {
        vpc_id,
        subnet_ids,
        subnet_group: name.to_string(),
    }
}

pub fn tcp(from: i32, to: i32, cidr: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(from)
        .to_port(to)
        .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
        .build()
}

/// A security group in `vpc` with exactly `ingress`.
pub async fn security_group(cfg: &SdkConfig, vpc: &str, name: &str, ingress: Vec<IpPermission>) -> String {
    let ec2 = aws_sdk_ec2::Client::new(cfg);
    let id = ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .vpc_id(vpc)
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    if !ingress.is_empty() {
        ec2.authorize_security_group_ingress()
            .group_id(&id)
            .set_ip_permissions(Some(ingress))
            .send()
            .await
            .unwrap();
    }
    id
}

/// A replication group to create.
#[derive(Clone)]
pub struct Group<'a> {
    pub id: &'a str,
    pub engine: &'a str,
    pub version: &'a str,
    pub cluster_mode: bool,
    pub shards: i32,
    pub replicas: i32,
    pub security_groups: Vec<String>,
    pub subnet_group: &'a str,
    pub parameter_group: Option<&'a str>,
    pub encrypted: bool,
    pub auth_token: bool,
    pub multi_az: bool,
    pub failover: bool,
    pub retention: i32,
    pub notification_topic: Option<&'a str>,
}

impl<'a> Group<'a> {
    /// A compliant Redis 7.1 group with one primary and one replica.
    pub fn compliant(id: &'a str, security_group: &str, subnet_group: &'a str) -> Self {
        Group {
            id,
            engine: "redis",
            version: "7.1",
            cluster_mode: false,
            shards: 1,
            replicas: 1,
            security_groups: vec![security_group.to_string()],
            subnet_group,
            parameter_group: None,
            encrypted: true,
            auth_token: true,
            multi_az: true,
            failover: true,
            retention: 7,
            notification_topic: Some("arn:aws:sns:us-east-1:123456789012:cache-events"),
        }
    }
}

/// Creates a replication group and its member clusters; returns the member cluster ids.
pub async fn replication_group(cfg: &SdkConfig, g: &Group<'_>) -> Vec<String> {
    let ec = aws_sdk_elasticache::Client::new(cfg);
    let region = cfg.region().unwrap().to_string();
    let mut req = ec
        .create_replication_group()
        .replication_group_id(g.id)
        .replication_group_description(g.id)
        .engine(g.engine)
        .engine_version(g.version)
        .cache_node_type("cache.r7g.large")
        .num_node_groups(g.shards)
        .replicas_per_node_group(g.replicas)
        .cluster_mode(if g.cluster_mode {
            aws_sdk_elasticache::types::ClusterMode::Enabled
        } else {
            aws_sdk_elasticache::types::ClusterMode::Disabled
        })
        .set_security_group_ids(Some(g.security_groups.clone()))
        .cache_subnet_group_name(g.subnet_group)
        .at_rest_encryption_enabled(g.encrypted)
        .transit_encryption_enabled(g.encrypted)
        .multi_az_enabled(g.multi_az)
        .automatic_failover_enabled(g.failover)
        .snapshot_retention_limit(g.retention)
        .set_notification_topic_arn(g.notification_topic.map(str::to_string))
        .tags(
            aws_sdk_elasticache::types::Tag::builder()
                .key("team")
                .value(g.id)
                .build(),
        );
    if g.auth_token {
        req = req.auth_token("a-very-long-auth-token-0123456789");
    }
    if let Some(p) = g.parameter_group {
        req = req.cache_parameter_group_name(p);
    }
    let rg = req.send().await.unwrap().replication_group.unwrap();
    let members = rg.member_clusters.unwrap_or_default();
    for (i, member) in members.iter().enumerate() {
        let az = if i % 2 == 0 { "a" } else { "b" };
        let mut c = ec
            .create_cache_cluster()
            .cache_cluster_id(member)
            .replication_group_id(g.id)
            .engine(g.engine)
            .engine_version(g.version)
            .cache_node_type("cache.r7g.large")
            .preferred_availability_zone(format!("{region}{az}"))
            .set_security_group_ids(Some(g.security_groups.clone()))
            .cache_subnet_group_name(g.subnet_group)
            .snapshot_retention_limit(g.retention)
            .set_notification_topic_arn(g.notification_topic.map(str::to_string))
            .auto_minor_version_upgrade(true);
        if let Some(p) = g.parameter_group {
            c = c.cache_parameter_group_name(p);
        }
        c.send().await.unwrap();
    }
    members
}

/// An automatic snapshot of a replication group or cluster taken at `at` (the emulator makes a
/// snapshot named as AWS names automatic ones an automatic one).
pub async fn automatic_snapshot(cfg: &SdkConfig, replication_group: &str, at: DateTime<Utc>) {
    let ec = aws_sdk_elasticache::Client::new(cfg);
    ec.create_snapshot()
        .snapshot_name(format!(
            "automatic.{replication_group}-{}",
            at.format("%Y-%m-%d-%H-%M")
        ))
        .replication_group_id(replication_group)
        .send()
        .await
        .unwrap();
}

pub const METRICS: [&str; 3] = [
    "CPUUtilization",
    "EngineCPUUtilization",
    "DatabaseMemoryUsagePercentage",
];

/// An alarm on `metric` of node `cluster_id`, notifying a topic when `notify`.
pub async fn alarm(cfg: &SdkConfig, cluster_id: &str, metric: &str, threshold: f64, notify: bool) {
    let cw = aws_sdk_cloudwatch::Client::new(cfg);
    cw.put_metric_alarm()
        .alarm_name(format!("{cluster_id}-{metric}"))
        .namespace("AWS/ElastiCache")
        .metric_name(metric)
        .dimensions(
            Dimension::builder()
                .name("CacheClusterId")
                .value(cluster_id)
                .build(),
        )
        .statistic(Statistic::Average)
        .period(300)
        .evaluation_periods(3)
        .threshold(threshold)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .set_alarm_actions(notify.then(|| vec!["arn:aws:sns:us-east-1:123456789012:oncall".to_string()]))
        .send()
        .await
        .unwrap();
}

/// The three required alarms on every node, notifying someone.
pub async fn full_alarms(cfg: &SdkConfig, nodes: &[String]) {
    for node in nodes {
        for metric in METRICS {
            alarm(cfg, node, metric, 80.0, true).await;
        }
    }
}

/// One replication group per (account, region) unit (`cache-AR`, every other one with public
/// ingress); with `extras`, alarms on every node and a Memcached cluster (`mc-A`) in the second
/// region.
pub async fn unit_fleet(moto: &super::moto::Moto, accounts: &[&str], regions: &[&str], extras: bool) {
    for (a, account) in accounts.iter().enumerate() {
        for (r, region) in regions.iter().enumerate() {
            let cfg = moto.config_in_account(account, region).await;
            let cidr = format!("10.{}.0.0/16", 10 * a + r + 1);
            let net = network(&cfg, "subnets", &cidr, false).await;
            let open = if (a + r) % 2 == 0 {
                "0.0.0.0/0"
            } else {
                cidr.as_str()
            };
            let sg = security_group(&cfg, &net.vpc_id, "cache", vec![tcp(6379, 6379, open)]).await;
            let id = format!("cache-{a}{r}");
            let nodes = replication_group(&cfg, &Group::compliant(&id, &sg, &net.subnet_group)).await;
            if !extras {
                continue;
            }
            full_alarms(&cfg, &nodes).await;
            if r == 1 {
                aws_sdk_elasticache::Client::new(&cfg)
                    .create_cache_cluster()
                    .cache_cluster_id(format!("mc-{a}"))
                    .engine("memcached")
                    .engine_version("1.6.22")
                    .cache_node_type("cache.t4g.small")
                    .num_cache_nodes(1)
                    .security_group_ids(&sg)
                    .cache_subnet_group_name(&net.subnet_group)
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// One metric of one node: `(node, metric, [(at, value)])`.
pub type Series = (String, &'static str, Vec<(DateTime<Utc>, f64)>);

/// Datapoints of `AWS/ElastiCache` metrics with the `CacheClusterId` dimension, as ElastiCache
/// publishes them, sent 500 to a PutMetricData call.
pub async fn metric_data(cfg: &SdkConfig, series: &[Series]) {
    use aws_sdk_cloudwatch::types::MetricDatum;
    // moto cannot read the gzip-compressed bodies the SDK sends above 10 KB.
    let cw = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(cfg)
            .disable_request_compression(true)
            .build(),
    );
    let datums: Vec<MetricDatum> = series
        .iter()
        .flat_map(|(node, metric, points)| {
            points.iter().map(move |(at, value)| {
                MetricDatum::builder()
                    .metric_name(*metric)
                    .dimensions(Dimension::builder().name("CacheClusterId").value(node).build())
                    .timestamp(aws_smithy_types::DateTime::from_secs(at.timestamp()))
                    .value(*value)
                    .build()
            })
        })
        .collect();
    for chunk in datums.chunks(500) {
        cw.put_metric_data()
            .namespace("AWS/ElastiCache")
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
    }
}
