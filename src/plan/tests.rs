//! The plan model on hand-written documents: `tests/fixtures/plan/plan.json` (every resource
//! type, modules with count and for_each, each action, references, unknowns) and small plans
//! for the provider's quirks.

use serde_json::{Value, json};

use super::*;
use crate::inventory::{ClusterMode, Deployment, LookupState, TransitEncryptionMode};
use crate::result::Status;

const FIXTURE: &str = include_str!("../../tests/fixtures/plan/plan.json");

fn fixture() -> Planned {
    read(FIXTURE, "plan.json", None).unwrap()
}

fn find<'a>(inv: &'a Inventory, id: &str) -> &'a Deployment {
    inv.deployments.iter().find(|d| d.id == id).unwrap_or_else(|| {
        panic!(
            "{id} in {:?}",
            inv.deployments.iter().map(|d| &d.id).collect::<Vec<_>>()
        )
    })
}

fn node_ids(d: &Deployment) -> Vec<&str> {
    d.nodes().map(|n| n.cache_cluster_id.as_str()).collect()
}

fn unknown(d: &Deployment, fact: &str) -> bool {
    d.unknown_facts.iter().any(|f| f == fact)
}

/// The findings of the bundled rules on `d`, by rule id.
fn findings(d: &Deployment) -> BTreeMap<String, (Status, String)> {
    let rules = crate::rules::RuleSet::from_sources(crate::rules::pack::sources()).unwrap();
    let evaluator = crate::evaluate::Evaluator::new(&rules, chrono::Utc::now());
    evaluator
        .evaluate(0, d)
        .into_iter()
        .map(|f| {
            (
                rules.rules()[f.rule].id.clone(),
                (f.status, f.message.to_string()),
            )
        })
        .collect()
}

const ORDERS: &str = "aws_elasticache_replication_group.orders";
const REPORTS: &str = "aws_elasticache_replication_group.reports";
const SESSIONS: &str = r#"module.sessions["eu"].aws_elasticache_serverless_cache.this"#;
const LEGACY: &str = "module.legacy[0].aws_elasticache_cluster.this";

#[test]
fn one_deployment_per_group_cluster_and_serverless_cache_and_deleted_ones_only_before() {
    let p = fixture();
    assert_eq!(p.kind, DocumentKind::Plan);
    let ids = |inv: &Inventory| inv.deployments.iter().map(|d| d.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&p.after),
        [
            ORDERS,
            REPORTS,
            "aws_elasticache_replication_group.jobs",
            SESSIONS,
            LEGACY
        ]
    );
    assert_eq!(
        ids(&p.before),
        [
            REPORTS,
            "aws_elasticache_replication_group.jobs",
            "aws_elasticache_replication_group.old",
            SESSIONS,
            LEGACY
        ]
    );
    let actions: Vec<(&str, Action)> = p.actions.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        actions,
        [
            ("aws_elasticache_replication_group.jobs", Action::Replace),
            ("aws_elasticache_replication_group.old", Action::Delete),
            (ORDERS, Action::Create),
            (REPORTS, Action::Replace),
            (LEGACY, Action::Update),
            (SESSIONS, Action::Update),
        ]
    );
    assert_eq!(
        p.config_addresses[LEGACY],
        "module.legacy.aws_elasticache_cluster.this"
    );
    assert_eq!(
        p.config_addresses[SESSIONS],
        "module.sessions.aws_elasticache_serverless_cache.this"
    );
    assert!(
        p.configuration
            .as_ref()
            .is_some_and(|c| c["root_module"].is_object())
    );
    // The member cluster resource is joined to its group, not a deployment.
    assert!(!p.actions.contains_key("aws_elasticache_cluster.reports_extra"));
}

