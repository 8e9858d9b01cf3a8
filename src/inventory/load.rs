//! Reading an inventory document: the top level and version first, then deployments parsed one
//! by one (in parallel, by the caller), every error pointing at the file, line, column and JSON
//! path at fault.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Collector, CoverageEntry, Deployment, Inventory, SCHEMA_VERSION};
use crate::net::parse_cidr;
use crate::position::{line_column, strip_position};

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{path}: cannot read inventory: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: invalid inventory: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}: unsupported inventory schema_version {found}; this ecaudit reads schema_version {expected}"
    )]
    UnsupportedVersion {
        path: String,
        found: String,
        expected: u32,
    },
    #[error(
        "{path}: larger than the limit of {}; refused before parsing (raise it with --max-document-size or `[input] max_document_size` in ecaudit.toml)",
        crate::size::ByteSize(*max)
    )]
    TooLarge { path: String, max: u64 },
    #[error("{path}: deployments[{index}] and deployments[{first}] have the same ARN {arn}")]
    DuplicateArn {
        path: String,
        arn: String,
        first: usize,
        index: usize,
    },
}

/// The top level, with deployments left unparsed so they can be parsed in parallel.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInventory<'a> {
    schema_version: Option<serde_json::Value>,
    #[serde(default)]
    collected_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    collector: Option<Collector>,
    #[serde(borrow, default)]
    deployments: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    coverage: Vec<CoverageEntry>,
    #[serde(default)]
    accounts: Vec<super::Account>,
    #[serde(default)]
    shard: Option<crate::shard::ShardInfo>,
}

/// An inventory whose top level is read and checked, and whose deployments are parsed on demand.
pub struct Document<'a> {
    /// Everything but the deployments.
    pub header: Inventory,
    raw: Vec<&'a RawValue>,
    text: &'a str,
    path: String,
}

/// Reads a file (`-` for standard input) into memory as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, InventoryError> {
    read_text_at_most(path, u64::MAX)
}

/// Reads a file (`-` for standard input) of at most `max` bytes into memory as UTF-8 text; a
/// larger one is refused before it is read whole (documents from pull requests and shared
/// directories are untrusted).
pub fn read_text_at_most(path: &Path, max: u64) -> Result<String, InventoryError> {
    let display = path.display().to_string();
    let io = |source| InventoryError::Io {
        path: display.clone(),
        source,
    };
    let too_large = || InventoryError::TooLarge {
        path: display.clone(),
        max,
    };
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        let stdin = std::io::stdin().lock();
        stdin
            .take(max.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
    } else {
        let file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len > max {
            return Err(too_large());
        }
        // Reserved up front, as `fs::read` does: grown by doubling instead, the buffer of a
        // 532 MiB inventory held 1 GiB and the scan's peak rose by 700 MiB.
        bytes.reserve_exact(usize::try_from(len).unwrap_or(0));
        // The size may change while it is read: the read is bounded too.
        file.take(max.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
    }
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| not_utf8(&display, e.as_bytes(), e.utf8_error()))
}

/// The error of a file that is not UTF-8, at the line and column of its first bad byte.
fn not_utf8(path: &str, bytes: &[u8], e: std::str::Utf8Error) -> InventoryError {
    let (line, column) = line_column(&String::from_utf8_lossy(bytes), e.valid_up_to());
    InventoryError::Invalid {
        path: path.to_string(),
        line,
        column,
        message: "the file is not UTF-8".into(),
    }
}

/// Reads a whole inventory from a file (`-` for standard input).
pub fn load_inventory(path: &Path) -> Result<Inventory, InventoryError> {
    load_inventory_at_most(path, u64::MAX)
}

/// [`load_inventory`] of a file of at most `max` bytes ([`read_text_at_most`]).
pub fn load_inventory_at_most(path: &Path, max: u64) -> Result<Inventory, InventoryError> {
    let text = read_text_at_most(path, max)?;
    parse_inventory(&text, &path.display().to_string())
}

/// What an inventory looks like, for an error about a document of another shape.
const SHAPE: &str = "an inventory is a JSON object `{\"schema_version\": 1, \"deployments\": [...]}` as \
                     `ecaudit collect` writes it (`ecaudit inventory-schema` prints its JSON Schema)";

