//! The INFO section: reads `INFO` through the `Access` the protocol checks found (transport and
//! credentials), extracts the figures it judges ([`InfoSummary`]) and judges them: memory against
//! `maxmemory`, fragmentation, evictions, keys per database, CPU time.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::InfoDict;
use tokio::io::{AsyncRead, AsyncWrite};

use super::check::{Check, Section, not_checked};
use super::probe::{Auth, ProbeError, Session};
use super::protocol::Access;

/// Used memory above this share of `maxmemory` is a ✘.
pub const MEMORY_PERCENT: f64 = 90.0;
/// A fragmentation ratio above this is a ✘ (below 1.0 too: memory is swapped).
pub const FRAGMENTATION_RATIO: f64 = 1.5;
/// Below this much used memory the fragmentation ratio says nothing (allocator overhead).
pub const FRAGMENTATION_MIN_BYTES: u64 = 64 * 1024 * 1024;

/// The section's checks, in order: id and title (for when INFO cannot be read).
const CHECKS: [(&str, &str); 5] = [
    ("info-memory", "used memory against maxmemory"),
    ("info-fragmentation", "memory fragmentation"),
    ("info-evictions", "evicted keys"),
    ("info-keyspace", "keys per database"),
    ("info-cpu", "CPU time"),
];

/// Every check of the section, – for `why`.
pub(crate) fn unchecked(why: &str) -> Vec<Check> {
    not_checked(Section::Info, &CHECKS, why)
}

/// The section: INFO read through `access` and judged, or every check – with why it was not read.
pub(crate) async fn checks(access: &Access) -> Vec<Check> {
    let info = match access.open().await {
        Err(e) => Err(e),
        Ok(stream) if access.auth_on && access.credentials.is_none() => {
            drop(stream);
            Err("AUTH is on: pass --auth-token-env VAR to read INFO".to_string())
        }
        Ok(stream) => read(stream, access.credentials.as_ref(), access.timeout)
            .await
            .map_err(|e| e.to_string()),
    };
    match info {
        Ok(info) => judge(&info),
        Err(e) => unchecked(&format!("not read: {e}")),
    }
}

/// Opens a [`Session`] on `stream` (sending `AUTH` if given) and reads `INFO`.
pub async fn read<S>(stream: S, auth: Option<&Auth>, timeout: Duration) -> Result<InfoSummary, ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut session = Session::start(stream, auth, timeout).await?;
    Ok(InfoSummary::from_info_dict(&session.info().await?))
}

/// Key counts of one logical database (`INFO keyspace`, line `dbN:keys=..,expires=..,...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DbKeyspace {
    pub keys: u64,
    pub expires: u64,
}

/// The figures `doctor` reports from `INFO`. Fields are `None` when the server did not
/// report them (older engines, restricted deployments) so callers can say "not reported".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InfoSummary {
    /// `redis_version` (Valkey reports a Redis-compatible value here too).
    pub redis_version: Option<String>,
    /// `valkey_version`, only on Valkey.
    pub valkey_version: Option<String>,
    /// `role`: `master` or `slave`.
    pub role: Option<String>,
    /// `used_memory`, bytes.
    pub used_memory: Option<u64>,
    /// `maxmemory`, bytes; `Some(0)` means no limit (see [`InfoSummary::maxmemory_limit`]).
    pub maxmemory: Option<u64>,
    /// `maxmemory_policy`, e.g. `volatile-lru`.
    pub maxmemory_policy: Option<String>,
    /// `mem_fragmentation_ratio`.
    pub mem_fragmentation_ratio: Option<f64>,
    /// `evicted_keys` since start (or `CONFIG RESETSTAT`).
    pub evicted_keys: Option<u64>,
    /// `used_cpu_sys`, seconds.
    pub used_cpu_sys: Option<f64>,
    /// `used_cpu_user`, seconds.
    pub used_cpu_user: Option<f64>,
    /// Databases with at least one key, by index. Empty databases are not listed by Redis.
    pub keyspace: BTreeMap<u32, DbKeyspace>,
}

impl InfoSummary {
    /// Parses the text of an `INFO` reply.
    pub fn parse(text: &str) -> Self {
        Self::from_info_dict(&InfoDict::new(text))
    }

