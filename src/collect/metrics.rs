//! Utilisation (`--metrics`): per node, statistics of five ElastiCache metrics over a window,
//! read with CloudWatch GetMetricData in batches of up to 500 queries (every page), never one
//! call per metric or per node. The statistics (p95, maximum, sum, ...) are computed here from
//! one datapoint per period, so they do not depend on CloudWatch's percentile support.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Dimension, Metric as CwMetric, MetricDataQuery, MetricStat, StatusCode};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, TimeZone, Utc};

use super::describe_error;
use crate::facts::ELASTICACHE_NAMESPACE;
use crate::inventory::{
    CoverageError, Deployment, DeploymentKind, MetricStats, NodeUtilisation, UtilisationWindow,
};

/// GetMetricData's limit of queries per call.
pub const QUERIES_PER_CALL: usize = 500;

/// How far back the utilisation statistics look (`--metrics-window`): `7d`, `12h`, `90m`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsWindow {
    pub seconds: i64,
    /// As given, for evidence.
    pub label: String,
}

impl Default for MetricsWindow {
    fn default() -> Self {
        MetricsWindow {
            seconds: 7 * 86_400,
            label: "7d".into(),
        }
    }
}

impl fmt::Display for MetricsWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// The shortest and longest windows: a window shorter than an hour holds too few 5-minute
/// datapoints to speak of "sustained"; hourly datapoints are kept for 455 days.
const MIN_WINDOW: i64 = 3_600;
const MAX_WINDOW: i64 = 455 * 86_400;

impl FromStr for MetricsWindow {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let unit = s.chars().last().unwrap_or(' ');
        let scale = match unit {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            _ => {
                return Err(format!(
                    "`{s}` is not a window: expected a number and d, h or m, e.g. 7d"
                ));
            }
        };
        let n: i64 = s[..s.len() - 1]
            .parse()
            .map_err(|_| format!("`{s}` is not a window: expected a number and d, h or m, e.g. 7d"))?;
        let seconds = n.checked_mul(scale).unwrap_or(i64::MAX);
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&seconds) {
            return Err(format!(
                "the metrics window must be between 1h and 455d, not `{s}`"
            ));
        }
        Ok(MetricsWindow {
            seconds,
            label: s.to_string(),
        })
    }
}

impl<'de> serde::Deserialize<'de> for MetricsWindow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl MetricsWindow {
    /// Seconds per datapoint: 5 minutes up to a day (at most 288 datapoints), an hour beyond
    /// (at most 10,920). A call's results come in pages of up to 100,800 datapoints, every page
    /// read: 500 queries over 7 days at an hour (84,000) fit one page.
    pub fn period_seconds(&self) -> i64 {
        if self.seconds <= 86_400 { 300 } else { 3_600 }
    }

    /// The window ending at the last whole period before `now`.
    pub fn ending(&self, now: DateTime<Utc>) -> UtilisationWindow {
        let period = self.period_seconds();
        let end = now.timestamp() - now.timestamp().rem_euclid(period);
        UtilisationWindow {
            length: self.label.clone(),
            start: Utc.timestamp_opt(end - self.seconds, 0).single().unwrap_or(now),
            end: Utc.timestamp_opt(end, 0).single().unwrap_or(now),
            period_seconds: period as u32,
        }
    }
}

/// The metrics read for each node, with the statistic asked for per period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    Cpu,
    EngineCpu,
    Memory,
    Evictions,
    Connections,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::Cpu,
        Metric::EngineCpu,
        Metric::Memory,
        Metric::Evictions,
        Metric::Connections,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Cpu => "CPUUtilization",
            Metric::EngineCpu => "EngineCPUUtilization",
            Metric::Memory => "DatabaseMemoryUsagePercentage",
            Metric::Evictions => "Evictions",
            Metric::Connections => "CurrConnections",
        }
    }

    fn stat(self) -> &'static str {
        match self {
            Metric::Cpu | Metric::EngineCpu => "Average",
            Metric::Memory | Metric::Connections => "Maximum",
            Metric::Evictions => "Sum",
        }
    }

    /// Memcached publishes neither engine CPU nor database memory usage.
    fn published_for(self, engine: &str) -> bool {
        engine != "memcached" || !matches!(self, Metric::EngineCpu | Metric::Memory)
    }

    fn slot(self, u: &mut NodeUtilisation) -> &mut Option<MetricStats> {
        match self {
            Metric::Cpu => &mut u.cpu,
            Metric::EngineCpu => &mut u.engine_cpu,
            Metric::Memory => &mut u.memory,
            Metric::Evictions => &mut u.evictions,
            Metric::Connections => &mut u.connections,
        }
    }
}

