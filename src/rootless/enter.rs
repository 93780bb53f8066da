//! Entering the user namespace: fork a helper that waits on a pipe, unshare, let the helper run
//! `newuidmap`/`newgidmap` on us (a setuid helper only works from outside the new namespace),
//! as podman and rootlesskit do. Runs before any thread exists, so `fork` is safe.

use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::Command;

use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Gid, Uid, User, fork, pipe, read, write};

use super::idmap::{self, IdMap};
use super::{Rootless, STATE};

const SUBUID: &str = "/etc/subuid";
const SUBGID: &str = "/etc/subgid";

#[derive(Debug, thiserror::Error)]
pub enum RootlessError {
    #[error("cannot create a user namespace (unshare CLONE_NEWUSER): {0}")]
    Unshare(nix::Error),
    #[error("cannot start the ID-map helper: {0}")]
    Fork(nix::Error),
    #[error("cannot write {path} for the single-ID map: {source}")]
    WriteMap {
        path: &'static str,
        source: std::io::Error,
    },
}

/// Enters a new user namespace with the user's ID maps and records it for [`super::state`].
/// Returns the warnings to show (a missing range or helper). Call before any thread starts.
pub fn enter_user_namespace() -> Result<Vec<String>, RootlessError> {
    let uid = Uid::current().as_raw();
    let gid = Gid::current().as_raw();
    let user = User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string());
    let uid_range = idmap::read_range(Path::new(SUBUID), &user, uid);
    let gid_range = idmap::read_range(Path::new(SUBGID), &user, uid);
    let mut warnings = Vec::new();
    let mut maps = match (uid_range, gid_range) {
        (Some(_), Some(_)) if !helpers_installed() => {
            warnings.push(
                "newuidmap/newgidmap are not installed (Debian package uidmap): running with a \
                 single-ID map, so only uid/gid 0 exist inside builds"
                    .to_string(),
            );
            None
        }
        (Some(u), Some(g)) => Some((
            IdMap::new(uid, Some(u), SUBUID),
            IdMap::new(gid, Some(g), SUBGID),
        )),
        _ => {
            warnings.push(format!(
                "{user} has no subordinate ID range in {SUBUID} and {SUBGID}: running with a \
                 single-ID map, so only uid/gid 0 exist inside builds (fix: `sudo usermod \
                 --add-subuids 100000-165535 --add-subgids 100000-165535 {user}`)"
            ));
            None
        }
    };
    if let Some((uid_map, gid_map)) = &maps
        && let Err(e) = unshare_with_helper(uid_map, gid_map)?
    {
        warnings.push(format!("{e}: falling back to a single-ID map"));
        maps = None;
    }
    let (uid_map, gid_map) = match maps {
        Some(maps) => maps,
        None => {
            let maps = (IdMap::new(uid, None, SUBUID), IdMap::new(gid, None, SUBGID));
            if !in_new_namespace() {
                unshare(CloneFlags::CLONE_NEWUSER).map_err(RootlessError::Unshare)?;
            }
            write_single_maps(&maps.0, &maps.1)?;
            maps
        }
    };
    let _ = STATE.set(Rootless {
        user,
        outer_uid: uid,
        outer_gid: gid,
        uid_map,
        gid_map,
    });
    Ok(warnings)
}

fn helpers_installed() -> bool {
    ["newuidmap", "newgidmap"].iter().all(|name| {
        std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
            .unwrap_or(false)
    })
}

/// Whether the helper path already unshared (its maps failed): uid reads as the overflow ID.
fn in_new_namespace() -> bool {
    fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| m.trim().is_empty())
}

/// Unshares with a helper child writing the maps. The outer error is fatal (no namespace);
/// the inner one means the namespace exists but the helper failed, so the caller falls back.
fn unshare_with_helper(
    uid_map: &IdMap,
    gid_map: &IdMap,
) -> Result<Result<(), String>, RootlessError> {
    let pid = std::process::id();
    let (ready_rx, ready_tx) = pipe().map_err(RootlessError::Fork)?;
    // SAFETY: no other thread exists yet (called first thing in main), so the child may run
    // arbitrary code; it leaves through `_exit` only.
    match unsafe { fork() }.map_err(RootlessError::Fork)? {
        ForkResult::Child => {
            drop(ready_tx);
            let code = helper_child(ready_rx, pid, uid_map, gid_map);
            // SAFETY: _exit skips the parent's atexit handlers and buffered output.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(ready_rx);
            let unshared = unshare(CloneFlags::CLONE_NEWUSER);
            // On failure the closed pipe tells the helper to give up.
            let _ = unshared.is_ok() && write(ready_tx.as_fd(), b"1").is_ok();
            drop(ready_tx);
            let status = waitpid(child, None);
            unshared.map_err(RootlessError::Unshare)?;
            Ok(match status {
                Ok(WaitStatus::Exited(_, 0)) => Ok(()),
                other => Err(format!(
                    "newuidmap/newgidmap could not map the ranges of {SUBUID} and {SUBGID} \
                     ({other:?})"
                )),
            })
        }
    }
}

fn helper_child(ready: OwnedFd, pid: u32, uid_map: &IdMap, gid_map: &IdMap) -> i32 {
    let mut byte = [0u8; 1];
    if !matches!(read(&ready, &mut byte), Ok(1)) {
        return 2;
    }
    // Both at once: start-up waits for them, and they touch different files.
    let children: Vec<_> = [("newuidmap", uid_map), ("newgidmap", gid_map)]
        .into_iter()
        .map(|(helper, map)| {
            Command::new(helper)
                .arg(pid.to_string())
                .args(map.helper_args())
                .spawn()
        })
        .collect();
    let mut ok = true;
    for child in children {
        ok &= child.and_then(|mut c| c.wait()).is_ok_and(|s| s.success());
    }
    if ok { 0 } else { 1 }
}

/// A process may map its own IDs once, without a helper, after denying setgroups.
fn write_single_maps(uid_map: &IdMap, gid_map: &IdMap) -> Result<(), RootlessError> {
    let write = |path: &'static str, text: &str| {
        fs::write(path, text).map_err(|source| RootlessError::WriteMap { path, source })
    };
    write("/proc/self/setgroups", "deny")?;
    write("/proc/self/uid_map", &uid_map.proc_text())?;
    write("/proc/self/gid_map", &gid_map.proc_text())
}
