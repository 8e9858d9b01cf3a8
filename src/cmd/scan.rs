//! `ecaudit scan`: rules evaluated against a live collection or a saved inventory, waivers
//! applied, the gate decided, every output written (and, with `--history`, the run compared and
//! recorded).

mod history;

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};

use self::history::{ThisRun, compare_with_history};
use super::Error;
use super::common::{
    Look, Source, SpoolDir, collect_live, load_rules, load_suppressions, resolve_targets, suppression_files,
    switch,
};
use crate::cli::{ColorChoice, ScanArgs};
use crate::collect::CollectStats;
use crate::config::{Config, OutputSpec};
use crate::deliver::http::{Retry, SecretUrl};
use crate::deliver::notify::{Channel, NotifySpec, RunSummary};
use crate::evaluate::{PartEvaluator, evaluate, evaluate_document};
use crate::inventory::{Document, read_text};
use crate::output::Output;
use crate::report::templates::{ReportFormat, Template};
use crate::report::{self, Format, RenderOptions};
use crate::result::BaselineState;
use crate::result::ScanResult;
use crate::result::sla::Sla;
use crate::result::summary::{GateOptions, Summary};
use crate::rules::RuleSet;
use crate::rules::Severity;
use crate::suppress::{Baseline, Suppression, TagPolicy};
use crate::text;

/// What `scan` does, resolved from the command line over the config file over the defaults.
#[derive(Clone, Debug)]
pub struct ScanSettings {
    pub source: Source,
    /// The primary output (`--format`, `--output`), the config's `outputs`, then each
    /// `--output-format`: at most one to standard output, no file twice.
    pub outputs: Vec<OutputSpec>,
    /// The HTML report's template instead of the bundled one (only with an HTML output).
    pub template: Option<PathBuf>,
    /// Findings below it are not shown (the counts include them).
    pub min_severity: Severity,
    pub color: ColorChoice,
    pub gate: GateOptions,
    /// Evaluate as of this instant [default: the inventory's collection time, else now].
    pub now: Option<DateTime<Utc>>,
    /// Suppressions files: the config's, then the command line's.
    pub suppressions: Vec<PathBuf>,
    /// What resource tags may suppress (`[suppress]` of the config; off by default).
    pub tags: TagPolicy,
    pub baseline: Option<PathBuf>,
    /// Where this run's failing fingerprints go: a file, never standard output.
    pub update_baseline: Option<Output>,
    pub history: Option<HistorySettings>,
    /// Where the run's summary is posted once its outputs are written (`--notify`).
    pub notify: Vec<Notification>,
    /// `--publish security-hub`: the targets' credentials (profile, endpoint, role) the
    /// findings are imported with, each into its own account and region.
    pub publish: Option<Box<crate::collect::CollectOptions>>,
    /// No summary line on standard error.
    pub quiet: bool,
}

/// A `--notify` channel with its URL, read from the environment before anything else runs.
#[derive(Clone, Debug)]
pub struct Notification {
    pub channel: Channel,
    pub url: SecretUrl,
    pub limit: usize,
}

/// The URL of each `--notify`: from the variable it names, `--notify-url-env`, or the channel's
/// default variable. A missing or malformed URL is a usage error naming the variable, never its
/// value.
fn notifications(args: &ScanArgs) -> Result<Vec<Notification>, Error> {
    args.notify
        .iter()
        .map(|raw| {
            let spec: NotifySpec = raw
                .parse()
                .map_err(|e| Error::Usage(format!("--notify takes KIND[=VAR]: {e}")))?;
            let var = spec
                .env
                .as_deref()
                .or(args.notify_url_env.as_deref())
                .unwrap_or(spec.channel.default_env());
            let value = std::env::var(var).unwrap_or_default();
            if value.trim().is_empty() {
                return Err(Error::Usage(format!(
                    "--notify {}: the environment variable {var} holding its URL is not set",
                    spec.channel.as_str()
                )));
            }
            let url = SecretUrl::parse(&value).map_err(|why| {
                Error::Usage(format!(
                    "--notify {}: the URL in {var} cannot be used: {why}",
                    spec.channel.as_str()
                ))
            })?;
            Ok(Notification {
                channel: spec.channel,
                url,
                limit: args.notify_limit,
            })
        })
        .collect()
}

