//! What several commands share: rules and suppressions as the config file and the command line
//! set them, the targets of a live collection (command line over `[targets]` over defaults),
//! collecting, where a collection spools, and how an output looks where it goes.

use std::io;
use std::path::{Path, PathBuf};

use super::Error;
use crate::cli::{ColorChoice, RuleArgs, TargetArgs};
use crate::collect::{AccountSpec, CallRecorder, CollectOptions, CollectStats, RegionSpec};
use crate::config::{Config, Targets, apply_params};
use crate::inventory::{Deployment, Inventory, Spool};
use crate::output::Output;
use crate::rules::RuleSet;
use crate::suppress::Suppression;

/// Where a command's deployments come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A saved inventory (`-`: standard input).
    Inventory(PathBuf),
    /// A live collection.
    Live(Box<CollectOptions>),
}

/// A switch of the command line, else of the config file, else off. A flag can only turn it on:
/// there is no `--no-...` to override a config's `true`.
pub fn switch(flag: bool, config: Option<bool>) -> bool {
    flag || config.unwrap_or(false)
}

/// The bundled rules and those of the config's and the command line's directories, with the
/// config file's settings and then the `--param`s applied.
pub fn load_rules(args: &RuleArgs, config: &Config) -> Result<RuleSet, Error> {
    let rules = load_rules_again(args, config)?;
    // A replaced bundled rule is never silent (file names come from the user: escaped).
    for o in rules.overrides() {
        eprintln!("ecaudit: warning: {}", crate::text::terminal(&o.to_string()));
    }
    Ok(rules)
}

/// [`load_rules`] without its warnings: a second rule set for a command that already loaded
/// (and warned about) the first.
pub fn load_rules_again(args: &RuleArgs, config: &Config) -> Result<RuleSet, Error> {
    let dirs: Vec<PathBuf> = config.rule_dirs.iter().chain(&args.rule_dirs).cloned().collect();
    let options = crate::rules::LoadOptions {
        refuse_overrides: args.no_override,
    };
    let mut rules = RuleSet::load_with(&dirs, options)?;
    config.apply(&mut rules)?;
    apply_params(&mut rules, &args.params)?;
    Ok(rules)
}

/// Refuses to print the HTML report on a terminal: it is a page for a browser (100 KB of markup
/// on a screen), so the user is asked for a file instead.
pub fn html_destination(to: &Output) -> Result<(), Error> {
    match to.is_terminal() {
        true => Err(Error::Usage(
            "the HTML report is a page for a browser: give -o FILE (or redirect standard output)".into(),
        )),
        false => Ok(()),
    }
}

/// The suppressions files of the config, then those of the command line.
pub fn suppression_files(config: &Config, extra: &[PathBuf]) -> Vec<PathBuf> {
    config.suppressions.iter().chain(extra).cloned().collect()
}

/// The suppressions of `files`, checked against the rules' ids.
pub fn load_suppressions(files: &[PathBuf], rules: &RuleSet) -> Result<Vec<Suppression>, Error> {
    let ids: Vec<&str> = rules.ids().collect();
    let mut suppressions = Vec::new();
    for path in files {
        suppressions.extend(crate::suppress::file::load(path, &ids)?);
    }
    Ok(suppressions)
}

/// What a live collection reads, and how: `--regions`, `--accounts`, ... over `[targets]` of the
/// config file over the defaults of [`CollectOptions`].
pub fn resolve_targets(args: &TargetArgs, config: &Targets) -> CollectOptions {
    let regions = match args.regions.is_empty() {
        false => &args.regions,
        true => &config.regions,
    };
    let regions = match regions.as_slice() {
        [] => RegionSpec::Default,
        [all] if all == "all" => RegionSpec::All,
        list => RegionSpec::List(list.iter().map(|r| r.trim().to_string()).collect()),
    };
    let accounts = if args.organization {
        AccountSpec::Organization
    } else if !args.accounts.is_empty() {
        AccountSpec::List(args.accounts.iter().map(|a| a.trim().to_string()).collect())
    } else if config.organization {
        AccountSpec::Organization
    } else if !config.accounts.is_empty() {
        AccountSpec::List(config.accounts.clone())
    } else {
        AccountSpec::Caller
    };
    let defaults = CollectOptions::default();
    CollectOptions {
        profile: args.profile.clone().or_else(|| config.profile.clone()),
        endpoint_url: args.endpoint_url.clone(),
        regions,
        accounts,
        role_name: args.role_name.clone().or_else(|| config.role_name.clone()),
        external_id: args.external_id.clone().or_else(|| config.external_id.clone()),
        concurrency: args
            .concurrency
            .or(config.concurrency)
            .unwrap_or(defaults.concurrency),
        max_attempts: args
            .max_attempts
            .or(config.max_attempts)
            .unwrap_or(defaults.max_attempts),
        progress: !args.quiet && io::IsTerminal::is_terminal(&io::stderr()),
        shard: args.shard,
        attempt_timeout: args
            .attempt_timeout
            .map(std::time::Duration::from_secs)
            .unwrap_or(defaults.attempt_timeout),
        // A window alone asks for metrics too.
        metrics: (args.metrics
            || args.metrics_window.is_some()
            || config.metrics
            || config.metrics_window.is_some())
        .then(|| {
            args.metrics_window
                .clone()
                .or_else(|| config.metrics_window.clone())
                .unwrap_or_default()
        }),
        ..defaults
    }
}

