//! The cache's format: an OCI image manifest (artifactType [`ARTIFACT_TYPE`]) whose config blob
//! ([`CONFIG_TYPE`]) lists the step records and whose layers are the records' layer blobs,
//! compressed as an export compresses them. Everything read back is untrusted: [`parse`] checks
//! sizes, digests and that every record's layer is one of the manifest's.

use oci_spec::image::{Descriptor, ImageManifest};
use serde::{Deserialize, Serialize};

use crate::store::digest::parse_sha256;

pub const ARTIFACT_TYPE: &str = "application/vnd.stagecraft.cache.v1";
pub const CONFIG_TYPE: &str = "application/vnd.stagecraft.cache.config.v1+json";
pub const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const VERSION: u32 = 1;

/// Largest manifest and config read from a cache source; a bigger one is refused unread.
pub const MAX_MANIFEST: u64 = 4 << 20;
pub const MAX_CONFIG: u64 = 64 << 20;
const MAX_RECORDS: usize = 200_000;

/// The config blob: every exported step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheConfig {
    pub version: u32,
    pub records: Vec<CacheEntry>,
}

/// One step: its cache key, what it made, and the inputs a miss reason compares with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheEntry {
    /// The step's cache key (`sha256:…`), as the exporting build computed it.
    pub key: String,
    /// `stage/index` and text of the step (for miss reasons on a machine that never built it).
    pub step: String,
    pub text: String,
    /// The layer the step added; none for a step that only changed the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<CacheLayer>,
    /// Digest of the image config after the step.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config_digest: String,
    /// What the key was made of (the engine's step inputs, as JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheLayer {
    /// The blob as stored in the cache (one of the manifest's layers).
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    /// Digest and size of the uncompressed tar.
    pub diff_id: String,
    pub uncompressed_size: u64,
    #[serde(default)]
    pub added: u64,
    #[serde(default)]
    pub modified: u64,
    #[serde(default)]
    pub removed: u64,
}

/// The manifest's JSON for `config` and `layers` (each layer blob once).
pub fn manifest_json(config: &Descriptor, layers: &[Descriptor]) -> Vec<u8> {
    let desc = |d: &Descriptor| {
        serde_json::json!({
            "mediaType": d.media_type().to_string(),
            "digest": d.digest().to_string(),
            "size": d.size(),
        })
    };
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": desc(config),
        "layers": layers.iter().map(desc).collect::<Vec<_>>(),
    });
    serde_json::to_vec(&manifest).unwrap_or_default()
}

/// Reads a manifest and checks it is a stagecraft cache with a bounded config.
pub fn parse_manifest(bytes: &[u8]) -> Result<ImageManifest, String> {
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(format!("manifest is over {MAX_MANIFEST} bytes"));
    }
    let manifest: ImageManifest =
        serde_json::from_slice(bytes).map_err(|e| format!("manifest: {e}"))?;
    if manifest.config().media_type().to_string() != CONFIG_TYPE {
        return Err(format!(
            "not a stagecraft cache (config type {}, want {CONFIG_TYPE})",
            manifest.config().media_type()
        ));
    }
    if manifest.config().size() > MAX_CONFIG {
        return Err(format!("cache config is over {MAX_CONFIG} bytes"));
    }
    Ok(manifest)
}

/// Reads the config and checks every record against the manifest it came with.
pub fn parse_config(bytes: &[u8], manifest: &ImageManifest) -> Result<CacheConfig, String> {
    let config: CacheConfig =
        serde_json::from_slice(bytes).map_err(|e| format!("cache config: {e}"))?;
    if config.version != VERSION {
        return Err(format!(
            "cache format version {} (this stagecraft reads {VERSION})",
            config.version
        ));
    }
    if config.records.len() > MAX_RECORDS {
        return Err(format!("more than {MAX_RECORDS} records"));
    }
    for record in &config.records {
        check_record(record, manifest).map_err(|e| format!("record {}: {e}", record.key))?;
    }
    Ok(config)
}

