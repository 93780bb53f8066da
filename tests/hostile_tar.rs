//! Crafted hostile layer tars: none of them may create, change or delete anything outside the
//! root they are applied into, in either whiteout mode.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use stagecraft::image::layer::{ApplyOptions, ApplyReport, LayerError, WhiteoutMode, apply_layer};
use tar::{EntryType, Header};

enum E<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str, u32),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    Char(&'a str, u32, u32),
    PaxFile(&'a str, &'a [u8]),
    GnuLongFile(&'a str, &'a [u8]),
}

fn raw_header(kind: EntryType, name: &[u8], link: &[u8], size: u64, mode: u32) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(1_000_000);
    h.set_uid(0);
    h.set_gid(0);
    // Copy names raw: the tar crate's setters refuse `..`, which is exactly what we need here.
    let old = h.as_old_mut();
    old.name[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    old.linkname[..link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
    h.set_cksum();
    h
}

/// One PAX record; its length prefix counts itself.
fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while len != body.len() + len.to_string().len() {
        len = body.len() + len.to_string().len();
    }
    format!("{len}{body}")
}

fn push(out: &mut Vec<u8>, h: &Header, data: &[u8]) {
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn tar(entries: &[E<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        match e {
            E::File(p, d) => push(
                &mut out,
                &raw_header(EntryType::Regular, p.as_bytes(), b"", d.len() as u64, 0o644),
                d,
            ),
            E::Dir(p, mode) => push(
                &mut out,
                &raw_header(EntryType::Directory, p.as_bytes(), b"", 0, *mode),
                b"",
            ),
            E::Symlink(p, t) => push(
                &mut out,
                &raw_header(EntryType::Symlink, p.as_bytes(), t.as_bytes(), 0, 0o777),
                b"",
            ),
            E::Hardlink(p, t) => push(
                &mut out,
                &raw_header(EntryType::Link, p.as_bytes(), t.as_bytes(), 0, 0o644),
                b"",
            ),
            E::Char(p, maj, min) => {
                let mut h = raw_header(EntryType::Char, p.as_bytes(), b"", 0, 0o666);
                h.set_device_major(*maj).unwrap();
                h.set_device_minor(*min).unwrap();
                h.set_cksum();
                push(&mut out, &h, b"");
            }
            E::PaxFile(p, d) => {
                let rec = pax_record("path", p);
                push(
                    &mut out,
                    &raw_header(EntryType::XHeader, b"pax", b"", rec.len() as u64, 0o644),
                    rec.as_bytes(),
                );
                push(
                    &mut out,
                    &raw_header(EntryType::Regular, b"harmless", b"", d.len() as u64, 0o644),
                    d,
                );
            }
            E::GnuLongFile(p, d) => {
                let mut name = p.as_bytes().to_vec();
                name.push(0);
                push(
                    &mut out,
                    &raw_header(
                        EntryType::GNULongName,
                        b"././@LongLink",
                        b"",
                        name.len() as u64,
                        0o644,
                    ),
                    &name,
                );
                push(
                    &mut out,
                    &raw_header(EntryType::Regular, b"harmless", b"", d.len() as u64, 0o644),
                    d,
                );
            }
        }
    }
    out.extend_from_slice(&[0; 1024]);
    out
}

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(outside.join("dir")).unwrap();
    fs::write(outside.join("victim"), b"original").unwrap();
    fs::write(outside.join("dir/keep"), b"keep me").unwrap();
    Fixture {
        _tmp: tmp,
        root,
        outside,
    }
}

/// Everything observable about the tree outside the root.
fn observe(dir: &Path) -> BTreeMap<PathBuf, (u32, u32, i64, u64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir) {
        let e = e.unwrap();
        let m = e.path().symlink_metadata().unwrap();
        let content = if m.is_file() {
            fs::read(e.path()).unwrap()
        } else {
            Vec::new()
        };
        out.insert(
            e.path().to_path_buf(),
            (m.mode(), m.uid(), m.mtime(), m.nlink(), content),
        );
    }
    out
}

