//! An index of each layer tar of an image: every entry with its size and content digest, read
//! straight from the compressed blobs (no snapshot needed), layers read in parallel. Secrets are
//! looked for while the bytes pass, so no file is read twice.

use std::io::Read;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::error::{AnalyzeError, io_err};
use super::packages::buildinfo as golang;
use super::packages::capture::{self as packages, Captured};
use super::secrets::{self, SecretMatch};
use crate::image::layer::sparse::{SparseReader, entry_real_size};
use crate::image::layer::{OPAQUE_WHITEOUT, WHITEOUT_PREFIX, decompress};
use crate::store::{LayerRef, Store};

/// Files up to this size are held in memory and scanned for secrets; larger ones are only hashed.
const SCAN_LIMIT: u64 = 8 << 20;
/// Package databases up to this size are kept for the package readers (an rpm or dpkg status
/// file of a large image is a few MiB).
const DB_LIMIT: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// A tar hard link: no bytes of its own.
    HardLink,
    /// Devices and fifos.
    Other,
    /// `.wh.NAME`: `path` is the deleted NAME.
    Whiteout,
    /// `.wh..wh..opq`: `path` is the directory whose lower contents are hidden.
    Opaque,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerEntry {
    /// Relative to the root, no leading or trailing `/`.
    pub path: String,
    pub kind: EntryKind,
    /// The tar header's size: bytes of a regular file, 0 for everything else.
    pub size: u64,
    /// `sha256:` of a regular file's content (only when indexed with [`IndexOptions::content`]).
    pub digest: Option<String>,
    /// Permission bits (`0o7777`), owner and group from the tar header.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// A symlink's target, or the path a hard link points to.
    pub link: Option<String>,
}

/// How much of each file to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexOptions {
    /// Hash every regular file and scan it for secrets (`explain`); without it only the headers
    /// are read and file bytes are skipped (`inspect`).
    pub content: bool,
}

/// A secret found in one file of one layer.
#[derive(Debug, Clone, Serialize)]
pub struct LayerSecret {
    pub path: String,
    #[serde(flatten)]
    pub found: SecretMatch,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerIndex {
    pub index: usize,
    pub digest: String,
    /// `sha256:` of the uncompressed tar.
    pub diff_id: String,
    pub compressed_size: u64,
    /// The config history entry of this layer (empty_layer entries skipped).
    pub created_by: String,
    /// Sum of the regular files' sizes (dive's layer size).
    pub size: u64,
    /// The build step that added the layer, when a build record tells (`explain` of a build).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<super::provenance::Hop>,
    #[serde(skip)]
    pub entries: Vec<LayerEntry>,
    #[serde(skip)]
    pub secrets: Vec<LayerSecret>,
    /// Package databases and Go build infos this layer wrote, for `packages`.
    #[serde(skip)]
    pub captured: Vec<(String, Arc<Captured>)>,
}

#[cfg(test)]
impl LayerIndex {
    /// A layer of (path, kind, size) entries for tests: files get digest `sha256:SIZE`, mode
    /// 0640 (directories 0755), owner 7:8; symlinks point to `target`.
    pub(crate) fn for_test(index: usize, entries: &[(&str, EntryKind, u64)]) -> Self {
        LayerIndex {
            index,
            digest: String::new(),
            diff_id: String::new(),
            compressed_size: 0,
            created_by: format!("layer {index}"),
            size: entries.iter().map(|e| e.2).sum(),
            step: None,
            entries: entries
                .iter()
                .map(|(p, k, s)| LayerEntry {
                    path: p.to_string(),
                    kind: *k,
                    size: *s,
                    digest: (*k == EntryKind::File).then(|| format!("sha256:{s}")),
                    mode: if *k == EntryKind::Dir { 0o755 } else { 0o640 },
                    uid: 7,
                    gid: 8,
                    link: (*k == EntryKind::Symlink).then(|| "target".to_string()),
                })
                .collect(),
            secrets: Vec::new(),
            captured: Vec::new(),
        }
    }
}

/// The `created_by` of each layer, from an image config's history (entries marked empty_layer
/// have no layer).
pub fn layer_history(config: &serde_json::Value, layers: usize) -> Vec<String> {
    let mut out: Vec<String> = config
        .get("history")
        .and_then(|h| h.as_array())
        .into_iter()
        .flatten()
        .filter(|h| {
            !h.get("empty_layer")
                .and_then(|e| e.as_bool())
                .unwrap_or(false)
        })
        .map(|h| {
            h.get("created_by")
                .and_then(|c| c.as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    out.resize(layers, String::new());
    out
}

/// Indexes every layer of a chain, in parallel, lowest first.
pub fn index_layers(
    store: &Store,
    layers: &[LayerRef],
    config: &serde_json::Value,
) -> Result<Vec<LayerIndex>, AnalyzeError> {
    let mut results: Vec<Option<Result<LayerIndex, AnalyzeError>>> =
        (0..layers.len()).map(|_| None).collect();
    let slots = std::sync::Mutex::new(&mut results);
    index_layers_each(
        store,
        layers,
        config,
        IndexOptions { content: true },
        &|_, _| {},
        &|i, r| {
            if let Ok(mut slots) = slots.lock() {
                slots[i] = Some(r);
            }
        },
    );
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(AnalyzeError::Record("a layer indexer died".into()))))
        .collect()
}

/// Entries read before a layer's first partial report; each next one comes at 4× as many (so
/// the copies a receiver makes stay under a third of the layer).
const FIRST_PARTIAL: usize = 50_000;

/// Indexes the layers on up to one thread per core, calling `done` with each layer's position
/// and result as soon as that layer is read (in any order), and returns when all are done.
/// `partial` sees the entries read so far of a large layer (at 50k, 200k, 800k… entries), for a
/// UI to show something before the layer is done.
pub fn index_layers_each(
    store: &Store,
    layers: &[LayerRef],
    config: &serde_json::Value,
    opts: IndexOptions,
    partial: &(dyn Fn(usize, &[LayerEntry]) + Sync),
    done: &(dyn Fn(usize, Result<LayerIndex, AnalyzeError>) + Sync),
) {
    let history = layer_history(config, layers.len());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.min(layers.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(layer) = layers.get(i) else { break };
                    done(
                        i,
                        index_layer(store, layer, i, &history[i], opts, &|e| partial(i, e)),
                    );
                }
            });
        }
    });
}

