//! One JSON POST to a webhook URL, retried: over rustls with the system's roots for `https`,
//! plain for `http` (a receiver inside the network). The URL is a secret: it is never logged,
//! and errors name its scheme and host only.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::DeliveryError;

/// A webhook URL, held so that it cannot be printed by accident.
#[derive(Clone)]
pub struct SecretUrl {
    uri: hyper::Uri,
}

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretUrl({})", self.host())
    }
}

impl SecretUrl {
    /// The URL in `value`, which must be `http://` or `https://` with a host. The error does not
    /// repeat the value.
    pub fn parse(value: &str) -> Result<SecretUrl, &'static str> {
        let uri: hyper::Uri = value.trim().parse().map_err(|_| "it is not a URL")?;
        match (uri.scheme_str(), uri.host()) {
            (Some("https" | "http"), Some(host)) if !host.is_empty() => Ok(SecretUrl { uri }),
            (Some("https" | "http"), _) => Err("it has no host"),
            _ => Err("it is not an http:// or https:// URL"),
        }
    }

    /// `https://hooks.slack.com`: what messages may name.
    pub fn host(&self) -> String {
        format!(
            "{}://{}",
            self.uri.scheme_str().unwrap_or("?"),
            self.uri.authority().map_or("?", |a| a.as_str())
        )
    }
}

/// How a delivery is retried.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    pub attempts: u32,
    /// Waited before the second attempt; doubled before each next one.
    pub backoff: Duration,
    /// Each attempt's limit.
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 3,
            backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(15),
        }
    }
}

/// Posts `body` (JSON) to `url`; `what` names the delivery in errors. Connection failures,
/// timeouts, HTTP 429 and 5xx are retried; any other status is final.
pub fn post_json(what: &str, url: &SecretUrl, body: Vec<u8>, retry: Retry) -> Result<(), DeliveryError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| failed(what, url, 0, format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(post(what, url, Bytes::from(body), retry))
}

fn failed(what: &str, url: &SecretUrl, attempts: u32, why: String) -> DeliveryError {
    DeliveryError {
        what: what.to_string(),
        to: url.host(),
        attempts,
        why,
    }
}

async fn post(what: &str, url: &SecretUrl, body: Bytes, retry: Retry) -> Result<(), DeliveryError> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| failed(what, url, 0, format!("no TLS roots: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut wait = retry.backoff;
    let mut why = String::new();
    for attempt in 1..=retry.attempts.max(1) {
        if attempt > 1 {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        let request = hyper::Request::post(url.uri.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("ecaudit/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(body.clone()))
            .map_err(|e| failed(what, url, attempt, format!("cannot build the request: {e}")))?;
        match tokio::time::timeout(retry.timeout, client.request(request)).await {
            Err(_) => why = format!("no answer within {} s", retry.timeout.as_secs()),
            // The error's text stays generic: hyper's errors do not carry the URL, and its
            // source chain is not followed into one that might.
            Ok(Err(e)) => why = format!("the connection failed ({})", connect_error(&e)),
            Ok(Ok(response)) => {
                let status = response.status();
                if status.is_success() {
                    return Ok(());
                }
                why = format!("HTTP {status}");
                if !(status.is_server_error() || status == hyper::StatusCode::TOO_MANY_REQUESTS) {
                    return Err(failed(what, url, attempt, why));
                }
            }
        }
        tracing::warn!(attempt, %why, "{what} not delivered; retrying");
    }
    Err(failed(what, url, retry.attempts.max(1), why))
}

/// A connection error in words, without any URL.
fn connect_error(e: &hyper_util::client::legacy::Error) -> &'static str {
    if e.is_connect() {
        "cannot connect"
    } else {
        "the exchange broke off"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_is_checked_and_never_shown() {
        let url = SecretUrl::parse("https://hooks.slack.com/services/T000/B000/XXXXSECRET").unwrap();
        assert_eq!(url.host(), "https://hooks.slack.com");
        assert!(!format!("{url:?}").contains("SECRET"));
        for bad in ["", "hooks.slack.com/x", "ftp://host/x", "https:///x", "not a url"] {
            assert!(SecretUrl::parse(bad).is_err(), "{bad:?}");
        }
        let e = failed("the Slack message", &url, 3, "HTTP 500".into()).to_string();
        assert_eq!(
            e,
            "the Slack message not delivered to https://hooks.slack.com after 3 attempt(s): HTTP 500"
        );
    }
}
