//! Which Terraform document this is, and its resources. (Skeleton: filled in by the plan-model
//! work of issue 21.)

use serde_json::Value;

/// What a Terraform document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// `terraform show -json PLANFILE` (format_version 1.x).
    Plan,
    /// `terraform show -json` of a state.
    State,
    /// A raw state file, format version 4.
    RawState,
}

/// A Terraform document that cannot be judged (exit 2), found before anything else is read.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// Parses, but is not a document ecaudit reads: says what it is and what to do.
    #[error("{file}: {message}")]
    NotTerraform { file: String, message: String },
}

/// A parsed document. (Skeleton.)
pub struct Doc {
    pub kind: DocumentKind,
    pub value: Value,
}

pub fn parse(_text: &str, file: &str) -> Result<Doc, PlanError> {
    Err(PlanError::NotTerraform {
        file: file.to_string(),
        message: "not built yet".into(),
    })
}

/// The document's resources in the shape of `terraform show -json` of a state
/// (`{"values": {"root_module": ...}}`), whatever the document: what `drift --terraform-state`
/// compares. (Skeleton.)
pub fn state_values(text: &str, file: &str) -> Result<Value, PlanError> {
    parse(text, file).map(|d| d.value)
}
