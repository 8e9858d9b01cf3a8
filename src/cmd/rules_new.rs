//! `ecaudit rules new ID`: a commented rule skeleton with a passing and a failing test case, so
//! a new rule starts from one that validates and whose tests run green.

use std::path::Path;

use super::Error;
use crate::output::Output;
use crate::text;

/// The skeleton; `RULE_ID` is replaced by the id asked for.
const SKELETON: &str = r#"# A rule file of ecaudit: docs/rules.md describes every key, the facts of `d` and the functions.
#   ecaudit rules validate DIR      checks the file (YAML, keys, CEL, facts, test cases)
#   ecaudit rules test FILE         runs its test cases (--coverage: conditions left untested)
#   ecaudit rules eval FILE --deployment ID --inventory INVENTORY.json
#                                   shows how it decides on one deployment
#   ecaudit scan --rules DIR ...    uses it (a rule with a bundled rule's id replaces that rule)
rules:
  - id: RULE_ID
    # What a passing deployment looks like: the finding's title.
    title: Nodes run on an allowed node type
    # What a failing finding says (default: "Not satisfied: <title>").
    fail_message: A node type outside the allowed families is in use
    # critical, high, medium, low or info.
    severity: low
    # replication_group, cache_cluster, serverless_cache.
    applies_to: [replication_group, cache_cluster]
    # Optional: the deployments the rule is about; the others are not_applicable.
    when: d.status != "creating"
    not_applicable_message: The deployment is being created
    # Values the check reads as `params.NAME`; users change them in ecaudit.toml or with --param.
    params:
      allowed_node_type_pattern: "^cache\\.(r7g|m7g|t4g)\\."
    # A CEL boolean over `d` (the deployment), `params` and `now`: true passes, false fails.
    # `unknown("why")` makes the finding undecided (a fact that was not collected is not a pass).
    check: |
      d.node_type == null
        ? unknown("the node type was not collected")
        : d.node_type.matches(params.allowed_node_type_pattern)
    # The facts that explain a failure, one string or a list of lines.
    evidence: |
      "node type " + d.node_type + " does not match " + params.allowed_node_type_pattern
    remediation: |
      Modify the deployment to an allowed node type (`aws elasticache modify-replication-group
      --cache-node-type ...`), in a maintenance window.
    # Test cases: each lays the facts it names over a default deployment of its kind (every other
    # fact compliant; docs/rules.md shows them) and says what the rule must give: pass, fail,
    # not_applicable or error. `params:` and `now:` are optional; `evidence` lists the lines
    # exactly, `evidence_contains` fragments, `message` a fragment of the finding's message.
    tests:
      - name: a Graviton node type passes
        deployment:
          node_type: cache.r7g.large
        expect: pass
      - name: an older generation fails, naming the node type
        deployment:
          node_type: cache.m5.large
        expect: fail
        evidence_contains: ["cache.m5.large"]
"#;

pub fn run(id: &str, dir: &Path, force: bool) -> Result<u8, Error> {
    if !crate::rules::is_kebab_case(id) {
        return Err(Error::Usage(format!(
            "rule id `{}` is not kebab-case (lowercase letters, digits, single hyphens, e.g. `team-tag-present`)",
            text::terminal(id)
        )));
    }
    let path = dir.join(format!("{id}.yaml"));
    if path.exists() && !force {
        return Err(Error::Usage(format!(
            "{} exists; give --force to replace it",
            path.display()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Usage(format!("cannot create {}: {e}", dir.display())))?;
    Output::from(path.clone()).write(|w| w.write_all(SKELETON.replace("RULE_ID", id).as_bytes()))?;
    Output::Stdout.write(|w| {
        writeln!(
            w,
            "wrote {0}\nnext: edit it, then `ecaudit rules test {0}`",
            path.display()
        )
    })?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The skeleton validates and its cases pass: a new author starts from something that works.
    #[test]
    fn the_skeleton_is_a_valid_rule_whose_cases_pass() {
        let text = SKELETON.replace("RULE_ID", "node-type-allowed");
        let set = crate::rules::RuleSet::from_sources(vec![crate::rules::RuleSource {
            name: "node-type-allowed.yaml".into(),
            text,
            bundled: false,
            tests: None,
        }])
        .unwrap_or_else(|e| panic!("{e}"));
        let results = crate::authoring::run::run_all(&set);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].cases.len(), 2);
        for c in &results[0].cases {
            assert!(c.passed(), "{}: {:?}", c.case.name, c.mismatches);
        }
    }
}
