//! `scan --publish security-hub` (issue 23, point 2) against moto's Security Hub, with the
//! filters and refusals AWS applies added in tests/moto/additions.py: the failing findings
//! imported as ASFF into their own account and region, a finding that passes archived, units a
//! run did not read left untouched, refused records retried, calls of at most 100 records.
use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use aws_config::SdkConfig;
use common::aws::Aws;
use common::moto::ACCOUNT;
use common::proxy::{Fault, Faults, Persistent};
use common::seed::{self, Group};
use serde_json::{Value, json};

/// A record as Security Hub holds it: the fields the tests look at.
#[derive(Clone, Debug)]
struct Held {
    id: String,
    generator: String,
    account: String,
    region: String,
    severity: String,
    resource_type: String,
    resource_arn: String,
    compliance: String,
    control: Option<String>,
    record_state: String,
    fields: BTreeMap<String, String>,
}

/// Every record Security Hub holds in the account and region of `cfg` (no filter: all of them).
async fn held(cfg: &SdkConfig) -> Vec<Held> {
    let client = aws_sdk_securityhub::Client::new(cfg);
    let mut pages = client.get_findings().max_results(100).into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        for f in page.unwrap().findings() {
            let r = &f.resources()[0];
            out.push(Held {
                id: f.id().unwrap().into(),
                generator: f.generator_id().unwrap().into(),
                account: f.aws_account_id().unwrap().into(),
                region: f.region().unwrap().into(),
                severity: f.severity().unwrap().label().unwrap().as_str().into(),
                resource_type: r.r#type().unwrap().into(),
                resource_arn: r.id().unwrap().into(),
                compliance: f.compliance().unwrap().status().unwrap().as_str().into(),
                control: f.compliance().unwrap().security_control_id().map(str::to_string),
                record_state: f.record_state().unwrap().as_str().into(),
                fields: f
                    .product_fields()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// (Id, status) of each finding of a scan result whose status is one of `statuses`.
fn findings_of(doc: &Value, statuses: &[&str]) -> Vec<Value> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| statuses.contains(&f["status"].as_str().unwrap()))
        .cloned()
        .collect()
}

fn id_of(f: &Value) -> String {
    format!("ecaudit/{}", f["fingerprint"].as_str().unwrap())
}

/// A replication group in `cfg`'s region failing `multi-az` and `snapshot-retention`.
async fn failing_group(cfg: &SdkConfig, id: &str, cidr: &str) {
    let net = seed::network(cfg, &format!("{id}-subnets"), cidr, false).await;
    let sg = seed::security_group(cfg, &net.vpc_id, "cache", vec![]).await;
    let group = Group {
        multi_az: false,
        failover: false,
        retention: 1,
        ..Group::compliant(id, &sg, &net.subnet_group)
    };
    seed::replication_group(cfg, &group).await;
}

/// Keeps a week of snapshots: `snapshot-retention` passes.
async fn fix_retention(cfg: &SdkConfig, id: &str) {
    aws_sdk_elasticache::Client::new(cfg)
        .modify_replication_group()
        .replication_group_id(id)
        .snapshot_retention_limit(7)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
}

fn scan(aws: &Aws, regions: &str, out: &str, extra: &[&str]) -> common::cli::Run {
    let mut args = vec![
        "--regions",
        regions,
        "--format",
        "json",
        "--output",
        out,
        "--max-attempts",
        "2",
    ];
    args.extend_from_slice(extra);
    aws.live("scan", &args)
}

/// Requests the proxy saw, by operation.
fn calls(aws: &Aws, action: &str) -> u64 {
    aws.proxy().stats().actions.get(action).copied().unwrap_or(0)
}

/// The first record of `rule` on deployment `id`.
fn record<'h>(held: &'h [Held], rule: &str, id: &str) -> &'h Held {
    held.iter()
        .find(|h| h.generator == format!("ecaudit/{rule}") && h.resource_arn.ends_with(&format!(":{id}")))
        .unwrap_or_else(|| panic!("no record of {rule} on {id}: {held:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_run_imports_exactly_the_failing_findings_as_asff() {
    let aws = Aws::behind_proxy(Faults::none());
    let east = aws.config("us-east-1").await;
    aws_sdk_organizations::Client::new(&east)
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    failing_group(&east, "orders", "10.1.0.0/16").await;

    // Without --publish, nothing goes to Security Hub.
    scan(
        &aws,
        "us-east-1",
        "plain.json",
        &["--organization", "--exit-zero"],
    )
    .expect(0);
    assert_eq!(calls(&aws, "BatchImportFindings") + calls(&aws, "GetFindings"), 0);
    assert!(held(&east).await.is_empty());

    let run = scan(
        &aws,
        "us-east-1",
        "scan.json",
        &["--organization", "--exit-zero", "--publish", "security-hub"],
    );
    run.expect(0).stderr_has("published to Security Hub");
    let doc = aws.json("scan.json");
    let failing = findings_of(&doc, &["fail"]);
    assert!(failing.len() >= 2, "{failing:?}");
    let held = held(&east).await;
    let ids: BTreeSet<String> = held.iter().map(|h| h.id.clone()).collect();
    let expected: BTreeSet<String> = failing.iter().map(id_of).collect();
    assert_eq!(
        ids, expected,
        "exactly the failing findings, by their fingerprints"
    );
    for f in &failing {
        let h = held.iter().find(|h| h.id == id_of(f)).unwrap();
        assert_eq!(h.generator, format!("ecaudit/{}", f["rule_id"].as_str().unwrap()));
        assert_eq!((h.account.as_str(), h.region.as_str()), (ACCOUNT, "us-east-1"));
        let severity = match f["severity"].as_str().unwrap() {
            "info" => "INFORMATIONAL".to_string(),
            s => s.to_uppercase(),
        };
        assert_eq!(h.severity, severity);
        assert_eq!(h.resource_arn, f["resource_arn"].as_str().unwrap());
        assert_eq!(h.resource_type, "AwsElastiCacheReplicationGroup");
        assert_eq!(
            (h.compliance.as_str(), h.record_state.as_str()),
            ("FAILED", "ACTIVE")
        );
        assert_eq!(
            h.fields["ecaudit/Fingerprint"],
            f["fingerprint"].as_str().unwrap()
        );
        assert_eq!(h.fields["ecaudit/RuleId"], f["rule_id"].as_str().unwrap());
        // The owners from the organization.
        assert_eq!(h.fields["ecaudit/AccountName"], "master");
        assert_eq!(h.fields["ecaudit/OuPath"], "Root");
    }
    let retention = record(&held, "snapshot-retention", "orders");
    assert_eq!(retention.control.as_deref(), Some("ElastiCache.1"));
    assert!(
        retention
            .fields
            .keys()
            .any(|k| k.starts_with("ecaudit/Evidence/"))
    );
    // One unit: one search, one import.
    assert_eq!(calls(&aws, "GetFindings"), 1);
    assert_eq!(calls(&aws, "BatchImportFindings"), 1);

    // Run again: the same records (stable ids), updated in place.
    scan(
        &aws,
        "us-east-1",
        "again.json",
        &["--exit-zero", "--publish", "security-hub"],
    )
    .expect(0);
    let again = self::held(&east).await;
    assert_eq!(
        again.iter().map(|h| h.id.clone()).collect::<BTreeSet<_>>(),
        expected
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fixed_and_suppressed_findings_are_archived_and_the_others_stay_active() {
    let aws = Aws::behind_proxy(Faults::none());
    let east = aws.config("us-east-1").await;
    failing_group(&east, "orders", "10.1.0.0/16").await;
    failing_group(&east, "retired", "10.2.0.0/16").await;
    scan(
        &aws,
        "us-east-1",
        "monday.json",
        &["--exit-zero", "--publish", "security-hub"],
    )
    .expect(0);
    let monday = held(&east).await;
    assert!(monday.iter().all(|h| h.record_state == "ACTIVE"));
    let retired: Vec<String> = monday
        .iter()
        .filter(|h| h.resource_arn.ends_with(":retired"))
        .map(|h| h.id.clone())
        .collect();
    assert!(!retired.is_empty());

    fix_retention(&east, "orders").await;
    aws_sdk_elasticache::Client::new(&east)
        .delete_replication_group()
        .replication_group_id("retired")
        .send()
        .await
        .unwrap();
    let run = scan(
        &aws,
        "us-east-1",
        "tuesday.json",
        &["--exit-zero", "--publish", "security-hub"],
    );
    run.expect(0);
    let tuesday = aws.json("tuesday.json");
    let still_failing: BTreeSet<String> = findings_of(&tuesday, &["fail"]).iter().map(id_of).collect();
    let after = held(&east).await;
    assert_eq!(after.len(), monday.len(), "updated in place, none added");
    for h in &after {
        let expected = if still_failing.contains(&h.id) {
            ("FAILED", "ACTIVE")
        } else {
            ("PASSED", "ARCHIVED")
        };
        assert_eq!(
            (h.compliance.as_str(), h.record_state.as_str()),
            expected,
            "{h:?}"
        );
    }
    let fixed = record(&after, "snapshot-retention", "orders");
    assert_eq!(
        (fixed.compliance.as_str(), fixed.record_state.as_str()),
        ("PASSED", "ARCHIVED")
    );
    assert_eq!(fixed.fields["ecaudit/Status"], "pass");
    let open = record(&after, "multi-az", "orders");
    assert_eq!(
        (open.compliance.as_str(), open.record_state.as_str()),
        ("FAILED", "ACTIVE")
    );
    // The deleted deployment's records: archived. moto lists a deleted group as `deleting` for a
    // while (not applicable); one no longer listed is `not_found` (see the inventory test below).
    for id in &retired {
        let h = after.iter().find(|h| &h.id == id).unwrap();
        assert_eq!(h.record_state, "ARCHIVED");
        assert!(
            ["not_applicable", "not_found"].contains(&h.fields["ecaudit/Status"].as_str()),
            "{h:?}"
        );
    }
    let archived = monday.iter().filter(|h| !still_failing.contains(&h.id)).count();
    assert!(archived > retired.len());
    run.stderr_has(&format!("{archived} archived"));

    // Suppressed the next night: archived, still failing, with the reason.
    std::fs::write(
        aws.path("suppressions.yaml"),
        "suppressions:\n  - rule: multi-az\n    resource: orders\n    reason: single-AZ by design\n",
    )
    .unwrap();
    scan(
        &aws,
        "us-east-1",
        "wednesday.json",
        &[
            "--exit-zero",
            "--suppressions",
            "suppressions.yaml",
            "--publish",
            "security-hub",
        ],
    )
    .expect(0);
    let wednesday = held(&east).await;
    let accepted = record(&wednesday, "multi-az", "orders");
    assert_eq!(
        (accepted.compliance.as_str(), accepted.record_state.as_str()),
        ("FAILED", "ARCHIVED")
    );
    assert_eq!(accepted.fields["ecaudit/Status"], "suppressed");
    assert_eq!(accepted.fields["ecaudit/WaiverReason"], "single-AZ by design");
}

/// Two regions of the caller's account, one in each shard of `--shard K/2`.
fn regions_in_two_shards() -> (String, String) {
    let candidates = [
        "us-east-1",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-southeast-2",
    ];
    let first = candidates[0];
    let other = candidates
        .iter()
        .find(|r| ecaudit::shard::shard_of(ACCOUNT, r, 2) != ecaudit::shard::shard_of(ACCOUNT, first, 2))
        .expect("a region in the other shard");
    (first.to_string(), other.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn units_a_run_did_not_read_keep_their_findings() {
    let aws = Aws::behind_proxy(Faults::none());
    let (a, b) = regions_in_two_shards();
    let both = format!("{a},{b}");
    let (cfg_a, cfg_b) = (aws.config(&a).await, aws.config(&b).await);
    failing_group(&cfg_a, "alpha", "10.1.0.0/16").await;
    failing_group(&cfg_b, "bravo", "10.2.0.0/16").await;
    scan(
        &aws,
        &both,
        "first.json",
        &["--exit-zero", "--publish", "security-hub"],
    )
    .expect(0);
    let state = |held: &[Held], id: &str| {
        let h = record(held, "snapshot-retention", id);
        (h.compliance.clone(), h.record_state.clone())
    };
    let active = ("FAILED".to_string(), "ACTIVE".to_string());
    let archived = ("PASSED".to_string(), "ARCHIVED".to_string());
    assert_eq!(state(&held(&cfg_a).await, "alpha"), active);
    assert_eq!(state(&held(&cfg_b).await, "bravo"), active);
    fix_retention(&cfg_a, "alpha").await;
    fix_retention(&cfg_b, "bravo").await;

    // The shard that reads region a only: b's records are not its to archive.
    let shard = format!("{}/2", ecaudit::shard::shard_of(ACCOUNT, &a, 2));
    scan(
        &aws,
        &both,
        "shard.json",
        &["--exit-zero", "--shard", &shard, "--publish", "security-hub"],
    )
    .expect(0);
    assert_eq!(state(&held(&cfg_a).await, "alpha"), archived);
    assert_eq!(
        state(&held(&cfg_b).await, "bravo"),
        active,
        "another shard's unit"
    );

    // A run whose read of region b fails: a coverage gap, not a fix.
    aws.proxy().set(Faults {
        persistent: vec![Persistent {
            action: "DescribeReplicationGroups".into(),
            region: Some(b.clone()),
            body_contains: None,
            access_key: None,
            fault: Fault::AccessDenied,
        }],
        ..Faults::none()
    });
    let gap = scan(
        &aws,
        &both,
        "gap.json",
        &["--exit-zero", "--publish", "security-hub"],
    );
    gap.expect(0);
    assert!(aws.json("gap.json")["summary"]["coverage_gaps"].as_u64().unwrap() > 0);
    assert_eq!(state(&held(&cfg_b).await, "bravo"), active, "a unit with a gap");
    assert_eq!(
        calls(&aws, "GetFindings"),
        1,
        "only the unit read whole is searched"
    );

    // Read again whole: archived.
    aws.proxy().set(Faults::none());
    scan(
        &aws,
        &both,
        "whole.json",
        &["--exit-zero", "--publish", "security-hub"],
    )
    .expect(0);
    assert_eq!(state(&held(&cfg_b).await, "bravo"), archived);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_record_is_retried_and_one_always_refused_gives_exit_3() {
    let aws = Aws::behind_proxy_with(
        &[(
            "ECAUDIT_MOTO_SECURITYHUB_REFUSE",
            "flaky-cache:1,broken-cache:always",
        )],
        Faults::none(),
    );
    let east = aws.config("us-east-1").await;
    failing_group(&east, "flaky-cache", "10.1.0.0/16").await;
    failing_group(&east, "broken-cache", "10.2.0.0/16").await;
    let run = scan(&aws, "us-east-1", "scan.json", &["--publish", "security-hub"]);
    // The outputs are written; the failed publication is reported like a coverage gap.
    run.expect(3);
    let doc = aws.json("scan.json");
    let failing = findings_of(&doc, &["fail"]);
    let broken: Vec<&Value> = failing
        .iter()
        .filter(|f| f["resource_id"] == "broken-cache")
        .collect();
    assert!(!broken.is_empty());
    for f in &broken {
        run.stderr_has(&format!("finding {} (", id_of(f)));
    }
    run.stderr_has("not imported after 3 attempt(s): InternalException");
    // The first attempt sends all; the second the refused ones of both; the third broken-cache's.
    assert_eq!(calls(&aws, "BatchImportFindings"), 3);
    let held = held(&east).await;
    let ids: BTreeSet<String> = held.iter().map(|h| h.id.clone()).collect();
    for f in &failing {
        let imported = ids.contains(&id_of(f));
        assert_eq!(
            imported,
            f["resource_id"] == "flaky-cache",
            "{}",
            f["fingerprint"]
        );
    }
    assert!(
        !run.stderr().contains("testing"),
        "no credential on standard error"
    );

    // --exit-zero keeps 0, and still says what was not imported.
    aws.proxy().set(Faults::none());
    scan(
        &aws,
        "us-east-1",
        "again.json",
        &["--exit-zero", "--publish", "security-hub"],
    )
    .expect(0)
    .stderr_has("not imported after 3 attempt(s)");
}

#[tokio::test(flavor = "multi_thread")]
async fn more_than_100_findings_go_in_calls_of_at_most_100() {
    let aws = Aws::behind_proxy(Faults::none());
    // A saved inventory of the caller's account: the demo fleet, moved to it.
    let mut fleet = common::fleet_of(40);
    fleet.as_object_mut().unwrap().remove("coverage");
    for d in fleet["deployments"].as_array_mut().unwrap() {
        let arn = d["arn"].as_str().unwrap().to_string();
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        d["arn"] = json!(format!(
            "{}:{}:{}:us-east-1:{ACCOUNT}:{}",
            parts[0], parts[1], parts[2], parts[5]
        ));
        d["account_id"] = json!(ACCOUNT);
        d["region"] = json!("us-east-1");
    }
    std::fs::write(aws.path("fleet.json"), serde_json::to_vec(&fleet).unwrap()).unwrap();
    let run = aws.live(
        "scan",
        &[
            "--inventory",
            "fleet.json",
            "--format",
            "json",
            "--output",
            "scan.json",
            "--exit-zero",
            "--publish",
            "security-hub",
        ],
    );
    run.expect(0);
    let failing = findings_of(&aws.json("scan.json"), &["fail", "baselined"]).len();
    assert!(failing > 100, "{failing} failing findings");
    let bodies: Vec<usize> = aws
        .proxy()
        .stats()
        .requests_seen
        .iter()
        .filter(|(action, _)| action == "BatchImportFindings")
        .map(|(_, body)| body.matches("\"GeneratorId\"").count())
        .collect();
    assert_eq!(bodies.len(), failing.div_ceil(100), "{bodies:?}");
    assert!(bodies.iter().all(|&n| n <= 100), "{bodies:?}");
    assert_eq!(bodies.iter().sum::<usize>(), failing);
    let east = aws.config("us-east-1").await;
    assert_eq!(held(&east).await.len(), failing);

    // Ten deployments gone from the next inventory: their records are archived as not found.
    let gone: BTreeSet<String> = fleet["deployments"].as_array().unwrap()[30..]
        .iter()
        .map(|d| d["arn"].as_str().unwrap().to_string())
        .collect();
    fleet["deployments"].as_array_mut().unwrap().truncate(30);
    std::fs::write(aws.path("fleet.json"), serde_json::to_vec(&fleet).unwrap()).unwrap();
    aws.live(
        "scan",
        &[
            "--inventory",
            "fleet.json",
            "--format",
            "json",
            "--output",
            "next.json",
            "--exit-zero",
            "--publish",
            "security-hub",
        ],
    )
    .expect(0);
    let after = held(&east).await;
    let archived: Vec<&Held> = after.iter().filter(|h| gone.contains(&h.resource_arn)).collect();
    assert!(!archived.is_empty());
    for h in archived {
        assert_eq!(
            (
                h.compliance.as_str(),
                h.record_state.as_str(),
                h.fields["ecaudit/Status"].as_str()
            ),
            ("PASSED", "ARCHIVED", "not_found")
        );
    }
    assert!(
        after
            .iter()
            .filter(|h| !gone.contains(&h.resource_arn))
            .all(|h| h.record_state == "ACTIVE")
    );
}
