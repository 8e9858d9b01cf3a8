//! The doctor's protocol probe against real `redis-server` processes on loopback: PING with and
//! without AUTH, INFO, TLS verified against the endpoint name through a loopback address, and the
//! failures (wrong name, unknown CA, plaintext on TLS, TLS on plaintext, refused, silent,
//! unresolvable).

use crate::common;

use std::time::Duration;

use common::redis::*;
use ecaudit::doctor::info::{self, DbKeyspace};
use ecaudit::doctor::probe::{self, PingOutcome, ProbeError, TlsFailure};

const ENDPOINT: &str = "master.demo.abc123.use1.cache.amazonaws.com";
const TIMEOUT: Duration = Duration::from_secs(5);
const SECRET: &str = "correct-horse-battery-staple-123";

// ---------------------------------------------------------------------------------------------
// Plain TCP
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn plain_ping_is_pong() {
    let server = RedisServer::plain(&[]);
    let stream = probe::open(&server.addr(), None, TIMEOUT).await.unwrap();
    assert!(!stream.is_tls());
    assert!(stream.tls_details().is_none());
    assert_eq!(probe::ping(stream, None, TIMEOUT).await, PingOutcome::Pong);
}

#[tokio::test]
async fn requirepass_outcomes() {
    let server = RedisServer::plain(&["--requirepass", SECRET]);
    let addr = server.addr();
    let open = || probe::open(&addr, None, TIMEOUT);

    assert_eq!(
        probe::ping(open().await.unwrap(), None, TIMEOUT).await,
        PingOutcome::NoAuth
    );

    let good = auth(None, SECRET);
    assert_eq!(
        probe::ping(open().await.unwrap(), Some(&good), TIMEOUT).await,
        PingOutcome::Pong
    );

    // `requirepass` sets the password of the ACL user `default`: the two-argument form works too.
    let good_user = auth(Some("default"), SECRET);
    assert_eq!(
        probe::ping(open().await.unwrap(), Some(&good_user), TIMEOUT).await,
        PingOutcome::Pong
    );

    let wrong_token = "definitely-wrong-token-987";
    let wrong = auth(None, wrong_token);
    let outcome = probe::ping(open().await.unwrap(), Some(&wrong), TIMEOUT).await;
    match &outcome {
        PingOutcome::AuthFailed { code, .. } => assert_eq!(code, "WRONGPASS"),
        other => panic!("expected AuthFailed, got {other:?}"),
    }
    assert!(
        !format!("{outcome:?}").contains(wrong_token),
        "token leaked: {outcome:?}"
    );

    let wrong_user = auth(Some("nobody"), SECRET);
    let outcome = probe::ping(open().await.unwrap(), Some(&wrong_user), TIMEOUT).await;
    assert!(matches!(outcome, PingOutcome::AuthFailed { .. }), "{outcome:?}");

    // The error form (used by `info::read`) is typed too, and redacted.
    let err = info::read(open().await.unwrap(), None, TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(err, ProbeError::NoAuth { .. }), "{err:?}");
    let err = info::read(open().await.unwrap(), Some(&wrong), TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(err, ProbeError::AuthFailed { .. }), "{err:?}");
    assert!(!format!("{err:?} {err}").contains(wrong_token));
    assert!(!format!("{wrong:?}").contains(wrong_token));
}

#[tokio::test]
async fn auth_against_server_without_password() {
    let server = RedisServer::plain(&[]);
    let stream = probe::open(&server.addr(), None, TIMEOUT).await.unwrap();
    let outcome = probe::ping(stream, Some(&auth(None, SECRET)), TIMEOUT).await;
    assert_eq!(outcome, PingOutcome::AuthNotEnabled);
}

