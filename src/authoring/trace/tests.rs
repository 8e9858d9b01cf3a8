use serde_json::json;

use super::*;
use crate::inventory::DeploymentKind;
use crate::rules::testing::defaults;
use crate::rules::{RuleSet, RuleSource};

/// A replication-group rule with the given YAML fields (each line indented four spaces), its
/// expressions starting on line 7.
fn rule(fields: &str) -> Rule {
    let text = format!(
        "rules:\n  - id: t\n    title: T\n    severity: low\n    applies_to: [replication_group]\n    \
         remediation: Fix it.\n{fields}"
    );
    let set = RuleSet::from_sources(vec![RuleSource {
        name: "t.yaml".into(),
        text,
        bundled: false,
        tests: None,
    }])
    .unwrap_or_else(|e| panic!("{e}"));
    set.rules.into_iter().next().unwrap()
}

/// The default replication group (a primary in us-east-1a, a replica in us-east-1b) with
/// `facts` laid over it.
fn deployment(facts: serde_json::Value) -> Deployment {
    let mut d = defaults::deployment(DeploymentKind::ReplicationGroup);
    for (k, v) in facts.as_object().unwrap() {
        d[k] = v.clone();
    }
    serde_json::from_value(d).unwrap()
}

fn run(rule: &Rule, d: &Deployment) -> Vec<Step> {
    trace(rule, &rule.params, d, defaults::now())
}

/// Each step as `DEPTH TEXT = VALUE`, `DEPTH TEXT (not evaluated)` or `DEPTH TEXT ! ERROR`.
fn lines(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .map(|s| match &s.value {
            StepValue::Value(v) => format!("{} {} = {v}", s.depth, s.text),
            StepValue::Skipped => format!("{} {} (not evaluated)", s.depth, s.text),
            StepValue::Error(e) => format!("{} {} ! {e}", s.depth, s.text),
        })
        .collect()
}

#[test]
fn the_right_of_a_decided_and_or_is_not_evaluated() {
    let r = rule("    check: d.transit_encryption && d.transit_encryption_mode != \"preferred\"\n");
    let steps = run(
        &r,
        &deployment(json!({"transit_encryption": false, "transit_encryption_mode": null})),
    );
    assert_eq!(
        lines(&steps),
        [
            "0 d.transit_encryption && d.transit_encryption_mode != \"preferred\" = false",
            "1 d.transit_encryption = false",
            "1 d.transit_encryption_mode != \"preferred\" (not evaluated)",
            "2 d.transit_encryption_mode (not evaluated)",
        ]
    );
    assert!(steps.iter().all(|s| s.part == Part::Check && s.line == 7));
    let columns: Vec<usize> = steps.iter().map(|s| s.column).collect();
    assert_eq!(columns, [12, 12, 36, 36]);

    let r = rule("    check: d.auth_token_enabled || size(d.user_group_ids) > 0\n");
    let steps = run(&r, &deployment(json!({"auth_token_enabled": true})));
    assert_eq!(
        lines(&steps)[1..],
        [
            "1 d.auth_token_enabled = true",
            "1 size(d.user_group_ids) > 0 (not evaluated)",
            "2 size(d.user_group_ids) (not evaluated)",
            "3 d.user_group_ids (not evaluated)",
        ]
    );
}

#[test]
fn only_the_branch_taken_is_evaluated() {
    let r = rule(
        "    check: |\n      d.engine == \"redis\"\n        ? d.snapshot_retention_days >= 1\n        : d.multi_az\n",
    );
    let steps = run(&r, &deployment(json!({"snapshot_retention_days": 7})));
    assert_eq!(
        lines(&steps),
        [
            "0 d.engine == \"redis\" ? d.snapshot_retention_days >= 1 : d.multi_az = true",
            "1 d.engine == \"redis\" = true",
            "2 d.engine = \"redis\"",
            "1 d.snapshot_retention_days >= 1 = true",
            "2 d.snapshot_retention_days = 7",
            "1 d.multi_az (not evaluated)",
        ]
    );
    // A `|` block starts on the next line; positions follow its lines.
    let at: Vec<(usize, usize)> = steps.iter().map(|s| (s.line, s.column)).collect();
    assert_eq!(at, [(8, 7), (8, 7), (8, 7), (9, 11), (9, 11), (10, 11)]);
}