#[test]
fn a_created_group_is_joined_through_references_to_what_the_plan_creates() {
    let p = fixture();
    let d = find(&p.after, ORDERS);
    assert_eq!(d.arn, format!("terraform:{ORDERS}"));
    assert_eq!(
        (d.region.as_str(), d.account_id.as_str()),
        ("eu-west-1", "unknown")
    );
    assert_eq!(d.engine, "redis");
    // `"true"` from the provider, a key and a token the plan creates.
    assert_eq!(d.at_rest_encryption, Some(true));
    assert_eq!(d.auto_minor_version_upgrade, Some(true));
    assert_eq!(d.kms_key_id.as_deref(), Some("aws_kms_key.cache"));
    assert_eq!(d.auth_token_enabled, Some(true));
    assert_eq!(d.transit_encryption_mode, Some(TransitEncryptionMode::Required));
    assert_eq!(d.cluster_mode, Some(ClusterMode::Enabled));
    // Security group by reference: its inline ingress and both kinds of rule resources.
    assert_eq!(d.security_groups.len(), 1);
    let sg = &d.security_groups[0];
    assert_eq!(
        (sg.id.as_str(), sg.state),
        ("aws_security_group.cache", LookupState::Found)
    );
    assert_eq!(sg.vpc_id.as_deref(), Some("aws_vpc.main"));
    let sources: Vec<String> = sg
        .ingress
        .iter()
        .flat_map(|p| {
            p.ipv4_ranges
                .iter()
                .map(|r| r.cidr.clone())
                .chain(p.security_groups.iter().cloned())
                .map(move |s| format!("{}/{:?} {s}", p.protocol, p.from_port))
        })
        .collect();
    assert_eq!(
        sources,
        [
            "tcp/Some(6379) 10.20.0.0/16",
            "tcp/Some(6379) sg-0peer0000000000001",
            "tcp/Some(6379) 81.2.69.0/24"
        ]
    );
    // The VPC through the subnet group's subnets, with its associated block.
    let group = d.subnet_group.as_ref().unwrap();
    assert_eq!(group.name.as_deref(), Some("orders-subnets"));
    assert_eq!(group.state, LookupState::Found);
    let subnets: Vec<(&str, Option<&str>)> = group
        .subnets
        .iter()
        .map(|s| (s.id.as_str(), s.availability_zone.as_deref()))
        .collect();
    assert_eq!(
        subnets,
        [
            ("aws_subnet.a", Some("eu-west-1a")),
            ("aws_subnet.b", Some("eu-west-1b"))
        ]
    );
    let vpc = d.vpc.as_ref().unwrap();
    assert_eq!(vpc.id, "aws_vpc.main");
    assert_eq!(vpc.ipv4_cidr_blocks, ["10.20.0.0/16", "10.21.0.0/16"]);
    assert!(vpc.ipv6_cidr_blocks.is_empty());
    let pg = d.parameter_group.as_ref().unwrap();
    assert_eq!(
        (
            pg.name.as_str(),
            pg.family.as_deref(),
            pg.cluster_enabled.as_deref(),
            pg.is_default
        ),
        ("orders-redis7", Some("redis7"), Some("yes"), Some(false))
    );
    assert_eq!(
        d.tags,
        Some(
            [("env", "prod"), ("team", "checkout")]
                .map(|(k, v)| (k.into(), v.into()))
                .into()
        )
    );
    assert_eq!(
        d.notification_topic
            .as_ref()
            .map(|t| (t.arn.as_str(), t.status.as_deref())),
        Some((
            "arn:aws:sns:eu-west-1:123456789012:elasticache-events",
            Some("active")
        ))
    );
    assert!(unknown(d, "latest_automatic_snapshot"));
    assert!(!unknown(d, "security_groups") && !unknown(d, "alarms") && !unknown(d, "vpc"));
    // The public range the office rule adds is a violation; the rest passes.
    let f = findings(d);
    assert_eq!(f["no-public-ingress"].0, Status::Fail);
    assert_eq!(f["at-rest-encryption"].0, Status::Pass);
    assert_eq!(f["parameter-group-cluster-mode"].0, Status::Pass);
}

