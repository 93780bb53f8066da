//! Unpacking a chain of layers into the store's `snapshots/<chain-id>/fs`, each layer once
//! (whiteouts kept as overlayfs whiteouts), ready to be overlay lower dirs. The store owns where
//! snapshots live and how one appears (one rename of a completed dir); this side owns the tar.

use std::fs;
use std::path::PathBuf;

use oci_spec::image::Digest;

use super::{ApplyOptions, LayerError, WhiteoutMode, apply_layer, decompress, io_err};
use crate::store::digest::HashingReader;
use crate::store::{LayerRef, Store, StoreError, chain_ids};

/// The extracted dir of every layer of the chain, lowest first, extracting what is missing.
pub(super) fn unpack(store: &Store, layers: &[LayerRef]) -> Result<Vec<PathBuf>, LayerError> {
    let diff_ids: Vec<Digest> = layers.iter().map(|l| l.diff_id.clone()).collect();
    let chains = chain_ids(&diff_ids);
    let mut dirs = Vec::with_capacity(layers.len());
    for (layer, chain) in layers.iter().zip(&chains) {
        let dir = store.snapshot_dir(chain);
        if !dir.is_dir() {
            // Stages on one base wait for one extraction instead of each unpacking it.
            let gate = store.extraction_gate(chain);
            let _one_at_a_time = gate.lock();
            if !dir.is_dir() {
                extract(store, layer, chain)?;
            }
        }
        dirs.push(dir);
    }
    Ok(dirs)
}

fn extract(store: &Store, layer: &LayerRef, chain: &Digest) -> Result<(), LayerError> {
    let tmp = store.tmp_dir("snap-")?;
    let fs_dir = tmp.path().join("fs");
    fs::create_dir(&fs_dir).map_err(io_err("create", &fs_dir))?;
    let digest = layer.descriptor.digest();
    let blob = store.open_blob(digest)?;
    let tar = decompress(blob).map_err(io_err("read", store.blob_path(digest)))?;
    let mut hashing = HashingReader::new(tar);
    apply_layer(
        &mut hashing,
        &fs_dir,
        &ApplyOptions {
            whiteouts: WhiteoutMode::Overlay,
        },
    )?;
    let (diff_id, _) = hashing
        .finish()
        .map_err(io_err("read", store.blob_path(digest)))?;
    if diff_id != layer.diff_id {
        return Err(StoreError::DiffIdMismatch {
            digest: digest.to_string(),
            expected: layer.diff_id.to_string(),
            actual: diff_id.to_string(),
        }
        .into());
    }
    Ok(store.publish_snapshot(tmp, chain)?)
}