#[tokio::test]
async fn info_is_parsed() {
    let server = RedisServer::plain(&["--maxmemory", "64mb"]);

    // Seed db 0 (3 keys, 1 with a TTL) and db 2 (2 keys) with a plain redis-rs client.
    for (db, keys, with_ttl) in [(0, 3, 1), (2, 2, 0)] {
        let client = redis::Client::open(format!("redis://{}/{db}", server.addr())).unwrap();
        let mut con = client.get_multiplexed_async_connection().await.unwrap();
        for i in 0..keys {
            let mut cmd = redis::cmd("SET");
            cmd.arg(format!("key:{i}")).arg("value");
            if i < with_ttl {
                cmd.arg("EX").arg(3600);
            }
            let () = cmd.query_async(&mut con).await.unwrap();
        }
    }

    let stream = probe::open(&server.addr(), None, TIMEOUT).await.unwrap();
    let info = info::read(stream, None, TIMEOUT).await.unwrap();
    println!("{info:#?}");

    assert_eq!(info.keyspace.get(&0), Some(&DbKeyspace { keys: 3, expires: 1 }));
    assert_eq!(info.keyspace.get(&2), Some(&DbKeyspace { keys: 2, expires: 0 }));
    assert_eq!(info.keyspace.get(&1), None);
    assert_eq!(info.total_keys(), 5);
    assert_eq!(info.evicted_keys, Some(0));
    assert_eq!(info.maxmemory, Some(64 * 1024 * 1024));
    assert_eq!(info.maxmemory_limit(), Some(64 * 1024 * 1024));
    assert!(info.used_memory.unwrap() > 0);
    assert!(info.mem_fragmentation_ratio.unwrap() > 0.0);
    assert!(info.used_cpu_sys.is_some() && info.used_cpu_user.is_some());
    assert_eq!(info.role.as_deref(), Some("master"));
    assert!(info.redis_version.as_deref().unwrap().starts_with('7'));
}

#[tokio::test]
async fn info_unlimited_maxmemory_is_zero() {
    let server = RedisServer::plain(&[]);
    let stream = probe::open(&server.addr(), None, TIMEOUT).await.unwrap();
    let info = info::read(stream, None, TIMEOUT).await.unwrap();
    assert_eq!(info.maxmemory, Some(0));
    assert_eq!(info.maxmemory_limit(), None);
    assert!(info.keyspace.is_empty());
}

// ---------------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn tls_with_trusted_ca_and_endpoint_name() {
    let pki = make_pki(ENDPOINT, "test CA");
    let server = RedisServer::tls(&pki, &["--requirepass", SECRET]);
    let opts = tls_opts(ENDPOINT, Some(&pki.ca_pem));

    let stream = probe::open(&server.addr(), Some(&opts), TIMEOUT).await.unwrap();
    assert!(stream.is_tls());
    let details = stream.tls_details().unwrap();
    println!("{details:?}");
    assert_eq!(details.protocol_version, "TLSv1_3");

    let token = auth(None, SECRET);
    assert_eq!(
        probe::ping(stream, Some(&token), TIMEOUT).await,
        PingOutcome::Pong
    );

    let stream = probe::open(&server.addr(), Some(&opts), TIMEOUT).await.unwrap();
    assert_eq!(probe::ping(stream, None, TIMEOUT).await, PingOutcome::NoAuth);

    let stream = probe::open(&server.addr(), Some(&opts), TIMEOUT).await.unwrap();
    let info = info::read(stream, Some(&token), TIMEOUT).await.unwrap();
    assert_eq!(info.evicted_keys, Some(0));
}

#[tokio::test]
async fn tls_wrong_server_name_fails() {
    let pki = make_pki(ENDPOINT, "test CA");
    let server = RedisServer::tls(&pki, &[]);
    let opts = tls_opts("master.other.abc123.use1.cache.amazonaws.com", Some(&pki.ca_pem));
    let err = probe::open(&server.addr(), Some(&opts), TIMEOUT)
        .await
        .unwrap_err();
    println!("{err}");
    match err {
        ProbeError::TlsHandshake { reason, .. } => assert_eq!(reason, TlsFailure::NameMismatch),
        other => panic!("expected TlsHandshake, got {other:?}"),
    }
}

