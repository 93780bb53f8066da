//! `stagecraft explain [IMAGE | --last]`: what an image's layers hold, what they waste and what
//! they leak (`report`), with a CI mode (`ci`); `--provenance`: where every file of the last
//! build's image came from (`provenance`).

mod args;
pub mod ci;
pub mod packages;
mod provenance;
pub mod report;

use std::process::ExitCode;

use miette::Result;

use super::Global;

pub use args::{ExplainArgs, Format};

pub fn run(global: &Global, args: ExplainArgs) -> Result<ExitCode> {
    crate::cli::build_backend::import_last_build(global);
    if args.provenance {
        return provenance::run(global, args);
    }
    report::run(global, args)
}
