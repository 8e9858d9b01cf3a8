//! Which Terraform document this is, and its resources as instances with a before and an after:
//! a plan's resource changes (with the prior state's data sources and unchanged resources), a
//! `terraform show -json` state's values, or a raw state file's instances.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::Action;
use crate::text::excerpt;

/// What a Terraform document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// `terraform show -json PLANFILE` (format_version 1.x).
    Plan,
    /// `terraform show -json` of a state.
    State,
    /// A raw state file, format version 4.
    RawState,
}

impl DocumentKind {
    /// The name results use (`scan.plan.document`).
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Plan => "plan",
            DocumentKind::State => "state",
            DocumentKind::RawState => "raw_state",
        }
    }
}

/// A Terraform document that cannot be judged (exit 2), found before anything else is read.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// Parses, but is not a document ecaudit reads: says what it is and what to do.
    #[error("{file}: {message}")]
    NotTerraform { file: String, message: String },
}

const HOW: &str = "run `terraform show -json PLANFILE > plan.json` (or `tofu show -json`) and pass that file";

/// Whether a resource is managed or a data source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Managed,
    Data,
}

/// One resource instance of the document.
#[derive(Clone, Debug)]
pub struct Resource {
    /// `module.a["k"].aws_x.name[0]`.
    pub address: String,
    /// The module instance it is in (`module.a["k"]`); empty for the root module.
    pub module: String,
    pub mode: Mode,
    /// The resource type, `aws_elasticache_replication_group`.
    pub kind: String,
    pub name: String,
    /// What the plan does to it; `NoOp` in a state.
    pub action: Action,
    /// Its values before the plan; `None` when it does not exist yet (or in a state, where
    /// `after` holds them).
    pub before: Option<Value>,
    /// Its values after apply, or in the state; `None` when it is deleted.
    pub after: Option<Value>,
    /// `after_unknown`: the same shape as `after`, `true` where a value is known only after
    /// apply. `Null` when nothing is unknown.
    pub after_unknown: Value,
    /// `after_sensitive` (a state's `sensitive_values`): `true` where a value is sensitive.
    pub after_sensitive: Value,
    pub before_sensitive: Value,
}

impl Resource {
    /// The address without instance keys, as in the configuration:
    /// `module.a.aws_x.name`.
    pub fn config_address(&self) -> String {
        let mut out = module_calls(&self.module)
            .into_iter()
            .map(|call| format!("module.{call}."))
            .collect::<String>();
        if self.mode == Mode::Data {
            out.push_str("data.");
        }
        out.push_str(&self.kind);
        out.push('.');
        out.push_str(&self.name);
        out
    }
}

/// A parsed document.
#[derive(Clone, Debug)]
pub struct Doc {
    pub kind: DocumentKind,
    /// Every resource instance, in document order; a plan's deposed objects are left out.
    pub resources: Vec<Resource>,
    /// A plan's `configuration`.
    pub configuration: Option<Value>,
    /// A plan's root module input variables (`variables`: name → `{"value": ...}`).
    pub variables: Value,
    /// When the plan was made (`timestamp`, format 1.1 and later).
    pub timestamp: Option<chrono::DateTime<chrono::Utc>>,
}

/// Detects and reads a Terraform document.
pub fn parse(text: &str, file: &str) -> Result<Doc, PlanError> {
    let (kind, mut value) = detect(text, file)?;
    let resources = match kind {
        DocumentKind::Plan => plan_resources(&value),
        DocumentKind::State => {
            let mut out = Vec::new();
            tree_resources(&value["values"]["root_module"], &mut |r, values, sensitive| {
                out.push(Resource {
                    action: Action::NoOp,
                    before: None,
                    after: Some(values.clone()),
                    after_unknown: Value::Null,
                    after_sensitive: sensitive.clone(),
                    before_sensitive: Value::Null,
                    ..r
                })
            });
            out
        }
        DocumentKind::RawState => raw_resources(&value),
    };
    let configuration = match value.get_mut("configuration") {
        Some(c) if c.is_object() => Some(c.take()),
        _ => None,
    };
    let timestamp = value
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    Ok(Doc {
        kind,
        resources,
        timestamp,
        configuration,
        variables: value.get_mut("variables").map(Value::take).unwrap_or(Value::Null),
    })
}