fn check_record(record: &CacheEntry, manifest: &ImageManifest) -> Result<(), String> {
    if parse_sha256(&record.key).is_none() {
        return Err("the key is not a sha256 digest".into());
    }
    let Some(layer) = &record.layer else {
        return Ok(());
    };
    if parse_sha256(&layer.diff_id).is_none() || parse_sha256(&layer.digest).is_none() {
        return Err("the layer's digests are not sha256 digests".into());
    }
    let listed = manifest.layers().iter().any(|d| {
        d.digest().to_string() == layer.digest
            && d.size() == layer.size
            && d.media_type().to_string() == layer.media_type
    });
    if !listed {
        return Err(format!(
            "layer {} is not one of the manifest's layers",
            layer.digest
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::digest::of_bytes;
    use oci_spec::image::MediaType;

    fn sample() -> (CacheConfig, Vec<Descriptor>) {
        let blob = of_bytes(b"layer");
        let layer = Descriptor::new(MediaType::ImageLayerGzip, 5, blob.clone());
        let config = CacheConfig {
            version: VERSION,
            records: vec![
                CacheEntry {
                    key: of_bytes(b"k1").to_string(),
                    step: "0/1".into(),
                    text: "RUN make".into(),
                    layer: Some(CacheLayer {
                        digest: blob.to_string(),
                        media_type: MediaType::ImageLayerGzip.to_string(),
                        size: 5,
                        diff_id: of_bytes(b"tar").to_string(),
                        uncompressed_size: 3,
                        added: 1,
                        modified: 0,
                        removed: 0,
                    }),
                    config_digest: of_bytes(b"cfg").to_string(),
                    inputs: Some(serde_json::json!({"instruction": "RUN make"})),
                },
                CacheEntry {
                    key: of_bytes(b"k2").to_string(),
                    step: "0/2".into(),
                    text: "ENV A=1".into(),
                    layer: None,
                    config_digest: String::new(),
                    inputs: None,
                },
            ],
        };
        (config, vec![layer])
    }

    #[test]
    fn round_trip() {
        let (config, layers) = sample();
        let bytes = serde_json::to_vec(&config).expect("json");
        let config_desc = Descriptor::new(
            MediaType::Other(CONFIG_TYPE.into()),
            bytes.len() as u64,
            of_bytes(&bytes),
        );
        let manifest_bytes = manifest_json(&config_desc, &layers);
        let text = String::from_utf8_lossy(&manifest_bytes);
        assert!(text.contains(ARTIFACT_TYPE), "{text}");
        let manifest = parse_manifest(&manifest_bytes).expect("manifest");
        assert_eq!(parse_config(&bytes, &manifest).expect("config"), config);
    }

    #[test]
    fn refuses_what_does_not_add_up() {
        let (mut config, layers) = sample();
        let config_desc = Descriptor::new(MediaType::Other(CONFIG_TYPE.into()), 1, of_bytes(b""));
        let manifest = parse_manifest(&manifest_json(&config_desc, &layers)).expect("manifest");
        if let Some(l) = config.records[0].layer.as_mut() {
            l.size = 6;
        }
        let bytes = serde_json::to_vec(&config).expect("json");
        let err = parse_config(&bytes, &manifest).expect_err("size differs");
        assert!(err.contains("not one of the manifest's layers"), "{err}");
        config.records[0].key = "../../etc".into();
        let bytes = serde_json::to_vec(&config).expect("json");
        assert!(parse_config(&bytes, &manifest).is_err());
        let image = Descriptor::new(MediaType::ImageConfig, 1, of_bytes(b""));
        let err = parse_manifest(&manifest_json(&image, &layers)).expect_err("image");
        assert!(err.contains("not a stagecraft cache"), "{err}");
        assert!(parse_manifest(&manifest_json(&config_desc, &layers)[..40]).is_err());
    }
}
