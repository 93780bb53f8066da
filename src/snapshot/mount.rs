//! Mounting an overlay: the new mount API (`fsopen`, `lowerdir+`, kernels from 6.8), falling back
//! to `mount(2)` (`legacy_mount`) where the kernel lacks it.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use super::error::OverlayError;
use super::legacy_mount;
use super::mount_api::FsContext;
use super::options::{DIFF_OPTIONS, VOLATILE, Writable, flags};

fn mount_err(target: &Path, option: &str) -> impl FnOnce(io::Error) -> OverlayError + use<> {
    let target = target.to_path_buf();
    let option = option.to_string();
    move |source| OverlayError::Mount {
        target,
        option,
        source,
    }
}

/// `stack` is top-most first, as overlayfs wants it.
pub(super) fn mount_overlay(
    stack: &[PathBuf],
    writable: Writable,
    target: &Path,
) -> Result<(), OverlayError> {
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
    for flag in flags() {
        ctx.set_flag(flag).map_err(err(flag))?;
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
