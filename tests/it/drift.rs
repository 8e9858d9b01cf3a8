//! Drift between two inventories: what changed in each deployment, with the noise left out.
use crate::common;

use common::*;
use ecaudit::drift;
use ecaudit::inventory::Deployment;
use ecaudit::result::Change;
use serde_json::{Value, json};

fn deployment(v: &Value) -> Deployment {
    parse(&inventory(vec![v.clone()])).deployments.remove(0)
}

fn drift_of(old: &Value, new: &Value) -> ecaudit::result::DeploymentDrift {
    drift::deployment(&deployment(old), &deployment(new))
}

fn paths(changes: &[Change]) -> Vec<&str> {
    changes.iter().map(|c| c.path.as_str()).collect()
}

#[test]
fn identical_deployments_do_not_drift() {
    let d = fixture("replication-group");
    assert!(drift_of(&d, &d).is_empty());
}

#[test]
fn attribute_changes_carry_path_and_values() {
    let old = fixture("replication-group");
    let new = patched(
        "replication-group",
        json!({"snapshot_retention_days": 1, "automatic_failover": "disabled", "tags": {"team": "payments"}}),
    );
    let d = drift_of(&old, &new);
    assert_eq!(
        paths(&d.changes),
        ["automatic_failover", "snapshot_retention_days", "tags.team"],
        "{d:#?}"
    );
    let retention = &d.changes[1];
    assert_eq!(
        (retention.old.clone(), retention.new.clone()),
        (json!(7), json!(1))
    );
    assert!(d.ingress_added.is_empty() && d.alarms_removed.is_empty());
}

#[test]
fn noise_is_not_drift() {
    let old = fixture("replication-group");
    let mut new = patched(
        "replication-group",
        json!({"status": "modifying", "latest_automatic_snapshot": "2026-11-26T03:10:00Z",
               "utilisation_window": {"length": "7d", "start": "2026-11-19T06:00:00Z",
                                      "end": "2026-11-26T06:00:00Z", "period_seconds": 3600}}),
    );
    // Utilisation is a measurement: tonight's figures differ from last night's.
    new["node_groups"][0]["members"][0]["utilisation"]["cpu"]["p95"] = json!(77.5);
    // Alarm states flip on their own; lists AWS does not order come back in another order.
    new["node_groups"][0]["members"][0]["alarms"][0]["state"] = json!("ALARM");
    new["node_groups"][0]["members"].as_array_mut().unwrap().reverse();
    new["node_groups"][0]["members"][0]["alarms"]
        .as_array_mut()
        .unwrap()
        .reverse();
    let d = drift_of(&old, &new);
    assert!(d.is_empty(), "{d:#?}");
    // A status that settles somewhere else is drift.
    let failed = patched("replication-group", json!({"status": "create-failed"}));
    assert_eq!(paths(&drift_of(&old, &failed).changes), ["status"]);
}

#[test]
fn ingress_permissions_added_and_removed_per_source() {
    let old = fixture("replication-group");
    let mut new = old.clone();
    let sg = &mut new["security_groups"][0];
    // One source added to the existing permission, and a new permission.
    sg["ingress"][0]["ipv4_ranges"]
        .as_array_mut()
        .unwrap()
        .push(json!({"cidr": "0.0.0.0/0"}));
    sg["ingress"].as_array_mut().unwrap().push(
        json!({"protocol": "tcp", "from_port": 22, "to_port": 22, "ipv4_ranges": [{"cidr": "10.10.1.0/24"}]}),
    );
    let d = drift_of(&old, &new);
    assert_eq!(
        d.ingress_added,
        [
            "sg-0a1b2c3d4e5f60711: tcp/22 from 10.10.1.0/24",
            "sg-0a1b2c3d4e5f60711: tcp/6379 from 0.0.0.0/0",
        ]
    );
    assert!(d.ingress_removed.is_empty() && d.changes.is_empty(), "{d:#?}");
    // And back: the same lines, removed.
    let back = drift_of(&new, &old);
    assert_eq!(back.ingress_removed, d.ingress_added);
}

