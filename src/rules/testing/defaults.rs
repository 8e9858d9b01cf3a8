//! The default deployment of each kind a test case starts from, and the default `now`
//! (`defaults.yaml`, embedded).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};

use crate::inventory::DeploymentKind;

/// The text of the defaults, as shipped.
pub const TEXT: &str = include_str!("defaults.yaml");

fn parsed() -> &'static BTreeMap<String, serde_json::Value> {
    static DEFAULTS: OnceLock<BTreeMap<String, serde_json::Value>> = OnceLock::new();
    DEFAULTS.get_or_init(|| serde_saphyr::from_str(TEXT).expect("defaults.yaml parses"))
}

/// The default deployment of `kind`, as JSON to lay a case's facts over.
pub fn deployment(kind: DeploymentKind) -> serde_json::Value {
    parsed()[kind.as_str()].clone()
}

/// The instant cases are evaluated at unless they set `now`.
pub fn now() -> DateTime<Utc> {
    parsed()["now"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("defaults.yaml has a `now`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Deployment;

    /// docs/rules.md shows the defaults as shipped.
    #[test]
    fn the_docs_show_the_defaults() {
        let docs = include_str!("../../../docs/rules.md");
        assert!(docs.contains(TEXT), "docs/rules.md does not show defaults.yaml as it is");
    }

    /// Each default is a valid deployment of its kind, and every bundled rule passes on it or
    /// does not apply: a case only writes the facts that make its point.
    #[test]
    fn every_default_is_valid_and_compliant() {
        let rules = crate::rules::RuleSet::load(&[]).expect("bundled pack");
        for kind in DeploymentKind::ALL {
            let d: Deployment = serde_json::from_value(deployment(kind))
                .unwrap_or_else(|e| panic!("the default {kind} is not a deployment: {e}"));
            assert_eq!(d.kind, kind);
            let evaluator = crate::evaluate::Evaluator::new(&rules, now());
            for finding in evaluator.evaluate(0, &d) {
                let rule = &rules.rules()[finding.rule];
                assert!(
                    matches!(
                        finding.status,
                        crate::result::Status::Pass | crate::result::Status::NotApplicable
                    ),
                    "{} on the default {kind}: {:?} {} {:?}",
                    rule.id,
                    finding.status,
                    finding.message,
                    finding.evidence
                );
            }
        }
    }
}
