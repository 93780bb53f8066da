//! Build-cache garbage collection (`cache prune`) and disk usage (`cache du`, `cache ls`).
//!
//! Roots that are never removed: every tagged image, every build record that stays (the last
//! build's unless `all`) with its stage images and step snapshots, and every cache record that
//! stays. Records go first and blobs after, so a crash in between leaves unreferenced blobs,
//! never a record naming a missing blob. The store lock is held exclusively throughout, so no
//! other process (a running build) has the store open while anything is removed.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use oci_spec::image::Digest;

use super::digest::parse_sha256;
use super::error::{Result, StoreError, io_err};
use super::prune::digests_in;
use super::{BuildRecord, CacheRecord, RecordKind, Store, chain_ids, failed_snapshot_name};

#[derive(Debug, Clone, Default)]
pub struct GcOptions {
    /// Remove every cache record, build record, lineage record and cache mount.
    pub all: bool,
    /// Remove least-recently-used records until blobs, snapshots and mounts fit in this many bytes.
    pub keep_storage: Option<u64>,
    /// Only records (and mounts) unused for at least this long.
    pub until: Option<Duration>,
    /// Wait for other openers to close the store instead of failing with [`StoreError::Busy`].
    pub wait: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub records_removed: usize,
    pub builds_removed: usize,
    pub mounts_removed: usize,
    pub blobs_removed: usize,
    pub snapshots_removed: usize,
    pub bytes_freed: u64,
}

/// Bytes per kind of store content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskUsage {
    pub blobs: u64,
    pub snapshots: u64,
    pub mounts: u64,
    pub records: u64,
}

impl DiskUsage {
    pub fn total(&self) -> u64 {
        self.blobs + self.snapshots + self.mounts + self.records
    }
}

/// A cache record as `cache ls` shows it; `last_used` is the record's mtime (touched on hits).
#[derive(Debug, Clone)]
pub struct CacheEntry {
    pub key: String,
    pub record: CacheRecord,
    pub last_used: SystemTime,
}

impl CacheEntry {
    pub fn layer_digest(&self) -> Option<Digest> {
        parse_sha256(&self.record.layer.as_ref()?.digest)
    }

    pub fn size(&self) -> u64 {
        self.record.layer.as_ref().map_or(0, |l| l.compressed_size)
    }
}

/// Disk space under `path` as `du` counts it (0 when it does not exist): allocated blocks of every
/// entry, directories and symlinks included, each hard-linked inode once. File lengths alone
/// missed what many small files and directories cost (4 MB counted where `du` saw 1.2 GB).
fn dir_size(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = HashSet::new();
    walkdir::WalkDir::new(path)
        .into_iter()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.nlink() < 2 || m.is_dir() || seen.insert((m.dev(), m.ino())))
        .map(|m| m.blocks() * 512)
        .sum()
}

