//! A finding as an AWS Security Finding Format (ASFF) record for `--publish security-hub`, and
//! what a run makes of a record Security Hub already holds: pure, within the API's field limits.
//! Text from AWS (tags, names) and from rule files is data here: it is cut to the limits, never
//! interpreted.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::inventory::DeploymentKind;
use crate::result::document::FindingRecord;
use crate::result::{Finding, ScanResult, Status};
use crate::rules::Severity;

/// The ASFF version every record declares.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// What every `GeneratorId` (and every `ProductFields` key) of ours starts with.
pub const PREFIX: &str = "ecaudit/";
/// The finding type of a configuration check against best practices (ASFF types taxonomy).
pub const TYPE: &str = "Software and Configuration Checks/AWS Security Best Practices";

/// AWS's limits on the fields we fill (AWS Security Finding Format, API reference).
mod limit {
    pub const ID: usize = 512;
    pub const TITLE: usize = 256;
    pub const DESCRIPTION: usize = 1024;
    pub const REMEDIATION: usize = 512;
    pub const RESOURCE_ID: usize = 512;
    /// `ProductFields`: 50 pairs, keys of 128 characters, values of 2,048. Security Hub adds
    /// three of its own (`aws/securityhub/...`), so we keep to fewer.
    pub const PRODUCT_FIELDS: usize = 45;
    pub const FIELD_VALUE: usize = 2048;
    /// A record's JSON: BatchImportFindings takes findings of up to 240 KB.
    pub const BYTES: usize = 200 * 1024;
    /// `Resources[].Tags`: 50 pairs, keys of 128 characters, values of 256.
    pub const TAGS: usize = 50;
    pub const TAG_KEY: usize = 128;
    pub const TAG_VALUE: usize = 256;
    /// `Compliance.RelatedRequirements`: 32 entries.
    pub const REQUIREMENTS: usize = 32;
    pub const REQUIREMENT: usize = 64;
}

/// One finding in ASFF, as BatchImportFindings takes it (the JSON field names are ASFF's).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Asff {
    pub schema_version: String,
    pub id: String,
    pub product_arn: String,
    pub generator_id: String,
    pub aws_account_id: String,
    pub region: String,
    pub types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_observed_at: Option<String>,
    pub last_observed_at: String,
    pub created_at: String,
    pub updated_at: String,
    pub severity: Label,
    pub finding_provider_fields: ProviderFields,
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    pub resources: Vec<Resource>,
    pub compliance: Compliance,
    pub product_fields: BTreeMap<String, String>,
    pub record_state: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Label {
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProviderFields {
    pub severity: Label,
    pub types: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Remediation {
    pub recommendation: Recommendation,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Recommendation {
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "Type")]
    pub kind: String,
    pub id: String,
    pub partition: String,
    pub region: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Compliance {
    /// `FAILED` or `PASSED`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_control_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_requirements: Vec<String>,
}

/// The record's `Id`: stable across runs, from the finding's fingerprint (rule id and ARN).
pub fn id(fingerprint: &str) -> String {
    format!("{PREFIX}{fingerprint}")
}

/// The default product of an account and region: what the account's own findings are imported
/// as (`BatchImportFindings` refuses another account's findings under it).
pub fn product_arn(partition: &str, region: &str, account: &str) -> String {
    format!("arn:{partition}:securityhub:{region}:{account}:product/{account}/default")
}

/// ASFF's severity label of ours.
pub fn label(s: Severity) -> &'static str {
    match s {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    }
}

/// ASFF's resource type of a deployment (it has none for serverless caches).
fn resource_type(kind: DeploymentKind) -> &'static str {
    match kind {
        DeploymentKind::ReplicationGroup => "AwsElastiCacheReplicationGroup",
        DeploymentKind::CacheCluster => "AwsElastiCacheCacheCluster",
        DeploymentKind::ServerlessCache => "Other",
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `s` in at most `max` characters, marked with `…` when cut.
pub fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some(_) => {
            let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
            out.push('…');
            out
        }
    }
}

/// The state a finding of this run gives its record: `None` for an undecided one, which
/// changes nothing in Security Hub.
fn state(status: Status) -> Option<(&'static str, &'static str)> {
    match status {
        // Baselined findings still fail: the baseline gates CI, it does not accept the risk.
        Status::Fail | Status::Baselined => Some(("FAILED", "ACTIVE")),
        Status::Pass | Status::NotApplicable => Some(("PASSED", "ARCHIVED")),
        // Accepted with a reason: still failing, but no longer a task for anyone.
        Status::Suppressed => Some(("FAILED", "ARCHIVED")),
        Status::Error => None,
    }
}