/// Nightly mode: where runs are kept, and how many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistorySettings {
    pub dir: PathBuf,
    pub keep: usize,
    /// Remediation deadlines: `--sla`, else the config's `[gate] sla`.
    pub sla: Option<Sla>,
}

/// Runs kept by `--history` without `--keep`.
const KEEP: usize = 30;

impl ScanSettings {
    /// The settings of `args` and `config`; outputs that clash and a template without an HTML
    /// output are usage errors.
    pub fn resolve(args: &ScanArgs, config: &Config) -> Result<ScanSettings, Error> {
        let settings = ScanSettings {
            source: match &args.inventory {
                Some(path) => Source::Inventory(path.clone()),
                None => Source::Live(Box::new(resolve_targets(&args.targets, &config.targets))),
            },
            outputs: output_specs(args.format, args.output.as_ref(), config, &args.outputs),
            template: args.template.clone(),
            min_severity: args.severity.or(config.severity).unwrap_or(Severity::Info),
            color: args.color,
            gate: GateOptions {
                fail_on_overdue: switch(args.fail_on_overdue, config.fail_on_overdue)
                    && args.history.is_some(),
                ..gate_options(args.fail_on, args.allow_partial, args.exit_zero, config)
            },
            now: args.now,
            suppressions: suppression_files(config, &args.suppressions),
            tags: config.tags.clone(),
            baseline: args.baseline.clone().or_else(|| config.baseline.clone()),
            update_baseline: args.update_baseline.clone(),
            history: args.history.as_ref().map(|dir| HistorySettings {
                dir: dir.clone(),
                keep: args.keep.map_or(KEEP, |k| k as usize),
                sla: args.sla.clone().or_else(|| config.sla.clone()),
            }),
            notify: notifications(args)?,
            publish: (!args.publish.is_empty())
                .then(|| Box::new(resolve_targets(&args.targets, &config.targets))),
            quiet: args.targets.quiet,
        };
        Self::checked(settings)
    }

    /// `settings`, once its outputs are shown not to clash.
    pub fn checked(settings: ScanSettings) -> Result<ScanSettings, Error> {
        settings.check_outputs()?;
        Ok(settings)
    }

    fn check_outputs(&self) -> Result<(), Error> {
        let usage = |message: String| Err(Error::Usage(message));
        if self.gate.fail_on_overdue && self.history.as_ref().is_none_or(|h| h.sla.is_none()) {
            return usage(
                "--fail-on-overdue needs remediation deadlines: --sla (e.g. critical=7d,high=30d) \
                 or `[gate] sla` in the config"
                    .into(),
            );
        }
        if self.outputs.iter().filter(|o| o.to.is_stdout()).count() > 1 {
            return usage(
                "more than one output goes to standard output; give --output FILE or FORMAT=FILE".into(),
            );
        }
        let mut seen = BTreeSet::new();
        if let Some(baseline) = &self.update_baseline {
            if baseline.is_stdout() {
                return usage("--update-baseline needs a file, not standard output".into());
            }
            seen.insert(baseline);
        }
        for o in self.outputs.iter().filter(|o| !o.to.is_stdout()) {
            if !seen.insert(&o.to) {
                return usage(format!(
                    "{} is the destination of two outputs (or of an output and the baseline)",
                    o.to
                ));
            }
        }
        for o in self.outputs.iter().filter(|o| o.format == Format::Html) {
            super::common::html_destination(&o.to)?;
        }
        if self.template.is_some() && !self.has_html() {
            return usage(
                "--template applies to the HTML report: add --format html or --output-format html=FILE"
                    .into(),
            );
        }
        Ok(())
    }

    pub fn has_html(&self) -> bool {
        self.outputs.iter().any(|o| o.format == Format::Html)
    }
}

