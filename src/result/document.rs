//! The scan result document (`docs/findings.md`): one serde model, used to write a result
//! (`scan --format json`, JSON Lines, `--history`, `merge`) and to read one back (`report`,
//! `diff`, `merge`, `--history`). A field is added here, once.
//!
//! The document is generic in how it holds its findings: written from a [`ScanResult`], they
//! are serialized as they are produced ([`Findings`]); read back, they are a list of
//! [`FindingRecord`]s, or anything that deserializes a list of them (a reader that only needs
//! each finding's state folds them as they are parsed).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize};

use super::{
    DriftReport, Finding, PlanChange, PlanInfo, ScanResult, SourceLocation, Status, Summary, Transition,
    Waivers, fingerprint,
};
use crate::inventory::{Collector, CoverageEntry, DeploymentKind};
use crate::rules::pack::PACK_VERSION;
use crate::rules::{RuleSet, Severity};
use crate::shard::ShardInfo;

/// Version of the result document's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// The result document. `'a` borrows from the [`ScanResult`] it is written from; a document
/// read back owns everything (`Document<'static>`).
#[derive(Serialize, Deserialize)]
pub struct Document<'a, F = Vec<FindingRecord<'static>>> {
    pub schema_version: u32,
    pub tool: Tool<'a>,
    pub scan: ScanInfo<'a>,
    pub summary: Cow<'a, Summary>,
    #[serde(default)]
    pub coverage: Cow<'a, [CoverageEntry]>,
    #[serde(default)]
    pub waivers: Cow<'a, Waivers>,
    /// What drifted since the previous run (`scan --history`).
    #[serde(default)]
    pub drift: Option<Cow<'a, DriftReport>>,
    /// The rules the scan evaluated (results written before ecaudit listed them have none).
    #[serde(default)]
    pub rules: Vec<RuleRecord<'a>>,
    /// At or above `scan.min_severity`.
    pub findings: F,
}

/// The program that wrote the result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tool<'a> {
    pub name: Cow<'a, str>,
    pub version: Cow<'a, str>,
    pub rule_pack: Cow<'a, str>,
}

impl Tool<'_> {
    pub fn into_owned(self) -> Tool<'static> {
        Tool {
            name: Cow::Owned(self.name.into_owned()),
            version: Cow::Owned(self.version.into_owned()),
            rule_pack: Cow::Owned(self.rule_pack.into_owned()),
        }
    }
}

impl Tool<'static> {
    /// This build of ecaudit with its bundled rule pack as it is.
    pub fn this() -> Self {
        Tool {
            name: Cow::Borrowed("ecaudit"),
            version: Cow::Borrowed(env!("CARGO_PKG_VERSION")),
            rule_pack: Cow::Borrowed(PACK_VERSION),
        }
    }

    /// This build of ecaudit running `rules`: the pack version is marked `+modified` when a
    /// user rule replaced a bundled one.
    pub fn running(rules: &RuleSet) -> Self {
        Tool {
            rule_pack: rules.pack_version(),
            ..Tool::this()
        }
    }
}

/// When and over what the scan ran.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScanInfo<'a> {
    /// The instant rules were evaluated as of.
    pub evaluated_at: DateTime<Utc>,
    /// When the inventory was collected, if known.
    #[serde(default)]
    pub collected_at: Option<DateTime<Utc>>,
    /// Findings below this severity are left out of `findings`.
    pub min_severity: Severity,
    /// The units this result covers, when it is one shard of a scan (`--shard K/N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Cow<'a, ShardInfo>>,
    /// The program (and caller) that collected the inventory, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collector: Option<Cow<'a, Collector>>,
    /// The Terraform document judged, for a result of `ecaudit plan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Cow<'a, PlanInfo>>,
}

/// A rule evaluated by the scan, as the document lists it: what the audit report's compliance
/// view and remediation come from, even for rules no finding is shown of.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RuleRecord<'a> {
    pub id: Cow<'a, str>,
    pub title: Cow<'a, str>,
    pub severity: Severity,
    #[serde(default)]
    pub description: Option<Cow<'a, str>>,
    #[serde(default)]
    pub remediation: Cow<'a, str>,
    #[serde(default)]
    pub controls: Cow<'a, BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    pub references: Cow<'a, [String]>,
    /// Set when a user rule (`--rules`) replaced the bundled rule of this id; results written
    /// before ecaudit said so have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden: Option<OverrideRecord<'a>>,
}

/// Which user rule replaced a bundled rule, and which.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideRecord<'a> {
    /// The user rule's file and line.
    pub file: Cow<'a, str>,
    pub line: usize,
    /// The bundled rule it replaced (`bundled:<name>`) and its line.
    pub bundled_file: Cow<'a, str>,
    pub bundled_line: usize,
}

