//! Copying blobs in and out of the store with verification.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use oci_spec::image::Descriptor;
use sha2::{Digest, Sha256};

use super::{TransportError, io_err};
use crate::store::Store;

/// Stores the blob read from `src` under `desc`, verifying digest and size; nothing is stored
/// on a mismatch. Already-present blobs are not read again.
pub fn import_blob(
    store: &Store,
    mut src: impl Read,
    desc: &Descriptor,
) -> Result<(), TransportError> {
    if store.has_blob(desc.digest()) {
        return Ok(());
    }
    let mut w = store.blob_writer()?;
    io::copy(&mut src, &mut w).map_err(io_err("copy blob", desc.digest().to_string()))?;
    w.commit(Some((desc.digest(), Some(desc.size()))))?;
    Ok(())
}

/// Places a copy of a store blob at `dest` and checks that what it leaves there has the blob's
/// digest and size. Never a hard link: a write into the export would corrupt the store. A file
/// already at `dest` is kept only if it is a separate file with the right content.
pub fn export_blob(store: &Store, desc: &Descriptor, dest: &Path) -> Result<(), TransportError> {
    let src = store.blob_path(desc.digest());
    let src_meta = fs::metadata(&src)
        .map_err(|_| crate::store::StoreError::MissingBlob(desc.digest().to_string()))?;
    if let Ok(meta) = fs::symlink_metadata(dest) {
        let shares_inode = meta.dev() == src_meta.dev() && meta.ino() == src_meta.ino();
        if meta.is_file() && !shares_inode && matches(dest, desc).unwrap_or(false) {
            return Ok(());
        }
    }
    let tmp = dest.with_extension("partial");
    let _ = fs::remove_file(&tmp);
    copy_file(&src, &tmp)?;
    if !matches(&tmp, desc).map_err(io_err("read back", &tmp))? {
        let _ = fs::remove_file(&tmp);
        return Err(super::invalid(
            src.display(),
            format!(
                "the store's blob does not match its digest {}; run `stagecraft store check --repair`",
                desc.digest()
            ),
        ));
    }
    // Replaces whatever was there (a wrong file, a link into the store) in one step.
    fs::rename(&tmp, dest).map_err(io_err("rename blob to", dest))?;
    Ok(())
}

/// A reflink where the filesystem can (a copy-on-write clone shares no writes), else a copy.
fn copy_file(src: &Path, dest: &Path) -> Result<(), TransportError> {
    let from = File::open(src).map_err(io_err("open", src))?;
    let to = File::options()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(io_err("create", dest))?;
    // SAFETY: FICLONE takes the source descriptor as its argument; both stay open for the call.
    let cloned = unsafe { libc::ioctl(to.as_raw_fd(), libc::FICLONE, from.as_raw_fd()) } == 0;
    if !cloned {
        io::copy(&mut io::BufReader::new(from), &mut io::BufWriter::new(&to))
            .map_err(io_err("copy blob to", dest))?;
    }
    to.sync_all().map_err(io_err("sync", dest))?;
    Ok(())
}

/// Whether the file at `path` has the size and sha256 digest of `desc`.
fn matches(path: &Path, desc: &Descriptor) -> io::Result<bool> {
    let mut file = File::open(path)?;
    if file.metadata()?.len() != desc.size() {
        return Ok(false);
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()) == desc.digest().digest())
}

/// A writer that hashes what passes through, so a stream copied out of the store can be checked
/// against the digest it should have.
pub(crate) struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: io::Write> Hashing<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// Flushes and fails unless what was written has the digest `want` (`sha256:<hex>`).
    pub(crate) fn finish(mut self, want: &str, what: &Path) -> Result<(), TransportError> {
        self.inner.flush().map_err(io_err("write", what))?;
        let got = format!("sha256:{}", hex::encode(self.hasher.finalize()));
        if got != want {
            return Err(super::invalid(
                what.display(),
                format!(
                    "the store's layer {want} reads as {got}; run `stagecraft store check --repair`"
                ),
            ));
        }
        Ok(())
    }
}

impl<W: io::Write> io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
