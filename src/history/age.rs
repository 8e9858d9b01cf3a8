//! How long each failing finding has failed: walked back through the earlier runs of a
//! history, newest first, until every finding's streak is known.
//!
//! A finding's `first_seen` is the earliest run in which it failed, failing in every run since
//! that judged it. A run that did not judge it (its unit unread, another target or shard, its
//! rule not in that rule pack, or the finding undecided) neither extends nor breaks the streak;
//! a run that passed it, or read its unit and found no such finding, ends it. Each recorded
//! result carries its findings' `first_seen`, so the walk stops at the first earlier run that
//! failed the finding and recorded when it started: one night read, most nights, and ages
//! survive pruning of older runs.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::drift::SavedStates;
use crate::result::sla::Sla;
use crate::result::{Age, ScanResult, Status};

/// One failing finding of this run, as far as the walk has gone.
struct Streak {
    account_id: Arc<str>,
    region: Arc<str>,
    first_seen: DateTime<Utc>,
    /// The streak's start is known: a run broke it, or recorded when it began.
    settled: bool,
    /// Its findings in this run (one, unless the run names the pair twice).
    findings: Vec<usize>,
}

/// The walk over earlier runs for the failing findings of one run.
pub struct Walk {
    /// By (rule id, resource ARN).
    open: HashMap<(Arc<str>, Arc<str>), Streak>,
    unsettled: usize,
}

impl Walk {
    /// The failing findings of `result` (waived failures included: a suppressed finding keeps
    /// its age), each first seen in this run until an earlier run says otherwise.
    pub fn new(result: &ScanResult) -> Walk {
        let mut open: HashMap<(Arc<str>, Arc<str>), Streak> = HashMap::new();
        for (i, f) in result.findings.iter().enumerate() {
            if !f.failed() {
                continue;
            }
            let (rule, d) = (result.rule(f), result.resource(f));
            open.entry((Arc::from(rule.id.as_str()), Arc::from(d.arn.as_str())))
                .or_insert_with(|| Streak {
                    account_id: Arc::from(d.account_id.as_str()),
                    region: Arc::from(d.region.as_str()),
                    first_seen: result.evaluated_at,
                    settled: false,
                    findings: Vec::new(),
                })
                .findings
                .push(i);
        }
        let unsettled = open.len();
        Walk { open, unsettled }
    }

    /// Whether every streak's start is known: no earlier run needs reading.
    pub fn done(&self) -> bool {
        self.unsettled == 0
    }

    /// Takes in the next earlier run (runs come newest first).
    pub fn step(&mut self, run: &SavedStates) {
        let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
        for (i, s) in run.states.iter().enumerate() {
            seen.insert(s.key(), i);
        }
        for ((rule, arn), streak) in self.open.iter_mut().filter(|(_, s)| !s.settled) {
            if !run.reach.judged(rule, &streak.account_id, &streak.region) {
                continue;
            }
            let state = seen.get(&(&**rule, &**arn)).map(|&i| &run.states[i]);
            match state {
                Some(s) if s.failed => match s.first_seen {
                    Some(at) => {
                        streak.first_seen = at.min(run.evaluated_at);
                        streak.settled = true;
                    }
                    None => streak.first_seen = run.evaluated_at,
                },
                // Undecided that night: not a pass.
                Some(s) if matches!(s.status, Status::Error | Status::Suppressed) => {}
                _ => streak.settled = true,
            }
            if streak.settled {
                self.unsettled -= 1;
            }
        }
    }

    /// Sets each failing finding's age as of the run's evaluation, with its severity's
    /// deadline from `sla`.
    pub fn finish(self, result: &mut ScanResult, sla: Option<&Sla>) {
        let now = result.evaluated_at;
        for streak in self.open.into_values() {
            for i in streak.findings {
                let severity = result.rule(&result.findings[i]).severity;
                let deadline = sla.and_then(|s| s.deadline(severity)).map(|d| d.duration());
                result.findings[i].age = Some(Age::at(streak.first_seen, now, deadline));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{finding_states, reach_of};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// The demo fleet evaluated at `now`.
    fn tonight(now: &str) -> ScanResult {
        let inventory =
            crate::inventory::parse_inventory(include_str!("../../examples/fleet.json"), "fleet.json")
                .unwrap();
        crate::evaluate::evaluate(&inventory, crate::rules::RuleSet::load(&[]).unwrap(), at(now))
    }

    /// An earlier night of the same fleet, every finding given `status`.
    fn night(result: &ScanResult, when: &str, status: Option<Status>) -> SavedStates {
        let mut states = finding_states(result);
        for s in &mut states {
            if let Some(status) = status {
                s.status = status;
                s.failed = status == Status::Fail;
            }
        }
        SavedStates {
            evaluated_at: at(when),
            reach: reach_of(result),
            states,
        }
    }

    #[test]
    fn undecided_and_unread_nights_carry_the_streak_and_a_pass_ends_it() {
        let mut result = tonight("2026-11-10T03:00:00Z");
        let failing = result.findings.iter().filter(|f| f.failed()).count();
        assert!(failing > 10);
        let mut walk = Walk::new(&result);
        walk.step(&night(&result, "2026-11-09T03:00:00Z", None));
        // Undecided everywhere, then a night that read nothing of the fleet: neither ends it.
        walk.step(&night(&result, "2026-11-08T03:00:00Z", Some(Status::Error)));
        let mut unread = night(&result, "2026-11-07T03:00:00Z", Some(Status::Pass));
        unread.reach = crate::drift::Reach::new(
            &[crate::inventory::CoverageEntry::of(
                "999999999999",
                "us-east-1",
                crate::inventory::CoverageStatus::Read,
            )],
            None::<[&str; 0]>,
        );
        walk.step(&unread);
        assert!(!walk.done());
        walk.step(&night(&result, "2026-11-06T03:00:00Z", None));
        walk.step(&night(&result, "2026-11-05T03:00:00Z", Some(Status::Pass)));
        assert!(walk.done(), "a pass settles every streak");
        let sla: Sla = "high=3d".parse().unwrap();
        walk.finish(&mut result, Some(&sla));
        for f in &result.findings {
            let age = f.age;
            if !f.failed() {
                assert_eq!(age, None);
                continue;
            }
            let age = age.unwrap();
            assert_eq!((age.first_seen, age.days), (at("2026-11-06T03:00:00Z"), 4));
            let high = result.rule(f).severity == crate::rules::Severity::High;
            assert_eq!(age.overdue, high, "{}", result.rule(f).id);
            assert_eq!(age.due.is_some(), high);
        }
    }

    #[test]
    fn a_recorded_first_seen_ends_the_walk() {
        let mut result = tonight("2026-11-10T03:00:00Z");
        let mut walk = Walk::new(&result);
        let mut recorded = night(&result, "2026-11-09T03:00:00Z", None);
        for s in &mut recorded.states {
            s.first_seen = Some(at("2026-01-01T00:00:00Z"));
        }
        walk.step(&recorded);
        assert!(walk.done());
        walk.finish(&mut result, None);
        let f = result.findings.iter().find(|f| f.failed()).unwrap();
        assert_eq!(f.age.unwrap().first_seen, at("2026-01-01T00:00:00Z"));
        assert_eq!((f.age.unwrap().due, f.age.unwrap().overdue), (None, false));
    }
}
