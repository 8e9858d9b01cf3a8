//! Scale-out: `--shard K/N` against moto server, and `ecaudit merge` of the shards' outputs: the
//! merge of N shards equals the unsharded scan; overlapping or incomplete sets are refused.

use crate::common;

use common::aws::Aws;
use common::cli::Run;
use common::moto::ACCOUNT;
use common::*;
use serde_json::Value;

const OTHER: &str = "222222222222";
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const NOW: &str = "2026-11-25T06:00:00Z";

/// `ecaudit SUBCOMMAND ARGS` over the targets every run of this test reads: two accounts ×
/// three regions.
fn live(aws: &Aws, subcommand: &str, args: &[&str]) -> Run {
    let regions = REGIONS.join(",");
    let accounts = format!("{ACCOUNT},{OTHER}");
    let mut all = vec![
        "--regions",
        &regions,
        "--accounts",
        &accounts,
        "--role-name",
        "ecaudit-audit",
        "--max-attempts",
        "2",
        "--quiet",
    ];
    all.extend_from_slice(args);
    aws.live(subcommand, &all)
}

#[tokio::test(flavor = "multi_thread")]
async fn merged_shards_equal_the_unsharded_scan() {
    let aws = Aws::start();
    // One replication group per (account, region) unit; those of (ACCOUNT, us-east-1),
    // (ACCOUNT, ap-southeast-2) and (OTHER, eu-west-1) admit the internet.
    seed::unit_fleet(aws.moto(), &[ACCOUNT, OTHER], &REGIONS, false).await;
    let public_units = [
        (ACCOUNT, "us-east-1"),
        (ACCOUNT, "ap-southeast-2"),
        (OTHER, "eu-west-1"),
    ];

    // Inventories: three shards, merged, against one unsharded collection.
    live(&aws, "collect", &["--output", "full.json"]).expect(0);
    let mut units = 0;
    for k in 1..=3 {
        let name = format!("shard-{k}.json");
        live(
            &aws,
            "collect",
            &["--shard", &format!("{k}/3"), "--output", &name],
        )
        .expect(0);
        let shard = aws.json(&name)["shard"].clone();
        assert_eq!(shard["index"], k);
        assert_eq!(shard["count"], 3);
        assert_eq!(shard["planned_units"], 6);
        units += shard["units"].as_array().unwrap().len();
    }
    assert_eq!(units, 6, "every unit in exactly one shard");
    aws.run(&[
        "merge",
        "shard-1.json",
        "shard-2.json",
        "shard-3.json",
        "--output",
        "merged.json",
    ])
    .expect(0)
    .stderr_has("merged 3 shard(s) into one inventory: 6 deployment(s)");
    let (full, merged) = (aws.json("full.json"), aws.json("merged.json"));
    assert_eq!(merged["deployments"], full["deployments"]);
    assert_eq!(coverage_without_calls(&merged), coverage_without_calls(&full));
    assert!(merged.get("shard").is_none(), "a merged inventory is whole");

    // Scanning the merged inventory gives the unsharded scan's findings.
    let scan_inv = |inventory: &str, output: &str| {
        aws.run(&[
            "scan",
            "--inventory",
            inventory,
            "--now",
            NOW,
            "--format",
            "json",
            "--output",
            output,
            "--exit-zero",
        ])
        .expect(0);
        aws.json(output)
    };
    let (a, b) = (
        scan_inv("full.json", "full-scan.json"),
        scan_inv("merged.json", "merged-scan.json"),
    );
    assert_eq!(sorted_findings(&a), sorted_findings(&b));
    assert_eq!(a["summary"], b["summary"]);

    // Scan results: three live shard scans merged equal one live unsharded scan. A scan fails
    // the gate exactly when it reads a public unit.
    let scan_live = |extra: &[&str], output: &str| {
        let mut args = vec!["--now", NOW, "--format", "json", "--output", output];
        args.extend_from_slice(extra);
        let run = live(&aws, "scan", &args);
        (run.code(), aws.json(output))
    };
    let (code, whole) = scan_live(&[], "whole.json");
    assert_eq!(code, 1);
    for k in 1..=3 {
        let name = format!("scan-{k}.json");
        let (code, shard) = scan_live(&["--shard", &format!("{k}/3")], &name);
        assert_eq!(shard["scan"]["shard"]["index"], k);
        let units = &shard["scan"]["shard"]["units"];
        let public = units
            .as_array()
            .unwrap()
            .iter()
            .any(|u| public_units.iter().any(|(a, r)| *u == format!("{a}/{r}")));
        assert_eq!(code, i32::from(public), "shard {k} of units {units}");
    }
    aws.run(&[
        "merge",
        "scan-1.json",
        "scan-2.json",
        "scan-3.json",
        "-o",
        "merged-result.json",
    ])
    .expect(0);
    let merged = aws.json("merged-result.json");
    assert_eq!(sorted_findings(&merged), sorted_findings(&whole));
    assert_eq!(coverage_without_calls(&merged), coverage_without_calls(&whole));
    let strip = |doc: &Value| {
        let mut s = doc["summary"].clone();
        s.as_object_mut().unwrap().remove("collection");
        s
    };
    assert_eq!(strip(&merged), strip(&whole));
    // Each public unit fails no-public-ingress (critical) and ingress-within-vpc (high).
    assert_eq!(merged["summary"]["gate"]["failing"], 6);
    assert_eq!(merged["summary"]["collection"]["deployments"], 6);
    assert!(merged["scan"].get("shard").is_none());
    // The merged result is a scan result like any other: the audit report renders it.
    aws.run(&["report", "merged-result.json", "--output", "report.html"])
        .expect(0);

    // Refused: a shard missing, a shard twice, mixed documents, a document that is no shard.
    let refuse = |files: &[&str], needle: &str| {
        let mut args = vec!["merge"];
        args.extend_from_slice(files);
        aws.run(&args).expect(2).stderr_has(needle);
    };
    refuse(
        &["shard-1.json", "shard-2.json"],
        "incomplete shard set: shard(s) 3 of 3 missing",
    );
    refuse(
        &["shard-1.json", "shard-2.json", "shard-3.json", "shard-2.json"],
        "shard 2/3 is given twice",
    );
    refuse(
        &["shard-1.json", "scan-2.json", "shard-3.json"],
        "merge shard inventories or shard scan results, not both",
    );
    refuse(&["full.json", "shard-1.json"], "full.json is not a shard");
    // A shard whose record claims another's units overlaps it.
    let mut forged = aws.json("shard-1.json");
    let units_of = |k: usize| aws.json(&format!("shard-{k}.json"))["shard"]["units"].clone();
    let (u1, u2) = (units_of(1), units_of(2));
    let taken = if u2.as_array().unwrap().is_empty() { u1 } else { u2 };
    forged["shard"]["units"] = taken;
    std::fs::write(aws.path("forged.json"), forged.to_string()).unwrap();
    refuse(
        &["forged.json", "shard-2.json", "shard-3.json"],
        "the shards overlap",
    );
    // Shards that split the scan differently.
    live(&aws, "collect", &["--shard", "1/2", "--output", "half.json"]).expect(0);
    refuse(
        &["shard-1.json", "half.json"],
        "every shard must split the scan the same way",
    );
}

#[test]
fn shard_arguments_are_checked_before_any_aws_call() {
    let s = cli::Scratch::new();
    let inv = s.json("fleet.json", &demo_fleet());
    s.scan(&inv, &["--shard", "1/2"])
        .expect(2)
        .stderr_has("--shard cannot be used with --inventory");
    s.run(["scan", "--shard", "3/2"])
        .expect(2)
        .stderr_has("is not a shard: use K/N");
    s.run(["scan", "--shard", "1/2", "--history", "h"])
        .expect(2)
        .stderr_has("--shard cannot be used with --history");
    s.run(["merge", "fleet.json"])
        .expect(2)
        .stderr_has("fleet.json is not a shard");
}