/// The record of `f`, evaluated in `result`, in the partition `partition`, imported at `now`;
/// `None` for an undecided finding.
pub fn of(result: &ScanResult, f: &Finding, partition: &str, now: DateTime<Utc>) -> Option<Asff> {
    let (compliance, record_state) = state(f.status)?;
    let r = FindingRecord::new(result, f);
    let d = result.resource(f);
    let severity = label(r.severity).to_string();
    let types = vec![TYPE.to_string()];
    let mut fields = Fields::default();
    fields.put("RuleId", &r.rule_id);
    fields.put("Fingerprint", &r.fingerprint);
    fields.put("ResourceId", &r.resource_id);
    fields.put("Status", f.status.as_str());
    if let Some(name) = &r.account_name {
        fields.put("AccountName", name);
    }
    if let Some(path) = &r.ou_path {
        fields.put("OuPath", path);
    }
    if let Some(w) = &r.waiver {
        fields.put("WaiverReason", &w.reason);
    }
    if let Some(age) = r.age_days {
        fields.put("AgeDays", &age.to_string());
    }
    fields.evidence(&r.evidence);
    let mut requirements: Vec<String> = r
        .controls
        .iter()
        .flat_map(|(framework, ids)| ids.iter().map(move |id| format!("{framework} {id}")))
        .map(|s| cut(&s, limit::REQUIREMENT))
        .collect();
    requirements.truncate(limit::REQUIREMENTS);
    let tags = d
        .tags
        .iter()
        .flatten()
        .take(limit::TAGS)
        .map(|(k, v)| (cut(k, limit::TAG_KEY), cut(v, limit::TAG_VALUE)))
        .collect();
    let observed = result.collected_at.unwrap_or(result.evaluated_at);
    let mut record = Asff {
        schema_version: SCHEMA_VERSION.into(),
        id: cut(&id(&r.fingerprint), limit::ID),
        product_arn: product_arn(partition, &r.region, &r.account_id),
        generator_id: cut(&format!("{PREFIX}{}", r.rule_id), limit::ID),
        aws_account_id: r.account_id.to_string(),
        region: r.region.to_string(),
        types: types.clone(),
        first_observed_at: r.first_seen.map(time),
        last_observed_at: time(observed),
        created_at: time(r.first_seen.unwrap_or(observed)),
        updated_at: time(now),
        severity: Label {
            label: severity.clone(),
        },
        finding_provider_fields: ProviderFields {
            severity: Label { label: severity },
            types,
        },
        title: cut(&r.title, limit::TITLE),
        description: cut(&r.message, limit::DESCRIPTION),
        remediation: {
            let text = result.rule(f).remediation.trim();
            (!text.is_empty()).then(|| Remediation {
                recommendation: Recommendation {
                    text: cut(text, limit::REMEDIATION),
                },
            })
        },
        resources: vec![Resource {
            kind: resource_type(d.kind).into(),
            id: cut(&d.arn, limit::RESOURCE_ID),
            partition: partition.into(),
            region: d.region.clone(),
            tags,
        }],
        compliance: Compliance {
            status: compliance.into(),
            security_control_id: r
                .controls
                .get("aws-fsbp")
                .and_then(|ids| ids.first())
                .map(|id| cut(id, limit::REQUIREMENT)),
            related_requirements: requirements,
        },
        product_fields: fields.0,
        record_state: record_state.into(),
    };
    fit(&mut record, r.evidence.len());
    Some(record)
}

/// Drops evidence fields, the last first, then the resource's tags, until the record's JSON
/// takes at most [`limit::BYTES`]; the evidence left out is counted. What remains is bounded by
/// the other fields' limits far below it, even with every character escaped.
fn fit(record: &mut Asff, evidence: usize) {
    let size = |r: &Asff| serde_json::to_vec(r).map_or(usize::MAX, |v| v.len());
    let evidence_key = |k: &String| k.starts_with("ecaudit/Evidence/");
    while size(record) > limit::BYTES {
        let last = record
            .product_fields
            .keys()
            .rev()
            .find(|k| evidence_key(k))
            .cloned();
        match (last, record.resources.first_mut()) {
            (Some(key), _) => {
                record.product_fields.remove(&key);
            }
            (None, Some(resource)) if !resource.tags.is_empty() => {
                resource.tags.pop_last();
            }
            _ => break,
        }
        let shown = record.product_fields.keys().filter(|k| evidence_key(k)).count();
        if shown < evidence {
            record
                .product_fields
                .insert(format!("{PREFIX}EvidenceOmitted"), (evidence - shown).to_string());
        }
    }
}

