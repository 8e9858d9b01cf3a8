//! `--notify slack|webhook`: a run's summary as one Slack Block Kit message, or as JSON for any
//! other system: counts by severity, what is new since the previous run of the history
//! (introduced and resolved), coverage gaps, and the top failing findings.

use std::str::FromStr;

use serde::Serialize;
use serde_json::{Value, json};

use crate::result::{FindingRef, ScanResult, Status, Summary};
use crate::rules::Severity;

/// Where a notification goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// A Slack incoming webhook: Block Kit.
    Slack,
    /// Any URL: the summary as JSON.
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Slack => "slack",
            Channel::Webhook => "webhook",
        }
    }

    /// The environment variable read when `--notify-url-env` names none.
    pub fn default_env(self) -> &'static str {
        match self {
            Channel::Slack => "ECAUDIT_SLACK_WEBHOOK_URL",
            Channel::Webhook => "ECAUDIT_WEBHOOK_URL",
        }
    }

    /// What a delivery error calls it.
    pub fn what(self) -> &'static str {
        match self {
            Channel::Slack => "the Slack message",
            Channel::Webhook => "the webhook summary",
        }
    }
}

/// `--notify KIND[=VAR]`: a channel, and the environment variable its URL is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifySpec {
    pub channel: Channel,
    pub env: Option<String>,
}

impl FromStr for NotifySpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, env) = match s.split_once('=') {
            Some((kind, env)) => (kind, Some(env)),
            None => (s, None),
        };
        let channel = match kind {
            "slack" => Channel::Slack,
            "webhook" => Channel::Webhook,
            // Not repeated: the value may be a URL, a secret.
            _ => return Err("the channel is not slack or webhook".into()),
        };
        if let Some(env) = env
            && (env.is_empty() || !env.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(
                "after `=` comes the name of the environment variable that holds the URL (the \
                 URL is a secret and never goes on the command line)"
                    .into(),
            );
        }
        Ok(NotifySpec {
            channel,
            env: env.map(str::to_string),
        })
    }
}

/// One failing finding as a notification lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Listed {
    pub rule_id: String,
    pub severity: Severity,
    pub resource_id: String,
    pub account_id: String,
    /// The account's name and organizational unit (`--organization`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ou_path: Option<String>,
    pub region: String,
    pub fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_days: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue: Option<bool>,
}

/// What moved since the previous run of the history.
#[derive(Clone, Debug, Serialize)]
pub struct SincePrevious {
    pub introduced: usize,
    pub resolved: usize,
    /// The first `limit` of each, most severe first.
    pub introduced_findings: Vec<Moved>,
    pub resolved_findings: Vec<Moved>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Moved {
    pub rule_id: String,
    pub severity: Severity,
    pub resource_id: String,
    pub resource_arn: String,
}

impl From<&FindingRef> for Moved {
    fn from(f: &FindingRef) -> Self {
        Moved {
            rule_id: f.rule_id.to_string(),
            severity: f.severity,
            resource_id: f.resource_id.to_string(),
            resource_arn: f.resource_arn.to_string(),
        }
    }
}

/// A coverage gap as a notification lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Gap {
    pub account_id: String,
    pub region: String,
    pub api: String,
    pub error: Option<String>,
}

/// The run's summary: the webhook's JSON body, and what the Slack message says.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub tool: &'static str,
    pub version: &'static str,
    pub rule_pack: String,
    pub evaluated_at: chrono::DateTime<chrono::Utc>,
    pub deployments: usize,
    pub accounts: usize,
    pub regions: usize,
    /// Failing findings (`fail`, not waived) by severity, critical first.
    pub failing: Vec<(Severity, usize)>,
    pub failing_total: usize,
    /// Past their `--sla` deadline.
    pub overdue: usize,
    pub exit_code: u8,
    pub verdict: String,
    /// `None` without `--history`, or on a history's first run.
    pub since_previous: Option<SincePrevious>,
    pub coverage_gaps: Vec<Gap>,
    /// The first `limit` failing findings: overdue first, then most severe.
    pub top_failing: Vec<Listed>,
    pub limit: usize,
}

