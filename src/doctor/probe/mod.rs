//! The Redis/Valkey protocol client of `ecaudit doctor`: it reaches one ElastiCache endpoint and
//! asks it to speak.
//!
//! 1. **Can we reach it?** [`open`] ([`transport`]) resolves `HOST:PORT` (often `127.0.0.1:6380`
//!    through an SSM port-forwarding tunnel), connects over TCP and, when [`TlsOptions`] are
//!    given, runs the TLS handshake itself with rustls. The certificate is verified against the
//!    *endpoint* name in [`TlsOptions::server_name`] (used for SNI too), not against the address
//!    we dialled, so a tunnel to localhost still validates the real `*.cache.amazonaws.com`
//!    certificate. Trust = the system store (`rustls-native-certs`) plus any PEM roots from
//!    `--tls-ca`.
//! 2. **Does it speak Redis to us?** [`ping`] ([`session`]) sends an optional `AUTH` and a
//!    `PING` and classifies the answer ([`PingOutcome`]): PONG, `NOAUTH`, wrong password, AUTH
//!    sent to a server without AUTH, connection closed (typically a plaintext client on a TLS
//!    port), garbage, timeout. A [`Session`] also runs `INFO`, which `doctor::info` reads.
//!
//! The RESP protocol is handled by `redis-rs`: the already established stream (TCP or TLS)
//! is handed to [`redis::aio::MultiplexedConnection::new_with_config`], whose driver future
//! runs on a tokio task owned by [`Session`] and aborted when the session is dropped.
//!
//! Secrets: the AUTH token only ever lives in [`Auth`], whose `Debug` is redacted, and is
//! written to the socket; no error, outcome or log line produced here contains it (server
//! replies to `AUTH` never echo the password).

mod error;
pub mod session;
pub mod transport;

pub use error::{ProbeError, TlsFailure};
pub use session::{Auth, PingOutcome, Session, ping};
pub use transport::{Stream, TlsDetails, TlsOptions, open};
