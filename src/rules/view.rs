//! CEL views of the inventory: rules read a deployment through borrowing views, so binding one
//! copies nothing and a comprehension over nodes or alarms clones two pointers per element.
//! Derived facts (ingress reaching the cache port, the metrics an alarm watches on a node, ...)
//! are computed here, in Rust, on access.

use std::collections::BTreeMap;
use std::fmt;

use cel::ExecutionError;
use cel::common::traits::Indexer;
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelTimestamp, Type,
};
use cel::common::value::{CowVal, Val};
use chrono::{DateTime, Utc};

use crate::facts;
use crate::inventory::{
    Alarm, AlarmMetric, AutomaticFailover, ClusterMode, Deployment, DeploymentKind,
    GlobalDatastoreMembership, GlobalRole, IngressPermission, IpRange, LogDelivery, LookupState, MetricStats,
    Node, NodeGroup, NodeRole, NodeUtilisation, NotificationTopic, ParameterGroup, SecurityGroup, Subnet,
    SubnetGroup, TransitEncryptionMode, UtilisationWindow, Vpc,
};

/// A fact as CEL sees it: a value borrowing from the fact.
pub(crate) trait ToCel {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v>;
}

impl ToCel for String {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelString::from(self.as_str()))
    }
}

impl ToCel for str {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelString::from(self))
    }
}

impl ToCel for &str {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelString::from(*self))
    }
}

impl ToCel for bool {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelBool::from(*self))
    }
}

macro_rules! int_to_cel {
    ($($t:ty),*) => {$(
        impl ToCel for $t {
            fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
                Box::new(CelInt::from(i64::try_from(*self).unwrap_or(i64::MAX)))
            }
        }
    )*};
}
int_to_cel!(u16, u32, i32, i64, u64, usize);

impl ToCel for f64 {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelDouble::from(*self))
    }
}

impl ToCel for DateTime<Utc> {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelTimestamp::from(self.fixed_offset()))
    }
}

impl<T: ToCel> ToCel for Option<T> {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        match self {
            Some(v) => v.to_cel(),
            None => Box::new(CelNull),
        }
    }
}

impl<T: ToCel> ToCel for Vec<T> {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelList::from(self.iter().map(|v| v.to_cel()).collect::<Vec<_>>()))
    }
}

impl ToCel for BTreeMap<String, String> {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        let map = self
            .iter()
            .map(|(k, v)| (CelMapKey::from(k.as_str()), v.to_cel()))
            .collect::<std::collections::HashMap<_, _>>();
        Box::new(CelMap::from(map))
    }
}

impl ToCel for serde_json::Value {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        use serde_json::Value as J;
        match self {
            J::Null => Box::new(CelNull),
            J::Bool(b) => b.to_cel(),
            J::Number(n) => match n.as_i64() {
                Some(i) => Box::new(CelInt::from(i)),
                None => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
            },
            J::String(s) => s.to_cel(),
            J::Array(items) => items.to_cel(),
            J::Object(map) => {
                let map = map
                    .iter()
                    .map(|(k, v)| (CelMapKey::from(k.as_str()), v.to_cel()))
                    .collect::<std::collections::HashMap<_, _>>();
                Box::new(CelMap::from(map))
            }
        }
    }
}

/// Enums are CEL strings spelled as in the inventory JSON.
macro_rules! enum_to_cel {
    ($($t:ty => { $($variant:path => $s:literal),* $(,)? }),* $(,)?) => {$(
        impl ToCel for $t {
            fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
                Box::new(CelString::from(match self { $($variant => $s),* }))
            }
        }
    )*};
}

enum_to_cel! {
    DeploymentKind => {
        DeploymentKind::ReplicationGroup => "replication_group",
        DeploymentKind::CacheCluster => "cache_cluster",
        DeploymentKind::ServerlessCache => "serverless_cache",
    },
    ClusterMode => {
        ClusterMode::Enabled => "enabled",
        ClusterMode::Disabled => "disabled",
        ClusterMode::Compatible => "compatible",
    },
    TransitEncryptionMode => {
        TransitEncryptionMode::Preferred => "preferred",
        TransitEncryptionMode::Required => "required",
    },
    AutomaticFailover => {
        AutomaticFailover::Enabled => "enabled",
        AutomaticFailover::Disabled => "disabled",
        AutomaticFailover::Enabling => "enabling",
        AutomaticFailover::Disabling => "disabling",
    },
    NodeRole => { NodeRole::Primary => "primary", NodeRole::Replica => "replica" },
    GlobalRole => { GlobalRole::Primary => "primary", GlobalRole::Secondary => "secondary" },
    LookupState => {
        LookupState::Found => "found",
        LookupState::NotFound => "not_found",
        LookupState::Unknown => "unknown",
    },
}

