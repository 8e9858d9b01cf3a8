//! `ecaudit merge`: the outputs of a sharded scan (`--shard K/N`) joined into one document
//! (inventories into an inventory, scan results into a scan result) once the shards are proven
//! to cover every unit of the scan exactly once: all N present, none twice, no unit in two.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use std::borrow::Cow;

use serde_json::value::RawValue;

use crate::collect::CollectStats;
use crate::inventory::{CoverageEntry, Inventory, InventoryError, parse_inventory, read_text};
use crate::result::document::{self, Document, FindingRecord, ResultError, SCHEMA_VERSION};
use crate::result::summary::{Counter, GateOptions};
use crate::result::{BaselineEntry, EntryState, SuppressionState, Waivers};
use crate::rules::Severity;
use crate::shard::ShardInfo;

/// Shard sets that cannot be merged (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error(transparent)]
    Result(#[from] ResultError),
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: neither an inventory (`deployments`) nor a scan result (`findings`)")]
    Unknown { file: String },
    #[error(
        "{first} is {first_kind} and {file} is {kind}: merge shard inventories or shard scan results, not both"
    )]
    Mixed {
        first: String,
        first_kind: &'static str,
        file: String,
        kind: &'static str,
    },
    #[error("{file} is not a shard (it has no shard record): merge what `--shard K/N` runs wrote")]
    NotShard { file: String },
    #[error(
        "{file} is shard {index}/{count} but {first} is of {first_count}: every shard must split the scan the same way"
    )]
    Count {
        file: String,
        index: u32,
        count: u32,
        first: String,
        first_count: u32,
    },
    #[error("shard {index}/{count} is given twice: {first} and {file}")]
    Duplicate {
        index: u32,
        count: u32,
        first: String,
        file: String,
    },
    #[error("incomplete shard set: shard(s) {missing} of {count} missing")]
    Missing { missing: String, count: u32 },
    #[error("the shards overlap: {what} is in {first} and in {file}")]
    Overlap {
        what: String,
        first: String,
        file: String,
    },
    #[error(
        "{file} planned {planned} unit(s) but {first} planned {first_planned}: the shards resolved different targets (run them with the same targets, at about the same time)"
    )]
    Plan {
        file: String,
        planned: usize,
        first: String,
        first_planned: usize,
    },
    #[error("the shards read {read} unit(s) of the {planned} planned")]
    Uncovered { read: usize, planned: usize },
    #[error(
        "{file} and {first} differ in {what}: the shards of one scan run the same ecaudit with the same rules and settings"
    )]
    Differ {
        file: String,
        first: String,
        what: &'static str,
    },
    #[error(
        "{file} was written with --severity {min}: it leaves findings out, and a merge needs them all (shard without --severity, or merge inventories)"
    )]
    Filtered { file: String, min: Severity },
    #[error("{file} carries drift: run --history on the merged result, not on shards")]
    Drift { file: String },
    #[error("nothing to merge: give the files of every shard")]
    Empty,
}

/// What `ecaudit merge` wrote.
pub enum Merged {
    Inventory(Inventory),
    Scan(Box<MergedScan>),
}

