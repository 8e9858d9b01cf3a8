//! Nightly history: each scan's inventory and result kept under a dated name in a directory,
//! the newest earlier run found to compare against, and only the last N runs kept. The
//! directory may be shared: a file is taken for a run only when its content says ecaudit wrote
//! it, before this run; anything else is reported and left alone.

pub mod age;
pub mod night;
mod remote;
pub mod trend;

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::suppress::excerpt;

/// File names: `ecaudit-<UTC stamp>.inventory.json` and `ecaudit-<UTC stamp>.scan.json`; the
/// stamp sorts as time does.
const PREFIX: &str = "ecaudit-";
const INVENTORY: &str = ".inventory.json";
const SCAN: &str = ".scan.json";
const STAMP: &str = "%Y%m%dT%H%M%SZ";

#[derive(Debug, thiserror::Error)]
#[error("{dir}: {what}: {source}")]
pub struct HistoryError {
    pub dir: String,
    pub what: &'static str,
    #[source]
    pub source: std::io::Error,
}

/// The time and `-N` suffix (none is 1) of a stamp, `None` if ecaudit would not have named a
/// run so.
fn parse_stamp(stamp: &str) -> Option<(NaiveDateTime, u32)> {
    let (base, n) = match stamp.split_once('-') {
        Some((base, n)) if !n.starts_with(['+', '0']) => (base, n.parse().ok().filter(|&n| n >= 2)?),
        Some(_) => return None,
        None => (stamp, 1),
    };
    // `%Y` would also take a sign or five digits: the length pins the form ecaudit writes.
    (base.len() == 16)
        .then(|| NaiveDateTime::parse_from_str(base, STAMP).ok())
        .flatten()
        .map(|t| (t, n))
}

/// One recorded run: its inventory and its scan result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub stamp: String,
    pub inventory: PathBuf,
    pub scan: PathBuf,
}

/// A run ecaudit recorded, as its result document dates it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub run: Run,
    /// `scan.evaluated_at` of its result document.
    pub evaluated_at: DateTime<Utc>,
}

/// A file named like a run that is not taken for one, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignored {
    /// The file name, escaped and shortened for a message.
    pub name: String,
    pub why: String,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not taken for a run: {}", self.name, self.why)
    }
}

/// The runs of a directory as seen by the run about to be recorded.
#[derive(Debug, Default)]
pub struct Survey {
    /// Runs ecaudit recorded before this one, newest first (by `evaluated_at`, then stamp).
    pub earlier: Vec<Recorded>,
    /// Files named like runs that are future-dated, foreign or unreadable.
    pub ignored: Vec<Ignored>,
}

/// A history directory, or an S3 prefix read through local copies.
pub struct History {
    /// The directory, or where an S3 history's copies are kept.
    dir: PathBuf,
    remote: Option<remote::Remote>,
}

fn s3_error(e: crate::s3::Error) -> HistoryError {
    HistoryError {
        dir: e.url.clone(),
        what: e.what,
        source: std::io::Error::other(e.message),
    }
}

impl History {
    /// `s3://bucket/prefix/`, listed now.
    fn on_s3(dir: &Path) -> Result<History, HistoryError> {
        let prefix = crate::s3::S3Url::prefix(dir.as_os_str()).map_err(|why| HistoryError {
            dir: dir.display().to_string(),
            what: "not an S3 prefix",
            source: std::io::Error::other(why),
        })?;
        let remote = remote::Remote::list(prefix).map_err(s3_error)?;
        Ok(History {
            dir: remote.local.path().to_path_buf(),
            remote: Some(remote),
        })
    }

    /// Opens `dir`, creating it if needed; an S3 prefix is listed.
    pub fn open(dir: &Path) -> Result<History, HistoryError> {
        if crate::s3::is_s3(dir.as_os_str()) {
            return History::on_s3(dir);
        }
        std::fs::create_dir_all(dir).map_err(|source| HistoryError {
            dir: dir.display().to_string(),
            what: "cannot create the history directory",
            source,
        })?;
        Ok(History {
            dir: dir.to_path_buf(),
            remote: None,
        })
    }