#[test]
fn a_comprehension_body_is_traced_per_element_it_reached() {
    let r = rule("    check: size(d.nodes.filter(n, n.role == \"replica\")) >= 1\n");
    assert_eq!(
        lines(&run(&r, &deployment(json!({}))))[1..],
        [
            "1 size(d.nodes.filter(n, n.role == \"replica\")) = 1",
            "2 d.nodes.filter(n, n.role == \"replica\") = [Node{cache_cluster_id: \"test-rg-002\", cache_node_id: \"0001\", availability_zone: \"us-east-1b\", role: \"replica\", status:…",
            "3 d.nodes = [Node{cache_cluster_id: \"test-rg-001\", cache_node_id: \"0001\", availability_zone: \"us-east-1a\", role: \"primary\", status:…",
            "3 n.role == \"replica\" = false for 1 of 2 elements, true for 1",
            "4 n.role = \"primary\" for 1 of 2 elements, \"replica\" for 1",
        ]
    );
    // `all` stops at the first false element: the second is never evaluated.
    let r = rule("    check: d.nodes.all(n, n.availability_zone != \"us-east-1a\")\n");
    assert_eq!(
        lines(&run(&r, &deployment(json!({}))))[2..],
        [
            "1 n.availability_zone != \"us-east-1a\" = false for the 1 element",
            "2 n.availability_zone = \"us-east-1a\" for the 1 element",
        ]
    );
    // Over an empty list the body never runs.
    let r = rule("    check: d.user_group_ids.all(g, g.startsWith(\"app-\"))\n");
    assert_eq!(
        lines(&run(&r, &deployment(json!({"user_group_ids": []}))))[1..],
        [
            "1 d.user_group_ids = []",
            "1 g.startsWith(\"app-\") (not evaluated)"
        ]
    );
}

#[test]
fn unknown_is_an_error_that_cannot_decide() {
    let r = rule("    check: 'd.tags == null ? unknown(\"the tags were not read\") : \"team\" in d.tags'\n");
    assert_eq!(
        lines(&run(&r, &deployment(json!({"tags": null})))),
        [
            "0 d.tags == null ? unknown(\"the tags were not read\") : \"team\" in d.tags ! Cannot decide: the tags were not read",
            "1 d.tags == null = true",
            "2 d.tags = null",
            "1 unknown(\"the tags were not read\") ! Cannot decide: the tags were not read",
            "1 \"team\" in d.tags (not evaluated)",
            "2 d.tags (not evaluated)",
        ]
    );
}

#[test]
fn evidence_is_traced_only_when_the_test_fails_and_the_test_only_when_the_rule_applies() {
    let r = rule(
        "    when: d.engine != \"memcached\"\n    check: d.snapshot_retention_days >= 7\n    \
         evidence: '\"kept \" + string(d.snapshot_retention_days) + \" days\"'\n",
    );
    let parts = |d| {
        run(&r, &d)
            .iter()
            .map(|s| (s.part, s.value.clone()))
            .collect::<Vec<_>>()
    };
    let failing = parts(deployment(json!({"snapshot_retention_days": 1})));
    assert_eq!(
        failing.iter().filter(|(p, _)| *p == Part::Evidence).count(),
        4,
        "{failing:?}"
    );
    assert_eq!(
        failing.iter().find(|(p, _)| *p == Part::Evidence).unwrap().1,
        StepValue::Value("\"kept 1 days\"".into())
    );
    let passing = parts(deployment(json!({})));
    assert!(passing.iter().all(|(p, _)| *p != Part::Evidence), "{passing:?}");
    let memcached = parts(deployment(json!({"engine": "memcached"})));
    assert!(
        memcached
            .iter()
            .all(|(p, v)| *p == Part::When || *v == StepValue::Skipped),
        "{memcached:?}"
    );
}

