//! Renders a drift report (`ecaudit diff`): as a table for people, JSON for machines, Markdown
//! for pull requests and tickets.

use std::io::{self, Write};

use comfy_table::Cell;

use super::common::{cell, code};
use crate::drift::terraform::StateDrift;
use crate::result::{DriftReport, FindingRef};
use crate::text;

fn status(s: Option<crate::result::Status>) -> &'static str {
    s.map_or("absent", |s| s.as_str())
}

fn value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "(none)".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every change of the report as `(deployment, what, old, new)` rows.
pub(crate) fn rows(report: &DriftReport) -> Vec<(String, String, String, String)> {
    let mut rows = Vec::new();
    for d in &report.deployments.added {
        rows.push((
            d.id.clone(),
            "deployment added".into(),
            String::new(),
            d.arn.clone(),
        ));
    }
    for d in &report.deployments.removed {
        rows.push((
            d.id.clone(),
            "deployment removed".into(),
            d.arn.clone(),
            String::new(),
        ));
    }
    for c in &report.deployments.changed {
        let id = &c.deployment.id;
        let drift = &c.drift;
        for ch in &drift.changes {
            rows.push((id.clone(), ch.path.clone(), value(&ch.old), value(&ch.new)));
        }
        for (label, list, added) in [
            ("ingress added", &drift.ingress_added, true),
            ("ingress removed", &drift.ingress_removed, false),
            ("alarm added", &drift.alarms_added, true),
            ("alarm removed", &drift.alarms_removed, false),
            ("alarm actions disabled", &drift.alarms_disabled, true),
        ] {
            for item in list {
                let (old, new) = if added {
                    (String::new(), item.clone())
                } else {
                    (item.clone(), String::new())
                };
                rows.push((id.clone(), label.into(), old, new));
            }
        }
    }
    rows
}

fn finding_groups(report: &DriftReport) -> [(&'static str, &Vec<FindingRef>); 3] {
    let f = &report.findings;
    [
        ("Newly failing", &f.newly_failing),
        ("Resolved", &f.resolved),
        ("Newly suppressed", &f.newly_suppressed),
    ]
}

pub fn table(report: &DriftReport, color: bool, width: Option<u16>, out: &mut dyn Write) -> io::Result<()> {
    table_body(report, color, width, out)?;
    writeln!(
        out,
        "{} → exit {}",
        if report.drifted { "Drift found" } else { "No drift" },
        u8::from(report.drifted)
    )
}

/// The tables, what could not be compared, and how many findings still fail.
fn table_body(report: &DriftReport, color: bool, width: Option<u16>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{} ({}, {} deployment(s)) → {} ({}, {} deployment(s))",
        text::terminal(&report.old.file),
        text::terminal(&report.old.document),
        report.old.deployments,
        text::terminal(&report.new.file),
        text::terminal(&report.new.document),
        report.new.deployments
    )?;
    let rows = rows(report);
    if rows.is_empty() {
        writeln!(out, "\nNo deployment drifted.")?;
    } else {
        let mut t = super::common::styled_table(color, width);
        t.set_header(vec!["Deployment", "What", "Before", "Now"]);
        for (d, what, old, new) in rows {
            t.add_row([d, what, old, new].map(|s| Cell::new(text::cell(&s))));
        }
        writeln!(out, "\nDeployments\n{t}")?;
    }
    for (label, list) in finding_groups(report) {
        if list.is_empty() {
            continue;
        }
        let mut t = super::common::styled_table(color, width);
        t.set_header(vec!["Severity", "Rule", "Deployment", "Before", "Now"]);
        for f in list {
            t.add_row(
                [
                    f.severity.as_str(),
                    &f.rule_id,
                    &f.resource_id,
                    status(f.old_status),
                    status(f.new_status),
                ]
                .map(text::cell),
            );
        }
        writeln!(out, "\n{label} findings\n{t}")?;
    }
    if !report.deployments.unread.is_empty() {
        writeln!(
            out,
            "\nNot compared (a coverage gap on either side): {}",
            report
                .deployments
                .unread
                .iter()
                .map(|id| text::terminal(id))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    writeln!(out, "\n{} still failing.", report.findings.still_failing.len())
}

pub fn json(report: &DriftReport, pretty: bool, out: &mut dyn Write) -> io::Result<()> {
    super::common::write_json(report, pretty, out)
}

/// Rows listed per section; the rest are counted.
const TOP: usize = 50;

pub fn markdown(report: &DriftReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "## {} ecaudit drift: {} → {}\n",
        if report.drifted { "⚠️" } else { "✅" },
        cell(&report.old.file),
        cell(&report.new.file)
    )?;
    markdown_body(report, "###", out)
}

/// The drift of a nightly run, as a section of the scan's Markdown report.
pub fn markdown_section(report: &DriftReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "### Drift since the previous run ({})\n",
        cell(&report.old.file)
    )?;
    markdown_body(report, "####", out)
}

