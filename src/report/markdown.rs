//! Markdown: a summary fit for a pull-request comment or a ticket: the verdict, counts, the top
//! failures, coverage gaps, and what to tidy in suppressions and the baseline. Bounded in size
//! (a GitHub comment holds 65,536 characters), whatever the size of the fleet.

use std::io::{self, Write};

use super::common::{RenderOptions, cell, code};
use crate::result::ScanResult;
use crate::result::Summary;
use crate::result::document::FindingRecord;
use crate::result::summary::StatusCounts;
use crate::result::{Finding, Status};

/// Failing findings listed; the rest are counted.
const TOP: usize = 25;
/// What a GitHub comment holds; the optional details are dropped to stay below it.
pub const LIMIT: usize = 65_536;

fn counts(c: &StatusCounts) -> String {
    format!(
        "{} | {} | {} | {} | {} | {}",
        c.fail, c.pass, c.not_applicable, c.error, c.suppressed, c.baselined
    )
}

pub fn render(
    result: &ScanResult,
    summary: &Summary,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut text = Vec::new();
    let details = body(result, summary, options, &mut text)?;
    if text.len() > LIMIT {
        text.truncate(details);
        writeln!(
            text,
            "(Findings by rule left out to fit a comment; see the JSON output.)"
        )?;
    }
    out.write_all(&text)
}