/// A borrowed inventory object seen from CEL: its fields are read on access.
#[derive(Clone, Copy)]
pub(crate) enum Obj<'v> {
    Deployment(&'v Deployment),
    NodeGroup(&'v NodeGroup),
    Node(&'v Node),
    /// An alarm as seen from the node it watches.
    Alarm(&'v Alarm, &'v Node),
    AlarmMetric(&'v AlarmMetric),
    SubnetGroup(&'v SubnetGroup),
    Subnet(&'v Subnet),
    Vpc(&'v Vpc),
    SecurityGroup(&'v SecurityGroup),
    Ingress(&'v IngressPermission),
    /// An ingress permission that reaches the cache port, with the group it belongs to.
    PortIngress(&'v IngressPermission, &'v SecurityGroup),
    IpRange(&'v IpRange),
    ParameterGroup(&'v ParameterGroup),
    NotificationTopic(&'v NotificationTopic),
    LogDelivery(&'v LogDelivery),
    GlobalDatastore(&'v GlobalDatastoreMembership),
    UtilisationWindow(&'v UtilisationWindow),
    NodeUtilisation(&'v NodeUtilisation),
    MetricStats(&'v MetricStats),
    /// A rule's parameters.
    Params(&'v BTreeMap<String, serde_json::Value>),
}

macro_rules! to_cel_obj {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl ToCel for $t {
            fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
                Box::new(Obj::$variant(self))
            }
        }
    )*};
}

to_cel_obj! {
    Deployment => Deployment,
    NodeGroup => NodeGroup,
    Node => Node,
    AlarmMetric => AlarmMetric,
    SubnetGroup => SubnetGroup,
    Subnet => Subnet,
    Vpc => Vpc,
    SecurityGroup => SecurityGroup,
    IngressPermission => Ingress,
    IpRange => IpRange,
    ParameterGroup => ParameterGroup,
    NotificationTopic => NotificationTopic,
    LogDelivery => LogDelivery,
    GlobalDatastoreMembership => GlobalDatastore,
    UtilisationWindow => UtilisationWindow,
    NodeUtilisation => NodeUtilisation,
    MetricStats => MetricStats,
}

/// `match name { "a" => &o.a, ... }` over a struct's stored fields.
macro_rules! stored {
    ($o:expr, $name:expr; $($field:ident),* $(,)?) => {
        match $name {
            $(stringify!($field) => Some(&$o.$field as &dyn ToCel),)*
            _ => None,
        }
    };
}

/// What a field holds, as far as static checks of rule expressions care: an object (whose own
/// fields can then be checked), a list of objects, or anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    Other,
    Obj(&'static str),
    List(&'static str),
}

/// The fields each object exposes, stored and derived, by CEL type name. `docs/rules.md` lists
/// them; rule validation uses them to reject a misspelt fact before any deployment is evaluated.
pub(crate) mod fields {
    use super::Shape::{self, List, Obj, Other};

    pub const DEPLOYMENT: &[(&str, Shape)] = &[
        ("kind", Other),
        ("id", Other),
        ("arn", Other),
        ("account_id", Other),
        ("region", Other),
        ("engine", Other),
        ("status", Other),
        ("engine_version", Other),
        ("node_type", Other),
        ("created_at", Other),
        ("port", Other),
        ("endpoint", Other),
        ("cluster_mode", Other),
        ("node_groups", List("ecaudit.NodeGroup")),
        ("at_rest_encryption", Other),
        ("kms_key_id", Other),
        ("transit_encryption", Other),
        ("transit_encryption_mode", Other),
        ("auth_token_enabled", Other),
        ("user_group_ids", Other),
        ("multi_az", Other),
        ("automatic_failover", Other),
        ("pending_changes", Other),
        ("snapshot_retention_days", Other),
        ("snapshot_window", Other),
        ("latest_automatic_snapshot", Other),
        ("subnet_group", Obj("ecaudit.SubnetGroup")),
        ("vpc", Obj("ecaudit.Vpc")),
        ("security_groups", List("ecaudit.SecurityGroup")),
        ("parameter_group", Obj("ecaudit.ParameterGroup")),
        ("notification_topic", Obj("ecaudit.NotificationTopic")),
        ("auto_minor_version_upgrade", Other),
        ("log_delivery", List("ecaudit.LogDelivery")),
        ("global_datastore", Obj("ecaudit.GlobalDatastore")),
        ("tags", Other),
        ("notes", Other),
        ("unknown_facts", Other),
        ("utilisation_window", Obj("ecaudit.UtilisationWindow")),
        // derived
        ("nodes", List("ecaudit.Node")),
        ("node_count", Other),
        ("availability_zones", Other),
        ("cache_port", Other),
        ("cache_port_ingress", List("ecaudit.PortIngress")),
        ("cache_port_ipv4_sources", Other),
        ("cache_port_ipv6_sources", Other),
        ("cache_port_prefix_lists", Other),
        ("public_cache_port_sources", Other),
        ("missing_security_groups", Other),
        ("unreadable_security_groups", Other),
        ("min_replicas_per_shard", Other),
        ("min_azs_per_shard", Other),
        ("notifying_metrics_on_every_node", Other),
        ("max_cpu_alarm_threshold", Other),
        ("max_memory_alarm_threshold", Other),
    ];
    pub const NODE_GROUP: &[(&str, Shape)] = &[
        ("id", Other),
        ("status", Other),
        ("members", List("ecaudit.Node")),
        // derived
        ("availability_zones", Other),
        ("replica_count", Other),
    ];
    pub const NODE: &[(&str, Shape)] = &[
        ("cache_cluster_id", Other),
        ("cache_node_id", Other),
        ("availability_zone", Other),
        ("role", Other),
        ("status", Other),
        ("alarms", List("ecaudit.Alarm")),
        ("utilisation", Obj("ecaudit.NodeUtilisation")),
        // derived
        ("name", Other),
        ("watched_metrics", Other),
        ("notifying_metrics", Other),
    ];
    pub const ALARM: &[(&str, Shape)] = &[
        ("name", Other),
        ("arn", Other),
        ("namespace", Other),
        ("metric_name", Other),
        ("dimensions", Other),
        ("metrics", List("ecaudit.AlarmMetric")),
        ("statistic", Other),
        ("threshold", Other),
        ("comparison", Other),
        ("evaluation_periods", Other),
        ("period_seconds", Other),
        ("actions_enabled", Other),
        ("alarm_actions", Other),
        ("state", Other),
        // derived
        ("watched_metrics", Other),
        ("notifies", Other),
        ("high_utilisation_metric", Other),
    ];
    pub const ALARM_METRIC: &[(&str, Shape)] = &[
        ("id", Other),
        ("namespace", Other),
        ("metric_name", Other),
        ("dimensions", Other),
        ("statistic", Other),
        ("expression", Other),
    ];
    pub const SUBNET_GROUP: &[(&str, Shape)] = &[
        ("name", Other),
        ("state", Other),
        ("vpc_id", Other),
        ("subnets", List("ecaudit.Subnet")),
    ];
    pub const SUBNET: &[(&str, Shape)] = &[("id", Other), ("availability_zone", Other)];
    pub const VPC: &[(&str, Shape)] = &[
        ("id", Other),
        ("ipv4_cidr_blocks", Other),
        ("ipv6_cidr_blocks", Other),
    ];
    pub const SECURITY_GROUP: &[(&str, Shape)] = &[
        ("id", Other),
        ("name", Other),
        ("vpc_id", Other),
        ("state", Other),
        ("ingress", List("ecaudit.IngressPermission")),
    ];
    pub const INGRESS: &[(&str, Shape)] = &[
        ("protocol", Other),
        ("from_port", Other),
        ("to_port", Other),
        ("ipv4_ranges", List("ecaudit.IpRange")),
        ("ipv6_ranges", List("ecaudit.IpRange")),
        ("security_groups", Other),
        ("prefix_lists", Other),
    ];
    pub const PORT_INGRESS: &[(&str, Shape)] = &[
        ("group_id", Other),
        ("group_name", Other),
        ("protocol", Other),
        ("from_port", Other),
        ("to_port", Other),
        ("ipv4_ranges", Other),
        ("ipv6_ranges", Other),
        ("security_groups", Other),
        ("prefix_lists", Other),
        ("port_range", Other),
    ];
    pub const IP_RANGE: &[(&str, Shape)] = &[("cidr", Other), ("description", Other)];
    pub const PARAMETER_GROUP: &[(&str, Shape)] = &[
        ("name", Other),
        ("state", Other),
        ("family", Other),
        ("cluster_enabled", Other),
        ("is_default", Other),
        ("status", Other),
    ];
    pub const NOTIFICATION_TOPIC: &[(&str, Shape)] = &[("arn", Other), ("status", Other)];
    pub const LOG_DELIVERY: &[(&str, Shape)] = &[
        ("log_type", Other),
        ("destination_type", Other),
        ("destination", Other),
        ("format", Other),
        ("status", Other),
    ];
    pub const UTILISATION_WINDOW: &[(&str, Shape)] = &[
        ("length", Other),
        ("start", Other),
        ("end", Other),
        ("period_seconds", Other),
    ];
    pub const NODE_UTILISATION: &[(&str, Shape)] = &[
        ("cpu", Obj("ecaudit.MetricStats")),
        ("engine_cpu", Obj("ecaudit.MetricStats")),
        ("memory", Obj("ecaudit.MetricStats")),
        ("evictions", Obj("ecaudit.MetricStats")),
        ("connections", Obj("ecaudit.MetricStats")),
    ];
    pub const METRIC_STATS: &[(&str, Shape)] = &[
        ("datapoints", Other),
        ("average", Other),
        ("p95", Other),
        ("maximum", Other),
        ("sum", Other),
        ("maximum_at", Other),
    ];
    pub const GLOBAL_DATASTORE: &[(&str, Shape)] = &[
        ("id", Other),
        ("role", Other),
        ("at_rest_encryption", Other),
        ("transit_encryption", Other),
        ("auth_token_enabled", Other),
    ];
}

fn list<'v>(items: impl Iterator<Item = Box<dyn Val + 'v>>) -> Box<dyn Val + 'v> {
    Box::new(CelList::from(items.collect::<Vec<_>>()))
}

fn strings<'v>(items: impl Iterator<Item = &'v str>) -> Box<dyn Val + 'v> {
    list(items.map(|s| Box::new(CelString::from(s)) as Box<dyn Val + 'v>))
}

impl<'v> Obj<'v> {
    fn type_name(&self) -> &'static Type {
        static DEPLOYMENT: Type = Type::new_struct_type("ecaudit.Deployment");
        static NODE_GROUP: Type = Type::new_struct_type("ecaudit.NodeGroup");
        static NODE: Type = Type::new_struct_type("ecaudit.Node");
        static ALARM: Type = Type::new_struct_type("ecaudit.Alarm");
        static ALARM_METRIC: Type = Type::new_struct_type("ecaudit.AlarmMetric");
        static SUBNET_GROUP: Type = Type::new_struct_type("ecaudit.SubnetGroup");
        static SUBNET: Type = Type::new_struct_type("ecaudit.Subnet");
        static VPC: Type = Type::new_struct_type("ecaudit.Vpc");
        static SECURITY_GROUP: Type = Type::new_struct_type("ecaudit.SecurityGroup");
        static INGRESS: Type = Type::new_struct_type("ecaudit.IngressPermission");
        static PORT_INGRESS: Type = Type::new_struct_type("ecaudit.PortIngress");
        static IP_RANGE: Type = Type::new_struct_type("ecaudit.IpRange");
        static PARAMETER_GROUP: Type = Type::new_struct_type("ecaudit.ParameterGroup");
        static NOTIFICATION_TOPIC: Type = Type::new_struct_type("ecaudit.NotificationTopic");
        static LOG_DELIVERY: Type = Type::new_struct_type("ecaudit.LogDelivery");
        static GLOBAL_DATASTORE: Type = Type::new_struct_type("ecaudit.GlobalDatastore");
        static UTILISATION_WINDOW: Type = Type::new_struct_type("ecaudit.UtilisationWindow");
        static NODE_UTILISATION: Type = Type::new_struct_type("ecaudit.NodeUtilisation");
        static METRIC_STATS: Type = Type::new_struct_type("ecaudit.MetricStats");
        static PARAMS: Type = Type::new_struct_type("ecaudit.Params");
        match self {
            Obj::Deployment(_) => &DEPLOYMENT,
            Obj::NodeGroup(_) => &NODE_GROUP,
            Obj::Node(_) => &NODE,
            Obj::Alarm(..) => &ALARM,
            Obj::AlarmMetric(_) => &ALARM_METRIC,
            Obj::SubnetGroup(_) => &SUBNET_GROUP,
            Obj::Subnet(_) => &SUBNET,
            Obj::Vpc(_) => &VPC,
            Obj::SecurityGroup(_) => &SECURITY_GROUP,
            Obj::Ingress(_) => &INGRESS,
            Obj::PortIngress(..) => &PORT_INGRESS,
            Obj::IpRange(_) => &IP_RANGE,
            Obj::ParameterGroup(_) => &PARAMETER_GROUP,
            Obj::NotificationTopic(_) => &NOTIFICATION_TOPIC,
            Obj::LogDelivery(_) => &LOG_DELIVERY,
            Obj::GlobalDatastore(_) => &GLOBAL_DATASTORE,
            Obj::UtilisationWindow(_) => &UTILISATION_WINDOW,
            Obj::NodeUtilisation(_) => &NODE_UTILISATION,
            Obj::MetricStats(_) => &METRIC_STATS,
            Obj::Params(_) => &PARAMS,
        }
    }

    /// The value of field `name`, or `None` when the object has no such field.
    fn field(&self, name: &str) -> Option<Box<dyn Val + 'v>> {
        match self.derived(name) {
            Some(Derived::Val(v)) => Some(v),
            Some(Derived::Value(k)) => Some(k.into_cel()),
            None => self.stored(name).map(|f| f.to_cel()),
        }
    }

    /// A field stored in the inventory.
    fn stored(&self, name: &str) -> Option<&'v dyn ToCel> {
        match *self {
            Obj::Deployment(d) => stored!(d, name; kind, id, arn, account_id, region, engine, status,
                engine_version, node_type, created_at, port, endpoint, cluster_mode, node_groups,
                at_rest_encryption, kms_key_id, transit_encryption, transit_encryption_mode,
                auth_token_enabled, user_group_ids, multi_az, automatic_failover, pending_changes,
                snapshot_retention_days, snapshot_window, latest_automatic_snapshot, subnet_group, vpc,
                security_groups, parameter_group, notification_topic, auto_minor_version_upgrade,
                log_delivery, global_datastore, tags, notes, unknown_facts, utilisation_window),
            Obj::NodeGroup(g) => stored!(g, name; id, status),
            Obj::Node(n) => {
                stored!(n, name; cache_cluster_id, cache_node_id, availability_zone, role, status,
                    utilisation)
            }
            Obj::Alarm(a, _) => stored!(a, name; name, arn, namespace, metric_name, dimensions, metrics,
                statistic, threshold, comparison, evaluation_periods, period_seconds, actions_enabled,
                alarm_actions, state),
            Obj::AlarmMetric(m) => {
                stored!(m, name; id, namespace, metric_name, dimensions, statistic, expression)
            }
            Obj::SubnetGroup(s) => stored!(s, name; name, state, vpc_id, subnets),
            Obj::Subnet(s) => stored!(s, name; id, availability_zone),
            Obj::Vpc(v) => stored!(v, name; id, ipv4_cidr_blocks, ipv6_cidr_blocks),
            Obj::SecurityGroup(g) => stored!(g, name; id, name, vpc_id, state, ingress),
            Obj::Ingress(p) => stored!(p, name; protocol, from_port, to_port, ipv4_ranges, ipv6_ranges,
                security_groups, prefix_lists),
            Obj::PortIngress(p, _) => {
                stored!(p, name; protocol, from_port, to_port, security_groups, prefix_lists)
            }
            Obj::IpRange(r) => stored!(r, name; cidr, description),
            Obj::ParameterGroup(p) => {
                stored!(p, name; name, state, family, cluster_enabled, is_default, status)
            }
            Obj::NotificationTopic(t) => stored!(t, name; arn, status),
            Obj::LogDelivery(l) => stored!(l, name; log_type, destination_type, destination, format, status),
            Obj::GlobalDatastore(g) => stored!(g, name; id, role, at_rest_encryption, transit_encryption,
                auth_token_enabled),
            Obj::UtilisationWindow(w) => stored!(w, name; length, start, end, period_seconds),
            Obj::NodeUtilisation(u) => stored!(u, name; cpu, engine_cpu, memory, evictions, connections),
            Obj::MetricStats(m) => stored!(m, name; datapoints, average, p95, maximum, sum, maximum_at),
            Obj::Params(p) => p.get(name).map(|v| v as &dyn ToCel),
        }
    }

    /// A fact derived from stored ones (`src/facts.rs`).
    fn derived(&self, name: &str) -> Option<Derived<'v>> {
        use Derived::{Val as V, Value};
        let strs = |v: Vec<&'v str>| Value(Fact::Strs(v));
        Some(match (*self, name) {
            (Obj::Deployment(d), _) => return deployment_derived(d, name),
            (Obj::NodeGroup(g), "availability_zones") => strs(facts::shard_availability_zones(g)),
            (Obj::NodeGroup(g), "replica_count") => Value(Fact::Count(Some(facts::replica_count(g)))),
            (Obj::NodeGroup(g), "members") => V(list(
                g.members.iter().map(|n| Box::new(Obj::Node(n)) as Box<dyn Val>),
            )),
            (Obj::Node(n), "alarms") => V(list(
                n.alarms
                    .iter()
                    .map(|a| Box::new(Obj::Alarm(a, n)) as Box<dyn Val>),
            )),
            (Obj::Node(n), "name") => Value(Fact::Owned(facts::node_name(n))),
            (Obj::Node(n), "watched_metrics") => strs(facts::node_watched_metrics(n)),
            (Obj::Node(n), "notifying_metrics") => strs(facts::node_notifying_metrics(n)),
            (Obj::Alarm(a, node), "watched_metrics") => strs(facts::watched_metrics(a, node)),
            (Obj::Alarm(a, _), "notifies") => Value(Fact::Bool(facts::notifies(a))),
            (Obj::Alarm(a, _), "high_utilisation_metric") => {
                Value(Fact::Str(facts::high_utilisation_metric(a)))
            }
            (Obj::PortIngress(_, g), "group_id") => Value(Fact::Str(Some(g.id.as_str()))),
            (Obj::PortIngress(_, g), "group_name") => Value(Fact::Str(g.name.as_deref())),
            (Obj::PortIngress(p, _), "ipv4_ranges") => {
                strs(p.ipv4_ranges.iter().map(|r| r.cidr.as_str()).collect())
            }
            (Obj::PortIngress(p, _), "ipv6_ranges") => {
                strs(p.ipv6_ranges.iter().map(|r| r.cidr.as_str()).collect())
            }
            (Obj::PortIngress(p, _), "port_range") => Value(Fact::Owned(facts::port_range(p))),
            _ => return None,
        })
    }
}

/// A derived fact: a plain value, or a CEL value built directly (lists of objects).
enum Derived<'v> {
    Value(Fact<'v>),
    Val(Box<dyn Val + 'v>),
}

/// The shapes derived facts take.
enum Fact<'v> {
    Strs(Vec<&'v str>),
    Str(Option<&'v str>),
    Owned(String),
    Count(Option<usize>),
    Number(Option<f64>),
    Bool(bool),
}

impl<'v> Fact<'v> {
    fn into_cel(self) -> Box<dyn Val + 'v> {
        match self {
            Fact::Strs(v) => strings(v.into_iter()),
            Fact::Str(Some(s)) => Box::new(CelString::from(s)),
            Fact::Owned(s) => Box::new(CelString::from(s)),
            Fact::Count(Some(n)) => Box::new(CelInt::from(i64::try_from(n).unwrap_or(i64::MAX))),
            Fact::Number(Some(x)) => Box::new(CelDouble::from(x)),
            Fact::Bool(b) => Box::new(CelBool::from(b)),
            Fact::Str(None) | Fact::Count(None) | Fact::Number(None) => Box::new(CelNull),
        }
    }
}

fn deployment_derived<'v>(d: &'v Deployment, name: &str) -> Option<Derived<'v>> {
    use Derived::{Val as V, Value};
    let strs = |v: Vec<&'v str>| Value(Fact::Strs(v));
    Some(match name {
        "nodes" => V(list(d.nodes().map(|n| Box::new(Obj::Node(n)) as Box<dyn Val>))),
        "node_count" => Value(Fact::Count(Some(d.nodes().count()))),
        "availability_zones" => strs(facts::availability_zones(d)),
        "cache_port" => Value(Fact::Count(d.cache_port().map(usize::from))),
        "cache_port_ingress" => V(list(
            facts::cache_port_ingress(d)
                .into_iter()
                .map(|(p, g)| Box::new(Obj::PortIngress(p, g)) as Box<dyn Val>),
        )),
        "cache_port_ipv4_sources" => strs(facts::cache_port_ipv4_sources(d)),
        "cache_port_ipv6_sources" => strs(facts::cache_port_ipv6_sources(d)),
        "cache_port_prefix_lists" => strs(facts::cache_port_prefix_lists(d)),
        "public_cache_port_sources" => strs(facts::public_cache_port_sources(d)),
        "missing_security_groups" => strs(facts::security_groups_in(d, LookupState::NotFound)),
        "unreadable_security_groups" => strs(facts::security_groups_in(d, LookupState::Unknown)),
        "min_replicas_per_shard" => Value(Fact::Count(facts::min_replicas_per_shard(d))),
        "min_azs_per_shard" => Value(Fact::Count(facts::min_azs_per_shard(d))),
        "notifying_metrics_on_every_node" => strs(facts::notifying_metrics_on_every_node(d)),
        "max_cpu_alarm_threshold" => Value(Fact::Number(facts::max_alarm_threshold(d, facts::CPU_METRICS))),
        "max_memory_alarm_threshold" => {
            Value(Fact::Number(facts::max_alarm_threshold(d, facts::MEMORY_METRICS)))
        }
        _ => return None,
    })
}

impl fmt::Debug for Obj<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name().name())
    }
}

impl Val for Obj<'_> {
    fn get_type(&self) -> &Type {
        self.type_name()
    }

    fn cel_type() -> &'static Type
    where
        Self: Sized,
    {
        // Each variant has its own type; `get_type` answers per value.
        static OBJECT: Type = Type::new_struct_type("ecaudit.Object");
        &OBJECT
    }

    fn as_indexer<'b, 'x>(&'b self) -> Option<&'b (dyn Indexer + 'x)>
    where
        Self: 'x,
    {
        Some(self)
    }

    fn clone_as_boxed<'x>(&self) -> Box<dyn Val + 'x>
    where
        Self: 'x,
    {
        Box::new(*self)
    }
}

impl<'o> Indexer for Obj<'o> {
    fn get<'b, 'v>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'v>, ExecutionError>
    where
        Self: 'v,
    {
        let Some(key) = idx.downcast_ref::<CelString>() else {
            return Err(ExecutionError::UnexpectedType {
                got: idx.get_type().name().to_owned(),
                want: "string".to_owned(),
            });
        };
        let obj: Obj<'v> = *self;
        match obj.field(key.inner()) {
            Some(value) => Ok(CowVal::Owned(value)),
            None => Err(ExecutionError::no_such_key(key.inner())),
        }
    }

    fn steal<'v>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'v>, ExecutionError>
    where
        Self: 'v,
    {
        self.get(idx).map(CowVal::into_owned)
    }
}

/// The names `field` answers for an object type, by CEL type name (for validation and docs).
pub(crate) fn fields_of(type_name: &str) -> Option<&'static [(&'static str, Shape)]> {
    Some(match type_name {
        "ecaudit.Deployment" => fields::DEPLOYMENT,
        "ecaudit.NodeGroup" => fields::NODE_GROUP,
        "ecaudit.Node" => fields::NODE,
        "ecaudit.Alarm" => fields::ALARM,
        "ecaudit.AlarmMetric" => fields::ALARM_METRIC,
        "ecaudit.SubnetGroup" => fields::SUBNET_GROUP,
        "ecaudit.Subnet" => fields::SUBNET,
        "ecaudit.Vpc" => fields::VPC,
        "ecaudit.SecurityGroup" => fields::SECURITY_GROUP,
        "ecaudit.IngressPermission" => fields::INGRESS,
        "ecaudit.PortIngress" => fields::PORT_INGRESS,
        "ecaudit.IpRange" => fields::IP_RANGE,
        "ecaudit.ParameterGroup" => fields::PARAMETER_GROUP,
        "ecaudit.NotificationTopic" => fields::NOTIFICATION_TOPIC,
        "ecaudit.LogDelivery" => fields::LOG_DELIVERY,
        "ecaudit.GlobalDatastore" => fields::GLOBAL_DATASTORE,
        "ecaudit.UtilisationWindow" => fields::UTILISATION_WINDOW,
        "ecaudit.NodeUtilisation" => fields::NODE_UTILISATION,
        "ecaudit.MetricStats" => fields::METRIC_STATS,
        _ => return None,
    })
}

/// Binds a deployment for evaluation.
pub(crate) fn deployment<'v>(d: &'v Deployment) -> Box<dyn Val + 'v> {
    Box::new(Obj::Deployment(d))
}

/// Binds a rule's parameters for evaluation.
pub(crate) fn params<'v>(p: &'v BTreeMap<String, serde_json::Value>) -> Box<dyn Val + 'v> {
    Box::new(Obj::Params(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Deployment {
        let mut d: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/replication-group.json")).unwrap();
        d["global_datastore"] = serde_json::json!({"id": "g", "role": "primary"});
        d["notification_topic"] = serde_json::json!({"arn": "arn:aws:sns:us-east-1:1:t", "status": "active"});
        d["log_delivery"] = serde_json::json!([{"log_type": "slow-log"}]);
        serde_json::from_value(d).unwrap()
    }

    /// Every field the static checks accept is one the view answers, for every object type.
    #[test]
    fn listed_fields_resolve() {
        let d = deployment();
        let node = d.nodes().next().unwrap();
        let group = &d.security_groups[0];
        let perm = &group.ingress[0];
        let objects = [
            Obj::Deployment(&d),
            Obj::NodeGroup(&d.node_groups[0]),
            Obj::Node(node),
            Obj::Alarm(&node.alarms[0], node),
            Obj::SubnetGroup(d.subnet_group.as_ref().unwrap()),
            Obj::Subnet(&d.subnet_group.as_ref().unwrap().subnets[0]),
            Obj::Vpc(d.vpc.as_ref().unwrap()),
            Obj::SecurityGroup(group),
            Obj::Ingress(perm),
            Obj::PortIngress(perm, group),
            Obj::IpRange(&perm.ipv4_ranges[0]),
            Obj::ParameterGroup(d.parameter_group.as_ref().unwrap()),
            Obj::NotificationTopic(d.notification_topic.as_ref().unwrap()),
            Obj::LogDelivery(&d.log_delivery[0]),
            Obj::GlobalDatastore(d.global_datastore.as_ref().unwrap()),
            Obj::UtilisationWindow(d.utilisation_window.as_ref().unwrap()),
            Obj::NodeUtilisation(node.utilisation.as_ref().unwrap()),
            Obj::MetricStats(node.utilisation.as_ref().unwrap().cpu.as_ref().unwrap()),
        ];
        for obj in objects {
            let name = obj.type_name().name().to_string();
            let listed = fields_of(&name).unwrap_or_else(|| panic!("no field list for {name}"));
            for (field, _) in listed {
                assert!(
                    obj.field(field).is_some(),
                    "{name}.{field} is listed but not answered"
                );
            }
            assert!(obj.field("no_such_field").is_none());
        }
    }
}