#[test]
fn alarms_are_matched_to_the_member_ids_the_group_will_have() {
    let p = fixture();
    let d = find(&p.after, ORDERS);
    assert_eq!(
        node_ids(d),
        [
            "orders-cache-0001-001",
            "orders-cache-0001-002",
            "orders-cache-0002-001",
            "orders-cache-0002-002"
        ]
    );
    let alarms: Vec<Vec<&str>> = d
        .nodes()
        .map(|n| n.alarms.iter().map(|a| a.name.as_str()).collect())
        .collect();
    assert_eq!(
        alarms,
        [
            vec!["orders-cache-0001-001-cpu"],
            vec!["orders-cache-0001-002-cpu"],
            vec!["orders-cache-0002-001-memory"],
            vec![]
        ]
    );
    let cpu = &d.node_groups[0].members[0].alarms[0];
    // A topic the plan creates stands for its ARN by its address.
    assert_eq!(cpu.alarm_actions, ["aws_sns_topic.alarms"]);
    let memory = &d.node_groups[1].members[0].alarms[0];
    assert_eq!(memory.metrics.len(), 2);
    assert_eq!(
        memory.metrics[0].metric_name.as_deref(),
        Some("DatabaseMemoryUsagePercentage")
    );
    // Cluster mode disabled: `<id>-001`, ...; a member cluster resource joins the group.
    let reports = find(&p.after, REPORTS);
    assert_eq!(node_ids(reports), ["reports-001", "reports-002", "reports-extra"]);
    // An alarm whose dimensions are known only after apply: the group's alarms are unknown.
    assert!(unknown(reports, "alarms"));
    assert_eq!(findings(reports)["alarm-coverage"].0, Status::Error);
    // Before: the members AWS reported.
    assert_eq!(node_ids(find(&p.before, REPORTS)), ["reports-001", "reports-002"]);
}

#[test]
fn before_and_after_of_a_replaced_group_and_data_sources_from_the_prior_state() {
    let p = fixture();
    let (before, after) = (find(&p.before, REPORTS), find(&p.after, REPORTS));
    assert_eq!(before.at_rest_encryption, Some(false));
    assert_eq!(after.at_rest_encryption, Some(true));
    assert_eq!(
        before.transit_encryption_mode,
        Some(TransitEncryptionMode::Preferred)
    );
    assert_eq!(
        before.arn,
        "arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:reports"
    );
    assert_eq!(after.arn, format!("terraform:{REPORTS}"));
    assert_eq!(before.engine_version.as_deref(), Some("8.0.1"));
    assert_eq!(after.engine, "valkey");
    assert_eq!(after.auth_token_enabled, Some(false));
    // A security group of another module, by id; the VPC a data source of the prior state
    // describes, every associated block.
    assert_eq!(after.security_groups[0].id, "sg-0legacy000000000001");
    assert_eq!(after.security_groups[0].state, LookupState::Found);
    let vpc = after.vpc.as_ref().unwrap();
    assert_eq!(vpc.id, "vpc-0legacy0000000001");
    assert_eq!(vpc.ipv4_cidr_blocks, ["172.16.0.0/16", "172.17.0.0/16"]);
    let pg = after.parameter_group.as_ref().unwrap();
    assert_eq!(
        (pg.family.as_deref(), pg.cluster_enabled.as_deref(), pg.is_default),
        (Some("valkey8"), Some("no"), Some(true))
    );
    assert_eq!(findings(after)["no-public-ingress"].0, Status::Fail);
    let legacy = find(&p.after, LEGACY);
    assert_eq!(legacy.snapshot_retention_days, Some(3));
    assert_eq!(find(&p.before, LEGACY).snapshot_retention_days, Some(0));
    assert_eq!(legacy.at_rest_encryption, Some(false));
    assert_eq!(legacy.auto_minor_version_upgrade, Some(false));
    assert_eq!(
        legacy.vpc.as_ref().map(|v| v.id.as_str()),
        Some("vpc-0legacy0000000001")
    );
    assert_eq!(
        legacy.parameter_group.as_ref().and_then(|p| p.family.as_deref()),
        Some("redis6.x")
    );
    let node = &legacy.node_groups[0].members[0];
    assert_eq!(
        (
            node.cache_cluster_id.as_str(),
            node.cache_node_id.as_deref(),
            node.availability_zone.as_deref()
        ),
        ("legacy-redis", Some("0001"), Some("eu-west-1a"))
    );
}

