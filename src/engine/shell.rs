//! A shell (or any command) in a filesystem state, over a throwaway overlay: nothing done inside
//! changes the cache. Used by `stagecraft shell` and by the TUI's `s` and `S`.

use std::path::{Path, PathBuf};

use super::error::{EngineError, LookupError};
use super::lookup::Resolved;
use crate::exec::{Command, ExtraMount, RunSpec, Runtime, TtyIo, run_interactive};
use crate::image::layer::LayerStore;
use crate::snapshot::Overlay;
use crate::store::{BuildRecord, LayerDesc, StageRecord, StepRecord, Store};

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
    let overlay = Overlay::mount(&lowers, scratch.path()).map_err(|error| EngineError::Mount {
        label: target.label.clone(),
        error,
    })?;
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

/// [`open`] with `top` (a failed step's leftovers, `Store::failed_leftovers`) stacked over the target's
/// layers: the state the failure left behind. It stays as it is; a throwaway upper takes writes.
pub async fn open_over(
    store: &Store,
    target: &Resolved,
    top: Option<&Path>,
    tools: Option<&Resolved>,
    command: &[String],
    runtime: Option<&Path>,
) -> Result<i32, EngineError> {
    let runtime = Runtime::find(runtime)?;
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
        .map_err(|error| EngineError::Shell {
            label: target.label.clone(),
            error,
        })?;
    Ok(exit.code)
}

/// The failed step of a build: the state below it (its parent) and, when the RUN ran and failed,
/// what it left behind. `stagecraft shell --failed`, `build --on-failure` and the TUI read this.
pub struct FailedState {
    pub stage: String,
    pub step: StepRecord,
    pub below: Resolved,
    left: Option<PathBuf>,
}

impl FailedState {
    /// What the failed RUN left behind; an error says why there is nothing.
    pub fn left(&self) -> Result<&Path, EngineError> {
        self.left.as_deref().ok_or_else(|| {
            LookupError::NothingLeft {
                stage: self.stage.clone(),
                index: self.step.index,
                text: self.step.text.clone(),
            }
            .into()
        })
    }

    pub fn has_left(&self) -> bool {
        self.left.is_some()
    }
}

fn state_of(
    store: &Store,
    record: &BuildRecord,
    stage: &StageRecord,
) -> Result<FailedState, EngineError> {
    let step = stage
        .failed_step
        .clone()
        .ok_or_else(|| LookupError::StageDidNotFail(stage.label.clone()))?;
    let below = Resolved {
        label: format!(
            "{}/{} (as the failed step left it)",
            stage.label, step.index
        ),
        layers: step
            .layers
            .iter()
            .map(LayerDesc::to_ref)
            .collect::<Result<_, _>>()?,
        config: step.config(store)?,
    };
    Ok(FailedState {
        stage: stage.label.clone(),
        left: store.failed_leftovers(record, &stage.label),
        step,
        below,
    })
}

/// The failed step of the last build (the target's, else the first failed stage's), if any.
pub fn last_failure(store: &Store) -> Result<Option<FailedState>, EngineError> {
    let Some(record) = store.last_build()? else {
        return Ok(None);
    };
    match record.failed_stage() {
        Some(stage) => state_of(store, &record, stage).map(Some),
        None => Ok(None),
    }
}

/// The failed step of `stage` (a label or index; without one, as [`last_failure`]) in the last
/// build, or an error that says why there is none.
pub fn failed_state(store: &Store, stage: Option<&str>) -> Result<FailedState, EngineError> {
    let record = store.last_build()?.ok_or(LookupError::NoBuild)?;
    let s = match stage {
        Some(label) => record.stage(label),
        None => record.failed_stage(),
    }
    .ok_or_else(|| match stage {
        Some(label) => LookupError::NoStage(label.to_string()),
        None => LookupError::NothingFailed,
    })?;
    state_of(store, &record, s)
}