/// One finding as the document shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FindingRecord<'a> {
    pub rule_id: Cow<'a, str>,
    pub title: Cow<'a, str>,
    pub severity: Severity,
    pub status: Status,
    pub resource_kind: DeploymentKind,
    pub resource_id: Cow<'a, str>,
    pub resource_arn: Cow<'a, str>,
    pub account_id: Cow<'a, str>,
    pub region: Cow<'a, str>,
    /// The account's name in the AWS Organization (`--organization`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<Cow<'a, str>>,
    /// The account's organizational unit path, `Root/Workloads/Prod` (`--organization`), when
    /// known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ou_path: Option<Cow<'a, str>>,
    pub message: Cow<'a, str>,
    #[serde(default)]
    pub evidence: Cow<'a, [String]>,
    /// How to fix it: only for failing findings.
    #[serde(default)]
    pub remediation: Option<Cow<'a, str>>,
    #[serde(default)]
    pub controls: Cow<'a, BTreeMap<String, Vec<String>>>,
    pub fingerprint: Cow<'a, str>,
    /// Why a `suppressed` or `baselined` finding is waived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverRecord<'a>>,
    /// How it moved since the previous run (`scan --history`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Transition>,
    /// What the Terraform plan does to it (`ecaudit plan`): `introduced`, `existing`, `fixed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<PlanChange>,
    /// The resource's block in the `.tf` sources (`ecaudit plan --source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Cow<'a, SourceLocation>>,
    /// When it started failing without a break (`scan --history`; failing findings only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<DateTime<Utc>>,
    /// Whole days since `first_seen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_days: Option<u64>,
    /// Its remediation deadline: `first_seen` plus its severity's `--sla`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// Past `due_at` (only with a deadline for its severity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
}

/// What waived a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaivedBy {
    Suppression,
    Baseline,
}

impl WaivedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            WaivedBy::Suppression => "suppression",
            WaivedBy::Baseline => "baseline",
        }
    }
}

/// A waived finding's waiver as the document shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WaiverRecord<'a> {
    pub by: WaivedBy,
    /// The status evaluation gave the finding.
    pub original_status: Status,
    /// The suppressions file and line, the resource tag, or the baseline file.
    pub source: Cow<'a, str>,
    pub reason: Cow<'a, str>,
    #[serde(default)]
    pub owner: Option<Cow<'a, str>>,
    #[serde(default)]
    pub ticket: Option<Cow<'a, str>>,
    #[serde(default)]
    pub expires: Option<NaiveDate>,
}

impl<'a> WaiverRecord<'a> {
    pub fn into_owned(self) -> WaiverRecord<'static> {
        let owned = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        WaiverRecord {
            by: self.by,
            original_status: self.original_status,
            source: owned(self.source),
            reason: owned(self.reason),
            owner: self.owner.map(owned),
            ticket: self.ticket.map(owned),
            expires: self.expires,
        }
    }

    pub fn new(result: &'a ScanResult, f: &Finding) -> Option<Self> {
        let w = f.waiver?;
        Some(match w.suppression {
            Some(i) => {
                let e = &result.waivers.suppressions[i as usize].entry;
                WaiverRecord {
                    by: WaivedBy::Suppression,
                    original_status: w.was,
                    source: Cow::Borrowed(&e.source),
                    reason: Cow::Borrowed(&e.reason),
                    owner: e.owner.as_deref().map(Cow::Borrowed),
                    ticket: e.ticket.as_deref().map(Cow::Borrowed),
                    expires: e.expires,
                }
            }
            None => WaiverRecord {
                by: WaivedBy::Baseline,
                original_status: w.was,
                source: Cow::Borrowed(
                    result
                        .waivers
                        .baseline
                        .as_ref()
                        .and_then(|b| b.updated.as_deref().or(b.file.as_deref()))
                        .unwrap_or_default(),
                ),
                reason: Cow::Borrowed("already in the baseline"),
                owner: None,
                ticket: None,
                expires: None,
            },
        })
    }
}

impl<'a> FindingRecord<'a> {
    pub fn new(result: &'a ScanResult, f: &'a Finding) -> Self {
        let rule = result.rule(f);
        let d = result.resource(f);
        let owner = d.owner.as_deref();
        FindingRecord {
            rule_id: Cow::Borrowed(&rule.id),
            title: Cow::Borrowed(&rule.title),
            severity: rule.severity,
            status: f.status,
            resource_kind: d.kind,
            resource_id: Cow::Borrowed(&d.id),
            resource_arn: Cow::Borrowed(&d.arn),
            account_id: Cow::Borrowed(&d.account_id),
            region: Cow::Borrowed(&d.region),
            account_name: owner.and_then(|o| o.name.as_deref()).map(Cow::Borrowed),
            ou_path: owner.and_then(|o| o.ou_path.as_deref()).map(Cow::Borrowed),
            message: Cow::Borrowed(&f.message),
            evidence: Cow::Borrowed(&f.evidence),
            remediation: f.failed().then_some(Cow::Borrowed(rule.remediation.as_str())),
            controls: Cow::Borrowed(&rule.controls),
            fingerprint: Cow::Owned(fingerprint(&rule.id, &d.arn)),
            waiver: WaiverRecord::new(result, f),
            drift: f.transition,
            change: f.change,
            source: d.source.as_ref().map(Cow::Borrowed),
            first_seen: f.age.map(|a| a.first_seen),
            age_days: f.age.map(|a| a.days),
            due_at: f.age.and_then(|a| a.due),
            overdue: f.age.and_then(|a| a.due.map(|_| a.overdue)),
        }
    }
}

