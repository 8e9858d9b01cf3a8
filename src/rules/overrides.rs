//! Rules of a `--rules` directory that replace bundled ones: a replacement is allowed but never
//! silent (a warning, a mark in the result's rule list, a modified pack version), or refused.

use std::collections::HashMap;

use super::diag::{Code, Diagnostic};
use super::{Origin, Rule, pack};

/// How rules are loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Refuse a user rule that replaces a bundled one (`--no-override`): a diagnostic at the user
    /// rule instead of a warning.
    pub refuse_overrides: bool,
}

/// A user rule that replaced a bundled one: a warning, shown in the result's rule list, and the
/// reason the reported pack version is marked modified ([`super::RuleSet::pack_version`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override<'r> {
    pub id: &'r str,
    /// The user rule.
    pub by: &'r Origin,
    /// The bundled rule it replaces.
    pub replaced: &'r Origin,
}

impl std::fmt::Display for Override<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rule `{}` at {}:{} replaces the bundled rule of that id ({}:{}); the rule pack is reported as {}",
            self.id,
            self.by.file,
            self.by.line,
            self.replaced.file,
            self.replaced.line,
            modified_pack_version()
        )
    }
}

/// The pack version a result reports when a user rule replaced a bundled one: the bundled
/// version with SemVer build metadata, so it still sorts and reads as that pack.
pub fn modified_pack_version() -> String {
    format!("{}+modified", pack::PACK_VERSION)
}

/// Keeps one rule per id: a user rule replaces a bundled one (or is refused, per `options`);
/// any other duplicate is a diagnostic.
pub(super) fn resolve_duplicates(
    rules: Vec<Rule>,
    options: LoadOptions,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Rule> {
    // Duplicates: a user rule replaces a bundled one; any other pair is an error.
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut kept: Vec<Option<Rule>> = Vec::new();
    for rule in rules {
        match by_id.get(&rule.id).copied() {
            Some(i) => {
                let first = kept[i].as_ref().expect("kept rule");
                if first.origin.bundled && !rule.origin.bundled && options.refuse_overrides {
                    diags.push(Diagnostic {
                        code: Code::OverrideRefused,
                        file: rule.origin.file.clone(),
                        line: rule.origin.line,
                        column: 0,
                        rule_id: Some(rule.id.clone()),
                        message: format!(
                            "id `{}` is a bundled rule's ({}:{}), and replacing bundled rules is \
                             refused (--no-override); give the rule another id",
                            rule.id, first.origin.file, first.origin.line
                        ),
                    });
                } else if first.origin.bundled && !rule.origin.bundled {
                    let mut rule = rule;
                    rule.overrides = Some(first.origin.clone());
                    kept[i] = Some(rule);
                } else {
                    diags.push(Diagnostic {
                        code: Code::DuplicateId,
                        file: rule.origin.file.clone(),
                        line: rule.origin.line,
                        column: 0,
                        rule_id: Some(rule.id.clone()),
                        message: format!(
                            "id `{}` is already used by the rule at {}:{}",
                            rule.id, first.origin.file, first.origin.line
                        ),
                    });
                }
            }
            None => {
                by_id.insert(rule.id.clone(), kept.len());
                kept.push(Some(rule));
            }
        }
    }
    kept.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::super::{RuleSet, RuleSource};
    use super::*;

    /// The bundled pack plus one user file replacing `no-public-ingress` with `check: "true"`.
    fn sources() -> Vec<RuleSource> {
        let mut sources = pack::sources();
        sources.push(RuleSource {
            name: "team/rules.yaml".into(),
            text: "rules:\n  - id: added-rule\n    title: Added\n    severity: low\n    \
                   applies_to: [replication_group]\n    check: \"true\"\n    remediation: none\n  \
                   - id: no-public-ingress\n    title: Replaced\n    severity: low\n    \
                   applies_to: [replication_group]\n    check: \"true\"\n    remediation: none\n"
                .into(),
            bundled: false,
            tests: None,
        });
        sources
    }

    #[test]
    fn a_replacement_is_recorded_and_marks_the_pack_modified() {
        let set = RuleSet::from_sources(sources()).unwrap_or_else(|e| panic!("{e}"));
        let overrides = set.overrides();
        assert_eq!(overrides.len(), 1, "the added rule replaces nothing");
        let o = &overrides[0];
        assert_eq!(o.id, "no-public-ingress");
        assert_eq!((o.by.file.as_str(), o.by.line), ("team/rules.yaml", 8));
        assert_eq!(o.replaced.file, "bundled:network.yaml");
        assert!(o.replaced.bundled);
        assert_eq!(set.get("no-public-ingress").unwrap().title, "Replaced");
        assert_eq!(set.pack_version(), "2026.12.3+modified");
        assert!(
            o.to_string().starts_with(
                "rule `no-public-ingress` at team/rules.yaml:8 replaces the bundled rule of that id (bundled:network.yaml:"
            ),
            "{o}"
        );
        // Disabling the replacement in configuration does not hide it.
        let mut set = set;
        set.set_enabled("no-public-ingress", false);
        assert_eq!(set.pack_version(), "2026.12.3+modified");
    }

    #[test]
    fn the_bundled_pack_alone_reports_its_version() {
        let set = RuleSet::load(&[]).unwrap();
        assert!(set.overrides().is_empty());
        assert_eq!(set.pack_version(), "2026.12.3");
    }

    #[test]
    fn refused_replacements_fail_at_the_user_rule() {
        let options = LoadOptions {
            refuse_overrides: true,
        };
        let errors = RuleSet::from_sources_with(sources(), options).unwrap_err().0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        let d = &errors[0];
        assert_eq!(d.code, Code::OverrideRefused);
        assert_eq!((d.file.as_str(), d.line), ("team/rules.yaml", 8));
        assert_eq!(d.rule_id.as_deref(), Some("no-public-ingress"));
        // Adding rules is still allowed.
        let mut only_added = sources();
        let last = only_added.last_mut().unwrap();
        last.text = last
            .text
            .split("  - id: no-public-ingress")
            .next()
            .unwrap()
            .to_string();
        let set = RuleSet::from_sources_with(only_added, options).unwrap_or_else(|e| panic!("{e}"));
        assert!(set.get("added-rule").is_some());
        assert_eq!(set.pack_version(), "2026.12.3");
    }
}
