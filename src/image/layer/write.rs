//! Writes an OCI layer tar from a diff directory (an overlayfs upper dir): overlay whiteouts
//! (0/0 character devices) become `.wh.NAME` entries and opaque directories get a
//! `.wh..wh..opq` entry. Output is deterministic: entries sorted by name, numeric owners only,
//! PAX headers for long names and xattrs, hardlinks kept, mtimes optionally clamped.

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use tar::EntryType;
use walkdir::WalkDir;

use super::sparse::SparseMap;
use super::tarfmt::{EntryMeta, pad, write_header, write_trailer};
use super::{LayerError, OPAQUE_WHITEOUT, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX, io_err};

#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Clamp every mtime to at most this many seconds since the epoch (`SOURCE_DATE_EPOCH`).
    pub source_date_epoch: Option<u64>,
    /// The layers below this diff, topmost first, used only to tell added paths from modified
    /// ones. Without them every path counts as added.
    pub lowers: Vec<PathBuf>,
}

/// What the layer does to the filesystem below it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerStats {
    pub added: u64,
    pub modified: u64,
    pub removed: u64,
    pub entries: u64,
}

fn is_whiteout(meta: &Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// xattrs kept in the layer: overlayfs' own bookkeeping is dropped.
/// (name, value) pairs.
type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

fn xattrs(path: &Path) -> Result<(Xattrs, bool), LayerError> {
    let mut out = Vec::new();
    let mut opaque = false;
    let names = match xattr::list(path) {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok((out, false)),
        Err(e) => return Err(io_err("list xattrs of", path)(e).into()),
    };
    for name in names {
        let bytes = name.as_bytes();
        if bytes == OVERLAY_OPAQUE_XATTR.as_bytes() || bytes == b"user.overlay.opaque" {
            opaque = xattr::get(path, &name)
                .map_err(io_err("read xattr of", path))?
                .as_deref()
                == Some(b"y");
            continue;
        }
        if super::xattrs::is_overlay_bookkeeping(bytes) {
            continue;
        }
        if let Some(value) = xattr::get(path, &name).map_err(io_err("read xattr of", path))? {
            out.push((bytes.to_vec(), value));
        }
    }
    out.sort();
    Ok((out, opaque))
}

struct Walker<'a, W> {
    out: W,
    opts: &'a WriteOptions,
    stats: LayerStats,
    links: HashMap<(u64, u64), Vec<u8>>,
    buf: Vec<u8>,
    /// False for [`layer_stats`]: file contents are counted, never read.
    contents: bool,
    /// Content bytes counted instead of written.
    skipped: u64,
}

