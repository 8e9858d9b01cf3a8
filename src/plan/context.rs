//! What building deployments from one side of a Terraform document needs: the side's resources
//! with their resolver ([`Cx`]), readers of attributes that trace unknown values through the
//! configuration, and how a fact the document leaves unknown is recorded ([`gap`]).

use std::cell::OnceCell;
use std::collections::BTreeMap;

use serde_json::Value;

use super::document::{Doc, Mode};
use super::resolve::{Node, Obj, Resolver, Target, Unknown, tf_bool};
use crate::arn::Arn;
use crate::inventory::{
    Deployment, DeploymentKind, IngressPermission, Inventory, LogDelivery, Node as CacheNode,
    NotificationTopic,
};

/// A rule resource's address and the permission it adds (or why that is unknown).
pub(super) type RuleIngress = (String, Result<IngressPermission, Gap>);

/// What an id attribute names: an id, or a resource of the plan (whose id may not be known yet).
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Ref {
    Id(String),
    Resource(usize),
}

/// Ingress rule resources by the security group they add to (its id, or its address while the
/// id is unknown), and those whose group cannot be told.
#[derive(Default)]
pub(super) struct Rules {
    pub(super) by_group: BTreeMap<String, Vec<RuleIngress>>,
    pub(super) orphans: Vec<String>,
}

pub(super) static NULL: Value = Value::Null;

/// Why a fact is not in the inventory although the document sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Gap {
    /// Known only after apply, and not traceable through the configuration.
    Unknown,
    /// Marked sensitive: never copied.
    Sensitive,
}

impl From<Unknown> for Gap {
    fn from(_: Unknown) -> Self {
        Gap::Unknown
    }
}

/// One side of a document (the deployments before, or after, the plan) being turned into
/// deployments.
pub(super) struct Cx<'a> {
    pub side: &'a [Obj<'a>],
    pub res: Resolver<'a>,
    pub extra: Option<&'a Inventory>,
    /// The ingress rule resources, gathered once.
    pub rules: OnceCell<Rules>,
    pub(super) doc: &'a Doc,
}

/// Records a fact the document leaves unknown on a deployment: named in `unknown_facts`, said in
/// `notes`.
pub(super) fn gap(d: &mut Deployment, fact: &str, what: &str, why: Gap) {
    let because = match why {
        Gap::Unknown => "known only after apply",
        Gap::Sensitive => "sensitive, so not copied",
    };
    if !d.unknown_facts.iter().any(|f| f == fact) {
        d.unknown_facts.push(fact.to_string());
    }
    d.notes.push(format!("{what} is {because}"));
}

