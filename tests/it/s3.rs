//! S3 wherever a file goes, against moto's S3: every input (`scan --inventory`, `report`,
//! `diff`, `merge`, `drift --inventory`) read from an object and every output written to one,
//! equal to the same command on local files; server-side encryption; a history under a prefix,
//! compared, reported and pruned without touching objects ecaudit did not write; a failed upload
//! leaving the previous object (or none).
use crate::common;

use aws_sdk_s3::primitives::ByteStream;
use common::aws::Aws;
use common::proxy::{Fault, Faults, Persistent};
use serde_json::Value;

const BUCKET: &str = "ecaudit-results";

async fn s3(aws: &Aws) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&aws.config("us-east-1").await)
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    client.create_bucket().bucket(BUCKET).send().await.unwrap();
    client
}

async fn put(s3: &aws_sdk_s3::Client, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap();
}

async fn get(s3: &aws_sdk_s3::Client, key: &str) -> Option<Vec<u8>> {
    let out = s3.get_object().bucket(BUCKET).key(key).send().await.ok()?;
    Some(out.body.collect().await.unwrap().into_bytes().to_vec())
}

async fn get_json(s3: &aws_sdk_s3::Client, key: &str) -> Value {
    let bytes = get(s3, key).await.unwrap_or_else(|| panic!("no object {key}"));
    serde_json::from_slice(&bytes).unwrap()
}

async fn keys(s3: &aws_sdk_s3::Client, prefix: &str) -> Vec<String> {
    let out = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    keys.sort();
    keys
}

fn write_json(aws: &Aws, rel: &str, doc: &Value) {
    std::fs::write(aws.path(rel), serde_json::to_vec(doc).unwrap()).unwrap();
}

fn url(key: &str) -> String {
    format!("s3://{BUCKET}/{key}")
}

/// A command's JSON on standard output, with `file` fields (which name the input) removed.
fn without_files(mut doc: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("file");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut doc);
    doc
}

