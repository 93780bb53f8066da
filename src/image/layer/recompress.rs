//! Compressing at export time. Builds commit layers as plain tars (the blob's digest is its
//! diff_id, one hash, no compressor on the critical path, like BuildKit's snapshots); an image
//! leaving the store gets its plain layers compressed here, all layers at once, into new blobs
//! under a new manifest (same config: diff_ids do not change). Layers that are compressed
//! already (imported, pulled) are kept as they are.

use std::io::{BufReader, BufWriter, Write};

use oci_spec::image::{Descriptor, MediaType};

use super::{Compression, Compressor, LayerError, io_err};
use crate::store::{ResolvedImage, Store};

/// The two spellings of an uncompressed layer.
fn is_plain_tar(mt: &MediaType) -> bool {
    matches!(mt, MediaType::ImageLayer)
        || mt.to_string() == "application/vnd.docker.image.rootfs.diff.tar"
}

/// `image` with every plain-tar layer stored `compression`-compressed: the same image if there is
/// nothing to do, else a new (untagged) manifest in the store.
pub(super) fn with_compressed_layers(
    store: &Store,
    image: &ResolvedImage,
    compression: Compression,
) -> Result<ResolvedImage, LayerError> {
    let todo = image
        .manifest
        .layers()
        .iter()
        .any(|l| is_plain_tar(l.media_type()));
    if compression == Compression::None || !todo {
        return Ok(image.clone());
    }
    let layers: Vec<Descriptor> = std::thread::scope(|scope| {
        let workers: Vec<_> = image
            .manifest
            .layers()
            .iter()
            .map(|l| {
                scope.spawn(move || {
                    if is_plain_tar(l.media_type()) {
                        compress_blob(store, l, compression)
                    } else {
                        Ok(l.clone())
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join().unwrap_or_else(|_| {
                    Err(io_err("compress layers of", image.digest().to_string())(
                        std::io::Error::other("a compressor thread panicked"),
                    )
                    .into())
                })
            })
            .collect::<Result<Vec<_>, LayerError>>()
    })?;
    Ok(store.put_manifest(image.manifest.config().clone(), &layers, None)?)
}

pub(crate) fn compress_blob(
    store: &Store,
    layer: &Descriptor,
    compression: Compression,
) -> Result<Descriptor, LayerError> {
    let path = store.blob_path(layer.digest());
    let mut src = BufReader::with_capacity(1 << 20, store.open_blob(layer.digest())?);
    let blob = store.blob_writer()?;
    let mut out = Compressor::new(compression, BufWriter::with_capacity(1 << 20, blob))
        .map_err(io_err("start compressor for", &path))?;
    std::io::copy(&mut src, &mut out).map_err(io_err("compress", &path))?;
    out.flush().map_err(io_err("compress", &path))?;
    let blob = out
        .finish()
        .map_err(io_err("compress", &path))?
        .into_inner()
        .map_err(|e| io_err("compress", &path)(e.into_error()))?;
    let (digest, size) = blob.commit(None)?;
    Ok(Descriptor::new(compression.media_type(), size, digest))
}
