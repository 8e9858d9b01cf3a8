//! The Inventory: every fact about every ElastiCache deployment, already joined, plus what could
//! not be read. It is the contract between collection and evaluation (see `docs/inventory.md`).
//!
//! Unknown facts are `null` (or an explicit `unknown` state), never guessed: a rule that needs an
//! unknown fact reports `error`, not a pass or a fail.

mod load;
mod spool;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use load::{
    Document, InventoryError, load_inventory, load_inventory_at_most, parse_inventory, read_text,
    read_text_at_most,
};
pub use spool::{Spool, Spooled};

/// The inventory schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// A collected (or hand-written) inventory of ElastiCache deployments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ecaudit inventory", extend("$id" = "https://ecaudit.dev/schemas/inventory-v1.json"))]
pub struct Inventory {
    /// Version of this document's shape. This build reads version 1.
    pub schema_version: u32,
    /// When collection started: every fact was read at or after it. Time-dependent rules
    /// (snapshot age) are evaluated as of this instant, by the scan that collected it as by a
    /// later audit of the saved inventory, so both give the same findings.
    #[serde(default)]
    pub collected_at: Option<DateTime<Utc>>,
    /// The program that wrote the inventory.
    #[serde(default)]
    pub collector: Option<Collector>,
    /// Every deployment found.
    pub deployments: Vec<Deployment>,
    /// Per account × region × API: what was read and what failed.
    #[serde(default)]
    pub coverage: Vec<CoverageEntry>,
    /// The organization's accounts, each with its name and organizational unit path, when
    /// collection listed the organization (`--organization`): the owners findings name. Sorted
    /// by id; absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<Account>,
    /// Present when this inventory is one shard of a scan (`--shard K/N`): which units it read.
    /// `ecaudit merge` joins the shards and drops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::ShardInfo>,
}

/// The program that wrote an inventory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Collector {
    pub name: String,
    pub version: String,
    /// Who collected: the caller's ARN (STS GetCallerIdentity), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

/// An account of the AWS Organization as `--organization` found it: who owns its deployments.
/// What could not be read is absent (a coverage entry of service `organizations` says why).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The 12-digit account id.
    pub id: String,
    /// The account's name in the organization (ListAccounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The organizational units from the root down to the account's own, joined by `/`:
    /// `Root/Workloads/Prod`, or `Root` for an account directly under the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ou_path: Option<String>,
    /// The id of the unit the account is in: `ou-...`, or the root's `r-...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ou_id: Option<String>,
    /// The organization's id, `o-...` (from the account's ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
}

/// One read of one API in one account and region.
// A scan holds one per API per unit until its outputs are written, so it is kept small: the
// unit's account and region are shared, the collector's service and API names are not copied,
// and the rare error is boxed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverageEntry {
    pub account_id: Arc<str>,
    /// AWS region, or `global` for global APIs (STS, Organizations).
    pub region: Arc<str>,
    /// Service name as in IAM actions: `elasticache`, `ec2`, `cloudwatch`, `sts`, `organizations`.
    pub service: Cow<'static, str>,
    /// Operation name, e.g. `DescribeReplicationGroups`.
    pub api: Cow<'static, str>,
    pub status: CoverageStatus,
    /// Why the read failed (absent when it succeeded).
    #[serde(default)]
    pub error: Option<Box<CoverageError>>,
    /// Number of calls made (pages included), when known.
    #[serde(default)]
    pub calls: Option<u64>,
}

impl CoverageEntry {
    /// A failed read is a gap in what the scan could see.
    pub fn is_gap(&self) -> bool {
        self.status == CoverageStatus::Failed
    }

