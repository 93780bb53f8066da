//! Overlay rootfs mounts: lower dirs from the store, a fresh upper dir that becomes the layer diff.
//!
//! After the step, the upper dir holds exactly what changed: new and modified files, whiteouts
//! (0/0 character devices) for deletions and `trusted.overlay.opaque` on replaced directories.
//! `redirect_dir`, `metacopy` and `index` are off so no other overlay-private state appears there.

use std::ffi::OsStr;
use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, umount2};

use super::legacy_mount::{self, Writable};
use super::mount_api::FsContext;

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

#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error("cannot create overlay dir {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("lower dir {path} is not a directory")]
    LowerMissing { path: PathBuf },
    #[error("{count} lower dirs exceed overlayfs's limit of {MAX_LOWER_DIRS}")]
    TooManyLowers { count: usize },
    #[error("mounting overlay at {target} failed (option {option}): {source}")]
    Mount {
        target: PathBuf,
        option: String,
        source: io::Error,
    },
    #[error(
        "mounting overlay at {target} failed: this kernel lacks `lowerdir+` and the {len}-byte \
         option string exceeds mount(2)'s page limit"
    )]
    OptionsTooLong { target: PathBuf, len: usize },
    #[error(transparent)]
    Namespace(#[from] super::NamespaceError),
    #[error("unmounting overlay at {target} failed: {source}")]
    Unmount { target: PathBuf, source: nix::Error },
}

/// A mounted overlay rootfs. Dropping it detaches the mount; [`Overlay::unmount`] reports errors.
#[derive(Debug)]
pub struct Overlay {
    rootfs: PathBuf,
    upper: PathBuf,
    mounted: bool,
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
        stack.push(empty);
        mount_overlay(&stack, None, &rootfs)?;
        Ok(Self {
            upper: PathBuf::new(),
            rootfs,
            mounted: true,
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

fn mount_err(target: &Path, option: &str) -> impl FnOnce(io::Error) -> OverlayError + use<> {
    let target = target.to_path_buf();
    let option = option.to_string();
    move |source| OverlayError::Mount {
        target,
        option,
        source,
    }
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

/// `stack` is top-most first, as overlayfs wants it.
fn mount_overlay(stack: &[PathBuf], writable: Writable, target: &Path) -> Result<(), OverlayError> {
    let err = |option: &str| mount_err(target, option);
    let ctx = match FsContext::open("overlay") {
        Ok(ctx) => ctx,
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            return legacy_mount::mount_overlay(stack, writable, target);
        }
        Err(e) => return Err(err("fsopen")(e)),
    };
    for (i, lower) in stack.iter().enumerate() {
        match ctx.set_string("lowerdir+", lower.as_os_str()) {
            // Kernels before 6.8 do not know `lowerdir+`.
            Err(e) if i == 0 && e.raw_os_error() == Some(libc::EINVAL) => {
                return legacy_mount::mount_overlay(stack, writable, target);
            }
            other => other.map_err(err(&format!("lowerdir+={}", lower.display())))?,
        }
    }
    if let Some((upper, work)) = writable {
        ctx.set_string("upperdir", upper.as_os_str())
            .map_err(err("upperdir"))?;
        ctx.set_string("workdir", work.as_os_str())
            .map_err(err("workdir"))?;
        for (key, value) in DIFF_OPTIONS {
            ctx.set_string(key, OsStr::new(value)).map_err(err(key))?;
        }
        // A kernel without it (before 5.10) syncs on unmount as it always did.
        let _ = ctx.set_flag(VOLATILE);
    }
    ctx.create_and_mount()
        .map_err(err("create"))?
        .attach(target)
        .map_err(err("move_mount"))
}