#[test]
fn alarms_added_removed_and_disabled() {
    let old = fixture("replication-group");
    let mut new = old.clone();
    let alarms = new["node_groups"][0]["members"][0]["alarms"]
        .as_array_mut()
        .unwrap();
    let removed = alarms.remove(0);
    alarms[0]["actions_enabled"] = json!(false);
    let mut added = removed.clone();
    added["name"] = json!("orders-cache-001-evictions");
    added["threshold"] = json!(1000.0);
    alarms.push(added);
    let d = drift_of(&old, &new);
    assert_eq!(d.alarms_removed, ["orders-cache-001: orders-cache-001-cpu-high"]);
    assert_eq!(d.alarms_added, ["orders-cache-001: orders-cache-001-evictions"]);
    assert_eq!(
        d.alarms_disabled,
        ["orders-cache-001: orders-cache-001-engine-cpu-high"]
    );
    assert!(d.changes.is_empty(), "{d:#?}");
    // A threshold change is an attribute change at the alarm's path.
    let mut tuned = old.clone();
    tuned["node_groups"][0]["members"][1]["alarms"][2]["threshold"] = json!(95.0);
    let d = drift_of(&old, &tuned);
    assert_eq!(
        paths(&d.changes),
        ["node_groups[0001].members[orders-cache-002].alarms[orders-cache-002-memory-high].threshold"]
    );
}

#[test]
fn deployments_added_removed_and_changed_by_arn() {
    let a = fixture("replication-group");
    let b = fixture("serverless");
    let c = fixture("memcached");
    let changed = patched("memcached", json!({"auto_minor_version_upgrade": false}));
    let old = parse(&inventory(vec![a.clone(), c]));
    let new = parse(&inventory(vec![changed, b.clone()]));
    let drift = drift::diff(&old, &new);
    assert_eq!(
        drift.added.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [b["id"].as_str().unwrap()]
    );
    assert_eq!(
        drift.removed.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [a["id"].as_str().unwrap()]
    );
    assert_eq!(drift.changed.len(), 1);
    assert_eq!(
        paths(&drift.changed[0].drift.changes),
        ["auto_minor_version_upgrade"]
    );
}

#[test]
fn a_deployment_being_deleted_is_removed_once() {
    let a = fixture("replication-group");
    let deleting = patched("replication-group", json!({"status": "deleting"}));
    let before = parse(&inventory(vec![a.clone()]));
    let during = parse(&inventory(vec![deleting]));
    let after = parse(&inventory(vec![]));
    let d = drift::diff(&before, &during);
    assert_eq!(d.removed.len(), 1);
    assert!(d.changed.is_empty());
    assert!(
        drift::diff(&during, &after).is_empty(),
        "not removed a second time"
    );
}

mod cli {
    use super::*;
    use common::cli::Scratch;

    /// The fleet with `edit` applied to deployment `id`.
    fn edited(id: &str, edit: impl FnOnce(&mut Value)) -> Value {
        let mut doc = demo_fleet();
        edit(
            doc["deployments"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|d| d["id"] == id)
                .unwrap(),
        );
        doc
    }

    fn ids(list: &Value, key: &str) -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|x| x[key].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn inventories_exit_1_with_exactly_what_changed() {
        let s = Scratch::new();
        let old = s.json("old.json", &demo_fleet());
        let mut new = edited("orders-cache", |d| {
            d["snapshot_retention_days"] = json!(1);
            d["status"] = json!("modifying");
        });
        new["deployments"]
            .as_array_mut()
            .unwrap()
            .retain(|d| d["id"] != "reporting-legacy");
        let new = s.json("new.json", &new);
        let run = s.run([
            "diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "--format",
            "json",
        ]);
        run.expect(1);
        let report = run.json();
        assert_eq!(report["drifted"], true);
        assert_eq!(ids(&report["deployments"]["removed"], "id"), ["reporting-legacy"]);
        assert!(report["deployments"]["added"].as_array().unwrap().is_empty());
        let changed = &report["deployments"]["changed"];
        assert_eq!(ids(changed, "id"), ["orders-cache"]);
        assert_eq!(
            changed[0]["changes"],
            json!([{"path": "snapshot_retention_days", "old": 7, "new": 1}])
        );
        assert_eq!(
            report["findings"]["newly_failing"],
            json!([{
                "rule_id": "snapshot-retention", "severity": "high", "resource_id": "orders-cache",
                "resource_arn": "arn:aws:elasticache:us-east-1:111111111111:replicationgroup:orders-cache",
                "old_status": "pass", "new_status": "fail"
            }])
        );
        let resolved = ids(&report["findings"]["resolved"], "resource_id");
        assert!(!resolved.is_empty() && resolved.iter().all(|r| r == "reporting-legacy"));
        assert!(!report["findings"]["still_failing"].as_array().unwrap().is_empty());

        // The same inventory twice: no drift, exit 0.
        s.run(["diff", old.to_str().unwrap(), old.to_str().unwrap()])
            .expect(0)
            .stdout_has("No deployment drifted.");
    }

