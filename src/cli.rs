//! Command-line definitions (clap). Parsing only: each command of `cmd` resolves these with the
//! config file into its settings.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};

use crate::config::OutputSpec;
use crate::output::Output;
use crate::report::Format;
use crate::report::templates::ReportFormat;
use crate::rules::Severity;

/// Compliance and drift auditor for Amazon ElastiCache (Redis OSS, Valkey, Memcached).
#[derive(Debug, Parser)]
#[command(name = "ecaudit", version, propagate_version = true, max_term_width = 100)]
#[command(
    after_help = "Exit codes: 0 nothing at or above --fail-on failed · 1 findings at or above --fail-on \
· 2 usage, config, rule-file or inventory error · 3 the scan was incomplete and --allow-partial was not given"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log what ecaudit does on standard error: -v each account and region, -vv each API call,
    /// -vvv the AWS SDK's own debug log. RUST_LOG (e.g. `ecaudit=debug,aws_config=trace`)
    /// overrides. Credentials, tokens and AUTH values are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate the rules against a live collection (or a saved inventory) and report findings.
    Scan(Box<ScanArgs>),
    /// Judge a Terraform or OpenTofu plan (`terraform show -json PLANFILE`) or state with the
    /// rules, with no AWS call: findings the plan introduces gate the merge (exit 1).
    Plan(Box<PlanArgs>),
    /// Collect the inventory of every deployment and write it, without evaluating rules.
    Collect(CollectArgs),
    /// What drifted between two inventories or two scan results: deployments added and removed,
    /// changed attributes, ingress and alarms, and finding transitions. Exit 1 when something
    /// drifted.
    Diff(DiffArgs),
    /// Where live deployments differ from Terraform: the JSON of `terraform show -json` (state or
    /// plan) or a raw state file, against a live collection or --inventory. Exit 1 when
    /// something differs.
    Drift(Box<DriftArgs>),
    /// Join the outputs of a sharded scan (`--shard K/N`): shard inventories into one inventory,
    /// or shard scan results into one result. Refuses sets that overlap or leave a shard out.
    Merge(MergeArgs),
    /// Render the audit report (HTML or Markdown) of a saved scan result (`scan --format json`)
    /// without scanning again.
    Report(ReportArgs),
    /// Run the runbook of one deployment: security groups against this host, subnet group and
    /// VPC, DNS, TCP, TLS, plaintext refused, NOAUTH, an authenticated PING, INFO memory,
    /// fragmentation, evictions and keyspace, and the last hour of CloudWatch with the alarms of
    /// each node. Exit 1 when a check fails, 3 when the deployment could not be read.
    Doctor(Box<DoctorArgs>),
    /// List, show and validate rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Print the JSON Schema of the inventory document.
    InventorySchema,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): `ecaudit manpage > ecaudit.1`, `ecaudit manpage scan >
    /// ecaudit-scan.1`, `ecaudit manpage rules list`; or write every page to a directory
    /// (`ecaudit manpage --dir man/man1`).
    Manpage {
        /// The subcommand whose page to print (`scan`, `rules list`, ...) [default: the top page].
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
        /// Write the page of ecaudit and of every subcommand (`ecaudit-scan.1`, ...) into DIR.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        dir: Option<std::path::PathBuf>,
    },
}

/// Where rules and their settings come from.
#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    /// Add the rule files (*.yaml, *.yml) of DIR, or the rule file DIR names; a rule with a
    /// bundled id replaces the bundled rule.
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<PathBuf>,
    /// Refuse a rule file that replaces a bundled rule (exit 2) instead of warning.
    #[arg(long = "no-override")]
    pub no_override: bool,
    /// Override a rule param, e.g. `snapshot-retention.min_snapshot_retention_days=14`.
    #[arg(long = "param", value_name = "RULE.KEY=VALUE")]
    pub params: Vec<String>,
    /// Config file [default: ./ecaudit.toml when it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing a table to a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

