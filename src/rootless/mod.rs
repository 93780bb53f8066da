//! Rootless mode: a regular user runs every command inside a user namespace of its own.
//!
//! At process start, before any thread exists, a non-root process enters a new user namespace
//! whose ID maps come from `/etc/subuid` and `/etc/subgid` through the setuid helpers
//! `newuidmap`/`newgidmap` (container 0 = the user, 1…N = the subordinate range), or, without a
//! range, a single-ID map the process may write itself. Inside it the process is root over its
//! own files, so the mount namespace, overlay mounts (with `userxattr`) and runc all work as they
//! do for root. Everything above asks this module only three things: whether we are rootless,
//! which xattr namespace overlay uses, and whether a container ID has a host ID behind it.

mod enter;
pub mod idmap;
mod runtime_dir;

use std::sync::OnceLock;

pub use enter::{RootlessError, enter_user_namespace};
pub use idmap::IdMap;
pub use runtime_dir::{UnsafeRuntimeDir, ensure_private_dir};

/// The user's checked runtime dir (see [`runtime_dir::runtime_dir`]); `None` for root.
pub fn runtime_dir() -> Option<Result<std::path::PathBuf, UnsafeRuntimeDir>> {
    STATE.get().map(|s| runtime_dir::runtime_dir(s.outer_uid))
}

/// The user namespace this process entered, if it is rootless.
#[derive(Debug, Clone)]
pub struct Rootless {
    /// The user's name and IDs outside the namespace.
    pub user: String,
    pub outer_uid: u32,
    pub outer_gid: u32,
    pub uid_map: IdMap,
    pub gid_map: IdMap,
}

static STATE: OnceLock<Rootless> = OnceLock::new();

/// The namespace entered at start; `None` for root (and before [`enter_user_namespace`]).
pub fn state() -> Option<&'static Rootless> {
    STATE.get()
}

/// Whether this process runs as a regular user inside its own user namespace.
pub fn active() -> bool {
    STATE.get().is_some()
}

/// The xattr overlayfs keeps its opaque mark in: `user.overlay.opaque` under `userxattr` (the
/// only kind an unprivileged mount may use), `trusted.overlay.opaque` for root.
pub fn overlay_opaque_xattr() -> &'static str {
    if active() {
        "user.overlay.opaque"
    } else {
        "trusted.overlay.opaque"
    }
}

/// A container uid or gid that no host ID stands behind: chown or setuid to it would fail with
/// a bare EINVAL, so callers check first and report this.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
#[error(
    "{kind} {id} is outside the ID map of this rootless run (the user {user} has {range} in \
     {file}); add a range, e.g. `sudo usermod --add-subuids 100000-165535 --add-subgids \
     100000-165535 {user}`, then rerun"
)]
pub struct UnmappedId {
    pub kind: &'static str,
    pub id: u32,
    pub user: String,
    pub file: &'static str,
    pub range: &'static str,
}

/// Ok when `uid` and `gid` exist in this process's namespace (always, for root).
pub fn ensure_mapped(uid: u32, gid: u32) -> Result<(), UnmappedId> {
    let Some(state) = STATE.get() else {
        return Ok(());
    };
    for (kind, id, map) in [("uid", uid, &state.uid_map), ("gid", gid, &state.gid_map)] {
        if !map.contains(id) {
            return Err(UnmappedId {
                kind,
                id,
                user: state.user.clone(),
                file: map.file,
                range: if map.is_single() {
                    "no subordinate range"
                } else {
                    "too small a subordinate range"
                },
            });
        }
    }
    Ok(())
}

/// Turns the bare EINVAL of a chown to an ID outside the map into an error that says so (and how
/// to fix it); other errors pass through unchanged.
pub fn explain_chown(err: std::io::Error, uid: u32, gid: u32) -> std::io::Error {
    match ensure_mapped(uid, gid) {
        Err(unmapped) if err.raw_os_error() == Some(libc::EINVAL) => {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, unmapped)
        }
        _ => err,
    }
}
