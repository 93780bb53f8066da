//! No layer blob may write, link, chmod, chown or delete anything outside the root it is applied
//! into, in either whiteout mode, and none may panic the reader. The root starts with symlinks
//! that point out of it (relative and absolute) at a sibling directory, whose state is compared
//! before and after.
#![no_main]

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stagecraft::image::layer::{ApplyOptions, WhiteoutMode, apply_layer, decompress};

/// Everything observable about a tree: kind, mode, owner, links, size, content, symlink target.
type State = BTreeMap<PathBuf, (u32, u32, u32, u64, u64, Vec<u8>)>;

fn state(dir: &Path, out: &mut State) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(m) = fs::symlink_metadata(&p) else { continue };
        let body = if m.file_type().is_symlink() {
            fs::read_link(&p).map(|t| t.into_os_string().into_encoded_bytes()).unwrap_or_default()
        } else if m.is_file() {
            fs::read(&p).unwrap_or_default()
        } else {
            Vec::new()
        };
        out.insert(p.clone(), (m.mode(), m.uid(), m.gid(), m.nlink(), m.size(), body));
        if m.is_dir() {
            state(&p, out);
        }
    }
}

/// A private scratch dir on tmpfs (fast), one per fuzzing process.
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" };
        let d = PathBuf::from(format!("{base}/stagecraft-fuzz-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).expect("scratch dir");
        d
    })
}

fn setup(boxdir: &Path) -> (PathBuf, PathBuf) {
    let root = boxdir.join("root");
    let outside = boxdir.join("outside");
    fs::create_dir_all(root.join("etc")).expect("root");
    fs::create_dir_all(outside.join("d")).expect("outside");
    fs::write(outside.join("sentinel"), b"outside").expect("sentinel");
    fs::write(outside.join("d/f"), b"deep").expect("deep file");
    fs::write(root.join("etc/passwd"), b"root:x:0:0::/root:/bin/sh\n").expect("passwd");
    symlink("../outside", root.join("rel")).expect("rel link");
    symlink(&outside, root.join("abs")).expect("abs link");
    symlink("../outside/sentinel", root.join("file-out")).expect("file link");
    (root, outside)
}

fuzz_target!(|data: &[u8]| {
    for mode in [WhiteoutMode::Overlay, WhiteoutMode::Apply] {
        let boxdir = scratch().join("box");
        let _ = fs::remove_dir_all(&boxdir);
        let (root, outside) = setup(&boxdir);
        let mut before = State::new();
        state(&outside, &mut before);
        let opts = ApplyOptions { whiteouts: mode };
        // The reader path of a pulled blob: compression sniffed from the first bytes. Cap what a
        // decompression bomb may expand to, so the fuzzer tests the applier, not the disk.
        if let Ok(r) = decompress(data) {
            let _ = apply_layer(r.take(64 << 20), &root, &opts);
        }
        let mut after = State::new();
        state(&outside, &mut after);
        assert_eq!(before, after, "a layer changed something outside its root ({mode:?})");
        let names: Vec<_> = fs::read_dir(&boxdir)
            .expect("box")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 2, "a layer created {names:?} beside its root ({mode:?})");
        // A root the layer made unreadable (chmod 000 dirs) is still removable by root.
        let _ = fs::remove_dir_all(&boxdir);
    }
});
