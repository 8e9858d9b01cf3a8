//! `ecaudit drift`: where live deployments (or a saved inventory) differ from Terraform.

use std::path::PathBuf;

use super::Error;
use super::common::{Look, Source, collect_live, resolve_targets};
use crate::cli::{ColorChoice, DiffFormat, DriftArgs};
use crate::config::Config;
use crate::drift::DriftError;
use crate::drift::terraform::StateError;
use crate::exit;
use crate::inventory::{Inventory, read_text_at_most};
use crate::output::Output;
use crate::plan::PlanError;
use crate::report;
use crate::size::ByteSize;

/// What `drift` does, resolved from the command line and the config file.
#[derive(Clone, Debug)]
pub struct DriftSettings {
    /// A Terraform plan or state: `terraform show -json` output, or a raw state file.
    pub state: PathBuf,
    pub source: Source,
    pub format: DiffFormat,
    pub output: Output,
    pub color: ColorChoice,
    /// The largest state or inventory read (states come from pull requests and shared backends).
    pub max_document: ByteSize,
}

impl DriftSettings {
    pub fn resolve(args: &DriftArgs, config: &Config) -> DriftSettings {
        DriftSettings {
            state: args.terraform_state.clone(),
            source: match &args.inventory {
                Some(path) => Source::Inventory(path.clone()),
                None => Source::Live(Box::new(resolve_targets(&args.targets, &config.targets))),
            },
            format: args.format,
            output: args.output.clone().unwrap_or_default(),
            color: args.color,
            max_document: config.document_limit(args.max_document_size),
        }
    }
}

pub fn run(args: &DriftArgs) -> Result<u8, Error> {
    // The config (for the size limit) and the state are read and checked before any AWS call.
    let config = Config::load(args.config.as_deref())?;
    let profile = args.targets.profile.as_ref().or(config.targets.profile.as_ref());
    super::common::reach_s3(profile, args.targets.endpoint_url.as_ref(), &args.s3)?;
    let settings = DriftSettings::resolve(args, &config);
    let file = args.terraform_state.display().to_string();
    let text = read_text_at_most(&super::common::input(&settings.state)?, settings.max_document.0)?;
    // A plan, the JSON of a state or a raw state file, in the shape of `terraform show -json`.
    let state = crate::plan::state_values(&text, &file).map_err(state_error)?;
    drift(&settings, &state)
}

/// A document `drift` cannot compare, as the command's errors put it (exit 2).
fn state_error(e: PlanError) -> Error {
    match e {
        PlanError::Invalid {
            file,
            line,
            column,
            message,
        } => DriftError::Invalid {
            file,
            line,
            column,
            message,
        }
        .into(),
        PlanError::NotTerraform { file, message } => StateError { file, message }.into(),
    }
}

fn drift(settings: &DriftSettings, state: &serde_json::Value) -> Result<u8, Error> {
    let file = settings.state.display().to_string();
    let inventory = match &settings.source {
        Source::Inventory(path) => {
            crate::inventory::load_inventory_at_most(&super::common::input(path)?, settings.max_document.0)?
        }
        Source::Live(targets) => {
            // Validate the state's shape first: an unusable state must not cost a collection.
            crate::drift::terraform::compare(&file, state, &Inventory::new())?;
            let mut parts = Vec::new();
            let (header, _) = collect_live(targets, chrono::Utc::now(), |part, deployments| {
                parts.push((part, deployments))
            })?;
            crate::collect::whole(header, parts)
        }
    };
    let drift = crate::drift::terraform::compare(&file, state, &inventory)?;
    let look = Look::new(&settings.output, settings.color);
    settings.output.write(|w| match settings.format {
        DiffFormat::Table => report::drift::state_table(&drift, look.color, look.width, w),
        DiffFormat::Json => report::drift::state_json(&drift, look.pretty, w),
        DiffFormat::Markdown => report::drift::state_markdown(&drift, w),
    })?;
    Ok(match drift.drifted {
        true => exit::FINDINGS,
        false => exit::OK,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::cli::Command;
    use crate::cmd::common::tests::{command, config};

    fn settings(args: &[&str]) -> DriftSettings {
        let mut all = vec!["drift", "--terraform-state", "state.json"];
        all.extend(args);
        let Command::Drift(args) = command(&all) else {
            unreachable!()
        };
        DriftSettings::resolve(&args, &config("[targets]\nregions = [\"eu-west-1\"]\n"))
    }

    #[test]
    fn a_saved_inventory_replaces_the_collection() {
        assert!(matches!(
            settings(&["--inventory", "inv.json"]).source,
            Source::Inventory(p) if p == Path::new("inv.json")
        ));
        let Source::Live(targets) = settings(&[]).source else {
            panic!("collects without --inventory")
        };
        assert_eq!(
            targets.regions,
            crate::collect::RegionSpec::List(vec!["eu-west-1".into()])
        );
    }
}
