//! Content digests of the sources a COPY/ADD selects: what the step's cache key is made of.
//! Relative path, type, mode, owner (for rootfs sources), symlink target and file content count;
//! mtime never does. A stat cache keyed by (path, size, mtime, inode) avoids re-reading unchanged
//! files on the next build.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ContextError, Selected, SourceTree, text};
use crate::image::layer::xattrs::kept_xattrs;

/// The digest of a selection and the per-file digests it was made from (to name changed files).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceDigest {
    pub digest: String,
    /// `(relative path, entry digest)`, sorted by path.
    pub files: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct StatKey {
    size: u64,
    mtime_ns: i128,
    ino: u64,
    ctime_ns: i128,
}

/// Remembers file content hashes between builds by their stat, so an unchanged file is not read again.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StatCache {
    entries: HashMap<PathBuf, (StatKey, String)>,
    #[serde(skip)]
    dirty: bool,
}

impl StatCache {
    pub fn load(path: &Path) -> Self {
        fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Writes the cache atomically (temp file + rename) if anything changed.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, serde_json::to_vec(self).map_err(io::Error::other)?)?;
        fs::rename(tmp, path)
    }

    fn file_hash(&mut self, path: &Path, meta: &fs::Metadata) -> io::Result<String> {
        let key = StatKey {
            size: meta.size(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
            ino: meta.ino(),
            ctime_ns: meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128,
        };
        if let Some((k, h)) = self.entries.get(path)
            && *k == key
        {
            return Ok(h.clone());
        }
        let h = sha256_file(path)?;
        self.entries.insert(path.to_path_buf(), (key, h.clone()));
        self.dirty = true;
        Ok(h)
    }
}

pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Every path under one selected source, in sorted order, skipping what `.dockerignore` excludes.
/// Paths are relative to the tree root, their bytes kept. A file source yields itself.
pub fn walk_selected(tree: &SourceTree, sel: &Selected) -> Result<Vec<PathBuf>, ContextError> {
    let base = tree.abs(&sel.rel);
    if !sel.is_dir {
        return Ok(vec![sel.rel.clone()]);
    }
    let mut out = Vec::new();
    let mut it = walkdir::WalkDir::new(&base).sort_by_file_name().into_iter();
    while let Some(entry) = it.next() {
        let entry = entry.map_err(|e| ContextError::Io {
            path: base.clone(),
            source: e.into(),
        })?;
        let rel = tree.rel_of(entry.path());
        if rel != Path::new(".") && rel != sel.rel && tree.ignore.is_ignored(&text(&rel)) {
            if entry.file_type().is_dir() && !tree.ignore.has_exclusions() {
                it.skip_current_dir();
            }
            continue;
        }
        out.push(rel);
    }
    Ok(out)
}

/// Digests the selected sources. Paths in the digest are relative to each source, as they will be
/// laid out at the destination, so renaming the context directory changes nothing. Names count
/// as bytes; a file hard-linked to one already seen counts as that link (one COPY keeps it).
pub fn digest(
    tree: &SourceTree,
    selected: &[Selected],
    cache: &mut StatCache,
) -> Result<SourceDigest, ContextError> {
    let mut files = Vec::new();
    let mut total = Sha256::new();
    let mut links: HashMap<(u64, u64), PathBuf> = HashMap::new();
    for sel in selected {
        total.update(sel.rel.as_os_str().as_bytes());
        total.update([0]);
        for rel in walk_selected(tree, sel)? {
            let path = tree.abs(&rel);
            let io = |source| ContextError::Io {
                path: path.clone(),
                source,
            };
            let meta = fs::symlink_metadata(&path).map_err(io)?;
            let mut entry = entry_digest(tree, &path, &meta, cache).map_err(io)?;
            if meta.is_file() && meta.nlink() > 1 {
                match links.entry((meta.dev(), meta.ino())) {
                    Entry::Occupied(first) => {
                        entry = format!("hardlink:{}", first.get().to_string_lossy());
                    }
                    Entry::Vacant(v) => {
                        v.insert(rel.clone());
                    }
                }
            }
            total.update(rel.as_os_str().as_bytes());
            total.update([0]);
            total.update(entry.as_bytes());
            total.update([b'\n']);
            files.push((text(&rel).into_owned(), entry));
        }
    }
    files.sort();
    Ok(SourceDigest {
        digest: format!("sha256:{}", hex::encode(total.finalize())),
        files,
    })
}

