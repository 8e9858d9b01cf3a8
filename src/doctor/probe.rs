//! Redis/Valkey protocol probe for `ecaudit doctor`.
//!
//! The probe answers three questions about one ElastiCache endpoint, in order:
//!
//! 1. **Can we reach it?** [`open`] resolves `HOST:PORT` (often `127.0.0.1:6380` through an
//!    SSM port-forwarding tunnel), connects over TCP and, when [`TlsOptions`] are given, runs
//!    the TLS handshake itself with rustls. The certificate is verified against the
//!    *endpoint* name in [`TlsOptions::server_name`] (used for SNI too), not against the
//!    address we dialled, so a tunnel to localhost still validates the real
//!    `*.cache.amazonaws.com` certificate. Trust = the system store
//!    (`rustls-native-certs`) plus any PEM roots from `--tls-ca`.
//! 2. **Does it speak Redis to us?** [`ping`] sends an optional `AUTH` and a `PING` and
//!    classifies the answer ([`PingOutcome`]): PONG, `NOAUTH`, wrong password, AUTH sent to a
//!    server without AUTH, connection closed (typically a plaintext client on a TLS port),
//!    garbage, timeout.
//! 3. **What does it say about itself?** [`info`] issues a plain `INFO` (default sections,
//!    which include `memory`, `stats`, `cpu` and `keyspace`; works on Redis OSS 2.6+,
//!    Valkey and ElastiCache, where `INFO` is not a restricted command) and extracts the
//!    figures the doctor reports ([`InfoSummary`]).
//!
//! The RESP protocol is handled by `redis-rs`: the already established stream (TCP or TLS)
//! is handed to [`redis::aio::MultiplexedConnection::new_with_config`], whose driver future
//! runs on a tokio task owned by [`Session`] and aborted when the session is dropped.
//!
//! Secrets: the AUTH token only ever lives in [`Auth`], whose `Debug` is redacted, and is
//! written to the socket; no error, outcome or log line produced here contains it (server
//! replies to `AUTH` never echo the password).

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, InfoDict, RedisConnectionInfo, RedisError};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/// TLS settings for [`open`].
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// Name the server certificate must be valid for, also sent as SNI: the deployment's
    /// endpoint, e.g. `master.my-rg.abc123.use1.cache.amazonaws.com`, even when connecting
    /// to a local tunnel address.
    pub server_name: String,
    /// Extra trusted roots (PEM, one or more `CERTIFICATE` blocks), added on top of the
    /// system store. Typically the contents of `--tls-ca FILE`.
    pub extra_roots_pem: Option<Vec<u8>>,
}

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

// ---------------------------------------------------------------------------------------------
// Errors and outcomes
// ---------------------------------------------------------------------------------------------

/// Why a TLS handshake failed, distilled from the rustls error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsFailure {
    /// The certificate chain does not lead to a trusted root (missing `--tls-ca`, or a
    /// different CA than expected).
    UnknownIssuer,
    /// The certificate is valid but not for the requested server name.
    NameMismatch,
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet (check the clock).
    NotYetValid,
    /// Any other certificate problem (bad signature, wrong purpose, revoked, ...).
    BadCertificate(String),
    /// The peer answered with something that is not TLS: most likely a plaintext port
    /// (in-transit encryption disabled) or a non-Redis service.
    NotTls,
    /// The server aborted the handshake with a TLS alert (e.g. it requires a client
    /// certificate, or no common protocol version / cipher).
    AlertReceived(String),
    /// The connection was closed or reset during the handshake.
    ConnectionClosed,
    /// Anything else rustls reported.
    Other(String),
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownIssuer => f.write_str("certificate issuer is not trusted (unknown issuer)"),
            Self::NameMismatch => f.write_str("certificate is not valid for the server name"),
            Self::Expired => f.write_str("certificate has expired"),
            Self::NotYetValid => f.write_str("certificate is not valid yet"),
            Self::BadCertificate(d) => write!(f, "invalid certificate: {d}"),
            Self::NotTls => f.write_str("the server did not answer with TLS (plaintext port?)"),
            Self::AlertReceived(a) => write!(f, "the server aborted the handshake ({a} alert)"),
            Self::ConnectionClosed => f.write_str("connection closed during the handshake"),
            Self::Other(d) => f.write_str(d),
        }
    }
}

