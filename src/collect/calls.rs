//! Every AWS call ecaudit makes is seen here: an SDK interceptor records each operation and each
//! attempt, so the scan reports its calls and retries, coverage entries carry call counts, and a
//! test proves the calls made are exactly the IAM actions of `docs/iam-policy.json`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// An IAM action, `service:Operation`, e.g. `elasticache:DescribeReplicationGroups`.
pub type Action = String;

/// The IAM prefix of an SDK service name.
fn iam_prefix(sdk_service: &str) -> String {
    match sdk_service.to_ascii_lowercase().as_str() {
        "elasticache" => "elasticache".into(),
        "ec2" => "ec2".into(),
        "cloudwatch" | "monitoring" => "cloudwatch".into(),
        "sts" => "sts".into(),
        "organizations" => "organizations".into(),
        "resource groups tagging api" | "resourcegroupstaggingapi" => "tag".into(),
        other => other.into(),
    }
}

#[derive(Debug, Default)]
struct Tally {
    /// (account, region) → action → operations started, until the unit's reads take them
    /// ([`CallRecorder::take_calls`]): nothing per account is kept to the end of a scan.
    open: HashMap<(String, String), BTreeMap<Action, u64>>,
    /// Action → operations started, over every account and region.
    totals: BTreeMap<Action, u64>,
    /// Attempts beyond the first of each operation.
    retries: u64,
}

/// Records the calls of every client it is attached to. Cheap to clone; clones share the tally.
#[derive(Clone, Debug, Default)]
pub struct CallRecorder {
    tally: Arc<Mutex<Tally>>,
}

/// The calls of one (account, region), as the interceptor attached to its clients sees them.
#[derive(Clone, Debug)]
pub(crate) struct UnitInterceptor {
    recorder: CallRecorder,
    account: String,
    region: String,
    /// Whether the unit's calls are kept for [`CallRecorder::take_calls`]; when nothing takes
    /// them, they are counted in the totals only, or each account would leave its tally behind.
    per_unit: bool,
}

/// Attempt number of the current operation, kept in the config bag between hooks.
#[derive(Clone, Debug)]
struct Attempts(u32);

impl aws_smithy_types::config_bag::Storable for Attempts {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl CallRecorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// An interceptor for the clients of one (account, region).
    pub(crate) fn for_unit(&self, account: &str, region: &str) -> UnitInterceptor {
        UnitInterceptor {
            recorder: self.clone(),
            account: account.to_string(),
            region: region.to_string(),
            per_unit: true,
        }
    }

    /// An interceptor whose calls count in the totals only (an account's AssumeRole, repeated
    /// whenever its credentials are refreshed): no tally is kept for them.
    pub(crate) fn totals_only(&self, account: &str, region: &str) -> UnitInterceptor {
        UnitInterceptor {
            per_unit: false,
            ..self.for_unit(account, region)
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every distinct action called.
    pub fn actions(&self) -> std::collections::BTreeSet<Action> {
        self.lock().totals.keys().cloned().collect()
    }

    /// Operations per action in one account and region since they were last taken; forgets
    /// them.
    pub fn take_calls(&self, account: &str, region: &str) -> BTreeMap<Action, u64> {
        self.lock()
            .open
            .remove(&(account.to_string(), region.to_string()))
            .unwrap_or_default()
    }

    /// Operations per action, over every account and region.
    pub fn calls_per_action(&self) -> BTreeMap<Action, u64> {
        self.lock().totals.clone()
    }

    /// Operations per IAM service prefix.
    pub fn calls_per_service(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (action, n) in &self.lock().totals {
            let service = action.split(':').next().unwrap_or_default().to_string();
            *out.entry(service).or_insert(0) += n;
        }
        out
    }

    pub fn total_calls(&self) -> u64 {
        self.lock().totals.values().sum()
    }

    pub fn retries(&self) -> u64 {
        self.lock().retries
    }
}

impl Intercept for UnitInterceptor {
    fn name(&self) -> &'static str {
        "ecaudit::CallRecorder"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt = cfg.load::<Attempts>().map(|a| a.0).unwrap_or(0) + 1;
        cfg.interceptor_state().store_put(Attempts(attempt));
        if let Some(meta) = cfg.load::<Metadata>() {
            tracing::debug!(
                account = %self.account,
                region = %self.region,
                call = %format_args!("{}:{}", iam_prefix(meta.service()), meta.name()),
                attempt,
                "AWS call"
            );
        }
        let mut tally = self.recorder.lock();
        if attempt > 1 {
            tally.retries += 1;
        } else if let Some(meta) = cfg.load::<Metadata>() {
            // The operation's metadata is in the config bag once the request is built.
            let action = format!("{}:{}", iam_prefix(meta.service()), meta.name());
            if self.per_unit {
                *tally
                    .open
                    .entry((self.account.clone(), self.region.clone()))
                    .or_default()
                    .entry(action.clone())
                    .or_insert(0) += 1;
            }
            *tally.totals.entry(action).or_insert(0) += 1;
        }
        Ok(())
    }
}
