//! Layers committed from overlayfs upper dirs and extracted back into snapshots, on real
//! overlay mounts (each made inside `unshare -m`, so no mount outlives its command).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use stagecraft::image::layer::{ApplyOptions, Compression, WhiteoutMode, apply_layer, decompress};
use stagecraft::image::layer::{LayerOptions, LayerStore};
use stagecraft::store::digest::HashingReader;
use stagecraft::store::{LayerRef, Store};

/// Runs `script` in a private mount namespace with `$L` (lower dirs, colon-separated, topmost
/// first), `$U`, `$W` and `$M` set; the overlay is mounted at `$M` first.
fn in_overlay(lowers: &[&Path], upper: &Path, work: &Path, mnt: &Path, script: &str) -> String {
    let lower: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
    fs::create_dir_all(mnt).unwrap();
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-euc"])
        .arg(format!(
            "mount -t overlay overlay -o lowerdir=\"$L\",upperdir=\"$U\",workdir=\"$W\" \"$M\"; cd \"$M\"; {script}"
        ))
        .env("L", lower.join(":"))
        .env("U", upper)
        .env("W", work)
        .env("M", mnt)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "overlay script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn entries(
    store: &Store,
    layer: &stagecraft::image::layer::CommittedLayer,
) -> BTreeMap<String, (char, String)> {
    let blob = store.open_blob(layer.descriptor.digest()).unwrap();
    let mut hashing = HashingReader::new(decompress(blob).unwrap());
    let mut out = BTreeMap::new();
    {
        let mut archive = tar::Archive::new(&mut hashing);
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
            let kind = e.header().entry_type().as_byte() as char;
            let link = e
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            let mut data = String::new();
            if kind == '0' {
                e.read_to_string(&mut data).unwrap();
            }
            out.insert(path, (kind, if link.is_empty() { data } else { link }));
        }
    }
    let (diff_id, size) = hashing.finish().unwrap();
    assert_eq!(
        diff_id, layer.diff_id,
        "diff_id is the sha256 of the uncompressed tar"
    );
    assert_eq!(size, layer.size);
    out
}

