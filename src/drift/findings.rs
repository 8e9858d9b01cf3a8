//! How findings moved between two results: newly failing, resolved, still failing, newly
//! suppressed. Findings are matched by rule and resource ARN.
//!
//! A nightly scan of a large fleet compares tens of thousands of findings a night, so both
//! sides are joined in (rule, ARN) order rather than through maps of copied keys, and the
//! strings a finding names are shared: a deployment's id and ARN are held once however many of
//! its findings there are.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;

use crate::findings::{Severity, Status};

/// One finding as a drift report names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FindingRef {
    pub rule_id: Arc<str>,
    pub severity: Severity,
    pub resource_id: Arc<str>,
    pub resource_arn: Arc<str>,
    /// Status in the older result (`null`: no such finding then).
    pub old_status: Option<Status>,
    /// Status in the newer result (`null`: no such finding now).
    pub new_status: Option<Status>,
}

impl FindingRef {
    /// The finding of a (rule, resource) pair in the older and newer result, named as the newer
    /// one names it when there is one.
    fn between(before: Option<&FindingState>, after: Option<&FindingState>) -> FindingRef {
        let any = after.or(before).expect("a finding on one side");
        FindingRef {
            rule_id: any.rule_id.clone(),
            severity: any.severity,
            resource_id: any.resource_id.clone(),
            resource_arn: any.resource_arn.clone(),
            old_status: before.map(|f| f.status),
            new_status: after.map(|f| f.status),
        }
    }
}

/// A finding's state in one result, for comparing results.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingState {
    pub rule_id: Arc<str>,
    pub severity: Severity,
    pub resource_id: Arc<str>,
    pub resource_arn: Arc<str>,
    pub status: Status,
}

impl FindingState {
    fn key(&self) -> (&str, &str) {
        (&self.rule_id, &self.resource_arn)
    }
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

/// How one finding moved since the previous run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    NewlyFailing,
    StillFailing,
    NewlySuppressed,
    Resolved,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::NewlyFailing => "newly_failing",
            Transition::StillFailing => "still_failing",
            Transition::NewlySuppressed => "newly_suppressed",
            Transition::Resolved => "resolved",
        }
    }

    /// How a finding moved from status `was` to status `is` (`None` on a side: no such
    /// finding there; `None` returned: nothing that matters moved).
    fn between(was: Option<Status>, is: Option<Status>) -> Option<Transition> {
        let failing = |s: Option<Status>| matches!(s, Some(Status::Fail | Status::Baselined));
        if failing(is) && failing(was) {
            Some(Transition::StillFailing)
        } else if failing(is) {
            Some(Transition::NewlyFailing)
        } else if is == Some(Status::Suppressed) && was != Some(Status::Suppressed) {
            Some(Transition::NewlySuppressed)
        } else if failing(was) && is != Some(Status::Suppressed) && is != Some(Status::Error) {
            Some(Transition::Resolved)
        } else {
            None
        }
    }
}

/// How findings moved between two results.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transitions {
    /// Failing now, not before (passing, not applicable, undecided, suppressed, or absent).
    pub newly_failing: Vec<FindingRef>,
    /// Failing before, passing or gone now (not merely suppressed).
    pub resolved: Vec<FindingRef>,
    /// Failing in both.
    pub still_failing: Vec<FindingRef>,
    /// Suppressed now, not before.
    pub newly_suppressed: Vec<FindingRef>,
}

impl Transitions {
    /// Whether anything moved (findings failing in both are not drift).
    pub fn is_empty(&self) -> bool {
        self.newly_failing.is_empty() && self.resolved.is_empty() && self.newly_suppressed.is_empty()
    }

    fn list(&mut self, t: Transition) -> &mut Vec<FindingRef> {
        match t {
            Transition::NewlyFailing => &mut self.newly_failing,
            Transition::StillFailing => &mut self.still_failing,
            Transition::NewlySuppressed => &mut self.newly_suppressed,
            Transition::Resolved => &mut self.resolved,
        }
    }
}

/// Compares findings by rule and resource.
pub fn transitions(old: &[FindingState], new: &[FindingState]) -> Transitions {
    compare(old, new).0
}

/// Compares findings by rule and resource, and says how each finding of `new` (in its order)
/// moved. Where one side names a (rule, resource) pair more than once, its last finding
/// stands for it.
pub fn compare(old: &[FindingState], new: &[FindingState]) -> (Transitions, Vec<Option<Transition>>) {
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
        let Some(moved) = Transition::between(before.map(|f| f.status), after.map(|f| f.status)) else {
            continue;
        };
        t.list(moved).push(FindingRef::between(before, after));
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
pub fn finding_states(result: &crate::evaluate::ScanResult) -> Vec<FindingState> {
    let rules: Vec<Arc<str>> = result
        .rules
        .rules()
        .iter()
        .map(|r| Arc::from(r.id.as_str()))
        .collect();
    // Each resource's id and ARN once, however many findings name it.
    let mut resources: Vec<Option<(Arc<str>, Arc<str>)>> = vec![None; result.resources.len()];
    result
        .findings
        .iter()
        .map(|f| {
            let (id, arn) = resources[f.deployment]
                .get_or_insert_with(|| {
                    let d = result.resource(f);
                    (Arc::from(d.id.as_str()), Arc::from(d.arn.as_str()))
                })
                .clone();
            FindingState {
                rule_id: rules[f.rule].clone(),
                severity: result.rule(f).severity,
                resource_id: id,
                resource_arn: arn,
                status: f.status,
            }
        })
        .collect()
}

/// Records on each finding of `result` how it moved since `old` (`None`: it passes in both
/// runs, or did not change in a way that matters) and returns the transitions.
pub fn mark(old: &[FindingState], result: &mut crate::evaluate::ScanResult) -> Transitions {
    let (t, marks) = compare(old, &finding_states(result));
    for (f, moved) in result.findings.iter_mut().zip(marks) {
        f.transition = moved;
    }
    t
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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
            t.list(m).push(FindingRef::between(before, after));
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
            status: Status::ALL[status as usize % Status::ALL.len()],
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
            prop_assert_eq!(compare(&old, &new), by_maps(&old, &new));
        }
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
        let (t, marks) = compare(&old, &new);
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