/// Applies `entries` in both whiteout modes; asserts the outside is untouched; returns the
/// results and fixtures for further checks.
fn attack(entries: impl Fn(&str) -> Vec<u8>) -> Vec<(Result<ApplyReport, LayerError>, Fixture)> {
    [WhiteoutMode::Overlay, WhiteoutMode::Apply]
        .into_iter()
        .map(|mode| {
            let f = fixture();
            let before = observe(f.tmp_parent());
            let data = entries(f.outside.to_str().unwrap());
            let res = apply_layer(&data[..], &f.root, &ApplyOptions { whiteouts: mode });
            let after = observe(f.tmp_parent());
            let outside_before: Vec<_> = before
                .iter()
                .filter(|(p, _)| !p.starts_with(&f.root))
                .collect();
            let outside_after: Vec<_> = after
                .iter()
                .filter(|(p, _)| !p.starts_with(&f.root))
                .collect();
            assert_eq!(
                outside_before, outside_after,
                "mode {mode:?}: the tar changed something outside the root: {res:?}"
            );
            (res, f)
        })
        .collect()
}

impl Fixture {
    fn tmp_parent(&self) -> &Path {
        self.root.parent().unwrap()
    }
}

fn assert_hostile(results: &[(Result<ApplyReport, LayerError>, Fixture)]) {
    for (res, _) in results {
        assert!(
            matches!(res, Err(LayerError::Hostile { .. })),
            "expected a hostile-entry error, got {res:?}"
        );
    }
}

#[test]
fn dotdot_file_is_rejected() {
    assert_hostile(&attack(|_| tar(&[E::File("../outside/victim", b"pwned")])));
}

#[test]
fn nested_dotdot_is_rejected() {
    assert_hostile(&attack(|_| {
        tar(&[
            E::Dir("a/", 0o755),
            E::File("a/../../outside/victim", b"pwned"),
        ])
    }));
}

#[test]
fn absolute_path_lands_inside_root() {
    for (res, f) in attack(|o| tar(&[E::File(&format!("{o}/victim"), b"inside")])) {
        res.unwrap();
        let inside = f
            .root
            .join(f.outside.strip_prefix("/").unwrap())
            .join("victim");
        assert_eq!(fs::read(inside).unwrap(), b"inside");
    }
}

