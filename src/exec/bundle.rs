//! A per-run OCI bundle dir: `config.json` plus secret files; removed when dropped.
//!
//! The runtime creates missing mount points inside the rootfs, and in an overlay they would land
//! in the upper dir, the layer diff. A bundle remembers which ones it will create ("stubs") so
//! [`Bundle::remove_stubs`] can take them back out after the run, as BuildKit does.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, chown};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::AT_FDCWD;
use nix::sys::stat::{UtimensatFlags, utimensat};
use nix::sys::time::TimeSpec;

use super::config::{hosts_path, runtime_config};
use super::error::ExecError;
use super::spec::{ExtraMount, RunSpec};
use super::user::ResolvedUser;

/// Standard mount points; children of the pseudo-filesystems live on those, not in the rootfs.
const STANDARD_TARGETS: [&str; 5] = ["/proc", "/dev", "/sys", "/etc/resolv.conf", "/etc/hosts"];

pub(super) struct Bundle {
    dir: PathBuf,
    rootfs: PathBuf,
    stubs: Vec<PathBuf>,
    /// The dir is a private tmpfs: secrets and `config.json` (whose env may hold a secret) never
    /// reach the disk, and vanish with the mount namespace if stagecraft is killed.
    in_memory: bool,
}

/// Mounts a tmpfs on `dir` when this thread is in stagecraft's private mount namespace (where
/// it cannot outlive the process); elsewhere (library callers in the host's namespace) the
/// bundle stays on disk and is removed when dropped.
fn mount_private_tmpfs(dir: &Path) -> bool {
    use nix::mount::{MsFlags, mount};
    crate::snapshot::namespace::ensure_private().is_ok()
        && mount(
            Some("tmpfs"),
            dir,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=0700"),
        )
        .is_ok()
}

impl Bundle {
    pub fn create(
        spec: &RunSpec,
        id: &str,
        user: &ResolvedUser,
        terminal: bool,
    ) -> Result<Self, ExecError> {
        let dir = spec.bundle_parent.join(id);
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ExecError::Bundle { path, source }
        };
        for private in [&dir, &spec.runtime.state_root()?] {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(private)
                .map_err(err(private))?;
        }
        let stubs = missing_mount_points(spec);
        let in_memory = mount_private_tmpfs(&dir);
        let bundle = Self {
            dir,
            rootfs: spec.rootfs.clone(),
            stubs,
            in_memory,
        };
        let secret_dir = bundle.dir.join("secrets");
        let mut index = 0;
        for mount in &spec.mounts {
            if let ExtraMount::Secret {
                contents,
                uid,
                gid,
                mode,
                ..
            } = mount
            {
                DirBuilder::new()
                    .mode(0o700)
                    .recursive(true)
                    .create(&secret_dir)
                    .map_err(err(&secret_dir))?;
                let path = secret_dir.join(index.to_string());
                index += 1;
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(err(&path))?;
                file.write_all(contents).map_err(err(&path))?;
                chown(&path, Some(*uid), Some(*gid))
                    .map_err(|e| crate::rootless::explain_chown(e, *uid, *gid))
                    .map_err(err(&path))?;
                fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(*mode))
                    .map_err(err(&path))?;
            }
        }
        if !spec.extra_hosts.is_empty() {
            let path = hosts_path(&secret_dir);
            let mut text = fs::read_to_string("/etc/hosts").unwrap_or_default();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            for (host, ip) in &spec.extra_hosts {
                text.push_str(&format!("{ip}\t{host}\n"));
            }
            fs::write(&path, text).map_err(err(&path))?;
        }
        let config = runtime_config(spec, user, &secret_dir, terminal)?;
        let config_path = bundle.dir.join("config.json");
        config.save(&config_path)?;
        Ok(bundle)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Removes the mount points the runtime created, deepest first, if they are still empty,
    /// keeping the parent dir's times as the run left them (as BuildKit does).
    pub fn remove_stubs(&self) {
        for stub in self.stubs.iter().rev() {
            let path = self.rootfs.join(stub);
            let Ok(meta) = path.symlink_metadata() else {
                continue;
            };
            let parent = path
                .parent()
                .and_then(|p| Some((p, p.symlink_metadata().ok()?)));
            // A non-empty stub now holds the step's own files: keep it.
            let removed = if meta.is_dir() {
                fs::remove_dir(&path).is_ok()
            } else {
                meta.is_file() && meta.len() == 0 && fs::remove_file(&path).is_ok()
            };
            if let (true, Some((parent, times))) = (removed, parent) {
                let _ = utimensat(
                    AT_FDCWD,
                    parent,
                    &TimeSpec::new(times.atime(), times.atime_nsec()),
                    &TimeSpec::new(times.mtime(), times.mtime_nsec()),
                    UtimensatFlags::NoFollowSymlink,
                );
            }
        }
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        if self.in_memory {
            let _ = nix::mount::umount2(&self.dir, nix::mount::MntFlags::MNT_DETACH);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Every path component (relative to the rootfs, shallowest first) the runtime will have to
/// create for a mount point. Paths below a symlink are skipped: the runtime resolves those in
/// the rootfs, and joining them onto the host path could escape it.
fn missing_mount_points(spec: &RunSpec) -> Vec<PathBuf> {
    let targets = STANDARD_TARGETS
        .iter()
        .copied()
        .chain(spec.mounts.iter().map(ExtraMount::target));
    let mut stubs = Vec::new();
    for target in targets {
        let mut relative = PathBuf::new();
        for component in Path::new(target).components() {
            let Component::Normal(name) = component else {
                continue;
            };
            relative.push(name);
            match spec.rootfs.join(&relative).symlink_metadata() {
                Ok(meta) if meta.is_dir() => continue,
                Ok(_) => break,
                Err(_) => {
                    if !stubs.contains(&relative) {
                        stubs.push(relative.clone());
                    }
                }
            }
        }
    }
    stubs
}
