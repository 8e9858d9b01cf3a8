//! Targets: which accounts and regions to read, and the credentials for each account. The
//! caller's own account is read with the caller's credentials; every other account through
//! `sts:AssumeRole` of the named role. An account whose role cannot be assumed, or whose regions
//! cannot be listed, is a coverage gap of that account only.

use std::time::SystemTime;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::region::Region;

use super::{CallRecorder, CollectOptions, Reads, Unit, describe_error};
use crate::inventory::{CoverageEntry, CoverageError};

/// Regions to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegionSpec {
    /// The configured region (environment or profile).
    Default,
    List(Vec<String>),
    /// Every region enabled for each account (EC2 DescribeRegions).
    All,
}

/// Accounts to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountSpec {
    /// The caller's own account.
    Caller,
    List(Vec<String>),
    /// The ACTIVE accounts of the AWS Organization.
    Organization,
}

/// Problems with the targets themselves, found before any AWS call (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("no AWS region: pass --regions, or set AWS_REGION or a region in the profile")]
    NoRegion,
    #[error("reading other accounts (--accounts, --organization) needs --role-name")]
    NoRoleName,
    #[error("`{0}` is not an AWS account id (12 digits)")]
    BadAccount(String),
    #[error("`{0}` is not an AWS region name")]
    BadRegion(String),
    /// The credential chain found nothing (or a provider in it failed): nothing can be read.
    #[error(
        "no usable AWS credentials ({0}). Give --profile NAME or set AWS_PROFILE (run `aws sso login --profile NAME` first for an SSO profile), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials(String),
    /// STS could not be reached to identify the caller: nothing else will be either.
    #[error(
        "cannot reach AWS STS in {region} to identify the caller ({cause}). Check the network and any proxy (HTTPS_PROXY), or --endpoint-url"
    )]
    Unreachable { region: String, cause: String },
}

/// Why the caller could not be identified, when it means no account can be read: the credential
/// chain came up empty, or STS could not be reached. Anything else (access denied, throttling)
/// stays a coverage gap like any other failed read.
fn unusable<E, R>(e: &SdkError<E, R>, region: &Region) -> Option<TargetError>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(c) = err.downcast_ref::<CredentialsError>() {
            return Some(TargetError::NoCredentials(super::display_chain(c)));
        }
        next = err.source();
    }
    match e {
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => Some(TargetError::Unreachable {
            region: region.to_string(),
            cause: super::display_chain(e),
        }),
        _ => None,
    }
}

/// The accounts to read, known before any of them is resolved, and what resolving each needs.
/// Accounts are resolved as collection reaches them ([`AccountContext::resolve`]), so their
/// credentials and units are held only while they are read, not for the whole scan.
pub(crate) struct Targets {
    /// Sorted, each once: the inventory's order.
    pub accounts: Vec<String>,
    /// The coverage of finding the accounts (GetCallerIdentity, ListAccounts) and their owners
    /// (ListRoots, ListParents, DescribeOrganizationalUnit).
    pub coverage: Vec<CoverageEntry>,
    /// Who ran the collection: the caller's ARN (STS GetCallerIdentity).
    pub caller: Option<String>,
    /// The organization's accounts with their names and organizational unit paths, sorted by
    /// id (`--organization`; empty otherwise).
    pub owners: Vec<crate::inventory::Account>,
    /// What resolving an account needs; `None` when there is no account to resolve (the caller
    /// is unknown). Shared by the tasks that resolve accounts.
    pub context: Option<std::sync::Arc<AccountContext>>,
}

/// Checks targets given on the command line or in config, before any AWS call.
pub fn validate(options: &CollectOptions) -> Result<(), TargetError> {
    if let AccountSpec::List(ids) = &options.accounts
        && let Some(bad) = ids
            .iter()
            .find(|id| id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(TargetError::BadAccount(bad.clone()));
    }
    if let RegionSpec::List(regions) = &options.regions {
        let valid = |r: &str| {
            !r.is_empty()
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && r.contains('-')
        };
        if let Some(bad) = regions.iter().find(|r| !valid(r)) {
            return Err(TargetError::BadRegion(bad.clone()));
        }
    }
    Ok(())
}

/// The shared configuration every client starts from: credentials chain, retries, timeouts,
/// endpoint override.
pub(crate) async fn base_config(options: &CollectOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(options.max_attempts.max(1)))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(options.connect_timeout)
                .operation_attempt_timeout(options.attempt_timeout)
                .operation_timeout(options.operation_timeout)
                .build(),
        );
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// `sts:AssumeRole` through a client whose calls are recorded; the SDK's identity cache calls it
/// again before the credentials expire.
#[derive(Debug)]
struct AssumedRole {
    /// One client for every account (each account's own client stayed until the scan ended,
    /// ~20 MiB for 160 accounts); each account's calls are recorded by its own interceptor,
    /// added to each call.
    sts: aws_sdk_sts::Client,
    recorder: super::calls::UnitInterceptor,
    role_arn: String,
    external_id: Option<String>,
    /// The credentials of the AssumeRole that checked the role, handed to the first client that
    /// asks: each account's role is assumed once, not once to check and again to read.
    first: std::sync::Mutex<Option<Credentials>>,
}