#[test]
fn a_module_variable_is_followed_to_the_resource_passed_in() {
    let p = fixture();
    let d = find(&p.after, SESSIONS);
    assert_eq!(d.user_group_ids, ["sessions-app"]);
    assert_eq!(d.region, "eu-west-1");
    assert_eq!(d.kms_key_id, None, "`\"\"` is no key");
    assert!(!unknown(d, "kms_key_id"));
    // The security group is not in the plan: unknown, so the network rules cannot decide.
    assert_eq!(d.security_groups[0].state, LookupState::Unknown);
    let f = findings(d);
    assert_eq!(f["no-public-ingress"].0, Status::Error);
    assert_eq!(f["auth-required"].0, Status::Pass);
    assert_eq!(find(&p.before, SESSIONS).user_group_ids, Vec::<String>::new());
}

#[test]
fn a_collected_inventory_supplies_what_the_plan_only_references() {
    let mut extra = Inventory::new();
    let mut known = find(&fixture().after, SESSIONS).clone();
    known.security_groups[0].state = LookupState::Found;
    known.security_groups[0].ingress = vec![network::permission(
        "tcp",
        Some(6379),
        Some(6379),
        vec!["0.0.0.0/0".into()],
        vec![],
        vec![],
        vec![],
    )];
    extra.deployments.push(known);
    let p = read(FIXTURE, "plan.json", Some(&extra)).unwrap();
    let d = find(&p.after, SESSIONS);
    assert_eq!(d.security_groups[0].state, LookupState::Found);
    assert_eq!(findings(d)["no-public-ingress"].0, Status::Fail);
}

/// A plan of one replication group being created, with `after`, `after_unknown` and the
/// configuration's expressions for it.
fn one(after: Value, after_unknown: Value, expressions: Value) -> Deployment {
    let plan = json!({
        "format_version": "1.2",
        "resource_changes": [{
            "address": "aws_elasticache_replication_group.x", "mode": "managed",
            "type": "aws_elasticache_replication_group", "name": "x",
            "change": {"actions": ["create"], "before": null, "after": after, "after_unknown": after_unknown,
                       "after_sensitive": {"auth_token": true}}
        }],
        "configuration": {"root_module": {"resources": [{
            "address": "aws_elasticache_replication_group.x", "mode": "managed",
            "type": "aws_elasticache_replication_group", "name": "x", "expressions": expressions
        }]}}
    });
    let mut p = read(&plan.to_string(), "plan.json", None).unwrap();
    p.after.deployments.remove(0)
}

#[test]
fn booleans_written_as_strings_and_empty_strings_for_unset() {
    let d = one(
        json!({"replication_group_id": "x", "engine": "redis", "auto_minor_version_upgrade": "true",
               "at_rest_encryption_enabled": "false", "transit_encryption_enabled": "true",
               "kms_key_id": "", "auth_token": "", "transit_encryption_mode": "", "snapshot_window": ""}),
        json!({}),
        json!({}),
    );
    assert_eq!(d.auto_minor_version_upgrade, Some(true));
    assert_eq!(d.at_rest_encryption, Some(false));
    assert_eq!(d.transit_encryption, Some(true));
    assert_eq!((d.kms_key_id.as_ref(), d.snapshot_window.as_ref()), (None, None));
    assert_eq!(
        d.auth_token_enabled,
        Some(false),
        "`auth_token = \"\"` is no token"
    );
    assert_eq!(d.transit_encryption_mode, None);
    for fact in [
        "kms_key_id",
        "auth_token_enabled",
        "snapshot_window",
        "at_rest_encryption",
    ] {
        assert!(!unknown(&d, fact), "{fact}");
    }
    let d = one(
        json!({"replication_group_id": "x", "at_rest_encryption_enabled": true, "transit_encryption_enabled": true,
               "transit_encryption_mode": "preferred"}),
        json!({}),
        json!({}),
    );
    assert_eq!(d.at_rest_encryption, Some(true));
    assert_eq!(d.transit_encryption_mode, Some(TransitEncryptionMode::Preferred));
    assert_eq!(findings(&d)["in-transit-encryption-required"].0, Status::Fail);
}

