//! What each command does: resolve the command line and the config file into one plan, validate
//! every input before the work starts, run the pipeline, write the outputs.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{
    Cli, CollectArgs, ColorChoice, Command, DiffArgs, DiffFormat, DriftArgs, ListFormat, MergeArgs,
    ReportArgs, RuleArgs, RulesCommand, ScanArgs, TargetArgs,
};
use crate::collect::{AccountSpec, CallRecorder, CollectOptions, CollectStats, RegionSpec, TargetError};
use crate::config::{Config, ConfigError, OutputSpec, apply_params};
use crate::evaluate::{PartEvaluator, evaluate, evaluate_document};
use crate::inventory::{Deployment, Document, Inventory, InventoryError, Spool, Spooled, read_text};
use crate::output::write_to;
use crate::report::audit::AuditReport;
use crate::report::templates::{ReportFormat, Template};
use crate::report::{self, Format, RenderOptions};
use crate::result::BaselineState;
use crate::result::ScanResult;
use crate::result::summary::{GateOptions, Summary};
use crate::rules::Severity;
use crate::rules::diag::RuleErrors;
use crate::rules::{Rule, RuleSet, Test};
use crate::suppress::{Baseline, Suppression, SuppressionError};

/// Everything that makes a command fail before producing a result (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("invalid rules:\n{0}")]
    Rules(#[from] RuleErrors),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("unknown rule id `{0}` (see `ecaudit rules list`)")]
    UnknownRule(String),
    #[error("{path}: cannot write: {source}")]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Targets(#[from] TargetError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
    #[error(transparent)]
    Suppressions(#[from] SuppressionError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Drift(#[from] crate::drift::DriftError),
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    #[error(transparent)]
    State(#[from] crate::drift::terraform::StateError),
    #[error(transparent)]
    Template(#[from] crate::report::templates::TemplateError),
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
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// Runs a command; returns the exit code it ends with.
pub fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Scan(args) => scan(&args),
        Command::Collect(args) => collect_command(&args),
        Command::Diff(args) => diff_command(&args),
        Command::Drift(args) => drift_command(&args),
        Command::Report(args) => report_command(&args),
        Command::Merge(args) => merge_command(&args),
        Command::Doctor(args) => doctor_command(&args),
        Command::Rules { command } => match command {
            RulesCommand::List { format, rules } => rules_list(format, &rules),
            RulesCommand::Show { id, rules } => rules_show(&id, &rules),
            RulesCommand::Validate { dir } => rules_validate(&dir),
        },
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            emit(None, |w| {
                clap_complete::generate(shell, &mut command, "ecaudit", w);
                Ok(())
            })?;
            Ok(0)
        }
        Command::Manpage => {
            let command = <Cli as clap::CommandFactory>::command();
            emit(None, |w| clap_mangen::Man::new(command).render(w))?;
            Ok(0)
        }
        Command::InventorySchema => {
            let schema = serde_json::to_string_pretty(&Inventory::json_schema()).expect("schema serializes");
            emit(None, |w| writeln!(w, "{schema}"))?;
            Ok(0)
        }
    }
}

/// Loads the bundled and added rules and applies the config file and `--param`s.
fn load_rules(args: &RuleArgs) -> Result<(Config, RuleSet), Error> {
    let config = Config::load(args.config.as_deref())?;
    let mut dirs: Vec<PathBuf> = config.rule_dirs.clone();
    dirs.extend(args.rule_dirs.iter().cloned());
    let mut rules = RuleSet::load(&dirs)?;
    config.apply(&mut rules)?;
    apply_params(&mut rules, &args.params)?;
    Ok((config, rules))
}

fn emit(path: Option<&Path>, render: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    write_to(path, render).map_err(|source| Error::Write {
        path: path
            .filter(|p| p.as_os_str() != "-")
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "standard output".into()),
        source,
    })
}

fn use_color(choice: ColorChoice, to_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Width for tables that do not go to a terminal: `COLUMNS`, else 120.
fn plain_width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(120)
}

