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

use super::check::KeyPath;
use crate::facts;
use crate::inventory::{
    Alarm, AlarmMetric, AutomaticFailover, ClusterMode, Deployment, DeploymentKind,
    GlobalDatastoreMembership, GlobalRole, IngressPermission, IpRange, LogDelivery, LookupState, Node,
    NodeGroup, NodeRole, NotificationTopic, ParameterGroup, SecurityGroup, Subnet, SubnetGroup,
    TransitEncryptionMode, Vpc,
};

/// Converts a fact into a CEL value borrowing from it.
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

impl ToCel for bool {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelBool::from(*self))
    }
}

macro_rules! int_to_cel {
    ($($t:ty),*) => {$(
        impl ToCel for $t {
            fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
                Box::new(CelInt::from(i64::from(*self)))
            }
        }
    )*};
}
int_to_cel!(u16, u32, i32, i64);

impl ToCel for u64 {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelInt::from(i64::try_from(*self).unwrap_or(i64::MAX)))
    }
}

impl ToCel for usize {
    fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
        Box::new(CelInt::from(i64::try_from(*self).unwrap_or(i64::MAX)))
    }
}

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
}

/// `match name { "a" => o.a.to_cel(), ... }` over a struct's stored fields.
macro_rules! stored {
    ($o:expr, $name:expr; $($field:ident),* $(,)?) => {
        match $name {
            $(stringify!($field) => Some($o.$field.to_cel()),)*
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
            Obj::Params(_) => &PARAMS,
        }
    }

    /// The value of field `name`, or `None` when the object has no such field.
    fn field(&self, name: &str) -> Option<Box<dyn Val + 'v>> {
        match *self {
            Obj::Deployment(d) => deployment_field(d, name),
            Obj::NodeGroup(g) => match name {
                "availability_zones" => Some(strings(facts::shard_availability_zones(g).into_iter())),
                "replica_count" => Some(int(Some(facts::replica_count(g)))),
                "members" => Some(list(
                    g.members.iter().map(|n| Box::new(Obj::Node(n)) as Box<dyn Val>),
                )),
                _ => stored!(g, name; id, status),
            },
            Obj::Node(n) => match name {
                "alarms" => Some(list(
                    n.alarms
                        .iter()
                        .map(|a| Box::new(Obj::Alarm(a, n)) as Box<dyn Val>),
                )),
                "name" => Some(Box::new(CelString::from(facts::node_name(n)))),
                "watched_metrics" => Some(strings(facts::node_watched_metrics(n).into_iter())),
                "notifying_metrics" => Some(strings(facts::node_notifying_metrics(n).into_iter())),
                _ => stored!(n, name; cache_cluster_id, cache_node_id, availability_zone, role, status),
            },
            Obj::Alarm(a, node) => match name {
                "watched_metrics" => Some(strings(facts::watched_metrics(a, node).into_iter())),
                "notifies" => Some(Box::new(CelBool::from(facts::notifies(a)))),
                "high_utilisation_metric" => Some(match facts::high_utilisation_metric(a) {
                    Some(m) => Box::new(CelString::from(m)),
                    None => Box::new(CelNull),
                }),
                _ => stored!(a, name; name, arn, namespace, metric_name, dimensions, metrics, statistic,
                    threshold, comparison, evaluation_periods, period_seconds, actions_enabled,
                    alarm_actions, state),
            },
            Obj::AlarmMetric(m) => {
                stored!(m, name; id, namespace, metric_name, dimensions, statistic, expression)
            }
            Obj::SubnetGroup(s) => stored!(s, name; name, state, vpc_id, subnets),
            Obj::Subnet(s) => stored!(s, name; id, availability_zone),
            Obj::Vpc(v) => stored!(v, name; id, ipv4_cidr_blocks, ipv6_cidr_blocks),
            Obj::SecurityGroup(g) => stored!(g, name; id, name, vpc_id, state, ingress),
            Obj::Ingress(p) => stored!(p, name; protocol, from_port, to_port, ipv4_ranges, ipv6_ranges,
                security_groups, prefix_lists),
            Obj::PortIngress(p, g) => match name {
                "group_id" => Some(g.id.to_cel()),
                "group_name" => Some(g.name.to_cel()),
                "ipv4_ranges" => Some(strings(p.ipv4_ranges.iter().map(|r| r.cidr.as_str()))),
                "ipv6_ranges" => Some(strings(p.ipv6_ranges.iter().map(|r| r.cidr.as_str()))),
                "port_range" => Some(Box::new(CelString::from(port_range(p)))),
                _ => stored!(p, name; protocol, from_port, to_port, security_groups, prefix_lists),
            },
            Obj::IpRange(r) => stored!(r, name; cidr, description),
            Obj::ParameterGroup(p) => {
                stored!(p, name; name, state, family, cluster_enabled, is_default, status)
            }
            Obj::NotificationTopic(t) => stored!(t, name; arn, status),
            Obj::LogDelivery(l) => stored!(l, name; log_type, destination_type, destination, format, status),
            Obj::GlobalDatastore(g) => stored!(g, name; id, role, at_rest_encryption, transit_encryption,
                auth_token_enabled),
            Obj::Params(p) => p.get(name).map(|v| v.to_cel()),
        }
    }
}

