//! A Redis session over an established stream: `AUTH` (token, or user and token), `PING` and
//! `INFO`, each reply bounded by the timeout and each error classified by the server's code.

use std::fmt;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, InfoDict, RedisConnectionInfo, RedisError};
use tokio::io::{AsyncRead, AsyncWrite};

use super::error::ProbeError;

/// Credentials for `AUTH`: `AUTH token` (legacy AUTH token / `requirepass`) or
/// `AUTH user token` (Redis 6+ ACL / ElastiCache RBAC).
///
/// `Debug` never shows the token.
#[derive(Clone)]
pub struct Auth {
    /// ACL / RBAC user name; `None` sends the single-argument `AUTH token`.
    pub user: Option<String>,
    /// The AUTH token or user password. Never printed.
    pub token: String,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Result of [`ping`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingOutcome {
    /// The server answered `PONG` (after a successful `AUTH`, if one was sent).
    Pong,
    /// The server wants `AUTH` first (`NOAUTH Authentication required.`).
    NoAuth,
    /// The server rejected the credentials. `code` is the error code (`WRONGPASS` on
    /// Redis 6+/Valkey/ElastiCache, `ERR` for Redis < 6's `invalid password`).
    AuthFailed { code: String, detail: String },
    /// Credentials were sent but the server has no AUTH configured.
    AuthNotEnabled,
    /// The connection was closed or reset before a reply (typical for a plaintext client
    /// talking to a TLS port: the server drops it after a failed handshake).
    Closed(String),
    /// The bytes received were not RESP.
    ProtocolError(String),
    /// No reply within the timeout.
    TimedOut,
    /// Anything else (unexpected reply, other server error such as `NOPERM`).
    Other(String),
}

impl From<ProbeError> for PingOutcome {
    fn from(err: ProbeError) -> Self {
        match err {
            ProbeError::NoAuth { .. } => Self::NoAuth,
            ProbeError::AuthFailed { code, detail } => Self::AuthFailed { code, detail },
            ProbeError::AuthNotEnabled { .. } => Self::AuthNotEnabled,
            ProbeError::Closed { detail } => Self::Closed(detail),
            ProbeError::Protocol { detail } => Self::ProtocolError(detail),
            ProbeError::ReplyTimeout { .. } => Self::TimedOut,
            other => Self::Other(other.to_string()),
        }
    }
}

/// A Redis connection over an established stream, authenticated if [`Auth`] was given.
///
/// Owns the redis-rs driver task; dropping the session aborts it and closes the stream.
pub struct Session {
    conn: MultiplexedConnection,
    driver: tokio::task::JoinHandle<()>,
    timeout: Duration,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl Session {
    /// Wraps `stream` in a redis-rs multiplexed connection (RESP2, no implicit commands:
    /// neither `CLIENT SETINFO` nor `SELECT`) and sends `AUTH` if `auth` is given.
    ///
    /// `timeout` bounds every later request/reply, `AUTH` included. Must be called inside a
    /// tokio runtime (the connection driver is spawned).
    pub async fn start<S>(stream: S, auth: Option<&Auth>, timeout: Duration) -> Result<Self, ProbeError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        // No password here on purpose: redis-rs would then send AUTH itself during setup and
        // collapse every failure into a generic "Password authentication failed", losing the
        // server's error code. We send AUTH ourselves below.
        let info = RedisConnectionInfo::default().set_skip_set_lib_name();
        // redis-rs' own response timeout defaults to 500 ms; we bound each call ourselves.
        let config = AsyncConnectionConfig::new().set_response_timeout(None);
        let (conn, driver) = MultiplexedConnection::new_with_config(&info, stream, config)
            .await
            .map_err(|e| classify_redis_error(&e, timeout))?;
        let mut session = Self {
            conn,
            driver: tokio::spawn(driver),
            timeout,
        };

        if let Some(auth) = auth {
            let mut cmd = redis::cmd("AUTH");
            if let Some(user) = &auth.user {
                cmd.arg(user);
            }
            cmd.arg(&auth.token);
            session.query::<()>(&cmd).await.map_err(auth_error)?;
        }
        Ok(session)
    }

    /// `PING`; `Ok(())` when the reply is `PONG`.
    pub async fn ping(&mut self) -> Result<(), ProbeError> {
        let reply: String = self.query(&redis::cmd("PING")).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(ProbeError::Protocol {
                detail: format!("unexpected PING reply {reply:?}"),
            })
        }
    }

    /// Plain `INFO` (default sections, which include `memory`, `stats`, `cpu` and `keyspace`;
    /// not a restricted command on ElastiCache), its fields by name.
    pub async fn info(&mut self) -> Result<InfoDict, ProbeError> {
        self.query(&redis::cmd("INFO")).await
    }

    async fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> Result<T, ProbeError> {
        let timeout = self.timeout;
        match tokio::time::timeout(timeout, cmd.query_async::<T>(&mut self.conn)).await {
            Err(_) => Err(ProbeError::ReplyTimeout { timeout }),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(classify_redis_error(&err, timeout)),
        }
    }
}

/// Maps a redis-rs error to a [`ProbeError`] by server error code, then by I/O nature.
fn classify_redis_error(err: &RedisError, timeout: Duration) -> ProbeError {
    let detail = err.detail().unwrap_or_default().to_owned();
    if let Some(code) = err.code() {
        // Server error replies. NOAUTH and WRONGPASS are not among redis-rs' known kinds:
        // they arrive as `ErrorKind::Extension` with `code()` == "NOAUTH" / "WRONGPASS".
        return match code {
            "NOAUTH" => ProbeError::NoAuth { detail },
            "WRONGPASS" => ProbeError::AuthFailed {
                code: code.to_owned(),
                detail,
            },
            _ => ProbeError::Server {
                code: code.to_owned(),
                detail,
            },
        };
    }
    if err.is_timeout() {
        return ProbeError::ReplyTimeout { timeout };
    }
    if err.is_connection_dropped() || err.is_io_error() {
        return ProbeError::Closed {
            detail: err.to_string(),
        };
    }
    if err.kind() == redis::ErrorKind::Parse {
        return ProbeError::Protocol {
            detail: err.to_string(),
        };
    }
    if err.kind() == redis::ErrorKind::UnexpectedReturnType {
        return ProbeError::Protocol {
            detail: err.to_string(),
        };
    }
    ProbeError::Client {
        detail: err.to_string(),
    }
}

/// Refines errors of the `AUTH` reply: `ERR` means different things there.
fn auth_error(err: ProbeError) -> ProbeError {
    match err {
        ProbeError::Server { code, detail } if code == "ERR" => {
            let lower = detail.to_ascii_lowercase();
            if lower.contains("without any password configured") || lower.contains("no password is set") {
                // Redis 6+: "AUTH <password> called without any password configured for the
                // default user"; Redis < 6: "Client sent AUTH, but no password is set".
                ProbeError::AuthNotEnabled { detail }
            } else if lower.contains("invalid password") || lower.contains("invalid username-password") {
                // Redis < 6.
                ProbeError::AuthFailed { code, detail }
            } else {
                ProbeError::Server { code, detail }
            }
        }
        other => other,
    }
}

/// Opens a [`Session`] on `stream` (sending `AUTH` if given) and sends `PING`.
pub async fn ping<S>(stream: S, auth: Option<&Auth>, timeout: Duration) -> PingOutcome
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let result = async {
        let mut session = Session::start(stream, auth, timeout).await?;
        session.ping().await
    }
    .await;
    match result {
        Ok(()) => PingOutcome::Pong,
        Err(err) => err.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_debug_is_redacted() {
        let auth = Auth {
            user: Some("app".into()),
            token: "s3cr3t-token".into(),
        };
        let shown = format!("{auth:?}");
        assert!(!shown.contains("s3cr3t-token"), "{shown}");
        assert!(shown.contains("app"));
    }
}
