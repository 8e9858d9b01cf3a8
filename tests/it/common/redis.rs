//! Real `redis-server` processes on loopback (plain, with `requirepass`, with TLS) and test
//! certificates (a CA and a server certificate for a DNS name, made with rcgen), for the doctor's
//! tests. Needs Debian's `redis-server` (7.0.x, built with TLS), which `tests/run.sh` installs;
//! without it the tests fail with the instruction, they are not skipped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ecaudit::doctor::probe::{Auth, TlsOptions};

// ---------------------------------------------------------------------------------------------
// redis-server processes
// ---------------------------------------------------------------------------------------------

/// A `redis-server` child process on 127.0.0.1, killed (and reaped) on drop.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn require_redis_server() {
    match Command::new("redis-server").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`redis-server --version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "redis-server is required by these tests but could not be run ({e}). \
             Install it with `apt-get install -y redis-server` (Debian bookworm: 7.0.15, \
             built with TLS); the system service is not needed."
        ),
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    /// Plain server; `extra` are more `--option value` arguments.
    pub fn plain(extra: &[&str]) -> Self {
        let port = free_port();
        let p = port.to_string();
        let mut args = vec!["--port", p.as_str()];
        args.extend_from_slice(extra);
        Self::spawn(port, &args)
    }

    /// TLS-only server (`--port 0`) with a certificate for `pki`'s DNS name.
    pub fn tls(pki: &Pki, extra: &[&str]) -> Self {
        let port = free_port();
        let p = port.to_string();
        let (cert, key, ca) = (path_str(&pki.cert), path_str(&pki.key), path_str(&pki.ca));
        let mut args = vec![
            "--port",
            "0",
            "--tls-port",
            p.as_str(),
            "--tls-cert-file",
            cert.as_str(),
            "--tls-key-file",
            key.as_str(),
            "--tls-ca-cert-file",
            ca.as_str(),
            "--tls-auth-clients",
            "no",
        ];
        args.extend_from_slice(extra);
        Self::spawn(port, &args)
    }

    fn spawn(port: u16, args: &[&str]) -> Self {
        require_redis_server();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("redis.log");
        let mut cmd = Command::new("redis-server");
        cmd.args(args)
            .args([
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("spawn redis-server");
        let mut server = Self {
            child,
            port,
            log,
            _dir: dir,
        };
        server.wait_listening();
        server
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("redis-server exited early ({status}); log:\n{}", self.log_text());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "redis-server not listening on {} after 10 s; log:\n{}",
                    self.port,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

pub fn path_str(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------

/// A CA and a server certificate for one DNS name, written as PEM files.
pub struct Pki {
    pub ca_pem: Vec<u8>,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn make_pki(dns_name: &str, ca_name: &str) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        KeyUsagePurpose,
    };

    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, ca_name);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec![dns_name.to_owned()]).unwrap();
    server_params
        .distinguished_name
        .push(DnType::CommonName, dns_name);
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = (
        dir.path().join("ca.pem"),
        dir.path().join("server.pem"),
        dir.path().join("server.key"),
    );
    std::fs::write(&ca, ca_cert.pem()).unwrap();
    std::fs::write(&cert, server_cert.pem()).unwrap();
    std::fs::write(&key, server_key.serialize_pem()).unwrap();
    Pki {
        ca_pem: ca_cert.pem().into_bytes(),
        ca,
        cert,
        key,
        _dir: dir,
    }
}

pub fn tls_opts(server_name: &str, ca_pem: Option<&[u8]>) -> TlsOptions {
    TlsOptions {
        server_name: server_name.to_owned(),
        extra_roots_pem: ca_pem.map(<[u8]>::to_vec),
    }
}

pub fn auth(user: Option<&str>, token: &str) -> Auth {
    Auth {
        user: user.map(str::to_owned),
        token: token.to_owned(),
    }
}
