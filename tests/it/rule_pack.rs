//! Per-rule tests of the bundled rule pack: for every rule a pass, a fail (with the offending
//! fact named in the evidence), the deployments its `when` or `applies_to` excludes, and the
//! known traps of `RULES.md`.

use crate::common;

use common::*;
use ecaudit::config::apply_params;
use ecaudit::result::Status;
use ecaudit::rules::RuleSet;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const RG_SG: &str = "sg-0a1b2c3d4e5f60711";

/// The compliant replication-group fixture with `patch` merged in.
fn rg(patch: Value) -> Value {
    patched("replication-group", patch)
}

/// Sets the value at JSON pointer `ptr` (which must exist).
fn set(mut d: Value, ptr: &str, v: Value) -> Value {
    *d.pointer_mut(ptr).unwrap_or_else(|| panic!("no {ptr}")) = v;
    d
}

/// Removes array element `index` of the array at `ptr`.
fn remove(mut d: Value, ptr: &str, index: usize) -> Value {
    d.pointer_mut(ptr)
        .and_then(Value::as_array_mut)
        .unwrap_or_else(|| panic!("no array at {ptr}"))
        .remove(index);
    d
}

/// Appends `v` to the array at `ptr`.
fn push(mut d: Value, ptr: &str, v: Value) -> Value {
    d.pointer_mut(ptr)
        .and_then(Value::as_array_mut)
        .unwrap_or_else(|| panic!("no array at {ptr}"))
        .push(v);
    d
}

/// Pointer to alarm `a` of member `m` of shard 0 (replication-group fixture: alarms 0 CPU, 1
/// engine CPU, 2 memory; members 0 = orders-cache-001, 1 = orders-cache-002).
fn alarm(m: usize, a: usize) -> String {
    format!("/node_groups/0/members/{m}/alarms/{a}")
}

/// The replication-group fixture whose only security group has exactly `ingress`.
fn rg_ingress(ingress: Value) -> Value {
    rg(json!({"security_groups": [{
        "id": RG_SG, "name": "orders-cache-redis", "vpc_id": "vpc-0f3a9c1d2b4e5a601",
        "state": "found", "ingress": ingress,
    }]}))
}

fn tcp4(from: i32, to: i32, cidr: &str) -> Value {
    json!({"protocol": "tcp", "from_port": from, "to_port": to, "ipv4_ranges": [{"cidr": cidr}]})
}

fn tcp6(from: i32, to: i32, cidr: &str) -> Value {
    json!({"protocol": "tcp", "from_port": from, "to_port": to, "ipv6_ranges": [{"cidr": cidr}]})
}

fn all_traffic4(cidr: &str) -> Value {
    json!({"protocol": "-1", "ipv4_ranges": [{"cidr": cidr}]})
}

/// The finding of `rule` on `d` with `--param`-style overrides applied.
fn outcome_with(d: Value, rule: &str, params: &[&str]) -> Outcome {
    let mut rules = RuleSet::load(&[]).unwrap();
    let args: Vec<String> = params.iter().map(|s| s.to_string()).collect();
    apply_params(&mut rules, &args).unwrap();
    evaluate_with(&inventory(vec![d]), rules)
        .into_iter()
        .find(|o| o.rule == rule)
        .unwrap_or_else(|| panic!("rule {rule} produced no finding"))
}

fn check_status(o: Outcome, want: Status) -> Outcome {
    assert_eq!(o.status, want, "{o:#?}");
    o
}

fn check_evidence(o: Outcome, needles: &[&str]) -> Outcome {
    for n in needles {
        assert!(o.evidence_mentions(n), "evidence lacks {n:?}: {o:#?}");
    }
    o
}

fn pass(d: Value, rule: &str) -> Outcome {
    check_status(outcome(d, rule), Status::Pass)
}

/// Asserts `rule` fails on `d` and its evidence mentions every needle.
fn fail(d: Value, rule: &str, needles: &[&str]) -> Outcome {
    check_evidence(check_status(outcome(d, rule), Status::Fail), needles)
}

fn not_applicable(d: Value, rule: &str) -> Outcome {
    check_status(outcome(d, rule), Status::NotApplicable)
}

/// Asserts `rule` cannot decide on `d` (status error, message "Cannot decide: ...").
fn undecided(d: Value, rule: &str) -> Outcome {
    let o = check_status(outcome(d, rule), Status::Error);
    assert!(o.message.starts_with("Cannot decide"), "{o:#?}");
    o
}

fn pass_with(d: Value, rule: &str, params: &[&str]) -> Outcome {
    check_status(outcome_with(d, rule, params), Status::Pass)
}

fn fail_with(d: Value, rule: &str, params: &[&str], needles: &[&str]) -> Outcome {
    check_evidence(check_status(outcome_with(d, rule, params), Status::Fail), needles)
}

const RULE_IDS: [&str; 26] = [
    "at-rest-encryption",
    "at-rest-encryption-cmk",
    "in-transit-encryption",
    "in-transit-encryption-required",
    "auth-required",
    "multi-az",
    "automatic-failover",
    "replicas-per-shard",
    "nodes-span-azs",
    "snapshot-retention",
    "recent-automatic-snapshot",
    "ingress-within-vpc",
    "no-public-ingress",
    "not-default-subnet-group",
    "parameter-group-family",
    "parameter-group-cluster-mode",
    "alarm-coverage",
    "alarm-thresholds",
    "auto-minor-version-upgrade",
    "supported-engine-version",
    "event-notifications",
    "required-tags",
    "sustained-high-engine-cpu",
    "sustained-high-cpu",
    "memory-pressure",
    "evictions",
];

const FIXTURES: [&str; 5] = [
    "replication-group",
    "cluster-mode-enabled",
    "serverless",
    "memcached",
    "standalone",
];

// ---------------------------------------------------------------------------------------------
// The pack as a whole
// ---------------------------------------------------------------------------------------------

#[test]
fn compliant_fixtures_pass_every_rule() {
    for name in ["replication-group", "cluster-mode-enabled", "serverless"] {
        for o in evaluate_all(&inventory(vec![fixture(name)])) {
            assert!(
                o.status == Status::Pass || o.status == Status::NotApplicable,
                "{name}: {o:?}"
            );
        }
    }
}

#[test]
fn bundled_pack_has_exactly_the_tested_rule_ids() {
    let rules = RuleSet::load(&[]).unwrap();
    let mut ids: Vec<&str> = rules.ids().collect();
    ids.sort();
    let mut want = RULE_IDS.to_vec();
    want.sort();
    assert_eq!(ids, want);
}

#[test]
fn applies_to_excludes_kinds_without_the_setting() {
    let serverless_excluded = [
        "automatic-failover",
        "replicas-per-shard",
        "nodes-span-azs",
        "not-default-subnet-group",
        "parameter-group-family",
        "parameter-group-cluster-mode",
        "alarm-coverage",
        "alarm-thresholds",
        "event-notifications",
    ];
    for rule in serverless_excluded {
        assert!(!applies(fixture("serverless"), rule), "{rule} on serverless");
    }
    assert!(!applies(fixture("standalone"), "nodes-span-azs"));
    assert!(!applies(fixture("memcached"), "nodes-span-azs"));
    // Every rule applies to a replication group.
    for rule in RULE_IDS {
        assert!(
            applies(fixture("replication-group"), rule),
            "{rule} on replication group"
        );
    }
}

#[test]
fn deleting_deployments_are_not_applicable_for_every_rule() {
    for name in FIXTURES {
        let outcomes = evaluate_all(&inventory(vec![patched(name, json!({"status": "deleting"}))]));
        assert!(!outcomes.is_empty(), "{name}");
        for o in outcomes {
            assert_eq!(o.status, Status::NotApplicable, "{name}: {o:?}");
        }
    }
}

#[test]
fn creating_replication_group_has_node_rules_not_applicable_and_no_fails() {
    let d = rg(json!({
        "status": "creating", "node_groups": [], "latest_automatic_snapshot": null,
        "created_at": "2026-11-25T05:30:00Z",
    }));
    let outcomes = evaluate_all(&inventory(vec![d]));
    for rule in [
        "multi-az",
        "replicas-per-shard",
        "nodes-span-azs",
        "alarm-coverage",
        "alarm-thresholds",
        "sustained-high-engine-cpu",
        "memory-pressure",
    ] {
        let o = outcomes.iter().find(|o| o.rule == rule).unwrap();
        assert_eq!(o.status, Status::NotApplicable, "{o:?}");
    }
    for o in &outcomes {
        assert!(
            o.status == Status::Pass || o.status == Status::NotApplicable,
            "{o:?}"
        );
    }
}

#[test]
fn creating_cache_clusters_do_not_crash_or_invent_node_fails() {
    for name in ["standalone", "memcached"] {
        let d = patched(name, json!({"status": "creating", "node_groups": []}));
        let outcomes = evaluate_all(&inventory(vec![d]));
        for o in &outcomes {
            assert!(!o.message.starts_with("Evaluation error"), "{name}: {o:?}");
            if [
                "multi-az",
                "replicas-per-shard",
                "alarm-coverage",
                "alarm-thresholds",
            ]
            .contains(&o.rule.as_str())
            {
                assert_eq!(o.status, Status::NotApplicable, "{name}: {o:?}");
            }
        }
    }
}

