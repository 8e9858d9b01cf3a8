//! `ecaudit collect`: the inventory of every deployment of the targets, written without
//! evaluating rules.

use super::Error;
use super::common::{SpoolDir, collect_live, resolve_targets, switch};
use crate::cli::CollectArgs;
use crate::collect::CollectOptions;
use crate::config::Config;
use crate::exit;
use crate::output::Output;
use crate::report;

/// What `collect` does, resolved from the command line and the config file.
#[derive(Clone, Debug)]
pub struct CollectSettings {
    pub targets: CollectOptions,
    pub output: Output,
    /// Exit 0 despite coverage gaps (`--allow-partial`, `[scan] allow_partial`).
    pub allow_partial: bool,
    /// No summary line on standard error.
    pub quiet: bool,
}

impl CollectSettings {
    pub fn resolve(args: &CollectArgs, config: &Config) -> CollectSettings {
        CollectSettings {
            targets: resolve_targets(&args.targets, &config.targets),
            output: args.output.clone().unwrap_or_default(),
            allow_partial: switch(args.allow_partial, config.allow_partial),
            quiet: args.targets.quiet,
        }
    }
}

pub fn run(args: &CollectArgs) -> Result<u8, Error> {
    let config = Config::load(args.config.as_deref())?;
    let profile = args.targets.profile.as_ref().or(config.targets.profile.as_ref());
    super::common::reach_s3(profile, args.targets.endpoint_url.as_ref(), &args.s3)?;
    collect(&CollectSettings::resolve(args, &config))
}

fn collect(settings: &CollectSettings) -> Result<u8, Error> {
    // The inventory goes to disk as units are read, not into memory.
    let dir = SpoolDir::beside(&settings.output);
    let mut spool = dir.spool()?;
    let (header, stats) = collect_live(&settings.targets, chrono::Utc::now(), |part, deployments| {
        spool.add(part, &deployments)
    })?;
    let spooled = spool.finish().map_err(|e| dir.error(e))?;
    settings
        .output
        .write(|w| report::write_json(&spooled.with_header(&header), true, w))?;
    if !settings.quiet {
        eprintln!("ecaudit: collected {stats}");
    }
    Ok(match stats.coverage_gaps > 0 && !settings.allow_partial {
        true => exit::INCOMPLETE,
        false => exit::OK,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;
    use crate::cmd::common::tests::{command, config};

    fn settings(args: &[&str], config_text: &str) -> CollectSettings {
        let mut all = vec!["collect"];
        all.extend(args);
        let Command::Collect(args) = command(&all) else {
            unreachable!()
        };
        CollectSettings::resolve(&args, &config(config_text))
    }

    #[test]
    fn allow_partial_from_the_command_line_or_the_config() {
        assert!(!settings(&[], "").allow_partial);
        assert!(settings(&[], "[scan]\nallow_partial = true\n").allow_partial);
        assert!(settings(&["--allow-partial"], "[scan]\nallow_partial = false\n").allow_partial);
    }

    #[test]
    fn the_inventory_goes_to_standard_output_unless_a_file_is_given() {
        assert!(settings(&[], "").output.is_stdout());
        assert!(settings(&["-o", "-"], "").output.is_stdout());
        assert_eq!(settings(&["-o", "inv.json"], "").output.to_string(), "inv.json");
    }
}
