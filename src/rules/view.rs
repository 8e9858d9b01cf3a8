//! The facts rules may read, declared once per object type (the `objects!` table below), and the
//! borrowing CEL views that answer them: binding a deployment copies nothing, and a
//! comprehension over nodes or alarms clones two pointers per element. From the table come the
//! field lookup of the views, the facts the static checks accept (`fields_of`), and the fact
//! reference of `docs/rules.md` (`super::reference`).

use std::collections::BTreeMap;
use std::fmt;

use cel::ExecutionError;
use cel::common::traits::Indexer;
use cel::common::types::{CelList, CelString, Type};
use cel::common::value::{CowVal, Val};

use super::to_cel::{ToCel, boolean, count, number, owned, strings, text};
use crate::facts;
use crate::inventory::{
    Alarm, AlarmMetric, Deployment, GlobalDatastoreMembership, IngressPermission, IpRange, LogDelivery,
    LookupState, MetricStats, Node, NodeGroup, NodeUtilisation, NotificationTopic, ParameterGroup,
    SecurityGroup, Subnet, SubnetGroup, UtilisationWindow, Vpc,
};

/// What a fact holds, as far as static checks of rule expressions care: an object (whose own
/// facts can then be checked), a list of objects, or anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Other,
    /// An object of this CEL type.
    Obj(&'static str),
    /// A list of objects of this CEL type.
    List(&'static str),
}

/// One fact an object type exposes to rules.
#[derive(Clone, Copy, Debug)]
pub struct Fact {
    pub name: &'static str,
    pub shape: Shape,
    /// Computed in Rust on access (`src/facts.rs`) rather than read as stored.
    pub derived: bool,
    /// One line, for `docs/rules.md`.
    pub description: &'static str,
}

/// An object type rules can reach from `d`, with its facts.
#[derive(Debug)]
pub struct Object {
    /// The CEL type name, e.g. `ecaudit.Deployment`.
    pub cel_type: &'static str,
    pub summary: &'static str,
    /// The inventory type whose fields are the stored facts; `None` for a view that joins two
    /// inventory objects.
    pub inventory_type: Option<&'static str>,
    pub facts: &'static [Fact],
}

/// Declares the object types rules read. Each entry is
///
/// ```text
/// /// summary
/// Variant(binding: InventoryType [, other: Type]) [as view] {
///     /// one-line description
///     stored|derived name [-> Type | -> [Type]] [= value],
/// }
/// ```
///
/// A `stored` fact without a value reads the field of that name; one with a value (a list of
/// alarms seen from their node) still stands for that inventory field. A `derived` fact's value
/// is computed on access. `-> T` / `-> [T]` tell the static checks the fact is an object / a
/// list of objects of type `T`, so facts read through it are checked too. The first binding's
/// type is the inventory type whose every field must be a stored fact or listed in [`HIDDEN`];
/// `as view` marks an object that is not one inventory type.
macro_rules! objects {
    ($(
        $(#[doc = $summary:literal])+
        $variant:ident($this:ident: $ty:ident $(, $other:ident: $other_ty:ident)?) $(as $view:ident)? {
            $(
                $(#[doc = $desc:literal])+
                $origin:ident $name:ident $(-> $shape:tt)? $(= $value:expr)?
            ),+ $(,)?
        }
    )+) => {
        /// A borrowed inventory object seen from CEL: its facts are read on access.
        #[derive(Clone, Copy)]
        pub(crate) enum Obj<'v> {
            $($(#[doc = $summary])+ $variant(&'v $ty $(, &'v $other_ty)?),)+
            /// A rule's parameters.
            Params(&'v BTreeMap<String, serde_json::Value>),
        }

        impl<'v> Obj<'v> {
            /// The value of fact `name`, or `None` when the object has no such fact.
            fn field(self, name: &str) -> Option<Box<dyn Val + 'v>> {
                Some(match self {
                    $(Obj::$variant($this $(, $other)?) => match name {
                        $(stringify!($name) => value!($origin, $this, $name $(, $value)?),)+
                        _ => return None,
                    },)+
                    Obj::Params(p) => return p.get(name).map(|v| v.to_cel()),
                })
            }

            fn type_name(&self) -> &'static Type {
                match self {
                    $(Obj::$variant(..) => {
                        static TYPE: Type = Type::new_struct_type(concat!("ecaudit.", stringify!($variant)));
                        &TYPE
                    })+
                    Obj::Params(_) => {
                        static TYPE: Type = Type::new_struct_type("ecaudit.Params");
                        &TYPE
                    }
                }
            }
        }

        $(to_cel_obj!($variant, $ty $(, $other_ty)?);)+

        /// Every object type rules can reach, with its facts.
        pub static OBJECTS: &[Object] = &[$(Object {
            cel_type: concat!("ecaudit.", stringify!($variant)),
            summary: concat!($($summary),+),
            inventory_type: inventory_type!($ty $(, $view)?),
            facts: &[$(Fact {
                name: stringify!($name),
                shape: shape!($($shape)?),
                derived: derived!($origin),
                description: concat!($($desc),+),
            },)+],
        },)+];
    };
}

macro_rules! value {
    (stored, $this:ident, $name:ident) => {
        $this.$name.to_cel()
    };
    (stored, $this:ident, $name:ident, $value:expr) => {
        $value
    };
    (derived, $this:ident, $name:ident, $value:expr) => {
        $value
    };
}

macro_rules! derived {
    (stored) => {
        false
    };
    (derived) => {
        true
    };
}

macro_rules! shape {
    () => {
        Shape::Other
    };
    ([$t:ident]) => {
        Shape::List(concat!("ecaudit.", stringify!($t)))
    };
    ($t:ident) => {
        Shape::Obj(concat!("ecaudit.", stringify!($t)))
    };
}

macro_rules! inventory_type {
    ($ty:ident) => {
        Some(stringify!($ty))
    };
    ($ty:ident, view) => {
        None
    };
}

/// An inventory object that is a view on its own is a CEL value (lists of them, too).
macro_rules! to_cel_obj {
    ($variant:ident, $ty:ident) => {
        impl ToCel for $ty {
            fn to_cel<'v>(&'v self) -> Box<dyn Val + 'v> {
                Box::new(Obj::$variant(self))
            }
        }
    };
    // Seen together with another object (an alarm with its node): built by the fact that lists it.
    ($variant:ident, $ty:ident, $other_ty:ident) => {};
}

/// A list of objects computed on access.
fn objects<'v>(items: impl Iterator<Item = Obj<'v>>) -> Box<dyn Val + 'v> {
    Box::new(CelList::from(
        items
            .map(|o| Box::new(o) as Box<dyn Val + 'v>)
            .collect::<Vec<_>>(),
    ))
}