/// Strips `./`, `/` and trailing `/` so tar names compare equal however they were written.
fn clean(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn index_layer(
    store: &Store,
    layer: &LayerRef,
    index: usize,
    created_by: &str,
    opts: IndexOptions,
    partial: &dyn Fn(&[LayerEntry]),
) -> Result<LayerIndex, AnalyzeError> {
    let mut next_partial = FIRST_PARTIAL;
    let digest = layer.descriptor.digest();
    let blob_path = store.blob_path(digest);
    let file = store.open_blob(digest)?;
    let reader = decompress(file).map_err(io_err("decompress", &blob_path))?;
    let mut archive = tar::Archive::new(reader);
    let mut entries = Vec::new();
    let mut found = Vec::new();
    let mut captured = Vec::new();
    let mut size = 0;
    // One buffer for every file's bytes: no allocation (and zeroing) per file.
    let mut buf = Vec::new();
    let tar_err = || io_err("read layer tar", &blob_path);
    for item in archive.entries().map_err(tar_err())? {
        let mut item = item.map_err(tar_err())?;
        let raw = item.path().map_err(tar_err())?;
        let path = clean(&raw.to_string_lossy());
        if path.is_empty() {
            continue;
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        let joined = |n: &str| {
            if dir.is_empty() {
                n.to_string()
            } else {
                format!("{dir}/{n}")
            }
        };
        let marker = if name == OPAQUE_WHITEOUT {
            Some((dir.to_string(), EntryKind::Opaque))
        } else {
            name.strip_prefix(WHITEOUT_PREFIX)
                .map(|deleted| (joined(deleted), EntryKind::Whiteout))
        };
        if let Some((path, kind)) = marker {
            entries.push(LayerEntry {
                path,
                kind,
                size: 0,
                digest: None,
                mode: 0,
                uid: 0,
                gid: 0,
                link: None,
            });
            continue;
        }
        let header = item.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                EntryKind::File
            }
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink,
            tar::EntryType::Link => EntryKind::HardLink,
            _ => EntryKind::Other,
        };
        let mut entry = LayerEntry {
            kind,
            size: 0,
            digest: None,
            mode: header.mode().unwrap_or(0) & 0o7777,
            uid: header.uid().unwrap_or(0) as u32,
            gid: header.gid().unwrap_or(0) as u32,
            link: match kind {
                EntryKind::Symlink | EntryKind::HardLink => item
                    .link_name()
                    .map_err(tar_err())?
                    .map(|l| l.to_string_lossy().into_owned()),
                _ => None,
            },
            path,
        };
        if kind == EntryKind::File {
            // A sparse entry is read as the file it stands for: its real size, holes as zeros.
            let sparse = entry_real_size(&mut item).map_err(tar_err())?;
            entry.size = sparse.unwrap_or(item.size());
            let mut data: Box<dyn Read + '_> = match sparse {
                Some(real) => Box::new(SparseReader::new(&mut item, real).map_err(tar_err())?),
                None => Box::new(&mut item),
            };
            size += entry.size;
            let db = packages::wanted(&entry.path) && entry.size <= DB_LIMIT;
            if opts.content {
                let content =
                    read_content(&mut data, &entry.path, entry.size, &mut buf).map_err(tar_err())?;
                entry.digest = Some(content.digest);
                found.extend(content.secrets.into_iter().map(|m| LayerSecret {
                    path: entry.path.clone(),
                    found: m,
                }));
                if let Some(go) = content.go {
                    captured.push((entry.path.clone(), Arc::new(Captured::Go(go))));
                }
            } else if db {
                buf.clear();
                data.read_to_end(&mut buf).map_err(tar_err())?;
            }
            if db && buf.len() as u64 == entry.size {
                captured.push((entry.path.clone(), Arc::new(Captured::Bytes(buf.clone()))));
            }
        }
        entries.push(entry);
        if entries.len() >= next_partial {
            partial(&entries);
            next_partial *= 4;
        }
    }
    Ok(LayerIndex {
        index,
        digest: digest.to_string(),
        diff_id: layer.diff_id.to_string(),
        compressed_size: layer.descriptor.size(),
        created_by: created_by.to_string(),
        size,
        step: None,
        entries,
        secrets: found,
        captured,
    })
}

