//! Atomic blob writes: write to `tmp/`, hash while streaming, fsync, verify, rename into place.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use oci_spec::image::Digest;
use tempfile::NamedTempFile;

use super::digest::HashingWriter;
use super::error::{Result, StoreError, io_err};

/// A blob being written. Nothing is visible in `blobs/` until [`BlobWriter::commit`] succeeds;
/// dropping it removes the temporary file.
pub struct BlobWriter {
    out: HashingWriter<BufWriter<File>>,
    tmp: tempfile::TempPath,
    blobs_dir: PathBuf,
    /// File offset up to which writeback has been started.
    kicked: u64,
}

/// Start writeback every this many bytes so the disk works while the blob is still being
/// produced and the final fsync has little left to do.
const WRITEBACK_STEP: u64 = 32 << 20;

impl BlobWriter {
    pub(super) fn new(tmp_dir: &std::path::Path, blobs_dir: PathBuf) -> Result<Self> {
        let named = NamedTempFile::with_prefix_in("blob-", tmp_dir)
            .map_err(io_err("create temporary blob in", tmp_dir))?;
        let (file, tmp) = named.into_parts();
        Ok(Self {
            out: HashingWriter::new(BufWriter::with_capacity(1 << 20, file)),
            tmp,
            blobs_dir,
            kicked: 0,
        })
    }

    /// Bytes written so far.
    pub fn count(&self) -> u64 {
        self.out.count()
    }

    /// Fsyncs, checks the digest (and size) against `expected` when given, and renames the blob
    /// into `blobs/sha256/`. On a mismatch nothing is stored.
    pub fn commit(self, expected: Option<(&Digest, Option<u64>)>) -> Result<(Digest, u64)> {
        let (buf, digest, size) = self.out.finish();
        let file = buf
            .into_inner()
            .map_err(|e| io_err("write blob", self.tmp.to_path_buf())(e.into_error()))?;
        if let Some((want, want_size)) = expected {
            if &digest != want {
                return Err(StoreError::DigestMismatch {
                    expected: want.to_string(),
                    actual: digest.to_string(),
                    size,
                });
            }
            if let Some(want_size) = want_size.filter(|s| *s != size) {
                return Err(StoreError::SizeMismatch {
                    digest: digest.to_string(),
                    expected: want_size,
                    actual: size,
                });
            }
        }
        let dest = self.blobs_dir.join(digest.digest());
        if dest.exists() {
            // Content-addressed: the stored copy is identical; drop ours (the TempPath removes it).
            return Ok((digest, size));
        }
        file.sync_all()
            .map_err(io_err("fsync blob", self.tmp.to_path_buf()))?;
        self.tmp
            .persist(&dest)
            .map_err(|e| io_err("rename blob to", &dest)(e.error))?;
        File::open(&self.blobs_dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("fsync", &self.blobs_dir))?;
        Ok((digest, size))
    }
}

impl BlobWriter {
    fn start_writeback(&mut self) {
        let buffered = self.out.get_mut().buffer().len() as u64;
        let on_disk = self.out.count() - buffered;
        if on_disk - self.kicked < WRITEBACK_STEP {
            return;
        }
        let fd = std::os::fd::AsRawFd::as_raw_fd(self.out.get_mut().get_ref());
        // SAFETY: a hint on an fd we own; failure only loses the overlap.
        unsafe {
            libc::sync_file_range(
                fd,
                self.kicked as libc::off64_t,
                (on_disk - self.kicked) as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            )
        };
        self.kicked = on_disk;
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.start_writeback();
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