/// One metric of one node: where its statistics go, and the CloudWatch metric it reads.
struct Query {
    deployment: usize,
    node: usize,
    metric: Metric,
    dimensions: Vec<(&'static str, String)>,
}

/// The queries for every node of the deployments that have nodes (serverless caches have none).
/// Redis OSS and Valkey nodes are addressed by `CacheClusterId` (one node per cluster), as
/// alarms address them; Memcached nodes also by `CacheNodeId`.
fn queries(deployments: &[Deployment]) -> Vec<Query> {
    let mut out = Vec::new();
    for (di, d) in deployments.iter().enumerate() {
        if d.kind == DeploymentKind::ServerlessCache {
            continue;
        }
        for (ni, n) in d.nodes().enumerate() {
            let mut dimensions = vec![("CacheClusterId", n.cache_cluster_id.clone())];
            if d.engine == "memcached"
                && let Some(node_id) = &n.cache_node_id
            {
                dimensions.push(("CacheNodeId", node_id.clone()));
            }
            for metric in Metric::ALL.into_iter().filter(|m| m.published_for(&d.engine)) {
                out.push(Query {
                    deployment: di,
                    node: ni,
                    metric,
                    dimensions: dimensions.clone(),
                });
            }
        }
    }
    out
}

fn to_smithy(t: DateTime<Utc>) -> SmithyTime {
    SmithyTime::from_secs(t.timestamp())
}

fn from_smithy(t: &SmithyTime) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single()
}

/// Reads one batch (every page); the datapoints of each query, by its index in the batch.
async fn read_batch(
    c: &Client,
    batch: &[Query],
    window: &UtilisationWindow,
) -> Result<BTreeMap<usize, Vec<(DateTime<Utc>, f64)>>, CoverageError> {
    let requests: Vec<MetricDataQuery> = batch
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let metric = CwMetric::builder()
                .namespace(ELASTICACHE_NAMESPACE)
                .metric_name(q.metric.name())
                .set_dimensions(Some(
                    q.dimensions
                        .iter()
                        .map(|(k, v)| Dimension::builder().name(*k).value(v).build())
                        .collect(),
                ))
                .build();
            MetricDataQuery::builder()
                .id(format!("q{i}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(window.period_seconds as i32)
                        .stat(q.metric.stat())
                        .build(),
                )
                .return_data(true)
                .build()
        })
        .collect();
    let mut pages = c
        .get_metric_data()
        .set_metric_data_queries(Some(requests))
        .start_time(to_smithy(window.start))
        .end_time(to_smithy(window.end))
        .into_paginator()
        .send();
    let mut points: BTreeMap<usize, Vec<(DateTime<Utc>, f64)>> = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| describe_error(&e))?;
        for result in page.metric_data_results() {
            let Some(index) = result
                .id()
                .and_then(|id| id.strip_prefix('q'))
                .and_then(|i| i.parse::<usize>().ok())
                .filter(|i| *i < batch.len())
            else {
                continue;
            };
            // `PartialData` means more pages follow; anything but `Complete` after the last
            // page is a failed read, not fewer datapoints.
            if matches!(
                result.status_code(),
                Some(StatusCode::InternalError | StatusCode::Forbidden)
            ) {
                let reason = result
                    .messages()
                    .iter()
                    .filter_map(|m| m.value())
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(CoverageError {
                    code: result
                        .status_code()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    message: format!(
                        "GetMetricData could not read {}: {reason}",
                        batch[index].metric.name()
                    ),
                });
            }
            let here = points.entry(index).or_default();
            here.extend(
                result
                    .timestamps()
                    .iter()
                    .zip(result.values())
                    .filter_map(|(t, v)| from_smithy(t).map(|t| (t, *v))),
            );
        }
    }
    Ok(points)
}