fn int<'v>(v: Option<usize>) -> Box<dyn Val + 'v> {
    match v {
        Some(v) => Box::new(CelInt::from(i64::try_from(v).unwrap_or(i64::MAX))),
        None => Box::new(CelNull),
    }
}

fn double<'v>(v: Option<f64>) -> Box<dyn Val + 'v> {
    match v {
        Some(v) => Box::new(CelDouble::from(v)),
        None => Box::new(CelNull),
    }
}

fn deployment_field<'v>(d: &'v Deployment, name: &str) -> Option<Box<dyn Val + 'v>> {
    match name {
        "nodes" => Some(list(d.nodes().map(|n| Box::new(Obj::Node(n)) as Box<dyn Val>))),
        "node_count" => Some(int(Some(d.nodes().count()))),
        "availability_zones" => Some(strings(facts::availability_zones(d).into_iter())),
        "cache_port" => Some(int(d.cache_port().map(usize::from))),
        "cache_port_ingress" => Some(list(
            facts::cache_port_ingress(d)
                .into_iter()
                .map(|(p, g)| Box::new(Obj::PortIngress(p, g)) as Box<dyn Val>),
        )),
        "cache_port_ipv4_sources" => Some(strings(facts::cache_port_ipv4_sources(d).into_iter())),
        "cache_port_ipv6_sources" => Some(strings(facts::cache_port_ipv6_sources(d).into_iter())),
        "cache_port_prefix_lists" => Some(strings(facts::cache_port_prefix_lists(d).into_iter())),
        "public_cache_port_sources" => Some(strings(facts::public_cache_port_sources(d).into_iter())),
        "missing_security_groups" => Some(strings(
            facts::security_groups_in(d, LookupState::NotFound).into_iter(),
        )),
        "unreadable_security_groups" => Some(strings(
            facts::security_groups_in(d, LookupState::Unknown).into_iter(),
        )),
        "min_replicas_per_shard" => Some(int(facts::min_replicas_per_shard(d))),
        "min_azs_per_shard" => Some(int(facts::min_azs_per_shard(d))),
        "notifying_metrics_on_every_node" => {
            Some(strings(facts::notifying_metrics_on_every_node(d).into_iter()))
        }
        "max_cpu_alarm_threshold" => Some(double(facts::max_alarm_threshold(d, facts::CPU_METRICS))),
        "max_memory_alarm_threshold" => Some(double(facts::max_alarm_threshold(d, facts::MEMORY_METRICS))),
        _ => stored!(d, name; kind, id, arn, account_id, region, engine, status, engine_version,
            node_type, created_at, port, cluster_mode, node_groups, at_rest_encryption, kms_key_id,
            transit_encryption, transit_encryption_mode, auth_token_enabled, user_group_ids, multi_az,
            automatic_failover, pending_changes, snapshot_retention_days, snapshot_window,
            latest_automatic_snapshot, subnet_group, vpc, security_groups, parameter_group,
            notification_topic, auto_minor_version_upgrade, log_delivery, global_datastore, tags, notes),
    }
}

fn port_range(p: &IngressPermission) -> String {
    match (p.protocol.as_str(), p.from_port, p.to_port) {
        ("-1" | "all", _, _) => "all traffic".to_string(),
        (proto, Some(a), Some(b)) if a == b => format!("{proto}/{a}"),
        (proto, Some(a), Some(b)) => format!("{proto}/{a}-{b}"),
        (proto, _, _) => format!("{proto}/all ports"),
    }
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
        _ => return None,
    })
}

