//! Images in the store: resolving a name to manifest, config and layers; writing new ones.

use oci_spec::image::{
    Descriptor, Digest, ImageConfiguration, ImageIndex, ImageManifest, ImageManifestBuilder,
    MediaType,
};

use super::Store;
use super::digest::parse_sha256;
use super::error::{Result, StoreError};
use super::platform;
use super::reference::Reference;

/// One layer of an image: its blob and the digest of its uncompressed tar.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRef {
    pub descriptor: Descriptor,
    pub diff_id: Digest,
}

/// An image read back from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedImage {
    /// The manifest's descriptor; its digest is the image's identity (and the FROM cache key).
    pub descriptor: Descriptor,
    pub manifest: ImageManifest,
    pub config: ImageConfiguration,
    pub layers: Vec<LayerRef>,
}

impl ResolvedImage {
    pub fn digest(&self) -> &Digest {
        self.descriptor.digest()
    }

    pub fn diff_ids(&self) -> Vec<Digest> {
        self.layers.iter().map(|l| l.diff_id.clone()).collect()
    }
}

fn json_err(what: &'static str, d: &Digest) -> impl FnOnce(serde_json::Error) -> StoreError {
    let path = d.to_string();
    move |source| StoreError::Json { what, path, source }
}

fn is_index(mt: &MediaType) -> bool {
    matches!(mt, MediaType::ImageIndex)
        || mt.to_string() == "application/vnd.docker.distribution.manifest.list.v2+json"
}

impl Store {
    /// Looks up a name (`busybox`, `me/app:1`, full canonical form) among the tags, or a
    /// manifest digest (`sha256:…`, or `name@sha256:…`) among the blobs.
    pub fn resolve(&self, name: &str) -> Result<Option<ResolvedImage>> {
        if let Some(d) = parse_sha256(name) {
            return self.load_by_digest(&d).map(Some);
        }
        let reference = Reference::parse(name).map_err(|e| StoreError::BadImage {
            name: name.into(),
            message: e.reason.into(),
        })?;
        if let Some(d) = reference.digest.as_deref().and_then(parse_sha256) {
            return self.load_by_digest(&d).map(Some);
        }
        match self.tag(&reference.canonical())? {
            Some(desc) => self.load_image(&desc).map(Some),
            None => Ok(None),
        }
    }

    fn load_by_digest(&self, d: &Digest) -> Result<ResolvedImage> {
        let data = self.read_blob(d)?;
        let probe: serde_json::Value =
            serde_json::from_slice(&data).map_err(json_err("manifest", d))?;
        let mt = probe
            .get("mediaType")
            .and_then(|m| m.as_str())
            .unwrap_or("application/vnd.oci.image.manifest.v1+json");
        let media_type = if probe.get("manifests").is_some() {
            MediaType::ImageIndex
        } else {
            MediaType::from(mt)
        };
        self.load_image(&Descriptor::new(media_type, data.len() as u64, d.clone()))
    }

