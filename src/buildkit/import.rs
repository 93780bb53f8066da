//! The built image comes back: after a build on the daemon, its image (`GET /images/{id}/get`, a
//! docker-archive) goes into the store through the docker-archive transport, so `explain`,
//! `inspect`, `diff`, `shell` and the layer pane read real files and sizes. Layers are kept as
//! plain tars (digest = diff_id), as our engine keeps built layers: nothing is compressed on
//! the way, and a layer the store has already is written once. An image whose config and layers
//! are all in the store (a cached rebuild) is not fetched again: its layer summary is kept next
//! to the miss-reason records.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bollard::Docker;
use futures::StreamExt;
use oci_spec::image::{Descriptor, MediaType};

use crate::image::layer::{Compression, decompress};
use crate::image::transport::{TransportError, docker_archive};
use crate::store::digest::parse_sha256;
use crate::store::{LayerInfo, LayerRef, ResolvedImage, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("fetching {id} from the daemon: {message}")]
    Daemon { id: String, message: String },
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the import task stopped: {0}")]
    Task(String),
}

/// The daemon's image as the store holds it, with what each layer holds.
#[derive(Debug, Clone)]
pub struct Imported {
    pub image: ResolvedImage,
    pub layers: Vec<LayerInfo>,
    /// The config as JSON (history, `empty_layer` marks and Docker's own fields kept).
    pub config: serde_json::Value,
}

/// Brings image `id` (the daemon's `sha256:` config digest) into `store`, tagged `tag` if given.
pub async fn import_image(
    docker: &Docker,
    store: Arc<Store>,
    id: &str,
    tag: Option<String>,
) -> Result<Imported, ImportError> {
    let summary = summary_path(store.root(), id);
    let known = {
        let (store, id, tag, summary) =
            (store.clone(), id.to_string(), tag.clone(), summary.clone());
        blocking(move || Ok(reuse(&store, &id, tag.as_deref(), &summary))).await?
    };
    if let Some(found) = known {
        return Ok(found);
    }
    let tmp = store.tmp_dir("daemon-image-")?;
    let archive = tmp.path().join("image.tar");
    fetch(docker, id, &archive).await?;
    blocking(move || {
        let image = docker_archive::import_as(&store, &archive, tag.as_deref(), Compression::None)?;
        let layers = layer_infos(&store, &image.layers)?;
        save_summary(&summary, &layers);
        let config = config_json(&store, &image)?;
        drop(tmp);
        Ok(Imported {
            image,
            layers,
            config,
        })
    })
    .await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ImportError> + Send + 'static,
) -> Result<T, ImportError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ImportError::Task(e.to_string()))?
}

/// Streams `GET /images/{id}/get` into `path`.
async fn fetch(docker: &Docker, id: &str, path: &Path) -> Result<(), ImportError> {
    let io = |source| ImportError::Io {
        what: "writing",
        path: path.to_path_buf(),
        source,
    };
    let mut out =
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).map_err(io)?);
    let mut stream = docker.export_image(id);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ImportError::Daemon {
            id: id.to_string(),
            message: e.to_string(),
        })?;
        // Chunks are small and the disk is local: writing in place costs less than a hop
        // through the blocking pool per chunk.
        out.write_all(&chunk).map_err(io)?;
    }
    out.flush().map_err(io)
}

/// The image again from what an earlier import left: its config blob, its layer blobs and
/// their summary. `None` when anything is missing.
fn reuse(store: &Store, id: &str, tag: Option<&str>, summary: &Path) -> Option<Imported> {
    let config_digest = parse_sha256(id)?;
    let layers: Vec<LayerInfo> = serde_json::from_slice(&std::fs::read(summary).ok()?).ok()?;
    let mut descs = Vec::new();
    for l in &layers {
        let digest = parse_sha256(&l.digest)?;
        if !store.has_blob(&digest) {
            return None;
        }
        descs.push(Descriptor::new(
            MediaType::ImageLayer,
            l.compressed_size,
            digest,
        ));
    }
    let config_bytes = store.read_blob(&config_digest).ok()?;
    let config = Descriptor::new(
        MediaType::ImageConfig,
        config_bytes.len() as u64,
        config_digest,
    );
    let image = store.put_manifest(config, &descs, tag).ok()?;
    let config = serde_json::from_slice(&config_bytes).ok()?;
    Some(Imported {
        image,
        layers,
        config,
    })
}

