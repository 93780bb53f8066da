use std::sync::Arc;

use super::event::StepRef;
use crate::engine::context::ContextError;
use crate::engine::copy::CopyError;
use crate::exec::ExecError;
use crate::frontend::FrontendError;
use crate::frontend::shell::ShellError;
use crate::image::layer::LayerError;
use crate::image::registry::RegistryError;
use crate::snapshot::OverlayError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EngineError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Frontend(#[from] Box<FrontendError>),
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error("{0}")]
    Context(ContextError),
    /// Finding the OCI runtime.
    #[error("{0}")]
    Runtime(ExecError),
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("mounting {label}: {error}")]
    Mount { label: String, error: OverlayError },
    #[error("shell in {label}: {error}")]
    Shell { label: String, error: ExecError },
    #[error("image config: {0}")]
    ImageConfig(serde_json::Error),
    /// A stage failed (the target's, else the first); it names the step, its instruction and why.
    #[error("{0}")]
    Failed(Arc<StageError>),
    #[error("build cancelled")]
    Cancelled,
    #[error("# check= directive: {0}")]
    CheckDirective(String),
    /// `# check=error=true` and a check warned: the rules that did.
    #[error("{0}")]
    Checks(String),
    #[error("build task: {0}")]
    Task(tokio::task::JoinError),
    /// A lesson's working copy could not give the build its options.
    #[error("{0}")]
    Lesson(String),
    #[error("no build ran")]
    NoBuild,
    /// A built layer's tar or digest could not be made.
    #[error("layer digest: {0}")]
    Digest(String),
    /// A `--cache-to` could not be written (the image was built).
    #[error("{0}")]
    CacheExport(String),
    /// What another backend (BuildKit in a Docker daemon) reported as text, or why it could
    /// not be reached.
    #[error("{0}")]
    Backend(String),
}

// Context is kept out of the source chain on purpose: these messages already say everything
// (they also go into build records and events as text), and miette would print the cause again.
impl From<ContextError> for EngineError {
    fn from(e: ContextError) -> Self {
        EngineError::Context(e)
    }
}

impl From<ExecError> for EngineError {
    fn from(e: ExecError) -> Self {
        EngineError::Runtime(e)
    }
}

/// Naming a state of the last build (`shell`, `diff`, failure shells) that is not there.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("no build recorded in this store yet")]
    NoBuild,
    #[error("no stage {0} in the last build")]
    NoStage(String),
    #[error("no step failed in the last build")]
    NothingFailed,
    #[error("no step of stage {0} failed in the last build")]
    StageDidNotFail(String),
    #[error("stage {stage} did not finish in the last build ({error}): nothing to open")]
    Unfinished { stage: String, error: String },
    #[error(
        "step {stage}/{index} failed in the last build: it has no state after it; \
         `shell {stage} --failed` opens what it left behind, `{stage}/{before}` the state before it"
    )]
    StepFailed {
        stage: String,
        index: usize,
        before: usize,
    },
    #[error("stage {stage} has steps 0 to {last} in the last build, not {index}")]
    NoStep {
        stage: String,
        last: usize,
        index: usize,
    },
    #[error("stage {0} has no steps")]
    NoSteps(String),
    #[error(
        "step {stage}/{index} ({text}) left no state behind: only a RUN that ran and failed keeps one"
    )]
    NothingLeft {
        stage: String,
        index: usize,
        text: String,
    },
    #[error("{0:?} is neither a stage (or STAGE/STEP) of the last build nor an image in the store")]
    Unknown(String),
    #[error("image config of {target}: {error}")]
    Config {
        target: String,
        error: serde_json::Error,
    },
}

/// Why a stage produced no output; the stages that wait on it see the same error.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    // The instruction is cut: a 1 MB line must not fill the error (the plan keeps it whole).
    #[error("step {step} ({}) failed: {error}", crate::frontend::brief::line(.instruction, 200))]
    Step {
        step: StepRef,
        instruction: String,
        error: StepError,
    },
    /// FROM: the base stage or image could not be had.
    #[error("{0}")]
    Base(StepError),
    /// The base image's ONBUILD triggers.
    #[error("step {step} (FROM): {error}")]
    Onbuild { step: StepRef, error: StepError },
    #[error("cancelled")]
    Cancelled,
    #[error("no stage {0}")]
    NoStage(usize),
    #[error("stage {0} ended without a result")]
    Vanished(usize),
    #[error("internal error in stage {index}: {error}")]
    Panicked {
        index: usize,
        error: tokio::task::JoinError,
    },
}

/// Why one step failed: becomes a `step_failed` event and the build's error.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{0}")]
    Context(#[from] ContextError),
    #[error("{0}")]
    Copy(#[from] CopyError),
    #[error("{0}")]
    Exec(#[from] ExecError),
    #[error("{0}")]
    Overlay(#[from] OverlayError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Layer(#[from] LayerError),
    #[error("{0}")]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Shell(#[from] ShellError),
    #[error("process exited with code {code}")]
    Exit { code: i32, tail: Vec<String> },
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Invalid(String),
    /// `--from=NAME` with a bare name that is no stage and no image in the store.
    #[error(
        "--from={from}: no stage is named {from:?} ({stages}), and the store has no image of that \
         name; a name that is not a stage is an image reference, which would be pulled from \
         {pulled}: write the registry or a tag (e.g. {from}:latest) to pull it"
    )]
    NoSuchStage {
        from: String,
        stages: String,
        pulled: String,
    },
    /// The stage this stage starts from (`FROM stage`) failed.
    #[error("base stage failed: {0}")]
    BaseStage(Arc<StageError>),
    /// The stage a `--from` reads failed.
    #[error("{0}")]
    SourceStage(Arc<StageError>),
    #[error("extracting {base}: {error}")]
    Extract { base: String, error: Box<StepError> },
    #[error("config of {base}: {error}")]
    BaseConfig {
        base: String,
        error: serde_json::Error,
    },
    #[error("ONBUILD trigger: {0}")]
    Trigger(Box<FrontendError>),
    #[error("{0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl StepError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StepError {
        let what = what.into();
        move |source| StepError::Io { what, source }
    }

    /// A message with the last lines of output for a failed RUN.
    pub fn message(&self) -> String {
        match self {
            StepError::Exit { code, tail } if !tail.is_empty() => {
                format!(
                    "process exited with code {code}; last output:\n{}",
                    tail.join("\n")
                )
            }
            other => other.to_string(),
        }
    }
}
