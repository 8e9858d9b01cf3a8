//! The commands, one file each: every command resolves its settings once (command line over
//! `ecaudit.toml` over defaults), validates its inputs before the work starts, then drives the
//! pipeline and writes its outputs.

use std::io;

use crate::cli::{Cli, Command, RulesCommand};

mod collect;
mod common;
mod diff;
mod doctor;
mod drift;
mod generate;
mod merge;
mod plan;
mod report;
mod rules;
mod rules_eval;
mod rules_new;
mod rules_test;
mod scan;

/// Runs a command; returns the exit code it ends with.
pub fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Scan(args) => scan::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Collect(args) => collect::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Drift(args) => drift::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Doctor(args) => doctor::run(&args),
        Command::Rules { command } => match command {
            RulesCommand::List { format, rules } => rules::list(format, &rules),
            RulesCommand::Show { id, rules } => rules::show(&id, &rules),
            RulesCommand::Validate { dir } => rules::validate(&dir),
            RulesCommand::Test(args) => rules_test::run(&args),
            RulesCommand::Eval(args) => rules_eval::run(&args),
            RulesCommand::New { id, dir, force } => rules_new::run(&id, &dir, force),
        },
        Command::Completions { shell } => generate::completions(shell),
        Command::Manpage { command, dir } => generate::manpage(&command, dir.as_deref()),
        Command::InventorySchema => generate::inventory_schema(),
    }
}

/// Everything that makes a command fail before producing a result (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
    #[error("invalid rules:\n{0}")]
    Rules(#[from] crate::rules::diag::RuleErrors),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("unknown rule id `{0}` (see `ecaudit rules list`)")]
    UnknownRule(String),
    #[error(transparent)]
    Write(#[from] crate::output::WriteError),
    #[error(transparent)]
    Targets(#[from] crate::collect::TargetError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
    #[error(transparent)]
    Suppressions(#[from] crate::suppress::SuppressionError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Drift(#[from] crate::drift::DriftError),
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    #[error(transparent)]
    Trend(#[from] crate::history::trend::TrendError),
    #[error(transparent)]
    State(#[from] crate::drift::terraform::StateError),
    #[error(transparent)]
    Template(#[from] crate::report::templates::TemplateError),
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    #[error(transparent)]
    Result(#[from] crate::result::document::ResultError),
    #[error(transparent)]
    Merge(#[from] crate::merge::MergeError),
    #[error(transparent)]
    Doctor(#[from] crate::doctor::DoctorError),
    #[error("cannot keep the inventory being collected in {dir} (set TMPDIR to another directory): {source}")]
    Spool {
        dir: String,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    S3(#[from] crate::s3::Error),
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// The message for standard error: input text in it escaped (`text::terminal`), so a value
    /// cannot start a line or drive the terminal; rule diagnostics one per line.
    pub fn for_terminal(&self) -> String {
        match self {
            Error::Rules(errors) => std::iter::once("invalid rules:".to_string())
                .chain(
                    errors
                        .0
                        .iter()
                        .map(|d| crate::text::terminal(&d.to_string()).into_owned()),
                )
                .collect::<Vec<_>>()
                .join("\n"),
            other => crate::text::terminal(&other.to_string()).into_owned(),
        }
    }
}
