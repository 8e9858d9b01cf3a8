//! Collection under faults: ecaudit reads moto server through the fault-injecting proxy
//! (tests/it/common/proxy.rs). Transient faults are retried to the same result; a call that always
//! fails is a coverage gap of its unit only; a denied AssumeRole, of its account only.

use crate::common;

use common::aws::Aws;
use common::moto::ACCOUNT;
use common::proxy::{Fault, Faults, Persistent, TRANSIENT};
use common::*;
use serde_json::Value;

const OTHER: &str = "222222222222";
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const NOW: &str = "2026-11-25T06:00:00Z";

/// moto behind the fault proxy (injecting nothing yet), seeded with two accounts × three
/// regions: a replication group in each unit, alarms, Memcached.
async fn seeded() -> Aws {
    let aws = Aws::behind_proxy(Faults::none());
    seed::unit_fleet(aws.moto(), &[ACCOUNT, OTHER], &REGIONS, true).await;
    aws
}

/// `ecaudit scan` of the fleet through the proxy into `name`: exit code, stderr and the JSON
/// result (null when none was written).
fn scan(aws: &Aws, name: &str) -> (i32, String, Value) {
    let regions = REGIONS.join(",");
    let accounts = format!("{ACCOUNT},{OTHER}");
    let run = aws.live(
        "scan",
        &[
            "--regions",
            &regions,
            "--accounts",
            &accounts,
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
            name,
        ],
    );
    let doc = match aws.path(name).exists() {
        true => aws.json(name),
        false => Value::Null,
    };
    // Issue 26: every error a fault causes is shown as its code and message, never as the
    // SDK's Debug dump.
    for text in [run.stderr(), doc.to_string()] {
        for dump in [
            "DispatchFailure {",
            "ConnectorError {",
            "ResponseError {",
            "TimeoutError {",
        ] {
            assert!(!text.contains(dump), "{dump} in {name}: {text}");
        }
    }
    (run.code(), run.stderr(), doc)
}

/// The failed coverage entries without their error codes.
fn gap_units(doc: &Value) -> Vec<(String, String, String)> {
    gaps(doc).into_iter().map(|(a, r, api, _)| (a, r, api)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_faults_are_retried_to_the_same_result() {
    let aws = seeded().await;
    let proxy = aws.proxy();

    let (clean_code, err, clean) = scan(&aws, "clean.json");
    assert!(gap_units(&clean).is_empty(), "{err}");
    // moto describes the seeded Memcached clusters without AutoMinorVersionUpgrade and
    // TransitEncryptionEnabled: three rules cannot decide on each, so the scan is incomplete.
    assert_eq!(clean_code, 3, "{err}");
    assert_eq!(clean["summary"]["findings"]["error"], 6);
    let calls = proxy.stats().requests;
    assert_eq!(proxy.stats().faulted(), 0);
    assert_eq!(clean["summary"]["collection"]["retries"], 0);
    // A replication group in each of the 6 units, a Memcached cluster in each account.
    assert_eq!(clean["summary"]["deployments"], 8);

    // One call in five faulted, each at most twice in a row; four attempts get every call through.
    proxy.set(Faults {
        seed: 7,
        slow: std::time::Duration::from_secs(11),
        ..Faults::random(0.2)
    });
    let (code, err, faulty) = scan(&aws, "faulty.json");
    let stats = proxy.stats();
    assert_eq!(code, 3, "{err}\n{stats:?}");
    assert_eq!(gaps(&faulty), [], "{stats:?}");
    assert_eq!(
        sorted_findings(&faulty),
        sorted_findings(&clean),
        "the inventory differs under faults"
    );
    assert_eq!(coverage_without_calls(&faulty), coverage_without_calls(&clean));
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
    let aws = seeded().await;
    let proxy = aws.proxy();
    let (_, err, clean) = scan(&aws, "clean.json");
    assert!(gap_units(&clean).is_empty(), "{err}");

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
    let (code, err, doc) = scan(&aws, "gap.json");
    assert_eq!(code, 3, "{err}");
    assert_eq!(
        gap_units(&doc),
        [(
            ACCOUNT.into(),
            "eu-west-1".into(),
            "elasticache:DescribeCacheClusters".into()
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
    let others = |d: &Value| {
        sorted_findings(d)
            .into_iter()
            .filter(|f| !in_gap(f))
            .collect::<Vec<_>>()
    };
    assert_eq!(others(&doc), others(&clean));
    let before: std::collections::BTreeMap<String, Value> = sorted_findings(&clean)
        .into_iter()
        .map(|f| {
            (
                f["fingerprint"].as_str().unwrap().to_string(),
                f["status"].clone(),
            )
        })
        .collect();
    for f in sorted_findings(&doc).iter().filter(|f| in_gap(f)) {
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
    let aws = seeded().await;
    let proxy = aws.proxy();
    let (_, _, clean) = scan(&aws, "clean.json");

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
    let (code, err, doc) = scan(&aws, "denied.json");
    assert_eq!(code, 3, "{err}");
    assert_eq!(
        gaps(&doc),
        [(
            OTHER.into(),
            "global".into(),
            "sts:AssumeRole".into(),
            "AccessDenied".into()
        )]
    );
    // The caller's account is read as before; nothing is reported of the other account.
    let mine = |d: &Value| {
        sorted_findings(d)
            .into_iter()
            .filter(|f| f["account_id"] == ACCOUNT)
            .collect::<Vec<_>>()
    };
    assert_eq!(mine(&doc), mine(&clean));
    assert!(sorted_findings(&doc).iter().all(|f| f["account_id"] == ACCOUNT));
}
