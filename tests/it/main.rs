//! The integration tests, one test binary: each module below was a test crate of its own, and
//! each linked the whole AWS SDK. `cargo test --test it MODULE::` runs one of them.

mod common;

mod atomic;
mod browser;
mod cli;
mod docs;
mod doctor;
mod drift;
mod faults;
mod fleet;
mod formats;
mod gate;
mod history;
mod layout;
mod live;
mod metrics;
mod notify;
mod owners;
mod plan;
mod probe;
mod report;
mod robustness;
mod rule_pack;
mod rules_authoring;
mod rules_eval;
mod s3;
mod schema;
mod secrets;
mod security_hub;
mod shard;
mod terraform;
mod untrusted_text;
