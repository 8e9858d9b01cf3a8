//! Writing outputs: files atomically (a temporary file in the same directory, renamed into
//! place, so a reader never sees half a report and a killed scan leaves the previous one intact;
//! not fsynced: a report is not worth a flush of the whole disk cache),
//! standard output with a broken pipe treated as the reader having had enough.
//!
//! What is not a regular file is written in place: renaming onto `/dev/null`, `/dev/stdout` or a
//! FIFO would replace the device with a file. A symbolic link is followed: its target is replaced,
//! the link stays. A new file gets the usual permissions (0666 less the umask), a replaced one
//! keeps its own.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes what `render` produces to `path` atomically, or to standard output when `path` is
/// `None` or `-`.
pub fn write_to(
    path: Option<&Path>,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    match path {
        Some(path) if path.as_os_str() != "-" => {
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
            let mut tmp = builder.tempfile_in(dir)?;
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
        _ => {
            let stdout = io::stdout();
            let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
            match render(&mut out).and_then(|_| out.flush()) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                other => other,
            }
        }
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

    #[test]
    fn a_failed_render_leaves_the_previous_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_to(Some(&path), |w| w.write_all(b"first")).unwrap();
        let err = write_to(Some(&path), |w| {
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
        write_to(Some(&fifo), |w| w.write_all(b"through the pipe")).unwrap();
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
        write_to(Some(&target), |w| w.write_all(b"one")).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_to(Some(&link), |w| w.write_all(b"two")).unwrap();
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
        write_to(Some(&fresh), |w| w.write_all(b"x")).unwrap();
        assert_eq!(fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, usual);
        fs::set_permissions(&fresh, fs::Permissions::from_mode(0o640)).unwrap();
        write_to(Some(&fresh), |w| w.write_all(b"y")).unwrap();
        assert_eq!(fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o640);
    }
}
