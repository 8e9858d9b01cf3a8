//! Drift between two inventories: deployments added and removed, and per deployment each
//! changed attribute (path, old value, new value), security-group permissions added and
//! removed, alarms added, removed or disabled. Noise is left out: timestamps that move on their
//! own, statuses in transition, alarm states, and the order of lists AWS does not order.

mod findings;
pub mod terraform;

pub use findings::{
    FindingState, FindingStates, Interner, Reach, compare, composite, finding_states, looks_past_a_gap, mark,
    reach_of, transitions,
};

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::inventory::{CoverageEntry, Deployment, Inventory};
use crate::result::document::{self, Document, ResultError};
use crate::result::{Change, Changed, DeploymentDrift, Identity, InventoryDrift};

/// Lifecycle states a deployment, node or group passes through on its own: a change from or to
/// one of them is not drift.
const TRANSITIONAL: &[&str] = &[
    "creating",
    "modifying",
    "snapshotting",
    "rebooting",
    "rebooting cluster nodes",
    "rebooting cache cluster nodes",
    "backing-up",
    "migrating",
    "applying",
    "enabling",
    "disabling",
];

/// Whether a deployment is on its way out: for drift it is gone (`deleting` is reported once,
/// as a removal, not again when the deployment disappears).
fn going(d: &Deployment) -> bool {
    matches!(d.status.as_deref(), Some("deleting" | "deleted"))
}

/// Fields that change without anyone changing the configuration (a pending modification is
/// reported once it takes effect, as the change of the attribute itself; utilisation is a
/// measurement, not configuration).
const NOISE: &[&str] = &[
    "latest_automatic_snapshot",
    "notes",
    "pending_changes",
    "unknown_facts",
    "utilisation",
    "utilisation_window",
];

/// Fields whose in-between values (`enabling`, `modifying`, ...) are not drift.
const SETTLING: &[&str] = &["status", "automatic_failover"];

/// The key that identifies the elements of a list, by the list's name; lists not named here are
/// sets (their order carries no meaning).
fn identity_key(list: &str) -> Option<&'static str> {
    Some(match list {
        "node_groups" | "security_groups" | "subnets" | "metrics" => "id",
        "members" => "cache_cluster_id",
        "alarms" => "name",
        "log_delivery" => "log_type",
        _ => return None,
    })
}

/// Compares two inventories deployment by deployment (matched by ARN); a deployment being
/// deleted counts as gone.
pub fn diff(old: &Inventory, new: &Inventory) -> InventoryDrift {
    let drift = diff_each::<std::convert::Infallible>(
        old.deployments.len(),
        |i| Ok(Cow::Borrowed(&old.deployments[i])),
        new.deployments.iter().map(|d| Ok(Cow::Borrowed(d))),
        &old.coverage,
        &new.coverage,
    );
    match drift {
        Ok(drift) => drift,
        Err(never) => match never {},
    }
}

/// [`diff`] of deployments `new`, read one after another, against `old`, read by number on
/// demand (twice for those that match): a scan compares itself with a saved inventory without
/// holding either whole. The lists are in ARN order.
pub fn diff_each<'o, 'n, E>(
    old_len: usize,
    old: impl Fn(usize) -> Result<Cow<'o, Deployment>, E>,
    new: impl IntoIterator<Item = Result<Cow<'n, Deployment>, E>>,
    old_coverage: &[CoverageEntry],
    new_coverage: &[CoverageEntry],
) -> Result<InventoryDrift, E> {
    let mut old_by_arn = BTreeMap::new();
    for i in 0..old_len {
        let d = old(i)?;
        if !going(&d) {
            old_by_arn.insert(d.arn.clone(), (i, false));
        }
    }
    let mut drift = InventoryDrift::default();
    // An ARN listed twice is compared once.
    let mut seen = BTreeSet::new();
    for d in new {
        let d = d?;
        if going(&d) || !seen.insert(d.arn.clone()) {
            continue;
        }
        match old_by_arn.get_mut(&d.arn) {
            None => drift.added.push(Identity::from(&*d)),
            Some((i, matched)) => {
                *matched = true;
                let changes = deployment(&*old(*i)?, &d);
                if !changes.is_empty() {
                    drift.changed.push(Changed {
                        deployment: Identity::from(&*d),
                        drift: changes,
                    });
                }
            }
        }
    }
    for (i, _) in old_by_arn.into_values().filter(|(_, matched)| !matched) {
        drift.removed.push(Identity::from(&*old(i)?));
    }
    drift.added.sort();
    drift
        .changed
        .sort_by(|a, b| a.deployment.arn.cmp(&b.deployment.arn));
    Ok(without_unread(drift, old_coverage, new_coverage))
}

