//! How findings moved between two results: newly failing, resolved, still failing, newly
//! suppressed. Findings are matched by rule and resource ARN.
//!
//! A nightly scan of a large fleet compares tens of thousands of findings a night, so both
//! sides are joined in (rule, ARN) order rather than through maps of copied keys, and the
//! strings a finding names are shared: a deployment's id and ARN are held once however many of
//! its findings there are.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::inventory::CoverageEntry;
use crate::result::document::FindingRecord;
use crate::result::{FindingRef, Identity, ScanResult, Status, Transition, Transitions};
use crate::rules::Severity;

/// The finding of a (rule, resource) pair in the older and newer result, named as the newer one
/// names it when there is one.
fn finding_ref(before: Option<&FindingState>, after: Option<&FindingState>) -> FindingRef {
    let any = after.or(before).expect("a finding on one side");
    FindingRef {
        rule_id: any.rule_id.clone(),
        severity: any.severity,
        resource_id: any.resource_id.clone(),
        resource_arn: any.resource_arn.clone(),
        old_status: before.map(|f| f.status),
        new_status: after.map(|f| f.status),
        // How long a finding failed, for the time to remediate it.
        first_seen: before
            .filter(|_| after.is_none_or(|a| !a.failed))
            .and_then(|b| b.first_seen),
    }
}

/// A finding's state in one result, for comparing results.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingState {
    pub rule_id: Arc<str>,
    pub severity: Severity,
    pub resource_id: Arc<str>,
    pub resource_arn: Arc<str>,
    pub account_id: Arc<str>,
    pub region: Arc<str>,
    pub status: Status,
    /// Evaluation found it failing (a waived failure included).
    pub failed: bool,
    /// When it started failing, as its result recorded (`scan --history`).
    pub first_seen: Option<DateTime<Utc>>,
}

impl FindingState {
    pub fn key(&self) -> (&str, &str) {
        (&self.rule_id, &self.resource_arn)
    }
}

/// What a result could judge: the `(account, region)` units it read completely and the rules
/// it evaluated. Two results are compared only where both judged: a unit one of them could not
/// read (a coverage gap, a target or shard it did not cover) or a rule one of them did not run
/// (another rule pack) moves no finding.
#[derive(Clone, Debug, Default)]
pub struct Reach {
    /// Regions read, by account; `None`: the document records no coverage (a saved inventory
    /// may not): every unit counts as read.
    read: Option<Units>,
    /// Units with a failed read (a whole account's as its `global` region).
    gaps: Units,
    /// `None`: the rules are not recorded (results written before ecaudit listed them).
    rules: Option<HashSet<Arc<str>>>,
    /// Older results that judged what this one did not (see [`composite`]).
    older: Vec<Reach>,
}

/// Regions by account.
type Units = HashMap<Arc<str>, HashSet<Arc<str>>>;

impl Reach {
    /// The reach of a result with `coverage`, which evaluated `rules` (`None`: not recorded).
    pub fn new<'r>(coverage: &[CoverageEntry], rules: Option<impl IntoIterator<Item = &'r str>>) -> Reach {
        let units = |entries: &mut dyn Iterator<Item = &CoverageEntry>| {
            let mut units = Units::new();
            for c in entries {
                units
                    .entry(c.account_id.clone())
                    .or_default()
                    .insert(c.region.clone());
            }
            units
        };
        Reach {
            read: (!coverage.is_empty()).then(|| units(&mut coverage.iter())),
            gaps: units(&mut coverage.iter().filter(|c| c.is_gap())),
            rules: rules.map(|r| r.into_iter().map(Arc::from).collect()),
            older: Vec::new(),
        }
    }

    /// Whether the result judged `rule` in the unit `(account, region)`.
    pub fn judged(&self, rule: &str, account: &str, region: &str) -> bool {
        self.rules.as_ref().is_none_or(|r| r.contains(rule)) && self.read_whole(account, region)
            || self.older.iter().any(|o| o.judged(rule, account, region))
    }

    /// Whether the result read the unit with no failed read.
    pub fn read_whole(&self, account: &str, region: &str) -> bool {
        let has = |units: &Units, region: &str| units.get(account).is_some_and(|r| r.contains(region));
        self.read.as_ref().is_none_or(|read| has(read, region))
            && !has(&self.gaps, region)
            && !has(&self.gaps, "global")
    }

    /// Whether a read of the unit failed (a gap, not a unit it never targeted).
    fn missed(&self, account: &str, region: &str) -> bool {
        let has = |region: &str| self.gaps.get(account).is_some_and(|r| r.contains(region));
        has(region) || has("global")
    }

    /// The units read whole, by account (none when the coverage is not recorded).
    fn units(&self) -> impl Iterator<Item = (&str, &str)> {
        self.read.iter().flatten().flat_map(move |(account, regions)| {
            regions
                .iter()
                .filter(move |r| self.read_whole(account, r))
                .map(move |r| (&**account, &**r))
        })
    }
}