fn mtime(path: &Path) -> SystemTime {
    fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Records that are not step results: miss-reason lineage and the context stat cache.
/// Records beside the step-cache records in `cache/`: miss-reason lineage, the context stat
/// cache, and which compressed blob a plain layer became (`compressed-*`, for cache exports).
pub(crate) fn is_aux_record(key: &str) -> bool {
    key.starts_with("lineage-") || key.starts_with("compressed-") || key == "statcache"
}

impl Store {
    /// The store to ourselves for as long as the guard lives: waiting for other openers (a running
    /// build) to close it, or [`StoreError::Busy`] at once when `wait` is false.
    pub(crate) fn exclusive(&self, wait: bool) -> Result<super::lock::Upgraded<'_>> {
        let lock_path = self.root.join("lock");
        if wait {
            return Ok(self._lock.upgrade().map_err(io_err("lock", &lock_path))?);
        }
        self._lock
            .try_upgrade()
            .map_err(io_err("lock", &lock_path))?
            .ok_or(StoreError::Busy)
    }

    pub fn disk_usage(&self) -> Result<DiskUsage> {
        let records: u64 = ["cache", "builds"]
            .iter()
            .flat_map(|d| fs::read_dir(self.root.join(d)).into_iter().flatten())
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        Ok(DiskUsage {
            blobs: dir_size(&self.root.join("blobs")),
            snapshots: dir_size(&self.root.join("snapshots")) + dir_size(&self.root.join("failed")),
            mounts: dir_size(&self.root.join("cache/mounts")),
            records,
        })
    }

    /// Every readable step-cache record, least recently used first.
    pub fn cache_entries(&self) -> Result<Vec<CacheEntry>> {
        let mut out = Vec::new();
        for key in self.list_json(RecordKind::Cache)? {
            if is_aux_record(&key) {
                continue;
            }
            let Ok(Some(record)) = self.get_json::<CacheRecord>(RecordKind::Cache, &key) else {
                continue;
            };
            let last_used = mtime(&self.root.join("cache").join(format!("{key}.json")));
            out.push(CacheEntry {
                key,
                record,
                last_used,
            });
        }
        out.sort_by_key(|e| e.last_used);
        Ok(out)
    }

    fn remove_record(&self, kind: RecordKind, key: &str) -> Result<()> {
        let path = self.root.join(kind.dir()).join(format!("{key}.json"));
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io_err("remove", path)(e).into())
            }
            _ => Ok(()),
        }
    }

    /// Cache mount dirs (`cache/mounts/<hex>`), least recently used (mtime, set on use) first.
    fn mount_dirs(&self) -> Vec<(String, SystemTime)> {
        let base = self.root.join("cache/mounts");
        let mut out: Vec<(String, SystemTime)> = fs::read_dir(&base)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    mtime(&e.path()),
                )
            })
            .collect();
        out.sort_by_key(|(_, t)| *t);
        out
    }

    /// Removes a directory by first moving it under `tmp/`, so a crash never leaves half of it
    /// where a reader would take it for whole.
    pub(crate) fn remove_dir_safely(&self, dir: &Path) -> Result<()> {
        let doomed = self.tmp_dir("gc-")?;
        let target = doomed.path().join("d");
        fs::rename(dir, &target).map_err(io_err("move", dir))?;
        super::remove_any(&target).map_err(io_err("remove", &target))?;
        Ok(())
    }

    fn remove_mount(&self, name: &str) -> Result<()> {
        let base = self.root.join("cache/mounts");
        self.remove_dir_safely(&base.join(name))?;
        let _ = fs::remove_file(base.join(format!("{name}.lock")));
        Ok(())
    }

    /// Removes cache and build records per `opts`, then every blob, snapshot and cache mount
    /// nothing kept refers to.
    pub fn gc(&self, opts: &GcOptions) -> Result<GcReport> {
        let _exclusive = self.exclusive(opts.wait)?;
        let before = self.disk_usage()?;
        let now = SystemTime::now();
        let stale = |t: SystemTime| {
            opts.until
                .is_some_and(|u| now.duration_since(t).unwrap_or_default() >= u)
        };
        let mut report = GcReport::default();

        let mut kept_entries = Vec::new();
        for e in self.cache_entries()? {
            let dangling = e.layer_digest().is_some_and(|d| !self.has_blob(&d));
            if opts.all || dangling || stale(e.last_used) {
                self.remove_record(RecordKind::Cache, &e.key)?;
                report.records_removed += 1;
            } else {
                kept_entries.push(e);
            }
        }
        // Lineage (for miss reasons) and the stat cache are small and name no blobs.
        if opts.all {
            for key in self.list_json(RecordKind::Cache)? {
                if is_aux_record(&key) {
                    self.remove_record(RecordKind::Cache, &key)?;
                }
            }
        }
        // Without a filter only the last build stays; with one, builds newer than it stay too.
        let last_id = self.last_build().ok().flatten().map(|r| r.id);
        let mut kept_builds = Vec::new();
        for key in self.list_json(RecordKind::Build)? {
            let path = self.root.join("builds").join(format!("{key}.json"));
            let is_last = key == "last" || Some(&key) == last_id.as_ref();
            let remove = opts.all || (!is_last && (opts.until.is_none() || stale(mtime(&path))));
            if remove {
                self.remove_record(RecordKind::Build, &key)?;
                report.builds_removed += usize::from(key != "last");
            } else {
                kept_builds.push(key);
            }
        }
        for (name, changed) in self.mount_dirs() {
            if opts.all || stale(changed) {
                self.remove_mount(&name)?;
                report.mounts_removed += 1;
            }
        }

        let mut swept = self.sweep_unreferenced(&kept_entries, &kept_builds)?;
        swept.snapshots_removed += self.sweep_failed(&self.last_failed_names())?;
        if let Some(limit) = opts.keep_storage {
            let mut mounts = self.mount_dirs();
            loop {
                let usage = self.disk_usage()?;
                if usage.blobs + usage.snapshots + usage.mounts <= limit {
                    break;
                }
                // Least recently used first, in batches so a large cache takes few passes.
                if !kept_entries.is_empty() {
                    let n = (kept_entries.len() / 8).max(1);
                    for e in kept_entries.drain(..n) {
                        self.remove_record(RecordKind::Cache, &e.key)?;
                        report.records_removed += 1;
                    }
                } else if !mounts.is_empty() {
                    let (name, _) = mounts.remove(0);
                    self.remove_mount(&name)?;
                    report.mounts_removed += 1;
                } else {
                    break;
                }
                let more = self.sweep_unreferenced(&kept_entries, &kept_builds)?;
                swept.blobs_removed += more.blobs_removed;
                swept.snapshots_removed += more.snapshots_removed;
            }
        }
        report.blobs_removed = swept.blobs_removed;
        report.snapshots_removed = swept.snapshots_removed;
        report.bytes_freed = before.total().saturating_sub(self.disk_usage()?.total());
        Ok(report)
    }

    /// The failed snapshots the last build record names (what a failure shell can still open).
    fn last_failed_names(&self) -> HashSet<String> {
        let Ok(Some(record)) = self.last_build() else {
            return HashSet::new();
        };
        record
            .stages
            .iter()
            .filter_map(|s| {
                let step = s.failed_step.as_ref()?;
                Some(failed_snapshot_name(&s.label, step.index, &step.cache_key))
            })
            .collect()
    }

    /// Removes blobs and snapshots that no tag, kept cache record or kept build record uses.
    fn sweep_unreferenced(
        &self,
        entries: &[CacheEntry],
        builds: &[String],
    ) -> Result<super::PruneReport> {
        let mut roots: Vec<Digest> = self
            .tags()?
            .into_iter()
            .map(|(_, d)| d.digest().clone())
            .collect();
        roots.extend(entries.iter().filter_map(CacheEntry::layer_digest));
        let built = entries.iter().filter_map(|e| e.record.snapshot.clone());
        let mut chains: Vec<Digest> = Vec::new();
        for key in builds {
            let path = self.root.join("builds").join(format!("{key}.json"));
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            digests_in(&text, &mut roots);
            // Keep the snapshot of every step of the build, so `shell` and rebuilds need no
            // extraction.
            if let Ok(record) = serde_json::from_str::<BuildRecord>(&text) {
                let steps = record
                    .stages
                    .iter()
                    .flat_map(|s| s.steps.iter().chain(&s.failed_step));
                for step in steps {
                    let ids: Vec<Digest> = step
                        .layers
                        .iter()
                        .filter_map(|l| parse_sha256(&l.diff_id))
                        .collect();
                    chains.extend(chain_ids(&ids));
                }
            }
        }
        let (keep_blobs, mut keep_snapshots) = self.reachable(roots);
        keep_snapshots.extend(chains.iter().map(|c| c.digest().to_string()));
        keep_snapshots.extend(built);
        let keep_snapshots: HashSet<String> = keep_snapshots;
        self.sweep(&keep_blobs, &keep_snapshots)
    }
}
