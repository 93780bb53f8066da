//! The one I/O error of the image, store and analysis layers: what was being done, to which path.
//! Each module's error enum wraps it (`Io(#[from] IoError)`), so `map_err(io_err(..))?` works in all.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
pub struct IoError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Attaches the action and path to an `io::Error`.
pub fn io_err(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> IoError {
    let path = path.into();
    move |source| IoError {
        action,
        path,
        source,
    }
}
