//! The CI gate from the command line: suppressions (file entries, globs, expiry, tags, stale
//! entries), baselines (update, gate, new failures, resolved entries), exit codes with both in
//! play, several outputs in one run, and the generated completions and man page.
use crate::common;

use common::cli::Scratch;
use common::*;

use serde_json::{Value, json};

/// The demo fleet with `edit` applied to the deployment `id`.
fn fleet_with(id: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut doc: Value = demo_fleet();
    let d = doc["deployments"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|d| d["id"] == id)
        .unwrap();
    edit(d);
    doc
}

fn fleet() -> Value {
    fleet_with("orders-cache", |_| {})
}

/// `(rule_id, resource_id)` of the findings with `status` in a JSON report.
fn with_status(report: &Value, status: &str) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == status)
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["resource_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `ecaudit scan --inventory INV --format json --exit-zero EXTRA`.
fn scan_json(s: &Scratch, inventory: &std::path::Path, extra: &[&str]) -> common::cli::Run {
    let mut args = vec!["--format", "json", "--exit-zero"];
    args.extend_from_slice(extra);
    s.scan(inventory, &args)
}

/// Writes the fleet's failing findings to the baseline `path` (the report goes to a file).
fn update_baseline(s: &Scratch, inventory: &std::path::Path, path: &std::path::Path) {
    s.scan(
        inventory,
        &[
            "--update-baseline",
            path.to_str().unwrap(),
            "-o",
            s.path("r.json").to_str().unwrap(),
        ],
    )
    .expect(0);
}

fn finding<'a>(report: &'a Value, rule: &str, resource: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == rule && f["resource_id"] == resource)
        .unwrap_or_else(|| panic!("no finding {rule} on {resource}"))
}

const EVENTS_STREAM: &str = "\
suppressions:
  - rule: no-public-ingress
    resource: events-stream
    reason: Public by design behind the proxy
    owner: team-streams
    ticket: SEC-101
    expires: 2027-01-31
";

#[test]
fn a_suppression_holds_through_its_expiry_date_and_then_warns() {
    let s = Scratch::new();
    let inv = s.json("fleet.json", &fleet());
    let sup = s.file("suppressions.yaml", EVENTS_STREAM);
    let sup = sup.to_str().unwrap();
    let run = s.scan(
        &inv,
        &[
            "--suppressions",
            sup,
            "--format",
            "json",
            "--now",
            "2027-01-31T23:59:59Z",
            "--exit-zero",
        ],
    );
    run.expect(0);
    let report = run.json();
    let f = finding(&report, "no-public-ingress", "events-stream");
    assert_eq!(f["status"], "suppressed");
    assert_eq!(f["waiver"]["reason"], "Public by design behind the proxy");
    assert_eq!(f["waiver"]["owner"], "team-streams");
    assert_eq!(f["waiver"]["source"], format!("{sup}:2"));
    assert_eq!(f["waiver"]["original_status"], "fail");
    assert!(
        !f["remediation"].is_null(),
        "a suppressed failure keeps its remediation"
    );
    assert_eq!(report["summary"]["findings"]["suppressed"], 1);
    assert!(!run.stderr().contains("expired"), "{}", run.stderr());

    // From the next day on it no longer suppresses, and says so, naming the entry.
    let run = s.scan(
        &inv,
        &[
            "--suppressions",
            sup,
            "--format",
            "json",
            "--now",
            "2027-02-01T00:00:00Z",
            "--exit-zero",
        ],
    );
    run.expect(0)
        .stderr_has(&format!("{sup}:2: suppression of `no-public-ingress` on `events-stream` (owner team-streams, ticket SEC-101) has expired (it held through 2027-01-31)"));
    let report = run.json();
    assert_eq!(
        finding(&report, "no-public-ingress", "events-stream")["status"],
        "fail"
    );
    assert_eq!(report["waivers"]["suppressions"][0]["state"], "expired");
}

