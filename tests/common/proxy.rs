//! `benches/live.rs` includes `tests/common/{moto,proxy,seed}.rs` by path; the harness itself is
//! `tests/it/common/` now (the integration tests are one crate). Remove these three files once
//! the benchmark's `#[path]`s name `tests/it/common/` directly.

#[allow(dead_code)]
#[path = "../it/common/proxy.rs"]
mod harness;
pub use harness::*;
