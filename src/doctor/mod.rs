//! `ecaudit doctor DEPLOYMENT`: the runbook of one deployment (connectivity, protocol, INFO,
//! CloudWatch) run as a checklist. Each check ends ✔ (pass), ✘ (fail, with the next step) or –
//! (not checked, and why), with its evidence.
//!
//! The deployment's facts come from a collection of its (account, region) with the last hour of
//! metrics, so the doctor reads exactly what a scan reads (and needs no other IAM action); the
//! protocol checks talk to the server through [`probe`] (redis-rs over our own TCP/TLS).

pub mod network;
pub mod probe;
mod render;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use serde::Serialize;

use crate::collect::metrics::MetricsWindow;
use crate::collect::targets::{AccountSpec, RegionSpec, TargetError};
use crate::collect::{CallRecorder, CollectOptions, OneDeployment};
use crate::inventory::{CoverageEntry, Deployment, DeploymentKind, MetricStats, Node, TransitEncryptionMode};
use probe::{Auth, PingOutcome, ProbeError, Session, TlsOptions};

pub use render::{render_json, render_table};

/// The version of the doctor's JSON document.
pub const SCHEMA_VERSION: u32 = 1;

/// Thresholds that turn an INFO or CloudWatch figure into a ✘.
pub const MEMORY_PERCENT: f64 = 90.0;
pub const FRAGMENTATION_RATIO: f64 = 1.5;
pub const CPU_PERCENT: f64 = 90.0;
/// Below this much used memory the fragmentation ratio says nothing (allocator overhead).
pub const FRAGMENTATION_MIN_BYTES: u64 = 64 * 1024 * 1024;

/// What to diagnose and how to reach it.
#[derive(Clone, Debug)]
pub struct DoctorOptions {
    /// Deployment id (replication group, cache cluster or serverless cache) or ARN.
    pub deployment: String,
    /// Where to read it: region, account and role, endpoint override.
    pub collect: CollectOptions,
    /// Source CIDRs the security groups must admit (`--from`); empty: this host's address
    /// toward the deployment.
    pub from: Vec<IpNet>,
    /// `HOST:PORT` to connect to instead of the endpoint (tunnels, tests).
    pub connect: Option<String>,
    /// Environment variable holding the AUTH token (never argv, never printed).
    pub auth_token_env: Option<String>,
    /// RBAC user for `AUTH user token`.
    pub user: Option<String>,
    /// Extra trusted CA certificates (PEM), on top of the system store.
    pub tls_ca: Option<Vec<u8>>,
    /// Timeout of each network step.
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error(
        "`{0}` is not an ElastiCache ARN: expected arn:PARTITION:elasticache:REGION:ACCOUNT:replicationgroup|cluster|serverlesscache:ID"
    )]
    BadArn(String),
    #[error("--connect `{0}` is not HOST:PORT")]
    BadConnect(String),
    /// The value is not echoed: it may be the token itself, passed by mistake.
    #[error("--auth-token-env takes the name of an environment variable (letters, digits, _), not a token")]
    BadEnvName,
    #[error("`{id}` names {count} deployments in {place}; pass its ARN")]
    Ambiguous { id: String, count: usize, place: String },
    #[error(transparent)]
    Targets(#[from] TargetError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("no deployment `{id}` in {place}; `ecaudit collect` lists what there is")]
    NotFound { id: String, place: String },
}

/// ✔, ✘ or –.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Pass,
    Fail,
    Skip,
}

impl Mark {
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Pass => "✔",
            Mark::Fail => "✘",
            Mark::Skip => "–",
        }
    }
}

/// The runbook's sections, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Connectivity,
    Protocol,
    Info,
    Cloudwatch,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Connectivity => "Connectivity",
            Section::Protocol => "Protocol",
            Section::Info => "INFO (CPU, memory, keyspace)",
            Section::Cloudwatch => "CloudWatch, last hour",
        }
    }
}

/// One line of the checklist.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// Stable id (`tcp-connect`, `tls-handshake`, ...); see docs/doctor.md.
    pub id: String,
    pub section: Section,
    pub mark: Mark,
    pub title: String,
    pub evidence: Vec<String>,
    /// What to do about a ✘.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
}

impl Check {
    fn new(id: &str, section: Section, title: String) -> Check {
        Check {
            id: id.to_string(),
            section,
            mark: Mark::Skip,
            title,
            evidence: Vec::new(),
            next_step: None,
        }
    }