/// Collects live: every target unit, errors as coverage. Each unit's deployments go to `each`
/// as the unit is read (see [`crate::collect::collect_each`]); returns the inventory without
/// its deployments.
pub fn collect_live(
    options: &CollectOptions,
    collected_at: chrono::DateTime<chrono::Utc>,
    each: impl FnMut(usize, Vec<Deployment>),
) -> Result<(Inventory, CollectStats), Error> {
    crate::collect::targets::validate(options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let recorder = CallRecorder::new();
    Ok(runtime.block_on(crate::collect::collect_each(
        options,
        &recorder,
        collected_at,
        each,
    ))?)
}

/// Where a live collection keeps its inventory: a directory, or (`None`) the temporary one.
pub struct SpoolDir(pub Option<PathBuf>);

impl SpoolDir {
    /// Next to `output` when it is (or will be) a regular file, so the inventory takes disk
    /// space where it will be written, not memory where the temporary directory is a tmpfs.
    pub fn beside(output: &Output) -> SpoolDir {
        SpoolDir(output.path().and_then(|p| {
            let regular = std::fs::metadata(p).map(|m| m.is_file()).unwrap_or(true);
            let parent = p.parent()?;
            regular.then(|| match parent.as_os_str().is_empty() {
                true => PathBuf::from("."),
                false => parent.to_path_buf(),
            })
        }))
    }

    pub fn error(&self, source: io::Error) -> Error {
        Error::Spool {
            dir: self
                .0
                .clone()
                .unwrap_or_else(std::env::temp_dir)
                .display()
                .to_string(),
            source,
        }
    }

    /// A new spool there: made before collection, so an unwritable directory costs no AWS call.
    pub fn spool(&self) -> Result<Spool, Error> {
        Spool::new(self.0.as_deref()).map_err(|e| self.error(e))
    }

    #[cfg(test)]
    fn dir(&self) -> Option<&std::path::Path> {
        self.0.as_deref()
    }
}

/// How a rendered output suits where it goes: a terminal gets colour (as `--color` and NO_COLOR
/// allow), its own width and indented JSON; a file or a pipe gets colour only when asked,
/// `COLUMNS` or 120 columns, and compact JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Look {
    pub color: bool,
    /// `None`: the terminal's own width.
    pub width: Option<u16>,
    /// Indented JSON.
    pub pretty: bool,
}

impl Look {
    pub fn new(output: &Output, choice: ColorChoice) -> Look {
        let terminal = output.is_terminal();
        Look {
            color: match choice {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            },
            width: (!terminal).then(plain_width),
            pretty: terminal,
        }
    }
}

/// Width for tables that do not go to a terminal: `COLUMNS`, else 120.
fn plain_width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(120)
}

/// Sets how this command reaches S3 for `s3://` inputs, outputs and histories (the scan's
/// credential chain, `--profile`, `--endpoint-url`; `--s3-sse`), before anything is read.
pub fn reach_s3(
    profile: Option<&String>,
    endpoint_url: Option<&String>,
    s3: &crate::cli::S3Args,
) -> Result<(), Error> {
    let sse = crate::s3::Sse::from_flags(s3.s3_sse.as_deref(), s3.s3_kms_key_id.as_deref())
        .map_err(Error::Usage)?;
    crate::s3::configure(crate::s3::Settings {
        profile: profile.cloned(),
        endpoint_url: endpoint_url.cloned(),
        sse,
    });
    Ok(())
}

/// The file to read for an input argument: itself, or a local copy of its S3 object.
pub fn input(arg: &Path) -> Result<PathBuf, Error> {
    Ok(crate::s3::input(arg)?)
}