#[test]
fn valkey_is_redis_compatible() {
    let d = one(
        json!({"replication_group_id": "x", "engine": "valkey", "engine_version": "8.0", "auth_token": "",
               "user_group_ids": ["app"], "snapshot_retention_limit": 7}),
        json!({}),
        json!({}),
    );
    assert_eq!(d.engine, "valkey");
    let f = findings(&d);
    assert_eq!(f["auth-required"].0, Status::Pass);
    assert_eq!(f["snapshot-retention"].0, Status::Pass);
    assert_eq!(f["supported-engine-version"].0, Status::Pass);
}

#[test]
fn every_shape_of_after_unknown() {
    let d = one(
        json!({"replication_group_id": "x", "security_group_ids": ["sg-1"], "user_group_ids": [],
               "log_delivery_configuration": [{"destination": "slow", "destination_type": "cloudwatch-logs", "log_format": "json", "log_type": "slow-log"}],
               "num_cache_clusters": 2}),
        json!({"kms_key_id": true, "security_group_ids": [false], "user_group_ids": [],
               "log_delivery_configuration": [{}], "at_rest_encryption_enabled": true, "member_clusters": true}),
        json!({"kms_key_id": {"references": ["local.key"]}}),
    );
    // `true`, with nothing in the configuration to trace: unknown, never read from `after`.
    assert!(unknown(&d, "kms_key_id") && unknown(&d, "at_rest_encryption"));
    assert_eq!(d.at_rest_encryption, None);
    assert_eq!(findings(&d)["at-rest-encryption"].0, Status::Error);
    // `[false]`, `[]`, `[{}]`: known.
    assert_eq!(d.security_groups[0].id, "sg-1");
    assert!(d.user_group_ids.is_empty() && !unknown(&d, "user_group_ids"));
    assert_eq!(d.log_delivery[0].log_type, "slow-log");
    assert_eq!(node_ids(&d), ["x-001", "x-002"]);
    // A value `after` carries where `after_unknown` says unknown is not trusted.
    let d = one(
        json!({"replication_group_id": "x", "at_rest_encryption_enabled": false, "security_group_ids": ["sg-1"]}),
        json!({"at_rest_encryption_enabled": true, "security_group_ids": [true]}),
        json!({"security_group_ids": {"references": ["local.groups"]}}),
    );
    assert_eq!(d.at_rest_encryption, None);
    assert!(unknown(&d, "security_groups"));
    assert_eq!(d.security_groups[0].state, LookupState::Unknown);
    assert_eq!(findings(&d)["ingress-within-vpc"].0, Status::Error);
}

#[test]
fn computed_attributes_the_configuration_does_not_set_are_empty() {
    // The provider computes `kms_key_id`, so a plan has it "known after apply"; unset in the
    // configuration, AWS uses its own key: no CMK, and no gap.
    let d = one(
        json!({"replication_group_id": "x"}),
        json!({"kms_key_id": true, "auth_token": true, "user_group_ids": true, "port": true}),
        json!({"replication_group_id": {"constant_value": "x"}}),
    );
    assert_eq!(d.kms_key_id, None);
    assert_eq!((d.port, d.cache_port()), (None, Some(6379)));
    assert!(!unknown(&d, "port"));
    assert_eq!(d.auth_token_enabled, Some(false));
    assert!(
        !unknown(&d, "kms_key_id") && !unknown(&d, "auth_token_enabled") && !unknown(&d, "user_group_ids")
    );
    assert_eq!(findings(&d)["auth-required"].0, Status::Fail);
    // Set from something the plan does not know: unknown, so `auth-required` cannot decide.
    let d = one(
        json!({"replication_group_id": "x"}),
        json!({"auth_token": true, "user_group_ids": true}),
        json!({"auth_token": {"references": ["local.token"]}, "user_group_ids": {"references": ["local.groups"]}}),
    );
    assert_eq!(d.auth_token_enabled, None);
    assert!(unknown(&d, "auth_token_enabled") && unknown(&d, "user_group_ids"));
    assert_eq!(findings(&d)["auth-required"].0, Status::Error);
}