/// Appends a key for the value `path` has on `d` to `out`: equal keys mean equal values, so an
/// expression that reads only these paths gives equal results. `false` when the value is not
/// keyable (an object or a list of objects: its identity would make every key unique anyway).
pub(crate) fn write_key(d: &Deployment, path: &KeyPath, out: &mut Vec<u8>) -> bool {
    let mut obj = Obj::Deployment(d);
    let last = path.fields.len().saturating_sub(1);
    for (i, name) in path.fields.iter().enumerate() {
        // The object-valued fields a path can continue through.
        let next: Option<Option<Obj>> = match (obj, name.as_str()) {
            (Obj::Deployment(d), "vpc") => Some(d.vpc.as_ref().map(Obj::Vpc)),
            (Obj::Deployment(d), "subnet_group") => Some(d.subnet_group.as_ref().map(Obj::SubnetGroup)),
            (Obj::Deployment(d), "parameter_group") => {
                Some(d.parameter_group.as_ref().map(Obj::ParameterGroup))
            }
            (Obj::Deployment(d), "notification_topic") => {
                Some(d.notification_topic.as_ref().map(Obj::NotificationTopic))
            }
            (Obj::Deployment(d), "global_datastore") => {
                Some(d.global_datastore.as_ref().map(Obj::GlobalDatastore))
            }
            _ => None,
        };
        match next {
            Some(None) => {
                // null: the rest of the path is not reached (or errors the same way every time).
                out.extend_from_slice(&[0xAA, i as u8]);
                return true;
            }
            Some(Some(child)) if i < last => obj = child,
            Some(Some(_)) => {
                if path.nullness_only {
                    out.extend_from_slice(&[0xAB, i as u8]);
                    return true;
                }
                return false;
            }
            None => {
                let Some(value) = obj.field(name) else {
                    // No such field: evaluation fails the same way every time.
                    out.push(0xAC);
                    return true;
                };
                if i < last {
                    return false;
                }
                if path.nullness_only {
                    out.push(if value.downcast_ref::<CelNull>().is_some() {
                        0xAD
                    } else {
                        0xAE
                    });
                    return true;
                }
                return encode(&*value, out);
            }
        }
    }
    false
}

/// A self-delimiting encoding of a scalar, list or map value; `false` for anything else.
fn encode(v: &dyn Val, out: &mut Vec<u8>) -> bool {
    if v.downcast_ref::<CelNull>().is_some() {
        out.push(0);
    } else if let Some(b) = v.downcast_ref::<CelBool>() {
        out.extend_from_slice(&[1, u8::from(*b.inner())]);
    } else if let Some(i) = v.downcast_ref::<CelInt>() {
        out.push(2);
        out.extend_from_slice(&i.inner().to_le_bytes());
    } else if let Some(f) = v.downcast_ref::<CelDouble>() {
        out.push(3);
        out.extend_from_slice(&f.inner().to_bits().to_le_bytes());
    } else if let Some(s) = v.downcast_ref::<CelString>() {
        out.push(4);
        out.extend_from_slice(&(s.inner().len() as u64).to_le_bytes());
        out.extend_from_slice(s.inner().as_bytes());
    } else if let Some(t) = v.downcast_ref::<CelTimestamp>() {
        out.push(5);
        out.extend_from_slice(&t.inner().timestamp_nanos_opt().unwrap_or(i64::MIN).to_le_bytes());
    } else if let Some(l) = v.downcast_ref::<CelList>() {
        out.push(6);
        out.extend_from_slice(&(l.inner().len() as u64).to_le_bytes());
        return l.inner().iter().all(|item| encode(&**item, out));
    } else if let Some(m) = v.downcast_ref::<CelMap>() {
        out.push(7);
        let mut entries: Vec<(String, &Box<dyn Val>)> =
            m.inner().iter().map(|(k, v)| (format!("{k:?}"), v)).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        for (k, v) in entries {
            out.extend_from_slice(&(k.len() as u64).to_le_bytes());
            out.extend_from_slice(k.as_bytes());
            if !encode(&**v, out) {
                return false;
            }
        }
    } else {
        return false;
    }
    true
}

/// Binds a deployment for evaluation.
pub(crate) fn deployment<'v>(d: &'v Deployment) -> Box<dyn Val + 'v> {
    Box::new(Obj::Deployment(d))
}

/// Binds a rule's parameters for evaluation.
pub(crate) fn params<'v>(p: &'v BTreeMap<String, serde_json::Value>) -> Box<dyn Val + 'v> {
    Box::new(Obj::Params(p))
}
