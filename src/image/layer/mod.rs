//! OCI layer tars: writing one from an overlayfs upper dir, applying one safely into a root, and
//! the store's layer work built on them ([`LayerStore`]: commit, unpack, compress for export).

mod apply;
mod commit;
mod compress;
mod fsops;
mod recompress;
pub mod sparse;
mod tarfmt;
mod unpack;
mod write;
pub mod xattrs;

use std::io;
use std::path::{Path, PathBuf};

pub use apply::{ApplyOptions, ApplyReport, WhiteoutMode, apply_layer};
pub use commit::{CommittedLayer, LayerOptions, digest_built};
pub use compress::{Compression, Compressor, decompress};
pub(crate) use recompress::compress_blob;
pub use write::{LayerStats, WriteOptions, layer_stats, write_layer};

use crate::store::{LayerRef, ResolvedImage, Store, StoreError};

/// What the store does with layer tars. The store keeps blobs and snapshot dirs and knows no tar
/// format; these methods live here, above it, so `store` never imports `image`.
pub trait LayerStore {
    /// Writes the layer tar of `diff_dir` (an overlay upper dir or any plain directory) into
    /// the store as a blob. Never holds the layer in memory.
    fn commit_layer(
        &self,
        diff_dir: &Path,
        opts: &LayerOptions,
    ) -> Result<CommittedLayer, LayerError>;
    /// The extracted dir of every layer of the chain, lowest first, extracting what is missing.
    fn snapshot(&self, layers: &[LayerRef]) -> Result<Vec<PathBuf>, LayerError>;
    /// `image` with every plain-tar layer stored `compression`-compressed: the same image if
    /// there is nothing to do, else a new (untagged) manifest in the store.
    fn with_compressed_layers(
        &self,
        image: &ResolvedImage,
        compression: Compression,
    ) -> Result<ResolvedImage, LayerError>;
}

impl LayerStore for Store {
    fn commit_layer(
        &self,
        diff_dir: &Path,
        opts: &LayerOptions,
    ) -> Result<CommittedLayer, LayerError> {
        commit::commit(self, diff_dir, opts)
    }

    fn snapshot(&self, layers: &[LayerRef]) -> Result<Vec<PathBuf>, LayerError> {
        unpack::unpack(self, layers)
    }

    fn with_compressed_layers(
        &self,
        image: &ResolvedImage,
        compression: Compression,
    ) -> Result<ResolvedImage, LayerError> {
        recompress::with_compressed_layers(self, image, compression)
    }
}

/// Prefix of an OCI whiteout entry: `.wh.NAME` deletes NAME from lower layers.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// An entry with this name makes its directory opaque: lower layers' children are hidden.
pub const OPAQUE_WHITEOUT: &str = ".wh..wh..opq";
/// overlayfs marks opaque directories with this xattr (value `y`).
pub const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LayerError {
    #[error(transparent)]
    Io(#[from] crate::store::ioerr::IoError),
    #[error(transparent)]
    Store(#[from] StoreError),
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

pub(crate) use crate::store::ioerr::io_err;
