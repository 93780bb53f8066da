//! The OCI runtime binary (runc or crun) and the state dir it keeps its containers in.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::ExecError;

/// Where runtimes keep container state; on /run so a reboot forgets stale containers.
const STATE_ROOT: &str = "/run/stagecraft";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    Runc,
    Crun,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    pub path: PathBuf,
    pub kind: RuntimeKind,
}

impl Runtime {
    /// `--runtime PATH` when given (a bare name is looked up on PATH), else runc, else crun.
    pub fn find(explicit: Option<&Path>) -> Result<Self, ExecError> {
        match explicit {
            Some(path) if path.components().count() > 1 => Self::at(path),
            Some(name) => match which(name) {
                Some(path) => Self::at(&path),
                None => Err(ExecError::RuntimeMissing { path: name.into() }),
            },
            None => ["runc", "crun"]
                .iter()
                .find_map(|name| which(Path::new(name)))
                .map(|path| Self::at(&path))
                .unwrap_or(Err(ExecError::NoRuntime)),
        }
    }

    /// The runtime at `path`; crun when its file name says so, runc-compatible otherwise.
    pub fn at(path: &Path) -> Result<Self, ExecError> {
        if !is_executable(path) {
            return Err(ExecError::RuntimeMissing { path: path.into() });
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let kind = if name.contains("crun") {
            RuntimeKind::Crun
        } else {
            RuntimeKind::Runc
        };
        Ok(Self {
            path: path.into(),
            kind,
        })
    }

    /// The `--root` state dir, one per runtime kind since their state formats differ. A
    /// rootless run cannot write /run; it uses its checked per-user runtime dir.
    pub fn state_root(&self) -> Result<PathBuf, ExecError> {
        Self::state_root_of(self.kind)
    }

    /// The `--root` state dir runtimes of `kind` use.
    pub fn state_root_of(kind: RuntimeKind) -> Result<PathBuf, ExecError> {
        let name = match kind {
            RuntimeKind::Runc => "runc",
            RuntimeKind::Crun => "crun",
        };
        match crate::rootless::runtime_dir() {
            None => Ok(Path::new(STATE_ROOT).join(name)),
            Some(dir) => Ok(dir?.join(name)),
        }
    }

    /// The runtime command with its global flags, ready for a subcommand.
    pub(super) fn command(&self) -> Result<std::process::Command, ExecError> {
        let mut cmd = std::process::Command::new(&self.path);
        cmd.arg("--root").arg(self.state_root()?);
        Ok(cmd)
    }

    /// Kills every process of the container and deletes it; errors mean it is already gone.
    pub(super) fn kill_and_delete(&self, id: &str) {
        use std::process::Stdio;
        for args in [&["kill", id, "KILL"][..], &["delete", "--force", id][..]] {
            let Ok(mut cmd) = self.command() else {
                return;
            };
            let _ = cmd
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Runtime {
    /// Kills and deletes containers that a stagecraft process which no longer exists left
    /// behind (killed before it could clean up); returns their ids. Call at build start.
    pub fn remove_stale_containers(&self) -> Vec<String> {
        let Ok(entries) = self.state_root().map(std::fs::read_dir) else {
            return Vec::new();
        };
        let Ok(entries) = entries else {
            return Vec::new();
        };
        let stale: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|id| {
                owner_pid(id).is_some_and(|pid| !Path::new("/proc").join(pid.to_string()).exists())
            })
            .collect();
        for id in &stale {
            self.kill_and_delete(id);
        }
        stale
    }
}

/// The pid of the stagecraft process that named container `id` (see [`unique_container_id`]).
pub(super) fn owner_pid(id: &str) -> Option<u32> {
    id.strip_prefix(ID_PREFIX)?.split('-').next()?.parse().ok()
}

const ID_PREFIX: &str = "stagecraft-";

/// A container id no other run of any stagecraft process uses at the same time.
pub(super) fn unique_container_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{ID_PREFIX}{}-{}-{nanos:08x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn which(name: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_are_unique_and_name_their_owner() {
        let (a, b) = (unique_container_id(), unique_container_id());
        assert_ne!(a, b);
        assert_eq!(owner_pid(&a), Some(std::process::id()));
        assert_eq!(owner_pid("someone-else"), None);
    }
}
