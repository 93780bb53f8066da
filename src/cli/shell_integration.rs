//! `stagecraft completions SHELL` and `stagecraft man`: generated from the clap definitions, so
//! they never fall behind the flags.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write stagecraft.1 and one page per subcommand (stagecraft-build.1, …) into DIR instead of
    /// printing stagecraft.1
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> miette::Result<ExitCode> {
    let mut cmd = Cli::command();
    // Into a buffer first: clap_complete panics when its writer fails (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "stagecraft", &mut script);
    super::pipe::write_stdout(&script)
        .map_err(|e| miette::miette!("writing the completions: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

pub fn man(args: ManArgs) -> miette::Result<ExitCode> {
    let cmd = Cli::command();
    let io = |e: std::io::Error| miette::miette!("writing the man page: {e}");
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(io)?;
            clap_mangen::generate_to(cmd, &dir).map_err(io)?;
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page).map_err(io)?;
            super::pipe::write_stdout(&page).map_err(io)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