/// How one deployment changed.
pub fn deployment(old: &Deployment, new: &Deployment) -> DeploymentDrift {
    // What could not be read on either side is not compared: an unreadable alarm list or
    // security group is not a removal.
    let unknown: BTreeSet<&str> = old
        .unknown_facts
        .iter()
        .chain(&new.unknown_facts)
        .map(String::as_str)
        .collect();
    let unread_groups: BTreeSet<String> = old
        .security_groups
        .iter()
        .chain(&new.security_groups)
        .filter(|g| g.state != crate::inventory::LookupState::Found)
        .map(|g| format!("security_groups[{}]", g.id))
        .collect();
    let old = serde_json::to_value(old).expect("deployments serialize");
    let new = serde_json::to_value(new).expect("deployments serialize");
    let mut changes = Vec::new();
    walk("", None, &old, &new, &mut changes);
    changes.retain(|c| {
        let p = c.path.as_str();
        !(unknown.contains("alarms") && p.contains(".alarms")
            || unknown.contains("security_groups") && p.starts_with("security_groups")
            || unread_groups.iter().any(|g| p.starts_with(g.as_str())))
    });
    let mut drift = DeploymentDrift::default();
    for c in changes {
        classify(c, &mut drift);
    }
    // A permission whose sources changed is removed and added whole; only the sources that
    // differ are drift.
    let removed: BTreeSet<String> = drift.ingress_removed.iter().cloned().collect();
    let added: BTreeSet<String> = drift.ingress_added.iter().cloned().collect();
    drift.ingress_added = added.difference(&removed).cloned().collect();
    drift.ingress_removed = removed.difference(&added).cloned().collect();
    drift
}

/// Sorts a change into the lists a reader looks for first, or the attribute changes.
fn classify(c: Change, drift: &mut DeploymentDrift) {
    // security_groups[sg-1].ingress: a permission added or removed (a set element).
    if let Some(group) = c
        .path
        .strip_prefix("security_groups[")
        .and_then(|p| p.strip_suffix("].ingress"))
    {
        let (list, permission) = if c.old.is_null() {
            (&mut drift.ingress_added, &c.new)
        } else {
            (&mut drift.ingress_removed, &c.old)
        };
        list.extend(
            permission_lines(permission)
                .into_iter()
                .map(|l| format!("{group}: {l}")),
        );
        return;
    }
    if let Some((node, alarm, field)) = alarm_of(&c.path) {
        let what = format!("{node}: {alarm}");
        match field {
            // The path ends at the alarm itself: the whole alarm came or went.
            None if c.old.is_null() => drift.alarms_added.push(what),
            None if c.new.is_null() => drift.alarms_removed.push(what),
            Some("actions_enabled") if c.new == Value::Bool(false) => drift.alarms_disabled.push(what),
            _ => drift.changes.push(c),
        }
        return;
    }
    drift.changes.push(c);
}

/// `(node, alarm)` of a path inside `...members[node].alarms[alarm]`.
/// `(node, alarm, rest)` of a path inside `...members[node].alarms[alarm]`; `rest` is what
/// follows the alarm (`threshold`, `metrics[m1].id`), `None` for the alarm itself.
fn alarm_of(path: &str) -> Option<(&str, &str, Option<&str>)> {
    let (before, after) = path.rsplit_once(".alarms[")?;
    let node = before.rsplit_once("members[")?.1.strip_suffix(']')?;
    let (alarm, rest) = after.split_once(']')?;
    Some((node, alarm, rest.strip_prefix('.')))
}

