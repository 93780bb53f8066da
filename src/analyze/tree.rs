//! The merged filesystem of a layer chain, read without mounting: the snapshot dirs stacked lowest
//! first with overlayfs semantics (a 0/0 character device removes a path, an opaque directory
//! hides what lower layers had under it, a non-directory hides a lower directory's children).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::error::{AnalyzeError, io_err};
use crate::image::layer::LayerStore;
use crate::image::layer::OVERLAY_OPAQUE_XATTR;
use crate::store::digest::HashingReader;
use crate::store::{LayerRef, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

/// One path of the merged tree, as the topmost layer that has it sets it.
#[derive(Debug)]
pub struct Entry {
    pub kind: Kind,
    /// Bytes of a regular file; the target's length for a symlink; 0 otherwise.
    pub size: u64,
    /// Permission bits and setuid/setgid/sticky (`0o7777` mask).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub link: Option<PathBuf>,
    /// Index in the chain of the layer that wrote this path last.
    pub layer: usize,
    /// Where the bytes are on disk (inside that layer's snapshot dir).
    pub source: PathBuf,
    dev_ino: (u64, u64),
    digest: OnceLock<String>,
}

impl Entry {
    /// `sha256:` of a regular file's content (of the target for a symlink), computed once.
    pub fn digest(&self) -> Result<&str, AnalyzeError> {
        if let Some(d) = self.digest.get() {
            return Ok(d);
        }
        let computed = match self.kind {
            Kind::File => {
                let file =
                    std::fs::File::open(&self.source).map_err(io_err("open", &self.source))?;
                let (digest, _) = HashingReader::new(file)
                    .finish()
                    .map_err(io_err("read", &self.source))?;
                digest.to_string()
            }
            _ => {
                let text = self
                    .link
                    .as_ref()
                    .map(|l| l.as_os_str().as_encoded_bytes().to_vec())
                    .unwrap_or_default();
                format!("sha256:{}", hex::encode(Sha256::digest(text)))
            }
        };
        Ok(self.digest.get_or_init(|| computed))
    }

    /// True when both entries are the same bytes on disk (same layer file, no hashing needed).
    pub fn same_inode(&self, other: &Entry) -> bool {
        self.dev_ino == other.dev_ino
    }

    /// Same content: same inode, or same size and digest.
    pub fn same_content(&self, other: &Entry) -> Result<bool, AnalyzeError> {
        if self.kind != other.kind || self.size != other.size {
            return Ok(false);
        }
        match self.kind {
            Kind::File if self.same_inode(other) => Ok(true),
            // Digests already known (provenance hashes candidates once): compare those.
            Kind::File if self.digest.get().is_some() && other.digest.get().is_some() => {
                Ok(self.digest()? == other.digest()?)
            }
            Kind::File => same_bytes(&self.source, &other.source),
            Kind::Symlink => Ok(self.link == other.link),
            _ => Ok(true),
        }
    }
}

/// Byte-for-byte comparison that stops at the first difference (cheaper than two hashes).
pub(crate) fn same_bytes(a: &Path, b: &Path) -> Result<bool, AnalyzeError> {
    use std::io::Read;
    let mut fa = std::fs::File::open(a).map_err(io_err("open", a))?;
    let mut fb = std::fs::File::open(b).map_err(io_err("open", b))?;
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = fa.read(&mut ba).map_err(io_err("read", a))?;
        if n == 0 {
            return Ok(fb.read(&mut bb[..1]).map_err(io_err("read", b))? == 0);
        }
        match fb.read_exact(&mut bb[..n]) {
            Ok(()) => {}
            // B is shorter than A after all (sizes are checked first): different.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(io_err("read", b)(e).into()),
        }
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

/// A merged filesystem: relative paths (no leading `/`) to entries, in path order.
#[derive(Debug, Default)]
pub struct FileTree {
    entries: BTreeMap<PathBuf, Entry>,
}

fn is_whiteout(meta: &std::fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn is_opaque(path: &Path) -> bool {
    [OVERLAY_OPAQUE_XATTR, "user.overlay.opaque"]
        .iter()
        .any(|name| matches!(xattr::get(path, name), Ok(Some(v)) if v == b"y"))
}

fn kind_of(ft: std::fs::FileType) -> Kind {
    if ft.is_dir() {
        Kind::Dir
    } else if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_char_device() {
        Kind::CharDevice
    } else if ft.is_block_device() {
        Kind::BlockDevice
    } else if ft.is_fifo() {
        Kind::Fifo
    } else if ft.is_socket() {
        Kind::Socket
    } else {
        Kind::File
    }
}

impl FileTree {
    /// The merged tree of a chain of snapshot dirs, lowest first.
    pub fn from_dirs(dirs: &[PathBuf]) -> Result<Self, AnalyzeError> {
        let mut tree = FileTree::default();
        for (layer, dir) in dirs.iter().enumerate() {
            tree.apply_dir(layer, dir)?;
        }
        Ok(tree)
    }

    /// The merged tree of a layer chain from the store (extracting snapshots that are missing).
    pub fn from_layers(store: &Store, layers: &[LayerRef]) -> Result<Self, AnalyzeError> {
        Self::from_dirs(&store.snapshot(layers)?)
    }

    /// What one layer dir holds, as a tree of its own (whiteouts left out): what the layer wrote.
    pub fn layer_only(dir: &Path) -> Result<Self, AnalyzeError> {
        Self::from_dirs(&[dir.to_path_buf()])
    }

    fn apply_dir(&mut self, layer: usize, dir: &Path) -> Result<(), AnalyzeError> {
        for item in walkdir::WalkDir::new(dir).min_depth(1).follow_links(false) {
            let item = item.map_err(|e| {
                let path = e.path().unwrap_or(dir).to_path_buf();
                io_err("read", path)(std::io::Error::other(e.to_string()))
            })?;
            let path = item.path();
            let rel = path.strip_prefix(dir).unwrap_or(path).to_path_buf();
            let meta = std::fs::symlink_metadata(path).map_err(io_err("stat", path))?;
            if is_whiteout(&meta) {
                self.remove_subtree(&rel, true);
                continue;
            }
            let kind = kind_of(meta.file_type());
            let hides_lower = match self.entries.get(&rel) {
                Some(old) => kind != Kind::Dir || old.kind != Kind::Dir || is_opaque(path),
                None => false,
            };
            if hides_lower {
                self.remove_subtree(&rel, false);
            }
            let link = if kind == Kind::Symlink {
                Some(std::fs::read_link(path).map_err(io_err("read link", path))?)
            } else {
                None
            };
            let size = match kind {
                Kind::File => meta.len(),
                Kind::Symlink => link.as_ref().map_or(0, |l| l.as_os_str().len() as u64),
                _ => 0,
            };
            self.entries.insert(
                rel,
                Entry {
                    kind,
                    size,
                    mode: meta.mode() & 0o7777,
                    uid: meta.uid(),
                    gid: meta.gid(),
                    link,
                    layer,
                    source: path.to_path_buf(),
                    dev_ino: (meta.dev(), meta.ino()),
                    digest: OnceLock::new(),
                },
            );
        }
        Ok(())
    }

    /// Removes everything under `rel` (and `rel` itself when `with_root`).
    fn remove_subtree(&mut self, rel: &Path, with_root: bool) {
        let doomed: Vec<PathBuf> = self
            .entries
            .range::<Path, _>((Bound::Excluded(rel), Bound::Unbounded))
            .take_while(|(p, _)| p.starts_with(rel))
            .map(|(p, _)| p.clone())
            .collect();
        for p in doomed {
            self.entries.remove(&p);
        }
        if with_root {
            self.entries.remove(rel);
        }
    }

    pub fn get(&self, rel: &Path) -> Option<&Entry> {
        self.entries.get(rel)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&PathBuf, &Entry)> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of all regular files and symlinks (what the filesystem holds, hard links counted once).
    pub fn total_size(&self) -> u64 {
        let mut seen = std::collections::HashSet::new();
        self.entries
            .values()
            .filter(|e| seen.insert(e.dev_ino))
            .map(|e| e.size)
            .sum()
    }
}

/// `/usr/bin/x` for display and JSON.
pub fn display_path(rel: &Path) -> String {
    format!("/{}", rel.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn whiteout(path: &Path) {
        nix::sys::stat::mknod(
            path,
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::empty(),
            0,
        )
        .expect("mknod whiteout (needs root)");
    }

    #[test]
    fn same_size_files_compare_by_bytes() {
        let tmp = tempfile::tempdir().expect("tmp");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        for (d, x, y) in [(&a, "abcd", "same"), (&b, "abce", "same")] {
            fs::create_dir_all(d).expect("mkdir");
            fs::write(d.join("x"), x).expect("write");
            fs::write(d.join("y"), y).expect("write");
        }
        let (ta, tb) = (
            FileTree::from_dirs(&[a]).expect("a"),
            FileTree::from_dirs(&[b]).expect("b"),
        );
        let (xa, xb) = (
            ta.get(Path::new("x")).expect("x"),
            tb.get(Path::new("x")).expect("x"),
        );
        assert!(!xa.same_content(xb).expect("compare"));
        let (ya, yb) = (
            ta.get(Path::new("y")).expect("y"),
            tb.get(Path::new("y")).expect("y"),
        );
        assert!(ya.same_content(yb).expect("compare"));
        // With digests known, they decide.
        assert_ne!(xa.digest().expect("digest"), xb.digest().expect("digest"));
        assert!(!xa.same_content(xb).expect("compare"));
    }

    #[test]
    fn stacks_layers_with_whiteouts_and_opaque_dirs() {
        let tmp = tempfile::tempdir().expect("tmp");
        let (l0, l1) = (tmp.path().join("0"), tmp.path().join("1"));
        fs::create_dir_all(l0.join("etc/old")).expect("mkdir");
        fs::write(l0.join("etc/old/a"), "a").expect("write");
        fs::write(l0.join("etc/keep"), "keep").expect("write");
        fs::write(l0.join("gone"), "gone").expect("write");
        fs::create_dir_all(l0.join("opq/sub")).expect("mkdir");
        fs::write(l0.join("opq/sub/x"), "x").expect("write");
        fs::create_dir_all(l1.join("opq")).expect("mkdir");
        fs::create_dir_all(l1.join("etc")).expect("mkdir");
        xattr::set(l1.join("opq"), OVERLAY_OPAQUE_XATTR, b"y").expect("xattr");
        fs::write(l1.join("opq/new"), "new!").expect("write");
        fs::write(l1.join("etc/old"), "now a file").expect("write");
        whiteout(&l1.join("gone"));
        let tree = FileTree::from_dirs(&[l0, l1]).expect("tree");
        let paths: Vec<String> = tree.iter().map(|(p, _)| display_path(p)).collect();
        assert_eq!(
            paths,
            ["/etc", "/etc/keep", "/etc/old", "/opq", "/opq/new"],
            "{paths:?}"
        );
        let old = tree.get(Path::new("etc/old")).expect("etc/old");
        assert_eq!((old.kind, old.size, old.layer), (Kind::File, 10, 1));
        assert_eq!(tree.get(Path::new("etc/keep")).expect("keep").layer, 0);
        assert_eq!(tree.total_size(), 4 + 10 + 4);
    }
}