/// Resolves `--regions`, `--accounts`, ... with `[targets]` of the config file.
fn collect_options(args: &TargetArgs, config: &Config) -> CollectOptions {
    let t = &config.targets;
    let regions = if !args.regions.is_empty() {
        &args.regions
    } else {
        &t.regions
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
    } else if t.organization {
        AccountSpec::Organization
    } else if !t.accounts.is_empty() {
        AccountSpec::List(t.accounts.clone())
    } else {
        AccountSpec::Caller
    };
    let defaults = CollectOptions::default();
    CollectOptions {
        profile: args.profile.clone().or_else(|| t.profile.clone()),
        endpoint_url: args.endpoint_url.clone(),
        regions,
        accounts,
        role_name: args.role_name.clone().or_else(|| t.role_name.clone()),
        external_id: args.external_id.clone().or_else(|| t.external_id.clone()),
        concurrency: args.concurrency.or(t.concurrency).unwrap_or(defaults.concurrency),
        max_attempts: args
            .max_attempts
            .or(t.max_attempts)
            .unwrap_or(defaults.max_attempts),
        progress: !args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        shard: args.shard,
        attempt_timeout: args
            .attempt_timeout
            .map(std::time::Duration::from_secs)
            .unwrap_or(defaults.attempt_timeout),
        // A window alone asks for metrics too.
        metrics: (args.metrics || args.metrics_window.is_some() || t.metrics || t.metrics_window.is_some())
            .then(|| {
                args.metrics_window
                    .clone()
                    .or_else(|| t.metrics_window.clone())
                    .unwrap_or_default()
            }),
        ..defaults
    }
}

