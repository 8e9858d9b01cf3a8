//! `scan --notify slack|webhook`: the run's summary posted to an HTTP server the test starts on
//! loopback, which records each request. The webhook URL is a secret: it must appear in no
//! output, message or file.
use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::cli::{Run, Scratch};
use serde_json::Value;

/// What the server received: (method, path, content type, body).
pub type Received = Arc<Mutex<Vec<(String, String, String, Vec<u8>)>>>;

/// A loopback HTTP server answering each request with the next of `statuses` (the last one
/// repeated); returns its base URL and what it received.
pub fn server(statuses: Vec<u16>) -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let received: Received = Arc::default();
    let seen = received.clone();
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let (mut length, mut content_type) = (0, String::new());
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "content-type" => content_type = value.trim().to_string(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut parts = request_line.split(' ');
            let (method, path) = (parts.next().unwrap(), parts.next().unwrap());
            seen.lock()
                .unwrap()
                .push((method.to_string(), path.to_string(), content_type, body));
            let status = statuses[i.min(statuses.len() - 1)];
            write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            )
            .unwrap();
        }
    });
    (base, received)
}

/// The secret part of every URL the tests hand out.
const SECRET: &str = "T0SECRET/B0SECRET/xoxSECRETTOKEN";

/// Two nights of the demo fleet in a history; the second, with `args`, opens a public port on
/// `checkout-redis` and notifies. The second night's run, and its JSON result.
fn two_nights(s: &Scratch, env: &[(&str, &str)], args: &[&str]) -> (Run, Value) {
    let mut fleet = common::demo_fleet();
    let inventory = s.json("monday.json", &fleet);
    common::ecaudit()
        .current_dir(s.dir.path())
        .args([
            "scan",
            "--inventory",
            inventory.to_str().unwrap(),
            "--history",
            "history",
        ])
        .args(["--now", "2026-11-01T03:00:00Z", "--exit-zero", "-o", "monday.txt"])
        .assert()
        .success();
    for d in fleet["deployments"].as_array_mut().unwrap() {
        if d["id"] == "orders-cache" {
            d["snapshot_retention_days"] = 0.into();
        }
    }
    let inventory = s.json("tuesday.json", &fleet);
    let mut cmd = common::ecaudit();
    cmd.current_dir(s.dir.path())
        .args([
            "scan",
            "--inventory",
            inventory.to_str().unwrap(),
            "--history",
            "history",
        ])
        .args([
            "--now",
            "2026-11-02T03:00:00Z",
            "--format",
            "json",
            "-o",
            "tuesday.json.out",
        ])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run = Run::of(&mut cmd);
    let doc = match s.path("tuesday.json.out").exists() {
        true => common::read_json(&s.path("tuesday.json.out")),
        false => Value::Null,
    };
    (run, doc)
}