/// Parses a whole inventory document; `path` only names it in errors.
pub fn parse_inventory(text: &str, path: &str) -> Result<Inventory, InventoryError> {
    let doc = Document::parse(text, path)?;
    let deployments = (0..doc.len())
        .into_par_iter()
        .map(|i| doc.deployment(i))
        .collect::<Result<Vec<_>, _>>()?;
    doc.check_unique_arns(deployments.iter().map(|d| d.arn.as_str()))?;
    Ok(Inventory {
        deployments,
        ..doc.header
    })
}

impl<'a> Document<'a> {
    /// Reads the top level: syntax, `schema_version`, coverage; deployments stay unparsed.
    pub fn parse(text: &'a str, path: &str) -> Result<Self, InventoryError> {
        let invalid = |line, column, message: String| InventoryError::Invalid {
            path: path.to_string(),
            line,
            column,
            message,
        };
        // A struct also deserializes from an array (its fields in order): say what the document
        // is instead, before serde takes its first element for `schema_version`.
        let start = text.len() - text.trim_start().len();
        let found = match text[start..].chars().next() {
            Some('{') | None => None,
            Some('[') => Some("an array"),
            Some('"') => Some("a string"),
            Some('t' | 'f') => Some("a boolean"),
            Some('n') => Some("null"),
            Some(_) => Some("a number or not JSON"),
        };
        if let Some(found) = found {
            let (line, column) = line_column(text, start);
            return Err(invalid(line, column, format!("this is {found}; {SHAPE}")));
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let raw: RawInventory =
            serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(&e, 1, 1, "", &invalid))?;
        de.end()
            .map_err(|e| invalid(e.line(), e.column().max(1), strip_position(&e.to_string())))?;

        match &raw.schema_version {
            None => return Err(invalid(1, 1, format!("missing field `schema_version`; {SHAPE}"))),
            Some(v) if v.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {}
            Some(v) => {
                return Err(InventoryError::UnsupportedVersion {
                    path: path.to_string(),
                    found: v.to_string(),
                    expected: SCHEMA_VERSION,
                });
            }
        }
        let Some(deployments) = raw.deployments else {
            return Err(invalid(1, 1, format!("missing field `deployments`; {SHAPE}")));
        };
        Ok(Document {
            header: Inventory {
                schema_version: SCHEMA_VERSION,
                collected_at: raw.collected_at,
                collector: raw.collector,
                deployments: Vec::new(),
                coverage: raw.coverage,
                accounts: raw.accounts,
                shard: raw.shard,
            },
            raw: deployments,
            text,
            path: path.to_string(),
        })
    }

    /// Number of deployments.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Parses and checks deployment `index`.
    pub fn deployment(&self, index: usize) -> Result<Deployment, InventoryError> {
        let raw = self.raw[index].get();
        let at = || {
            let offset = raw.as_ptr() as usize - self.text.as_ptr() as usize;
            line_column(self.text, offset)
        };
        let invalid = |line, column, message: String| InventoryError::Invalid {
            path: self.path.clone(),
            line,
            column,
            message,
        };
        // Path tracking costs a third of the parse time: only an invalid deployment is parsed a
        // second time to say where it is wrong.
        let d = serde_json::from_str::<Deployment>(raw).map_err(|_| {
            let mut de = serde_json::Deserializer::from_str(raw);
            match serde_path_to_error::deserialize::<_, Deployment>(&mut de) {
                Err(e) => {
                    let (line, column) = at();
                    json_error(&e, line, column, &format!("deployments[{index}]"), &invalid)
                }
                Ok(_) => invalid(
                    at().0,
                    at().1,
                    format!("deployments[{index}]: invalid deployment"),
                ),
            }
        })?;
        check_deployment(&d).map_err(|(field, message)| {
            let (line, column) = at();
            invalid(line, column, format!("deployments[{index}].{field}: {message}"))
        })?;
        Ok(d)
    }

