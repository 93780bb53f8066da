//! Garbage collection: removes blobs and snapshots that no tag and no record refers to.
//! Runs only while this process is the store's sole opener, so no build can be using them.

use std::collections::HashSet;
use std::fs;

use oci_spec::image::{Digest, MediaType};

use super::Store;
use super::digest::parse_sha256;
use super::error::{Result, io_err};
use super::snapshot::chain_ids;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub blobs_removed: usize,
    pub bytes_freed: u64,
    pub snapshots_removed: usize,
}

/// Every `sha256:<hex>` written anywhere in `text`.
pub(crate) fn digests_in(text: &str, out: &mut Vec<Digest>) {
    let mut rest = text;
    while let Some(i) = rest.find("sha256:") {
        let candidate = rest.get(i..i + 71).unwrap_or("");
        if let Some(d) = parse_sha256(candidate) {
            out.push(d);
        }
        rest = &rest[i + 7..];
    }
}

/// The built snapshot a step-cache record names (`"snapshot"`), if any.
fn built_snapshot_in(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(value.get("snapshot")?.as_str()?.to_string())
}

impl Store {
    /// Removes every blob not reachable from a tag or from a digest mentioned in `cache/` or
    /// `builds/` records, and every snapshot not on a reachable image's layer chain.
    /// Fails with [`super::StoreError::Busy`] when another process has the store open.
    pub fn prune(&self) -> Result<PruneReport> {
        self.prune_with(false)
    }

    /// [`Store::prune`], waiting for other openers (a running build) to close the store when
    /// `wait` is true.
    pub fn prune_with(&self, wait: bool) -> Result<PruneReport> {
        let _exclusive = self.exclusive(wait)?;
        let mut built = Vec::new();
        let mut work: Vec<Digest> = self
            .tags()?
            .into_iter()
            .map(|(_, d)| d.digest().clone())
            .collect();
        for dir in ["cache", "builds"] {
            let path = self.root.join(dir);
            for entry in fs::read_dir(&path)
                .map_err(io_err("read", &path))?
                .flatten()
            {
                if let Ok(text) = fs::read_to_string(entry.path()) {
                    digests_in(&text, &mut work);
                    built.extend(built_snapshot_in(&text));
                }
            }
        }
        let (keep_blobs, mut keep_snapshots) = self.reachable(work);
        keep_snapshots.extend(built);
        self.sweep(&keep_blobs, &keep_snapshots)
    }

    /// Blobs reachable from `work` (manifests and indexes are followed to their children) and
    /// the snapshots of every reachable image's layer chain.
    pub(crate) fn reachable(&self, mut work: Vec<Digest>) -> (HashSet<String>, HashSet<String>) {
        let mut keep_blobs: HashSet<String> = HashSet::new();
        let mut keep_snapshots: HashSet<String> = HashSet::new();
        while let Some(d) = work.pop() {
            if !keep_blobs.insert(d.digest().to_string()) || !self.has_blob(&d) {
                continue;
            }
            keep_snapshots.insert(d.digest().to_string());
            let small = fs::metadata(self.blob_path(&d))
                .map(|m| m.len() < (4 << 20))
                .unwrap_or(false);
            if !small {
                continue;
            }
            let Ok(data) = self.read_blob(&d) else {
                continue;
            };
            let Ok(json) = serde_json::from_slice::<serde_json::Value>(&data) else {
                continue;
            };
            // Manifests and indexes name their children; follow them.
            digests_in(&json.to_string(), &mut work);
            if json.get("layers").is_some() {
                let desc = oci_spec::image::Descriptor::new(
                    MediaType::ImageManifest,
                    data.len() as u64,
                    d.clone(),
                );
                if let Ok(image) = self.load_image(&desc) {
                    for chain in chain_ids(&image.diff_ids()) {
                        keep_snapshots.insert(chain.digest().to_string());
                    }
                }
            }
        }
        (keep_blobs, keep_snapshots)
    }

    /// Removes every blob and snapshot not named in the keep sets.
    pub(crate) fn sweep(
        &self,
        keep_blobs: &HashSet<String>,
        keep_snapshots: &HashSet<String>,
    ) -> Result<PruneReport> {
        let mut report = PruneReport::default();
        let blobs = self.root.join("blobs/sha256");
        for entry in fs::read_dir(&blobs)
            .map_err(io_err("read", &blobs))?
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if keep_blobs.contains(&name) {
                continue;
            }
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            fs::remove_file(entry.path()).map_err(io_err("remove", entry.path()))?;
            report.blobs_removed += 1;
            report.bytes_freed += size;
        }
        let snaps = self.root.join("snapshots");
        // A kept chain id that links to a built snapshot keeps that snapshot too.
        let mut keep_snapshots = keep_snapshots.clone();
        let links: Vec<String> = keep_snapshots
            .iter()
            .filter_map(|name| fs::read_link(snaps.join(name)).ok())
            .map(|target| target.to_string_lossy().into_owned())
            .collect();
        keep_snapshots.extend(links);
        for entry in fs::read_dir(&snaps)
            .map_err(io_err("read", &snaps))?
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if keep_snapshots.contains(&name) {
                continue;
            }
            // Move out of sight first so a crash mid-removal never leaves a partial snapshot.
            let doomed = self.tmp_dir("prune-")?;
            let target = doomed.path().join("snap");
            fs::rename(entry.path(), &target).map_err(io_err("move", entry.path()))?;
            super::remove_any(&target).map_err(io_err("remove", &target))?;
            report.snapshots_removed += 1;
        }
        Ok(report)
    }
}
