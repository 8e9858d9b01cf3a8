//! `ecaudit doctor` end to end: deployments seeded in moto server, their endpoints played by real
//! `redis-server` processes on loopback (plain, with `requirepass`, with TLS and a certificate
//! made by the test for the deployment's endpoint name), reached with `--connect`. Each check is
//! asserted ✔, ✘ or – where it must be, and no AUTH token appears in any output.

use crate::common;

use std::collections::BTreeMap;
use std::process::Command;

use chrono::{Duration, Utc};
use common::aws::Aws;
use common::proxy::{Fault, Faults, Persistent, Stats};
use common::redis::*;
use common::seed::{self, Group};
use serde_json::Value;

const SECRET: &str = "s3cret-auth-token-of-the-doctor-tests";

/// Three replication groups in us-east-1 whose security group admits 10.1.0.0/16 on 6379: `plain`
/// (no TLS, no AUTH), `auth-plain` (AUTH token, no TLS) and `secured` (TLS required, AUTH), with
/// the three utilisation alarms on every node (on `plain`'s only with `alarms_on_plain`).
/// Returns the endpoint name of `secured` and the member clusters of `plain`.
async fn seed_groups(aws: &Aws, alarms_on_plain: bool) -> (String, Vec<String>) {
    let cfg = aws.config("us-east-1").await;
    let net = seed::network(&cfg, "subnets", "10.1.0.0/16", false).await;
    let sg = seed::security_group(
        &cfg,
        &net.vpc_id,
        "cache",
        vec![seed::tcp(6379, 6379, "10.1.0.0/16")],
    )
    .await;
    let plain = seed::replication_group(
        &cfg,
        &Group {
            encrypted: false,
            auth_token: false,
            ..Group::compliant("plain", &sg, &net.subnet_group)
        },
    )
    .await;
    let auth_plain = seed::replication_group(
        &cfg,
        &Group {
            encrypted: false,
            ..Group::compliant("auth-plain", &sg, &net.subnet_group)
        },
    )
    .await;
    let secured = seed::replication_group(&cfg, &Group::compliant("secured", &sg, &net.subnet_group)).await;
    seed::full_alarms(&cfg, &auth_plain).await;
    seed::full_alarms(&cfg, &secured).await;
    if alarms_on_plain {
        seed::full_alarms(&cfg, &plain).await;
    }
    let described = aws_sdk_elasticache::Client::new(&cfg)
        .describe_replication_groups()
        .replication_group_id("secured")
        .send()
        .await
        .unwrap();
    let endpoint = described.replication_groups()[0].node_groups()[0]
        .primary_endpoint()
        .and_then(|e| e.address())
        .unwrap()
        .to_string();
    (endpoint, plain)
}

struct Run {
    code: i32,
    doc: Value,
    stdout: String,
    stderr: String,
}

impl Run {
    /// ✔ / ✘ / – of each check by id (the CloudWatch checks, one per node, as `cloudwatch-node`
    /// with the node's title).
    fn marks(&self) -> BTreeMap<String, String> {
        self.doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let id = c["id"].as_str().unwrap();
                let key = if id == "cloudwatch-node" {
                    format!("{id} {}", c["title"].as_str().unwrap().split(':').next().unwrap())
                } else {
                    id.to_string()
                };
                (key, c["mark"].as_str().unwrap().to_string())
            })
            .collect()
    }

    fn check(&self, id: &str) -> &Value {
        self.doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no check {id}: {}", self.stdout))
    }

    fn evidence(&self, id: &str) -> String {
        self.check(id)["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn expect(&self, want: &[(&str, &str)]) {
        let marks = self.marks();
        for (id, mark) in want {
            assert_eq!(
                marks.get(*id).map(String::as_str),
                Some(*mark),
                "{id}: {}\n{}",
                self.check(id),
                self.stderr
            );
        }
    }
}

