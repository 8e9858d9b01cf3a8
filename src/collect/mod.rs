//! Live collection: the only part of ecaudit that talks to AWS. Resolves targets (accounts ×
//! regions), reads every ElastiCache deployment of each (account, region) unit with one set of
//! clients per unit and a bound on units in flight, joins the facts into an [`Inventory`], and
//! records what could not be read as coverage entries — an error in one unit never stops another.

mod assemble;
pub mod calls;
mod cloudwatch;
mod ec2;
mod elasticache;
pub mod metrics;
mod one;
mod organization;
mod retry;
pub mod targets;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::Utc;
use serde::Serialize;

use crate::inventory::{
    Collector, CoverageEntry, CoverageError, CoverageStatus, DeploymentKind, Inventory, SCHEMA_VERSION,
};
pub use calls::CallRecorder;
pub use targets::{AccountSpec, RegionSpec, TargetError};

/// What to collect and how.
#[derive(Clone, Debug)]
pub struct CollectOptions {
    /// Named profile of the shared config (`--profile`); the default chain otherwise.
    pub profile: Option<String>,
    /// Send every service's requests to this URL (an emulator or a proxy).
    pub endpoint_url: Option<String>,
    pub regions: RegionSpec,
    pub accounts: AccountSpec,
    /// Role assumed in every account but the caller's own.
    pub role_name: Option<String>,
    pub external_id: Option<String>,
    /// (account, region) units read at once.
    pub concurrency: usize,
    /// Attempts per operation, first included (standard retry mode: exponential backoff).
    pub max_attempts: u32,
    pub connect_timeout: Duration,
    /// Timeout of one attempt.
    pub attempt_timeout: Duration,
    /// Timeout of one operation, retries included.
    pub operation_timeout: Duration,
    /// Draw a progress bar on standard error.
    pub progress: bool,
    /// Read only this shard's units (`--shard K/N`).
    pub shard: Option<crate::shard::Shard>,
    /// Read each node's utilisation over this window (`--metrics`).
    pub metrics: Option<metrics::MetricsWindow>,
    /// Read only this deployment of each unit (`ecaudit doctor`), and only what it references;
    /// `None`: every deployment.
    pub only: Option<OneDeployment>,
}

/// One deployment to read: its id and, when known (from its ARN), its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneDeployment {
    pub id: String,
    pub kind: Option<DeploymentKind>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            profile: None,
            endpoint_url: None,
            regions: RegionSpec::Default,
            accounts: AccountSpec::Caller,
            role_name: None,
            external_id: None,
            concurrency: 16,
            max_attempts: 5,
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(30),
            operation_timeout: Duration::from_secs(120),
            progress: false,
            shard: None,
            metrics: None,
            only: None,
        }
    }
}

/// Figures about a collection, for the summary line and the JSON `summary.collection`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct CollectStats {
    pub accounts: usize,
    pub regions: usize,
    pub units: usize,
    pub deployments: usize,
    /// API calls made, per service (IAM prefix).
    pub api_calls: BTreeMap<String, u64>,
    /// API calls made, per IAM action (`docs/iam-policy.json` lists every one ecaudit may make).
    pub api_calls_by_action: BTreeMap<String, u64>,
    pub retries: u64,
    pub coverage_gaps: usize,
    pub duration_seconds: f64,
    /// Who collected: the caller's ARN, when STS answered.
    pub caller: Option<String>,
}

impl fmt::Display for CollectStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let calls: Vec<String> = self.api_calls.iter().map(|(s, n)| format!("{s} {n}")).collect();
        write!(
            f,
            "{} deployment(s) in {} account(s), {} region(s); API calls: {}; {} retries; {} coverage gap(s); {:.1}s",
            self.deployments,
            self.accounts,
            self.regions,
            if calls.is_empty() {
                "none".to_string()
            } else {
                calls.join(", ")
            },
            self.retries,
            self.coverage_gaps,
            self.duration_seconds,
        )
    }
}

/// A coverage error from an SDK error: the AWS error code and message, or the transport class.
pub(crate) fn describe_error<E, R>(e: &SdkError<E, R>) -> CoverageError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + 'static,
{
    let (code, message) = match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            (
                err.code().unwrap_or("ServiceError").to_string(),
                err.message()
                    .map(str::to_string)
                    .unwrap_or_else(|| err.to_string()),
            )
        }
        SdkError::TimeoutError(_) => ("timeout".to_string(), "the operation timed out".to_string()),
        SdkError::DispatchFailure(_) => ("dispatch".to_string(), display_chain(e)),
        SdkError::ResponseError(_) => ("response".to_string(), display_chain(e)),
        SdkError::ConstructionFailure(_) => ("construction".to_string(), display_chain(e)),
        _ => ("unknown".to_string(), display_chain(e)),
    };
    CoverageError { code, message }
}

