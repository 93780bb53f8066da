//! The upper dir of a copied rootfs: what differs from the copy, in overlay's own form. New and
//! changed files are moved (the rootfs is thrown away next), dirs are recreated with their
//! metadata, a replaced dir becomes an opaque one, and a deleted path a 0/0 character device.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use nix::sys::stat::{Mode, SFlag, makedev, mknod};
use walkdir::WalkDir;

use std::os::unix::fs::MetadataExt;

use super::entry::{make_dir, set_times};
use super::{Copied, Stamp, walk_err};

/// Fills the empty dir `upper` with how `rootfs` differs from `copied`. `opaque_xattr` is the
/// name overlay reads the opaque mark under (`user.` rootless, `trusted.` for root).
pub(in crate::snapshot) fn write_upper(
    rootfs: &Path,
    copied: &Copied,
    upper: &Path,
    opaque_xattr: &str,
) -> io::Result<()> {
    let mut present = HashSet::new();
    let mut opaque: Vec<PathBuf> = Vec::new();
    let mut moves = Vec::new();
    let mut dir_times = HashMap::new();
    for item in WalkDir::new(rootfs).min_depth(1) {
        let item = item.map_err(walk_err)?;
        let rel = item.path().strip_prefix(rootfs).map_err(io::Error::other)?;
        let meta = item.path().symlink_metadata()?;
        present.insert(rel.to_path_buf());
        if meta.is_dir() {
            dir_times.insert(rel.to_path_buf(), (meta.atime(), meta.mtime()));
        }
        let now = Stamp::of(&meta);
        let before = copied.stamps.get(rel);
        if before == Some(&now) {
            continue;
        }
        ensure_parents(rootfs, upper, rel)?;
        let dest = upper.join(rel);
        if meta.is_dir() {
            // Same inode: changed in place (entries or metadata); else made anew.
            let replaced = before.is_some_and(|b| !b.is_dir || b.ino != now.ino);
            if !dest.exists() {
                make_dir(item.path(), &dest, &meta, false)?;
            }
            if replaced {
                xattr::set(&dest, opaque_xattr, b"y")?;
                opaque.push(rel.to_path_buf());
            }
        } else {
            // After the walk: renaming out of a dir being read could hide its other entries.
            moves.push((item.path().to_path_buf(), dest));
        }
    }
    for (from, to) in moves {
        fs::rename(from, to)?;
    }
    let mut gone: Vec<&PathBuf> = copied
        .stamps
        .keys()
        .filter(|p| !present.contains(*p))
        .collect();
    gone.sort();
    for rel in gone {
        // Only the top of a deleted tree needs a whiteout (its parent is still a dir), and
        // nothing under an opaque dir, which hides all below it anyway.
        let parent_is_dir = rel
            .parent()
            .and_then(|p| rootfs.join(p).symlink_metadata().ok())
            .is_some_and(|m| m.is_dir());
        if !parent_is_dir || opaque.iter().any(|o| rel.starts_with(o)) {
            continue;
        }
        ensure_parents(rootfs, upper, rel)?;
        mknod(
            &upper.join(rel),
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o600),
            makedev(0, 0),
        )
        .map_err(io::Error::from)?;
    }
    set_dir_times(upper, &dir_times)
}

/// Gives every dir of `upper` the times its rootfs counterpart had before the moves, children
/// first (writing into a dir moved its mtime).
fn set_dir_times(upper: &Path, times: &HashMap<PathBuf, (i64, i64)>) -> io::Result<()> {
    for item in WalkDir::new(upper).min_depth(1).contents_first(true) {
        let item = item.map_err(walk_err)?;
        if !item.file_type().is_dir() {
            continue;
        }
        let rel = item.path().strip_prefix(upper).map_err(io::Error::other)?;
        if let Some(&(atime, mtime)) = times.get(rel) {
            set_times(item.path(), atime, mtime)?;
        }
    }
    Ok(())
}

/// Makes the dirs above `rel` in `upper`, each with the metadata of its rootfs counterpart.
fn ensure_parents(rootfs: &Path, upper: &Path, rel: &Path) -> io::Result<()> {
    let mut dirs: Vec<&Path> = rel.ancestors().skip(1).collect();
    dirs.pop(); // the empty path: `upper` itself
    for dir in dirs.into_iter().rev() {
        let dest = upper.join(dir);
        if dest.exists() {
            continue;
        }
        let src = rootfs.join(dir);
        let meta = src.symlink_metadata()?;
        make_dir(&src, &dest, &meta, false)?;
    }
    Ok(())
}
