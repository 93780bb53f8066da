//! Applies a layer tar into a root directory. Every path is resolved inside the root with
//! openat2(RESOLVE_IN_ROOT); `..` components are rejected; final components are created and
//! changed with calls that never follow symlinks. A hostile tar can therefore not write,
//! link, chmod or delete anything outside the root.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use tar::{Archive, EntryType};

use super::fsops::{self as fs, is_dir};
use super::sparse::{HoleWriter, SparseReader, entry_real_size};
use super::{LayerError, OPAQUE_WHITEOUT, WHITEOUT_PREFIX, io_err};

/// What to do with whiteout entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutMode {
    /// Keep them as overlayfs expects in a lower dir: `.wh.NAME` becomes a 0/0 character device
    /// NAME, `.wh..wh..opq` the opaque xattr on its directory (`trusted.overlay.opaque=y`, or
    /// `user.overlay.opaque=y` in a rootless store, whose mounts use `userxattr`).
    Overlay,
    /// Delete what they name (flattening layers into one tree).
    Apply,
}

#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    pub whiteouts: WhiteoutMode,
}

#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub entries: u64,
    /// Entries skipped because this process may not create them (e.g. devices without CAP_MKNOD).
    pub warnings: Vec<String>,
}

fn hostile(path: &[u8], reason: &'static str) -> LayerError {
    LayerError::Hostile {
        path: String::from_utf8_lossy(path).into_owned(),
        reason,
    }
}

/// The entry's path relative to the root: leading `/` and `.` dropped, `..` refused.
fn clean(raw: &[u8]) -> Result<PathBuf, LayerError> {
    let mut out = PathBuf::new();
    for comp in Path::new(OsStr::from_bytes(raw)).components() {
        match comp {
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => return Err(hostile(raw, "contains a '..' component")),
            Component::Prefix(_) => return Err(hostile(raw, "has a path prefix")),
        }
    }
    Ok(out)
}

fn split(path: &Path) -> (&Path, &OsStr) {
    (
        path.parent().unwrap_or(Path::new("")),
        path.file_name().unwrap_or_default(),
    )
}

struct Applier {
    root: File,
    root_path: PathBuf,
    opts: ApplyOptions,
    created: HashSet<PathBuf>,
    dir_times: Vec<(PathBuf, i64)>,
    report: ApplyReport,
}

struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Applier {
    fn rootfd(&self) -> i32 {
        self.root.as_raw_fd()
    }

    fn err(&self, action: &'static str, rel: &Path) -> impl FnOnce(io::Error) -> LayerError {
        let f = io_err(action, self.root_path.join(rel));
        move |e| f(e).into()
    }

    fn parent_dir(&self, parent: &Path) -> Result<std::os::fd::OwnedFd, LayerError> {
        fs::mkdir_all_in_root(self.rootfd(), parent).map_err(self.err("create directory", parent))
    }

    fn opaque(&mut self, parent: &Path) -> Result<(), LayerError> {
        let dir = self.parent_dir(parent)?;
        match self.opts.whiteouts {
            WhiteoutMode::Overlay => {
                let name = crate::rootless::overlay_opaque_xattr();
                fs::fsetxattr(dir.as_raw_fd(), name.as_bytes(), b"y")
                    .map_err(self.err("mark opaque", parent))
            }
            WhiteoutMode::Apply => {
                let created = &self.created;
                fs::clear_dir(dir.as_raw_fd(), |n| created.contains(&parent.join(n)))
                    .map_err(self.err("clear opaque directory", parent))
            }
        }
    }

    fn whiteout(&mut self, parent: &Path, target: &OsStr, raw: &[u8]) -> Result<(), LayerError> {
        if target.is_empty() || target == "." || target == ".." || target.as_bytes().contains(&b'/')
        {
            return Err(hostile(raw, "whiteout names no entry"));
        }
        let rel = parent.join(target);
        let dir = match self.opts.whiteouts {
            WhiteoutMode::Overlay => self.parent_dir(parent)?,
            WhiteoutMode::Apply => match fs::open_dir_in_root(self.rootfd(), parent) {
                Ok(d) => d,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
                Err(e) => return Err(self.err("open", parent)(e)),
            },
        };
        fs::remove_all_at(dir.as_raw_fd(), target).map_err(self.err("remove", &rel))?;
        if self.opts.whiteouts == WhiteoutMode::Overlay {
            fs::mknodat(dir.as_raw_fd(), target, libc::S_IFCHR, 0)
                .map_err(self.err("create whiteout", &rel))?;
        }
        Ok(())
    }

    /// Makes room for a new entry: anything there goes, except a directory when a directory comes.
    fn clear_for(
        &self,
        dir: i32,
        name: &OsStr,
        rel: &Path,
        keep_dir: bool,
    ) -> Result<bool, LayerError> {
        match fs::lstat_at(dir, name).map_err(self.err("stat", rel))? {
            Some(st) if keep_dir && is_dir(&st) => Ok(true),
            Some(_) => fs::remove_all_at(dir, name)
                .map(|()| false)
                .map_err(self.err("replace", rel)),
            None => Ok(false),
        }
    }

    fn finish_fd(&self, fd: i32, meta: &Meta, rel: &Path) -> Result<(), LayerError> {
        fs::fchown(fd, meta.uid, meta.gid)
            .map_err(|e| crate::rootless::explain_chown(e, meta.uid, meta.gid))
            .map_err(self.err("chown", rel))?;
        fs::fchmod(fd, meta.mode & 0o7777).map_err(self.err("chmod", rel))?;
        for (k, v) in &meta.xattrs {
            if let Err(e) = fs::fsetxattr(fd, k, v)
                && e.raw_os_error() != Some(libc::ENOTSUP)
                && e.raw_os_error() != Some(libc::EPERM)
            {
                return Err(self.err("set xattr on", rel)(e));
            }
        }
        Ok(())
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), LayerError> {
        let raw = entry.path_bytes().into_owned();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
            || kind.is_gnu_longlink()
        {
            return Ok(());
        }
        let rel = clean(&raw)?;
        let (parent, name) = split(&rel);
        if name.is_empty() {
            return Ok(()); // the root itself
        }
        self.report.entries += 1;
        if name == OPAQUE_WHITEOUT {
            let parent = parent.to_path_buf();
            return self.opaque(&parent);
        }
        if let Some(target) = name.as_bytes().strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
            let parent = parent.to_path_buf();
            return self.whiteout(&parent, OsStr::from_bytes(target), &raw);
        }
        let h = entry.header();
        let bad = |e: io::Error| LayerError::Tar(e);
        let mut meta = Meta {
            mode: h.mode().map_err(bad)?,
            uid: u32::try_from(h.uid().map_err(bad)?).unwrap_or(u32::MAX),
            gid: u32::try_from(h.gid().map_err(bad)?).unwrap_or(u32::MAX),
            mtime: i64::try_from(h.mtime().map_err(bad)?).unwrap_or(0),
            xattrs: Vec::new(),
        };
        let dev = (
            h.device_major().ok().flatten().unwrap_or(0),
            h.device_minor().ok().flatten().unwrap_or(0),
        );
        if let Some(exts) = entry.pax_extensions().map_err(LayerError::Tar)? {
            for ext in exts.flatten() {
                let number = || {
                    std::str::from_utf8(ext.value_bytes())
                        .ok()?
                        .split('.')
                        .next()?
                        .parse::<i64>()
                        .ok()
                };
                match ext.key_bytes() {
                    b"uid" => {
                        meta.uid = number()
                            .and_then(|n| u32::try_from(n).ok())
                            .unwrap_or(meta.uid)
                    }
                    b"gid" => {
                        meta.gid = number()
                            .and_then(|n| u32::try_from(n).ok())
                            .unwrap_or(meta.gid)
                    }
                    b"mtime" => meta.mtime = number().unwrap_or(meta.mtime),
                    key => {
                        if let Some(name) = key.strip_prefix(b"SCHILY.xattr.")
                            && !name.starts_with(b"trusted.overlay.")
                            && !name.starts_with(b"user.overlay.")
                        {
                            meta.xattrs
                                .push((name.to_vec(), ext.value_bytes().to_vec()));
                        }
                    }
                }
            }
        }
        let sparse_size = entry_real_size(entry).map_err(LayerError::Tar)?;
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        let dir = self.parent_dir(parent)?;
        let dirfd = dir.as_raw_fd();
        let rel_owned = rel.clone();
        match kind {
            EntryType::Directory => {
                if !self.clear_for(dirfd, name, &rel, true)? {
                    fs::mkdirat(dirfd, name, 0o700).map_err(self.err("create directory", &rel))?;
                }
                let fd = fs::openat(dirfd, name, libc::O_RDONLY | libc::O_DIRECTORY, 0)
                    .map_err(self.err("open", &rel))?;
                self.finish_fd(fd.as_raw_fd(), &meta, &rel)?;
                self.dir_times.push((rel_owned.clone(), meta.mtime));
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                self.clear_for(dirfd, name, &rel, false)?;
                let fd = fs::openat(
                    dirfd,
                    name,
                    libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
                    0o600,
                )
                .map_err(self.err("create", &rel))?;
                let mut file = File::from(fd);
                if let Some(real_size) = sparse_size {
                    SparseReader::new(entry, real_size)
                        .and_then(|r| r.write_to(&mut file))
                        .map_err(self.err("write", &rel))?;
                } else if kind == EntryType::GNUSparse {
                    // The tar crate reads holes as zeros; they become holes again here.
                    let size = entry.size();
                    let mut holes = HoleWriter::new(&mut file);
                    io::copy(entry, &mut holes).map_err(self.err("write", &rel))?;
                    holes.finish(size).map_err(self.err("write", &rel))?;
                } else {
                    io::copy(entry, &mut file).map_err(self.err("write", &rel))?;
                }
                self.finish_fd(file.as_raw_fd(), &meta, &rel)?;
                fs::futimes(file.as_raw_fd(), meta.mtime)
                    .map_err(self.err("set mtime of", &rel))?;
            }
            EntryType::Symlink => {
                let target = link.ok_or_else(|| hostile(&raw, "symlink without a target"))?;
                self.clear_for(dirfd, name, &rel, false)?;
                fs::symlinkat(OsStr::from_bytes(&target), dirfd, name)
                    .map_err(self.err("create symlink", &rel))?;
                fs::lchownat(dirfd, name, meta.uid, meta.gid)
                    .map_err(|e| crate::rootless::explain_chown(e, meta.uid, meta.gid))
                    .map_err(self.err("chown", &rel))?;
                fs::lutimesat(dirfd, name, meta.mtime).map_err(self.err("set mtime of", &rel))?;
            }
            EntryType::Link => {
                let target = link.ok_or_else(|| hostile(&raw, "hard link without a target"))?;
                let trel = clean(&target)?;
                if trel == rel {
                    return Ok(());
                }
                let (tparent, tname) = split(&trel);
                if tname.is_empty() {
                    return Err(hostile(&raw, "hard link to the root"));
                }
                let tdir = fs::open_dir_in_root(self.rootfd(), tparent)
                    .map_err(self.err("open link target", &trel))?;
                match fs::lstat_at(tdir.as_raw_fd(), tname)
                    .map_err(self.err("stat link target", &trel))?
                {
                    Some(st) if !is_dir(&st) => {}
                    _ => return Err(hostile(&raw, "hard link target is missing or a directory")),
                }
                self.clear_for(dirfd, name, &rel, false)?;
                fs::linkat(tdir.as_raw_fd(), tname, dirfd, name)
                    .map_err(self.err("create hard link", &rel))?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let fmt = match kind {
                    EntryType::Char => libc::S_IFCHR,
                    EntryType::Block => libc::S_IFBLK,
                    _ => libc::S_IFIFO,
                };
                self.clear_for(dirfd, name, &rel, false)?;
                let devno = libc::makedev(dev.0, dev.1);
                match fs::mknodat(dirfd, name, fmt | (meta.mode & 0o777), devno) {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                        self.report
                            .warnings
                            .push(format!("skipped device {}: {e}", rel.display()));
                        return Ok(());
                    }
                    Err(e) => return Err(self.err("create device", &rel)(e)),
                }
                fs::lchownat(dirfd, name, meta.uid, meta.gid)
                    .map_err(|e| crate::rootless::explain_chown(e, meta.uid, meta.gid))
                    .map_err(self.err("chown", &rel))?;
                fs::lutimesat(dirfd, name, meta.mtime).map_err(self.err("set mtime of", &rel))?;
            }
            other => {
                self.report.warnings.push(format!(
                    "skipped {} (unsupported tar entry type {other:?})",
                    rel.display()
                ));
                return Ok(());
            }
        }
        self.created.insert(rel_owned);
        Ok(())
    }

    fn set_dir_times(&self) -> Result<(), LayerError> {
        for (rel, mtime) in self.dir_times.iter().rev() {
            match fs::open_dir_in_root(self.rootfd(), rel) {
                Ok(fd) => {
                    fs::futimes(fd.as_raw_fd(), *mtime).map_err(self.err("set mtime of", rel))?
                }
                Err(e)
                    if e.raw_os_error() == Some(libc::ENOENT)
                        || e.raw_os_error() == Some(libc::ENOTDIR) => {}
                Err(e) => return Err(self.err("open", rel)(e)),
            }
        }
        Ok(())
    }
}

/// Extracts the (uncompressed) layer tar read from `tar` into `root`, which must exist.
pub fn apply_layer<R: Read>(
    tar: R,
    root: &Path,
    opts: &ApplyOptions,
) -> Result<ApplyReport, LayerError> {
    let rootf = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(root)
        .map_err(io_err("open layer root", root))?;
    let mut applier = Applier {
        root: rootf,
        root_path: root.to_path_buf(),
        opts: *opts,
        created: HashSet::new(),
        dir_times: Vec::new(),
        report: ApplyReport::default(),
    };
    let mut archive = Archive::new(tar);
    for entry in archive.entries().map_err(LayerError::Tar)? {
        let mut entry = entry.map_err(LayerError::Tar)?;
        applier.entry(&mut entry)?;
    }
    applier.set_dir_times()?;
    Ok(applier.report)
}
