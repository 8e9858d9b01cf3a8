//! A history under an S3 prefix (`s3://bucket/prefix/`): the same runs as in a directory, one
//! object per file. The prefix is listed once; a run's result document is downloaded when the
//! history reads it (a survey reads each one's head), its inventory only when compared with, into
//! a private temporary directory that stands in for the history directory. A recorded file is
//! uploaded whole; pruning deletes the objects of runs ecaudit recorded, nothing else.

use std::path::Path;

use crate::s3::{Listed, S3Url};

/// The prefix, what it held when listed, and the local copies.
pub struct Remote {
    pub prefix: S3Url,
    listed: Vec<Listed>,
    /// Where copies are kept; removed with the history.
    pub local: tempfile::TempDir,
}

impl Remote {
    /// Lists `prefix` (every page), before anything else is done with it.
    pub fn list(prefix: S3Url) -> Result<Remote, crate::s3::Error> {
        let listed = crate::s3::store()?.list(&prefix)?;
        let local = tempfile::Builder::new()
            .prefix("ecaudit-history-")
            .tempdir()
            .map_err(|e| crate::s3::Error {
                url: prefix.to_string(),
                what: "cannot keep local copies",
                message: e.to_string(),
            })?;
        Ok(Remote {
            prefix,
            listed,
            local,
        })
    }

    /// The names of the objects directly under the prefix.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.listed.iter().map(|l| l.name.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.listed.iter().any(|l| l.name == name)
    }

    /// The object of the local copy `path`.
    pub fn url_of(&self, path: &Path) -> S3Url {
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        self.prefix.join(&name)
    }

    /// Downloads the object of `path` there, unless it already is.
    pub fn fetch(&self, path: &Path) -> Result<(), crate::s3::Error> {
        if path.exists() {
            return Ok(());
        }
        crate::s3::store()?.download(&self.url_of(path), path)
    }

    /// Deletes the objects of these local copies, and the copies.
    pub fn delete(&self, paths: &[&Path]) -> Result<(), crate::s3::Error> {
        let names: Vec<String> = paths
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        crate::s3::store()?.delete(&self.prefix, &names)?;
        for path in paths {
            let _ = std::fs::remove_file(path);
        }
        Ok(())
    }
}
