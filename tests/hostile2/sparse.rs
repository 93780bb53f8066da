//! Item 8: a sparse file in the context (2 GiB, 12 KB of data) costs what its data costs: the
//! snapshot copies keep its holes, the layer tar stores it as a sparse entry (PAX GNU sparse
//! 1.0), our applier writes it back sparse (an import into a fresh store), and skopeo and umoci
//! (Go's archive/tar) read the exported image. umoci writes the holes as zeros: its unpacked
//! copy is checked for size and data only.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::process::Command;

use super::common::{Fixture, require};

const SIZE: u64 = 2 << 30;
const PIECES: [(u64, &[u8]); 3] = [
    (0, b"head of the file"),
    (1 << 30, b"one gigabyte in"),
    (SIZE - 4096, b"near the end"),
];

fn sparse_file(path: &Path) {
    let f = File::create(path).unwrap();
    f.set_len(SIZE).unwrap();
    for (offset, data) in PIECES {
        f.write_all_at(&data.repeat(256), offset).unwrap();
    }
}

/// The file at `path` has the right size and pieces, and at most `max_alloc` bytes on disk.
fn check_file(path: &Path, max_alloc: u64, what: &str) {
    let meta = fs::metadata(path).unwrap();
    assert_eq!(meta.len(), SIZE, "{what}: size");
    assert!(
        meta.blocks() * 512 <= max_alloc,
        "{what}: {} bytes allocated for {} of data",
        meta.blocks() * 512,
        12 * 1024
    );
    let mut f = File::open(path).unwrap();
    for (offset, data) in PIECES {
        let mut buf = vec![0; data.len()];
        f.seek(SeekFrom::Start(offset)).unwrap();
        f.read_exact(&mut buf).unwrap();
        assert_eq!(buf, data, "{what}: data at {offset}");
    }
}

/// Every file named `name` under `dir` (store snapshots hold one per copy).
fn find(dir: &Path, name: &str, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let ft = entry.file_type().unwrap();
        if ft.is_dir() {
            find(&entry.path(), name, out);
        } else if entry.file_name() == name {
            out.push(entry.path());
        }
    }
}

#[test]
fn a_sparse_file_keeps_its_holes_in_snapshots_tars_and_exports() {
    require(&["skopeo", "umoci"]);
    let f = Fixture::new();
    sparse_file(&f.ctx.path().join("disk.img"));
    f.dockerfile(
        "FROM busybox AS src\nCOPY disk.img /disk.img\n\
         FROM busybox\nCOPY --from=src /disk.img /copied.img\n",
    );
    let built = f.build(&["-t", "sparse:1"]);
    assert!(built.ok(), "{}", built.stderr());

    // Both copies in the store are sparse, and so is every blob (tar or gzip).
    let mut copies = Vec::new();
    find(&f.root().join("snapshots"), "disk.img", &mut copies);
    find(&f.root().join("snapshots"), "copied.img", &mut copies);
    assert_eq!(copies.len(), 2, "{copies:?}");
    for c in &copies {
        check_file(c, 1 << 20, &c.display().to_string());
    }
    for entry in fs::read_dir(f.root().join("blobs/sha256"))
        .unwrap()
        .flatten()
    {
        let len = entry.metadata().unwrap().len();
        assert!(len < 4 << 20, "blob {:?}: {len} bytes", entry.file_name());
    }

    // explain reads the sparse entry as the file it stands for: the layer holds 2 GiB.
    let out = f.cmd(&["explain", "sparse:1", "--format", "json", "--top", "0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let last = report["layers"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["size"].as_u64(), Some(SIZE), "{last}");

    // Exported and read by Go's archive/tar: skopeo copies it (verifying every digest), umoci
    // unpacks it; the result has the same bytes.
    let (dir, rootfs) = f.unpack("sparse:1");
    let layout = dir.path().join("oci");
    let copy = dir.path().join("copy");
    let out = Command::new("skopeo")
        .args(["copy", "--quiet"])
        .arg(format!("oci:{}:1", layout.display()))
        .arg(format!("oci:{}:1", copy.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_file(&rootfs.join("copied.img"), 2 * SIZE, "umoci unpack");
    fs::remove_file(rootfs.join("copied.img")).unwrap();

    // Imported into a fresh store, the layer is unpacked by our applier: sparse again.
    let store = tempfile::tempdir().unwrap();
    let out = Command::new(super::common::bin())
        .arg("--root")
        .arg(store.path())
        .args(["image", "import", &format!("oci:{}:1", layout.display())])
        .args(["-t", "back:1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut unpacked = Vec::new();
    find(&store.path().join("snapshots"), "copied.img", &mut unpacked);
    assert_eq!(unpacked.len(), 1, "{unpacked:?}");
    check_file(&unpacked[0], 1 << 20, "applied layer");
}
