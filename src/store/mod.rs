//! The on-disk content store: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`)
//! that skopeo and umoci read directly, plus `snapshots/`, `cache/`, `builds/`, `tmp/` and `lock`.
//!
//! Every process holds a shared flock on `lock` for as long as its [`Store`] lives; the first
//! opener with nobody else around holds it exclusively for a moment to empty `tmp/`. Changes to
//! `index.json` are serialized with an exclusive flock on `index.lock`.

mod blob;
mod built;
mod check;
pub mod digest;
mod error;
mod failed;
mod gc;
mod images;
pub mod ioerr;
mod lock;
pub mod platform;
mod prune;
mod records;
pub mod reference;
mod snapshot;
pub mod stamp;
mod tags;

use std::fs::{self, File};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, Digest, MediaType};

pub use blob::BlobWriter;
pub use built::{BuiltLayer, built_id};
pub use check::{CheckReport, Problem};
pub use error::{Result, StoreError};
pub use failed::{failed_snapshot_name, valid_failed_name};
pub use gc::{CacheEntry, DiskUsage, GcOptions, GcReport};
pub use images::{LayerRef, ResolvedImage};
pub use lock::{FileLock, LockMode};
pub use prune::PruneReport;
pub use records::{
    BuildRecord, CacheRecord, CachedLayer, LayerDesc, LayerInfo, RecordKind, StageRecord,
    StepRecord,
};
pub use snapshot::chain_ids;

use error::io_err;

const LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    _lock: FileLock,
    /// Chains being extracted by this process: stages on one base wait for one extraction
    /// instead of each unpacking the same layers.
    extracting:
        std::sync::Mutex<std::collections::HashMap<Digest, std::sync::Arc<std::sync::Mutex<()>>>>,
}

impl Store {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: &Path) -> Result<Store> {
        for dir in ["blobs/sha256", "snapshots", "cache", "builds", "tmp"] {
            let p = root.join(dir);
            fs::create_dir_all(&p).map_err(io_err("create directory", &p))?;
        }
        let lock_path = root.join("lock");
        let lock = match FileLock::try_exclusive(&lock_path).map_err(io_err("lock", &lock_path))? {
            Some(excl) => {
                // Nobody else is using the store: leftovers in tmp/ are from crashed processes.
                let tmp = root.join("tmp");
                for entry in fs::read_dir(&tmp).map_err(io_err("read", &tmp))?.flatten() {
                    let _ = remove_any(&entry.path());
                }
                excl.downgrade().map_err(io_err("lock", &lock_path))?
            }
            None => FileLock::acquire(&lock_path, LockMode::Shared)
                .map_err(io_err("lock", &lock_path))?,
        };
        let store = Store {
            root: root.to_path_buf(),
            _lock: lock,
            extracting: Default::default(),
        };
        let layout = root.join("oci-layout");
        if !layout.exists() {
            store.write_atomic(&layout, LAYOUT.as_bytes())?;
        }
        let index = root.join("index.json");
        if !index.exists() {
            let _guard = store.index_lock()?;
            if !index.exists() {
                store.write_atomic(&index, br#"{"schemaVersion":2,"manifests":[]}"#)?;
            }
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A fresh directory under `tmp/` (same filesystem as the store, so its contents can be
    /// renamed into `snapshots/`); removed when dropped.
    pub fn tmp_dir(&self, prefix: &str) -> Result<tempfile::TempDir> {
        let tmp = self.root.join("tmp");
        Ok(tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&tmp)
            .map_err(io_err("create directory in", tmp))?)
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().as_ref())
            .join(digest.digest())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    pub fn blob_writer(&self) -> Result<BlobWriter> {
        BlobWriter::new(&self.root.join("tmp"), self.root.join("blobs/sha256"))
    }

    /// Stores `data` and returns its descriptor.
    pub fn put_blob(&self, media_type: MediaType, data: &[u8]) -> Result<Descriptor> {
        let mut w = self.blob_writer()?;
        w.write_all(data)
            .map_err(io_err("write blob in", self.root.join("tmp")))?;
        let (digest, size) = w.commit(None)?;
        Ok(Descriptor::new(media_type, size, digest))
    }

    pub fn open_blob(&self, digest: &Digest) -> Result<File> {
        let path = self.blob_path(digest);
        File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::MissingBlob(digest.to_string()),
            _ => io_err("open", &path)(e).into(),
        })
    }

    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let mut data = Vec::new();
        BufReader::new(self.open_blob(digest)?)
            .read_to_end(&mut data)
            .map_err(io_err("read", self.blob_path(digest)))?;
        Ok(data)
    }

    /// Writes `data` to `path` via a temporary file in `tmp/`, fsync and rename.
    pub(crate) fn write_atomic(&self, path: &Path, data: &[u8]) -> Result<()> {
        let tmp = self.root.join("tmp");
        let mut f =
            tempfile::NamedTempFile::new_in(&tmp).map_err(io_err("create file in", &tmp))?;
        f.write_all(data)
            .map_err(io_err("write", f.path().to_path_buf()))?;
        f.as_file()
            .sync_all()
            .map_err(io_err("fsync", f.path().to_path_buf()))?;
        f.persist(path)
            .map_err(|e| io_err("rename to", path)(e.error))?;
        Ok(())
    }

    fn index_lock(&self) -> Result<FileLock> {
        let path = self.root.join("index.lock");
        Ok(FileLock::acquire(&path, LockMode::Exclusive).map_err(io_err("lock", path))?)
    }
}

/// Removes a file, symlink or directory tree.
pub(crate) fn remove_any(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
