//! Committing a diff directory as a layer blob in one streaming pass: tar → sha256 (diff_id)
//! → compressor (all cores) → sha256 (digest) → `tmp/` → `blobs/sha256/`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, Digest};

use super::{Compression, Compressor, LayerError, WriteOptions, io_err, write_layer};
use crate::store::digest::HashingWriter;
use crate::store::{BuiltLayer, LayerInfo, Store};

#[derive(Debug, Clone, Default)]
pub struct LayerOptions {
    pub compression: Compression,
    /// Clamp mtimes to this (`SOURCE_DATE_EPOCH`) for reproducible layers.
    pub source_date_epoch: Option<u64>,
    /// Snapshot dirs of the layers below, topmost first; only used to count added vs modified.
    pub lowers: Vec<PathBuf>,
}

/// A layer blob now in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedLayer {
    /// Descriptor of the (compressed) blob, for the manifest.
    pub descriptor: Descriptor,
    /// sha256 of the uncompressed tar, for the config's `rootfs.diff_ids`.
    pub diff_id: Digest,
    /// Uncompressed size.
    pub size: u64,
    pub added: u64,
    pub modified: u64,
    pub removed: u64,
}

impl CommittedLayer {
    pub fn info(&self) -> LayerInfo {
        LayerInfo {
            digest: self.descriptor.digest().to_string(),
            diff_id: self.diff_id.to_string(),
            size: self.size,
            compressed_size: self.descriptor.size(),
            added: self.added,
            modified: self.modified,
            removed: self.removed,
        }
    }
}

/// Writes the layer tar of `diff_dir` (an overlay upper dir or any plain directory) into the
/// store. Never holds the layer in memory.
pub(super) fn commit(
    store: &Store,
    diff_dir: &Path,
    opts: &LayerOptions,
) -> Result<CommittedLayer, LayerError> {
    let blob = store.blob_writer()?;
    let wopts = WriteOptions {
        source_date_epoch: opts.source_date_epoch,
        lowers: opts.lowers.clone(),
    };
    let (digest, compressed, diff_id, size, stats) = if opts.compression == Compression::None {
        // The blob is the tar: one hash serves as both digest and diff_id.
        let out = BufWriter::with_capacity(1 << 20, blob);
        let (out, stats) = write_layer(diff_dir, out, &wopts)?;
        let blob = out
            .into_inner()
            .map_err(|e| io_err("write layer of", diff_dir)(e.into_error()))?;
        let (digest, size) = blob.commit(None)?;
        (digest.clone(), size, digest, size, stats)
    } else {
        let compressor = Compressor::new(opts.compression, blob)
            .map_err(io_err("start compressor for", diff_dir))?;
        // The tar writer emits 512-byte headers; batch them before hashing and compressing.
        let out = BufWriter::with_capacity(1 << 20, HashingWriter::new(compressor));
        let (out, stats) = write_layer(diff_dir, out, &wopts)?;
        let hashing = out
            .into_inner()
            .map_err(|e| io_err("write layer of", diff_dir)(e.into_error()))?;
        let (mut compressor, diff_id, size) = hashing.finish();
        compressor
            .flush()
            .map_err(io_err("write layer of", diff_dir))?;
        let blob = compressor
            .finish()
            .map_err(io_err("compress layer of", diff_dir))?;
        let (digest, compressed) = blob.commit(None)?;
        (digest, compressed, diff_id, size, stats)
    };
    Ok(CommittedLayer {
        descriptor: Descriptor::new(opts.compression.media_type(), compressed, digest),
        diff_id,
        size,
        added: stats.added,
        modified: stats.modified,
        removed: stats.removed,
    })
}

/// Writes the layer tar of built snapshot `id` (`snapshots/<id>/fs`) as a plain-tar blob and
/// records its digests beside it (compressing is an export's job); returns what was recorded
/// before when it already was. `counts` are the step's (added, modified, removed), from the stat
/// walk that had the lower layers at hand.
pub fn digest_built(
    store: &Store,
    id: &str,
    source_date_epoch: Option<u64>,
    counts: (u64, u64, u64),
) -> Result<BuiltLayer, LayerError> {
    if let Some(done) = store.built_layer(id) {
        return Ok(done);
    }
    let opts = LayerOptions {
        compression: Compression::None,
        source_date_epoch,
        lowers: Vec::new(),
    };
    let c = commit(store, &store.built_dir(id), &opts)?;
    let layer = BuiltLayer {
        digest: c.descriptor.digest().to_string(),
        media_type: c.descriptor.media_type().to_string(),
        compressed_size: c.descriptor.size(),
        diff_id: c.diff_id.to_string(),
        size: c.size,
        added: counts.0,
        modified: counts.1,
        removed: counts.2,
    };
    store.record_built(id, &layer)?;
    Ok(layer)
}