fn config_json(store: &Store, image: &ResolvedImage) -> Result<serde_json::Value, ImportError> {
    let digest = image.manifest.config().digest();
    let bytes = store.read_blob(digest)?;
    serde_json::from_slice(&bytes).map_err(|source| {
        ImportError::Store(StoreError::Json {
            what: "image config",
            path: digest.to_string(),
            source,
        })
    })
}

/// Where the layer summary of daemon image `id` is kept.
fn summary_path(root: &Path, id: &str) -> PathBuf {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    let safe: String = hex.chars().filter(char::is_ascii_hexdigit).collect();
    root.join("buildkit")
        .join("images")
        .join(format!("{safe}.json"))
}

/// Best effort: without it the next build of the same image fetches it again.
fn save_summary(path: &Path, layers: &[LayerInfo]) {
    if let (Some(dir), Ok(json)) = (path.parent(), serde_json::to_vec(layers)) {
        let tmp = path.with_extension("tmp");
        let _ = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&tmp, json))
            .and_then(|()| std::fs::rename(&tmp, path));
    }
}

/// Sizes and change counts of each layer, read from the tars: a path present in a lower layer
/// counts as modified, a whiteout as removed, anything else as added.
pub fn layer_infos(store: &Store, layers: &[LayerRef]) -> Result<Vec<LayerInfo>, ImportError> {
    let mut below: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for layer in layers {
        let digest = layer.descriptor.digest();
        let path = store.blob_path(digest);
        let io = |source| ImportError::Io {
            what: "reading",
            path: path.clone(),
            source,
        };
        let mut info = LayerInfo {
            digest: digest.to_string(),
            diff_id: layer.diff_id.to_string(),
            compressed_size: layer.descriptor.size(),
            ..LayerInfo::default()
        };
        let mut counted = CountingReader::new(decompress(store.open_blob(digest)?).map_err(io)?);
        {
            let mut archive = tar::Archive::new(&mut counted);
            for entry in archive.entries().map_err(io)? {
                let entry = entry.map_err(io)?;
                let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                count(&mut info, &mut below, &name);
            }
        }
        // The rest of the stream (the tar's end blocks), so the size is the whole tar's.
        std::io::copy(&mut counted, &mut std::io::sink()).map_err(io)?;
        info.size = counted.read;
        out.push(info);
    }
    Ok(out)
}

fn count(info: &mut LayerInfo, below: &mut HashSet<String>, name: &str) {
    let path = name
        .trim_start_matches("./")
        .trim_end_matches('/')
        .to_string();
    let (dir, base) = path.rsplit_once('/').unwrap_or(("", &path));
    if base == ".wh..wh..opq" || path.is_empty() {
        return;
    }
    if let Some(hidden) = base.strip_prefix(".wh.") {
        info.removed += 1;
        let gone = if dir.is_empty() {
            hidden.to_string()
        } else {
            format!("{dir}/{hidden}")
        };
        below.remove(&gone);
    } else if below.insert(path) {
        info.added += 1;
    } else {
        info.modified += 1;
    }
}

struct CountingReader<R> {
    inner: R,
    read: u64,
}

impl<R> CountingReader<R> {
    fn new(inner: R) -> Self {
        Self { inner, read: 0 }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_added_modified_and_removed_paths() {
        let mut below = HashSet::new();
        let mut first = LayerInfo::default();
        for name in ["./", "etc/", "etc/passwd", "bin/sh"] {
            count(&mut first, &mut below, name);
        }
        assert_eq!((first.added, first.modified, first.removed), (3, 0, 0));
        let mut second = LayerInfo::default();
        for name in [
            "etc/",
            "etc/passwd",
            "etc/.wh.group",
            "bin/.wh.sh",
            "app/",
            "app/.wh..wh..opq",
        ] {
            count(&mut second, &mut below, name);
        }
        assert_eq!((second.added, second.modified, second.removed), (1, 2, 2));
        assert!(!below.contains("bin/sh"));
    }
}
