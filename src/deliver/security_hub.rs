//! `--publish security-hub`: a run's findings imported into AWS Security Hub, each into its own
//! account and region with the credentials the scan read that account with (BatchImportFindings
//! under the account's default product, at most 100 records a call, refused records retried),
//! and the records of earlier runs that no longer fail archived, in the units this run read
//! whole only (GetFindings). The mapping and the decisions are `asff`'s; this file makes the
//! calls.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types as sh;
use aws_types::region::Region;
use chrono::{DateTime, Utc};

use super::asff::{self, Asff};
use crate::collect::{CallRecorder, CollectOptions};
use crate::result::{ScanResult, Status};

/// Where `--publish` sends a run's findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Destination {
    /// AWS Security Hub (ASFF, BatchImportFindings), in each finding's own account and region.
    #[value(name = "security-hub")]
    SecurityHub,
}

/// Records per BatchImportFindings call: the API's limit.
pub const BATCH: usize = 100;
/// Attempts of a record the API refused (its `FailedFindings`).
const ATTEMPTS: u32 = 3;
/// Waited before a refused record's second attempt; doubled before the third.
const BACKOFF: Duration = Duration::from_millis(200);

/// What publishing did.
#[derive(Debug, Default)]
pub struct Published {
    /// Failing records imported (ACTIVE).
    pub imported: usize,
    /// Records of earlier runs archived (passing, suppressed, or their deployment gone).
    pub archived: usize,
    /// Units (account, region) whose held records were searched.
    pub searched: usize,
    /// Calls made, by IAM action.
    pub calls: BTreeMap<String, u64>,
    /// What could not be done, one sentence each (AWS text in them is untrusted).
    pub failures: Vec<String>,
}

type Unit = (String, String);

/// Publishes `result` (judged at its evaluation time) with the credentials of `options`.
pub fn publish(result: &ScanResult, options: &CollectOptions, now: DateTime<Utc>) -> Published {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            return Published {
                failures: vec![format!("cannot start the async runtime: {e}")],
                ..Published::default()
            };
        }
    };
    runtime.block_on(run(result, options, now))
}

