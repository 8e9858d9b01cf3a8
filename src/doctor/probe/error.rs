//! What can go wrong talking to the server: [`ProbeError`] for every step (address, DNS, TCP,
//! TLS, AUTH, reply) and [`TlsFailure`], why a handshake failed.

use std::fmt;
use std::io;
use std::time::Duration;

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

/// Errors of [`open`](super::open) and of [`Session`](super::Session).
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
    /// [`TlsOptions::server_name`](super::TlsOptions::server_name) is not a valid DNS name or IP address.
    #[error("invalid TLS server name {name:?}")]
    InvalidServerName { name: String },
    /// [`TlsOptions::extra_roots_pem`](super::TlsOptions::extra_roots_pem) could not be used.
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
