//! The file operations of COPY and ADD: Docker's destination rules applied to sources already
//! selected from a build context or a stage's root filesystem, written into a step's rootfs.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{UtimensatFlags, utimensat};
use nix::sys::time::TimeSpec;

use super::context::dockerignore::DockerIgnore;
use super::context::{ContextError, Selected, SourceTree, digest::walk_selected, text};
use super::fsutil::resolve_in_root;
use crate::image::layer::sparse::copy_sparse;
use crate::image::layer::xattrs::{kept_xattrs, set_xattrs};

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "when copying more than one source, the destination must be a directory and end with a /: {dest:?}"
    )]
    DestNotDir { dest: String },
    #[error(
        "{rel:?} is a device, socket or pipe: only files, directories and symlinks can be copied from the build context"
    )]
    Special { rel: PathBuf },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> CopyError + '_ {
    move |source| CopyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// `--chown` after name resolution.
    pub chown: Option<(u32, u32)>,
    /// `--chmod`.
    pub chmod: Option<u32>,
    /// `--parents`: keep each source's parent directories under the destination.
    pub parents: bool,
    /// `--exclude` patterns, matched against paths relative to each source.
    pub exclude: DockerIgnore,
}

/// What a copy wrote: the step's log says it (`copied 3 files, 5120 bytes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyStats {
    pub files: u64,
    pub bytes: u64,
}

impl std::ops::AddAssign for CopyStats {
    fn add_assign(&mut self, other: Self) {
        self.files += other.files;
        self.bytes += other.bytes;
    }
}

impl CopyStats {
    pub fn summary(&self) -> String {
        let s = |n: u64| if n == 1 { "" } else { "s" };
        format!(
            "copied {} file{}, {} byte{}",
            self.files,
            s(self.files),
            self.bytes,
            s(self.bytes)
        )
    }
}

/// Copies `selected` from `tree` to `dest` inside the root filesystem `root`. A relative `dest` is
/// relative to `workdir`. Directories copy their contents; a destination ending in `/`, or an existing
/// directory, receives sources by their base name; missing parents are created.
pub fn copy_into(
    tree: &SourceTree,
    selected: &[Selected],
    root: &Path,
    workdir: &str,
    dest: &str,
    opts: &CopyOptions,
) -> Result<CopyStats, CopyError> {
    let dest_abs = if dest.starts_with('/') {
        dest.to_string()
    } else {
        format!("{}/{}", workdir.trim_end_matches('/'), dest)
    };
    let dest_path = resolve_in_root(root, Path::new(&dest_abs), true).map_err(io_at(root))?;
    let many = selected.len() > 1 || selected.iter().any(|s| s.pattern.contains(['*', '?', '[']));
    let dest_is_dir = dest.ends_with('/') || dest == "." || dest_path.is_dir() || many;
    if many && !(dest.ends_with('/') || dest_path.is_dir() || dest == ".") {
        return Err(CopyError::DestNotDir {
            dest: dest.to_string(),
        });
    }
    let mut stats = CopyStats::default();
    let mut links = HashMap::new();
    for sel in selected {
        let target_rel: &Path = if opts.parents && sel.rel != Path::new(".") {
            &sel.rel
        } else if sel.is_dir {
            Path::new("")
        } else {
            sel.rel.file_name().map(Path::new).unwrap_or(&sel.rel)
        };
        let target = if sel.is_dir || dest_is_dir {
            dest_path.join(target_rel)
        } else {
            dest_path.clone()
        };
        let owner_root = target.parent().unwrap_or(root);
        mkdir_all(root, owner_root, opts)?;
        let mut copy = TreeCopy {
            tree,
            root,
            opts,
            stats: &mut stats,
            links: &mut links,
        };
        copy.tree(sel, &target)?;
    }
    Ok(stats)
}

/// Creates `dir` and its missing parents (all inside `root`), owned by `--chown` or root.
fn mkdir_all(root: &Path, dir: &Path, opts: &CopyOptions) -> Result<(), CopyError> {
    if dir.is_dir() || dir == root {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        mkdir_all(root, parent, opts)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(io_at(dir)(e)),
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(io_at(dir))?;
    let (uid, gid) = opts.chown.unwrap_or((0, 0));
    std::os::unix::fs::lchown(dir, Some(uid), Some(gid))
        .map_err(|e| crate::rootless::explain_chown(e, uid, gid))
        .map_err(io_at(dir))
}

/// One COPY's writing: hard links among its sources (by source inode) are made links again.
struct TreeCopy<'a> {
    tree: &'a SourceTree,
    root: &'a Path,
    opts: &'a CopyOptions,
    stats: &'a mut CopyStats,
    links: &'a mut HashMap<(u64, u64), PathBuf>,
}

