//! OCI image layout directories (`oci:DIR[:TAG]`).

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex, ImageIndexBuilder, ImageManifest, MediaType, Os};

use super::blobs::{export_blob, import_blob};
use super::{TransportError, invalid, io_err};
use crate::store::platform;
use crate::store::{ResolvedImage, Store};

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

fn blob_path(dir: &Path, d: &Descriptor) -> PathBuf {
    dir.join("blobs")
        .join(d.digest().algorithm().as_ref())
        .join(d.digest().digest())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, TransportError> {
    let data = fs::read(path).map_err(io_err("read", path))?;
    serde_json::from_slice(&data).map_err(|e| invalid(path.display(), format!("invalid JSON: {e}")))
}

fn is_index(d: &Descriptor) -> bool {
    matches!(d.media_type(), MediaType::ImageIndex)
        || d.media_type().to_string() == "application/vnd.docker.distribution.manifest.list.v2+json"
}

fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotations().as_ref()?.get(REF_NAME).map(String::as_str)
}

/// Copies the image `tag` (or the only image) of the layout at `dir` into the store and tags
/// it `name` when given.
pub fn import(
    store: &Store,
    dir: &Path,
    tag: Option<&str>,
    name: Option<&str>,
) -> Result<ResolvedImage, TransportError> {
    import_platform(store, dir, tag, name, None)
}

/// [`import`], picking `platform` (`os/arch`, default linux and the host's arch) from an index.
pub fn import_platform(
    store: &Store,
    dir: &Path,
    tag: Option<&str>,
    name: Option<&str>,
    platform: Option<&str>,
) -> Result<ResolvedImage, TransportError> {
    let index: ImageIndex = read_json(&dir.join("index.json"))?;
    let chosen = match tag {
        Some(t) => index.manifests().iter().find(|d| ref_name(d) == Some(t)),
        None if index.manifests().len() == 1 => index.manifests().first(),
        None => {
            let names: Vec<&str> = index.manifests().iter().filter_map(ref_name).collect();
            return Err(invalid(
                dir.display(),
                format!(
                    "holds several images; name one as oci:DIR:TAG: {}",
                    crate::frontend::brief::list(&names, 10)
                ),
            ));
        }
    }
    .ok_or_else(|| {
        invalid(
            dir.display(),
            format!(
                "no image tagged {:?}",
                crate::frontend::brief::line(tag.unwrap_or(""), 200)
            ),
        )
    })?;
    let mut desc = chosen.clone();
    if is_index(&desc) {
        import_blob(
            store,
            File::open(blob_path(dir, &desc)).map_err(io_err("open", blob_path(dir, &desc)))?,
            &desc,
        )?;
        let inner: ImageIndex = read_json(&blob_path(dir, &desc))?;
        let (os, arch) = platform
            .and_then(platform::parse)
            .unwrap_or((Os::Linux, platform::host_arch()));
        desc = inner
            .manifests()
            .iter()
            .find(|m| platform::matches(m.platform().as_ref(), &os, &arch))
            .cloned()
            .ok_or_else(|| invalid(dir.display(), format!("index has no {os}/{arch} image")))?;
    }
    let manifest_path = blob_path(dir, &desc);
    let manifest: ImageManifest = read_json(&manifest_path)?;
    for d in std::iter::once(manifest.config()).chain(manifest.layers()) {
        let p = blob_path(dir, d);
        import_blob(store, File::open(&p).map_err(io_err("open", &p))?, d)?;
    }
    import_blob(
        store,
        File::open(&manifest_path).map_err(io_err("open", &manifest_path))?,
        &desc,
    )?;
    let manifest_desc =
        Descriptor::new(MediaType::ImageManifest, desc.size(), desc.digest().clone());
    let image = store.load_image(&manifest_desc)?;
    if let Some(name) = name {
        store.tag_image(name, &image.descriptor)?;
    }
    Ok(image)
}

/// Writes `image` into the layout at `dir` (created if needed, other images kept) under the
/// annotation `ref.name = ref_name` (conventionally just the tag, e.g. `latest`).
pub fn export(
    store: &Store,
    image: &ResolvedImage,
    ref_name_value: &str,
    dir: &Path,
) -> Result<(), TransportError> {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).map_err(io_err("create", &blobs))?;
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
        .map_err(io_err("write", dir.join("oci-layout")))?;
    for d in std::iter::once(image.manifest.config())
        .chain(image.manifest.layers())
        .chain(std::iter::once(&image.descriptor))
    {
        export_blob(store, d, &blob_path(dir, d))?;
    }
    let index_path = dir.join("index.json");
    let mut manifests: Vec<Descriptor> = if index_path.exists() {
        let old: ImageIndex = read_json(&index_path)?;
        old.manifests()
            .iter()
            .filter(|d| ref_name(d) != Some(ref_name_value))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let mut d = Descriptor::new(
        image.descriptor.media_type().clone(),
        image.descriptor.size(),
        image.descriptor.digest().clone(),
    );
    d.set_annotations(Some(HashMap::from([(
        REF_NAME.to_string(),
        ref_name_value.to_string(),
    )])));
    manifests.push(d);
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(manifests)
        .build()
        .map_err(crate::store::StoreError::from)?;
    let data =
        serde_json::to_vec(&index).map_err(|e| invalid(index_path.display(), e.to_string()))?;
    let tmp = dir.join("index.json.partial");
    fs::write(&tmp, data).map_err(io_err("write", &tmp))?;
    fs::rename(&tmp, &index_path).map_err(io_err("rename to", &index_path))?;
    Ok(())
}