    /// Reads the manifest `desc` points at (for an index: the host platform's entry), its
    /// config and layer list.
    pub fn load_image(&self, desc: &Descriptor) -> Result<ResolvedImage> {
        let data = self.read_blob(desc.digest())?;
        if is_index(desc.media_type()) {
            let index: ImageIndex =
                serde_json::from_slice(&data).map_err(json_err("image index", desc.digest()))?;
            let (os, arch) = (oci_spec::image::Os::Linux, platform::host_arch());
            let chosen = index
                .manifests()
                .iter()
                .find(|m| platform::matches(m.platform().as_ref(), &os, &arch))
                .ok_or_else(|| StoreError::BadImage {
                    name: desc.digest().to_string(),
                    message: format!("index has no manifest for {os}/{arch}"),
                })?;
            return self.load_image(chosen);
        }
        let manifest: ImageManifest =
            serde_json::from_slice(&data).map_err(json_err("manifest", desc.digest()))?;
        let config_data = self.read_blob(manifest.config().digest())?;
        let config: ImageConfiguration = serde_json::from_slice(&config_data)
            .map_err(json_err("image config", manifest.config().digest()))?;
        let diff_ids = config.rootfs().diff_ids();
        if diff_ids.len() != manifest.layers().len() {
            return Err(StoreError::BadImage {
                name: desc.digest().to_string(),
                message: format!(
                    "{} layers but {} diff_ids",
                    manifest.layers().len(),
                    diff_ids.len()
                ),
            });
        }
        let layers = manifest
            .layers()
            .iter()
            .zip(diff_ids)
            .map(|(d, id)| {
                let diff_id = parse_sha256(id).ok_or_else(|| StoreError::BadImage {
                    name: desc.digest().to_string(),
                    message: format!("bad diff_id {id:?}"),
                })?;
                Ok(LayerRef {
                    descriptor: d.clone(),
                    diff_id,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // Docker v2 manifests keep their own media type, so clients reading the layout agree.
        let media_type = manifest
            .media_type()
            .clone()
            .unwrap_or(MediaType::ImageManifest);
        let descriptor = Descriptor::new(media_type, data.len() as u64, desc.digest().clone());
        Ok(ResolvedImage {
            descriptor,
            manifest,
            config,
            layers,
        })
    }

    /// Stores `config` and a manifest over `layers` (blobs already in the store, in order; the
    /// config's `rootfs.diff_ids` must match them). Tags it as `tag` when given (any reference
    /// spelling; stored canonical).
    pub fn write_image(
        &self,
        config: &ImageConfiguration,
        layers: &[Descriptor],
        tag: Option<&str>,
    ) -> Result<ResolvedImage> {
        if config.rootfs().diff_ids().len() != layers.len() {
            return Err(StoreError::BadImage {
                name: tag.unwrap_or("<new image>").into(),
                message: format!(
                    "{} layers but {} diff_ids",
                    layers.len(),
                    config.rootfs().diff_ids().len()
                ),
            });
        }
        for l in layers {
            if !self.has_blob(l.digest()) {
                return Err(StoreError::MissingBlob(l.digest().to_string()));
            }
        }
        let config_bytes = serde_json::to_vec(config).map_err(|source| StoreError::Json {
            what: "image config",
            path: "<new>".into(),
            source,
        })?;
        let config_desc = self.put_blob(MediaType::ImageConfig, &config_bytes)?;
        self.put_manifest(config_desc, layers, tag)
    }

    /// Writes a manifest over a config blob and layer blobs already in the store; tags it.
    pub fn put_manifest(
        &self,
        config: Descriptor,
        layers: &[Descriptor],
        tag: Option<&str>,
    ) -> Result<ResolvedImage> {
        let config = Descriptor::new(
            MediaType::ImageConfig,
            config.size(),
            config.digest().clone(),
        );
        let layer_descs: Vec<Descriptor> = layers
            .iter()
            .map(|l| Descriptor::new(l.media_type().clone(), l.size(), l.digest().clone()))
            .collect();
        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(config)
            .layers(layer_descs)
            .build()?;
        let manifest_bytes = serde_json::to_vec(&manifest).map_err(|source| StoreError::Json {
            what: "manifest",
            path: "<new>".into(),
            source,
        })?;
        let descriptor = self.put_blob(MediaType::ImageManifest, &manifest_bytes)?;
        if let Some(tag) = tag {
            self.tag_image(tag, &descriptor)?;
        }
        self.load_image(&descriptor)
    }

    /// Tags a manifest under any reference spelling (stored canonical).
    pub fn tag_image(&self, tag: &str, manifest: &Descriptor) -> Result<()> {
        let reference = Reference::parse_tag(tag).map_err(|e| StoreError::BadImage {
            name: tag.into(),
            message: e.reason.into(),
        })?;
        self.set_tag(&reference.canonical(), manifest)
    }
}