impl<'a> RuleRecord<'a> {
    fn new(r: &'a crate::rules::Rule) -> Self {
        RuleRecord {
            id: Cow::Borrowed(&r.id),
            title: Cow::Borrowed(&r.title),
            severity: r.severity,
            description: r.description.as_deref().map(Cow::Borrowed),
            remediation: Cow::Borrowed(&r.remediation),
            controls: Cow::Borrowed(&r.controls),
            references: Cow::Borrowed(&r.references),
            overridden: r.overrides.as_ref().map(|bundled| OverrideRecord {
                file: Cow::Borrowed(&r.origin.file),
                line: r.origin.line,
                bundled_file: Cow::Borrowed(&bundled.file),
                bundled_line: bundled.line,
            }),
        }
    }
}

impl<'a, F> Document<'a, F> {
    /// The document of `result` (with `summary`), its findings held as `findings`.
    pub fn of(result: &'a ScanResult, summary: &'a Summary, min_severity: Severity, findings: F) -> Self {
        Document {
            schema_version: SCHEMA_VERSION,
            tool: Tool::running(&result.rules),
            scan: ScanInfo {
                evaluated_at: result.evaluated_at,
                collected_at: result.collected_at,
                min_severity,
                shard: result.shard.as_ref().map(Cow::Borrowed),
                collector: result.collector.as_ref().map(Cow::Borrowed),
                plan: result.plan.as_ref().map(Cow::Borrowed),
            },
            summary: Cow::Borrowed(summary),
            coverage: Cow::Borrowed(&result.coverage),
            waivers: Cow::Borrowed(&result.waivers),
            drift: result.drift.as_ref().map(Cow::Borrowed),
            rules: result.rules.rules().iter().map(RuleRecord::new).collect(),
            findings,
        }
    }
}

impl<'a> Document<'a, Vec<FindingRecord<'a>>> {
    /// The document of `result` with its findings at or above `min_severity` as records.
    pub fn records(result: &'a ScanResult, summary: &'a Summary, min_severity: Severity) -> Self {
        let findings = shown(result, min_severity)
            .map(|f| FindingRecord::new(result, f))
            .collect();
        Document::of(result, summary, min_severity, findings)
    }
}

/// The findings of a result at or above `min`, in the result's order.
fn shown(result: &ScanResult, min: Severity) -> impl Iterator<Item = &Finding> {
    result
        .findings
        .iter()
        .filter(move |f| result.rule(f).severity >= min)
}

/// The findings of a result as a document writes them: each [`FindingRecord`] serialized as it
/// is made. Compact output renders them in parallel, a window of records at a time (at most
/// two windows of rendered text are held: a few MiB, whatever the number of findings).
pub struct Findings<'r> {
    result: &'r ScanResult,
    shown: Vec<&'r Finding>,
    parallel: bool,
}

impl<'r> Findings<'r> {
    pub fn of(result: &'r ScanResult, min_severity: Severity, parallel: bool) -> Self {
        Findings {
            result,
            shown: shown(result, min_severity).collect(),
            parallel,
        }
    }

    /// Each window of findings rendered to JSON in parallel, one window ahead of `each`, which
    /// takes them in order.
    fn rendered<E>(
        &self,
        mut each: impl FnMut(Box<serde_json::value::RawValue>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<serde_json::Error>,
    {
        /// Findings per window: enough to keep every thread of the pool busy.
        const WINDOW: usize = 4096;
        let result = self.result;
        let render = |window: &[&'r Finding]| -> serde_json::Result<Vec<Box<serde_json::value::RawValue>>> {
            window
                .par_iter()
                .with_min_len(64)
                .map(|f| serde_json::value::to_raw_value(&FindingRecord::new(result, f)))
                .collect()
        };
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let shown = &self.shown;
            scope.spawn(move || {
                for window in shown.chunks(WINDOW) {
                    if tx.send(render(window)).is_err() {
                        break; // the writer failed and stopped reading
                    }
                }
            });
            for rendered in rx {
                for raw in rendered? {
                    each(raw)?;
                }
            }
            Ok(())
        })
    }
}