/// Writes the report; returns where the optional details start.
fn body(
    result: &ScanResult,
    summary: &Summary,
    options: &RenderOptions,
    out: &mut Vec<u8>,
) -> io::Result<usize> {
    let gate = &summary.gate;
    let icon = match gate.exit_code {
        0 => "✅",
        1 => "❌",
        _ => "⚠️",
    };
    writeln!(
        out,
        "## {icon} ecaudit: {} → exit {}\n",
        cell(&gate.reason),
        gate.exit_code
    )?;
    writeln!(
        out,
        "{} deployment(s) in {} account(s) and {} region(s) · {} rule(s) · ecaudit {} · rule pack {} · evaluated as of {}\n",
        summary.deployments,
        summary.accounts,
        summary.regions,
        summary.rules,
        env!("CARGO_PKG_VERSION"),
        result.rules.pack_version(),
        result
            .evaluated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )?;

    if let Some(plan) = &result.plan {
        writeln!(
            out,
            "Plan {}: **{} introduced**, {} existing, {} fixed failing finding(s); the gate counts {}.\n",
            cell(&plan.file),
            plan.introduced,
            plan.existing,
            plan.fixed,
            match plan.gate {
                crate::result::PlanGate::Introduced => "introduced ones",
                crate::result::PlanGate::All => "every failing finding",
            }
        )?;
    }

    let gaps: Vec<_> = result.gaps().collect();
    if !gaps.is_empty() {
        writeln!(
            out,
            "> [!WARNING]\n> **Incomplete scan:** {} part(s) of the estate could not be read; findings there are unknown.\n",
            gaps.len()
        )?;
    }

    writeln!(
        out,
        "| Severity | Fail | Pass | N/A | Error | Suppressed | Baselined |"
    )?;
    writeln!(out, "|---|--:|--:|--:|--:|--:|--:|")?;
    for s in &summary.by_severity {
        writeln!(out, "| {} | {} |", s.severity, counts(&s.counts))?;
    }
    writeln!(out, "| **total** | {} |\n", counts(&summary.findings))?;

    let failing = super::common::failing_first(result, options);
    if failing.is_empty() {
        writeln!(out, "No failing findings.\n")?;
    } else {
        writeln!(out, "### Top failures\n")?;
        // How long each has failed, when the history says (`scan --history`).
        let aged = failing.iter().any(|f| f.age.is_some());
        let (age_head, age_rule) = if aged { (" Age |", "--:|") } else { ("", "") };
        writeln!(
            out,
            "| Severity | Rule | Deployment | Account / region |{age_head} Finding |"
        )?;
        writeln!(out, "|---|---|---|---|{age_rule}---|")?;
        for f in failing.iter().take(TOP) {
            let rule = result.rule(f);
            let d = result.resource(f);
            let mut text = f.message.to_string();
            for line in f.evidence.iter().take(5) {
                text.push_str("\n• ");
                text.push_str(line);
            }
            if f.evidence.len() > 5 {
                text.push_str(&format!("\n• … {} more", f.evidence.len() - 5));
            }
            let severity = if f.status == Status::Error {
                "error".to_string()
            } else {
                rule.severity.to_string()
            };
            // A plan's finding names what the plan does to it and where its block is.
            let mut deployment = cell(&d.id);
            if let Some(source) = &d.source {
                deployment.push_str(&format!(" ({})", cell(&source.to_string())));
            }
            if let Some(change) = f.change {
                deployment.push_str(&format!(" · {}", change.as_str()));
            }
            let age = match aged {
                true => format!(" {} |", super::common::age_label(f)),
                false => String::new(),
            };
            writeln!(
                out,
                "| {severity} | {} | {deployment} | {} / {} |{age} {} |",
                code(&rule.id),
                cell(&d.account_id),
                cell(&d.region),
                cell(&text)
            )?;
        }
        if failing.len() > TOP {
            writeln!(
                out,
                "\n… and {} more failing or undecided finding(s); the full list is in the JSON, SARIF or CSV output.",
                failing.len() - TOP
            )?;
        }
        writeln!(out)?;
    }

    if !gaps.is_empty() {
        writeln!(out, "### Coverage gaps\n")?;
        writeln!(out, "| Account | Region | API | Error |")?;
        writeln!(out, "|---|---|---|---|")?;
        for g in gaps.iter().take(TOP) {
            let error = g
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.code, e.message))
                .unwrap_or_default();
            writeln!(
                out,
                "| {} | {} | {}:{} | {} |",
                cell(&g.account_id),
                cell(&g.region),
                cell(&g.service),
                cell(&g.api),
                cell(&error)
            )?;
        }
        if gaps.len() > TOP {
            writeln!(out, "\n… and {} more coverage gap(s).", gaps.len() - TOP)?;
        }
        writeln!(out)?;
    }

    let notices = result.waivers.notices();
    if !notices.is_empty() {
        writeln!(out, "### Suppressions and baseline to tidy\n")?;
        for n in notices.iter().take(TOP) {
            writeln!(out, "- {}", cell(n))?;
        }
        if notices.len() > TOP {
            writeln!(out, "- … and {} more", notices.len() - TOP)?;
        }
        writeln!(out)?;
    }

    let suppressed: Vec<&Finding> = super::common::shown(result, options)
        .filter(|f| f.status == Status::Suppressed)
        .collect();
    if !suppressed.is_empty() {
        writeln!(out, "### Suppressed\n")?;
        writeln!(out, "| Rule | Deployment | Reason | Declared in |")?;
        writeln!(out, "|---|---|---|---|")?;
        for f in suppressed.iter().take(TOP) {
            let r = FindingRecord::new(result, f);
            let (reason, source) = r
                .waiver
                .as_ref()
                .map(|w| {
                    let mut reason = w.reason.to_string();
                    if let Some(owner) = &w.owner {
                        reason.push_str(&format!(" (owner {owner})"));
                    }
                    if let Some(expires) = w.expires {
                        reason.push_str(&format!(" (until {expires})"));
                    }
                    (reason, w.source.clone())
                })
                .unwrap_or_default();
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                code(&r.rule_id),
                cell(&r.resource_id),
                cell(&reason),
                cell(&source)
            )?;
        }
        if suppressed.len() > TOP {
            writeln!(
                out,
                "\n… and {} more suppressed finding(s).",
                suppressed.len() - TOP
            )?;
        }
        writeln!(out)?;
    }

    if let Some(drift) = &result.drift {
        super::drift::markdown_section(drift, out)?;
    }

    let details = out.len();
    writeln!(out, "<details><summary>Findings by rule</summary>\n")?;
    writeln!(
        out,
        "| Rule | Severity | Fail | Pass | N/A | Error | Suppressed | Baselined |"
    )?;
    writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|")?;
    for r in &summary.by_rule {
        writeln!(
            out,
            "| {} | {} | {} |",
            code(&r.rule_id),
            r.severity,
            counts(&r.counts)
        )?;
    }
    writeln!(out, "\n</details>")?;
    Ok(details)
}
