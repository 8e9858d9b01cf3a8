//! Where each resource's block is in the `.tf` sources, for annotations on the right line.
//! (Skeleton: filled in by the source-location work of issue 21.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A resource block's file (as found under the source directory) and line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub file: PathBuf,
    pub line: usize,
}

/// The blocks found, by configuration address, and what could not be read (each a warning).
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub blocks: BTreeMap<String, Located>,
    pub warnings: Vec<String>,
}

/// Finds every `resource "TYPE" "NAME"` block under `dir` (the root module) and under the local
/// module sources the plan's `configuration` names. (Skeleton.)
pub fn locate(_dir: &Path, _configuration: Option<&serde_json::Value>) -> Sources {
    Sources::default()
}
