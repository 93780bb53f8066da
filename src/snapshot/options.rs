//! What every overlay mount of ours shares, whichever syscall makes it.

use std::path::Path;

/// The kernel's `OVL_MAX_STACK`.
pub const MAX_LOWER_DIRS: usize = 500;

/// Writable overlays are `volatile` (Linux 5.10+): unmounting one then skips the `syncfs` of the
/// whole filesystem under the upper dir (0.5 s for a 300 MB step on this disk, paid on the
/// step's critical path, and again for whatever else was dirty), and syncs inside the container
/// (dpkg's fsyncs) skip the disk too. A step's result only has to survive the process, not a
/// power cut: the page cache writes it back at its own pace, as it does for BuildKit's snapshots.
pub(super) const VOLATILE: &str = "volatile";

/// Options that keep the upper dir a plain diff the layer writer understands. `nofollow`, not
/// `off`: `off` still follows redirects in lowers, which `userxattr` (rootless) refuses, and our
/// lowers, unpacked from tars without overlay xattrs, never hold one.
pub(super) const DIFF_OPTIONS: [(&str, &str); 3] = [
    ("redirect_dir", "nofollow"),
    ("metacopy", "off"),
    ("index", "off"),
];

/// Flags for every overlay mount: a user namespace may only mount overlay with `userxattr`
/// (overlay's own xattrs in `user.overlay.*`, which is also where the layer applier puts
/// opaque marks in a rootless store). Linux 5.11+; older kernels refuse the mount.
pub(super) fn flags() -> &'static [&'static str] {
    if crate::rootless::active() {
        &["userxattr"]
    } else {
        &[]
    }
}

/// The upper and work dir of a writable overlay.
pub(super) type Writable<'a> = Option<(&'a Path, &'a Path)>;