// The order of facts is the order of `docs/rules.md`, and of "did you mean" suggestions on a tie.
objects! {
    /// A deployment: `d`.
    Deployment(d: Deployment) {
        /// `replication_group`, `cache_cluster` or `serverless_cache`
        stored kind,
        /// replication group id, standalone cache cluster id, or serverless cache name
        stored id,
        /// the deployment's ARN
        stored arn,
        /// the AWS account it lives in
        stored account_id,
        /// the AWS region it lives in
        stored region,
        /// `redis`, `valkey` or `memcached`
        stored engine,
        /// lifecycle status as AWS reports it (`available`, `creating`, `modifying`, `deleting`, ...)
        stored status,
        /// full engine version, e.g. `7.1.0` (serverless: `FullEngineVersion`, e.g. `7.2`)
        stored engine_version,
        /// node type, e.g. `cache.r7g.large`
        stored node_type,
        /// creation time
        stored created_at,
        /// the port clients connect to, as reported (see `cache_port`)
        stored port,
        /// the address clients connect to (configuration, primary, node or serverless endpoint)
        stored endpoint,
        /// Redis OSS / Valkey cluster mode: `enabled`, `disabled` or `compatible`; `null` for Memcached and serverless
        stored cluster_mode,
        /// shards and their member nodes (a standalone cluster has one group without an id)
        stored node_groups -> [NodeGroup],
        /// `AtRestEncryptionEnabled`
        stored at_rest_encryption,
        /// the KMS key used for at-rest encryption; `null` means the AWS-owned key (or unknown)
        stored kms_key_id,
        /// `TransitEncryptionEnabled`
        stored transit_encryption,
        /// `preferred` (TLS and plaintext accepted) or `required`
        stored transit_encryption_mode,
        /// whether an AUTH token is set
        stored auth_token_enabled,
        /// RBAC user groups attached
        stored user_group_ids,
        /// replication group `MultiAZ` (`enabled` is true)
        stored multi_az,
        /// the current `AutomaticFailover` (`enabled`, `disabled`, `enabling`, `disabling`), never the pending one
        stored automatic_failover,
        /// pending modifications as AWS reports them (a map), for evidence only
        stored pending_changes,
        /// `SnapshotRetentionLimit` in days; `0` means automatic backups are off
        stored snapshot_retention_days,
        /// daily snapshot window (UTC), e.g. `03:00-04:00`
        stored snapshot_window,
        /// creation time of the newest automatic snapshot; `null` when none exists or unknown
        stored latest_automatic_snapshot,
        /// the cache subnet group
        stored subnet_group -> SubnetGroup,
        /// the VPC the deployment lives in, with its CIDR blocks
        stored vpc -> Vpc,
        /// attached VPC security groups with their ingress permissions
        stored security_groups -> [SecurityGroup],
        /// the parameter group
        stored parameter_group -> ParameterGroup,
        /// the SNS topic ElastiCache event notifications go to
        stored notification_topic -> NotificationTopic,
        /// whether automatic minor version upgrades are on
        stored auto_minor_version_upgrade,
        /// slow-log and engine-log delivery
        stored log_delivery -> [LogDelivery],
        /// membership in a Global Datastore, if any
        stored global_datastore -> GlobalDatastore,
        /// resource tags (a map); `null` when they could not be read, which differs from no tags
        stored tags,
        /// what collection could not resolve for this deployment, in plain words
        stored notes,
        /// facts whose absence means "could not be read", not "none" (`alarms`, `security_groups`, `utilisation`, ...)
        stored unknown_facts,
        /// the span the nodes' `utilisation` covers; `null` when metrics were not collected (`--metrics`)
        stored utilisation_window -> UtilisationWindow,
        /// every node of every node group
        derived nodes -> [Node] = objects(d.nodes().map(Obj::Node)),
        /// number of nodes
        derived node_count = count(d.nodes().count()),
        /// distinct Availability Zones of the nodes
        derived availability_zones = strings(facts::availability_zones(d)),
        /// `port`, else the engine's default (6379 Redis OSS/Valkey, 11211 Memcached)
        derived cache_port = count(d.cache_port().map(usize::from)),
        /// every ingress permission of every attached security group (state `found`) that reaches the cache port: protocol `-1`, or tcp with a range covering the port
        derived cache_port_ingress -> [PortIngress] = objects(
            facts::cache_port_ingress(d)
                .into_iter()
                .map(|(p, g)| Obj::PortIngress(p, g)),
        ),
        /// distinct IPv4 CIDRs admitted to the cache port
        derived cache_port_ipv4_sources = strings(facts::cache_port_ipv4_sources(d)),
        /// distinct IPv6 CIDRs admitted to the cache port
        derived cache_port_ipv6_sources = strings(facts::cache_port_ipv6_sources(d)),
        /// distinct prefix lists admitted to the cache port
        derived cache_port_prefix_lists = strings(facts::cache_port_prefix_lists(d)),
        /// CIDRs admitted to the cache port that hold public addresses and are not inside the VPC's own CIDR blocks
        derived public_cache_port_sources = strings(facts::public_cache_port_sources(d)),
        /// ids of attached security groups in state `not_found`
        derived missing_security_groups = strings(facts::security_groups_in(d, LookupState::NotFound)),
        /// ids of attached security groups in state `unknown`
        derived unreadable_security_groups = strings(facts::security_groups_in(d, LookupState::Unknown)),
        /// the fewest replicas any shard has (`null` without shards)
        derived min_replicas_per_shard = count(facts::min_replicas_per_shard(d)),
        /// the fewest Availability Zones any shard's nodes sit in (`null` without shards, or when a zone not reported could change it)
        derived min_azs_per_shard = count(facts::min_azs_per_shard(d)),
        /// ElastiCache metrics that every node has a notifying alarm on
        derived notifying_metrics_on_every_node = strings(facts::notifying_metrics_on_every_node(d)),
        /// the highest threshold of the high-utilisation alarms on CPUUtilization or EngineCPUUtilization (`null` if none)
        derived max_cpu_alarm_threshold = number(facts::max_alarm_threshold(d, facts::CPU_METRICS)),
        /// the highest threshold of the high-utilisation alarms on DatabaseMemoryUsagePercentage (`null` if none)
        derived max_memory_alarm_threshold = number(facts::max_alarm_threshold(d, facts::MEMORY_METRICS)),
    }

    /// A shard (node group): an element of `d.node_groups`.
    NodeGroup(g: NodeGroup) {
        /// node group id (`0001`); `null` for a standalone cluster
        stored id,
        /// status as AWS reports it
        stored status,
        /// the shard's nodes
        stored members -> [Node],
        /// distinct Availability Zones of the shard's nodes
        derived availability_zones = strings(facts::shard_availability_zones(g)),
        /// members with the replica role where roles are reported, else members − 1
        derived replica_count = count(facts::replica_count(g)),
    }

    /// A cache node: an element of `d.nodes` or of a shard's `members`.
    Node(n: Node) {
        /// the cache cluster id, CloudWatch's `CacheClusterId` dimension
        stored cache_cluster_id,
        /// cache node id within the cluster (`0001`)
        stored cache_node_id,
        /// the node's Availability Zone
        stored availability_zone,
        /// `primary` or `replica` where AWS reports it (not in cluster mode enabled)
        stored role,
        /// status as AWS reports it
        stored status,
        /// CloudWatch alarms on a metric (or a metric-math metric) with this node's `CacheClusterId`
        stored alarms -> [Alarm] = objects(n.alarms.iter().map(|a| Obj::Alarm(a, n))),
        /// CloudWatch statistics over the deployment's `utilisation_window` (`--metrics`)
        stored utilisation -> NodeUtilisation,
        /// `cluster-001`, or `cluster/0002` for a Memcached node
        derived name = owned(facts::node_name(n)),
        /// the ElastiCache metrics some alarm evaluates for this node
        derived watched_metrics = strings(facts::node_watched_metrics(n)),
        /// the ElastiCache metrics watched by an alarm that notifies
        derived notifying_metrics = strings(facts::node_notifying_metrics(n)),
    }

    /// A CloudWatch metric alarm, seen from the node it watches: an element of a node's `alarms`.
    Alarm(a: Alarm, node: Node) {
        /// alarm name
        stored name,
        /// alarm ARN
        stored arn,
        /// namespace of a single-metric alarm; `null` for metric math
        stored namespace,
        /// metric of a single-metric alarm; `null` for metric math
        stored metric_name,
        /// the metric's dimensions (a map)
        stored dimensions,
        /// the metrics of a metric-math alarm
        stored metrics -> [AlarmMetric],
        /// statistic, e.g. `Average`
        stored statistic,
        /// the threshold
        stored threshold,
        /// `GreaterThanThreshold`, `GreaterThanOrEqualToThreshold`, ...
        stored comparison,
        /// periods evaluated
        stored evaluation_periods,
        /// seconds per period
        stored period_seconds,
        /// whether actions are enabled
        stored actions_enabled,
        /// ARNs notified when the alarm fires
        stored alarm_actions,
        /// `OK`, `ALARM` or `INSUFFICIENT_DATA`
        stored state,
        /// the ElastiCache metrics it evaluates for that node, alone or in metric math
        derived watched_metrics = strings(facts::watched_metrics(a, node)),
        /// actions enabled and at least one alarm action
        derived notifies = boolean(facts::notifies(a)),
        /// the metric, for a single-metric ElastiCache alarm on CPU, engine CPU or memory usage that fires above its threshold; else `null`
        derived high_utilisation_metric = text(facts::high_utilisation_metric(a)),
    }

    /// One metric of a metric-math alarm: an element of an alarm's `metrics`.
    AlarmMetric(m: AlarmMetric) {
        /// the query id
        stored id,
        /// the metric's namespace
        stored namespace,
        /// the metric's name
        stored metric_name,
        /// the metric's dimensions (a map)
        stored dimensions,
        /// statistic, e.g. `Maximum`
        stored statistic,
        /// a math expression instead of a metric
        stored expression,
    }

    /// A cache subnet group: `d.subnet_group`.
    SubnetGroup(s: SubnetGroup) {
        /// the group's name; `null` for serverless caches, which take subnet ids directly
        stored name,
        /// `found`, `not_found` or `unknown`
        stored state,
        /// the VPC of its subnets
        stored vpc_id,
        /// its subnets
        stored subnets -> [Subnet],
    }

    /// A subnet of the subnet group.
    Subnet(s: Subnet) {
        /// subnet id
        stored id,
        /// the subnet's Availability Zone
        stored availability_zone,
    }

    /// The deployment's VPC: `d.vpc`.
    Vpc(v: Vpc) {
        /// VPC id
        stored id,
        /// the VPC's IPv4 CIDR blocks
        stored ipv4_cidr_blocks,
        /// the VPC's IPv6 CIDR blocks
        stored ipv6_cidr_blocks,
    }

    /// An attached security group: an element of `d.security_groups`.
    SecurityGroup(g: SecurityGroup) {
        /// group id
        stored id,
        /// group name
        stored name,
        /// the group's VPC
        stored vpc_id,
        /// `found`, `not_found` (deleted after being attached) or `unknown` (could not be read)
        stored state,
        /// its inbound permissions
        stored ingress -> [IngressPermission],
    }

    /// One inbound permission of a security group: an element of a group's `ingress`.
    IngressPermission(p: IngressPermission) {
        /// `tcp`, `udp`, `icmp`, ... or `-1` for all traffic
        stored protocol,
        /// first port of the range; `null` for protocol `-1`
        stored from_port,
        /// last port of the range
        stored to_port,
        /// IPv4 sources
        stored ipv4_ranges -> [IpRange],
        /// IPv6 sources
        stored ipv6_ranges -> [IpRange],
        /// ids of security groups referenced as sources
        stored security_groups,
        /// ids of managed prefix lists referenced as sources
        stored prefix_lists,
    }

    /// An ingress permission that reaches the cache port, with the group it belongs to: an element of `d.cache_port_ingress`.
    PortIngress(p: IngressPermission, g: SecurityGroup) as view {
        /// the security group's id
        derived group_id = text(Some(g.id.as_str())),
        /// the security group's name
        derived group_name = text(g.name.as_deref()),
        /// `tcp`, or `-1` for all traffic
        stored protocol,
        /// first port of the range
        stored from_port,
        /// last port of the range
        stored to_port,
        /// IPv4 CIDRs admitted (strings)
        derived ipv4_ranges = strings(p.ipv4_ranges.iter().map(|r| r.cidr.as_str()).collect()),
        /// IPv6 CIDRs admitted (strings)
        derived ipv6_ranges = strings(p.ipv6_ranges.iter().map(|r| r.cidr.as_str()).collect()),
        /// ids of security groups referenced as sources
        stored security_groups,
        /// ids of managed prefix lists referenced as sources
        stored prefix_lists,
        /// protocol and ports for evidence: `tcp/6379`, `tcp/6000-7000`, `all traffic`
        derived port_range = owned(facts::port_range(p)),
    }

    /// An IPv4 or IPv6 source range of a permission.
    IpRange(r: IpRange) {
        /// the CIDR block
        stored cidr,
        /// its description
        stored description,
    }

    /// The parameter group: `d.parameter_group`.
    ParameterGroup(p: ParameterGroup) {
        /// group name
        stored name,
        /// `found`, `not_found` or `unknown`
        stored state,
        /// e.g. `redis7`, `valkey8`, `memcached1.6`
        stored family,
        /// the `cluster-enabled` parameter (`yes`/`no`); `null` for Memcached or when unknown
        stored cluster_enabled,
        /// whether it is a default parameter group
        stored is_default,
        /// apply status on the deployment (`in-sync`, `applying`, `pending-reboot`)
        stored status,
    }

    /// The SNS topic of event notifications: `d.notification_topic`.
    NotificationTopic(t: NotificationTopic) {
        /// topic ARN
        stored arn,
        /// `active` or `inactive`
        stored status,
    }

    /// A log delivery configuration: an element of `d.log_delivery`.
    LogDelivery(l: LogDelivery) {
        /// `slow-log` or `engine-log`
        stored log_type,
        /// `cloudwatch-logs` or `kinesis-firehose`
        stored destination_type,
        /// the log group or delivery stream
        stored destination,
        /// `text` or `json`
        stored format,
        /// delivery status
        stored status,
    }

    /// Membership in a Global Datastore: `d.global_datastore`. A secondary inherits encryption settings from the global group.
    GlobalDatastore(g: GlobalDatastoreMembership) {
        /// the Global Datastore's id
        stored id,
        /// `primary` or `secondary`
        stored role,
        /// the global group's at-rest encryption
        stored at_rest_encryption,
        /// the global group's in-transit encryption
        stored transit_encryption,
        /// whether the global group has an AUTH token
        stored auth_token_enabled,
    }

    /// The span of the utilisation statistics: `d.utilisation_window`.
    UtilisationWindow(w: UtilisationWindow) {
        /// the window as asked for, e.g. `7d`
        stored length,
        /// when it starts
        stored start,
        /// when it ends
        stored end,
        /// seconds per datapoint (300 for windows of a day or less, else 3,600)
        stored period_seconds,
    }

    /// A node's CloudWatch statistics over the window: a node's `utilisation`. A metric without datapoints is `null`.
    NodeUtilisation(u: NodeUtilisation) {
        /// `CPUUtilization`, the period averages
        stored cpu -> MetricStats,
        /// `EngineCPUUtilization` (Redis OSS and Valkey), the period averages
        stored engine_cpu -> MetricStats,
        /// `DatabaseMemoryUsagePercentage` (Redis OSS and Valkey), the period maxima
        stored memory -> MetricStats,
        /// `Evictions`, the period sums
        stored evictions -> MetricStats,
        /// `CurrConnections`, the period maxima
        stored connections -> MetricStats,
    }

    /// Statistics of one metric's datapoints (one per period) over the window.
    MetricStats(m: MetricStats) {
        /// number of datapoints
        stored datapoints,
        /// their average
        stored average,
        /// their 95th percentile (nearest rank)
        stored p95,
        /// the highest
        stored maximum,
        /// their sum
        stored sum,
        /// when the maximum was reached (the start of its period)
        stored maximum_at,
    }
}

