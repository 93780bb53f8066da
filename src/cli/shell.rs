//! `stagecraft shell TARGET [-- CMD...]`: a shell (or CMD) in a stage, a step or an image, over a
//! throwaway overlay: nothing done inside changes the cache.

use std::process::ExitCode;

use clap::Args;
use miette::{IntoDiagnostic, Result, miette};

use super::Global;
use crate::engine::lookup::{Resolved, resolve_target};
use crate::exec::{Command, ExtraMount, RunSpec, Runtime, TtyIo, run_interactive};
use crate::snapshot::Overlay;
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

fn config_strings(config: &serde_json::Value, key: &str) -> Vec<String> {
    config["config"][key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn config_str(config: &serde_json::Value, key: &str) -> String {
    config["config"][key]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Mounts a throwaway overlay of `target` inside the store's tmp/.
fn view(store: &Store, target: &Resolved) -> Result<(Overlay, tempfile::TempDir)> {
    let lowers = store.snapshot(&target.layers)?;
    let scratch = store.tmp_dir("shell-")?;
    let overlay = Overlay::mount(&lowers, scratch.path()).map_err(|e| miette!("{e}"))?;
    Ok((overlay, scratch))
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
/// the target at /target; returns the process's exit code.
pub fn open(
    store: &Store,
    target: &Resolved,
    tools: Option<&Resolved>,
    runtime: Option<&std::path::Path>,
    command: &[String],
) -> Result<ExitCode> {
    let runtime = Runtime::find(runtime).map_err(|e| miette!("{e}"))?;
    let (target_view, _target_scratch) = view(store, target)?;
    let tools_view = match tools {
        Some(t) => Some(view(store, t)?),
        None => None,
    };
    // The process sees the target's config, or the tools image's with the target at /target.
    let (rootfs, config, mounts) = match (&tools_view, tools) {
        (Some((overlay, _)), Some(t)) => (
            overlay.rootfs().to_path_buf(),
            &t.config,
            vec![ExtraMount::Bind {
                source: target_view.rootfs().to_path_buf(),
                target: "/target".into(),
                readonly: false,
            }],
        ),
        _ => (
            target_view.rootfs().to_path_buf(),
            &target.config,
            Vec::new(),
        ),
    };
    let argv = if command.is_empty() {
        vec!["/bin/sh".to_string()]
    } else {
        command.to_vec()
    };
    let mut spec = RunSpec::new(
        rootfs,
        Command::Exec(argv),
        runtime,
        store.root().join("tmp"),
    );
    spec.env = config_strings(config, "Env");
    spec.cwd = config_str(config, "WorkingDir");
    spec.user = config_str(config, "User");
    spec.mounts = mounts;
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
    let exit = rt
        .block_on(run_interactive(&spec, TtyIo::Inherit))
        .map_err(|e| miette!("{e}"))?;
    Ok(ExitCode::from(u8::try_from(exit.code).unwrap_or(1)))
}
