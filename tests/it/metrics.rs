//! Utilisation (`--metrics`) against moto server: datapoints seeded with PutMetricData are read
//! back through GetMetricData in one batched call for 60 nodes × 5 metrics, stored on the nodes,
//! and decide the utilisation rules; a failing GetMetricData is a coverage gap and leaves those
//! rules undecided, never passing.

use crate::common;

use chrono::{Duration, Utc};
use common::aws::Aws;
use common::cli::Run;
use common::proxy::{Fault, Faults, Persistent};
use common::seed::{self, Group};
use common::*;
use serde_json::Value;

const UTILISATION_RULES: [&str; 4] = [
    "sustained-high-engine-cpu",
    "sustained-high-cpu",
    "memory-pressure",
    "evictions",
];

/// 20 replication groups of 3 nodes (60 nodes) with 3 datapoints of each of the 5 metrics in
/// the last hour: node 7's engine CPU is hot, node 11's memory peaks, node 13 evicts. Returns
/// the node ids in creation order.
async fn seed_fleet(aws: &Aws) -> Vec<String> {
    let cfg = aws.config("us-east-1").await;
    let net = seed::network(&cfg, "subnets", "10.1.0.0/16", false).await;
    let sg = seed::security_group(
        &cfg,
        &net.vpc_id,
        "cache",
        vec![seed::tcp(6379, 6379, "10.1.0.0/16")],
    )
    .await;
    let mut nodes = Vec::new();
    for i in 0..20 {
        let id = format!("cache-{i:02}");
        let mut group = Group::compliant(&id, &sg, &net.subnet_group);
        group.replicas = 2;
        nodes.extend(seed::replication_group(&cfg, &group).await);
    }
    assert_eq!(nodes.len(), 60);

    let now = Utc::now();
    let at = [
        now - Duration::minutes(50),
        now - Duration::minutes(40),
        now - Duration::minutes(30),
    ];
    let three = |v: [f64; 3]| at.iter().copied().zip(v).collect::<Vec<_>>();
    let mut series = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let base = (i % 10) as f64;
        let engine = if i == 7 {
            [95.0, 96.0, 97.5]
        } else {
            [20.0 + base, 22.0, 18.0]
        };
        let memory = if i == 11 {
            [50.0, 93.5, 60.0]
        } else {
            [40.0, 41.0, 42.0 + base]
        };
        let evictions = if i == 13 { [0.0, 5.0, 7.0] } else { [0.0; 3] };
        series.push((node.clone(), "CPUUtilization", three([10.0, 12.0, 14.0 + base])));
        series.push((node.clone(), "EngineCPUUtilization", three(engine)));
        series.push((node.clone(), "DatabaseMemoryUsagePercentage", three(memory)));
        series.push((node.clone(), "Evictions", three(evictions)));
        series.push((
            node.clone(),
            "CurrConnections",
            three([100.0, 150.0 + base, 120.0]),
        ));
    }
    seed::metric_data(&cfg, &series).await;
    nodes
}

/// `ecaudit SUBCOMMAND ARGS` of us-east-1 through the proxy.
fn live(aws: &Aws, subcommand: &str, args: &[&str]) -> Run {
    let mut all = vec!["--regions", "us-east-1", "--max-attempts", "2", "--quiet"];
    all.extend_from_slice(args);
    aws.live(subcommand, &all)
}

fn node<'a>(inventory: &'a Value, id: &str) -> &'a Value {
    inventory["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["node_groups"].as_array().unwrap())
        .flat_map(|g| g["members"].as_array().unwrap())
        .find(|n| n["cache_cluster_id"] == id)
        .unwrap_or_else(|| panic!("no node {id}"))
}

