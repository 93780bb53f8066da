//! `stagecraft store check [--repair]`: verify blobs, snapshots, records and tags.

use std::process::ExitCode;

use clap::Subcommand;
use miette::Result;

use super::Global;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Verify every blob against its digest, every snapshot's completeness, every cache
    /// record's blob and every tag; exit 1 when something is broken
    Check {
        /// Remove what is broken (the next build redoes it); waits until no other stagecraft
        /// process has the store open
        #[arg(long)]
        repair: bool,
    },
}

pub fn run(global: &Global, cmd: StoreCommand) -> Result<ExitCode> {
    let store = Store::open(&global.store_root())?;
    let StoreCommand::Check { repair } = cmd;
    let report = store.check(repair)?;
    // Every store's leftovers go with --repair (their owner is dead); only this store's are its
    // problems, so a build killed on another store does not fail this check.
    let (leftovers, others): (Vec<_>, Vec<_>) = crate::exec::leftovers::find()
        .into_iter()
        .partition(|l| l.of_store(&global.store_root()));
    for (l, ours) in leftovers
        .iter()
        .map(|l| (l, true))
        .chain(others.iter().map(|l| (l, false)))
    {
        if repair {
            crate::exec::leftovers::remove(l);
        }
        let verdict = match (repair, ours) {
            (true, _) => "removed ",
            (false, true) => "broken ",
            (false, false) => "note: another store's ",
        };
        println!(
            "{verdict}{}: container {} of stagecraft process {}, which no longer runs",
            l.state.display(),
            l.id,
            l.owner
        );
    }
    // Never repaired: removing another user's dir (or following their symlink) is not ours.
    let unsafe_dir = crate::rootless::runtime_dir().and_then(Result::err);
    if let Some(e) = &unsafe_dir {
        println!("broken {e}");
    }
    for p in &report.problems {
        let p = crate::ui::visible::visible_line(&p.to_string()).into_owned();
        println!("{}{p}", if repair { "removed " } else { "broken " });
    }
    println!(
        "checked {} blobs, {} snapshots, {} records, {} tags: {} problems{}",
        report.blobs,
        report.snapshots,
        report.records,
        report.tags,
        report.problems.len() + leftovers.len() + usize::from(unsafe_dir.is_some()),
        if repair && !(report.problems.is_empty() && leftovers.is_empty()) {
            " (repaired)"
        } else {
            ""
        }
    );
    Ok(
        if unsafe_dir.is_none() && ((report.problems.is_empty() && leftovers.is_empty()) || repair)
        {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}
