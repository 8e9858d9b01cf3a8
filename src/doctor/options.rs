//! What the doctor is asked: the deployment (an id or an ARN, which also names its account,
//! region and kind), where to read it and how to reach it; the checks of those options that need
//! no AWS call, and the doctor's errors.

use std::time::Duration;

use ipnet::IpNet;

use crate::collect::{CollectOptions, TargetError};
use crate::inventory::DeploymentKind;

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

/// Why the doctor gave no checklist (exit 2): options wrong before any AWS call, or no single
/// deployment by that id where ElastiCache was read.
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

/// The deployment asked for: its id and, from an ARN, its kind, account and region.
pub(crate) struct Target {
    pub id: String,
    /// The kind an ARN names.
    pub kind: Option<DeploymentKind>,
    pub arn: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
}

pub(crate) fn parse_target(s: &str) -> Result<Target, DoctorError> {
    if !s.starts_with("arn:") {
        return Ok(Target {
            id: s.to_string(),
            kind: None,
            arn: None,
            account: None,
            region: None,
        });
    }
    let arn = crate::arn::Arn::parse(s);
    match arn.and_then(|a| Some((a, a.typed_resource()?))) {
        Some((arn, (kind, id)))
            if arn.service == "elasticache"
                && !arn.region.is_empty()
                && arn.account.len() == 12
                && !id.is_empty() =>
        {
            let kind = match kind {
                "replicationgroup" => DeploymentKind::ReplicationGroup,
                "cluster" => DeploymentKind::CacheCluster,
                "serverlesscache" => DeploymentKind::ServerlessCache,
                _ => return Err(DoctorError::BadArn(s.to_string())),
            };
            Ok(Target {
                id: id.to_string(),
                kind: Some(kind),
                arn: Some(s.to_string()),
                account: Some(arn.account.to_string()),
                region: Some(arn.region.to_string()),
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
        assert_eq!(t.kind, Some(DeploymentKind::ReplicationGroup));
        let t = parse_target("arn:aws:elasticache:eu-west-1:123456789012:serverlesscache:flags").unwrap();
        assert_eq!(t.kind, Some(DeploymentKind::ServerlessCache));
        let t = parse_target("orders").unwrap();
        assert_eq!((t.region, t.kind), (None, None));
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
