//! The runbook: reads the one deployment (its facts, as a scan reads them, with the last hour
//! of metrics), runs the sections in order (connectivity, protocol, INFO, CloudWatch) and
//! returns the checklist as a [`Diagnosis`], the doctor's JSON document.

use std::time::Duration;

use serde::Serialize;

use super::check::{Check, Mark};
use super::options::{DoctorError, DoctorOptions, parse_target, validate};
use super::{cloudwatch, info, network, protocol};
use crate::collect::metrics::MetricsWindow;
use crate::collect::targets::{AccountSpec, RegionSpec};
use crate::collect::{CallRecorder, OneDeployment};
use crate::inventory::{CoverageEntry, Deployment, DeploymentKind};

/// The version of the doctor's JSON document.
pub const SCHEMA_VERSION: u32 = 1;

/// The deployment the doctor looked at.
#[derive(Clone, Debug, Serialize)]
pub struct Subject {
    pub kind: DeploymentKind,
    pub id: String,
    pub arn: String,
    pub account_id: String,
    pub region: String,
    pub engine: String,
    pub engine_version: Option<String>,
    pub endpoint: Option<String>,
    pub port: Option<u16>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

/// The doctor's result (its JSON document).
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    pub schema_version: u32,
    pub tool: Tool,
    pub subject: Option<Subject>,
    /// Where the protocol checks connected (`--connect`, or the endpoint).
    pub address: Option<String>,
    /// The sources the security-group check used.
    pub sources: Vec<String>,
    pub checks: Vec<Check>,
    /// Reads that failed while collecting the deployment's facts.
    pub coverage_gaps: Vec<CoverageEntry>,
}

impl Diagnosis {
    pub fn count(&self, mark: Mark) -> usize {
        self.checks.iter().filter(|c| c.mark == mark).count()
    }

    /// 0 nothing failed; 1 a check failed; 3 the deployment could not be read.
    pub fn exit_code(&self) -> u8 {
        if self.subject.is_none() {
            crate::exit::INCOMPLETE
        } else if self.count(Mark::Fail) > 0 {
            1
        } else {
            0
        }
    }
}

/// Runs the runbook.
pub fn run(options: &DoctorOptions) -> Result<Diagnosis, DoctorError> {
    validate(options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(DoctorError::Runtime)?;
    let diagnosis = runtime.block_on(diagnose(options));
    // A resolver stuck on a dead DNS server must not hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    diagnosis
}

async fn diagnose(options: &DoctorOptions) -> Result<Diagnosis, DoctorError> {
    let target = parse_target(&options.deployment)?;
    let mut collect = options.collect.clone();
    if let Some(region) = &target.region {
        collect.regions = RegionSpec::List(vec![region.clone()]);
    }
    if let Some(account) = &target.account {
        collect.accounts = AccountSpec::List(vec![account.clone()]);
    }
    // Only the deployment, by id: not the whole account and region.
    collect.only = Some(OneDeployment {
        id: target.id.clone(),
        kind: target.kind,
    });
    collect.metrics = Some(MetricsWindow {
        seconds: 3_600,
        label: "1h".into(),
    });
    crate::collect::targets::validate(&collect)?;
    let (inventory, _) = crate::collect::collect(&collect, &CallRecorder::new()).await?;
    let gaps: Vec<CoverageEntry> = inventory.gaps().cloned().collect();
    let matching: Vec<&Deployment> = inventory
        .deployments
        .iter()
        .filter(|d| match &target.arn {
            Some(arn) => d.arn == *arn,
            None => d.id == target.id,
        })
        .collect();
    let tool = Tool {
        name: "ecaudit",
        version: env!("CARGO_PKG_VERSION"),
    };
    if matching.len() > 1 {
        return Err(DoctorError::Ambiguous {
            id: target.id,
            count: matching.len(),
            place: "the account and region read".into(),
        });
    }
    let Some(d) = matching.first().copied() else {
        // Only a failed ElastiCache read can hide a deployment.
        if !gaps.iter().any(|g| g.service == "elasticache") {
            let place = match (&target.account, &target.region) {
                (Some(a), Some(r)) => format!("account {a}, region {r}"),
                _ => "the account and region read".to_string(),
            };
            return Err(DoctorError::NotFound { id: target.id, place });
        }
        // Not found where reads failed: it may well exist.
        return Ok(Diagnosis {
            schema_version: SCHEMA_VERSION,
            tool,
            subject: None,
            address: None,
            sources: Vec::new(),
            checks: Vec::new(),
            coverage_gaps: gaps,
        });
    };

    let port = d.cache_port();
    let address = options
        .connect
        .clone()
        .or_else(|| d.endpoint.as_ref().zip(port).map(|(e, p)| format!("{e}:{p}")));
    // The security groups see this host's address toward the endpoint, not toward a tunnel.
    let endpoint_address = d.endpoint.as_ref().zip(port).map(|(e, p)| format!("{e}:{p}"));
    let sources = match options.from.is_empty() {
        false => options.from.clone(),
        true => network::local_source(endpoint_address.as_deref())
            .await
            .into_iter()
            .collect(),
    };

    // The sections in order; without a TCP connection the protocol and INFO are not checked.
    let mut checks = vec![
        network::source_admitted(d, &sources),
        network::subnet_group_and_vpc(d),
        network::resolves(d, options.connect.as_deref(), options.timeout).await,
    ];
    let tcp = network::tcp_connect(address.as_deref(), options.timeout).await;
    let reachable = tcp.mark == Mark::Pass;
    checks.push(tcp);
    match (reachable, address.as_deref()) {
        (true, Some(address)) => {
            let (protocol, access) = protocol::checks(d, options, address).await;
            checks.extend(protocol);
            match access {
                Ok(access) => checks.extend(info::checks(&access).await),
                Err(why) => checks.extend(info::unchecked(&why)),
            }
        }
        _ => {
            checks.extend(protocol::unchecked("no TCP connection"));
            checks.extend(info::unchecked("no TCP connection"));
        }
    }
    checks.extend(cloudwatch::checks(d));

    Ok(Diagnosis {
        schema_version: SCHEMA_VERSION,
        tool,
        subject: Some(Subject {
            kind: d.kind,
            id: d.id.clone(),
            arn: d.arn.clone(),
            account_id: d.account_id.clone(),
            region: d.region.clone(),
            engine: d.engine.clone(),
            engine_version: d.engine_version.clone(),
            endpoint: d.endpoint.clone(),
            port,
        }),
        address,
        sources: sources.iter().map(ToString::to_string).collect(),
        checks,
        coverage_gaps: gaps,
    })
}
