//! Real overlay mounts inside a private mount namespace: layering, whiteouts, long chains, cleanup.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use stagecraft::snapshot::mountinfo::{is_mounted_at_or_below, mount_points};
use stagecraft::snapshot::{NamespaceError, Overlay, OverlayError, run_isolated};

fn layer(root: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = root.join(name);
    for (path, contents) in files {
        let file = dir.join(path);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, contents).unwrap();
    }
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn upper_dir_records_new_files_whiteouts_and_opaque_dirs() {
    run_isolated(|| {
        let tmp = tempfile::tempdir().unwrap();
        let base = common::busybox_rootfs(&tmp.path().join("base"));
        fs::create_dir_all(base.join("data/sub")).unwrap();
        fs::write(base.join("data/sub/old"), "old").unwrap();
        let scratch = tmp.path().join("step");
        let overlay = Overlay::mount(&[&base], &scratch).unwrap();
        let rootfs = overlay.rootfs().to_path_buf();
        assert!(rootfs.join("bin/busybox").is_file());

        fs::write(rootfs.join("root/new"), "hello").unwrap();
        fs::remove_file(rootfs.join("etc/group")).unwrap();
        fs::remove_dir_all(rootfs.join("data")).unwrap();
        fs::create_dir(rootfs.join("data")).unwrap();
        assert!(is_mounted_at_or_below(&rootfs).unwrap());

        let upper = overlay.unmount().unwrap();
        assert!(!is_mounted_at_or_below(&scratch).unwrap());
        assert_eq!(fs::read_to_string(upper.join("root/new")).unwrap(), "hello");
        let whiteout = fs::symlink_metadata(upper.join("etc/group")).unwrap();
        assert!(whiteout.file_type().is_char_device());
        assert_eq!(whiteout.rdev(), 0);
        let opaque = xattr::get(upper.join("data"), "trusted.overlay.opaque").unwrap();
        assert_eq!(opaque.as_deref(), Some(&b"y"[..]));
        assert!(
            !upper.join("bin").exists(),
            "untouched lower files stay out of the diff"
        );
    })
    .unwrap();
}

#[test]
fn two_hundred_lower_dirs_stack_in_order_beyond_the_option_page() {
    run_isolated(|| {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp
            .path()
            .join("a-deliberately-long-directory-name-for-the-store/snapshots");
        let lowers: Vec<PathBuf> = (0..200)
            .map(|i| {
                let name = format!("{i:03}-sha256-0123456789abcdef0123456789abcdef");
                layer(
                    &deep,
                    &name,
                    &[(&format!("layer-{i:03}"), "x"), ("top", &i.to_string())],
                )
            })
            .collect();
        let joined: usize = lowers.iter().map(|p| p.as_os_str().len() + 1).sum();
        assert!(
            joined > 4096,
            "the chain must not fit in one mount(2) option page"
        );

        let overlay = Overlay::mount(&lowers, &tmp.path().join("step")).unwrap();
        let rootfs = overlay.rootfs();
        assert_eq!(
            fs::read_to_string(rootfs.join("top")).unwrap(),
            "199",
            "last lower is on top"
        );
        assert!(rootfs.join("layer-000").exists() && rootfs.join("layer-199").exists());
        drop(overlay);
        assert!(!is_mounted_at_or_below(tmp.path()).unwrap());
    })
    .unwrap();
}

#[test]
fn scratch_without_lower_dirs_mounts_an_empty_rootfs() {
    run_isolated(|| {
        let tmp = tempfile::tempdir().unwrap();
        let none: [&Path; 0] = [];
        let overlay = Overlay::mount(&none, &tmp.path().join("step")).unwrap();
        assert_eq!(fs::read_dir(overlay.rootfs()).unwrap().count(), 0);
        fs::write(overlay.rootfs().join("only"), "1").unwrap();
        let upper = overlay.unmount().unwrap();
        assert!(upper.join("only").is_file());
    })
    .unwrap();
}

