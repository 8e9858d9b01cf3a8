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
use crate::rules::Severity;
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

/// The longest pattern a suppressions or config file may hold, in bytes: ids, ARNs and globs
/// are far shorter, and a long glob is what makes the glob library's compiler blow up.
pub const MAX_PATTERN: usize = 1024;

/// A value quoted in a message (the one rule for every message: `crate::text`).
pub use crate::text::excerpt;

/// An exact value, or a glob (`*`, `?`, `[...]`, `{a,b}`; `*` also matches `:` and `/`).
#[derive(Clone, Debug)]
pub struct Pattern {
    text: String,
    glob: Option<globset::GlobSet>,
}

impl Pattern {
    /// A pattern of at most [`MAX_PATTERN`] bytes; errors quote an excerpt of `text` only.
    pub fn new(text: &str) -> Result<Pattern, String> {
        // Checked before compiling: the glob compiler panics on very long globs.
        if text.len() > MAX_PATTERN {
            return Err(format!(
                "`{}` is {} bytes long; a pattern holds at most {MAX_PATTERN}",
                excerpt(text),
                text.len()
            ));
        }
        let glob = if text.contains(['*', '?', '[', '{']) {
            let bad = |e: globset::Error| {
                // A regex error spans lines and quotes the whole expression: its first line only.
                let kind = e.kind().to_string();
                format!(
                    "bad glob `{}`: {}",
                    excerpt(text),
                    excerpt(kind.lines().next().unwrap_or_default())
                )
            };
            let glob = globset::Glob::new(text).map_err(bad)?;
            // A set of one, not `compile_matcher`: that panics where the regex cannot be built.
            let set = globset::GlobSetBuilder::new().add(glob).build().map_err(bad)?;
            Some(set)
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
    /// The account's organizational unit path (`Root/Sandbox/*`), known with `--organization`
    /// only: an account whose path is unknown matches no `ou`.
    pub ou: Option<Pattern>,
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
            ou: text(&self.ou),
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

/// What the `ecaudit:suppress` tags of scanned resources may suppress (`[suppress]` of
/// `ecaudit.toml`). Off by default: the teams whose caches are audited set those tags, so
/// honouring them is the auditor's choice, up to a severity and for named rules only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagPolicy {
    /// `tags`: whether tags suppress at all.
    pub enabled: bool,
    /// `tags_max_severity`: a tag may suppress findings of rules up to this severity.
    pub max_severity: Severity,
    /// `tags_rules`: the rule ids a tag may name (`None`: any, within `max_severity`).
    pub rules: Option<Vec<String>>,
}

impl TagPolicy {
    /// Every valid tag honoured, whatever its rule's severity: how tags worked before they were
    /// opt-in (tests and the format goldens use it).
    pub const UNRESTRICTED: TagPolicy = TagPolicy {
        enabled: true,
        max_severity: Severity::Critical,
        rules: None,
    };
}

impl Default for TagPolicy {
    fn default() -> Self {
        TagPolicy {
            enabled: false,
            max_severity: Severity::Medium,
            rules: None,
        }
    }
}

/// Reads the `ecaudit:suppress` tags of the scanned resources into suppressions, as `policy`
/// allows; every tag or rule id it does not honour is a warning that says why.
fn tag_suppressions(
    result: &ScanResult,
    policy: &TagPolicy,
    warnings: &mut Vec<String>,
) -> Vec<(usize, Suppression)> {
    let mut out = Vec::new();
    for (index, r) in result.resources.iter().enumerate() {
        let Some(tags) = &r.tags else { continue };
        let Some(value) = tags.get(SUPPRESS_TAG) else {
            continue;
        };
        let ignored = |why: &str| {
            format!(
                "{}: tag {SUPPRESS_TAG}={} ignored: {why}",
                excerpt(&r.arn),
                excerpt(value)
            )
        };
        if !policy.enabled {
            warnings.push(ignored(
                "tag suppressions are off (`[suppress] tags = true` in ecaudit.toml turns them on)",
            ));
            continue;
        }
        let reason = tags.get(REASON_TAG).map(|s| s.trim()).unwrap_or_default();
        if reason.is_empty() {
            warnings.push(ignored(&format!("the {REASON_TAG} tag that says why is missing")));
            continue;
        }
        // Rule ids only, no globs: whoever may tag a resource should not silence every rule.
        for id in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let not_for = |why: String| {
                format!(
                    "{}: tag {SUPPRESS_TAG} names `{}`, {why}; ignored",
                    excerpt(&r.arn),
                    excerpt(id)
                )
            };
            let Some(rule) = result.rules.rules().iter().find(|rule| rule.id == id) else {
                warnings.push(not_for(
                    "which is no rule id (globs are not accepted in tags)".into(),
                ));
                continue;
            };
            if policy
                .rules
                .as_ref()
                .is_some_and(|allowed| !allowed.iter().any(|a| a == id))
            {
                warnings.push(not_for(
                    "which `[suppress] tags_rules` in ecaudit.toml does not list".into(),
                ));
                continue;
            }
            if rule.severity > policy.max_severity {
                warnings.push(not_for(format!(
                    "a {} rule: tags suppress up to `[suppress] tags_max_severity` ({})",
                    rule.severity, policy.max_severity
                )));
                continue;
            }
            out.push((
                index,
                Suppression {
                    source: Source::Tag {
                        resource_arn: r.arn.clone(),
                    },
                    rule: Pattern::literal(id),
                    resource: Pattern::literal(&r.arn),
                    account: None,
                    region: None,
                    ou: None,
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

/// Whether an `ou` pattern holds for an account in the unit at `path`. The path is also tried
/// with a trailing `/`, so `Root/Sandbox/*` holds for the accounts of Sandbox itself as for
/// those of every unit below it, and `Root/Sandbox` for those of Sandbox only.
fn matches_ou(pattern: &Pattern, path: &str) -> bool {
    pattern.matches(path) || pattern.matches(&format!("{path}/"))
}

/// Whether a file entry's resource conditions hold for a resource.
fn matches_resource(e: &Suppression, r: &crate::result::Resource) -> bool {
    (e.resource.matches(&r.arn) || e.resource.matches(&r.id))
        && e.account.as_ref().is_none_or(|p| p.matches(&r.account_id))
        && e.region.as_ref().is_none_or(|p| p.matches(&r.region))
        && e.ou.as_ref().is_none_or(|p| {
            r.owner
                .as_ref()
                .and_then(|o| o.ou_path.as_deref())
                .is_some_and(|path| matches_ou(p, path))
        })
        && e.tags.iter().all(|(k, v)| {
            r.tags
                .as_ref()
                .and_then(|t| t.get(k))
                .is_some_and(|value| v.matches(value))
        })
}

/// Marks the failing and undecided findings that a suppression (from `entries`, or a resource
/// tag as `tags` allows) matches as `suppressed`, as of `today`; the first matching entry wins.
/// Records every entry's state, and every tag ignored and why, in `result.waivers`.
pub fn apply(result: &mut ScanResult, entries: Vec<Suppression>, tags: &TagPolicy, today: NaiveDate) {
    let mut warnings = Vec::new();
    let tagged = tag_suppressions(result, tags, &mut warnings);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_is_short_and_shows_what_would_steer_a_terminal() {
        assert_eq!(excerpt("orders-cache"), "orders-cache");
        assert_eq!(
            excerpt("a\u{1b}]0;x\u{7}b\nc\u{202e}d\u{200b}é"),
            "a\\u{1b}]0;x\\u{7}b\\nc\\u{202e}d\\u{200b}é"
        );
        let long = "ü".repeat(300);
        assert_eq!(excerpt(&long), format!("{}… (600 bytes)", "ü".repeat(200)));
        assert_eq!(excerpt(&"x".repeat(200)), "x".repeat(200));
    }

    #[test]
    fn patterns_are_bounded_before_they_are_compiled() {
        let e = Pattern::new(&"{a,b}*".repeat(25_000)).unwrap_err();
        assert_eq!(
            e,
            format!(
                "`{}… (150000 bytes)` is 150000 bytes long; a pattern holds at most 1024",
                "{a,b}*".repeat(34).chars().take(200).collect::<String>()
            )
        );
        // Up to the limit, a glob compiles and matches.
        let glob = format!("{}*", "{a,b}".repeat(203));
        assert!(glob.len() <= MAX_PATTERN);
        let p = Pattern::new(&glob).unwrap();
        assert!(p.matches(&format!("{}zzz", "ab".repeat(101) + "a")));
        assert!(!p.matches("c"));
        let e = Pattern::new("orders-[cache").unwrap_err();
        assert_eq!(
            e,
            "bad glob `orders-[cache`: unclosed character class; missing ']'"
        );
    }

    #[test]
    fn an_ou_pattern_holds_for_the_unit_and_below_when_it_ends_in_a_star() {
        let p = |text: &str| Pattern::new(text).unwrap();
        let below = p("Root/Sandbox/*");
        assert!(matches_ou(&below, "Root/Sandbox"));
        assert!(matches_ou(&below, "Root/Sandbox/Team-1"));
        assert!(matches_ou(&below, "Root/Sandbox/Team-1/Dev"));
        assert!(!matches_ou(&below, "Root/SandboxOld"));
        assert!(!matches_ou(&below, "Root/Workloads/Prod"));
        let exact = p("Root/Sandbox");
        assert!(matches_ou(&exact, "Root/Sandbox"));
        assert!(!matches_ou(&exact, "Root/Sandbox/Team-1"));
    }

    #[test]
    fn an_ou_entry_matches_only_accounts_whose_path_is_known_and_matches() {
        let entries = file::parse(
            "s.yaml",
            "suppressions:\n  - rule: multi-az\n    resource: '*'\n    ou: Root/Sandbox/*\n    reason: sandboxes\n",
            &["multi-az"],
        )
        .unwrap();
        let e = &entries[0];
        assert_eq!(e.ou.as_ref().map(Pattern::as_str), Some("Root/Sandbox/*"));
        assert_eq!(e.entry().ou.as_deref(), Some("Root/Sandbox/*"));
        let resource = |ou_path: Option<&str>, owned: bool| crate::result::Resource {
            kind: crate::inventory::DeploymentKind::ReplicationGroup,
            id: "orders".into(),
            arn: "arn:aws:elasticache:eu-west-1:111111111111:replicationgroup:orders".into(),
            account_id: "111111111111".into(),
            region: "eu-west-1".into(),
            tags: None,
            source: None,
            owner: owned.then(|| {
                std::sync::Arc::new(crate::inventory::Account {
                    id: "111111111111".into(),
                    name: Some("play".into()),
                    ou_path: ou_path.map(str::to_string),
                    ou_id: None,
                    organization_id: None,
                })
            }),
        };
        assert!(matches_resource(e, &resource(Some("Root/Sandbox"), true)));
        assert!(!matches_resource(e, &resource(Some("Root/Workloads/Prod"), true)));
        assert!(!matches_resource(e, &resource(None, true)), "path unknown");
        assert!(!matches_resource(e, &resource(None, false)), "no --organization");
    }

    #[test]
    fn a_bad_ou_glob_is_refused_at_its_line() {
        let e = file::parse(
            "s.yaml",
            "suppressions:\n  - rule: multi-az\n    resource: '*'\n    ou: 'Root/[Sandbox'\n    reason: r\n",
            &["multi-az"],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "s.yaml:4:9: ou: bad glob `Root/[Sandbox`: unclosed character class; missing ']'"
        );
    }
}