/// `ecaudit doctor ARGS` of us-east-1 with `env` added, as JSON.
fn doctor(aws: &Aws, args: &[&str], env: &[(&str, &str)]) -> Run {
    let run = common::cli::Run::of(
        aws.live_command("doctor")
            .envs(env.iter().copied())
            .args(["--region", "us-east-1", "--timeout", "2", "--format", "json"])
            .args(args),
    );
    let (stdout, stderr) = (run.stdout(), run.stderr());
    Run {
        code: run.code(),
        doc: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr,
    }
}

fn redis_cli(server: &RedisServer, args: &[&str]) {
    let out = Command::new("redis-cli")
        .args(["-p", &server.port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli (package redis-tools, installed with redis-server)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_server_passes_and_a_foreign_source_fails() {
    let aws = Aws::start();
    seed_groups(&aws, true).await;
    let server = RedisServer::plain(&["--maxmemory", "64mb"]);
    redis_cli(&server, &["SET", "a", "1"]);
    redis_cli(&server, &["SET", "b", "2", "EX", "600"]);
    redis_cli(&server, &["-n", "2", "SET", "c", "3"]);
    let connect = server.addr();

    // Through a tunnel this host's address means nothing to the security groups: it asks.
    let run = doctor(&aws, &["plain", "--connect", &connect], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run.expect(&[("security-group-admits-source", "skip")]);
    assert!(
        run.evidence("security-group-admits-source")
            .contains("pass --from CIDR")
    );

    let run = doctor(
        &aws,
        &["plain", "--connect", &connect, "--from", "10.1.1.25/32"],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run.expect(&[
        ("security-group-admits-source", "pass"),
        ("subnet-group-vpc", "pass"),
        ("endpoint-resolves", "skip"),
        ("tcp-connect", "pass"),
        ("tls-handshake", "skip"),
        ("plaintext-refused", "skip"),
        ("auth-required-by-server", "skip"),
        ("auth-ping", "skip"),
        ("info-memory", "pass"),
        ("info-fragmentation", "pass"),
        ("info-evictions", "pass"),
        ("info-keyspace", "pass"),
        ("info-cpu", "pass"),
    ]);
    assert_eq!(run.doc["sources"], serde_json::json!(["10.1.1.25/32"]));
    assert!(
        run.evidence("security-group-admits-source")
            .contains("10.1.0.0/16")
    );
    let keyspace = run.evidence("info-keyspace");
    assert!(keyspace.contains("db0: 2 keys, 1 with a TTL"), "{keyspace}");
    assert!(keyspace.contains("db2: 1 keys"), "{keyspace}");
    assert!(run.evidence("info-memory").contains("of maxmemory 64.0 MiB"));

    // By ARN, from an address the security group does not admit.
    let arn = run.doc["subject"]["arn"].as_str().unwrap().to_string();
    let run = doctor(
        &aws,
        &[&arn, "--connect", &connect, "--from", "203.0.113.7/32"],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    run.expect(&[("security-group-admits-source", "fail"), ("tcp-connect", "pass")]);
    let next = run.check("security-group-admits-source")["next_step"]
        .as_str()
        .unwrap();
    assert!(
        next.contains("authorize-security-group-ingress") && next.contains("203.0.113.7/32"),
        "{next}"
    );

    // The checklist as text.
    let run = aws.live(
        "doctor",
        &[
            "plain",
            "--region",
            "us-east-1",
            "--connect",
            &connect,
            "--from",
            "203.0.113.7/32",
        ],
    );
    let text = run.expect(1).stdout();
    assert!(
        text.contains("✘ security groups admit 203.0.113.7/32 on tcp/6379"),
        "{text}"
    );
    assert!(text.contains("✔ a TCP connection opens within 5 s"), "{text}");
    assert!(text.contains("– TLS handshake"), "{text}");
    assert!(text.contains("→ admit the source"), "{text}");

    // An unknown deployment is a usage error, before any connection.
    let run = doctor(&aws, &["no-such-cache", "--connect", &connect], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no deployment `no-such-cache`"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requirepass_is_noauth_without_the_token_and_pong_with_it() {
    let aws = Aws::start();
    seed_groups(&aws, true).await;
    let server = RedisServer::plain(&["--requirepass", SECRET]);
    let connect = server.addr();

    // No token: the server refuses with NOAUTH (as ElastiCache says it should); INFO is not read.
    let run = doctor(&aws, &["auth-plain", "--connect", &connect], &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    run.expect(&[
        ("auth-required-by-server", "pass"),
        ("auth-ping", "skip"),
        ("info-memory", "skip"),
    ]);
    assert!(run.evidence("auth-required-by-server").contains("NOAUTH"));

    // The token from the environment: PONG, and INFO is read.
    let with_token = [
        "auth-plain",
        "--connect",
        &connect,
        "--auth-token-env",
        "CACHE_TOKEN",
    ];
    let run = doctor(&aws, &with_token, &[("CACHE_TOKEN", SECRET)]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    run.expect(&[
        ("auth-ping", "pass"),
        ("info-evictions", "pass"),
        ("info-keyspace", "pass"),
    ]);
    assert!(run.evidence("auth-ping").contains("$CACHE_TOKEN"));
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));

    // A wrong token: WRONGPASS, and it is not printed either.
    let wrong = "not-the-token-0123456789";
    let run = doctor(&aws, &with_token, &[("CACHE_TOKEN", wrong)]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    run.expect(&[("auth-ping", "fail")]);
    assert!(
        run.evidence("auth-ping").contains("WRONGPASS"),
        "{}",
        run.evidence("auth-ping")
    );
    assert!(!run.stdout.contains(wrong) && !run.stderr.contains(wrong));

    // The variable unset.
    let run = doctor(&aws, &with_token, &[]);
    assert_eq!(run.code, 1);
    assert!(run.evidence("auth-ping").contains("$CACHE_TOKEN is not set"));

    // The token itself where the variable's name belongs: refused, and not echoed.
    let run = doctor(
        &aws,
        &["auth-plain", "--connect", &connect, "--auth-token-env", SECRET],
        &[],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not a token") && !run.stderr.contains(SECRET),
        "{}",
        run.stderr
    );

    // A deployment without AUTH whose address answers NOAUTH: not this deployment's server.
    let run = doctor(&aws, &["plain", "--connect", &connect], &[]);
    assert_eq!(run.code, 1);
    run.expect(&[("auth-required-by-server", "fail")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_is_verified_against_the_endpoint_name_through_a_loopback_address() {
    let aws = Aws::start();
    let (endpoint, _) = seed_groups(&aws, true).await;
    let pki = make_pki(&endpoint, "ecaudit test CA");
    let server = RedisServer::tls(&pki, &["--requirepass", SECRET]);
    let connect = server.addr();
    let ca = path_str(&pki.ca);

    let args = [
        "secured",
        "--connect",
        &connect,
        "--tls-ca",
        &ca,
        "--auth-token-env",
        "CACHE_TOKEN",
    ];
    let run = doctor(&aws, &args, &[("CACHE_TOKEN", SECRET)]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run.expect(&[
        ("tcp-connect", "pass"),
        ("tls-handshake", "pass"),
        ("plaintext-refused", "pass"),
        ("auth-required-by-server", "pass"),
        ("auth-ping", "pass"),
        ("info-memory", "skip"),
        ("info-evictions", "pass"),
    ]);
    assert!(run.evidence("tls-handshake").contains(&endpoint));
    assert!(!run.stdout.contains(SECRET));

    // Without the CA the certificate is not trusted.
    let run = doctor(&aws, &["secured", "--connect", &connect], &[]);
    assert_eq!(run.code, 1);
    run.expect(&[("tls-handshake", "fail"), ("auth-required-by-server", "skip")]);
    assert!(
        run.check("tls-handshake")["next_step"]
            .as_str()
            .unwrap()
            .contains("--tls-ca")
    );

    // A plaintext server where ElastiCache says TLS is required: no handshake.
    let plain = RedisServer::plain(&[]);
    let run = doctor(
        &aws,
        &["secured", "--connect", &plain.addr(), "--tls-ca", &ca],
        &[],
    );
    assert_eq!(run.code, 1);
    run.expect(&[("tls-handshake", "fail"), ("plaintext-refused", "fail")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_pressure_and_evictions_are_warnings_from_info() {
    let aws = Aws::start();
    seed_groups(&aws, true).await;
    let server = RedisServer::plain(&[
        "--maxmemory",
        "2mb",
        "--maxmemory-policy",
        "allkeys-lru",
        "--enable-debug-command",
        "yes",
    ]);
    redis_cli(&server, &["DEBUG", "POPULATE", "20000", "key", "200"]);
    // Writes past maxmemory evict; keys loaded by DEBUG POPULATE afterwards are not evicted
    // until the next write, so used memory ends above the limit.
    for i in 0..20 {
        redis_cli(&server, &["SET", &format!("fresh-{i}"), &"x".repeat(1000)]);
    }
    redis_cli(&server, &["DEBUG", "POPULATE", "5000", "more", "200"]);
    let run = doctor(&aws, &["plain", "--connect", &server.addr()], &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    run.expect(&[
        ("info-memory", "fail"),
        ("info-evictions", "fail"),
        ("info-keyspace", "pass"),
    ]);
    assert!(
        run.evidence("info-memory")
            .contains("maxmemory-policy allkeys-lru")
    );
    assert!(run.evidence("info-evictions").contains("warning above 0"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_hour_of_cloudwatch_and_the_alarms_of_each_node() {
    let aws = Aws::start();
    let (_, nodes) = seed_groups(&aws, false).await;
    let cfg = aws.config("us-east-1").await;
    // Node 0 ran hot in the last hour and is fully watched; node 1 is calm and has no alarm.
    let at = [
        Utc::now() - Duration::minutes(40),
        Utc::now() - Duration::minutes(20),
    ];
    let mut series = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let cpu = if i == 0 { 95.0 } else { 20.0 };
        for metric in seed::METRICS {
            series.push((node.clone(), metric, at.iter().map(|t| (*t, cpu)).collect()));
        }
    }
    seed::metric_data(&cfg, &series).await;
    seed::full_alarms(&cfg, &nodes[..1]).await;

    // No --connect: moto's endpoint names do not resolve, so only the AWS-side checks decide.
    let run = doctor(&aws, &["plain"], &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let marks = run.marks();
    assert_eq!(
        marks[&format!("cloudwatch-node {}", nodes[0])],
        "fail",
        "{}",
        run.stdout
    );
    assert_eq!(
        marks[&format!("cloudwatch-node {}", nodes[1])],
        "fail",
        "{}",
        run.stdout
    );
    assert_eq!(marks["endpoint-resolves"], "fail");
    assert_eq!(marks["tcp-connect"], "fail");
    assert_eq!(marks["info-memory"], "skip");
    let checks = run.doc["checks"].as_array().unwrap();
    let of = |node: &str| {
        checks
            .iter()
            .find(|c| c["id"] == "cloudwatch-node" && c["title"].as_str().unwrap().starts_with(node))
            .unwrap()
    };
    let hot = of(&nodes[0]);
    assert!(hot.to_string().contains("CPUUtilization: maximum 95.0%"), "{hot}");
    assert!(
        hot.to_string()
            .contains(&format!("{}-EngineCPUUtilization", nodes[0])),
        "{hot}"
    );
    assert!(hot["next_step"].as_str().unwrap().contains("above 90%"), "{hot}");
    let unwatched = of(&nodes[1]);
    assert!(unwatched.to_string().contains("maximum 20.0%"), "{unwatched}");
    assert!(
        unwatched["next_step"].as_str().unwrap().contains("create alarms"),
        "{unwatched}"
    );

    // Calm and watched: ✔, with the alarms named.
    seed::full_alarms(&cfg, &nodes[1..]).await;
    let run = doctor(&aws, &["plain"], &[]);
    assert_eq!(
        run.marks()[&format!("cloudwatch-node {}", nodes[1])],
        "pass",
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("{}-DatabaseMemoryUsagePercentage", nodes[1]))
    );
}

/// The value of the awsQuery parameter `name` in a request body (ElastiCache, EC2), `""` when the
/// request does not carry it.
fn query_param<'a>(body: &'a str, name: &str) -> &'a str {
    body.split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_default()
}

/// The `name` parameter of every `action` call the proxy saw, sorted (`""`: a call without it,
/// that is a list of the whole region).
fn asked(seen: &Stats, action: &str, name: &str) -> Vec<String> {
    let mut values: Vec<String> = seen
        .requests_seen
        .iter()
        .filter(|(a, _)| a == action)
        .map(|(_, body)| query_param(body, name).to_string())
        .collect();
    values.sort();
    values
}

/// The bodies of every `action` call the proxy saw.
fn bodies<'a>(seen: &'a Stats, action: &str) -> Vec<&'a str> {
    seen.requests_seen
        .iter()
        .filter(|(a, _)| a == action)
        .map(|(_, body)| body.as_str())
        .collect()
}

/// Issue 20: `doctor DEPLOYMENT` reads that deployment, not its whole account and region. Around
/// the targets, more replication groups, a standalone cluster and a serverless cache; the proxy
/// sees every call: ElastiCache is asked by id (the deployment, then what it references), tags by
/// ARN, and GetMetricData for the target's nodes only.
#[tokio::test(flavor = "multi_thread")]
async fn the_doctor_reads_only_its_deployment() {
    let aws = Aws::behind_proxy(Faults::none());
    let (_, plain) = seed_groups(&aws, true).await;
    let cfg = aws.config("us-east-1").await;
    let ec = aws_sdk_elasticache::Client::new(&cfg);
    let described = ec
        .describe_replication_groups()
        .replication_group_id("secured")
        .send()
        .await
        .unwrap();
    let secured = described.replication_groups()[0].member_clusters().to_vec();
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let groups = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("cache")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let sg = groups.security_groups()[0].group_id().unwrap().to_string();
    ec.create_cache_cluster()
        .cache_cluster_id("solo")
        .engine("redis")
        .engine_version("7.1")
        .cache_node_type("cache.t4g.small")
        .security_group_ids(&sg)
        .cache_subnet_group_name("subnets")
        .send()
        .await
        .unwrap();
    let vpc = groups.security_groups()[0].vpc_id().unwrap();
    let subnets = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .collect::<Vec<_>>();
    ec.create_serverless_cache()
        .serverless_cache_name("flags")
        .engine("valkey")
        .major_engine_version("8")
        .security_group_ids(&sg)
        .set_subnet_ids(Some(subnets))
        .snapshot_retention_limit(7)
        .send()
        .await
        .unwrap();
    seed::automatic_snapshot(&cfg, "secured", Utc::now() - Duration::hours(3)).await;
    seed::automatic_snapshot(&cfg, "plain", Utc::now() - Duration::hours(3)).await;
    // Datapoints for every node: a query for any of them would be answered.
    let at = Utc::now() - Duration::minutes(30);
    let series: Vec<seed::Series> = ["plain-001", "auth-plain-001", "solo"]
        .into_iter()
        .map(str::to_string)
        .chain(secured.iter().cloned())
        .flat_map(|node| seed::METRICS.map(|m| (node.clone(), m, vec![(at, 10.0)])))
        .collect();
    seed::metric_data(&cfg, &series).await;

    let doctor_on = |id: &str| {
        aws.proxy().set(Faults::none());
        let run = doctor(
            &aws,
            &[id, "--connect", "127.0.0.1:1", "--from", "10.1.1.25/32"],
            &[],
        );
        // Refused at 127.0.0.1:1: the AWS-side checks are what is read here.
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        assert_eq!(run.doc["subject"]["id"], id, "{}", run.stdout);
        (run, aws.proxy().stats())
    };
    let only = |values: &[&str]| values.iter().map(|v| v.to_string()).collect::<Vec<_>>();

    // A replication group: itself, its member clusters, and what they name, by id.
    let (run, seen) = doctor_on("secured");
    let mut clusters = vec!["secured".to_string()];
    clusters.extend(secured.iter().cloned());
    clusters.sort();
    assert_eq!(
        asked(&seen, "DescribeReplicationGroups", "ReplicationGroupId"),
        only(&["secured"])
    );
    assert_eq!(asked(&seen, "DescribeCacheClusters", "CacheClusterId"), clusters);
    assert_eq!(
        asked(&seen, "DescribeServerlessCaches", "ServerlessCacheName"),
        only(&["secured"])
    );
    assert_eq!(
        asked(&seen, "DescribeCacheSubnetGroups", "CacheSubnetGroupName"),
        only(&["subnets"])
    );
    let parameter_groups = asked(&seen, "DescribeCacheParameterGroups", "CacheParameterGroupName");
    assert!(
        parameter_groups.len() == 1 && !parameter_groups[0].is_empty(),
        "{parameter_groups:?}"
    );
    assert_eq!(
        asked(&seen, "DescribeSnapshots", "ReplicationGroupId"),
        only(&["secured"])
    );
    for unread in [
        "DescribeServerlessCacheSnapshots",
        "DescribeGlobalReplicationGroups",
    ] {
        assert_eq!(seen.actions.get(unread), None, "{unread}: {:?}", seen.actions);
    }
    let arn = run.doc["subject"]["arn"].as_str().unwrap();
    let tags = bodies(&seen, "GetResources");
    assert!(
        tags.len() == 1 && tags[0].contains(arn) && !tags[0].contains("ResourceTypeFilters"),
        "{tags:?}"
    );
    let metrics = bodies(&seen, "GetMetricData");
    assert_eq!(metrics.len(), 1, "{:?}", seen.actions);
    for node in &secured {
        assert!(metrics[0].contains(node.as_str()), "{node} not asked for");
    }
    for other in ["plain-0", "solo"] {
        assert!(!metrics[0].contains(other), "{other} asked for");
    }
    assert_eq!(
        run.doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"] == "cloudwatch-node")
            .count(),
        secured.len()
    );
    // Every call, counted: one lookup per kind, one per member cluster, one per referenced name.
    let calls: BTreeMap<&str, u64> = [
        ("GetCallerIdentity", 1),
        ("DescribeReplicationGroups", 1),
        ("DescribeCacheClusters", 1 + secured.len() as u64),
        ("DescribeServerlessCaches", 1),
        ("DescribeCacheSubnetGroups", 1),
        ("DescribeCacheParameterGroups", 1),
        ("DescribeSnapshots", 1),
        ("DescribeSecurityGroups", 1),
        ("DescribeVpcs", 1),
        ("DescribeAlarms", 1),
        ("GetResources", 1),
        ("GetMetricData", 1),
    ]
    .into();
    let seen_calls: BTreeMap<&str, u64> = seen.actions.iter().map(|(a, n)| (a.as_str(), *n)).collect();
    assert_eq!(seen_calls, calls);

    // A standalone cluster: the other two lookups find nothing, and nothing else is read for them.
    let (_, seen) = doctor_on("solo");
    assert_eq!(
        asked(&seen, "DescribeCacheClusters", "CacheClusterId"),
        only(&["solo"])
    );
    assert_eq!(
        asked(&seen, "DescribeReplicationGroups", "ReplicationGroupId"),
        only(&["solo"])
    );
    assert_eq!(
        asked(&seen, "DescribeSnapshots", "CacheClusterId"),
        only(&["solo"])
    );
    assert_eq!(
        asked(&seen, "DescribeCacheSubnetGroups", "CacheSubnetGroupName"),
        only(&["subnets"])
    );
    let metrics = bodies(&seen, "GetMetricData");
    assert!(
        metrics.len() == 1 && metrics[0].contains("solo") && !metrics[0].contains("plain-0"),
        "{:?}",
        seen.actions
    );

    // A serverless cache: no nodes, so no GetMetricData; no subnet or parameter group to read.
    let (_, seen) = doctor_on("flags");
    assert_eq!(
        asked(&seen, "DescribeServerlessCaches", "ServerlessCacheName"),
        only(&["flags"])
    );
    assert_eq!(
        asked(&seen, "DescribeServerlessCacheSnapshots", "ServerlessCacheName"),
        only(&["flags"])
    );
    for unread in [
        "GetMetricData",
        "DescribeCacheSubnetGroups",
        "DescribeCacheParameterGroups",
        "DescribeSnapshots",
    ] {
        assert_eq!(seen.actions.get(unread), None, "{unread}: {:?}", seen.actions);
    }

    // A collection of the same region still lists it whole and asks for every node.
    aws.proxy().set(Faults::none());
    aws.live(
        "collect",
        &[
            "--regions",
            "us-east-1",
            "--metrics",
            "--output",
            "inventory.json",
        ],
    )
    .expect(0);
    let seen = aws.proxy().stats();
    assert_eq!(
        asked(&seen, "DescribeReplicationGroups", "ReplicationGroupId"),
        only(&[""])
    );
    let metrics = bodies(&seen, "GetMetricData");
    assert!(
        metrics.len() == 1 && metrics[0].contains(plain[0].as_str()) && metrics[0].contains("solo"),
        "{:?}",
        seen.actions
    );
}

/// A missing id is "no such deployment" (exit 2), not a coverage gap: ElastiCache answers each
/// lookup by id with its not-found fault, and nothing else is read. A lookup that fails is a
/// gap: the deployment could not be read (exit 3).
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_deployment_is_looked_up_by_id_only() {
    let aws = Aws::behind_proxy(Faults::none());
    seed_groups(&aws, true).await;
    let lookups = [
        "DescribeReplicationGroups",
        "DescribeCacheClusters",
        "DescribeServerlessCaches",
    ];

    let run = doctor(&aws, &["no-such-cache"], &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("no deployment `no-such-cache` in the account and region read"),
        "{}",
        run.stderr
    );
    let seen = aws.proxy().stats();
    let (id_param, others): (Vec<_>, Vec<_>) = seen
        .requests_seen
        .iter()
        .partition(|(action, _)| lookups.contains(&action.as_str()));
    assert_eq!(id_param.len(), 3, "{:?}", seen.actions);
    for (action, body) in id_param {
        assert!(body.contains("=no-such-cache"), "{action}: {body}");
    }
    // Only the caller's identity besides (STS): no EC2, CloudWatch or tags for nothing.
    assert!(
        others.iter().all(|(action, _)| action == "GetCallerIdentity"),
        "{:?}",
        seen.actions
    );

    // An ARN names the kind: one lookup.
    aws.proxy().set(Faults::none());
    let arn = format!(
        "arn:aws:elasticache:us-east-1:{}:serverlesscache:nope",
        common::moto::ACCOUNT
    );
    let run = doctor(&aws, &[&arn], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "no deployment `nope` in account {}, region us-east-1",
            common::moto::ACCOUNT
        )),
        "{}",
        run.stderr
    );
    let seen = aws.proxy().stats();
    assert_eq!(
        asked(&seen, "DescribeServerlessCaches", "ServerlessCacheName"),
        ["nope".to_string()]
    );
    assert_eq!(seen.actions.get("DescribeReplicationGroups"), None);
    assert_eq!(seen.actions.get("DescribeCacheClusters"), None);

    // A lookup that is refused may hide the deployment: it could not be read.
    aws.proxy().set(Faults {
        persistent: vec![Persistent {
            action: "DescribeCacheClusters".into(),
            region: None,
            body_contains: None,
            access_key: None,
            fault: Fault::AccessDenied,
        }],
        ..Faults::none()
    });
    let run = doctor(&aws, &["no-such-cache"], &[]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.doc["subject"].is_null());
    let gaps: Vec<&str> = run.doc["coverage_gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["api"].as_str().unwrap())
        .collect();
    assert_eq!(gaps, ["DescribeCacheClusters"]);
}
