//! `ecaudit diff`: what drifted between two inventories or two scan results.

use std::path::{Path, PathBuf};

use super::Error;
use super::common::{Look, load_rules, load_rules_again, load_suppressions, suppression_files};
use crate::cli::{ColorChoice, DiffArgs, DiffFormat};
use crate::config::Config;
use crate::drift::{DriftError, FindingState, Input, Reach, reach_of_document};
use crate::exit;
use crate::inventory::Inventory;
use crate::output::Output;
use crate::report;
use crate::result::{DriftReport, Side};
use crate::rules::RuleSet;
use crate::suppress::{Suppression, TagPolicy};

/// What `diff` does, resolved from the command line and the config file.
#[derive(Clone, Debug)]
pub struct DiffSettings {
    pub old: PathBuf,
    pub new: PathBuf,
    /// Applied to both inventories' findings: the config's, then the command line's.
    pub suppressions: Vec<PathBuf>,
    /// Which resource tags may suppress (`[suppress]` of the config), as a scan's.
    pub tags: TagPolicy,
    pub format: DiffFormat,
    pub output: Output,
    pub color: ColorChoice,
}

impl DiffSettings {
    pub fn resolve(args: &DiffArgs, config: &Config) -> DiffSettings {
        DiffSettings {
            old: args.old.clone(),
            new: args.new.clone(),
            suppressions: suppression_files(config, &args.suppressions),
            tags: config.tags.clone(),
            format: args.format,
            output: args.output.clone().unwrap_or_default(),
            color: args.color,
        }
    }
}

pub fn run(args: &DiffArgs) -> Result<u8, Error> {
    let config = Config::load(args.rules.config.as_deref())?;
    super::common::reach_s3(
        args.aws.profile.as_ref(),
        args.aws.endpoint_url.as_ref(),
        &args.aws.s3,
    )?;
    let settings = DiffSettings::resolve(args, &config);
    // Each evaluation consumes a rule set: two inventories need a second one (loaded quietly: the
    // first one's warnings are the same).
    let first = load_rules(&args.rules, &config)?;
    diff(&settings, first, || load_rules_again(&args.rules, &config))
}

fn diff(
    settings: &DiffSettings,
    first: RuleSet,
    rules: impl Fn() -> Result<RuleSet, Error>,
) -> Result<u8, Error> {
    // Rules, config and suppressions are checked before either document is read.
    let suppressions = load_suppressions(&settings.suppressions, &first)?;
    let old = Input::read(&super::common::input(&settings.old)?)?;
    let new = Input::read(&super::common::input(&settings.new)?)?;
    let (old_side, new_side) = (side(&settings.old, &old), side(&settings.new, &new));
    let report = match (&old, &new) {
        (Input::Inventory(a), Input::Inventory(b)) => DriftReport::new(
            old_side,
            new_side,
            crate::drift::diff(a, b),
            crate::drift::transitions(
                &findings(a, first, suppressions.clone(), &settings.tags),
                &findings(b, rules()?, suppressions, &settings.tags),
                [
                    &Reach::new(&a.coverage, NO_RULES),
                    &Reach::new(&b.coverage, NO_RULES),
                ],
            ),
        ),
        (Input::Scan(a), Input::Scan(b)) => {
            DriftReport::new(old_side, new_side, crate::drift::scan_deployments(a, b), {
                // Compare only what both results list.
                let min = a.scan.min_severity.max(b.scan.min_severity);
                crate::drift::transitions(
                    &a.findings.at_or_above(min),
                    &b.findings.at_or_above(min),
                    [&reach_of_document(a), &reach_of_document(b)],
                )
            })
        }
        _ => {
            return Err(DriftError::Mixed {
                old: old_side.file,
                old_kind: old.described(),
                new: new_side.file,
                new_kind: new.described(),
            }
            .into());
        }
    };
    let look = Look::new(&settings.output, settings.color);
    settings.output.write(|w| match settings.format {
        DiffFormat::Table => report::drift::table(&report, look.color, look.width, w),
        DiffFormat::Json => report::drift::json(&report, look.pretty, w),
        DiffFormat::Markdown => report::drift::markdown(&report, w),
    })?;
    Ok(match report.drifted {
        true => exit::FINDINGS,
        false => exit::OK,
    })
}

/// Both inventories are evaluated with the same rules: only their coverage limits the reach.
const NO_RULES: Option<[&str; 0]> = None;

/// One side of the comparison, as the report names it.
fn side(path: &Path, input: &Input) -> Side {
    Side {
        file: path.display().to_string(),
        document: input.kind().into(),
        collected_at: match input {
            Input::Inventory(i) => i.collected_at,
            Input::Scan(s) => s.scan.collected_at,
        },
        deployments: match input {
            Input::Inventory(i) => i.deployments.len(),
            Input::Scan(s) => s.findings.resources.len(),
        },
    }
}

/// Findings of an inventory for a diff: evaluated as of its collection time, suppressions applied.
fn findings(
    inventory: &Inventory,
    rules: RuleSet,
    suppressions: Vec<Suppression>,
    tags: &TagPolicy,
) -> Vec<FindingState> {
    let now = inventory.collected_at.unwrap_or_else(chrono::Utc::now);
    let mut result = crate::evaluate::evaluate(inventory, rules, now);
    crate::suppress::apply(&mut result, suppressions, tags, now.date_naive());
    crate::drift::finding_states(&result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;
    use crate::cmd::common::tests::{command, config};

    #[test]
    fn suppressions_of_the_config_come_first() {
        let Command::Diff(args) = command(&["diff", "a.json", "b.json", "--suppressions", "cli.yaml"]) else {
            unreachable!()
        };
        let settings = DiffSettings::resolve(&args, &config("[scan]\nsuppressions = [\"config.yaml\"]\n"));
        assert_eq!(
            settings.suppressions,
            vec![PathBuf::from("config.yaml"), PathBuf::from("cli.yaml")]
        );
        assert!(settings.output.is_stdout());
    }
}
