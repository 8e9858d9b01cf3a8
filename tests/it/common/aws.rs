//! Live AWS for one test: moto server (tests/moto/), seeded through the SDK, optionally behind
//! the fault-injecting proxy (`proxy.rs`), and the `ecaudit` binary run against it as users run
//! it: credentials and region in the environment, `--endpoint-url`, a scratch working directory.
//! Without moto installed, starting fails with how to install it (never a skip).

use std::path::{Path, PathBuf};

use aws_config::SdkConfig;
use serde_json::Value;

use super::cli::{Run, Scratch};
use super::moto::Moto;
use super::proxy::{FaultProxy, Faults};
use super::{ecaudit, read_json};

pub struct Aws {
    // Dropped in this order: the proxy before the server it forwards to.
    proxy: Option<FaultProxy>,
    moto: Moto,
    scratch: Scratch,
}

impl Aws {
    pub fn start() -> Aws {
        Self::start_with(&[])
    }

    /// moto with emulated failures (tests/moto/faults.py), e.g.
    /// `("ECAUDIT_MOTO_DISABLED_REGIONS", "eu-south-2")`.
    pub fn start_with(moto_env: &[(&str, &str)]) -> Aws {
        Aws {
            proxy: None,
            moto: Moto::start_with(moto_env),
            scratch: Scratch::new(),
        }
    }

    /// moto behind the fault proxy, which injects `faults` (`Faults::none()` to only watch and
    /// count the calls). ecaudit goes through the proxy; seeding goes to moto directly.
    pub fn behind_proxy(faults: Faults) -> Aws {
        let moto = Moto::start();
        Aws {
            proxy: Some(FaultProxy::start(&moto.endpoint, faults)),
            moto,
            scratch: Scratch::new(),
        }
    }

    /// moto with emulated failures (`moto_env`, as [`Aws::start_with`]) behind the fault proxy.
    pub fn behind_proxy_with(moto_env: &[(&str, &str)], faults: Faults) -> Aws {
        let moto = Moto::start_with(moto_env);
        Aws {
            proxy: Some(FaultProxy::start(&moto.endpoint, faults)),
            moto,
            scratch: Scratch::new(),
        }
    }

    pub fn moto(&self) -> &Moto {
        &self.moto
    }

    pub fn proxy(&self) -> &FaultProxy {
        self.proxy
            .as_ref()
            .expect("started without the fault proxy: use Aws::behind_proxy")
    }

    /// Where ecaudit sends its requests: the proxy when there is one, else moto.
    pub fn endpoint(&self) -> &str {
        match &self.proxy {
            Some(proxy) => &proxy.endpoint,
            None => &self.moto.endpoint,
        }
    }

    /// SDK configuration for seeding `region` of moto's default account.
    pub async fn config(&self, region: &str) -> SdkConfig {
        self.moto.config(region).await
    }

    /// SDK configuration for seeding `region` of another account (through AssumeRole).
    pub async fn config_in_account(&self, account: &str, region: &str) -> SdkConfig {
        self.moto.config_in_account(account, region).await
    }

    /// The scratch directory: the commands' working directory.
    pub fn dir(&self) -> &Path {
        self.scratch.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.scratch.path(rel)
    }

    /// The JSON document at `rel` in the scratch directory (an output of a command).
    pub fn json(&self, rel: &str) -> Value {
        read_json(&self.path(rel))
    }

    /// `ecaudit`, in the scratch directory, as moto's default account in us-east-1.
    pub fn command(&self) -> assert_cmd::Command {
        let mut cmd = ecaudit();
        cmd.current_dir(self.dir()).envs(self.moto.env());
        cmd
    }

    /// `ecaudit SUBCOMMAND --endpoint-url ENDPOINT`, for a command that reads AWS (`scan`,
    /// `collect`, `doctor`); arguments and environment are the caller's to add.
    pub fn live_command(&self, subcommand: &str) -> assert_cmd::Command {
        let mut cmd = self.command();
        cmd.args([subcommand, "--endpoint-url", self.endpoint()]);
        cmd
    }

    /// `ecaudit ARGS` (a command that reads no AWS: `merge`, `diff`, `scan --inventory`, ...).
    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(self.command().args(args))
    }

    /// `ecaudit SUBCOMMAND --endpoint-url ENDPOINT ARGS`.
    pub fn live(&self, subcommand: &str, args: &[&str]) -> Run {
        Run::of(self.live_command(subcommand).args(args))
    }
}
