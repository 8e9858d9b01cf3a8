//! Rule authors' tools: test cases in rule files, `ecaudit rules test` (text, JUnit, coverage),
//! `ecaudit rules new`, and the tutorial of docs/rules.md run as written.

use crate::common;

use common::cli::Scratch;

/// A rule with a branch (`&&`) and the given cases under `tests:`.
fn rule_with_cases(cases: &str) -> String {
    format!(
        "rules:
  - id: tls-required
    title: TLS is required
    severity: high
    applies_to: [replication_group, cache_cluster]
    when: d.engine != \"memcached\"
    check: d.transit_encryption == true && d.transit_encryption_mode != \"preferred\"
    evidence: '\"TLS \" + show(d.transit_encryption) + \", mode \" + show(d.transit_encryption_mode)'
    remediation: Turn TLS on and require it.
    tests:
{cases}"
    )
}

const PASSING: &str = "      - name: TLS required passes
        expect: pass
      - name: TLS off fails
        deployment: {transit_encryption: false}
        expect: fail
        evidence: [\"TLS false, mode required\"]
";

#[test]
fn passing_cases_exit_0_with_a_line_per_rule() {
    let s = Scratch::new();
    s.rules("r", &[("tls.yaml", &rule_with_cases(PASSING))]);
    let run = s.run(["rules", "test", "r"]);
    run.expect(0);
    let out = run.stdout();
    assert!(out.contains("ok    tls-required  2 cases"), "{out}");
    assert!(
        out.contains("1 rule: 1 passed, 0 failed, 0 without cases; 2 cases: 0 failed"),
        "{out}"
    );
}

#[test]
fn a_failing_case_exits_1_naming_its_line_and_the_difference() {
    let s = Scratch::new();
    let cases = format!(
        "{PASSING}      - name: preferred mode passes (wrongly expected)
        deployment:
          transit_encryption_mode: preferred
        expect: pass
"
    );
    s.rules("r", &[("tls.yaml", &rule_with_cases(&cases))]);
    let run = s.run(["rules", "test", "r"]);
    run.expect(1);
    let out = run.stdout();
    assert!(out.contains("FAIL  tls-required  1 of 3 cases failed"), "{out}");
    // The case starts on line 17 of the file.
    assert!(
        out.contains("r/tls.yaml:17: case `preferred mode passes (wrongly expected)`"),
        "{out}"
    );
    assert!(out.contains("expected pass, got fail"), "{out}");
    assert!(out.contains("message: Not satisfied: TLS is required"), "{out}");
}

#[test]
fn wrong_evidence_fails_the_case() {
    let s = Scratch::new();
    let cases = PASSING.replace("TLS false, mode required", "TLS off");
    s.rules("r", &[("tls.yaml", &rule_with_cases(&cases))]);
    let run = s.run(["rules", "test", "r"]);
    run.expect(1);
    let out = run.stdout();
    assert!(
        out.contains(r#"evidence differs: expected ["TLS off"], got ["TLS false, mode required"]"#),
        "{out}"
    );
}

#[test]
fn a_sibling_test_file_adds_cases_to_the_rules_of_its_rule_file() {
    let s = Scratch::new();
    let tests = "tests:
  - rule: tls-required
    name: Memcached is not concerned
    deployment: {kind: cache_cluster}
    expect: not_applicable
  - rule: tls-required
    name: an unknown setting is not a pass
    deployment: {transit_encryption: null}
    expect: fail
";
    s.rules(
        "r",
        &[("tls.yaml", &rule_with_cases(PASSING)), ("tls.test.yaml", tests)],
    );
    let run = s.run(["rules", "test", "r"]);
    run.expect(0);
    run.stdout_has("ok    tls-required  4 cases");
    // The test file is not read as a rule file by a scan.
    s.scan(
        &common::repo_path("examples/fleet.json"),
        &["--rules", "r", "--exit-zero"],
    )
    .expect(0);
}

#[test]
fn malformed_cases_exit_2_with_file_line_and_code() {
    let s = Scratch::new();
    let cases = "      - name: a typo in a fact
        deployment:
          multi_az: true
          transit_encrypt: false
        expect: fail
      - name: an outcome that does not exist
        expect: failed
      - name: a param the rule does not have
        params: {min_days: 3}
        expect: pass
";
    s.rules("r", &[("tls.yaml", &rule_with_cases(cases))]);
    let run = s.run(["rules", "test", "r"]);
    run.expect(2);
    let err = run.stderr();
    assert!(
        err.contains(
            "r/tls.yaml:14: error[case-unknown-fact]: rule `tls-required`: test case `a typo in a fact`: \
             unknown fact `transit_encrypt` (did you mean `transit_encryption`?)"
        ),
        "{err}"
    );
    assert!(err.contains("r/tls.yaml:17:17: error[bad-case]"), "{err}");
    assert!(err.contains("`expect: failed` is not an outcome"), "{err}");
    assert!(err.contains("error[bad-case]: rule `tls-required`: test case `a param the rule does not have`: unknown param `min_days`: the rule declares no params"), "{err}");
    // Cases are validated like rules: `rules validate` and a scan refuse the file too.
    s.run(["rules", "validate", "r"])
        .expect(2)
        .stderr_has("case-unknown-fact");
    s.scan(&common::repo_path("examples/fleet.json"), &["--rules", "r"])
        .expect(2)
        .stderr_has("case-unknown-fact");
}

#[test]
fn a_test_file_case_must_name_a_rule_of_its_rule_file() {
    let s = Scratch::new();
    let tests = "tests:
  - rule: tls-requried
    name: typo in the rule id
    expect: pass
  - name: no rule named
    expect: pass
";
    s.rules(
        "r",
        &[("tls.yaml", &rule_with_cases(PASSING)), ("tls.test.yaml", tests)],
    );
    let run = s.run(["rules", "test", "r"]);
    run.expect(2);
    let err = run.stderr();
    assert!(err.contains("r/tls.test.yaml:2:5: error[bad-case]: rule `tls-requried`: test case for a rule its rule file does not define (did you mean `tls-required`?)"), "{err}");
    assert!(
        err.contains("r/tls.test.yaml:5:5: error[bad-case]: test case `no rule named` names no rule"),
        "{err}"
    );
}

#[test]
fn junit_lists_a_testcase_per_case_and_a_failure_per_failing_case() {
    let s = Scratch::new();
    let cases = format!("{PASSING}      - name: wrong\n        expect: fail\n");
    s.rules("r", &[("tls.yaml", &rule_with_cases(&cases))]);
    let run = s.run(["rules", "test", "r", "--format", "junit"]);
    run.expect(1);
    let xml = run.stdout();
    let mut reader = quick_xml::Reader::from_str(&xml);
    while !matches!(
        reader.read_event().expect("well-formed XML"),
        quick_xml::events::Event::Eof
    ) {}
    assert!(
        xml.contains(r#"<testsuites name="ecaudit rules test" tests="3" failures="1">"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testsuite name="tls-required" tests="3" failures="1""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testcase name="TLS required passes" classname="tls-required""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<failure message="expected fail, got pass">"#),
        "{xml}"
    );
}

#[test]
fn coverage_names_the_condition_no_case_made_false() {
    let s = Scratch::new();
    // Both cases leave the mode `required`: `!= "preferred"` is never false.
    s.rules("r", &[("tls.yaml", &rule_with_cases(PASSING))]);
    let run = s.run(["rules", "test", "r", "--coverage"]);
    run.expect(0);
    let out = run.stdout();
    assert!(
        out.contains("`check` d.transit_encryption_mode != \"preferred\": never false"),
        "{out}"
    );
    assert!(
        out.contains("`when` d.engine != \"memcached\": never false"),
        "{out}"
    );
    assert!(
        !out.contains("`check` d.transit_encryption == true:"),
        "covered both ways:\n{out}"
    );
}

#[test]
fn the_bundled_pack_passes_its_own_cases() {
    let s = Scratch::new();
    let run = s.run(["rules", "test"]);
    run.expect(0);
    let out = run.stdout();
    assert!(
        out.contains("26 rules: 26 passed, 0 failed, 0 without cases"),
        "{out}"
    );
}

#[test]
fn rules_new_writes_a_skeleton_whose_cases_pass() {
    let s = Scratch::new();
    s.run(["rules", "new", "team-node-types", "--dir", "mine"])
        .expect(0)
        .stdout_has("wrote mine/team-node-types.yaml");
    s.run(["rules", "test", "mine"])
        .expect(0)
        .stdout_has("ok    team-node-types  2 cases");
    s.run(["rules", "validate", "mine"]).expect(0);
    // Not over an existing file, and not with an id that is not kebab-case.
    s.run(["rules", "new", "team-node-types", "--dir", "mine"])
        .expect(2)
        .stderr_has("exists; give --force");
    s.run(["rules", "new", "Team_Rule"])
        .expect(2)
        .stderr_has("not kebab-case");
}

/// The "Testing rules" tutorial of docs/rules.md, run as written: each ```yaml block whose first
/// line is `# FILE` is written to FILE, and each `$ COMMAND` line of a ```console block is run by
/// `sh` in the tutorial's directory (with `ecaudit` on the PATH); what it prints must be the lines
/// that follow it.
#[test]
fn the_rule_testing_tutorial_runs_as_written() {
    let doc = std::fs::read_to_string(common::repo_path("docs/rules.md")).unwrap();
    let start = doc.find("\n## Testing rules\n").expect("a tutorial section");
    let end = doc[start + 1..]
        .find("\n## ")
        .map_or(doc.len(), |i| start + 1 + i);
    let tutorial = &doc[start..end];
    let s = Scratch::new();
    std::fs::copy(common::repo_path("examples/fleet.json"), s.path("fleet.json")).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("ecaudit");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (mut commands, mut files) = (0, 0);
    for block in tutorial.split("```").skip(1).step_by(2) {
        let (lang, body) = block.split_once('\n').unwrap_or((block, ""));
        match lang.trim() {
            "yaml" => {
                let Some(name) = body.lines().next().and_then(|l| l.strip_prefix("# ")) else {
                    continue;
                };
                if name.contains(' ') {
                    continue;
                }
                s.file(name, body);
                files += 1;
            }
            "console" => {
                let mut lines = body.lines().peekable();
                while let Some(line) = lines.next() {
                    let command = line.strip_prefix("$ ").expect("a console block starts with `$ `");
                    let mut expected = Vec::new();
                    while let Some(next) = lines.next_if(|l| !l.starts_with("$ ")) {
                        expected.push(next);
                    }
                    let out = std::process::Command::new("sh")
                        .args(["-c", &format!("{command} 2>&1")])
                        .current_dir(s.dir.path())
                        .env("PATH", &path)
                        .env("NO_COLOR", "1")
                        .output()
                        .unwrap();
                    let printed = String::from_utf8(out.stdout).unwrap();
                    assert_eq!(
                        printed.trim_end(),
                        expected.join("\n").trim_end(),
                        "`{command}` printed something else than docs/rules.md shows"
                    );
                    commands += 1;
                }
            }
            _ => {}
        }
    }
    assert!(files >= 2 && commands >= 5, "{files} files, {commands} commands");
}