/// Earlier results, newest first, as one side to compare tonight's with: each finding as the
/// newest of them that judged its rule and unit saw it. A unit a night could not read is thus
/// compared with the night before that did, so a finding fixed (or opened) behind a gap night is
/// resolved (or newly failing) the night the unit is read again, not lost.
pub fn composite(nights: &[(Vec<FindingState>, Reach)]) -> (Vec<FindingState>, Reach) {
    let mut states = Vec::new();
    for (i, (night, reach)) in nights.iter().enumerate() {
        let newer = &nights[..i];
        states.extend(
            night
                .iter()
                .filter(|s| {
                    reach.judged(&s.rule_id, &s.account_id, &s.region)
                        && !newer
                            .iter()
                            .any(|(_, r)| r.judged(&s.rule_id, &s.account_id, &s.region))
                })
                .cloned(),
        );
    }
    let mut reaches = nights.iter().map(|(_, r)| r.clone());
    let reach = match reaches.next() {
        Some(mut first) => {
            first.older.extend(reaches);
            first
        }
        None => Reach::default(),
    };
    (states, reach)
}

/// Whether `earlier` (newest first) leaves a unit `tonight` read whole unjudged that one of them
/// could not read: then an older result is needed to compare it with. A unit none of them
/// missed is new (a region just added), and is not looked for further back.
pub fn looks_past_a_gap(tonight: &Reach, earlier: &[&Reach]) -> bool {
    tonight.units().any(|(account, region)| {
        !earlier.iter().any(|r| r.read_whole(account, region))
            && earlier.iter().any(|r| r.missed(account, region))
    })
}

/// Hands out one shared copy of each distinct string.
#[derive(Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(held) = self.0.get(s) {
            return held.clone();
        }
        let held: Arc<str> = Arc::from(s);
        self.0.insert(held.clone());
        held
    }
}

/// The findings of a result document as states, and the deployments they name: what comparing
/// a saved result needs. Deserialized from the document's `findings`, one [`FindingRecord`] at
/// a time, so only each finding's state is held, the strings findings share held once.
#[derive(Default)]
pub struct FindingStates {
    pub states: Vec<FindingState>,
    /// The deployments the findings name, by ARN.
    pub resources: BTreeMap<Arc<str>, Identity>,
}

impl FindingStates {
    /// The states of the findings at or above `min` (two results compare only on what both
    /// list).
    pub fn at_or_above(&self, min: Severity) -> Vec<FindingState> {
        self.states
            .iter()
            .filter(|f| f.severity >= min)
            .cloned()
            .collect()
    }
}

