//! The documentation names everything a user can rely on: every bundled rule, every CEL function
//! ecaudit adds, every fact a rule can read, every exit code.
use crate::common;

use common::repo_path;
use ecaudit::rules::RuleSet;
use ecaudit::rules::functions::FUNCTIONS;

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_path(rel)).unwrap()
}

#[test]
fn rules_doc_lists_every_bundled_rule_with_its_severity() {
    let doc = read("docs/rules.md");
    // The pack's table, not the fact reference (a rule and a fact may share a name: `evictions`).
    let doc = &doc[doc
        .find("\n## The bundled pack\n")
        .expect("a section on the pack")..];
    for rule in RuleSet::load(&[]).unwrap().rules() {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", rule.id)))
            .unwrap_or_else(|| panic!("docs/rules.md has no row for {}", rule.id));
        assert!(
            row.contains(&format!("| {} |", rule.severity)),
            "{} severity differs in docs/rules.md",
            rule.id
        );
        for param in rule.params.keys() {
            assert!(
                row.contains(&format!("`{param}`")),
                "docs/rules.md row of {} misses param {param}",
                rule.id
            );
        }
    }
}

#[test]
fn rules_doc_lists_every_function() {
    let doc = read("docs/rules.md");
    for (name, _) in FUNCTIONS {
        assert!(
            doc.contains(&format!("`{name}(")),
            "docs/rules.md does not document {name}()"
        );
    }
}

/// The fact reference of `docs/rules.md` is generated from the declaration of the facts
/// (`src/rules/view.rs`); `ECAUDIT_BLESS=1` rewrites it.
#[test]
fn rules_doc_fact_reference_is_current() {
    use ecaudit::rules::reference::{BEGIN, END, markdown};
    let path = repo_path("docs/rules.md");
    let doc = read("docs/rules.md");
    let start = doc
        .find(BEGIN)
        .expect("docs/rules.md has the generated fact reference");
    let end = doc[start..]
        .find(END)
        .map(|at| start + at + END.len() + 1)
        .expect("its end");
    let generated = markdown();
    if std::env::var_os("ECAUDIT_BLESS").is_some() && doc[start..end] != generated {
        std::fs::write(&path, format!("{}{generated}{}", &doc[..start], &doc[end..])).unwrap();
        return;
    }
    assert!(
        doc[start..end] == generated,
        "the fact reference in docs/rules.md is stale; regenerate it with `ECAUDIT_BLESS=1 cargo test --test it docs::`"
    );
}

#[test]
fn readme_documents_exit_codes_and_commands() {
    let readme = read("README.md");
    for needle in [
        "cargo run --release -- scan --inventory examples/fleet.json",
        "tests/run.sh",
        "| 0 |",
        "| 1 |",
        "| 2 |",
        "| 3 |",
    ] {
        assert!(readme.contains(needle), "README.md does not mention {needle}");
    }
}

/// The `ecaudit scan` command a CI example runs: from its line to the end of the shell
/// continuation (`\`) or of the YAML folded block (lines indented like it).
fn scan_command(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with("ecaudit scan"))
        .expect("an `ecaudit scan` command");
    let indent = lines[start].len() - lines[start].trim_start().len();
    let shell = lines[start].trim_end().ends_with('\\');
    let mut command = String::new();
    for (i, line) in lines[start..].iter().enumerate() {
        let continued = i == 0
            || if shell {
                lines[start + i - 1].trim_end().ends_with('\\')
            } else {
                line.len() - line.trim_start().len() == indent && !line.trim().is_empty()
            };
        if !continued {
            break;
        }
        command.push(' ');
        command.push_str(line.trim().trim_end_matches('\\'));
    }
    command
        .split_whitespace()
        .map(|w| w.trim_matches('"').to_string())
        .collect()
}

#[test]
fn ci_examples_are_yaml_and_run_commands_ecaudit_accepts() {
    use clap::Parser;
    for file in [
        "examples/ci/github-actions.yml",
        "examples/ci/gitlab-ci.yml",
        "README.md",
    ] {
        let text = read(file);
        if file.ends_with(".yml") {
            serde_saphyr::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{file} is not YAML: {e}"));
        }
        // The README's CI section has the gist.
        let text = match text.find("\n## CI\n") {
            Some(at) => text[at..].to_string(),
            None => text,
        };
        let args = scan_command(&text);
        assert!(args.len() > 10, "{file}: {args:?}");
        for flag in ["--output-format", "--baseline", "--suppressions", "--fail-on"] {
            assert!(args.iter().any(|a| a == flag), "{file} does not use {flag}");
        }
        ecaudit::cli::Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{file}: {args:?}: {e}"));
    }
    let text = read("examples/ci/gitlab-ci.yml");
    assert!(
        text.contains("junit: ecaudit.xml"),
        "GitLab gets the JUnit report"
    );
    let text = read("examples/ci/github-actions.yml");
    assert!(text.contains("upload-sarif") && text.contains("--body-file ecaudit.md"));
}