/// The primary output (`--format`, `--output`), then the config's outputs, then each
/// `--output-format`: the outputs of `scan` and `plan`.
pub(super) fn output_specs(
    format: Format,
    output: Option<&Output>,
    config: &Config,
    extra: &[OutputSpec],
) -> Vec<OutputSpec> {
    std::iter::once(OutputSpec {
        format,
        to: output.cloned().unwrap_or_default(),
    })
    .chain(config.outputs.iter().cloned())
    .chain(extra.iter().cloned())
    .collect()
}

/// The gate of `scan` and `plan`: the command line over the config file over the defaults.
pub(super) fn gate_options(
    fail_on: Option<Severity>,
    allow_partial: bool,
    exit_zero: bool,
    config: &Config,
) -> GateOptions {
    GateOptions {
        fail_on: fail_on.or(config.fail_on).unwrap_or(Severity::High),
        allow_partial: switch(allow_partial, config.allow_partial),
        exit_zero: switch(exit_zero, config.exit_zero),
        fail_on_overdue: false,
    }
}

/// Flags that make no sense together, refused before anything is read.
fn refuse_conflicts(args: &ScanArgs) -> Result<(), Error> {
    let usage = |message: String| Err(Error::Usage(message));
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
            return usage(format!("--shard cannot be used with {what}"));
        }
    }
    // Metrics are read while collecting; a saved inventory holds those it was collected with.
    if args.inventory.is_some() {
        let flag = match (args.targets.metrics, &args.targets.metrics_window) {
            (true, _) => Some("--metrics"),
            (false, Some(_)) => Some("--metrics-window"),
            (false, None) => None,
        };
        if let Some(flag) = flag {
            return usage(format!(
                "{flag} cannot be used with --inventory (the inventory holds the metrics it was \
                 collected with: `collect --metrics`)"
            ));
        }
    }
    Ok(())
}

pub fn run(args: &ScanArgs) -> Result<u8, Error> {
    refuse_conflicts(args)?;
    let config = Config::load(args.rules.config.as_deref())?;
    let profile = args.targets.profile.as_ref().or(config.targets.profile.as_ref());
    super::common::reach_s3(profile, args.targets.endpoint_url.as_ref(), &args.s3)?;
    let settings = ScanSettings::resolve(args, &config)?;
    let rules = load_rules(&args.rules, &config)?;
    scan(&settings, rules)
}

/// What evaluating the source gave.
struct Evaluated {
    result: ScanResult,
    /// Of a live collection.
    stats: Option<CollectStats>,
    /// With `--history`: this run's inventory, to compare and record.
    this_run: Option<ThisRun>,
    /// Why this run cannot be recorded: reported once the outputs are written.
    unrecorded: Option<Error>,
}

fn scan(settings: &ScanSettings, rules: RuleSet) -> Result<u8, Error> {
    // Suppressions, baseline and template are validated before the (possibly large) inventory
    // is read, and before any AWS call.
    let waivers = Waivers::load(settings, &rules)?;
    let template = match settings.has_html() {
        true => Some(Template::load(ReportFormat::Html, settings.template.as_deref())?),
        false => None,
    };
    let Evaluated {
        mut result,
        stats,
        this_run,
        unrecorded,
    } = evaluate_source(settings, rules)?;
    tracing::info!(
        deployments = result.resources.len(),
        findings = result.findings.len(),
        rules = result.rules.rules().len(),
        "evaluated"
    );
    let today = settings.now.unwrap_or_else(Utc::now).date_naive();
    waivers.apply(&mut result, today)?;
    let recorder = match (&settings.history, &this_run) {
        (Some(history), Some(this_run)) => Some(compare_with_history(
            &history.dir,
            this_run,
            &mut result,
            history.sla.as_ref(),
        )?),
        _ => None,
    };

    let mut summary = Summary::compute(&result, settings.gate);
    summary.collection = stats;
    write_outputs(settings, &result, &summary, template.as_ref())?;
    if let (Some(recorder), Some(history), Some(this_run)) = (recorder, &settings.history, &this_run) {
        recorder.record(this_run, &result, &summary, history.keep)?;
    }
    let mut delivered = deliver(&settings.notify, &result, &summary);
    if let Some(targets) = &settings.publish {
        delivered &= crate::deliver::security_hub::publish(&result, targets, Utc::now()).report();
    }
    if let Some(e) = unrecorded {
        return Err(e);
    }
    // A delivery that failed is reported like a coverage gap: the outputs are written.
    Ok(match delivered {
        false if !settings.gate.exit_zero => crate::exit::INCOMPLETE,
        _ => summary.gate.exit_code,
    })
}