impl<W: Write> Walker<'_, W> {
    fn mtime(&self, meta: &Metadata) -> u64 {
        let t = meta.mtime().max(0) as u64;
        self.opts.source_date_epoch.map_or(t, |e| t.min(e))
    }

    fn in_lowers(&self, rel: &Path) -> bool {
        for lower in &self.opts.lowers {
            if let Ok(m) = fs::symlink_metadata(lower.join(rel)) {
                return !is_whiteout(&m);
            }
        }
        false
    }

    fn count(&mut self, rel: &Path, is_dir: bool) {
        let existed = self.in_lowers(rel);
        match (existed, is_dir) {
            (false, _) => self.stats.added += 1,
            (true, false) => self.stats.modified += 1,
            (true, true) => {}
        }
    }

    fn header(&mut self, meta: &EntryMeta<'_>, path: &Path) -> Result<(), LayerError> {
        self.stats.entries += 1;
        write_header(&mut self.out, meta).map_err(io_err("write layer entry for", path))?;
        Ok(())
    }

    fn entry(&mut self, full: &Path, rel: &Path, meta: &Metadata) -> Result<(), LayerError> {
        let name = rel.as_os_str().as_bytes();
        let ft = meta.file_type();
        let mtime = self.mtime(meta);
        let base = |path: &'static [u8]| EntryMeta {
            path,
            kind: EntryType::Regular,
            mode: meta.mode(),
            uid: u64::from(meta.uid()),
            gid: u64::from(meta.gid()),
            mtime,
            size: 0,
            link: None,
            dev: None,
            xattrs: &[],
            sparse: None,
        };
        if is_whiteout(meta) {
            let mut wh = rel
                .parent()
                .map(|p| p.as_os_str().as_bytes().to_vec())
                .unwrap_or_default();
            if !wh.is_empty() {
                wh.push(b'/');
            }
            wh.extend_from_slice(WHITEOUT_PREFIX.as_bytes());
            wh.extend_from_slice(rel.file_name().map(|n| n.as_bytes()).unwrap_or_default());
            self.stats.removed += 1;
            let m = EntryMeta {
                path: &wh,
                mode: 0o644,
                uid: 0,
                gid: 0,
                ..base(b"")
            };
            return self.header(&m, full);
        }
        if ft.is_dir() {
            let (xattrs, opaque) = xattrs(full)?;
            let mut dir = name.to_vec();
            dir.push(b'/');
            self.count(rel, true);
            let m = EntryMeta {
                path: &dir,
                kind: EntryType::Directory,
                xattrs: &xattrs,
                ..base(b"")
            };
            self.header(&m, full)?;
            if opaque {
                dir.extend_from_slice(OPAQUE_WHITEOUT.as_bytes());
                let m = EntryMeta {
                    path: &dir,
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                    ..base(b"")
                };
                self.header(&m, full)?;
            }
            return Ok(());
        }
        if ft.is_socket() {
            return Ok(());
        }
        self.count(rel, false);
        if ft.is_symlink() {
            let target = fs::read_link(full).map_err(io_err("read symlink", full))?;
            let m = EntryMeta {
                path: name,
                kind: EntryType::Symlink,
                link: Some(target.as_os_str().as_bytes()),
                ..base(b"")
            };
            return self.header(&m, full);
        }
        let (xattrs, _) = xattrs(full)?;
        if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
            let kind = if ft.is_char_device() {
                EntryType::Char
            } else if ft.is_block_device() {
                EntryType::Block
            } else {
                EntryType::Fifo
            };
            let rdev = meta.rdev();
            let dev = Some((libc::major(rdev), libc::minor(rdev)));
            let m = EntryMeta {
                path: name,
                kind,
                dev,
                xattrs: &xattrs,
                ..base(b"")
            };
            return self.header(&m, full);
        }
        if meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = self.links.get(&key).cloned() {
                let m = EntryMeta {
                    path: name,
                    kind: EntryType::Link,
                    link: Some(&first),
                    ..base(b"")
                };
                return self.header(&m, full);
            }
            self.links.insert(key, name.to_vec());
        }
        // Holes stay holes: only the data extents of a sparse file are stored, after its map.
        let sparse = SparseMap::of(full, meta).map_err(io_err("find the holes of", full))?;
        let whole = [(0, meta.len())];
        let extents = sparse.as_ref().map_or(&whole[..], |m| &m.extents);
        let map_block = sparse.as_ref().map(SparseMap::block).unwrap_or_default();
        let size = map_block.len() as u64 + extents.iter().map(|e| e.1).sum::<u64>();
        let m = EntryMeta {
            path: name,
            size,
            xattrs: &xattrs,
            sparse: sparse.as_ref(),
            ..base(b"")
        };
        self.header(&m, full)?;
        self.out
            .write_all(&map_block)
            .map_err(io_err("write layer data for", full))?;
        self.copy_file(full, extents, size)
    }

    fn copy_file(
        &mut self,
        path: &Path,
        extents: &[(u64, u64)],
        size: u64,
    ) -> Result<(), LayerError> {
        if !self.contents {
            self.skipped += extents.iter().map(|e| e.1).sum::<u64>();
            pad(&mut self.out, size).map_err(io_err("write layer data for", path))?;
            return Ok(());
        }
        let mut file = File::open(path).map_err(io_err("open", path))?;
        for &(offset, len) in extents {
            file.seek(SeekFrom::Start(offset))
                .map_err(io_err("read", path))?;
            self.copy_extent(&mut file, path, len, size)?;
        }
        pad(&mut self.out, size).map_err(io_err("write layer data for", path))?;
        Ok(())
    }

    fn copy_extent(
        &mut self,
        file: &mut File,
        path: &Path,
        len: u64,
        size: u64,
    ) -> Result<(), LayerError> {
        let mut left = len;
        while left > 0 {
            let want = left.min(self.buf.len() as u64) as usize;
            let n = file
                .read(&mut self.buf[..want])
                .map_err(io_err("read", path))?;
            if n == 0 {
                return Err(LayerError::FileChanged {
                    path: path.into(),
                    expected: size,
                    actual: size - left,
                });
            }
            self.out
                .write_all(&self.buf[..n])
                .map_err(io_err("write layer data for", path))?;
            left -= n as u64;
        }
        Ok(())
    }
}

