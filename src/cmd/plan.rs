//! `ecaudit plan`: a Terraform plan (or state) judged with the rules, with no AWS call. The
//! deployments after apply are evaluated, and so are those before it, so each failing finding
//! says whether the plan introduces it; by default only introduced ones gate.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;

use super::Error;
use super::common::{load_rules, load_rules_again, suppression_files};
use super::scan::{ScanSettings, Waivers, gate_options, output_specs, write_outputs};
use crate::cli::PlanArgs;
use crate::config::Config;
use crate::evaluate::evaluate;
use crate::inventory::{load_inventory_at_most, read_text_at_most};
use crate::plan::source;
use crate::report::templates::{ReportFormat, Template};
use crate::result::summary::Summary;
use crate::result::{PlanChange, PlanInfo, ScanResult, SourceLocation, Status};
use crate::rules::Severity;
use crate::text;

pub fn run(args: &PlanArgs) -> Result<u8, Error> {
    let config = Config::load(args.rules.config.as_deref())?;
    super::common::reach_s3(
        args.aws.profile.as_ref(),
        args.aws.endpoint_url.as_ref(),
        &args.aws.s3,
    )?;
    let settings = settings(args, &config)?;
    let max = config.document_limit(args.max_document_size);
    // Rules, suppressions, baseline and template are checked before the plan is read.
    let rules = load_rules(&args.rules, &config)?;
    let waivers = Waivers::load(&settings, &rules)?;
    let template = settings
        .has_html()
        .then(|| Template::load(ReportFormat::Html, args.template.as_deref()))
        .transpose()?;

    let extra = args
        .inventory
        .as_deref()
        .map(|path| load_inventory_at_most(path, max.0))
        .transpose()?;
    let file = args.plan.display().to_string();
    let planned = crate::plan::read(&read_text_at_most(&args.plan, max.0)?, &file, extra.as_ref())?;

    // As of the plan (its `timestamp`), as a saved inventory is judged as of its collection.
    let now = args.now.or(planned.after.collected_at).unwrap_or_else(Utc::now);
    let before = evaluate(&planned.before, load_rules_again(&args.rules, &config)?, now);
    let mut result = evaluate(&planned.after, rules, now);
    let counts = mark_changes(&mut result, &before);
    locate(
        &mut result,
        &planned,
        args.source.as_deref().unwrap_or(Path::new(".")),
    );
    result.plan = Some(PlanInfo {
        file,
        document: planned.kind.as_str().to_string(),
        gate: args.gate,
        introduced: counts[0],
        existing: counts[1],
        fixed: counts[2],
    });

    waivers.apply(&mut result, now.date_naive())?;
    let summary = Summary::compute(&result, settings.gate);
    write_outputs(&settings, &result, &summary, template.as_ref())?;
    Ok(summary.gate.exit_code)
}

/// The scan settings a plan's outputs, gate and waivers use.
fn settings(args: &PlanArgs, config: &Config) -> Result<ScanSettings, Error> {
    ScanSettings::checked(ScanSettings {
        source: super::common::Source::Inventory(args.plan.clone()),
        outputs: output_specs(args.format, args.output.as_ref(), config, &args.outputs),
        template: args.template.clone(),
        min_severity: args.severity.or(config.severity).unwrap_or(Severity::Info),
        color: args.color,
        gate: gate_options(args.fail_on, args.allow_partial, args.exit_zero, config),
        now: args.now,
        suppressions: suppression_files(config, &args.suppressions),
        tags: config.tags.clone(),
        baseline: args.baseline.clone().or_else(|| config.baseline.clone()),
        update_baseline: None,
        history: None,
        notify: Vec::new(),
        publish: None,
        quiet: true,
    })
}

/// Marks each finding after the plan with what the plan does to it, from the same rule on the
/// same address before the plan; returns the introduced, existing and fixed counts.
fn mark_changes(after: &mut ScanResult, before: &ScanResult) -> [usize; 3] {
    let status_before: BTreeMap<(&str, &str), Status> = before
        .findings
        .iter()
        .map(|f| {
            (
                (before.rule(f).id.as_str(), before.resource(f).id.as_str()),
                f.status,
            )
        })
        .collect();
    // An undecided finding is the plan's too when it was decidable before (or new).
    let changes: Vec<Option<PlanChange>> = after
        .findings
        .iter()
        .map(|f| {
            let key = (after.rule(f).id.as_str(), after.resource(f).id.as_str());
            match (f.status, status_before.get(&key).copied()) {
                (Status::Fail, Some(Status::Fail)) | (Status::Error, Some(Status::Error)) => {
                    Some(PlanChange::Existing)
                }
                (Status::Fail | Status::Error, _) => Some(PlanChange::Introduced),
                (Status::Pass | Status::NotApplicable, Some(Status::Fail)) => Some(PlanChange::Fixed),
                _ => None,
            }
        })
        .collect();
    let mut counts = [0; 3];
    for (f, change) in after.findings.iter_mut().zip(changes) {
        f.change = change;
        // The counts are of failing findings (and the fixed ones).
        if let Some(change) = f.change.filter(|_| f.status != Status::Error) {
            counts[change as usize] += 1;
        }
    }
    counts
}

/// Names each resource's block in the `.tf` sources under `dir`; what cannot be read there is a
/// warning, never an error (SARIF then points at the plan file).
fn locate(result: &mut ScanResult, planned: &crate::plan::Planned, dir: &Path) {
    let found = source::locate(dir, planned.configuration.as_ref());
    for warning in &found.warnings {
        eprintln!("ecaudit: warning: {}", text::terminal(warning));
    }
    for resource in &mut result.resources {
        let block = planned
            .config_addresses
            .get(&resource.id)
            .and_then(|address| found.blocks.get(address));
        resource.source = block.map(|b| SourceLocation {
            file: b.file.display().to_string(),
            line: b.line,
        });
    }
}