/// `ProductFields` under our prefix, within the count and length limits.
#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Fields {
    fn put(&mut self, key: &str, value: &str) {
        self.0
            .insert(format!("{PREFIX}{key}"), cut(value, limit::FIELD_VALUE));
    }

    /// One field per evidence line while they fit, then how many were left out.
    fn evidence(&mut self, lines: &[String]) {
        let room = limit::PRODUCT_FIELDS.saturating_sub(self.0.len() + 1);
        for (i, line) in lines.iter().take(room).enumerate() {
            // Zero-padded, so the fields sort in the evidence's order.
            self.put(&format!("Evidence/{:02}", i + 1), line);
        }
        if lines.len() > room {
            self.put("EvidenceOmitted", &(lines.len() - room).to_string());
        }
    }
}

/// What this run makes of a record that Security Hub holds as ACTIVE and FAILED, in a unit the
/// run read whole: `Some(update)` when the run judged it and it no longer fails, `None` to leave
/// it as it is (still failing: imported anew; undecided; a rule this run did not run).
///
/// `finding` is this run's finding of the record's rule on its resource, if any; `judged` says
/// whether the run judged the rule in the record's unit.
pub fn resolution(
    held: &Asff,
    finding: Option<Option<Asff>>,
    judged: bool,
    now: DateTime<Utc>,
) -> Option<Asff> {
    if !judged {
        return None;
    }
    match finding {
        // Failing (imported with the run's findings), or undecided: unchanged.
        Some(None) => None,
        Some(Some(ours)) if ours.record_state == "ACTIVE" => None,
        Some(Some(ours)) => Some(ours),
        // The rule ran on the unit and the deployment is not in it any more.
        None => {
            let mut gone = held.clone();
            gone.compliance.status = "PASSED".into();
            gone.record_state = "ARCHIVED".into();
            gone.updated_at = time(now);
            gone.product_fields
                .insert(format!("{PREFIX}Status"), "not_found".into());
            Some(gone)
        }
    }
}