    /// A `DescribeReplicationGroups` read of a unit, for tests of what a result read.
    #[cfg(test)]
    pub(crate) fn of(account: &str, region: &str, status: CoverageStatus) -> Self {
        CoverageEntry {
            account_id: account.into(),
            region: region.into(),
            service: "elasticache".into(),
            api: "DescribeReplicationGroups".into(),
            status,
            error: None,
            calls: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CoverageStatus {
    /// Every page was read.
    Read,
    /// The read failed; the facts it would have given are unknown.
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverageError {
    /// AWS error code (`AccessDenied`, `Throttling`, ...) or a transport class (`timeout`, `dispatch`).
    pub code: String,
    pub message: String,
}

/// What kind of ElastiCache resource a deployment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentKind {
    /// A Redis OSS or Valkey replication group (cluster mode enabled or disabled).
    ReplicationGroup,
    /// A node-based cluster that belongs to no replication group: single-node Redis OSS/Valkey,
    /// or Memcached.
    CacheCluster,
    /// An ElastiCache Serverless cache.
    ServerlessCache,
}

impl DeploymentKind {
    pub const ALL: [DeploymentKind; 3] = [
        DeploymentKind::ReplicationGroup,
        DeploymentKind::CacheCluster,
        DeploymentKind::ServerlessCache,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentKind::ReplicationGroup => "replication_group",
            DeploymentKind::CacheCluster => "cache_cluster",
            DeploymentKind::ServerlessCache => "serverless_cache",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for DeploymentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One ElastiCache deployment with every fact the rule pack needs, joined.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    pub kind: DeploymentKind,
    /// Replication group id, standalone cache cluster id, or serverless cache name.
    pub id: String,
    pub arn: String,
    pub account_id: String,
    pub region: String,
    /// `redis`, `valkey` or `memcached`.
    pub engine: String,
    /// Lifecycle status as AWS reports it (`available`, `creating`, `modifying`, `deleting`, ...).
    #[serde(default)]
    pub status: Option<String>,
    /// Full engine version, e.g. `7.1.0` (serverless: `FullEngineVersion`, e.g. `7.2`).
    #[serde(default)]
    pub engine_version: Option<String>,
    #[serde(default)]
    pub node_type: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// The port clients connect to (from the primary or configuration endpoint).
    #[serde(default)]
    pub port: Option<u16>,
    /// The address clients connect to: the configuration endpoint (cluster mode, Memcached),
    /// the primary endpoint, a standalone node's endpoint, or the serverless endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Redis OSS / Valkey cluster mode; absent for Memcached and serverless.
    #[serde(default)]
    pub cluster_mode: Option<ClusterMode>,
    /// Shards (node groups) and their member nodes. A standalone cluster has one group
    /// without an id; Memcached's cache nodes are the members of that group.
    #[serde(default)]
    pub node_groups: Vec<NodeGroup>,
    #[serde(default)]
    pub at_rest_encryption: Option<bool>,
    /// KMS key used for at-rest encryption; absent means the AWS-owned key (or unknown).
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub transit_encryption: Option<bool>,
    /// `preferred` (TLS and plaintext accepted) or `required`.
    #[serde(default)]
    pub transit_encryption_mode: Option<TransitEncryptionMode>,
    /// Whether an AUTH token is set.
    #[serde(default)]
    pub auth_token_enabled: Option<bool>,
    /// RBAC user groups attached.
    #[serde(default)]
    pub user_group_ids: Vec<String>,
    /// Replication group `MultiAZ` (`enabled` → true).
    #[serde(default)]
    pub multi_az: Option<bool>,
    /// The current `AutomaticFailover` value, not the pending one.
    #[serde(default)]
    pub automatic_failover: Option<AutomaticFailover>,
    /// Pending modifications as AWS reports them (e.g. `automatic_failover: enabled`): recorded for
    /// evidence, never treated as the current state.
    #[serde(default)]
    pub pending_changes: BTreeMap<String, String>,
    #[serde(default)]
    pub snapshot_retention_days: Option<u32>,
    /// Daily snapshot window (UTC), e.g. `03:00-04:00`.
    #[serde(default)]
    pub snapshot_window: Option<String>,
    /// Creation time of the newest automatic snapshot; absent when none exists or unknown.
    #[serde(default)]
    pub latest_automatic_snapshot: Option<DateTime<Utc>>,
    #[serde(default)]
    pub subnet_group: Option<SubnetGroup>,
    /// The VPC the deployment lives in, with its CIDR blocks.
    #[serde(default)]
    pub vpc: Option<Vpc>,
    /// Attached VPC security groups with their ingress permissions.
    #[serde(default)]
    pub security_groups: Vec<SecurityGroup>,
    #[serde(default)]
    pub parameter_group: Option<ParameterGroup>,
    /// ElastiCache event notifications (SNS).
    #[serde(default)]
    pub notification_topic: Option<NotificationTopic>,
    #[serde(default)]
    pub auto_minor_version_upgrade: Option<bool>,
    #[serde(default)]
    pub log_delivery: Vec<LogDelivery>,
    /// Membership in a Global Datastore, if any.
    #[serde(default)]
    pub global_datastore: Option<GlobalDatastoreMembership>,
    /// Resource tags; absent when they could not be read (distinct from no tags).
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
    /// What collection could not resolve for this deployment (dangling references, unreadable
    /// facts), in plain words.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Facts whose absence above means "could not be read", not "none": `alarms` (no alarm
    /// listed), `latest_automatic_snapshot` (no snapshot listed), `security_groups` (the
    /// attached groups are not known), `notification_topic` (no topic: the member clusters that
    /// carry it could not be read), `utilisation` (CloudWatch GetMetricData failed).
    #[serde(default)]
    pub unknown_facts: Vec<String>,
    /// The window the nodes' utilisation statistics cover; absent when metrics were not
    /// collected (`--metrics`), which makes the utilisation rules not applicable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilisation_window: Option<UtilisationWindow>,
}

/// The time span of the utilisation statistics (CloudWatch GetMetricData).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UtilisationWindow {
    /// The window as asked for, e.g. `7d`.
    pub length: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The period of each datapoint the statistics are computed from (300 s for windows of a day
    /// or less, otherwise 3,600 s).
    pub period_seconds: u32,
}

/// A node's CloudWatch statistics over the utilisation window. A metric without datapoints in
/// the window is absent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeUtilisation {
    /// `CPUUtilization`, the period averages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<MetricStats>,
    /// `EngineCPUUtilization` (Redis OSS and Valkey), the period averages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_cpu: Option<MetricStats>,
    /// `DatabaseMemoryUsagePercentage` (Redis OSS and Valkey), the period maxima.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MetricStats>,
    /// `Evictions`, the period sums.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evictions: Option<MetricStats>,
    /// `CurrConnections`, the period maxima.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<MetricStats>,
}

/// Statistics of one metric's datapoints (one per period) over the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricStats {
    pub datapoints: u32,
    pub average: f64,
    /// 95th percentile of the datapoints (nearest rank).
    pub p95: f64,
    pub maximum: f64,
    pub sum: f64,
    /// When the maximum was reached (the start of its period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_at: Option<DateTime<Utc>>,
}

impl MetricStats {
    /// Statistics of `(timestamp, value)` datapoints; `None` without any.
    pub fn of(points: &[(DateTime<Utc>, f64)]) -> Option<MetricStats> {
        let values: Vec<f64> = points.iter().map(|p| p.1).filter(|v| v.is_finite()).collect();
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        // Nearest rank: the smallest value with at least 95 % of the datapoints at or below it.
        let rank = (0.95 * sorted.len() as f64).ceil() as usize;
        let p95 = sorted[rank.clamp(1, sorted.len()) - 1];
        let sum: f64 = values.iter().sum();
        let (maximum_at, maximum) =
            points
                .iter()
                .filter(|p| p.1.is_finite())
                .fold((None, f64::NEG_INFINITY), |(at, max), p| {
                    if p.1 > max { (Some(p.0), p.1) } else { (at, max) }
                });
        Some(MetricStats {
            datapoints: values.len() as u32,
            average: sum / values.len() as f64,
            p95,
            maximum,
            sum,
            maximum_at,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClusterMode {
    Enabled,
    Disabled,
    /// Migrating between modes: clients may use either.
    Compatible,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransitEncryptionMode {
    Preferred,
    Required,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutomaticFailover {
    Enabled,
    Disabled,
    Enabling,
    Disabling,
}

/// A shard: its member nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeGroup {
    /// Node group id (`0001`); absent for a standalone cluster.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub members: Vec<Node>,
}

/// One cache node: a member cluster of a replication group, or a node of a standalone cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// The cache cluster id CloudWatch uses as the `CacheClusterId` dimension.
    pub cache_cluster_id: String,
    /// Cache node id within the cluster (`0001`).
    #[serde(default)]
    pub cache_node_id: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    /// `primary` or `replica` where AWS reports it (not in cluster mode enabled).
    #[serde(default)]
    pub role: Option<NodeRole>,
    #[serde(default)]
    pub status: Option<String>,
    /// CloudWatch alarms whose metric (or one of whose metric-math metrics) has this node's
    /// `CacheClusterId` dimension.
    #[serde(default)]
    pub alarms: Vec<Alarm>,
    /// CloudWatch statistics over the deployment's `utilisation_window` (`--metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilisation: Option<NodeUtilisation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    Primary,
    Replica,
}

/// A CloudWatch metric alarm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alarm {
    pub name: String,
    #[serde(default)]
    pub arn: Option<String>,
    /// Namespace of a single-metric alarm; absent for metric-math alarms.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Metric of a single-metric alarm; absent for metric-math alarms.
    #[serde(default)]
    pub metric_name: Option<String>,
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    /// The metrics of a metric-math alarm.
    #[serde(default)]
    pub metrics: Vec<AlarmMetric>,
    #[serde(default)]
    pub statistic: Option<String>,
    #[serde(default)]
    pub threshold: Option<f64>,
    /// `GreaterThanThreshold`, `GreaterThanOrEqualToThreshold`, ...
    #[serde(default)]
    pub comparison: Option<String>,
    #[serde(default)]
    pub evaluation_periods: Option<u32>,
    #[serde(default)]
    pub period_seconds: Option<u32>,
    pub actions_enabled: bool,
    #[serde(default)]
    pub alarm_actions: Vec<String>,
    #[serde(default)]
    pub state: Option<String>,
}

/// One metric of a metric-math alarm (a `MetricDataQuery` with a `MetricStat`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmMetric {
    pub id: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub metric_name: Option<String>,
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    #[serde(default)]
    pub statistic: Option<String>,
    /// A math expression instead of a metric.
    #[serde(default)]
    pub expression: Option<String>,
}

/// Whether a referenced resource was found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LookupState {
    /// Read, and it exists.
    #[default]
    Found,
    /// Read, and it does not exist (deleted after being referenced).
    NotFound,
    /// Could not be read (see coverage).
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetGroup {
    /// Cache subnet group name; absent for serverless caches, which take subnet ids directly.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub state: LookupState,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub subnets: Vec<Subnet>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subnet {
    pub id: String,
    #[serde(default)]
    pub availability_zone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vpc {
    pub id: String,
    #[serde(default)]
    pub ipv4_cidr_blocks: Vec<String>,
    #[serde(default)]
    pub ipv6_cidr_blocks: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroup {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub state: LookupState,
    #[serde(default)]
    pub ingress: Vec<IngressPermission>,
}

/// One inbound permission (an `IpPermission`) of a security group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngressPermission {
    /// `tcp`, `udp`, `icmp`, ... or `-1` for all traffic.
    pub protocol: String,
    /// First port of the range; absent for protocol `-1`.
    #[serde(default)]
    pub from_port: Option<i32>,
    #[serde(default)]
    pub to_port: Option<i32>,
    #[serde(default)]
    pub ipv4_ranges: Vec<IpRange>,
    #[serde(default)]
    pub ipv6_ranges: Vec<IpRange>,
    /// Security groups referenced as sources.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Managed prefix lists referenced as sources.
    #[serde(default)]
    pub prefix_lists: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IpRange {
    pub cidr: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParameterGroup {
    pub name: String,
    #[serde(default)]
    pub state: LookupState,
    /// e.g. `redis7`, `valkey8`, `memcached1.6`.
    #[serde(default)]
    pub family: Option<String>,
    /// The `cluster-enabled` parameter (`yes`/`no`); absent for Memcached or when unknown.
    #[serde(default)]
    pub cluster_enabled: Option<String>,
    #[serde(default)]
    pub is_default: Option<bool>,
    /// Apply status on the deployment (`in-sync`, `applying`, `pending-reboot`).
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationTopic {
    pub arn: String,
    /// `active` or `inactive`.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogDelivery {
    /// `slow-log` or `engine-log`.
    pub log_type: String,
    /// `cloudwatch-logs` or `kinesis-firehose`.
    #[serde(default)]
    pub destination_type: Option<String>,
    #[serde(default)]
    pub destination: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// A replication group's place in a Global Datastore. Secondary members inherit encryption
/// settings from the global group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalDatastoreMembership {
    pub id: String,
    pub role: GlobalRole,
    #[serde(default)]
    pub at_rest_encryption: Option<bool>,
    #[serde(default)]
    pub transit_encryption: Option<bool>,
    #[serde(default)]
    pub auth_token_enabled: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GlobalRole {
    Primary,
    Secondary,
}

impl Inventory {
    /// An empty inventory of the current schema version.
    pub fn new() -> Self {
        Inventory {
            schema_version: SCHEMA_VERSION,
            collected_at: None,
            collector: None,
            deployments: Vec::new(),
            coverage: Vec::new(),
            accounts: Vec::new(),
            shard: None,
        }
    }

    /// Coverage entries that failed.
    pub fn gaps(&self) -> impl Iterator<Item = &CoverageEntry> {
        self.coverage.iter().filter(|c| c.is_gap())
    }

    /// Puts deployments, coverage and accounts in a stable order, so outputs do not depend on the order
    /// in which collection finished.
    pub fn sort(&mut self) {
        self.deployments.sort_by(|a, b| {
            (&a.account_id, &a.region, a.kind, &a.id).cmp(&(&b.account_id, &b.region, b.kind, &b.id))
        });
        self.coverage.sort_by(|a, b| {
            (&a.account_id, &a.region, &a.service, &a.api).cmp(&(
                &b.account_id,
                &b.region,
                &b.service,
                &b.api,
            ))
        });
        self.accounts.sort_by(|a, b| a.id.cmp(&b.id));
    }

    /// The JSON Schema of the inventory document, generated from these types.
    pub fn json_schema() -> schemars::Schema {
        schemars::schema_for!(Inventory)
    }
}

impl Default for Inventory {
    fn default() -> Self {
        Self::new()
    }
}

impl Deployment {
    /// Every node of every node group.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.node_groups.iter().flat_map(|g| g.members.iter())
    }

    /// The port clients use: the reported one, else the engine's default.
    pub fn cache_port(&self) -> Option<u16> {
        self.port.or(match self.engine.as_str() {
            "redis" | "valkey" => Some(6379),
            "memcached" => Some(11211),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coverage_entry_reads_back_as_written() {
        let text = r#"{"account_id":"111122223333","region":"eu-west-1","service":"ec2","api":"DescribeVpcs","status":"failed","error":{"code":"AccessDenied","message":"no"},"calls":2}"#;
        let entry: CoverageEntry = serde_json::from_str(text).unwrap();
        assert_eq!(&*entry.region, "eu-west-1");
        assert_eq!(
            entry.error.as_ref().map(|e| e.code.as_str()),
            Some("AccessDenied")
        );
        assert_eq!(serde_json::to_string(&entry).unwrap(), text);
    }
}
