//! Writes a synthetic inventory of N deployments to standard output, for the
//! engine benchmark (`benches/engine.sh`). Deployments vary deterministically by index: engines,
//! kinds, cluster modes, and each kind of violation, so every rule does real work.
//!
//! With a second argument NIGHT (0, 1, ...), the inventory of that night of a year-long history
//! (`benches/history.sh`), collected at 2025-11-25T06:00Z plus NIGHT days. From night to night,
//! deterministically: a quarter of the deployments flap (each toggles one violation on and off
//! with its own period of 6 to 40 nights: about 2 % of the fleet changes a night, so findings
//! open, get fixed and reopen), the old Redis 5.0 deployments are upgraded one by one between
//! nights 100 and 300 (long remediations), 1 % of the deployments are deleted for ten nights out
//! of every 45 and come back, 1 % more (indices N and up) appear one by one and stay, and every
//! 100th night from night 42 one unit (account 444444444444, ap-southeast-2) fails to be read: a
//! coverage gap. Without NIGHT the output is the engine benchmark's, byte for byte.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};

use chrono::{Duration, TimeZone, Utc};
use ecaudit::inventory::*;

/// Whether deployment `i` is one of every `n`th.
fn every(i: usize, n: usize) -> bool {
    i.is_multiple_of(n)
}

