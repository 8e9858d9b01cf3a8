//! Where an output goes, standard output or a file, and writing it there: files atomically (a
//! temporary file in the same directory, renamed into place, so a reader never sees half a report
//! and a killed scan leaves the previous one intact; not fsynced: a report is not worth a flush of
//! the whole disk cache), standard output with a broken pipe treated as the reader having had
//! enough.
//!
//! An `s3://bucket/key` output is rendered to a local temporary file the same way, then
//! uploaded as one object (`crate::s3`): never a partial object.
//!
//! What is not a regular file is written in place: renaming onto `/dev/null`, `/dev/stdout` or a
//! FIFO would replace the device with a file. A symbolic link is followed: its target is replaced,
//! the link stays. A new file gets the usual permissions (0666 less the umask), a replaced one
//! keeps its own.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Standard output, a file, or an S3 object. On the command line and in `ecaudit.toml`, `-` is
/// standard output and `s3://bucket/key` an object.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Output {
    #[default]
    Stdout,
    File(PathBuf),
    S3(crate::s3::S3Url),
}

/// The clap parser of an output argument ([`parse`]).
pub fn value_parser() -> impl clap::builder::TypedValueParser<Value = Output> {
    use clap::builder::TypedValueParser;
    clap::builder::OsStringValueParser::new().try_map(|arg: OsString| parse(&arg))
}

/// A command-line or config value: `-`, `s3://bucket/key` (checked here) or a path.
pub fn parse(arg: &std::ffi::OsStr) -> Result<Output, String> {
    match crate::s3::is_s3(arg) {
        true => crate::s3::S3Url::object(arg).map(Output::S3),
        false => Ok(Output::from(PathBuf::from(arg))),
    }
}

/// An output that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{output}: cannot write: {source}")]
pub struct WriteError {
    /// The file, or `standard output`.
    pub output: String,
    #[source]
    pub source: io::Error,
}

impl From<PathBuf> for Output {
    fn from(path: PathBuf) -> Output {
        match path.as_os_str() == "-" {
            true => Output::Stdout,
            false => Output::File(path),
        }
    }
}

/// No file given means standard output.
impl From<Option<PathBuf>> for Output {
    fn from(path: Option<PathBuf>) -> Output {
        path.map(Output::from).unwrap_or_default()
    }
}

/// What clap parses a `FILE` argument into.
impl From<OsString> for Output {
    fn from(arg: OsString) -> Output {
        Output::from(PathBuf::from(arg))
    }
}

/// For messages: the file's path, or `standard output`.
impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Stdout => f.write_str("standard output"),
            Output::File(path) => path.display().fmt(f),
            Output::S3(url) => url.fmt(f),
        }
    }
}

impl Output {
    pub fn is_stdout(&self) -> bool {
        matches!(self, Output::Stdout)
    }

    /// The local file, if it is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Output::Stdout | Output::S3(_) => None,
            Output::File(path) => Some(path),
        }
    }

    /// Standard output, and a terminal: a person reads it (colour, the terminal's width,
    /// indented JSON).
    pub fn is_terminal(&self) -> bool {
        self.is_stdout() && io::stdout().is_terminal()
    }

    /// Writes what `render` produces: a file atomically, standard output as it comes.
    pub fn write(&self, render: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), WriteError> {
        let written = match self {
            Output::File(path) => write_file(path, render),
            Output::Stdout => write_stdout(render),
            Output::S3(url) => write_object(url, render),
        };
        written.map_err(|source| WriteError {
            output: self.to_string(),
            source,
        })
    }
}

