//! Findings over time: `scan --history` dates each failing finding (`first_seen`, `age_days`),
//! `--sla` sets deadlines and `--fail-on-overdue` gates on them, and `report --history` draws
//! the trends. The history is built by real live scans against moto at fixed `--now` instants:
//! a finding opened, carried over a night that could not read its region, fixed, reopened and
//! suppressed; a pruned history; a truncated night.
use crate::common;

use common::aws::Aws;
use common::cli::Run;
use common::proxy::{Fault, Faults, Persistent};
use common::seed::{self, Group};
use serde_json::Value;

/// The deadlines of every night: only `no-public-ingress` is critical in the bundled pack, so
/// only it can be overdue within a week.
const SLA: &str = "critical=2d,high=30d";

/// One nightly scan of us-east-1 into `history` as of `now`; its JSON result and exit code.
fn night(aws: &Aws, history: &str, now: &str, extra: &[&str]) -> (Value, Run) {
    let out = format!("{history}-{now}.json").replace(':', "");
    let mut args = vec![
        "--regions",
        "us-east-1",
        "--max-attempts",
        "1",
        "--history",
        history,
        "--now",
        now,
        "--sla",
        SLA,
        "--fail-on-overdue",
        "--allow-partial",
        "--format",
        "json",
        "-o",
        &out,
    ];
    args.extend_from_slice(extra);
    let run = aws.live("scan", &args);
    assert!(
        aws.path(&out).exists(),
        "night {now}: no result (exit {}): {}",
        run.code(),
        run.stderr()
    );
    (aws.json(&out), run)
}

/// The `no-public-ingress` finding of `id`, if the night has one.
fn public<'a>(doc: &'a Value, id: &str) -> Option<&'a Value> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "no-public-ingress" && f["resource_id"] == id)
}