    fn pass(mut self) -> Check {
        self.mark = Mark::Pass;
        self
    }

    fn fail(mut self, next_step: String) -> Check {
        self.mark = Mark::Fail;
        self.next_step = Some(next_step);
        self
    }

    /// Not checked, and why.
    fn skip(mut self, why: &str) -> Check {
        self.mark = Mark::Skip;
        self.evidence.push(why.to_string());
        self
    }

    fn skip_keeping_evidence(mut self) -> Check {
        self.mark = Mark::Skip;
        self
    }

    fn with(mut self, line: impl Into<String>) -> Check {
        self.evidence.push(line.into());
        self
    }
}

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
            crate::summary::exit::INCOMPLETE
        } else if self.count(Mark::Fail) > 0 {
            1
        } else {
            0
        }
    }
}

/// A deployment named by ARN: its account, region and id.
struct Target {
    id: String,
    /// The kind an ARN names.
    kind: Option<DeploymentKind>,
    arn: Option<String>,
    account: Option<String>,
    region: Option<String>,
}

fn parse_target(s: &str) -> Result<Target, DoctorError> {
    if !s.starts_with("arn:") {
        return Ok(Target {
            id: s.to_string(),
            kind: None,
            arn: None,
            account: None,
            region: None,
        });
    }
    let parts: Vec<&str> = s.splitn(7, ':').collect();
    match parts.as_slice() {
        [_, _, "elasticache", region, account, kind, id]
            if !region.is_empty() && account.len() == 12 && !id.is_empty() =>
        {
            let kind = match *kind {
                "replicationgroup" => DeploymentKind::ReplicationGroup,
                "cluster" => DeploymentKind::CacheCluster,
                "serverlesscache" => DeploymentKind::ServerlessCache,
                _ => return Err(DoctorError::BadArn(s.to_string())),
            };
            Ok(Target {
                id: id.to_string(),
                kind: Some(kind),
                arn: Some(s.to_string()),
                account: Some(account.to_string()),
                region: Some(region.to_string()),
            })
        }
        _ => Err(DoctorError::BadArn(s.to_string())),
    }
}

/// Checks the options that need no AWS call (exit 2 before any).
pub fn validate(options: &DoctorOptions) -> Result<(), DoctorError> {
    parse_target(&options.deployment)?;
    if let Some(c) = &options.connect
        && !c
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
    {
        return Err(DoctorError::BadConnect(c.clone()));
    }
    if let Some(var) = &options.auth_token_env {
        let mut chars = var.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(DoctorError::BadEnvName);
        }
    }
    Ok(())
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
        true => local_source(endpoint_address.as_deref())
            .await
            .into_iter()
            .collect(),
    };

    let mut checks = Vec::new();
    if sources.is_empty() {
        checks.push(
            Check::new(
                "security-group-admits-source",
                Section::Connectivity,
                "security groups admit this host".into(),
            )
            .skip(
                "this host's address toward the endpoint is unknown (the endpoint does not resolve \
                 here, or the route is loopback, as through a tunnel); pass --from CIDR",
            ),
        );
    } else {
        checks.push(network::source_admitted(d, &sources));
    }
    checks.push(network::subnet_group_and_vpc(d));
    checks.push(resolves(d, options).await);
    let tcp = tcp_connect(address.as_deref(), options.timeout).await;
    let reachable = tcp.mark == Mark::Pass;
    checks.push(tcp);

    if let (true, Some(address)) = (reachable, address.as_deref()) {
        protocol_checks(d, options, address, &mut checks).await;
    } else {
        for (id, section, title) in skipped_without_connection() {
            checks.push(Check::new(id, section, title.into()).skip("no TCP connection"));
        }
    }
    checks.extend(cloudwatch_checks(d));

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

fn skipped_without_connection() -> [(&'static str, Section, &'static str); 9] {
    [
        ("tls-handshake", Section::Protocol, "TLS handshake"),
        (
            "plaintext-refused",
            Section::Protocol,
            "plaintext connections are refused",
        ),
        (
            "auth-required-by-server",
            Section::Protocol,
            "PING without credentials is refused (NOAUTH)",
        ),
        ("auth-ping", Section::Protocol, "authenticated PING"),
        ("info-memory", Section::Info, "used memory against maxmemory"),
        ("info-fragmentation", Section::Info, "memory fragmentation"),
        ("info-evictions", Section::Info, "evicted keys"),
        ("info-keyspace", Section::Info, "keys per database"),
        ("info-cpu", Section::Info, "CPU time"),
    ]
}