/// Which accounts and regions to read, and how.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Regions to read: a comma-separated list, or `all` (every region enabled for each account)
    /// [default: the configured region].
    #[arg(long, value_name = "REGIONS", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Accounts to read (comma-separated ids) through --role-name [default: the caller's own].
    #[arg(
        long,
        value_name = "IDS",
        value_delimiter = ',',
        conflicts_with = "organization"
    )]
    pub accounts: Vec<String>,
    /// Read every ACTIVE account of the AWS Organization through --role-name.
    #[arg(long)]
    pub organization: bool,
    /// Role assumed in every account but the caller's own.
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// ExternalId passed when assuming --role-name.
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Named profile of the shared AWS config [default: the standard credential chain].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send every AWS request to this URL (an emulator or a proxy).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Account×region units read at once [default: 16].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Attempts per API call, retries included (exponential backoff) [default: 5].
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Seconds one attempt of an API call may take before it is retried [default: 30].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub attempt_timeout: Option<u64>,
    /// No progress bar and no summary line on standard error.
    #[arg(long, short)]
    pub quiet: bool,
    /// Read only shard K of N of the account×region units (each unit belongs to exactly one
    /// shard); `ecaudit merge` joins the N outputs.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::shard::Shard>,
    /// Also read each node's CloudWatch utilisation (CPU, engine CPU, memory, evictions,
    /// connections) over --metrics-window, for the utilisation rules (batched GetMetricData).
    #[arg(long)]
    pub metrics: bool,
    /// How far back --metrics looks: a number and d, h or m, from 1h to 455d [default: 7d].
    #[arg(long, value_name = "WINDOW")]
    pub metrics_window: Option<crate::collect::metrics::MetricsWindow>,
}

/// Server-side encryption of what is written to S3 (`s3://` outputs and histories).
#[derive(Debug, Default, Args)]
pub struct S3Args {
    /// Encrypt each object written to S3 with `aws:kms` or `AES256` [default: the bucket's
    /// default encryption].
    #[arg(long, value_name = "ALGORITHM")]
    pub s3_sse: Option<String>,
    /// With --s3-sse aws:kms: the KMS key (id, alias or ARN) [default: the account's aws/s3 key].
    #[arg(long, value_name = "KEY")]
    pub s3_kms_key_id: Option<String>,
}

