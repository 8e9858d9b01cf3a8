//! Live-collection benchmarks against moto server, through the test proxy (not tests: nothing
//! here asserts a time). Run `tests/run.sh` once (it creates `.venv` with moto), then
//!
//! ```text
//! cargo bench --bench live -- rgs       # one region, 1,000 replication groups
//! cargo bench --bench live -- latency   # 40 accounts x 3 regions, 50 ms added to every call
//! cargo bench --bench live -- memory    # peak memory of scans of 10, 40, 160 and 640 accounts
//! ```
//!
//! `cargo bench` builds the release `ecaudit` this runs (`$ECAUDIT_BENCH_BINARY` instead when
//! set, to compare with another build). `rgs` reports the wall time and the API
//! calls made against the fewest the APIs allow; `latency` reports the wall time against the
//! ideal, calls x 50 ms / concurrency; `memory` reports the peak resident memory (from
//! `/usr/bin/time`) of a scan, a nightly scan (`--history`, compared with the previous night)
//! and a `collect` as the number of accounts grows, each account with the same deployments, and
//! of a scan of as many accounts with no deployment (what an account costs beyond its findings).

#[path = "../tests/it/common/moto.rs"]
#[allow(dead_code)]
mod moto;
#[path = "../tests/it/common/proxy.rs"]
#[allow(dead_code)]
mod proxy;
#[path = "../tests/it/common/seed.rs"]
#[allow(dead_code)]
mod seed;

use std::process::Command;
use std::time::{Duration, Instant};

use moto::{ACCOUNT, Moto};
use proxy::{FaultProxy, Faults};

const RUNS: usize = 3;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Runs `ecaudit scan ARGS` through `proxy` RUNS times: the median wall time in seconds and the
/// proxy's statistics of the last run.
fn scan(moto: &Moto, proxy: &FaultProxy, args: &[String]) -> (f64, proxy::Stats) {
    let mut times = Vec::new();
    let mut stats = proxy::Stats::default();
    for _ in 0..RUNS {
        proxy.set(current(proxy));
        let started = Instant::now();
        let out = scan_command(Command::new(binary()), moto, proxy)
            .args(args)
            .output()
            .expect("run ecaudit");
        times.push(started.elapsed().as_secs_f64());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        stats = proxy.stats();
    }
    (median(times), stats)
}

/// The `ecaudit` to run: another build to compare with (`ECAUDIT_BENCH_BINARY`), or this one.
fn binary() -> std::ffi::OsString {
    std::env::var_os("ECAUDIT_BENCH_BINARY")
        .filter(|b| !b.is_empty())
        .unwrap_or(env!("CARGO_BIN_EXE_ecaudit").into())
}

/// `command` (ecaudit, or a wrapper running it) with `scan` against moto through `proxy`, the
/// JSON result to /dev/null.
fn scan_command(mut command: Command, moto: &Moto, proxy: &FaultProxy) -> Command {
    command.envs(moto.env()).args([
        "scan",
        "--endpoint-url",
        &proxy.endpoint,
        "--format",
        "json",
        "--output",
        "/dev/null",
        "--exit-zero",
        "--quiet",
    ]);
    command
}

/// The proxy's settings, to reset its statistics between runs.
fn current(proxy: &FaultProxy) -> Faults {
    proxy.faults()
}