/// The rule id and resource ARN a record of ours names (`None`: not one of ours).
pub fn names(held: &Asff) -> Option<(&str, &str)> {
    let rule = held.generator_id.strip_prefix(PREFIX)?;
    let arn = held.resources.first()?.id.as_str();
    Some((rule, arn))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// The demo fleet, evaluated.
    fn fleet() -> ScanResult {
        let inventory =
            crate::inventory::parse_inventory(include_str!("../../examples/fleet.json"), "fleet.json")
                .unwrap();
        crate::evaluate::evaluate(
            &inventory,
            crate::rules::RuleSet::load(&[]).unwrap(),
            at("2026-11-25T06:00:00Z"),
        )
    }

    fn first(result: &ScanResult, status: Status, rule: &str) -> usize {
        result
            .findings
            .iter()
            .position(|f| f.status == status && result.rule(f).id == rule)
            .unwrap_or_else(|| panic!("no {status} finding of {rule}"))
    }

    #[test]
    fn a_failing_finding_as_asff() {
        let result = fleet();
        let i = first(&result, Status::Fail, "snapshot-retention");
        let asff = of(&result, &result.findings[i], "aws", at("2026-11-25T07:00:00Z")).unwrap();
        let f = &result.findings[i];
        let d = result.resource(f);
        assert_eq!(
            asff.id,
            format!(
                "ecaudit/{}",
                crate::result::fingerprint("snapshot-retention", &d.arn)
            )
        );
        assert_eq!(
            asff.product_arn,
            format!(
                "arn:aws:securityhub:{}:{}:product/{}/default",
                d.region, d.account_id, d.account_id
            )
        );
        assert_eq!(
            asff.compliance.security_control_id.as_deref(),
            Some("ElastiCache.1")
        );
        assert_eq!(names(&asff), Some(("snapshot-retention", d.arn.as_str())));
        insta::assert_json_snapshot!(asff);
    }

    #[test]
    fn statuses_give_the_record_state() {
        let result = fleet();
        let now = at("2026-11-25T07:00:00Z");
        let state_of = |status| {
            let f = result.findings.iter().find(|f| f.status == status).unwrap();
            of(&result, f, "aws", now).map(|a| (a.compliance.status, a.record_state))
        };
        assert_eq!(state_of(Status::Fail), Some(("FAILED".into(), "ACTIVE".into())));
        assert_eq!(state_of(Status::Pass), Some(("PASSED".into(), "ARCHIVED".into())));
        let mut suppressed = result.findings[first(&result, Status::Fail, "multi-az")].clone();
        suppressed.status = Status::Suppressed;
        let a = of(&result, &suppressed, "aws", now).unwrap();
        assert_eq!(
            (a.compliance.status.as_str(), a.record_state.as_str()),
            ("FAILED", "ARCHIVED")
        );
        let mut undecided = suppressed.clone();
        undecided.status = Status::Error;
        assert_eq!(of(&result, &undecided, "aws", now), None);
    }

    #[test]
    fn untrusted_text_is_cut_to_the_limits() {
        let mut result = fleet();
        let i = first(&result, Status::Fail, "multi-az");
        let d = result.findings[i].deployment;
        let long = "é\u{7}<x>".repeat(3_000);
        let tags = (0..80)
            .map(|n| (format!("{n}{long}"), long.clone()))
            .collect::<BTreeMap<_, _>>();
        result.resources[d].tags = Some(tags);
        result.findings[i].message = long.as_str().into();
        result.findings[i].evidence = (0..100).map(|n| format!("{n} {long}")).collect();
        let a = of(&result, &result.findings[i], "aws", at("2026-11-25T07:00:00Z")).unwrap();
        assert_eq!(a.description.chars().count(), limit::DESCRIPTION);
        assert!(a.description.ends_with('…'));
        assert!(a.product_fields.len() <= limit::PRODUCT_FIELDS);
        assert!(a.product_fields.keys().all(|k| k.len() <= 128));
        assert!(
            a.product_fields
                .values()
                .all(|v| v.chars().count() <= limit::FIELD_VALUE)
        );
        let omitted: usize = a.product_fields["ecaudit/EvidenceOmitted"].parse().unwrap();
        let shown = a
            .product_fields
            .keys()
            .filter(|k| k.contains("Evidence/"))
            .count();
        assert_eq!(shown + omitted, 100);
        let tags = &a.resources[0].tags;
        assert_eq!(tags.len(), limit::TAGS);
        assert!(
            tags.iter()
                .all(|(k, v)| k.chars().count() <= 128 && v.chars().count() <= 256)
        );
        // Far under the 240 KB a finding may take.
        assert!(serde_json::to_vec(&a).unwrap().len() < 240 * 1024);
        // Characters JSON escapes take six bytes each: evidence is dropped until the record
        // fits, and counted.
        result.findings[i].evidence = (0..40).map(|_| "\u{7}".repeat(3_000)).collect();
        let a = of(&result, &result.findings[i], "aws", at("2026-11-25T07:00:00Z")).unwrap();
        assert!(serde_json::to_vec(&a).unwrap().len() <= limit::BYTES);
        let omitted: usize = a.product_fields["ecaudit/EvidenceOmitted"].parse().unwrap();
        let shown = a
            .product_fields
            .keys()
            .filter(|k| k.contains("Evidence/"))
            .count();
        assert!(shown > 0 && omitted > 0);
        assert_eq!(shown + omitted, 40);
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
    }

    #[test]
    fn a_held_record_is_archived_only_when_judged_and_no_longer_failing() {
        let result = fleet();
        let now = at("2026-11-25T07:00:00Z");
        let fail = of(
            &result,
            &result.findings[first(&result, Status::Fail, "multi-az")],
            "aws",
            now,
        )
        .unwrap();
        let pass = of(
            &result,
            &result.findings[first(&result, Status::Pass, "multi-az")],
            "aws",
            now,
        )
        .unwrap();
        // Not judged (a unit not read, a rule not run): untouched.
        assert_eq!(resolution(&fail, None, false, now), None);
        assert_eq!(resolution(&fail, Some(Some(pass.clone())), false, now), None);
        // Still failing, or undecided: untouched here.
        assert_eq!(resolution(&fail, Some(Some(fail.clone())), true, now), None);
        assert_eq!(resolution(&fail, Some(None), true, now), None);
        // Passing now: this run's record, archived.
        assert_eq!(resolution(&fail, Some(Some(pass.clone())), true, now), Some(pass));
        // Gone from a unit read whole: the held record, passed and archived.
        let gone = resolution(&fail, None, true, now).unwrap();
        assert_eq!(
            (
                gone.compliance.status.as_str(),
                gone.record_state.as_str(),
                gone.id.as_str()
            ),
            ("PASSED", "ARCHIVED", fail.id.as_str())
        );
        assert_eq!(gone.product_fields["ecaudit/Status"], "not_found");
    }
}