/// Reads and merges `files`: all inventories, or all scan results.
pub fn merge(files: &[PathBuf]) -> Result<Merged, MergeError> {
    let mut inventories = Vec::new();
    let mut scans = Vec::new();
    for path in files {
        let file = path.display().to_string();
        let text = read_text(path)?;
        let kind = kind_of(&text, &file)?;
        let first = inventories
            .first()
            .map(|(f, _): &(String, Inventory)| (f.clone(), "an inventory"))
            .or_else(|| {
                scans
                    .first()
                    .map(|(f, _): &(String, ScanDocument)| (f.clone(), "a scan result"))
            });
        if let Some((first, first_kind)) = first
            && first_kind != kind
        {
            return Err(MergeError::Mixed {
                first,
                first_kind,
                file,
                kind,
            });
        }
        if kind == "an inventory" {
            let inventory = parse_inventory(&text, &file)?;
            inventories.push((file, inventory));
        } else {
            let doc: ScanDocument = document::parse(&text, &file)?;
            scans.push((file, doc));
        }
    }
    if !inventories.is_empty() {
        let shards: Vec<(&str, Option<&ShardInfo>)> = inventories
            .iter()
            .map(|(f, i)| (f.as_str(), i.shard.as_ref()))
            .collect();
        check_shards(&shards)?;
        Ok(Merged::Inventory(merge_inventories(inventories)?))
    } else if !scans.is_empty() {
        let shards: Vec<(&str, Option<&ShardInfo>)> = scans
            .iter()
            .map(|(f, s)| (f.as_str(), s.scan.shard.as_deref()))
            .collect();
        check_shards(&shards)?;
        Ok(Merged::Scan(Box::new(merge_scans(scans)?)))
    } else {
        Err(MergeError::Empty)
    }
}

fn kind_of(text: &str, file: &str) -> Result<&'static str, MergeError> {
    use crate::drift::{DocumentKind, document_kind};
    match document_kind(text).map_err(|e| invalid(file, &e))? {
        Some(DocumentKind::Inventory) => Ok("an inventory"),
        Some(DocumentKind::ScanResult) => Ok("a scan result"),
        None => Err(MergeError::Unknown { file: file.into() }),
    }
}

fn invalid(file: &str, e: &serde_json::Error) -> MergeError {
    MergeError::Invalid {
        file: file.into(),
        line: e.line(),
        column: e.column(),
        message: crate::position::strip_position(&e.to_string()),
    }
}

/// Every shard 1..=N exactly once, the same N and the same plan, no unit in two shards, and
/// together every planned unit.
fn check_shards(shards: &[(&str, Option<&ShardInfo>)]) -> Result<(), MergeError> {
    let mut by_index: BTreeMap<u32, &str> = BTreeMap::new();
    let mut units: BTreeMap<&str, &str> = BTreeMap::new();
    let mut first: Option<(&str, &ShardInfo)> = None;
    for &(file, shard) in shards {
        let shard = shard.ok_or_else(|| MergeError::NotShard { file: file.into() })?;
        if let Some((first_file, f)) = first {
            if shard.count != f.count {
                return Err(MergeError::Count {
                    file: file.into(),
                    index: shard.index,
                    count: shard.count,
                    first: first_file.into(),
                    first_count: f.count,
                });
            }
            if shard.planned_units != f.planned_units {
                return Err(MergeError::Plan {
                    file: file.into(),
                    planned: shard.planned_units,
                    first: first_file.into(),
                    first_planned: f.planned_units,
                });
            }
        } else {
            first = Some((file, shard));
        }
        if let Some(other) = by_index.insert(shard.index, file) {
            return Err(MergeError::Duplicate {
                index: shard.index,
                count: shard.count,
                first: other.into(),
                file: file.into(),
            });
        }
        for unit in &shard.units {
            if let Some(other) = units.insert(unit, file) {
                return Err(MergeError::Overlap {
                    what: format!("unit {unit}"),
                    first: other.into(),
                    file: file.into(),
                });
            }
        }
    }
    let Some((_, f)) = first else {
        return Err(MergeError::Empty);
    };
    let missing: Vec<String> = (1..=f.count)
        .filter(|k| !by_index.contains_key(k))
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing: missing.join(", "),
            count: f.count,
        });
    }
    if units.len() != f.planned_units {
        return Err(MergeError::Uncovered {
            read: units.len(),
            planned: f.planned_units,
        });
    }
    Ok(())
}

/// Coverage of all shards: unit reads are disjoint; target resolution (caller, organization,
/// regions, roles) is read by every shard alike and kept once, failed if it failed anywhere.
fn merge_coverage(entries: impl IntoIterator<Item = CoverageEntry>) -> Vec<CoverageEntry> {
    let mut merged: BTreeMap<(String, String, String, String), CoverageEntry> = BTreeMap::new();
    for e in entries {
        let key = (
            e.account_id.to_string(),
            e.region.to_string(),
            e.service.to_string(),
            e.api.to_string(),
        );
        match merged.get(&key) {
            Some(kept) if kept.is_gap() || !e.is_gap() => {}
            _ => {
                merged.insert(key, e);
            }
        }
    }
    merged.into_values().collect()
}

