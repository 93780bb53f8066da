use std::process::ExitCode;

use clap::Parser;
use stagecraft::cli::{self, Cli};

fn main() -> miette::Result<ExitCode> {
    // Before anything can start a thread: unshare(CLONE_NEWNS) moves only the calling thread.
    for warning in stagecraft::snapshot::start::enter_at_process_start() {
        eprintln!("stagecraft: warning: {warning}");
    }
    cli::pipe::exit_quietly_on_broken_pipe();
    cli::report::install();
    let cli = Cli::parse();
    cli::run(cli)
}
