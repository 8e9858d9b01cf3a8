//! The doctor's checklist as text (✔ / ✘ / – per check, evidence under it, the next step of each
//! ✘) and as JSON.

use std::io::{self, Write};

use super::check::{Mark, Section};
use super::runbook::Diagnosis;
use crate::text::terminal as t;

pub fn render_json(d: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, d)?;
    writeln!(out)
}

pub fn render_table(d: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
    let Some(s) = &d.subject else {
        writeln!(out, "ecaudit doctor: the deployment could not be read")?;
        for gap in &d.coverage_gaps {
            let error = gap
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.code, e.message))
                .unwrap_or_default();
            writeln!(
                out,
                "  ✘ {} {} {}:{} — {}",
                t(&gap.account_id),
                t(&gap.region),
                t(&gap.service),
                t(&gap.api),
                t(&error)
            )?;
        }
        return Ok(());
    };
    writeln!(
        out,
        "ecaudit doctor: {} ({}, {} {}) in {} {}",
        t(&s.id),
        t(&s.kind.to_string()),
        t(&s.engine.to_string()),
        t(s.engine_version.as_deref().unwrap_or("?")),
        t(&s.account_id),
        t(&s.region)
    )?;
    let endpoint = match (&s.endpoint, s.port) {
        (Some(e), Some(p)) => format!("{e}:{p}"),
        (Some(e), None) => e.clone(),
        _ => "none reported".into(),
    };
    write!(out, "endpoint {}", t(&endpoint))?;
    if let Some(a) = &d.address
        && *a != endpoint
    {
        write!(out, ", connecting to {}", t(a))?;
    }
    if !d.sources.is_empty() {
        write!(out, " from {}", t(&d.sources.join(", ")))?;
    }
    writeln!(out)?;
    let mut section: Option<Section> = None;
    for c in &d.checks {
        if section != Some(c.section) {
            writeln!(out, "\n{}", c.section.title())?;
            section = Some(c.section);
        }
        writeln!(out, "  {} {}", c.mark.symbol(), t(&c.title))?;
        for e in &c.evidence {
            writeln!(out, "      {}", t(e))?;
        }
        if let Some(next) = &c.next_step {
            writeln!(out, "      → {}", t(next))?;
        }
    }
    if !d.coverage_gaps.is_empty() {
        writeln!(out, "\nNot read")?;
        for gap in &d.coverage_gaps {
            let error = gap.error.as_ref().map(|e| e.code.as_str()).unwrap_or_default();
            writeln!(
                out,
                "  {}:{} in {} ({})",
                t(&gap.service),
                t(&gap.api),
                t(&gap.region),
                t(error)
            )?;
        }
    }
    writeln!(
        out,
        "\n{} ✔  {} ✘  {} –",
        d.count(Mark::Pass),
        d.count(Mark::Fail),
        d.count(Mark::Skip)
    )
}
