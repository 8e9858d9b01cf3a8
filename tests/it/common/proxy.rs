//! A fault-injecting HTTP proxy between ecaudit and moto server: ecaudit's `--endpoint-url`
//! points at it, it forwards each request to moto and, at a configured rate, answers instead
//! with a fault: throttling (in the error shape of the service's protocol), 500 or 503, a
//! response slower than the client's timeout, a reset connection, a truncated or garbled body.
//! Rules make chosen calls fail every time (persistent failures, AssumeRole denied), and a delay
//! can be added to every call (the latency benchmark).
//!
//! One request per connection (`Connection: close`); it runs on its own thread and runtime, so
//! it serves the `ecaudit` processes a test starts whatever the test itself does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy can do to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// `Throttling` / `RequestLimitExceeded` / `ThrottlingException`, as the protocol words it.
    Throttle,
    /// HTTP 500.
    ServerError,
    /// HTTP 503.
    Unavailable,
    /// The response comes after the client's attempt timeout.
    Slow,
    /// The connection is reset before any response.
    Reset,
    /// The response body is cut in half (a consistent Content-Length: the HTTP exchange is fine).
    Truncated,
    /// The response body's markup is replaced with noise of the same length.
    Garbled,
    /// HTTP 403 `AccessDenied` (for persistent rules).
    AccessDenied,
}

/// The transient faults, for `Faults::random`.
pub const TRANSIENT: [Fault; 7] = [
    Fault::Throttle,
    Fault::ServerError,
    Fault::Unavailable,
    Fault::Slow,
    Fault::Reset,
    Fault::Truncated,
    Fault::Garbled,
];

/// A call that fails every time it is made.
#[derive(Clone, Debug)]
pub struct Persistent {
    /// The operation, e.g. `DescribeCacheClusters`.
    pub action: String,
    /// Only in this region (from the request's SigV4 scope).
    pub region: Option<String>,
    /// Only when the request body holds this text (e.g. a role ARN, URL-encoded).
    pub body_contains: Option<String>,
    /// Only for requests signed with this access key (the caller's own account).
    pub access_key: Option<String>,
    pub fault: Fault,
}

/// What to inject.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Probability that a call is faulted.
    pub rate: f64,
    /// Faults chosen among, in turn (so a run with at least as many faults as kinds has each).
    pub kinds: Vec<Fault>,
    /// The same call (same region, credentials, operation and body) is faulted at most this many
    /// times in a row, so a client with more attempts always gets through.
    pub max_consecutive: u32,
    /// How long a `Slow` response waits.
    pub slow: Duration,
    /// Added to every call.
    pub delay: Duration,
    pub persistent: Vec<Persistent>,
    pub seed: u64,
}

impl Faults {
    /// No faults: a transparent proxy.
    pub fn none() -> Self {
        Faults {
            rate: 0.0,
            kinds: Vec::new(),
            max_consecutive: 0,
            slow: Duration::from_secs(3),
            delay: Duration::ZERO,
            persistent: Vec::new(),
            seed: 1,
        }
    }

    /// `rate` of the calls faulted with any transient fault, at most twice in a row each.
    pub fn random(rate: f64) -> Self {
        Faults {
            rate,
            kinds: TRANSIENT.to_vec(),
            max_consecutive: 2,
            ..Faults::none()
        }
    }
}

/// What the proxy saw and did.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub requests: u64,
    /// Faults injected, by kind (persistent ones included).
    pub faults: BTreeMap<Fault, u64>,
    /// Requests by operation.
    pub actions: BTreeMap<String, u64>,
    /// Each request's operation and body (lossy UTF-8), in arrival order: which ids a call asked for.
    pub requests_seen: Vec<(String, String)>,
    /// Secrets moto handed out (AssumeRole's secret keys and session tokens), for leak checks.
    pub secrets: Vec<String>,
}

impl Stats {
    pub fn faulted(&self) -> u64 {
        self.faults.values().sum()
    }
}

