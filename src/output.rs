//! Writing outputs: files atomically (a temporary file in the same directory, renamed into
//! place, so a reader never sees half a report and a killed scan leaves the previous one intact;
//! not fsynced: a report is not worth a flush of the whole disk cache),
//! standard output with a broken pipe treated as the reader having had enough.

use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Writes what `render` produces to `path` atomically, or to standard output when `path` is
/// `None` or `-`.
pub fn write_to(
    path: Option<&Path>,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    match path {
        Some(path) if path.as_os_str() != "-" => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let mut tmp = tempfile::Builder::new()
                .prefix(".ecaudit-")
                .suffix(".tmp")
                .tempfile_in(dir)?;
            {
                let mut out = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
                render(&mut out)?;
                out.flush()?;
            }
            tmp.persist(path).map_err(|e| e.error)?;
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
}