#[test]
fn overlay_upper_dir_becomes_oci_layer_with_whiteouts() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("store")).unwrap();
    let base = tmp.path().join("base");
    fs::create_dir_all(base.join("etc/conf.d")).unwrap();
    fs::write(base.join("etc/hostname"), "base").unwrap();
    fs::write(base.join("etc/conf.d/a"), "a").unwrap();
    fs::write(base.join("etc/conf.d/b"), "b").unwrap();
    fs::write(base.join("gone"), "x").unwrap();
    let (upper, work) = (tmp.path().join("upper"), tmp.path().join("work"));
    fs::create_dir_all(&upper).unwrap();
    fs::create_dir_all(&work).unwrap();
    let long = "d".repeat(80) + "/" + &"f".repeat(90);
    in_overlay(
        &[&base],
        &upper,
        &work,
        &tmp.path().join("mnt"),
        &format!(
            "rm gone; rm -r etc/conf.d; mkdir etc/conf.d; echo new > etc/conf.d/c; echo changed > etc/hostname; \
             echo hi > new; ln new hard; ln -s /etc/hostname link; mkdir -p $(dirname {long}); echo long > {long}"
        ),
    );
    let lowers = vec![base.clone()];
    let layer = store
        .commit_layer(
            &upper,
            &LayerOptions {
                lowers,
                ..Default::default()
            },
        )
        .unwrap();
    let got = entries(&store, &layer);
    assert_eq!(got.get(".wh.gone"), Some(&('0', String::new())), "{got:#?}");
    assert!(got.contains_key("etc/conf.d/.wh..wh..opq"), "{got:#?}");
    assert_eq!(got.get("etc/conf.d/c").map(|e| e.1.as_str()), Some("new\n"));
    assert_eq!(
        got.get("etc/hostname").map(|e| e.1.as_str()),
        Some("changed\n")
    );
    // Entries are sorted, so `hard` carries the data and `new` links to it.
    assert_eq!(got.get("hard").map(|e| e.1.as_str()), Some("hi\n"));
    assert_eq!(
        got.get("new"),
        Some(&('1', "hard".to_string())),
        "hard links stay hard links: {got:#?}"
    );
    assert_eq!(got.get("link"), Some(&('2', "/etc/hostname".to_string())));
    assert_eq!(
        got.get(&long).map(|e| e.1.as_str()),
        Some("long\n"),
        "PAX path for a long name"
    );
    assert!(!got.keys().any(|k| k.contains("trusted.overlay")));
    assert_eq!(layer.removed, 1, "one whiteout");
    assert_eq!(layer.modified, 1, "etc/hostname existed below");
    assert!(
        layer.added >= 5,
        "new, hard, link, c, long and its dir: {layer:?}"
    );

    // The same upper dir gives the same diff_id with every compression.
    for compression in [Compression::None, Compression::Zstd, Compression::Gzip] {
        let again = store
            .commit_layer(
                &upper,
                &LayerOptions {
                    compression,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(again.diff_id, layer.diff_id, "{compression:?}");
        assert_eq!(again.descriptor.media_type(), &compression.media_type());
        entries(&store, &again);
    }
}

#[test]
fn snapshots_stack_as_overlay_lower_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("store")).unwrap();
    let rootfs = common::busybox_rootfs(&tmp.path().join("rootfs"));
    fs::create_dir_all(rootfs.join("opt/keep")).unwrap();
    fs::write(rootfs.join("opt/keep/old"), "old").unwrap();
    let base = store
        .commit_layer(&rootfs, &LayerOptions::default())
        .unwrap();

    let upper = store.tmp_dir("upper-").unwrap().keep();
    let work = tmp.path().join("work");
    fs::create_dir_all(&work).unwrap();
    let layers = vec![LayerRef {
        descriptor: base.descriptor.clone(),
        diff_id: base.diff_id.clone(),
    }];
    let lower = store.snapshot(&layers).unwrap();
    assert!(lower[0].join("bin/busybox").is_file());
    assert!(lower[0].ends_with("fs"));
    in_overlay(
        &[&lower[0]],
        &upper,
        &work,
        &tmp.path().join("mnt"),
        "rm bin/ls; rm -r opt/keep; mkdir opt/keep; echo new > opt/keep/new",
    );
    let top = store
        .commit_layer(&upper, &LayerOptions::default())
        .unwrap();
    // Extract the new layer from its blob into a snapshot and compare with the upper dir.
    let both = vec![
        layers[0].clone(),
        LayerRef {
            descriptor: top.descriptor.clone(),
            diff_id: top.diff_id.clone(),
        },
    ];
    let dirs = store.snapshot(&both).unwrap();
    assert_eq!(dirs[0], lower[0], "the base snapshot is reused");
    let wh = fs::symlink_metadata(dirs[1].join("bin/ls")).unwrap();
    assert_eq!(
        (wh.mode() & libc::S_IFMT, wh.rdev()),
        (libc::S_IFCHR, 0),
        "whiteout kept as 0/0 char device"
    );
    assert_eq!(
        xattr::get(dirs[1].join("opt/keep"), "trusted.overlay.opaque")
            .unwrap()
            .as_deref(),
        Some(&b"y"[..])
    );

    // Mounting the two snapshots gives the tree the build saw.
    let empty_upper = tmp.path().join("u2");
    let work2 = tmp.path().join("w2");
    fs::create_dir_all(&empty_upper).unwrap();
    fs::create_dir_all(&work2).unwrap();
    let seen = in_overlay(
        &[&dirs[1], &dirs[0]],
        &empty_upper,
        &work2,
        &tmp.path().join("mnt2"),
        "test ! -e bin/ls && ls opt/keep && test -x bin/busybox && echo ok",
    );
    assert_eq!(seen, "new\nok\n");

    // Adopting the upper dir instead of extracting gives the same snapshot path and content.
    let store2 = Store::open(&tmp.path().join("store2")).unwrap();
    let base2 = store2
        .commit_layer(&rootfs, &LayerOptions::default())
        .unwrap();
    let up2 = store2.tmp_dir("upper-").unwrap().keep();
    fs::create_dir_all(up2.join("x")).unwrap();
    fs::write(up2.join("x/y"), "y").unwrap();
    let l2 = store2.commit_layer(&up2, &LayerOptions::default()).unwrap();
    let adopted = store2
        .adopt_snapshot(std::slice::from_ref(&base2.diff_id), &l2.diff_id, &up2)
        .unwrap();
    assert!(!up2.exists());
    assert_eq!(fs::read_to_string(adopted.join("x/y")).unwrap(), "y");
    let chain = store2
        .snapshot(&[
            LayerRef {
                descriptor: base2.descriptor.clone(),
                diff_id: base2.diff_id.clone(),
            },
            LayerRef {
                descriptor: l2.descriptor.clone(),
                diff_id: l2.diff_id.clone(),
            },
        ])
        .unwrap();
    assert_eq!(chain[1], adopted);
}

