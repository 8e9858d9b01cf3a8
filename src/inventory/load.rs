//! Reading an inventory document: the top level and version first, then deployments parsed one
//! by one (in parallel, by the caller), every error pointing at the file, line, column and JSON
//! path at fault.

use std::collections::HashMap;
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
    #[serde(borrow)]
    deployments: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    coverage: Vec<CoverageEntry>,
    #[serde(default)]
    shard: Option<crate::shard::ShardInfo>,
}

/// An inventory whose top level is read and checked, and whose deployments are parsed on demand.
pub struct Document<'a> {
    /// Everything but the deployments.
    pub header: Inventory,
    raw: Vec<&'a RawValue>,
    text: &'a str,
    /// The mapped file the text is, whose pages can be released once read.
    source: Option<&'a Text>,
    path: String,
}

/// A document's text: read into memory, or mapped from its file ([`map_text`]).
pub struct Text(Source);

enum Source {
    Read(String),
    /// Checked to be UTF-8 when mapped; only [`map_text`] makes one.
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        match &self.0 {
            Source::Read(s) => s,
            // SAFETY: checked to be UTF-8 by `map_text` before this value was made (see there
            // for the file changing underneath).
            Source::Mapped(m) => unsafe { std::str::from_utf8_unchecked(m) },
        }
    }
}

impl Text {
    /// Whether the text is mapped from its file.
    pub fn is_mapped(&self) -> bool {
        matches!(self.0, Source::Mapped(_))
    }

    /// Lets the kernel drop the pages of `part` (a slice of this text) from this process's
    /// memory: a mapped file's pages are read again from the page cache if touched later, with
    /// the same bytes. What keeps a scan's memory after the top-level split to what it holds,
    /// not the file. Nothing happens to a text that was read.
    pub fn release(&self, part: &str) {
        if let Source::Mapped(map) = &self.0 {
            let offset = (part.as_ptr() as usize).wrapping_sub(map.as_ptr() as usize);
            if offset.checked_add(part.len()).is_some_and(|end| end <= map.len()) && !part.is_empty() {
                // SAFETY: a read-only map of a file: dropped pages come back from the file. A
                // failure only means the memory stays resident.
                let _ = unsafe {
                    map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, part.len())
                };
            }
        }
    }
}

/// Reads a file (`-` for standard input) into memory.
pub fn read_text(path: &Path) -> Result<Text, InventoryError> {
    let display = path.display().to_string();
    let io = |source| InventoryError::Io {
        path: display.clone(),
        source,
    };
    if path.as_os_str() == "-" {
        read_all(std::io::stdin().lock(), &display)
    } else {
        read_all(std::fs::File::open(path).map_err(io)?, &display)
    }
}

/// Reads `reader` to its end as the text of the file `display` names.
fn read_all(mut reader: impl std::io::Read, display: &str) -> Result<Text, InventoryError> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|source| InventoryError::Io {
            path: display.to_string(),
            source,
        })?;
    String::from_utf8(bytes)
        .map(|s| Text(Source::Read(s)))
        .map_err(|e| not_utf8(display, e.as_bytes(), e.utf8_error()))
}

