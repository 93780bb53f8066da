//! One file system entry copied (or moved) with everything a layer records: content or link
//! target, mode, owner, times and xattrs. Owners are set before modes so setuid bits survive.

use std::collections::HashMap;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{Mode, SFlag, mknod};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, fchownat};

use crate::image::layer::xattrs::kept_xattrs;

const OPAQUE_XATTRS: [&str; 2] = ["trusted.overlay.opaque", "user.overlay.opaque"];

/// An overlay whiteout: a 0/0 character device.
pub(super) fn is_whiteout(meta: &Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// Whether a dir hides what the layers below have there (in either xattr namespace).
pub(super) fn is_opaque(dir: &Path) -> bool {
    OPAQUE_XATTRS
        .iter()
        .any(|name| matches!(xattr::get(dir, name), Ok(Some(v)) if v == b"y"))
}

/// Removes whatever is at `path` (a tree, a file, nothing).
pub(super) fn remove(path: &Path) -> io::Result<()> {
    match path.symlink_metadata() {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes `dest` a dir with the metadata of `src`; an `opaque` one loses what it held.
pub(super) fn make_dir(src: &Path, dest: &Path, meta: &Metadata, opaque: bool) -> io::Result<()> {
    match dest.symlink_metadata() {
        Ok(m) if m.is_dir() && opaque => {
            for child in fs::read_dir(dest)? {
                remove(&child?.path())?;
            }
        }
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            fs::remove_file(dest)?;
            fs::create_dir(dest)?;
        }
        Err(_) => fs::create_dir(dest)?,
    }
    set_meta(src, dest, meta)
}

/// Copies a non-dir `src` to the free path `dest`; files hard-linked together in one lower stay
/// linked (`links` maps their inode to the first copy).
pub(super) fn copy_leaf(
    src: &Path,
    dest: &Path,
    meta: &Metadata,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> io::Result<()> {
    let ft = meta.file_type();
    if !ft.is_dir() && meta.nlink() > 1 {
        if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
            return fs::hard_link(first, dest);
        }
        links.insert((meta.dev(), meta.ino()), dest.to_path_buf());
    }
    if ft.is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(src)?, dest)?;
    } else if ft.is_file() {
        fs::copy(src, dest)?;
    } else {
        let kind = if ft.is_char_device() {
            SFlag::S_IFCHR
        } else if ft.is_block_device() {
            SFlag::S_IFBLK
        } else if ft.is_fifo() {
            SFlag::S_IFIFO
        } else {
            // A socket means nothing once its process is gone; overlay copies none either.
            return Ok(());
        };
        let dev = meta.rdev() as libc::dev_t;
        mknod(dest, kind, Mode::from_bits_truncate(0o600), dev).map_err(io::Error::from)?;
    }
    set_meta(src, dest, meta)
}

/// Owner, mode, xattrs (overlay's own dropped) and times of `src` onto `dest`.
pub(super) fn set_meta(src: &Path, dest: &Path, meta: &Metadata) -> io::Result<()> {
    fchownat(
        nix::fcntl::AT_FDCWD,
        dest,
        Some(Uid::from_raw(meta.uid())),
        Some(Gid::from_raw(meta.gid())),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(io::Error::from)?;
    if meta.file_type().is_symlink() {
        return set_times(dest, meta.atime(), meta.mtime());
    }
    fs::set_permissions(dest, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    for (name, value) in kept_xattrs(src)? {
        xattr::set(dest, std::ffi::OsStr::from_bytes(&name), &value)?;
    }
    set_times(dest, meta.atime(), meta.mtime())
}

/// Sets atime and mtime (whole seconds, as layers keep them) without following a symlink.
pub(super) fn set_times(path: &Path, atime: i64, mtime: i64) -> io::Result<()> {
    nix::sys::stat::utimensat(
        nix::fcntl::AT_FDCWD,
        path,
        &TimeSpec::new(atime, 0),
        &TimeSpec::new(mtime, 0),
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .map_err(io::Error::from)
}
