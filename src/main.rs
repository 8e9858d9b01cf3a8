//! The `ecaudit` binary: parse the command line, run the library, map the outcome to an exit
//! code (0 ok, 1 findings, 2 usage/input error, 3 incomplete scan).

use std::process::ExitCode;

use clap::Parser;

// Parsing, evaluation and rendering allocate many small values from several threads; with
// mimalloc the engine benchmark runs ~20 % faster end to end (docs/benchmarks.md, 2026-12-02).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use ecaudit::cli::Cli;

fn main() -> ExitCode {
    // clap exits with 2 on a usage error and 0 for --help/--version.
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let outcome = ecaudit::cmd::run(cli);
    // Messages name an S3 input by its URL, not by the local copy read.
    let code = match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("ecaudit: error: {}", ecaudit::s3::shown(&e.for_terminal()));
            ExitCode::from(ecaudit::exit::USAGE)
        }
    };
    ecaudit::s3::remove_copies();
    code
}

/// Logs to standard error, each event on one line with what it quotes escaped: RUST_LOG when
/// set, else the level `-v`s ask for, else nothing.
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::new(spec),
        _ => EnvFilter::new(match verbose {
            0 => "off",
            1 => "ecaudit=info",
            2 => "ecaudit=debug",
            _ => "ecaudit=trace,aws_config=debug,aws_smithy_runtime=debug,aws_sdk_sts=debug",
        }),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| ecaudit::text::LogStream(std::io::stderr()))
        .with_ansi(false)
        .init();
}
