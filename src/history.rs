//! Nightly history: each scan's inventory and result kept under a dated name in a directory,
//! the newest earlier run found to compare against, and only the last N runs kept.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

/// File names: `ecaudit-<UTC stamp>.inventory.json` and `ecaudit-<UTC stamp>.scan.json`; the
/// stamp sorts as time does.
const PREFIX: &str = "ecaudit-";
const INVENTORY: &str = ".inventory.json";
const SCAN: &str = ".scan.json";

#[derive(Debug, thiserror::Error)]
#[error("{dir}: {what}: {source}")]
pub struct HistoryError {
    pub dir: String,
    pub what: &'static str,
    #[source]
    pub source: std::io::Error,
}

/// The sort key of a stamp: its time, then its `-N` suffix (none is 1).
fn order(stamp: &str) -> (String, u32) {
    match stamp.split_once('-') {
        Some((base, n)) => (base.to_string(), n.parse().unwrap_or(u32::MAX)),
        None => (stamp.to_string(), 1),
    }
}

/// One recorded run: its inventory and its scan result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub stamp: String,
    pub inventory: PathBuf,
    pub scan: PathBuf,
}

/// A history directory.
pub struct History {
    dir: PathBuf,
}

impl History {
    /// Opens `dir`, creating it if needed.
    pub fn open(dir: &Path) -> Result<History, HistoryError> {
        std::fs::create_dir_all(dir).map_err(|source| HistoryError {
            dir: dir.display().to_string(),
            what: "cannot create the history directory",
            source,
        })?;
        Ok(History {
            dir: dir.to_path_buf(),
        })
    }

    /// The stamp of a run at `at`: `20261129T030000Z` (seconds; a second run in the same second
    /// gets a suffix).
    pub fn stamp(&self, at: DateTime<Utc>) -> String {
        let base = at.format("%Y%m%dT%H%M%SZ").to_string();
        let mut stamp = base.clone();
        let mut n = 1;
        while self.dir.join(format!("{PREFIX}{stamp}{SCAN}")).exists() {
            n += 1;
            stamp = format!("{base}-{n}");
        }
        stamp
    }

    /// Complete runs (both files present), oldest first.
    pub fn runs(&self) -> Result<Vec<Run>, HistoryError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|source| HistoryError {
            dir: self.dir.display().to_string(),
            what: "cannot list the history directory",
            source,
        })?;
        let mut runs = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stamp) = name.strip_prefix(PREFIX).and_then(|n| n.strip_suffix(SCAN)) else {
                continue;
            };
            let run = self.run(stamp);
            if run.inventory.is_file() {
                runs.push(run);
            }
        }
        // Stamps sort as time does; a `-N` suffix after its base.
        runs.sort_by_key(|r| order(&r.stamp));
        Ok(runs)
    }

    /// The files of the run `stamp`.
    pub fn run(&self, stamp: &str) -> Run {
        Run {
            stamp: stamp.to_string(),
            inventory: self.dir.join(format!("{PREFIX}{stamp}{INVENTORY}")),
            scan: self.dir.join(format!("{PREFIX}{stamp}{SCAN}")),
        }
    }

    /// Deletes all but the newest `keep` runs; returns the runs deleted.
    pub fn prune(&self, keep: usize) -> Result<Vec<Run>, HistoryError> {
        let runs = self.runs()?;
        let excess = runs.len().saturating_sub(keep);
        let old: Vec<Run> = runs.into_iter().take(excess).collect();
        for run in &old {
            for file in [&run.scan, &run.inventory] {
                std::fs::remove_file(file).map_err(|source| HistoryError {
                    dir: self.dir.display().to_string(),
                    what: "cannot delete an old run",
                    source,
                })?;
            }
        }
        Ok(old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::write(p, "{}").unwrap();
    }

    #[test]
    fn runs_sort_by_time_and_prune_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("history")).unwrap();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        for t in [
            "2026-11-28T03:00:00Z",
            "2026-11-27T03:00:00Z",
            "2026-11-29T03:00:00Z",
        ] {
            let run = h.run(&h.stamp(at(t)));
            touch(&run.inventory);
            touch(&run.scan);
        }
        // A second run in the same second, and a half-written one (no inventory).
        let again = h.run(&h.stamp(at("2026-11-29T03:00:00Z")));
        assert_eq!(again.stamp, "20261129T030000Z-2");
        touch(&again.inventory);
        touch(&again.scan);
        touch(&h.run("20261130T030000Z").scan);
        let stamps: Vec<String> = h.runs().unwrap().into_iter().map(|r| r.stamp).collect();
        assert_eq!(
            stamps,
            [
                "20261127T030000Z",
                "20261128T030000Z",
                "20261129T030000Z",
                "20261129T030000Z-2"
            ]
        );
        let deleted = h.prune(2).unwrap();
        assert_eq!(deleted.len(), 2);
        let stamps: Vec<String> = h.runs().unwrap().into_iter().map(|r| r.stamp).collect();
        assert_eq!(stamps, ["20261129T030000Z", "20261129T030000Z-2"]);
        assert!(!deleted[0].inventory.exists() && !deleted[0].scan.exists());
    }
}