/// An ingress permission (the inventory's shape) as one line per source, e.g.
/// `tcp/6379 from 10.0.0.0/16`.
pub(crate) fn permission_lines(p: &Value) -> Vec<String> {
    let protocol = p["protocol"].as_str().unwrap_or("?");
    let ports = match (p["from_port"].as_i64(), p["to_port"].as_i64()) {
        _ if protocol == "-1" => "all traffic".to_string(),
        (Some(a), Some(b)) if a == b => format!("{protocol}/{a}"),
        (Some(a), Some(b)) => format!("{protocol}/{a}-{b}"),
        _ => protocol.to_string(),
    };
    let mut lines = Vec::new();
    for key in ["ipv4_ranges", "ipv6_ranges"] {
        for r in p[key].as_array().into_iter().flatten() {
            lines.push(format!("{ports} from {}", r["cidr"].as_str().unwrap_or("?")));
        }
    }
    for key in ["security_groups", "prefix_lists"] {
        for s in p[key].as_array().into_iter().flatten() {
            lines.push(format!("{ports} from {}", s.as_str().unwrap_or("?")));
        }
    }
    if lines.is_empty() {
        lines.push(ports);
    }
    lines
}

fn is_transitional(v: &Value) -> bool {
    v.as_str().is_some_and(|s| TRANSITIONAL.contains(&s))
}

/// Appends the changes between `old` and `new` at `path`; `field` is the last field name.
fn walk(path: &str, field: Option<&str>, old: &Value, new: &Value, out: &mut Vec<Change>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                if NOISE.contains(&key.as_str()) || (key == "state" && path.contains(".alarms[")) {
                    continue;
                }
                let (x, y) = (
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                );
                if SETTLING.contains(&key.as_str()) && (is_transitional(x) || is_transitional(y)) {
                    continue;
                }
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(&child, Some(key), x, y, out);
            }
        }
        (Value::Array(a), Value::Array(b)) => match field.and_then(identity_key) {
            Some(id) => {
                let keyed = |items: &[Value]| -> BTreeMap<String, Value> {
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            (
                                v[id].as_str().map_or_else(|| i.to_string(), str::to_string),
                                v.clone(),
                            )
                        })
                        .collect()
                };
                let (a, b) = (keyed(a), keyed(b));
                let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for k in keys {
                    let (x, y) = (a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null));
                    walk(&format!("{path}[{k}]"), None, x, y, out);
                }
            }
            None => {
                // A set: elements added and removed, whatever the order.
                let canonical = |v: &Value| v.to_string();
                let a_set: BTreeMap<String, &Value> = a.iter().map(|v| (canonical(v), v)).collect();
                let b_set: BTreeMap<String, &Value> = b.iter().map(|v| (canonical(v), v)).collect();
                let scalar = a.iter().chain(b).all(|v| !v.is_object() && !v.is_array());
                if scalar {
                    // Lists of strings read best whole: `[a, b]` → `[a, c]`.
                    if a_set.keys().ne(b_set.keys()) {
                        let sorted = |s: &BTreeMap<String, &Value>| {
                            Value::Array(s.values().map(|v| (*v).clone()).collect())
                        };
                        out.push(Change {
                            path: path.to_string(),
                            old: sorted(&a_set),
                            new: sorted(&b_set),
                        });
                    }
                    return;
                }
                for (k, v) in &a_set {
                    if !b_set.contains_key(k) {
                        out.push(Change {
                            path: path.to_string(),
                            old: (*v).clone(),
                            new: Value::Null,
                        });
                    }
                }
                for (k, v) in &b_set {
                    if !a_set.contains_key(k) {
                        out.push(Change {
                            path: path.to_string(),
                            old: Value::Null,
                            new: (*v).clone(),
                        });
                    }
                }
            }
        },
        _ => out.push(Change {
            path: path.to_string(),
            old: old.clone(),
            new: new.clone(),
        }),
    }
}

/// A document `ecaudit diff` compares: an inventory (`collect`) or a scan result (`scan
/// --format json`).
pub enum Input {
    Inventory(Inventory),
    Scan(Box<Document<'static, FindingStates>>),
}

#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
    #[error(transparent)]
    Result(#[from] ResultError),
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: neither an inventory (`deployments`) nor a scan result (`findings`)")]
    Unknown { file: String },
    #[error("{old} is {old_kind} and {new} is {new_kind}: compare two inventories or two scan results")]
    Mixed {
        old: String,
        old_kind: &'static str,
        new: String,
        new_kind: &'static str,
    },
}

impl Input {
    pub fn kind(&self) -> &'static str {
        match self {
            Input::Inventory(_) => "inventory",
            Input::Scan(_) => "scan",
        }
    }