impl<'de> Deserialize<'de> for FindingStates {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Records;
        impl<'de> serde::de::Visitor<'de> for Records {
            type Value = FindingStates;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of findings")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut strings = Interner::default();
                let mut out = FindingStates::default();
                while let Some(f) = seq.next_element::<FindingRecord>()? {
                    let arn = strings.get(&f.resource_arn);
                    out.resources.entry(arn.clone()).or_insert_with(|| Identity {
                        arn: f.resource_arn.to_string(),
                        id: f.resource_id.to_string(),
                        kind: f.resource_kind,
                        account_id: f.account_id.to_string(),
                        region: f.region.to_string(),
                    });
                    let evaluated = f.waiver.as_ref().map_or(f.status, |w| w.original_status);
                    out.states.push(FindingState {
                        rule_id: strings.get(&f.rule_id),
                        severity: f.severity,
                        resource_id: strings.get(&f.resource_id),
                        resource_arn: arn,
                        account_id: strings.get(&f.account_id),
                        region: strings.get(&f.region),
                        status: f.status,
                        failed: matches!(evaluated, Status::Fail | Status::Baselined),
                        first_seen: f.first_seen,
                    });
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Records)
    }
}

/// Compares findings by rule and resource, where both sides judged them.
pub fn transitions(old: &[FindingState], new: &[FindingState], reach: [&Reach; 2]) -> Transitions {
    compare(old, new, reach).0
}

/// Compares findings by rule and resource, and says how each finding of `new` (in its order)
/// moved. Where one side names a (rule, resource) pair more than once, its last finding
/// stands for it. A pair one side did not judge (`reach`: its unit unread, its rule not run)
/// moved nowhere: a gap is not a fix.
pub fn compare(
    old: &[FindingState],
    new: &[FindingState],
    [old_reach, new_reach]: [&Reach; 2],
) -> (Transitions, Vec<Option<Transition>>) {
    // Positions in (rule, ARN) order; the sort is stable, so the last of equal keys stays last.
    let order = |side: &[FindingState]| {
        let mut at: Vec<u32> = (0..side.len() as u32).collect();
        at.sort_by(|&a, &b| side[a as usize].key().cmp(&side[b as usize].key()));
        at
    };
    let (old_at, new_at) = (order(old), order(new));
    let mut marks = vec![None; new.len()];
    let mut t = Transitions::default();
    let (mut i, mut j) = (0, 0);
    while i < old_at.len() || j < new_at.len() {
        let next_old = old_at.get(i).map(|&a| old[a as usize].key());
        let next_new = new_at.get(j).map(|&b| new[b as usize].key());
        let key = match (next_old, next_new) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).expect("one side has a finding left"),
        };
        let run = |at: &[u32], side: &[FindingState], from: usize| {
            from + at[from..]
                .iter()
                .take_while(|&&x| side[x as usize].key() == key)
                .count()
        };
        let (i0, j0) = (i, j);
        (i, j) = (run(&old_at, old, i), run(&new_at, new, j));
        let before = (i > i0).then(|| &old[old_at[i - 1] as usize]);
        let after = (j > j0).then(|| &new[new_at[j - 1] as usize]);
        let any = after.or(before).expect("a finding on one side");
        let both = |r: &Reach| r.judged(&any.rule_id, &any.account_id, &any.region);
        if !(both(old_reach) && both(new_reach)) {
            continue;
        }
        let Some(moved) = Transition::between(before.map(|f| f.status), after.map(|f| f.status)) else {
            continue;
        };
        t.list_mut(moved).push(finding_ref(before, after));
        for &b in &new_at[j0..j] {
            marks[b as usize] = Some(moved);
        }
    }
    for list in [
        &mut t.newly_failing,
        &mut t.resolved,
        &mut t.still_failing,
        &mut t.newly_suppressed,
    ] {
        // Most severe first; within a severity the join's (rule, ARN) order already holds.
        list.sort_by_key(|f| std::cmp::Reverse(f.severity));
    }
    (t, marks)
}

