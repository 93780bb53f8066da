//! Overlay rootfs mounts: lower dirs from the store, a fresh upper dir that becomes the layer diff.
//!
//! After the step, the upper dir holds exactly what changed: new and modified files, whiteouts
//! (0/0 character devices) for deletions and `trusted.overlay.opaque` on replaced directories.
//! `redirect_dir`, `metacopy` and `index` are off so no other overlay-private state appears there.

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, umount2};

use super::backend::{Snapshotter, snapshotter};
use super::copy::{self, Copied};
use super::error::OverlayError;
use super::mount::mount_overlay;
use super::options::MAX_LOWER_DIRS;
use crate::rootless::overlay_opaque_xattr;

/// A mounted overlay rootfs. Dropping it detaches the mount; [`Overlay::unmount`] reports errors.
#[derive(Debug)]
pub struct Overlay {
    rootfs: PathBuf,
    upper: PathBuf,
    mounted: bool,
    /// Set when the copying snapshotter made `rootfs` (no mount at all).
    copied: Option<Copied>,
}

impl Overlay {
    /// Mounts `scratch/rootfs` as an overlay of `lowers` (lowest first, as the store lists a
    /// snapshot chain) with the fresh upper dir `scratch/upper` and work dir `scratch/work`.
    /// `scratch` must not be on an overlay itself. An empty `lowers` (FROM scratch) stacks on an
    /// empty dir.
    pub fn mount<P: AsRef<Path>>(lowers: &[P], scratch: &Path) -> Result<Self, OverlayError> {
        super::namespace::ensure_private()?;
        if lowers.len() > MAX_LOWER_DIRS {
            return Err(OverlayError::TooManyLowers {
                count: lowers.len(),
            });
        }
        let mut stack = checked_stack(lowers)?;
        let upper = scratch.join("upper");
        let work = scratch.join("work");
        let rootfs = scratch.join("rootfs");
        for dir in [scratch, &upper, &work, &rootfs] {
            make_dir(dir, 0o755)?;
        }
        if snapshotter() == Snapshotter::Copy {
            let copied = copy_stack(lowers, &rootfs)?;
            return Ok(Self {
                rootfs,
                upper,
                mounted: false,
                copied: Some(copied),
            });
        }
        if stack.is_empty() {
            let empty = scratch.join("empty");
            make_dir(&empty, 0o755)?;
            stack.push(empty);
        }
        mount_overlay(&stack, Some((&upper, &work)), &rootfs)?;
        Ok(Self {
            rootfs,
            upper,
            mounted: true,
            copied: None,
        })
    }

    /// Mounts `scratch/rootfs` as a read-only overlay of `lowers` (no upper dir): a view of a
    /// stage or image for `RUN --mount=type=bind,from=…`, diffs and `shell --image`.
    pub fn mount_readonly<P: AsRef<Path>>(
        lowers: &[P],
        scratch: &Path,
    ) -> Result<Self, OverlayError> {
        super::namespace::ensure_private()?;
        if lowers.len() > MAX_LOWER_DIRS {
            return Err(OverlayError::TooManyLowers {
                count: lowers.len(),
            });
        }
        let rootfs = scratch.join("rootfs");
        let empty = scratch.join("empty");
        for dir in [scratch, &rootfs, &empty] {
            make_dir(dir, 0o755)?;
        }
        // Without an upper dir overlayfs wants two layers; an empty one changes nothing.
        let mut stack = checked_stack(lowers)?;
        if snapshotter() == Snapshotter::Copy {
            // Writes to the copy are never read back: a view, as the read-only mount is.
            copy_stack(lowers, &rootfs)?;
            return Ok(Self {
                upper: PathBuf::new(),
                rootfs,
                mounted: false,
                copied: None,
            });
        }
        stack.push(empty);
        mount_overlay(&stack, None, &rootfs)?;
        Ok(Self {
            upper: PathBuf::new(),
            rootfs,
            mounted: true,
            copied: None,
        })
    }

    /// The merged view: the container's root filesystem.
    pub fn rootfs(&self) -> &Path {
        &self.rootfs
    }

    /// The upper dir; after [`Overlay::unmount`] it is the step's layer diff. Empty for a
    /// read-only overlay.
    pub fn upper(&self) -> &Path {
        &self.upper
    }

    /// Unmounts and returns the upper dir. A busy mount is detached instead of failing.
    pub fn unmount(mut self) -> Result<PathBuf, OverlayError> {
        if let Some(copied) = self.copied.take() {
            let copy_err = |source| OverlayError::Copy {
                path: self.rootfs.clone(),
                source,
            };
            copy::write_upper(&self.rootfs, &copied, &self.upper, overlay_opaque_xattr())
                .map_err(copy_err)?;
            std::fs::remove_dir_all(&self.rootfs).map_err(copy_err)?;
            return Ok(self.upper.clone());
        }
        if !self.mounted {
            return Ok(self.upper.clone());
        }
        self.mounted = false;
        let result = match umount2(&self.rootfs, MntFlags::empty()) {
            Err(Errno::EBUSY) => umount2(&self.rootfs, MntFlags::MNT_DETACH),
            other => other,
        };
        result.map_err(|source| OverlayError::Unmount {
            target: self.rootfs.clone(),
            source,
        })?;
        Ok(self.upper.clone())
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        if self.mounted {
            // Nothing useful to do with an error while dropping: the namespace dies with us.
            let _ = umount2(&self.rootfs, MntFlags::MNT_DETACH);
        }
    }
}

/// Copies `lowers` (base first) into `rootfs` for the copying snapshotter.
fn copy_stack<P: AsRef<Path>>(lowers: &[P], rootfs: &Path) -> Result<Copied, OverlayError> {
    copy::materialize(lowers, rootfs).map_err(|source| OverlayError::Copy {
        path: rootfs.to_path_buf(),
        source,
    })
}

/// The lower dirs top-most first, as overlayfs stacks them; the store lists the base first.
fn checked_stack<P: AsRef<Path>>(lowers: &[P]) -> Result<Vec<PathBuf>, OverlayError> {
    lowers
        .iter()
        .rev()
        .map(|lower| {
            let lower = lower.as_ref();
            if lower.is_dir() {
                Ok(lower.to_path_buf())
            } else {
                Err(OverlayError::LowerMissing { path: lower.into() })
            }
        })
        .collect()
}

fn make_dir(path: &Path, mode: u32) -> Result<(), OverlayError> {
    DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .map_err(|source| OverlayError::CreateDir {
            path: path.to_path_buf(),
            source,
        })
}
