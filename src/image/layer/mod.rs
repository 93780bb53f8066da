//! OCI layer tars: writing one from an overlayfs upper dir, and applying one safely into a root.

mod apply;
mod compress;
mod fsops;
mod tarfmt;
mod write;

use std::io;
use std::path::PathBuf;

pub use apply::{ApplyOptions, ApplyReport, WhiteoutMode, apply_layer};
pub use compress::{Compression, Compressor, decompress};
pub use write::{LayerStats, WriteOptions, write_layer};

/// Prefix of an OCI whiteout entry: `.wh.NAME` deletes NAME from lower layers.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// An entry with this name makes its directory opaque: lower layers' children are hidden.
pub const OPAQUE_WHITEOUT: &str = ".wh..wh..opq";
/// overlayfs marks opaque directories with this xattr (value `y`).
pub const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LayerError {
    #[error(transparent)]
    Io(#[from] crate::image::ioerr::IoError),
    #[error("layer entry {path:?} is unsafe: {reason}")]
    Hostile { path: String, reason: &'static str },
    #[error("reading layer tar: {0}")]
    Tar(#[source] io::Error),
    #[error("{path} changed while it was being archived: expected {expected} bytes, read {actual}")]
    FileChanged {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
}

pub(crate) use crate::image::ioerr::io_err;