#[test]
fn unknowns_resolve_to_constants_of_the_configuration() {
    let d = one(
        json!({"replication_group_id": "x"}),
        json!({"snapshot_retention_limit": true, "transit_encryption_enabled": true}),
        json!({"snapshot_retention_limit": {"constant_value": 5}, "transit_encryption_enabled": {"constant_value": true}}),
    );
    assert_eq!(d.snapshot_retention_days, Some(5));
    assert_eq!(d.transit_encryption, Some(true));
}

#[test]
fn secrets_never_reach_the_inventory() {
    let token = "tok-5a1e-do-not-leak-7f3e";
    let group = json!({"replication_group_id": "x", "engine": "redis", "auth_token": token,
                       "tags_all": {"owner": "team", "secret": token}});
    let plan = json!({
        "format_version": "1.2",
        "resource_changes": [{
            "address": "aws_elasticache_replication_group.x", "mode": "managed",
            "type": "aws_elasticache_replication_group", "name": "x",
            "change": {"actions": ["update"], "before": group, "after": group, "after_unknown": {},
                       "before_sensitive": {"auth_token": true, "tags_all": {"secret": true}},
                       "after_sensitive": {"auth_token": true, "tags_all": {"secret": true}}}
        }]
    });
    let p = read(&plan.to_string(), "plan.json", None).unwrap();
    for inv in [&p.after, &p.before] {
        let d = &inv.deployments[0];
        assert_eq!(d.auth_token_enabled, Some(true));
        assert_eq!(d.tags.as_ref().unwrap()["secret"], "(sensitive)");
        let text = serde_json::to_string(inv).unwrap();
        assert!(!text.contains(token), "{text}");
        assert!(!text.contains("do-not-leak"));
    }
    let raw = json!({"version": 4, "terraform_version": "1.9.5", "resources": [{
        "mode": "managed", "type": "aws_elasticache_replication_group", "name": "x", "provider": "p",
        "instances": [{"attributes": group, "sensitive_attributes": [[{"type": "get_attr", "value": "auth_token"}],
                                                                   [{"type": "get_attr", "value": "tags_all"}, {"type": "index", "value": {"value": "secret", "type": "string"}}]]}]
    }]});
    let p = read(&raw.to_string(), "terraform.tfstate", None).unwrap();
    assert_eq!(p.kind, DocumentKind::RawState);
    assert!(!serde_json::to_string(&p.after).unwrap().contains(token));
    assert!(p.before.deployments.is_empty());
    assert_eq!(p.actions["aws_elasticache_replication_group.x"], Action::NoOp);
}

#[test]
fn a_state_gives_one_inventory() {
    let state = include_str!("../../tests/fixtures/terraform/state.json");
    let p = read(state, "state.json", None).unwrap();
    assert_eq!(p.kind, DocumentKind::State);
    assert!(p.before.deployments.is_empty() && p.configuration.is_none());
    let orders = find(&p.after, "aws_elasticache_replication_group.orders");
    assert_eq!(
        orders.arn,
        "arn:aws:elasticache:us-east-1:111111111111:replicationgroup:orders-cache"
    );
    assert_eq!(
        (orders.region.as_str(), orders.account_id.as_str()),
        ("us-east-1", "111111111111")
    );
    // The member cluster resource joins its group.
    assert!(node_ids(orders).contains(&"orders-cache-001"));
    assert!(!p.actions.contains_key("aws_elasticache_cluster.orders_member"));
    let text = serde_json::to_string(&p.after).unwrap();
    assert!(!text.contains("do-not-print-this-auth-token"));
}