/// An error and its causes as one line of text: each cause's own message once, joined by `: `.
/// Never the Debug form, which the SDK's `DisplayErrorContext` appends (a screenful of nested
/// `DispatchFailure { source: ConnectorError { ... } }` that tells a person nothing more).
pub(crate) fn display_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        // One line per cause: the credential chain lists its attempts on lines of their own.
        let text = err
            .to_string()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
            .replace(":; ", ": ");
        if !text.is_empty() && !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// What one unit read and failed to read, one coverage entry per API.
pub(crate) struct Reads {
    account: Arc<str>,
    region: Arc<str>,
    entries: BTreeMap<(&'static str, &'static str), CoverageEntry>,
}

impl Reads {
    pub(crate) fn new(account: &str, region: &str) -> Self {
        Reads {
            account: account.into(),
            region: region.into(),
            entries: BTreeMap::new(),
        }
    }

    /// Records the outcome of a read of `service:api`; a failure makes the API's entry failed.
    pub(crate) fn record<T>(
        &mut self,
        service: &'static str,
        api: &'static str,
        result: Result<T, CoverageError>,
    ) -> Option<T> {
        let entry = self
            .entries
            .entry((service, api))
            .or_insert_with(|| CoverageEntry {
                account_id: self.account.clone(),
                region: self.region.clone(),
                service: service.into(),
                api: api.into(),
                status: CoverageStatus::Read,
                error: None,
                calls: None,
            });
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                if entry.status == CoverageStatus::Read {
                    entry.status = CoverageStatus::Failed;
                    entry.error = Some(Box::new(e));
                }
                None
            }
        }
    }

    /// The entries, with the calls the recorder counted for each (taken from it).
    pub(crate) fn finish(self, recorder: &CallRecorder) -> Vec<CoverageEntry> {
        let calls = recorder.take_calls(&self.account, &self.region);
        self.entries
            .into_values()
            .map(|mut e| {
                e.calls = calls
                    .get(&format!("{}:{}", e.service, e.api))
                    .copied()
                    .or(Some(0));
                e
            })
            .collect()
    }
}

/// One (account, region) to read, with the configuration its clients use.
#[derive(Clone)]
pub struct Unit {
    pub account_id: String,
    pub region: String,
    pub(crate) config: SdkConfig,
}

/// Collects every deployment of every target unit into an inventory.
pub async fn collect(
    options: &CollectOptions,
    recorder: &CallRecorder,
) -> Result<(Inventory, CollectStats), TargetError> {
    let mut parts = Vec::new();
    let (header, stats) = collect_each(options, recorder, Utc::now(), |part, deployments| {
        parts.push((part, deployments));
    })
    .await?;
    Ok((whole(header, parts), stats))
}

/// The inventory of `header` with the deployments [`collect_each`] handed over, by part.
pub fn whole(mut header: Inventory, mut parts: Vec<(usize, Vec<crate::inventory::Deployment>)>) -> Inventory {
    parts.sort_by_key(|(part, _)| *part);
    header.deployments = parts.into_iter().flat_map(|(_, d)| d).collect();
    header
}