/// Errors of [`open`] and [`info`] (and of [`Session`]).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The address is not `HOST:PORT`.
    #[error("invalid address {addr:?}: expected HOST:PORT")]
    InvalidAddress { addr: String },
    /// Name resolution failed (or returned no address).
    #[error("could not resolve {addr}: {source}")]
    Resolve {
        addr: String,
        #[source]
        source: io::Error,
    },
    /// Name resolution did not finish in time.
    #[error("resolving {addr} timed out after {timeout:?}")]
    ResolveTimeout { addr: String, timeout: Duration },
    /// No TCP connection within the timeout (filtered port, security group, dead tunnel).
    #[error("connecting to {addr} timed out after {timeout:?}")]
    ConnectTimeout { addr: String, timeout: Duration },
    /// The TCP connection was actively refused (nothing listening, tunnel not started).
    #[error("connection to {addr} refused")]
    ConnectionRefused { addr: String },
    /// Any other TCP connect failure.
    #[error("connecting to {addr} failed: {source}")]
    Connect {
        addr: String,
        #[source]
        source: io::Error,
    },
    /// [`TlsOptions::server_name`] is not a valid DNS name or IP address.
    #[error("invalid TLS server name {name:?}")]
    InvalidServerName { name: String },
    /// [`TlsOptions::extra_roots_pem`] could not be used.
    #[error("invalid CA certificates: {reason}")]
    InvalidCaPem { reason: String },
    /// Neither the system store nor the extra roots provided a usable root certificate.
    #[error("no trusted root certificates (system store empty and no extra CA given)")]
    NoTrustRoots,
    /// The TLS handshake did not finish in time.
    #[error("TLS handshake with {server_name} timed out after {timeout:?}")]
    TlsHandshakeTimeout { server_name: String, timeout: Duration },
    /// The TLS handshake failed; `reason` is the classification, `detail` the rustls text.
    #[error("TLS handshake with {server_name} failed: {reason} ({detail})")]
    TlsHandshake {
        server_name: String,
        reason: TlsFailure,
        detail: String,
    },
    /// The server requires authentication and none (or none accepted) was sent (`NOAUTH`).
    #[error("server requires authentication (NOAUTH): {detail}")]
    NoAuth { detail: String },
    /// The server rejected the credentials (`WRONGPASS`, or `ERR invalid password` on Redis < 6).
    #[error("authentication failed: {code} {detail}")]
    AuthFailed { code: String, detail: String },
    /// Credentials were sent to a server that has no AUTH configured.
    #[error("AUTH sent but the server has no password configured: {detail}")]
    AuthNotEnabled { detail: String },
    /// No reply within the timeout.
    #[error("no reply from the server within {timeout:?}")]
    ReplyTimeout { timeout: Duration },
    /// The server closed (or reset) the connection, e.g. a plaintext client on a TLS port.
    #[error("the server closed the connection: {detail}")]
    Closed { detail: String },
    /// The reply was not valid RESP (not a Redis server, or TLS spoken at us).
    #[error("protocol error: {detail}")]
    Protocol { detail: String },
    /// Any other error reply from the server (e.g. `NOPERM`, `ERR unknown command`).
    #[error("server error: {code} {detail}")]
    Server { code: String, detail: String },
    /// Anything else redis-rs reported.
    #[error("redis client error: {detail}")]
    Client { detail: String },
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

// ---------------------------------------------------------------------------------------------
// Transport
// ---------------------------------------------------------------------------------------------

/// An established connection: plain TCP or TLS over TCP.
pub enum Stream {
    /// Plain TCP (in-transit encryption disabled).
    Tcp(TcpStream),
    /// TLS over TCP; boxed because the rustls state is large.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// What was negotiated on a TLS [`Stream`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsDetails {
    /// E.g. `TLSv1_3`.
    pub protocol_version: String,
    /// E.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
}

