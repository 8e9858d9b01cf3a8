//! The documentation names everything a user can rely on: every bundled rule, every CEL function
//! ecaudit adds, every derived fact, every exit code.
mod common;

use common::repo_path;
use ecaudit::rules::RuleSet;
use ecaudit::rules::functions::FUNCTIONS;

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_path(rel)).unwrap()
}

#[test]
fn rules_doc_lists_every_bundled_rule_with_its_severity() {
    let doc = read("docs/rules.md");
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

#[test]
fn rules_doc_lists_every_derived_fact() {
    let doc = read("docs/rules.md");
    let source = read("src/rules/view.rs");
    // Derived facts follow the `// derived` marker in each field list of the view.
    for block in source.split("// derived").skip(1) {
        let list = &block[..block.find("];").unwrap()];
        // Entries are `("name", Shape)`; shapes name object types `ecaudit.*`.
        let names = list.split("(\"").skip(1).map(|s| &s[..s.find('"').unwrap()]);
        for name in names.filter(|n| !n.starts_with("ecaudit.")) {
            assert!(
                doc.contains(&format!("`{name}`")),
                "docs/rules.md does not document derived fact {name}"
            );
        }
    }
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