impl AssumedRole {
    async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let first = self.first.lock().unwrap_or_else(|e| e.into_inner()).take();
        match first {
            Some(credentials) => Ok(credentials),
            None => self
                .assume()
                .await
                .map_err(|d| CredentialsError::provider_error(format!("{}: {}", d.code, d.message))),
        }
    }

    /// AssumeRole, its failure described as a coverage error (`AccessDenied: ...`).
    async fn assume(&self) -> Result<Credentials, CoverageError> {
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name("ecaudit")
            .set_external_id(self.external_id.clone())
            .customize()
            .config_override(aws_sdk_sts::config::Builder::default().interceptor(self.recorder.clone()))
            .send()
            .await
            .map_err(|e| describe_error(&e))?;
        let c = out.credentials().ok_or_else(|| CoverageError {
            code: "AssumeRoleFailed".into(),
            message: "AssumeRole returned no credentials".into(),
        })?;
        let expires = SystemTime::try_from(*c.expiration()).ok();
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            expires,
            "ecaudit-assume-role",
        ))
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}

fn entry(
    account: &str,
    region: &str,
    service: &'static str,
    api: &'static str,
    error: CoverageError,
) -> CoverageEntry {
    CoverageEntry {
        account_id: account.into(),
        region: region.into(),
        service: service.into(),
        api: api.into(),
        status: crate::inventory::CoverageStatus::Failed,
        error: Some(Box::new(error)),
        calls: None,
    }
}

/// Finds the accounts to read (the caller's, the listed ones, or the organization's); each is
/// resolved into units later, by [`AccountContext::resolve`].
pub(crate) async fn prepare(
    options: &CollectOptions,
    recorder: &CallRecorder,
) -> Result<Targets, TargetError> {
    validate(options)?;
    let base = base_config(options).await;
    let home = match (&options.regions, base.region()) {
        (_, Some(r)) => r.clone(),
        (RegionSpec::List(list), None) if !list.is_empty() => Region::new(list[0].clone()),
        _ => return Err(TargetError::NoRegion),
    };
    let home_config = base.to_builder().region(home.clone()).build();
    let mut coverage = Vec::new();

    // Who is calling: the account ids and the partition of role ARNs come from it.
    let mut reads = Reads::new("caller", "global");
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&home_config)
            .interceptor(recorder.for_unit("caller", "global"))
            .interceptor(super::retry::WholeXml)
            .retry_classifier(super::retry::UnreadableResponse)
            .build(),
    );
    let identity = sts.get_caller_identity().send().await;
    if let Err(e) = &identity
        && let Some(stop) = unusable(e, &home)
    {
        return Err(stop);
    }
    let identity = identity.map_err(|e| describe_error(&e));
    let Some(identity) = reads.record("sts", "GetCallerIdentity", identity) else {
        coverage.extend(reads.finish(recorder).into_iter().map(|mut e| {
            e.account_id = "unknown".into();
            e
        }));
        return Ok(Targets {
            accounts: Vec::new(),
            coverage,
            caller: None,
            owners: Vec::new(),
            context: None,
        });
    };
    let caller = identity.account().unwrap_or_default().to_string();
    let caller_arn = identity.arn().map(str::to_string);
    let partition = identity
        .arn()
        .and_then(crate::arn::Arn::parse)
        .map(|arn| arn.partition)
        .unwrap_or("aws")
        .to_string();

    // The organization's accounts with their names and units (`--organization` only).
    let mut owners = Vec::new();
    let mut accounts: Vec<String> = match &options.accounts {
        AccountSpec::Caller => vec![caller.clone()],
        AccountSpec::List(ids) => ids.clone(),
        AccountSpec::Organization => {
            let org = aws_sdk_organizations::Client::from_conf(
                aws_sdk_organizations::config::Builder::from(&home_config)
                    .interceptor(recorder.for_unit("caller", "global"))
                    .interceptor(super::retry::WholeXml)
                    .retry_classifier(super::retry::UnreadableResponse)
                    .build(),
            );
            let mut pages = org.list_accounts().into_paginator().send();
            let mut listed = Vec::new();
            let mut failure = None;
            while let Some(page) = pages.next().await {
                match page {
                    Ok(page) => listed.extend(
                        page.accounts()
                            .iter()
                            .filter(|a| {
                                a.state().is_some_and(|s| s.as_str() == "ACTIVE")
                                    || (a.state().is_none()
                                        && a.status().is_some_and(|s| s.as_str() == "ACTIVE"))
                            })
                            .filter_map(super::organization::listed),
                    ),
                    Err(e) => {
                        failure = Some(describe_error(&e));
                        break;
                    }
                }
            }
            if reads
                .record("organizations", "ListAccounts", failure.map_or(Ok(()), Err))
                .is_none()
            {
                listed.clear();
            }
            listed.sort_by(|a, b| a.id.cmp(&b.id));
            listed.dedup_by(|a, b| a.id == b.id);
            super::organization::resolve(&org, &mut listed, &mut reads).await;
            let ids = listed.iter().map(|a| a.id.clone()).collect();
            owners = listed;
            ids
        }
    };
    // Calls made before the caller was known are the caller's account's (one copy, shared).
    let caller_account: std::sync::Arc<str> = caller.as_str().into();
    coverage.extend(reads.finish(recorder).into_iter().map(|mut e| {
        e.account_id = caller_account.clone();
        e
    }));
    if accounts.iter().any(|a| *a != caller) && options.role_name.is_none() {
        return Err(TargetError::NoRoleName);
    }

    // An account named twice is read once, in the inventory's order.
    accounts.sort();
    accounts.dedup();
    let context = AccountContext {
        sts: aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&home_config)
                .interceptor(super::retry::WholeXml)
                .retry_classifier(super::retry::UnreadableResponse)
                .build(),
        ),
        caller,
        partition,
        home,
        home_config,
        recorder: recorder.clone(),
        options: options.clone(),
    };
    Ok(Targets {
        accounts,
        coverage,
        caller: caller_arn,
        owners,
        context: Some(std::sync::Arc::new(context)),
    })
}

