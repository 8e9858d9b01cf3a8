//! `ecaudit doctor` end to end: deployments seeded in moto server, their endpoints played by real
//! `redis-server` processes on loopback (plain, with `requirepass`, with TLS and a certificate
//! made by the test for the deployment's endpoint name), reached with `--connect`. Each check is
//! asserted ✔, ✘ or – where it must be, and no AUTH token appears in any output.

use crate::common;

use std::collections::BTreeMap;
use std::process::Command;

use chrono::{Duration, Utc};
use common::aws::Aws;
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