/// A well-mixed hash of `i` and `salt` (splitmix64), for choices that look random but repeat.
fn hash(i: usize, salt: u64) -> u64 {
    let mix = |x: u64| {
        let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    mix(mix(i as u64) ^ salt)
}

/// What a night changes in deployment `i`, beside its index's own pattern.
#[derive(Clone, Copy, Default)]
struct Changes {
    /// Toggled on this night: one of the violations below, on if it was off, off if it was on.
    open_ingress: bool,
    no_snapshots: bool,
    muted_alarm: bool,
    stale_snapshot: bool,
    preferred_transit: bool,
    /// A Redis 5.0 deployment upgraded to 7.1 by this night.
    upgraded: bool,
}

impl Changes {
    /// Deployment `i`'s changes on night `night` (none without a night).
    fn of(i: usize, night: Option<u64>) -> Changes {
        let Some(k) = night else {
            return Changes::default();
        };
        let mut c = Changes {
            upgraded: k >= 100 + hash(i, 6) % 200,
            ..Changes::default()
        };
        // A quarter of the fleet flaps: toggled for a third of its period.
        if hash(i, 1).is_multiple_of(4) {
            let period = 6 + hash(i, 2) % 35;
            if (k + hash(i, 3)) % period < period / 3 {
                match hash(i, 4) % 5 {
                    0 => c.open_ingress = true,
                    1 => c.no_snapshots = true,
                    2 => c.muted_alarm = true,
                    3 => c.stale_snapshot = true,
                    _ => c.preferred_transit = true,
                }
            }
        }
        c
    }
}

/// Whether deployment `i` of a fleet of `n` exists on night `night`.
fn exists(i: usize, n: usize, night: Option<u64>) -> bool {
    let Some(k) = night else {
        return i < n;
    };
    if i >= n {
        // Added over the year, one by one.
        return k >= hash(i, 8) % 365;
    }
    // 1 % of the fleet is deleted for ten nights out of 45, then comes back.
    !hash(i, 7).is_multiple_of(100) || (k + hash(i, 9)) % 45 >= 10
}

/// The unit that cannot be read on a coverage-gap night (every 100th, from night 42).
const GAP_UNIT: (&str, &str) = ("444444444444", "ap-southeast-2");
const ACCOUNTS: [&str; 4] = ["111111111111", "222222222222", "333333333333", "444444444444"];
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

fn alarm(node: &str, metric: &str, threshold: f64, notify: bool) -> Alarm {
    let mut dimensions = BTreeMap::new();
    dimensions.insert("CacheClusterId".to_string(), node.to_string());
    Alarm {
        name: format!("{node}-{metric}"),
        arn: Some(format!(
            "arn:aws:cloudwatch:us-east-1:111111111111:alarm:{node}-{metric}"
        )),
        namespace: Some("AWS/ElastiCache".into()),
        metric_name: Some(metric.into()),
        dimensions,
        metrics: Vec::new(),
        statistic: Some("Average".into()),
        threshold: Some(threshold),
        comparison: Some("GreaterThanThreshold".into()),
        evaluation_periods: Some(3),
        period_seconds: Some(300),
        actions_enabled: notify,
        alarm_actions: vec!["arn:aws:sns:us-east-1:111111111111:ops".into()],
        state: Some("OK".into()),
    }
}

/// Deployment `i` as of `now`, created at `created`, with a night's `changes`.
fn deployment(
    i: usize,
    now: chrono::DateTime<Utc>,
    created: chrono::DateTime<Utc>,
    changes: Changes,
) -> Deployment {
    let account = ACCOUNTS[i % ACCOUNTS.len()];
    let region = REGIONS[(i / 4) % REGIONS.len()];
    let old_redis = every(i, 23) && !changes.upgraded;
    let (kind, engine) = match i % 10 {
        0..=5 => (
            DeploymentKind::ReplicationGroup,
            if every(i, 3) { "valkey" } else { "redis" },
        ),
        6 | 7 => (
            DeploymentKind::CacheCluster,
            if every(i, 2) { "memcached" } else { "redis" },
        ),
        _ => (DeploymentKind::ServerlessCache, "valkey"),
    };
    let id = format!("cache-{i:06}");
    let arn_kind = match kind {
        DeploymentKind::ReplicationGroup => "replicationgroup",
        DeploymentKind::CacheCluster => "cluster",
        DeploymentKind::ServerlessCache => "serverlesscache",
    };
    let cluster_mode = (kind == DeploymentKind::ReplicationGroup).then(|| {
        if every(i, 4) {
            ClusterMode::Enabled
        } else {
            ClusterMode::Disabled
        }
    });
    let shards = match (kind, cluster_mode) {
        (DeploymentKind::ServerlessCache, _) => 0,
        (_, Some(ClusterMode::Enabled)) => 3,
        _ => 1,
    };
    let replicas = if kind == DeploymentKind::ReplicationGroup {
        1 + i % 2
    } else {
        0
    };
    let azs = ["a", "b", "c"];
    let node_groups = (0..shards)
        .map(|s| NodeGroup {
            id: (kind == DeploymentKind::ReplicationGroup).then(|| format!("{:04}", s + 1)),
            status: Some("available".into()),
            members: (0..=replicas)
                .map(|m| {
                    let node = if kind == DeploymentKind::ReplicationGroup {
                        format!("{id}-{:04}-{:03}", s + 1, m + 1)
                    } else {
                        id.clone()
                    };
                    let alarms = if engine == "memcached" {
                        Vec::new()
                    } else {
                        vec![
                            alarm(
                                &node,
                                "CPUUtilization",
                                if every(i, 17) { 97.0 } else { 80.0 },
                                true,
                            ),
                            alarm(
                                &node,
                                "EngineCPUUtilization",
                                80.0,
                                every(i, 13) == changes.muted_alarm,
                            ),
                            alarm(&node, "DatabaseMemoryUsagePercentage", 85.0, true),
                        ]
                    };
                    Node {
                        cache_cluster_id: node,
                        cache_node_id: Some("0001".into()),
                        availability_zone: Some(format!("{region}{}", azs[(m + i % 7 / 6) % 3])),
                        role: None,
                        status: Some("available".into()),
                        alarms,
                        // Collected without --metrics, like the earlier runs of the benchmark.
                        utilisation: None,
                    }
                })
                .collect(),
        })
        .collect();
    let vpc_cidr = format!("10.{}.0.0/16", i % 250);
    let source = match (i % 11, changes.open_ingress) {
        (0, false) | (1.., true) => "0.0.0.0/0".to_string(),
        (1, false) => "10.0.0.0/8".to_string(),
        _ => vpc_cidr.clone(),
    };
    let port: u16 = if engine == "memcached" { 11211 } else { 6379 };
    let mut tags = BTreeMap::new();
    tags.insert("team".to_string(), format!("team-{}", i % 40));
    tags.insert(
        "env".to_string(),
        if every(i, 2) { "prod" } else { "staging" }.to_string(),
    );
    Deployment {
        kind,
        id: id.clone(),
        arn: format!("arn:aws:elasticache:{region}:{account}:{arn_kind}:{id}"),
        account_id: account.into(),
        region: region.into(),
        engine: engine.into(),
        status: Some("available".into()),
        engine_version: Some(match engine {
            "memcached" => "1.6.22".into(),
            "valkey" => {
                if kind == DeploymentKind::ServerlessCache {
                    "8".into()
                } else {
                    "8.0.1".into()
                }
            }
            _ => {
                if old_redis {
                    "5.0.6".into()
                } else {
                    "7.1.0".into()
                }
            }
        }),
        node_type: (kind != DeploymentKind::ServerlessCache).then(|| "cache.r7g.large".into()),
        created_at: Some(created),
        port: Some(port),
        endpoint: None,
        cluster_mode,
        node_groups,
        at_rest_encryption: Some(!every(i, 19)),
        kms_key_id: (every(i, 3)).then(|| format!("arn:aws:kms:{region}:{account}:key/1234abcd-{i:06}")),
        transit_encryption: Some(!every(i, 29)),
        transit_encryption_mode: Some(if every(i, 5) != changes.preferred_transit {
            TransitEncryptionMode::Preferred
        } else {
            TransitEncryptionMode::Required
        }),
        auth_token_enabled: Some(!every(i, 31)),
        user_group_ids: Vec::new(),
        multi_az: (kind == DeploymentKind::ReplicationGroup).then_some(replicas > 0 && !every(i, 37)),
        automatic_failover: (kind == DeploymentKind::ReplicationGroup).then_some(if every(i, 41) {
            AutomaticFailover::Enabling
        } else {
            AutomaticFailover::Enabled
        }),
        pending_changes: BTreeMap::new(),
        snapshot_retention_days: Some(if every(i, 43) != changes.no_snapshots {
            0
        } else {
            7
        }),
        snapshot_window: Some("03:00-04:00".into()),
        latest_automatic_snapshot: Some(
            now - Duration::hours(if every(i, 47) != changes.stale_snapshot {
                60
            } else {
                3
            }),
        ),
        subnet_group: Some(SubnetGroup {
            name: (kind != DeploymentKind::ServerlessCache).then(|| {
                if every(i, 53) {
                    "default".into()
                } else {
                    format!("{id}-subnets")
                }
            }),
            state: LookupState::Found,
            vpc_id: Some(format!("vpc-{i:08x}")),
            subnets: azs
                .iter()
                .enumerate()
                .map(|(n, az)| Subnet {
                    id: format!("subnet-{i:06}{n}"),
                    availability_zone: Some(format!("{region}{az}")),
                })
                .collect(),
        }),
        vpc: Some(Vpc {
            id: format!("vpc-{i:08x}"),
            ipv4_cidr_blocks: vec![vpc_cidr.clone()],
            ipv6_cidr_blocks: Vec::new(),
        }),
        security_groups: vec![SecurityGroup {
            id: format!("sg-{i:012x}"),
            name: Some(format!("{id}-cache")),
            vpc_id: Some(format!("vpc-{i:08x}")),
            state: LookupState::Found,
            ingress: vec![
                IngressPermission {
                    protocol: "tcp".into(),
                    from_port: Some(i32::from(port)),
                    to_port: Some(i32::from(port)),
                    ipv4_ranges: vec![IpRange {
                        cidr: source,
                        description: Some("clients".into()),
                    }],
                    ipv6_ranges: Vec::new(),
                    security_groups: vec![format!("sg-{:012x}", i + 1)],
                    prefix_lists: Vec::new(),
                },
                IngressPermission {
                    protocol: "tcp".into(),
                    from_port: Some(22),
                    to_port: Some(22),
                    ipv4_ranges: vec![IpRange {
                        cidr: "0.0.0.0/0".into(),
                        description: None,
                    }],
                    ipv6_ranges: Vec::new(),
                    security_groups: Vec::new(),
                    prefix_lists: Vec::new(),
                },
            ],
        }],
        parameter_group: (kind != DeploymentKind::ServerlessCache).then(|| ParameterGroup {
            name: format!("{id}-params"),
            state: LookupState::Found,
            family: Some(match engine {
                "memcached" => "memcached1.6".into(),
                "valkey" => "valkey8".into(),
                _ => {
                    if old_redis {
                        "redis5.0".into()
                    } else if every(i, 59) {
                        "redis6.x".into()
                    } else {
                        "redis7".into()
                    }
                }
            }),
            cluster_enabled: (engine != "memcached").then(|| {
                if cluster_mode == Some(ClusterMode::Enabled) {
                    "yes".into()
                } else {
                    "no".into()
                }
            }),
            is_default: Some(false),
            status: Some("in-sync".into()),
        }),
        notification_topic: (every(i, 2)).then(|| NotificationTopic {
            arn: format!("arn:aws:sns:{region}:{account}:ops"),
            status: Some("active".into()),
        }),
        auto_minor_version_upgrade: Some(!every(i, 61)),
        log_delivery: Vec::new(),
        global_datastore: None,
        tags: Some(tags),
        notes: Vec::new(),
        unknown_facts: Vec::new(),
        utilisation_window: None,
    }
}

fn main() {
    // The arguments that are not flags: N, and the night if there is one.
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let Some(n) = args.next() else {
        eprintln!("usage: cargo run --release --example synth_inventory -- N [NIGHT] > inventory.json");
        return;
    };
    let n: usize = n.parse().expect("N: a number of deployments");
    let night: Option<u64> = args.next().map(|k| k.parse().expect("NIGHT: 0, 1, ..."));
    let base = Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap();
    let created = base - Duration::days(400);
    let now = match night {
        None => base,
        Some(k) => base - Duration::days(365) + Duration::days(k as i64),
    };
    let gap = night.is_some_and(|k| k % 100 == 42);
    let deployments = (0..n + night.map_or(0, |_| n / 100))
        .filter(|&i| exists(i, n, night))
        .filter(|&i| !(gap && (ACCOUNTS[i % 4], REGIONS[(i / 4) % 3]) == GAP_UNIT))
        .map(|i| {
            // One that appeared during the year was created the night it did.
            let created = if i < n {
                created
            } else {
                base - Duration::days(365) + Duration::days((hash(i, 8) % 365) as i64) - Duration::hours(1)
            };
            deployment(i, now, created, Changes::of(i, night))
        })
        .collect();
    // A gap night records what was read: every unit, one of them failed.
    let coverage = if gap {
        ACCOUNTS
            .iter()
            .flat_map(|a| REGIONS.iter().map(move |r| (*a, *r)))
            .map(|(account, region)| {
                let failed = (account, region) == GAP_UNIT;
                CoverageEntry {
                    account_id: account.into(),
                    region: region.into(),
                    service: "elasticache".into(),
                    api: "DescribeReplicationGroups".into(),
                    status: if failed {
                        CoverageStatus::Failed
                    } else {
                        CoverageStatus::Read
                    },
                    error: failed.then(|| {
                        Box::new(CoverageError {
                            code: "Throttling".into(),
                            message: "Rate exceeded".into(),
                        })
                    }),
                    calls: Some(1),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let inventory = Inventory {
        shard: None,
        schema_version: SCHEMA_VERSION,
        collected_at: Some(now),
        collector: Some(Collector {
            name: "synth-inventory".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            caller: None,
        }),
        deployments,
        coverage,
        accounts: Vec::new(),
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    serde_json::to_writer(&mut out, &inventory).expect("write");
    out.write_all(b"\n").expect("write");
}