struct State {
    faults: Faults,
    stats: Stats,
    /// Faults in a row per call.
    streaks: BTreeMap<String, u32>,
    rng: u64,
}

pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`: what `--endpoint-url` gets.
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// A proxy in front of `upstream` (`http://host:port`).
    pub fn start(upstream: &str, faults: Faults) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            rng: faults.seed.max(1),
            faults,
            stats: Stats::default(),
            streaks: BTreeMap::new(),
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    let (state, upstream) = (shared.clone(), upstream.clone());
                    tokio::spawn(async move {
                        let _ = serve(client, &upstream, &state).await;
                    });
                }
            });
        });
        FaultProxy { endpoint, state }
    }

    /// What it injects now (for benches/live.rs).
    #[allow(dead_code)]
    pub fn faults(&self) -> Faults {
        self.state.lock().unwrap().faults.clone()
    }

    pub fn stats(&self) -> Stats {
        self.state.lock().unwrap().stats.clone()
    }

    /// Replaces what is injected from now on, and clears the statistics.
    pub fn set(&self, faults: Faults) {
        let mut s = self.state.lock().unwrap();
        s.rng = faults.seed.max(1);
        s.faults = faults;
        s.stats = Stats::default();
        s.streaks.clear();
    }
}

/// One HTTP message: start line, headers, body.
struct Message {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start).into_bytes();
        for (k, v) in &self.headers {
            let skip = ["connection", "content-length", "transfer-encoding", "keep-alive"];
            if !skip.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                out.extend(format!("{k}: {v}\r\n").as_bytes());
            }
        }
        out.extend(format!("Content-Length: {}\r\nConnection: close\r\n\r\n", self.body.len()).as_bytes());
        out.extend(&self.body);
        out
    }
}

/// Reads a request (Content-Length bodies) or a whole response (to the end of the stream).
async fn read_message(stream: &mut TcpStream, to_eof: bool) -> std::io::Result<Option<Message>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut msg = Message {
        start,
        headers,
        body: buf[head_end + 4..].to_vec(),
    };
    let length: Option<usize> = msg.header("content-length").and_then(|v| v.parse().ok());
    let chunked = msg
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if let Some(length) = length {
        while msg.body.len() < length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            msg.body.extend_from_slice(&chunk[..n]);
        }
        msg.body.truncate(length);
    } else if to_eof || chunked {
        loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            msg.body.extend_from_slice(&chunk[..n]);
        }
        if chunked {
            msg.body = dechunk(&msg.body);
        }
    }
    Ok(Some(msg))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..i])
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = i + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// The request's operation, region and protocol.
struct Call {
    action: String,
    region: String,
    access_key: String,
    protocol: Protocol,
    key: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Protocol {
    /// awsQuery (ElastiCache, STS): `<ErrorResponse>`.
    Query,
    /// ec2Query: `<Response><Errors>`.
    Ec2,
    /// awsJson1_1 (Organizations, Resource Groups Tagging).
    Json,
    /// rpcv2Cbor (CloudWatch).
    Cbor,
    /// restXml (S3): `<Error>`.
    S3,
}

/// The operation of a restJson1 request (Security Hub), from its method and path.
fn rest_json_operation(start: &str) -> Option<&'static str> {
    let mut parts = start.split(' ');
    let (method, path) = (parts.next()?, parts.next()?);
    match (method, path.split('?').next()?) {
        ("POST", "/findings/import") => Some("BatchImportFindings"),
        ("POST", "/findings") => Some("GetFindings"),
        _ => None,
    }
}

/// The operation of an S3 request (path-style), from its method, path and query.
fn s3_operation(start: &str) -> String {
    let mut parts = start.split(' ');
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let object = path.trim_start_matches('/').contains('/');
    match (method, object) {
        ("PUT", true) => "PutObject",
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        ("DELETE", true) => "DeleteObject",
        ("GET", false) if query.contains("list-type=2") => "ListObjectsV2",
        ("POST", false) if query.split('&').any(|q| q == "delete" || q == "delete=") => "DeleteObjects",
        ("PUT", false) => "CreateBucket",
        _ => "S3",
    }
    .to_string()
}

