//! Command-line interface: one file per subcommand. Each turns flags into library calls and an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod build;
pub mod build_args;
mod build_backend;
pub mod build_flags;
pub mod build_result;
pub mod cache;
pub mod diff;
pub mod explain;
pub mod image;
pub mod inspect;
pub mod learn;
pub mod on_failure;
pub mod pipe;
pub mod plan;
pub mod plan_check;
pub mod report;
pub mod shell;
pub mod shell_integration;
pub mod store;
pub mod tui;

#[derive(Debug, Parser)]
#[command(
    name = "stagecraft",
    version,
    about = "Build container images from Dockerfiles and watch, debug and explain the build"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every subcommand understands.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Store directory (default: $XDG_DATA_HOME/stagecraft)
    #[arg(long, global = true, env = "STAGECRAFT_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
}

impl Global {
    /// The store root: `--root`, `STAGECRAFT_ROOT`, or `$XDG_DATA_HOME/stagecraft`.
    pub fn store_root(&self) -> PathBuf {
        if let Some(root) = &self.root {
            return root.clone();
        }
        dirs_next::data_dir()
            .unwrap_or_else(|| PathBuf::from("/var/lib"))
            .join("stagecraft")
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build an image from a Dockerfile, showing the build live
    Build(Box<build::BuildArgs>),
    /// Explain an image: layer sizes, wasted bytes, efficiency, secrets, hints; --ci gates on them
    Explain(explain::ExplainArgs),
    /// Explore an image in the terminal: layers, file trees with changes, wasted space, extract
    Inspect(inspect::InspectArgs),
    /// Manage images in the store: import, ls, rm, history, export
    Image {
        #[command(subcommand)]
        command: image::ImageCommand,
    },
    /// The build cache: du, ls, prune
    Cache {
        #[command(subcommand)]
        command: cache::CacheCommand,
    },
    /// The store itself: check (and repair) its consistency
    Store {
        #[command(subcommand)]
        command: store::StoreCommand,
    },
    /// Open a shell (or run CMD) in a stage or step of the last build, or in an image
    Shell(shell::ShellArgs),
    /// Compare two stages, steps or images: added, removed and modified paths, sizes, text diffs
    Diff(diff::DiffArgs),
    /// Show the stage graph of a Dockerfile: stages, what feeds what, what --target skips
    Plan(plan::PlanArgs),
    /// Replay a recorded build in the terminal UI
    Tui(tui::TuiArgs),
    /// Lessons on multi-stage builds: list them, or open lesson N beside its live build
    Learn(learn::LearnArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish, powershell
    Completions(shell_integration::CompletionsArgs),
    /// Print the man page (roff), or write one per subcommand with --dir
    Man(shell_integration::ManArgs),
}

pub fn run(cli: Cli) -> miette::Result<ExitCode> {
    // Containers of a stagecraft that was killed go first; `store check` lists them instead.
    if !matches!(cli.command, Some(Command::Store { .. })) {
        crate::exec::leftovers::remove_all();
    }
    match cli.command {
        // On a terminal in a directory with a Dockerfile, bare `stagecraft` builds it in the TUI.
        None if std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::path::Path::new("Dockerfile").is_file() =>
        {
            build::run(&cli.global, build::BuildArgs::current_dir())
        }
        None => {
            use clap::CommandFactory;
            Cli::command()
                .print_help()
                .map_err(|e| miette::miette!("{e}"))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Build(args)) => build::run(&cli.global, *args),
        Some(Command::Cache { command }) => cache::run(&cli.global, command),
        Some(Command::Store { command }) => store::run(&cli.global, command),
        Some(Command::Diff(args)) => diff::run(&cli.global, args),
        Some(Command::Explain(args)) => explain::run(&cli.global, args),
        Some(Command::Inspect(args)) => inspect::run(&cli.global, args),
        Some(Command::Image { command }) => image::run(&cli.global, command),
        Some(Command::Plan(args)) => plan::run(&cli.global, args),
        Some(Command::Shell(args)) => shell::run(&cli.global, args),
        Some(Command::Tui(args)) => tui::run(&cli.global, args),
        Some(Command::Learn(args)) => learn::run(&cli.global, args),
        Some(Command::Completions(args)) => shell_integration::completions(args),
        Some(Command::Man(args)) => shell_integration::man(args),
    }
}