    /// Opens the history in `dir`, which must exist (a report reads it, never creates it); an
    /// S3 prefix is listed.
    pub fn existing(dir: &Path) -> Result<History, HistoryError> {
        if crate::s3::is_s3(dir.as_os_str()) {
            return History::on_s3(dir);
        }
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => Ok(History {
                dir: dir.to_path_buf(),
                remote: None,
            }),
            Ok(_) => Err(HistoryError {
                dir: dir.display().to_string(),
                what: "not a history directory",
                source: std::io::Error::other("not a directory"),
            }),
            Err(source) => Err(HistoryError {
                dir: dir.display().to_string(),
                what: "cannot read the history directory",
                source,
            }),
        }
    }

    /// Every run ecaudit recorded in the directory (newest first, as [`History::survey`]
    /// orders them), and the files named like runs that are not.
    pub fn recorded(&self) -> Result<Survey, HistoryError> {
        self.list(None)
    }

    /// The stamp of a run at `at`: `20261129T030000Z` (seconds; a second run in the same second
    /// gets a suffix).
    pub fn stamp(&self, at: DateTime<Utc>) -> String {
        let base = at.format(STAMP).to_string();
        let mut stamp = base.clone();
        let mut n = 1;
        while self.has(&format!("{PREFIX}{stamp}{SCAN}")) {
            n += 1;
            stamp = format!("{base}-{n}");
        }
        stamp
    }

    /// The runs recorded before the run `stamp`, evaluated at `evaluated_at`: complete (both
    /// files present), named as ecaudit names runs, dated no later than this run by name and by
    /// the `scan.evaluated_at` of the result document ecaudit wrote, which the name does not
    /// predate. Everything else named like a run is ignored, and said why. Reads the head of
    /// one document at a time.
    pub fn survey(&self, stamp: &str, evaluated_at: DateTime<Utc>) -> Result<Survey, HistoryError> {
        self.list(Some((stamp, evaluated_at)))
    }

    /// Whether the history holds a file of this name.
    fn has(&self, name: &str) -> bool {
        match &self.remote {
            Some(remote) => remote.has(name),
            None => self.dir.join(name).is_file(),
        }
    }

    /// The names of the files of the history.
    fn names(&self) -> Result<Vec<std::ffi::OsString>, HistoryError> {
        if let Some(remote) = &self.remote {
            return Ok(remote.names().map(Into::into).collect());
        }
        let entries = std::fs::read_dir(&self.dir).map_err(|source| HistoryError {
            dir: self.dir.display().to_string(),
            what: "cannot list the history directory",
            source,
        })?;
        Ok(entries.flatten().map(|e| e.file_name()).collect())
    }

    /// Makes the file `path` of a run readable: on S3, downloads it (once).
    pub fn fetch(&self, path: &Path) -> Result<(), HistoryError> {
        match &self.remote {
            Some(remote) => remote.fetch(path).map_err(s3_error),
            None => Ok(()),
        }
    }

    /// Where the file `path` of a run is written: the file, or its S3 object.
    pub fn output(&self, path: &Path) -> crate::output::Output {
        match &self.remote {
            Some(remote) => crate::output::Output::S3(remote.url_of(path)),
            None => crate::output::Output::File(path.to_path_buf()),
        }
    }

    /// The file `path` of a run as messages and reports name it: its path, or its S3 URL.
    pub fn shown(&self, path: &Path) -> String {
        match &self.remote {
            Some(remote) => remote.url_of(path).to_string(),
            None => path.display().to_string(),
        }
    }

    /// The runs recorded before `this` run (its stamp and evaluation time), or all of them.
    fn list(&self, this: Option<(&str, DateTime<Utc>)>) -> Result<Survey, HistoryError> {
        let this_stamp = this.and_then(|(stamp, _)| parse_stamp(stamp));
        let mut survey = Survey::default();
        for raw in self.names()? {
            let lossy = raw.to_string_lossy();
            if !(lossy.starts_with(PREFIX) && lossy.ends_with(SCAN)) {
                continue;
            }
            let mut ignore = |why: String| {
                survey.ignored.push(Ignored {
                    name: excerpt(&lossy),
                    why,
                })
            };
            let Some(name) = raw.to_str() else {
                ignore("its name is not UTF-8".into());
                continue;
            };
            let run_stamp = &name[PREFIX.len()..name.len() - SCAN.len()];
            let Some(named) = parse_stamp(run_stamp) else {
                ignore("ecaudit names runs ecaudit-YYYYMMDDTHHMMSSZ[-N].scan.json".into());
                continue;
            };
            if this_stamp.is_some_and(|this| named > this) {
                ignore("it is dated after this run".into());
                continue;
            }
            let run = self.run(run_stamp);
            if !self.has(&format!("{PREFIX}{run_stamp}{INVENTORY}")) {
                // Half written (or being written): not a run yet, and not a stranger either.
                continue;
            }
            if let Err(e) = self.fetch(&run.scan) {
                ignore(format!("it cannot be read: {e}"));
                continue;
            }
            match night::evaluated_at(&run.scan) {
                Err(why) => ignore(why),
                Ok(at)
                    if let Some((_, evaluated_at)) = this
                        && at > evaluated_at =>
                {
                    ignore(format!(
                        "it was evaluated at {at}, after this run ({evaluated_at})"
                    ))
                }
                // A run is named when it is recorded, after it was evaluated.
                Ok(at) if at.naive_utc().format(STAMP).to_string().as_str() > &run_stamp[..16] => {
                    ignore(format!("it was evaluated at {at}, after the time its name gives"))
                }
                Ok(at) => survey.earlier.push(Recorded {
                    run,
                    evaluated_at: at,
                }),
            }
        }
        survey
            .earlier
            .sort_by_key(|r| (r.evaluated_at, parse_stamp(&r.run.stamp)));
        survey.earlier.reverse();
        survey.ignored.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(survey)
    }

    /// The files of the run `stamp`.
    pub fn run(&self, stamp: &str) -> Run {
        Run {
            stamp: stamp.to_string(),
            inventory: self.dir.join(format!("{PREFIX}{stamp}{INVENTORY}")),
            scan: self.dir.join(format!("{PREFIX}{stamp}{SCAN}")),
        }
    }

    /// Deletes all but the newest `keep` runs, the one just recorded included (never deleted):
    /// of `earlier` (a [`Survey`]'s: runs ecaudit recorded), all but the newest `keep - 1` by
    /// recording time. Returns the runs deleted.
    pub fn prune(&self, keep: usize, earlier: &[Recorded]) -> Result<Vec<Run>, HistoryError> {
        let mut runs: Vec<&Run> = earlier.iter().map(|r| &r.run).collect();
        runs.sort_by_key(|r| parse_stamp(&r.stamp));
        let excess = runs.len().saturating_sub(keep.saturating_sub(1));
        let old: Vec<Run> = runs.into_iter().take(excess).cloned().collect();
        if let Some(remote) = &self.remote {
            let files: Vec<&Path> = old
                .iter()
                .flat_map(|r| [r.scan.as_path(), r.inventory.as_path()])
                .collect();
            remote.delete(&files).map_err(s3_error)?;
            return Ok(old);
        }
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

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// Records a run as ecaudit would: named at `named`, evaluated at `evaluated`.
    fn record(h: &History, named: &str, evaluated: &str) -> Run {
        let run = h.run(&h.stamp(at(named)));
        std::fs::write(&run.inventory, "{}").unwrap();
        let head = format!(
            r#"{{"schema_version":1,"tool":{{"name":"ecaudit","version":"0","rule_pack":"0"}},"scan":{{"evaluated_at":"{evaluated}","min_severity":"info"}},"findings":[]}}"#
        );
        std::fs::write(&run.scan, head).unwrap();
        run
    }

    fn stamps(runs: &[Recorded]) -> Vec<&str> {
        runs.iter().map(|r| r.run.stamp.as_str()).collect()
    }

    #[test]
    fn stamps_are_the_form_ecaudit_writes() {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, STAMP).unwrap();
        assert_eq!(parse_stamp("20261129T030000Z"), Some((t("20261129T030000Z"), 1)));
        assert_eq!(
            parse_stamp("20261129T030000Z-12"),
            Some((t("20261129T030000Z"), 12))
        );
        for bad in [
            "+20261129T030000Z",
            "020261129T030000Z",
            "20261129T030000Z-1",
            "20261129T030000Z-02",
            "20261129T030000Z-x",
            "20261329T030000Z",
            "latest",
        ] {
            assert_eq!(parse_stamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn earlier_runs_are_chosen_by_content_and_prune_keeps_this_one() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("history")).unwrap();
        record(&h, "2026-11-28T03:00:00Z", "2026-11-28T02:59:00Z");
        record(&h, "2026-11-27T03:00:00Z", "2026-11-27T02:59:00Z");
        record(&h, "2026-11-29T03:00:00Z", "2026-11-29T02:59:00Z");
        // A second run in the same second, and a half-written one (no inventory).
        let again = record(&h, "2026-11-29T03:00:00Z", "2026-11-29T02:59:00Z");
        assert_eq!(again.stamp, "20261129T030000Z-2");
        std::fs::write(h.run("20261130T010000Z").scan, "{}").unwrap();
        // Planted: named in the future, empty, foreign, dated after its own name.
        let plant = |stamp: &str, text: &str| {
            let run = h.run(stamp);
            std::fs::write(&run.inventory, "{}").unwrap();
            std::fs::write(&run.scan, text).unwrap();
        };
        plant("99991231T235959Z", "");
        plant("20261101T000000Z", "");
        plant(
            "20261102T000000Z",
            r#"{"schema_version":1,"tool":{"name":"other"},"scan":{"evaluated_at":"2026-11-02T00:00:00Z"}}"#,
        );
        record(&h, "2026-11-03T00:00:00Z", "2026-11-20T00:00:00Z");
        std::fs::write(dir.path().join("history/ecaudit-latest.scan.json"), "{}").unwrap();
        std::fs::write(dir.path().join("history/notes.txt"), "not a run").unwrap();

        let this = h.stamp(at("2026-11-30T03:00:00Z"));
        let survey = h.survey(&this, at("2026-11-30T02:59:00Z")).unwrap();
        assert_eq!(
            stamps(&survey.earlier),
            [
                "20261129T030000Z-2",
                "20261129T030000Z",
                "20261128T030000Z",
                "20261127T030000Z"
            ]
        );
        let ignored: Vec<(&str, &str)> = survey
            .ignored
            .iter()
            .map(|i| (i.name.as_str(), i.why.split(':').next().unwrap()))
            .collect();
        assert_eq!(
            ignored,
            [
                ("ecaudit-20261101T000000Z.scan.json", "not a scan result"),
                (
                    "ecaudit-20261102T000000Z.scan.json",
                    "not a scan result ecaudit (schema_version 1) wrote"
                ),
                (
                    "ecaudit-20261103T000000Z.scan.json",
                    "it was evaluated at 2026-11-20 00"
                ),
                ("ecaudit-99991231T235959Z.scan.json", "it is dated after this run"),
                (
                    "ecaudit-latest.scan.json",
                    "ecaudit names runs ecaudit-YYYYMMDDTHHMMSSZ[-N].scan.json"
                ),
            ]
        );
        // Evaluated after this run: not an earlier run, whatever its name.
        let survey = h.survey(&this, at("2026-11-28T12:00:00Z")).unwrap();
        assert_eq!(stamps(&survey.earlier), ["20261128T030000Z", "20261127T030000Z"]);

        // This run is recorded; keeping 2 keeps it and the newest earlier one, and deletes only
        // runs ecaudit recorded.
        let survey = h.survey(&this, at("2026-11-30T02:59:00Z")).unwrap();
        record(&h, "2026-11-30T03:00:00Z", "2026-11-30T02:59:00Z");
        let deleted = h.prune(2, &survey.earlier).unwrap();
        let deleted: Vec<&str> = deleted.iter().map(|r| r.stamp.as_str()).collect();
        assert_eq!(
            deleted,
            ["20261127T030000Z", "20261128T030000Z", "20261129T030000Z"]
        );
        let mut left: Vec<String> = std::fs::read_dir(dir.path().join("history"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(SCAN))
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "ecaudit-20261101T000000Z.scan.json",
                "ecaudit-20261102T000000Z.scan.json",
                "ecaudit-20261103T000000Z.scan.json",
                "ecaudit-20261129T030000Z-2.scan.json",
                "ecaudit-20261130T010000Z.scan.json",
                "ecaudit-20261130T030000Z.scan.json",
                "ecaudit-99991231T235959Z.scan.json",
                "ecaudit-latest.scan.json",
            ]
        );
        // `--keep 1` keeps this run only, and deletes nothing it did not record.
        assert_eq!(h.prune(1, &[]).unwrap(), []);
    }
}
