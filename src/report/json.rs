//! The JSON result document (`docs/findings.md`): summary, coverage and findings, streamed to
//! the writer without building the document in memory.

use std::collections::BTreeMap;
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::Serialize;
use serde::ser::SerializeSeq;

use super::RenderOptions;
use crate::evaluate::ScanResult;
use crate::findings::{Finding, Severity, Status, fingerprint};
use crate::inventory::{CoverageEntry, DeploymentKind};
use crate::rules::pack::PACK_VERSION;
use crate::summary::Summary;
use crate::suppress::Waivers;

/// Version of the result document's shape.
pub const RESULT_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: Tool,
    scan: Scan<'a>,
    summary: &'a Summary,
    coverage: &'a [CoverageEntry],
    waivers: &'a Waivers,
    drift: Option<&'a crate::drift::DriftReport>,
    rules: Vec<RuleRecord<'a>>,
    findings: Findings<'a>,
}

/// A rule evaluated by the scan, as the document lists it: what the audit report's compliance
/// view and remediation come from, even for rules no finding is shown of.
#[derive(Serialize)]
struct RuleRecord<'a> {
    id: &'a str,
    title: &'a str,
    severity: Severity,
    description: Option<&'a str>,
    remediation: &'a str,
    controls: &'a BTreeMap<String, Vec<String>>,
    references: &'a [String],
}

fn rule_records(result: &ScanResult) -> Vec<RuleRecord<'_>> {
    result
        .rules
        .rules()
        .iter()
        .map(|r| RuleRecord {
            id: &r.id,
            title: &r.title,
            severity: r.severity,
            description: r.description.as_deref(),
            remediation: &r.remediation,
            controls: &r.controls,
            references: &r.references,
        })
        .collect()
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
    rule_pack: &'static str,
}

#[derive(Serialize)]
struct Scan<'a> {
    /// The instant rules were evaluated as of.
    evaluated_at: DateTime<Utc>,
    /// When the inventory was collected, if known.
    collected_at: Option<DateTime<Utc>>,
    /// Findings below this severity are left out of `findings`.
    min_severity: Severity,
    /// The units this result covers, when it is one shard of a scan (`--shard K/N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<&'a crate::shard::ShardInfo>,
    /// The program (and caller) that collected the inventory, when it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    collector: Option<&'a crate::inventory::Collector>,
}

/// One finding as the document shows it.
#[derive(Serialize)]
pub struct FindingRecord<'a> {
    pub rule_id: &'a str,
    pub title: &'a str,
    pub severity: Severity,
    pub status: Status,
    pub resource_kind: DeploymentKind,
    pub resource_id: &'a str,
    pub resource_arn: &'a str,
    pub account_id: &'a str,
    pub region: &'a str,
    pub message: &'a str,
    pub evidence: &'a [String],
    /// How to fix it: only for failing findings.
    pub remediation: Option<&'a str>,
    pub controls: &'a BTreeMap<String, Vec<String>>,
    pub fingerprint: String,
    /// Why a `suppressed` or `baselined` finding is waived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverRecord<'a>>,
    /// How it moved since the previous run (`scan --history`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<crate::drift::Transition>,
}

/// A waived finding's waiver as the document shows it.
#[derive(Serialize)]
pub struct WaiverRecord<'a> {
    /// `suppression` or `baseline`.
    pub by: &'static str,
    /// The status evaluation gave the finding.
    pub original_status: Status,
    /// The suppressions file and line, the resource tag, or the baseline file.
    pub source: String,
    pub reason: &'a str,
    pub owner: Option<&'a str>,
    pub ticket: Option<&'a str>,
    pub expires: Option<chrono::NaiveDate>,
}

impl<'a> WaiverRecord<'a> {
    pub fn new(result: &'a ScanResult, f: &Finding) -> Option<Self> {
        let w = f.waiver?;
        Some(match w.suppression {
            Some(i) => {
                let e = &result.waivers.suppressions[i as usize].entry;
                WaiverRecord {
                    by: "suppression",
                    original_status: w.was,
                    source: e.source.to_string(),
                    reason: &e.reason,
                    owner: e.owner.as_deref(),
                    ticket: e.ticket.as_deref(),
                    expires: e.expires,
                }
            }
            None => WaiverRecord {
                by: "baseline",
                original_status: w.was,
                source: result
                    .waivers
                    .baseline
                    .as_ref()
                    .and_then(|b| b.updated.clone().or_else(|| b.file.clone()))
                    .unwrap_or_default(),
                reason: "already in the baseline",
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
        FindingRecord {
            rule_id: &rule.id,
            title: &rule.title,
            severity: rule.severity,
            status: f.status,
            resource_kind: d.kind,
            resource_id: &d.id,
            resource_arn: &d.arn,
            account_id: &d.account_id,
            region: &d.region,
            message: &f.message,
            evidence: &f.evidence,
            remediation: f.failed().then_some(rule.remediation.as_str()),
            controls: &rule.controls,
            fingerprint: fingerprint(&rule.id, &d.arn),
            waiver: WaiverRecord::new(result, f),
            drift: f.transition,
        }
    }
}

struct Findings<'a> {
    result: &'a ScanResult,
    min_severity: Severity,
}

impl Serialize for Findings<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for f in &self.result.findings {
            if self.result.rule(f).severity >= self.min_severity {
                seq.serialize_element(&FindingRecord::new(self.result, f))?;
            }
        }
        seq.end()
    }
}

