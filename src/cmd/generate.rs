//! Texts generated from definitions: shell completions and the man page (from the clap
//! definitions), and the inventory's JSON Schema (from its types).

use super::Error;
use crate::cli::Cli;
use crate::inventory::Inventory;
use crate::output::Output;

pub fn completions(shell: clap_complete::Shell) -> Result<u8, Error> {
    let mut command = <Cli as clap::CommandFactory>::command();
    Output::Stdout.write(|w| {
        clap_complete::generate(shell, &mut command, "ecaudit", w);
        Ok(())
    })?;
    Ok(0)
}

pub fn manpage() -> Result<u8, Error> {
    let command = <Cli as clap::CommandFactory>::command();
    Output::Stdout.write(|w| clap_mangen::Man::new(command).render(w))?;
    Ok(0)
}

pub fn inventory_schema() -> Result<u8, Error> {
    let schema = serde_json::to_string_pretty(&Inventory::json_schema()).expect("schema serializes");
    Output::Stdout.write(|w| writeln!(w, "{schema}"))?;
    Ok(0)
}