async fn run(result: &ScanResult, options: &CollectOptions, now: DateTime<Utc>) -> Published {
    let recorder = CallRecorder::new();
    let mut out = Published::default();
    let reach = crate::drift::reach_of(result);

    // Units read whole: where a record of ours that no longer fails can be archived.
    let mut units: BTreeSet<Unit> = result
        .coverage
        .iter()
        .filter(|c| c.region.as_ref() != "global")
        .map(|c| (c.account_id.to_string(), c.region.to_string()))
        .chain(
            result
                .resources
                .iter()
                .map(|d| (d.account_id.clone(), d.region.clone())),
        )
        .collect();
    units.retain(|(account, region)| reach.read_whole(account, region));

    let base = crate::collect::targets::base_config(options).await;
    let Some(home) = base
        .region()
        .cloned()
        .or_else(|| result.resources.first().map(|d| Region::new(d.region.clone())))
    else {
        if !units.is_empty() || result.findings.iter().any(|f| f.failed()) {
            out.failures
                .push("no AWS region to identify the caller in: set AWS_REGION or --regions".into());
        }
        return out;
    };
    let home_config = base.to_builder().region(home).build();
    let (caller, partition) = match caller(&home_config, &recorder).await {
        Ok(found) => found,
        Err(why) => {
            out.failures.push(format!(
                "cannot identify the caller (sts:GetCallerIdentity): {why}; nothing was published"
            ));
            return out;
        }
    };

    // The failing findings, by unit.
    let mut failing: BTreeMap<Unit, Vec<Asff>> = BTreeMap::new();
    let mut by_key = HashMap::new();
    for f in &result.findings {
        let d = result.resource(f);
        by_key.insert((result.rule(f).id.as_str(), d.arn.as_str()), f);
        if matches!(f.status, Status::Fail | Status::Baselined)
            && let Some(record) = asff::of(result, f, &partition, now)
        {
            failing
                .entry((d.account_id.clone(), d.region.clone()))
                .or_default()
                .push(record);
        }
    }

    // Credentials per account: the caller's own, or the role the scan assumed.
    let accounts: BTreeSet<&str> = units
        .iter()
        .chain(failing.keys())
        .map(|(a, _)| a.as_str())
        .collect();
    let mut configs: HashMap<String, SdkConfig> = HashMap::new();
    for account in accounts {
        match account_config(&home_config, &caller, &partition, account, options, &recorder).await {
            Ok(config) => {
                configs.insert(account.to_string(), config);
            }
            Err(why) => out
                .failures
                .push(format!("account {account}: nothing published: {why}")),
        }
    }
    let client = |account: &str, region: &str| {
        configs.get(account).map(|config| {
            Client::from_conf(
                aws_sdk_securityhub::config::Builder::from(config)
                    .region(Region::new(region.to_string()))
                    .interceptor(recorder.totals_only(account, region))
                    .build(),
            )
        })
    };

    // The records of ours each unit read whole holds as ACTIVE and FAILED.
    let searches: Vec<_> = units
        .iter()
        .filter_map(|(account, region)| {
            let client = client(account, region)?;
            let product = asff::product_arn(&partition, region, account);
            let unit = (account.clone(), region.clone());
            Some(async move {
                let held = held(&client, &product, &unit).await;
                (unit, held)
            })
        })
        .collect();
    out.searched = searches.len();
    let mut updates: BTreeMap<Unit, Vec<Asff>> = BTreeMap::new();
    for (unit, held) in bounded(searches, options.concurrency).await {
        let held = match held {
            Ok(held) => held,
            Err(why) => {
                out.failures.push(format!(
                    "{} {}: cannot read the findings held there (securityhub:GetFindings), so none \
                     was archived: {why}",
                    unit.0, unit.1
                ));
                continue;
            }
        };
        let imported: BTreeSet<&str> = failing
            .get(&unit)
            .map(|records| records.iter().map(|r| r.id.as_str()).collect())
            .unwrap_or_default();
        for record in held.iter().filter(|r| !imported.contains(r.id.as_str())) {
            let Some((rule, arn)) = asff::names(record) else {
                continue;
            };
            let finding = by_key
                .get(&(rule, arn))
                .map(|f| asff::of(result, f, &partition, now));
            let judged = reach.judged(rule, &unit.0, &unit.1);
            if let Some(update) = asff::resolution(record, finding, judged, now) {
                updates.entry(unit.clone()).or_default().push(update);
            }
        }
    }

    // Imports, unit by unit: the failing records, then the archived ones.
    let mut work: BTreeMap<Unit, Vec<Asff>> = failing;
    for (unit, records) in updates {
        work.entry(unit).or_default().extend(records);
    }
    let imports: Vec<_> = work
        .into_iter()
        .filter_map(|(unit, records)| {
            // An account without credentials is already reported.
            let client = client(&unit.0, &unit.1)?;
            Some(async move { import(&client, &unit, records).await })
        })
        .collect();
    for done in bounded(imports, options.concurrency).await {
        out.imported += done.active;
        out.archived += done.archived;
        out.failures.extend(done.failures);
    }
    out.calls = recorder.calls_per_action();
    out
}

/// The caller's account and partition (sts:GetCallerIdentity).
async fn caller(config: &SdkConfig, recorder: &CallRecorder) -> Result<(String, String), String> {
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(config)
            .interceptor(recorder.totals_only("caller", "global"))
            .build(),
    );
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| described(&e))?;
    let account = identity.account().unwrap_or_default().to_string();
    let partition = identity
        .arn()
        .and_then(crate::arn::Arn::parse)
        .map_or("aws", |arn| arn.partition)
        .to_string();
    Ok((account, partition))
}

/// The configuration an account's records are imported with: the caller's own for its account,
/// else the `--role-name` role (with `--external-id`), assumed once.
async fn account_config(
    home: &SdkConfig,
    caller: &str,
    partition: &str,
    account: &str,
    options: &CollectOptions,
    recorder: &CallRecorder,
) -> Result<SdkConfig, String> {
    if account == caller {
        return Ok(home.clone());
    }
    let Some(role) = options.role_name.as_deref() else {
        return Err("another account's findings are imported through --role-name".into());
    };
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(home)
            .interceptor(recorder.totals_only(account, "global"))
            .build(),
    );
    let out = sts
        .assume_role()
        .role_arn(format!("arn:{partition}:iam::{account}:role/{role}"))
        .role_session_name("ecaudit-publish")
        .set_external_id(options.external_id.clone())
        .send()
        .await
        .map_err(|e| format!("sts:AssumeRole of role {role}: {}", described(&e)))?;
    let c = out
        .credentials()
        .ok_or("sts:AssumeRole returned no credentials")?;
    let credentials = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        std::time::SystemTime::try_from(*c.expiration()).ok(),
        "ecaudit-publish",
    );
    Ok(home
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build())
}

/// An SDK error as `Code: message`: never the request, so never a credential.
fn described<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let d = crate::collect::describe_error(e);
    format!("{}: {}", d.code, d.message)
}