/// The organization's accounts of all shards: every shard lists them all, so each is kept once,
/// as the shard that read most of it saw it (a unit path one shard failed to read is another's).
fn merge_accounts(accounts: Vec<crate::inventory::Account>) -> Vec<crate::inventory::Account> {
    let known =
        |a: &crate::inventory::Account| usize::from(a.name.is_some()) + usize::from(a.ou_path.is_some());
    let mut merged: BTreeMap<String, crate::inventory::Account> = BTreeMap::new();
    for a in accounts {
        match merged.get(&a.id) {
            Some(kept) if known(kept) >= known(&a) => {}
            _ => {
                merged.insert(a.id.clone(), a);
            }
        }
    }
    merged.into_values().collect()
}

fn merge_inventories(shards: Vec<(String, Inventory)>) -> Result<Inventory, MergeError> {
    let mut merged = Inventory::new();
    let mut arns: BTreeMap<String, String> = BTreeMap::new();
    let mut coverage = Vec::new();
    let mut accounts = Vec::new();
    let first_file = shards[0].0.clone();
    merged.collector = shards[0].1.collector.clone();
    for (file, inventory) in shards {
        if inventory.collector != merged.collector {
            return Err(MergeError::Differ {
                file,
                first: first_file,
                what: "the collector (ecaudit version)",
            });
        }
        merged.collected_at = earliest(merged.collected_at, inventory.collected_at);
        for d in &inventory.deployments {
            if let Some(other) = arns.insert(d.arn.clone(), file.clone()) {
                return Err(MergeError::Overlap {
                    what: format!("deployment {}", d.arn),
                    first: other,
                    file,
                });
            }
        }
        merged.deployments.extend(inventory.deployments);
        coverage.extend(inventory.coverage);
        accounts.extend(inventory.accounts);
    }
    merged.coverage = merge_coverage(coverage);
    merged.accounts = merge_accounts(accounts);
    merged.sort();
    Ok(merged)
}

/// A shard's scan result as `merge` reads it: the document model, each finding kept as written
/// (and read as a [`FindingRecord`] to be counted).
type ScanDocument = Document<'static, Vec<Box<RawValue>>>;

/// The merged scan result.
pub type MergedScan = ScanDocument;