impl<'a> Cx<'a> {
    pub fn node(&self, i: usize) -> Node<'a> {
        self.side[i].node
    }

    pub fn kind(&self, i: usize) -> &'a str {
        &self.side[i].r.kind
    }

    pub fn address(&self, i: usize) -> &'a str {
        &self.side[i].r.address
    }

    /// Side resources of a type, in document order.
    pub fn of_type(&self, kind: &'a str) -> impl Iterator<Item = usize> + 'a {
        let side = self.side;
        (0..side.len()).filter(move |i| side[*i].r.kind == kind && side[*i].r.mode == Mode::Managed)
    }

    /// A string attribute of resource `i`: as `after` has it, else traced through the
    /// configuration to a constant or to a resource's known attribute; with `address_ok`, a
    /// resource the plan creates stands for its own value by its address (a KMS key, a topic).
    pub fn string(&self, i: usize, attribute: &str, address_ok: bool) -> Result<Option<String>, Gap> {
        let node = self.node(i).get(attribute);
        if node.sensitive() {
            return Err(Gap::Sensitive);
        }
        match node.str() {
            Ok(s) => Ok(s.map(str::to_string)),
            Err(Unknown) if self.unset_unless_configured(i, attribute) => Ok(None),
            Err(Unknown) => {
                let targets = self.res.attribute(i, attribute).ok_or(Gap::Unknown)?;
                let [target] = targets.as_slice() else {
                    return Err(Gap::Unknown);
                };
                self.target_string(target, address_ok)
            }
        }
    }

    fn target_string(&self, target: &Target, address_ok: bool) -> Result<Option<String>, Gap> {
        match target {
            Target::Value(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
            Target::Value(Value::Null) => Ok(None),
            Target::Value(_) => Err(Gap::Unknown),
            Target::Resource(j, attribute) => {
                let node = attribute.as_deref().map(|a| self.node(*j).get(a));
                match node.map(|n| (n.sensitive(), n.str())) {
                    Some((false, Ok(Some(s)))) => Ok(Some(s.to_string())),
                    _ if address_ok => Ok(Some(self.address(*j).to_string())),
                    _ => Err(Gap::Unknown),
                }
            }
        }
    }

    /// A boolean attribute (`true`, or `"true"`), traced like [`Cx::string`].
    pub fn boolean(&self, i: usize, attribute: &str) -> Result<Option<bool>, Gap> {
        match self.node(i).get(attribute).boolean() {
            Ok(b) => Ok(b),
            Err(Unknown) => match self.res.attribute(i, attribute).as_deref() {
                Some([Target::Value(v)]) => Ok(tf_bool(v)),
                _ => Err(Gap::Unknown),
            },
        }
    }

    pub fn number(&self, i: usize, attribute: &str) -> Result<Option<f64>, Gap> {
        match self.node(i).get(attribute).number() {
            Ok(n) => Ok(n),
            Err(Unknown) if self.unset_unless_configured(i, attribute) => Ok(None),
            Err(Unknown) => match self.res.attribute(i, attribute).as_deref() {
                Some([Target::Value(v)]) => Ok(v.as_f64()),
                _ => Err(Gap::Unknown),
            },
        }
    }

    /// A list or set of ids (`security_group_ids`, `subnet_ids`): the known elements, and where
    /// some are known only after apply, what the configuration's references lead to.
    pub fn refs(&self, i: usize, attribute: &str) -> Result<Vec<Ref>, Gap> {
        let node = self.node(i).get(attribute);
        let mut out: Vec<Ref> = node
            .known_strings()
            .into_iter()
            .map(|s| Ref::Id(s.to_string()))
            .collect();
        if node.unknown() && !self.unset_unless_configured(i, attribute) {
            let targets = self.res.attribute(i, attribute).ok_or(Gap::Unknown)?;
            let before = out.len();
            for t in targets {
                match t {
                    Target::Resource(j, _) => out.push(Ref::Resource(j)),
                    Target::Value(Value::String(s)) if !s.is_empty() => out.push(Ref::Id(s)),
                    Target::Value(Value::Array(items)) => out.extend(
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .map(|s| Ref::Id(s.to_string())),
                    ),
                    Target::Value(_) => {}
                }
            }
            if out.len() == before {
                return Err(Gap::Unknown);
            }
        }
        Ok(unique(out))
    }

    /// Whether `attribute` is one AWS leaves unset (or at the engine's default) unless told,
    /// and the configuration does not set it: the provider computes it, so a plan says "known
    /// after apply", but it will be empty (no CMK, no topic, no token, no user group, no
    /// EC2-Classic group) or what an empty value already means (the default port).
    fn unset_unless_configured(&self, i: usize, attribute: &str) -> bool {
        const UNSET: &[&str] = &[
            "kms_key_id",
            "notification_topic_arn",
            "auth_token",
            "user_group_ids",
            "user_group_id",
            "global_replication_group_id",
            "security_group_names",
            "port",
        ];
        UNSET.contains(&attribute) && self.res.configured(self.side[i].r, attribute) == Some(false)
    }

    /// The region of a resource's provider configuration, when it is a constant (or a root
    /// variable).
    pub(super) fn provider_region(&self, i: usize) -> Option<String> {
        let configuration = self.doc.configuration.as_ref()?;
        let key = self
            .res
            .config_resource(self.side[i].r)
            .and_then(|c| c["provider_config_key"].as_str())
            .unwrap_or("aws");
        let providers = configuration.get("provider_config")?;
        // A module's resources use the root's provider unless the module configures its own.
        let key = if providers.get(key).is_some() {
            key
        } else {
            key.rsplit(':').next().unwrap_or(key)
        };
        let region = configuration
            .get("provider_config")?
            .get(key)?
            .get("expressions")?
            .get("region")?;
        if let Some(s) = region.get("constant_value").and_then(Value::as_str) {
            return Some(s.to_string());
        }
        let [reference] = region.get("references")?.as_array()?.as_slice() else {
            return None;
        };
        let name = reference.as_str()?.strip_prefix("var.")?;
        self.doc
            .variables
            .get(name)?
            .get("value")?
            .as_str()
            .map(str::to_string)
    }

    /// A deployment with its identity and the facts common to every kind filled in.
    pub(super) fn base(&self, i: usize, kind: DeploymentKind, engine: String) -> Deployment {
        let address = self.address(i).to_string();
        let arn = self.node(i).get("arn").str().ok().flatten().map(str::to_string);
        let parsed = arn.as_deref().and_then(Arn::parse);
        let region = parsed
            .map(|a| a.region.to_string())
            .filter(|r| !r.is_empty())
            .or_else(|| self.provider_region(i))
            .unwrap_or_else(|| "unknown".into());
        let mut d = Deployment {
            kind,
            account_id: parsed.map_or_else(|| "unknown".into(), |a| a.account.to_string()),
            region,
            arn: arn.unwrap_or_else(|| format!("terraform:{address}")),
            id: address,
            engine,
            status: None,
            engine_version: None,
            node_type: None,
            created_at: None,
            port: None,
            endpoint: None,
            cluster_mode: None,
            node_groups: Vec::new(),
            at_rest_encryption: None,
            kms_key_id: None,
            transit_encryption: None,
            transit_encryption_mode: None,
            auth_token_enabled: None,
            user_group_ids: Vec::new(),
            multi_az: None,
            automatic_failover: None,
            pending_changes: BTreeMap::new(),
            snapshot_retention_days: None,
            snapshot_window: None,
            // A runtime fact no document holds.
            latest_automatic_snapshot: None,
            subnet_group: None,
            vpc: None,
            security_groups: Vec::new(),
            parameter_group: None,
            notification_topic: None,
            auto_minor_version_upgrade: None,
            log_delivery: Vec::new(),
            global_datastore: None,
            tags: None,
            notes: Vec::new(),
            unknown_facts: vec!["latest_automatic_snapshot".into()],
            utilisation_window: None,
        };
        if d.engine == "unknown" {
            gap(&mut d, "engine", "`engine`", Gap::Unknown);
        }
        d.tags = self.tags(i, &mut d);
        d.kms_key_id = self.text(&mut d, i, "kms_key_id", "kms_key_id", true);
        d.snapshot_retention_days = self
            .count(&mut d, i, "snapshot_retention_limit", "snapshot_retention_days")
            .and_then(|n| u32::try_from(n).ok());
        d
    }

    /// [`Cx::string`], a gap recorded on `d`.
    pub fn text(
        &self,
        d: &mut Deployment,
        i: usize,
        attribute: &str,
        fact: &str,
        address_ok: bool,
    ) -> Option<String> {
        self.string(i, attribute, address_ok).unwrap_or_else(|why| {
            gap(d, fact, &format!("`{attribute}`"), why);
            None
        })
    }

    pub(super) fn flag(&self, d: &mut Deployment, i: usize, attribute: &str, fact: &str) -> Option<bool> {
        self.boolean(i, attribute).unwrap_or_else(|why| {
            gap(d, fact, &format!("`{attribute}`"), why);
            None
        })
    }

    pub(super) fn count(&self, d: &mut Deployment, i: usize, attribute: &str, fact: &str) -> Option<u64> {
        self.number(i, attribute)
            .unwrap_or_else(|why| {
                gap(d, fact, &format!("`{attribute}`"), why);
                None
            })
            .filter(|n| *n >= 0.0 && n.fract() == 0.0)
            .map(|n| n as u64)
    }

    /// `tags_all` (the resource's tags with the provider's `default_tags`), else `tags`. A tag
    /// whose value is known only after apply is present all the same.
    pub(super) fn tags(&self, i: usize, d: &mut Deployment) -> Option<BTreeMap<String, String>> {
        let node = self.node(i);
        let all = node.get("tags_all");
        let chosen = if all.v.is_object() || all.u.is_object() || all.u == &Value::Bool(true) {
            all
        } else {
            node.get("tags")
        };
        if chosen.u == &Value::Bool(true) {
            gap(d, "tags", "`tags_all`", Gap::Unknown);
            return None;
        }
        let mut out = BTreeMap::new();
        let keys = chosen
            .v
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
            .chain(chosen.u.as_object().into_iter().flatten().map(|(k, _)| k));
        for key in keys {
            let value = chosen.get(key);
            let shown = match (value.sensitive(), value.str()) {
                (true, _) => "(sensitive)".to_string(),
                (false, Ok(v)) => v.unwrap_or_default().to_string(),
                (false, Err(Unknown)) => "(known after apply)".to_string(),
            };
            out.insert(key.clone(), shown);
        }
        Some(out)
    }

    /// Whether an AUTH token is set, from the presence of `auth_token` (never its value).
    pub(super) fn auth_token(&self, d: &mut Deployment, i: usize) -> Option<bool> {
        let node = self.node(i).get("auth_token");
        if !node.unknown() || self.unset_unless_configured(i, "auth_token") {
            return Some(node.v.as_str().is_some_and(|t| !t.is_empty()));
        }
        // A token made by another resource (`random_password.x.result`), or a variable's value,
        // will be set; only whether it is, never the value, is kept.
        match self.res.attribute(i, "auth_token").as_deref() {
            Some(targets) if targets.iter().any(|t| matches!(t, Target::Resource(..))) => Some(true),
            Some([Target::Value(v)]) if v.is_null() || v.is_string() => {
                Some(v.as_str().is_some_and(|t| !t.is_empty()))
            }
            _ => {
                gap(
                    d,
                    "auth_token_enabled",
                    "whether `auth_token` is set",
                    Gap::Unknown,
                );
                None
            }
        }
    }

    pub(super) fn engine(&self, i: usize, default: &str) -> String {
        match self.string(i, "engine", false) {
            Ok(Some(e)) => e,
            Ok(None) => default.to_string(),
            Err(_) => "unknown".to_string(),
        }
    }

    pub(super) fn engine_version(&self, d: &mut Deployment, i: usize) -> Option<String> {
        match self.node(i).get("engine_version_actual").str() {
            Ok(Some(v)) => Some(v.to_string()),
            _ => self.text(d, i, "engine_version", "engine_version", false),
        }
    }

    pub(super) fn port(&self, d: &mut Deployment, i: usize) -> Option<u16> {
        self.count(d, i, "port", "port")
            .and_then(|p| u16::try_from(p).ok())
    }

    pub(super) fn log_delivery(&self, d: &mut Deployment, i: usize) -> Vec<LogDelivery> {
        let node = self.node(i).get("log_delivery_configuration");
        if node.unknown() {
            gap(d, "log_delivery", "`log_delivery_configuration`", Gap::Unknown);
        }
        node.items()
            .into_iter()
            .filter_map(|l| {
                let text = |k: &str| l.get(k).str().ok().flatten().map(str::to_string);
                Some(LogDelivery {
                    log_type: text("log_type")?,
                    destination_type: text("destination_type"),
                    destination: text("destination"),
                    format: text("log_format"),
                    status: None,
                })
            })
            .collect()
    }

    pub(super) fn notification_topic(&self, d: &mut Deployment, i: usize) -> Option<NotificationTopic> {
        let arn = self.text(d, i, "notification_topic_arn", "notification_topic", true)?;
        // A topic Terraform sets is active; AWS reports `inactive` only for one it disabled.
        Some(NotificationTopic {
            arn,
            status: Some("active".into()),
        })
    }
}

pub(super) fn cache_node(cluster_id: &str, node_id: Option<String>, az: Option<&str>) -> CacheNode {
    CacheNode {
        cache_cluster_id: cluster_id.to_string(),
        cache_node_id: node_id,
        availability_zone: az.map(str::to_string),
        role: None,
        status: None,
        alarms: Vec::new(),
        utilisation: None,
    }
}

/// Distinct items, in first-seen order.
pub(super) fn unique<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
