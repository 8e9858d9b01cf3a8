//! Reading an inventory document: the top level and version first, then deployments parsed one
//! by one (in parallel, by the caller), every error pointing at the file, line, column and JSON
//! path at fault.

use std::cell::Cell;
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
    #[serde(borrow, default, deserialize_with = "releasing_list")]
    deployments: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    coverage: Vec<CoverageEntry>,
    #[serde(default)]
    shard: Option<crate::shard::ShardInfo>,
}

thread_local! {
    /// The mapped text [`Document::parse_file`] is splitting on this thread. Its deployments
    /// list releases the pages it has passed ([`releasing_list`]): the split reads the whole
    /// file, which would otherwise be resident all at once. A thread-local because serde's
    /// derive gives a field's deserializer no context.
    static SPLITTING: Cell<Option<*const Text>> = const { Cell::new(None) };
}

/// Text read before a batch of pages is released during the split: one release (and one page
/// read again) per MiB, not per deployment.
const RELEASE_BATCH: usize = 1 << 20;

/// Marks a text as being split on this thread, until dropped (an error included).
struct Splitting;

impl Splitting {
    fn start(text: &Text) -> Splitting {
        SPLITTING.set(Some(text));
        Splitting
    }
}

impl Drop for Splitting {
    fn drop(&mut self) {
        SPLITTING.set(None);
    }
}

/// The `deployments` list, left unparsed; the text of those passed is released a batch at a
/// time while a mapped file is split.
fn releasing_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<&'de RawValue>>, D::Error> {
    struct List;
    impl<'de> serde::de::Visitor<'de> for List {
        type Value = Option<Vec<&'de RawValue>>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a sequence")
        }

        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_seq(self)
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            // SAFETY: set only by `Document::parse_file`, whose guard clears it before the text
            // it borrows can go.
            let text = SPLITTING.get().map(|t| unsafe { &*t });
            let mut list = Vec::new();
            let mut unreleased = None;
            while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                if let Some(text) = text {
                    let part = raw.get();
                    let end = (part.as_ptr() as usize + part.len()).wrapping_sub(text.as_ptr() as usize);
                    let start = *unreleased.get_or_insert(end.saturating_sub(part.len()));
                    if end.saturating_sub(start) >= RELEASE_BATCH
                        && let Some(passed) = text.get(start..end)
                    {
                        text.release(passed);
                        unreleased = Some(end);
                    }
                }
                list.push(raw);
            }
            Ok(Some(list))
        }
    }
    d.deserialize_option(List)
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
            if offset.checked_add(part.len()).is_some_and(|end| end <= map.len()) {
                drop_pages(map, offset..offset + part.len());
            }
        }
    }
}

/// Lets the kernel drop the pages of `range` of a read-only map of a file: they come back from
/// the file, with the same bytes, if touched again. A failure only means they stay resident.
fn drop_pages(map: &memmap2::Mmap, range: std::ops::Range<usize>) {
    if !range.is_empty() {
        // SAFETY: the map is read-only and of a file, so no data is lost (see [`map_text`] for
        // the file changing underneath).
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, range.start, range.len())
        };
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
            // Each piece is released once checked: a large file is not resident all at once.
            return match is_utf8_then(&map, |piece| drop_pages(&map, piece)) {
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

/// Bytes per piece [`is_utf8_then`] checks: a piece per task, each small enough that the
/// pieces in flight are not a large file's worth of resident pages.
const UTF8_PIECE: usize = 1 << 20;

#[cfg(test)]
fn is_utf8(bytes: &[u8]) -> bool {
    is_utf8_then(bytes, |_| {})
}

/// Whether `bytes` are UTF-8, checked in parallel: pieces cut before a byte that starts a
/// character are each UTF-8 exactly when the whole is. `checked` is given the range of each
/// piece found to be UTF-8.
fn is_utf8_then(bytes: &[u8], checked: impl Fn(std::ops::Range<usize>) + Sync) -> bool {
    let mut cuts = vec![0];
    let mut at = UTF8_PIECE;
    while at < bytes.len() {
        // At most three continuation bytes follow a character's first byte.
        while at < bytes.len() && (bytes[at] & 0xC0) == 0x80 && at - cuts[cuts.len() - 1] < UTF8_PIECE + 3 {
            at += 1;
        }
        cuts.push(at);
        at += UTF8_PIECE;
    }
    cuts.push(bytes.len());
    cuts.par_windows(2).all(|w| {
        let utf8 = std::str::from_utf8(&bytes[w[0]..w[1]]).is_ok();
        if utf8 {
            checked(w[0]..w[1]);
        }
        utf8
    })
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
        let splitting = Splitting::start(text);
        let doc = Document {
            source: Some(text),
            ..Document::parse(text, path)?
        };
        drop(splitting);
        // The split read every page, the deployments' released as it went; each batch reads
        // its own again.
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
    fn a_large_mapped_file_released_while_split_reads_the_same() {
        // Several MiB of deployments, so pages are released during the split, not only after.
        let mut doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string("examples/fleet.json").unwrap()).unwrap();
        let fleet = doc["deployments"].as_array().unwrap().clone();
        let copies: Vec<serde_json::Value> = (0..40)
            .flat_map(|n| {
                fleet.iter().map(move |d| {
                    let mut d = d.clone();
                    let arn = format!("{}-{n}", d["arn"].as_str().unwrap());
                    d["arn"] = arn.into();
                    d
                })
            })
            .collect();
        doc["deployments"] = copies.into();
        let text = serde_json::to_string_pretty(&doc).unwrap();
        assert!(text.len() > 4 * RELEASE_BATCH, "{} bytes", text.len());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("large.json");
        std::fs::write(&path, &text).unwrap();
        let mapped = map_text(&path).unwrap();
        assert!(mapped.is_mapped());
        let doc = Document::parse_file(&mapped, "large.json").unwrap();
        assert!(SPLITTING.get().is_none(), "the split's mark is cleared");
        let expected = parse_inventory(&text, "large.json").unwrap();
        assert_eq!(doc.len(), expected.deployments.len());
        for (i, d) in expected.deployments.iter().enumerate() {
            assert_eq!(
                serde_json::to_value(doc.deployment(i).unwrap()).unwrap(),
                serde_json::to_value(d).unwrap()
            );
        }

        // A file that fails to split clears the mark too.
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        let truncated = map_text(&path).unwrap();
        assert!(Document::parse_file(&truncated, "large.json").is_err());
        assert!(
            SPLITTING.get().is_none(),
            "the split's mark is cleared after an error"
        );
    }

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
        // Multi-byte characters (9 bytes a round) straddle the piece boundaries.
        let text = "é€😀".repeat(UTF8_PIECE / 9 * 3);
        assert!(is_utf8(text.as_bytes()));
        let mut bytes = text.into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = 0xFF;
        assert!(!is_utf8(&bytes));
        bytes[last] = b'x';
        bytes[UTF8_PIECE + 2] = 0xC3; // a lead byte where a continuation was
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
