//! The extended attributes a file carries into a layer or a copy: everything but overlayfs' own
//! bookkeeping, so file capabilities (`security.capability`), `user.*` and ACLs travel with it.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `(name, value)` pairs, sorted by name.
pub type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

/// overlayfs' own attributes (opaque dirs, redirects, origins): never part of the content.
pub fn is_overlay_bookkeeping(name: &[u8]) -> bool {
    name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.")
}

/// Every attribute of `path` (not following a symlink) but overlayfs' own, sorted. A filesystem
/// without xattrs has none.
pub fn kept_xattrs(path: &Path) -> io::Result<Xattrs> {
    let names = match xattr::list(path) {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for name in names {
        if is_overlay_bookkeeping(name.as_bytes()) {
            continue;
        }
        if let Some(value) = xattr::get(path, &name)? {
            out.push((name.as_bytes().to_vec(), value));
        }
    }
    out.sort();
    Ok(out)
}

/// Whether losing `name` changes what a program sees: capabilities and user attributes must be
/// set or the copy fails; others (a host's SELinux label, say) are kept where the target allows.
pub fn must_keep(name: &[u8]) -> bool {
    name == b"security.capability" || name.starts_with(b"user.")
}

/// Sets `xattrs` on `path` (not following a symlink). Call it after chown and chmod: the kernel
/// drops `security.capability` when a file changes owner.
pub fn set_xattrs(path: &Path, xattrs: &Xattrs) -> io::Result<()> {
    for (name, value) in xattrs {
        let name_os = std::ffi::OsStr::from_bytes(name);
        match xattr::set(path, name_os, value) {
            Ok(()) => {}
            Err(e)
                if !must_keep(name)
                    && matches!(e.raw_os_error(), Some(libc::ENOTSUP | libc::EPERM)) => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("setting xattr {}: {e}", String::from_utf8_lossy(name)),
                ));
            }
        }
    }
    Ok(())
}