    /// Extracts the summary from a redis-rs [`InfoDict`].
    pub fn from_info_dict(dict: &InfoDict) -> Self {
        let text = |k: &str| dict.get::<String>(k).map(|s| s.trim().to_owned());
        let uint = |k: &str| text(k).and_then(|s| s.parse::<u64>().ok());
        let float = |k: &str| text(k).and_then(|s| s.parse::<f64>().ok());

        let keyspace = dict
            .keys()
            .filter_map(|key| {
                let index = key.strip_prefix("db")?.parse::<u32>().ok()?;
                Some((index, parse_keyspace_line(&text(key)?)?))
            })
            .collect();

        Self {
            redis_version: text("redis_version"),
            valkey_version: text("valkey_version"),
            role: text("role"),
            used_memory: uint("used_memory"),
            maxmemory: uint("maxmemory"),
            maxmemory_policy: text("maxmemory_policy"),
            mem_fragmentation_ratio: float("mem_fragmentation_ratio"),
            evicted_keys: uint("evicted_keys"),
            used_cpu_sys: float("used_cpu_sys"),
            used_cpu_user: float("used_cpu_user"),
            keyspace,
        }
    }

    /// `maxmemory` as a limit: `None` when not reported or 0 (unlimited).
    pub fn maxmemory_limit(&self) -> Option<u64> {
        self.maxmemory.filter(|&m| m > 0)
    }

    /// Total keys over all databases.
    pub fn total_keys(&self) -> u64 {
        self.keyspace.values().map(|db| db.keys).sum()
    }
}

