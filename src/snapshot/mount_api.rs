//! The new mount API (`fsopen`/`fsconfig`/`fsmount`/`move_mount`, Linux 5.2+) through raw syscalls.
//!
//! One `fsconfig` call per option lifts the single-page limit of `mount(2)`'s option string,
//! which is what makes long overlay lower-dir chains (`lowerdir+`, Linux 6.8+) possible.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;

/// A filesystem context being configured (`fsopen`), not yet mounted.
pub struct FsContext {
    fd: OwnedFd,
}

impl FsContext {
    pub fn open(fstype: &str) -> io::Result<Self> {
        let name = cstring(OsStr::new(fstype))?;
        // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
        let fd = unsafe { libc::syscall(libc::SYS_fsopen, name.as_ptr(), FSOPEN_CLOEXEC) };
        Ok(Self { fd: owned_fd(fd)? })
    }

    /// Sets one string option; the error carries the kernel's own message when it left one.
    pub fn set_string(&self, key: &str, value: &OsStr) -> io::Result<()> {
        let key_c = cstring(OsStr::new(key))?;
        let value_c = cstring(value)?;
        // SAFETY: both strings outlive the call; the fd is a live fs context.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                self.fd.as_raw_fd(),
                FSCONFIG_SET_STRING,
                key_c.as_ptr(),
                value_c.as_ptr(),
                0,
            )
        };
        self.check(rc)
    }

    /// Sets one flag option (no value), such as overlay's `volatile`.
    pub fn set_flag(&self, key: &str) -> io::Result<()> {
        let key_c = cstring(OsStr::new(key))?;
        // SAFETY: the key outlives the call; SET_FLAG takes no value; the fd is a live fs context.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                self.fd.as_raw_fd(),
                FSCONFIG_SET_FLAG,
                key_c.as_ptr(),
                std::ptr::null::<libc::c_void>(),
                0,
            )
        };
        self.check(rc)
    }

    /// Creates the superblock and returns a detached mount of it.
    pub fn create_and_mount(&self) -> io::Result<DetachedMount> {
        // SAFETY: CMD_CREATE takes no key or value.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                self.fd.as_raw_fd(),
                FSCONFIG_CMD_CREATE,
                std::ptr::null::<libc::c_char>(),
                std::ptr::null::<libc::c_void>(),
                0,
            )
        };
        self.check(rc)?;
        // SAFETY: plain integer arguments on a live fs context.
        let fd =
            unsafe { libc::syscall(libc::SYS_fsmount, self.fd.as_raw_fd(), FSMOUNT_CLOEXEC, 0) };
        Ok(DetachedMount { fd: owned_fd(fd)? })
    }

    fn check(&self, rc: libc::c_long) -> io::Result<()> {
        if rc >= 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match self.kernel_messages() {
            Some(msg) => Err(io::Error::new(err.kind(), format!("{err}: {msg}"))),
            None => Err(err),
        }
    }

    /// The fs context's message log ("e overlay: ..."), which explains most EINVALs.
    fn kernel_messages(&self) -> Option<String> {
        let mut messages = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            // SAFETY: `buf` is writable for its full length.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast::<libc::c_void>(),
                    buf.len(),
                )
            };
            let Ok(n) = usize::try_from(n) else { break };
            if n == 0 {
                break;
            }
            messages.push(String::from_utf8_lossy(&buf[..n]).trim().to_string());
        }
        (!messages.is_empty()).then(|| messages.join("; "))
    }
}

/// A mount not yet attached anywhere; dropping it unmounts it.
pub struct DetachedMount {
    fd: OwnedFd,
}

impl DetachedMount {
    pub fn attach(self, target: &Path) -> io::Result<()> {
        let empty = cstring(OsStr::new(""))?;
        let target_c = cstring(target.as_os_str())?;
        // SAFETY: both strings outlive the call; the fd is a live detached mount.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_move_mount,
                self.fd.as_raw_fd(),
                empty.as_ptr(),
                libc::AT_FDCWD,
                target_c.as_ptr(),
                MOVE_MOUNT_F_EMPTY_PATH,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

fn owned_fd(rc: libc::c_long) -> io::Result<OwnedFd> {
    let fd = libc::c_int::try_from(rc).map_err(|_| io::Error::other("fd out of range"))?;
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}
