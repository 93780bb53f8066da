//! Overlay mounts through `mount(2)`, for kernels without `lowerdir+` (before 6.8, e.g. Debian
//! 12's stock 6.1).
//!
//! `mount(2)` takes all options in one page, which absolute store paths fill after a few dozen
//! layers. As Docker's overlay2 does, long chains are mounted through short relative names:
//! symlinks `0`, `1`, … next to the work dir, resolved against a cwd that only the mounting
//! thread has (`unshare(CLONE_FS)`), so no other thread's cwd ever changes.

use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};

use super::error::OverlayError;
use super::options::{DIFF_OPTIONS, VOLATILE, Writable, flags};

/// `mount(2)` copies at most one page of options.
const OPTIONS_LIMIT: usize = 4095;

/// `stack` is top-most first. Tries absolute paths, then short relative names. The symlinks go
/// next to `target`.
pub(super) fn mount_overlay(
    stack: &[PathBuf],
    writable: Writable,
    target: &Path,
) -> Result<(), OverlayError> {
    let absolute: Vec<String> = stack.iter().map(|p| escape(&p.to_string_lossy())).collect();
    let options = option_string(&absolute, writable);
    if options.len() <= OPTIONS_LIMIT {
        return mount_with(&options, target, None);
    }
    let links = target.with_file_name("lowers");
    let err = |source: io::Error| OverlayError::Mount {
        target: target.to_path_buf(),
        option: format!("short lower names in {}", links.display()),
        source,
    };
    std::fs::create_dir_all(&links).map_err(err)?;
    let mut names = Vec::with_capacity(stack.len());
    for (i, lower) in stack.iter().enumerate() {
        let name = i.to_string();
        let link = links.join(&name);
        // A link left by an earlier mount in the same dir may name another layer.
        let _ = std::fs::remove_file(&link);
        symlink(lower, &link).map_err(err)?;
        names.push(name);
    }
    let options = option_string(&names, writable);
    if options.len() > OPTIONS_LIMIT {
        return Err(OverlayError::OptionsTooLong {
            target: target.to_path_buf(),
            len: options.len(),
        });
    }
    mount_with(&options, target, Some(&links))
}

fn option_string(lowers: &[String], writable: Writable) -> String {
    let mut options = format!("lowerdir={}", lowers.join(":"));
    for flag in flags() {
        options.push_str(&format!(",{flag}"));
    }
    if let Some((upper, work)) = writable {
        options.push_str(&format!(
            ",upperdir={},workdir={}",
            escape(&upper.to_string_lossy()),
            escape(&work.to_string_lossy())
        ));
        for (key, value) in DIFF_OPTIONS {
            options.push_str(&format!(",{key}={value}"));
        }
        options.push_str(&format!(",{VOLATILE}"));
    }
    options
}

/// overlayfs splits options at `,` and lower dirs at `:`; a backslash escapes either.
fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, ',' | ':' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Mounts, resolving relative paths against `cwd` on a thread of its own when given. A kernel
/// that refuses `volatile` (before 5.10) gets the options without it.
fn mount_with(options: &str, target: &Path, cwd: Option<&Path>) -> Result<(), OverlayError> {
    let attempt = |options: &str| -> nix::Result<()> {
        if let Some(cwd) = cwd {
            unshare(CloneFlags::CLONE_FS)?;
            nix::unistd::chdir(cwd)?;
        }
        mount(
            Some("overlay"),
            target,
            Some("overlay"),
            MsFlags::empty(),
            Some(options),
        )
    };
    let once = |options: &str| match cwd {
        None => attempt(options),
        Some(_) => std::thread::scope(|scope| scope.spawn(|| attempt(options)).join())
            .unwrap_or(Err(nix::errno::Errno::EINTR)),
    };
    let plain = options.replace(&format!(",{VOLATILE}"), "");
    let result = match once(options) {
        Err(nix::errno::Errno::EINVAL) if plain != options => once(&plain),
        other => other,
    };
    result.map_err(|e| OverlayError::Mount {
        target: target.to_path_buf(),
        option: "mount(2)".into(),
        source: e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::mountinfo::is_mounted_at_or_below;
    use crate::snapshot::run_isolated;

    #[test]
    fn escapes_separators() {
        assert_eq!(escape("/a,b:c\\d"), "/a\\,b\\:c\\\\d");
    }

    /// The path kernels before 6.8 take, exercised here on whatever kernel runs the tests.
    #[test]
    fn long_chains_mount_through_short_names() {
        run_isolated(|| {
            let tmp = tempfile::tempdir().expect("tempdir");
            let stack: Vec<PathBuf> = (0..150)
                .map(|i| {
                    let dir = tmp.path().join(format!(
                        "snapshots/{i:03}-a-long-layer-name-like-a-chain-id/fs"
                    ));
                    std::fs::create_dir_all(&dir).expect("layer");
                    std::fs::write(dir.join(format!("f{i}")), i.to_string()).expect("file");
                    std::fs::write(dir.join("top"), i.to_string()).expect("file");
                    dir
                })
                .collect();
            let (upper, work, target) = (
                tmp.path().join("upper"),
                tmp.path().join("work"),
                tmp.path().join("rootfs"),
            );
            for dir in [&upper, &work, &target] {
                std::fs::create_dir(dir).expect("dir");
            }
            let cwd = std::env::current_dir().expect("cwd");
            mount_overlay(&stack, Some((&upper, &work)), &target).expect("mount");
            assert_eq!(
                std::env::current_dir().expect("cwd"),
                cwd,
                "our cwd is untouched"
            );
            // `stack` is top-most first.
            assert_eq!(
                std::fs::read_to_string(target.join("top")).expect("top"),
                "0"
            );
            assert!(target.join("f149").exists());
            nix::mount::umount2(&target, nix::mount::MntFlags::MNT_DETACH).expect("umount");
            let view = tmp.path().join("view");
            std::fs::create_dir(&view).expect("view");
            mount_overlay(&stack[100..], None, &view).expect("read-only mount");
            assert_eq!(
                std::fs::read_to_string(view.join("top")).expect("top"),
                "100"
            );
            assert!(std::fs::write(view.join("new"), "x").is_err(), "read-only");
            nix::mount::umount2(&view, nix::mount::MntFlags::MNT_DETACH).expect("umount");
            assert!(!is_mounted_at_or_below(tmp.path()).expect("mountinfo"));
        })
        .expect("namespace");
    }
}
