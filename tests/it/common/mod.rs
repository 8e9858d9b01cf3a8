//! Shared test harness: fixture deployments, JSON merge patches, single-deployment evaluation,
//! the `ecaudit` binary, reading its result documents, and live AWS (`aws`: moto server).

pub mod aws;
pub mod cli;
pub mod moto;
pub mod proxy;
pub mod redis;
pub mod seed;

use std::path::{Path, PathBuf};

use ecaudit::evaluate::evaluate;
use ecaudit::inventory::{Inventory, parse_inventory};
use ecaudit::result::Status;
use ecaudit::rules::RuleSet;
use serde_json::{Value, json};

/// The instant fixtures are evaluated as of (the fixtures' collection time).
pub const NOW: &str = "2026-11-25T06:00:00Z";

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A fixture deployment from `tests/fixtures/<name>.json`:
/// `replication-group` (compliant Redis 7.1, cluster mode disabled), `cluster-mode-enabled`
/// (compliant Valkey 8, two shards), `serverless` (compliant Valkey), `memcached` (Memcached 1.6,
/// public ingress, one AZ), `standalone` (a single old Redis 5 node).
pub fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(repo_path(&format!("tests/fixtures/{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// RFC 7396 JSON merge patch: objects merge, `null` removes a key, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().unwrap();
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// `fixture(name)` with `patch` merged in.
pub fn patched(name: &str, patch: Value) -> Value {
    let mut d = fixture(name);
    merge(&mut d, &patch);
    d
}

/// The demo inventory, `examples/fleet.json`, as JSON.
pub fn demo_fleet() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_path("examples/fleet.json")).unwrap()).unwrap()
}

/// The demo fleet cut down to three deployments for golden files, so that each protects a
/// format's shape on a few findings of every status: `orders-cache` (the reference deployment,
/// with its subnet group unreadable: one undecided finding, the rest pass), `queue-memcached-stg`
/// (Memcached in 222222222222 / us-east-1: rules that do not apply, public ingress) and
/// `reporting-legacy` (an old single node in 222222222222 / ap-southeast-2 failing ten rules);
/// the coverage of their three account × region units.
pub fn small_fleet() -> Value {
    let mut doc = demo_fleet();
    let keep = ["orders-cache", "queue-memcached-stg", "reporting-legacy"];
    let deployments = doc["deployments"].as_array_mut().unwrap();
    deployments.retain(|d| keep.contains(&d["id"].as_str().unwrap()));
    assert_eq!(
        deployments.len(),
        keep.len(),
        "the demo fleet lost one of {keep:?}"
    );
    for d in deployments.iter_mut().filter(|d| d["id"] == "orders-cache") {
        d["subnet_group"] = Value::Null;
    }
    let units: Vec<(Value, Value)> = deployments
        .iter()
        .map(|d| (d["account_id"].clone(), d["region"].clone()))
        .collect();
    doc["coverage"]
        .as_array_mut()
        .unwrap()
        .retain(|c| units.contains(&(c["account_id"].clone(), c["region"].clone())));
    doc
}

/// An inventory document holding `deployments`.
pub fn inventory(deployments: Vec<Value>) -> Value {
    json!({"schema_version": 1, "collected_at": NOW, "deployments": deployments})
}

pub fn parse(doc: &Value) -> Inventory {
    parse_inventory(&doc.to_string(), "test.json").unwrap_or_else(|e| panic!("{e}"))
}

/// One finding, flattened for assertions.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub rule: String,
    pub resource: String,
    pub status: Status,
    pub message: String,
    pub evidence: Vec<String>,
}

impl Outcome {
    pub fn evidence_mentions(&self, needle: &str) -> bool {
        self.evidence.iter().any(|e| e.contains(needle))
    }
}

/// Every finding of the bundled pack on `inventory`, evaluated as of [`NOW`].
pub fn evaluate_all(doc: &Value) -> Vec<Outcome> {
    evaluate_with(doc, RuleSet::load(&[]).unwrap())
}

pub fn evaluate_with(doc: &Value, rules: RuleSet) -> Vec<Outcome> {
    let inv = parse(doc);
    let result = evaluate(&inv, rules, NOW.parse().unwrap());
    result
        .findings
        .iter()
        .map(|f| Outcome {
            rule: result.rule(f).id.clone(),
            resource: result.resource(f).id.clone(),
            status: f.status,
            message: f.message.to_string(),
            evidence: f.evidence.clone(),
        })
        .collect()
}

/// The finding of `rule` on the single deployment `d`. Panics when the rule does not apply.
pub fn outcome(d: Value, rule: &str) -> Outcome {
    let all = evaluate_all(&inventory(vec![d]));
    all.into_iter()
        .find(|o| o.rule == rule)
        .unwrap_or_else(|| panic!("rule {rule} produced no finding (does it apply to this kind?)"))
}

