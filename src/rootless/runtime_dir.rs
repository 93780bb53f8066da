//! The per-user runtime dir (`$XDG_RUNTIME_DIR/stagecraft-UID`, else `/tmp/stagecraft-UID`)
//! where runc keeps container state. Under a world-writable `/tmp` another user can create that
//! name first (a dir of theirs, or a symlink to one) and feed runc state of their making to our
//! `runc kill`/`delete`; so the dir must be a real dir we own that nobody else can write, and
//! anything else is refused rather than used or repaired.

use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Why the runtime dir cannot be used.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
#[error(
    "refusing the runtime dir {path}: {problem}; another user may have made it to take over \
     stagecraft's container state. Remove it (or set XDG_RUNTIME_DIR to a dir of your own) and \
     rerun"
)]
pub struct UnsafeRuntimeDir {
    pub path: PathBuf,
    pub problem: String,
}

/// The checked runtime dir of this process's user, created (mode 0700) when missing. Checked
/// once: every runtime call in the process uses the same answer.
pub fn runtime_dir(outer_uid: u32) -> Result<PathBuf, UnsafeRuntimeDir> {
    static DIR: OnceLock<Result<PathBuf, UnsafeRuntimeDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        let parent = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute() && dir.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        let path = parent.join(format!("stagecraft-{outer_uid}"));
        ensure_private_dir(&path, nix::unistd::geteuid().as_raw())?;
        Ok(path)
    })
    .clone()
}

/// Creates `path` as a 0700 dir, or accepts an existing one only when it is a dir (not a
/// symlink) owned by `owner` (the ID it shows inside our namespace) and not writable by others.
pub fn ensure_private_dir(path: &Path, owner: u32) -> Result<(), UnsafeRuntimeDir> {
    let refuse = |problem: String| UnsafeRuntimeDir {
        path: path.to_path_buf(),
        problem,
    };
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(refuse(format!("cannot create it: {e}"))),
    }
    let meta = std::fs::symlink_metadata(path).map_err(|e| refuse(format!("cannot stat: {e}")))?;
    if meta.file_type().is_symlink() {
        return Err(refuse("it is a symlink".into()));
    }
    if !meta.is_dir() {
        return Err(refuse("it is not a directory".into()));
    }
    if meta.uid() != owner {
        return Err(refuse(format!(
            "it belongs to {}, not to you",
            owner_name(meta.uid())
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(refuse(format!(
            "others can write it (mode {:o})",
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

/// Inside our user namespace a host user outside the map shows as the overflow ID.
fn owner_name(uid: u32) -> String {
    let overflow = std::fs::read_to_string("/proc/sys/kernel/overflowuid")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok());
    if overflow == Some(uid) && super::active() {
        "another user (unmapped here)".into()
    } else {
        format!("uid {uid}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_a_private_dir_and_refuses_links_others_and_open_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let me = nix::unistd::geteuid().as_raw();
        let fresh = tmp.path().join("fresh");
        ensure_private_dir(&fresh, me).unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        ensure_private_dir(&fresh, me).unwrap();

        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&fresh, &link).unwrap();
        let err = ensure_private_dir(&link, me).unwrap_err();
        assert!(err.to_string().contains("it is a symlink"), "{err}");

        let err = ensure_private_dir(&fresh, me + 1).unwrap_err();
        assert!(err.to_string().contains("not to you"), "{err}");

        std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = ensure_private_dir(&fresh, me).unwrap_err();
        assert!(err.to_string().contains("mode 777"), "{err}");
    }
}
