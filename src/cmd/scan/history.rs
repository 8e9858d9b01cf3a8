//! Nightly mode (`scan --history DIR`): this run's inventory compared with the newest earlier
//! run of the directory, the drift put into the outputs, and this run recorded there.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::cmd::Error;
use crate::history::Recorded;
use crate::inventory::{Deployment, Document, Inventory, InventoryError, Spooled, read_text};
use crate::report;
use crate::result::ScanResult;
use crate::result::Summary;
use crate::result::document;
use crate::result::sla::Sla;
use crate::rules::Severity;
use crate::text;

/// This run's inventory, where `--history` needs it whole: loaded from a file
/// (`scan --inventory`), or spooled to disk while collected.
pub enum ThisRun {
    Loaded(Inventory),
    Spooled { header: Inventory, spooled: Spooled },
}

impl ThisRun {
    /// Everything but the deployments.
    fn header(&self) -> &Inventory {
        match self {
            ThisRun::Loaded(inventory) => inventory,
            ThisRun::Spooled { header, .. } => header,
        }
    }

    fn len(&self) -> usize {
        match self {
            ThisRun::Loaded(inventory) => inventory.deployments.len(),
            ThisRun::Spooled { spooled, .. } => spooled.len(),
        }
    }

    /// The deployments in order; a spooled inventory's are read back a unit at a time.
    fn deployments(&self) -> Box<dyn Iterator<Item = Result<Cow<'_, Deployment>, InventoryError>> + '_> {
        match self {
            ThisRun::Loaded(inventory) => {
                Box::new(inventory.deployments.iter().map(|d| Ok(Cow::Borrowed(d))))
            }
            ThisRun::Spooled { spooled, .. } => Box::new(spooled.iter().map(|d| {
                d.map(Cow::Owned).map_err(|source| InventoryError::Io {
                    path: "(this run's inventory, spooled to disk)".into(),
                    source,
                })
            })),
        }
    }

    /// The inventory document, compact, and a newline.
    fn write(&self, w: &mut dyn Write) -> io::Result<()> {
        match self {
            ThisRun::Loaded(inventory) => report::write_json(inventory, false, w),
            ThisRun::Spooled { header, spooled } => {
                report::write_json(&spooled.with_header(header), false, w)
            }
        }
    }
}

/// This run's place in a `--history` directory: where it goes, once its outputs are written.
pub struct Recorder {
    history: crate::history::History,
    dir: PathBuf,
    stamp: String,
    /// The runs ecaudit recorded before this one: the only ones `--keep` may delete.
    earlier: Vec<Recorded>,
}

impl Recorder {
    /// Writes this run's inventory and result (atomically), then keeps only the newest `keep`
    /// (this one included).
    pub fn record(
        self,
        inventory: &ThisRun,
        result: &ScanResult,
        summary: &Summary,
        keep: usize,
    ) -> Result<(), Error> {
        let run = self.history.run(&self.stamp);
        // The inventory first: a run whose result is there is complete.
        self.history
            .output(&run.inventory)
            .write(|w| inventory.write(w))?;
        self.history
            .output(&run.scan)
            .write(|w| document::write(result, summary, Severity::Info, false, w))?;
        let pruned = self.history.prune(keep, &self.earlier)?;
        eprintln!(
            "ecaudit: recorded run {} in {}{}",
            self.stamp,
            text::terminal(&self.dir.display().to_string()),
            if pruned.is_empty() {
                String::new()
            } else {
                format!("; removed {} older run(s), keeping {keep}", pruned.len())
            }
        );
        Ok(())
    }
}