/// What resolving one account needs; shared by the concurrent account tasks.
pub(crate) struct AccountContext {
    /// The client every account's AssumeRole goes through.
    sts: aws_sdk_sts::Client,
    caller: String,
    partition: String,
    home: Region,
    home_config: SdkConfig,
    recorder: CallRecorder,
    options: CollectOptions,
}

impl AccountContext {
    /// The account's units (one per region, sorted by region, each once), with the coverage of
    /// resolving them: a denied role or an unlistable region set is a gap of this account only.
    pub(crate) async fn resolve(&self, account: &str) -> (Vec<Unit>, Vec<CoverageEntry>) {
        let (options, recorder, home) = (&self.options, &self.recorder, &self.home);
        let mut coverage = Vec::new();
        // Credentials for the account: the caller's own, or the assumed role.
        let config = if account == self.caller {
            self.home_config.clone()
        } else {
            let role_arn = format!(
                "arn:{}:iam::{account}:role/{}",
                self.partition,
                options.role_name.as_deref().unwrap_or_default()
            );
            let role = AssumedRole {
                sts: self.sts.clone(),
                // Nothing takes the account's calls of AssumeRole: a failure is one entry.
                recorder: recorder.totals_only(account, "global"),
                role_arn,
                external_id: options.external_id.clone(),
                first: std::sync::Mutex::new(None),
            };
            // Assume once now: a denied role is one coverage gap, not one per API and region.
            match role.assume().await {
                Ok(credentials) => *role.first.lock().unwrap_or_else(|e| e.into_inner()) = Some(credentials),
                Err(e) => {
                    coverage.push(entry(account, "global", "sts", "AssumeRole", e));
                    return (Vec::new(), coverage);
                }
            }
            let provider = SharedCredentialsProvider::new(role);
            // The account's own cache, freed with its units: the shared one would hold the
            // credentials of 64 accounts, and evict those of an account still being read.
            self.home_config
                .to_builder()
                .credentials_provider(provider)
                .identity_cache(aws_config::identity::IdentityCache::lazy().build())
                .build()
        };

        let regions = match &options.regions {
            RegionSpec::Default => vec![home.to_string()],
            RegionSpec::List(list) => list.clone(),
            RegionSpec::All => {
                let mut reads = Reads::new(account, home.as_ref());
                let ec2 = aws_sdk_ec2::Client::from_conf(
                    aws_sdk_ec2::config::Builder::from(&config)
                        .interceptor(recorder.for_unit(account, home.as_ref()))
                        .interceptor(super::retry::WholeXml)
                        .retry_classifier(super::retry::UnreadableResponse)
                        .build(),
                );
                let listed = ec2
                    .describe_regions()
                    .all_regions(false)
                    .send()
                    .await
                    .map_err(|e| describe_error(&e))
                    .map(|out| {
                        out.regions()
                            .iter()
                            .filter(|r| r.opt_in_status() != Some("not-opted-in"))
                            .filter_map(|r| r.region_name().map(str::to_string))
                            .collect::<Vec<_>>()
                    });
                let listed = reads.record("ec2", "DescribeRegions", listed);
                coverage.extend(reads.finish(recorder));
                listed.unwrap_or_default()
            }
        };
        let mut regions = regions;
        regions.sort();
        regions.dedup();
        let units = regions
            .into_iter()
            .map(|region| Unit {
                account_id: account.to_string(),
                config: config.to_builder().region(Region::new(region.clone())).build(),
                region,
            })
            .collect();
        (units, coverage)
    }
}
