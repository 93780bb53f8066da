use std::process::ExitCode;

use clap::Parser;
use stagecraft::cli::{self, Cli};

fn main() -> miette::Result<ExitCode> {
    let cli = Cli::parse();
    cli::run(cli)
}