fn write_file(path: &Path, render: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let existing = fs::metadata(path).ok();
    if existing.as_ref().is_some_and(|m| !m.is_file()) {
        let file = fs::OpenOptions::new().write(true).open(path)?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        return render(&mut out).and_then(|_| out.flush());
    }
    let path = resolve_links(path);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".ecaudit-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    // The temporary file is ours, not the user's: an error names its directory, not its name.
    let mut tmp = builder.tempfile_in(dir).map_err(|e| {
        let cause = e
            .raw_os_error()
            .map_or_else(|| io::Error::from(e.kind()), io::Error::from_raw_os_error);
        match e.kind() {
            io::ErrorKind::NotFound => io::Error::new(
                e.kind(),
                format!("the directory {} does not exist", dir.display()),
            ),
            kind => io::Error::new(
                kind,
                format!("cannot create a file in {}: {cause}", dir.display()),
            ),
        }
    })?;
    {
        let mut out = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        render(&mut out)?;
        out.flush()?;
    }
    if let Some(previous) = existing {
        tmp.as_file().set_permissions(previous.permissions())?;
    }
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(())
}

/// Rendered whole to a temporary file, then uploaded: a failed render uploads nothing.
fn write_object(
    url: &crate::s3::S3Url,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let store = crate::s3::store()?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".ecaudit-")
        .suffix(".tmp")
        .tempfile()?;
    {
        let mut out = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        render(&mut out)?;
        out.flush()?;
    }
    store.upload(tmp.path(), url)?;
    Ok(())
}

fn write_stdout(render: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    match render(&mut out).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The file a chain of symbolic links ends at (the path itself when it is no link, or the link
/// dangles: then the link is what gets replaced).
fn resolve_links(path: &Path) -> PathBuf {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    match is_link {
        true => fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        false => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &Path) -> Output {
        Output::File(path.to_path_buf())
    }

    #[test]
    fn a_dash_or_nothing_is_standard_output() {
        assert_eq!(Output::from(None), Output::Stdout);
        assert_eq!(Output::from(Some(PathBuf::from("-"))), Output::Stdout);
        assert_eq!(Output::from(OsString::from("-")), Output::Stdout);
        let report = Output::from(PathBuf::from("out/report.json"));
        assert_eq!(report.path(), Some(Path::new("out/report.json")));
        assert!(!report.is_stdout() && !report.is_terminal());
        assert_eq!(report.to_string(), "out/report.json");
        assert_eq!(Output::Stdout.to_string(), "standard output");
    }

    #[test]
    fn a_write_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = file(&dir.path().join("no/such/dir/report.json"));
        let e = missing.write(|w| w.write_all(b"x")).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{missing}: cannot write: ")), "{e}");
        // Never the temporary file's name.
        assert!(!e.contains(".ecaudit-"), "{e}");
        assert!(e.ends_with("no/such/dir does not exist"), "{e}");
    }

    #[test]
    fn a_failed_render_leaves_the_previous_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        file(&path).write(|w| w.write_all(b"first")).unwrap();
        let err = file(&path).write(|w| {
            w.write_all(b"half of the sec")?;
            Err(io::Error::other("killed midway"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "the temporary file is removed");
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_written_in_place() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        file(&fifo).write(|w| w.write_all(b"through the pipe")).unwrap();
        assert_eq!(reader.join().unwrap(), "through the pipe");
        assert!(
            fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(),
            "the FIFO was replaced"
        );
        // The same path serves `-o /dev/null` (once replaced by a file when run as root); not
        // tested on /dev/null itself, which a regression would destroy.
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_and_permissions_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report.json");
        let link = dir.path().join("latest.json");
        file(&target).write(|w| w.write_all(b"one")).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        file(&link).write(|w| w.write_all(b"two")).unwrap();
        assert!(
            fs::symlink_metadata(&link).unwrap().file_type().is_symlink(),
            "the link stays"
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "two");

        // A new file is made as `File::create` would make it; a replaced one keeps its mode.
        let plain = dir.path().join("plain");
        fs::File::create(&plain).unwrap();
        let usual = fs::metadata(&plain).unwrap().permissions().mode() & 0o777;
        let fresh = dir.path().join("fresh.json");
        file(&fresh).write(|w| w.write_all(b"x")).unwrap();
        assert_eq!(fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, usual);
        fs::set_permissions(&fresh, fs::Permissions::from_mode(0o640)).unwrap();
        file(&fresh).write(|w| w.write_all(b"y")).unwrap();
        assert_eq!(fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o640);
    }
}
