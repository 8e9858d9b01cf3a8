//! The Protocol section: is the TLS handshake valid for the endpoint name, are plaintext clients
//! refused when TLS is required, does the server want AUTH exactly when ElastiCache says so, and
//! does the given token authenticate. Talks to the server through [`probe`]; hands INFO its
//! [`Access`].

use std::time::Duration;

use super::check::{Check, Section, not_checked};
use super::options::DoctorOptions;
use super::probe::{self, Auth, PingOutcome, ProbeError, Stream, TlsOptions};
use crate::inventory::{Deployment, DeploymentKind, TransitEncryptionMode};

/// The section's checks, in order: id and title (for when they cannot be made).
const CHECKS: [(&str, &str); 4] = [
    ("tls-handshake", "TLS handshake"),
    ("plaintext-refused", "plaintext connections are refused"),
    (
        "auth-required-by-server",
        "PING without credentials is refused (NOAUTH)",
    ),
    ("auth-ping", "authenticated PING"),
];

/// Every check of the section, – for `why` (no TCP connection).
pub(crate) fn unchecked(why: &str) -> Vec<Check> {
    not_checked(Section::Protocol, &CHECKS, why)
}

/// How to open a session after the protocol checks: the address, the TLS they found working (or
/// not), and the credentials they were given.
pub(crate) struct Access {
    address: String,
    tls: Option<TlsOptions>,
    /// The TLS handshake failed: nothing can be read over this address.
    tls_failed: bool,
    /// ElastiCache reports AUTH (a token or a user group).
    pub auth_on: bool,
    pub credentials: Option<Auth>,
    pub timeout: Duration,
}

impl Access {
    /// A connection ready for a session, or why there is none.
    pub(crate) async fn open(&self) -> Result<Stream, String> {
        if self.tls_failed {
            return Err("the TLS handshake failed".to_string());
        }
        probe::open(&self.address, self.tls.as_ref(), self.timeout)
            .await
            .map_err(|e| e.to_string())
    }
}

/// The Protocol section against a reachable address: TLS, plaintext refused, AUTH required,
/// authenticated PING. Returns its checks and how INFO can be read, or why it cannot (evidence
/// for the INFO checks).
pub(crate) async fn checks(
    d: &Deployment,
    options: &DoctorOptions,
    address: &str,
) -> (Vec<Check>, Result<Access, String>) {
    let mut checks = Vec::new();
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
        let why = "Memcached does not speak the Redis protocol";
        checks.extend(not_checked(Section::Protocol, &CHECKS[1..], why));
        return (checks, Err(why.to_string()));
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

    // The transport the remaining checks, and INFO, use.
    let mut access = Access {
        address: address.to_string(),
        tls,
        tls_failed: tls_on && !tls_ok,
        auth_on,
        credentials: None,
        timeout,
    };

    // Unauthenticated PING.
    let check = Check::new(
        "auth-required-by-server",
        Section::Protocol,
        "PING without credentials is refused (NOAUTH)".into(),
    );
    checks.push(match access.open().await {
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
    checks.push(match (&auth, access.open().await) {
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

    access.credentials = auth.ok();
    (checks, Ok(access))
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
