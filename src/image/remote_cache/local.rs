//! `type=local`: the cache as an OCI image layout directory (`index.json` names the cache
//! manifest as `latest`). Blobs are written before the index, each through a temporary file of
//! its own and one rename, so two builds exporting at once leave a layout whose index names a
//! complete manifest, whichever index was renamed last.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use oci_spec::image::Descriptor;

use super::format::{MANIFEST_TYPE, MAX_MANIFEST};
use crate::image::transport::{TransportError, invalid, io_err};
use crate::store::Store;

const TAG: &str = "latest";

fn blob_path(dir: &Path, digest: &str) -> Result<PathBuf, TransportError> {
    let hex = crate::store::digest::parse_sha256(digest)
        .ok_or_else(|| invalid(dir.display(), format!("bad digest {digest:?}")))?;
    Ok(dir.join("blobs/sha256").join(hex.digest()))
}

/// Writes `data` to `dest` through a temporary file in the same directory and a rename.
fn write_atomic(dest: &Path, data: &mut dyn Read) -> Result<(), TransportError> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::with_prefix_in(".partial-", parent)
        .map_err(io_err("create temporary file in", parent))?;
    io::copy(data, &mut tmp).map_err(io_err("write", dest))?;
    tmp.as_file().sync_all().map_err(io_err("sync", dest))?;
    tmp.persist(dest)
        .map_err(|e| io_err("rename to", dest)(e.error))?;
    Ok(())
}

/// Exports `blobs` (from the store) and then the manifest, then points `index.json` at it.
/// Returns how many blobs were written (the others were there already).
pub fn write(
    dir: &Path,
    store: &Store,
    blobs: &[Descriptor],
    manifest: &[u8],
) -> Result<usize, TransportError> {
    let blob_dir = dir.join("blobs/sha256");
    fs::create_dir_all(&blob_dir).map_err(io_err("create", &blob_dir))?;
    let mut written = 0;
    for desc in blobs {
        let dest = blob_path(dir, desc.digest().as_ref())?;
        if fs::metadata(&dest).is_ok_and(|m| m.len() == desc.size()) {
            continue;
        }
        write_atomic(&dest, &mut store.open_blob(desc.digest())?)?;
        written += 1;
    }
    let digest = crate::store::digest::of_bytes(manifest).to_string();
    write_atomic(&blob_path(dir, &digest)?, &mut &manifest[..])?;
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    write_atomic(&dir.join("oci-layout"), &mut &layout[..])?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": MANIFEST_TYPE,
            "digest": digest,
            "size": manifest.len(),
            "artifactType": super::format::ARTIFACT_TYPE,
            "annotations": {"org.opencontainers.image.ref.name": TAG},
        }],
    });
    let bytes = serde_json::to_vec(&index).unwrap_or_default();
    write_atomic(&dir.join("index.json"), &mut &bytes[..])?;
    Ok(written)
}

/// The manifest `index.json` names, read with a size bound and checked against its digest.
pub fn manifest(dir: &Path) -> Result<Vec<u8>, TransportError> {
    let index_path = dir.join("index.json");
    let index = read_bounded(&index_path, MAX_MANIFEST)?;
    let index: serde_json::Value = serde_json::from_slice(&index)
        .map_err(|e| invalid(index_path.display(), format!("invalid JSON: {e}")))?;
    let entry = index
        .pointer("/manifests/0")
        .ok_or_else(|| invalid(index_path.display(), "names no manifest"))?;
    let digest = entry
        .get("digest")
        .and_then(|d| d.as_str())
        .unwrap_or_default();
    let path = blob_path(dir, digest)?;
    let bytes = read_bounded(&path, MAX_MANIFEST)?;
    verify(&bytes, digest, &path)?;
    Ok(bytes)
}

fn verify(bytes: &[u8], digest: &str, path: &Path) -> Result<(), TransportError> {
    let actual = crate::store::digest::of_bytes(bytes).to_string();
    if actual != digest {
        return Err(invalid(
            path.display(),
            format!("hashes to {actual}, expected {digest}"),
        ));
    }
    Ok(())
}

fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, TransportError> {
    let file = File::open(path).map_err(io_err("open", path))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err("read", path))?;
    if bytes.len() as u64 > max {
        return Err(invalid(path.display(), format!("is over {max} bytes")));
    }
    Ok(bytes)
}

/// Copies the blob `desc` from the layout into the store, verifying digest and size.
pub fn fetch_blob(dir: &Path, store: &Store, desc: &Descriptor) -> Result<(), TransportError> {
    if store.has_blob(desc.digest()) {
        return Ok(());
    }
    let path = blob_path(dir, desc.digest().as_ref())?;
    let file = File::open(&path).map_err(io_err("open", &path))?;
    let mut w = store.blob_writer()?;
    io::copy(&mut file.take(desc.size() + 1), &mut w).map_err(io_err("copy", &path))?;
    w.flush().map_err(io_err("copy", &path))?;
    w.commit(Some((desc.digest(), Some(desc.size()))))?;
    Ok(())
}