#[test]
fn globs_accounts_regions_and_tags_narrow_a_suppression() {
    let s = Scratch::new();
    let inv = s.json("fleet.json", &fleet());
    let sup = s.file(
        "suppressions.yaml",
        "suppressions:\n  - rule: \"in-transit-*\"\n    resource: \"arn:aws:elasticache:*:222222222222:*\"\n    region: ap-southeast-2\n    reason: Legacy reporting, retired in Q1\n  - rule: multi-az\n    resource: \"*\"\n    tags: { env: \"stag*\" }\n    reason: Staging is single-AZ on purpose\n",
    );
    let run = scan_json(&s, &inv, &["--suppressions", sup.to_str().unwrap()]);
    let report = run.json();
    let mut suppressed = with_status(&report, "suppressed");
    suppressed.sort();
    // Exactly the failures the entries' scopes reach: the in-transit rules in 222222222222's
    // ap-southeast-2 (only reporting-legacy fails them there), multi-az on the two staging
    // deployments that fail it.
    let pair = |rule: &str, resource: &str| (rule.to_string(), resource.to_string());
    assert_eq!(
        suppressed,
        [
            pair("in-transit-encryption", "reporting-legacy"),
            pair("in-transit-encryption-required", "reporting-legacy"),
            pair("multi-az", "queue-memcached-stg"),
            pair("multi-az", "web-sessions-stg"),
        ]
    );
    // In-transit failures elsewhere (another region) still fail.
    assert_eq!(
        finding(&report, "in-transit-encryption-required", "catalog-redis")["status"],
        "fail"
    );
    // multi-az on a production deployment is not tagged env=staging: still failing.
    assert_eq!(finding(&report, "multi-az", "search-cluster")["status"], "fail");
}

