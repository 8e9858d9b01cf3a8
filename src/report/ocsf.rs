//! OCSF 1.x Compliance Finding events (class 2003), one JSON object per line, for security data
//! lakes (Amazon Security Lake, SIEMs). Every finding shown is an event: its compliance status
//! says pass or fail; the finding status says new, suppressed or baselined. Written against
//! OCSF 1.4.0 with the `cloud` profile (which carries account and region).

use std::io::{self, Write};

use serde_json::{Value, json};

use super::common::RenderOptions;
use crate::inventory::DeploymentKind;
use crate::result::ScanResult;
use crate::result::Status;
use crate::result::document::FindingRecord;
use crate::rules::FRAMEWORKS;
use crate::rules::Severity;

/// The OCSF version the events follow.
pub const OCSF_VERSION: &str = "1.4.0";
pub const CLASS_UID: u32 = 2003;
pub const CATEGORY_UID: u32 = 2;
/// `activity_id`: 1 Create (a finding this scan produced), 2 Update (failing in the previous
/// run too, `scan --history`), 3 Close (it failed in the previous run and no longer does).
fn activity(t: Option<crate::result::Transition>) -> (u32, &'static str) {
    use crate::result::Transition;
    match t {
        Some(Transition::StillFailing) => (2, "Update"),
        Some(Transition::Resolved) => (3, "Close"),
        _ => (1, "Create"),
    }
}

fn severity_id(s: Severity) -> (u32, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// The finding's status (`status_id`): 1 New, 3 Suppressed, 99 Other.
fn finding_status(s: Status) -> (u32, &'static str) {
    match s {
        Status::Suppressed => (3, "Suppressed"),
        Status::Baselined => (99, "Baselined"),
        _ => (1, "New"),
    }
}

/// The compliance status (`compliance.status_id`): 1 Pass, 3 Fail, 0 Unknown, 99 Other.
fn compliance_status(f: &crate::result::Finding) -> (u32, &'static str) {
    let evaluated = f.waiver.map_or(f.status, |w| w.was);
    match evaluated {
        Status::Pass => (1, "Pass"),
        Status::Fail => (3, "Fail"),
        Status::Error => (0, "Unknown"),
        _ => (99, "Not applicable"),
    }
}

/// The CloudFormation type of a deployment, as resources are typed in AWS findings.
fn resource_type(kind: DeploymentKind) -> &'static str {
    match kind {
        DeploymentKind::ReplicationGroup => "AWS::ElastiCache::ReplicationGroup",
        DeploymentKind::CacheCluster => "AWS::ElastiCache::CacheCluster",
        DeploymentKind::ServerlessCache => "AWS::ElastiCache::ServerlessCache",
    }
}

fn event(result: &ScanResult, f: &crate::result::Finding, time: i64) -> Value {
    let r = FindingRecord::new(result, f);
    let d = result.resource(f);
    let (severity_id, severity) = severity_id(r.severity);
    let (status_id, status) = finding_status(f.status);
    let (compliance_id, compliance) = compliance_status(f);
    let mut account = json!({"uid": r.account_id, "type_id": 10, "type": "AWS Account"});
    // The account's name and organizational unit (`--organization`): OCSF's account name and
    // organization object (`ou_name` holds the whole path, which names the unit unambiguously).
    let owner = d.owner.as_deref();
    if let Some(name) = owner.and_then(|o| o.name.as_deref()) {
        account["name"] = json!(name);
    }
    let org = owner.and_then(|o| {
        let mut org = serde_json::Map::new();
        for (key, value) in [
            ("uid", &o.organization_id),
            ("ou_uid", &o.ou_id),
            ("ou_name", &o.ou_path),
        ] {
            if let Some(v) = value {
                org.insert(key.into(), json!(v));
            }
        }
        // OCSF requires the organization's `name` or `uid`.
        org.contains_key("uid").then_some(Value::Object(org))
    });
    let standards: Vec<&str> = r
        .controls
        .keys()
        .map(|k| {
            FRAMEWORKS
                .iter()
                .find(|(id, _)| id == k)
                .map_or(k.as_str(), |(_, name)| *name)
        })
        .collect();
    let requirements: Vec<String> = r
        .controls
        .iter()
        .flat_map(|(framework, ids)| ids.iter().map(move |id| format!("{framework} {id}")))
        .collect();
    let tags: Vec<Value> = d
        .tags
        .iter()
        .flatten()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    let mut desc = r.message.to_string();
    for line in r.evidence.iter() {
        desc.push_str("\n- ");
        desc.push_str(line);
    }
    let (activity_id, activity_name) = activity(f.transition);
    let mut e = json!({
        "activity_id": activity_id,
        "activity_name": activity_name,
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": format!("Compliance Finding: {activity_name}"),
        "time": time,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "message": r.message,
        "metadata": {
            "version": OCSF_VERSION,
            "profiles": ["cloud"],
            "product": {
                "name": "ecaudit",
                "vendor_name": "ecaudit",
                "version": env!("CARGO_PKG_VERSION"),
            },
            "event_code": r.rule_id,
        },
        "cloud": {"provider": "AWS", "region": r.region, "account": account},
        "finding_info": {
            "uid": r.fingerprint,
            "title": r.title,
            "desc": desc,
            "types": ["ElastiCache configuration"],
            "created_time": time,
        },
        "compliance": {
            "control": r.rule_id,
            "standards": standards,
            "requirements": requirements,
            "status_id": compliance_id,
            "status": compliance,
            "status_detail": r.message,
        },
        "resources": [{
            "uid": r.resource_arn,
            "name": r.resource_id,
            "type": resource_type(r.resource_kind),
            "region": r.region,
            "cloud_partition": crate::arn::Arn::parse(&r.resource_arn).map_or("aws", |a| a.partition),
            "owner": {"account": account},
            "tags": tags,
        }],
        "unmapped": {"ecaudit_status": r.status, "evidence": r.evidence, "drift": r.drift},
    });
    if let Some(org) = org {
        e["cloud"]["org"] = org;
    }
    if let Some(remediation) = r.remediation {
        e["remediation"] = json!({"desc": remediation});
    }
    if let Some(w) = &r.waiver {
        e["status_detail"] = json!(format!("{} ({})", w.reason, w.source));
    }
    // When it started failing (`scan --history`): OCSF's first-seen time, in milliseconds.
    if let Some(first_seen) = r.first_seen {
        e["finding_info"]["first_seen_time"] = json!(first_seen.timestamp_millis());
        e["unmapped"]["age_days"] = json!(r.age_days);
    }
    if let Some(overdue) = r.overdue {
        e["unmapped"]["overdue"] = json!(overdue);
        e["unmapped"]["due_at"] = json!(r.due_at);
    }
    e
}

pub fn render(result: &ScanResult, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let time = result.evaluated_at.timestamp_millis();
    for f in super::common::shown(result, options) {
        serde_json::to_writer(&mut *out, &event(result, f, time))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