/// Posts the run's summary to each `--notify` channel; false when one was not delivered (said
/// on standard error, without its URL).
fn deliver(notify: &[Notification], result: &ScanResult, summary: &Summary) -> bool {
    let mut delivered = true;
    for n in notify {
        let run = RunSummary::of(result, summary, n.limit);
        let body = match n.channel {
            Channel::Slack => run.to_slack(),
            Channel::Webhook => run.to_json(),
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        match crate::deliver::http::post_json(n.channel.what(), &n.url, body, Retry::default()) {
            Ok(()) => eprintln!(
                "ecaudit: posted the run's summary ({}) to {}",
                n.channel.as_str(),
                n.url.host()
            ),
            Err(e) => {
                eprintln!("ecaudit: error: {}", text::terminal(&e.to_string()));
                delivered = false;
            }
        }
    }
    delivered
}

/// Every output of a judged result, then its notices on standard error: what `scan` and `plan`
/// do once the findings are waived and the gate decided.
pub(super) fn write_outputs(
    settings: &ScanSettings,
    result: &ScanResult,
    summary: &Summary,
    template: Option<&Template>,
) -> Result<(), Error> {
    for spec in &settings.outputs {
        let look = Look::new(&spec.to, settings.color);
        let options = RenderOptions {
            min_severity: settings.min_severity,
            color: spec.format == Format::Table && look.color,
            width: look.width,
            pretty: look.pretty,
        };
        match template {
            Some(template) if spec.format == Format::Html => {
                let page = report::audit_report(result, summary, &options, template)?;
                spec.to.write(|w| w.write_all(&page))?;
            }
            _ => spec
                .to
                .write(|w| report::render(spec.format, result, summary, &options, w))?,
        }
        if !spec.to.is_stdout() {
            eprintln!(
                "ecaudit: wrote {} ({}): {} deployment(s), {} failing finding(s); {} → exit {}",
                text::terminal(&spec.to.to_string()),
                spec.format.name(),
                summary.deployments,
                summary.findings.fail,
                text::terminal(&summary.gate.reason),
                summary.gate.exit_code
            );
        }
    }
    for notice in result.waivers.notices() {
        eprintln!("ecaudit: warning: {}", text::terminal(&notice));
    }
    if let Some(b) = &result.waivers.baseline
        && let Some(path) = &b.updated
    {
        eprintln!(
            "ecaudit: wrote baseline {}: {} failing finding(s)",
            text::terminal(path),
            b.written
        );
    }
    if let Some(stats) = &summary.collection
        && !settings.quiet
    {
        eprintln!("ecaudit: collected {stats}");
    }
    Ok(())
}

/// Evaluates the rules against the saved inventory or, unit by unit, against a live collection.
fn evaluate_source(settings: &ScanSettings, rules: RuleSet) -> Result<Evaluated, Error> {
    let evaluated = |result, stats, this_run| Evaluated {
        result,
        stats,
        this_run,
        unrecorded: None,
    };
    match &settings.source {
        // Nightly mode compares this run's inventory with the previous one and records it.
        Source::Inventory(path) if settings.history.is_some() => {
            let inventory = crate::inventory::load_inventory(&super::common::input(path)?)?;
            let now = settings.now.or(inventory.collected_at).unwrap_or_else(Utc::now);
            let result = evaluate(&inventory, rules, now);
            Ok(evaluated(result, None, Some(ThisRun::Loaded(inventory))))
        }
        Source::Inventory(path) => {
            let text = read_text(&super::common::input(path)?)?;
            let doc = Document::parse(&text, &path.display().to_string())?;
            let result = evaluate_document(&doc, rules, settings.now)?;
            // The inventory text is the largest allocation; free it before rendering.
            drop(doc);
            drop(text);
            Ok(evaluated(result, None, None))
        }
        Source::Live(targets) => {
            // Each unit is evaluated as it is read and its deployments dropped (or spooled to
            // disk for `--history`): memory holds findings, not the inventory.
            let collected_at = Utc::now();
            let now = settings.now.unwrap_or(collected_at);
            // Spooled in the history directory, where it will be recorded (an S3 history's in
            // the temporary directory); the history is opened (an S3 prefix listed) first, so
            // that one that cannot be written costs no AWS call of the scan.
            let history = settings.history.as_ref().map(|h| &h.dir);
            let local = history.filter(|dir| !crate::s3::is_s3(dir.as_os_str()));
            let dir = SpoolDir(local.cloned());
            if let Some(history) = history {
                crate::history::History::open(history)?;
            }
            let mut spool = match history {
                Some(_) => Some(dir.spool()?),
                None => None,
            };
            let mut parts = PartEvaluator::new(&rules, now);
            let (header, stats) = collect_live(targets, collected_at, |part, deployments| {
                parts.add(part, &deployments);
                if let Some(spool) = &mut spool {
                    spool.add(part, &deployments);
                }
            })?;
            let evaluated = parts.finish();
            let spooled = spool.map(|s| s.finish());
            // A run to record keeps its header (its coverage is recorded with the inventory); a
            // plain scan's moves into the result.
            let kept = matches!(spooled, Some(Ok(_))).then(|| header.clone());
            let result = evaluated.into_result(header, rules, now);
            // A spool that failed loses the comparison and the record, not the scan: the outputs
            // are written, then the error is the command's.
            let mut unrecorded = None;
            let this_run = match (spooled, kept) {
                (Some(Ok(spooled)), Some(header)) => Some(ThisRun::Spooled { spooled, header }),
                (Some(Err(e)), _) => {
                    let e = dir.error(e);
                    eprintln!(
                        "ecaudit: error: this run cannot be compared or recorded: {}",
                        text::terminal(&e.to_string())
                    );
                    unrecorded = Some(e);
                    None
                }
                _ => None,
            };
            Ok(Evaluated {
                result,
                stats: Some(stats),
                this_run,
                unrecorded,
            })
        }
    }
}

/// The suppressions and baseline of a scan, read and validated before any work starts.
pub(super) struct Waivers<'a> {
    suppressions: Vec<Suppression>,
    tags: &'a TagPolicy,
    baseline: Option<Baseline>,
    update_baseline: Option<&'a Output>,
}