/// Runs `tasks` at most `limit` at a time; their outputs in no particular order.
async fn bounded<T: Send + 'static>(
    tasks: Vec<impl Future<Output = T> + Send + 'static>,
    limit: usize,
) -> Vec<T> {
    let permits = Arc::new(tokio::sync::Semaphore::new(limit.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for task in tasks {
        let permits = permits.clone();
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            task.await
        });
    }
    let mut out = Vec::new();
    while let Some(done) = set.join_next().await {
        if let Ok(done) = done {
            out.push(done);
        }
    }
    out
}

/// The records of ours `product` holds as ACTIVE and FAILED in the unit, every page.
async fn held(client: &Client, product: &str, (account, region): &Unit) -> Result<Vec<Asff>, String> {
    let equals = |value: &str| {
        sh::StringFilter::builder()
            .value(value)
            .comparison(sh::StringFilterComparison::Equals)
            .build()
    };
    let filters = sh::AwsSecurityFindingFilters::builder()
        .product_arn(equals(product))
        .aws_account_id(equals(account))
        .region(equals(region))
        .generator_id(
            sh::StringFilter::builder()
                .value(asff::PREFIX)
                .comparison(sh::StringFilterComparison::Prefix)
                .build(),
        )
        .record_state(equals("ACTIVE"))
        .compliance_status(equals("FAILED"))
        .build();
    let mut pages = client
        .get_findings()
        .filters(filters)
        .max_results(100)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| described(&e))?;
        out.extend(page.findings().iter().filter_map(from_sdk));
    }
    Ok(out)
}

/// What importing one unit's records did.
struct Imported {
    active: usize,
    archived: usize,
    failures: Vec<String>,
}