/// Compares this run with the newest run recorded before it in `dir` (the drift goes into the
/// outputs; findings in a unit that run could not read are compared with the newest older run
/// that read it), dates each failing finding from the runs before (`first_seen`, its age and, with
/// `sla`, whether it is overdue) and returns where this run will be recorded. Files named like
/// runs that are not (dated after this run, not written by ecaudit, unreadable) are warnings
/// and ignored; an earlier run that cannot be read or compared is a warning, and the next older
/// one is tried: never a lost scan, never a run taken for one where everything passed. Neither
/// inventory is held parsed whole: the earlier one's deployments are parsed one at a time from
/// its text, this run's read back from its spool; earlier results are read one at a time.
pub fn compare_with_history(
    dir: &Path,
    inventory: &ThisRun,
    result: &mut ScanResult,
    sla: Option<&Sla>,
) -> Result<Recorder, Error> {
    use crate::drift::{DriftError, FindingState, Reach};
    use crate::result::{DriftReport, InventoryDrift, Side};
    let history = crate::history::History::open(dir)?;
    let stamp = history.stamp(chrono::Utc::now());
    let survey = history.survey(&stamp, result.evaluated_at)?;
    for ignored in &survey.ignored {
        eprintln!(
            "ecaudit: warning: history {}: {}; ignored, and never deleted",
            text::terminal(&dir.display().to_string()),
            text::terminal(&ignored.to_string())
        );
    }
    // The deployments that drifted since the newest earlier run whose inventory reads.
    let compare = |prev: &crate::history::Run| -> Result<(Side, Side, InventoryDrift), DriftError> {
        let file = history.shown(&prev.inventory);
        let text = read_text(&prev.inventory)?;
        let old = Document::parse(&text, &file)?;
        let drift = crate::drift::diff_each(
            old.len(),
            |i| old.deployment(i).map(Cow::Owned),
            inventory.deployments(),
            &old.header.coverage,
            &inventory.header().coverage,
        )?;
        let side = |file: String, header: &Inventory, deployments| Side {
            file,
            document: "inventory".into(),
            collected_at: header.collected_at,
            deployments,
        };
        Ok((
            side(file, &old.header, old.len()),
            side(
                history.shown(&history.run(&stamp).inventory),
                inventory.header(),
                inventory.len(),
            ),
            drift,
        ))
    };
    let tonight = crate::drift::reach_of(result);
    let mut walk = crate::history::age::Walk::new(result);
    let mut deployments = None;
    // The earlier runs findings are compared with: the newest, and older ones for the units
    // it could not read.
    let mut earlier: Vec<(Vec<FindingState>, Reach)> = Vec::new();
    let past_gap = |earlier: &[(Vec<FindingState>, Reach)]| {
        let reaches: Vec<&Reach> = earlier.iter().map(|(_, r)| r).collect();
        earlier.is_empty() || crate::drift::looks_past_a_gap(&tonight, &reaches)
    };
    for prev in &survey.earlier {
        if walk.done() && deployments.is_some() && !past_gap(&earlier) {
            break;
        }
        let saved = match crate::drift::read_finding_states(&prev.run.scan) {
            Ok(saved) => saved,
            Err(e) => {
                eprintln!(
                    "ecaudit: warning: the previous run {} cannot be read, and is skipped: {}",
                    prev.run.stamp,
                    text::terminal(&e.to_string())
                );
                continue;
            }
        };
        if deployments.is_none() {
            let compared = history
                .fetch(&prev.run.inventory)
                .map_err(|e| e.to_string())
                .and_then(|()| compare(&prev.run).map_err(|e| e.to_string()));
            match compared {
                Ok(drift) => deployments = Some(drift),
                Err(e) => eprintln!(
                    "ecaudit: warning: the previous run {} cannot be compared: {}",
                    prev.run.stamp,
                    text::terminal(&e)
                ),
            }
        }
        walk.step(&saved);
        if past_gap(&earlier) {
            earlier.push((saved.states, saved.reach));
        }
    }
    if let Some((old, new, drift)) = deployments {
        let (states, reach) = crate::drift::composite(&earlier);
        let moved = crate::drift::mark(&states, &reach, result);
        result.drift = Some(DriftReport::new(old, new, drift, moved));
    }
    walk.finish(result, sla);
    Ok(Recorder {
        history,
        dir: dir.to_path_buf(),
        stamp,
        earlier: survey.earlier,
    })
}
