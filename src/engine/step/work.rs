//! What an executor returns: a description of the step for the solver to key, run and commit.

use std::future::Future;
use std::path::PathBuf;

use futures::future::BoxFuture;

use super::super::cache::StepInputs;
use super::super::cursor::Executed;
use super::super::error::StepError;

/// What an executor hands the solver.
pub enum Work<'a> {
    /// Changes the image config only (ENV, LABEL, CMD, …): keyed on this text.
    Config { created_by: String },
    /// Changes the filesystem.
    Fs(Box<FsWork<'a>>),
}

/// A filesystem step: keyed on `inputs`; on a miss, `run` executes it over the parent's
/// snapshot dirs (lowest first) and returns the overlay upper dir it left.
pub struct FsWork<'a> {
    pub inputs: StepInputs,
    pub created_by: String,
    pub run: RunFn<'a>,
}

/// Executes a filesystem step over the parent's snapshot dirs.
pub type RunFn<'a> =
    Box<dyn FnOnce(Vec<PathBuf>) -> BoxFuture<'a, Result<Executed, StepError>> + Send + 'a>;

impl<'a> Work<'a> {
    pub fn fs<F, Fut>(inputs: StepInputs, created_by: String, run: F) -> Work<'a>
    where
        F: FnOnce(Vec<PathBuf>) -> Fut + Send + 'a,
        Fut: Future<Output = Result<Executed, StepError>> + Send + 'a,
    {
        Work::Fs(Box::new(FsWork {
            inputs,
            created_by,
            run: Box::new(move |lowers| Box::pin(run(lowers))),
        }))
    }
}