fn call_of(req: &Message) -> Call {
    let body = String::from_utf8_lossy(&req.body);
    let param = |name: &str| {
        body.split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or_default()
            .to_string()
    };
    let signed_for_s3 = req
        .header("authorization")
        .is_some_and(|a| a.contains("/s3/aws4_request"));
    let (action, protocol) = if signed_for_s3 {
        (s3_operation(&req.start), Protocol::S3)
    } else if let Some(target) = req.header("x-amz-target") {
        (
            target.rsplit('.').next().unwrap_or_default().to_string(),
            Protocol::Json,
        )
    } else if req.header("smithy-protocol").is_some() {
        let path = req.start.split(' ').nth(1).unwrap_or_default();
        (
            path.rsplit('/').next().unwrap_or_default().to_string(),
            Protocol::Cbor,
        )
    } else if let Some(op) = rest_json_operation(&req.start) {
        (op.to_string(), Protocol::Json)
    } else if param("Version") == "2016-11-15" {
        (param("Action"), Protocol::Ec2)
    } else {
        (param("Action"), Protocol::Query)
    };
    // SigV4: `Credential=AKID/DATE/REGION/SERVICE/aws4_request`.
    let credential = req
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split(',').next())
        .unwrap_or_default()
        .to_string();
    let mut scope = credential.split('/');
    let access_key = scope.next().unwrap_or_default().to_string();
    let region = scope.nth(1).unwrap_or_default().to_string();
    let key = format!("{access_key} {region} {} {action} {body}", req.start);
    Call {
        action,
        region,
        access_key,
        protocol,
        key,
    }
}

fn error_response(fault: Fault, protocol: Protocol) -> Message {
    let (status, code) = match (fault, protocol) {
        (Fault::Throttle, Protocol::Ec2) => ("503 Service Unavailable", "RequestLimitExceeded"),
        (Fault::Throttle, Protocol::Query) => ("400 Bad Request", "Throttling"),
        (Fault::Throttle, _) => ("400 Bad Request", "ThrottlingException"),
        (Fault::AccessDenied, _) => ("403 Forbidden", "AccessDenied"),
        (Fault::ServerError, _) => ("500 Internal Server Error", "InternalFailure"),
        _ => ("503 Service Unavailable", "ServiceUnavailable"),
    };
    let message = "injected by the test proxy";
    let (content_type, body): (&str, Vec<u8>) = match protocol {
        Protocol::Query => (
            "text/xml",
            format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>").into_bytes(),
        ),
        Protocol::Ec2 => (
            "text/xml",
            format!("<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>proxy</RequestID></Response>").into_bytes(),
        ),
        Protocol::Json => (
            "application/x-amz-json-1.1",
            format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}").into_bytes(),
        ),
        Protocol::Cbor => ("application/cbor", cbor_error(code, message)),
        Protocol::S3 => (
            "application/xml",
            format!("<Error><Code>{code}</Code><Message>{message}</Message><RequestId>proxy</RequestId></Error>").into_bytes(),
        ),
    };
    let mut headers = vec![("Content-Type".to_string(), content_type.to_string())];
    if protocol == Protocol::Cbor {
        headers.push(("smithy-protocol".to_string(), "rpc-v2-cbor".to_string()));
    }
    Message {
        start: format!("HTTP/1.1 {status}"),
        headers,
        body,
    }
}

/// `{"__type": code, "message": message}` in CBOR (definite-length text strings).
fn cbor_error(code: &str, message: &str) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        let n = s.len();
        if n < 24 {
            out.push(0x60 | n as u8);
        } else {
            out.push(0x78);
            out.push(n as u8);
        }
        out.extend_from_slice(s.as_bytes());
    }
    let mut out = vec![0xA2];
    text(&mut out, "__type");
    text(&mut out, code);
    text(&mut out, "message");
    text(&mut out, message);
    out
}