/// Reads an inventory for a scan: a regular file is mapped into memory rather than read
/// (standard input, pipes and files that cannot be mapped are read). Reading a large inventory
/// into a buffer costs the kernel a zeroed page and a copy for every page, a fifth of a
/// 100,000-deployment scan's CPU time, all before the parallel parse.
///
/// Like ripgrep, this trusts the file not to change while it is read: truncated underneath, the
/// scan dies of SIGBUS; rewritten in place, it may read a mix. ecaudit's own inventories are
/// renamed into place, never rewritten; other writers should do the same.
pub fn map_text(path: &Path) -> Result<Text, InventoryError> {
    if path.as_os_str() == "-" {
        return read_text(path);
    }
    let display = path.display().to_string();
    let io = |source| InventoryError::Io {
        path: display.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_file() && meta.len() > 0 {
        // SAFETY: a read-only map; see above for the file changing underneath.
        if let Ok(map) = unsafe { memmap2::Mmap::map(&file) } {
            return match is_utf8(&map) {
                true => Ok(Text(Source::Mapped(map))),
                false => Err(not_utf8(&display, &map, std::str::from_utf8(&map).unwrap_err())),
            };
        }
    }
    read_all(file, &display)
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

/// Whether `bytes` are UTF-8, checked in parallel: pieces cut before a byte that starts a
/// character are each UTF-8 exactly when the whole is.
fn is_utf8(bytes: &[u8]) -> bool {
    const PIECE: usize = 1 << 22;
    let mut cuts = vec![0];
    let mut at = PIECE;
    while at < bytes.len() {
        // At most three continuation bytes follow a character's first byte.
        while at < bytes.len() && (bytes[at] & 0xC0) == 0x80 && at - cuts[cuts.len() - 1] < PIECE + 3 {
            at += 1;
        }
        cuts.push(at);
        at += PIECE;
    }
    cuts.push(bytes.len());
    cuts.par_windows(2)
        .all(|w| std::str::from_utf8(&bytes[w[0]..w[1]]).is_ok())
}

/// Reads a whole inventory from a file (`-` for standard input).
pub fn load_inventory(path: &Path) -> Result<Inventory, InventoryError> {
    let text = read_text(path)?;
    parse_inventory(&text, &path.display().to_string())
}

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
        let mut de = serde_json::Deserializer::from_str(text);
        let raw: RawInventory =
            serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(&e, 1, 1, "", &invalid))?;
        de.end()
            .map_err(|e| invalid(e.line(), e.column().max(1), strip_position(&e.to_string())))?;

        match &raw.schema_version {
            None => return Err(invalid(1, 1, "missing field `schema_version`".into())),
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
            return Err(invalid(1, 1, "missing field `deployments`".into()));
        };
        Ok(Document {
            header: Inventory {
                schema_version: SCHEMA_VERSION,
                collected_at: raw.collected_at,
                collector: raw.collector,
                deployments: Vec::new(),
                coverage: raw.coverage,
                shard: raw.shard,
            },
            raw: deployments,
            text,
            source: None,
            path: path.to_string(),
        })
    }

    /// [`Document::parse`] of a file's text; the pages of deployments already read can then be
    /// released with [`Document::release`].
    pub fn parse_file(text: &'a Text, path: &str) -> Result<Self, InventoryError> {
        let doc = Document {
            source: Some(text),
            ..Document::parse(text, path)?
        };
        // Splitting the top level read every page; each batch reads its own again.
        text.release(text);
        Ok(doc)
    }

    /// Releases the memory of the text of deployments `range` (see [`Text::release`]).
    pub fn release(&self, range: std::ops::Range<usize>) {
        let (Some(source), Some(first), Some(last)) = (
            self.source,
            self.raw.get(range.start),
            range.end.checked_sub(1).and_then(|i| self.raw.get(i)),
        ) else {
            return;
        };
        let start = first.get().as_ptr() as usize - self.text.as_ptr() as usize;
        let end = last.get().as_ptr() as usize + last.get().len() - self.text.as_ptr() as usize;
        if start < end {
            source.release(&self.text[start..end]);
        }
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
    fn a_mapped_file_reads_the_same_after_its_pages_are_released() {
        let text = std::fs::read_to_string("examples/fleet.json").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet.json");
        std::fs::write(&path, &text).unwrap();
        let mapped = map_text(&path).unwrap();
        assert!(mapped.is_mapped(), "a regular file is mapped");
        let doc = Document::parse_file(&mapped, "fleet.json").unwrap();
        doc.release(0..doc.len());
        let expected = parse_inventory(&text, "fleet.json").unwrap();
        let again: Vec<Deployment> = (0..doc.len()).map(|i| doc.deployment(i).unwrap()).collect();
        assert_eq!(
            serde_json::to_value(&again).unwrap(),
            serde_json::to_value(&expected.deployments).unwrap()
        );
    }

    #[test]
    fn utf8_is_checked_across_piece_boundaries() {
        // Multi-byte characters straddle every 4 MiB boundary.
        let text = "é€😀".repeat((1 << 22) / 9 * 3);
        assert!(is_utf8(text.as_bytes()));
        let mut bytes = text.into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = 0xFF;
        assert!(!is_utf8(&bytes));
        bytes[last] = b'x';
        bytes[(1 << 22) + 1] = 0xC3; // a lead byte where a continuation was
        assert!(!is_utf8(&bytes));
    }

    #[test]
    fn an_empty_file_is_read_not_mapped_and_non_utf8_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.json");
        std::fs::write(&empty, "").unwrap();
        let text = map_text(&empty).unwrap();
        assert!(!text.is_mapped() && text.is_empty());
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, b"{\n\"a\": \"\xff\"}").unwrap();
        for err in [map_text(&bad).err(), read_text(&bad).err()] {
            let err = err.unwrap().to_string();
            assert!(err.contains("bad.json:2:") && err.contains("not UTF-8"), "{err}");
        }
    }

    #[test]
    fn error_in_a_deployment_points_at_its_line() {
        let text = "{\n  \"schema_version\": 1,\n  \"deployments\": [\n    {\"kind\": \"cache_cluster\",\n     \"id\": 5}\n  ]\n}";
        let err = parse_inventory(text, "inv.json").unwrap_err().to_string();
        assert!(err.starts_with("inv.json:5:"), "{err}");
        assert!(err.contains("deployments[0].id"), "{err}");
    }
}