/// Findings rendered per parallel task; tasks run a window at a time, so memory holds at most
/// three windows of rendered text (~0.7 KB a finding): a few MiB whatever the number of
/// findings. A window of 32 chunks of 2,048 held every finding of a 640-account scan at once.
const CHUNK: usize = 256;

/// Findings per window: enough chunks to keep every thread of the pool busy.
fn window() -> usize {
    CHUNK * (4 * rayon::current_num_threads()).max(16)
}

/// Renders the document: indented when `pretty` (for people), otherwise compact, with the
/// findings rendered in parallel (for machines and large fleets).
pub fn render(
    result: &ScanResult,
    summary: &Summary,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let doc = Document {
        schema_version: RESULT_SCHEMA_VERSION,
        tool: Tool {
            name: "ecaudit",
            version: env!("CARGO_PKG_VERSION"),
            rule_pack: PACK_VERSION,
        },
        scan: Scan {
            evaluated_at: result.evaluated_at,
            collected_at: result.collected_at,
            min_severity: options.min_severity,
            shard: result.shard.as_ref(),
            collector: result.collector.as_ref(),
        },
        summary,
        coverage: &result.coverage,
        waivers: &result.waivers,
        drift: result.drift.as_ref(),
        rules: rule_records(result),
        findings: Findings {
            result,
            min_severity: options.min_severity,
        },
    };
    if options.pretty {
        return super::write_json(&doc, true, out);
    }

    // Everything but the findings, then the findings array written chunk by chunk.
    let mut head = AllButLast::new(&mut *out);
    serde_json::to_writer(
        &mut head,
        &Head {
            schema_version: doc.schema_version,
            tool: doc.tool,
            scan: doc.scan,
            summary,
            coverage: &result.coverage,
            waivers: &result.waivers,
            drift: result.drift.as_ref(),
            rules: doc.rules,
        },
    )?;
    // The head's closing brace is held back: the findings come before it.
    out.write_all(b",\"findings\":[")?;
    let shown: Vec<&Finding> = super::shown(result, options).collect();
    stream(result, &shown, b",", out)?;
    out.write_all(b"]}\n")
}

/// JSON Lines: one finding per line, each the object `findings` holds in the JSON document.
pub fn render_lines(result: &ScanResult, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let shown: Vec<&Finding> = super::shown(result, options).collect();
    stream(result, &shown, b"\n", out)?;
    if !shown.is_empty() {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes findings as JSON objects separated by `separator`, rendered in parallel chunks. A
/// window is rendered while the one before it is written, so the kernel's copy of the output
/// does not wait for rendering nor rendering for it.
fn stream(result: &ScanResult, shown: &[&Finding], separator: &[u8], out: &mut dyn Write) -> io::Result<()> {
    let fragments = Fragments::new(result);
    let render = |window: &[&Finding]| -> io::Result<Vec<Vec<u8>>> {
        window
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut buf = Vec::with_capacity(chunk.len() * 640);
                for (i, f) in chunk.iter().enumerate() {
                    if i > 0 {
                        buf.extend(separator);
                    }
                    fragments.write(result, f, &mut buf)?;
                }
                Ok(buf)
            })
            .collect()
    };
    std::thread::scope(|scope| {
        // One window ahead: memory holds at most three windows of rendered text.
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let renderer = scope.spawn(move || {
            for window in shown.chunks(window()) {
                if tx.send(render(window)).is_err() {
                    break; // the writer failed and stopped reading
                }
            }
        });
        let mut first = true;
        let written = (|| {
            for rendered in rx {
                for buf in rendered? {
                    if buf.is_empty() {
                        continue;
                    }
                    if !first {
                        out.write_all(separator)?;
                    }
                    first = false;
                    out.write_all(&buf)?;
                }
            }
            Ok(())
        })();
        // A panic while rendering is a bug: raise it with its own message, not as a short file.
        if let Err(panic) = renderer.join() {
            std::panic::resume_unwind(panic);
        }
        written
    })
}

/// Passes on everything written to it but the last byte: the head of the document (coverage
/// and drift, which grow with the accounts scanned) is written as it is serialized, without its
/// closing brace, instead of being built in memory first.
struct AllButLast<'w> {
    out: &'w mut dyn Write,
    last: Option<u8>,
}