impl<'a> Waivers<'a> {
    pub(super) fn load(settings: &'a ScanSettings, rules: &RuleSet) -> Result<Waivers<'a>, Error> {
        Ok(Waivers {
            suppressions: load_suppressions(&settings.suppressions, rules)?,
            tags: &settings.tags,
            baseline: settings.baseline.as_deref().map(Baseline::load).transpose()?,
            update_baseline: settings.update_baseline.as_ref(),
        })
    }

    /// Applies the suppressions, then the baseline, then writes and applies `--update-baseline`.
    pub(super) fn apply(self, result: &mut ScanResult, today: NaiveDate) -> Result<(), Error> {
        crate::suppress::apply(result, self.suppressions, self.tags, today);
        let mut state = self
            .baseline
            .as_ref()
            .map(|b| crate::suppress::apply_baseline(result, b));
        if let Some(output) = self.update_baseline {
            // Today's failures, plus the old entries this scan could not check (undecided, or
            // not scanned), so a partial scan does not drop them.
            let mut entries = crate::suppress::failing_entries(result);
            if let Some(old) = &state {
                entries.extend(old.unverified.iter().cloned());
            }
            output.write(|w| Baseline::write(&entries, w))?;
            let written = Baseline {
                file: output.to_string(),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;
    use crate::cmd::common::tests::{command, config};

    fn args(args: &[&str]) -> Box<ScanArgs> {
        let mut all = vec!["scan"];
        all.extend(args);
        match command(&all) {
            Command::Scan(args) => args,
            _ => unreachable!(),
        }
    }

    fn settings(cli: &[&str], config_text: &str) -> Result<ScanSettings, Error> {
        ScanSettings::resolve(&args(cli), &config(config_text))
    }

    fn usage(result: Result<impl std::fmt::Debug, Error>) -> String {
        match result {
            Err(Error::Usage(message)) => message,
            other => panic!("not a usage error: {other:?}"),
        }
    }

    const CONFIG: &str = "[scan]\nfail_on = \"critical\"\nseverity = \"medium\"\nallow_partial = true\n\
exit_zero = true\nbaseline = \"config-baseline.txt\"\nsuppressions = [\"config.yaml\"]\n\
outputs = [\"sarif=config.sarif\"]\n[gate]\nsla = \"critical=7d,high=30d\"\nfail_on_overdue = true\n";

    #[test]
    fn defaults_without_command_line_or_config() {
        let s = settings(&[], "").unwrap();
        assert_eq!(s.gate, GateOptions::default());
        assert_eq!(s.gate.fail_on, Severity::High);
        assert_eq!(s.min_severity, Severity::Info);
        assert_eq!(s.outputs.len(), 1);
        assert_eq!(
            (s.outputs[0].format, s.outputs[0].to.is_stdout()),
            (Format::Table, true)
        );
        assert!(matches!(s.source, Source::Live(_)));
        assert_eq!((s.baseline, s.history), (None, None));
    }

    #[test]
    fn the_config_fills_in_what_the_command_line_leaves_out() {
        let s = settings(&["--suppressions", "cli.yaml"], CONFIG).unwrap();
        assert_eq!(
            s.gate,
            GateOptions {
                fail_on: Severity::Critical,
                allow_partial: true,
                exit_zero: true,
                // Ages come from a history: without one, nothing is overdue.
                fail_on_overdue: false,
            }
        );
        assert_eq!(s.min_severity, Severity::Medium);
        assert_eq!(s.baseline, Some(PathBuf::from("config-baseline.txt")));
        assert_eq!(
            s.suppressions,
            [PathBuf::from("config.yaml"), PathBuf::from("cli.yaml")]
        );
        let outputs: Vec<String> = s
            .outputs
            .iter()
            .map(|o| format!("{}={}", o.format.name(), o.to))
            .collect();
        assert_eq!(outputs, ["table=standard output", "sarif=config.sarif"]);
    }

    #[test]
    fn the_command_line_wins_over_the_config() {
        let s = settings(
            &[
                "--fail-on=low",
                "--severity=high",
                "--baseline=cli-baseline.txt",
                "--format=json",
                "-o",
                "scan.json",
                "--output-format",
                "junit=cli.xml",
                "--history=runs",
                "--keep=7",
            ],
            CONFIG,
        )
        .unwrap();
        assert_eq!(s.gate.fail_on, Severity::Low);
        assert_eq!(s.min_severity, Severity::High);
        assert_eq!(s.baseline, Some(PathBuf::from("cli-baseline.txt")));
        // The primary output first, the config's next, the command line's last.
        let outputs: Vec<String> = s
            .outputs
            .iter()
            .map(|o| format!("{}={}", o.format.name(), o.to))
            .collect();
        assert_eq!(outputs, ["json=scan.json", "sarif=config.sarif", "junit=cli.xml"]);
        assert_eq!(
            s.history,
            Some(HistorySettings {
                dir: PathBuf::from("runs"),
                keep: 7,
                sla: Some("critical=7d,high=30d".parse().unwrap()),
            })
        );
        assert!(s.gate.fail_on_overdue);
        let s = settings(&["--history=runs", "--sla=low=1w"], CONFIG).unwrap();
        assert_eq!(s.history.unwrap().sla.unwrap().to_string(), "low=1w");
        assert!(
            usage(settings(&["--history=runs", "--fail-on-overdue"], "")).contains("--fail-on-overdue needs")
        );
        assert_eq!(
            settings(&["--history=runs"], "").unwrap().history.unwrap().keep,
            KEEP
        );
    }

    #[test]
    fn publishing_takes_the_targets_credentials_with_a_saved_inventory_too() {
        assert!(settings(&[], "").unwrap().publish.is_none());
        let cli = [
            "--inventory",
            "fleet.json",
            "--role-name",
            "Audit",
            "--publish",
            "security-hub",
        ];
        let publish = settings(&cli, "").unwrap().publish.unwrap();
        assert_eq!(publish.role_name.as_deref(), Some("Audit"));
        assert!(settings(&["--publish", "security-hub", "--publish", "security-hub"], "").is_ok());
        use clap::Parser;
        assert!(crate::cli::Cli::try_parse_from(["ecaudit", "scan", "--publish", "s3"]).is_err());
    }

    #[test]
    fn tag_suppressions_are_the_configs_and_off_without_it() {
        assert_eq!(settings(&[], "").unwrap().tags, TagPolicy::default());
        assert!(!TagPolicy::default().enabled);
        let s = settings(&[], "[suppress]\ntags = true\ntags_rules = [\"multi-az\"]\n").unwrap();
        assert!(s.tags.enabled);
        assert_eq!(s.tags.max_severity, Severity::Medium);
        assert_eq!(s.tags.rules, Some(vec!["multi-az".to_string()]));
    }

    #[test]
    fn clashing_outputs_are_usage_errors() {
        let e = usage(settings(&["--output-format", "json=-"], ""));
        assert!(
            e.starts_with("more than one output goes to standard output"),
            "{e}"
        );
        let e = usage(settings(&["-o", "a.json", "--output-format", "json=a.json"], ""));
        assert_eq!(
            e,
            "a.json is the destination of two outputs (or of an output and the baseline)"
        );
        let e = usage(settings(&["-o", "a.json", "--update-baseline", "a.json"], ""));
        assert!(e.starts_with("a.json is the destination"), "{e}");
        let e = usage(settings(&["-o", "a.json", "--update-baseline", "-"], ""));
        assert_eq!(e, "--update-baseline needs a file, not standard output");
        let e = usage(settings(&["--template", "t.html.j2"], ""));
        assert!(e.starts_with("--template applies to the HTML report"), "{e}");
        assert!(settings(&["--template", "t.html.j2", "--output-format", "html=r.html"], "").is_ok());
    }

    #[test]
    fn metrics_are_refused_with_a_saved_inventory() {
        for flag in [
            &["--metrics"][..],
            &["--metrics-window", "14d"],
            &["--metrics", "--metrics-window=1d"],
        ] {
            let mut cli = vec!["--inventory", "fleet.json"];
            cli.extend(flag);
            let e = usage(refuse_conflicts(&args(&cli)));
            assert!(
                e.starts_with(&format!("{} cannot be used with --inventory", flag[0])),
                "{e}"
            );
        }
        assert!(refuse_conflicts(&args(&["--metrics"])).is_ok());
        // `[targets] metrics = true` serves the live scans of the same config: not refused.
        let s = settings(&["--inventory", "fleet.json"], "[targets]\nmetrics = true\n").unwrap();
        assert!(matches!(s.source, Source::Inventory(_)));
    }

    #[test]
    fn a_shard_is_refused_with_what_needs_the_whole_fleet() {
        for (flag, value) in [
            ("--inventory", "fleet.json"),
            ("--history", "runs"),
            ("--update-baseline", "b.txt"),
        ] {
            let e = usage(refuse_conflicts(&args(&["--shard", "1/2", flag, value])));
            assert!(
                e.starts_with(&format!("--shard cannot be used with {flag}")),
                "{e}"
            );
        }
    }
}
