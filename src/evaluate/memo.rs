//! Memoised rule outcomes. A rule's outcome is a pure function of the facts it reads (the paths
//! the rule-file validation found), its params and the evaluation instant; deployments of a fleet
//! share most configuration facts, so equal facts are looked up instead of evaluated again.
//! A rule whose facts are all distinct (ids, names) stops being memoised after a trial.

use std::collections::HashMap;

use crate::inventory::Deployment;
use crate::rules::check::KeyPath;
use crate::rules::view::write_key;

/// Lookups before deciding whether a table is worth keeping.
const TRIAL: u32 = 512;
/// A table that hits less than one lookup in four after its trial is turned off.
const MIN_HIT_RATE_DENOMINATOR: u32 = 4;
/// Entries per table; beyond it, new outcomes are not stored.
const CAPACITY: usize = 8192;

pub(super) struct Table<V> {
    map: HashMap<Vec<u8>, V>,
    lookups: u32,
    hits: u32,
    off: bool,
}

impl<V: Clone> Table<V> {
    fn new() -> Self {
        Table {
            map: HashMap::new(),
            lookups: 0,
            hits: 0,
            off: false,
        }
    }

    /// The stored outcome for the facts `inputs` read on `d`, or the key to store one under.
    pub(super) fn lookup(
        &mut self,
        inputs: Option<&[KeyPath]>,
        d: &Deployment,
    ) -> Result<V, Option<Vec<u8>>> {
        let Some(inputs) = inputs.filter(|_| !self.off) else {
            return Err(None);
        };
        let mut key = Vec::with_capacity(64);
        for path in inputs {
            if !write_key(d, path, &mut key) {
                return Err(None);
            }
        }
        self.lookups += 1;
        if let Some(v) = self.map.get(&key) {
            self.hits += 1;
            return Ok(v.clone());
        }
        if self.lookups >= TRIAL && self.hits * MIN_HIT_RATE_DENOMINATOR < self.lookups {
            self.off = true;
            self.map = HashMap::new();
            return Err(None);
        }
        Err(Some(key))
    }

    pub(super) fn store(&mut self, key: Option<Vec<u8>>, value: &V) {
        if let Some(key) = key
            && !self.off
            && self.map.len() < CAPACITY
        {
            self.map.insert(key, value.clone());
        }
    }
}

/// The tables of one rule: its decision, the evidence of a failing decision, and its notes.
pub(super) struct RuleMemo<D, E> {
    pub decision: Table<D>,
    pub evidence: Table<E>,
    pub notes: Table<E>,
}

impl<D: Clone, E: Clone> RuleMemo<D, E> {
    pub(super) fn new() -> Self {
        RuleMemo {
            decision: Table::new(),
            evidence: Table::new(),
            notes: Table::new(),
        }
    }
}