/// This host's address toward `address` (the kernel's choice of source, from a UDP socket
/// "connected" there; nothing is sent).
async fn local_source(address: Option<&str>) -> Option<IpNet> {
    let address = address?;
    let target: SocketAddr = tokio::net::lookup_host(address).await.ok()?.next()?;
    let bind: SocketAddr = match target.ip() {
        IpAddr::V4(_) => "0.0.0.0:0".parse().ok()?,
        IpAddr::V6(_) => "[::]:0".parse().ok()?,
    };
    let socket = std::net::UdpSocket::bind(bind).ok()?;
    socket.connect(target).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then(|| IpNet::from(ip))
}

async fn resolves(d: &Deployment, options: &DoctorOptions) -> Check {
    let check = Check::new(
        "endpoint-resolves",
        Section::Connectivity,
        "the endpoint resolves".into(),
    );
    let Some(endpoint) = &d.endpoint else {
        return check.fail(format!(
            "no endpoint is reported (status {}); wait until the deployment is available",
            d.status.as_deref().unwrap_or("unknown")
        ));
    };
    if let Some(connect) = &options.connect {
        return check.skip(&format!(
            "not needed: connecting to {connect} (--connect) instead of {endpoint}"
        ));
    }
    let port = d.cache_port().unwrap_or(6379);
    match tokio::time::timeout(
        options.timeout,
        tokio::net::lookup_host((endpoint.as_str(), port)),
    )
    .await
    {
        Ok(Ok(addrs)) => {
            let addrs: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
            check.with(format!("{endpoint} → {}", addrs.join(", "))).pass()
        }
        Ok(Err(e)) => check.with(format!("{endpoint}: {e}")).fail(
            "ElastiCache endpoints resolve to addresses inside the VPC; from outside, tunnel \
             (e.g. SSM port forwarding to the endpoint) and pass --connect HOST:PORT"
                .into(),
        ),
        Err(_) => check
            .with(format!("{endpoint}: no answer within {:?}", options.timeout))
            .fail("check this host's DNS resolver".into()),
    }
}

async fn tcp_connect(address: Option<&str>, timeout: Duration) -> Check {
    let check = Check::new(
        "tcp-connect",
        Section::Connectivity,
        format!("a TCP connection opens within {}", humanize(timeout)),
    );
    let Some(address) = address else {
        return check.skip("no endpoint to connect to; pass --connect HOST:PORT");
    };
    let started = Instant::now();
    match probe::open(address, None, timeout).await {
        Ok(stream) => {
            let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            check
                .with(format!(
                    "connected to {address} ({peer}) in {} ms",
                    started.elapsed().as_millis()
                ))
                .pass()
        }
        Err(e) => check.with(e.to_string()).fail(
            "check the security groups, the subnets' network ACLs and routes between this host and the \
             VPC; from outside the VPC, tunnel (`aws ssm start-session --document-name \
             AWS-StartPortForwardingSessionToRemoteHost --parameters host=<endpoint>,portNumber=<port>,\
             localPortNumber=<port>`) and pass --connect 127.0.0.1:<port>"
                .into(),
        ),
    }
}

