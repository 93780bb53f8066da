//! `stagecraft shell TARGET [-- CMD...]`: a shell (or CMD) in a stage, a step or an image, over a
//! throwaway overlay: nothing done inside changes the cache.

use std::process::ExitCode;

use clap::Args;
use miette::{IntoDiagnostic, Result};

use super::Global;
use crate::engine::lookup::{Resolved, resolve_target};
use crate::engine::shell;
use crate::store::Store;

#[derive(Debug, Clone, Args)]
pub struct ShellArgs {
    /// A stage (`builder`) or step (`builder/3`) of the last build, or an image
    pub target: String,
    /// Run inside this tools image instead, with TARGET mounted at /target (for images without a shell)
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// OCI runtime binary (default: runc, or crun, on PATH)
    #[arg(long, value_name = "PATH")]
    pub runtime: Option<std::path::PathBuf>,
    /// Command to run instead of /bin/sh
    #[arg(last = true)]
    pub command: Vec<String>,
}

pub fn run(global: &Global, args: ShellArgs) -> Result<ExitCode> {
    let store = Store::open(&global.store_root())?;
    let target = resolve_target(&store, &args.target)?;
    let tools = match &args.image {
        Some(image) => Some(resolve_target(&store, image)?),
        None => None,
    };
    open(
        &store,
        &target,
        tools.as_ref(),
        args.runtime.as_deref(),
        &args.command,
    )
}

/// Runs `command` (default `/bin/sh`) in `target` over a throwaway overlay, or in `tools` with
/// the target at /target; returns the process's exit code. Blocks (its own runtime).
pub fn open(
    store: &Store,
    target: &Resolved,
    tools: Option<&Resolved>,
    runtime: Option<&std::path::Path>,
    command: &[String],
) -> Result<ExitCode> {
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!(
            "stagecraft: shell in {} (changes are thrown away on exit)",
            target.label
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    let code = rt.block_on(shell::open(store, target, tools, command, runtime))?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