/// The secret is in no output: standard output and error, nor any file the runs wrote.
fn secret_nowhere(s: &Scratch, run: &Run) {
    assert!(!run.stdout().contains("SECRET") && !run.stderr().contains("SECRET"));
    let mut stack = vec![s.dir.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    !String::from_utf8_lossy(&bytes).contains("SECRET"),
                    "{} holds the webhook URL",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn slack_gets_one_block_kit_message_with_what_is_new() {
    let s = Scratch::new();
    let (base, received) = server(vec![200]);
    let url = format!("{base}/services/{SECRET}");
    let (run, doc) = two_nights(
        &s,
        &[("MY_SLACK_HOOK", url.as_str())],
        &[
            "--notify",
            "slack",
            "--notify-url-env",
            "MY_SLACK_HOOK",
            "--notify-limit",
            "3",
        ],
    );
    assert_eq!(run.code(), 1, "the gate's code: {}", run.stderr());
    assert!(
        run.stderr()
            .contains(&format!("posted the run's summary (slack) to {base}"))
    );
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 1, "one message");
    let (method, path, content_type, body) = &received[0];
    assert_eq!(
        (method.as_str(), path.as_str()),
        ("POST", format!("/services/{SECRET}").as_str())
    );
    assert_eq!(content_type, "application/json");
    let message: Value = serde_json::from_slice(body).unwrap();
    let blocks = message["blocks"].as_array().unwrap();
    let failing = doc["summary"]["findings"]["fail"].as_u64().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(
        blocks[0]["text"]["text"],
        format!("ElastiCache audit: {failing} failing, gate failed")
    );
    let text: Vec<&str> = blocks.iter().filter_map(|b| b["text"]["text"].as_str()).collect();
    let text = text.join("\n");
    let new = doc["drift"]["findings"]["newly_failing"].as_array().unwrap();
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(
        text.contains(
            "*Since the previous run:* 1 newly failing, 0 resolved\n+ `snapshot-retention` on `orders-cache`"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("*Top failing findings* (3 of {failing})")),
        "{text}"
    );
    // The first listed is the most severe: the critical public endpoints.
    let top = text.split("*Top failing findings*").nth(1).unwrap();
    assert!(
        top.lines()
            .nth(1)
            .unwrap()
            .starts_with("• critical `no-public-ingress`"),
        "{top}"
    );
    // Counts by severity as fields.
    let fields: Vec<&str> = blocks[1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    let critical = doc["summary"]["by_severity"][0]["fail"].as_u64().unwrap();
    assert_eq!(fields[0], format!("*critical*\n{critical}"));
    secret_nowhere(&s, &run);
}

#[test]
fn the_webhook_gets_the_summary_as_json() {
    let s = Scratch::new();
    let (base, received) = server(vec![204]);
    let url = format!("{base}/hook/{SECRET}");
    let (run, doc) = two_nights(
        &s,
        &[("OPS_HOOK", url.as_str())],
        &["--notify", "webhook=OPS_HOOK"],
    );
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 1);
    let summary: Value = serde_json::from_slice(&received[0].3).unwrap();
    let failing = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .count();
    assert_eq!(summary["failing_total"], failing);
    assert_eq!(summary["exit_code"], 1);
    assert_eq!(summary["evaluated_at"], doc["scan"]["evaluated_at"]);
    assert_eq!(summary["since_previous"]["introduced"], 1);
    assert_eq!(summary["since_previous"]["resolved"], 0);
    assert_eq!(summary["top_failing"].as_array().unwrap().len(), 10);
    assert_eq!(summary["coverage_gaps"], serde_json::json!([]));
    let by_severity: u64 = summary["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_u64().unwrap())
        .sum();
    assert_eq!(by_severity, failing as u64);
    secret_nowhere(&s, &run);
}

#[test]
fn a_failed_delivery_is_retried_then_exit_3_with_the_outputs_written() {
    let s = Scratch::new();
    let (base, received) = server(vec![500]);
    let url = format!("{base}/services/{SECRET}");
    let (run, doc) = two_nights(
        &s,
        &[("ECAUDIT_SLACK_WEBHOOK_URL", url.as_str())],
        &["--notify", "slack"],
    );
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert_eq!(received.lock().unwrap().len(), 3, "three attempts");
    assert!(
        run.stderr().contains(&format!(
            "the Slack message not delivered to {base} after 3 attempt(s): HTTP 500"
        )),
        "{}",
        run.stderr()
    );
    assert!(doc["findings"].is_array(), "the result is written");
    secret_nowhere(&s, &run);
    // A receiver that is gone: retried, then reported the same way.
    drop(received);
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}/services/{SECRET}", closed.local_addr().unwrap());
    drop(closed);
    let (run, _) = two_nights(
        &s,
        &[("ECAUDIT_WEBHOOK_URL", gone.as_str())],
        &["--notify", "webhook"],
    );
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert!(
        run.stderr().contains("the connection failed (cannot connect)"),
        "{}",
        run.stderr()
    );
    secret_nowhere(&s, &run);
}

#[test]
fn a_url_is_taken_from_the_environment_only_and_checked_before_the_scan() {
    let s = Scratch::new();
    let fleet = common::repo_path("examples/fleet.json");
    let scan = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = common::ecaudit();
        cmd.current_dir(s.dir.path())
            .args(["scan", "--inventory", fleet.to_str().unwrap(), "-o", "out.txt"])
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::of(&mut cmd)
    };
    let run = scan(&[], &["--notify", "slack"]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains(
            "--notify slack: the environment variable ECAUDIT_SLACK_WEBHOOK_URL holding its URL is not set"
        ),
        "{}",
        run.stderr()
    );
    assert!(!s.path("out.txt").exists(), "refused before scanning");
    let run = scan(
        &[("HOOK", "ftp://SECRET.example/x")],
        &["--notify", "webhook=HOOK"],
    );
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr()
            .contains("the URL in HOOK cannot be used: it is not an http:// or https:// URL")
    );
    assert!(!run.stderr().contains("SECRET"));
    let run = scan(
        &[],
        &[
            "--notify",
            &format!("slack=https://hooks.slack.com/services/{SECRET}"),
        ],
    );
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("never goes on the command line"),
        "{}",
        run.stderr()
    );
}
