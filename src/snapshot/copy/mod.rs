//! The copying snapshotter, for kernels that refuse an unprivileged overlay mount: the rootfs is a
//! real copy of the lower dirs (whiteouts and opaque dirs applied), and afterwards the upper dir
//! is made by comparing the rootfs with what was copied. The upper dir has the very form a
//! kernel overlay leaves (0/0 character devices for deletions, the opaque xattr on replaced
//! dirs), so the layer writer and later mounts cannot tell the two apart. Slow for big images:
//! every step copies its whole parent chain.

mod diff;
mod entry;

use std::collections::HashMap;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

pub(super) use diff::write_upper;

/// What identifies a file as untouched since the copy: any write, chmod, chown or rename
/// changes its ctime, and a replaced file has another inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    ctime: i64,
    ctime_nsec: i64,
    is_dir: bool,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        Self {
            ino: meta.ino(),
            ctime: meta.ctime(),
            ctime_nsec: meta.ctime_nsec(),
            is_dir: meta.is_dir(),
        }
    }
}

/// The rootfs as copied: every path (relative) and its stamp.
#[derive(Debug, Default)]
pub struct Copied {
    stamps: HashMap<PathBuf, Stamp>,
}

fn walk_err(e: walkdir::Error) -> io::Error {
    let path = e.path().map(Path::to_path_buf);
    io::Error::other(format!("walking {path:?}: {e}"))
}

/// Copies `lowers` (base first) into the empty dir `rootfs`, each over the ones below it.
pub(super) fn materialize<P: AsRef<Path>>(lowers: &[P], rootfs: &Path) -> io::Result<Copied> {
    let mut dir_times = HashMap::new();
    for lower in lowers {
        let lower = lower.as_ref();
        let mut links = HashMap::new();
        for item in WalkDir::new(lower).sort_by_file_name() {
            let item = item.map_err(walk_err)?;
            let rel = item.path().strip_prefix(lower).map_err(io::Error::other)?;
            let meta = item.path().symlink_metadata()?;
            let dest = rootfs.join(rel);
            if entry::is_whiteout(&meta) {
                entry::remove(&dest)?;
                dir_times.retain(|p: &PathBuf, _| !p.starts_with(&dest));
                continue;
            }
            if meta.is_dir() {
                entry::make_dir(item.path(), &dest, &meta, entry::is_opaque(item.path()))?;
                dir_times.insert(dest, (meta.atime(), meta.mtime()));
            } else {
                entry::remove(&dest)?;
                entry::copy_leaf(item.path(), &dest, &meta, &mut links)?;
            }
        }
    }
    // Directory times last: filling a dir moves its mtime. Children first.
    let mut dirs: Vec<_> = dir_times.into_iter().collect();
    dirs.sort_by(|a, b| b.0.cmp(&a.0));
    for (dir, (atime, mtime)) in dirs {
        match entry::set_times(&dir, atime, mtime) {
            // An opaque dir above cleared it.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    let mut stamps = HashMap::new();
    for item in WalkDir::new(rootfs).min_depth(1) {
        let item = item.map_err(walk_err)?;
        let rel = item.path().strip_prefix(rootfs).map_err(io::Error::other)?;
        stamps.insert(
            rel.to_path_buf(),
            Stamp::of(&item.path().symlink_metadata()?),
        );
    }
    // ctimes come from a coarse clock (one tick is up to 10 ms): a change made within the tick
    // of the stamps (the runtime's mount-point stubs come that soon) would keep its ctime and
    // go unseen. Past a tick, every change moves it.
    std::thread::sleep(std::time::Duration::from_millis(20));
    Ok(Copied { stamps })
}

#[cfg(test)]
mod tests;