/// (rule, deployment) → (status, evidence) of the utilisation findings.
fn utilisation_findings(doc: &Value) -> Vec<(String, String, String, Vec<String>)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| UTILISATION_RULES.contains(&f["rule_id"].as_str().unwrap()))
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["resource_id"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
                serde_json::from_value(f["evidence"].clone()).unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sixty_nodes_five_metrics_one_get_metric_data_call() {
    let aws = Aws::behind_proxy(Faults::none());
    let proxy = aws.proxy();
    let nodes = seed_fleet(&aws).await;

    live(
        &aws,
        "collect",
        &[
            "--metrics",
            "--metrics-window",
            "2h",
            "--output",
            "inventory.json",
        ],
    )
    .expect(0);
    // The batching, from what crossed the wire: 300 queries, one call.
    assert_eq!(
        proxy.stats().actions.get("GetMetricData"),
        Some(&1),
        "{:?}",
        proxy.stats().actions
    );
    let inventory = aws.json("inventory.json");

    // The statistics are those of the seeded datapoints.
    let window = &inventory["deployments"][0]["utilisation_window"];
    assert_eq!(window["length"], "2h");
    assert_eq!(window["period_seconds"], 300);
    let hot = &node(&inventory, &nodes[7])["utilisation"];
    assert_eq!(hot["engine_cpu"]["datapoints"], 3);
    assert_eq!(hot["engine_cpu"]["p95"], 97.5);
    assert_eq!(hot["engine_cpu"]["maximum"], 97.5);
    assert_eq!(hot["cpu"]["average"], 12.0 + 7.0 / 3.0);
    assert_eq!(
        node(&inventory, &nodes[11])["utilisation"]["memory"]["maximum"],
        93.5
    );
    assert_eq!(
        node(&inventory, &nodes[13])["utilisation"]["evictions"]["sum"],
        12.0
    );
    assert_eq!(
        node(&inventory, &nodes[13])["utilisation"]["connections"]["maximum"],
        153.0
    );
    for n in &nodes {
        let u = &node(&inventory, n)["utilisation"];
        for metric in ["cpu", "engine_cpu", "memory", "evictions", "connections"] {
            assert_eq!(u[metric]["datapoints"], 3, "{n} {metric}: {u}");
        }
    }

    // The rules decide on them: exactly the three seeded problems fail, each naming its node.
    let before = proxy.stats().actions.get("GetMetricData").copied();
    aws.run(&[
        "scan",
        "--inventory",
        "inventory.json",
        "--format",
        "json",
        "--output",
        "scan.json",
        "--exit-zero",
    ])
    .expect(0);
    assert_eq!(
        proxy.stats().actions.get("GetMetricData").copied(),
        before,
        "an inventory scan calls nothing"
    );
    let found = utilisation_findings(&aws.json("scan.json"));
    assert_eq!(found.len(), 4 * 20);
    let failing: Vec<_> = found.iter().filter(|f| f.2 == "fail").collect();
    let group_of = |i: usize| format!("cache-{:02}", i / 3);
    let want = [
        (
            "sustained-high-engine-cpu",
            group_of(7),
            nodes[7].clone(),
            "97.5%",
        ),
        ("memory-pressure", group_of(11), nodes[11].clone(), "93.5%"),
        (
            "evictions",
            group_of(13),
            nodes[13].clone(),
            "12 keys evicted over 2h",
        ),
    ];
    assert_eq!(failing.len(), want.len(), "{failing:#?}");
    for (rule, group, node, figure) in want {
        let f = failing
            .iter()
            .find(|f| f.0 == rule && f.1 == group)
            .unwrap_or_else(|| panic!("{rule} does not fail on {group}: {failing:#?}"));
        assert!(
            f.3.iter()
                .any(|e| e.starts_with(&format!("{node}:")) && e.contains(figure)),
            "{rule}: {:?}",
            f.3
        );
    }
    assert!(found.iter().all(|f| f.2 == "fail" || f.2 == "pass"), "{found:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_metrics_nothing_is_read_and_the_rules_do_not_apply() {
    let aws = Aws::behind_proxy(Faults::none());
    seed_fleet(&aws).await;
    live(
        &aws,
        "scan",
        &["--format", "json", "--output", "scan.json", "--exit-zero"],
    )
    .expect(0);
    assert_eq!(aws.proxy().stats().actions.get("GetMetricData"), None);
    let found = utilisation_findings(&aws.json("scan.json"));
    assert_eq!(found.len(), 4 * 20);
    assert!(found.iter().all(|f| f.2 == "not_applicable"), "{found:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_get_metric_data_is_a_gap_and_leaves_the_rules_undecided() {
    let aws = Aws::behind_proxy(Faults {
        persistent: vec![Persistent {
            action: "GetMetricData".into(),
            region: None,
            body_contains: None,
            access_key: None,
            fault: Fault::ServerError,
        }],
        ..Faults::none()
    });
    seed_fleet(&aws).await;
    live(
        &aws,
        "scan",
        &[
            "--metrics",
            "--metrics-window",
            "2h",
            "--format",
            "json",
            "--output",
            "scan.json",
        ],
    )
    .expect(3);
    let doc = aws.json("scan.json");
    let gaps: Vec<String> = gaps(&doc).into_iter().map(|g| g.2).collect();
    assert_eq!(gaps, ["cloudwatch:GetMetricData"]);
    let found = utilisation_findings(&doc);
    assert_eq!(found.len(), 4 * 20);
    for f in &found {
        assert_eq!(f.2, "error", "{f:?}");
    }
    let messages: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "evictions")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .all(|m| m.contains("GetMetricData could not be read")),
        "{messages:?}"
    );
    // The other rules are decided as usual: the groups are compliant.
    let others_fail = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert!(
        !others_fail.iter().any(|r| UTILISATION_RULES.contains(r)),
        "{others_fail:?}"
    );
}