/// The failing transitions of a night's drift that name `id`'s public-ingress finding.
fn moved(doc: &Value, list: &str, id: &str) -> Vec<Value> {
    doc["drift"]["findings"][list]
        .as_array()
        .map(|l| {
            l.iter()
                .filter(|f| f["rule_id"] == "no-public-ingress" && f["resource_id"] == id)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The age fields of a finding: (status, first_seen, age_days, due_at, overdue).
fn age(f: &Value) -> (String, Value, Value, Value, Value) {
    (
        f["status"].as_str().unwrap().to_string(),
        f["first_seen"].clone(),
        f["age_days"].clone(),
        f["due_at"].clone(),
        f["overdue"].clone(),
    )
}

fn aged(
    status: &str,
    first_seen: &str,
    days: u64,
    due: &str,
    overdue: bool,
) -> (String, Value, Value, Value, Value) {
    (
        status.into(),
        Value::from(first_seen),
        Value::from(days),
        Value::from(due),
        Value::from(overdue),
    )
}

/// A template that prints the trends model line by line, for exact assertions.
const TRENDS: &str = "{% for n in report.trends.nights %}night {{ n.evaluated_at }} failing={{ n.failing_total }} \
critical={{ n.failing.critical }} introduced={{ n.introduced }} resolved={{ n.resolved }} gaps={{ n.gaps }}\n{% endfor %}\
{% for r in report.trends.rules %}{% if r.rule_id == 'no-public-ingress' %}rule {{ r.rule_id }} open={{ r.open }} \
resolved={{ r.resolved }} mttr={{ r.mean_days_to_remediate }}\n{% endif %}{% endfor %}\
{% for f in report.trends.oldest_open %}open {{ f.resource_id }} first_seen={{ f.first_seen }} \
owner={{ f.owner }}\n{% endfor %}\
{% for s in report.trends.skipped %}skipped {{ s.why }}\n{% endfor %}";

#[tokio::test(flavor = "multi_thread")]
async fn a_finding_opened_carried_over_a_gap_fixed_and_reopened_has_exact_ages() {
    let aws = Aws::behind_proxy(Faults::none());
    let cfg = aws.config("us-east-1").await;
    let net = seed::network(&cfg, "aging-subnets", "10.60.0.0/16", false).await;
    let internal = seed::tcp(6379, 6379, "10.60.0.0/16");
    let sg_alpha = seed::security_group(&cfg, &net.vpc_id, "alpha-cache", vec![internal.clone()]).await;
    let sg_beta = seed::security_group(&cfg, &net.vpc_id, "beta-cache", vec![internal]).await;
    let alpha = seed::replication_group(&cfg, &Group::compliant("alpha", &sg_alpha, &net.subnet_group)).await;
    seed::full_alarms(&cfg, &alpha).await;
    let beta = seed::replication_group(&cfg, &Group::compliant("beta", &sg_beta, &net.subnet_group)).await;
    seed::full_alarms(&cfg, &beta).await;
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let internet = || seed::tcp(6379, 6379, "0.0.0.0/0");

    // Both nightly histories see the same nights; `pruned` keeps two runs.
    let both = |now: &str, extra: &[&str]| {
        let full = night(&aws, "history", now, extra);
        let mut pruned_args = vec!["--keep", "2"];
        pruned_args.extend_from_slice(extra);
        let pruned = night(&aws, "pruned", now, &pruned_args);
        (full, pruned)
    };

    // Night 1: alpha is closed.
    let ((n1, run), _) = both("2026-11-01T03:00:00Z", &[]);
    assert_eq!(public(&n1, "alpha").unwrap()["status"], "pass");
    assert_eq!(run.code(), 0, "{}", run.stderr());

    // Night 2: alpha admits the internet. It fails, first seen tonight; not overdue, so
    // `--fail-on-overdue` passes the gate a critical failure would fail under `--fail-on`.
    ec2.authorize_security_group_ingress()
        .group_id(&sg_alpha)
        .ip_permissions(internet())
        .send()
        .await
        .unwrap();
    let ((n2, run), _) = both("2026-11-02T03:00:00Z", &[]);
    let f = public(&n2, "alpha").unwrap();
    assert_eq!(
        age(f),
        aged("fail", "2026-11-02T03:00:00Z", 0, "2026-11-04T03:00:00Z", false)
    );
    assert_eq!(moved(&n2, "newly_failing", "alpha").len(), 1);
    let failing = |n: &Value| n["summary"]["gate"]["failing"].as_u64().unwrap();
    // Public ingress also leaves the VPC: `ingress-within-vpc` (high) fails with it.
    assert_eq!(failing(&n2), failing(&n1) + 2, "{}", n2["summary"]["gate"]);
    assert_eq!(n2["summary"]["gate"]["overdue"], 0);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        public(&n2, "beta").unwrap()["first_seen"].is_null(),
        "a pass has no age"
    );

    // Night 3: the region's replication groups cannot be read. A gap is not a fix: nothing is
    // resolved, and the clock does not restart.
    aws.proxy().set(Faults {
        persistent: vec![Persistent {
            action: "DescribeReplicationGroups".into(),
            region: Some("us-east-1".into()),
            body_contains: None,
            access_key: None,
            fault: Fault::AccessDenied,
        }],
        ..Faults::none()
    });
    let ((n3, _), _) = both("2026-11-03T03:00:00Z", &[]);
    assert!(n3["summary"]["coverage_gaps"].as_u64().unwrap() > 0);
    assert_ne!(
        public(&n3, "alpha").map(|f| f["status"].clone()),
        Some("pass".into())
    );
    assert_eq!(
        moved(&n3, "resolved", "alpha"),
        Vec::<Value>::new(),
        "a gap resolved alpha"
    );
    aws.proxy().set(Faults::none());

    // Night 4 (two days on): still failing since night 2, and past its 2-day deadline.
    let ((n4, run), (p4, _)) = both("2026-11-05T03:00:00Z", &[]);
    let expected = aged("fail", "2026-11-02T03:00:00Z", 3, "2026-11-04T03:00:00Z", true);
    assert_eq!(age(public(&n4, "alpha").unwrap()), expected);
    assert_eq!(age(public(&p4, "alpha").unwrap()), expected, "pruned history");
    assert_eq!(n4["summary"]["gate"]["overdue"], 1);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        n4["summary"]["gate"]["reason"]
            .as_str()
            .unwrap()
            .contains("remediation deadline"),
        "{}",
        n4["summary"]["gate"]
    );
    // The pruned history now holds nights 3 and 4 only; a later run still dates alpha from
    // night 2, which it no longer holds: each result carries its findings' first_seen.
    let (p4b, _) = night(&aws, "pruned", "2026-11-05T12:00:00Z", &["--keep", "2"]);
    assert_eq!(
        age(public(&p4b, "alpha").unwrap()),
        aged("fail", "2026-11-02T03:00:00Z", 3, "2026-11-04T03:00:00Z", true)
    );
    let kept = std::fs::read_dir(aws.path("pruned"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".scan.json")
        })
        .count();
    assert_eq!(kept, 2);

    // Night 5: fixed. Resolved, with the day it was first seen: four days to remediate.
    ec2.revoke_security_group_ingress()
        .group_id(&sg_alpha)
        .ip_permissions(internet())
        .send()
        .await
        .unwrap();
    let (n5, run) = night(&aws, "history", "2026-11-06T03:00:00Z", &[]);
    assert_eq!(public(&n5, "alpha").unwrap()["status"], "pass");
    let resolved = moved(&n5, "resolved", "alpha");
    assert_eq!(resolved.len(), 1, "{}", n5["drift"]["findings"]);
    assert_eq!(resolved[0]["first_seen"], "2026-11-02T03:00:00Z");
    assert_eq!(run.code(), 0, "{}", run.stderr());

    // Night 6: reopened. A pass in between restarted the clock.
    ec2.authorize_security_group_ingress()
        .group_id(&sg_alpha)
        .ip_permissions(internet())
        .send()
        .await
        .unwrap();
    let (n6, run) = night(&aws, "history", "2026-11-07T03:00:00Z", &[]);
    assert_eq!(
        age(public(&n6, "alpha").unwrap()),
        aged("fail", "2026-11-07T03:00:00Z", 0, "2026-11-09T03:00:00Z", false)
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());

    // Night 7: suppressed, it keeps its age (and, accepted, no longer gates).
    let suppressions = aws.path("suppressions.yaml");
    std::fs::write(
        &suppressions,
        "suppressions:\n  - rule: no-public-ingress\n    resource: alpha\n    reason: public demo endpoint\n",
    )
    .unwrap();
    let (n7, run) = night(
        &aws,
        "history",
        "2026-11-10T03:00:00Z",
        &["--suppressions", suppressions.to_str().unwrap()],
    );
    assert_eq!(
        age(public(&n7, "alpha").unwrap()),
        aged(
            "suppressed",
            "2026-11-07T03:00:00Z",
            3,
            "2026-11-09T03:00:00Z",
            true
        )
    );
    assert_eq!(
        n7["summary"]["gate"]["overdue"], 0,
        "a suppressed finding does not gate"
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());

    // The trend report over the whole history: exact per-night figures from the results.
    let template = aws.path("trends.md.j2");
    std::fs::write(&template, TRENDS).unwrap();
    let report = aws.run(&[
        "report",
        "--history",
        aws.path("history").to_str().unwrap(),
        "--format",
        "markdown",
        "--template",
        template.to_str().unwrap(),
        "--owner-tag",
        "team",
    ]);
    assert_eq!(report.code(), 0, "{}", report.stderr());
    let text = report.stdout();
    let nights: Vec<&str> = text.lines().filter(|l| l.starts_with("night ")).collect();
    let expected_nights: Vec<String> = [&n1, &n2, &n3, &n4, &n5, &n6, &n7]
        .iter()
        .map(|n| {
            let failing = |s: &str| -> u64 {
                n["summary"]["by_severity"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|b| s == "all" || b["severity"] == s)
                    .map(|b| b["fail"].as_u64().unwrap() + b["baselined"].as_u64().unwrap())
                    .sum()
            };
            // Not compared with an earlier night: none, which a template writes as nothing.
            let count = |list: &str| match n["drift"]["findings"][list].as_array() {
                Some(l) => l.len().to_string(),
                None => String::new(),
            };
            format!(
                "night {} failing={} critical={} introduced={} resolved={} gaps={}",
                n["scan"]["evaluated_at"].as_str().unwrap(),
                failing("all"),
                failing("critical"),
                count("newly_failing"),
                count("resolved"),
                n["summary"]["coverage_gaps"]
            )
        })
        .collect();
    assert_eq!(nights, expected_nights, "{text}");
    assert!(nights[2].ends_with(&format!("gaps={}", n3["summary"]["coverage_gaps"])));
    assert!(
        text.contains("rule no-public-ingress open=0 resolved=1 mttr=4.0\n"),
        "{text}"
    );
    assert!(!text.contains("skipped"), "{text}");
    // The oldest open findings, oldest first, each with its deployment's `team` tag (the seed
    // tags each group with its own id).
    let open: Vec<&str> = text.lines().filter(|l| l.starts_with("open ")).collect();
    assert!(!open.is_empty(), "{text}");
    for line in &open {
        let id = line.split(' ').nth(1).unwrap();
        assert!(line.ends_with(&format!("owner={id}")), "{line}");
    }
    let seen: Vec<&str> = open.iter().map(|l| l.split(' ').nth(2).unwrap()).collect();
    assert!(seen.is_sorted(), "{seen:?}");
    assert!(
        open.contains(&"open alpha first_seen=2026-11-07T03:00:00Z owner=alpha"),
        "{text}"
    );

    // A truncated night is reported and skipped, never a night with nothing failing.
    let truncated = aws.path("truncated");
    std::fs::create_dir(&truncated).unwrap();
    let mut scans: Vec<std::path::PathBuf> = Vec::new();
    for entry in std::fs::read_dir(aws.path("history")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, truncated.join(path.file_name().unwrap())).unwrap();
        if path.to_string_lossy().ends_with(".scan.json") {
            scans.push(truncated.join(path.file_name().unwrap()));
        }
    }
    // The night the finding was fixed (evaluated 2026-11-06).
    let fixed = scans
        .iter()
        .find(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("\"evaluated_at\":\"2026-11-06T03:00:00Z\"")
        })
        .unwrap();
    let text = std::fs::read_to_string(fixed).unwrap();
    std::fs::write(fixed, &text[..text.len() / 2]).unwrap();
    let report = aws.run(&[
        "report",
        "--history",
        truncated.to_str().unwrap(),
        "--format",
        "markdown",
        "--template",
        template.to_str().unwrap(),
    ]);
    assert_eq!(report.code(), 0, "{}", report.stderr());
    assert!(
        report.stderr().contains("skipped: it is truncated"),
        "{}",
        report.stderr()
    );
    let text = report.stdout();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("night ")).count(),
        6,
        "{text}"
    );
    assert!(!text.contains("night 2026-11-06"), "{text}");
    assert!(text.contains("skipped it is truncated"), "{text}");
    // A scan over that history still dates alpha from night 6: night 7 recorded when its
    // streak began, so the walk stops there and never reaches the unreadable night.
    let (n8, run) = night(&aws, "truncated", "2026-11-11T03:00:00Z", &[]);
    assert_eq!(
        public(&n8, "alpha").unwrap()["first_seen"],
        "2026-11-07T03:00:00Z"
    );
    assert!(run.stderr().contains("recorded run"), "{}", run.stderr());
}