    #[test]
    fn scan_results_give_deployments_and_finding_transitions() {
        let s = Scratch::new();
        let old_inv = s.json("old-inv.json", &demo_fleet());
        let new_inv = s.json(
            "new-inv.json",
            &edited("events-stream", |d| d["auto_minor_version_upgrade"] = json!(true)),
        );
        let sup = s.file(
            "sup.yaml",
            "suppressions:\n  - rule: multi-az\n    resource: search-cluster\n    reason: single-AZ by design\n",
        );
        let old = s.path("old.json");
        let new = s.path("new.json");
        s.scan(
            &old_inv,
            &["--format", "json", "-o", old.to_str().unwrap(), "--exit-zero"],
        )
        .expect(0);
        s.scan(
            &new_inv,
            &[
                "--format",
                "json",
                "-o",
                new.to_str().unwrap(),
                "--exit-zero",
                "--suppressions",
                sup.to_str().unwrap(),
            ],
        )
        .expect(0);
        let run = s.run([
            "diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "--format",
            "json",
        ]);
        run.expect(1);
        let report = run.json();
        assert_eq!(report["old"]["document"], "scan");
        let f = &report["findings"];
        assert!(f["newly_failing"].as_array().unwrap().is_empty());
        assert_eq!(ids(&f["resolved"], "rule_id"), ["auto-minor-version-upgrade"]);
        assert_eq!(ids(&f["newly_suppressed"], "resource_id"), ["search-cluster"]);
        assert!(report["deployments"]["changed"].as_array().unwrap().is_empty());

        let md = s.run([
            "diff",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "--format",
            "markdown",
        ]);
        md.expect(1)
            .stdout_has("### Resolved")
            .stdout_has("### Newly suppressed");
    }

    #[test]
    fn bad_inputs_exit_2() {
        let s = Scratch::new();
        let inv = s.json("inv.json", &demo_fleet());
        let scan = s.path("scan.json");
        s.scan(
            &inv,
            &["--format", "json", "-o", scan.to_str().unwrap(), "--exit-zero"],
        )
        .expect(0);
        s.run(["diff", inv.to_str().unwrap(), scan.to_str().unwrap()])
            .expect(2)
            .stderr_has("compare two inventories or two scan results")
            // Issue 26: said as a sentence.
            .stderr_has(&format!(
                "{} is an inventory and {} is a scan result",
                inv.display(),
                scan.display()
            ));
        let garbage = s.file("garbage.json", "{\n  \"deployments\": [,]\n}\n");
        s.run(["diff", garbage.to_str().unwrap(), inv.to_str().unwrap()])
            .expect(2)
            .stderr_has(&format!("{}:2:", garbage.display()));
        let other = s.file("other.json", "{\"hello\": 1}");
        s.run(["diff", other.to_str().unwrap(), inv.to_str().unwrap()])
            .expect(2)
            .stderr_has("neither an inventory");
        s.run([
            "diff",
            s.path("missing.json").to_str().unwrap(),
            inv.to_str().unwrap(),
        ])
        .expect(2)
        .stderr_has("missing.json");
    }
}