/// The document's resources in the shape of `terraform show -json` of a state
/// (`{"values": {"root_module": ...}}`), whatever the document: what `drift --terraform-state`
/// compares. A plan gives its planned values, a raw state its instances.
pub fn state_values(text: &str, file: &str) -> Result<Value, PlanError> {
    let (kind, mut value) = detect(text, file)?;
    Ok(match kind {
        // An empty workspace's state has no `values`: it declares nothing, as it is.
        DocumentKind::State => value,
        DocumentKind::Plan => {
            let planned = value.get_mut("planned_values").map(Value::take);
            json!({
                "format_version": value["format_version"],
                "values": planned.unwrap_or_else(|| json!({"root_module": {}})),
            })
        }
        DocumentKind::RawState => {
            let resources = raw_resources(&value);
            json!({
                "format_version": "1.0",
                "terraform_version": value["terraform_version"],
                "values": {"root_module": state_tree(&resources)},
            })
        }
    })
}

fn not_terraform(file: &str, message: String) -> PlanError {
    PlanError::NotTerraform {
        file: file.to_string(),
        message,
    }
}

/// The document's kind and its JSON, or why it is none ecaudit reads.
fn detect(text: &str, file: &str) -> Result<(DocumentKind, Value), PlanError> {
    let value: Value = serde_json::from_str(text).map_err(|e| PlanError::Invalid {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: crate::position::strip_position(&e.to_string()),
    })?;
    let Some(top) = value.as_object() else {
        return Err(not_terraform(
            file,
            format!(
                "not a Terraform plan or state (a JSON {}, not an object): {HOW}",
                json_type(&value)
            ),
        ));
    };
    if let Some(version) = top.get("format_version") {
        let shown = version
            .as_str()
            .map_or_else(|| version.to_string(), str::to_string);
        if version.as_str().and_then(|v| v.split('.').next()) != Some("1") {
            return Err(not_terraform(
                file,
                format!(
                    "format_version {} is not supported; this build reads 1.x (Terraform 1.0 or later, OpenTofu)",
                    excerpt(&shown)
                ),
            ));
        }
        let is_plan = [
            "resource_changes",
            "planned_values",
            "prior_state",
            "configuration",
        ]
        .iter()
        .any(|k| top.contains_key(*k));
        if is_plan {
            if top
                .get("resource_changes")
                .is_some_and(|v| !v.is_array() && !v.is_null())
            {
                return Err(not_terraform(
                    file,
                    format!("`resource_changes` is not a list: {HOW}"),
                ));
            }
            return Ok((DocumentKind::Plan, value));
        }
        return match top.get("values") {
            None => Ok((DocumentKind::State, value)),
            Some(v) if v.get("root_module").is_some_and(Value::is_object) => Ok((DocumentKind::State, value)),
            Some(_) => Err(not_terraform(
                file,
                format!("has `values` but no `values.root_module`, so it is not the JSON of a state: {HOW}"),
            )),
        };
    }
    let raw_state = top.contains_key("terraform_version") || top.contains_key("lineage");
    match top.get("version") {
        Some(Value::Number(n)) if raw_state => match n.as_u64() {
            Some(4) => {
                if top
                    .get("resources")
                    .is_some_and(|r| !r.is_array() && !r.is_null())
                {
                    return Err(not_terraform(
                        file,
                        "a state file whose `resources` is not a list".into(),
                    ));
                }
                Ok((DocumentKind::RawState, value))
            }
            Some(v) if v <= 3 => Err(not_terraform(
                file,
                format!(
                    "a state from before Terraform 0.12 (state format version {v}), which ecaudit does not read: upgrade it by running `terraform apply` with Terraform 0.12 or later, then pass the new state (or {})",
                    "`terraform show -json` of it"
                ),
            )),
            _ => Err(not_terraform(
                file,
                format!(
                    "state format version {} is not supported; this build reads version 4",
                    excerpt(&n.to_string())
                ),
            )),
        },
        _ => Err(not_terraform(
            file,
            format!(
                "not a Terraform plan or state (no `format_version`, and not a state file with `version` and `terraform_version`): {HOW}"
            ),
        )),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

fn mode(v: &Value) -> Mode {
    if v.as_str() == Some("data") {
        Mode::Data
    } else {
        Mode::Managed
    }
}

fn string(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// What `change.actions` says the plan does.
fn action(actions: &Value) -> Action {
    let list: Vec<&str> = actions
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match list.as_slice() {
        ["no-op"] => Action::NoOp,
        ["create"] => Action::Create,
        ["read"] => Action::Read,
        ["update"] => Action::Update,
        ["delete", "create"] | ["create", "delete"] => Action::Replace,
        ["delete"] => Action::Delete,
        ["forget"] => Action::Forget,
        // A later minor format version may add actions: whatever it is, it is a change.
        _ => Action::Update,
    }
}

fn present(v: &Value) -> Option<Value> {
    (!v.is_null()).then(|| v.clone())
}

/// A plan's resources: its resource changes, then what its prior state holds that no change
/// names (data sources read while planning, resources left out with `-target`).
fn plan_resources(plan: &Value) -> Vec<Resource> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let changes = plan["resource_changes"].as_array();
    for rc in changes.into_iter().flatten() {
        // A deposed object is an old instance waiting to be destroyed; its address is the new one's.
        if rc.get("deposed").is_some_and(|d| !d.is_null()) {
            continue;
        }
        let (Some(address), Some(kind)) = (rc["address"].as_str(), rc["type"].as_str()) else {
            continue;
        };
        let change = &rc["change"];
        seen.insert(address.to_string());
        out.push(Resource {
            address: address.to_string(),
            module: string(&rc["module_address"]),
            mode: mode(&rc["mode"]),
            kind: kind.to_string(),
            name: string(&rc["name"]),
            action: action(&change["actions"]),
            before: present(&change["before"]),
            after: present(&change["after"]),
            after_unknown: change["after_unknown"].clone(),
            after_sensitive: change["after_sensitive"].clone(),
            before_sensitive: change["before_sensitive"].clone(),
        });
    }
    let prior = &plan["prior_state"]["values"]["root_module"];
    if changes.is_none() {
        // No resource changes (a hand-made or partial plan): its planned values are the after.
        let before = tree_values(prior);
        tree_resources(
            &plan["planned_values"]["root_module"],
            &mut |r, values, sensitive| {
                seen.insert(r.address.clone());
                out.push(Resource {
                    action: Action::NoOp,
                    before: before.get(&r.address).cloned(),
                    after: Some(values.clone()),
                    after_unknown: Value::Null,
                    after_sensitive: sensitive.clone(),
                    before_sensitive: Value::Null,
                    ..r
                })
            },
        );
    }
    tree_resources(prior, &mut |r, values, sensitive| {
        if seen.contains(&r.address) {
            return;
        }
        out.push(Resource {
            action: Action::NoOp,
            before: Some(values.clone()),
            after: Some(values.clone()),
            after_unknown: Value::Null,
            after_sensitive: sensitive.clone(),
            before_sensitive: sensitive.clone(),
            ..r
        })
    });
    out
}

/// Each resource's values in a `values` tree, by address.
fn tree_values(root: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    tree_resources(root, &mut |r, values, _| {
        out.insert(r.address, values.clone());
    });
    out
}

/// Calls `f` with each resource of a `values.root_module` tree (modules included), its values and
/// sensitive values. The resource's change fields are placeholders.
fn tree_resources(root: &Value, f: &mut dyn FnMut(Resource, &Value, &Value)) {
    let mut modules = vec![root];
    while let Some(module) = modules.pop() {
        let module_address = string(&module["address"]);
        for r in module["resources"].as_array().into_iter().flatten() {
            let (Some(address), Some(kind)) = (r["address"].as_str(), r["type"].as_str()) else {
                continue;
            };
            let resource = Resource {
                address: address.to_string(),
                module: module_address.clone(),
                mode: mode(&r["mode"]),
                kind: kind.to_string(),
                name: string(&r["name"]),
                action: Action::NoOp,
                before: None,
                after: None,
                after_unknown: Value::Null,
                after_sensitive: Value::Null,
                before_sensitive: Value::Null,
            };
            f(resource, &r["values"], &r["sensitive_values"]);
        }
        modules.extend(module["child_modules"].as_array().into_iter().flatten().rev());
    }
}

/// An instance key as Terraform writes it in an address: `[0]`, `["key"]`.
fn instance_key(key: &Value) -> String {
    match key {
        Value::Null => String::new(),
        Value::String(s) => format!("[{}]", Value::String(s.clone())),
        other => format!("[{other}]"),
    }
}

/// A raw state's `sensitive_attributes` (paths of steps) as a `sensitive_values` object: each
/// path's top attribute is marked sensitive as a whole, which never shows less than Terraform does.
fn sensitive_values(paths: &Value) -> Value {
    let mut out = Map::new();
    for path in paths.as_array().into_iter().flatten() {
        let first = match path {
            Value::Array(steps) => steps.first(),
            step => Some(step),
        };
        if let Some(name) = first
            .filter(|s| s["type"] == "get_attr")
            .and_then(|s| s["value"].as_str())
        {
            out.insert(name.to_string(), Value::Bool(true));
        }
    }
    Value::Object(out)
}

/// A raw state's resource instances, with their addresses.
fn raw_resources(state: &Value) -> Vec<Resource> {
    let mut out = Vec::new();
    for r in state["resources"].as_array().into_iter().flatten() {
        let (Some(kind), Some(name)) = (r["type"].as_str(), r["name"].as_str()) else {
            continue;
        };
        let module = string(&r["module"]);
        let mode = mode(&r["mode"]);
        let mut base = String::new();
        if !module.is_empty() {
            base.push_str(&module);
            base.push('.');
        }
        if mode == Mode::Data {
            base.push_str("data.");
        }
        base.push_str(kind);
        base.push('.');
        base.push_str(name);
        for instance in r["instances"].as_array().into_iter().flatten() {
            if instance.get("deposed").is_some_and(|d| !d.is_null()) {
                continue;
            }
            out.push(Resource {
                address: format!("{base}{}", instance_key(&instance["index_key"])),
                module: module.clone(),
                mode,
                kind: kind.to_string(),
                name: name.to_string(),
                action: Action::NoOp,
                before: None,
                after: Some(instance["attributes"].clone()),
                after_unknown: Value::Null,
                after_sensitive: sensitive_values(&instance["sensitive_attributes"]),
                before_sensitive: Value::Null,
            });
        }
    }
    out
}

/// Resources as a `values.root_module` tree: each module instance a child of its parent.
fn state_tree(resources: &[Resource]) -> Value {
    let mut by_module: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    by_module.entry(String::new()).or_default();
    for r in resources {
        // Every ancestor module exists in the tree, even one without resources of its own.
        let segments = module_segments(&r.module);
        for n in 1..=segments.len() {
            by_module.entry(segments[..n].join(".")).or_default();
        }
        let mut entry = json!({
            "address": r.address,
            "mode": if r.mode == Mode::Data { "data" } else { "managed" },
            "type": r.kind,
            "name": r.name,
            "values": r.after.clone().unwrap_or(Value::Null),
            "sensitive_values": r.after_sensitive,
        });
        if let Some(i) = r.address.rfind('[').filter(|_| r.address.ends_with(']'))
            && let Ok(key) = serde_json::from_str::<Value>(&r.address[i + 1..r.address.len() - 1])
        {
            entry["index"] = key;
        }
        by_module.entry(r.module.clone()).or_default().push(entry);
    }
    fn build(address: &str, by_module: &BTreeMap<String, Vec<Value>>) -> Value {
        let depth = module_segments(address).len();
        let children: Vec<Value> = by_module
            .keys()
            .filter(|k| !k.is_empty() && module_segments(k).len() == depth + 1 && parent(k) == address)
            .map(|k| build(k, by_module))
            .collect();
        let mut module = json!({"resources": by_module.get(address).cloned().unwrap_or_default()});
        if !address.is_empty() {
            module["address"] = json!(address);
        }
        if !children.is_empty() {
            module["child_modules"] = json!(children);
        }
        module
    }
    build("", &by_module)
}

/// The parent of a module instance address (`module.a.module.b[0]` → `module.a`).
fn parent(module: &str) -> String {
    let segments = module_segments(module);
    segments[..segments.len().saturating_sub(1)].join(".")
}

/// Splits a dotted address at the dots outside instance keys: `module.a["x.y"].aws_b.c` →
/// `module`, `a["x.y"]`, `aws_b`, `c`.
pub fn split_address(address: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut depth, mut quoted, mut escaped) = (0, 0usize, false, false);
    for (i, c) in address.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.saturating_sub(1),
            '.' if depth == 0 && !quoted => {
                parts.push(&address[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !address.is_empty() {
        parts.push(&address[start..]);
    }
    parts
}

/// `module.a.module.b[0]` → `module.a`, `module.b[0]`.
pub fn module_segments(module: &str) -> Vec<String> {
    split_address(module)
        .chunks(2)
        .filter(|pair| pair.len() == 2 && pair[0] == "module")
        .map(|pair| format!("module.{}", pair[1]))
        .collect()
}

/// The module calls of a module instance address, without keys: `module.a["k"].module.b` →
/// `a`, `b`.
pub fn module_calls(module: &str) -> Vec<String> {
    module_segments(module)
        .iter()
        .map(|s| {
            let name = &s["module.".len()..];
            name.split('[').next().unwrap_or(name).to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Result<DocumentKind, String> {
        parse(text, "doc.json").map(|d| d.kind).map_err(|e| e.to_string())
    }

    #[test]
    fn detects_plans_states_and_raw_states() {
        assert_eq!(
            kind(r#"{"format_version":"1.2","resource_changes":[]}"#),
            Ok(DocumentKind::Plan)
        );
        assert_eq!(
            kind(r#"{"format_version":"1.0","planned_values":{}}"#),
            Ok(DocumentKind::Plan)
        );
        assert_eq!(
            kind(r#"{"format_version":"1.0","values":{"root_module":{}}}"#),
            Ok(DocumentKind::State)
        );
        assert_eq!(kind(r#"{"format_version":"1.0"}"#), Ok(DocumentKind::State));
        assert_eq!(
            kind(r#"{"version":4,"terraform_version":"1.9.5","serial":3,"resources":[]}"#),
            Ok(DocumentKind::RawState)
        );
    }

    #[test]
    fn refusals_say_what_the_document_is_and_what_to_do() {
        let err = kind(r#"{"resources": []}"#).unwrap_err();
        assert!(
            err.starts_with("doc.json: not a Terraform plan or state"),
            "{err}"
        );
        assert!(err.contains("terraform show -json PLANFILE > plan.json"), "{err}");
        let err = kind(r#"{"version":3,"terraform_version":"0.11.14","modules":[]}"#).unwrap_err();
        assert!(
            err.contains("a state from before Terraform 0.12 (state format version 3)"),
            "{err}"
        );
        for v in ["2.0", "0.2"] {
            let err = kind(&format!(r#"{{"format_version":"{v}","resource_changes":[]}}"#)).unwrap_err();
            assert!(
                err.contains(&format!(
                    "format_version {v} is not supported; this build reads 1.x"
                )),
                "{err}"
            );
        }
        let err = kind("[1, 2]").unwrap_err();
        assert!(err.contains("a JSON list, not an object"), "{err}");
        let err = kind(r#"{"format_version":"1.0","values":[]}"#).unwrap_err();
        assert!(err.contains("no `values.root_module`"), "{err}");
        // A hostile value is quoted as an excerpt, escaped.
        let err = kind("{\"format_version\":\"9\\u001b[2J\"}").unwrap_err();
        assert!(err.contains("9\\u{1b}[2J"), "{err}");
    }

    #[test]
    fn truncated_json_is_reported_at_its_line_and_column() {
        let err = parse(
            "{\n  \"format_version\": \"1.2\",\n  \"resource_changes\": [\n",
            "plan.json",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("plan.json:4:"), "{err}");
        assert!(err.contains("EOF while parsing"), "{err}");
        assert!(!err.contains(" at line "), "{err}");
    }

    #[test]
    fn raw_state_instances_get_their_addresses() {
        let raw = r#"{"version":4,"terraform_version":"1.9.5","resources":[
          {"mode":"managed","type":"aws_security_group","name":"a","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]",
           "instances":[{"attributes":{"id":"sg-1"}}]},
          {"module":"module.a.module.b","mode":"managed","type":"aws_vpc","name":"v","provider":"p",
           "instances":[{"index_key":0,"attributes":{"id":"vpc-0"}},{"index_key":1,"attributes":{"id":"vpc-1"}},
                        {"index_key":1,"deposed":"00000001","attributes":{"id":"vpc-old"}}]},
          {"module":"module.c[\"x.y\"]","mode":"data","type":"aws_vpc","name":"d","provider":"p",
           "instances":[{"index_key":"k\"q","attributes":{"id":"vpc-d","auth_token":"s"},
                         "sensitive_attributes":[[{"type":"get_attr","value":"auth_token"}]]}]}
        ]}"#;
        let doc = parse(raw, "terraform.tfstate").unwrap();
        let addresses: Vec<&str> = doc.resources.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(
            addresses,
            [
                "aws_security_group.a",
                "module.a.module.b.aws_vpc.v[0]",
                "module.a.module.b.aws_vpc.v[1]",
                r#"module.c["x.y"].data.aws_vpc.d["k\"q"]"#,
            ]
        );
        assert_eq!(doc.resources[3].config_address(), "module.c.data.aws_vpc.d");
        assert_eq!(doc.resources[3].after_sensitive, json!({"auth_token": true}));
        let values = state_values(raw, "terraform.tfstate").unwrap();
        let root = &values["values"]["root_module"];
        assert_eq!(root["resources"][0]["address"], "aws_security_group.a");
        let a = &root["child_modules"][0];
        assert_eq!(a["address"], "module.a");
        assert_eq!(a["child_modules"][0]["address"], "module.a.module.b");
        assert_eq!(a["child_modules"][0]["resources"][1]["index"], 1);
        assert_eq!(a["child_modules"][0]["resources"][1]["values"]["id"], "vpc-1");
        assert_eq!(root["child_modules"][1]["resources"][0]["index"], "k\"q");
    }

    #[test]
    fn a_plans_state_values_are_its_planned_values() {
        let plan = r#"{"format_version":"1.2","planned_values":{"root_module":{"resources":[{"address":"a.b","type":"a","values":{"x":1}}]}},"resource_changes":[]}"#;
        let v = state_values(plan, "p").unwrap();
        assert_eq!(v["values"]["root_module"]["resources"][0]["values"]["x"], 1);
        let state = r#"{"format_version":"1.0"}"#;
        assert_eq!(
            state_values(state, "s").unwrap(),
            json!({"format_version": "1.0"})
        );
    }

    #[test]
    fn actions() {
        for (list, want) in [
            (json!(["no-op"]), Action::NoOp),
            (json!(["create"]), Action::Create),
            (json!(["update"]), Action::Update),
            (json!(["delete", "create"]), Action::Replace),
            (json!(["create", "delete"]), Action::Replace),
            (json!(["delete"]), Action::Delete),
            (json!(["read"]), Action::Read),
            (json!(["forget"]), Action::Forget),
        ] {
            assert_eq!(action(&list), want, "{list}");
        }
    }

    #[test]
    fn addresses_split_outside_keys() {
        assert_eq!(
            split_address(r#"module.a["x.y"].module.b[0].aws_c.d"#),
            [r#"module"#, r#"a["x.y"]"#, "module", "b[0]", "aws_c", "d"]
        );
        assert_eq!(module_calls(r#"module.a["x.y"].module.b[0]"#), ["a", "b"]);
        assert_eq!(parent("module.a.module.b[0]"), "module.a");
        assert_eq!(parent("module.a"), "");
    }
}
