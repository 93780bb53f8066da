//! Item 4: an OCI export shares no inode with the store, replaces what it finds under a blob's
//! name unless it is right, and nothing is exported from a store blob that no longer matches.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::common::Fixture;

fn sha256_hex(path: &Path) -> String {
    hex::encode(Sha256::digest(fs::read(path).unwrap()))
}

fn export(f: &Fixture, output: &str) -> (bool, String) {
    let out = f.cmd(&["image", "export", "exp:1", "--output", output]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn store_check(f: &Fixture) -> String {
    String::from_utf8_lossy(&f.cmd(&["store", "check"]).stdout).into_owned()
}

#[test]
fn exports_copy_verify_and_never_trust_what_is_there() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nRUN echo data > /d\n");
    let built = f.build(&["-t", "exp:1"]);
    assert!(built.ok(), "{}", built.stderr());
    let store_blobs = f.root().join("blobs/sha256");
    let store_inodes: Vec<u64> = fs::read_dir(&store_blobs)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().ino())
        .collect();

    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("oci");
    let (ok, err) = export(&f, &format!("type=oci,dest={}", dest.display()));
    assert!(ok, "{err}");
    let blobs: Vec<_> = fs::read_dir(dest.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(blobs.len() >= 3);
    for b in &blobs {
        let m = fs::metadata(b).unwrap();
        assert_eq!(m.nlink(), 1, "{} is linked", b.display());
        assert!(
            !store_inodes.contains(&m.ino()),
            "{} shares an inode with the store",
            b.display()
        );
    }
    // Writing into the export leaves the store intact.
    for b in &blobs {
        let mut file = fs::OpenOptions::new().write(true).open(b).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.write_all(b"evil").unwrap();
    }
    assert!(
        store_check(&f).contains(": 0 problems"),
        "{}",
        store_check(&f)
    );

    // Exporting again into that folder replaces every wrong file with the right one.
    let (ok, err) = export(&f, &format!("type=oci,dest={}", dest.display()));
    assert!(ok, "{err}");
    for b in &blobs {
        let name = b.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            sha256_hex(b),
            name,
            "{} kept its wrong content",
            b.display()
        );
    }

    // A blob changed in the store is exported nowhere.
    let layer = fs::read_dir(&store_blobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap();
    let mut file = fs::OpenOptions::new().write(true).open(&layer).unwrap();
    file.write_all(b"evil").unwrap();
    drop(file);
    let fresh = out.path().join("fresh");
    let (ok, err) = export(&f, &format!("type=oci,dest={}", fresh.display()));
    assert!(
        !ok && err.contains("does not match its digest"),
        "oci: {err}"
    );
    let tar = out.path().join("d.tar");
    let (ok, err) = export(&f, &format!("type=docker-archive,dest={}", tar.display()));
    assert!(
        !ok && err.contains("run `stagecraft store check --repair`"),
        "docker-archive: {err}"
    );
}