#[test]
fn flattening_applies_whiteouts_and_keeps_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("store")).unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("dir")).unwrap();
    fs::write(src.join("dir/f"), "f").unwrap();
    std::os::unix::fs::chown(src.join("dir/f"), Some(1000), Some(1000)).unwrap();
    fs::set_permissions(src.join("dir/f"), fs::Permissions::from_mode(0o4750)).unwrap();
    symlink("dir/f", src.join("l")).unwrap();
    xattr::set(src.join("dir/f"), "user.note", b"kept").unwrap();
    let layer = store
        .commit_layer(
            &src,
            &LayerOptions {
                source_date_epoch: Some(1000),
                ..Default::default()
            },
        )
        .unwrap();
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let blob = store.open_blob(layer.descriptor.digest()).unwrap();
    apply_layer(
        decompress(blob).unwrap(),
        &out,
        &ApplyOptions {
            whiteouts: WhiteoutMode::Apply,
        },
    )
    .unwrap();
    let m = fs::metadata(out.join("dir/f")).unwrap();
    assert_eq!(
        (m.mode() & 0o7777, m.uid(), m.gid(), m.mtime()),
        (0o4750, 1000, 1000, 1000)
    );
    assert_eq!(fs::read_link(out.join("l")).unwrap(), Path::new("dir/f"));
    assert_eq!(
        xattr::get(out.join("dir/f"), "user.note")
            .unwrap()
            .as_deref(),
        Some(&b"kept"[..])
    );
    assert_eq!(
        fs::metadata(out.join("dir")).unwrap().mtime(),
        1000,
        "dir mtimes are set after their children"
    );
}

#[test]
fn concurrent_stores_share_one_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let first = Store::open(&root).unwrap();
    let leftover = root.join("tmp/leftover");
    fs::write(&leftover, "x").unwrap();
    // A second opener while the first is alive must not clear tmp/ under it.
    let second = Store::open(&root).unwrap();
    assert!(leftover.exists());
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let root = root.clone();
            std::thread::spawn(move || {
                let s = Store::open(&root).unwrap();
                let d = s
                    .put_blob(
                        oci_spec::image::MediaType::ImageConfig,
                        format!("{{\"n\":{i}}}").as_bytes(),
                    )
                    .unwrap();
                s.set_tag(&format!("docker.io/library/t{i}:latest"), &d)
                    .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        second.tags().unwrap().len(),
        8,
        "no tag lost to a concurrent index.json update"
    );
    drop((first, second));
    Store::open(&root).unwrap();
    assert!(!leftover.exists(), "the only opener empties tmp/");
}

#[test]
fn prune_keeps_what_tags_and_records_name() {
    use stagecraft::store::{RecordKind, StoreError};
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let store = Store::open(&root).unwrap();
    let mk = |name: &str, content: &str| {
        let dir = tmp.path().join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("f"), content).unwrap();
        stagecraft::image::transport::rootfs::import(
            &store,
            &dir,
            Some(name),
            &LayerOptions::default(),
        )
        .unwrap()
    };
    let kept = mk("kept", "k");
    let dropped = mk("dropped", "d");
    let recorded = mk("recorded", "r");
    store.snapshot(&kept.layers).unwrap();
    store.snapshot(&dropped.layers).unwrap();
    store
        .remove_tag("docker.io/library/dropped:latest")
        .unwrap();
    store
        .remove_tag("docker.io/library/recorded:latest")
        .unwrap();
    store
        .put_json(
            RecordKind::Cache,
            "step-1",
            &serde_json::json!({"layer": recorded.layers[0].descriptor.digest().to_string()}),
        )
        .unwrap();

    let other = Store::open(&root).unwrap();
    assert!(
        matches!(store.prune(), Err(StoreError::Busy)),
        "never prunes under another opener"
    );
    drop(other);
    let report = store.prune().unwrap();
    assert_eq!(report.snapshots_removed, 1, "{report:?}");
    assert!(
        report.blobs_removed >= 3,
        "dropped's manifest, config and layer: {report:?}"
    );
    assert!(store.resolve("kept").unwrap().is_some());
    assert!(store.has_blob(recorded.layers[0].descriptor.digest()));
    assert!(!store.has_blob(dropped.layers[0].descriptor.digest()));
    assert!(!store.has_blob(dropped.digest()));
    assert!(store.snapshot_dir(&kept.layers[0].diff_id).is_dir());
    assert!(!store.snapshot_dir(&dropped.layers[0].diff_id).exists());
    // The shared lock is back: another opener can join.
    Store::open(&root).unwrap();
}

#[test]
fn large_ids_travel_in_pax_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("store")).unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), "f").unwrap();
    // Above ustar's 7 octal digits (2097151), as user namespaces' subordinate ids often are.
    std::os::unix::fs::lchown(src.join("f"), Some(100_000_000), Some(100_000_001)).unwrap();
    let layer = store.commit_layer(&src, &LayerOptions::default()).unwrap();
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let blob = store.open_blob(layer.descriptor.digest()).unwrap();
    apply_layer(
        decompress(blob).unwrap(),
        &out,
        &ApplyOptions {
            whiteouts: WhiteoutMode::Apply,
        },
    )
    .unwrap();
    let m = fs::metadata(out.join("f")).unwrap();
    assert_eq!((m.uid(), m.gid()), (100_000_000, 100_000_001));
}