/// The findings of an evaluated scan, as [`FindingState`]s in the result's order.
pub fn finding_states(result: &ScanResult) -> Vec<FindingState> {
    let rules: Vec<Arc<str>> = result
        .rules
        .rules()
        .iter()
        .map(|r| Arc::from(r.id.as_str()))
        .collect();
    // Each resource's strings once, however many findings name it.
    type Names = (Arc<str>, Arc<str>, Arc<str>, Arc<str>);
    let mut resources: Vec<Option<Names>> = vec![None; result.resources.len()];
    let mut strings = Interner::default();
    result
        .findings
        .iter()
        .map(|f| {
            let (id, arn, account, region) = resources[f.deployment]
                .get_or_insert_with(|| {
                    let d = result.resource(f);
                    (
                        Arc::from(d.id.as_str()),
                        Arc::from(d.arn.as_str()),
                        strings.get(&d.account_id),
                        strings.get(&d.region),
                    )
                })
                .clone();
            FindingState {
                rule_id: rules[f.rule].clone(),
                severity: result.rule(f).severity,
                resource_id: id,
                resource_arn: arn,
                account_id: account,
                region,
                status: f.status,
                failed: f.failed(),
                first_seen: f.age.map(|a| a.first_seen),
            }
        })
        .collect()
}

/// The reach of an evaluated scan: its coverage and its rules.
pub fn reach_of(result: &ScanResult) -> Reach {
    Reach::new(
        &result.coverage,
        Some(result.rules.rules().iter().map(|r| r.id.as_str())),
    )
}