/// What reading a file's bytes found.
struct Content {
    digest: String,
    secrets: Vec<SecretMatch>,
    go: Option<golang::GoBuild>,
}

/// A file's `sha256:` digest, the secrets in it (files up to [`SCAN_LIMIT`] are scanned) and,
/// for an executable, its Go build info. `buf` keeps the bytes of a scanned file.
fn read_content(
    item: &mut impl Read,
    path: &str,
    len: u64,
    buf: &mut Vec<u8>,
) -> std::io::Result<Content> {
    if len <= SCAN_LIMIT {
        buf.resize(len as usize, 0);
        item.read_exact(buf)?;
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&buf[..])));
        let go = buf
            .starts_with(b"\x7fELF")
            .then(|| memchr::memmem::find(buf, golang::MAGIC))
            .flatten()
            .and_then(|at| golang::parse(&buf[at..]));
        return Ok(Content {
            digest,
            secrets: secrets::scan(path, buf),
            go,
        });
    }
    let mut hasher = Sha256::new();
    let mut go = GoSearch::default();
    buf.resize(1 << 16, 0);
    loop {
        let n = item.read(buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        go.feed(&buf[..n]);
    }
    Ok(Content {
        digest: format!("sha256:{}", hex::encode(hasher.finalize())),
        secrets: Vec::new(),
        go: go.finish(),
    })
}

/// Looks for Go's build info in an executable read in chunks: the magic may straddle two.
#[derive(Default)]
struct GoSearch {
    /// Whether the file is an ELF executable (known after the first chunk).
    elf: Option<bool>,
    tail: Vec<u8>,
    /// From the magic on, up to [`golang::CAPTURE`] bytes.
    found: Option<Vec<u8>>,
}

impl GoSearch {
    fn feed(&mut self, chunk: &[u8]) {
        let elf = *self
            .elf
            .get_or_insert_with(|| chunk.starts_with(b"\x7fELF"));
        if !elf {
            return;
        }
        if let Some(found) = &mut self.found {
            let room = golang::CAPTURE.saturating_sub(found.len());
            found.extend_from_slice(&chunk[..chunk.len().min(room)]);
            return;
        }
        self.tail.extend_from_slice(chunk);
        if let Some(at) = memchr::memmem::find(&self.tail, golang::MAGIC) {
            let end = self.tail.len().min(at + golang::CAPTURE);
            self.found = Some(self.tail[at..end].to_vec());
            self.tail = Vec::new();
            return;
        }
        let keep = golang::MAGIC.len() - 1;
        let cut = self.tail.len().saturating_sub(keep);
        self.tail.drain(..cut);
    }

    fn finish(self) -> Option<golang::GoBuild> {
        golang::parse(&self.found?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_tar_names_and_pairs_history() {
        assert_eq!(clean("./usr//bin/"), "usr/bin");
        assert_eq!(clean("/etc/x"), "etc/x");
        assert_eq!(clean("./"), "");
        let config = serde_json::json!({"history": [
            {"created_by": "base"},
            {"created_by": "ENV A=1", "empty_layer": true},
            {"created_by": "RUN x"}
        ]});
        assert_eq!(layer_history(&config, 3), ["base", "RUN x", ""]);
    }
}
