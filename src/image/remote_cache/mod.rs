//! The build cache shared between machines (`--cache-to` / `--cache-from`): its format
//! ([`format`]), where it lives ([`spec`]: a registry tag or an OCI layout directory), writing it
//! and reading it lazily: [`LoadedCache::load`] reads the manifest and config only, and
//! [`LoadedCache::fetch_layer`] pulls one record's blob when a hit needs it, verified, and stores
//! it as the plain tar a local build would have made (same diff_id, so the same image digest).

pub mod format;
mod local;
pub mod spec;

use std::io::{BufReader, Read, Write};
use std::sync::Arc;

use oci_spec::image::{Descriptor, MediaType};
use serde::{Deserialize, Serialize};

pub use format::{CacheConfig, CacheEntry, CacheLayer};
pub use spec::{CacheLocation, CacheMode, CacheSpec, parse_cache_from, parse_cache_to};

use super::layer::{Compression, decompress};
use super::registry::RegistryOptions;
use super::registry::artifact::Artifact;
use super::transport::{TransportError, invalid, io_err};
use crate::store::digest::parse_sha256;
use crate::store::{LayerRef, RecordKind, Store};

/// Media type of the plain tars builds commit.
const TAR: &str = "application/vnd.oci.image.layer.v1.tar";

enum Reader {
    Registry(Box<Artifact>),
    Local(std::path::PathBuf),
}

/// A cache source read at the start of a build: its records, and how to get their blobs.
pub struct LoadedCache {
    pub location: CacheLocation,
    pub config: CacheConfig,
    manifest: oci_spec::image::ImageManifest,
    reader: Reader,
}

impl LoadedCache {
    /// Reads the manifest and config of the cache at `location` (no layer blob).
    pub async fn load(
        store: &Store,
        location: &CacheLocation,
        opts: &RegistryOptions,
    ) -> Result<LoadedCache, TransportError> {
        let (reader, bytes) = match location {
            CacheLocation::Registry { reference } => {
                let artifact = Artifact::open(reference, opts)?;
                let bytes = artifact.manifest().await?;
                (Reader::Registry(Box::new(artifact)), bytes)
            }
            CacheLocation::Local { dir } => (Reader::Local(dir.clone()), local::manifest(dir)?),
        };
        let manifest = format::parse_manifest(&bytes).map_err(|e| invalid(location, e))?;
        let mut cache = LoadedCache {
            location: location.clone(),
            config: CacheConfig {
                version: format::VERSION,
                records: Vec::new(),
            },
            manifest,
            reader,
        };
        let config_desc = cache.manifest.config().clone();
        cache.fetch_blob(store, &config_desc).await?;
        let config_bytes = store.read_blob(config_desc.digest())?;
        cache.config = format::parse_config(&config_bytes, &cache.manifest)
            .map_err(|e| invalid(location, e))?;
        Ok(cache)
    }

    async fn fetch_blob(&self, store: &Store, desc: &Descriptor) -> Result<(), TransportError> {
        match &self.reader {
            Reader::Registry(artifact) => Ok(artifact.fetch_blob(store, desc).await?),
            Reader::Local(dir) => local::fetch_blob(dir, store, desc),
        }
    }

    /// The record's layer as a plain tar blob in the store: fetched (digest and size checked),
    /// decompressed with its size bounded, and stored only if it hashes to the record's diff_id.
    pub async fn fetch_layer(
        &self,
        store: &Arc<Store>,
        layer: &CacheLayer,
    ) -> Result<LayerRef, TransportError> {
        let location = &self.location;
        let tar = plain_layer(layer).ok_or_else(|| invalid(location, "bad diff_id"))?;
        let diff_id = tar.diff_id.clone();
        let digest = parse_sha256(&layer.digest).ok_or_else(|| invalid(location, "bad digest"))?;
        if store.has_blob(&diff_id) {
            return Ok(tar);
        }
        let blob = Descriptor::new(
            MediaType::from(layer.media_type.as_str()),
            layer.size,
            digest,
        );
        self.fetch_blob(store, &blob).await?;
        if blob.digest() == &diff_id {
            return Ok(tar);
        }
        let (s, bound, want, packed) = (
            store.clone(),
            layer.uncompressed_size,
            tar.clone(),
            blob.clone(),
        );
        tokio::task::spawn_blocking(move || unpack_blob(&s, &packed, &want, bound))
            .await
            .map_err(|e| invalid(location, format!("decompressing a layer: {e}")))??;
        remember_compressed(store, &diff_id, &blob);
        Ok(tar)
    }
}