#[test]
fn modifying_deployment_is_evaluated_normally() {
    for o in evaluate_all(&inventory(vec![rg(json!({"status": "modifying"}))])) {
        assert_eq!(o.status, Status::Pass, "{o:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Encryption
// ---------------------------------------------------------------------------------------------

fn secondary_member() -> Value {
    rg(json!({
        "at_rest_encryption": false, "transit_encryption": false,
        "global_datastore": {"id": "g", "role": "secondary", "at_rest_encryption": true,
                             "transit_encryption": true},
    }))
}

#[test]
fn at_rest_encryption_on_passes() {
    pass(fixture("replication-group"), "at-rest-encryption");
}

#[test]
fn at_rest_encryption_off_fails() {
    fail(
        fixture("standalone"),
        "at-rest-encryption",
        &["AtRestEncryptionEnabled: false"],
    );
}

#[test]
fn at_rest_encryption_applies_to_valkey() {
    let d = patched("cluster-mode-enabled", json!({"at_rest_encryption": false}));
    fail(d, "at-rest-encryption", &["AtRestEncryptionEnabled: false"]);
    pass(fixture("cluster-mode-enabled"), "at-rest-encryption");
}

#[test]
fn at_rest_encryption_not_applicable_to_node_based_memcached() {
    not_applicable(fixture("memcached"), "at-rest-encryption");
    not_applicable(fixture("memcached"), "at-rest-encryption-cmk");
}

#[test]
fn at_rest_encryption_passes_on_serverless_memcached() {
    let d = patched(
        "serverless",
        json!({"engine": "memcached", "engine_version": "1.6", "port": 11211, "user_group_ids": []}),
    );
    pass(d, "at-rest-encryption");
}

#[test]
fn at_rest_encryption_passes_on_serverless() {
    pass(fixture("serverless"), "at-rest-encryption");
}

#[test]
fn at_rest_encryption_not_collected_is_undecided() {
    undecided(rg(json!({"at_rest_encryption": null})), "at-rest-encryption");
}

#[test]
fn global_datastore_secondary_inherits_encryption() {
    pass(secondary_member(), "at-rest-encryption");
    pass(secondary_member(), "in-transit-encryption");
}

#[test]
fn global_datastore_primary_uses_its_own_encryption() {
    let d = rg(json!({
        "at_rest_encryption": false,
        "global_datastore": {"id": "g", "role": "primary", "at_rest_encryption": true},
    }));
    fail(d, "at-rest-encryption", &["AtRestEncryptionEnabled: false"]);
}

#[test]
fn global_datastore_secondary_fails_when_global_group_is_unencrypted() {
    let d = rg(json!({
        "global_datastore": {"id": "g", "role": "secondary", "at_rest_encryption": false,
                             "transit_encryption": false},
    }));
    fail(
        d.clone(),
        "at-rest-encryption",
        &["Global Datastore g", "inherited"],
    );
    fail(d, "in-transit-encryption", &["Global Datastore g", "inherited"]);
}

#[test]
fn at_rest_encryption_cmk_any_key_passes_with_empty_allow_list() {
    pass(fixture("replication-group"), "at-rest-encryption-cmk");
    pass(fixture("serverless"), "at-rest-encryption-cmk");
}

#[test]
fn at_rest_encryption_cmk_without_key_fails() {
    fail(
        fixture("standalone"),
        "at-rest-encryption-cmk",
        &["KmsKeyId: none"],
    );
    fail(
        rg(json!({"kms_key_id": null})),
        "at-rest-encryption-cmk",
        &["KmsKeyId: none"],
    );
}

#[test]
fn at_rest_encryption_cmk_allow_list_matches_key_id_in_arn() {
    pass_with(
        fixture("replication-group"),
        "at-rest-encryption-cmk",
        &["at-rest-encryption-cmk.allowed_kms_key_ids=1f2e3d4c-5b6a-4789-8abc-0123456789ab"],
    );
}

#[test]
fn at_rest_encryption_cmk_allow_list_matches_full_arn() {
    pass_with(
        fixture("replication-group"),
        "at-rest-encryption-cmk",
        &[
            "at-rest-encryption-cmk.allowed_kms_key_ids=arn:aws:kms:us-east-1:111111111111:key/1f2e3d4c-5b6a-4789-8abc-0123456789ab",
        ],
    );
}

#[test]
fn at_rest_encryption_cmk_key_not_in_allow_list_fails() {
    fail_with(
        fixture("replication-group"),
        "at-rest-encryption-cmk",
        &["at-rest-encryption-cmk.allowed_kms_key_ids=0000aaaa-1111-4222-8333-444455556666"],
        &[
            "KmsKeyId: arn:aws:kms:us-east-1:111111111111:key/1f2e3d4c-5b6a-4789-8abc-0123456789ab",
            "allowed keys: 0000aaaa-1111-4222-8333-444455556666",
        ],
    );
}

#[test]
fn in_transit_encryption_on_passes() {
    pass(fixture("replication-group"), "in-transit-encryption");
    pass(fixture("memcached"), "in-transit-encryption");
    pass(fixture("serverless"), "in-transit-encryption");
}

#[test]
fn in_transit_encryption_off_fails() {
    fail(
        fixture("standalone"),
        "in-transit-encryption",
        &["TransitEncryptionEnabled: false"],
    );
}

#[test]
fn in_transit_encryption_not_collected_is_undecided() {
    undecided(rg(json!({"transit_encryption": null})), "in-transit-encryption");
}

#[test]
fn in_transit_encryption_required_mode_passes() {
    pass(fixture("replication-group"), "in-transit-encryption-required");
}

#[test]
fn in_transit_encryption_preferred_mode_fails() {
    let d = rg(json!({"transit_encryption_mode": "preferred"}));
    fail(
        d,
        "in-transit-encryption-required",
        &[
            "TransitEncryptionMode: preferred",
            "plaintext connections still accepted",
        ],
    );
}

#[test]
fn in_transit_encryption_absent_mode_with_tls_on_passes() {
    pass(
        rg(json!({"transit_encryption_mode": null})),
        "in-transit-encryption-required",
    );
    pass(fixture("memcached"), "in-transit-encryption-required");
}

#[test]
fn in_transit_encryption_required_tls_off_fails() {
    fail(
        fixture("standalone"),
        "in-transit-encryption-required",
        &["TransitEncryptionEnabled: false"],
    );
}

#[test]
fn in_transit_encryption_required_passes_on_serverless() {
    pass(fixture("serverless"), "in-transit-encryption-required");
}

#[test]
fn in_transit_encryption_required_not_collected_is_undecided() {
    undecided(
        rg(json!({"transit_encryption": null})),
        "in-transit-encryption-required",
    );
}

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

#[test]
fn auth_token_alone_passes() {
    // replication-group: AUTH token, no user group.
    pass(fixture("replication-group"), "auth-required");
}

#[test]
fn user_group_alone_passes() {
    // cluster-mode-enabled (Valkey): user group, no AUTH token.
    pass(fixture("cluster-mode-enabled"), "auth-required");
}

#[test]
fn auth_neither_token_nor_user_group_fails() {
    let d = rg(json!({"auth_token_enabled": false, "user_group_ids": []}));
    fail(
        d,
        "auth-required",
        &["AuthTokenEnabled: false", "UserGroupIds: none"],
    );
}

#[test]
fn auth_required_applies_to_valkey() {
    let d = patched("cluster-mode-enabled", json!({"user_group_ids": []}));
    fail(d, "auth-required", &["UserGroupIds: none"]);
}

#[test]
fn auth_required_not_applicable_to_memcached() {
    not_applicable(fixture("memcached"), "auth-required");
}

#[test]
fn auth_required_serverless_with_user_group_passes() {
    pass(fixture("serverless"), "auth-required");
}

#[test]
fn auth_required_serverless_without_user_group_fails() {
    let d = patched("serverless", json!({"user_group_ids": []}));
    fail(
        d,
        "auth-required",
        &["not applicable (serverless)", "UserGroupIds: none"],
    );
}

#[test]
fn auth_token_not_collected_without_user_group_is_undecided() {
    undecided(rg(json!({"auth_token_enabled": null})), "auth-required");
}

#[test]
fn auth_global_datastore_secondary_inherits_auth_token() {
    let d = rg(json!({
        "auth_token_enabled": false,
        "global_datastore": {"id": "g", "role": "secondary", "auth_token_enabled": true},
    }));
    pass(d, "auth-required");
}

// ---------------------------------------------------------------------------------------------
// Availability
// ---------------------------------------------------------------------------------------------

#[test]
fn multi_az_enabled_passes() {
    pass(fixture("replication-group"), "multi-az");
}

#[test]
fn multi_az_disabled_fails() {
    fail(rg(json!({"multi_az": false})), "multi-az", &["MultiAZ: disabled"]);
}

#[test]
fn multi_az_not_collected_is_undecided() {
    undecided(rg(json!({"multi_az": null})), "multi-az");
}

#[test]
fn multi_az_standalone_node_fails() {
    fail(
        fixture("standalone"),
        "multi-az",
        &["a standalone node has no replica in another Availability Zone"],
    );
}

#[test]
fn multi_az_memcached_in_one_az_fails() {
    fail(
        fixture("memcached"),
        "multi-az",
        &["nodes in 1 Availability Zone(s): us-east-1b"],
    );
}

#[test]
fn multi_az_memcached_in_two_azs_passes() {
    let d = set(
        fixture("memcached"),
        "/node_groups/0/members/2/availability_zone",
        json!("us-east-1c"),
    );
    pass(d, "multi-az");
}

#[test]
fn multi_az_serverless_passes() {
    pass(fixture("serverless"), "multi-az");
}

#[test]
fn multi_az_not_applicable_while_creating() {
    not_applicable(rg(json!({"status": "creating"})), "multi-az");
}

#[test]
fn multi_az_and_automatic_failover_are_distinct() {
    let d = rg(json!({"multi_az": true, "automatic_failover": "disabled"}));
    pass(d.clone(), "multi-az");
    fail(d, "automatic-failover", &["AutomaticFailover: disabled"]);

    let d = rg(json!({"multi_az": false, "automatic_failover": "enabled"}));
    fail(d.clone(), "multi-az", &["MultiAZ: disabled"]);
    pass(d, "automatic-failover");
}

#[test]
fn automatic_failover_enabled_passes() {
    pass(fixture("replication-group"), "automatic-failover");
}

#[test]
fn automatic_failover_enabling_with_pending_enabled_fails() {
    let d = rg(json!({
        "automatic_failover": "enabling",
        "pending_changes": {"automatic_failover": "enabled"},
    }));
    fail(
        d,
        "automatic-failover",
        &[
            "AutomaticFailover: enabling",
            "pending change: AutomaticFailover enabled (not yet in effect)",
        ],
    );
}

#[test]
fn automatic_failover_disabled_with_pending_enabled_fails() {
    let d = rg(json!({
        "automatic_failover": "disabled",
        "pending_changes": {"automatic_failover": "enabled"},
    }));
    fail(
        d,
        "automatic-failover",
        &["AutomaticFailover: disabled", "pending change"],
    );
}

#[test]
fn automatic_failover_enabled_with_pending_disable_still_passes() {
    let d = rg(json!({"pending_changes": {"automatic_failover": "disabled"}}));
    pass(d, "automatic-failover");
}

/// A standalone Redis OSS or Valkey node has no automatic failover: the rule fails on it and
/// says why; Memcached has nothing to fail over to.
#[test]
fn automatic_failover_fails_a_standalone_node_and_skips_memcached() {
    let standalone = fixture("standalone");
    assert_eq!(standalone["kind"], "cache_cluster");
    assert_eq!(standalone["engine"], "redis");
    let o = fail(
        standalone,
        "automatic-failover",
        &["standalone node", "no automatic failover"],
    );
    assert_eq!(o.message, "Automatic failover is not enabled");
    fail(
        patched("standalone", json!({"engine": "valkey", "engine_version": "8.0"})),
        "automatic-failover",
        &["standalone node"],
    );
    let o = not_applicable(fixture("memcached"), "automatic-failover");
    assert_eq!(o.message, "Memcached has no replicas to fail over to");
    assert!(!applies(fixture("serverless"), "automatic-failover"));
}

#[test]
fn automatic_failover_not_collected_is_undecided() {
    undecided(rg(json!({"automatic_failover": null})), "automatic-failover");
}

#[test]
fn replicas_per_shard_one_replica_passes() {
    pass(fixture("replication-group"), "replicas-per-shard");
    pass(fixture("cluster-mode-enabled"), "replicas-per-shard");
}

#[test]
fn replicas_per_shard_primary_alone_fails() {
    let d = remove(fixture("replication-group"), "/node_groups/0/members", 1);
    fail(
        d,
        "replicas-per-shard",
        &["shard 0001 has 0 replica(s); at least 1 required"],
    );
}

#[test]
fn replicas_per_shard_standalone_node_fails() {
    fail(
        fixture("standalone"),
        "replicas-per-shard",
        &["the node has 0 replica(s); at least 1 required"],
    );
}

#[test]
fn replicas_per_shard_one_short_shard_fails_naming_it() {
    let d = remove(fixture("cluster-mode-enabled"), "/node_groups/1/members", 1);
    let o = fail(
        d,
        "replicas-per-shard",
        &["shard 0002 has 0 replica(s); at least 1 required"],
    );
    assert!(!o.evidence_mentions("shard 0001"), "{o:#?}");
}

#[test]
fn replicas_per_shard_counts_roles_not_members() {
    // Two members, both reported as primaries: no replica.
    let d = set(
        fixture("replication-group"),
        "/node_groups/0/members/1/role",
        json!("primary"),
    );
    fail(d, "replicas-per-shard", &["shard 0001 has 0 replica(s)"]);
}

#[test]
fn replicas_per_shard_param_two_fails_with_one_replica() {
    let p = ["replicas-per-shard.min_replicas_per_shard=2"];
    fail_with(
        fixture("replication-group"),
        "replicas-per-shard",
        &p,
        &["shard 0001 has 1 replica(s); at least 2 required"],
    );
    fail_with(
        fixture("cluster-mode-enabled"),
        "replicas-per-shard",
        &p,
        &["shard 0001 has 1 replica(s)", "shard 0002 has 1 replica(s)"],
    );
    let two = push(
        fixture("replication-group"),
        "/node_groups/0/members",
        json!({"cache_cluster_id": "orders-cache-003", "cache_node_id": "0001",
               "availability_zone": "us-east-1c", "role": "replica"}),
    );
    pass_with(two, "replicas-per-shard", &p);
}

#[test]
fn replicas_per_shard_not_applicable_to_memcached_or_creating() {
    not_applicable(fixture("memcached"), "replicas-per-shard");
    not_applicable(rg(json!({"status": "creating"})), "replicas-per-shard");
}

#[test]
fn replicas_per_shard_without_shards_is_undecided() {
    undecided(rg(json!({"node_groups": []})), "replicas-per-shard");
}

#[test]
fn nodes_span_azs_two_azs_passes() {
    pass(fixture("replication-group"), "nodes-span-azs");
    pass(fixture("cluster-mode-enabled"), "nodes-span-azs");
}

#[test]
fn nodes_span_azs_one_az_fails() {
    let d = set(
        fixture("replication-group"),
        "/node_groups/0/members/1/availability_zone",
        json!("us-east-1a"),
    );
    fail(d, "nodes-span-azs", &["shard 0001: all 2 node(s) in us-east-1a"]);
}

#[test]
fn nodes_span_azs_names_the_crowded_shard_only() {
    let d = set(
        fixture("cluster-mode-enabled"),
        "/node_groups/1/members/1/availability_zone",
        json!("us-east-1b"),
    );
    let o = fail(d, "nodes-span-azs", &["shard 0002: all 2 node(s) in us-east-1b"]);
    assert!(!o.evidence_mentions("shard 0001"), "{o:#?}");
}

#[test]
fn nodes_span_azs_single_node_shard_fails() {
    let d = remove(fixture("cluster-mode-enabled"), "/node_groups/1/members", 1);
    fail(d, "nodes-span-azs", &["shard 0002: all 1 node(s) in us-east-1b"]);
}

/// Zones not reported are not known: the rule cannot decide (as `multi-az` for Memcached), while
/// a shard known to sit in one zone still fails.
#[test]
fn nodes_span_azs_unreported_azs_are_undecided() {
    let d = rg(json!({}));
    let d = set(d, "/node_groups/0/members/0/availability_zone", Value::Null);
    let d = set(d, "/node_groups/0/members/1/availability_zone", Value::Null);
    let o = undecided(d.clone(), "nodes-span-azs");
    assert!(
        o.message
            .contains("Availability Zone of some nodes was not reported"),
        "{o:#?}"
    );
    let d = set(
        d,
        "/node_groups/0/members/0/availability_zone",
        json!("us-east-1a"),
    );
    undecided(d, "nodes-span-azs");
}

/// A plan's nodes before AWS places them: their zones are unknown, so the rule cannot decide
/// (a fail here would be invented).
#[test]
fn nodes_span_azs_unknown_zones_are_undecided() {
    let d = rg(json!({"unknown_facts": ["availability_zones"]}));
    let d = set(d, "/node_groups/0/members/0/availability_zone", Value::Null);
    let d = set(d, "/node_groups/0/members/1/availability_zone", Value::Null);
    let o = undecided(d, "nodes-span-azs");
    assert!(o.message.contains("Availability Zones are not known"), "{o:#?}");
    // Two known zones decide it even when others are unknown.
    let d = rg(json!({"unknown_facts": ["availability_zones"]}));
    pass(d, "nodes-span-azs");
}

#[test]
fn nodes_span_azs_not_applicable_while_creating() {
    not_applicable(rg(json!({"status": "creating"})), "nodes-span-azs");
}

// ---------------------------------------------------------------------------------------------
// Backups
// ---------------------------------------------------------------------------------------------

#[test]
fn snapshot_retention_at_minimum_passes() {
    pass(rg(json!({"snapshot_retention_days": 7})), "snapshot-retention");
}

#[test]
fn snapshot_retention_above_minimum_passes() {
    pass(fixture("cluster-mode-enabled"), "snapshot-retention");
}

#[test]
fn snapshot_retention_below_minimum_fails() {
    fail(
        rg(json!({"snapshot_retention_days": 6})),
        "snapshot-retention",
        &["SnapshotRetentionLimit: 6 days; minimum 7 days"],
    );
}

/// Issue 26: "1 day", not "1 days".
#[test]
fn snapshot_retention_of_one_day_is_said_in_the_singular() {
    fail(
        rg(json!({"snapshot_retention_days": 1})),
        "snapshot-retention",
        &["SnapshotRetentionLimit: 1 day; minimum 7 days"],
    );
    fail_with(
        rg(json!({"snapshot_retention_days": 0})),
        "snapshot-retention",
        &["snapshot-retention.min_snapshot_retention_days=1"],
        &["automatic backups are off); minimum 1 day"],
    );
}

#[test]
fn snapshot_retention_zero_fails_saying_backups_are_off() {
    fail(
        rg(json!({"snapshot_retention_days": 0})),
        "snapshot-retention",
        &["SnapshotRetentionLimit: 0", "automatic backups are off"],
    );
}

#[test]
fn snapshot_retention_param_raises_minimum() {
    let p = ["snapshot-retention.min_snapshot_retention_days=14"];
    fail_with(
        fixture("replication-group"),
        "snapshot-retention",
        &p,
        &["SnapshotRetentionLimit: 7 days; minimum 14 days"],
    );
    pass_with(fixture("cluster-mode-enabled"), "snapshot-retention", &p);
}

#[test]
fn snapshot_retention_not_collected_is_undecided() {
    undecided(rg(json!({"snapshot_retention_days": null})), "snapshot-retention");
}

#[test]
fn snapshot_rules_not_applicable_to_node_based_memcached() {
    not_applicable(fixture("memcached"), "snapshot-retention");
    not_applicable(fixture("memcached"), "recent-automatic-snapshot");
}

#[test]
fn snapshot_retention_applies_to_serverless_memcached() {
    let d = patched(
        "serverless",
        json!({"engine": "memcached", "snapshot_retention_days": 0}),
    );
    fail(d, "snapshot-retention", &["automatic backups are off"]);
}

#[test]
fn recent_snapshot_25h_old_passes() {
    let d = rg(json!({"latest_automatic_snapshot": "2026-11-24T05:00:00Z"}));
    pass(d, "recent-automatic-snapshot");
}

#[test]
fn recent_snapshot_27h_old_fails() {
    let d = rg(json!({"latest_automatic_snapshot": "2026-11-24T03:00:00Z"}));
    fail(
        d,
        "recent-automatic-snapshot",
        &["2026-11-24T03:00:00Z", "27h before", "limit 26h"],
    );
}

#[test]
fn recent_snapshot_exactly_at_limit_fails() {
    // "younger than the limit": 26h old with a 26h limit is not younger.
    let d = rg(json!({"latest_automatic_snapshot": "2026-11-24T04:00:00Z"}));
    fail(d, "recent-automatic-snapshot", &["26h before", "limit 26h"]);
}

#[test]
fn recent_snapshot_none_but_created_10h_ago_passes() {
    let d = rg(json!({"latest_automatic_snapshot": null, "created_at": "2026-11-24T20:00:00Z"}));
    pass(d, "recent-automatic-snapshot");
}

#[test]
fn recent_snapshot_none_and_created_long_ago_fails() {
    let d = rg(json!({"latest_automatic_snapshot": null}));
    fail(
        d,
        "recent-automatic-snapshot",
        &["no automatic snapshot found", "2024-03-14T09:21:43Z"],
    );
}

#[test]
fn recent_snapshot_none_and_creation_unknown_is_undecided() {
    let d = rg(json!({"latest_automatic_snapshot": null, "created_at": null}));
    undecided(d, "recent-automatic-snapshot");
}

#[test]
fn recent_snapshot_param_changes_age_limit() {
    let d = rg(json!({"latest_automatic_snapshot": "2026-11-24T03:00:00Z"}));
    pass_with(
        d.clone(),
        "recent-automatic-snapshot",
        &["recent-automatic-snapshot.max_snapshot_age_hours=48"],
    );
    fail_with(
        fixture("replication-group"),
        "recent-automatic-snapshot",
        &["recent-automatic-snapshot.max_snapshot_age_hours=1"],
        &["limit 1h"],
    );
}

#[test]
fn recent_snapshot_serverless_passes() {
    pass(fixture("serverless"), "recent-automatic-snapshot");
}

// ---------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------

const NET: [&str; 2] = ["ingress-within-vpc", "no-public-ingress"];

#[test]
fn ingress_from_vpc_cidr_passes() {
    for rule in NET {
        pass(fixture("replication-group"), rule);
        pass(fixture("serverless"), rule);
    }
}

#[test]
fn ingress_range_inside_vpc_passes() {
    for rule in NET {
        pass(rg_ingress(json!([tcp4(6379, 6379, "10.10.5.0/24")])), rule);
    }
}

#[test]
fn ingress_port_22_from_anywhere_passes() {
    for rule in NET {
        pass(rg_ingress(json!([tcp4(22, 22, "0.0.0.0/0")])), rule);
        // The Valkey fixture carries such a permission next to its cache-port ones.
        pass(fixture("cluster-mode-enabled"), rule);
    }
}

#[test]
fn ingress_range_above_cache_port_passes() {
    for rule in NET {
        pass(rg_ingress(json!([tcp4(6380, 6390, "0.0.0.0/0")])), rule);
    }
}

#[test]
fn ingress_udp_on_cache_port_passes() {
    let udp = json!({"protocol": "udp", "from_port": 6379, "to_port": 6379,
                     "ipv4_ranges": [{"cidr": "0.0.0.0/0"}]});
    for rule in NET {
        pass(rg_ingress(json!([udp])), rule);
    }
}

#[test]
fn ingress_range_covering_cache_port_from_anywhere_fails() {
    let d = rg_ingress(json!([tcp4(6000, 7000, "0.0.0.0/0")]));
    fail(
        d.clone(),
        "no-public-ingress",
        &["sg-0a1b2c3d4e5f60711: 0.0.0.0/0 on tcp/6000-7000 admits the whole internet"],
    );
    fail(
        d,
        "ingress-within-vpc",
        &["sg-0a1b2c3d4e5f60711: 0.0.0.0/0 on tcp/6000-7000 is outside the VPC's IPv4 blocks (10.10.0.0/16)"],
    );
}

#[test]
fn ingress_all_traffic_from_anywhere_fails() {
    let d = rg_ingress(json!([all_traffic4("0.0.0.0/0")]));
    fail(
        d.clone(),
        "no-public-ingress",
        &["sg-0a1b2c3d4e5f60711: 0.0.0.0/0 on all traffic admits the whole internet"],
    );
    fail(
        d,
        "ingress-within-vpc",
        &["sg-0a1b2c3d4e5f60711: 0.0.0.0/0 on all traffic"],
    );
}

#[test]
fn ingress_tcp_without_port_range_reaches_cache_port() {
    let d = rg_ingress(json!([{"protocol": "tcp", "ipv4_ranges": [{"cidr": "0.0.0.0/0"}]}]));
    fail(d, "no-public-ingress", &["0.0.0.0/0 on tcp/all ports"]);
}

#[test]
fn ingress_uses_reported_port_not_default() {
    let on_6380 = rg_ingress(json!([tcp4(6380, 6380, "0.0.0.0/0")]));
    let on_6379 = rg_ingress(json!([tcp4(6379, 6379, "0.0.0.0/0")]));
    let port_6380 = |mut d: Value| {
        d["port"] = json!(6380);
        d
    };
    fail(
        port_6380(on_6380),
        "no-public-ingress",
        &["0.0.0.0/0 on tcp/6380"],
    );
    pass(port_6380(on_6379), "no-public-ingress");
}

#[test]
fn ingress_absent_port_defaults_to_engine_port() {
    let without_port = |mut d: Value| {
        d.as_object_mut().unwrap().remove("port");
        d
    };
    let on_6379 = without_port(rg_ingress(json!([tcp4(6379, 6379, "0.0.0.0/0")])));
    fail(on_6379, "no-public-ingress", &["0.0.0.0/0 on tcp/6379"]);
    let on_6380 = without_port(rg_ingress(json!([tcp4(6380, 6380, "0.0.0.0/0")])));
    pass(on_6380, "no-public-ingress");
}

#[test]
fn ingress_memcached_port_is_11211() {
    let d = patched(
        "memcached",
        json!({"security_groups": [{"id": "sg-08b9c0d1e2f3a4733", "state": "found",
                                    "ingress": [tcp4(6379, 6379, "0.0.0.0/0")]}]}),
    );
    for rule in NET {
        pass(d.clone(), rule);
    }
}

#[test]
fn ingress_memcached_all_traffic_from_public_range_fails() {
    fail(
        fixture("memcached"),
        "no-public-ingress",
        &["sg-08b9c0d1e2f3a4733: 52.23.44.0/24 on all traffic admits public addresses"],
    );
    fail(
        fixture("memcached"),
        "ingress-within-vpc",
        &[
            "sg-08b9c0d1e2f3a4733: 52.23.44.0/24 on all traffic is outside the VPC's IPv4 blocks (10.30.0.0/16)",
        ],
    );
}

#[test]
fn ingress_superset_of_vpc_fails_within_vpc_but_is_not_public() {
    let d = rg_ingress(json!([tcp4(6379, 6379, "10.0.0.0/8")]));
    fail(
        d.clone(),
        "ingress-within-vpc",
        &["sg-0a1b2c3d4e5f60711: 10.0.0.0/8 on tcp/6379 is outside the VPC's IPv4 blocks (10.10.0.0/16)"],
    );
    pass(d, "no-public-ingress");
}

#[test]
fn ingress_range_straddling_private_and_public_space_is_public() {
    // 10.0.0.0/7 is 10.0.0.0-11.255.255.255: 11/8 is public.
    let d = rg_ingress(json!([tcp4(6379, 6379, "10.0.0.0/7")]));
    fail(
        d,
        "no-public-ingress",
        &["10.0.0.0/7 on tcp/6379 admits public addresses"],
    );
}

#[test]
fn ingress_public_range_fails_no_public_ingress() {
    let d = rg_ingress(json!([tcp4(6379, 6379, "52.23.44.0/24")]));
    fail(
        d,
        "no-public-ingress",
        &["sg-0a1b2c3d4e5f60711: 52.23.44.0/24 on tcp/6379 admits public addresses"],
    );
}

#[test]
fn ingress_allowed_cidrs_param_admits_listed_range() {
    let d = rg_ingress(json!([tcp4(6379, 6379, "192.168.0.0/16")]));
    fail(d.clone(), "ingress-within-vpc", &["192.168.0.0/16 on tcp/6379"]);
    pass_with(
        d.clone(),
        "ingress-within-vpc",
        &["ingress-within-vpc.allowed_cidrs=192.168.0.0/16"],
    );
    pass(d, "no-public-ingress");
}

#[test]
fn ingress_allowed_cidrs_param_does_not_admit_a_wider_range() {
    let d = rg_ingress(json!([tcp4(6379, 6379, "192.168.0.0/15")]));
    fail_with(
        d,
        "ingress-within-vpc",
        &["ingress-within-vpc.allowed_cidrs=192.168.0.0/16"],
        &["192.168.0.0/15"],
    );
}

#[test]
fn ingress_ipv6_anywhere_fails_both_rules() {
    let d = rg_ingress(json!([tcp6(6379, 6379, "::/0")]));
    fail(
        d.clone(),
        "no-public-ingress",
        &["sg-0a1b2c3d4e5f60711: ::/0 on tcp/6379 admits the whole internet"],
    );
    fail(
        d,
        "ingress-within-vpc",
        &[
            "sg-0a1b2c3d4e5f60711: ::/0 on tcp/6379 is outside the VPC's IPv6 blocks (2600:1f18:4a3b:c700::/56)",
        ],
    );
}

#[test]
fn ingress_vpc_ipv6_block_passes_both_rules() {
    for cidr in ["2600:1f18:4a3b:c700::/56", "2600:1f18:4a3b:c701::/64"] {
        for rule in NET {
            pass(rg_ingress(json!([tcp6(6379, 6379, cidr)])), rule);
        }
    }
}

#[test]
fn ingress_public_ipv6_outside_vpc_fails_both_rules() {
    let d = rg_ingress(json!([tcp6(6379, 6379, "2600:1f18:4a3b:d000::/56")]));
    fail(
        d.clone(),
        "no-public-ingress",
        &["2600:1f18:4a3b:d000::/56 on tcp/6379 admits public addresses"],
    );
    fail(d, "ingress-within-vpc", &["2600:1f18:4a3b:d000::/56"]);
}

#[test]
fn ingress_ipv6_without_vpc_ipv6_blocks_says_none() {
    let d = patched(
        "memcached",
        json!({"security_groups": [{"id": "sg-08b9c0d1e2f3a4733", "state": "found",
                                    "ingress": [tcp6(11211, 11211, "fd00::/8")]}]}),
    );
    fail(
        d.clone(),
        "ingress-within-vpc",
        &["fd00::/8 on tcp/11211 is outside the VPC's IPv6 blocks (none)"],
    );
    pass(d, "no-public-ingress");
}

#[test]
fn ingress_byoip_vpc_block_is_not_public() {
    let d = rg_ingress(json!([tcp4(6379, 6379, "52.10.1.0/24")]));
    let d = set(
        d,
        "/vpc/ipv4_cidr_blocks",
        json!(["10.10.0.0/16", "52.10.0.0/16"]),
    );
    for rule in NET {
        pass(d.clone(), rule);
    }
}

#[test]
fn ingress_security_group_reference_passes() {
    let perm = json!({"protocol": "tcp", "from_port": 6379, "to_port": 6379,
                      "security_groups": ["sg-0c2e4a6b8d1f3a5c7"]});
    for rule in NET {
        pass(rg_ingress(json!([perm.clone()])), rule);
    }
}

#[test]
fn ingress_prefix_list_fails_unless_allowed() {
    let perm = json!({"protocol": "tcp", "from_port": 6379, "to_port": 6379,
                      "prefix_lists": ["pl-0a1b2c3d"]});
    let d = rg_ingress(json!([perm]));
    fail(
        d.clone(),
        "ingress-within-vpc",
        &["sg-0a1b2c3d4e5f60711: prefix list pl-0a1b2c3d on tcp/6379 is not in allowed_prefix_lists"],
    );
    pass_with(
        d.clone(),
        "ingress-within-vpc",
        &["ingress-within-vpc.allowed_prefix_lists=pl-0a1b2c3d"],
    );
    pass(d, "no-public-ingress");
}

#[test]
fn ingress_allowed_ipv6_cidrs_param_admits_listed_range() {
    let d = rg_ingress(json!([tcp6(6379, 6379, "fd00:1::/48")]));
    fail(d.clone(), "ingress-within-vpc", &["fd00:1::/48"]);
    pass_with(
        d,
        "ingress-within-vpc",
        &["ingress-within-vpc.allowed_ipv6_cidrs=fd00::/8"],
    );
}

#[test]
fn ingress_evidence_lists_each_offending_group_and_range() {
    let d = rg(json!({}));
    let d = set(
        d,
        "/security_groups/0/ingress",
        json!([tcp4(6379, 6379, "0.0.0.0/0")]),
    );
    let d = push(
        d,
        "/security_groups",
        json!({"id": "sg-second", "state": "found",
               "ingress": [tcp4(6379, 6379, "10.10.0.0/16"), tcp4(6379, 6379, "172.16.0.0/12")]}),
    );
    let o = fail(
        d,
        "ingress-within-vpc",
        &["sg-0a1b2c3d4e5f60711: 0.0.0.0/0", "sg-second: 172.16.0.0/12"],
    );
    assert!(!o.evidence_mentions("10.10.0.0/16 on"), "{o:#?}");
}

#[test]
fn missing_security_group_does_not_crash_or_fail() {
    let d = push(
        fixture("replication-group"),
        "/security_groups",
        json!({"id": "sg-dead", "state": "not_found", "ingress": []}),
    );
    for rule in NET {
        pass(d.clone(), rule);
    }
    // Not a failure, but not silent either: the passing findings say so.
    for rule in ["ingress-within-vpc", "no-public-ingress"] {
        let o = outcome(d.clone(), rule);
        assert!(
            o.evidence_mentions("sg-dead: security group no longer exists"),
            "{o:#?}"
        );
    }
}

#[test]
fn missing_security_group_with_stale_public_ingress_admits_nothing() {
    let d = push(
        fixture("replication-group"),
        "/security_groups",
        json!({"id": "sg-dead", "state": "not_found", "ingress": [tcp4(6379, 6379, "0.0.0.0/0")]}),
    );
    for rule in NET {
        pass(d.clone(), rule);
    }
}

#[test]
fn unreadable_security_group_is_undecided_unless_a_readable_one_already_fails() {
    let d = push(
        fixture("replication-group"),
        "/security_groups",
        json!({"id": "sg-unknown", "state": "unknown", "ingress": []}),
    );
    for rule in NET {
        let o = undecided(d.clone(), rule);
        assert!(o.message.contains("sg-unknown"), "{o:#?}");
    }
    // Another, readable group admitting the whole internet fails whatever the unread group
    // holds: the finding is certain, and the unread group is noted.
    let d = set(
        d,
        "/security_groups/0/ingress",
        json!([tcp4(6379, 6379, "0.0.0.0/0")]),
    );
    for rule in NET {
        fail(
            d.clone(),
            rule,
            &["0.0.0.0/0", "sg-unknown: security group could not be read"],
        );
    }
}

#[test]
fn ingress_without_vpc_is_undecided_within_vpc() {
    undecided(rg(json!({"vpc": null})), "ingress-within-vpc");
}

#[test]
fn ingress_serverless_from_anywhere_fails() {
    let d = patched(
        "serverless",
        json!({"security_groups": [{"id": "sg-0d4e5f6a7b8c90714", "state": "found",
                                    "ingress": [tcp4(6379, 6380, "0.0.0.0/0")]}]}),
    );
    fail(
        d.clone(),
        "no-public-ingress",
        &["sg-0d4e5f6a7b8c90714: 0.0.0.0/0 on tcp/6379-6380"],
    );
    fail(
        d,
        "ingress-within-vpc",
        &["sg-0d4e5f6a7b8c90714: 0.0.0.0/0 on tcp/6379-6380"],
    );
}

#[test]
fn subnet_group_dedicated_passes() {
    pass(fixture("replication-group"), "not-default-subnet-group");
    pass(fixture("memcached"), "not-default-subnet-group");
}

#[test]
fn subnet_group_default_fails() {
    let d = rg(json!({"subnet_group": {"name": "default"}}));
    fail(
        d,
        "not-default-subnet-group",
        &[
            "CacheSubnetGroupName: default",
            "3 subnet(s) in vpc-0f3a9c1d2b4e5a601",
        ],
    );
}

#[test]
fn subnet_group_not_found_passes() {
    let d = rg(json!({"subnet_group": {"name": "x", "state": "not_found", "vpc_id": null, "subnets": []}}));
    pass(d.clone(), "not-default-subnet-group");
    let o = outcome(d, "not-default-subnet-group");
    assert!(o.evidence_mentions("subnet group x no longer exists"), "{o:#?}");
}

#[test]
fn subnet_group_with_empty_subnet_list_passes() {
    let d = rg(json!({"subnet_group": {"subnets": []}}));
    pass(d, "not-default-subnet-group");
}

#[test]
fn subnet_group_default_with_no_subnets_fails_saying_so() {
    let d = rg(json!({"subnet_group": {"name": "default", "subnets": []}}));
    fail(
        d,
        "not-default-subnet-group",
        &[
            "CacheSubnetGroupName: default",
            "subnet group default lists no subnets",
        ],
    );
}

#[test]
fn subnet_group_missing_is_undecided() {
    let o = undecided(rg(json!({"subnet_group": null})), "not-default-subnet-group");
    assert!(o.message.contains("no cache subnet group is recorded"), "{o:#?}");
}

// ---------------------------------------------------------------------------------------------
// Parameter groups
// ---------------------------------------------------------------------------------------------

#[test]
fn parameter_group_family_matching_passes() {
    pass(fixture("replication-group"), "parameter-group-family");
    pass(fixture("cluster-mode-enabled"), "parameter-group-family");
    pass(fixture("memcached"), "parameter-group-family");
    pass(fixture("standalone"), "parameter-group-family");
}

#[test]
fn parameter_group_family_redis7_with_redis6_family_fails() {
    let d = rg(json!({"parameter_group": {"name": "custom-redis6", "family": "redis6.x"}}));
    fail(
        d,
        "parameter-group-family",
        &["parameter group custom-redis6: family redis6.x; redis 7.1.0 needs redis7"],
    );
}

#[test]
fn parameter_group_family_redis6_uses_6x_family() {
    let d = rg(json!({"engine_version": "6.2.6", "parameter_group": {"family": "redis6.x"}}));
    pass(d, "parameter-group-family");
}

#[test]
fn parameter_group_family_valkey8_with_valkey7_family_fails() {
    let d = patched(
        "cluster-mode-enabled",
        json!({"parameter_group": {"family": "valkey7"}}),
    );
    fail(
        d,
        "parameter-group-family",
        &["family valkey7", "valkey 8.0.1 needs valkey8"],
    );
}

#[test]
fn parameter_group_family_missing_is_undecided() {
    let o = undecided(
        rg(json!({"parameter_group": {"family": null}})),
        "parameter-group-family",
    );
    assert!(o.message.contains("default.redis7"), "{o:#?}");
    undecided(rg(json!({"parameter_group": null})), "parameter-group-family");
    undecided(rg(json!({"engine_version": null})), "parameter-group-family");
}

#[test]
fn parameter_group_cluster_mode_matching_passes() {
    pass(fixture("replication-group"), "parameter-group-cluster-mode");
    pass(fixture("cluster-mode-enabled"), "parameter-group-cluster-mode");
    pass(fixture("standalone"), "parameter-group-cluster-mode");
}

#[test]
fn parameter_group_cluster_enabled_yes_with_cluster_mode_disabled_fails() {
    let d = rg(json!({"parameter_group": {"cluster_enabled": "yes"}}));
    fail(
        d,
        "parameter-group-cluster-mode",
        &["parameter group default.redis7: cluster-enabled yes; cluster mode disabled"],
    );
}

#[test]
fn parameter_group_cluster_enabled_no_with_cluster_mode_enabled_fails() {
    let d = patched(
        "cluster-mode-enabled",
        json!({"parameter_group": {"cluster_enabled": "no"}}),
    );
    fail(
        d,
        "parameter-group-cluster-mode",
        &["cluster-enabled no; cluster mode enabled"],
    );
}

#[test]
fn parameter_group_cluster_mode_compatible_is_not_applicable() {
    not_applicable(
        rg(json!({"cluster_mode": "compatible"})),
        "parameter-group-cluster-mode",
    );
    let d = patched(
        "cluster-mode-enabled",
        json!({"cluster_mode": "compatible", "parameter_group": {"cluster_enabled": "no"}}),
    );
    not_applicable(d, "parameter-group-cluster-mode");
}

#[test]
fn parameter_group_cluster_mode_not_applicable_to_memcached() {
    not_applicable(fixture("memcached"), "parameter-group-cluster-mode");
}

#[test]
fn parameter_group_cluster_enabled_missing_is_undecided() {
    undecided(
        rg(json!({"parameter_group": {"cluster_enabled": null}})),
        "parameter-group-cluster-mode",
    );
}

// ---------------------------------------------------------------------------------------------
// Monitoring
// ---------------------------------------------------------------------------------------------

const COVERAGE: &str = "alarm-coverage";
const THRESHOLDS: &str = "alarm-thresholds";

#[test]
fn alarm_coverage_every_node_watched_passes() {
    pass(fixture("replication-group"), COVERAGE);
    pass(fixture("cluster-mode-enabled"), COVERAGE);
    pass(fixture("standalone"), COVERAGE);
}

#[test]
fn alarm_coverage_missing_engine_cpu_alarm_fails_naming_node_and_metric() {
    let d = remove(fixture("replication-group"), "/node_groups/0/members/1/alarms", 1);
    let o = fail(
        d,
        COVERAGE,
        &["orders-cache-002: no alarm on EngineCPUUtilization"],
    );
    assert!(!o.evidence_mentions("orders-cache-001"), "{o:#?}");
    assert_eq!(o.evidence.len(), 1, "{o:#?}");
}

#[test]
fn alarm_coverage_actions_disabled_fails_saying_so() {
    let d = set(
        fixture("replication-group"),
        &format!("{}/actions_enabled", alarm(0, 0)),
        json!(false),
    );
    fail(
        d,
        COVERAGE,
        &[
            "orders-cache-001: CPUUtilization alarm(s) orders-cache-001-cpu-high has actions disabled; nobody is notified",
        ],
    );
}

#[test]
fn alarm_coverage_empty_alarm_actions_fails_saying_so() {
    let d = set(
        fixture("replication-group"),
        &format!("{}/alarm_actions", alarm(1, 2)),
        json!([]),
    );
    fail(
        d,
        COVERAGE,
        &[
            "orders-cache-002: DatabaseMemoryUsagePercentage alarm(s) orders-cache-002-memory-high has no alarm action; nobody is notified",
        ],
    );
}

fn math_alarm(node: &str, metric: &str) -> Value {
    json!({
        "name": format!("{node}-{metric}-math"),
        "metric_name": null, "namespace": null,
        "metrics": [
            {"id": "m1", "namespace": "AWS/ElastiCache", "metric_name": metric,
             "dimensions": {"CacheClusterId": node}},
            {"id": "e1", "expression": "m1 * 1"},
        ],
        "threshold": 80.0, "comparison": "GreaterThanThreshold",
        "actions_enabled": true,
        "alarm_actions": ["arn:aws:sns:us-east-1:111111111111:elasticache-alarms-prod"],
    })
}

#[test]
fn alarm_coverage_metric_math_alarm_counts() {
    let d = set(
        fixture("replication-group"),
        &alarm(0, 0),
        math_alarm("orders-cache-001", "CPUUtilization"),
    );
    pass(d, COVERAGE);
}

#[test]
fn alarm_coverage_metric_math_alarm_on_another_node_does_not_count() {
    let d = set(
        fixture("replication-group"),
        &alarm(0, 0),
        math_alarm("orders-cache-002", "CPUUtilization"),
    );
    fail(d, COVERAGE, &["orders-cache-001: no alarm on CPUUtilization"]);
}

#[test]
fn alarm_coverage_alarm_on_another_node_does_not_count() {
    let d = set(
        fixture("replication-group"),
        &format!("{}/dimensions", alarm(0, 1)),
        json!({"CacheClusterId": "orders-cache-002"}),
    );
    fail(
        d,
        COVERAGE,
        &["orders-cache-001: no alarm on EngineCPUUtilization"],
    );
}

#[test]
fn alarm_coverage_alarm_on_another_cache_node_id_does_not_count() {
    let d = set(
        fixture("replication-group"),
        &format!("{}/dimensions", alarm(0, 1)),
        json!({"CacheClusterId": "orders-cache-001", "CacheNodeId": "0002"}),
    );
    fail(
        d,
        COVERAGE,
        &["orders-cache-001: no alarm on EngineCPUUtilization"],
    );
}

#[test]
fn alarm_coverage_alarm_in_another_namespace_does_not_count() {
    let d = set(
        fixture("replication-group"),
        &format!("{}/namespace", alarm(1, 0)),
        json!("AWS/EC2"),
    );
    fail(d, COVERAGE, &["orders-cache-002: no alarm on CPUUtilization"]);
}

#[test]
fn alarm_coverage_required_metrics_param() {
    let d = remove(fixture("replication-group"), "/node_groups/0/members/1/alarms", 1);
    pass_with(
        d.clone(),
        COVERAGE,
        &["alarm-coverage.required_alarm_metrics=CPUUtilization,DatabaseMemoryUsagePercentage"],
    );
    fail_with(
        fixture("replication-group"),
        COVERAGE,
        &["alarm-coverage.required_alarm_metrics=CPUUtilization,SwapUsage"],
        &[
            "orders-cache-001: no alarm on SwapUsage",
            "orders-cache-002: no alarm on SwapUsage",
        ],
    );
}

#[test]
fn alarm_coverage_without_nodes_is_undecided() {
    undecided(rg(json!({"node_groups": []})), COVERAGE);
}

#[test]
fn alarm_rules_not_applicable_to_memcached_or_creating() {
    for rule in [COVERAGE, THRESHOLDS] {
        not_applicable(fixture("memcached"), rule);
        not_applicable(rg(json!({"status": "creating"})), rule);
    }
}

#[test]
fn alarm_threshold_at_limit_passes() {
    pass(fixture("replication-group"), THRESHOLDS);
    let d = set(
        fixture("replication-group"),
        &format!("{}/threshold", alarm(0, 0)),
        json!(90.0),
    );
    pass(d, THRESHOLDS);
}

#[test]
fn alarm_threshold_cpu_above_limit_fails() {
    let d = set(
        fixture("replication-group"),
        &format!("{}/threshold", alarm(0, 0)),
        json!(97.0),
    );
    fail(
        d,
        THRESHOLDS,
        &[
            "orders-cache-001: alarm orders-cache-001-cpu-high on CPUUtilization fires above 97%, over the limit of 90%",
        ],
    );
}

#[test]
fn alarm_threshold_engine_cpu_above_limit_fails() {
    let d = set(
        fixture("replication-group"),
        &format!("{}/threshold", alarm(1, 1)),
        json!(95.5),
    );
    fail(
        d,
        THRESHOLDS,
        &[
            "orders-cache-002: alarm orders-cache-002-engine-cpu-high on EngineCPUUtilization fires above 95.5%",
        ],
    );
}

#[test]
fn alarm_threshold_memory_above_limit_fails() {
    let d = set(
        fixture("replication-group"),
        &format!("{}/threshold", alarm(1, 2)),
        json!(95.0),
    );
    fail(
        d,
        THRESHOLDS,
        &[
            "orders-cache-002: alarm orders-cache-002-memory-high on DatabaseMemoryUsagePercentage fires above 95%, over the limit of 90%",
        ],
    );
}

#[test]
fn alarm_threshold_less_than_alarm_is_ignored() {
    let d = set(
        fixture("replication-group"),
        &format!("{}/threshold", alarm(0, 0)),
        json!(97.0),
    );
    let d = set(
        d,
        &format!("{}/comparison", alarm(0, 0)),
        json!("LessThanThreshold"),
    );
    pass(d, THRESHOLDS);
}

#[test]
fn alarm_threshold_greater_or_equal_alarm_counts() {
    let d = set(
        fixture("replication-group"),
        &format!("{}/threshold", alarm(0, 0)),
        json!(97.0),
    );
    let d = set(
        d,
        &format!("{}/comparison", alarm(0, 0)),
        json!("GreaterThanOrEqualToThreshold"),
    );
    fail(d, THRESHOLDS, &["orders-cache-001-cpu-high"]);
}

#[test]
fn alarm_threshold_params_override_limits() {
    let d = set(
        fixture("replication-group"),
        &format!("{}/threshold", alarm(0, 0)),
        json!(97.0),
    );
    pass_with(d, THRESHOLDS, &["alarm-thresholds.max_cpu_threshold_percent=98"]);
    fail_with(
        fixture("replication-group"),
        THRESHOLDS,
        &["alarm-thresholds.max_memory_threshold_percent=75"],
        &[
            "orders-cache-001-memory-high on DatabaseMemoryUsagePercentage fires above 80%, over the limit of 75%",
        ],
    );
}

#[test]
fn event_notifications_active_topic_passes() {
    pass(fixture("replication-group"), "event-notifications");
    pass(fixture("memcached"), "event-notifications");
}

#[test]
fn event_notifications_inactive_topic_fails() {
    let d = rg(json!({"notification_topic": {"status": "inactive"}}));
    fail(
        d,
        "event-notifications",
        &[
            "NotificationTopicArn: arn:aws:sns:us-east-1:111111111111:elasticache-events-prod (status inactive)",
        ],
    );
}

#[test]
fn event_notifications_no_topic_fails() {
    let d = rg(json!({"notification_topic": null}));
    fail(d, "event-notifications", &["no notification topic is configured"]);
}

/// Trap: when the member clusters (which carry the topic) could not be read, no topic means
/// "unknown", not "none" (a fault-injection run once reported this as a failure).
#[test]
fn event_notifications_unreadable_topic_is_undecided() {
    let d =
        rg(json!({"notification_topic": null, "unknown_facts": ["security_groups", "notification_topic"]}));
    let o = undecided(d, "event-notifications");
    assert!(
        o.message.contains("notification topic could not be read"),
        "{o:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Maintenance
// ---------------------------------------------------------------------------------------------

#[test]
fn auto_minor_version_upgrade_on_passes() {
    pass(fixture("replication-group"), "auto-minor-version-upgrade");
    pass(fixture("serverless"), "auto-minor-version-upgrade");
}

#[test]
fn auto_minor_version_upgrade_off_fails() {
    let d = rg(json!({"auto_minor_version_upgrade": false}));
    fail(
        d,
        "auto-minor-version-upgrade",
        &["AutoMinorVersionUpgrade: false"],
    );
}

#[test]
fn auto_minor_version_upgrade_not_collected_is_undecided() {
    undecided(
        rg(json!({"auto_minor_version_upgrade": null})),
        "auto-minor-version-upgrade",
    );
}

#[test]
fn supported_engine_version_redis_6_2_passes() {
    pass(rg(json!({"engine_version": "6.2.6"})), "supported-engine-version");
    pass(fixture("replication-group"), "supported-engine-version");
}

#[test]
fn supported_engine_version_redis_6_0_fails() {
    fail(
        rg(json!({"engine_version": "6.0.5"})),
        "supported-engine-version",
        &["redis 6.0.5; minimum 6.2"],
    );
}

#[test]
fn supported_engine_version_redis_5_fails() {
    fail(
        fixture("standalone"),
        "supported-engine-version",
        &["redis 5.0.6; minimum 6.2"],
    );
}

#[test]
fn supported_engine_version_valkey_7_2_passes() {
    let d = patched("cluster-mode-enabled", json!({"engine_version": "7.2"}));
    pass(d, "supported-engine-version");
    pass(fixture("serverless"), "supported-engine-version");
}

#[test]
fn supported_engine_version_memcached_1_5_fails() {
    let d = patched("memcached", json!({"engine_version": "1.5.16"}));
    fail(d, "supported-engine-version", &["memcached 1.5.16; minimum 1.6"]);
    pass(fixture("memcached"), "supported-engine-version");
}

#[test]
fn supported_engine_version_wildcard_is_error_not_guess() {
    let o = check_status(
        outcome(rg(json!({"engine_version": "6.x"})), "supported-engine-version"),
        Status::Error,
    );
    assert!(o.message.contains("6.x"), "{o:#?}");
}

#[test]
fn supported_engine_version_not_collected_is_undecided() {
    undecided(rg(json!({"engine_version": null})), "supported-engine-version");
}

#[test]
fn supported_engine_version_param_raises_minimum() {
    fail_with(
        rg(json!({"engine_version": "6.2.6"})),
        "supported-engine-version",
        &["supported-engine-version.min_redis_version=7.0"],
        &["redis 6.2.6; minimum 7.0"],
    );
}

// ---------------------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------------------

#[test]
fn required_tags_default_empty_passes() {
    pass(fixture("replication-group"), "required-tags");
    pass(fixture("standalone"), "required-tags");
    pass(rg(json!({"tags": null})), "required-tags");
}

#[test]
fn required_tags_missing_tag_fails_naming_it() {
    let d = set(fixture("replication-group"), "/tags", json!({"team": "checkout"}));
    let o = fail_with(
        d,
        "required-tags",
        &["required-tags.required_tags=team,env"],
        &["missing tag `env`"],
    );
    assert!(!o.evidence_mentions("`team`"), "{o:#?}");
}

#[test]
fn required_tags_all_present_passes() {
    pass_with(
        fixture("replication-group"),
        "required-tags",
        &["required-tags.required_tags=team,env"],
    );
}

#[test]
fn required_tags_no_tags_fails_naming_each() {
    fail_with(
        fixture("standalone"),
        "required-tags",
        &["required-tags.required_tags=team,env"],
        &["missing tag `team`", "missing tag `env`"],
    );
}

#[test]
fn required_tags_not_collected_is_undecided() {
    let o = outcome_with(
        rg(json!({"tags": null})),
        "required-tags",
        &["required-tags.required_tags=team,env"],
    );
    assert_eq!(o.status, Status::Error, "{o:#?}");
    assert!(o.message.starts_with("Cannot decide"), "{o:#?}");
}

// ---------------------------------------------------------------------------------------------
// Regressions found in review
// ---------------------------------------------------------------------------------------------

#[test]
fn in_transit_encryption_required_follows_global_datastore_inheritance() {
    let d = rg(json!({
        "transit_encryption": false,
        "global_datastore": {"id": "g", "role": "secondary", "at_rest_encryption": true, "transit_encryption": true},
    }));
    pass(d.clone(), "in-transit-encryption");
    pass(d, "in-transit-encryption-required");
}

#[test]
fn serverless_auth_token_alone_does_not_count() {
    let d = patched(
        "serverless",
        json!({"user_group_ids": [], "auth_token_enabled": true}),
    );
    fail(d, "auth-required", &["UserGroupIds: none"]);
}

#[test]
fn an_imprecise_engine_version_cannot_be_decided() {
    let o = undecided(rg(json!({"engine_version": "6.x"})), "supported-engine-version");
    assert!(o.message.contains("`6.x`"), "{o:#?}");
    undecided(rg(json!({"engine_version": "6.x"})), "parameter-group-family");
}

#[test]
fn ipv4_mapped_ipv6_anywhere_is_public() {
    let d = rg_ingress(json!([tcp6(6379, 6379, "::ffff:0:0/96")]));
    fail(d.clone(), "no-public-ingress", &["::ffff:0:0/96"]);
    fail(d, "ingress-within-vpc", &["::ffff:0:0/96"]);
}

#[test]
fn unreadable_alarms_and_snapshots_are_undecided_not_failing() {
    let d = rg(
        json!({"unknown_facts": ["alarms", "latest_automatic_snapshot"], "latest_automatic_snapshot": null}),
    );
    undecided(d.clone(), "alarm-coverage");
    undecided(d.clone(), "alarm-thresholds");
    undecided(d, "recent-automatic-snapshot");
}

// ---------------------------------------------------------------------------------------------
// Utilisation (--metrics)
// ---------------------------------------------------------------------------------------------

const UTILISATION_RULES: [&str; 4] = [
    "sustained-high-engine-cpu",
    "sustained-high-cpu",
    "memory-pressure",
    "evictions",
];

/// Statistics of one metric over the fixture's 7-day window.
fn stats(p95: f64, maximum: f64, sum: f64) -> Value {
    json!({"datapoints": 168, "average": p95 / 2.0, "p95": p95, "maximum": maximum, "sum": sum,
           "maximum_at": "2026-11-23T19:00:00Z"})
}

/// `d` with `metric` of member `m` of shard 0 set to `v`.
fn metric(d: Value, m: usize, metric: &str, v: Value) -> Value {
    set(d, &format!("/node_groups/0/members/{m}/utilisation/{metric}"), v)
}

/// `d` as collected without --metrics.
fn without_metrics(mut d: Value) -> Value {
    d.as_object_mut().unwrap().remove("utilisation_window");
    if let Some(groups) = d.get_mut("node_groups").and_then(Value::as_array_mut) {
        for g in groups {
            for n in g["members"].as_array_mut().unwrap() {
                n.as_object_mut().unwrap().remove("utilisation");
            }
        }
    }
    d
}

#[test]
fn utilisation_rules_are_not_applicable_without_metrics() {
    for name in FIXTURES {
        let d = without_metrics(fixture(name));
        for rule in UTILISATION_RULES {
            if applies(d.clone(), rule) {
                let o = not_applicable(d.clone(), rule);
                assert!(o.message.contains("--metrics"), "{o:#?}");
            }
        }
    }
    // Serverless caches have no nodes to measure, with or without --metrics.
    let d = patched(
        "serverless",
        json!({"utilisation_window": {"length": "7d",
        "start": "2026-11-18T06:00:00Z", "end": "2026-11-25T06:00:00Z", "period_seconds": 3600}}),
    );
    for rule in UTILISATION_RULES {
        assert!(!applies(d.clone(), rule), "{rule} on serverless");
    }
}

#[test]
fn sustained_high_engine_cpu() {
    pass(rg(json!({})), "sustained-high-engine-cpu");
    let hot = metric(rg(json!({})), 1, "engine_cpu", stats(93.8, 99.1, 0.0));
    fail(
        hot.clone(),
        "sustained-high-engine-cpu",
        &[
            "orders-cache-002",
            "p95 EngineCPUUtilization 93.8%",
            "maximum 99.1%",
            "over 7d",
            "2026-11-18T06:00:00Z",
            "above 90%",
        ],
    );
    // Only the node over the threshold is named.
    let o = fail(hot.clone(), "sustained-high-engine-cpu", &[]);
    assert!(!o.evidence_mentions("orders-cache-001"), "{o:#?}");
    pass_with(
        hot,
        "sustained-high-engine-cpu",
        &["sustained-high-engine-cpu.max_p95_percent=95"],
    );
    // At the threshold is not above it; a maximum above it alone is a spike, not sustained.
    pass(
        metric(rg(json!({})), 0, "engine_cpu", stats(90.0, 100.0, 0.0)),
        "sustained-high-engine-cpu",
    );
    // Memcached has no engine CPU metric.
    let memcached = patched(
        "memcached",
        json!({"utilisation_window": rg(json!({}))["utilisation_window"]}),
    );
    not_applicable(memcached, "sustained-high-engine-cpu");
}

#[test]
fn sustained_high_cpu_covers_memcached_nodes() {
    pass(rg(json!({})), "sustained-high-cpu");
    fail(
        metric(rg(json!({})), 0, "cpu", stats(92.3, 97.5, 0.0)),
        "sustained-high-cpu",
        &["orders-cache-001", "p95 CPUUtilization 92.3%", "above 90%"],
    );
    let window = rg(json!({}))["utilisation_window"].clone();
    let memcached = patched("memcached", json!({"utilisation_window": window}));
    let mut memcached = memcached;
    memcached["node_groups"][0]["members"][1]["utilisation"] = json!({"cpu": stats(95.0, 99.0, 0.0)});
    fail(
        memcached,
        "sustained-high-cpu",
        &["queue-memcached-stg/0002", "95%"],
    );
}

#[test]
fn memory_pressure_is_decided_on_the_maximum() {
    pass(rg(json!({})), "memory-pressure");
    // A p95 well below the threshold does not hide one period at 96 %.
    fail(
        metric(rg(json!({})), 0, "memory", stats(60.0, 96.4, 0.0)),
        "memory-pressure",
        &[
            "orders-cache-001",
            "reached 96.4%",
            "2026-11-23T19:00:00Z",
            "above 90%",
        ],
    );
    pass(
        metric(rg(json!({})), 0, "memory", stats(60.0, 90.0, 0.0)),
        "memory-pressure",
    );
    pass_with(
        metric(rg(json!({})), 0, "memory", stats(60.0, 96.4, 0.0)),
        "memory-pressure",
        &["memory-pressure.max_memory_percent=97"],
    );
}

#[test]
fn evictions_in_the_window_fail() {
    pass(rg(json!({})), "evictions");
    let evicted = metric(rg(json!({})), 1, "evictions", stats(3.0, 212.0, 1240.0));
    fail(
        evicted.clone(),
        "evictions",
        &["orders-cache-002", "1240 keys evicted over 7d", "212", "3600 s"],
    );
    pass_with(evicted, "evictions", &["evictions.max_evictions=2000"]);
    fail(
        metric(rg(json!({})), 0, "evictions", stats(0.0, 1.0, 1.0)),
        "evictions",
        &["1 keys evicted"],
    );
}

#[test]
fn unreadable_or_missing_metrics_are_undecided_not_passing() {
    // GetMetricData failed: the statistics are unknown, not zero.
    let mut unread = rg(json!({"unknown_facts": ["utilisation"]}));
    for n in unread["node_groups"][0]["members"].as_array_mut().unwrap() {
        n.as_object_mut().unwrap().remove("utilisation");
    }
    for rule in UTILISATION_RULES {
        let o = undecided(unread.clone(), rule);
        assert!(o.message.contains("GetMetricData"), "{o:#?}");
    }
    // Read, but no node published the metric in the window (a new or idle deployment): no
    // datapoint is no evidence of health.
    let mut silent = fixture("replication-group");
    for n in silent["node_groups"][0]["members"].as_array_mut().unwrap() {
        n["utilisation"] = json!({});
    }
    for rule in UTILISATION_RULES {
        let o = undecided(silent.clone(), rule);
        assert!(o.message.contains("datapoints"), "{o:#?}");
    }
    // One node without datapoints does not hide another's.
    let mut partial = metric(rg(json!({})), 1, "engine_cpu", stats(95.0, 99.0, 0.0));
    partial["node_groups"][0]["members"][0]["utilisation"] = json!({});
    fail(partial, "sustained-high-engine-cpu", &["orders-cache-002"]);
}