fn merge_scans(shards: Vec<(String, ScanDocument)>) -> Result<MergedScan, MergeError> {
    let (first_file, first) = &shards[0];
    let differ = |file: &str, what| MergeError::Differ {
        file: file.into(),
        first: first_file.clone(),
        what,
    };
    let rule_ids = |d: &ScanDocument| -> Vec<(String, Severity)> {
        d.summary
            .by_rule
            .iter()
            .map(|r| (r.rule_id.clone(), r.severity))
            .collect()
    };
    let gate = |d: &ScanDocument| -> GateOptions {
        let g = &d.summary.gate;
        GateOptions {
            fail_on: g.fail_on,
            allow_partial: g.allow_partial,
            exit_zero: g.exit_zero,
            fail_on_overdue: g.fail_on_overdue,
        }
    };
    for (file, doc) in &shards {
        if doc.scan.min_severity != Severity::Info {
            return Err(MergeError::Filtered {
                file: file.clone(),
                min: doc.scan.min_severity,
            });
        }
        if doc.drift.is_some() {
            return Err(MergeError::Drift { file: file.clone() });
        }
        if doc.tool != first.tool {
            return Err(differ(file, "the tool (ecaudit or rule-pack version)"));
        }
        if gate(doc) != gate(first) {
            return Err(differ(
                file,
                "the gate (--fail-on, --fail-on-overdue, --allow-partial, --exit-zero)",
            ));
        }
        if rule_ids(doc) != rule_ids(first) {
            return Err(differ(file, "the rules (ids or severities)"));
        }
    }

    let first_file = first_file.clone();
    let tool = first.tool.clone();
    let options = gate(first);
    let rules = rule_ids(first);
    let rule_records = first.rules.clone();
    let rule_index: BTreeMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    let mut counter = Counter::new(rules.len(), options);
    let mut deployments = BTreeSet::new();
    let mut accounts = BTreeSet::new();
    let mut regions = BTreeSet::new();
    let mut fingerprints: BTreeMap<String, String> = BTreeMap::new();
    let mut scan = first.scan.clone();
    scan.shard = None;
    let mut coverage = Vec::new();
    let mut findings = Vec::new();
    let mut waivers: Vec<(String, Waivers)> = Vec::new();
    let mut collection: Option<CollectStats> = None;
    for (file, doc) in shards {
        scan.evaluated_at = scan.evaluated_at.max(doc.scan.evaluated_at);
        scan.collected_at = earliest(scan.collected_at, doc.scan.collected_at);
        for raw in &doc.findings {
            let f: FindingRecord = serde_json::from_str(raw.get()).map_err(|e| invalid(&file, &e))?;
            let Some(&rule) = rule_index.get(&*f.rule_id) else {
                return Err(MergeError::Differ {
                    file,
                    first: first_file,
                    what: "the rules (a finding of a rule the first shard lacks)",
                });
            };
            if let Some(other) = fingerprints.insert(f.fingerprint.to_string(), file.clone()) {
                return Err(MergeError::Overlap {
                    what: format!("finding {} on {}", f.rule_id, f.resource_arn),
                    first: other,
                    file,
                });
            }
            counter.add(rule, f.severity, f.status, f.overdue == Some(true));
            deployments.insert(f.resource_arn.into_owned());
            accounts.insert(f.account_id.into_owned());
            regions.insert(f.region.into_owned());
        }
        findings.extend(doc.findings);
        coverage.extend(doc.coverage.into_owned());
        if let Some(c) = doc.summary.into_owned().collection {
            collection = Some(match collection {
                None => c,
                Some(m) => add_collection(m, c),
            });
        }
        waivers.push((file, doc.waivers.into_owned()));
    }
    let coverage = merge_coverage(coverage);
    let coverage_gaps = coverage.iter().filter(|c| c.is_gap()).count();
    if let Some(c) = &mut collection {
        c.coverage_gaps = coverage_gaps;
    }
    let mut summary = counter.summary(
        rules,
        deployments.len(),
        accounts.len(),
        regions.len(),
        coverage_gaps,
    );
    summary.collection = collection;
    Ok(Document {
        schema_version: SCHEMA_VERSION,
        tool,
        scan,
        summary: Cow::Owned(summary),
        coverage: Cow::Owned(coverage),
        waivers: Cow::Owned(merge_waivers(waivers, &first_file)?),
        drift: None,
        rules: rule_records,
        findings,
    })
}

fn add_collection(mut a: CollectStats, b: CollectStats) -> CollectStats {
    // Every shard resolved the same targets: accounts and regions are the plan's at most.
    a.accounts = a.accounts.max(b.accounts);
    a.regions = a.regions.max(b.regions);
    a.units += b.units;
    a.deployments += b.deployments;
    for (k, v) in b.api_calls {
        *a.api_calls.entry(k).or_default() += v;
    }
    for (k, v) in b.api_calls_by_action {
        *a.api_calls_by_action.entry(k).or_default() += v;
    }
    a.retries += b.retries;
    // The shards ran side by side: the scan took as long as the slowest.
    a.duration_seconds = a.duration_seconds.max(b.duration_seconds);
    a.caller = a.caller.or(b.caller);
    a
}

