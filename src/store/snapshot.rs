//! `snapshots/<chain-id>/fs`: each layer of a chain extracted once (by `image::layer`, which
//! knows tars), ready to be an overlay lower dir. A snapshot appears by one rename of a
//! completed directory, so a reader never sees a half-extracted one.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::image::Digest;
use sha2::{Digest as _, Sha256};

use super::Store;
use super::digest::from_hex;
use super::error::{Result, io_err};

/// OCI chain ids: `chain[0] = diff_id[0]`, `chain[n] = sha256(chain[n-1] + " " + diff_id[n])`.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => from_hex(&hex::encode(Sha256::digest(format!("{prev} {d}")))),
        };
        out.push(next);
    }
    out
}

impl Store {
    /// The `fs` dir of the snapshot for a chain id (it may not exist yet).
    pub fn snapshot_dir(&self, chain_id: &Digest) -> PathBuf {
        self.root
            .join("snapshots")
            .join(chain_id.digest())
            .join("fs")
    }

    /// The lock that lets one extraction of `chain` run at a time in this process.
    pub(crate) fn extraction_gate(&self, chain: &Digest) -> std::sync::Arc<std::sync::Mutex<()>> {
        let mut gates = self
            .extracting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        gates.entry(chain.clone()).or_default().clone()
    }

    /// Renames a completed `tmp/…/fs` into `snapshots/<chain>`; if another process won the race
    /// its copy (identical by construction) is kept.
    pub(crate) fn publish_snapshot(&self, tmp: tempfile::TempDir, chain: &Digest) -> Result<()> {
        self.publish_snapshot_named(tmp, chain.digest())
    }

    /// [`Store::publish_snapshot`] under any snapshot name (a chain id or a built step's id).
    pub(super) fn publish_snapshot_named(&self, tmp: tempfile::TempDir, name: &str) -> Result<()> {
        let dest = self.root.join("snapshots").join(name);
        let staged = tmp.keep();
        match fs::rename(&staged, &dest) {
            Ok(()) => Ok(()),
            Err(e) if dest.join("fs").is_dir() => {
                let _ = super::remove_any(&staged);
                let _ = e;
                Ok(())
            }
            Err(e) => {
                let _ = super::remove_any(&staged);
                Err(io_err("rename snapshot to", dest)(e).into())
            }
        }
    }

    /// Registers a diff dir the caller already has on disk (an overlay upper dir, committed with
    /// `LayerStore::commit_layer`) as the snapshot of a new layer on top of `parent_diff_ids`,
    /// by moving it into place instead of extracting the blob again. `upper` must be on the
    /// store's filesystem (e.g. under [`Store::tmp_dir`]); it is gone afterwards.
    pub fn adopt_snapshot(
        &self,
        parent_diff_ids: &[Digest],
        diff_id: &Digest,
        upper: &Path,
    ) -> Result<PathBuf> {
        let mut ids = parent_diff_ids.to_vec();
        ids.push(diff_id.clone());
        let chain = chain_ids(&ids).pop().unwrap_or_else(|| diff_id.clone());
        let dir = self.snapshot_dir(&chain);
        if dir.is_dir() {
            let _ = super::remove_any(upper);
            return Ok(dir);
        }
        let tmp = self.tmp_dir("adopt-")?;
        let fs_dir = tmp.path().join("fs");
        fs::rename(upper, &fs_dir).map_err(io_err("move upper dir into the store from", upper))?;
        self.publish_snapshot(tmp, &chain)?;
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::digest::of_bytes;

    #[test]
    fn chain_id_of_one_layer_is_its_diff_id() {
        let a = of_bytes(b"a");
        let b = of_bytes(b"b");
        let chains = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(chains[0], a);
        assert_eq!(chains[1], of_bytes(format!("{a} {b}").as_bytes()));
    }
}