/// Records on each finding of `result` how it moved since `old` (`None`: it passes in both
/// runs, or did not change in a way that matters, or either run did not judge it) and returns
/// the transitions.
pub fn mark(old: &[FindingState], old_reach: &Reach, result: &mut ScanResult) -> Transitions {
    let (t, marks) = compare(old, &finding_states(result), [old_reach, &reach_of(result)]);
    for (f, moved) in result.findings.iter_mut().zip(marks) {
        f.transition = moved;
    }
    t
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The comparison as maps keyed by (rule, ARN) state it: what the join must equal.
    fn by_maps(old: &[FindingState], new: &[FindingState]) -> (Transitions, Vec<Option<Transition>>) {
        let by = |side: &[FindingState]| -> BTreeMap<(String, String), FindingState> {
            side.iter()
                .map(|f| ((f.rule_id.to_string(), f.resource_arn.to_string()), f.clone()))
                .collect()
        };
        let (old_by, new_by) = (by(old), by(new));
        let mut keys: Vec<_> = old_by.keys().chain(new_by.keys()).cloned().collect();
        keys.sort();
        keys.dedup();
        let mut t = Transitions::default();
        let mut moved = BTreeMap::new();
        for k in keys {
            let (before, after) = (old_by.get(&k), new_by.get(&k));
            let Some(m) = Transition::between(before.map(|f| f.status), after.map(|f| f.status)) else {
                continue;
            };
            t.list_mut(m).push(finding_ref(before, after));
            moved.insert(k, m);
        }
        for list in [
            &mut t.newly_failing,
            &mut t.resolved,
            &mut t.still_failing,
            &mut t.newly_suppressed,
        ] {
            list.sort_by(|a, b| {
                (std::cmp::Reverse(a.severity), &a.rule_id, &a.resource_arn).cmp(&(
                    std::cmp::Reverse(b.severity),
                    &b.rule_id,
                    &b.resource_arn,
                ))
            });
        }
        let marks = new
            .iter()
            .map(|f| {
                moved
                    .get(&(f.rule_id.to_string(), f.resource_arn.to_string()))
                    .copied()
            })
            .collect();
        (t, marks)
    }

    fn state(rule: u8, arn: u8, severity: u8, status: u8) -> FindingState {
        const SEVERITIES: [Severity; 5] = [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ];
        FindingState {
            rule_id: format!("rule-{rule}").into(),
            severity: SEVERITIES[severity as usize % SEVERITIES.len()],
            resource_id: format!("id-{arn}").into(),
            resource_arn: format!("arn:{arn}").into(),
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
            status: Status::ALL[status as usize % Status::ALL.len()],
            failed: false,
            first_seen: None,
        }
    }

    fn side() -> impl Strategy<Value = Vec<FindingState>> {
        // Few rules and resources, so the sides share pairs and repeat some.
        prop::collection::vec((0..4u8, 0..6u8, any::<u8>(), any::<u8>()), 0..40)
            .prop_map(|v| v.into_iter().map(|(r, a, s, st)| state(r, a, s, st)).collect())
    }

    proptest! {
        #[test]
        fn the_join_equals_the_maps(old in side(), new in side()) {
            let all = Reach::default();
            prop_assert_eq!(compare(&old, &new, [&all, &all]), by_maps(&old, &new));
        }
    }

    #[test]
    fn reach_is_what_a_result_read_and_ran() {
        use crate::inventory::CoverageStatus;
        let entry = CoverageEntry::of;
        let coverage = [
            entry("111111111111", "us-east-1", CoverageStatus::Read),
            entry("111111111111", "eu-west-1", CoverageStatus::Failed),
            entry("222222222222", "us-east-1", CoverageStatus::Read),
            entry("222222222222", "global", CoverageStatus::Failed),
        ];
        let reach = Reach::new(&coverage, Some(["multi-az"]));
        assert!(reach.judged("multi-az", "111111111111", "us-east-1"));
        // Another pack's rule, a unit with a gap, an account whose role could not be assumed, a
        // unit it did not target.
        assert!(!reach.judged("no-public-ingress", "111111111111", "us-east-1"));
        assert!(!reach.judged("multi-az", "111111111111", "eu-west-1"));
        assert!(!reach.judged("multi-az", "222222222222", "us-east-1"));
        assert!(!reach.judged("multi-az", "111111111111", "ap-south-1"));
        // Nothing recorded: everything counts as judged.
        let unknown = Reach::new(&[], None::<[&str; 0]>);
        assert!(unknown.judged("anything", "333333333333", "us-west-2"));
    }

    #[test]
    fn a_unit_one_side_did_not_read_moves_nothing() {
        let mut gap = state(1, 1, 3, 0);
        gap.region = "eu-west-1".into();
        let old = [state(1, 2, 3, 0), gap];
        // Both gone tonight; only the one whose unit was read is resolved.
        let read = Reach::new(
            &[CoverageEntry::of(
                "111111111111",
                "us-east-1",
                crate::inventory::CoverageStatus::Read,
            )],
            None::<[&str; 0]>,
        );
        let (t, _) = compare(&old, &[], [&Reach::default(), &read]);
        let names: Vec<&str> = t.resolved.iter().map(|f| &*f.resource_arn).collect();
        assert_eq!(names, ["arn:2"]);
    }

    #[test]
    fn each_transition_and_the_finding_it_marks() {
        let old = [
            state(1, 1, 3, 0),
            state(1, 2, 3, 0),
            state(2, 1, 0, 1),
            state(3, 1, 4, 0),
        ];
        // Fails now only; still fails; suppressed now; gone (resolved); a new pass (nothing).
        let new = [
            state(2, 1, 0, 0),
            state(1, 1, 3, 5),
            state(1, 2, 3, 4),
            state(4, 4, 1, 1),
        ];
        let all = Reach::default();
        let (t, marks) = compare(&old, &new, [&all, &all]);
        let names = |l: &[FindingRef]| -> Vec<String> {
            l.iter()
                .map(|f| format!("{} {}", f.rule_id, f.resource_arn))
                .collect()
        };
        assert_eq!(names(&t.newly_failing), ["rule-2 arn:1"]);
        assert_eq!(names(&t.still_failing), ["rule-1 arn:1"]);
        assert_eq!(names(&t.newly_suppressed), ["rule-1 arn:2"]);
        assert_eq!(names(&t.resolved), ["rule-3 arn:1"]);
        assert_eq!(t.resolved[0].new_status, None);
        assert_eq!(
            marks,
            [
                Some(Transition::NewlyFailing),
                Some(Transition::StillFailing),
                Some(Transition::NewlySuppressed),
                None
            ]
        );
    }
}
