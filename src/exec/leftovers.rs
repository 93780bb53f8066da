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
    kind: RuntimeKind,
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
                out.push(Leftover {
                    state: root.join(&id),
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
