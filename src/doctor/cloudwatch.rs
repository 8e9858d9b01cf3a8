//! The CloudWatch section: per node, the last hour of CPU, engine CPU and memory usage (read by
//! the collection's GetMetricData for this deployment's nodes) and the alarms watching each.

use super::check::{Check, Section};
use crate::inventory::{Deployment, DeploymentKind, MetricStats, Node};

/// A figure above this in the last hour is a ✘.
pub const CPU_PERCENT: f64 = 90.0;

/// One check per node: the last hour of CPU, engine CPU and memory, and the alarms watching it.
pub(crate) fn checks(d: &Deployment) -> Vec<Check> {
    let metrics: &[(&str, Pick)] = if d.engine == "memcached" {
        &[("CPUUtilization", |u| u.cpu.as_ref())]
    } else {
        &[
            ("CPUUtilization", |u| u.cpu.as_ref()),
            ("EngineCPUUtilization", |u| u.engine_cpu.as_ref()),
            ("DatabaseMemoryUsagePercentage", |u| u.memory.as_ref()),
        ]
    };
    let unread = d.unknown_facts.iter().any(|f| f == "utilisation");
    let alarms_unread = d.unknown_facts.iter().any(|f| f == "alarms");
    let mut out = Vec::new();
    if d.kind == DeploymentKind::ServerlessCache {
        out.push(
            Check::new("cloudwatch-node", Section::Cloudwatch, "nodes".into())
                .skip("a serverless cache has no nodes to read"),
        );
        return out;
    }
    for node in d.nodes() {
        let name = crate::facts::node_name(node);
        let check = Check::new(
            "cloudwatch-node",
            Section::Cloudwatch,
            format!("{name}: utilisation below {CPU_PERCENT}% and alarms on it"),
        );
        if unread {
            out.push(check.skip("CloudWatch GetMetricData could not be read"));
            continue;
        }
        out.push(node_check(check, node, metrics, alarms_unread));
    }
    out
}

type Pick = fn(&crate::inventory::NodeUtilisation) -> Option<&MetricStats>;

fn node_check(mut check: Check, node: &Node, metrics: &[(&str, Pick)], alarms_unread: bool) -> Check {
    let mut hot = Vec::new();
    let mut unwatched = Vec::new();
    let mut any_data = false;
    let watched = crate::facts::node_watched_metrics(node);
    for (metric, pick) in metrics {
        let figure = node.utilisation.as_ref().and_then(pick);
        let line = match figure {
            Some(s) => {
                any_data = true;
                if s.maximum > CPU_PERCENT {
                    hot.push(*metric);
                }
                format!(
                    "{metric}: maximum {:.1}%, average {:.1}% ({} datapoints)",
                    s.maximum, s.average, s.datapoints
                )
            }
            None => format!("{metric}: no datapoint in the last hour"),
        };
        let alarms: Vec<String> = node
            .alarms
            .iter()
            .filter(|a| crate::facts::watched_metrics(a, node).contains(metric))
            .map(|a| {
                format!(
                    "{} ({} {} {}, {}{})",
                    a.name,
                    a.statistic.as_deref().unwrap_or("metric"),
                    a.comparison.as_deref().unwrap_or("?"),
                    a.threshold.map_or("?".into(), |t| t.to_string()),
                    a.state.as_deref().unwrap_or("state unknown"),
                    if crate::facts::notifies(a) {
                        ", notifies"
                    } else {
                        ", notifies nobody"
                    }
                )
            })
            .collect();
        let alarm_line = if alarms_unread {
            "alarms could not be read".to_string()
        } else if alarms.is_empty() {
            if !watched.contains(metric) {
                unwatched.push(*metric);
            }
            "no alarm".to_string()
        } else {
            format!("alarms: {}", alarms.join("; "))
        };
        check.evidence.push(format!("{line}; {alarm_line}"));
    }
    if !hot.is_empty() {
        return check.fail(format!(
            "{} above {CPU_PERCENT}% in the last hour: see the runbook (INFO, SLOWLOG GET, scaling)",
            hot.join(", ")
        ));
    }
    if !unwatched.is_empty() {
        return check.fail(format!(
            "create alarms on {} for this node (`aws cloudwatch put-metric-alarm --namespace AWS/ElastiCache \
             --dimensions Name=CacheClusterId,Value={} ...`)",
            unwatched.join(", "),
            node.cache_cluster_id
        ));
    }
    if !any_data {
        return check.skip_keeping_evidence();
    }
    check.pass()
}
