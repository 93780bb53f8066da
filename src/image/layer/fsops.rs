//! Thin wrappers over the *at system calls the applier needs. Every path is resolved with
//! openat2(RESOLVE_IN_ROOT) relative to the layer root, and final components are touched only
//! with calls that do not follow symlinks, so nothing can be written outside the root.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

/// `struct open_how` from linux/openat2.h (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

fn cstr(p: &OsStr) -> io::Result<CString> {
    CString::new(p.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))
}

fn check(rc: libc::c_long) -> io::Result<libc::c_long> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn retry<F: FnMut() -> libc::c_long>(mut f: F) -> io::Result<libc::c_long> {
    loop {
        match check(f()) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// openat2 with RESOLVE_IN_ROOT: `path` is resolved as if `root` were `/`; `..` and symlinks
/// (absolute or relative) cannot leave it.
pub fn open_in_root(root: RawFd, path: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
    let rel = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let c = cstr(rel.as_os_str())?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    };
    // The kernel answers EAGAIN when a rename or mount anywhere on the system raced with an
    // in-root resolution and asks the caller to try again; a bounded number of times keeps a
    // hostile renamer from spinning us forever.
    let mut attempts = 0;
    let fd = loop {
        // SAFETY: valid C string, a properly laid out open_how and its size.
        let result = retry(|| unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root,
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        });
        match result {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && attempts < 256 => attempts += 1,
            other => break other?,
        }
    };
    // SAFETY: the kernel returned a new fd we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn open_dir_in_root(root: RawFd, path: &Path) -> io::Result<OwnedFd> {
    open_in_root(root, path, libc::O_RDONLY | libc::O_DIRECTORY)
}

/// Opens (creating missing directories with mode 0755) the directory `path` inside the root.
pub fn mkdir_all_in_root(root: RawFd, path: &Path) -> io::Result<OwnedFd> {
    match open_dir_in_root(root, path) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(e),
    }
    let mut cur = std::path::PathBuf::new();
    let mut fd = open_dir_in_root(root, &cur)?;
    for comp in path.components() {
        let Component::Normal(name) = comp else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "path component is not a plain name",
            ));
        };
        cur.push(name);
        match open_dir_in_root(root, &cur) {
            Ok(next) => fd = next,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                match mkdirat(fd.as_raw_fd(), name, 0o755) {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                    Err(e) => return Err(e),
                }
                fd = open_dir_in_root(root, &cur)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(fd)
}

/// lstat of `name` in `dir`; `None` when it does not exist.
pub fn lstat_at(dir: RawFd, name: &OsStr) -> io::Result<Option<libc::stat>> {
    let c = cstr(name)?;
    // SAFETY: zeroed stat is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers.
    match check(
        unsafe { libc::fstatat(dir, c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) }
            as libc::c_long,
    ) {
        Ok(_) => Ok(Some(st)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

pub fn mkdirat(dir: RawFd, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid C string.
    check(unsafe { libc::mkdirat(dir, c.as_ptr(), mode) } as libc::c_long).map(drop)
}

/// Opens an existing entry without following a final symlink.
pub fn openat(dir: RawFd, name: &OsStr, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: valid C string.
    let fd = retry(|| unsafe {
        libc::openat(
            dir,
            c.as_ptr(),
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            mode,
        )
    } as libc::c_long)?;
    // SAFETY: new fd owned by us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn symlinkat(target: &OsStr, dir: RawFd, name: &OsStr) -> io::Result<()> {
    let (t, n) = (cstr(target)?, cstr(name)?);
    // SAFETY: valid C strings.
    check(unsafe { libc::symlinkat(t.as_ptr(), dir, n.as_ptr()) } as libc::c_long).map(drop)
}

/// A hard link that does not follow a symlink at the source.
pub fn linkat(src_dir: RawFd, src: &OsStr, dir: RawFd, name: &OsStr) -> io::Result<()> {
    let (s, n) = (cstr(src)?, cstr(name)?);
    // SAFETY: valid C strings.
    check(unsafe { libc::linkat(src_dir, s.as_ptr(), dir, n.as_ptr(), 0) } as libc::c_long)
        .map(drop)
}

pub fn mknodat(dir: RawFd, name: &OsStr, mode: u32, dev: libc::dev_t) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid C string.
    check(unsafe { libc::mknodat(dir, c.as_ptr(), mode, dev) } as libc::c_long).map(drop)
}

pub fn lchownat(dir: RawFd, name: &OsStr, uid: u32, gid: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid C string; AT_SYMLINK_NOFOLLOW changes a symlink itself.
    check(
        unsafe { libc::fchownat(dir, c.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) }
            as libc::c_long,
    )
    .map(drop)
}

pub fn fchown(fd: RawFd, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: plain syscall on an fd.
    check(unsafe { libc::fchown(fd, uid, gid) } as libc::c_long).map(drop)
}

pub fn fchmod(fd: RawFd, mode: u32) -> io::Result<()> {
    // SAFETY: plain syscall on an fd.
    check(unsafe { libc::fchmod(fd, mode) } as libc::c_long).map(drop)
}

pub fn fsetxattr(fd: RawFd, name: &[u8], value: &[u8]) -> io::Result<()> {
    let c = cstr(OsStr::from_bytes(name))?;
    // SAFETY: valid pointers and lengths.
    check(
        unsafe { libc::fsetxattr(fd, c.as_ptr(), value.as_ptr().cast(), value.len(), 0) }
            as libc::c_long,
    )
    .map(drop)
}

fn timespec(secs: i64) -> [libc::timespec; 2] {
    let t = libc::timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    [t, t]
}

/// Sets atime and mtime of `name` in `dir` without following a symlink.
pub fn lutimesat(dir: RawFd, name: &OsStr, secs: i64) -> io::Result<()> {
    let c = cstr(name)?;
    let ts = timespec(secs);
    // SAFETY: valid pointers.
    check(
        unsafe { libc::utimensat(dir, c.as_ptr(), ts.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) }
            as libc::c_long,
    )
    .map(drop)
}

pub fn futimes(fd: RawFd, secs: i64) -> io::Result<()> {
    let ts = timespec(secs);
    // SAFETY: valid pointers.
    check(unsafe { libc::futimens(fd, ts.as_ptr()) } as libc::c_long).map(drop)
}

/// Removes `name` in `dir` and, if it is a directory, everything below it, never following
/// symlinks. A missing entry is not an error.
pub fn remove_all_at(dir: RawFd, name: &OsStr) -> io::Result<()> {
    let Some(st) = lstat_at(dir, name)? else {
        return Ok(());
    };
    let c = cstr(name)?;
    if is_dir(&st) {
        let sub = openat(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        clear_dir(sub.as_raw_fd(), |_| false)?;
        // SAFETY: valid C string.
        check(unsafe { libc::unlinkat(dir, c.as_ptr(), libc::AT_REMOVEDIR) } as libc::c_long)
            .map(drop)
    } else {
        // SAFETY: valid C string.
        check(unsafe { libc::unlinkat(dir, c.as_ptr(), 0) } as libc::c_long).map(drop)
    }
}

/// Removes every child of the directory `dir` for which `keep` is false.
pub fn clear_dir(dir: RawFd, keep: impl Fn(&OsStr) -> bool) -> io::Result<()> {
    // The fd names the directory itself, so listing through /proc cannot be redirected.
    let names: Vec<_> = std::fs::read_dir(format!("/proc/self/fd/{dir}"))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()?;
    for name in names {
        if !keep(&name) {
            remove_all_at(dir, &name)?;
        }
    }
    Ok(())
}
