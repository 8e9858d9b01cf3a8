//! Remediation deadlines (`--sla critical=7d,high=30d`): how long a finding of each severity
//! may fail before it is overdue, and the spans of time they (and `report --since`) are
//! written in.

use std::fmt;
use std::str::FromStr;

use chrono::Duration;

use crate::rules::Severity;

/// A span of time written as a whole number and a unit: `90d`, `2w`, `12h`, `30m`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub seconds: i64,
    /// As written.
    pub label: String,
}

impl Span {
    pub fn duration(&self) -> Duration {
        Duration::seconds(self.seconds)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// At most 100 years: enough for any deadline, far from overflowing a date.
const MAX_SPAN: i64 = 100 * 366 * 86_400;

impl FromStr for Span {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = || format!("`{s}` is not a span of time: expected a number and w, d, h or m, e.g. 30d");
        let scale = match s.chars().last() {
            Some('w') => 7 * 86_400,
            Some('d') => 86_400,
            Some('h') => 3_600,
            Some('m') => 60,
            _ => return Err(bad()),
        };
        let digits = &s[..s.len() - 1];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let seconds = digits
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .filter(|&n| n <= MAX_SPAN)
            .ok_or_else(|| format!("`{s}` is longer than 100 years"))?;
        Ok(Span {
            seconds,
            label: s.to_string(),
        })
    }
}

/// A deadline per severity; a severity without one is never overdue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sla {
    deadlines: [Option<Span>; 5],
}

impl Sla {
    pub fn deadline(&self, s: Severity) -> Option<&Span> {
        self.deadlines[s as usize].as_ref()
    }

    pub fn is_empty(&self) -> bool {
        self.deadlines.iter().all(Option::is_none)
    }

    /// Sets the deadline of `severity`.
    pub fn set(&mut self, severity: Severity, span: Span) {
        self.deadlines[severity as usize] = Some(span);
    }
}

impl fmt::Display for Sla {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = Severity::DESCENDING
            .iter()
            .filter_map(|&s| Some(format!("{s}={}", self.deadline(s)?)))
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl FromStr for Sla {
    type Err = String;

    /// `critical=7d,high=30d,medium=90d`: each severity at most once.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut sla = Sla::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (severity, span) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not SEVERITY=SPAN (e.g. critical=7d)"))?;
            let severity: Severity = severity.trim().parse().map_err(|e| format!("{e}"))?;
            if sla.deadline(severity).is_some() {
                return Err(format!("the deadline of {severity} is given twice"));
            }
            sla.set(severity, span.parse()?);
        }
        if sla.is_empty() {
            return Err("no deadline given: expected e.g. critical=7d,high=30d,medium=90d".into());
        }
        Ok(sla)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_deadlines_parse_and_print_as_written() {
        assert_eq!("90d".parse::<Span>().unwrap().seconds, 90 * 86_400);
        assert_eq!("2w".parse::<Span>().unwrap().seconds, 14 * 86_400);
        assert_eq!("12h".parse::<Span>().unwrap().seconds, 12 * 3_600);
        for bad in [
            "",
            "d",
            "7",
            "-7d",
            "+7d",
            "7 d",
            "7y",
            "99999999999999999d",
            "1.5d",
        ] {
            assert!(bad.parse::<Span>().is_err(), "{bad:?} accepted");
        }
        let sla: Sla = "critical=7d, high=30d,medium=90d".parse().unwrap();
        assert_eq!(sla.deadline(Severity::High).unwrap().seconds, 30 * 86_400);
        assert_eq!(sla.deadline(Severity::Low), None);
        assert_eq!(sla.to_string(), "critical=7d,high=30d,medium=90d");
        for (bad, why) in [
            ("critical", "is not SEVERITY=SPAN"),
            ("severe=7d", "unknown severity `severe`"),
            ("high=7d,high=8d", "given twice"),
            ("high=soon", "is not a span of time"),
            ("", "no deadline given"),
        ] {
            let e = bad.parse::<Sla>().unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
