//! SARIF 2.1.0 for code scanning. Failing findings are results (suppressed ones with SARIF
//! `suppressions`, baselined ones with `baselineState: unchanged`); undecided findings and
//! coverage gaps are tool notifications. Every result has the physical location GitHub requires:
//! a stable, synthetic, repository-relative URI per deployment, `aws/<account>/<region>/
//! elasticache/<id>`, line 1; the ARN is its logical location.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::common::RenderOptions;
use crate::result::ScanResult;
use crate::result::Status;
use crate::result::Summary;
use crate::result::document::FindingRecord;
use crate::rules::Rule;
use crate::rules::Severity;

/// The `$schema` GitHub code scanning expects.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Results GitHub keeps per run.
pub const GITHUB_RESULT_LIMIT: usize = 25_000;
/// GitHub's limit on rule descriptions.
const DESCRIPTION_LIMIT: usize = 1024;

/// GitHub's `security-severity` for each severity (critical ≥ 9.0, high ≥ 7.0, medium ≥ 4.0).
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn truncate(s: &str, limit: usize) -> String {
    if s.chars().count() <= limit {
        return s.to_string();
    }
    let mut t: String = s.chars().take(limit - 1).collect();
    t.push('…');
    t
}

/// The synthetic location of a deployment: path segments percent-encoded beyond the unreserved
/// characters, so any id makes a valid relative URI.
pub fn artifact_uri(account: &str, region: &str, id: &str) -> String {
    fn segment(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
    format!(
        "aws/{}/{}/elasticache/{}",
        segment(account),
        segment(region),
        segment(id)
    )
}

fn rule_descriptor(rule: &Rule) -> Value {
    let mut markdown = format!("**{}**\n\n", rule.title);
    if let Some(d) = &rule.description {
        markdown.push_str(d.trim());
        markdown.push_str("\n\n");
    }
    markdown.push_str("**Remediation**\n\n");
    markdown.push_str(rule.remediation.trim());
    if !rule.controls.is_empty() {
        markdown.push_str("\n\n**Controls**\n");
        for (framework, ids) in &rule.controls {
            markdown.push_str(&format!("\n- {framework}: {}", ids.join(", ")));
        }
    }
    let mut tags = vec!["security".to_string(), "elasticache".to_string()];
    tags.extend(rule.controls.keys().cloned());
    tags.truncate(20);
    json!({
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": truncate(&rule.title, DESCRIPTION_LIMIT)},
        "fullDescription": {"text": truncate(rule.description.as_deref().unwrap_or(&rule.title).trim(), DESCRIPTION_LIMIT)},
        "help": {"text": rule.remediation.trim(), "markdown": markdown},
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {
            "tags": tags,
            "security-severity": security_severity(rule.severity),
            "precision": "very-high",
            "problem.severity": match rule.severity {
                Severity::Critical | Severity::High => "error",
                Severity::Medium => "warning",
                _ => "recommendation",
            },
            "severity": rule.severity,
            "controls": rule.controls,
        }
    })
}

/// A file path as a relative SARIF URI: each segment percent-encoded, `/` between them.
fn file_uri(path: &str) -> String {
    path.split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != ".")
        .map(|s| {
            s.bytes()
                .map(|b| match b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    true => (b as char).to_string(),
                    false => format!("%{b:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Where a finding is: a plan's resource at its block in the `.tf` sources (or, without them,
/// the plan file), so code scanning annotates the pull request; else the deployment.
fn physical_location(r: &FindingRecord, plan: Option<&crate::result::PlanInfo>) -> Value {
    match (&r.source, plan) {
        (Some(source), _) => json!({
            "artifactLocation": {"uri": file_uri(&source.file)},
            "region": {"startLine": source.line}
        }),
        (None, Some(plan)) if plan.file != "-" => json!({
            "artifactLocation": {"uri": file_uri(&plan.file)},
            "region": {"startLine": 1}
        }),
        _ => json!({
            "artifactLocation": {"uri": artifact_uri(&r.account_id, &r.region, &r.resource_id)},
            "region": {"startLine": 1}
        }),
    }
}

fn result_object(
    r: &FindingRecord,
    status: Status,
    rule_index: usize,
    baseline: bool,
    plan: Option<&crate::result::PlanInfo>,
) -> Value {
    let mut text = format!("{} ({}): {}", r.resource_id, r.resource_arn, r.message);
    for line in r.evidence.iter() {
        text.push_str("\n- ");
        text.push_str(line);
    }
    let mut result = json!({
        "ruleId": r.rule_id,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": level(r.severity),
        "message": {"text": text},
        "locations": [{
            "physicalLocation": physical_location(r, plan),
            "logicalLocations": [{
                "name": r.resource_id,
                "fullyQualifiedName": r.resource_arn,
                "kind": "resource"
            }]
        }],
        "partialFingerprints": {"primaryLocationLineHash": r.fingerprint},
        "properties": {
            "status": status,
            "resourceKind": r.resource_kind,
            "resourceArn": r.resource_arn,
            "accountId": r.account_id,
            "region": r.region,
            "evidence": r.evidence,
        }
    });
    // The account's owner in the organization (`--organization`).
    if let Some(name) = &r.account_name {
        result["properties"]["accountName"] = json!(name);
    }
    if let Some(ou_path) = &r.ou_path {
        result["properties"]["ouPath"] = json!(ou_path);
    }
    if let Some(change) = r.change {
        result["properties"]["change"] = json!(change);
    }
    // How long it has failed, and its deadline (`scan --history`, `--sla`).
    if let Some(first_seen) = r.first_seen {
        result["properties"]["firstSeen"] = json!(first_seen);
        result["properties"]["ageDays"] = json!(r.age_days);
    }
    if let (Some(due), Some(overdue)) = (r.due_at, r.overdue) {
        result["properties"]["dueAt"] = json!(due);
        result["properties"]["overdue"] = json!(overdue);
    }
    if baseline {
        result["baselineState"] = json!(if status == Status::Baselined {
            "unchanged"
        } else {
            "new"
        });
    } else if let Some(change) = r.change {
        // Without a baseline, a plan's findings are new when it introduces them.
        result["baselineState"] = json!(match change {
            crate::result::PlanChange::Introduced => "new",
            _ => "unchanged",
        });
    } else if let Some(t) = r.drift {
        // Without a baseline, the previous run (`--history`) is the baseline.
        result["baselineState"] = json!(match t {
            crate::result::Transition::StillFailing => "unchanged",
            _ => "new",
        });
    }
    if let Some(w) = r
        .waiver
        .as_ref()
        .filter(|w| w.by == crate::result::document::WaivedBy::Suppression)
    {
        let mut justification = w.reason.to_string();
        if let Some(owner) = &w.owner {
            justification.push_str(&format!(" (owner: {owner})"));
        }
        if let Some(ticket) = &w.ticket {
            justification.push_str(&format!(" (ticket: {ticket})"));
        }
        if let Some(expires) = w.expires {
            justification.push_str(&format!(" (expires: {expires})"));
        }
        result["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": justification,
            "properties": {"source": w.source, "owner": w.owner, "ticket": w.ticket, "expires": w.expires}
        }]);
    }
    result
}

pub fn render(
    result: &ScanResult,
    summary: &Summary,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rules = result.rules.rules();
    let baseline = result.waivers.baseline.is_some();
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for f in super::common::shown(result, options) {
        match f.status {
            Status::Fail | Status::Suppressed | Status::Baselined if f.failed() => {
                let r = FindingRecord::new(result, f);
                results.push(result_object(
                    &r,
                    f.status,
                    f.rule,
                    baseline,
                    result.plan.as_ref(),
                ));
            }
            Status::Suppressed => {
                // A suppressed undecided finding: a note, so the reason is on record.
                let r = FindingRecord::new(result, f);
                let reason = r.waiver.as_ref().map_or("", |w| &w.reason);
                notifications.push(json!({
                    "level": "note",
                    "message": {"text": format!("{} on {} ({}): {} (suppressed: {reason})", r.rule_id, r.resource_id, r.resource_arn, r.message)},
                    "descriptor": {"id": "undecided-suppressed"},
                    "associatedRule": {"id": r.rule_id, "index": f.rule},
                }));
            }
            Status::Error => {
                let r = FindingRecord::new(result, f);
                notifications.push(json!({
                    "level": "error",
                    "message": {"text": format!("{} on {} ({}): {}", r.rule_id, r.resource_id, r.resource_arn, r.message)},
                    "descriptor": {"id": "undecided"},
                    "associatedRule": {"id": r.rule_id, "index": f.rule},
                }));
            }
            _ => {}
        }
    }
    for g in result.gaps() {
        let error = g
            .error
            .as_ref()
            .map(|e| format!("{}: {}", e.code, e.message))
            .unwrap_or_default();
        notifications.push(json!({
            "level": "error",
            "message": {"text": format!("coverage gap: account {} region {} {}:{} could not be read: {error}", g.account_id, g.region, g.service, g.api)},
            "descriptor": {"id": "coverage-gap"},
        }));
    }
    for notice in result.waivers.notices() {
        notifications.push(json!({
            "level": "warning",
            "message": {"text": notice},
            "descriptor": {"id": "waiver"},
        }));
    }
    if results.len() > GITHUB_RESULT_LIMIT {
        notifications.push(json!({
            "level": "warning",
            "message": {"text": format!("{} results: GitHub code scanning keeps the first {GITHUB_RESULT_LIMIT} of a run; raise --severity to send fewer", results.len())},
            "descriptor": {"id": "result-limit"},
        }));
    }
    let evaluated = result
        .evaluated_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let doc = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "ecaudit",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(rule_descriptor).collect::<Vec<_>>(),
                "properties": {"rulePack": result.rules.pack_version()},
            }},
            "automationDetails": {"id": "ecaudit/"},
            "invocations": [{
                "executionSuccessful": true,
                "endTimeUtc": evaluated,
                "exitCode": summary.gate.exit_code,
                "exitCodeDescription": summary.gate.reason,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": {
                "deployments": summary.deployments,
                "accounts": summary.accounts,
                "regions": summary.regions,
                "coverageGaps": summary.coverage_gaps,
                "findings": summary.findings,
                "drift": result.drift.as_ref().map(|d| json!({
                    "since": d.old.file,
                    "deploymentsAdded": d.deployments.added.len(),
                    "deploymentsRemoved": d.deployments.removed.len(),
                    "deploymentsChanged": d.deployments.changed.len(),
                    "newlyFailing": d.findings.newly_failing.len(),
                    "resolved": d.findings.resolved.len(),
                    "newlySuppressed": d.findings.newly_suppressed.len(),
                })),
            }
        }]
    });
    super::common::write_json(&doc, options.pretty, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_uris_are_relative_and_encoded() {
        assert_eq!(
            artifact_uri("123456789012", "eu-west-1", "orders-cache"),
            "aws/123456789012/eu-west-1/elasticache/orders-cache"
        );
        assert_eq!(artifact_uri("1", "r", "a b/c"), "aws/1/r/elasticache/a%20b%2Fc");
    }

    #[test]
    fn security_severities_fall_in_githubs_bands() {
        let band = |s: Severity| security_severity(s).parse::<f64>().unwrap();
        assert!(band(Severity::Critical) > 9.0);
        assert!((7.0..9.0).contains(&band(Severity::High)));
        assert!((4.0..7.0).contains(&band(Severity::Medium)));
        assert!((0.1..4.0).contains(&band(Severity::Low)));
    }
}