/// Collects every target unit, handing each unit's deployments to `each` as soon as the unit is
/// read, so that nothing needs to hold the whole inventory. Units come in any order, each with
/// its place `part` in the inventory: the deployments of the parts in increasing order (not
/// consecutive numbers) are the inventory's, sorted. Returns the inventory without its deployments (every coverage
/// entry, sorted) and the collection's figures. `collected_at` is the inventory's time: the
/// collection's start, so every fact was read at or after it.
pub async fn collect_each(
    options: &CollectOptions,
    recorder: &CallRecorder,
    collected_at: chrono::DateTime<Utc>,
    mut each: impl FnMut(usize, Vec<crate::inventory::Deployment>),
) -> Result<(Inventory, CollectStats), TargetError> {
    let started = Instant::now();
    let mut targets = targets::prepare(options, recorder).await?;
    tracing::info!(accounts = targets.accounts.len(), "accounts found");
    // The progress bar's length grows as accounts are resolved into units.
    let progress = options.progress.then(|| progress_bar(0));

    // One window for every unit, so the statistics of all nodes cover the same span.
    let window = options.metrics.as_ref().map(|m| m.ending(Utc::now()));
    // At most `concurrency` tasks at once, of two kinds: resolving an account into its units
    // (AssumeRole, DescribeRegions), and reading a unit. An account is resolved only when no
    // resolved unit waits, so only the accounts being read hold credentials and units, whatever
    // the number of accounts.
    let concurrency = options.concurrency.max(1);
    let mut accounts = targets.accounts.iter().enumerate();
    let mut waiting: std::collections::VecDeque<(usize, Unit)> = std::collections::VecDeque::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut spawn = |tasks: &mut tokio::task::JoinSet<Done>,
                     waiting: &mut std::collections::VecDeque<(usize, Unit)>| {
        while tasks.len() < concurrency {
            if let Some((part, unit)) = waiting.pop_front() {
                let recorder = recorder.clone();
                let window = window.clone();
                let only = options.only.clone();
                tasks.spawn(async move {
                    let read = collect_unit(&unit, &recorder, window.as_ref(), only.as_ref()).await;
                    Done::Unit(part, unit.account_id, unit.region, read)
                });
            // Without a context there are no accounts (the caller is unknown).
            } else if let (Some(context), Some((index, account))) = (&targets.context, accounts.next()) {
                let (context, account) = (context.clone(), account.clone());
                tasks.spawn(async move {
                    let (units, coverage) = context.resolve(&account).await;
                    Done::Account(index, units, coverage)
                });
            } else {
                break;
            }
        }
    };
    spawn(&mut tasks, &mut waiting);

    let mut coverage = targets.coverage;
    let (mut found, mut errors) = (0usize, 0usize);
    // What target resolution found (every shard resolves every account), and this shard's part.
    let (mut planned_units, mut planned_accounts) = (0usize, 0usize);
    let mut planned_regions = std::collections::BTreeSet::new();
    let mut shard_units = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("a collection task panicked") {
            Done::Account(index, units, account_coverage) => {
                coverage.extend(account_coverage);
                planned_units += units.len();
                planned_accounts += usize::from(!units.is_empty());
                planned_regions.extend(units.iter().map(|u| u.region.clone()));
                let before = waiting.len();
                // A unit's place in the inventory: its account's, then its region's.
                waiting.extend(
                    units
                        .into_iter()
                        .enumerate()
                        .filter(|(_, u)| options.shard.is_none_or(|s| s.includes(&u.account_id, &u.region)))
                        .map(|(region, unit)| (part(index, region), unit)),
                );
                let mine = waiting.range(before..);
                if options.shard.is_some() {
                    shard_units.extend(
                        mine.clone()
                            .map(|(_, u)| format!("{}/{}", u.account_id, u.region)),
                    );
                }
                tracing::debug!(account = %targets.accounts[index], units = mine.len(), "account resolved");
                if let Some(bar) = &progress {
                    bar.inc_length(mine.len() as u64);
                }
            }
            Done::Unit(part, account, region, (deployments, unit_coverage)) => {
                let gaps = unit_coverage.iter().filter(|c| c.is_gap()).count();
                tracing::info!(
                    account = %account,
                    region = %region,
                    deployments = deployments.len(),
                    gaps,
                    "unit read"
                );
                found += deployments.len();
                errors += gaps;
                if let Some(bar) = &progress {
                    bar.inc(1);
                    bar.set_message(format!("{found} deployment(s), {errors} error(s)"));
                }
                coverage.extend(unit_coverage);
                each(part, deployments);
            }
        }
        spawn(&mut tasks, &mut waiting);
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    tracing::info!(
        units = planned_units,
        accounts = planned_accounts,
        regions = planned_regions.len(),
        "targets resolved and read"
    );

    let shard = options.shard.map(|shard| {
        shard_units.sort();
        crate::shard::ShardInfo {
            index: shard.index,
            count: shard.count,
            units: shard_units,
            planned_units,
        }
    });
    let mut inventory = Inventory {
        schema_version: SCHEMA_VERSION,
        collected_at: Some(collected_at),
        collector: Some(Collector {
            name: "ecaudit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            caller: targets.caller.clone(),
        }),
        deployments: Vec::new(),
        coverage,
        accounts: std::mem::take(&mut targets.owners),
        shard,
    };
    inventory.sort();

    // A shard's figures are its own units' (`account/region`).
    let (accounts, regions, units) = match &inventory.shard {
        Some(shard) => {
            let (accounts, regions): (std::collections::BTreeSet<&str>, std::collections::BTreeSet<&str>) =
                shard.units.iter().filter_map(|u| u.split_once('/')).unzip();
            (accounts.len(), regions.len(), shard.units.len())
        }
        None => (planned_accounts, planned_regions.len(), planned_units),
    };
    let stats = CollectStats {
        accounts,
        regions,
        units,
        deployments: found,
        api_calls: recorder.calls_per_service(),
        api_calls_by_action: recorder.calls_per_action(),
        retries: recorder.retries(),
        coverage_gaps: inventory.gaps().count(),
        duration_seconds: started.elapsed().as_secs_f64(),
        caller: targets.caller,
    };
    Ok((inventory, stats))
}