impl Stream {
    /// Whether this is a TLS stream.
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Tls(_))
    }

    /// The address actually connected to.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Self::Tcp(s) => s.peer_addr(),
            Self::Tls(s) => s.get_ref().0.peer_addr(),
        }
    }

    /// Negotiated TLS protocol version and cipher suite (`None` for plain TCP).
    pub fn tls_details(&self) -> Option<TlsDetails> {
        let Self::Tls(s) = self else { return None };
        let conn = s.get_ref().1;
        Some(TlsDetails {
            protocol_version: conn
                .protocol_version()
                .map_or_else(|| "unknown".to_owned(), |v| format!("{v:?}")),
            cipher_suite: conn
                .negotiated_cipher_suite()
                .map_or_else(|| "unknown".to_owned(), |c| format!("{:?}", c.suite())),
        })
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_tls() { "Tls" } else { "Tcp" };
        f.debug_struct("Stream")
            .field("kind", &kind)
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Tcp(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// Connects to `addr` (`HOST:PORT`; IPv6 as `[::1]:6379`) and, with `tls`, performs the TLS
/// handshake verifying the certificate against `tls.server_name`.
///
/// `timeout` bounds each phase separately: name resolution, the TCP connect (across all
/// resolved addresses, tried in order) and the TLS handshake.
pub async fn open(addr: &str, tls: Option<&TlsOptions>, timeout: Duration) -> Result<Stream, ProbeError> {
    // Build the TLS config first: configuration mistakes should not cost a connect timeout.
    let tls_setup = match tls {
        Some(opts) => Some((tls_connector(opts)?, server_name(&opts.server_name)?)),
        None => None,
    };

    let tcp = connect_tcp(addr, timeout).await?;

    let Some((connector, name)) = tls_setup else {
        return Ok(Stream::Tcp(tcp));
    };
    let server_name = name.to_str().into_owned();
    match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Err(_) => Err(ProbeError::TlsHandshakeTimeout { server_name, timeout }),
        Ok(Ok(tls_stream)) => Ok(Stream::Tls(Box::new(tls_stream))),
        Ok(Err(err)) => Err(ProbeError::TlsHandshake {
            server_name,
            reason: classify_tls_error(&err),
            detail: err.to_string(),
        }),
    }
}

async fn connect_tcp(addr: &str, timeout: Duration) -> Result<TcpStream, ProbeError> {
    let valid = addr
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !valid {
        return Err(ProbeError::InvalidAddress {
            addr: addr.to_owned(),
        });
    }

    let resolved: Vec<SocketAddr> = match tokio::time::timeout(timeout, tokio::net::lookup_host(addr)).await {
        Err(_) => {
            return Err(ProbeError::ResolveTimeout {
                addr: addr.to_owned(),
                timeout,
            });
        }
        Ok(Err(source)) => {
            return Err(ProbeError::Resolve {
                addr: addr.to_owned(),
                source,
            });
        }
        Ok(Ok(it)) => it.collect(),
    };
    if resolved.is_empty() {
        return Err(ProbeError::Resolve {
            addr: addr.to_owned(),
            source: io::Error::new(io::ErrorKind::NotFound, "no addresses found"),
        });
    }

    let deadline = Instant::now() + timeout;
    let mut last_err = None;
    for sock_addr in resolved {
        match tokio::time::timeout_at(deadline, TcpStream::connect(sock_addr)).await {
            Err(_) => {
                return Err(ProbeError::ConnectTimeout {
                    addr: addr.to_owned(),
                    timeout,
                });
            }
            Ok(Ok(stream)) => {
                // Small request/response exchanges: do not wait for Nagle.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(err)) => last_err = Some(err),
        }
    }
    let err = last_err.expect("at least one address was tried");
    if err.kind() == io::ErrorKind::ConnectionRefused {
        Err(ProbeError::ConnectionRefused {
            addr: addr.to_owned(),
        })
    } else {
        Err(ProbeError::Connect {
            addr: addr.to_owned(),
            source: err,
        })
    }
}

fn server_name(name: &str) -> Result<ServerName<'static>, ProbeError> {
    ServerName::try_from(name.to_owned()).map_err(|_| ProbeError::InvalidServerName {
        name: name.to_owned(),
    })
}

/// Root store = system roots (best effort: unreadable entries are skipped) + extra PEM roots.
fn root_store(extra_roots_pem: Option<&[u8]>) -> Result<RootCertStore, ProbeError> {
    let mut roots = RootCertStore::empty();
    // `errors` lists unreadable files/entries of the system store; what loaded is still used.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);

    if let Some(pem) = extra_roots_pem {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ProbeError::InvalidCaPem {
                reason: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(ProbeError::InvalidCaPem {
                reason: "no CERTIFICATE block found in the PEM data".to_owned(),
            });
        }
        for cert in certs {
            roots.add(cert).map_err(|e| ProbeError::InvalidCaPem {
                reason: e.to_string(),
            })?;
        }
    }

    if roots.is_empty() {
        return Err(ProbeError::NoTrustRoots);
    }
    Ok(roots)
}

fn tls_connector(opts: &TlsOptions) -> Result<TlsConnector, ProbeError> {
    let roots = root_store(opts.extra_roots_pem.as_deref())?;
    // Explicit provider: does not depend on (or panic about) the process-wide default.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProbeError::TlsHandshake {
            server_name: opts.server_name.clone(),
            reason: TlsFailure::Other(e.to_string()),
            detail: "building the TLS client configuration".to_owned(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Maps the `io::Error` of a tokio-rustls handshake to a [`TlsFailure`].
fn classify_tls_error(err: &io::Error) -> TlsFailure {
    if let Some(tls) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return match tls {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => TlsFailure::UnknownIssuer,
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                    TlsFailure::NameMismatch
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => TlsFailure::Expired,
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    TlsFailure::NotYetValid
                }
                other => TlsFailure::BadCertificate(format!("{other:?}")),
            },
            rustls::Error::InvalidMessage(_)
            | rustls::Error::InappropriateMessage { .. }
            | rustls::Error::InappropriateHandshakeMessage { .. } => TlsFailure::NotTls,
            rustls::Error::AlertReceived(alert) => TlsFailure::AlertReceived(format!("{alert:?}")),
            other => TlsFailure::Other(other.to_string()),
        };
    }
    match err.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => TlsFailure::ConnectionClosed,
        _ => TlsFailure::Other(err.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Redis session
// ---------------------------------------------------------------------------------------------

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

    /// Plain `INFO` (default sections), parsed into an [`InfoSummary`].
    pub async fn info(&mut self) -> Result<InfoSummary, ProbeError> {
        let dict: InfoDict = self.query(&redis::cmd("INFO")).await?;
        Ok(InfoSummary::from_info_dict(&dict))
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

/// Opens a [`Session`] on `stream` (sending `AUTH` if given) and runs `INFO`.
pub async fn info<S>(stream: S, auth: Option<&Auth>, timeout: Duration) -> Result<InfoSummary, ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Session::start(stream, auth, timeout).await?.info().await
}

// ---------------------------------------------------------------------------------------------
// INFO parsing
// ---------------------------------------------------------------------------------------------

/// Key counts of one logical database (`INFO keyspace`, line `dbN:keys=..,expires=..,...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DbKeyspace {
    pub keys: u64,
    pub expires: u64,
}

/// The figures `doctor` reports from `INFO`. Fields are `None` when the server did not
/// report them (older engines, restricted deployments) so callers can say "not reported".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InfoSummary {
    /// `redis_version` (Valkey reports a Redis-compatible value here too).
    pub redis_version: Option<String>,
    /// `valkey_version`, only on Valkey.
    pub valkey_version: Option<String>,
    /// `role`: `master` or `slave`.
    pub role: Option<String>,
    /// `used_memory`, bytes.
    pub used_memory: Option<u64>,
    /// `maxmemory`, bytes; `Some(0)` means no limit (see [`InfoSummary::maxmemory_limit`]).
    pub maxmemory: Option<u64>,
    /// `maxmemory_policy`, e.g. `volatile-lru`.
    pub maxmemory_policy: Option<String>,
    /// `mem_fragmentation_ratio`.
    pub mem_fragmentation_ratio: Option<f64>,
    /// `evicted_keys` since start (or `CONFIG RESETSTAT`).
    pub evicted_keys: Option<u64>,
    /// `used_cpu_sys`, seconds.
    pub used_cpu_sys: Option<f64>,
    /// `used_cpu_user`, seconds.
    pub used_cpu_user: Option<f64>,
    /// Databases with at least one key, by index. Empty databases are not listed by Redis.
    pub keyspace: BTreeMap<u32, DbKeyspace>,
}

