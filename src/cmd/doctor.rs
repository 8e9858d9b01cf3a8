//! `ecaudit doctor`: the runbook of one deployment. Its settings are the command line's alone
//! (the config file's targets are a fleet's, not one deployment's).

use super::Error;
use crate::cli::{DoctorArgs, DoctorFormat};
use crate::collect::{AccountSpec, CollectOptions, RegionSpec};
use crate::doctor::DoctorOptions;

pub fn run(args: &DoctorArgs) -> Result<u8, Error> {
    let output = args.output.clone().unwrap_or_default();
    let options = DoctorOptions {
        deployment: args.deployment.clone(),
        collect: resolve_collect(args),
        from: args.from.clone(),
        connect: args.connect.clone(),
        auth_token_env: args.auth_token_env.clone(),
        user: args.user.clone(),
        tls_ca: match &args.tls_ca {
            Some(path) => Some(std::fs::read(path).map_err(|source| Error::Read {
                path: path.display().to_string(),
                source,
            })?),
            None => None,
        },
        timeout: std::time::Duration::from_secs(args.timeout),
    };
    let diagnosis = crate::doctor::run(&options)?;
    output.write(|w| match args.format {
        DoctorFormat::Table => crate::doctor::render_table(&diagnosis, w),
        DoctorFormat::Json => crate::doctor::render_json(&diagnosis, w),
    })?;
    Ok(diagnosis.exit_code())
}

/// How the deployment is read: the command line over the defaults of [`CollectOptions`].
fn resolve_collect(args: &DoctorArgs) -> CollectOptions {
    let defaults = CollectOptions::default();
    CollectOptions {
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
        regions: match &args.region {
            Some(r) => RegionSpec::List(vec![r.clone()]),
            None => RegionSpec::Default,
        },
        accounts: match &args.account {
            Some(a) => AccountSpec::List(vec![a.clone()]),
            None => AccountSpec::Caller,
        },
        role_name: args.role_name.clone(),
        external_id: args.external_id.clone(),
        max_attempts: args.max_attempts.unwrap_or(defaults.max_attempts),
        ..defaults
    }
}