/// Parses `keys=3,expires=1,avg_ttl=0[,subexpiry=0]`; `None` if `keys` is missing.
fn parse_keyspace_line(value: &str) -> Option<DbKeyspace> {
    let mut keys = None;
    let mut expires = 0;
    for field in value.split(',') {
        match field.split_once('=') {
            Some(("keys", v)) => keys = v.parse().ok(),
            Some(("expires", v)) => expires = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    Some(DbKeyspace { keys: keys?, expires })
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Judges what INFO said: memory against maxmemory, fragmentation, evictions (✘ above the
/// thresholds), keys and CPU time (informational).
pub(crate) fn judge(info: &InfoSummary) -> Vec<Check> {
    let mut out = Vec::new();
    let version = match (&info.valkey_version, &info.redis_version) {
        (Some(v), _) => format!("valkey {v}"),
        (None, Some(r)) => format!("redis {r}"),
        _ => "engine version not reported".into(),
    };

    let check = Check::new(
        "info-memory",
        Section::Info,
        format!("used memory is at most {MEMORY_PERCENT}% of maxmemory"),
    );
    out.push(match (info.used_memory, info.maxmemory_limit()) {
        (Some(used), Some(max)) => {
            let pct = used as f64 * 100.0 / max as f64;
            let line = format!(
                "used_memory {} of maxmemory {} ({pct:.1}%), maxmemory-policy {} ({version}, role {})",
                bytes(used),
                bytes(max),
                info.maxmemory_policy.as_deref().unwrap_or("unknown"),
                info.role.as_deref().unwrap_or("unknown")
            );
            if pct > MEMORY_PERCENT {
                check.with(line).fail(
                    "give keys TTLs, find large keys (`redis-cli --bigkeys`), or add memory (more shards or \
                     a larger node type)"
                        .into(),
                )
            } else {
                check.with(line).pass()
            }
        }
        (Some(used), None) => check
            .with(format!(
                "used_memory {}, no maxmemory set ({version})",
                bytes(used)
            ))
            .skip_keeping_evidence(),
        _ => check.skip("INFO did not report used_memory"),
    });

    let check = Check::new(
        "info-fragmentation",
        Section::Info,
        format!("fragmentation ratio between 1.0 and {FRAGMENTATION_RATIO}"),
    );
    out.push(match (info.mem_fragmentation_ratio, info.used_memory) {
        (Some(ratio), Some(used)) if used < FRAGMENTATION_MIN_BYTES => check
            .with(format!(
                "mem_fragmentation_ratio {ratio:.2} with {} used: not meaningful below {}",
                bytes(used),
                bytes(FRAGMENTATION_MIN_BYTES)
            ))
            .pass(),
        (Some(ratio), _) if ratio > FRAGMENTATION_RATIO => check
            .with(format!(
                "mem_fragmentation_ratio {ratio:.2}, above {FRAGMENTATION_RATIO}"
            ))
            .fail(
                "turn on `activedefrag yes` in the parameter group, or fail over to a fresh node off-peak"
                    .into(),
            ),
        (Some(ratio), _) if ratio < 1.0 => check
            .with(format!(
                "mem_fragmentation_ratio {ratio:.2}, below 1.0: memory is swapped"
            ))
            .fail(
                "reduce the dataset or move to a node type with more memory; raise `reserved-memory-percent`"
                    .into(),
            ),
        (Some(ratio), _) => check.with(format!("mem_fragmentation_ratio {ratio:.2}")).pass(),
        (None, _) => check.skip("INFO did not report mem_fragmentation_ratio"),
    });

    let check = Check::new("info-evictions", Section::Info, "no keys evicted".into());
    out.push(match info.evicted_keys {
        Some(0) => check.with("evicted_keys 0 since the server started").pass(),
        Some(n) => check
            .with(format!(
                "evicted_keys {n} since the server started (warning above 0)"
            ))
            .fail(
                "the dataset does not fit: give keys TTLs, remove what is not needed, or add memory".into(),
            ),
        None => check.skip("INFO did not report evicted_keys"),
    });

    let check = Check::new("info-keyspace", Section::Info, "keys per database".into());
    out.push(if info.keyspace.is_empty() {
        check.with("no keys").pass()
    } else {
        let mut check = check;
        for (db, k) in &info.keyspace {
            check
                .evidence
                .push(format!("db{db}: {} keys, {} with a TTL", k.keys, k.expires));
        }
        check.pass()
    });

    let check = Check::new("info-cpu", Section::Info, "CPU time used by the server".into());
    out.push(match (info.used_cpu_sys, info.used_cpu_user) {
        (Some(sys), Some(user)) => check
            .with(format!(
                "used_cpu_sys {sys:.2} s, used_cpu_user {user:.2} s since the server started; the rate is \
                 CloudWatch's (below)"
            ))
            .pass(),
        _ => check.skip("INFO did not report used_cpu_sys / used_cpu_user"),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Server\r\nredis_version:7.0.15\r\nrole:master\r\n\r\n# Memory\r\n\
        used_memory:1048576\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n\
        mem_fragmentation_ratio:1.25\r\n\r\n# Stats\r\nevicted_keys:7\r\n\r\n# CPU\r\n\
        used_cpu_sys:0.123456\r\nused_cpu_user:1.5\r\n\r\n# Keyspace\r\n\
        db0:keys=3,expires=1,avg_ttl=0\r\ndb12:keys=10,expires=0,avg_ttl=0,subexpiry=0\r\n";

    #[test]
    fn parses_info_text() {
        let s = InfoSummary::parse(SAMPLE);
        assert_eq!(s.redis_version.as_deref(), Some("7.0.15"));
        assert_eq!(s.role.as_deref(), Some("master"));
        assert_eq!(s.used_memory, Some(1_048_576));
        assert_eq!(s.maxmemory, Some(0));
        assert_eq!(s.maxmemory_limit(), None);
        assert_eq!(s.maxmemory_policy.as_deref(), Some("noeviction"));
        assert_eq!(s.mem_fragmentation_ratio, Some(1.25));
        assert_eq!(s.evicted_keys, Some(7));
        assert_eq!(s.used_cpu_sys, Some(0.123456));
        assert_eq!(s.used_cpu_user, Some(1.5));
        assert_eq!(s.keyspace.get(&0), Some(&DbKeyspace { keys: 3, expires: 1 }));
        assert_eq!(s.keyspace.get(&12), Some(&DbKeyspace { keys: 10, expires: 0 }));
        assert_eq!(s.total_keys(), 13);
        assert_eq!(s.valkey_version, None);
    }

    #[test]
    fn missing_fields_are_none() {
        let s = InfoSummary::parse("# Server\r\nredis_version:6.2.6\r\n");
        assert_eq!(s.used_memory, None);
        assert_eq!(s.evicted_keys, None);
        assert!(s.keyspace.is_empty());
    }
}