/// Waivers of all shards: each suppression's matches summed and its state decided on the sum;
/// baseline matches summed, an entry resolved if any shard resolved it and unverifiable only if
/// no shard could check it.
fn merge_waivers(shards: Vec<(String, Waivers)>, first_file: &str) -> Result<Waivers, MergeError> {
    let differ = |file: &str, what| MergeError::Differ {
        file: file.into(),
        first: first_file.into(),
        what,
    };
    let first = &shards[0].1;
    let mut suppressions = first.suppressions.clone();
    for s in &mut suppressions {
        s.matched = 0;
    }
    let mut warnings: Vec<String> = Vec::new();
    let mut baseline = first.baseline.clone();
    let mut resolved: BTreeMap<String, BaselineEntry> = BTreeMap::new();
    let mut unverified: Option<BTreeMap<String, BaselineEntry>> = None;
    let mut matched = 0;
    let by_fingerprint = |entries: &[BaselineEntry]| -> BTreeMap<String, BaselineEntry> {
        entries
            .iter()
            .map(|e| (e.fingerprint.clone(), e.clone()))
            .collect()
    };
    for (file, w) in &shards {
        let identity = |s: &SuppressionState| {
            (
                s.entry.source.clone(),
                s.entry.rule.clone(),
                s.entry.resource.clone(),
            )
        };
        if w.suppressions.len() != suppressions.len()
            || w.suppressions
                .iter()
                .zip(&suppressions)
                .any(|(a, b)| identity(a) != identity(b))
        {
            return Err(differ(file, "suppressions"));
        }
        for (mine, theirs) in suppressions.iter_mut().zip(&w.suppressions) {
            mine.matched += theirs.matched;
        }
        for warning in &w.warnings {
            if !warnings.contains(warning) {
                warnings.push(warning.clone());
            }
        }
        let same = match (&w.baseline, &baseline) {
            (None, None) => true,
            (Some(b), Some(first)) => b.file == first.file && b.entries == first.entries,
            _ => false,
        };
        if !same {
            return Err(differ(file, "the baseline"));
        }
        if let Some(b) = &w.baseline {
            if b.updated.is_some() {
                return Err(differ(
                    file,
                    "--update-baseline (update the baseline from the merged result instead)",
                ));
            }
            matched += b.matched;
            resolved.extend(by_fingerprint(&b.resolved));
            let theirs = by_fingerprint(&b.unverified);
            unverified = Some(match unverified {
                None => theirs,
                Some(mine) => mine.into_iter().filter(|(k, _)| theirs.contains_key(k)).collect(),
            });
        }
    }
    for s in &mut suppressions {
        if s.state != EntryState::Expired {
            s.state = if s.matched > 0 {
                EntryState::Active
            } else {
                EntryState::Stale
            };
        }
    }
    if let Some(b) = &mut baseline {
        b.matched = matched;
        b.unverified = unverified
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| !resolved.contains_key(k))
            .map(|(_, v)| v)
            .collect();
        b.resolved = resolved.into_values().collect();
    }
    Ok(Waivers {
        suppressions,
        baseline,
        warnings,
    })
}

/// The earlier of two collection times: a merged collection started when its first shard did.
fn earliest(
    a: Option<chrono::DateTime<chrono::Utc>>,
    b: Option<chrono::DateTime<chrono::Utc>>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Account;

    fn account(id: &str, name: Option<&str>, ou_path: Option<&str>) -> Account {
        Account {
            id: id.into(),
            name: name.map(str::to_string),
            ou_path: ou_path.map(str::to_string),
            ou_id: None,
            organization_id: None,
        }
    }

    #[test]
    fn accounts_of_the_shards_are_kept_once_as_most_complete() {
        let merged = merge_accounts(vec![
            account("222222222222", Some("sandbox"), None),
            account("111111111111", Some("prod"), Some("Root/Workloads/Prod")),
            account("222222222222", Some("sandbox"), Some("Root/Sandbox")),
            account("111111111111", Some("prod"), None),
        ]);
        assert_eq!(
            merged,
            vec![
                account("111111111111", Some("prod"), Some("Root/Workloads/Prod")),
                account("222222222222", Some("sandbox"), Some("Root/Sandbox")),
            ]
        );
    }
}