/// Imports a unit's records, at most [`BATCH`] a call; the records a call refuses are tried
/// again, up to [`ATTEMPTS`] times, and those still refused are reported.
async fn import(client: &Client, (account, region): &Unit, records: Vec<Asff>) -> Imported {
    let mut done = Imported {
        active: 0,
        archived: 0,
        failures: Vec::new(),
    };
    let mut pending = records;
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    for attempt in 1..=ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        if attempt > 1 {
            tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 2)).await;
        }
        let mut again = Vec::new();
        for batch in pending.chunks(BATCH) {
            let sent = client
                .batch_import_findings()
                .set_findings(Some(batch.iter().map(to_sdk).collect()))
                .send()
                .await;
            match sent {
                Ok(answer) => {
                    let failed: HashMap<&str, String> = answer
                        .failed_findings()
                        .iter()
                        .map(|e| {
                            (
                                e.id().unwrap_or_default(),
                                format!(
                                    "{}: {}",
                                    e.error_code().unwrap_or("Failed"),
                                    e.error_message().unwrap_or_default()
                                ),
                            )
                        })
                        .collect();
                    for record in batch {
                        match failed.get(record.id.as_str()) {
                            Some(why) => {
                                refused.insert(record.id.clone(), why.clone());
                                again.push(record.clone());
                            }
                            None => {
                                refused.remove(&record.id);
                                match record.record_state.as_str() {
                                    "ACTIVE" => done.active += 1,
                                    _ => done.archived += 1,
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    // The SDK already retried what can be retried: the batch is tried again
                    // like refused records.
                    let why = described(&e);
                    for record in batch {
                        refused.insert(record.id.clone(), why.clone());
                    }
                    again.extend(batch.iter().cloned());
                }
            }
        }
        pending = again;
    }
    for record in pending {
        let (rule, arn) = asff::names(&record).unwrap_or(("?", "?"));
        done.failures.push(format!(
            "{account} {region}: finding {} ({rule} on {arn}) not imported after {ATTEMPTS} \
             attempt(s): {}",
            record.id,
            refused.get(&record.id).map_or("", String::as_str)
        ));
    }
    done
}

/// Our record as the SDK sends it.
fn to_sdk(a: &Asff) -> sh::AwsSecurityFinding {
    let resources = a
        .resources
        .iter()
        .map(|r| {
            sh::Resource::builder()
                .r#type(&r.kind)
                .id(&r.id)
                .partition(sh::Partition::from(r.partition.as_str()))
                .region(&r.region)
                .set_tags((!r.tags.is_empty()).then(|| r.tags.clone().into_iter().collect()))
                .build()
        })
        .collect();
    let label = sh::SeverityLabel::from(a.severity.label.as_str());
    sh::AwsSecurityFinding::builder()
        .schema_version(&a.schema_version)
        .id(&a.id)
        .product_arn(&a.product_arn)
        .generator_id(&a.generator_id)
        .aws_account_id(&a.aws_account_id)
        .region(&a.region)
        .set_types(Some(a.types.clone()))
        .set_first_observed_at(a.first_observed_at.clone())
        .last_observed_at(&a.last_observed_at)
        .created_at(&a.created_at)
        .updated_at(&a.updated_at)
        .severity(sh::Severity::builder().label(label.clone()).build())
        .finding_provider_fields(
            sh::FindingProviderFields::builder()
                .severity(sh::FindingProviderSeverity::builder().label(label).build())
                .set_types(Some(a.finding_provider_fields.types.clone()))
                .build(),
        )
        .title(&a.title)
        .description(&a.description)
        .set_remediation(a.remediation.as_ref().map(|r| {
            sh::Remediation::builder()
                .recommendation(sh::Recommendation::builder().text(&r.recommendation.text).build())
                .build()
        }))
        .set_resources(Some(resources))
        .compliance(
            sh::Compliance::builder()
                .status(sh::ComplianceStatus::from(a.compliance.status.as_str()))
                .set_security_control_id(a.compliance.security_control_id.clone())
                .set_related_requirements(
                    (!a.compliance.related_requirements.is_empty())
                        .then(|| a.compliance.related_requirements.clone()),
                )
                .build(),
        )
        .set_product_fields(Some(a.product_fields.clone().into_iter().collect()))
        .record_state(sh::RecordState::from(a.record_state.as_str()))
        .build()
}

/// A record Security Hub holds, as ours: `None` when it lacks what every record of ours has.
/// Fields Security Hub adds (`aws/securityhub/...`) are dropped: they are not ours to send.
fn from_sdk(f: &sh::AwsSecurityFinding) -> Option<Asff> {
    let label = f
        .severity()
        .and_then(|s| s.label())
        .map_or("INFORMATIONAL", |l| l.as_str())
        .to_string();
    let compliance = f.compliance();
    Some(Asff {
        schema_version: f.schema_version()?.to_string(),
        id: f.id()?.to_string(),
        product_arn: f.product_arn()?.to_string(),
        generator_id: f.generator_id()?.to_string(),
        aws_account_id: f.aws_account_id()?.to_string(),
        region: f.region()?.to_string(),
        types: f.types().to_vec(),
        first_observed_at: f.first_observed_at().map(str::to_string),
        last_observed_at: f.last_observed_at().unwrap_or(f.updated_at()?).to_string(),
        created_at: f.created_at()?.to_string(),
        updated_at: f.updated_at()?.to_string(),
        severity: asff::Label { label: label.clone() },
        finding_provider_fields: asff::ProviderFields {
            severity: asff::Label { label },
            types: f.types().to_vec(),
        },
        title: f.title()?.to_string(),
        description: f.description()?.to_string(),
        remediation: f
            .remediation()
            .and_then(|r| r.recommendation())
            .and_then(|r| r.text())
            .map(|text| asff::Remediation {
                recommendation: asff::Recommendation { text: text.into() },
            }),
        resources: f
            .resources()
            .iter()
            .filter_map(|r| {
                Some(asff::Resource {
                    kind: r.r#type()?.to_string(),
                    id: r.id()?.to_string(),
                    partition: r.partition().map_or("aws", |p| p.as_str()).to_string(),
                    region: r.region().unwrap_or_default().to_string(),
                    tags: r
                        .tags()
                        .map(|t| t.clone().into_iter().collect())
                        .unwrap_or_default(),
                })
            })
            .collect(),
        compliance: asff::Compliance {
            status: compliance
                .and_then(|c| c.status())
                .map_or("FAILED", |s| s.as_str())
                .to_string(),
            security_control_id: compliance
                .and_then(|c| c.security_control_id())
                .map(str::to_string),
            related_requirements: compliance
                .map(|c| c.related_requirements().to_vec())
                .unwrap_or_default(),
        },
        product_fields: f
            .product_fields()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.starts_with(asff::PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        record_state: f.record_state().map_or("ACTIVE", |s| s.as_str()).to_string(),
    })
}

impl Published {
    /// Says on standard error what was published and what was not (AWS text shown as data);
    /// false when something was not.
    pub fn report(&self) -> bool {
        let calls: Vec<String> = self.calls.iter().map(|(a, n)| format!("{a} ×{n}")).collect();
        eprintln!(
            "ecaudit: published to Security Hub: {} failing finding(s) imported, {} archived, {} \
             unit(s) searched; calls: {}",
            self.imported,
            self.archived,
            self.searched,
            calls.join(", ")
        );
        for failure in &self.failures {
            eprintln!("ecaudit: error: Security Hub: {}", crate::text::terminal(failure));
        }
        self.failures.is_empty()
    }
}
