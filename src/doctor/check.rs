//! One line of the checklist: a [`Check`] with its stable id, section, mark (✔ ✘ –) and
//! evidence. Every section's checks are made of these; the runbook orders them.

use serde::Serialize;

/// ✔, ✘ or –.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Pass,
    Fail,
    Skip,
}

impl Mark {
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Pass => "✔",
            Mark::Fail => "✘",
            Mark::Skip => "–",
        }
    }
}

/// The runbook's sections, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Connectivity,
    Protocol,
    Info,
    Cloudwatch,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Connectivity => "Connectivity",
            Section::Protocol => "Protocol",
            Section::Info => "INFO (CPU, memory, keyspace)",
            Section::Cloudwatch => "CloudWatch, last hour",
        }
    }
}

/// One line of the checklist.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// Stable id (`tcp-connect`, `tls-handshake`, ...); see docs/doctor.md.
    pub id: String,
    pub section: Section,
    pub mark: Mark,
    pub title: String,
    pub evidence: Vec<String>,
    /// What to do about a ✘.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
}

impl Check {
    pub(crate) fn new(id: &str, section: Section, title: String) -> Check {
        Check {
            id: id.to_string(),
            section,
            mark: Mark::Skip,
            title,
            evidence: Vec::new(),
            next_step: None,
        }
    }

    pub(crate) fn pass(mut self) -> Check {
        self.mark = Mark::Pass;
        self
    }

    pub(crate) fn fail(mut self, next_step: String) -> Check {
        self.mark = Mark::Fail;
        self.next_step = Some(next_step);
        self
    }

    /// Not checked, and why.
    pub(crate) fn skip(mut self, why: &str) -> Check {
        self.mark = Mark::Skip;
        self.evidence.push(why.to_string());
        self
    }

    pub(crate) fn skip_keeping_evidence(mut self) -> Check {
        self.mark = Mark::Skip;
        self
    }

    pub(crate) fn with(mut self, line: impl Into<String>) -> Check {
        self.evidence.push(line.into());
        self
    }
}

/// The checks `list` (id, title) of `section`, each – for the same reason.
pub(crate) fn not_checked(section: Section, list: &[(&str, &str)], why: &str) -> Vec<Check> {
    list.iter()
        .map(|(id, title)| Check::new(id, section, (*title).into()).skip(why))
        .collect()
}
