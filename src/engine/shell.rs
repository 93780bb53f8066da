//! A shell (or any command) in a filesystem state, over a throwaway overlay: nothing done inside
//! changes the cache. Used by `stagecraft shell` and by the TUI's `s`.

use std::path::Path;

use super::error::EngineError;
use super::lookup::Resolved;
use crate::exec::{Command, ExtraMount, RunSpec, Runtime, TtyIo, run_interactive};
use crate::snapshot::Overlay;
use crate::store::Store;

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

/// Mounts a throwaway overlay of `target` inside the store's tmp/ (unmounted when dropped).
fn view(store: &Store, target: &Resolved) -> Result<(Overlay, tempfile::TempDir), EngineError> {
    let lowers = store.snapshot(&target.layers)?;
    let scratch = store.tmp_dir("shell-")?;
    let overlay = Overlay::mount(&lowers, scratch.path())
        .map_err(|e| EngineError::Other(format!("mounting {}: {e}", target.label)))?;
    Ok((overlay, scratch))
}

/// Runs `command` (default `/bin/sh`) on the terminal in `target`, with the env, workdir and user
/// of its image config. With `tools`, runs in that image instead with `target` at /target.
/// Returns the command's exit code.
pub async fn open(
    store: &Store,
    target: &Resolved,
    tools: Option<&Resolved>,
    command: &[String],
    runtime: Option<&Path>,
) -> Result<i32, EngineError> {
    let runtime = Runtime::find(runtime).map_err(|e| EngineError::Other(e.to_string()))?;
    let (target_view, _target_scratch) = view(store, target)?;
    let tools_view = match tools {
        Some(t) => Some((view(store, t)?, t)),
        None => None,
    };
    // The process sees the target's config, or the tools image's with the target at /target.
    let (rootfs, config, mounts) = match &tools_view {
        Some(((overlay, _), t)) => (
            overlay.rootfs().to_path_buf(),
            &t.config,
            vec![ExtraMount::Bind {
                source: target_view.rootfs().to_path_buf(),
                target: "/target".into(),
                readonly: false,
            }],
        ),
        None => (
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
    let exit = run_interactive(&spec, TtyIo::Inherit)
        .await
        .map_err(|e| EngineError::Other(format!("shell in {}: {e}", target.label)))?;
    Ok(exit.code)
}
