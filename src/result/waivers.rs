//! What a scan waived, as its result records it: each suppression with what became of it, the
//! baseline's effect, and the warnings about ignored suppression tags. `crate::suppress` decides
//! these; the result carries them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::text::excerpt;

/// A suppression as the result records it: where it was declared and what it matches, as
/// written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuppressionEntry {
    /// `file:line` of a suppressions file, or `tag ecaudit:suppress on ARN`.
    pub source: String,
    /// Rule id or glob.
    pub rule: String,
    /// ARN, id, or a glob matched against either.
    pub resource: String,
    pub account: Option<String>,
    pub region: Option<String>,
    /// The organizational unit path (or glob) the account must be in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ou: Option<String>,
    /// Tags that must be present, with the value (or glob) each must match, in file order.
    #[serde(with = "ordered_map")]
    pub tags: Vec<(String, String)>,
    pub reason: String,
    /// The last day the suppression holds (UTC); from the next day on it is expired.
    pub expires: Option<NaiveDate>,
    pub owner: Option<String>,
    pub ticket: Option<String>,
}

/// A list of pairs written as a JSON object, keeping its order.
mod ordered_map {
    use serde::de::{MapAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Vec<(String, String)>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(pairs)
            }
        }
        d.deserialize_map(Pairs)
    }
}

/// What became of a suppression in this scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// It suppressed at least one finding.
    Active,
    /// Its expiry date has passed: it suppresses nothing any more.
    Expired,
    /// It matched no failing or undecided finding: it can be removed.
    Stale,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuppressionState {
    #[serde(flatten)]
    pub entry: SuppressionEntry,
    pub state: EntryState,
    /// Failing or undecided findings it matches (it suppresses those no earlier entry did; an
    /// expired entry suppresses none).
    pub matched: usize,
}

/// What the baseline did in this scan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BaselineState {
    /// The baseline compared against (`None`: only `--update-baseline`).
    pub file: Option<String>,
    /// Entries in that file.
    pub entries: usize,
    /// Failing findings it marked `baselined`.
    pub matched: usize,
    /// Entries whose finding no longer fails (it passes, or its deployment is gone from a
    /// region the scan read completely): they can be removed from the file.
    pub resolved: Vec<BaselineEntry>,
    /// Entries this scan could not check: the finding was undecided, or its rule, account or
    /// region was not (completely) scanned. `--update-baseline` keeps them.
    pub unverified: Vec<BaselineEntry>,
    /// The file `--update-baseline` wrote, and how many entries.
    pub updated: Option<String>,
    pub written: usize,
}

/// Everything waived in a scan, for the reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Waivers {
    /// File entries in file order, then tag suppressions by resource.
    pub suppressions: Vec<SuppressionState>,
    pub baseline: Option<BaselineState>,
    /// Tag suppressions that were ignored (tags off, a rule above `tags_max_severity` or not in
    /// `tags_rules`, no reason, no such rule), and why.
    pub warnings: Vec<String>,
}

/// One accepted finding of a baseline. Only the fingerprint decides; rule id and ARN are there
/// for people.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub rule_id: String,
    pub resource_arn: String,
    pub fingerprint: String,
}

impl Waivers {
    /// One line per expired or stale suppression, resolved baseline entry and ignored tag:
    /// what a reader should tidy.
    pub fn notices(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.suppressions {
            let e = &s.entry;
            let who = describe(e);
            match s.state {
                EntryState::Expired => out.push(format!(
                    "{}: suppression of {who} has expired (it held through {}) and no longer suppresses ({} finding(s) affected)",
                    e.source,
                    e.expires.map(|d| d.to_string()).unwrap_or_default(),
                    s.matched
                )),
                EntryState::Stale => out.push(format!(
                    "{}: suppression of {who} is stale: it matched no failing finding",
                    e.source
                )),
                EntryState::Active => {}
            }
        }
        out.extend(self.warnings.iter().cloned());
        if let Some(b) = &self.baseline
            && !b.resolved.is_empty()
        {
            out.push(format!(
                "{}: {} baseline entr{} no longer fail{} and can be removed",
                b.file.as_deref().unwrap_or("baseline"),
                b.resolved.len(),
                if b.resolved.len() == 1 { "y" } else { "ies" },
                if b.resolved.len() == 1 { "s" } else { "" },
            ));
        }
        out
    }
}

/// An entry as a notice names it; each value quoted in part only (they come from files).
fn describe(e: &SuppressionEntry) -> String {
    let mut s = format!("`{}` on `{}`", excerpt(&e.rule), excerpt(&e.resource));
    if let Some(owner) = &e.owner {
        s.push_str(&format!(" (owner {}", excerpt(owner)));
        if let Some(t) = &e.ticket {
            s.push_str(&format!(", ticket {}", excerpt(t)));
        }
        s.push(')');
    } else if let Some(t) = &e.ticket {
        s.push_str(&format!(" (ticket {})", excerpt(t)));
    }
    s
}