impl RunSummary {
    pub fn of(result: &ScanResult, summary: &Summary, limit: usize) -> RunSummary {
        let mut failing: Vec<&crate::result::Finding> = result
            .findings
            .iter()
            .filter(|f| f.status == Status::Fail)
            .collect();
        failing.sort_by_key(|f| {
            let rule = result.rule(f);
            (
                !f.age.is_some_and(|a| a.overdue),
                std::cmp::Reverse(rule.severity),
                std::cmp::Reverse(f.age.map_or(0, |a| a.days)),
                rule.id.as_str(),
                f.deployment,
            )
        });
        let by_severity = |s: Severity| failing.iter().filter(|f| result.rule(f).severity == s).count();
        let moved = |list: &[FindingRef]| list.iter().take(limit).map(Moved::from).collect();
        RunSummary {
            tool: "ecaudit",
            version: env!("CARGO_PKG_VERSION"),
            rule_pack: result.rules.pack_version().into_owned(),
            evaluated_at: result.evaluated_at,
            deployments: summary.deployments,
            accounts: summary.accounts,
            regions: summary.regions,
            failing: Severity::DESCENDING
                .iter()
                .map(|&s| (s, by_severity(s)))
                .collect(),
            failing_total: failing.len(),
            overdue: summary.gate.overdue,
            exit_code: summary.gate.exit_code,
            verdict: summary.gate.reason.clone(),
            since_previous: result.drift.as_ref().map(|d| SincePrevious {
                introduced: d.findings.newly_failing.len(),
                resolved: d.findings.resolved.len(),
                introduced_findings: moved(&d.findings.newly_failing),
                resolved_findings: moved(&d.findings.resolved),
            }),
            coverage_gaps: result
                .gaps()
                .map(|g| Gap {
                    account_id: g.account_id.to_string(),
                    region: g.region.to_string(),
                    api: format!("{}:{}", g.service, g.api),
                    error: g.error.as_ref().map(|e| e.code.clone()),
                })
                .collect(),
            top_failing: failing
                .iter()
                .take(limit)
                .map(|f| {
                    let (rule, d) = (result.rule(f), result.resource(f));
                    Listed {
                        rule_id: rule.id.clone(),
                        severity: rule.severity,
                        resource_id: d.id.clone(),
                        account_id: d.account_id.clone(),
                        account_name: d.owner.as_ref().and_then(|o| o.name.clone()),
                        ou_path: d.owner.as_ref().and_then(|o| o.ou_path.clone()),
                        region: d.region.clone(),
                        fingerprint: crate::result::fingerprint(&rule.id, &d.arn),
                        age_days: f.age.map(|a| a.days),
                        overdue: f.age.and_then(|a| a.due.map(|_| a.overdue)),
                    }
                })
                .collect(),
            limit,
        }
    }

