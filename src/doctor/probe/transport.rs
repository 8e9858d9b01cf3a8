//! Reaching the server: TCP to `HOST:PORT` (each resolved address in turn) and, when asked, the
//! TLS handshake with the certificate checked against the endpoint's name.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use super::error::{ProbeError, TlsFailure};

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

#[cfg(test)]
mod tests {
    use super::*;

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
