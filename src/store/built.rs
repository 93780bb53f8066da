//! Snapshots of built steps: `snapshots/<id>/fs` is a step's overlay upper dir, moved into place
//! by one rename the moment the step ends (the next step mounts it as a lower at once). The id
//! is fresh per execution, never derived from the content, so nothing waits for a digest. The
//! layer tar and its digest come later (`image::layer::digest_built`): the blob first, then
//! `snapshots/<id>/layer.json` (atomically), and from then on [`Store::built_layer`] knows them.
//!
//! A process killed half-way leaves a snapshot without `layer.json` (the next build reuses it
//! and digests it when needed) and at most a partial blob in `tmp/`, which nothing names.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use oci_spec::image::{Descriptor, Digest, MediaType};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::digest::parse_sha256;
use super::error::{Result, StoreError, io_err};
use super::{LayerInfo, LayerRef, Store};

/// Where a built snapshot's digests are written once known.
const LAYER_FILE: &str = "layer.json";

/// A new snapshot id for one execution of the step with this cache key: 64 hex digits like a
/// chain id (in a namespace of their own), unique per execution, so a rebuild (`--no-cache`)
/// never changes what an earlier image's chain link or a running build's overlay points at.
pub fn built_id(cache_key: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    hex::encode(Sha256::digest(format!(
        "step {cache_key} {pid} {nanos} {n}"
    )))
}

/// A built snapshot's layer once digested: what `layer.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltLayer {
    pub digest: String,
    pub media_type: String,
    pub compressed_size: u64,
    pub diff_id: String,
    pub size: u64,
    pub added: u64,
    pub modified: u64,
    pub removed: u64,
}

impl BuiltLayer {
    pub fn layer_ref(&self) -> Option<LayerRef> {
        Some(LayerRef {
            descriptor: Descriptor::new(
                MediaType::from(self.media_type.as_str()),
                self.compressed_size,
                parse_sha256(&self.digest)?,
            ),
            diff_id: parse_sha256(&self.diff_id)?,
        })
    }

    pub fn info(&self) -> LayerInfo {
        LayerInfo {
            digest: self.digest.clone(),
            diff_id: self.diff_id.clone(),
            size: self.size,
            compressed_size: self.compressed_size,
            added: self.added,
            modified: self.modified,
            removed: self.removed,
        }
    }
}

impl Store {
    /// The `fs` dir of a built snapshot (it may not exist).
    pub fn built_dir(&self, id: &str) -> PathBuf {
        self.root.join("snapshots").join(id).join("fs")
    }

    /// Moves `upper` (on the store's filesystem, e.g. under [`Store::tmp_dir`]) into place as the
    /// built snapshot `id` (from [`built_id`]) and returns its `fs` dir.
    pub fn adopt_built(&self, id: &str, upper: &Path) -> Result<PathBuf> {
        let tmp = self.tmp_dir("adopt-")?;
        let fs_dir = tmp.path().join("fs");
        fs::rename(upper, &fs_dir).map_err(io_err("move upper dir into the store from", upper))?;
        self.publish_snapshot_named(tmp, id)?;
        Ok(self.built_dir(id))
    }

    /// The layer of built snapshot `id` if it was digested and its blob is still in the store.
    pub fn built_layer(&self, id: &str) -> Option<BuiltLayer> {
        let path = self.root.join("snapshots").join(id).join(LAYER_FILE);
        let layer: BuiltLayer = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
        self.has_blob(&parse_sha256(&layer.digest)?)
            .then_some(layer)
    }

    /// Records the digests of built snapshot `id`, whose blob is in the store.
    pub fn record_built(&self, id: &str, layer: &BuiltLayer) -> Result<()> {
        let path = self.root.join("snapshots").join(id).join(LAYER_FILE);
        let data = serde_json::to_vec(layer).map_err(|source| StoreError::Json {
            what: "layer file",
            path: path.display().to_string(),
            source,
        })?;
        self.write_atomic(&path, &data)
    }

    /// Makes the chain-id name of a digested built snapshot point at it (a relative symlink), so
    /// lookups by image layers (`shell`, `diff`, a later `FROM` of the tagged image) find it
    /// instead of extracting the blob again. Does nothing when the chain already has a snapshot.
    pub fn link_built(&self, chain: &Digest, id: &str) -> Result<()> {
        let link = self.root.join("snapshots").join(chain.digest());
        if link.symlink_metadata().is_ok() {
            return Ok(());
        }
        match std::os::unix::fs::symlink(id, &link) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                Err(io_err("link snapshot", link)(e).into())
            }
            _ => Ok(()),
        }
    }
}
