//! Scale-out: `--shard K/N` against moto server, and `ecaudit merge` of the shards' outputs: the
//! merge of N shards equals the unsharded scan; overlapping or incomplete sets are refused.

use crate::common;

use std::path::{Path, PathBuf};

use common::moto::{ACCOUNT, Moto};
use common::seed;
use common::*;
use serde_json::Value;

const OTHER: &str = "222222222222";
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const NOW: &str = "2026-11-25T06:00:00Z";

fn run(moto: &Moto, dir: &Path, args: &[&str]) -> (i32, String) {
    let out = ecaudit()
        .envs(moto.env())
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The targets every run of this test reads: two accounts × three regions.
fn targets(moto: &Moto) -> Vec<String> {
    [
        "--endpoint-url",
        &moto.endpoint,
        "--regions",
        &REGIONS.join(","),
        "--accounts",
        &format!("{ACCOUNT},{OTHER}"),
        "--role-name",
        "ecaudit-audit",
        "--max-attempts",
        "2",
        "--quiet",
    ]
    .map(str::to_string)
    .to_vec()
}

fn with<'a>(base: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(base.iter().map(String::as_str));
    args
}

/// Coverage without call counts (target resolution's calls may repeat in shards).
fn coverage(doc: &Value) -> Vec<Value> {
    let mut entries: Vec<Value> = doc["coverage"].as_array().unwrap().clone();
    for e in &mut entries {
        e.as_object_mut().unwrap().remove("calls");
    }
    entries
}

fn sorted_findings(doc: &Value) -> Vec<Value> {
    let mut findings = doc["findings"].as_array().unwrap().clone();
    findings.sort_by_key(|f| f["fingerprint"].as_str().unwrap().to_string());
    findings
}

#[tokio::test(flavor = "multi_thread")]
async fn merged_shards_equal_the_unsharded_scan() {
    let moto = Moto::start();
    // One replication group per (account, region) unit, half of them failing something.
    seed::unit_fleet(&moto, &[ACCOUNT, OTHER], &REGIONS, false).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = targets(&moto);

    // Inventories: three shards, merged, against one unsharded collection.
    let (code, err) = run(&moto, d, &with(&base, &["collect", "--output", "full.json"]));
    assert_eq!(code, 0, "{err}");
    let mut shard_files: Vec<PathBuf> = Vec::new();
    let mut units = 0;
    for k in 1..=3 {
        let name = format!("shard-{k}.json");
        let (code, err) = run(
            &moto,
            d,
            &with(
                &base,
                &["collect", "--shard", &format!("{k}/3"), "--output", &name],
            ),
        );
        assert_eq!(code, 0, "{err}");
        let shard = read(&d.join(&name))["shard"].clone();
        assert_eq!(shard["index"], k);
        assert_eq!(shard["count"], 3);
        assert_eq!(shard["planned_units"], 6);
        units += shard["units"].as_array().unwrap().len();
        shard_files.push(d.join(name));
    }
    assert_eq!(units, 6, "every unit in exactly one shard");
    let mut args = vec!["merge".to_string()];
    args.extend(shard_files.iter().map(|p| p.display().to_string()));
    args.extend(["--output".to_string(), "merged.json".to_string()]);
    let (code, err) = run(&moto, d, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("merged 3 shard(s) into one inventory: 6 deployment(s)"),
        "{err}"
    );
    let (full, merged) = (read(&d.join("full.json")), read(&d.join("merged.json")));
    assert_eq!(merged["deployments"], full["deployments"]);
    assert_eq!(coverage(&merged), coverage(&full));
    assert!(merged.get("shard").is_none(), "a merged inventory is whole");

    // Scanning the merged inventory gives the unsharded scan's findings.
    let scan_inv = |inventory: &str, output: &str| {
        let (code, err) = run(
            &moto,
            d,
            &[
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
            ],
        );
        assert_eq!(code, 0, "{err}");
        read(&d.join(output))
    };
    let (a, b) = (
        scan_inv("full.json", "full-scan.json"),
        scan_inv("merged.json", "merged-scan.json"),
    );
    assert_eq!(sorted_findings(&a), sorted_findings(&b));
    assert_eq!(a["summary"], b["summary"]);

    // Scan results: three live shard scans merged equal one live unsharded scan.
    let scan_live = |extra: &[&str], output: &str| {
        let mut args = vec!["scan", "--now", NOW, "--format", "json", "--output", output];
        args.extend_from_slice(extra);
        let (code, err) = run(&moto, d, &with(&base, &args));
        assert!(code == 1 || code == 0, "{err}");
        read(&d.join(output))
    };
    let whole = scan_live(&[], "whole.json");
    let mut args = vec!["merge".to_string()];
    for k in 1..=3 {
        let name = format!("scan-{k}.json");
        let shard = scan_live(&["--shard", &format!("{k}/3")], &name);
        assert_eq!(shard["scan"]["shard"]["index"], k);
        args.push(name);
    }
    args.extend(["-o".to_string(), "merged-result.json".to_string()]);
    let (code, err) = run(&moto, d, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    let merged = read(&d.join("merged-result.json"));
    assert_eq!(sorted_findings(&merged), sorted_findings(&whole));
    assert_eq!(coverage(&merged), coverage(&whole));
    let strip = |doc: &Value| {
        let mut s = doc["summary"].clone();
        s.as_object_mut().unwrap().remove("collection");
        s
    };
    assert_eq!(strip(&merged), strip(&whole));
    assert!(merged["summary"]["gate"]["failing"].as_u64().unwrap() > 0);
    assert_eq!(merged["summary"]["collection"]["deployments"], 6);
    assert!(merged["scan"].get("shard").is_none());
    // The merged result is a scan result like any other: the audit report renders it.
    let (code, err) = run(
        &moto,
        d,
        &["report", "merged-result.json", "--output", "report.html"],
    );
    assert_eq!(code, 0, "{err}");

    // Refused: a shard missing, a shard twice, mixed documents, a document that is no shard.
    let refuse = |files: &[&str], needle: &str| {
        let mut args = vec!["merge"];
        args.extend_from_slice(files);
        let (code, err) = run(&moto, d, &args);
        assert_eq!(code, 2, "{files:?}: {err}");
        assert!(err.contains(needle), "{files:?}: {err}");
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
    let mut forged = read(&d.join("shard-1.json"));
    let units_of = |k: usize| read(&d.join(format!("shard-{k}.json")))["shard"]["units"].clone();
    let (u1, u2) = (units_of(1), units_of(2));
    let taken = if u2.as_array().unwrap().is_empty() { u1 } else { u2 };
    forged["shard"]["units"] = taken;
    std::fs::write(d.join("forged.json"), forged.to_string()).unwrap();
    refuse(
        &["forged.json", "shard-2.json", "shard-3.json"],
        "the shards overlap",
    );
    // Shards that split the scan differently.
    let (code, err) = run(
        &moto,
        d,
        &with(&base, &["collect", "--shard", "1/2", "--output", "half.json"]),
    );
    assert_eq!(code, 0, "{err}");
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
