//! CloudWatch reads of one unit: every metric alarm (all pages), kept when it evaluates an
//! `AWS/ElastiCache` metric alone or in metric math. Alarms are joined to nodes by their
//! `CacheClusterId` dimension in `assemble`.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{AlarmType, MetricAlarm};

use super::describe_error;
use crate::facts::ELASTICACHE_NAMESPACE;
use crate::inventory::CoverageError;

const PAGE: i32 = 100;

fn about_elasticache(alarm: &MetricAlarm) -> bool {
    alarm.namespace() == Some(ELASTICACHE_NAMESPACE)
        || alarm.metrics().iter().any(|q| {
            q.metric_stat()
                .and_then(|s| s.metric())
                .is_some_and(|m| m.namespace() == Some(ELASTICACHE_NAMESPACE))
        })
}

pub(crate) async fn read(c: &Client) -> Result<Vec<MetricAlarm>, CoverageError> {
    let mut pages = c
        .describe_alarms()
        .alarm_types(AlarmType::MetricAlarm)
        .max_records(PAGE)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| describe_error(&e))?;
        out.extend(
            page.metric_alarms()
                .iter()
                .filter(|a| about_elasticache(a))
                .cloned(),
        );
    }
    Ok(out)
}