#[test]
fn stale_entries_and_tag_suppressions_are_reported() {
    let s = Scratch::new();
    let inv = s.json(
        "fleet.json",
        &fleet_with("reporting-legacy", |d| {
            d["tags"]["ecaudit:suppress"] = json!("snapshot-retention,no-such-rule");
            d["tags"]["ecaudit:reason"] = json!("Rebuilt from source nightly");
        }),
    );
    let sup = s.file(
        "suppressions.yaml",
        "suppressions:\n  - rule: multi-az\n    resource: orders-cache\n    reason: orders-cache is multi-AZ already\n",
    );
    // snapshot-retention is high: tags must be on, and allowed that far.
    let config = s.file(
        "ecaudit.toml",
        "[suppress]\ntags = true\ntags_max_severity = \"high\"\n",
    );
    let run = scan_json(
        &s,
        &inv,
        &[
            "--suppressions",
            sup.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
    );
    run.expect(0)
        .stderr_has(":2: suppression of `multi-az` on `orders-cache` is stale")
        .stderr_has("names `no-such-rule`, which is no rule id");
    let report = run.json();
    let f = finding(&report, "snapshot-retention", "reporting-legacy");
    assert_eq!(f["status"], "suppressed");
    assert_eq!(f["waiver"]["reason"], "Rebuilt from source nightly");
    assert_eq!(
        f["waiver"]["source"],
        "tag ecaudit:suppress on arn:aws:elasticache:ap-southeast-2:222222222222:cluster:reporting-legacy"
    );
    let states: Vec<&str> = report["waivers"]["suppressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["stale", "active"]);

    // A tag without a reason suppresses nothing.
    let inv = s.json(
        "no-reason.json",
        &fleet_with("reporting-legacy", |d| {
            d["tags"]["ecaudit:suppress"] = json!("snapshot-retention")
        }),
    );
    let run = s.scan(
        &inv,
        &[
            "--format",
            "json",
            "--exit-zero",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    run.stderr_has("the ecaudit:reason tag that says why is missing");
    assert_eq!(
        finding(&run.json(), "snapshot-retention", "reporting-legacy")["status"],
        "fail"
    );
}

#[test]
fn invalid_suppressions_exit_2_with_file_and_line_before_any_aws_call() {
    let s = Scratch::new();
    let inv = s.json("fleet.json", &fleet());
    let cases = [
        (
            "no-reason.yaml",
            "suppressions:\n  - rule: multi-az\n    resource: x\n",
            2,
            "no `reason`",
        ),
        (
            "empty-reason.yaml",
            "suppressions:\n  - rule: multi-az\n    resource: x\n    reason: \"  \"\n",
            4,
            "`reason` is empty",
        ),
        (
            "bad-date.yaml",
            "suppressions:\n  - rule: multi-az\n    resource: x\n    reason: r\n    expires: 31/01/2027\n",
            5,
            "not a date",
        ),
        (
            "unknown-rule.yaml",
            "suppressions:\n  - rule: multi-az\n    resource: x\n    reason: r\n  - rule: multi-azz\n    resource: x\n    reason: r\n",
            5,
            "unknown rule id `multi-azz`",
        ),
        (
            "glob-matches-none.yaml",
            "suppressions:\n  - rule: \"tls-*\"\n    resource: x\n    reason: r\n",
            2,
            "matches no rule id",
        ),
        (
            "unknown-field.yaml",
            "suppressions:\n  - rule: multi-az\n    resource: x\n    reason: r\n    until: 2027-01-01\n",
            5,
            "unknown field",
        ),
        (
            "bad-glob.yaml",
            "suppressions:\n  - rule: multi-az\n    resource: \"[x\"\n    reason: r\n",
            3,
            "bad glob",
        ),
        ("not-yaml.yaml", "suppressions:\n  - rule: [\n", 2, ""),
    ];
    for (name, text, line, message) in cases {
        let path = s.file(name, text);
        let prefix = format!("{}:{line}:", path.display());
        s.scan(&inv, &["--suppressions", path.to_str().unwrap()])
            .expect(2)
            .stderr_has(&prefix)
            .stderr_has(message);
        // A live scan rejects it before collecting: no region, no credentials, yet the error
        // is the file's.
        s.run(["scan", "--suppressions", path.to_str().unwrap()])
            .expect(2)
            .stderr_has(&prefix);
    }
    let missing = s.path("missing.yaml");
    s.scan(&inv, &["--suppressions", missing.to_str().unwrap()])
        .expect(2)
        .stderr_has("missing.yaml: cannot read");
}

#[test]
fn baseline_round_trip_gates_only_new_failures() {
    let s = Scratch::new();
    let inv = s.json("fleet.json", &fleet());
    let baseline = s.path("baseline.json");
    let b = baseline.to_str().unwrap();

    // Without a baseline the fleet fails the gate; writing one accepts today's failures.
    s.scan(&inv, &[]).expect(1);
    s.scan(
        &inv,
        &["--update-baseline", b, "-o", s.path("r.json").to_str().unwrap()],
    )
    .expect(0)
    .stderr_has("wrote baseline");
    let text = std::fs::read_to_string(&baseline).unwrap();
    let written: Value = serde_json::from_str(&text).unwrap();
    let entries = written["findings"].as_array().unwrap();
    // One entry per failing finding of the demo fleet.
    assert_eq!(entries.len(), 53);
    let keys: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["rule_id"].as_str().unwrap().into(),
                e["resource_arn"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by rule id and ARN");
    assert_eq!(
        text.lines().count(),
        entries.len() + 6,
        "one entry per line:\n{text}"
    );

    // Gating against it passes; every failure is reported as baselined.
    let run = s.scan(&inv, &["--baseline", b, "--format", "json"]);
    run.expect(0);
    let report = run.json();
    assert!(with_status(&report, "fail").is_empty());
    assert_eq!(with_status(&report, "baselined").len(), 53);
    assert_eq!(report["summary"]["gate"]["failing"], 0);

    // A new high failure fails the gate, and only it (with the low one it brings: its KMS key
    // encrypts nothing now) is failing.
    let worse = s.json(
        "worse.json",
        &fleet_with("orders-cache", |d| d["at_rest_encryption"] = json!(false)),
    );
    let run = s.scan(&worse, &["--baseline", b, "--format", "json"]);
    run.expect(1);
    assert_eq!(
        with_status(&run.json(), "fail"),
        [
            ("at-rest-encryption".to_string(), "orders-cache".to_string()),
            ("at-rest-encryption-cmk".to_string(), "orders-cache".to_string())
        ]
    );
    // ... and as SARIF the new one is `new`, the rest `unchanged`.
    let sarif = s
        .scan(&worse, &["--baseline", b, "--format", "sarif", "--exit-zero"])
        .json();
    let states: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["baselineState"].as_str().unwrap())
        .collect();
    assert_eq!(states.iter().filter(|s| **s == "new").count(), 2);
    assert_eq!(states.iter().filter(|s| **s == "unchanged").count(), 53);

    // A fixed failure leaves a resolved entry to tidy.
    let better = s.json(
        "better.json",
        &fleet_with("events-stream", |d| d["auto_minor_version_upgrade"] = json!(true)),
    );
    let run = s.scan(&better, &["--baseline", b, "--format", "json"]);
    run.expect(0).stderr_has("1 baseline entry no longer fails");
    let report = run.json();
    assert_eq!(
        report["waivers"]["baseline"]["resolved"][0]["rule_id"],
        "auto-minor-version-upgrade"
    );
}

#[test]
fn a_bad_baseline_exits_2_with_its_line() {
    let s = Scratch::new();
    let inv = s.json("fleet.json", &fleet());
    let b = s.file("baseline.json", "{\n  \"schema_version\": 1,\n  \"findings\": [\n    {\"rule_id\": \"x\", \"resource_arn\": \"y\"}\n  ]\n}\n");
    s.scan(&inv, &["--baseline", b.to_str().unwrap()])
        .expect(2)
        .stderr_has(&format!("{}:4:", b.display()))
        .stderr_has("fingerprint");
}

#[test]
fn exit_codes_hold_with_waivers_in_play() {
    let s = Scratch::new();
    let inv = s.json("fleet.json", &fleet());
    let everything = s.file(
        "all.yaml",
        "suppressions:\n  - rule: \"*\"\n    resource: \"*\"\n    reason: accepted for the test\n",
    );
    let all = everything.to_str().unwrap();
    // Everything failing is suppressed: nothing gates.
    s.scan(&inv, &["--suppressions", all]).expect(0);
    // Suppressions do not hide a coverage gap.
    let mut gap = fleet();
    gap["coverage"].as_array_mut().unwrap().push(json!({
        "account_id": "111111111111", "region": "eu-west-1", "service": "elasticache",
        "api": "DescribeReplicationGroups", "status": "failed",
        "error": {"code": "AccessDenied", "message": "not authorized"}
    }));
    let gap = s.json("gap.json", &gap);
    s.scan(&gap, &["--suppressions", all]).expect(3);
    s.scan(&gap, &["--suppressions", all, "--allow-partial"])
        .expect(0);
    // A suppressed undecided finding no longer makes the scan incomplete.
    let undecidable = s.json(
        "undecidable.json",
        &inventory(vec![patched("replication-group", json!({"subnet_group": null}))]),
    );
    s.scan(&undecidable, &[]).expect(3);
    let sub = s.file("subnet.yaml", "suppressions:\n  - rule: not-default-subnet-group\n    resource: \"*\"\n    reason: subnet group unreadable in this account\n");
    s.scan(&undecidable, &["--suppressions", sub.to_str().unwrap()])
        .expect(0);
    // --fail-on and --severity stay separate: a display filter never changes the gate.
    s.scan(&inv, &["--fail-on", "critical"]).expect(1);
    s.scan(&inv, &["--fail-on", "critical", "--severity", "low"])
        .expect(1);
    let critical_only = s.file(
        "critical.yaml",
        "suppressions:\n  - rule: no-public-ingress\n    resource: \"*\"\n    reason: accepted\n",
    );
    s.scan(
        &inv,
        &[
            "--fail-on",
            "critical",
            "--suppressions",
            critical_only.to_str().unwrap(),
        ],
    )
    .expect(0);
    s.scan(
        &inv,
        &[
            "--fail-on",
            "high",
            "--suppressions",
            critical_only.to_str().unwrap(),
        ],
    )
    .expect(1);
    s.scan(&inv, &["--exit-zero"]).expect(0);
}

#[test]
fn several_outputs_in_one_run() {
    let s = Scratch::new();
    let inv = s.json("fleet.json", &fleet());
    let sarif = s.path("out/report.sarif");
    std::fs::create_dir_all(sarif.parent().unwrap()).unwrap();
    let run = s.scan(
        &inv,
        &[
            "--output-format",
            &format!("sarif={}", sarif.display()),
            "--output-format",
            "junit=report.xml",
            "--output-format",
            "markdown=comment.md",
            "--exit-zero",
        ],
    );
    run.expect(0).stdout_has("Findings by severity");
    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(
        std::fs::read_to_string(s.path("report.xml"))
            .unwrap()
            .starts_with("<?xml")
    );
    assert!(
        std::fs::read_to_string(s.path("comment.md"))
            .unwrap()
            .starts_with("## ")
    );

    s.scan(&inv, &["--output-format", "json=-"])
        .expect(2)
        .stderr_has("more than one output goes to standard output");
    s.scan(&inv, &["--output-format", "xml=out.xml"])
        .expect(2)
        .stderr_has("unknown format `xml`");
    s.scan(&inv, &["-o", "same.json", "--output-format", "csv=same.json"])
        .expect(2)
        .stderr_has("two outputs");
    // From the config file too.
    let config = s.file(
        "ecaudit.toml",
        "[scan]\noutputs = [\"jsonl=findings.jsonl\"]\nexit_zero = true\n",
    );
    s.scan(&inv, &["--config", config.to_str().unwrap(), "--format", "csv"])
        .expect(0)
        .stdout_has("rule_id,title");
    assert_eq!(
        std::fs::read_to_string(s.path("findings.jsonl"))
            .unwrap()
            .lines()
            .count(),
        310
    );
}

#[test]
fn config_names_suppressions_and_baseline_relative_to_itself() {
    let s = Scratch::new();
    let inv = s.json("fleet.json", &fleet());
    s.file("ci/suppressions.yaml", EVENTS_STREAM);
    let b = s.path("ci/baseline.json");
    update_baseline(&s, &inv, &b);
    let config = s.file(
        "ci/ecaudit.toml",
        "[scan]\nsuppressions = [\"suppressions.yaml\"]\nbaseline = \"baseline.json\"\n",
    );
    let run = s.scan(&inv, &["--config", config.to_str().unwrap(), "--format", "json"]);
    run.expect(0);
    let report = run.json();
    assert_eq!(
        finding(&report, "no-public-ingress", "events-stream")["status"],
        "suppressed"
    );
    assert!(!with_status(&report, "baselined").is_empty());
}

#[test]
fn completions_and_man_page_come_from_the_cli_definitions() {
    let s = Scratch::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = s.run(["completions", shell]);
        run.expect(0)
            .stdout_has("update-baseline")
            .stdout_has("output-format")
            .stdout_has("suppressions");
    }
    s.run(["completions", "tcsh"]).expect(2);
    let run = s.run(["manpage"]);
    run.expect(0)
        .stdout_has(".TH ecaudit 1")
        .stdout_has("completions");
    // Issue 26: a page per subcommand, by name or all into a directory; every page the top page
    // refers to exists.
    s.run(["manpage", "scan"])
        .expect(0)
        .stdout_has(".TH ecaudit-scan 1");
    s.run(["manpage", "rules", "list"])
        .expect(0)
        .stdout_has(".TH ecaudit-rules-list 1");
    s.run(["manpage", "ecaudit-plan"])
        .expect(0)
        .stdout_has(".TH ecaudit-plan 1");
    s.run(["manpage", "nope"])
        .expect(2)
        .stderr_has("has the subcommands scan, plan");
    s.run(["manpage", "--dir", "man"])
        .expect(0)
        .stderr_has("man page(s) to man");
    let top = run.stdout().replace("\\-", "-");
    let mut referred = 0;
    for (at, _) in top.match_indices("ecaudit-") {
        let name: String = top[at..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        if top[at + name.len()..].starts_with("(1)") {
            referred += 1;
            assert!(
                s.path(&format!("man/{name}.1")).is_file(),
                "{name}(1) is referred to, not written"
            );
        }
    }
    assert!(referred >= 10, "{referred} pages referred to");
    assert!(s.path("man/ecaudit.1").is_file() && s.path("man/ecaudit-rules-validate.1").is_file());
}

#[test]
fn an_entry_shadowed_by_an_earlier_one_is_not_stale() {
    let s = Scratch::new();
    let inv = s.json("fleet.json", &fleet());
    let sup = s.file(
        "suppressions.yaml",
        "suppressions:\n  - rule: \"*\"\n    resource: events-stream\n    reason: under review\n    expires: 2027-01-31\n  - rule: no-public-ingress\n    resource: events-stream\n    reason: public by design\n",
    );
    let run = scan_json(&s, &inv, &["--suppressions", sup.to_str().unwrap()]);
    let report = run.json();
    let states: Vec<(&str, u64)> = report["waivers"]["suppressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["state"].as_str().unwrap(), e["matched"].as_u64().unwrap()))
        .collect();
    assert_eq!(states[1], ("active", 1), "{states:?}");
    assert!(!run.stderr().contains("stale"), "{}", run.stderr());
    // The first entry wins.
    let f = finding(&report, "no-public-ingress", "events-stream");
    assert_eq!(f["waiver"]["reason"], "under review");
}

#[test]
fn tags_name_rule_ids_not_globs() {
    let s = Scratch::new();
    let inv = s.json(
        "fleet.json",
        &fleet_with("reporting-legacy", |d| {
            d["tags"]["ecaudit:suppress"] = json!("*");
            d["tags"]["ecaudit:reason"] = json!("silence everything");
        }),
    );
    let config = s.file("ecaudit.toml", "[suppress]\ntags = true\n");
    let run = s.scan(
        &inv,
        &[
            "--format",
            "json",
            "--exit-zero",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    run.stderr_has("globs are not accepted in tags");
    assert!(with_status(&run.json(), "suppressed").is_empty());
}

#[test]
fn a_partial_scan_neither_resolves_nor_drops_baseline_entries_it_could_not_check() {
    let s = Scratch::new();
    let inv = s.json("fleet.json", &fleet());
    let b = s.path("baseline.json");
    update_baseline(&s, &inv, &b);
    let before: Value = serde_json::from_str(&std::fs::read_to_string(&b).unwrap()).unwrap();
    // reporting-legacy fails 11 rules there, cart-serverless-stg 4, feature-flags-stg 1.
    let in_sydney = before["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource_arn"].as_str().unwrap().contains(":ap-southeast-2:"))
        .count();
    assert_eq!(in_sydney, 16);

    // The same estate, but ap-southeast-2 could not be read this time.
    let mut partial = fleet();
    partial["deployments"]
        .as_array_mut()
        .unwrap()
        .retain(|d| d["region"] != "ap-southeast-2");
    for c in partial["coverage"].as_array_mut().unwrap() {
        if c["region"] == "ap-southeast-2" {
            c["status"] = json!("failed");
            c["error"] = json!({"code": "AccessDenied", "message": "not authorized"});
        }
    }
    let partial = s.json("partial.json", &partial);
    let b2 = s.path("baseline2.json");
    let run = s.scan(
        &partial,
        &[
            "--baseline",
            b.to_str().unwrap(),
            "--update-baseline",
            b2.to_str().unwrap(),
            "--format",
            "json",
            "--allow-partial",
        ],
    );
    run.expect(0);
    let report = run.json();
    assert_eq!(
        report["waivers"]["baseline"]["resolved"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        report["waivers"]["baseline"]["unverified"]
            .as_array()
            .unwrap()
            .len(),
        in_sydney
    );
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&b2).unwrap()).unwrap();
    assert_eq!(
        after["findings"], before["findings"],
        "the unreadable region's entries are kept"
    );

    // Once the region is read again and the deployments are gone, the entries are resolved.
    let mut gone = fleet();
    gone["deployments"]
        .as_array_mut()
        .unwrap()
        .retain(|d| d["region"] != "ap-southeast-2");
    let gone = s.json("gone.json", &gone);
    let report = s
        .scan(&gone, &["--baseline", b.to_str().unwrap(), "--format", "json"])
        .json();
    assert_eq!(
        report["waivers"]["baseline"]["resolved"]
            .as_array()
            .unwrap()
            .len(),
        in_sydney
    );
}

#[test]
fn the_baseline_file_is_never_an_output_too() {
    let s = Scratch::new();
    let inv = s.json("fleet.json", &fleet());
    s.scan(&inv, &["--update-baseline", "b.json", "-o", "b.json"])
        .expect(2)
        .stderr_has("two outputs");
    s.scan(&inv, &["--update-baseline", "-"])
        .expect(2)
        .stderr_has("needs a file");
    assert!(!s.path("b.json").exists());
}

/// Issue 25: the audited could silence the auditor. Tags are off unless `ecaudit.toml` turns
/// them on; each one ignored is a warning that says why.
mod tag_suppressions {
    use super::*;

    const ARN: &str = "arn:aws:elasticache:ap-southeast-2:222222222222:cluster:reporting-legacy";

    /// reporting-legacy tagged to suppress a medium rule (multi-az), a high one
    /// (snapshot-retention) and a critical one (no-public-ingress, which it does not fail).
    fn tagged(s: &Scratch) -> std::path::PathBuf {
        s.json(
            "fleet.json",
            &fleet_with("reporting-legacy", |d| {
                d["tags"]["ecaudit:suppress"] = json!("multi-az, snapshot-retention");
                d["tags"]["ecaudit:reason"] = json!("Decommissioned in Q1");
            }),
        )
    }

    fn with_config(s: &Scratch, toml: &str) -> common::cli::Run {
        let inv = tagged(s);
        let config = s.file("ecaudit.toml", toml);
        scan_json(s, &inv, &["--config", config.to_str().unwrap()])
    }

    fn warnings(report: &Value) -> Vec<String> {
        report["waivers"]["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn are_ignored_by_default_with_a_warning() {
        let s = Scratch::new();
        let inv = tagged(&s);
        let run = scan_json(&s, &inv, &[]);
        let expected = format!(
            "{ARN}: tag ecaudit:suppress=multi-az, snapshot-retention ignored: tag suppressions \
             are off (`[suppress] tags = true` in ecaudit.toml turns them on)"
        );
        run.expect(0).stderr_has(&format!("ecaudit: warning: {expected}"));
        let report = run.json();
        assert_eq!(finding(&report, "multi-az", "reporting-legacy")["status"], "fail");
        assert_eq!(
            finding(&report, "snapshot-retention", "reporting-legacy")["status"],
            "fail"
        );
        assert_eq!(report["waivers"]["suppressions"], json!([]));
        assert_eq!(warnings(&report), std::slice::from_ref(&expected));
        // The table and Markdown say so too.
        let run = s.scan(&inv, &["--exit-zero", "--format", "markdown"]);
        run.stdout_has("tag suppressions are off");
        // `tags = false` is the same as no setting.
        let run = with_config(&s, "[suppress]\ntags = false\n");
        assert_eq!(warnings(&run.json()), [expected]);
    }

    #[test]
    fn when_enabled_suppress_up_to_the_maximum_severity_only() {
        let s = Scratch::new();
        // Enabled, the default maximum (medium): multi-az is suppressed, snapshot-retention
        // (high) is not.
        let run = with_config(&s, "[suppress]\ntags = true\n");
        run.expect(0).stderr_has(
            "names `snapshot-retention`, a high rule: tags suppress up to `[suppress] \
             tags_max_severity` (medium); ignored",
        );
        let report = run.json();
        let f = finding(&report, "multi-az", "reporting-legacy");
        assert_eq!(f["status"], "suppressed");
        assert_eq!(f["waiver"]["source"], format!("tag ecaudit:suppress on {ARN}"));
        assert_eq!(
            finding(&report, "snapshot-retention", "reporting-legacy")["status"],
            "fail"
        );
        // Every honoured tag suppression is listed with its source.
        let listed = &report["waivers"]["suppressions"];
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(listed[0]["source"], format!("tag ecaudit:suppress on {ARN}"));
        assert_eq!(
            (&listed[0]["rule"], &listed[0]["state"], &listed[0]["matched"]),
            (&json!("multi-az"), &json!("active"), &json!(1))
        );
        assert_eq!(warnings(&report).len(), 1);

        // Up to high: both suppressed.
        let run = with_config(&s, "[suppress]\ntags = true\ntags_max_severity = \"high\"\n");
        let report = run.json();
        assert_eq!(
            finding(&report, "snapshot-retention", "reporting-legacy")["status"],
            "suppressed"
        );
        assert_eq!(warnings(&report), Vec::<String>::new());
    }

    #[test]
    fn a_critical_finding_is_not_suppressed_by_a_tag_under_a_lower_maximum() {
        let s = Scratch::new();
        // events-stream is open to the internet: no-public-ingress (critical) fails.
        let inv = s.json(
            "fleet.json",
            &fleet_with("events-stream", |d| {
                d["tags"]["ecaudit:suppress"] = json!("no-public-ingress");
                d["tags"]["ecaudit:reason"] = json!("trust us");
            }),
        );
        let config = s.file(
            "ecaudit.toml",
            "[suppress]\ntags = true\ntags_max_severity = \"high\"\n",
        );
        let run = s.scan(&inv, &["--config", config.to_str().unwrap()]);
        // Still failing: the gate fails (exit 1), and the table says why the tag was ignored.
        run.expect(1)
            .stderr_has("names `no-public-ingress`, a critical rule: tags suppress up to `[suppress] tags_max_severity` (high); ignored")
            .stdout_has("names `no-public-ingress`, a critical rule");
        let run = scan_json(&s, &inv, &["--config", config.to_str().unwrap()]);
        assert_eq!(
            finding(&run.json(), "no-public-ingress", "events-stream")["status"],
            "fail"
        );
    }

    #[test]
    fn only_the_rules_tags_rules_lists_when_it_is_given() {
        let s = Scratch::new();
        let run = with_config(
            &s,
            "[suppress]\ntags = true\ntags_max_severity = \"high\"\ntags_rules = [\"snapshot-retention\"]\n",
        );
        run.expect(0).stderr_has(
            "names `multi-az`, which `[suppress] tags_rules` in ecaudit.toml does not list; ignored",
        );
        let report = run.json();
        assert_eq!(finding(&report, "multi-az", "reporting-legacy")["status"], "fail");
        assert_eq!(
            finding(&report, "snapshot-retention", "reporting-legacy")["status"],
            "suppressed"
        );
    }

    #[test]
    fn bad_settings_exit_2_with_file_and_line() {
        let s = Scratch::new();
        let inv = tagged(&s);
        for (toml, expected) in [
            (
                "[suppress]\ntags = true\ntags_rules = [\"multi-az\", \"no-such-rule\"]\n",
                "ecaudit.toml:3:27: suppress.tags_rules: unknown rule id `no-such-rule`",
            ),
            (
                "[suppress]\ntags_max_severity = \"severe\"\n",
                "ecaudit.toml:2:21: suppress.tags_max_severity: unknown severity `severe`",
            ),
            ("[suppress]\ntags = \"yes\"\n", "ecaudit.toml:2:8:"),
            (
                "[suppress]\ntag = true\n",
                "ecaudit.toml:2:1: unknown field `tag`",
            ),
        ] {
            let config = s.file("ecaudit.toml", toml);
            s.scan(&inv, &["--config", config.to_str().unwrap()])
                .expect(2)
                .stderr_has(expected);
        }
    }
}

/// Issue 25: a ~150 KB glob panicked inside the glob library (exit 101), a 240 KB pattern was
/// accepted and echoed whole. Patterns hold at most 1 KiB; every error says where, briefly.
mod bounded_patterns {
    use super::*;

    fn scan_with(s: &Scratch, yaml: &str) -> common::cli::Run {
        let inv = s.json("fleet.json", &fleet());
        let sup = s.file("suppressions.yaml", yaml);
        s.scan(&inv, &["--suppressions", sup.to_str().unwrap()])
    }

    #[test]
    fn a_150_kb_glob_is_exit_2_with_file_and_line_not_a_panic() {
        let s = Scratch::new();
        let glob = "{a,b}*".repeat(25_000);
        let run = scan_with(
            &s,
            &format!("suppressions:\n  - rule: multi-az\n    resource: \"{glob}\"\n    reason: r\n"),
        );
        run.expect(2)
            .stderr_has("suppressions.yaml:3:15: resource: `{a,b}*{a,b}*")
            .stderr_has("… (150000 bytes)` is 150000 bytes long; a pattern holds at most 1024");
        assert!(!run.stderr().contains("panicked"), "{}", run.stderr());
        assert!(run.stderr().len() < 600, "{}", run.stderr());
    }

    #[test]
    fn a_240_kb_pattern_is_rejected_and_its_message_is_short() {
        let s = Scratch::new();
        for (key, at) in [("rule", "2:11"), ("resource", "3:15"), ("account", "4:14")] {
            let mut entry = [
                ("rule", "multi-az".to_string()),
                ("resource", "orders-cache".to_string()),
                ("account", "111111111111".to_string()),
            ];
            entry.iter_mut().find(|(k, _)| *k == key).unwrap().1 = "x".repeat(240_000);
            let yaml = format!(
                "suppressions:\n  - rule: {}\n    resource: {}\n    account: {}\n    reason: r\n",
                entry[0].1, entry[1].1, entry[2].1
            );
            let run = scan_with(&s, &yaml);
            run.expect(2).stderr_has(&format!(
                "suppressions.yaml:{at}: {key}: `{}… (240000 bytes)` is 240000 bytes long",
                "x".repeat(200)
            ));
            assert!(run.stderr().len() < 600, "{key}: {} bytes", run.stderr().len());
        }
    }

    #[test]
    fn a_glob_that_does_not_compile_is_a_diagnostic() {
        let s = Scratch::new();
        let run = scan_with(
            &s,
            "suppressions:\n  - rule: multi-az\n    resource: \"orders-[cache\"\n    reason: r\n",
        );
        run.expect(2).stderr_has(
            "suppressions.yaml:3:15: resource: bad glob `orders-[cache`: unclosed character class",
        );
    }

    #[test]
    fn long_values_of_the_config_are_refused_briefly() {
        let s = Scratch::new();
        let inv = s.json("fleet.json", &fleet());
        let long = "y".repeat(240_000);
        for (toml, expected) in [
            (
                format!("[suppress]\ntags_rules = [\"{long}\"]\n"),
                "ecaudit.toml:2:15: suppress.tags_rules: `yyyy",
            ),
            (
                format!("[rules.{long}]\nseverity = \"low\"\n"),
                "ecaudit.toml:1:8: rules: `yyyy",
            ),
            (
                format!("[scan]\noutputs = [\"json={long}\"]\n"),
                "ecaudit.toml:2:12: scan.outputs: `json=yyyy",
            ),
            (
                format!("[scan]\n{long} = 1\n"),
                "ecaudit.toml:2:1: unknown field `yyyy",
            ),
        ] {
            let config = s.file("ecaudit.toml", &toml);
            let run = s.scan(&inv, &["--config", config.to_str().unwrap()]);
            run.expect(2).stderr_has(expected);
            assert!(
                run.stderr().len() < 800,
                "{expected}: {} bytes",
                run.stderr().len()
            );
        }
    }
}
