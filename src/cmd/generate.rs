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

/// The page of `path` (`[]`: ecaudit itself; `["rules", "list"]`) to standard output, or with
/// `dir` every page into that directory, one file each (`ecaudit.1`, `ecaudit-scan.1`, ...), the
/// pages `ecaudit(1)` refers to.
pub fn manpage(path: &[String], dir: Option<&std::path::Path>) -> Result<u8, Error> {
    // Built, so each subcommand's page is named and titled `ecaudit-scan`, not `scan`.
    let mut top = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    top.build();
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|source| crate::output::WriteError {
            output: dir.display().to_string(),
            source,
        })?;
        let mut written = 0;
        write_pages(&top, dir, &mut written)?;
        eprintln!(
            "ecaudit: wrote {written} man page(s) to {}",
            crate::text::terminal(&dir.display().to_string())
        );
        return Ok(0);
    }
    let mut command = &top;
    // `rules list`, `rules-list` (the page's name) and `inventory-schema` all name a page.
    let mut words: std::collections::VecDeque<&str> =
        path.iter().flat_map(|p| p.split_whitespace()).collect();
    let mut at_top = true;
    while let Some(name) = words.pop_front() {
        // `ecaudit-scan`, the page's own name, starts with the program's.
        if at_top && name == "ecaudit" {
            at_top = false;
            continue;
        }
        if command.find_subcommand(name).is_none()
            && let Some((first, rest)) = name.split_once('-')
        {
            words.push_front(rest);
            words.push_front(first);
            continue;
        }
        at_top = false;
        command = command.find_subcommand(name).ok_or_else(|| {
            let known: Vec<&str> = command
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| s.get_name())
                .collect();
            Error::Usage(format!(
                "no man page for `{}`: `{}` has the subcommands {}",
                crate::text::excerpt(&path.join(" ")),
                command.get_display_name().unwrap_or("ecaudit"),
                known.join(", ")
            ))
        })?;
    }
    Output::Stdout.write(|w| clap_mangen::Man::new(command.clone()).render(w))?;
    Ok(0)
}

fn write_pages(command: &clap::Command, dir: &std::path::Path, written: &mut usize) -> Result<(), Error> {
    let man = clap_mangen::Man::new(command.clone());
    Output::File(dir.join(man.get_filename())).write(|w| man.render(w))?;
    *written += 1;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}

pub fn inventory_schema() -> Result<u8, Error> {
    let schema = serde_json::to_string_pretty(&Inventory::json_schema()).expect("schema serializes");
    Output::Stdout.write(|w| writeln!(w, "{schema}"))?;
    Ok(0)
}
