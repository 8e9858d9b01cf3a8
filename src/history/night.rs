//! The head of a recorded run's result document, never its findings: who wrote it and when
//! (the first three keys: what a survey of the history reads of each run), or, for the trends,
//! also its summary, coverage and drift up to the resolved findings. ecaudit writes the findings
//! last, so a year of nights is read in a few kilobytes each; a night whose file does not end as
//! ecaudit ends it (cut off while written, or since) is refused, not taken as a night with fewer
//! findings.

use std::fmt;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use chrono::{DateTime, Utc};

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::inventory::CoverageEntry;
use crate::result::FindingRef;
use crate::result::Summary;
use crate::result::document::SCHEMA_VERSION;
use crate::suppress::excerpt;

/// The head of a night's result document.
pub struct Head {
    /// `tool.rule_pack`.
    pub rule_pack: String,
    /// `scan.evaluated_at`.
    pub evaluated_at: DateTime<Utc>,
    pub summary: Summary,
    pub coverage: Vec<CoverageEntry>,
    pub drift: Option<DriftHead>,
}

/// What the trends take of a night's drift: how many findings were newly failing, and those
/// resolved (with when each was first seen). Reading stops there: the list of findings still
/// failing that follows (most of a night's head) is never parsed, nor is anything after it.
#[derive(Default)]
pub struct DriftHead {
    pub newly_failing: usize,
    pub resolved: Vec<FindingRef>,
}

/// The length of a list, its elements skipped.
#[derive(Default)]
pub struct Count(pub usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Counting;
        impl<'de> Visitor<'de> for Counting {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(Counting)
    }
}

/// `tool` as a head reads it: a foreign document's tool may have no more than a name.
#[derive(Deserialize)]
struct ToolHead {
    name: String,
    #[serde(default)]
    rule_pack: String,
}

#[derive(Deserialize)]
struct ScanHead {
    evaluated_at: DateTime<Utc>,
}

/// How far a head is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// The first three keys (`schema_version`, `tool`, `scan`): who wrote it and when.
    Dated,
    /// Up to the drift's resolved findings, or to `findings`.
    Trends,
}

#[derive(Default)]
struct Fields {
    schema_version: Option<u32>,
    tool: Option<ToolHead>,
    scan: Option<ScanHead>,
    summary: Option<Summary>,
    coverage: Vec<CoverageEntry>,
    drift: Option<DriftHead>,
    /// Reading reached `findings`, or stopped in the drift once it had what it needs (both
    /// come after everything else the trends read).
    done: bool,
}

/// The error that ends reading once the head is known.
const AT_FINDINGS: &str = "(at findings)";

/// A night's `drift`: `null`, or a drift report whose `findings` are read up to `resolved`.
struct DriftSeed<'f>(&'f mut Fields);

impl<'de> DeserializeSeed<'de> for DriftSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for DriftSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a drift report or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let fields = self.0;
        fields.drift = Some(DriftHead::default());
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "findings" => map.next_value_seed(TransitionsSeed(fields))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A drift report's `findings`: `newly_failing` counted, `resolved` kept, then reading stops.
struct TransitionsSeed<'f>(&'f mut Fields);

impl<'de> DeserializeSeed<'de> for TransitionsSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TransitionsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the findings of a drift report")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let fields = self.0;
        let (mut counted, mut kept) = (false, false);
        while let Some(key) = map.next_key::<String>()? {
            let drift = fields.drift.get_or_insert_with(DriftHead::default);
            match key.as_str() {
                "newly_failing" => {
                    drift.newly_failing = map.next_value::<Count>()?.0;
                    counted = true;
                }
                "resolved" => {
                    drift.resolved = map.next_value()?;
                    kept = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if counted && kept {
                fields.done = true;
                return Err(de::Error::custom(AT_FINDINGS));
            }
        }
        Ok(())
    }
}

struct HeadSeed<'f>(&'f mut Fields, Depth);

impl<'de> DeserializeSeed<'de> for HeadSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeadSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scan result document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys = 0;
        while let Some(key) = map.next_key::<String>()? {
            // ecaudit writes who and when first: a survey stops after three keys, whatever they
            // were.
            keys += 1;
            if self.1 == Depth::Dated && keys > 3 {
                self.0.done = true;
                return Err(de::Error::custom(AT_FINDINGS));
            }
            match key.as_str() {
                "schema_version" => self.0.schema_version = Some(map.next_value()?),
                "tool" => self.0.tool = Some(map.next_value()?),
                "scan" => self.0.scan = Some(map.next_value()?),
                "summary" => self.0.summary = Some(map.next_value()?),
                "coverage" => self.0.coverage = map.next_value()?,
                "drift" => map.next_value_seed(DriftSeed(self.0))?,
                "findings" => {
                    self.0.done = true;
                    return Err(de::Error::custom(AT_FINDINGS));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Whether the file ends as a result document ecaudit wrote does: `]}` and a newline.
fn complete(file: &mut std::fs::File) -> std::io::Result<bool> {
    let len = file.metadata()?.len();
    if len < 3 {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(len - 3))?;
    let mut tail = [0u8; 3];
    file.read_exact(&mut tail)?;
    file.seek(SeekFrom::Start(0))?;
    // Compact (`]}\n`) or pretty (`]\n}\n` ends `\n}\n`).
    Ok(&tail == b"]}\n" || &tail == b"\n}\n")
}

/// Reads the head of the result document in `file` as deep as `depth`; the error says why it is
/// not a run ecaudit recorded.
fn read(file: std::fs::File, depth: Depth) -> Result<Fields, String> {
    let mut fields = Fields::default();
    let mut de = serde_json::Deserializer::from_reader(BufReader::new(file));
    let read = HeadSeed(&mut fields, depth).deserialize(&mut de);
    if let Err(e) = read
        && !fields.done
    {
        return Err(format!("not a scan result: {}", excerpt(&e.to_string())));
    }
    match (&fields.schema_version, &fields.tool, &fields.scan) {
        (Some(SCHEMA_VERSION), Some(tool), Some(_)) if tool.name == "ecaudit" => Ok(fields),
        _ => Err(format!(
            "not a scan result ecaudit (schema_version {SCHEMA_VERSION}) wrote"
        )),
    }
}

fn open(path: &Path) -> Result<std::fs::File, String> {
    std::fs::File::open(path).map_err(|e| format!("cannot be read: {e}"))
}

/// When the result document at `path` says it was evaluated, if ecaudit wrote it: a few bytes
/// read.
pub fn evaluated_at(path: &Path) -> Result<DateTime<Utc>, String> {
    let fields = read(open(path)?, Depth::Dated)?;
    Ok(fields.scan.expect("checked by read").evaluated_at)
}

/// Reads the head of the night's result document at `path`, for the trends.
pub fn read_head(path: &Path) -> Result<Head, String> {
    let mut file = open(path)?;
    if !complete(&mut file).map_err(|e| format!("cannot be read: {e}"))? {
        return Err("it is truncated (it does not end as ecaudit ends a result)".into());
    }
    match read(file, Depth::Trends)? {
        Fields {
            tool: Some(tool),
            scan: Some(scan),
            summary: Some(summary),
            coverage,
            drift,
            done: true,
            ..
        } => Ok(Head {
            rule_pack: tool.rule_pack,
            evaluated_at: scan.evaluated_at,
            summary,
            coverage,
            drift,
        }),
        _ => Err("not a scan result: it has no summary or no findings".into()),
    }
}