impl<'w> AllButLast<'w> {
    fn new(out: &'w mut dyn Write) -> Self {
        AllButLast { out, last: None }
    }
}

impl Write for AllButLast<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some((&last, rest)) = buf.split_last() else {
            return Ok(0);
        };
        if let Some(held) = self.last {
            self.out.write_all(&[held])?;
        }
        self.out.write_all(rest)?;
        self.last = Some(last);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// JSON of one value (strings escaped), for fragments.
fn json<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("plain data serializes")
}

/// What findings share, rendered to JSON once: each rule's fields and messages, each resource's
/// identity. A finding is then those fragments plus its status, evidence and fingerprint, in the
/// field order of [`FindingRecord`].
struct Fragments {
    rules: Vec<RuleFragments>,
    resources: Vec<Vec<u8>>,
}

struct RuleFragments {
    /// `"rule_id":..,"title":..,"severity":..`
    head: Vec<u8>,
    /// `"remediation":..,"controls":..` for a failing finding, and for any other.
    tail_fail: Vec<u8>,
    tail_other: Vec<u8>,
    /// The rule's standard messages and their JSON.
    messages: Vec<(std::sync::Arc<str>, Vec<u8>)>,
}

impl Fragments {
    fn new(result: &ScanResult) -> Self {
        let rules = result
            .rules
            .rules()
            .iter()
            .map(|r| {
                let mut head = b"\"rule_id\":".to_vec();
                head.extend(json(&r.id));
                head.extend(b",\"title\":");
                head.extend(json(&r.title));
                head.extend(b",\"severity\":");
                head.extend(json(&r.severity));
                let controls = json(&r.controls);
                let tail = |remediation: Option<&str>| {
                    let mut t = b"\"remediation\":".to_vec();
                    t.extend(json(&remediation));
                    t.extend(b",\"controls\":");
                    t.extend(&controls);
                    t
                };
                RuleFragments {
                    head,
                    tail_fail: tail(Some(&r.remediation)),
                    tail_other: tail(None),
                    messages: [&r.pass_message, &r.fail_message, &r.not_applicable_message]
                        .into_iter()
                        .map(|m| (m.clone(), json(&**m)))
                        .collect(),
                }
            })
            .collect();
        let resources = result
            .resources
            .par_iter()
            .map(|d| {
                let mut f = b"\"resource_kind\":".to_vec();
                f.extend(json(&d.kind));
                f.extend(b",\"resource_id\":");
                f.extend(json(&d.id));
                f.extend(b",\"resource_arn\":");
                f.extend(json(&d.arn));
                f.extend(b",\"account_id\":");
                f.extend(json(&d.account_id));
                f.extend(b",\"region\":");
                f.extend(json(&d.region));
                f
            })
            .collect();
        Fragments { rules, resources }
    }

    fn write(&self, result: &ScanResult, f: &Finding, out: &mut Vec<u8>) -> io::Result<()> {
        let rule = &self.rules[f.rule];
        out.push(b'{');
        out.extend(&rule.head);
        out.extend(b",\"status\":\"");
        out.extend(f.status.as_str().as_bytes());
        out.extend(b"\",");
        out.extend(&self.resources[f.deployment]);
        out.extend(b",\"message\":");
        match rule
            .messages
            .iter()
            .find(|(m, _)| std::sync::Arc::ptr_eq(m, &f.message))
        {
            Some((_, rendered)) => out.extend(rendered),
            None => serde_json::to_writer(&mut *out, &*f.message).map_err(io::Error::from)?,
        }
        out.extend(b",\"evidence\":");
        serde_json::to_writer(&mut *out, &f.evidence).map_err(io::Error::from)?;
        out.push(b',');
        out.extend(if f.failed() {
            &rule.tail_fail
        } else {
            &rule.tail_other
        });
        out.extend(b",\"fingerprint\":\"");
        let resource = result.resource(f);
        out.extend(fingerprint(&result.rule(f).id, &resource.arn).as_bytes());
        out.push(b'"');
        if let Some(waiver) = WaiverRecord::new(result, f) {
            out.extend(b",\"waiver\":");
            serde_json::to_writer(&mut *out, &waiver).map_err(io::Error::from)?;
        }
        if let Some(t) = f.transition {
            out.extend(b",\"drift\":\"");
            out.extend(t.as_str().as_bytes());
            out.push(b'"');
        }
        out.push(b'}');
        Ok(())
    }
}

/// The document without its findings.
#[derive(Serialize)]
struct Head<'a> {
    schema_version: u32,
    tool: Tool,
    scan: Scan<'a>,
    summary: &'a Summary,
    coverage: &'a [CoverageEntry],
    waivers: &'a Waivers,
    drift: Option<&'a crate::drift::DriftReport>,
    rules: Vec<RuleRecord<'a>>,
}
