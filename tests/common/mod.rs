//! Everything the integration tests share, in one place: the tools they need ([`require`]), a
//! busybox root filesystem, real builds in a private store ([`Fixture`]), a registry process
//! ([`start_registry`]), a tmux terminal (`tmux`), and the TUI model driven without a terminal
//! (`tui`). Each test crate uses the part it needs.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::panic)]

pub mod dockerd;
pub mod fixture;
pub mod registry;
pub mod rootfs;
pub mod rootless;
pub mod tmux;
pub mod tui;

use std::process::Command;

pub use fixture::{Built, Fixture, bin};
pub use registry::start_registry;
pub use rootfs::{BUSYBOX, busybox_rootfs, debian_rootfs, fixtures_dir};

/// The Debian package of each tool a test runs; `.ci/packages` (what CI and quickstart.sh
/// install) lists them all.
const PACKAGES: &[(&str, &str)] = &[
    ("buildah", "buildah"),
    ("crun", "crun"),
    ("curl", "curl"),
    ("debootstrap", "debootstrap"),
    ("docker", "docker.io"),
    ("dockerd", "docker.io"),
    ("git", "git"),
    ("newgidmap", "uidmap"),
    ("newuidmap", "uidmap"),
    ("openssl", "openssl"),
    ("registry", "docker-registry"),
    ("rpm", "rpm"),
    ("rpmbuild", "rpm"),
    ("runc", "runc"),
    ("runuser", "util-linux"),
    ("skopeo", "skopeo"),
    ("tmux", "tmux"),
    ("umoci", "umoci"),
];

/// True when `cmd` is on PATH.
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The one policy for external tools: a test that needs one and does not find it fails, naming
/// the package to install. It never passes silently.
pub fn require(cmds: &[&str]) {
    let missing: Vec<&str> = cmds.iter().copied().filter(|c| !have(c)).collect();
    if missing.is_empty() {
        return;
    }
    let mut packages: Vec<&str> = missing
        .iter()
        .map(|c| {
            PACKAGES
                .iter()
                .find(|(tool, _)| tool == c)
                .map_or(*c, |(_, pkg)| *pkg)
        })
        .collect();
    packages.dedup();
    panic!(
        "{} not installed: apt-get install {} (CI installs every package of .ci/packages)",
        missing.join(", "),
        packages.join(" ")
    );
}

/// Paths [`remove_at_exit`] removes when the test binary exits.
static AT_EXIT: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());

extern "C" fn remove_registered() {
    if let Ok(paths) = AT_EXIT.lock() {
        for p in paths.iter() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// Removes `path` when the test binary exits. A fixture kept in a `static` (shared by every
/// test of a file) is never dropped, so its temporary directory would stay behind after each run.
pub fn remove_at_exit(path: &std::path::Path) {
    let mut paths = AT_EXIT.lock().unwrap();
    if paths.is_empty() {
        // SAFETY: registers a plain function without captured state; it runs once, at exit().
        unsafe { libc::atexit(remove_registered) };
    }
    paths.push(path.to_path_buf());
}