fn humanize(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// TLS, plaintext, AUTH and INFO, against a reachable address.
async fn protocol_checks(d: &Deployment, options: &DoctorOptions, address: &str, checks: &mut Vec<Check>) {
    let timeout = options.timeout;
    // Serverless caches always require TLS; TransitEncryptionEnabled without a mode is required.
    let tls_on = d.kind == DeploymentKind::ServerlessCache || d.transit_encryption == Some(true);
    let required = tls_on && d.transit_encryption_mode != Some(TransitEncryptionMode::Preferred);
    let auth_on = d.auth_token_enabled == Some(true) || !d.user_group_ids.is_empty();
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    let tls = tls_on.then(|| TlsOptions {
        server_name: d
            .endpoint
            .clone()
            .unwrap_or_else(|| host.trim_matches(['[', ']']).to_string()),
        extra_roots_pem: options.tls_ca.clone(),
    });

    // TLS handshake.
    let check = Check::new("tls-handshake", Section::Protocol, "TLS handshake".into());
    let mut tls_ok = !tls_on;
    checks.push(match &tls {
        None => check.skip("in-transit encryption is off: connections are plaintext"),
        Some(opts) => match probe::open(address, Some(opts), timeout).await {
            Ok(stream) => {
                tls_ok = true;
                let details = stream
                    .tls_details()
                    .map(|t| format!("{} {}", t.protocol_version, t.cipher_suite))
                    .unwrap_or_default();
                check
                    .with(format!(
                        "{details}; the certificate is valid for {}",
                        opts.server_name
                    ))
                    .pass()
            }
            Err(e) => {
                let next = match &e {
                    ProbeError::TlsHandshake {
                        reason: probe::TlsFailure::UnknownIssuer | probe::TlsFailure::BadCertificate(_),
                        ..
                    } => "trust the CA that signed the server's certificate: --tls-ca FILE (PEM)",
                    ProbeError::TlsHandshake {
                        reason: probe::TlsFailure::NameMismatch,
                        ..
                    } => {
                        "the certificate is checked against the endpoint name; connect to the endpoint \
                          (or a tunnel to it), not to a node or load balancer with another name"
                    }
                    ProbeError::TlsHandshakeTimeout { .. } => {
                        "no TLS answer: the port may be plaintext (TransitEncryptionEnabled false on the \
                         server side), or another service listens there"
                    }
                    _ => "check that the address leads to this deployment's TLS port",
                };
                check.with(e.to_string()).fail(next.into())
            }
        },
    });

    if d.engine == "memcached" {
        for (id, section, title) in skipped_without_connection().into_iter().skip(1) {
            checks.push(
                Check::new(id, section, title.into()).skip("Memcached does not speak the Redis protocol"),
            );
        }
        return;
    }

    // Plaintext refused when TLS is required.
    let check = Check::new(
        "plaintext-refused",
        Section::Protocol,
        "plaintext connections are refused".into(),
    );
    checks.push(if !tls_on {
        check.skip("in-transit encryption is off")
    } else if !required {
        check.skip("transit encryption mode is `preferred`: plaintext is accepted by design")
    } else {
        match probe::open(address, None, timeout).await {
            // TCP to the same address just worked: a failed connect proves nothing.
            Err(e) => check.skip(&format!("not checked: the plaintext connection failed ({e})")),
            Ok(stream) => match probe::ping(stream, None, timeout).await {
                outcome
                @ (PingOutcome::Closed(_) | PingOutcome::ProtocolError(_) | PingOutcome::TimedOut) => check
                    .with(format!("plaintext PING: {}", describe(&outcome)))
                    .pass(),
                outcome @ PingOutcome::Other(_) => check
                    .with(format!("plaintext PING: {}", describe(&outcome)))
                    .skip_keeping_evidence(),
                outcome => check
                    .with(format!("a plaintext client was answered: {}", describe(&outcome)))
                    .fail(
                        "set the transit encryption mode to required: `aws elasticache \
                         modify-replication-group --transit-encryption-mode required --apply-immediately`"
                            .into(),
                    ),
            },
        }
    });

    // The transport the remaining checks use.
    let open = || async {
        if tls_on && !tls_ok {
            return Err("the TLS handshake failed".to_string());
        }
        probe::open(address, tls.as_ref(), timeout)
            .await
            .map_err(|e| e.to_string())
    };

    // Unauthenticated PING.
    let check = Check::new(
        "auth-required-by-server",
        Section::Protocol,
        "PING without credentials is refused (NOAUTH)".into(),
    );
    checks.push(match open().await {
        Err(e) => check.skip(&format!("not checked: {e}")),
        Ok(stream) => {
            let outcome = probe::ping(stream, None, timeout).await;
            let line = format!("PING without credentials: {}", describe(&outcome));
            match (auth_on, &outcome) {
                (true, PingOutcome::NoAuth) => check.with(line).pass(),
                (true, PingOutcome::Pong) => check.with(line).fail(
                    "ElastiCache reports AUTH (token or user group) but the server answers without it: \
                     check that the address leads to this deployment"
                        .into(),
                ),
                (false, PingOutcome::NoAuth) => check.with(line).fail(
                    "the server wants AUTH but ElastiCache reports none: check that the address leads to \
                     this deployment"
                        .into(),
                ),
                (false, PingOutcome::Pong) => check
                    .with(line)
                    .skip("no AUTH token or user group is configured (the auth-required rule flags this)"),
                _ => check.with(line).skip_keeping_evidence(),
            }
        }
    });

    // Authenticated PING with the token from the environment.
    let check = Check::new("auth-ping", Section::Protocol, "authenticated PING".into());
    let auth = match &options.auth_token_env {
        None => Err(None),
        Some(var) => match std::env::var(var) {
            Ok(token) if !token.is_empty() => Ok(Auth {
                user: options.user.clone(),
                token,
            }),
            _ => Err(Some(var.clone())),
        },
    };
    checks.push(match (&auth, open().await) {
        (Err(None), _) => check.skip("no token given: pass --auth-token-env VAR (the variable holding it)"),
        (Err(Some(var)), _) => check.with(format!("${var} is not set or empty")).fail(format!(
            "export {var} with the AUTH token (it is read from the environment only)"
        )),
        (Ok(_), Err(e)) => check.skip(&format!("not checked: {e}")),
        (Ok(a), Ok(stream)) => {
            let outcome = probe::ping(stream, Some(a), timeout).await;
            let via = options.auth_token_env.as_deref().unwrap_or_default();
            let user = a.user.as_deref().map(|u| format!(" as {u}")).unwrap_or_default();
            let line = format!("AUTH{user} with ${via}, then PING: {}", describe(&outcome));
            match outcome {
                PingOutcome::Pong => check.with(line).pass(),
                PingOutcome::AuthFailed { .. } => check.with(line).fail(
                    "the token (or user) is not the server's: check the secret it came from, or set a new \
                     token with `aws elasticache modify-replication-group --auth-token <token> \
                     --auth-token-update-strategy ROTATE --apply-immediately`"
                        .into(),
                ),
                PingOutcome::AuthNotEnabled => check
                    .with(line)
                    .fail("the server has no AUTH configured; drop --auth-token-env or set a token".into()),
                _ => check
                    .with(line)
                    .fail("check that the address leads to this deployment".into()),
            }
        }
    });

    // INFO.
    let credentials = match (&auth, auth_on) {
        (Ok(a), _) => Some(a.clone()),
        (Err(_), _) => None,
    };
    let info = match open().await {
        Err(e) => Err(e),
        Ok(stream) if auth_on && credentials.is_none() => {
            drop(stream);
            Err("AUTH is on: pass --auth-token-env VAR to read INFO".to_string())
        }
        Ok(stream) => match Session::start(stream, credentials.as_ref(), timeout).await {
            Ok(mut session) => session.info().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
    };
    match info {
        Err(e) => {
            for (id, section, title) in skipped_without_connection().into_iter().skip(4) {
                checks.push(Check::new(id, section, title.into()).skip(&format!("not read: {e}")));
            }
        }
        Ok(info) => checks.extend(info_checks(&info)),
    }
}

fn describe(outcome: &PingOutcome) -> String {
    match outcome {
        PingOutcome::Pong => "PONG".into(),
        PingOutcome::NoAuth => "NOAUTH Authentication required".into(),
        PingOutcome::AuthFailed { code, detail } => format!("{code} {detail}"),
        PingOutcome::AuthNotEnabled => "AUTH refused: no password is configured".into(),
        PingOutcome::Closed(d) => format!("connection closed ({d})"),
        PingOutcome::ProtocolError(d) => format!("not a Redis reply ({d})"),
        PingOutcome::TimedOut => "no reply in time".into(),
        PingOutcome::Other(d) => d.clone(),
    }
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn info_checks(info: &probe::InfoSummary) -> Vec<Check> {
    let mut out = Vec::new();
    let version = match (&info.valkey_version, &info.redis_version) {
        (Some(v), _) => format!("valkey {v}"),
        (None, Some(r)) => format!("redis {r}"),
        _ => "engine version not reported".into(),
    };

    let check = Check::new(
        "info-memory",
        Section::Info,
        format!("used memory is at most {MEMORY_PERCENT}% of maxmemory"),
    );
    out.push(match (info.used_memory, info.maxmemory_limit()) {
        (Some(used), Some(max)) => {
            let pct = used as f64 * 100.0 / max as f64;
            let line = format!(
                "used_memory {} of maxmemory {} ({pct:.1}%), maxmemory-policy {} ({version}, role {})",
                bytes(used),
                bytes(max),
                info.maxmemory_policy.as_deref().unwrap_or("unknown"),
                info.role.as_deref().unwrap_or("unknown")
            );
            if pct > MEMORY_PERCENT {
                check.with(line).fail(
                    "give keys TTLs, find large keys (`redis-cli --bigkeys`), or add memory (more shards or \
                     a larger node type)"
                        .into(),
                )
            } else {
                check.with(line).pass()
            }
        }
        (Some(used), None) => check
            .with(format!(
                "used_memory {}, no maxmemory set ({version})",
                bytes(used)
            ))
            .skip_keeping_evidence(),
        _ => check.skip("INFO did not report used_memory"),
    });

    let check = Check::new(
        "info-fragmentation",
        Section::Info,
        format!("fragmentation ratio between 1.0 and {FRAGMENTATION_RATIO}"),
    );
    out.push(match (info.mem_fragmentation_ratio, info.used_memory) {
        (Some(ratio), Some(used)) if used < FRAGMENTATION_MIN_BYTES => check
            .with(format!(
                "mem_fragmentation_ratio {ratio:.2} with {} used: not meaningful below {}",
                bytes(used),
                bytes(FRAGMENTATION_MIN_BYTES)
            ))
            .pass(),
        (Some(ratio), _) if ratio > FRAGMENTATION_RATIO => check
            .with(format!(
                "mem_fragmentation_ratio {ratio:.2}, above {FRAGMENTATION_RATIO}"
            ))
            .fail(
                "turn on `activedefrag yes` in the parameter group, or fail over to a fresh node off-peak"
                    .into(),
            ),
        (Some(ratio), _) if ratio < 1.0 => check
            .with(format!(
                "mem_fragmentation_ratio {ratio:.2}, below 1.0: memory is swapped"
            ))
            .fail(
                "reduce the dataset or move to a node type with more memory; raise `reserved-memory-percent`"
                    .into(),
            ),
        (Some(ratio), _) => check.with(format!("mem_fragmentation_ratio {ratio:.2}")).pass(),
        (None, _) => check.skip("INFO did not report mem_fragmentation_ratio"),
    });

    let check = Check::new("info-evictions", Section::Info, "no keys evicted".into());
    out.push(match info.evicted_keys {
        Some(0) => check.with("evicted_keys 0 since the server started").pass(),
        Some(n) => check
            .with(format!(
                "evicted_keys {n} since the server started (warning above 0)"
            ))
            .fail(
                "the dataset does not fit: give keys TTLs, remove what is not needed, or add memory".into(),
            ),
        None => check.skip("INFO did not report evicted_keys"),
    });

    let check = Check::new("info-keyspace", Section::Info, "keys per database".into());
    out.push(if info.keyspace.is_empty() {
        check.with("no keys").pass()
    } else {
        let mut check = check;
        for (db, k) in &info.keyspace {
            check
                .evidence
                .push(format!("db{db}: {} keys, {} with a TTL", k.keys, k.expires));
        }
        check.pass()
    });

    let check = Check::new("info-cpu", Section::Info, "CPU time used by the server".into());
    out.push(match (info.used_cpu_sys, info.used_cpu_user) {
        (Some(sys), Some(user)) => check
            .with(format!(
                "used_cpu_sys {sys:.2} s, used_cpu_user {user:.2} s since the server started; the rate is \
                 CloudWatch's (below)"
            ))
            .pass(),
        _ => check.skip("INFO did not report used_cpu_sys / used_cpu_user"),
    });
    out
}

/// One check per node: the last hour of CPU, engine CPU and memory, and the alarms watching it.
fn cloudwatch_checks(d: &Deployment) -> Vec<Check> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_ids_are_told_apart() {
        let t = parse_target("arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:orders").unwrap();
        assert_eq!(
            (t.id.as_str(), t.account.as_deref(), t.region.as_deref()),
            ("orders", Some("123456789012"), Some("eu-west-1"))
        );
        assert_eq!(parse_target("orders").unwrap().region, None);
        for bad in [
            "arn:aws:elasticache:eu-west-1:123456789012:user:orders",
            "arn:aws:ec2:eu-west-1:123456789012:replicationgroup:orders",
            "arn:aws:elasticache:eu-west-1:1234:cluster:x",
            "arn:aws:elasticache::123456789012:cluster:x",
        ] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }
}