    /// The webhook's body.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The Slack message: Block Kit blocks (and a plain `text` for notifications).
    pub fn to_slack(&self) -> Value {
        let mut blocks = Vec::new();
        let headline = match (self.exit_code, self.coverage_gaps.is_empty()) {
            (_, false) => format!("ElastiCache audit: {} failing, incomplete", self.failing_total),
            (1, _) => format!("ElastiCache audit: {} failing, gate failed", self.failing_total),
            _ => format!("ElastiCache audit: {} failing", self.failing_total),
        };
        blocks.push(json!({"type": "header", "text": {"type": "plain_text", "text": headline}}));
        let mut fields: Vec<Value> = self
            .failing
            .iter()
            .map(|(s, n)| json!({"type": "mrkdwn", "text": format!("*{s}*\n{n}")}))
            .collect();
        if self.overdue > 0 {
            fields.push(json!({"type": "mrkdwn", "text": format!("*overdue*\n{}", self.overdue)}));
        }
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": format!(
                "{} deployment(s) in {} account(s), {} region(s). {}",
                self.deployments, self.accounts, self.regions, mrkdwn(&self.verdict)
            )},
            "fields": fields,
        }));
        if let Some(since) = &self.since_previous {
            let mut text = format!(
                "*Since the previous run:* {} newly failing, {} resolved",
                since.introduced, since.resolved
            );
            for (sign, list) in [("+", &since.introduced_findings), ("−", &since.resolved_findings)] {
                for m in list {
                    text.push_str(&format!(
                        "\n{sign} `{}` on `{}` ({})",
                        code(&m.rule_id),
                        code(&m.resource_id),
                        m.severity
                    ));
                }
            }
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(text)}}));
        }
        if !self.coverage_gaps.is_empty() {
            let mut text = format!(
                ":warning: *{} coverage gap(s)*: these were not read, their findings are unknown",
                self.coverage_gaps.len()
            );
            for g in self.coverage_gaps.iter().take(self.limit) {
                text.push_str(&format!(
                    "\n• {} {} `{}`{}",
                    mrkdwn(&g.account_id),
                    mrkdwn(&g.region),
                    code(&g.api),
                    g.error
                        .as_deref()
                        .map(|e| format!(": {}", mrkdwn(e)))
                        .unwrap_or_default()
                ));
            }
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(text)}}));
        }
        if !self.top_failing.is_empty() {
            let mut text = format!(
                "*Top failing findings* ({} of {})",
                self.top_failing.len(),
                self.failing_total
            );
            for f in &self.top_failing {
                let age = match (f.age_days, f.overdue) {
                    (Some(d), Some(true)) => format!(", {d}d *overdue*"),
                    (Some(d), _) => format!(", {d}d"),
                    _ => String::new(),
                };
                // The account by name and unit when the organization says, else by id.
                let account = match (&f.account_name, &f.ou_path) {
                    (Some(name), Some(ou)) => format!("{} in {}", mrkdwn(name), mrkdwn(ou)),
                    (Some(name), None) => mrkdwn(name),
                    _ => mrkdwn(&f.account_id),
                };
                text.push_str(&format!(
                    "\n• {} `{}` on `{}` ({account} {}){age}",
                    f.severity,
                    code(&f.rule_id),
                    code(&f.resource_id),
                    mrkdwn(&f.region)
                ));
            }
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(text)}}));
        }
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": format!(
                "ecaudit {} · rule pack {} · evaluated at {}",
                self.version,
                mrkdwn(&self.rule_pack),
                self.evaluated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )}],
        }));
        json!({"text": headline, "blocks": blocks})
    }
}

/// Text from AWS or files in Slack's mrkdwn: its three control characters escaped (no link, no
/// mention, no channel ping can be made of a tag value), control characters shown, cut short.
fn mrkdwn(s: &str) -> String {
    crate::text::cell(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text inside a `code` span: as [`mrkdwn`], without backticks that would end the span.
fn code(s: &str) -> String {
    mrkdwn(s).replace('`', "'")
}

/// A section's text within Slack's 3,000 characters.
fn clip(mut text: String) -> String {
    const MAX: usize = 2_900;
    if text.len() > MAX {
        let mut end = MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("\n…");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_a_channel_and_a_variable_never_a_url() {
        assert_eq!(
            "slack".parse::<NotifySpec>().unwrap(),
            NotifySpec {
                channel: Channel::Slack,
                env: None
            }
        );
        assert_eq!(
            "webhook=OPS_HOOK".parse::<NotifySpec>().unwrap().env.as_deref(),
            Some("OPS_HOOK")
        );
        assert!("email".parse::<NotifySpec>().is_err());
        let e = "slack=https://hooks.slack.com/services/T/B/SECRET"
            .parse::<NotifySpec>()
            .unwrap_err();
        assert!(
            e.contains("never goes on the command line") && !e.contains("SECRET"),
            "{e}"
        );
    }

    #[test]
    fn mrkdwn_makes_no_link_or_mention() {
        assert_eq!(
            mrkdwn("<!channel> & <https://x|y>"),
            "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"
        );
        assert_eq!(code("a`b"), "a'b");
        let long = clip("x".repeat(5_000));
        assert!(long.len() < 3_000 && long.ends_with('…'));
    }
}