impl TreeCopy<'_> {
    fn tree(&mut self, sel: &Selected, target: &Path) -> Result<(), CopyError> {
        let (tree, root) = (self.tree, self.root);
        let src_base = tree.abs(&sel.rel);
        for rel in walk_selected(tree, sel)? {
            let src = tree.abs(&rel);
            let sub = src.strip_prefix(&src_base).unwrap_or(Path::new(""));
            let top = sub.as_os_str().is_empty();
            if !top && self.opts.exclude.is_ignored(&text(sub)) {
                continue;
            }
            // Resolve inside the rootfs so an existing symlinked directory is followed the way
            // the container would, never out of the root.
            let dst = if top {
                target.to_path_buf()
            } else {
                let rel_target = target.strip_prefix(root).unwrap_or(target).join(sub);
                resolve_in_root(root, &rel_target, false).map_err(io_at(target))?
            };
            // The source itself: a top-level symlink given by name is followed, nested ones are
            // copied.
            let meta = if top {
                fs::metadata(&src)
            } else {
                fs::symlink_metadata(&src)
            }
            .map_err(io_at(&src))?;
            self.entry(&rel, &src, &dst, &meta)?;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        rel: &Path,
        src: &Path,
        dst: &Path,
        meta: &fs::Metadata,
    ) -> Result<(), CopyError> {
        let ft = meta.file_type();
        if ft.is_file() && meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = self.links.get(&key) {
                remove_existing(dst)?;
                return fs::hard_link(first, dst).map_err(io_at(dst));
            }
            self.links.insert(key, dst.to_path_buf());
        }
        if ft.is_dir() {
            if !dst.is_dir() {
                remove_existing(dst)?;
                fs::create_dir(dst).map_err(io_at(dst))?;
            }
        } else if ft.is_symlink() {
            remove_existing(dst)?;
            let link = fs::read_link(src).map_err(io_at(src))?;
            std::os::unix::fs::symlink(link, dst).map_err(io_at(dst))?;
        } else if ft.is_file() {
            remove_existing(dst)?;
            copy_file(src, dst, meta.len())?;
            self.stats.files += 1;
            self.stats.bytes += meta.len();
        } else if self.tree.is_context {
            return Err(CopyError::Special {
                rel: rel.to_path_buf(),
            });
        } else {
            // Devices and fifos from a stage are recreated, not read.
            remove_existing(dst)?;
            let kind = nix::sys::stat::SFlag::from_bits_truncate(meta.mode() & libc::S_IFMT);
            let perm = nix::sys::stat::Mode::from_bits_truncate(meta.mode() & 0o7777);
            nix::sys::stat::mknod(dst, kind, perm, meta.rdev())
                .map_err(|e| io_at(dst)(e.into()))?;
        }
        finish_entry(self.tree, src, dst, meta, self.opts)
    }
}

/// Copies a regular file's bytes, keeping its holes (a sparse file stays sparse).
fn copy_file(src: &Path, dst: &Path, size: u64) -> Result<(), CopyError> {
    let mut from = File::open(src).map_err(io_at(src))?;
    let mut to = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dst)
        .map_err(io_at(dst))?;
    copy_sparse(&mut from, &mut to, size).map_err(io_at(dst))?;
    Ok(())
}

