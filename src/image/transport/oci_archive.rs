//! `oci-archive:FILE[:TAG]`: a tar of an OCI layout.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use super::{TransportError, io_err, oci_dir};
use crate::image::layer::{ApplyOptions, WhiteoutMode, apply_layer};
use crate::store::{ResolvedImage, Store};

/// Unpacks the archive into `tmp/` (with the same safe extraction as layers) and imports it.
pub fn import(
    store: &Store,
    file: &Path,
    tag: Option<&str>,
    name: Option<&str>,
) -> Result<ResolvedImage, TransportError> {
    import_platform(store, file, tag, name, None)
}

/// [`import`], picking `platform` (`os/arch`) from a multi-arch index.
pub fn import_platform(
    store: &Store,
    file: &Path,
    tag: Option<&str>,
    name: Option<&str>,
    platform: Option<&str>,
) -> Result<ResolvedImage, TransportError> {
    let tmp = store.tmp_dir("oci-archive-")?;
    let f = File::open(file).map_err(io_err("open", file))?;
    apply_layer(
        std::io::BufReader::new(f),
        tmp.path(),
        &ApplyOptions {
            whiteouts: WhiteoutMode::Apply,
        },
    )?;
    oci_dir::import_platform(store, tmp.path(), tag, name, platform)
}

/// Writes `image` as an OCI layout tar at `file` (atomically: a partial file is never left).
pub fn export(
    store: &Store,
    image: &ResolvedImage,
    ref_name: &str,
    file: &Path,
) -> Result<(), TransportError> {
    let tmp = store.tmp_dir("oci-archive-")?;
    oci_dir::export(store, image, ref_name, tmp.path())?;
    let partial = file.with_extension("partial");
    let out = File::create(&partial).map_err(io_err("create", &partial))?;
    let mut builder = tar::Builder::new(BufWriter::new(out));
    builder.mode(tar::HeaderMode::Deterministic);
    builder.follow_symlinks(false);
    for name in ["oci-layout", "index.json", "blobs"] {
        let src = tmp.path().join(name);
        let res = if src.is_dir() {
            builder.append_dir_all(name, &src)
        } else {
            builder.append_path_with_name(&src, name)
        };
        res.map_err(io_err("archive", &src))?;
    }
    let out = builder.into_inner().map_err(io_err("write", &partial))?;
    let out = out
        .into_inner()
        .map_err(|e| io_err("write", &partial)(e.into_error()))?;
    out.sync_all().map_err(io_err("fsync", &partial))?;
    std::fs::rename(&partial, file).map_err(io_err("rename to", file))?;
    Ok(())
}
