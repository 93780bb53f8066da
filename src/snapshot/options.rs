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

/// Options that keep the upper dir a plain diff the layer writer understands.
pub(super) const DIFF_OPTIONS: [(&str, &str); 3] = [
    ("redirect_dir", "off"),
    ("metacopy", "off"),
    ("index", "off"),
];

/// The upper and work dir of a writable overlay.
pub(super) type Writable<'a> = Option<(&'a Path, &'a Path)>;