/// The golden drift report: the demo fleet against a night in which orders-cache lost its
/// retention, gained a public range and lost an alarm, and reporting-legacy was deleted.
/// The previous night's result is read into finding states through the result document model:
/// each finding of the file (here written with `--severity medium`) becomes its state, in order,
/// and a bad finding is named with its file and line.
#[test]
fn a_previous_result_is_read_into_finding_states() {
    let s = common::cli::Scratch::new();
    let inv = s.json("inventory.json", &small_fleet());
    let out = s.path("scan.json");
    s.scan(
        &inv,
        &[
            "--severity",
            "medium",
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
            "--exit-zero",
        ],
    )
    .expect(0);
    let doc = read_json(&out);
    let written = doc["findings"].as_array().unwrap();
    // The small fleet's 76 findings, 16 of them below medium.
    assert_eq!(doc["summary"]["findings"]["total"], 76);
    assert_eq!(written.len(), 60);
    let states = drift::read_finding_states(&out).unwrap().states;
    assert_eq!(states.len(), written.len());
    for (state, f) in states.iter().zip(written) {
        assert_eq!(&*state.rule_id, f["rule_id"].as_str().unwrap());
        assert_eq!(&*state.resource_arn, f["resource_arn"].as_str().unwrap());
        assert_eq!(&*state.resource_id, f["resource_id"].as_str().unwrap());
        assert_eq!(json!(state.status), f["status"]);
        assert_eq!(json!(state.severity), f["severity"]);
        assert!(state.severity >= ecaudit::rules::Severity::Medium);
    }

    let mut bad = doc.clone();
    bad["findings"][1]["rule_id"] = json!(1);
    let text = serde_json::to_string_pretty(&bad).unwrap();
    let line = 1 + text.lines().position(|l| l.trim() == "\"rule_id\": 1,").unwrap();
    std::fs::write(&out, text).unwrap();
    let e = drift::read_finding_states(&out).err().unwrap().to_string();
    assert!(e.starts_with(&format!("{}:{line}:", out.display())), "{e}");
    assert!(e.contains("findings[1].rule_id"), "{e}");
}

/// Monday: `common::small_fleet`; Tuesday: `orders-cache` keeps a day of snapshots, admits the
/// internet and lost an alarm, `reporting-legacy` is gone.
fn golden_report() -> ecaudit::result::DriftReport {
    let fleet: Value = small_fleet();
    let mut next = fleet.clone();
    for d in next["deployments"].as_array_mut().unwrap() {
        if d["id"] == "orders-cache" {
            d["snapshot_retention_days"] = json!(1);
            d["security_groups"][0]["ingress"][0]["ipv4_ranges"]
                .as_array_mut()
                .unwrap()
                .push(json!({"cidr": "0.0.0.0/0"}));
            d["node_groups"][0]["members"][0]["alarms"]
                .as_array_mut()
                .unwrap()
                .remove(0);
        }
    }
    next["deployments"]
        .as_array_mut()
        .unwrap()
        .retain(|d| d["id"] != "reporting-legacy");
    let (old, new) = (parse(&fleet), parse(&next));
    let states = |inv: &ecaudit::inventory::Inventory| {
        let result = ecaudit::evaluate::evaluate(
            inv,
            ecaudit::rules::RuleSet::load(&[]).unwrap(),
            inv.collected_at.unwrap(),
        );
        drift::finding_states(&result)
    };
    let side = |file: &str, inv: &ecaudit::inventory::Inventory| ecaudit::result::Side {
        file: file.into(),
        document: "inventory".into(),
        collected_at: inv.collected_at,
        deployments: inv.deployments.len(),
    };
    ecaudit::result::DriftReport::new(
        side("monday.json", &old),
        side("tuesday.json", &new),
        drift::diff(&old, &new),
        drift::transitions(
            &states(&old),
            &states(&new),
            [
                &drift::Reach::new(&old.coverage, None::<Vec<&str>>),
                &drift::Reach::new(&new.coverage, None::<Vec<&str>>),
            ],
        ),
    )
}