#[tokio::test(flavor = "multi_thread")]
async fn every_input_and_output_round_trips_through_s3() {
    let aws = Aws::start();
    let s3 = s3(&aws).await;
    let e = aws.endpoint().to_string();
    let fleet = common::demo_fleet();
    let text = serde_json::to_vec(&fleet).unwrap();
    std::fs::write(aws.path("fleet.json"), &text).unwrap();
    put(&s3, "in/fleet.json", text).await;
    let mut smaller = common::small_fleet();
    smaller["collected_at"] = Value::from("2026-12-01T06:00:00Z");
    let small = serde_json::to_vec(&smaller).unwrap();
    std::fs::write(aws.path("small.json"), &small).unwrap();
    put(&s3, "in/small.json", small).await;

    // scan --inventory from S3, three outputs to S3 (KMS-encrypted), one local: each equal to
    // the same scan of the local file.
    let run = aws.run(&[
        "scan",
        "--inventory",
        &url("in/fleet.json"),
        "--endpoint-url",
        &e,
        "--exit-zero",
        "--format",
        "json",
        "-o",
        &url("out/scan.json"),
        "--output-format",
        &format!("sarif={}", url("out/scan.sarif")),
        "--output-format",
        &format!("csv={}", url("out/scan.csv")),
        "--output-format",
        "json=local.json",
        "--s3-sse",
        "aws:kms",
        "--s3-kms-key-id",
        "alias/ecaudit",
    ]);
    run.expect(0)
        .stderr_has(&format!("wrote {}", url("out/scan.json")));
    aws.run(&[
        "scan",
        "--inventory",
        "fleet.json",
        "--exit-zero",
        "--format",
        "json",
        "-o",
        "plain.json",
    ])
    .expect(0);
    let from_s3 = get_json(&s3, "out/scan.json").await;
    assert_eq!(from_s3["findings"], aws.json("plain.json")["findings"]);
    assert_eq!(
        from_s3,
        aws.json("local.json"),
        "the S3 object is the local output"
    );
    assert!(
        get_json(&s3, "out/scan.sarif").await["runs"][0]["results"]
            .as_array()
            .unwrap()
            .len()
            > 10
    );
    let csv = String::from_utf8(get(&s3, "out/scan.csv").await.unwrap()).unwrap();
    assert!(
        csv.starts_with("rule_id,") || csv.lines().count() > 10,
        "{csv:.200}"
    );
    let head = s3
        .head_object()
        .bucket(BUCKET)
        .key("out/scan.sarif")
        .send()
        .await
        .unwrap();
    assert_eq!(head.server_side_encryption().map(|s| s.as_str()), Some("aws:kms"));
    assert_eq!(head.ssekms_key_id(), Some("alias/ecaudit"));

    // report: a result on S3 to a report on S3, equal to the local one.
    aws.run(&[
        "report",
        &url("out/scan.json"),
        "--endpoint-url",
        &e,
        "--format",
        "markdown",
        "-o",
        &url("out/report.md"),
    ])
    .expect(0);
    aws.run(&["report", "plain.json", "--format", "markdown", "-o", "report.md"])
        .expect(0);
    assert_eq!(
        get(&s3, "out/report.md").await.unwrap(),
        std::fs::read(aws.path("report.md")).unwrap()
    );

    // diff: two inventories on S3, named by their URLs.
    let diffed = aws.run(&[
        "diff",
        &url("in/fleet.json"),
        &url("in/small.json"),
        "--endpoint-url",
        &e,
        "--format",
        "json",
    ]);
    assert_eq!(diffed.code(), 1, "{}", diffed.stderr());
    let local = aws.run(&["diff", "fleet.json", "small.json", "--format", "json"]);
    assert_eq!(without_files(diffed.json()), without_files(local.json()));
    assert!(
        diffed.stdout().contains(&url("in/fleet.json")),
        "the old side is named by its URL"
    );
    assert!(!diffed.stdout().contains("ecaudit-s3-"), "never the local copy");

    // drift --inventory from S3 (and the state too), equal to the local comparison.
    let state = common::repo_path("tests/fixtures/terraform/state.json");
    put(&s3, "in/state.json", std::fs::read(&state).unwrap()).await;
    let drift = aws.run(&[
        "drift",
        "--terraform-state",
        &url("in/state.json"),
        "--inventory",
        &url("in/fleet.json"),
        "--endpoint-url",
        &e,
        "--format",
        "json",
    ]);
    let local = aws.run(&[
        "drift",
        "--terraform-state",
        state.to_str().unwrap(),
        "--inventory",
        "fleet.json",
        "--format",
        "json",
    ]);
    assert_eq!(drift.code(), local.code(), "{}", drift.stderr());
    let (mut drift, mut local) = (drift.json(), local.json());
    assert_eq!(
        drift["state"],
        url("in/state.json"),
        "the state is named by its URL"
    );
    drift["state"] = Value::Null;
    local["state"] = Value::Null;
    assert_eq!(without_files(drift), without_files(local));

    // collect --shard to S3, merged from S3 to S3: the merged inventory covers both shards.
    for k in 1..=2 {
        aws.live(
            "collect",
            &[
                "--regions",
                "us-east-1,eu-west-1",
                "--shard",
                &format!("{k}/2"),
                "-o",
                &url(&format!("shards/{k}.json")),
            ],
        )
        .expect(0);
    }
    aws.run(&[
        "merge",
        &url("shards/1.json"),
        &url("shards/2.json"),
        "--endpoint-url",
        &e,
        "-o",
        &url("merged.json"),
    ])
    .expect(0)
    .stderr_has("merged 2 shard(s) into one inventory");
    let merged = get_json(&s3, "merged.json").await;
    let regions: std::collections::BTreeSet<&str> = merged["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["region"].as_str())
        .filter(|r| *r != "global")
        .collect();
    assert_eq!(
        regions,
        ["eu-west-1", "us-east-1"].into(),
        "both shards' units: {merged}"
    );
    assert!(merged.get("shard").is_none());

    // An error in an input on S3 points at the object's line, never at the local copy.
    put(
        &s3,
        "in/bad.json",
        b"{\n  \"schema_version\": 1,\n  \"deployments\": 7\n}\n".to_vec(),
    )
    .await;
    let bad = aws.run(&["scan", "--inventory", &url("in/bad.json"), "--endpoint-url", &e]);
    bad.expect(2).stderr_has(&format!("{}:3:", url("in/bad.json")));
    assert!(!bad.stderr().contains("ecaudit-s3-"), "{}", bad.stderr());
    aws.run(&["report", &url("in/missing.json"), "--endpoint-url", &e])
        .expect(2)
        .stderr_has(&format!("{}: cannot read: NoSuchKey", url("in/missing.json")));
    // A mistyped URL is a usage error before any call.
    aws.run(&["scan", "--inventory", "fleet.json", "-o", "s3://Results/x.json"])
        .expect(2)
        .stderr_has("not an S3 bucket name");
    aws.run(&[
        "scan",
        "--inventory",
        "fleet.json",
        "--s3-kms-key-id",
        "k",
        "--endpoint-url",
        &e,
    ])
    .expect(2)
    .stderr_has("--s3-kms-key-id needs --s3-sse aws:kms");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_history_on_s3_is_compared_reported_and_pruned_of_its_own_runs_only() {
    let aws = Aws::start();
    let s3 = s3(&aws).await;
    let e = aws.endpoint().to_string();
    write_json(&aws, "fleet.json", &common::demo_fleet());
    write_json(&aws, "small.json", &common::small_fleet());
    // Objects under the prefix that ecaudit did not write, and a run one level deeper.
    put(&s3, "nightly/README.txt", b"team notes".to_vec()).await;
    put(&s3, "nightly/ecaudit-latest.scan.json", b"{}".to_vec()).await;
    put(
        &s3,
        "nightly/old/ecaudit-20260101T000000Z.scan.json",
        b"{}".to_vec(),
    )
    .await;

    let night = |inventory: &str, now: &str, out: &str| {
        aws.run(&[
            "scan",
            "--inventory",
            inventory,
            "--now",
            now,
            "--endpoint-url",
            &e,
            "--exit-zero",
            "--history",
            &url("nightly"),
            "--keep",
            "2",
            "--format",
            "json",
            "-o",
            out,
        ])
    };
    night("fleet.json", "2026-11-01T06:00:00Z", "n1.json")
        .expect(0)
        .stderr_has("recorded run");
    night("small.json", "2026-11-02T06:00:00Z", "n2.json").expect(0);
    let n2 = aws.json("n2.json");
    let drift = &n2["drift"];
    assert!(
        drift.is_object(),
        "the second night is compared with the first: {n2}"
    );
    assert!(
        drift["old"]["file"]
            .as_str()
            .unwrap()
            .starts_with(&url("nightly/ecaudit-")),
        "{drift}"
    );
    assert!(
        !drift["deployments"]["removed"].as_array().unwrap().is_empty(),
        "{drift}"
    );
    let third = night("fleet.json", "2026-11-03T06:00:00Z", "n3.json");
    third.expect(0).stderr_has("removed 1 older run(s), keeping 2");
    third.stderr_has("ecaudit-latest.scan.json is not taken for a run");

    let left = keys(&s3, "nightly/").await;
    let runs: Vec<&String> = left
        .iter()
        .filter(|k| k.ends_with(".inventory.json") || k.ends_with("Z.scan.json") || k.contains("Z-"))
        .filter(|k| !k.contains("/old/"))
        .collect();
    assert_eq!(runs.len(), 4, "two runs of two objects each: {left:?}");
    for foreign in [
        "nightly/README.txt",
        "nightly/ecaudit-latest.scan.json",
        "nightly/old/ecaudit-20260101T000000Z.scan.json",
    ] {
        assert!(
            left.iter().any(|k| k == foreign),
            "{foreign} was deleted: {left:?}"
        );
    }
    // The recorded result is the run's result document.
    let scan_key = left
        .iter()
        .find(|k| k.ends_with(".scan.json") && !k.contains("latest") && !k.contains("/old/"))
        .unwrap();
    assert_eq!(get_json(&s3, scan_key).await["tool"]["name"], "ecaudit");

    // report --history reads the nights from S3.
    let report = aws.run(&[
        "report",
        "--history",
        &url("nightly/"),
        "--endpoint-url",
        &e,
        "--format",
        "markdown",
    ]);
    report
        .expect(0)
        .stdout_has("Trends")
        .stdout_has("2 night(s) read from");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_upload_leaves_the_previous_object_or_none() {
    let faults = Faults {
        persistent: vec![Persistent {
            action: "PutObject".into(),
            region: None,
            body_contains: None,
            access_key: None,
            fault: Fault::ServerError,
        }],
        ..Faults::none()
    };
    let aws = Aws::behind_proxy(faults);
    let s3 = s3(&aws).await;
    let e = aws.endpoint().to_string();
    write_json(&aws, "fleet.json", &common::demo_fleet());
    put(&s3, "out/scan.json", b"the previous night".to_vec()).await;

    let run = aws.run(&[
        "scan",
        "--inventory",
        "fleet.json",
        "--endpoint-url",
        &e,
        "--exit-zero",
        "--format",
        "json",
        "-o",
        &url("out/scan.json"),
        "--output-format",
        &format!("sarif={}", url("out/new.sarif")),
    ]);
    run.expect(2)
        .stderr_has(&format!("{}: cannot write", url("out/scan.json")));
    assert_eq!(get(&s3, "out/scan.json").await.unwrap(), b"the previous night");
    assert_eq!(
        get(&s3, "out/new.sarif").await,
        None,
        "no object, not part of one"
    );
    let stats = aws.proxy().stats();
    assert!(
        stats.actions.get("PutObject").copied().unwrap_or(0) >= 1,
        "{:?}",
        stats.actions
    );
}