#[tokio::test]
async fn tls_without_ca_fails() {
    let pki = make_pki(ENDPOINT, "test CA");
    let server = RedisServer::tls(&pki, &[]);

    // System store only.
    let err = probe::open(&server.addr(), Some(&tls_opts(ENDPOINT, None)), TIMEOUT)
        .await
        .unwrap_err();
    println!("{err}");
    assert!(
        matches!(
            &err,
            ProbeError::TlsHandshake {
                reason: TlsFailure::UnknownIssuer,
                ..
            }
        ),
        "{err:?}"
    );

    // Some other CA.
    let other = make_pki(ENDPOINT, "some other CA");
    let err = probe::open(
        &server.addr(),
        Some(&tls_opts(ENDPOINT, Some(&other.ca_pem))),
        TIMEOUT,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &err,
            ProbeError::TlsHandshake {
                reason: TlsFailure::UnknownIssuer,
                ..
            }
        ),
        "{err:?}"
    );

    // A different CA *with the same subject name* (e.g. a re-generated CA): webpki finds the
    // issuer by name and the signature check fails, so this is BadSignature, not UnknownIssuer.
    let same_name = make_pki(ENDPOINT, "test CA");
    let err = probe::open(
        &server.addr(),
        Some(&tls_opts(ENDPOINT, Some(&same_name.ca_pem))),
        TIMEOUT,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, ProbeError::TlsHandshake { reason: TlsFailure::BadCertificate(r), .. } if r == "BadSignature"),
        "{err:?}"
    );
}

#[tokio::test]
async fn plaintext_client_on_tls_port_gets_no_pong() {
    let pki = make_pki(ENDPOINT, "test CA");
    let server = RedisServer::tls(&pki, &[]);
    let stream = probe::open(&server.addr(), None, TIMEOUT).await.unwrap();
    let outcome = probe::ping(stream, None, Duration::from_secs(3)).await;
    println!("{outcome:?}");
    assert!(matches!(outcome, PingOutcome::Closed(_)), "{outcome:?}");
}

#[tokio::test]
async fn tls_client_on_plain_port_times_out() {
    // Redis reads the ClientHello as an inline command and waits for a newline that never
    // comes (it scans with strchr, and the ClientHello has a NUL at byte 6), so the server
    // never answers: the handshake times out rather than failing fast. A plaintext PING on
    // the same port then tells the doctor that transit encryption is off.
    let pki = make_pki(ENDPOINT, "test CA");
    let server = RedisServer::plain(&[]);
    let opts = tls_opts(ENDPOINT, Some(&pki.ca_pem));
    let err = probe::open(&server.addr(), Some(&opts), Duration::from_secs(1))
        .await
        .unwrap_err();
    println!("{err}");
    assert!(matches!(&err, ProbeError::TlsHandshakeTimeout { .. }), "{err:?}");

    let stream = probe::open(&server.addr(), None, TIMEOUT).await.unwrap();
    assert_eq!(probe::ping(stream, None, TIMEOUT).await, PingOutcome::Pong);
}

#[tokio::test]
async fn bad_tls_inputs() {
    let err = probe::open(
        "127.0.0.1:1",
        Some(&tls_opts(ENDPOINT, Some(b"not a pem"))),
        TIMEOUT,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ProbeError::InvalidCaPem { .. }), "{err:?}");

    let err = probe::open("127.0.0.1:1", Some(&tls_opts("bad name!", None)), TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(err, ProbeError::InvalidServerName { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Transport failures (all on loopback)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn connection_refused() {
    let port = free_port(); // bound and released: nothing listens there now
    let err = probe::open(&format!("127.0.0.1:{port}"), None, TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(err, ProbeError::ConnectionRefused { .. }), "{err:?}");
}

#[tokio::test]
async fn silent_server_times_out() {
    // Accepts connections and never says anything (like a hung tunnel).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });

    let short = Duration::from_millis(300);
    let stream = probe::open(&addr, None, TIMEOUT).await.unwrap();
    assert_eq!(probe::ping(stream, None, short).await, PingOutcome::TimedOut);

    let err = probe::open(&addr, Some(&tls_opts(ENDPOINT, None)), short)
        .await
        .unwrap_err();
    assert!(matches!(err, ProbeError::TlsHandshakeTimeout { .. }), "{err:?}");
    holder.abort();
}

#[tokio::test]
async fn unresolvable_host() {
    let err = probe::open("no-such-host.invalid:6379", None, TIMEOUT)
        .await
        .unwrap_err();
    println!("{err}");
    // Fails fast with the resolver of this machine; a resolver that does not answer gives
    // ResolveTimeout instead.
    assert!(
        matches!(
            err,
            ProbeError::Resolve { .. } | ProbeError::ResolveTimeout { .. }
        ),
        "{err:?}"
    );
}
