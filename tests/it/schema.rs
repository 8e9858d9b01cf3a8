//! The committed JSON Schema of the inventory is the one the model generates, and the demo and
//! fixture inventories conform to it.
use crate::common;

use common::*;
use ecaudit::inventory::Inventory;

fn generated() -> String {
    serde_json::to_string_pretty(&Inventory::json_schema()).unwrap() + "\n"
}

#[test]
fn committed_inventory_schema_matches_the_model() {
    let path = repo_path("docs/inventory.schema.json");
    if std::env::var_os("ECAUDIT_BLESS").is_some() {
        std::fs::write(&path, generated()).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated(),
        "docs/inventory.schema.json is stale; regenerate it with `ECAUDIT_BLESS=1 cargo test --test it schema::`"
    );
}

#[test]
fn demo_and_fixture_inventories_conform_to_the_schema() {
    let schema: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut documents = vec![(
        "examples/fleet.json".to_string(),
        serde_json::from_str(&std::fs::read_to_string(repo_path("examples/fleet.json")).unwrap()).unwrap(),
    )];
    for name in [
        "replication-group",
        "cluster-mode-enabled",
        "serverless",
        "memcached",
        "standalone",
    ] {
        documents.push((name.to_string(), inventory(vec![fixture(name)])));
    }
    for (name, doc) in documents {
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{name} does not conform:\n{}",
            errors.join("\n")
        );
    }
}

#[test]
fn the_schema_rejects_what_the_loader_rejects() {
    let schema: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut missing_arn = inventory(vec![fixture("replication-group")]);
    missing_arn["deployments"][0]
        .as_object_mut()
        .unwrap()
        .remove("arn");
    assert!(!validator.is_valid(&missing_arn));
    let mut unknown_field = inventory(vec![fixture("replication-group")]);
    unknown_field["deployments"][0]["colour"] = serde_json::json!("blue");
    assert!(!validator.is_valid(&unknown_field));
    let mut bad_kind = inventory(vec![fixture("replication-group")]);
    bad_kind["deployments"][0]["kind"] = serde_json::json!("cluster");
    assert!(!validator.is_valid(&bad_kind));
}
