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

    /// docs/rules.md shows the defaults as shipped.
    #[test]
    fn the_docs_show_the_defaults() {
        let docs = include_str!("../../../docs/rules.md");
        assert!(
            docs.contains(TEXT),
            "docs/rules.md does not show defaults.yaml as it is"
        );
    }
}