impl InfoSummary {
    /// Parses the text of an `INFO` reply.
    pub fn parse(text: &str) -> Self {
        Self::from_info_dict(&InfoDict::new(text))
    }

    /// Extracts the summary from a redis-rs [`InfoDict`].
    pub fn from_info_dict(dict: &InfoDict) -> Self {
        let text = |k: &str| dict.get::<String>(k).map(|s| s.trim().to_owned());
        let uint = |k: &str| text(k).and_then(|s| s.parse::<u64>().ok());
        let float = |k: &str| text(k).and_then(|s| s.parse::<f64>().ok());

        let keyspace = dict
            .keys()
            .filter_map(|key| {
                let index = key.strip_prefix("db")?.parse::<u32>().ok()?;
                Some((index, parse_keyspace_line(&text(key)?)?))
            })
            .collect();

        Self {
            redis_version: text("redis_version"),
            valkey_version: text("valkey_version"),
            role: text("role"),
            used_memory: uint("used_memory"),
            maxmemory: uint("maxmemory"),
            maxmemory_policy: text("maxmemory_policy"),
            mem_fragmentation_ratio: float("mem_fragmentation_ratio"),
            evicted_keys: uint("evicted_keys"),
            used_cpu_sys: float("used_cpu_sys"),
            used_cpu_user: float("used_cpu_user"),
            keyspace,
        }
    }