#[test]
fn dropping_an_overlay_detaches_it_even_while_busy() {
    run_isolated(|| {
        let tmp = tempfile::tempdir().unwrap();
        let lower = layer(tmp.path(), "l", &[("f", "1")]);
        let overlay = Overlay::mount(&[lower], &tmp.path().join("step")).unwrap();
        let busy = fs::File::open(overlay.rootfs().join("f")).unwrap();
        let rootfs = overlay.rootfs().to_path_buf();
        drop(overlay);
        assert!(!mount_points().unwrap().contains(&rootfs));
        drop(busy);
    })
    .unwrap();
}

#[test]
fn mounting_in_the_host_namespace_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let lower = layer(tmp.path(), "l", &[("f", "1")]);
    let err = Overlay::mount(&[lower], &tmp.path().join("step")).unwrap_err();
    assert!(
        matches!(
            err,
            OverlayError::Namespace(NamespaceError::NotPrivate { .. })
        ),
        "{err}"
    );
}

#[test]
fn the_private_namespace_hides_the_unified_cgroup_and_its_mounts_from_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    let lower = layer(tmp.path(), "l", &[("f", "1")]);
    let scratch = tmp.path().join("step");
    let inside = scratch.clone();
    let (cgroup_inside, _overlay_kept_mounted) = run_isolated(move || {
        let overlay = Overlay::mount(&[lower], &inside).unwrap();
        let cgroup = mount_points()
            .unwrap()
            .contains(&PathBuf::from("/sys/fs/cgroup/unified"));
        // Still mounted when the thread ends: the namespace, not the guard, must clean up.
        std::mem::forget(overlay);
        (cgroup, ())
    })
    .unwrap();
    assert!(!cgroup_inside);
    assert!(
        !is_mounted_at_or_below(&scratch).unwrap(),
        "a mount leaked to the host"
    );
}

#[test]
fn read_only_views_stack_lowers_and_refuse_writes() {
    run_isolated(|| {
        let tmp = tempfile::tempdir().unwrap();
        let base = layer(tmp.path(), "base", &[("a", "base"), ("b", "base")]);
        let top = layer(tmp.path(), "top", &[("a", "top")]);
        let view = Overlay::mount_readonly(&[&base, &top], &tmp.path().join("view")).unwrap();
        assert_eq!(fs::read_to_string(view.rootfs().join("a")).unwrap(), "top");
        assert_eq!(fs::read_to_string(view.rootfs().join("b")).unwrap(), "base");
        let err = fs::write(view.rootfs().join("c"), "x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EROFS));
        let single = Overlay::mount_readonly(&[&base], &tmp.path().join("single")).unwrap();
        assert_eq!(
            fs::read_to_string(single.rootfs().join("a")).unwrap(),
            "base"
        );
        drop((view, single));
        assert!(!is_mounted_at_or_below(tmp.path()).unwrap());
    })
    .unwrap();
}

/// Unmounting a writable overlay must not `syncfs` the disk under the upper dir: that cost
/// 0.5 s per 300 MB step on the critical path (and flushed other processes' writes too).
#[test]
fn writable_overlays_are_volatile_and_read_only_views_need_not_be() {
    run_isolated(|| {
        let tmp = tempfile::tempdir().unwrap();
        let base = layer(tmp.path(), "base", &[("a", "1")]);
        let overlay = Overlay::mount(&[&base], &tmp.path().join("step")).unwrap();
        let table = fs::read_to_string("/proc/thread-self/mountinfo").unwrap();
        let rootfs = overlay.rootfs().to_string_lossy().into_owned();
        let line = table
            .lines()
            .find(|l| l.split(' ').nth(4) == Some(rootfs.as_str()))
            .unwrap();
        let super_options = line.rsplit(' ').next().unwrap();
        // Newer kernels show the flag as `fsync=volatile`.
        assert!(
            super_options
                .split(',')
                .any(|o| o == "volatile" || o == "fsync=volatile"),
            "{line}"
        );
        fs::write(overlay.rootfs().join("b"), "2").unwrap();
        let upper = overlay.unmount().unwrap();
        assert_eq!(fs::read_to_string(upper.join("b")).unwrap(), "2");
    })
    .unwrap();
}