fn entry_digest(
    tree: &SourceTree,
    path: &Path,
    meta: &fs::Metadata,
    cache: &mut StatCache,
) -> io::Result<String> {
    let ft = meta.file_type();
    // Context files are copied as root:root unless --chown says otherwise, so their owner on the host
    // does not change the result and must not change the key.
    let owner = if tree.is_context {
        String::new()
    } else {
        format!("{}:{}", meta.uid(), meta.gid())
    };
    let mode = meta.mode() & 0o7777;
    let body = if ft.is_symlink() {
        format!(
            "link:{}",
            hex::encode(fs::read_link(path)?.as_os_str().as_bytes())
        )
    } else if ft.is_file() {
        format!("file:{}", cache.file_hash(path, meta)?)
    } else if ft.is_dir() {
        "dir".to_string()
    } else {
        format!("special:{:o}:{}", meta.mode() & 0o170000, meta.rdev())
    };
    // The xattrs a copy keeps (file capabilities, user.*) are part of what it writes.
    let mut xattrs = String::new();
    if !ft.is_symlink() {
        for (name, value) in kept_xattrs(path)? {
            xattrs.push_str(&format!(":{}={}", hex::encode(name), hex::encode(value)));
        }
    }
    Ok(format!("{mode:o}:{owner}:{body}{xattrs}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(files: &[(&str, &str)], ignore: &str) -> (tempfile::TempDir, SourceTree) {
        let dir = tempfile::tempdir().expect("tempdir");
        for (p, c) in files {
            let path = dir.path().join(p);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, c).expect("write");
        }
        fs::write(dir.path().join(".dockerignore"), ignore).expect("write ignore");
        let tree = SourceTree::context(dir.path(), None).expect("context");
        (dir, tree)
    }

    #[test]
    fn mtime_does_not_change_the_digest_but_content_does() {
        let (dir, tree) = ctx(&[("src/a.txt", "one"), ("b.txt", "two")], "");
        let sel = tree.select(&[".".to_string()]).expect("select");
        let mut cache = StatCache::default();
        let d1 = digest(&tree, &sel, &mut cache).expect("digest");
        let f = File::options()
            .write(true)
            .open(dir.path().join("b.txt"))
            .expect("open");
        f.set_modified(std::time::SystemTime::UNIX_EPOCH)
            .expect("touch");
        let d2 = digest(&tree, &sel, &mut cache).expect("digest");
        assert_eq!(d1.digest, d2.digest);
        fs::write(dir.path().join("b.txt"), "changed").expect("write");
        let d3 = digest(&tree, &sel, &mut cache).expect("digest");
        assert_ne!(d1.digest, d3.digest);
    }

    #[test]
    fn ignored_files_never_affect_the_digest() {
        let (dir, tree) = ctx(
            &[("app.go", "package main"), ("node_modules/x.js", "1")],
            "node_modules\n",
        );
        let sel = tree.select(&[".".to_string()]).expect("select");
        let mut cache = StatCache::default();
        let d1 = digest(&tree, &sel, &mut cache).expect("digest");
        assert!(d1.files.iter().all(|(p, _)| !p.starts_with("node_modules")));
        fs::write(dir.path().join("node_modules/x.js"), "2").expect("write");
        let d2 = digest(&tree, &sel, &mut cache).expect("digest");
        assert_eq!(d1.digest, d2.digest);
    }

    #[test]
    fn globs_match_per_component_in_order_and_skip_symlinked_dirs() {
        let (dir, tree) = ctx(
            &[
                ("b/sub/x.rs", ""),
                ("a/sub/y.rs", ""),
                ("a/sub/z.go", ""),
                ("a/other/w.rs", ""),
            ],
            "a/sub/y.rs\n",
        );
        std::os::unix::fs::symlink("a", dir.path().join("link")).expect("symlink");
        let sel = tree.select(&["*/sub/*.rs".to_string()]).expect("select");
        let rels: Vec<_> = sel.iter().map(|s| s.rel.to_str()).collect();
        assert_eq!(
            rels,
            [Some("b/sub/x.rs")],
            "ignored and other names left out"
        );
        let sel = tree.select(&["a/s?b/*".to_string()]).expect("select");
        assert_eq!(sel.len(), 1, "{sel:?}"); // z.go; y.rs is ignored
        assert!(matches!(
            tree.select(&["link/*/*.go".into()]),
            Err(ContextError::NoMatch { .. })
        ));
    }

    #[test]
    fn globs_escapes_and_missing_sources() {
        let (dir, tree) = ctx(&[("a.go", ""), ("b.go", ""), ("c.txt", "")], "");
        let sel = tree.select(&["*.go".to_string()]).expect("select");
        assert_eq!(
            sel.iter().map(|s| s.rel.to_str()).collect::<Vec<_>>(),
            [Some("a.go"), Some("b.go")]
        );
        assert!(matches!(
            tree.select(&["../x".into()]),
            Err(ContextError::OutsideContext { .. })
        ));
        assert!(matches!(
            tree.select(&["*.rs".into()]),
            Err(ContextError::NoMatch { .. })
        ));
        assert!(matches!(
            tree.select(&["nope".into()]),
            Err(ContextError::NotFound { .. })
        ));
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("abs")).expect("symlink");
        std::os::unix::fs::symlink("../../etc", dir.path().join("rel")).expect("symlink");
        assert!(matches!(
            tree.select(&["abs".into()]),
            Err(ContextError::SymlinkOutside { .. })
        ));
        assert!(tree.select(&["rel/passwd".into()]).is_err());
    }
}
