//! Errors of the analyze module: reading layer dirs, files and build records.

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AnalyzeError {
    #[error(transparent)]
    Io(#[from] crate::image::ioerr::IoError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error("{0}")]
    Record(String),
}

pub(crate) use crate::image::ioerr::io_err;
