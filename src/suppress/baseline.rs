//! Baseline files: the fingerprints of the failing findings a team has accepted for now, sorted
//! and one entry per line so a change to the file reads as a plain diff.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::Path;

use serde::Deserialize;

use super::SuppressionError;
use crate::result::BaselineEntry;

/// Version of the baseline file's shape.
pub const BASELINE_SCHEMA_VERSION: u32 = 1;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    schema_version: u32,
    #[serde(default)]
    #[allow(dead_code)]
    tool: Option<String>,
    findings: Vec<BaselineEntry>,
}

/// A loaded baseline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    /// The file it came from.
    pub file: String,
    pub entries: Vec<BaselineEntry>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, SuppressionError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SuppressionError::Io {
            file: file.clone(),
            source,
        })?;
        Baseline::parse(&file, &text)
    }

    pub fn parse(file: &str, text: &str) -> Result<Baseline, SuppressionError> {
        let invalid = |line: usize, column: usize, message: String| SuppressionError::Invalid {
            file: file.to_string(),
            line,
            column,
            message,
        };
        let raw: RawBaseline = serde_json::from_str(text).map_err(|e| {
            invalid(
                e.line(),
                e.column(),
                crate::position::strip_position(&e.to_string()),
            )
        })?;
        if raw.schema_version != BASELINE_SCHEMA_VERSION {
            return Err(invalid(
                1,
                1,
                format!(
                    "unsupported baseline schema_version {} (this ecaudit reads {BASELINE_SCHEMA_VERSION})",
                    raw.schema_version
                ),
            ));
        }
        for entry in &raw.findings {
            let f = &entry.fingerprint;
            if f.len() != 32
                || !f
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                // Entries are one per line as written; point at the line holding the bad one.
                let line = text
                    .lines()
                    .position(|l| l.contains(&format!("\"{f}\"")))
                    .map_or(0, |i| i + 1);
                return Err(invalid(
                    line,
                    0,
                    format!("`{f}` is not a fingerprint (32 lowercase hex characters)"),
                ));
            }
        }
        Ok(Baseline {
            file: file.to_string(),
            entries: raw.findings,
        })
    }

    /// Writes entries sorted by rule id and ARN, one per line.
    pub fn write(entries: &BTreeSet<BaselineEntry>, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{{")?;
        writeln!(out, "  \"schema_version\": {BASELINE_SCHEMA_VERSION},")?;
        writeln!(out, "  \"tool\": \"ecaudit\",")?;
        write!(out, "  \"findings\": [")?;
        for (i, e) in entries.iter().enumerate() {
            out.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
            serde_json::to_writer(&mut *out, e).map_err(io::Error::from)?;
        }
        if !entries.is_empty() {
            write!(out, "\n  ")?;
        }
        writeln!(out, "]")?;
        writeln!(out, "}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rule: &str, arn: &str) -> BaselineEntry {
        BaselineEntry {
            rule_id: rule.into(),
            resource_arn: arn.into(),
            fingerprint: crate::result::fingerprint(rule, arn),
        }
    }

    #[test]
    fn written_baselines_read_back_sorted_one_entry_per_line() {
        let entries: BTreeSet<_> = [entry("multi-az", "arn:b"), entry("encryption-at-rest", "arn:a")]
            .into_iter()
            .collect();
        let mut out = Vec::new();
        Baseline::write(&entries, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8, "{text}");
        assert!(
            lines[4].starts_with("    {\"rule_id\":\"encryption-at-rest\""),
            "{text}"
        );
        assert!(lines[5].starts_with("    {\"rule_id\":\"multi-az\""), "{text}");
        let back = Baseline::parse("b.json", &text).unwrap();
        assert_eq!(back.entries, entries.into_iter().collect::<Vec<_>>());

        let mut empty = Vec::new();
        Baseline::write(&BTreeSet::new(), &mut empty).unwrap();
        assert!(
            Baseline::parse("b.json", std::str::from_utf8(&empty).unwrap())
                .unwrap()
                .entries
                .is_empty()
        );
    }

    #[test]
    fn bad_baselines_name_file_and_line() {
        let err = Baseline::parse("b.json", "{\n  \"schema_version\": 1,\n  \"findings\": [\n    {\"rule_id\": \"x\", \"resource_arn\": \"a\", \"fingerprint\": \"nothex\"}\n  ]\n}")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("b.json:4:"), "{err}");
        assert!(err.contains("not a fingerprint"), "{err}");

        let err = Baseline::parse("b.json", "{\n  \"schema_version\": 1,\n  \"findingz\": []\n}")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("b.json:3:"), "{err}");
        assert!(err.contains("findingz"), "{err}");

        let err = Baseline::parse("b.json", "{\"schema_version\": 9, \"findings\": []}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("schema_version 9"), "{err}");
    }
}
