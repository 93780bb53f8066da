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
    /// A step failed; the message names the step, its instruction and why.
    #[error("{message}")]
    Failed { message: String },
    #[error("build cancelled")]
    Cancelled,
    #[error("{0}")]
    Other(String),
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
