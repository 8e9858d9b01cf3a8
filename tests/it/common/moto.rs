//! A moto server for one test: started on a free loopback port through `tests/moto/launcher.py`,
//! stopped when dropped; and SDK clients that seed it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_types::region::Region;

/// moto's default account: the caller's account in every test.
pub const ACCOUNT: &str = "123456789012";

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

/// The Python that has moto and the other test packages of tests/moto/requirements.txt:
/// `ECAUDIT_TEST_PYTHON` (set by `tests/run.sh`), else `.venv`. Without them, a test that needs
/// one fails here saying how to install them.
pub fn python() -> String {
    static PYTHON: OnceLock<Result<String, String>> = OnceLock::new();
    let found = PYTHON.get_or_init(|| {
        let python = std::env::var("ECAUDIT_TEST_PYTHON")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python").to_string());
        let ok = Command::new(&python)
            .args(["-c", "import moto, cbor2, junitparser, selenium"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        match ok {
            true => Ok(python),
            false => Err(python),
        }
    });
    match found {
        Ok(python) => python.clone(),
        Err(python) => panic!(
            "moto server (or another package of tests/moto/requirements.txt) is not installed in \
             {python}. Run the test command, tests/run.sh, which creates .venv with \
             tests/moto/requirements.txt (or: python3 -m venv .venv && .venv/bin/pip install -r \
             tests/moto/requirements.txt), or set ECAUDIT_TEST_PYTHON to a Python that has them."
        ),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    pub fn start() -> Moto {
        Self::start_with(&[])
    }

    /// Starts moto with emulated failures (tests/moto/faults.py), e.g.
    /// `("ECAUDIT_MOTO_DISABLED_REGIONS", "eu-south-2")`.
    pub fn start_with(env: &[(&str, &str)]) -> Moto {
        let launcher = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/moto/launcher.py");
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(python())
                .arg(launcher)
                .arg(port.to_string())
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/moto"))
                .envs(env.iter().copied())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the moto launcher");
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = BufReader::new(stdout).read_line(&mut line);
                let _ = tx.send(line);
            });
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.starts_with("ready") => {
                    return Moto {
                        child,
                        endpoint: format!("http://127.0.0.1:{port}"),
                    };
                }
                other => {
                    last_error = format!("{other:?}");
                    let _ = child.kill();
                }
            }
        }
        panic!("moto did not start: {last_error}");
    }

    /// SDK configuration for seeding `region` of moto's default account.
    pub async fn config(&self, region: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .endpoint_url(&self.endpoint)
            .load()
            .await
    }

    /// SDK configuration for seeding `region` of another account, through STS AssumeRole of a
    /// role there (moto keeps assumed-role accounts apart).
    pub async fn config_in_account(&self, account: &str, region: &str) -> SdkConfig {
        let base = self.config(region).await;
        let sts = aws_sdk_sts::Client::new(&base);
        let creds = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/seed"))
            .role_session_name("seed")
            .send()
            .await
            .unwrap()
            .credentials
            .unwrap();
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(Credentials::new(
                creds.access_key_id,
                creds.secret_access_key,
                Some(creds.session_token),
                None,
                "test",
            ))
            .endpoint_url(&self.endpoint)
            .load()
            .await
    }

    /// Environment for running `ecaudit` against this server as moto's default account.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/nonexistent".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
