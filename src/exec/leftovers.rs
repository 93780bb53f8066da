//! Containers a killed stagecraft left behind. Since `tether`, their processes die with it, but
//! the runtime's state dir (and older versions' still-running containers) stay until someone
//! removes them: every stagecraft command does at start, and `store check` lists them first
//! (`--repair` removes them).

use std::path::{Path, PathBuf};

use super::runtime::{Runtime, RuntimeKind, owner_pid};

/// One container whose owning stagecraft process no longer exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub id: String,
    /// The runtime's state dir for it.
    pub state: PathBuf,
    pub owner: u32,
    /// The container's root filesystem (under the store's `tmp/` it ran for), when the runtime's
    /// state names it: which store a leftover belongs to.
    pub rootfs: Option<PathBuf>,
    kind: RuntimeKind,
}

impl Leftover {
    /// Whether it ran for the store at `root`; one whose state names no rootfs may have.
    pub fn of_store(&self, root: &Path) -> bool {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        self.rootfs.as_ref().is_none_or(|r| r.starts_with(&root))
    }
}

/// The rootfs runc (`state.json`: `config.rootfs`) or crun (`status`: `rootfs`) recorded.
fn rootfs_of(state: &Path) -> Option<PathBuf> {
    let text = ["state.json", "status"]
        .iter()
        .find_map(|f| std::fs::read(state.join(f)).ok())?;
    let json: serde_json::Value = serde_json::from_slice(&text).ok()?;
    let rootfs = json
        .pointer("/config/rootfs")
        .or_else(|| json.get("rootfs"))?
        .as_str()?;
    Some(PathBuf::from(rootfs))
}

/// The leftovers under both runtimes' state roots.
pub fn find() -> Vec<Leftover> {
    let mut out = Vec::new();
    for kind in [RuntimeKind::Runc, RuntimeKind::Crun] {
        // An unsafe runtime dir is never read: the build that needs it reports why.
        let Ok(root) = Runtime::state_root_of(kind) else {
            continue;
        };
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        for id in entries.filter_map(|e| e.ok()?.file_name().into_string().ok()) {
            let Some(owner) = owner_pid(&id) else {
                continue;
            };
            if !Path::new("/proc").join(owner.to_string()).exists() {
                let state = root.join(&id);
                out.push(Leftover {
                    rootfs: rootfs_of(&state),
                    state,
                    id,
                    owner,
                    kind,
                });
            }
        }
    }
    out
}

/// Kills what may still run of `l` and deletes it through its runtime; the state dir goes even
/// when that runtime is no longer installed.
pub fn remove(l: &Leftover) {
    let name = match l.kind {
        RuntimeKind::Runc => "runc",
        RuntimeKind::Crun => "crun",
    };
    if let Ok(runtime) = Runtime::find(Some(Path::new(name))) {
        runtime.kill_and_delete(&l.id);
    }
    let _ = std::fs::remove_dir_all(&l.state);
}

/// Removes every leftover; returns how many there were.
pub fn remove_all() -> usize {
    let found = find();
    for l in &found {
        remove(l);
    }
    found.len()
}
