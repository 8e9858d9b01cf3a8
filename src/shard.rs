//! Scale-out: `--shard K/N` splits the (account, region) units of a scan among N runs, and the
//! shard record each run writes lets `ecaudit merge` prove the runs cover every unit exactly once.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Shard K of N (1-based), as given to `--shard K/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a shard: use K/N with 1 <= K <= N, e.g. 2/8");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether this shard reads the unit (account, region). The unit's hash alone decides, so
    /// every shard agrees whatever else the target list holds.
    pub fn includes(&self, account_id: &str, region: &str) -> bool {
        shard_of(account_id, region, self.count) == self.index
    }
}

/// The shard (1..=count) that reads the unit (account, region).
pub fn shard_of(account_id: &str, region: &str, count: u32) -> u32 {
    let digest = Sha256::digest(format!("{account_id}/{region}").as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (n % u64::from(count)) as u32 + 1
}

/// What a shard run read, recorded in its inventory and scan result for `ecaudit merge`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShardInfo {
    /// K of `--shard K/N`.
    pub index: u32,
    /// N of `--shard K/N`.
    pub count: u32,
    /// The units this shard read, as `account/region`, sorted.
    pub units: Vec<String>,
    /// The units of the whole scan, all shards together: what this run's target resolution found.
    pub planned_units: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/4", "5/4", "1/0", "1", "a/b", "-1/4", "1/4/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_unit_belongs_to_exactly_one_shard() {
        let accounts: Vec<String> = (0..40)
            .map(|i| format!("{:012}", 100_000_000_000u64 + i))
            .collect();
        let regions = ["us-east-1", "eu-west-1", "ap-southeast-2"];
        for count in [1, 2, 3, 7] {
            let mut sizes = vec![0usize; count as usize];
            for a in &accounts {
                for r in regions {
                    let owners: Vec<u32> = (1..=count)
                        .filter(|&k| Shard { index: k, count }.includes(a, r))
                        .collect();
                    assert_eq!(owners.len(), 1, "{a}/{r} in shards {owners:?} of {count}");
                    sizes[owners[0] as usize - 1] += 1;
                }
            }
            // 120 units: no shard is empty or holds more than twice its share.
            let share = 120 / count as usize;
            assert!(
                sizes.iter().all(|&s| s > 0 && s <= 2 * share),
                "{count}: {sizes:?}"
            );
        }
        // Pinned: shards written by one release must merge with another's (SHA-256 of
        // `account/region`, first 8 bytes big-endian, modulo N, plus 1).
        assert_eq!(shard_of("123456789012", "us-east-1", 4), 2);
        assert_eq!(shard_of("123456789012", "us-east-1", 7), 4);
        assert_eq!(shard_of("222222222222", "ap-southeast-2", 16), 2);
    }
}
