//! Collection under faults: ecaudit reads moto server through the fault-injecting proxy
//! (tests/it/common/proxy.rs). Transient faults are retried to the same result; a call that always
//! fails is a coverage gap of its unit only; a denied AssumeRole, of its account only.

use crate::common;

use std::path::Path;

use common::moto::{ACCOUNT, Moto};
use common::proxy::{Fault, FaultProxy, Faults, Persistent, TRANSIENT};
use common::seed;
use common::*;
use serde_json::Value;

const OTHER: &str = "222222222222";
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const NOW: &str = "2026-11-25T06:00:00Z";

/// Two accounts × three regions, a replication group in each unit, alarms, Memcached.
async fn seed_fleet(moto: &Moto) {
    seed::unit_fleet(moto, &[ACCOUNT, OTHER], &REGIONS, true).await;
}

/// `ecaudit scan` of the fleet through `proxy`: exit code, stderr and the JSON result.
fn scan(moto: &Moto, proxy: &FaultProxy, dir: &Path, name: &str) -> (i32, String, Value) {
    let out = dir.join(name);
    let output = ecaudit()
        .envs(moto.env())
        .args([
            "scan",
            "--endpoint-url",
            &proxy.endpoint,
            "--regions",
            &REGIONS.join(","),
            "--accounts",
            &format!("{ACCOUNT},{OTHER}"),
            "--role-name",
            "ecaudit-audit",
            "--max-attempts",
            "4",
            // Long enough that only the injected slow responses time out, even on a loaded CI
            // machine (at 1 s, moto answering late there made retries nobody injected).
            "--attempt-timeout",
            "10",
            "--now",
            NOW,
            "--format",
            "json",
            "--output",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let doc = serde_json::from_str(&std::fs::read_to_string(&out).unwrap_or_default()).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), stderr, doc)
}

fn findings(doc: &Value) -> Vec<Value> {
    let mut f = doc["findings"].as_array().unwrap().clone();
    f.sort_by_key(|f| f["fingerprint"].as_str().unwrap().to_string());
    f
}

fn coverage(doc: &Value) -> Vec<Value> {
    let mut c = doc["coverage"].as_array().unwrap().clone();
    for e in &mut c {
        e.as_object_mut().unwrap().remove("calls");
    }
    c
}

