//! Which snapshotter makes a step's rootfs: the kernel's overlay, or (where an unprivileged
//! overlay mount is refused: kernels before 5.11, or distributions that turn it off) a copy.
//! Chosen once at process start; a rootless run probes the kernel once per kernel release and
//! keeps the answer in its runtime dir. `STAGECRAFT_SNAPSHOTTER=overlay|copy` forces one.

use std::path::Path;
use std::sync::OnceLock;

use super::mount::mount_overlay;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snapshotter {
    Overlay,
    Copy,
}

pub const ENV: &str = "STAGECRAFT_SNAPSHOTTER";

static CHOSEN: OnceLock<Snapshotter> = OnceLock::new();

/// The snapshotter of this process (the kernel's overlay unless the start chose otherwise).
pub fn snapshotter() -> Snapshotter {
    *CHOSEN.get_or_init(|| Snapshotter::Overlay)
}

/// Chooses the snapshotter; returns the warnings for the user. Call once the private mount
/// namespace is entered (the probe mounts).
pub(super) fn choose_at_start() -> Vec<String> {
    let mut warnings = Vec::new();
    let forced = match std::env::var(ENV).as_deref() {
        Ok("overlay") => Some(Snapshotter::Overlay),
        Ok("copy") => Some(Snapshotter::Copy),
        Ok(other) => {
            warnings.push(format!(
                "{ENV}={other:?} is neither `overlay` nor `copy`: ignored"
            ));
            None
        }
        Err(_) => None,
    };
    let chosen = match forced {
        Some(s) => s,
        None if crate::rootless::active() => probe_cached(),
        None => Snapshotter::Overlay,
    };
    if chosen == Snapshotter::Copy {
        warnings.push(
            "copying snapshotter: every step copies its parent layers into a fresh rootfs \
             (correct, but slow for big images), since this kernel refuses an unprivileged \
             overlay mount with `userxattr` (Linux 5.11+) or it was asked for"
                .into(),
        );
    }
    let _ = CHOSEN.set(chosen);
    warnings
}

/// The probe's answer for this kernel release, from the runtime dir when an earlier run left it.
fn probe_cached() -> Snapshotter {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let Some(Ok(dir)) = crate::rootless::runtime_dir() else {
        return probe(&std::env::temp_dir());
    };
    let cache = dir.join("overlay-probe");
    let line = |s: Snapshotter| format!("{} {:?}\n", release.trim(), s);
    if let Ok(text) = std::fs::read_to_string(&cache) {
        for s in [Snapshotter::Overlay, Snapshotter::Copy] {
            if text == line(s) {
                return s;
            }
        }
    }
    let answer = probe(&dir);
    let _ = std::fs::write(&cache, line(answer));
    answer
}

/// Mounts a one-file overlay with an upper dir (what a step needs) in a scratch dir under `dir`.
fn probe(dir: &Path) -> Snapshotter {
    let Ok(scratch) = tempfile::Builder::new()
        .prefix("overlay-probe-")
        .tempdir_in(dir)
    else {
        return Snapshotter::Copy;
    };
    let p = |name: &str| scratch.path().join(name);
    let made = ["lower", "upper", "work", "merged"]
        .iter()
        .all(|d| std::fs::create_dir(p(d)).is_ok());
    if !made || mount_overlay(&[p("lower")], Some((&p("upper"), &p("work"))), &p("merged")).is_err()
    {
        return Snapshotter::Copy;
    }
    let _ = nix::mount::umount2(&p("merged"), nix::mount::MntFlags::MNT_DETACH);
    Snapshotter::Overlay
}