    /// What it is, in a sentence: `an inventory`, `a scan result`.
    pub fn described(&self) -> &'static str {
        match self {
            Input::Inventory(_) => "an inventory",
            Input::Scan(_) => "a scan result",
        }
    }

    /// Reads `path` (`-`: standard input), telling an inventory from a scan result by its keys.
    pub fn read(path: &std::path::Path) -> Result<Input, DriftError> {
        let file = path.display().to_string();
        let text = crate::inventory::read_text(path)?;
        let invalid = |e: serde_json::Error| invalid_json(&file, &e);
        match document_kind(&text).map_err(invalid)? {
            Some(DocumentKind::Inventory) => {
                Ok(Input::Inventory(crate::inventory::parse_inventory(&text, &file)?))
            }
            Some(DocumentKind::ScanResult) => Ok(Input::Scan(Box::new(document::parse(&text, &file)?))),
            None => Err(DriftError::Unknown { file }),
        }
    }
}

/// A JSON syntax or shape error in `file`, at its line and column.
fn invalid_json(file: &str, e: &serde_json::Error) -> DriftError {
    DriftError::Invalid {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: crate::position::strip_position(&e.to_string()),
    }
}

/// What a JSON document ecaudit wrote is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// It has `deployments` (`collect`, `merge` of inventories).
    Inventory,
    /// It has `findings` (`scan --format json`, `merge` of results).
    ScanResult,
}

/// Tells an inventory from a scan result by its top-level keys (`None`: neither).
pub fn document_kind(text: &str) -> serde_json::Result<Option<DocumentKind>> {
    #[derive(serde::Deserialize)]
    struct Keys {
        #[serde(default)]
        deployments: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        findings: Option<serde::de::IgnoredAny>,
    }
    let keys: Keys = serde_json::from_str(text)?;
    Ok(match (keys.deployments, keys.findings) {
        (Some(_), _) => Some(DocumentKind::Inventory),
        (None, Some(_)) => Some(DocumentKind::ScanResult),
        (None, None) => None,
    })
}

/// Deployments added and removed between two scan results, known from the resources their
/// findings name.
pub fn scan_deployments(
    old: &Document<'static, FindingStates>,
    new: &Document<'static, FindingStates>,
) -> InventoryDrift {
    let (a, b) = (&old.findings.resources, &new.findings.resources);
    let drift = InventoryDrift {
        added: b
            .iter()
            .filter(|(k, _)| !a.contains_key(*k))
            .map(|(_, v)| v.clone())
            .collect(),
        removed: a
            .iter()
            .filter(|(k, _)| !b.contains_key(*k))
            .map(|(_, v)| v.clone())
            .collect(),
        changed: Vec::new(),
        unread: Vec::new(),
    };
    without_unread(drift, &old.coverage, &new.coverage)
}

/// Leaves out deployments added or removed in units either side could not read.
fn without_unread(mut drift: InventoryDrift, old: &[CoverageEntry], new: &[CoverageEntry]) -> InventoryDrift {
    let unread: BTreeSet<(&str, &str)> = old
        .iter()
        .chain(new)
        .filter(|c| c.is_gap())
        .map(|c| (&*c.account_id, &*c.region))
        .collect();
    let read = |d: &Identity| !unread.contains(&(d.account_id.as_str(), d.region.as_str()));
    drift.added.retain(read);
    drift.removed.retain(read);
    drift.unread = unread.iter().map(|(a, r)| format!("{a}/{r}")).collect();
    drift
}

/// A saved scan result as comparing needs it: its findings' states and what it judged.
pub struct SavedStates {
    pub evaluated_at: chrono::DateTime<chrono::Utc>,
    pub reach: Reach,
    pub states: Vec<FindingState>,
}

/// The reach of a saved result: its coverage and the rules it lists.
pub fn reach_of_document<F>(doc: &Document<'static, F>) -> Reach {
    let rules = (!doc.rules.is_empty()).then(|| doc.rules.iter().map(|r| &*r.id));
    Reach::new(&doc.coverage, rules)
}

/// The finding states of the scan result in `path` (a run of `--history`), read as the file is
/// parsed: only each finding's state is held, with the strings findings share held once.
pub fn read_finding_states(path: &std::path::Path) -> Result<SavedStates, DriftError> {
    let doc: Document<'static, FindingStates> = document::read(path)?;
    Ok(SavedStates {
        evaluated_at: doc.scan.evaluated_at,
        reach: reach_of_document(&doc),
        states: doc.findings.states,
    })
}