#[cfg(test)]
pub(super) mod tests {
    use std::path::Path;

    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    /// The parsed command line `ecaudit ARGS...`.
    pub fn command(args: &[&str]) -> Command {
        let mut all = vec!["ecaudit"];
        all.extend(args);
        Cli::try_parse_from(all)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
            .command
    }

    pub fn config(text: &str) -> Config {
        Config::parse(text, "ecaudit.toml").unwrap()
    }

    fn targets(args: &[&str], config_text: &str) -> CollectOptions {
        let mut all = vec!["collect"];
        all.extend(args);
        let Command::Collect(args) = command(&all) else {
            unreachable!()
        };
        resolve_targets(&args.targets, &config(config_text).targets)
    }

    const TARGETS: &str = "[targets]\nregions = [\"eu-west-1\"]\naccounts = [\"111111111111\"]\nrole_name = \
\"Audit\"\nprofile = \"prod\"\nconcurrency = 4\nmax_attempts = 9\nmetrics_window = \"14d\"\n";

    #[test]
    fn targets_default_without_command_line_or_config() {
        let t = targets(&[], "");
        assert_eq!(t.regions, RegionSpec::Default);
        assert_eq!(t.accounts, AccountSpec::Caller);
        assert_eq!((t.profile, t.role_name), (None, None));
        let defaults = CollectOptions::default();
        assert_eq!(t.concurrency, defaults.concurrency);
        assert_eq!(t.max_attempts, defaults.max_attempts);
        assert_eq!(t.attempt_timeout, defaults.attempt_timeout);
        assert_eq!(t.metrics, None);
    }

    #[test]
    fn targets_come_from_the_config_when_the_command_line_is_silent() {
        let t = targets(&[], TARGETS);
        assert_eq!(t.regions, RegionSpec::List(vec!["eu-west-1".into()]));
        assert_eq!(t.accounts, AccountSpec::List(vec!["111111111111".into()]));
        assert_eq!(t.role_name.as_deref(), Some("Audit"));
        assert_eq!(t.profile.as_deref(), Some("prod"));
        assert_eq!((t.concurrency, t.max_attempts), (4, 9));
        // A window alone asks for metrics.
        assert_eq!(t.metrics.map(|w| w.label), Some("14d".into()));
    }

    #[test]
    fn the_command_line_wins_over_the_config() {
        let t = targets(
            &[
                "--regions=all",
                "--organization",
                "--role-name=Other",
                "--profile=dev",
                "--concurrency=2",
                "--max-attempts=3",
                "--metrics-window=1h",
            ],
            TARGETS,
        );
        assert_eq!(t.regions, RegionSpec::All);
        assert_eq!(t.accounts, AccountSpec::Organization);
        assert_eq!(t.role_name.as_deref(), Some("Other"));
        assert_eq!(t.profile.as_deref(), Some("dev"));
        assert_eq!((t.concurrency, t.max_attempts), (2, 3));
        assert_eq!(t.metrics.map(|w| w.label), Some("1h".into()));
        let t = targets(&["--accounts", " 222222222222,333333333333"], TARGETS);
        assert_eq!(
            t.accounts,
            AccountSpec::List(vec!["222222222222".into(), "333333333333".into()])
        );
        // `--metrics` reads over the config's window, else the default one.
        let t = targets(&["--metrics"], "");
        assert_eq!(t.metrics, Some(Default::default()));
    }

    #[test]
    fn switches_turn_on_from_either_side() {
        assert!(!switch(false, None));
        assert!(!switch(false, Some(false)));
        assert!(switch(false, Some(true)));
        assert!(switch(true, Some(false)));
    }

    #[test]
    fn a_collection_spools_beside_its_output_file() {
        assert_eq!(SpoolDir::beside(&Output::Stdout).dir(), None);
        let beside = |p: &str| SpoolDir::beside(&Output::from(PathBuf::from(p)));
        assert_eq!(beside("out/inventory.json").dir(), Some(Path::new("out")));
        assert_eq!(beside("inventory.json").dir(), Some(Path::new(".")));
        // Not a regular file (a device, a FIFO): the temporary directory.
        assert_eq!(beside("/dev/null").dir(), None);
    }

    #[test]
    fn a_file_gets_colour_only_when_asked() {
        let file = Output::from(PathBuf::from("report.txt"));
        let look = Look::new(&file, ColorChoice::Auto);
        assert!(!look.color && !look.pretty && look.width.is_some());
        assert!(Look::new(&file, ColorChoice::Always).color);
    }
}