/// The record's layer as the plain tar a local build stores (digest = diff_id).
pub fn plain_layer(layer: &CacheLayer) -> Option<LayerRef> {
    let diff_id = parse_sha256(&layer.diff_id)?;
    Some(LayerRef {
        descriptor: Descriptor::new(
            MediaType::from(TAR),
            layer.uncompressed_size,
            diff_id.clone(),
        ),
        diff_id,
    })
}

/// Decompresses `blob` into a tar blob that must be `want` (digest and exact size).
fn unpack_blob(
    store: &Store,
    blob: &Descriptor,
    want: &LayerRef,
    bound: u64,
) -> Result<(), TransportError> {
    let path = store.blob_path(blob.digest());
    let file = BufReader::with_capacity(1 << 20, store.open_blob(blob.digest())?);
    let mut tar = decompress(file)
        .map_err(io_err("read", &path))?
        .take(bound + 1);
    let mut w = store.blob_writer()?;
    std::io::copy(&mut tar, &mut w).map_err(io_err("decompress", &path))?;
    w.flush().map_err(io_err("decompress", &path))?;
    w.commit(Some((&want.diff_id, Some(bound))))?;
    Ok(())
}

/// What a plain tar layer was compressed into, so the next export reuses the blob.
#[derive(Serialize, Deserialize)]
struct Compressed {
    digest: String,
    media_type: String,
    size: u64,
}

fn compressed_key(diff_id: &oci_spec::image::Digest, media_type: &str) -> String {
    let kind = media_type.rsplit('.').next().unwrap_or("tar");
    format!("compressed-{kind}-{}", diff_id.digest())
}

fn remember_compressed(store: &Store, diff_id: &oci_spec::image::Digest, blob: &Descriptor) {
    let record = Compressed {
        digest: blob.digest().to_string(),
        media_type: blob.media_type().to_string(),
        size: blob.size(),
    };
    let key = compressed_key(diff_id, &record.media_type);
    let _ = store.put_json(RecordKind::Cache, &key, &record);
}

/// The store's plain tar `layer` compressed with `compression`: a blob made by an earlier
/// export or import when it is still there, else compressed now.
pub fn compressed_layer(
    store: &Store,
    layer: &LayerRef,
    compression: Compression,
) -> Result<Descriptor, TransportError> {
    if compression == Compression::None {
        return Ok(layer.descriptor.clone());
    }
    let media_type = compression.media_type().to_string();
    let key = compressed_key(&layer.diff_id, &media_type);
    if let Ok(Some(c)) = store.get_json::<Compressed>(RecordKind::Cache, &key)
        && let Some(digest) = parse_sha256(&c.digest)
        && store.has_blob(&digest)
    {
        return Ok(Descriptor::new(
            MediaType::from(c.media_type.as_str()),
            c.size,
            digest,
        ));
    }
    let blob = super::layer::compress_blob(store, &layer.descriptor, compression)?;
    remember_compressed(store, &layer.diff_id, &blob);
    Ok(blob)
}

/// Writes a cache: `blobs` (config first, then layers, all in the store) and then its manifest.
/// Returns how many blobs were sent (the destination had the others).
pub async fn write(
    store: &Store,
    location: &CacheLocation,
    blobs: &[Descriptor],
    manifest: Vec<u8>,
    opts: &RegistryOptions,
) -> Result<usize, TransportError> {
    match location {
        CacheLocation::Registry { reference } => Ok(Artifact::open(reference, opts)?
            .push(store, blobs, manifest, format::MANIFEST_TYPE)
            .await?),
        CacheLocation::Local { dir } => local::write(dir, store, blobs, &manifest),
    }
}