/// Reads the utilisation of every node of `deployments` over `window` and stores it on the
/// nodes, with the window on each deployment. A failed batch makes `utilisation` an unknown
/// fact of the deployments it covered; the first failure is returned for the coverage.
/// Reads the utilisation of `deployments`' nodes over `window`, when a window is asked for and
/// one of them is node-based (serverless caches have no nodes); the read is recorded in `reads`.
pub(super) async fn read_if_asked(
    c: &Client,
    deployments: &mut [Deployment],
    window: Option<&UtilisationWindow>,
    reads: &mut super::Reads,
) {
    if let Some(window) = window
        && deployments
            .iter()
            .any(|d| d.kind != crate::inventory::DeploymentKind::ServerlessCache)
    {
        let read = read(c, deployments, window).await;
        reads.record("cloudwatch", "GetMetricData", read);
    }
}

async fn read(
    c: &Client,
    deployments: &mut [Deployment],
    window: &UtilisationWindow,
) -> Result<(), CoverageError> {
    let queries = queries(deployments);
    let mut failure = None;
    let mut stats: Vec<Option<MetricStats>> = vec![None; queries.len()];
    let mut failed = vec![false; deployments.len()];
    for (b, batch) in queries.chunks(QUERIES_PER_CALL).enumerate() {
        match read_batch(c, batch, window).await {
            Ok(points) => {
                for (i, mut series) in points {
                    series.sort_by_key(|p| p.0);
                    series.dedup_by_key(|p| p.0);
                    stats[b * QUERIES_PER_CALL + i] = MetricStats::of(&series);
                }
            }
            Err(e) => {
                for q in batch {
                    failed[q.deployment] = true;
                }
                failure.get_or_insert(e);
            }
        }
    }

    let mut utilisation: BTreeMap<(usize, usize), NodeUtilisation> = BTreeMap::new();
    for (q, s) in queries.iter().zip(stats) {
        let u = utilisation.entry((q.deployment, q.node)).or_default();
        *q.metric.slot(u) = s;
    }
    for (di, d) in deployments.iter_mut().enumerate() {
        if d.kind == DeploymentKind::ServerlessCache {
            continue;
        }
        d.utilisation_window = Some(window.clone());
        if failed[di] {
            d.unknown_facts.push("utilisation".into());
            continue;
        }
        let nodes = d.node_groups.iter_mut().flat_map(|g| g.members.iter_mut());
        for (ni, n) in nodes.enumerate() {
            n.utilisation = Some(utilisation.remove(&(di, ni)).unwrap_or_default());
        }
    }
    failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_and_pick_a_period() {
        let w: MetricsWindow = "7d".parse().unwrap();
        assert_eq!((w.seconds, w.period_seconds()), (604_800, 3_600));
        let w: MetricsWindow = "24h".parse().unwrap();
        assert_eq!((w.seconds, w.period_seconds()), (86_400, 300));
        assert_eq!("90m".parse::<MetricsWindow>().unwrap().seconds, 5_400);
        for bad in ["", "7", "d", "7w", "-1d", "30m", "456d", "99999999999999999d"] {
            assert!(bad.parse::<MetricsWindow>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn the_window_ends_on_a_whole_period() {
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 17, 42, 13).unwrap();
        let w = "7d".parse::<MetricsWindow>().unwrap().ending(now);
        assert_eq!(w.end, Utc.with_ymd_and_hms(2026, 11, 29, 17, 0, 0).unwrap());
        assert_eq!(w.start, Utc.with_ymd_and_hms(2026, 11, 22, 17, 0, 0).unwrap());
        let w = "2h".parse::<MetricsWindow>().unwrap().ending(now);
        assert_eq!(w.end, Utc.with_ymd_and_hms(2026, 11, 29, 17, 40, 0).unwrap());
        assert_eq!(w.period_seconds, 300);
    }

    #[test]
    fn statistics_of_datapoints() {
        let t = |m| Utc.with_ymd_and_hms(2026, 11, 29, 10, m, 0).unwrap();
        // 20 datapoints 1..=20: p95 by nearest rank is the 19th.
        let points: Vec<_> = (1..=20).map(|v| (t(v), f64::from(v))).collect();
        let s = MetricStats::of(&points).unwrap();
        assert_eq!((s.datapoints, s.p95, s.maximum, s.sum), (20, 19.0, 20.0, 210.0));
        assert_eq!(s.average, 10.5);
        assert_eq!(s.maximum_at, Some(t(20)));
        let one = MetricStats::of(&[(t(1), 7.0)]).unwrap();
        assert_eq!((one.p95, one.maximum), (7.0, 7.0));
        assert!(MetricStats::of(&[]).is_none());
        assert!(MetricStats::of(&[(t(1), f64::NAN)]).is_none());
    }
}
