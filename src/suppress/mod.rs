//! Suppressions and baselines: the findings a team has accepted, with the reason, owner and
//! expiry, and the failing findings a baseline already knows. Applied to a scan's findings after
//! evaluation; a waived finding stays in every output, with its new status and the reason.

pub mod baseline;
pub mod file;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use chrono::NaiveDate;
use rayon::prelude::*;

use crate::arn::Arn;
use crate::result::{
    BaselineEntry, BaselineState, EntryState, ScanResult, Status, SuppressionEntry, SuppressionState, Waiver,
    fingerprint,
};
pub use baseline::Baseline;

/// The resource tag whose value lists the rule ids suppressed on that resource.
pub const SUPPRESS_TAG: &str = "ecaudit:suppress";
/// The resource tag that says why.
pub const REASON_TAG: &str = "ecaudit:reason";

#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// An exact value, or a glob (`*`, `?`, `[...]`, `{a,b}`; `*` also matches `:` and `/`).
#[derive(Clone, Debug)]
pub struct Pattern {
    text: String,
    glob: Option<globset::GlobMatcher>,
}

impl Pattern {
    pub fn new(text: &str) -> Result<Pattern, String> {
        let glob = if text.contains(['*', '?', '[', '{']) {
            let glob = globset::Glob::new(text).map_err(|e| format!("bad glob `{text}`: {}", e.kind()))?;
            Some(glob.compile_matcher())
        } else {
            None
        };
        Ok(Pattern {
            text: text.to_string(),
            glob,
        })
    }

    /// A pattern that matches `text` only, whatever characters it holds.
    pub fn literal(text: &str) -> Pattern {
        Pattern {
            text: text.to_string(),
            glob: None,
        }
    }

    pub fn matches(&self, s: &str) -> bool {
        match &self.glob {
            Some(g) => g.is_match(s),
            None => self.text == s,
        }
    }

    pub fn is_literal(&self) -> bool {
        self.glob.is_none()
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// Where a suppression was declared.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// An entry of a suppressions file, at its line.
    File { file: String, line: usize },
    /// The `ecaudit:suppress` tag of a resource.
    Tag { resource_arn: String },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File { file, line } => write!(f, "{file}:{line}"),
            Source::Tag { resource_arn } => write!(f, "tag {SUPPRESS_TAG} on {resource_arn}"),
        }
    }
}

/// A validated suppression: which findings it matches, and why they are accepted.
#[derive(Clone, Debug, PartialEq)]
pub struct Suppression {
    pub source: Source,
    /// Rule id or glob.
    pub rule: Pattern,
    /// ARN, id, or a glob matched against either.
    pub resource: Pattern,
    pub account: Option<Pattern>,
    pub region: Option<Pattern>,
    /// Every tag must be present with a matching value.
    pub tags: Vec<(String, Pattern)>,
    pub reason: String,
    /// The last day the suppression holds (UTC); from the next day on it is expired.
    pub expires: Option<NaiveDate>,
    pub owner: Option<String>,
    pub ticket: Option<String>,
}

impl Suppression {
    /// The suppression as the result records it.
    pub fn entry(&self) -> SuppressionEntry {
        let text = |p: &Option<Pattern>| p.as_ref().map(|p| p.as_str().to_string());
        SuppressionEntry {
            source: self.source.to_string(),
            rule: self.rule.as_str().to_string(),
            resource: self.resource.as_str().to_string(),
            account: text(&self.account),
            region: text(&self.region),
            tags: self
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().to_string()))
                .collect(),
            reason: self.reason.clone(),
            expires: self.expires,
            owner: self.owner.clone(),
            ticket: self.ticket.clone(),
        }
    }
}

/// Reads the `ecaudit:suppress` tags of the scanned resources into suppressions; tags without a
/// reason or naming no known rule are ignored with a warning.
fn tag_suppressions(result: &ScanResult, warnings: &mut Vec<String>) -> Vec<(usize, Suppression)> {
    let mut out = Vec::new();
    for (index, r) in result.resources.iter().enumerate() {
        let Some(tags) = &r.tags else { continue };
        let Some(value) = tags.get(SUPPRESS_TAG) else {
            continue;
        };
        let reason = tags.get(REASON_TAG).map(|s| s.trim()).unwrap_or_default();
        if reason.is_empty() {
            warnings.push(format!(
                "{}: tag {SUPPRESS_TAG}={value} ignored: the {REASON_TAG} tag that says why is missing",
                r.arn
            ));
            continue;
        }
        // Rule ids only, no globs: whoever may tag a resource should not silence every rule.
        for id in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !result.rules.ids().any(|known| known == id) {
                warnings.push(format!(
                    "{}: tag {SUPPRESS_TAG} names `{id}`, which is no rule id (globs are not accepted in tags); ignored",
                    r.arn
                ));
                continue;
            }
            let rule = Pattern::literal(id);
            out.push((
                index,
                Suppression {
                    source: Source::Tag {
                        resource_arn: r.arn.clone(),
                    },
                    rule,
                    resource: Pattern::literal(&r.arn),
                    account: None,
                    region: None,
                    tags: Vec::new(),
                    reason: reason.to_string(),
                    expires: None,
                    owner: None,
                    ticket: None,
                },
            ));
        }
    }
    out
}

/// Whether a file entry's resource conditions hold for a resource.
fn matches_resource(e: &Suppression, r: &crate::result::Resource) -> bool {
    (e.resource.matches(&r.arn) || e.resource.matches(&r.id))
        && e.account.as_ref().is_none_or(|p| p.matches(&r.account_id))
        && e.region.as_ref().is_none_or(|p| p.matches(&r.region))
        && e.tags.iter().all(|(k, v)| {
            r.tags
                .as_ref()
                .and_then(|t| t.get(k))
                .is_some_and(|value| v.matches(value))
        })
}

