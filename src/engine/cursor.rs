//! The state a stage's steps advance, what an executed step leaves, and what a finished stage
//! hands the stages that read from it.

use std::path::PathBuf;
use std::sync::Arc;

use super::digest::StepLayer;
use super::event::StepRef;
use crate::frontend::StageVars;
use crate::image::config::ImageState;
use crate::store::StepRecord;
use crate::store::digest::of_bytes;

/// A finished stage: what later stages start from or copy out of.
#[derive(Debug, Clone)]
pub struct StageOutput {
    /// Built ones may not be digested yet (the build's end waits for them).
    pub layers: Vec<StepLayer>,
    pub snapshots: Vec<PathBuf>,
    /// `snapshots` do not cover `layers` yet (imported hits): [`super::ctx::BuildCtx::lowers`].
    pub stale: bool,
    pub state: ImageState,
    /// Key of the stage's filesystem state: what `COPY --from` of this stage keys on.
    pub key: String,
    /// True when any step of this stage (or of its base stage) executed instead of hitting the cache.
    pub rebuilt: bool,
    pub steps: Vec<StepRecord>,
}

/// The state a stage's steps advance.
pub struct Cursor {
    pub layers: Vec<StepLayer>,
    pub snapshots: Vec<PathBuf>,
    /// The chain's top layers came from imported hits and are not extracted yet: `snapshots`
    /// is made from `layers` when a step needs the filesystem.
    pub stale: bool,
    pub state: ImageState,
    pub key: String,
    pub rebuilt: bool,
    /// The stage's ARG and ENV values with BuildKit's rules (the front end's model): what words
    /// expand against and what RUN sees. ENV is mirrored into `state` for the image config.
    pub vars: StageVars,
    pub steps: Vec<StepRecord>,
    /// This stage set CMD itself (so a later ENTRYPOINT keeps it).
    pub cmd_set: bool,
    /// No filesystem step has run yet on top of a base image.
    pub at_base: bool,
}

/// What an executed filesystem step left: the scratch dir holding its overlay upper dir.
pub struct Executed {
    pub scratch: tempfile::TempDir,
    pub upper: PathBuf,
    /// False when the step changed nothing and should add no layer (WORKDIR on an existing dir).
    pub layer: bool,
}

impl Cursor {
    /// An empty filesystem and config, before FROM.
    pub fn scratch() -> Cursor {
        Cursor {
            layers: Vec::new(),
            snapshots: Vec::new(),
            stale: false,
            state: ImageState::scratch(),
            key: String::new(),
            rebuilt: false,
            vars: StageVars::default(),
            steps: Vec::new(),
            cmd_set: false,
            at_base: false,
        }
    }

    /// Starts from a finished stage (`FROM <stage>`).
    pub fn from_stage(out: &StageOutput) -> Cursor {
        Cursor {
            layers: out.layers.clone(),
            snapshots: out.snapshots.clone(),
            stale: out.stale,
            state: out.state.clone(),
            key: out.key.clone(),
            rebuilt: out.rebuilt,
            ..Cursor::scratch()
        }
    }

    /// The record of a step that left the cursor as it is now.
    pub fn record(&self, index: usize, text: String, line: usize, key: String) -> StepRecord {
        let (config_digest, pending_config) = self.config();
        StepRecord {
            index,
            text,
            line,
            cache_key: key,
            cached: false,
            diff_id: None,
            layers: self.layers.iter().map(StepLayer::desc).collect(),
            config_digest,
            pending_config,
        }
    }

    /// Records the step that just advanced the cursor (its text is the newest history entry).
    pub fn push_step(
        &mut self,
        step: &StepRef,
        line: usize,
        key: String,
        cached: bool,
        diff_id: Option<String>,
    ) {
        let text = self
            .state
            .history
            .last()
            .map(|h| h.created_by.clone())
            .unwrap_or_default();
        let record = StepRecord {
            cached,
            diff_id,
            ..self.record(step.index, text, line, key)
        };
        self.steps.push(record);
    }

    /// The config after the last step, as its digest and its bytes (stored with the build record).
    /// A layer not digested yet has a placeholder diff_id the build's end replaces.
    fn config(&self) -> (String, Option<Arc<[u8]>>) {
        let diff_ids: Vec<String> = self.layers.iter().map(StepLayer::diff_id).collect();
        let config = self.state.to_json(&diff_ids, "");
        let bytes: Arc<[u8]> = serde_json::to_vec(&config).unwrap_or_default().into();
        (of_bytes(&bytes).to_string(), Some(bytes))
    }

    pub fn into_output(self) -> StageOutput {
        StageOutput {
            layers: self.layers,
            snapshots: self.snapshots,
            stale: self.stale,
            state: self.state,
            key: self.key,
            rebuilt: self.rebuilt,
            steps: self.steps,
        }
    }
}