#[test]
fn golden_drift_table() {
    let mut out = Vec::new();
    ecaudit::report::drift::table(&golden_report(), false, Some(120), &mut out).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn golden_drift_markdown() {
    let mut out = Vec::new();
    ecaudit::report::drift::markdown(&golden_report(), &mut out).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

mod nightly {
    use super::*;
    use common::cli::Scratch;

    fn runs(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn each_run_is_recorded_compared_with_the_last_and_pruned() {
        let s = Scratch::new();
        let history = s.path("history");
        let h = history.to_str().unwrap();
        let monday = s.json("monday.json", &demo_fleet());
        let mut changed = demo_fleet();
        for d in changed["deployments"].as_array_mut().unwrap() {
            if d["id"] == "orders-cache" {
                d["snapshot_retention_days"] = json!(1);
            }
        }
        let tuesday = s.json("tuesday.json", &changed);

        // The first run has nothing to compare with.
        let first = s.scan(&monday, &["--history", h, "--format", "json", "--exit-zero"]);
        first.expect(0).stderr_has("recorded run");
        assert!(first.json()["drift"].is_null());
        let files = runs(&history);
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(files[0].ends_with(".inventory.json") && files[1].ends_with(".scan.json"));

        // The second run reports what changed since, in every output that has a place for it.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let sarif = s.path("run.sarif");
        let second = s.scan(
            &tuesday,
            &[
                "--history",
                h,
                "--format",
                "json",
                "--exit-zero",
                "--output-format",
                &format!("sarif={}", sarif.display()),
                "--output-format",
                "markdown=run.md",
                "--output-format",
                "jsonl=run.jsonl",
                "--output-format",
                "csv=run.csv",
                "--output-format",
                "junit=run.xml",
                "--output-format",
                "ocsf=run.ocsf",
            ],
        );
        second.expect(0);
        let drift = &second.json()["drift"];
        assert_eq!(drift["drifted"], true);
        assert_eq!(
            drift["deployments"]["changed"][0]["changes"][0]["path"],
            "snapshot_retention_days"
        );
        assert_eq!(
            drift["findings"]["newly_failing"][0]["rule_id"],
            "snapshot-retention"
        );
        assert!(drift["old"]["file"].as_str().unwrap().contains(&files[0]));
        let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
        assert_eq!(sarif["runs"][0]["properties"]["drift"]["newlyFailing"], 1);
        let md = std::fs::read_to_string(s.path("run.md")).unwrap();
        assert!(md.contains("### Drift since the previous run"), "{md}");
        // Each finding says how it moved: in the JSON document, JSON Lines, CSV and OCSF
        // (activity Create for a new failure, Update for one still failing).
        let orders_retention =
            |v: &Value| v["rule_id"] == "snapshot-retention" && v["resource_id"] == "orders-cache";
        let findings = second.json()["findings"].clone();
        let f = findings
            .as_array()
            .unwrap()
            .iter()
            .find(|f| orders_retention(f))
            .unwrap()
            .clone();
        assert_eq!(f["drift"], "newly_failing");
        let lines: Vec<Value> = std::fs::read_to_string(s.path("run.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines.iter().find(|l| orders_retention(l)).unwrap()["drift"],
            "newly_failing"
        );
        // Every one of Monday's 53 failures still fails.
        let still = lines.iter().filter(|l| l["drift"] == "still_failing").count();
        assert_eq!(still, 53);
        let csv = std::fs::read_to_string(s.path("run.csv")).unwrap();
        assert!(csv.lines().next().unwrap().contains(",drift,"));
        assert_eq!(csv.matches(",newly_failing,").count(), 1);
        let events: Vec<Value> = std::fs::read_to_string(s.path("run.ocsf"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let event = events
            .iter()
            .find(|e| {
                e["compliance"]["control"] == "snapshot-retention"
                    && e["resources"][0]["name"] == "orders-cache"
            })
            .unwrap();
        assert_eq!(
            (event["activity_id"].clone(), event["type_uid"].clone()),
            (json!(1), json!(200301))
        );
        assert_eq!(
            events
                .iter()
                .filter(|e| e["activity_id"] == 2 && e["type_uid"] == 200302)
                .count(),
            53
        );
        let junit = std::fs::read_to_string(s.path("run.xml")).unwrap();
        assert!(junit.contains("<testsuite name=\"drift since "), "{junit}");
        assert!(junit.contains("orders-cache: snapshot_retention_days"), "{junit}");
        let table = s.scan(&tuesday, &["--history", h, "--exit-zero"]);
        table
            .expect(0)
            .stdout_has("Drift since the previous run")
            .stdout_has("No deployment drifted.");

        // --keep N keeps the newest N runs.
        assert_eq!(runs(&history).len(), 6);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        s.scan(&tuesday, &["--history", h, "--keep", "2", "--exit-zero"])
            .expect(0)
            .stderr_has("removed 2 older run(s)");
        assert_eq!(runs(&history).len(), 4);
    }

    #[test]
    fn an_unreadable_previous_run_does_not_cost_tonights_scan() {
        let s = Scratch::new();
        let history = s.path("history");
        std::fs::create_dir_all(&history).unwrap();
        std::fs::write(
            history.join("ecaudit-20260101T000000Z.inventory.json"),
            "{ not json",
        )
        .unwrap();
        std::fs::write(history.join("ecaudit-20260101T000000Z.scan.json"), "{}").unwrap();
        let inv = s.json("inv.json", &demo_fleet());
        let run = s.scan(
            &inv,
            &[
                "--history",
                history.to_str().unwrap(),
                "--format",
                "json",
                "--exit-zero",
            ],
        );
        run.expect(0).stderr_has(
            "ecaudit-20260101T000000Z.scan.json is not taken for a run: not a scan result \
             ecaudit (schema_version 1) wrote; ignored, and never deleted",
        );
        assert!(run.json()["drift"].is_null());
        assert_eq!(runs(&history).len(), 4, "tonight's run is recorded beside it");
        // `--keep 1` keeps tonight's run and deletes nothing it did not record.
        s.scan(
            &inv,
            &[
                "--history",
                history.to_str().unwrap(),
                "--keep",
                "1",
                "--exit-zero",
            ],
        )
        .expect(0)
        .stderr_has("ecaudit-20260101T000000Z.scan.json is not taken for a run")
        .stderr_has("removed 1 older run(s), keeping 1");
        assert_eq!(runs(&history).len(), 4);
        assert!(history.join("ecaudit-20260101T000000Z.scan.json").is_file());
        s.scan(&inv, &["--keep", "3"]).expect(2);
        s.scan(&inv, &["--history", history.to_str().unwrap(), "--keep", "0"])
            .expect(2);
    }
}

/// Issue 25: an empty file named like a run from the year 9999 became "the previous run"
/// forever, and `--keep 1` deleted the run just recorded instead of it.
mod planted_runs {
    use super::*;
    use common::cli::Scratch;

    fn tuesday() -> Value {
        let mut changed = demo_fleet();
        for d in changed["deployments"].as_array_mut().unwrap() {
            if d["id"] == "orders-cache" {
                d["snapshot_retention_days"] = json!(1);
            }
        }
        changed
    }

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".scan.json"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_run_from_the_year_9999_is_warned_about_and_ignored() {
        let s = Scratch::new();
        let history = s.path("history");
        let h = history.to_str().unwrap();
        let monday = s.json("monday.json", &demo_fleet());
        s.scan(&monday, &["--history", h, "--exit-zero"]).expect(0);
        let recorded_monday = names(&history);
        assert_eq!(recorded_monday.len(), 1);
        for ext in ["scan", "inventory"] {
            std::fs::write(history.join(format!("ecaudit-99991231T235959Z.{ext}.json")), "").unwrap();
        }
        // A file named to inject escapes into the log: its name is shown escaped.
        std::fs::write(history.join("ecaudit-\u{1b}]0;pwned\u{7}.scan.json"), "").unwrap();

        std::thread::sleep(std::time::Duration::from_millis(1100));
        let tuesday = s.json("tuesday.json", &tuesday());
        let run = s.scan(
            &tuesday,
            &["--history", h, "--keep", "1", "--format", "json", "--exit-zero"],
        );
        run.expect(0)
            .stderr_has(&format!(
                "ecaudit: warning: history {h}: ecaudit-99991231T235959Z.scan.json is not taken for \
                 a run: it is dated after this run; ignored, and never deleted"
            ))
            .stderr_has("ecaudit-\\u{1b}]0;pwned\\u{7}.scan.json is not taken for a run")
            .stderr_has("removed 1 older run(s), keeping 1");
        assert!(!run.stderr().contains('\u{1b}'), "{}", run.stderr());
        // The drift is Monday's to Tuesday's, not "cannot be compared".
        let drift = &run.json()["drift"];
        assert_eq!(drift["drifted"], true, "{drift}");
        assert!(
            drift["old"]["file"]
                .as_str()
                .unwrap()
                .ends_with(&recorded_monday[0].replace(".scan.", ".inventory.")),
            "{drift}"
        );
        assert_eq!(
            drift["findings"]["newly_failing"][0]["rule_id"],
            "snapshot-retention"
        );
        // --keep 1 deleted Monday, kept tonight's run and left the planted files alone.
        let left = names(&history);
        assert_eq!(left.len(), 3, "{left:?}");
        assert!(!left.contains(&recorded_monday[0]), "{left:?}");
        assert!(history.join("ecaudit-99991231T235959Z.inventory.json").is_file());
        assert!(left.contains(&"ecaudit-99991231T235959Z.scan.json".to_string()));
        let tonight: Vec<&String> = left.iter().filter(|n| n.starts_with("ecaudit-2")).collect();
        assert_eq!(tonight.len(), 1, "{left:?}");

        // The next night compares with tonight's run, still not with the planted one.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let run = s.scan(&tuesday, &["--history", h, "--format", "json", "--exit-zero"]);
        let drift = &run.json()["drift"];
        assert_eq!(drift["drifted"], false, "{drift}");
        assert!(
            drift["old"]["file"]
                .as_str()
                .unwrap()
                .ends_with(&tonight[0].replace(".scan.", ".inventory.")),
            "{drift}"
        );
    }

    #[test]
    fn the_newest_run_that_can_be_compared_is_the_previous_one() {
        let s = Scratch::new();
        let history = s.path("history");
        let h = history.to_str().unwrap();
        let monday = s.json("monday.json", &demo_fleet());
        s.scan(&monday, &["--history", h, "--exit-zero"]).expect(0);
        // A run after Monday (the same second, a later suffix) whose inventory is broken: warned
        // about, and Monday compared instead.
        let monday_name = names(&history)[0].clone();
        let stamp = format!(
            "{}-2",
            &monday_name["ecaudit-".len()..monday_name.len() - ".scan.json".len()]
        );
        let broken = format!("ecaudit-{stamp}");
        let monday_scan = history.join(&monday_name);
        let text = std::fs::read_to_string(&monday_scan).unwrap();
        std::fs::write(history.join(format!("{broken}.scan.json")), text).unwrap();
        std::fs::write(history.join(format!("{broken}.inventory.json")), "{ not json").unwrap();
        let tuesday = s.json("tuesday.json", &tuesday());
        let run = s.scan(&tuesday, &["--history", h, "--format", "json", "--exit-zero"]);
        run.expect(0)
            .stderr_has(&format!("the previous run {stamp} cannot be compared"));
        assert_eq!(run.json()["drift"]["drifted"], true);
    }
}

mod unknowns {
    use super::*;

    #[test]
    fn what_could_not_be_read_is_not_drift() {
        let old = fixture("replication-group");
        // Alarms unreadable tonight: the empty alarm lists are not removals.
        let mut no_alarms = old.clone();
        for m in no_alarms["node_groups"][0]["members"].as_array_mut().unwrap() {
            m["alarms"] = json!([]);
        }
        no_alarms["unknown_facts"] = json!(["alarms"]);
        assert!(
            drift_of(&old, &no_alarms).is_empty(),
            "{:#?}",
            drift_of(&old, &no_alarms)
        );
        // A security group that could not be read: its missing ingress is not a removal.
        let mut unread = old.clone();
        unread["security_groups"][0]["state"] = json!("unknown");
        unread["security_groups"][0]["ingress"] = json!([]);
        assert!(drift_of(&old, &unread).is_empty());
        // Settling values and pending changes are not drift either.
        let settling = patched(
            "replication-group",
            json!({"automatic_failover": "enabling", "pending_changes": {"automatic_failover": "enabled"}}),
        );
        assert!(drift_of(&old, &settling).is_empty());
    }

    #[test]
    fn a_metric_added_to_an_alarm_is_a_change_of_that_alarm() {
        let old = fixture("replication-group");
        let mut new = old.clone();
        new["node_groups"][0]["members"][0]["alarms"][0]["metrics"] =
            json!([{"id": "m2", "namespace": "AWS/ElastiCache", "metric_name": "Evictions"}]);
        let d = drift_of(&old, &new);
        assert!(d.alarms_added.is_empty(), "{d:#?}");
        assert_eq!(
            paths(&d.changes),
            ["node_groups[0001].members[orders-cache-001].alarms[orders-cache-001-cpu-high].metrics[m2]"]
        );
    }

    #[test]
    fn a_coverage_gap_is_not_a_removal() {
        let a = fixture("replication-group");
        let old = parse(&inventory(vec![a.clone()]));
        let mut doc = inventory(vec![]);
        doc["coverage"] = json!([{
            "account_id": a["account_id"], "region": a["region"], "service": "elasticache",
            "api": "DescribeReplicationGroups", "status": "failed",
            "error": {"code": "Throttling", "message": "Rate exceeded"}
        }]);
        let new = parse(&doc);
        let d = drift::diff(&old, &new);
        assert!(d.removed.is_empty() && d.is_empty(), "{d:#?}");
        assert_eq!(
            d.unread,
            [format!(
                "{}/{}",
                a["account_id"].as_str().unwrap(),
                a["region"].as_str().unwrap()
            )]
        );
    }
}
