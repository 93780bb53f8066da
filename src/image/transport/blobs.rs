//! Copying blobs in and out of the store with verification.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use oci_spec::image::Descriptor;

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

/// Places a store blob at `dest` (a hard link when possible, else a copy).
pub fn export_blob(store: &Store, desc: &Descriptor, dest: &Path) -> Result<(), TransportError> {
    if dest.exists() {
        return Ok(());
    }
    let src = store.blob_path(desc.digest());
    if !src.is_file() {
        return Err(crate::store::StoreError::MissingBlob(desc.digest().to_string()).into());
    }
    if fs::hard_link(&src, dest).is_err() {
        let tmp = dest.with_extension("partial");
        fs::copy(&src, &tmp).map_err(io_err("copy blob to", &tmp))?;
        fs::rename(&tmp, dest).map_err(io_err("rename blob to", dest))?;
    }
    Ok(())
}