#[test]
fn hostile_shapes_are_read_without_panicking() {
    let group = "aws_elasticache_replication_group";
    let docs = [
        json!({"format_version": "1.2", "resource_changes": [1, "x", {"address": "a", "type": group, "change": "no"},
            {"address": "module.x.aws_elasticache_replication_group.y", "module_address": "garbage", "type": group,
             "name": "y", "change": {"actions": "create",
                "after": {"replication_group_id": 5, "security_group_ids": "sg", "num_cache_clusters": 1e12,
                          "replicas_per_node_group": -3, "tags_all": [1], "ingress": {"a": 1}},
                "after_unknown": {"security_group_ids": true, "auth_token": true, "tags_all": "yes"}}}],
            "configuration": {"root_module": {"resources": [{"address": "aws_elasticache_replication_group.y",
                "expressions": {"security_group_ids": {"references": ["var.x", "module.m.o", "data.x", "aws_security_group", "module"]},
                                "auth_token": {"references": [1, null]}}}], "module_calls": 3},
                "provider_config": []}}),
        json!({"version": 4, "terraform_version": "1", "resources": [{"type": group, "name": "n", "instances": "all"},
            {"type": group, "name": "m", "module": 7, "instances": [{"index_key": {"a": 1}, "attributes": null, "sensitive_attributes": "x"}]}]}),
        json!({"format_version": "1.0", "values": {"root_module": {"resources": {"a": 1}, "child_modules": [3, {"resources": [{"address": "b", "type": group}]}]}}}),
    ];
    for doc in docs {
        let text = doc.to_string();
        let _ = read(&text, "doc.json", None);
        let _ = state_values(&text, "doc.json");
    }
}

#[test]
fn a_module_output_is_followed_to_the_resource_it_names() {
    let plan = json!({
        "format_version": "1.2",
        "resource_changes": [
            {"address": "module.net.aws_security_group.this", "module_address": "module.net", "mode": "managed",
             "type": "aws_security_group", "name": "this",
             "change": {"actions": ["create"], "before": null,
                        "after": {"name": "cache", "ingress": [{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}]},
                        "after_unknown": {"id": true}}},
            {"address": "aws_elasticache_replication_group.x", "mode": "managed",
             "type": "aws_elasticache_replication_group", "name": "x",
             "change": {"actions": ["create"], "before": null, "after": {"replication_group_id": "x"},
                        "after_unknown": {"security_group_ids": true}}}
        ],
        "configuration": {"root_module": {
            "resources": [{"address": "aws_elasticache_replication_group.x", "mode": "managed",
                           "type": "aws_elasticache_replication_group", "name": "x",
                           "expressions": {"security_group_ids": {"references": ["module.net.cache_sg_id", "module.net"]}}}],
            "module_calls": {"net": {"source": "./net", "module": {
                "outputs": {"cache_sg_id": {"expression": {"references": ["aws_security_group.this.id", "aws_security_group.this"]}}},
                "resources": [{"address": "aws_security_group.this", "mode": "managed", "type": "aws_security_group", "name": "this"}]
            }}}
        }}
    });
    let p = read(&plan.to_string(), "plan.json", None).unwrap();
    let d = &p.after.deployments[0];
    assert_eq!(d.security_groups[0].id, "module.net.aws_security_group.this");
    assert_eq!(d.security_groups[0].state, LookupState::Found);
    // All traffic: no ports, as AWS reports it.
    assert_eq!(d.security_groups[0].ingress[0].protocol, "-1");
    assert_eq!(d.security_groups[0].ingress[0].from_port, None);
    assert_eq!(findings(d)["no-public-ingress"].0, Status::Fail);
}