/// Owner, mode, xattrs and times of a copied entry, in the order that keeps them all: chown
/// clears file capabilities and set-id bits, so it comes first.
fn finish_entry(
    tree: &SourceTree,
    src: &Path,
    dst: &Path,
    meta: &fs::Metadata,
    opts: &CopyOptions,
) -> Result<(), CopyError> {
    let ft = meta.file_type();
    let (uid, gid) = match opts.chown {
        Some(ids) => ids,
        None if tree.is_context => (0, 0),
        None => (meta.uid(), meta.gid()),
    };
    std::os::unix::fs::lchown(dst, Some(uid), Some(gid))
        .map_err(|e| crate::rootless::explain_chown(e, uid, gid))
        .map_err(io_at(dst))?;
    if !ft.is_symlink() {
        let mode = opts.chmod.unwrap_or(meta.mode() & 0o7777);
        fs::set_permissions(dst, fs::Permissions::from_mode(mode)).map_err(io_at(dst))?;
        let xattrs = kept_xattrs(src).map_err(io_at(src))?;
        set_xattrs(dst, &xattrs).map_err(io_at(dst))?;
    }
    let atime = TimeSpec::new(meta.atime(), meta.atime_nsec());
    let mtime = TimeSpec::new(meta.mtime(), meta.mtime_nsec());
    utimensat(
        nix::fcntl::AT_FDCWD,
        dst,
        &atime,
        &mtime,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(|e| io_at(dst)(e.into()))?;
    Ok(())
}

/// Makes room for a new entry: a file or symlink in the way is replaced; a directory is replaced only
/// by a directory (handled by the caller), as Docker does.
fn remove_existing(dst: &Path) -> Result<(), CopyError> {
    match fs::symlink_metadata(dst) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(dst).map_err(io_at(dst)),
        Ok(_) => fs::remove_file(dst).map_err(io_at(dst)),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, tempfile::TempDir, SourceTree) {
        let ctx = tempfile::tempdir().expect("ctx");
        let root = tempfile::tempdir().expect("root");
        for (p, c) in [
            ("app/main.go", "package main"),
            ("app/go.mod", "module x"),
            ("README", "hi"),
        ] {
            let path = ctx.path().join(p);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, c).expect("write");
        }
        let tree = SourceTree::context(ctx.path(), None).expect("tree");
        (ctx, root, tree)
    }

    fn copy(
        tree: &SourceTree,
        root: &Path,
        srcs: &[&str],
        dest: &str,
        opts: &CopyOptions,
    ) -> Result<CopyStats, CopyError> {
        let srcs: Vec<String> = srcs.iter().map(|s| s.to_string()).collect();
        let sel = tree.select(&srcs)?;
        copy_into(tree, &sel, root, "/work", dest, opts)
    }

    #[test]
    fn directory_copies_its_contents_and_file_to_dir_keeps_name() {
        let (_c, root, tree) = setup();
        copy(
            &tree,
            root.path(),
            &["app"],
            "/src",
            &CopyOptions::default(),
        )
        .expect("copy dir");
        assert!(root.path().join("src/main.go").is_file());
        assert!(!root.path().join("src/app").exists());
        copy(
            &tree,
            root.path(),
            &["README"],
            "docs/",
            &CopyOptions::default(),
        )
        .expect("copy file");
        assert_eq!(
            fs::read_to_string(root.path().join("work/docs/README")).expect("read"),
            "hi"
        );
        copy(
            &tree,
            root.path(),
            &["README"],
            "/renamed",
            &CopyOptions::default(),
        )
        .expect("copy file");
        assert!(root.path().join("renamed").is_file());
    }

    #[test]
    fn several_sources_need_a_directory_destination() {
        let (_c, root, tree) = setup();
        let err = copy(
            &tree,
            root.path(),
            &["README", "app/go.mod"],
            "/x",
            &CopyOptions::default(),
        );
        assert!(matches!(err, Err(CopyError::DestNotDir { .. })));
        copy(
            &tree,
            root.path(),
            &["app/*.go", "README"],
            "/x/",
            &CopyOptions::default(),
        )
        .expect("copy");
        assert!(root.path().join("x/main.go").is_file() && root.path().join("x/README").is_file());
    }

    #[test]
    fn chown_chmod_and_parents() {
        let (_c, root, tree) = setup();
        let opts = CopyOptions {
            chown: Some((1000, 1000)),
            chmod: Some(0o600),
            parents: true,
            ..Default::default()
        };
        copy(&tree, root.path(), &["app/main.go"], "/out/", &opts).expect("copy");
        let meta = fs::metadata(root.path().join("out/app/main.go")).expect("stat");
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (1000, 1000, 0o600)
        );
    }

    #[test]
    fn destination_symlinks_resolve_inside_the_root() {
        let (_c, root, tree) = setup();
        std::os::unix::fs::symlink("/", root.path().join("escape")).expect("symlink");
        copy(
            &tree,
            root.path(),
            &["README"],
            "/escape/../../etc/",
            &CopyOptions::default(),
        )
        .expect("copy");
        assert!(root.path().join("etc/README").is_file());
    }
}
