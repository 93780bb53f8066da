//! flock-based locks on files in the store root.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// A held flock; released when dropped (the file is closed).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

fn flock(file: &File, op: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: flock on an fd we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
}

impl FileLock {
    /// Blocks until the lock is held.
    pub fn acquire(path: &Path, mode: LockMode) -> io::Result<FileLock> {
        let file = open(path)?;
        let op = match mode {
            LockMode::Shared => libc::LOCK_SH,
            LockMode::Exclusive => libc::LOCK_EX,
        };
        flock(&file, op)?;
        Ok(FileLock { _file: file })
    }

    /// An exclusive lock if nobody else holds one of any kind, else `None`.
    pub fn try_exclusive(path: &Path) -> io::Result<Option<FileLock>> {
        let file = open(path)?;
        match flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => Ok(Some(FileLock { _file: file })),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Turns an exclusive lock into a shared one (other openers can then join).
    pub fn downgrade(self) -> io::Result<FileLock> {
        flock(&self._file, libc::LOCK_SH)?;
        Ok(self)
    }

    /// Turns this shared lock exclusive for as long as the guard lives, if nobody else holds
    /// the lock; `None` when the store is in use by another opener.
    pub fn try_upgrade(&self) -> io::Result<Option<Upgraded<'_>>> {
        match flock(&self._file, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => Ok(Some(Upgraded { lock: self })),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // Linux drops the old lock before a conversion that fails: take it back.
                flock(&self._file, libc::LOCK_SH)?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

impl FileLock {
    /// Turns this shared lock exclusive, waiting until every other opener has closed the store.
    pub fn upgrade(&self) -> io::Result<Upgraded<'_>> {
        flock(&self._file, libc::LOCK_EX)?;
        Ok(Upgraded { lock: self })
    }
}

/// An exclusive hold on a shared [`FileLock`]; shared again when dropped.
#[derive(Debug)]
pub struct Upgraded<'a> {
    lock: &'a FileLock,
}

impl Drop for Upgraded<'_> {
    fn drop(&mut self) {
        let _ = flock(&self.lock._file, libc::LOCK_SH);
    }
}