    /// `maxmemory` as a limit: `None` when not reported or 0 (unlimited).
    pub fn maxmemory_limit(&self) -> Option<u64> {
        self.maxmemory.filter(|&m| m > 0)
    }

    /// Total keys over all databases.
    pub fn total_keys(&self) -> u64 {
        self.keyspace.values().map(|db| db.keys).sum()
    }
}

/// Parses `keys=3,expires=1,avg_ttl=0[,subexpiry=0]`; `None` if `keys` is missing.
fn parse_keyspace_line(value: &str) -> Option<DbKeyspace> {
    let mut keys = None;
    let mut expires = 0;
    for field in value.split(',') {
        match field.split_once('=') {
            Some(("keys", v)) => keys = v.parse().ok(),
            Some(("expires", v)) => expires = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    Some(DbKeyspace { keys: keys?, expires })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Server\r\nredis_version:7.0.15\r\nrole:master\r\n\r\n# Memory\r\n\
        used_memory:1048576\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n\
        mem_fragmentation_ratio:1.25\r\n\r\n# Stats\r\nevicted_keys:7\r\n\r\n# CPU\r\n\
        used_cpu_sys:0.123456\r\nused_cpu_user:1.5\r\n\r\n# Keyspace\r\n\
        db0:keys=3,expires=1,avg_ttl=0\r\ndb12:keys=10,expires=0,avg_ttl=0,subexpiry=0\r\n";

    #[test]
    fn parses_info_text() {
        let s = InfoSummary::parse(SAMPLE);
        assert_eq!(s.redis_version.as_deref(), Some("7.0.15"));
        assert_eq!(s.role.as_deref(), Some("master"));
        assert_eq!(s.used_memory, Some(1_048_576));
        assert_eq!(s.maxmemory, Some(0));
        assert_eq!(s.maxmemory_limit(), None);
        assert_eq!(s.maxmemory_policy.as_deref(), Some("noeviction"));
        assert_eq!(s.mem_fragmentation_ratio, Some(1.25));
        assert_eq!(s.evicted_keys, Some(7));
        assert_eq!(s.used_cpu_sys, Some(0.123456));
        assert_eq!(s.used_cpu_user, Some(1.5));
        assert_eq!(s.keyspace.get(&0), Some(&DbKeyspace { keys: 3, expires: 1 }));
        assert_eq!(s.keyspace.get(&12), Some(&DbKeyspace { keys: 10, expires: 0 }));
        assert_eq!(s.total_keys(), 13);
        assert_eq!(s.valkey_version, None);
    }

    #[test]
    fn missing_fields_are_none() {
        let s = InfoSummary::parse("# Server\r\nredis_version:6.2.6\r\n");
        assert_eq!(s.used_memory, None);
        assert_eq!(s.evicted_keys, None);
        assert!(s.keyspace.is_empty());
    }

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

    #[test]
    fn rejects_bad_addresses() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for bad in ["localhost", ":6379", "host:notaport", "host:70000"] {
            let err = rt.block_on(open(bad, None, Duration::from_secs(1))).unwrap_err();
            assert!(matches!(err, ProbeError::InvalidAddress { .. }), "{bad}: {err}");
        }
    }
}