#[test]
fn subnet_group_vpc_and_alarms_the_plan_only_names_come_from_the_collection() {
    let d = one(
        json!({"replication_group_id": "x", "num_cache_clusters": 1, "security_group_ids": ["sg-1"],
               "subnet_group_name": "sub"}),
        json!({}),
        json!({}),
    );
    assert_eq!(
        d.subnet_group.as_ref().map(|g| g.state),
        Some(LookupState::Unknown)
    );
    assert_eq!(d.vpc, None);
    assert!(d.nodes().all(|n| n.alarms.is_empty()));
    let mut live = d.clone();
    live.security_groups[0].state = LookupState::Found;
    live.subnet_group = Some(crate::inventory::SubnetGroup {
        name: Some("sub".into()),
        state: LookupState::Found,
        vpc_id: Some("vpc-1".into()),
        subnets: Vec::new(),
    });
    live.vpc = Some(crate::inventory::Vpc {
        id: "vpc-1".into(),
        ipv4_cidr_blocks: vec!["10.1.0.0/16".into()],
        ipv6_cidr_blocks: Vec::new(),
    });
    let alarm: crate::inventory::Alarm = serde_json::from_value(json!({
        "name": "x-001-cpu", "namespace": "AWS/ElastiCache", "metric_name": "CPUUtilization",
        "dimensions": {"CacheClusterId": "x-001"}, "actions_enabled": true, "alarm_actions": ["arn:aws:sns:eu-west-1:1:t"]
    }))
    .unwrap();
    live.node_groups[0].members[0].alarms.push(alarm);
    let mut extra = Inventory::new();
    extra.deployments.push(live);
    let plan = json!({
        "format_version": "1.2",
        "resource_changes": [{"address": "aws_elasticache_replication_group.x", "mode": "managed",
            "type": "aws_elasticache_replication_group", "name": "x",
            "change": {"actions": ["create"], "before": null, "after_unknown": {},
                       "after": {"replication_group_id": "x", "num_cache_clusters": 1, "security_group_ids": ["sg-1"],
                                 "subnet_group_name": "sub"}}}]
    });
    let p = read(&plan.to_string(), "plan.json", Some(&extra)).unwrap();
    let d = &p.after.deployments[0];
    assert_eq!(d.security_groups[0].state, LookupState::Found);
    assert_eq!(d.subnet_group.as_ref().map(|g| g.state), Some(LookupState::Found));
    assert_eq!(
        d.vpc.as_ref().map(|v| v.ipv4_cidr_blocks.clone()),
        Some(vec!["10.1.0.0/16".to_string()])
    );
    assert_eq!(d.node_groups[0].members[0].alarms[0].name, "x-001-cpu");
}

#[test]
fn a_memcached_cluster_has_a_node_per_cache_node() {
    let plan = json!({
        "format_version": "1.2",
        "resource_changes": [{"address": "aws_elasticache_cluster.m", "mode": "managed",
            "type": "aws_elasticache_cluster", "name": "m",
            "change": {"actions": ["create"], "before": null,
                       "after": {"cluster_id": "sessions-mc", "engine": "memcached", "num_cache_nodes": 2,
                                 "security_group_ids": ["sg-1"], "preferred_availability_zones": ["eu-west-1a", "eu-west-1b"]},
                       "after_unknown": {"security_group_names": true, "port": true, "security_group_ids": [false]}}}],
        "configuration": {"root_module": {"resources": [{"address": "aws_elasticache_cluster.m", "mode": "managed",
            "type": "aws_elasticache_cluster", "name": "m",
            "expressions": {"security_group_ids": {"constant_value": ["sg-1"]}}}]}}
    });
    let p = read(&plan.to_string(), "plan.json", None).unwrap();
    let d = &p.after.deployments[0];
    assert_eq!(d.kind, crate::inventory::DeploymentKind::CacheCluster);
    assert_eq!(d.at_rest_encryption, Some(false));
    assert_eq!(d.cache_port(), Some(11211));
    let nodes: Vec<(&str, Option<&str>, Option<&str>)> = d
        .nodes()
        .map(|n| {
            (
                n.cache_cluster_id.as_str(),
                n.cache_node_id.as_deref(),
                n.availability_zone.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        nodes,
        [
            ("sessions-mc", Some("0001"), Some("eu-west-1a")),
            ("sessions-mc", Some("0002"), Some("eu-west-1b"))
        ]
    );
    // The EC2-Classic names the configuration does not set are no gap.
    assert!(!unknown(d, "security_groups") && !unknown(d, "port"));
    assert_eq!(findings(d)["at-rest-encryption"].0, Status::NotApplicable);
}
