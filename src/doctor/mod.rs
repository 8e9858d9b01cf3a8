//! `ecaudit doctor DEPLOYMENT`: the runbook of one deployment (connectivity, protocol, INFO,
//! CloudWatch) run as a checklist. Each check ends ✔ (pass), ✘ (fail, with the next step) or –
//! (not checked, and why), with its evidence.
//!
//! The deployment's facts come from a collection of that deployment alone (its id given to
//! ElastiCache, then only what it references) with the last hour of its nodes' metrics, so the
//! doctor reads what a scan reads of it and needs no other IAM action.
//!
//! One module per concern, and the runbook uses the sections, never the other way round:
//!
//! ```text
//! runbook ─┬─> network ─────┐
//!          ├─> protocol ────┼─> check (a line of the checklist), probe (the Redis client)
//!          ├─> info ────────┘   info also takes protocol's Access: the way to the server it found
//!          ├─> cloudwatch ──> check
//!          ├─> options (what was asked: deployment, --connect, token variable, ...)
//!          └─> collect (this deployment only)
//! render ──> runbook (the Diagnosis), check
//! ```

pub mod check;
mod cloudwatch;
pub mod info;
mod network;
mod options;
pub mod probe;
mod protocol;
mod render;
mod runbook;

pub use check::{Check, Mark, Section};
pub use cloudwatch::CPU_PERCENT;
pub use info::{FRAGMENTATION_MIN_BYTES, FRAGMENTATION_RATIO, MEMORY_PERCENT};
pub use options::{DoctorError, DoctorOptions, validate};
pub use render::{render_json, render_table};
pub use runbook::{Diagnosis, SCHEMA_VERSION, Subject, Tool, run};