/// Decides what happens to a call: `None` to forward it untouched.
fn decide(state: &Mutex<State>, call: &Call, body: &[u8]) -> (Option<Fault>, Duration, Duration) {
    let mut s = state.lock().unwrap();
    s.stats.requests += 1;
    *s.stats.actions.entry(call.action.clone()).or_default() += 1;
    let body = String::from_utf8_lossy(body);
    s.stats
        .requests_seen
        .push((call.action.clone(), body.to_string()));
    let persistent = s.faults.persistent.iter().find(|p| {
        p.action == call.action
            && p.region.as_ref().is_none_or(|r| *r == call.region)
            && p.body_contains.as_ref().is_none_or(|t| body.contains(t.as_str()))
            && p.access_key.as_ref().is_none_or(|k| *k == call.access_key)
    });
    let (delay, slow) = (s.faults.delay, s.faults.slow);
    if let Some(p) = persistent {
        let fault = p.fault;
        *s.stats.faults.entry(fault).or_default() += 1;
        return (Some(fault), delay, slow);
    }
    // xorshift64: reproducible for a seed (which calls it hits depends on their order).
    let mut x = s.rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s.rng = x;
    let roll = (x >> 11) as f64 / (1u64 << 53) as f64;
    let streak = s.streaks.get(&call.key).copied().unwrap_or(0);
    let injected = s.stats.faulted() as usize;
    let fault = (roll < s.faults.rate && streak < s.faults.max_consecutive && !s.faults.kinds.is_empty())
        .then(|| s.faults.kinds[injected % s.faults.kinds.len()]);
    match fault {
        Some(f) => {
            s.streaks.insert(call.key.clone(), streak + 1);
            *s.stats.faults.entry(f).or_default() += 1;
        }
        None => {
            s.streaks.remove(&call.key);
        }
    }
    (fault, delay, slow)
}

async fn serve(mut client: TcpStream, upstream: &str, state: &Mutex<State>) -> std::io::Result<()> {
    let Some(req) = read_message(&mut client, false).await? else {
        return Ok(());
    };
    let call = call_of(&req);
    let (fault, delay, slow) = decide(state, &call, &req.body);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let response = match fault {
        Some(Fault::Reset) => {
            // SO_LINGER 0: closing sends RST, not FIN (tokio deprecates it because a non-zero
            // linger blocks on drop; zero does not).
            #[allow(deprecated)]
            client.set_linger(Some(Duration::ZERO))?;
            return Ok(()); // dropped: reset
        }
        Some(f @ (Fault::Throttle | Fault::ServerError | Fault::Unavailable | Fault::AccessDenied)) => {
            error_response(f, call.protocol)
        }
        Some(Fault::Slow) => {
            tokio::time::sleep(slow).await;
            forward(&req, upstream).await?
        }
        Some(Fault::Truncated) => {
            let mut r = forward(&req, upstream).await?;
            let half = r.body.len() / 2;
            r.body.truncate(half);
            r
        }
        Some(Fault::Garbled) => {
            let mut r = forward(&req, upstream).await?;
            for (i, b) in r.body.iter_mut().enumerate() {
                *b = b"#%{~"[i % 4];
            }
            r
        }
        None => {
            let r = forward(&req, upstream).await?;
            if call.action == "AssumeRole" {
                let body = String::from_utf8_lossy(&r.body);
                let mut s = state.lock().unwrap();
                for tag in ["SecretAccessKey", "SessionToken"] {
                    if let Some(v) = body
                        .split(&format!("<{tag}>"))
                        .nth(1)
                        .and_then(|t| t.split('<').next())
                    {
                        s.stats.secrets.push(v.to_string());
                    }
                }
            }
            r
        }
    };
    client.write_all(&response.to_bytes()).await?;
    client.shutdown().await
}

async fn forward(req: &Message, upstream: &str) -> std::io::Result<Message> {
    let mut moto = TcpStream::connect(upstream).await?;
    moto.write_all(&req.to_bytes()).await?;
    read_message(&mut moto, true)
        .await?
        .ok_or_else(|| std::io::Error::other("moto closed the connection"))
}