#[test]
fn absolute_symlink_dir_is_not_followed_out() {
    for (res, f) in attack(|o| tar(&[E::Symlink("escape", o), E::File("escape/victim", b"pwned")]))
    {
        assert!(
            res.is_err(),
            "dangling in-root target cannot be written through: {res:?}"
        );
        assert!(
            f.root
                .join("escape")
                .symlink_metadata()
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}

#[test]
fn relative_symlink_climbing_out_stays_in_root() {
    let rel = "../../../../../../../../";
    for (res, f) in attack(|o| {
        tar(&[
            E::Symlink("up", rel),
            E::File(
                &format!("up/{}/victim", o.trim_start_matches('/')),
                b"pwned",
            ),
        ])
    }) {
        // `up` resolves to the root itself, so the file lands under root/<outside path>.
        res.unwrap();
        let inside = f
            .root
            .join(f.outside.strip_prefix("/").unwrap())
            .join("victim");
        assert_eq!(fs::read(inside).unwrap(), b"pwned");
    }
}

#[test]
fn symlink_chain_is_not_followed_out() {
    for (res, _) in attack(|_| {
        tar(&[
            E::Symlink("a", "b"),
            E::Symlink("b", "../outside"),
            E::File("a/victim", b"pwned"),
        ])
    }) {
        assert!(res.is_err(), "{res:?}");
    }
}

#[test]
fn hardlink_with_dotdot_target_is_rejected() {
    assert_hostile(&attack(|_| tar(&[E::Hardlink("hl", "../outside/victim")])));
}

#[test]
fn absolute_hardlink_target_is_resolved_in_root() {
    for (res, f) in attack(|o| {
        tar(&[
            E::Hardlink("hl", &format!("{o}/victim")),
            E::File("hl", b"pwned"),
        ])
    }) {
        assert!(
            res.is_err(),
            "the target does not exist inside the root: {res:?}"
        );
        assert!(!f.root.join("hl").exists());
    }
}

#[test]
fn hardlink_through_symlinked_dir_is_resolved_in_root() {
    for (res, _) in attack(|o| tar(&[E::Symlink("d", o), E::Hardlink("hl", "d/victim")])) {
        assert!(res.is_err(), "{res:?}");
    }
}

#[test]
fn hardlink_to_outside_pointing_symlink_then_overwrite() {
    for (res, f) in attack(|o| {
        tar(&[
            E::Symlink("s", &format!("{o}/victim")),
            E::Hardlink("h", "s"),
            E::File("h", b"pwned"),
        ])
    }) {
        res.unwrap();
        assert_eq!(fs::read(f.root.join("h")).unwrap(), b"pwned");
        assert!(
            f.root
                .join("s")
                .symlink_metadata()
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}

#[test]
fn whiteout_of_parent_is_rejected() {
    assert_hostile(&attack(|_| {
        tar(&[E::Dir("a/", 0o755), E::File("a/.wh..", b"")])
    }));
}

#[test]
fn whiteout_with_dotdot_is_rejected() {
    assert_hostile(&attack(|_| tar(&[E::File("../outside/.wh.victim", b"")])));
}

#[test]
fn whiteout_through_symlink_deletes_nothing_outside() {
    for (_, f) in attack(|o| tar(&[E::Symlink("d", o), E::File("d/.wh.victim", b"")])) {
        assert!(f.outside.join("victim").exists());
    }
}

#[test]
fn opaque_whiteout_through_symlink_clears_nothing_outside() {
    for (_, f) in attack(|o| {
        tar(&[
            E::Symlink("d", &format!("{o}/dir")),
            E::File("d/.wh..wh..opq", b""),
        ])
    }) {
        assert!(f.outside.join("dir/keep").exists());
    }
}

#[test]
fn file_replaces_symlink_instead_of_writing_through_it() {
    for (res, f) in attack(|o| {
        tar(&[
            E::Symlink("f", &format!("{o}/victim")),
            E::File("f", b"pwned"),
        ])
    }) {
        res.unwrap();
        let m = f.root.join("f").symlink_metadata().unwrap();
        assert!(m.is_file());
        assert_eq!(fs::read(f.root.join("f")).unwrap(), b"pwned");
    }
}

#[test]
fn directory_replaces_symlink_instead_of_chmodding_through_it() {
    for (res, f) in attack(|o| {
        tar(&[
            E::Symlink("d", o),
            E::Dir("d/", 0o777),
            E::File("d/new", b"x"),
        ])
    }) {
        res.unwrap();
        assert!(f.root.join("d").symlink_metadata().unwrap().is_dir());
        assert!(f.root.join("d/new").is_file());
        assert!(!f.outside.join("new").exists());
    }
}

#[test]
fn pax_path_with_dotdot_is_rejected() {
    assert_hostile(&attack(|_| {
        tar(&[E::PaxFile("../outside/pwned", b"pwned")])
    }));
}

#[test]
fn gnu_longname_with_dotdot_is_rejected() {
    let long = format!("{}../../outside/pwned", "a/".repeat(0));
    let deep = format!("{}{}", "x/".repeat(60), "../".repeat(62)) + "outside/pwned";
    assert_hostile(&attack(|_| tar(&[E::GnuLongFile(&long, b"pwned")])));
    assert_hostile(&attack(|_| tar(&[E::GnuLongFile(&deep, b"pwned")])));
}

#[test]
fn device_with_dotdot_is_rejected() {
    assert_hostile(&attack(|_| tar(&[E::Char("../outside/null", 1, 3)])));
}

#[test]
fn symlink_to_root_then_write_lands_inside() {
    for (res, f) in attack(|_| tar(&[E::Symlink("r", "/"), E::File("r/victim", b"inside")])) {
        res.unwrap();
        assert_eq!(fs::read(f.root.join("victim")).unwrap(), b"inside");
    }
}

#[test]
fn overlay_xattrs_from_the_tar_are_dropped() {
    let mut data = Vec::new();
    let rec = pax_record("SCHILY.xattr.trusted.overlay.opaque", "y");
    push(
        &mut data,
        &raw_header(EntryType::XHeader, b"pax", b"", rec.len() as u64, 0o644),
        rec.as_bytes(),
    );
    push(
        &mut data,
        &raw_header(EntryType::Directory, b"d/", b"", 0, 0o755),
        b"",
    );
    data.extend_from_slice(&[0; 1024]);
    let f = fixture();
    apply_layer(
        &data[..],
        &f.root,
        &ApplyOptions {
            whiteouts: WhiteoutMode::Overlay,
        },
    )
    .unwrap();
    assert_eq!(
        xattr::get(f.root.join("d"), "trusted.overlay.opaque").unwrap(),
        None
    );
}
