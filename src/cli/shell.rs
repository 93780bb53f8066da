//! `stagecraft shell TARGET [-- CMD...]`: a shell (or CMD) in a stage, a step or an image, over a
//! throwaway overlay: nothing done inside changes the cache. `--failed` opens what a failed RUN
//! left behind.

use std::process::ExitCode;

use clap::Args;
use miette::{IntoDiagnostic, Result, miette};

use super::Global;
use crate::engine::lookup::{Resolved, resolve_target};
use crate::engine::shell;
use crate::store::Store;

#[derive(Debug, Clone, Args)]
pub struct ShellArgs {
    /// A stage (`builder`) or step (`builder/3`) of the last build, or an image
    #[arg(required_unless_present = "failed")]
    pub target: Option<String>,
    /// Run inside this tools image instead, with TARGET mounted at /target (for images without a shell)
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// OCI runtime binary (default: runc, or crun, on PATH)
    #[arg(long, value_name = "PATH")]
    pub runtime: Option<std::path::PathBuf>,
    /// Open the state the failed step of TARGET's stage left behind (TARGET: `builder` or
    /// `builder/3`, the failed step; none: the target's, else the first failed stage's): its
    /// lowers plus what the failing RUN wrote before it failed
    #[arg(long)]
    pub failed: bool,
    /// Command to run instead of /bin/sh
    #[arg(last = true)]
    pub command: Vec<String>,
}

pub fn run(global: &Global, args: ShellArgs) -> Result<ExitCode> {
    super::build_backend::import_last_build(global);
    let store = Store::open(&global.store_root())?;
    let tools = match &args.image {
        Some(image) => Some(resolve_target(&store, image)?),
        None => None,
    };
    if args.failed {
        return open_failed(&store, args.target.as_deref(), tools.as_ref(), &args);
    }
    let target = resolve_target(&store, args.target.as_deref().unwrap_or_default())?;
    open(
        &store,
        &target,
        tools.as_ref(),
        args.runtime.as_deref(),
        &args.command,
    )
}

/// `--failed`: TARGET is a stage, or `stage/index` naming its failed step.
fn open_failed(
    store: &Store,
    target: Option<&str>,
    tools: Option<&Resolved>,
    args: &ShellArgs,
) -> Result<ExitCode> {
    let (stage, index) = match target.map(|t| (t, t.rsplit_once('/'))) {
        Some((_, Some((stage, i)))) if i.parse::<usize>().is_ok() => {
            (Some(stage), i.parse::<usize>().ok())
        }
        Some((t, _)) => (Some(t), None),
        None => (None, None),
    };
    let state = shell::failed_state(store, stage)?;
    if let (Some(stage), Some(i)) = (stage, index.filter(|i| *i != state.step.index)) {
        return Err(miette!(
            "step {stage}/{i} did not fail in the last build; {stage}/{} did ({})",
            state.step.index,
            state.step.text
        ));
    }
    open_left(store, &state, tools, args.runtime.as_deref(), &args.command)
}

/// Runs `command` in the state a failed step left behind (see [`shell::failed_state`]).
pub fn open_left(
    store: &Store,
    state: &shell::FailedState,
    tools: Option<&Resolved>,
    runtime: Option<&std::path::Path>,
    command: &[String],
) -> Result<ExitCode> {
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!(
            "stagecraft: shell in {} (changes are thrown away on exit)",
            state.below.label
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    let code = rt.block_on(shell::open_over(
        store,
        &state.below,
        Some(state.left()?),
        tools,
        command,
        runtime,
    ))?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
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