/// Fields of the inventory types above that rules deliberately cannot read, with the reason:
/// (inventory type, field, why). None today: every field of every type rules reach is a fact.
/// A test fails when a new inventory field is in neither list.
pub static HIDDEN: &[(&str, &str, &str)] = &[];

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

/// The facts an object type answers, by CEL type name (for the static checks).
pub(crate) fn fields_of(type_name: &str) -> Option<&'static [Fact]> {
    OBJECTS.iter().find(|o| o.cel_type == type_name).map(|o| o.facts)
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

    /// Every fact the table declares is one the view answers, with the declared type, for every
    /// object type; and nothing else is answered.
    #[test]
    fn declared_facts_resolve() {
        let d = deployment();
        let node = d.nodes().next().unwrap();
        let group = &d.security_groups[0];
        let perm = &group.ingress[0];
        let objects = [
            Obj::Deployment(&d),
            Obj::NodeGroup(&d.node_groups[0]),
            Obj::Node(node),
            Obj::Alarm(&node.alarms[0], node),
            Obj::AlarmMetric(&AlarmMetric {
                id: "m1".into(),
                namespace: None,
                metric_name: None,
                dimensions: BTreeMap::new(),
                statistic: None,
                expression: Some("m2 * 2".into()),
            }),
            Obj::SubnetGroup(d.subnet_group.as_ref().unwrap()),
            Obj::Subnet(&d.subnet_group.as_ref().unwrap().subnets[0]),
            Obj::Vpc(d.vpc.as_ref().unwrap()),
            Obj::SecurityGroup(group),
            Obj::IngressPermission(perm),
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
        assert_eq!(objects.len(), OBJECTS.len(), "one object of each type");
        for obj in objects {
            let name = obj.type_name().name().to_string();
            let declared = fields_of(&name).unwrap_or_else(|| panic!("no facts for {name}"));
            for fact in declared {
                let value = obj
                    .field(fact.name)
                    .unwrap_or_else(|| panic!("{name}.{} is declared but not answered", fact.name));
                let got = value.get_type().name();
                match fact.shape {
                    Shape::Obj(t) => assert!(got == t || got == "null", "{name}.{}: {got}", fact.name),
                    Shape::List(_) => assert_eq!(got, "list", "{name}.{}", fact.name),
                    Shape::Other => {}
                }
            }
            assert!(obj.field("no_such_field").is_none());
        }
    }

    /// The shapes name declared object types, and descriptions fit on one table row.
    #[test]
    fn shapes_name_objects_and_descriptions_are_one_line() {
        for object in OBJECTS {
            assert!(!object.summary.trim().is_empty(), "{}", object.cel_type);
            for fact in object.facts {
                if let Shape::Obj(t) | Shape::List(t) = fact.shape {
                    assert!(
                        fields_of(t).is_some(),
                        "{}.{}: no object type {t}",
                        object.cel_type,
                        fact.name
                    );
                }
                let text = fact.description.trim();
                assert!(
                    !text.is_empty() && !text.contains(['\n', '|']),
                    "{}.{}: {text:?}",
                    object.cel_type,
                    fact.name
                );
            }
            let mut names: Vec<&str> = object.facts.iter().map(|f| f.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(
                names.len(),
                object.facts.len(),
                "{}: a fact declared twice",
                object.cel_type
            );
        }
    }
}
