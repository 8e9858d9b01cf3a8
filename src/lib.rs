//! ecaudit: a compliance and drift auditor for Amazon ElastiCache.
//!
//! One pipeline, data flowing one way: targets → collect → [`inventory::Inventory`] →
//! [`evaluate`] → [`result`] → [`suppress`], [`drift`] → [`report`]. This crate is the library; `src/main.rs` is a thin
//! binary over [`cmd::run`], which runs one command (`src/cmd/`, a file each).

pub mod arn;
pub mod authoring;
pub mod cli;
pub mod cmd;
pub mod collect;
pub mod config;
pub mod deliver;
pub mod doctor;
pub mod drift;
pub mod evaluate;
pub mod exit;
pub mod facts;
pub mod history;
pub mod inventory;
pub mod merge;
pub mod net;
pub mod output;
pub mod plan;
pub mod position;
pub mod report;
pub mod result;
pub mod rules;
pub mod s3;
pub mod shard;
pub mod size;
pub mod suppress;
pub mod text;
