//! Errors of the analyze module: reading layer dirs, files and build records.

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AnalyzeError {
    #[error(transparent)]
    Io(#[from] crate::store::ioerr::IoError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Layer(#[from] crate::image::layer::LayerError),
    #[error("{0}")]
    Record(String),
}

pub(crate) use crate::store::ioerr::io_err;