#[test]
fn deadlines_and_trends_refuse_what_they_cannot_do() {
    use common::cli::Scratch;
    let s = Scratch::new();
    let fleet = common::repo_path("examples/fleet.json");
    let fleet = fleet.to_str().unwrap();
    let usage = |args: &[&str], says: &str| {
        let run = s.run(args);
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr());
        assert!(run.stderr().contains(says), "{args:?}: {}", run.stderr());
    };
    // Deadlines need ages, ages need a history; gating on them needs a deadline.
    usage(
        &["scan", "--inventory", fleet, "--sla", "critical=7d"],
        "--history",
    );
    usage(&["scan", "--inventory", fleet, "--fail-on-overdue"], "--history");
    usage(
        &[
            "scan",
            "--inventory",
            fleet,
            "--history",
            "h",
            "--fail-on-overdue",
        ],
        "--fail-on-overdue needs remediation deadlines",
    );
    usage(
        &[
            "scan",
            "--inventory",
            fleet,
            "--history",
            "h",
            "--sla",
            "urgent=7d",
        ],
        "unknown severity `urgent`",
    );
    let config = s.file("ecaudit.toml", "[gate]\nsla = \"high=soon\"\n");
    usage(
        &["scan", "--inventory", fleet, "--config", config.to_str().unwrap()],
        "ecaudit.toml:2:7: gate.sla: `soon` is not a span of time",
    );
    // A report needs a result or a history, not both; a history must exist and hold a run.
    usage(&["report"], "required");
    usage(&["report", "r.json", "--history", "h"], "cannot be used with");
    usage(&["report", "r.json", "--since", "9d"], "--history");
    usage(&["report", "r.json", "--owner-tag", "team"], "--history");
    usage(
        &["report", "--history", "missing"],
        "missing: cannot read the history directory",
    );
    std::fs::create_dir(s.path("empty")).unwrap();
    usage(
        &["report", "--history", s.path("empty").to_str().unwrap()],
        "no run ecaudit recorded",
    );

    // With a deadline from the config, a night of the demo fleet: nothing is overdue on its
    // first night, so `--fail-on-overdue` passes what `--fail-on high` fails.
    let config = s.file(
        "gate.toml",
        "[gate]\nsla = \"critical=1d\"\nfail_on_overdue = true\n",
    );
    let history = s.path("nightly");
    let night = |now: &str| {
        s.run([
            "scan",
            "--inventory",
            fleet,
            "--config",
            config.to_str().unwrap(),
            "--history",
            history.to_str().unwrap(),
            "--now",
            now,
        ])
    };
    let first = night("2026-11-01T00:00:00Z");
    assert_eq!(first.code(), 0, "{}", first.stderr());
    assert!(
        first
            .stdout()
            .contains("no failing findings past their remediation deadline")
    );
    let third = night("2026-11-03T00:00:00Z");
    assert_eq!(third.code(), 1, "{}", third.stderr());
    // Overdue findings lead the table, with their age.
    let table = third.stdout();
    let listed = table.split("Failing and undecided findings").nth(1).unwrap();
    let first_row = listed.lines().skip_while(|l| !l.starts_with('╞')).nth(1).unwrap();
    assert!(
        first_row.contains("no-public-ingress") && first_row.contains("2d overdue"),
        "{table}"
    );
    assert!(
        table.contains("3 failing finding(s) past their remediation deadline"),
        "{table}"
    );

    // `--since` keeps the nights within a span of the newest one.
    let template = s.file(
        "nights.j2",
        "{% for n in report.trends.nights %}{{ n.evaluated_at }}\n{% endfor %}",
    );
    let nights = |extra: &[&str]| {
        let mut args = vec![
            "report",
            "--history",
            history.to_str().unwrap(),
            "--format",
            "markdown",
            "--template",
            template.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let run = s.run(&args);
        assert_eq!(run.code(), 0, "{}", run.stderr());
        run.stdout()
    };
    assert_eq!(nights(&[]), "2026-11-01T00:00:00Z\n2026-11-03T00:00:00Z\n");
    assert_eq!(nights(&["--since", "36h"]), "2026-11-03T00:00:00Z\n");
    assert_eq!(
        nights(&["--since", "2d"]),
        "2026-11-01T00:00:00Z\n2026-11-03T00:00:00Z\n"
    );
}