async fn rgs(moto: &Moto) {
    const GROUPS: usize = 1000;
    let cfg = moto.config("us-east-1").await;
    let net = seed::network(&cfg, "subnets", "10.1.0.0/16", false).await;
    let sg = seed::security_group(
        &cfg,
        &net.vpc_id,
        "cache",
        vec![seed::tcp(6379, 6379, "10.1.0.0/16")],
    )
    .await;
    let started = Instant::now();
    let mut nodes = 0;
    for i in 0..GROUPS {
        let id = format!("rg-{i:04}");
        nodes += seed::replication_group(&cfg, &seed::Group::compliant(&id, &sg, &net.subnet_group))
            .await
            .len();
    }
    eprintln!(
        "seeded {GROUPS} replication groups ({nodes} nodes) in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let proxy = FaultProxy::start(&moto.endpoint, Faults::none());
    let (seconds, stats) = scan(moto, &proxy, &["--regions".into(), "us-east-1".into()]);
    // The fewest calls the APIs allow for this region: list calls at their largest page size
    // (100 records), one call for each list that fits a page. Only the replication groups carry
    // tags, so only they come back from GetResources.
    let pages = |items: usize| items.div_ceil(100).max(1) as u64;
    let minimum: [(&str, u64); 4] = [
        ("DescribeReplicationGroups", pages(GROUPS)),
        ("DescribeCacheClusters", pages(nodes)),
        ("GetResources", pages(GROUPS)),
        ("DescribeSecurityGroups", 1),
    ];
    println!("rgs: {GROUPS} replication groups, {nodes} nodes in one region");
    println!(
        "  wall time (median of {RUNS}): {seconds:.2} s; API calls: {}",
        stats.requests
    );
    println!("  {:<34} {:>6} {:>8}", "call", "made", "minimum");
    for (action, made) in &stats.actions {
        let min = minimum
            .iter()
            .find(|(a, _)| a == action)
            .map(|(_, m)| m.to_string())
            .unwrap_or_else(|| "1".into());
        println!("  {action:<34} {made:>6} {min:>8}");
    }
}

async fn latency(moto: &Moto) {
    const ACCOUNTS: usize = 40;
    const CONCURRENCY: usize = 16;
    let delay = Duration::from_millis(50);
    let accounts: Vec<String> = std::iter::once(ACCOUNT.to_string())
        .chain((1..ACCOUNTS).map(|i| format!("{:012}", 200_000_000_000u64 + i as u64)))
        .collect();
    let proxy = FaultProxy::start(moto.endpoint.as_str(), Faults::none());
    let args: Vec<String> = [
        "--regions",
        "us-east-1,eu-west-1,ap-southeast-2",
        "--accounts",
        &accounts.join(","),
        "--role-name",
        "EcauditAudit",
        "--concurrency",
        &CONCURRENCY.to_string(),
    ]
    .map(str::to_string)
    .to_vec();
    // The same scan without the added latency: what the emulator itself takes.
    let (baseline, _) = scan(moto, &proxy, &args);
    proxy.set(Faults {
        delay,
        ..Faults::none()
    });
    let (seconds, stats) = scan(moto, &proxy, &args);
    let ideal = stats.requests as f64 * delay.as_secs_f64() / CONCURRENCY as f64;
    println!(
        "latency: {ACCOUNTS} accounts x 3 regions, {} ms added to every call, --concurrency {CONCURRENCY}",
        delay.as_millis()
    );
    println!(
        "  wall time (median of {RUNS}): {seconds:.2} s; API calls: {}; ideal (calls x {} ms / {CONCURRENCY}): {ideal:.2} s; ratio {:.2}",
        stats.requests,
        delay.as_millis(),
        seconds / ideal
    );
    println!(
        "  the same scan without the added latency: {baseline:.2} s (the emulator's own time); \
         with it, {:.2} s more",
        seconds - baseline
    );
}

/// Peak resident memory of scans of more and more accounts, each with the same two replication
/// groups in one region (and an empty second region): what each account adds.
/// Runs `command` (ecaudit with its arguments) under `/usr/bin/time`: wall time in seconds and
/// peak resident memory in MiB.
fn peak(mut command: Command, time: &std::path::Path) -> (f64, f64) {
    let started = Instant::now();
    let out = command
        .output()
        .expect("run /usr/bin/time (the `time` package) and ecaudit");
    let wall = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let kib: f64 = std::fs::read_to_string(time).unwrap().trim().parse().unwrap();
    (wall, kib / 1024.0)
}

async fn memory(moto: &Moto) {
    // `ECAUDIT_BENCH_ACCOUNTS=10,40,160` for a shorter run (640 accounts take most of an hour).
    let sizes: Vec<usize> = std::env::var("ECAUDIT_BENCH_ACCOUNTS")
        .map(|v| {
            v.split(',')
                .map(|n| n.trim().parse().expect("a number of accounts"))
                .collect()
        })
        .unwrap_or_else(|_| vec![10, 40, 160, 640]);
    const GROUPS: usize = 2;
    let accounts: Vec<String> = (0..*sizes.last().expect("a size"))
        .map(|i| format!("{:012}", 300_000_000_000u64 + i as u64))
        .collect();
    let proxy = FaultProxy::start(moto.endpoint.as_str(), Faults::none());
    let binary = binary();
    let work = std::env::temp_dir().join(format!("ecaudit-memory-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    println!("memory: accounts x 2 regions, {GROUPS} replication groups (4 nodes) per account; peak RSS");
    println!(
        "  {:>8} {:>12} {:>10} {:>12} {:>12} {:>24} {:>12} {:>14}",
        "accounts",
        "deployments",
        "scan wall",
        "scan",
        "per account",
        "scan --history (2nd run)",
        "collect",
        "scan, empty"
    );
    let mut seeded = 0;
    let mut first: Option<(usize, f64)> = None;
    for size in sizes {
        let started = Instant::now();
        for (a, account) in accounts.iter().enumerate().take(size).skip(seeded) {
            let cfg = moto.config_in_account(account, "us-east-1").await;
            let cidr = format!("10.{}.0.0/16", a % 250);
            let net = seed::network(&cfg, "subnets", &cidr, false).await;
            let sg =
                seed::security_group(&cfg, &net.vpc_id, "cache", vec![seed::tcp(6379, 6379, &cidr)]).await;
            for g in 0..GROUPS {
                let id = format!("rg-{g}");
                seed::replication_group(&cfg, &seed::Group::compliant(&id, &sg, &net.subnet_group)).await;
            }
        }
        eprintln!(
            "seeded accounts {seeded}..{size} in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        seeded = size;
        let time = work.join("time");
        let targets = [
            "--regions".to_string(),
            "us-east-1,eu-west-1".into(),
            "--role-name".into(),
            "EcauditAudit".into(),
            "--accounts".into(),
            accounts[..size].join(","),
        ];
        let timed = || {
            let mut timed = Command::new("/usr/bin/time");
            timed.args(["-f", "%M", "-o"]).arg(&time).arg(&binary);
            timed
        };
        let mut scan = scan_command(timed(), moto, &proxy);
        scan.args(&targets);
        let (wall, mib) = peak(scan, &time);
        // The nightly scan: the second run compares with the first and records itself.
        let history = work.join(format!("history-{size}"));
        let nightly = || {
            let mut command = scan_command(timed(), moto, &proxy);
            command.args(&targets).arg("--history").arg(&history);
            command
        };
        peak(nightly(), &time);
        std::thread::sleep(Duration::from_millis(1100));
        let (_, nightly_mib) = peak(nightly(), &time);
        let mut collect = timed();
        collect
            .envs(moto.env())
            .args([
                "collect",
                "--endpoint-url",
                &proxy.endpoint,
                "--output",
                "/dev/null",
                "--quiet",
            ])
            .args(&targets);
        let (_, collect_mib) = peak(collect, &time);
        // As many accounts that hold nothing (moto answers for any account): coverage only.
        let empty: Vec<String> = (0..size)
            .map(|i| format!("{:012}", 400_000_000_000u64 + i as u64))
            .collect();
        let mut scan = scan_command(timed(), moto, &proxy);
        scan.args(&targets[..4]).arg("--accounts").arg(empty.join(","));
        let (_, empty_mib) = peak(scan, &time);
        let per_account = match first {
            Some((n, m)) => format!("{:.0} KiB", (mib - m) * 1024.0 / (size - n) as f64),
            None => "-".into(),
        };
        first.get_or_insert((size, mib));
        println!(
            "  {size:>8} {:>12} {wall:>9.2}s {mib:>8.1} MiB {per_account:>12} {nightly_mib:>20.1} MiB {collect_mib:>8.1} MiB {empty_mib:>10.1} MiB",
            size * GROUPS
        );
    }
    std::fs::remove_dir_all(&work).ok();
}

fn main() {
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let all = which.is_empty();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        if all || which.iter().any(|w| w == "rgs") {
            rgs(&Moto::start()).await;
        }
        if all || which.iter().any(|w| w == "latency") {
            latency(&Moto::start()).await;
        }
        if all || which.iter().any(|w| w == "memory") {
            memory(&Moto::start()).await;
        }
    });
}