    /// Rejects two deployments with the same ARN: findings are keyed by it.
    pub fn check_unique_arns<'s>(&self, arns: impl Iterator<Item = &'s str>) -> Result<(), InventoryError> {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(self.raw.len());
        for (index, arn) in arns.enumerate() {
            if let Some(first) = seen.insert(arn, index) {
                return Err(InventoryError::DuplicateArn {
                    path: self.path.clone(),
                    arn: arn.to_string(),
                    first,
                    index,
                });
            }
        }
        Ok(())
    }
}

/// Checks what the types cannot: identity fields are not empty, CIDR blocks parse.
fn check_deployment(d: &Deployment) -> Result<(), (String, String)> {
    for (field, value) in [
        ("id", &d.id),
        ("arn", &d.arn),
        ("account_id", &d.account_id),
        ("region", &d.region),
    ] {
        if value.trim().is_empty() {
            return Err((field.to_string(), "must not be empty".to_string()));
        }
    }
    let cidr = |field: String, c: &str| parse_cidr(c).map(|_| ()).map_err(|e| (field, e));
    if let Some(vpc) = &d.vpc {
        for (i, c) in vpc.ipv4_cidr_blocks.iter().enumerate() {
            cidr(format!("vpc.ipv4_cidr_blocks[{i}]"), c)?;
        }
        for (i, c) in vpc.ipv6_cidr_blocks.iter().enumerate() {
            cidr(format!("vpc.ipv6_cidr_blocks[{i}]"), c)?;
        }
    }
    for (g, group) in d.security_groups.iter().enumerate() {
        for (p, perm) in group.ingress.iter().enumerate() {
            for (i, r) in perm.ipv4_ranges.iter().enumerate() {
                cidr(
                    format!("security_groups[{g}].ingress[{p}].ipv4_ranges[{i}].cidr"),
                    &r.cidr,
                )?;
            }
            for (i, r) in perm.ipv6_ranges.iter().enumerate() {
                cidr(
                    format!("security_groups[{g}].ingress[{p}].ipv6_ranges[{i}].cidr"),
                    &r.cidr,
                )?;
            }
        }
    }
    Ok(())
}

/// Turns a serde error inside a sub-document that starts at (`line`, `column`) of the file into
/// an error at the right place of the file, naming the JSON path.
fn json_error(
    e: &serde_path_to_error::Error<serde_json::Error>,
    line: usize,
    column: usize,
    prefix: &str,
    invalid: &impl Fn(usize, usize, String) -> InventoryError,
) -> InventoryError {
    let inner = e.inner();
    let (l, c) = (inner.line(), inner.column());
    let (abs_line, abs_col) = if l <= 1 {
        (line, column + c.saturating_sub(1))
    } else {
        (line + l - 1, c.max(1))
    };
    let inner_path = e.path().to_string();
    let json_path = match (prefix.is_empty(), inner_path.as_str()) {
        (true, ".") => String::new(),
        (true, p) => p.to_string(),
        (false, ".") => prefix.to_string(),
        (false, p) => format!("{prefix}.{p}"),
    };
    let message = strip_position(&inner.to_string());
    if json_path.is_empty() {
        invalid(abs_line, abs_col, message)
    } else {
        invalid(abs_line, abs_col, format!("{json_path}: {message}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, b"{\n\"a\": \"\xff\"}").unwrap();
        let err = read_text(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.json:2:") && err.contains("not UTF-8"), "{err}");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; 3 * 1024 * 1024]).unwrap();
        let err = read_text_at_most(&big, 2 * 1024 * 1024).unwrap_err();
        assert!(matches!(err, InventoryError::TooLarge { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "{}: larger than the limit of 2 MiB; refused before parsing (raise it with --max-document-size or `[input] max_document_size` in ecaudit.toml)",
                big.display()
            )
        );
        assert_eq!(
            read_text_at_most(&big, 3 * 1024 * 1024).unwrap().len(),
            3 * 1024 * 1024
        );
    }

    #[test]
    fn error_in_a_deployment_points_at_its_line() {
        let text = "{\n  \"schema_version\": 1,\n  \"deployments\": [\n    {\"kind\": \"cache_cluster\",\n     \"id\": 5}\n  ]\n}";
        let err = parse_inventory(text, "inv.json").unwrap_err().to_string();
        assert!(err.starts_with("inv.json:5:"), "{err}");
        assert!(err.contains("deployments[0].id"), "{err}");
    }
}