/// How a command that makes no other AWS call reaches S3 (`s3://` inputs and outputs).
#[derive(Debug, Default, Args)]
pub struct AwsArgs {
    /// Named profile of the shared AWS config, for s3:// inputs and outputs [default: the
    /// standard credential chain].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send every S3 request to this URL (an emulator or a proxy).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    #[command(flatten)]
    pub s3: S3Args,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Write the inventory to FILE (atomically) [default: standard output].
    #[arg(long, short, value_name = "FILE", value_hint = ValueHint::AnyPath, value_parser = crate::output::value_parser())]
    pub output: Option<Output>,
    /// Accept an incomplete collection (coverage gaps) instead of exiting 3.
    #[arg(long)]
    pub allow_partial: bool,
    /// Config file [default: ./ecaudit.toml when it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub targets: TargetArgs,
    #[command(flatten)]
    pub s3: S3Args,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Evaluate this saved inventory (JSON, `-` for standard input, `s3://bucket/key`) instead of
    /// collecting.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE", value_hint = ValueHint::AnyPath, value_parser = crate::output::value_parser())]
    pub output: Option<Output>,
    /// Also write FORMAT to FILE (repeatable), e.g. `--output-format sarif=out.sarif`.
    #[arg(long = "output-format", value_name = "FORMAT=FILE")]
    pub outputs: Vec<OutputSpec>,
    /// Render the HTML report (`--format html`) with this minijinja template instead of the
    /// bundled one (docs/report.md describes its context).
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Suppressions file (YAML; repeatable; added to the config's).
    #[arg(long = "suppressions", value_name = "FILE")]
    pub suppressions: Vec<PathBuf>,
    /// Mark failing findings whose fingerprint is in FILE as `baselined`: still reported, not
    /// gated on.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write the fingerprints of this scan's failing findings to FILE; they count as baselined
    /// for this run.
    #[arg(long, value_name = "FILE", value_hint = ValueHint::AnyPath, value_parser = crate::output::value_parser())]
    pub update_baseline: Option<Output>,
    /// Keep this run's inventory and result in DIR (or under `s3://bucket/prefix/`) under a dated
    /// name, compare with the newest earlier run there, and put the drift into the outputs
    /// (nightly mode).
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
    /// With --history: how many runs to keep, this one included [default: 30].
    #[arg(long, value_name = "N", requires = "history", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: Option<u32>,
    /// With --history: remediation deadlines per severity, e.g. `critical=7d,high=30d,medium=90d`
    /// (w, d, h, m): a failing finding older than its severity's is overdue [default: `[gate]
    /// sla` of the config].
    #[arg(long, value_name = "SEVERITY=SPAN,...", requires = "history", value_parser = sla)]
    pub sla: Option<crate::result::sla::Sla>,
    /// With --history and an SLA: exit 1 when a finding is past its remediation deadline, and
    /// only then (instead of --fail-on).
    #[arg(long, requires = "history")]
    pub fail_on_overdue: bool,
    /// When the run is done, post its summary: `slack` (a Block Kit message to an incoming
    /// webhook) or `webhook` (JSON to any URL); repeatable. The URL is a secret: it is read from
    /// the environment variable VAR, `--notify-url-env`, or ECAUDIT_SLACK_WEBHOOK_URL /
    /// ECAUDIT_WEBHOOK_URL, never from the command line.
    // Parsed by the command, not clap: clap's errors repeat the value, which may be a URL.
    #[arg(long = "notify", value_name = "KIND[=VAR]")]
    pub notify: Vec<String>,
    /// The environment variable holding the URL of a `--notify` that names none.
    #[arg(long, value_name = "VAR", requires = "notify")]
    pub notify_url_env: Option<String>,
    /// How many failing findings (and newly failing, resolved, gaps) a notification lists.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub notify_limit: usize,
    /// Publish the findings once the outputs are written: `security-hub` imports the failing
    /// ones into AWS Security Hub (ASFF) in each finding's own account and region, and archives
    /// those that no longer fail in the units this run read (see docs/delivery.md).
    #[arg(long, value_enum, value_name = "DESTINATION")]
    pub publish: Vec<crate::deliver::security_hub::Destination>,
    /// Exit 1 when a finding of this severity or higher fails [default: high].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Show only findings of this severity or higher (counts still include all) [default: info].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub severity: Option<Severity>,
    /// Always exit 0 unless the input is unusable (report-only runs).
    #[arg(long)]
    pub exit_zero: bool,
    /// Accept an incomplete scan (coverage gaps, undecidable findings) instead of exiting 3.
    #[arg(long)]
    pub allow_partial: bool,
    /// Evaluate time-dependent rules as of this instant (RFC 3339) [default: the inventory's
    /// collected_at, else now]; suppressions expire as of its date [default: today].
    #[arg(long, value_name = "TIME", value_parser = rfc3339)]
    pub now: Option<DateTime<Utc>>,
    /// When to colour the table.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub targets: TargetArgs,
    #[command(flatten)]
    pub s3: S3Args,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// `terraform show -json PLANFILE` (or `tofu show -json`), the JSON of a state, or a raw
    /// state file (`terraform.tfstate`, `terraform state pull`); `-` for standard input.
    pub plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE", value_hint = ValueHint::AnyPath, value_parser = crate::output::value_parser())]
    pub output: Option<Output>,
    /// Also write FORMAT to FILE (repeatable), e.g. `--output-format sarif=out.sarif`.
    #[arg(long = "output-format", value_name = "FORMAT=FILE")]
    pub outputs: Vec<OutputSpec>,
    /// Render the HTML report (`--format html`) with this minijinja template.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// The Terraform configuration's root directory: each finding names its resource block's
    /// `file:line` (SARIF results land on that line of a pull request) [default: .].
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
    /// A collected inventory (`ecaudit collect`) with facts about existing resources the plan
    /// only references: security groups, VPC CIDR blocks, alarms.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Which failing findings gate: those the plan introduces, or all.
    #[arg(long, value_enum, default_value_t = crate::result::PlanGate::Introduced)]
    pub gate: crate::result::PlanGate,
    /// Suppressions file (YAML; repeatable; added to the config's).
    #[arg(long = "suppressions", value_name = "FILE")]
    pub suppressions: Vec<PathBuf>,
    /// Mark failing findings whose fingerprint is in FILE as `baselined`.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Exit 1 when a finding of this severity or higher fails [default: high].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Show only findings of this severity or higher (counts still include all) [default: info].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub severity: Option<Severity>,
    /// Always exit 0 unless the input is unusable (report-only runs).
    #[arg(long)]
    pub exit_zero: bool,
    /// Accept findings that cannot be decided (facts known only after apply, or outside the
    /// plan) instead of exiting 3.
    #[arg(long)]
    pub allow_partial: bool,
    /// Evaluate time-dependent rules as of this instant (RFC 3339) [default: the plan's
    /// `timestamp`, else now].
    #[arg(long, value_name = "TIME", value_parser = rfc3339)]
    pub now: Option<DateTime<Utc>>,
    /// Refuse a plan, state or inventory larger than SIZE before parsing it
    /// [default: `[input] max_document_size`, else 512MiB].
    #[arg(long, value_name = "SIZE")]
    pub max_document_size: Option<crate::size::ByteSize>,
    /// When to colour the table.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The files of every shard: all inventories (`collect --shard`) or all scan results
    /// (`scan --shard ... --format json`).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write the merged document to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE", value_hint = ValueHint::AnyPath, value_parser = crate::output::value_parser())]
    pub output: Option<Output>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The scan result: the JSON of `ecaudit scan --format json` (`-` for standard input).
    #[arg(required_unless_present = "history", conflicts_with = "history")]
    pub result: Option<PathBuf>,
    /// Report on the newest run of a history (`scan --history DIR`) with trends over its
    /// nights: failing findings by severity, pass rate, introduced and resolved, time to
    /// remediate, the oldest open findings.
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
    /// With --history: only the nights within SPAN before the newest one, e.g. `90d`.
    #[arg(long, value_name = "SPAN", requires = "history", value_parser = span)]
    pub since: Option<crate::result::sla::Span>,
    /// With --history: the tag that names a deployment's owner (any case) [default: owner].
    // Not a clap default: without --history the flag is refused (cmd::report), which needs to
    // know whether it was given.
    #[arg(long, value_name = "KEY", requires = "history")]
    pub owner_tag: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE", value_hint = ValueHint::AnyPath, value_parser = crate::output::value_parser())]
    pub output: Option<Output>,
    /// Render with this minijinja template instead of the bundled one (docs/report.md).
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Table,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older document: an inventory (`ecaudit collect`) or a scan result (`scan --format json`).
    pub old: PathBuf,
    /// The newer document, of the same kind.
    pub new: PathBuf,
    #[arg(long, value_enum, default_value_t = DiffFormat::Table)]
    pub format: DiffFormat,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE", value_hint = ValueHint::AnyPath, value_parser = crate::output::value_parser())]
    pub output: Option<Output>,
    /// Suppressions applied to both inventories' findings (repeatable; added to the config's).
    #[arg(long = "suppressions", value_name = "FILE")]
    pub suppressions: Vec<PathBuf>,
    /// When to colour the table.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// `terraform show -json` output (a state, or a plan: its planned values), or a raw state file
    /// (`terraform.tfstate`, `terraform state pull`, format version 4).
    #[arg(long, value_name = "FILE")]
    pub terraform_state: PathBuf,
    /// Compare with this saved inventory instead of collecting.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Refuse a state or inventory larger than SIZE before parsing it (`512MiB`, `1GiB`)
    /// [default: `[input] max_document_size`, else 512MiB].
    #[arg(long, value_name = "SIZE")]
    pub max_document_size: Option<crate::size::ByteSize>,
    #[arg(long, value_enum, default_value_t = DiffFormat::Table)]
    pub format: DiffFormat,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE", value_hint = ValueHint::AnyPath, value_parser = crate::output::value_parser())]
    pub output: Option<Output>,
    /// When to colour the table.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Config file [default: ./ecaudit.toml when it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub targets: TargetArgs,
    #[command(flatten)]
    pub s3: S3Args,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules in effect (bundled, added and configured).
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Show one rule in full: expressions, params in effect, remediation, controls.
    Show {
        /// The rule id.
        id: String,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Check the rule files of DIR: YAML, fields, CEL expressions, ids, test cases.
    Validate {
        /// Directory of rule files (*.yaml, *.yml).
        dir: PathBuf,
    },
    /// Run the test cases of rule files (each rule's `tests:` and `NAME.test.yaml` files): exit 0
    /// when every case gives the outcome it expects, 1 when one does not, 2 on a malformed file.
    Test(RulesTestArgs),
    /// Show how a rule decides on one deployment of an inventory or a plan: each sub-expression
    /// of `when`, `check`/`violations` and `evidence` with its value.
    Eval(RulesEvalArgs),
    /// Write a commented rule skeleton, with a passing and a failing test case, to DIR/ID.yaml.
    New {
        /// The new rule's id (kebab-case, e.g. `team-tag-present`).
        id: String,
        /// Directory to write the rule file to (created if missing).
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
        /// Replace DIR/ID.yaml if it exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// A line per rule, and each failing case with what it expected and what it got.
    Text,
    /// JUnit XML: a test suite per rule, a test case per case.
    Junit,
}

#[derive(Debug, Args)]
pub struct RulesTestArgs {
    /// Rule files or directories of them [default: the bundled pack].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = TestFormat::Text)]
    pub format: TestFormat,
    /// Also report, per rule, each condition of `when`, `check` or `violations` that no case
    /// made true, or none made false.
    #[arg(long)]
    pub coverage: bool,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE", value_hint = ValueHint::AnyPath, value_parser = crate::output::value_parser())]
    pub output: Option<Output>,
}

#[derive(Debug, Args)]
pub struct RulesEvalArgs {
    /// The rule file (its rules are evaluated on their own, without the bundled pack).
    #[arg(value_name = "RULE_FILE")]
    pub rule_file: PathBuf,
    /// The rule of the file to evaluate [default: every rule of the file].
    #[arg(long, value_name = "ID")]
    pub rule: Option<String>,
    /// The deployment: its id, its ARN, or (with --plan) its Terraform address.
    #[arg(long, value_name = "ID")]
    pub deployment: String,
    /// The inventory the deployment is in (`ecaudit collect`; `-` for standard input).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "plan",
        conflicts_with = "plan"
    )]
    pub inventory: Option<PathBuf>,
    /// The Terraform plan (`terraform show -json`) the deployment is planned in.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Override a param of the rule, e.g. `min_snapshot_retention_days=14`.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Evaluate as of this instant (RFC 3339) [default: the inventory's collection time, the
    /// plan's `timestamp`, else now].
    #[arg(long, value_name = "TIME", value_parser = rfc3339)]
    pub now: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DoctorFormat {
    /// The checklist: ✔ pass, ✘ fail (with the next step), – not checked.
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The deployment: replication group, cache cluster or serverless cache id, or its ARN (which
    /// also gives the account and region).
    #[arg(value_name = "DEPLOYMENT")]
    pub deployment: String,
    /// Region of the deployment [default: the ARN's, else the configured region].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Account of the deployment, read through --role-name [default: the ARN's, else the
    /// caller's].
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Role assumed in an account other than the caller's.
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// ExternalId passed when assuming --role-name.
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Named profile of the shared AWS config.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send every AWS request to this URL (an emulator or a proxy).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Attempts per API call, retries included [default: 5].
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Source address range the security groups must admit (repeatable) [default: this host's
    /// address toward the deployment].
    #[arg(long = "from", value_name = "CIDR", value_delimiter = ',')]
    pub from: Vec<ipnet::IpNet>,
    /// Connect to HOST:PORT instead of the endpoint (SSM port forwarding, a bastion tunnel); TLS
    /// is still verified against the endpoint name.
    #[arg(long, value_name = "HOST:PORT")]
    pub connect: Option<String>,
    /// Name of the environment variable holding the AUTH token (the token itself is never taken
    /// from the command line, and never printed).
    #[arg(long, value_name = "VAR")]
    pub auth_token_env: Option<String>,
    /// RBAC user for AUTH (with --auth-token-env) [default: the default user].
    #[arg(long, value_name = "NAME", requires = "auth_token_env")]
    pub user: Option<String>,
    /// Also trust the CA certificates of FILE (PEM), e.g. a private CA in tests.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Seconds each network step (resolve, connect, handshake, reply) may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,
    #[arg(long, value_enum, default_value_t = DoctorFormat::Table)]
    pub format: DoctorFormat,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE", value_hint = ValueHint::AnyPath, value_parser = crate::output::value_parser())]
    pub output: Option<Output>,
}

/// A span of time as `--since` takes it.
fn span(s: &str) -> Result<crate::result::sla::Span, String> {
    s.parse()
}

/// Remediation deadlines as `--sla` takes them.
fn sla(s: &str) -> Result<crate::result::sla::Sla, String> {
    s.parse()
}

/// An instant as `--now` takes it, with an example when it is not one.
fn rfc3339(s: &str) -> Result<DateTime<Utc>, String> {
    s.parse()
        .map_err(|e| format!("{e}; expected an RFC 3339 time such as 2026-12-01T06:00:00Z"))
}
