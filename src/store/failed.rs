//! `failed/<name>/fs`: what a failed RUN step left behind (its overlay upper dir), kept so a shell
//! can open the state the failure left (lowers of the step's parent chain + this dir). Only the
//! last build's are worth keeping; `cache prune` sweeps the rest. Like snapshots, one appears by
//! one rename of a completed dir, so a crash never leaves a half-moved one in view.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::error::{Result, io_err};
use super::{BuildRecord, Store};

const DIR: &str = "failed";

/// Where a failed RUN step's leftovers are kept: `failed/<name>`, named by the step and the key
/// of the state it ran on (the build record's `failed_step.cache_key`), so the record finds them.
pub fn failed_snapshot_name(stage: &str, index: usize, parent_key: &str) -> String {
    hex::encode(Sha256::digest(format!("{parent_key}\n{stage}/{index}")))
}

/// A failed snapshot's name: lowercase hex (it is a hash), nothing that could escape the dir.
pub fn valid_failed_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Store {
    /// The `fs` dir of a failed step's leftovers (it may not exist).
    pub fn failed_dir(&self, name: &str) -> PathBuf {
        self.root.join(DIR).join(name).join("fs")
    }

    /// The kept leftovers of the failed step of `stage` in `record`, if the engine kept them
    /// (only a RUN that ran and exited non-zero leaves any).
    pub fn failed_leftovers(&self, record: &BuildRecord, stage: &str) -> Option<PathBuf> {
        let s = record.stages.iter().find(|s| s.label == stage)?;
        let step = s.failed_step.as_ref()?;
        let dir = self.failed_dir(&failed_snapshot_name(&s.label, step.index, &step.cache_key));
        dir.is_dir().then_some(dir)
    }

    /// Moves `upper` (on the store's filesystem, e.g. under [`Store::tmp_dir`]) into
    /// `failed/<name>/fs`, replacing an older one of the same name.
    pub fn keep_failed(&self, name: &str, upper: &Path) -> Result<PathBuf> {
        let dir = self.root.join(DIR);
        fs::create_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        let staged = self.tmp_dir("failed-")?;
        let fs_dir = staged.path().join("fs");
        fs::rename(upper, &fs_dir).map_err(io_err("move failed step's upper dir from", upper))?;
        let dest = dir.join(name);
        if dest.exists() {
            self.discard(&dest)?;
        }
        let staged = staged.keep();
        fs::rename(&staged, &dest).map_err(|e| {
            let _ = super::remove_any(&staged);
            io_err("rename failed snapshot to", &dest)(e)
        })?;
        Ok(dest.join("fs"))
    }

    /// Names under `failed/`, sorted.
    pub fn failed_snapshots(&self) -> Result<Vec<String>> {
        let dir = self.root.join(DIR);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read", dir)(e).into()),
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Removes every failed snapshot not in `keep`; returns how many went.
    pub(crate) fn sweep_failed(&self, keep: &HashSet<String>) -> Result<usize> {
        let mut removed = 0;
        for name in self.failed_snapshots()? {
            if !keep.contains(&name) {
                self.discard(&self.root.join(DIR).join(name))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Moves a dir out of sight into tmp/ first, so a crash mid-removal leaves no partial one.
    fn discard(&self, path: &Path) -> Result<()> {
        let doomed = self.tmp_dir("discard-")?;
        let target = doomed.path().join("d");
        fs::rename(path, &target).map_err(io_err("move", path))?;
        super::remove_any(&target).map_err(io_err("remove", &target))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_replaces_and_sweeps_failed_snapshots() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("store")).expect("store");
        for (name, text) in [("aa", "one"), ("aa", "two"), ("bb", "three")] {
            let scratch = store.tmp_dir("t-").expect("tmp");
            let upper = scratch.path().join("upper");
            fs::create_dir(&upper).expect("mkdir");
            fs::write(upper.join("left-behind"), text).expect("write");
            store.keep_failed(name, &upper).expect("keep");
        }
        assert_eq!(store.failed_snapshots().expect("list"), ["aa", "bb"]);
        let kept = fs::read_to_string(store.failed_dir("aa").join("left-behind")).expect("read");
        assert_eq!(kept, "two");
        let keep: HashSet<String> = ["bb".to_string()].into();
        assert_eq!(store.sweep_failed(&keep).expect("sweep"), 1);
        assert_eq!(store.failed_snapshots().expect("list"), ["bb"]);
        assert!(valid_failed_name("0a9f"));
        assert!(!valid_failed_name("../x"));
    }
}
