//! `benches/live.rs` includes `tests/common/{moto,proxy,seed}.rs` by path; the harness itself is
//! `tests/it/common/` now (the integration tests are one crate). Remove these three files once
//! the benchmark's `#[path]`s name `tests/it/common/` directly.

// The seeding harness names the moto harness as its sibling, `super::moto`.
use super::moto;

#[allow(dead_code)]
#[path = "../it/common/seed.rs"]
mod harness;
pub use harness::*;
