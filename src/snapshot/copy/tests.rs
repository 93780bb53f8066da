//! The copying snapshotter against the kernel's overlay: the same changes on the same lowers
//! must leave the same upper dir (paths, kinds, modes, owners, contents, opaque marks).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use nix::sys::stat::{Mode, SFlag, makedev, mknod};

use super::{materialize, write_upper};
use crate::snapshot::mount::mount_overlay;
use crate::snapshot::run_isolated;

const OPAQUE: &str = "trusted.overlay.opaque";

/// A base and a layer above it in overlay's form: a whiteout, an opaque dir, a hard link.
fn lowers(root: &Path) -> Vec<PathBuf> {
    let (base, top) = (root.join("base"), root.join("top"));
    for dir in ["a", "d/sub", "e"] {
        fs::create_dir_all(base.join(dir)).unwrap();
    }
    for (path, text) in [
        ("a/f1", "1"),
        ("a/f2", "2"),
        ("d/sub/x", "x"),
        ("keep", "k"),
    ] {
        fs::write(base.join(path), text).unwrap();
    }
    fs::hard_link(base.join("keep"), base.join("e/keep-link")).unwrap();
    symlink("keep", base.join("sym")).unwrap();
    fs::create_dir_all(top.join("a")).unwrap();
    fs::create_dir_all(top.join("d")).unwrap();
    mknod(
        &top.join("a/f2"),
        SFlag::S_IFCHR,
        Mode::empty(),
        makedev(0, 0),
    )
    .unwrap();
    xattr::set(top.join("d"), OPAQUE, b"y").unwrap();
    fs::write(top.join("d/y"), "y").unwrap();
    vec![base, top]
}

/// What a RUN would do: modify, delete, replace a dir, add a tree, chmod, chown, a symlink.
fn change(rootfs: &Path) {
    fs::write(rootfs.join("keep"), "changed").unwrap();
    fs::remove_file(rootfs.join("a/f1")).unwrap();
    fs::remove_dir_all(rootfs.join("d")).unwrap();
    fs::create_dir(rootfs.join("d")).unwrap();
    fs::write(rootfs.join("d/z"), "z").unwrap();
    fs::create_dir_all(rootfs.join("n/m")).unwrap();
    fs::write(rootfs.join("n/m/new"), "new").unwrap();
    fs::set_permissions(rootfs.join("e"), fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::lchown(rootfs.join("sym"), Some(1000), Some(1000)).unwrap();
    fs::remove_dir_all(rootfs.join("e")).unwrap();
}

/// Every path of `upper` with what a layer records of it.
fn describe(upper: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(upper)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let m = e.path().symlink_metadata().unwrap();
            let what = if m.file_type().is_char_device() {
                format!("whiteout {}", m.rdev())
            } else if m.is_dir() {
                let opaque = xattr::get(e.path(), OPAQUE).unwrap().is_some();
                format!("dir {:o} opaque={opaque}", m.mode() & 0o7777)
            } else if m.file_type().is_symlink() {
                format!("link {:?}", fs::read_link(e.path()).unwrap())
            } else {
                format!(
                    "file {:o} {:?}",
                    m.mode() & 0o7777,
                    fs::read(e.path()).unwrap()
                )
            };
            let rel = e.path().strip_prefix(upper).unwrap().display().to_string();
            (rel, format!("{what} {}:{}", m.uid(), m.gid()))
        })
        .collect()
}

#[test]
fn copy_makes_the_upper_dir_the_kernel_overlay_makes() {
    if !nix::unistd::geteuid().is_root() {
        panic!("this test mounts overlay: run it as root (CI does)");
    }
    let (kernel, copied) = run_isolated(|| {
        let tmp = tempfile::tempdir().unwrap();
        let lowers = lowers(tmp.path());

        let k = tmp.path().join("k");
        for d in ["upper", "work", "rootfs"] {
            fs::create_dir_all(k.join(d)).unwrap();
        }
        let stack: Vec<PathBuf> = lowers.iter().rev().cloned().collect();
        let writable = Some((k.join("upper"), k.join("work")));
        let writable = writable.as_ref().map(|(u, w)| (u.as_path(), w.as_path()));
        mount_overlay(&stack, writable, &k.join("rootfs")).unwrap();
        change(&k.join("rootfs"));
        nix::mount::umount2(&k.join("rootfs"), nix::mount::MntFlags::empty()).unwrap();

        let c = tmp.path().join("c");
        fs::create_dir_all(c.join("rootfs")).unwrap();
        fs::create_dir_all(c.join("upper")).unwrap();
        let state = materialize(&lowers, &c.join("rootfs")).unwrap();
        assert_eq!(fs::read_to_string(c.join("rootfs/d/y")).unwrap(), "y");
        assert!(!c.join("rootfs/d/sub").exists() && !c.join("rootfs/a/f2").exists());
        let keep = fs::metadata(c.join("rootfs/keep")).unwrap();
        assert_eq!(
            keep.ino(),
            fs::metadata(c.join("rootfs/e/keep-link")).unwrap().ino()
        );
        change(&c.join("rootfs"));
        write_upper(&c.join("rootfs"), &state, &c.join("upper"), OPAQUE).unwrap();
        (describe(&k.join("upper")), describe(&c.join("upper")))
    })
    .unwrap();
    assert_eq!(copied, kernel);
    assert!(kernel["d"].contains("opaque=true"), "{kernel:?}");
    assert!(kernel["a/f1"].starts_with("whiteout 0"), "{kernel:?}");
}
