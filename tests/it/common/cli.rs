//! Running the binary in a scratch directory, and asserting on what it printed.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use tempfile::TempDir;

use super::ecaudit;

/// A scratch directory: the working directory of the commands and home of their input files.
pub struct Scratch {
    pub dir: TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `text` to `rel` (creating parent directories) and returns the absolute path.
    pub fn file(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn json(&self, rel: &str, value: &Value) -> PathBuf {
        self.file(rel, &serde_json::to_string_pretty(value).unwrap())
    }

    /// A directory `rel` holding the given rule files.
    pub fn rules(&self, rel: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.path(rel);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    /// Runs `ecaudit ARGS` in this directory.
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Run {
        Run::of(ecaudit().current_dir(self.dir.path()).args(args))
    }

    /// Runs `ecaudit scan --inventory INV ARGS`.
    pub fn scan(&self, inventory: &Path, args: &[&str]) -> Run {
        let mut all: Vec<std::ffi::OsString> = vec!["scan".into(), "--inventory".into(), inventory.into()];
        all.extend(args.iter().map(Into::into));
        self.run(all)
    }
}

/// A finished command.
pub struct Run(pub Output);

impl Run {
    /// Runs `cmd` to the end.
    pub fn of(cmd: &mut assert_cmd::Command) -> Run {
        Run(cmd.output().unwrap())
    }

    pub fn code(&self) -> i32 {
        self.0.status.code().expect("exited normally")
    }

    pub fn stdout(&self) -> String {
        String::from_utf8(self.0.stdout.clone()).unwrap()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8(self.0.stderr.clone()).unwrap()
    }

    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn expect(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout:\n{}\n--- stderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        let err = self.stderr();
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        let out = self.stdout();
        assert!(out.contains(needle), "stdout lacks {needle:?}:\n{out}");
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout())
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", self.stdout()))
    }
}