/// Whether `rule` produces a finding at all for the single deployment `d`.
pub fn applies(d: Value, rule: &str) -> bool {
    evaluate_all(&inventory(vec![d])).iter().any(|o| o.rule == rule)
}

/// The `ecaudit` binary, with a clean environment for colour, config discovery and AWS (no
/// region, no credentials, no shared config: nothing can reach a real account).
pub fn ecaudit() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("ecaudit").unwrap();
    cmd.env_remove("NO_COLOR").env("COLUMNS", "120");
    for var in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// Suppressions for [`report_fleet`]: one with markup, a mention and a pipe in its reason.
pub const REPORT_SUPPRESSIONS: &str = r#"suppressions:
  - rule: multi-az
    resource: search-cluster
    reason: "Migrating to Valkey in Q1 <b>soon</b> | not a column, ask @security-team"
    owner: team-cache
    ticket: SEC-1234
    expires: 2027-01-31
  - rule: "*-encryption*"
    resource: "*"
    account: "222222222222"
    tags: { env: staging }
    reason: Staging holds synthetic data only
    owner: platform-data
"#;

/// The demo fleet with untrusted text where AWS puts it and a coverage gap: a tag suppression
/// whose reason is `<script>alert(1)</script>`, a deployment id holding an `<img onerror>`, and
/// a failed DescribeCacheClusters in 222222222222 / eu-west-1.
pub fn report_fleet() -> Value {
    let mut doc = demo_fleet();
    for d in doc["deployments"].as_array_mut().unwrap() {
        match d["id"].as_str().unwrap() {
            "events-stream" => {
                let tags = d["tags"].as_object_mut().unwrap();
                tags.insert("ecaudit:suppress".into(), "no-public-ingress".into());
                tags.insert("ecaudit:reason".into(), "<script>alert(1)</script>".into());
            }
            "web-sessions-stg" => d["id"] = json!("<img src=x onerror=alert(2)>"),
            _ => {}
        }
    }
    doc["coverage"].as_array_mut().unwrap().push(json!({
        "account_id": "222222222222",
        "region": "eu-west-1",
        "service": "elasticache",
        "api": "DescribeCacheClusters",
        "status": "failed",
        "error": {"code": "AccessDenied", "message": "User is not authorized to perform elasticache:DescribeCacheClusters"},
    }));
    doc
}

/// An inventory of `n` deployments: the demo fleet's, repeated under new ids and ARNs.
pub fn fleet_of(n: usize) -> Value {
    let mut doc = demo_fleet();
    let base = doc["deployments"].as_array().unwrap().clone();
    let deployments: Vec<Value> = (0..n)
        .map(|i| {
            let mut d = base[i % base.len()].clone();
            let id = format!("{}-{:04}", d["id"].as_str().unwrap(), i);
            let arn = d["arn"].as_str().unwrap();
            let arn = format!("{}:{id}", &arn[..arn.rfind(':').unwrap()]);
            d["id"] = json!(id);
            d["arn"] = json!(arn);
            d
        })
        .collect();
    doc["deployments"] = json!(deployments);
    doc
}

// ---------------------------------------------------------------------------------------------
// Reading what ecaudit wrote: a scan result or an inventory, as JSON
// ---------------------------------------------------------------------------------------------

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The finding of `rule` on the deployment `resource` in a JSON scan result.
#[track_caller]
pub fn finding<'a>(doc: &'a Value, rule: &str, resource: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == rule && f["resource_id"] == resource)
        .unwrap_or_else(|| panic!("no finding of {rule} on {resource}"))
}

/// The findings of a JSON scan result by fingerprint (their order depends on how the work was
/// split: shards, retries).
pub fn sorted_findings(doc: &Value) -> Vec<Value> {
    let mut findings = doc["findings"].as_array().unwrap().clone();
    findings.sort_by_key(|f| f["fingerprint"].as_str().unwrap().to_string());
    findings
}

/// The coverage entries without their call counts (retries and target resolution change them).
pub fn coverage_without_calls(doc: &Value) -> Vec<Value> {
    let mut entries = doc["coverage"].as_array().unwrap().clone();
    for e in &mut entries {
        e.as_object_mut().unwrap().remove("calls");
    }
    entries
}

/// The failed coverage entries: `(account, region, "service:Api", error code)`.
pub fn gaps(doc: &Value) -> Vec<(String, String, String, String)> {
    doc["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "failed")
        .map(|c| {
            let s = |v: &Value| v.as_str().unwrap_or("(none)").to_string();
            (
                s(&c["account_id"]),
                s(&c["region"]),
                format!("{}:{}", s(&c["service"]), s(&c["api"])),
                s(&c["error"]["code"]),
            )
        })
        .collect()
}
