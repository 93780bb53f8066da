//! The private mount namespace that every mount of a build lives in.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};

use super::mountinfo;

/// Where a hybrid-cgroup host mounts cgroup2; crun 1.8 refuses to run while it is visible.
const UNIFIED_CGROUP: &str = "/sys/fs/cgroup/unified";

#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("cannot enter a private mount namespace (unshare CLONE_NEWNS): {0}")]
    Unshare(nix::Error),
    #[error("cannot make / recursively private in the new mount namespace: {0}")]
    MakePrivate(nix::Error),
    #[error(
        "cannot detach (or, rootless, cover) {UNIFIED_CGROUP} in the private mount namespace: {0}"
    )]
    DetachCgroup(nix::Error),
    #[error("cannot read the mount table: {0}")]
    MountInfo(std::io::Error),
    #[error("cannot start a thread for an isolated mount namespace: {0}")]
    Thread(std::io::Error),
    #[error(
        "refusing to mount in the host's mount namespace: mounts could outlive stagecraft \
         (entering a private one at start: {at_start})"
    )]
    NotPrivate { at_start: String },
}

/// What happened when `main` tried to enter the namespace, for the error a mount reports later.
static AT_START: OnceLock<String> = OnceLock::new();

/// What happened at process start ("entered", or why not), for [`ensure_private`]'s error.
pub(super) fn record_at_start(outcome: String) {
    let _ = AT_START.set(outcome);
}

/// The mount namespace the process started in, recorded by the first entry into a private one.
/// (`/proc/1/ns/mnt` would say it directly, but is not readable in every sandbox.)
static ORIGINAL: OnceLock<PathBuf> = OnceLock::new();

fn current_namespace() -> Result<PathBuf, NamespaceError> {
    std::fs::read_link("/proc/thread-self/ns/mnt").map_err(NamespaceError::MountInfo)
}

/// Errors unless the calling thread is in a mount namespace entered with
/// [`enter_private_mount_namespace`], i.e. unless mounts made now disappear with this process.
pub fn ensure_private() -> Result<(), NamespaceError> {
    if let Some(original) = ORIGINAL.get()
        && *original != current_namespace()?
    {
        return Ok(());
    }
    Err(NamespaceError::NotPrivate {
        at_start: AT_START
            .get()
            .cloned()
            .unwrap_or_else(|| "not attempted".into()),
    })
}

/// Moves the calling thread into a new mount namespace whose mounts never propagate to the host,
/// and detaches `/sys/fs/cgroup/unified` there so crun works on hybrid-cgroup hosts.
///
/// `unshare(CLONE_NEWNS)` moves only the calling thread: threads (and processes) created by it
/// afterwards inherit the namespace, threads that already exist do not. So the binary calls this
/// first thing in `main`, before the tokio runtime exists. Code that already runs among other
/// threads (the test harness) uses [`run_isolated`] instead.
pub fn enter_private_mount_namespace() -> Result<(), NamespaceError> {
    let current = current_namespace()?;
    let _ = ORIGINAL.set(current);
    unshare(CloneFlags::CLONE_NEWNS).map_err(NamespaceError::Unshare)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(NamespaceError::MakePrivate)?;
    let mounted = mountinfo::mount_points()
        .map_err(NamespaceError::MountInfo)?
        .iter()
        .any(|p| p == Path::new(UNIFIED_CGROUP));
    if !mounted {
        return Ok(());
    }
    if crate::rootless::active() {
        // In a user namespace the host's mounts are locked and cannot be detached, but may be
        // covered: crun sees an empty tmpfs there and takes the host for cgroup v1 (where a
        // rootless container gets no cgroup, as it gets none from us anyway).
        mount(
            Some("none"),
            UNIFIED_CGROUP,
            Some("tmpfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("size=4k"),
        )
        .map_err(NamespaceError::DetachCgroup)
    } else {
        umount2(UNIFIED_CGROUP, MntFlags::MNT_DETACH).map_err(NamespaceError::DetachCgroup)
    }
}

/// Runs `work` on a fresh thread that first enters its own private mount namespace, and returns
/// its result. Everything `work` mounts, and every process or thread it starts, stays in that
/// namespace, which disappears with its last member: safe in a multi-threaded process.
pub fn run_isolated<T, F>(work: F) -> Result<T, NamespaceError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let handle = std::thread::Builder::new()
        .name("private-mount-ns".into())
        .spawn(move || enter_private_mount_namespace().map(|()| work()))
        .map_err(NamespaceError::Thread)?;
    match handle.join() {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