/// The drift of a nightly run, as a section of the scan's table report.
pub fn table_section(
    report: &DriftReport,
    color: bool,
    width: Option<u16>,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "\nDrift since the previous run")?;
    table_body(report, color, width, out)
}

fn markdown_body(report: &DriftReport, heading: &str, out: &mut dyn Write) -> io::Result<()> {
    let d = &report.deployments;
    let f = &report.findings;
    writeln!(
        out,
        "{} deployment(s) added, {} removed, {} changed · {} finding(s) newly failing, {} resolved, {} newly suppressed, {} still failing\n",
        d.added.len(),
        d.removed.len(),
        d.changed.len(),
        f.newly_failing.len(),
        f.resolved.len(),
        f.newly_suppressed.len(),
        f.still_failing.len()
    )?;
    let rows = rows(report);
    if !rows.is_empty() {
        writeln!(out, "| Deployment | What | Before | Now |\n|---|---|---|---|")?;
        for (d, what, old, new) in rows.iter().take(TOP) {
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(d),
                cell(what),
                cell(old),
                cell(new)
            )?;
        }
        if rows.len() > TOP {
            writeln!(out, "\n… and {} more change(s).", rows.len() - TOP)?;
        }
        writeln!(out)?;
    }
    for (label, list) in finding_groups(report) {
        if list.is_empty() {
            continue;
        }
        writeln!(
            out,
            "{heading} {label}\n\n| Severity | Rule | Deployment | Before | Now |\n|---|---|---|---|---|"
        )?;
        for x in list.iter().take(TOP) {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                x.severity,
                code(&x.rule_id),
                cell(&x.resource_id),
                status(x.old_status),
                status(x.new_status)
            )?;
        }
        if list.len() > TOP {
            writeln!(out, "\n… and {} more.", list.len() - TOP)?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// `(address, resource, what, declared, live)` rows of a drift against Terraform state.
fn state_rows(d: &StateDrift) -> Vec<[String; 5]> {
    let mut rows = Vec::new();
    for a in &d.differ {
        rows.push([
            a.address.clone(),
            a.resource.clone(),
            format!("{} ({})", a.attribute, a.fact),
            value(&a.declared),
            value(&a.live),
        ]);
    }
    for (list, what, live) in [
        (&d.missing, "missing live", "(none)"),
        (
            &d.unverified,
            "not verified: its account and region could not be read",
            "(unknown)",
        ),
    ] {
        for m in list {
            rows.push([
                m.address.clone(),
                m.resource.clone(),
                what.into(),
                "declared".into(),
                live.into(),
            ]);
        }
    }
    for u in &d.unmanaged {
        rows.push([
            String::new(),
            u.id.clone(),
            format!(
                "not managed by Terraform ({} {} {})",
                u.kind.as_str(),
                u.account_id,
                u.region
            ),
            "(none)".into(),
            u.arn.clone(),
        ]);
    }
    rows
}

pub fn state_table(d: &StateDrift, color: bool, width: Option<u16>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{}: {} managed deployment(s) found live, {} attribute(s) differ, {} missing, {} unmanaged",
        text::terminal(&d.state),
        d.managed,
        d.differ.len(),
        d.missing.len(),
        d.unmanaged.len()
    )?;
    let rows = state_rows(d);
    if !rows.is_empty() {
        let mut t = super::common::styled_table(color, width);
        t.set_header(vec!["Terraform address", "Resource", "What", "Declared", "Live"]);
        for r in rows {
            t.add_row(r.each_ref().map(|s| text::cell(s)));
        }
        writeln!(out, "{t}")?;
    }
    writeln!(
        out,
        "{} → exit {}",
        if d.drifted {
            "Drift from the declared state"
        } else {
            "Live matches the declared state"
        },
        u8::from(d.drifted)
    )
}

pub fn state_json(d: &StateDrift, pretty: bool, out: &mut dyn Write) -> io::Result<()> {
    super::common::write_json(d, pretty, out)
}

pub fn state_markdown(d: &StateDrift, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "## {} ecaudit drift against {}\n\n{} managed deployment(s) found live · {} attribute(s) differ · {} missing · {} unmanaged\n",
        if d.drifted { "⚠️" } else { "✅" },
        cell(&d.state),
        d.managed,
        d.differ.len(),
        d.missing.len(),
        d.unmanaged.len()
    )?;
    let rows = state_rows(d);
    if !rows.is_empty() {
        writeln!(
            out,
            "| Terraform address | Resource | What | Declared | Live |\n|---|---|---|---|---|"
        )?;
        for r in rows.iter().take(TOP) {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&r[0]),
                cell(&r[1]),
                cell(&r[2]),
                cell(&r[3]),
                cell(&r[4])
            )?;
        }
        if rows.len() > TOP {
            writeln!(out, "\n… and {} more.", rows.len() - TOP)?;
        }
    }
    Ok(())
}
