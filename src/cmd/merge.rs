//! `ecaudit merge`: the outputs of a sharded run joined into one inventory or one scan result.
//! The command line holds all its settings.

use super::Error;
use crate::cli::MergeArgs;
use crate::merge::Merged;
use crate::report;

pub fn run(args: &MergeArgs) -> Result<u8, Error> {
    super::common::reach_s3(
        args.aws.profile.as_ref(),
        args.aws.endpoint_url.as_ref(),
        &args.aws.s3,
    )?;
    let output = args.output.clone().unwrap_or_default();
    let files = args
        .files
        .iter()
        .map(|f| super::common::input(f))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = crate::merge::merge(&files)?;
    let (what, count) = match &merged {
        Merged::Inventory(i) => ("inventory", i.deployments.len()),
        Merged::Scan(s) => ("scan result", s.summary.deployments),
    };
    let pretty = output.is_terminal();
    output.write(|w| match &merged {
        Merged::Inventory(i) => report::write_json(i, pretty, w),
        Merged::Scan(s) => report::write_json(s, pretty, w),
    })?;
    eprintln!(
        "ecaudit: merged {} shard(s) into one {what}: {count} deployment(s)",
        args.files.len()
    );
    Ok(0)
}