/// Collects live: every target unit, errors as coverage. Each unit's deployments go to `each`
/// as the unit is read (see [`crate::collect::collect_each`]); returns the inventory without
/// its deployments.
fn collect_live(
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

/// Where a live collection keeps its inventory: `dir`, or the temporary directory.
struct SpoolDir(Option<PathBuf>);

impl SpoolDir {
    /// Next to `output` when it is (or will be) a regular file, so the inventory takes disk
    /// space where it will be written, not memory where the temporary directory is a tmpfs.
    fn beside(output: Option<&Path>) -> SpoolDir {
        SpoolDir(output.filter(|p| p.as_os_str() != "-").and_then(|p| {
            let regular = std::fs::metadata(p).map(|m| m.is_file()).unwrap_or(true);
            let parent = p.parent()?;
            regular.then(|| match parent.as_os_str().is_empty() {
                true => PathBuf::from("."),
                false => parent.to_path_buf(),
            })
        }))
    }

    fn error(&self, source: io::Error) -> Error {
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
    fn spool(&self) -> Result<Spool, Error> {
        Spool::new(self.0.as_deref()).map_err(|e| self.error(e))
    }
}

fn collect_command(args: &CollectArgs) -> Result<u8, Error> {
    let config = Config::load(args.config.as_deref())?;
    let options = collect_options(&args.targets, &config);
    // The inventory goes to disk as units are read, not into memory.
    let dir = SpoolDir::beside(args.output.as_deref());
    let mut spool = dir.spool()?;
    let (header, stats) = collect_live(&options, chrono::Utc::now(), |part, deployments| {
        spool.add(part, &deployments)
    })?;
    let inventory = ThisRun::Spooled {
        spooled: spool.finish().map_err(|e| dir.error(e))?,
        header,
    };
    emit(args.output.as_deref(), |w| inventory.write(true, w))?;
    if !args.targets.quiet {
        eprintln!("ecaudit: collected {stats}");
    }
    let partial = args.allow_partial || config.allow_partial.unwrap_or(false);
    Ok(if stats.coverage_gaps > 0 && !partial {
        crate::exit::INCOMPLETE
    } else {
        crate::exit::OK
    })
}

/// This run's inventory, where `--history` and `collect` need it whole: loaded from a file
/// (`scan --inventory`), or spooled to disk while collected.
enum ThisRun {
    Loaded(Inventory),
    Spooled { header: Inventory, spooled: Spooled },
}

impl ThisRun {
    /// Everything but the deployments.
    fn header(&self) -> &Inventory {
        match self {
            ThisRun::Loaded(inventory) => inventory,
            ThisRun::Spooled { header, .. } => header,
        }
    }

    fn len(&self) -> usize {
        match self {
            ThisRun::Loaded(inventory) => inventory.deployments.len(),
            ThisRun::Spooled { spooled, .. } => spooled.len(),
        }
    }

    /// The deployments in order; a spooled inventory's are read back a unit at a time.
    fn deployments(
        &self,
    ) -> Box<dyn Iterator<Item = Result<std::borrow::Cow<'_, Deployment>, InventoryError>> + '_> {
        use std::borrow::Cow;
        match self {
            ThisRun::Loaded(inventory) => {
                Box::new(inventory.deployments.iter().map(|d| Ok(Cow::Borrowed(d))))
            }
            ThisRun::Spooled { spooled, .. } => Box::new(spooled.iter().map(|d| {
                d.map(Cow::Owned).map_err(|source| InventoryError::Io {
                    path: "(this run's inventory, spooled to disk)".into(),
                    source,
                })
            })),
        }
    }

    /// The inventory document and a newline.
    fn write(&self, pretty: bool, w: &mut dyn Write) -> io::Result<()> {
        match self {
            ThisRun::Loaded(inventory) => report::write_json(inventory, pretty, w),
            ThisRun::Spooled { header, spooled } => {
                report::write_json(&spooled.with_header(header), pretty, w)
            }
        }
    }
}

/// The suppressions and baseline of a scan, read and validated before any work starts.
struct WaiverInputs {
    suppressions: Vec<Suppression>,
    baseline: Option<Baseline>,
    update_baseline: Option<PathBuf>,
}

/// The suppressions of the config file and of `extra` files, checked against the rules' ids.
fn load_suppressions(config: &Config, extra: &[PathBuf], rules: &RuleSet) -> Result<Vec<Suppression>, Error> {
    let ids: Vec<&str> = rules.ids().collect();
    let mut suppressions = Vec::new();
    for path in config.suppressions.iter().chain(extra) {
        suppressions.extend(crate::suppress::file::load(path, &ids)?);
    }
    Ok(suppressions)
}

fn load_waivers(args: &ScanArgs, config: &Config, rules: &RuleSet) -> Result<WaiverInputs, Error> {
    let suppressions = load_suppressions(config, &args.suppressions, rules)?;
    let baseline = match args.baseline.as_ref().or(config.baseline.as_ref()) {
        Some(path) => Some(Baseline::load(path)?),
        None => None,
    };
    Ok(WaiverInputs {
        suppressions,
        baseline,
        update_baseline: args.update_baseline.clone(),
    })
}

/// This run's place in a `--history` directory: where it goes, once its outputs are written.
struct Recorder {
    history: crate::history::History,
    dir: PathBuf,
    stamp: String,
}

impl Recorder {
    /// Writes this run's inventory and result (atomically), then keeps only the newest `keep`.
    fn record(
        self,
        inventory: &ThisRun,
        result: &ScanResult,
        summary: &Summary,
        keep: usize,
    ) -> Result<(), Error> {
        let run = self.history.run(&self.stamp);
        emit(Some(&run.inventory), |w| inventory.write(false, w))?;
        let options = RenderOptions {
            min_severity: Severity::Info,
            color: false,
            width: None,
            pretty: false,
        };
        emit(Some(&run.scan), |w| {
            crate::result::document::write(result, summary, options.min_severity, false, w)
        })?;
        let pruned = self.history.prune(keep)?;
        eprintln!(
            "ecaudit: recorded run {} in {}{}",
            self.stamp,
            self.dir.display(),
            if pruned.is_empty() {
                String::new()
            } else {
                format!("; removed {} older run(s), keeping {keep}", pruned.len())
            }
        );
        Ok(())
    }
}

/// Compares this run with the newest earlier run in `dir` (the drift goes into the outputs) and
/// returns where this run will be recorded. An unreadable earlier run is a warning, not a lost
/// scan. Neither inventory is held whole: the earlier one is mapped and parsed a deployment at a
/// time, this run's read back from its spool.
fn compare_with_history(dir: &Path, inventory: &ThisRun, result: &mut ScanResult) -> Result<Recorder, Error> {
    use crate::drift::DriftError;
    use crate::result::{DriftReport, Side};
    let history = crate::history::History::open(dir)?;
    let previous = history.runs()?.pop();
    let stamp = history.stamp(chrono::Utc::now());
    if let Some(prev) = previous {
        let mut compare = || -> Result<DriftReport, DriftError> {
            let old_states = crate::drift::read_finding_states(&prev.scan)?;
            let file = prev.inventory.display().to_string();
            let text = read_text(&prev.inventory)?;
            let old = Document::parse(&text, &file)?;
            let drift = crate::drift::diff_each(
                old.len(),
                |i| old.deployment(i).map(std::borrow::Cow::Owned),
                inventory.deployments(),
                &old.header.coverage,
                &inventory.header().coverage,
            )?;
            let side = |file: String, header: &Inventory, deployments| Side {
                file,
                document: "inventory".into(),
                collected_at: header.collected_at,
                deployments,
            };
            Ok(DriftReport::new(
                side(file, &old.header, old.len()),
                side(
                    history.run(&stamp).inventory.display().to_string(),
                    inventory.header(),
                    inventory.len(),
                ),
                drift,
                crate::drift::mark(&old_states, result),
            ))
        };
        match compare() {
            Ok(report) => result.drift = Some(report),
            Err(e) => eprintln!("ecaudit: warning: the previous run cannot be compared: {e}"),
        }
    }
    Ok(Recorder {
        history,
        dir: dir.to_path_buf(),
        stamp,
    })
}

/// Every output of a scan: the primary one (`--format`, `--output`) and each `--output-format`.
fn outputs(args: &ScanArgs, config: &Config) -> Result<Vec<OutputSpec>, Error> {
    let mut all = vec![OutputSpec {
        format: args.format,
        path: args.output.clone().unwrap_or_else(|| PathBuf::from("-")),
    }];
    all.extend(config.outputs.iter().cloned());
    all.extend(args.outputs.iter().cloned());
    let to_stdout = all.iter().filter(|o| o.path.as_os_str() == "-").count();
    if to_stdout > 1 {
        return Err(Error::Usage(
            "more than one output goes to standard output; give --output FILE or FORMAT=FILE".into(),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(path) = &args.update_baseline {
        if path.as_os_str() == "-" {
            return Err(Error::Usage(
                "--update-baseline needs a file, not standard output".into(),
            ));
        }
        seen.insert(path);
    }
    for o in &all {
        if o.path.as_os_str() != "-" && !seen.insert(&o.path) {
            return Err(Error::Usage(format!(
                "{} is the destination of two outputs (or of an output and the baseline)",
                o.path.display()
            )));
        }
    }
    Ok(all)
}

/// Applies suppressions, then the baseline, then writes and applies `--update-baseline`.
fn waive(result: &mut ScanResult, inputs: WaiverInputs, today: chrono::NaiveDate) -> Result<(), Error> {
    crate::suppress::apply_suppressions(result, inputs.suppressions, today);
    let mut state = inputs
        .baseline
        .as_ref()
        .map(|b| crate::suppress::apply_baseline(result, b));
    if let Some(path) = &inputs.update_baseline {
        // Today's failures, plus the old entries this scan could not check (undecided, or not
        // scanned), so a partial scan does not drop them.
        let mut entries = crate::suppress::failing_entries(result);
        if let Some(old) = &state {
            entries.extend(old.unverified.iter().cloned());
        }
        emit(Some(path), |w| Baseline::write(&entries, w))?;
        let written = Baseline {
            file: path.display().to_string(),
            entries: entries.into_iter().collect(),
        };
        let applied = crate::suppress::apply_baseline(result, &written);
        let state = state.get_or_insert_with(|| BaselineState {
            file: None,
            ..applied.clone()
        });
        state.matched = applied.matched;
        state.updated = Some(written.file);
        state.written = written.entries.len();
    }
    result.waivers.baseline = state;
    Ok(())
}

fn scan(args: &ScanArgs) -> Result<u8, Error> {
    // Rules, config, suppressions, baseline and outputs are validated before the (possibly
    // large) inventory is read, and before any AWS call.
    if args.targets.shard.is_some() {
        let conflict = [
            (
                args.inventory.is_some(),
                "--inventory (shard the collection: `collect --shard`)",
            ),
            (
                args.history.is_some(),
                "--history (record the merged result instead)",
            ),
            (
                args.update_baseline.is_some(),
                "--update-baseline (update it from the merged result)",
            ),
        ];
        if let Some((_, what)) = conflict.iter().find(|(given, _)| *given) {
            return Err(Error::Usage(format!("--shard cannot be used with {what}")));
        }
    }
    let (config, rules) = load_rules(&args.rules)?;
    let waivers = load_waivers(args, &config, &rules)?;
    let outputs = outputs(args, &config)?;
    let template = match outputs.iter().any(|o| o.format == Format::Html) {
        true => Some(Template::load(ReportFormat::Html, args.template.as_deref())?),
        false if args.template.is_some() => {
            return Err(Error::Usage(
                "--template applies to the HTML report: add --format html or --output-format html=FILE"
                    .into(),
            ));
        }
        false => None,
    };
    // Nightly mode compares this run's inventory with the previous one and records it.
    let history = args.history.is_some();
    let mut unrecorded = None;
    let (mut result, stats, inventory): (ScanResult, Option<CollectStats>, Option<ThisRun>) =
        match &args.inventory {
            Some(path) if history => {
                let inventory = crate::inventory::load_inventory(path)?;
                let now = args
                    .now
                    .or(inventory.collected_at)
                    .unwrap_or_else(chrono::Utc::now);
                let result = evaluate(&inventory, rules, now);
                (result, None, Some(ThisRun::Loaded(inventory)))
            }
            Some(path) => {
                let text = read_text(path)?;
                let doc = Document::parse(&text, &path.display().to_string())?;
                let result = evaluate_document(&doc, rules, args.now)?;
                // The inventory text is the largest allocation; free it before rendering.
                drop(doc);
                drop(text);
                (result, None, None)
            }
            None => {
                // Each unit is evaluated as it is read and its deployments dropped (or spooled
                // to disk for `--history`): memory holds findings, not the inventory.
                let options = collect_options(&args.targets, &config);
                let collected_at = chrono::Utc::now();
                let now = args.now.unwrap_or(collected_at);
                // Spooled in the history directory, where it will be recorded.
                let dir = SpoolDir(args.history.clone());
                if let Some(history) = &args.history {
                    crate::history::History::open(history)?;
                }
                let mut spool = if history { Some(dir.spool()?) } else { None };
                let mut parts = PartEvaluator::new(&rules, now);
                let (header, stats) = collect_live(&options, collected_at, |part, deployments| {
                    parts.add(part, &deployments);
                    if let Some(spool) = &mut spool {
                        spool.add(part, &deployments);
                    }
                })?;
                let evaluated = parts.finish();
                let spooled = spool.map(|s| s.finish());
                // A run to record keeps its header (its coverage is recorded with the
                // inventory); a plain scan's moves into the result.
                let kept = matches!(spooled, Some(Ok(_))).then(|| header.clone());
                let result = evaluated.into_result(header, rules, now);
                // A spool that failed loses the comparison and the record, not the scan: the
                // outputs are written, then the error is the command's.
                let inventory = match (spooled, kept) {
                    (Some(Ok(spooled)), Some(header)) => Some(ThisRun::Spooled { spooled, header }),
                    (Some(Err(e)), _) => {
                        let e = dir.error(e);
                        eprintln!("ecaudit: error: this run cannot be compared or recorded: {e}");
                        unrecorded = Some(e);
                        None
                    }
                    _ => None,
                };
                (result, Some(stats), inventory)
            }
        };
    tracing::info!(
        deployments = result.resources.len(),
        findings = result.findings.len(),
        rules = result.rules.rules().len(),
        "evaluated"
    );
    let today = args.now.unwrap_or_else(chrono::Utc::now).date_naive();
    waive(&mut result, waivers, today)?;
    let recorder = match (&args.history, &inventory) {
        (Some(dir), Some(inventory)) => Some(compare_with_history(dir, inventory, &mut result)?),
        _ => None,
    };

    let gate = GateOptions {
        fail_on: args.fail_on.or(config.fail_on).unwrap_or(Severity::High),
        allow_partial: args.allow_partial || config.allow_partial.unwrap_or(false),
        exit_zero: args.exit_zero || config.exit_zero.unwrap_or(false),
    };
    let mut summary = Summary::compute(&result, gate);
    summary.collection = stats;
    let min_severity = args.severity.or(config.severity).unwrap_or(Severity::Info);
    for output in &outputs {
        let to_file = output.path.as_os_str() != "-";
        let to_terminal = !to_file && std::io::IsTerminal::is_terminal(&std::io::stdout());
        let options = RenderOptions {
            min_severity,
            color: output.format == Format::Table && use_color(args.color, to_terminal),
            width: if to_terminal { None } else { Some(plain_width()) },
            pretty: to_terminal,
        };
        match &template {
            Some(template) if output.format == Format::Html => {
                let page = report::audit_report(&result, &summary, &options, template)?;
                emit(Some(&output.path), |w| w.write_all(&page))?;
            }
            _ => emit(Some(&output.path), |w| {
                report::render(output.format, &result, &summary, &options, w)
            })?,
        }
        if to_file {
            eprintln!(
                "ecaudit: wrote {} ({}): {} deployment(s), {} failing finding(s); {} → exit {}",
                output.path.display(),
                output.format.name(),
                summary.deployments,
                summary.findings.fail,
                summary.gate.reason,
                summary.gate.exit_code
            );
        }
    }
    for notice in result.waivers.notices() {
        eprintln!("ecaudit: warning: {notice}");
    }
    if let Some(b) = &result.waivers.baseline
        && let Some(path) = &b.updated
    {
        eprintln!("ecaudit: wrote baseline {path}: {} failing finding(s)", b.written);
    }
    if let Some(stats) = &summary.collection
        && !args.targets.quiet
    {
        eprintln!("ecaudit: collected {stats}");
    }
    if let (Some(recorder), Some(inventory)) = (recorder, &inventory) {
        recorder.record(inventory, &result, &summary, args.keep.unwrap_or(30) as usize)?;
    }
    if let Some(e) = unrecorded {
        return Err(e);
    }
    Ok(summary.gate.exit_code)
}

fn merge_command(args: &MergeArgs) -> Result<u8, Error> {
    use crate::merge::Merged;
    let merged = crate::merge::merge(&args.files)?;
    let to_terminal = args.output.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let (what, count) = match &merged {
        Merged::Inventory(i) => ("inventory", i.deployments.len()),
        Merged::Scan(s) => ("scan result", s.summary.deployments),
    };
    emit(args.output.as_deref(), |w| match &merged {
        Merged::Inventory(i) => report::write_json(i, to_terminal, w),
        Merged::Scan(s) => report::write_json(s, to_terminal, w),
    })?;
    eprintln!(
        "ecaudit: merged {} shard(s) into one {what}: {count} deployment(s)",
        args.files.len()
    );
    Ok(0)
}

fn report_command(args: &ReportArgs) -> Result<u8, Error> {
    // The template is checked before the (possibly large) result is read.
    let template = Template::load(args.format, args.template.as_deref())?;
    let doc: crate::result::document::Document = crate::result::document::read(&args.result)?;
    let mut page = Vec::new();
    template.render(&AuditReport::new(doc), &mut page)?;
    emit(args.output.as_deref(), |w| w.write_all(&page))?;
    if let Some(path) = args.output.as_deref().filter(|p| p.as_os_str() != "-") {
        eprintln!(
            "ecaudit: wrote {} ({} report)",
            path.display(),
            template.format().name()
        );
    }
    Ok(0)
}

/// Findings of an inventory for a diff: evaluated as of its collection time, suppressions applied.
fn diff_findings(
    inventory: &Inventory,
    rules: RuleSet,
    suppressions: Vec<Suppression>,
) -> Vec<crate::drift::FindingState> {
    let now = inventory.collected_at.unwrap_or_else(chrono::Utc::now);
    let mut result = evaluate(inventory, rules, now);
    crate::suppress::apply_suppressions(&mut result, suppressions, now.date_naive());
    crate::drift::finding_states(&result)
}

fn diff_command(args: &DiffArgs) -> Result<u8, Error> {
    use crate::drift::Input;
    use crate::result::{DriftReport, Side};
    // Rules, config and suppressions are checked before either document is read.
    let (config, rules) = load_rules(&args.rules)?;
    let suppressions = load_suppressions(&config, &args.suppressions, &rules)?;
    let old = Input::read(&args.old)?;
    let new = Input::read(&args.new)?;
    let side = |path: &Path, input: &Input| Side {
        file: path.display().to_string(),
        document: input.kind().into(),
        collected_at: match input {
            Input::Inventory(i) => i.collected_at,
            Input::Scan(s) => s.scan.collected_at,
        },
        deployments: match input {
            Input::Inventory(i) => i.deployments.len(),
            Input::Scan(s) => s.findings.resources.len(),
        },
    };
    let (old_side, new_side) = (side(&args.old, &old), side(&args.new, &new));
    let report = match (&old, &new) {
        (Input::Inventory(a), Input::Inventory(b)) => DriftReport::new(
            old_side,
            new_side,
            crate::drift::diff(a, b),
            // Each evaluation consumes a rule set: the second is loaded again.
            crate::drift::transitions(
                &diff_findings(a, rules, suppressions.clone()),
                &diff_findings(b, load_rules(&args.rules)?.1, suppressions),
            ),
        ),
        (Input::Scan(a), Input::Scan(b)) => {
            DriftReport::new(old_side, new_side, crate::drift::scan_deployments(a, b), {
                // Compare only what both results list.
                let min = a.scan.min_severity.max(b.scan.min_severity);
                crate::drift::transitions(&a.findings.at_or_above(min), &b.findings.at_or_above(min))
            })
        }
        _ => {
            return Err(crate::drift::DriftError::Mixed {
                old: old_side.file,
                old_kind: old.kind(),
                new: new_side.file,
                new_kind: new.kind(),
            }
            .into());
        }
    };
    let to_file = args.output.as_ref().is_some_and(|p| p.as_os_str() != "-");
    let to_terminal = !to_file && std::io::IsTerminal::is_terminal(&std::io::stdout());
    emit(args.output.as_deref(), |w| match args.format {
        DiffFormat::Table => report::drift::table(
            &report,
            use_color(args.color, to_terminal),
            if to_terminal { None } else { Some(plain_width()) },
            w,
        ),
        DiffFormat::Json => report::drift::json(&report, to_terminal, w),
        DiffFormat::Markdown => report::drift::markdown(&report, w),
    })?;
    Ok(if report.drifted {
        crate::exit::FINDINGS
    } else {
        crate::exit::OK
    })
}

fn drift_command(args: &DriftArgs) -> Result<u8, Error> {
    // The state is read and checked before any AWS call.
    let file = args.terraform_state.display().to_string();
    let text = read_text(&args.terraform_state)?;
    let state: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| crate::drift::DriftError::Invalid {
            file: file.clone(),
            line: e.line(),
            column: e.column(),
            message: crate::position::strip_position(&e.to_string()),
        })?;
    let config = Config::load(args.config.as_deref())?;
    let inventory = match &args.inventory {
        Some(path) => crate::inventory::load_inventory(path)?,
        None => {
            // Validate the state's shape first: an unusable state must not cost a collection.
            crate::drift::terraform::compare(&file, &state, &Inventory::new())?;
            let mut parts = Vec::new();
            let options = collect_options(&args.targets, &config);
            let (header, _) = collect_live(&options, chrono::Utc::now(), |part, deployments| {
                parts.push((part, deployments))
            })?;
            crate::collect::whole(header, parts)
        }
    };
    let drift = crate::drift::terraform::compare(&file, &state, &inventory)?;
    let to_file = args.output.as_ref().is_some_and(|p| p.as_os_str() != "-");
    let to_terminal = !to_file && std::io::IsTerminal::is_terminal(&std::io::stdout());
    emit(args.output.as_deref(), |w| match args.format {
        DiffFormat::Table => report::drift::state_table(
            &drift,
            use_color(args.color, to_terminal),
            if to_terminal { None } else { Some(plain_width()) },
            w,
        ),
        DiffFormat::Json => report::drift::state_json(&drift, to_terminal, w),
        DiffFormat::Markdown => report::drift::state_markdown(&drift, w),
    })?;
    Ok(if drift.drifted {
        crate::exit::FINDINGS
    } else {
        crate::exit::OK
    })
}

#[derive(Serialize)]
struct RuleListing<'a> {
    id: &'a str,
    title: &'a str,
    severity: Severity,
    enabled: bool,
    applies_to: Vec<&'static str>,
    params: &'a std::collections::BTreeMap<String, serde_json::Value>,
    controls: &'a std::collections::BTreeMap<String, Vec<String>>,
    source: String,
}

fn listing(rule: &Rule, enabled: bool) -> RuleListing<'_> {
    RuleListing {
        id: &rule.id,
        title: &rule.title,
        severity: rule.severity,
        enabled,
        applies_to: rule.applies_to.iter().map(|k| k.as_str()).collect(),
        params: &rule.params,
        controls: &rule.controls,
        source: format!("{}:{}", rule.origin.file, rule.origin.line),
    }
}

fn rules_list(format: ListFormat, args: &RuleArgs) -> Result<u8, Error> {
    let (_, rules) = load_rules(args)?;
    let mut all: Vec<RuleListing> = rules
        .rules()
        .iter()
        .map(|r| listing(r, true))
        .chain(rules.disabled().iter().map(|r| listing(r, false)))
        .collect();
    all.sort_by(|a, b| a.id.cmp(b.id));
    match format {
        ListFormat::Json => {
            let text = serde_json::to_string_pretty(&all).expect("rules serialize");
            emit(None, |w| writeln!(w, "{text}"))?;
        }
        ListFormat::Table => {
            let to_terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
            let mut t = report::common::styled_table(false, (!to_terminal).then(plain_width));
            t.set_header(vec!["Rule", "Severity", "Applies to", "Title"]);
            for r in &all {
                let id = if r.enabled {
                    r.id.to_string()
                } else {
                    format!("{} (disabled)", r.id)
                };
                t.add_row(vec![
                    id,
                    r.severity.to_string(),
                    r.applies_to.join(", "),
                    r.title.to_string(),
                ]);
            }
            emit(None, |w| writeln!(w, "{t}"))?;
        }
    }
    Ok(0)
}

fn rules_show(id: &str, args: &RuleArgs) -> Result<u8, Error> {
    let (_, rules) = load_rules(args)?;
    let rule = rules.get(id).ok_or_else(|| Error::UnknownRule(id.to_string()))?;
    let enabled = rules.rules().iter().any(|r| r.id == id);
    let mut text = String::new();
    let mut line = |s: String| {
        text.push_str(&s);
        text.push('\n');
    };
    line(format!("{} — {}", rule.id, rule.title));
    line(format!(
        "severity: {}{}",
        rule.severity,
        if rule.severity != rule.default_severity {
            format!(" (configured; the rule file says {})", rule.default_severity)
        } else {
            String::new()
        }
    ));
    line(format!("enabled: {enabled}"));
    line(format!(
        "applies to: {}",
        rule.applies_to
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    line(format!("defined in: {}:{}", rule.origin.file, rule.origin.line));
    if let Some(d) = &rule.description {
        line(format!("\n{d}"));
    }
    if let Some(w) = &rule.when {
        line(format!("\nwhen:\n  {}", w.source.replace('\n', "\n  ")));
    }
    let (label, expr) = match &rule.test {
        Test::Check(e) => ("check", e),
        Test::Violations(e) => ("violations", e),
    };
    line(format!("\n{label}:\n  {}", expr.source.replace('\n', "\n  ")));
    if let Some(e) = &rule.evidence {
        line(format!("\nevidence:\n  {}", e.source.replace('\n', "\n  ")));
    }
    if !rule.params.is_empty() {
        line("\nparams (in effect):".into());
        for (k, v) in &rule.params {
            let default = &rule.default_params[k];
            let note = if v != default {
                format!("   (default {default})")
            } else {
                String::new()
            };
            line(format!("  {k} = {v}{note}"));
        }
    }
    line(format!(
        "\nremediation:\n  {}",
        rule.remediation.replace('\n', "\n  ")
    ));
    if !rule.controls.is_empty() {
        line("\ncontrols:".into());
        for (framework, refs) in &rule.controls {
            line(format!("  {framework}: {}", refs.join(", ")));
        }
    }
    for r in &rule.references {
        line(format!("see: {r}"));
    }
    emit(None, |w| w.write_all(text.as_bytes()))?;
    Ok(0)
}

fn rules_validate(dir: &Path) -> Result<u8, Error> {
    let set = RuleSet::validate_dir(dir)?;
    let n = set.rules().len();
    emit(None, |w| writeln!(w, "{}: {n} rule(s) valid", dir.display()))?;
    Ok(0)
}

fn doctor_command(args: &crate::cli::DoctorArgs) -> Result<u8, Error> {
    use crate::cli::DoctorFormat;
    let defaults = CollectOptions::default();
    let collect = CollectOptions {
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
        regions: match &args.region {
            Some(r) => RegionSpec::List(vec![r.clone()]),
            None => RegionSpec::Default,
        },
        accounts: match &args.account {
            Some(a) => AccountSpec::List(vec![a.clone()]),
            None => AccountSpec::Caller,
        },
        role_name: args.role_name.clone(),
        external_id: args.external_id.clone(),
        max_attempts: args.max_attempts.unwrap_or(defaults.max_attempts),
        ..defaults
    };
    let tls_ca = match &args.tls_ca {
        Some(path) => Some(std::fs::read(path).map_err(|source| Error::Read {
            path: path.display().to_string(),
            source,
        })?),
        None => None,
    };
    let options = crate::doctor::DoctorOptions {
        deployment: args.deployment.clone(),
        collect,
        from: args.from.clone(),
        connect: args.connect.clone(),
        auth_token_env: args.auth_token_env.clone(),
        user: args.user.clone(),
        tls_ca,
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    let diagnosis = crate::doctor::run(&options)?;
    emit(args.output.as_deref(), |w| match args.format {
        DoctorFormat::Table => crate::doctor::render_table(&diagnosis, w),
        DoctorFormat::Json => crate::doctor::render_json(&diagnosis, w),
    })?;
    Ok(diagnosis.exit_code())
}
