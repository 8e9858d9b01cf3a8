//! Inputs on S3, read through local copies: each object is downloaded once into a private
//! temporary directory (removed when the process ends), and every message that names the copy is
//! shown with the object's URL instead, so `file:line` errors point at what the user gave.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::{Error, S3Url};

/// The directory of the copies, and which copy is which object.
struct Copies {
    dir: tempfile::TempDir,
    made: Vec<(String, String)>,
}

static COPIES: OnceLock<Mutex<Option<Copies>>> = OnceLock::new();

fn copies() -> &'static Mutex<Option<Copies>> {
    COPIES.get_or_init(|| Mutex::new(None))
}

/// The file to read for the input `arg`: itself, or for `s3://bucket/key` a local copy of the
/// object, downloaded now.
pub fn input(arg: &Path) -> Result<PathBuf, Error> {
    if !super::is_s3(arg.as_os_str()) {
        return Ok(arg.to_path_buf());
    }
    let url = S3Url::object(arg.as_os_str()).map_err(|message| Error {
        url: arg.to_string_lossy().into_owned(),
        what: "not an S3 object",
        message,
    })?;
    let store = super::store()?;
    let mut guard = copies().lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        let dir = tempfile::Builder::new()
            .prefix("ecaudit-s3-")
            .tempdir()
            .map_err(|e| Error {
                url: url.to_string(),
                what: "cannot keep a local copy",
                message: e.to_string(),
            })?;
        *guard = Some(Copies {
            dir,
            made: Vec::new(),
        });
    }
    let copies = guard.as_mut().expect("made above");
    if let Some((copy, _)) = copies.made.iter().find(|(_, u)| *u == url.to_string()) {
        return Ok(PathBuf::from(copy));
    }
    // One directory per object: two inputs may end in the same file name.
    let path = copies
        .dir
        .path()
        .join(copies.made.len().to_string())
        .join(url.file_name());
    std::fs::create_dir_all(path.parent().expect("joined")).map_err(|e| Error {
        url: url.to_string(),
        what: "cannot keep a local copy",
        message: e.to_string(),
    })?;
    store.download(&url, &path)?;
    copies.made.push((path.display().to_string(), url.to_string()));
    Ok(path)
}

/// `message` with each local copy's path replaced by its object's URL.
pub fn shown(message: &str) -> String {
    let guard = copies().lock().unwrap_or_else(|e| e.into_inner());
    let mut shown = message.to_string();
    if let Some(copies) = guard.as_ref() {
        for (copy, url) in &copies.made {
            shown = shown.replace(copy.as_str(), url);
        }
    }
    shown
}

/// Removes the local copies (the end of the process: a static's directory is never dropped).
pub fn remove_copies() {
    let taken = copies().lock().unwrap_or_else(|e| e.into_inner()).take();
    drop(taken);
}