fn gaps(doc: &Value) -> Vec<(String, String, String, String)> {
    doc["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "failed")
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            (s("account_id"), s("region"), s("service"), s("api"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_faults_are_retried_to_the_same_result() {
    let moto = Moto::start();
    seed_fleet(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::start(&moto.endpoint, Faults::none());

    let (clean_code, err, clean) = scan(&moto, &proxy, dir.path(), "clean.json");
    assert!(gaps(&clean).is_empty(), "{err}");
    let calls = proxy.stats().requests;
    assert_eq!(proxy.stats().faulted(), 0);
    assert_eq!(clean["summary"]["collection"]["retries"], 0);
    assert!(clean["summary"]["deployments"].as_u64().unwrap() >= 8);

    // One call in five faulted, each at most twice in a row; four attempts get every call through.
    proxy.set(Faults {
        seed: 7,
        slow: std::time::Duration::from_secs(11),
        ..Faults::random(0.2)
    });
    let (code, err, faulty) = scan(&moto, &proxy, dir.path(), "faulty.json");
    let stats = proxy.stats();
    assert_eq!(code, clean_code, "{err}\n{stats:?}");
    let failed: Vec<&Value> = faulty["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "failed")
        .collect();
    assert!(failed.is_empty(), "{failed:#?}\n{stats:?}");
    assert_eq!(
        findings(&faulty),
        findings(&clean),
        "the inventory differs under faults"
    );
    assert_eq!(coverage(&faulty), coverage(&clean));
    assert_eq!(faulty["summary"]["deployments"], clean["summary"]["deployments"]);
    assert_eq!(faulty["summary"]["gate"], clean["summary"]["gate"]);

    // Every kind was injected, about a fifth of the calls, and each fault cost exactly one retry,
    // which the scan reports.
    for kind in TRANSIENT {
        assert!(
            stats.faults.get(&kind).copied().unwrap_or(0) > 0,
            "{kind:?} never injected: {stats:?}"
        );
    }
    let faulted = stats.faulted();
    assert!(
        faulted * 10 >= calls,
        "{faulted} faults in {} calls",
        stats.requests
    );
    assert_eq!(faulty["summary"]["collection"]["retries"], faulted, "{stats:?}");
    assert!(err.contains(&format!("{faulted} retries")), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_always_fails_is_a_gap_of_its_unit_only() {
    let moto = Moto::start();
    seed_fleet(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::start(&moto.endpoint, Faults::none());
    let (_, err, clean) = scan(&moto, &proxy, dir.path(), "clean.json");
    assert!(gaps(&clean).is_empty(), "{err}");

    // DescribeCacheClusters in the caller's account, eu-west-1: 503 on every attempt.
    proxy.set(Faults {
        persistent: vec![Persistent {
            action: "DescribeCacheClusters".into(),
            region: Some("eu-west-1".into()),
            body_contains: None,
            access_key: Some("testing".into()),
            fault: Fault::Unavailable,
        }],
        ..Faults::none()
    });
    let (code, err, doc) = scan(&moto, &proxy, dir.path(), "gap.json");
    assert_eq!(code, 3, "{err}");
    assert_eq!(
        gaps(&doc),
        vec![(
            ACCOUNT.into(),
            "eu-west-1".into(),
            "elasticache".into(),
            "DescribeCacheClusters".into()
        )]
    );
    // Every attempt was made (--max-attempts 4), then the unit gave up on that API.
    assert_eq!(
        proxy.stats().faults.get(&Fault::Unavailable),
        Some(&4),
        "{:?}",
        proxy.stats()
    );
    assert!(err.contains("3 retries"), "{err}");
    // Every other unit is read completely and gives the findings it gave without the fault; in
    // the unit with the gap nothing fails that did not fail before (facts it lacks are unknown).
    let in_gap = |f: &Value| f["account_id"] == ACCOUNT && f["region"] == "eu-west-1";
    let others = |d: &Value| findings(d).into_iter().filter(|f| !in_gap(f)).collect::<Vec<_>>();
    assert_eq!(others(&doc), others(&clean));
    let before: std::collections::BTreeMap<String, Value> = findings(&clean)
        .into_iter()
        .map(|f| {
            (
                f["fingerprint"].as_str().unwrap().to_string(),
                f["status"].clone(),
            )
        })
        .collect();
    for f in findings(&doc).iter().filter(|f| in_gap(f)) {
        if f["status"] == "fail" {
            assert_eq!(
                before[f["fingerprint"].as_str().unwrap()],
                "fail",
                "invented: {f}"
            );
        }
    }
    assert_eq!(doc["summary"]["coverage_gaps"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_assume_role_is_a_gap_of_that_account_only() {
    let moto = Moto::start();
    seed_fleet(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::start(&moto.endpoint, Faults::none());
    let (_, _, clean) = scan(&moto, &proxy, dir.path(), "clean.json");

    proxy.set(Faults {
        persistent: vec![Persistent {
            action: "AssumeRole".into(),
            region: None,
            body_contains: Some(OTHER.into()),
            access_key: None,
            fault: Fault::AccessDenied,
        }],
        ..Faults::none()
    });
    let (code, err, doc) = scan(&moto, &proxy, dir.path(), "denied.json");
    assert_eq!(code, 3, "{err}");
    let gaps = gaps(&doc);
    assert!(!gaps.is_empty());
    assert!(
        gaps.iter()
            .all(|(account, _, service, api)| account == OTHER && service == "sts" && api == "AssumeRole"),
        "{gaps:?}"
    );
    let error = &doc["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "failed")
        .unwrap()["error"];
    assert_eq!(error["code"], "AccessDenied", "{error}");
    // The caller's account is read as before; nothing is reported of the other account.
    let mine = |d: &Value| {
        findings(d)
            .into_iter()
            .filter(|f| f["account_id"] == ACCOUNT)
            .collect::<Vec<_>>()
    };
    assert_eq!(mine(&doc), mine(&clean));
    assert!(findings(&doc).iter().all(|f| f["account_id"] == ACCOUNT));
}