#[test]
fn text_is_each_nodes_own_balanced_source() {
    let r = rule(
        "    check: (d.multi_az || d.transit_encryption) && has(d.vpc.id) && d.tags[\"team\"] != \"\"\n",
    );
    let texts: Vec<String> = run(&r, &deployment(json!({"tags": {"team": "a"}})))
        .into_iter()
        .map(|s| s.text)
        .collect();
    for expected in [
        "d.multi_az || d.transit_encryption",
        "(d.multi_az || d.transit_encryption) && has(d.vpc.id)",
        "has(d.vpc.id)",
        "d.vpc",
        "d.tags[\"team\"] != \"\"",
        "d.tags[\"team\"]",
        "d.tags",
    ] {
        assert!(
            texts.iter().any(|t| t == expected),
            "{expected:?} not in {texts:#?}"
        );
    }
}

#[test]
fn values_are_written_as_cel_literals() {
    let r = rule(
        "    check: '[d.created_at, d.engine_version, double(d.snapshot_retention_days) * 1.5, d.tags] != []'\n",
    );
    let d = deployment(json!({"tags": {"env": "prod", "team": "cache"}, "snapshot_retention_days": 7}));
    assert_eq!(
        lines(&run(&r, &d))[1],
        "1 [d.created_at, d.engine_version, double(d.snapshot_retention_days) * 1.5, d.tags] = \
         [2025-01-15T09:00:00Z, \"7.1.0\", 10.5, {\"env\": \"prod\", \"team\": \"cache\"}]"
    );
}

/// A rule whose only case passes made its conditions true, never false.
#[test]
fn coverage_reports_conditions_never_false() {
    let r = rule(
        "    check: d.transit_encryption && d.transit_encryption_mode != \"preferred\"\n    tests:\n      \
         - name: passes\n        expect: pass\n",
    );
    let branches = coverage(&r, &r.tests);
    let seen: Vec<(&str, bool, bool)> = branches
        .iter()
        .map(|b| (b.text.as_str(), b.seen_true, b.seen_false))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "d.transit_encryption && d.transit_encryption_mode != \"preferred\"",
                true,
                false
            ),
            ("d.transit_encryption", true, false),
            ("d.transit_encryption_mode != \"preferred\"", true, false),
        ]
    );
    assert!(
        branches
            .iter()
            .all(|b| !b.covered() && b.part == Part::Check && b.line == 7)
    );
}

#[test]
fn coverage_counts_comprehension_bodies_and_leaves_branches_not_taken_unseen() {
    let r = rule(
        "    check: |\n      d.engine == \"valkey\" ? d.multi_az\n        : d.nodes.exists(n, n.role == \"replica\")\n",
    );
    let case = |facts| Case {
        name: "c".into(),
        file: "t.yaml".into(),
        line: 1,
        deployment: deployment(facts),
        params: r.params.clone(),
        now: defaults::now(),
        expect: crate::rules::testing::Expected::Pass,
        message: None,
        evidence: None,
        evidence_contains: Vec::new(),
    };
    let branches = coverage(&r, &[case(json!({}))]);
    let seen: Vec<(&str, bool, bool)> = branches
        .iter()
        .map(|b| (b.text.as_str(), b.seen_true, b.seen_false))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "d.engine == \"valkey\" ? d.multi_az : d.nodes.exists(n, n.role == \"replica\")",
                true,
                false
            ),
            ("d.engine == \"valkey\"", false, true),
            ("d.nodes.exists(n, n.role == \"replica\")", true, false),
            ("n.role == \"replica\"", true, true),
        ]
    );
}