impl Serialize for Findings<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.shown.len()))?;
        if !self.parallel {
            for f in &self.shown {
                seq.serialize_element(&FindingRecord::new(self.result, f))?;
            }
            return seq.end();
        }
        /// A serializer's error, or one of rendering a finding.
        struct Failed<E>(E);
        impl<E: serde::ser::Error> From<serde_json::Error> for Failed<E> {
            fn from(e: serde_json::Error) -> Self {
                Failed(E::custom(e))
            }
        }
        self.rendered(|raw| seq.serialize_element(&raw).map_err(Failed))
            .map_err(|Failed(e)| e)?;
        seq.end()
    }
}

/// Writes the result document of `result`: indented when `pretty` (for people), otherwise
/// compact (for machines and large fleets), and a newline.
pub fn write(
    result: &ScanResult,
    summary: &Summary,
    min_severity: Severity,
    pretty: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let doc = Document::of(
        result,
        summary,
        min_severity,
        Findings::of(result, min_severity, !pretty),
    );
    if pretty {
        serde_json::to_writer_pretty(&mut *out, &doc)?;
    } else {
        serde_json::to_writer(&mut *out, &doc)?;
    }
    out.write_all(b"\n")
}

/// Writes the findings at or above `min_severity` as JSON Lines: one record per line, each the
/// object `findings` holds in the document.
pub fn write_lines(result: &ScanResult, min_severity: Severity, out: &mut dyn Write) -> io::Result<()> {
    Findings::of(result, min_severity, true).rendered(|raw| -> io::Result<()> {
        out.write_all(raw.get().as_bytes())?;
        out.write_all(b"\n")
    })
}

/// A result document that cannot be read (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error("{file}: cannot read scan result: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: the file is not UTF-8")]
    Encoding {
        file: String,
        line: usize,
        column: usize,
    },
    #[error("{file}:{line}:{column}: not a scan result (`ecaudit scan --format json`): {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{file}: scan result schema_version {found} is not supported (this build reads {SCHEMA_VERSION})"
    )]
    Version { file: String, found: u32 },
}

/// Reads the result document in `path` (`-`: standard input), its findings held as `F`.
pub fn read<F: DeserializeOwned>(path: &Path) -> Result<Document<'static, F>, ResultError> {
    use crate::inventory::InventoryError;
    let text = crate::inventory::read_text(path).map_err(|e| match e {
        InventoryError::Io { path, source } => ResultError::Io { file: path, source },
        InventoryError::Invalid {
            path, line, column, ..
        } => ResultError::Encoding {
            file: path,
            line,
            column,
        },
        other => ResultError::Io {
            file: path.display().to_string(),
            source: std::io::Error::other(other.to_string()),
        },
    })?;
    parse(&text, &path.display().to_string())
}

/// Parses a result document; `file` names it in errors. The version is checked first, so a
/// document of another version is refused as such rather than for its first unknown field.
pub fn parse<F: DeserializeOwned>(text: &str, file: &str) -> Result<Document<'static, F>, ResultError> {
    #[derive(Deserialize)]
    struct Version {
        schema_version: u32,
    }
    let invalid = |e: serde_json::Error| ResultError::Invalid {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: crate::position::strip_position(&e.to_string()),
    };
    let version: Version = serde_json::from_str(text).map_err(invalid)?;
    if version.schema_version != SCHEMA_VERSION {
        return Err(ResultError::Version {
            file: file.to_string(),
            found: version.schema_version,
        });
    }
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ResultError::Invalid {
            file: file.to_string(),
            line: inner.line(),
            column: inner.column(),
            message: format!(
                "at `{path}`: {}",
                crate::position::strip_position(&inner.to_string())
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_record_without_overridden_still_reads() {
        let old = r#"{"id": "no-public-ingress", "title": "T", "severity": "critical"}"#;
        let record: RuleRecord<'static> = serde_json::from_str(old).unwrap();
        assert_eq!(record.overridden, None);
        // And it is not written when absent.
        let json = serde_json::to_value(&record).unwrap();
        assert!(json.get("overridden").is_none(), "{json}");
    }

    #[test]
    fn an_override_is_written_and_read_back() {
        let text = r#"{"id": "no-public-ingress", "title": "T", "severity": "critical",
            "overridden": {"file": "team/r.yaml", "line": 8,
                           "bundled_file": "bundled:network.yaml", "bundled_line": 49}}"#;
        let record: RuleRecord<'static> = serde_json::from_str(text).unwrap();
        let expected = OverrideRecord {
            file: "team/r.yaml".into(),
            line: 8,
            bundled_file: "bundled:network.yaml".into(),
            bundled_line: 49,
        };
        assert_eq!(record.overridden.as_ref(), Some(&expected));
        let again: RuleRecord<'static> =
            serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap();
        assert_eq!(again.overridden, Some(expected));
    }
}
