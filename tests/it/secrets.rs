//! Nothing secret leaves ecaudit: deployments seeded with AUTH tokens in moto, credentials with a
//! secret key and a session token in the environment, a role assumed (whose temporary secrets the
//! proxy records), a call that fails; then every output format, every log level and every error
//! are searched for each secret.

use crate::common;

use common::aws::Aws;
use common::cli::Run;
use common::moto::ACCOUNT;
use common::proxy::{Fault, Faults, Persistent};
use common::seed::{self, Group};
use common::*;

const OTHER: &str = "222222222222";
const AUTH_TOKEN: &str = "AUTHtoken-must-not-leak-0123456789abcdef";
const SECRET_KEY: &str = "SECRETkey-must-not-leak/0123456789abcdefABCDEF";
const SESSION_TOKEN: &str = "SESSIONtoken-must-not-leak-FwoGZXIvYXdzEJr//////////wEaDO";
/// The path of a webhook URL (`--notify`), the part that authorises posting.
const WEBHOOK_PATH: &str = "/services/WEBHOOKpath-must-not-leak/B0123/xyz";

#[tokio::test(flavor = "multi_thread")]
async fn no_token_or_key_appears_in_any_output_log_or_error() {
    // Through the proxy: it records the temporary credentials AssumeRole hands out, and makes one
    // call fail for good so that an error message is in the outputs too.
    let aws = Aws::behind_proxy(Faults {
        persistent: vec![Persistent {
            action: "DescribeSnapshots".into(),
            region: None,
            body_contains: None,
            access_key: None,
            fault: Fault::AccessDenied,
        }],
        ..Faults::none()
    });
    for account in [ACCOUNT, OTHER] {
        let cfg = aws.config_in_account(account, "us-east-1").await;
        let net = seed::network(&cfg, "subnets", "10.7.0.0/16", false).await;
        let sg = seed::security_group(
            &cfg,
            &net.vpc_id,
            "cache",
            vec![seed::tcp(6379, 6379, "0.0.0.0/0")],
        )
        .await;
        seed::replication_group(&cfg, &Group::compliant("tokened", &sg, &net.subnet_group)).await;
        // A second group whose AUTH token is the one searched for.
        aws_sdk_elasticache::Client::new(&cfg)
            .create_replication_group()
            .replication_group_id("secret-auth")
            .replication_group_description("AUTH token set")
            .engine("redis")
            .engine_version("7.1")
            .cache_node_type("cache.t4g.small")
            .num_cache_clusters(2)
            .transit_encryption_enabled(true)
            .auth_token(AUTH_TOKEN)
            .security_group_ids(&sg)
            .cache_subnet_group_name(&net.subnet_group)
            .send()
            .await
            .unwrap();
    }
    let d = aws.dir();
    // Every scan also posts its summary to a webhook on loopback.
    let (hook, posted) = crate::notify::server(vec![200]);
    let webhook = format!("{hook}{WEBHOOK_PATH}");
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEYID"),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
        ("ECAUDIT_WEBHOOK_URL", webhook.as_str()),
    ];
    let formats = [
        "json", "jsonl", "csv", "markdown", "sarif", "junit", "ocsf", "html",
    ];
    let mut seen: Vec<(String, String)> = Vec::new();
    let verbosities: [(&str, Option<&str>); 5] = [
        ("", None),
        ("-v", None),
        ("-vv", None),
        ("-vvv", None),
        ("", Some("trace")),
    ];
    for (i, (flag, rust_log)) in verbosities.into_iter().enumerate() {
        let mut cmd = aws.live_command("scan");
        cmd.envs(env).args([
            "--regions",
            "us-east-1",
            "--accounts",
            &format!("{ACCOUNT},{OTHER}"),
            "--role-name",
            "auditor",
            "--max-attempts",
            "1",
            "--format",
            "table",
            "--notify",
            "webhook",
            // Security Hub imports with the caller's and the assumed role's credentials too.
            "--publish",
            "security-hub",
        ]);
        if !flag.is_empty() {
            cmd.arg(flag);
        }
        for f in formats {
            cmd.args(["--output-format", &format!("{f}={i}.{f}")]);
        }
        if let Some(level) = rust_log {
            cmd.env("RUST_LOG", level);
        }
        let run = Run::of(&mut cmd);
        run.expect(3); // the failing call makes the scan incomplete
        let stderr = run.stderr();
        let label = format!(
            "{flag}{}",
            rust_log.map(|l| format!("RUST_LOG={l}")).unwrap_or_default()
        );
        if flag == "-vv" {
            assert!(stderr.contains("AWS call"), "-vv logs each call:\n{stderr}");
        }
        assert!(
            stderr.contains("failing finding(s) imported") && !stderr.contains("Security Hub: account"),
            "published in both accounts:\n{stderr}"
        );
        if rust_log.is_some() {
            assert!(
                stderr.contains("aws_smithy_runtime"),
                "RUST_LOG=trace logs the SDK too"
            );
            assert!(stderr.lines().count() > 200, "a trace log is long");
        }
        seen.push((format!("stdout {label}"), run.stdout()));
        seen.push((format!("stderr {label}"), stderr));
        for f in formats {
            let path = d.join(format!("{i}.{f}"));
            seen.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    // The inventory of `collect`, and an error before any call (a usage error echoes nothing
    // from the environment either).
    let run = Run::of(aws.live_command("collect").envs(env).args([
        "-vv",
        "--regions",
        "us-east-1",
        "--output",
        "inventory.json",
    ]));
    seen.push(("collect stderr".into(), run.stderr()));
    seen.push((
        "inventory".into(),
        std::fs::read_to_string(aws.path("inventory.json")).unwrap(),
    ));
    let out = ecaudit()
        .envs(env)
        .args(["scan", "--shard", "9/2"])
        .output()
        .unwrap();
    seen.push((
        "usage error".into(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ));

    assert_eq!(
        posted.lock().unwrap().len(),
        verbosities.len(),
        "each scan posted"
    );
    let mut secrets = vec![
        AUTH_TOKEN.to_string(),
        SECRET_KEY.to_string(),
        SESSION_TOKEN.to_string(),
        WEBHOOK_PATH.to_string(),
    ];
    let handed_out = aws.proxy().stats().secrets;
    assert!(
        handed_out.len() >= 2,
        "AssumeRole's temporary secret key and session token were recorded"
    );
    secrets.extend(handed_out);
    for (what, text) in &seen {
        for secret in &secrets {
            // Whole, or a telling part of it (an excerpt or a wrapped line).
            let head = &secret[..secret.len().min(20)];
            assert!(!text.contains(head), "{what} holds a secret ({head}…)");
        }
    }
    // The outputs did report the deployments and the failing call: the search had something to
    // search.
    let json = &seen.iter().find(|(w, _)| w.ends_with("0.json")).unwrap().1;
    assert!(json.contains("secret-auth") && json.contains("AccessDenied"));
}
