//! A shell (or any command) in a filesystem state, over a throwaway overlay: nothing done inside
//! changes the cache. Used by `stagecraft shell` and by the TUI's `s` and `S`.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::build::{BuildRecord, StepRecord, load_record};
use super::error::EngineError;
use super::lookup::{Resolved, layer_ref};
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

/// Where a failed RUN step's leftovers are kept: `failed/<name>`, named by the step and the key
/// of the state it ran on (the build record's `failed_step.cache_key`), so the record finds them.
pub fn failed_snapshot_name(stage: &str, index: usize, parent_key: &str) -> String {
    hex::encode(Sha256::digest(format!("{parent_key}\n{stage}/{index}")))
}

/// Mounts a throwaway overlay of `target` (with `top` over its layers) inside the store's tmp/
/// (unmounted when dropped).
fn view(
    store: &Store,
    target: &Resolved,
    top: Option<&Path>,
) -> Result<(Overlay, tempfile::TempDir), EngineError> {
    let mut lowers = store.snapshot(&target.layers)?;
    lowers.extend(top.map(Path::to_path_buf));
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
    open_over(store, target, None, tools, command, runtime).await
}

/// [`open`] with `top` (a failed step's leftovers, [`failed_dir`]) stacked over the target's
/// layers: the state the failure left behind. It stays as it is; a throwaway upper takes writes.
pub async fn open_over(
    store: &Store,
    target: &Resolved,
    top: Option<&Path>,
    tools: Option<&Resolved>,
    command: &[String],
    runtime: Option<&Path>,
) -> Result<i32, EngineError> {
    let runtime = Runtime::find(runtime).map_err(|e| EngineError::Other(e.to_string()))?;
    let (target_view, _target_scratch) = view(store, target, top)?;
    let tools_view = match tools {
        Some(t) => Some((view(store, t, None)?, t)),
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

/// The kept leftovers of the failed step of `stage` in `record`, if the engine kept them (only
/// a RUN that ran and exited non-zero leaves any).
pub fn failed_dir(store: &Store, record: &BuildRecord, stage: &str) -> Option<PathBuf> {
    let s = record.stages.iter().find(|s| s.label == stage)?;
    let step = s.failed_step.as_ref()?;
    let dir = store.failed_dir(&failed_snapshot_name(&s.label, step.index, &step.cache_key));
    dir.is_dir().then_some(dir)
}

/// A failed step's kept leftovers as `RUN` left them, and the state below them (its parent).
pub struct FailedState {
    pub below: Resolved,
    pub left: PathBuf,
    pub step: StepRecord,
}

/// The state the failed step of `stage` (or of the target, or the first failed stage) left
/// behind in the last build.
pub fn failed_state(store: &Store, stage: Option<&str>) -> Result<FailedState, EngineError> {
    let record = load_record(store, "last")?
        .ok_or_else(|| EngineError::Other("no build recorded in this store yet".into()))?;
    let failed = || record.stages.iter().filter(|s| s.failed_step.is_some());
    let s = match stage {
        Some(label) => record
            .stages
            .iter()
            .find(|s| s.label == label || s.index.to_string() == label),
        None => failed()
            .find(|s| s.label == record.target)
            .or_else(|| failed().next()),
    }
    .ok_or_else(|| {
        EngineError::Other(match stage {
            Some(label) => format!("no stage {label} in the last build"),
            None => "no step failed in the last build".into(),
        })
    })?;
    let step = s.failed_step.clone().ok_or_else(|| {
        EngineError::Other(format!(
            "no step of stage {} failed in the last build",
            s.label
        ))
    })?;
    let left = failed_dir(store, &record, &s.label).ok_or_else(|| {
        EngineError::Other(format!(
            "step {}/{} ({}) left no state behind: only a RUN that ran and failed keeps one",
            s.label, step.index, step.text
        ))
    })?;
    let below = Resolved {
        label: format!("{}/{} (as the failed step left it)", s.label, step.index),
        layers: step
            .layers
            .iter()
            .map(layer_ref)
            .collect::<Result<_, _>>()?,
        config: step.config(store)?,
    };
    Ok(FailedState { below, left, step })
}
