//! Outputs are written to a temporary file and renamed into place: a scan killed while writing
//! leaves the previous report whole.

use crate::common;

use std::time::{Duration, Instant};

use common::cli::Scratch;

#[test]
fn a_scan_killed_while_writing_leaves_the_previous_report_intact() {
    let s = Scratch::new();
    let inventory = s.json("fleet.json", &common::fleet_of(4000));
    let report = s.path("report.json");
    let previous = "{\"the\": \"previous report\"}\n";
    std::fs::write(&report, previous).unwrap();

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ecaudit"))
        .current_dir(s.dir.path())
        .arg("scan")
        .arg("--inventory")
        .arg(&inventory)
        .args(["--format", "json", "--output", "report.json", "--exit-zero"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the new report is being written (its temporary file exists), then kill.
    let started = Instant::now();
    let temporary = loop {
        let found = std::fs::read_dir(s.dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with(".ecaudit-") && n.ends_with(".tmp"));
        if let Some(name) = found {
            break name;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the scan finished before it could be killed while writing; make the fleet larger"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no temporary file appeared"
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed");

    assert_eq!(
        std::fs::read_to_string(&report).unwrap(),
        previous,
        "the previous report was touched"
    );
    // What a killed process cannot remove: its temporary file, named so nothing takes it for a
    // report.
    let names: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "fleet.json" || n == "report.json" || n == &temporary),
        "{names:?}"
    );

    // The next scan replaces it whole.
    s.scan(
        &inventory,
        &["--format", "json", "--output", "report.json", "--exit-zero"],
    )
    .expect(0);
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(doc["summary"]["deployments"], 4000);
}