/// Marks the failing and undecided findings that a suppression (from `entries` or a resource
/// tag) matches as `suppressed`, as of `today`; the first matching entry wins. Records every
/// entry's state in `result.waivers`.
pub fn apply_suppressions(result: &mut ScanResult, entries: Vec<Suppression>, today: NaiveDate) {
    let mut warnings = Vec::new();
    let tagged = tag_suppressions(result, &mut warnings);
    let file_entries = entries.len();
    let mut all = entries;
    // Per resource, the entries whose resource conditions hold, in precedence order.
    let mut candidates: Vec<Vec<u32>> = result
        .resources
        .par_iter()
        .map(|r| {
            (0..file_entries)
                .filter(|&i| matches_resource(&all[i], r))
                .map(|i| i as u32)
                .collect()
        })
        .collect();
    for (resource, entry) in tagged {
        candidates[resource].push(all.len() as u32);
        all.push(entry);
    }
    let expired: Vec<bool> = all.iter().map(|e| e.expires.is_some_and(|d| d < today)).collect();
    let rules = result.rules.rules();
    let rule_match: Vec<Vec<bool>> = all
        .iter()
        .map(|e| rules.iter().map(|r| e.rule.matches(&r.id)).collect())
        .collect();

    let mut matched = vec![0usize; all.len()];
    for f in &mut result.findings {
        if !matches!(f.status, Status::Fail | Status::Error) {
            continue;
        }
        // The first active entry wins; every matching entry counts, so one shadowed by an
        // earlier entry is not reported as stale.
        let mut hit = None;
        for &e in &candidates[f.deployment] {
            let e = e as usize;
            if !rule_match[e][f.rule] {
                continue;
            }
            matched[e] += 1;
            if !expired[e] && hit.is_none() {
                hit = Some(e);
            }
        }
        if let Some(e) = hit {
            f.waiver = Some(Waiver {
                was: f.status,
                suppression: Some(e as u32),
            });
            f.status = Status::Suppressed;
        }
    }
    result.waivers.suppressions = all
        .into_iter()
        .zip(matched)
        .zip(expired)
        .map(|((entry, matched), expired)| SuppressionState {
            entry: entry.entry(),
            state: if expired {
                EntryState::Expired
            } else if matched == 0 {
                EntryState::Stale
            } else {
                EntryState::Active
            },
            matched,
        })
        .collect();
    result.waivers.warnings = warnings;
}

/// The fingerprints of the findings that fail and are not suppressed: what `--update-baseline`
/// writes.
pub fn failing_entries(result: &ScanResult) -> BTreeSet<BaselineEntry> {
    result
        .findings
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Baselined))
        .map(|f| {
            let rule = &result.rule(f).id;
            let arn = &result.resource(f).arn;
            BaselineEntry {
                rule_id: rule.clone(),
                resource_arn: arn.clone(),
                fingerprint: fingerprint(rule, arn),
            }
        })
        .collect()
}

/// Marks failing findings whose fingerprint is in the baseline as `baselined`, and sorts the
/// entries whose finding no longer fails (resolved) from those this scan could not check.
pub fn apply_baseline(result: &mut ScanResult, baseline: &Baseline) -> BaselineState {
    let known: HashSet<&str> = baseline.entries.iter().map(|e| e.fingerprint.as_str()).collect();
    let rules = result.rules.rules();
    let resources = &result.resources;
    // What evaluation decided for each finding the baseline names.
    let decided: HashMap<String, Status> = result
        .findings
        .par_iter_mut()
        .filter_map(|f| {
            let print = fingerprint(&rules[f.rule].id, &resources[f.deployment].arn);
            if !known.contains(print.as_str()) {
                return None;
            }
            if f.status == Status::Fail {
                f.waiver = Some(Waiver {
                    was: Status::Fail,
                    suppression: None,
                });
                f.status = Status::Baselined;
            }
            Some((print, f.waiver.map_or(f.status, |w| w.was)))
        })
        .collect();
    // Regions read without a gap: a baselined deployment missing from one of them is gone.
    let mut read: HashSet<(&str, &str)> = HashSet::new();
    let mut gaps: HashSet<(&str, &str)> = HashSet::new();
    for c in &result.coverage {
        let key = (&*c.account_id, &*c.region);
        if c.is_gap() {
            gaps.insert(key);
        } else {
            read.insert(key);
        }
    }
    let mut state = BaselineState {
        file: Some(baseline.file.clone()),
        entries: baseline.entries.len(),
        ..BaselineState::default()
    };
    for e in &baseline.entries {
        match decided.get(&e.fingerprint) {
            Some(Status::Fail) => {}
            Some(Status::Pass | Status::NotApplicable) => state.resolved.push(e.clone()),
            Some(_) => state.unverified.push(e.clone()),
            None => {
                let rule_ran = rules.iter().any(|r| r.id == e.rule_id);
                let at = Arn::parse(&e.resource_arn).map(|a| (a.account, a.region));
                if rule_ran && at.is_some_and(|at| read.contains(&at) && !gaps.contains(&at)) {
                    state.resolved.push(e.clone());
                } else {
                    state.unverified.push(e.clone());
                }
            }
        }
    }
    // `matched` counts the findings marked here, not entries also suppressed.
    state.matched = result
        .findings
        .iter()
        .filter(|f| f.status == Status::Baselined)
        .count();
    state
}