/// Streams the layer tar of `diff_dir` into `out` and returns `out` with the counts.
pub fn write_layer<W: Write>(
    diff_dir: &Path,
    out: W,
    opts: &WriteOptions,
) -> Result<(W, LayerStats), LayerError> {
    let w = walk(diff_dir, out, opts, true)?;
    Ok((w.out, w.stats))
}

/// The size of the tar [`write_layer`] would write for `diff_dir` and its counts, from one walk
/// of names, metadata and xattrs that never reads a file's contents: what a build reports the
/// moment a step ends, long before the layer is tarred and hashed.
pub fn layer_stats(diff_dir: &Path, opts: &WriteOptions) -> Result<(u64, LayerStats), LayerError> {
    let w = walk(diff_dir, ByteCount(0), opts, false)?;
    Ok((w.out.0 + w.skipped, w.stats))
}

/// Counts what is written to it.
struct ByteCount(u64);

impl Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn walk<'a, W: Write>(
    diff_dir: &Path,
    out: W,
    opts: &'a WriteOptions,
    contents: bool,
) -> Result<Walker<'a, W>, LayerError> {
    let mut w = Walker {
        out,
        opts,
        stats: LayerStats::default(),
        links: HashMap::new(),
        buf: if contents {
            vec![0; 1 << 20]
        } else {
            Vec::new()
        },
        contents,
        skipped: 0,
    };
    for entry in WalkDir::new(diff_dir)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(diff_dir).to_path_buf();
            io_err("walk", path)(e.into())
        })?;
        let rel = entry.path().strip_prefix(diff_dir).unwrap_or(entry.path());
        let meta = entry
            .path()
            .symlink_metadata()
            .map_err(io_err("stat", entry.path()))?;
        w.entry(entry.path(), rel, &meta)?;
    }
    write_trailer(&mut w.out).map_err(io_err("finish layer for", diff_dir))?;
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_walk_predicts_the_tar_size_and_counts_without_reading_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (lower, diff) = (tmp.path().join("lower"), tmp.path().join("diff"));
        fs::create_dir_all(lower.join("etc")).expect("lower");
        fs::write(lower.join("etc/old"), "old").expect("old");
        let long = "n".repeat(120);
        fs::create_dir_all(diff.join("etc").join(&long)).expect("dirs");
        fs::write(diff.join("etc/old"), "changed").expect("modified");
        fs::write(diff.join("etc").join(&long).join("f"), vec![7u8; 1000]).expect("long");
        fs::write(diff.join("big"), vec![1u8; 70_000]).expect("big");
        fs::hard_link(diff.join("big"), diff.join("big2")).expect("hardlink");
        std::os::unix::fs::symlink("big", diff.join("link")).expect("symlink");
        let opts = WriteOptions {
            source_date_epoch: None,
            lowers: vec![lower],
        };
        let (tar, written) = write_layer(&diff, Vec::new(), &opts).expect("tar");
        let (size, counted) = layer_stats(&diff, &opts).expect("stats");
        assert_eq!(size, tar.len() as u64);
        assert_eq!(counted, written);
        assert_eq!((counted.added, counted.modified), (5, 1), "{counted:?}");
    }
}
