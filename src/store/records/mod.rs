//! JSON records beside the image layout: `cache/<key>.json` and `builds/<id>.json`, and the
//! record types the engine writes and everything above it reads.

mod build;
mod cache;
mod layer;

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Store;
use super::error::{Result, StoreError, io_err};

pub use build::{BuildRecord, LayerDesc, StageRecord, StepRecord};
pub use cache::{CacheRecord, CachedLayer};
pub use layer::LayerInfo;

/// Which record directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Cache,
    Build,
}

impl RecordKind {
    pub(crate) fn dir(self) -> &'static str {
        match self {
            RecordKind::Cache => "cache",
            RecordKind::Build => "builds",
        }
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('.')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

impl Store {
    fn record_path(&self, kind: RecordKind, key: &str) -> Result<PathBuf> {
        if !valid_key(key) {
            return Err(StoreError::BadKey(key.to_string()));
        }
        Ok(self.root.join(kind.dir()).join(format!("{key}.json")))
    }

    /// Writes a record atomically (readers see the old or the new one, never a torn one).
    pub fn put_json<T: Serialize>(&self, kind: RecordKind, key: &str, value: &T) -> Result<()> {
        let path = self.record_path(kind, key)?;
        let data = serde_json::to_vec_pretty(value).map_err(|source| StoreError::Json {
            what: "record",
            path: path.display().to_string(),
            source,
        })?;
        self.write_atomic(&path, &data)
    }

    /// Reads a record; `None` when there is none under that key.
    pub fn get_json<T: DeserializeOwned>(&self, kind: RecordKind, key: &str) -> Result<Option<T>> {
        let path = self.record_path(kind, key)?;
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("read", path)(e).into()),
        };
        serde_json::from_slice(&data)
            .map(Some)
            .map_err(|source| StoreError::Json {
                what: "record",
                path: path.display().to_string(),
                source,
            })
    }

    /// Keys of all records of a kind, sorted.
    pub fn list_json(&self, kind: RecordKind) -> Result<Vec<String>> {
        let dir = self.root.join(kind.dir());
        let mut keys: Vec<String> = std::fs::read_dir(&dir)
            .map_err(io_err("read", &dir))?
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".json")
                    .map(str::to_string)
            })
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Marks a record as just used (its mtime is its last use, for `cache ls` and pruning).
    pub fn touch_json(&self, kind: RecordKind, key: &str) -> Result<()> {
        let path = self.record_path(kind, key)?;
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(std::time::SystemTime::now()))
            .map_err(io_err("touch", path))?;
        Ok(())
    }
}