#[test]
fn example_suppressions_are_valid_and_all_in_use() {
    let rules = RuleSet::load(&[]).unwrap();
    let ids: Vec<&str> = rules.ids().collect();
    let entries = ecaudit::suppress::file::load(&repo_path("examples/suppressions.yaml"), &ids).unwrap();
    assert!(entries.len() >= 2);
    assert!(entries.iter().all(|e| e.expires.is_some() && e.owner.is_some()));
}

/// Every `ecaudit collect|merge|scan` command of a deployment example, with shell and workflow
/// expressions replaced by sample values.
fn ecaudit_commands(text: &str) -> Vec<Vec<String>> {
    let text = text
        .replace("$((JOB_COMPLETION_INDEX + 1))", "1")
        .replace("$(date -u +%F)", "2026-11-29")
        .replace("${{ matrix.shard }}", "1")
        .replace("${{ github.run_id }}", "123")
        .replace("$RESULTS", "s3://example-ecaudit-results");
    let lines: Vec<&str> = text.lines().collect();
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start().trim_start_matches("run: ");
        if !(trimmed.starts_with("ecaudit ") || trimmed.starts_with("cd ")) {
            i += 1;
            continue;
        }
        // A folded block: the lines indented like this one.
        let indent = lines[i].len() - lines[i].trim_start().len();
        let mut block = trimmed.to_string();
        i += 1;
        while i < lines.len()
            && !lines[i].trim().is_empty()
            && lines[i].len() - lines[i].trim_start().len() == indent
        {
            block.push(' ');
            block.push_str(lines[i].trim());
            i += 1;
        }
        for part in block.split("&&") {
            let words: Vec<String> = part.split_whitespace().map(str::to_string).collect();
            if words.first().is_some_and(|w| w == "ecaudit") {
                commands.push(words);
            }
        }
    }
    commands
}

#[test]
fn deployment_examples_are_yaml_and_shard_merge_and_scan() {
    use clap::Parser;
    for file in [
        "examples/deploy/kubernetes-cronjob.yaml",
        "examples/deploy/github-actions-matrix.yml",
    ] {
        let text = read(file);
        serde_saphyr::from_multiple::<serde_json::Value>(&text)
            .unwrap_or_else(|e| panic!("{file} is not YAML: {e}"));
        let commands = ecaudit_commands(&text);
        for command in &commands {
            ecaudit::cli::Cli::try_parse_from(command).unwrap_or_else(|e| panic!("{file}: {command:?}: {e}"));
        }
        let sub = |name: &str| commands.iter().filter(|c| c[1] == name).count();
        assert_eq!(
            (sub("collect"), sub("merge"), sub("scan")),
            (1, 1, 1),
            "{file}: {commands:?}"
        );
        let collect = commands.iter().find(|c| c[1] == "collect").unwrap();
        assert!(
            collect
                .windows(2)
                .any(|w| w[0] == "--shard" && w[1].ends_with(['6', '8'])),
            "{collect:?}"
        );
        // Results go to S3, not to a shared volume or the runner's disk.
        for command in &commands {
            for w in command
                .windows(2)
                .filter(|w| w[0] == "--output" || w[0] == "--history")
            {
                assert!(
                    w[1].starts_with("s3://example-ecaudit-results/"),
                    "{file}: {command:?}"
                );
            }
        }
        let merge = commands.iter().find(|c| c[1] == "merge").unwrap();
        let shards = merge
            .iter()
            .filter(|w| w.starts_with("s3://") && w.contains("/shard-"))
            .count();
        assert!(
            shards == 6 || shards == 8,
            "{file}: every shard merged: {merge:?}"
        );
    }
    let k8s = read("examples/deploy/kubernetes-cronjob.yaml");
    assert!(!k8s.contains("persistentVolumeClaim"), "no shared volume");
    assert!(k8s.contains("completionMode: Indexed") && k8s.contains("completions: 8"));
    let gha = read("examples/deploy/github-actions-matrix.yml");
    assert!(gha.contains("shard: [1, 2, 3, 4, 5, 6]"));
}

#[test]
fn the_plan_workflow_is_yaml_and_its_command_parses() {
    use clap::Parser;
    let text = read("examples/terraform/github-actions.yml");
    serde_saphyr::from_str::<serde_json::Value>(&text).unwrap_or_else(|e| panic!("not YAML: {e}"));
    let commands = ecaudit_commands(&text);
    assert_eq!(commands.len(), 1, "{commands:?}");
    let args = &commands[0];
    assert_eq!(args[1], "plan");
    for flag in ["--source", "--fail-on", "--output-format"] {
        assert!(args.iter().any(|a| a == flag), "the workflow does not use {flag}");
    }
    ecaudit::cli::Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(text.contains("terraform show -json tfplan > plan.json") && text.contains("upload-sarif"));
}