/// What a collection task did.
enum Done {
    /// Account number `.0` resolved into its units.
    Account(usize, Vec<Unit>, Vec<CoverageEntry>),
    /// Unit `part` read.
    Unit(
        usize,
        String,
        String,
        (Vec<crate::inventory::Deployment>, Vec<CoverageEntry>),
    ),
}

/// The place of an account's `region`-th unit in the inventory's order: parts sort as the
/// inventory does, by account, then by region.
fn part(account: usize, region: usize) -> usize {
    (account << 16) | region.min(0xffff)
}

fn progress_bar(total: usize) -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(total as u64), indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {pos}/{len} account×region units · {msg} · {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// The clients of one unit, each call recorded, retried as [`retry`] says.
struct Clients {
    elasticache: aws_sdk_elasticache::Client,
    ec2: aws_sdk_ec2::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl Clients {
    fn of(unit: &Unit, recorder: &CallRecorder) -> Clients {
        let interceptor = recorder.for_unit(&unit.account_id, &unit.region);
        Clients {
            elasticache: aws_sdk_elasticache::Client::from_conf(
                aws_sdk_elasticache::config::Builder::from(&unit.config)
                    .interceptor(interceptor.clone())
                    .interceptor(retry::WholeXml)
                    .retry_classifier(retry::UnreadableResponse)
                    .build(),
            ),
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(&unit.config)
                    .interceptor(interceptor.clone())
                    .interceptor(retry::WholeXml)
                    .retry_classifier(retry::UnreadableResponse)
                    .build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(&unit.config)
                    .interceptor(interceptor.clone())
                    .interceptor(retry::WholeXml)
                    .retry_classifier(retry::UnreadableResponse)
                    .build(),
            ),
            tagging: aws_sdk_resourcegroupstagging::Client::from_conf(
                aws_sdk_resourcegroupstagging::config::Builder::from(&unit.config)
                    .interceptor(interceptor)
                    .interceptor(retry::WholeXml)
                    .retry_classifier(retry::UnreadableResponse)
                    .build(),
            ),
        }
    }
}

/// Reads one (account, region), or the deployment `only` of it: the deployments found and the
/// coverage of every API read.
async fn collect_unit(
    unit: &Unit,
    recorder: &CallRecorder,
    window: Option<&crate::inventory::UtilisationWindow>,
    only: Option<&OneDeployment>,
) -> (Vec<crate::inventory::Deployment>, Vec<CoverageEntry>) {
    let mut reads = Reads::new(&unit.account_id, &unit.region);
    let clients = Clients::of(unit, recorder);
    if let Some(one) = only {
        let deployments = one::collect(one, &clients, unit, &mut reads, window).await;
        return (deployments, reads.finish(recorder));
    }
    let Clients {
        elasticache,
        ec2,
        cloudwatch,
        tagging,
    } = clients;

    // ElastiCache, CloudWatch and the tags are independent; EC2 needs the groups and VPCs the
    // caches name.
    let (cache, alarms, tags) = tokio::join!(
        elasticache::read(&elasticache),
        cloudwatch::read(&cloudwatch),
        elasticache::read_tags(&tagging)
    );
    let cache = cache.record(&mut reads);
    let alarms = reads.record("cloudwatch", "DescribeAlarms", alarms);
    let tags = reads.record("tag", "GetResources", tags);
    let network = ec2::read(&ec2, &cache).await.record(&mut reads);

    let mut deployments = assemble::deployments(
        &unit.account_id,
        &unit.region,
        &cache,
        &network,
        alarms.as_deref(),
        tags.as_ref(),
    );
    metrics::read_if_asked(&cloudwatch, &mut deployments, window, &mut reads).await;
    // The unit's part of the inventory's order (account and region are the unit's).
    deployments.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    (deployments, reads.finish(recorder))
}
