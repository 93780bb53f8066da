//! `builds/<id>.json`: what a build did, per stage and step, so `shell`, `diff`, `explain` and
//! the TUI can open any step's state after the build (and after a failed one).

use std::path::PathBuf;

use oci_spec::image::{Descriptor, MediaType};
use serde::{Deserialize, Serialize};

use super::RecordKind;
use crate::frontend::BuildPlan;
use crate::store::digest::parse_sha256;
use crate::store::error::{Result, StoreError};
use crate::store::{LayerRef, Store};

/// The outcome of a build, also kept as `builds/<id>.json` for `shell`, `diff` and `explain`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildRecord {
    pub id: String,
    pub created: String,
    pub context: PathBuf,
    pub dockerfile: PathBuf,
    pub target: String,
    pub plan: BuildPlan,
    /// Manifest digest of the target image, when the build succeeded.
    pub image: Option<String>,
    pub error: Option<String>,
    pub stages: Vec<StageRecord>,
    /// `--builder docker`: the daemon's image id (`image` is the copy imported into the store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_image: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageRecord {
    pub index: usize,
    pub label: String,
    /// Manifest digest of the stage's image (every built stage gets one).
    pub image: Option<String>,
    pub steps: Vec<StepRecord>,
    /// When a step of this stage failed: that step, with the layers and config before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<StepRecord>,
}

/// One step's result: the layers of the stage after it (so `shell builder/3` can rebuild the view).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub index: usize,
    pub text: String,
    pub line: usize,
    pub cache_key: String,
    pub cached: bool,
    /// Layer this step added, if any (`sha256:` diff_id).
    pub diff_id: Option<String>,
    /// Layer descriptors of the stage after this step, lowest first.
    pub layers: Vec<LayerDesc>,
    /// Digest of the image config after this step: a blob in the store ([`StepRecord::config`]
    /// reads it). A digest, not the JSON, keeps the record linear in the number of steps.
    #[serde(default)]
    pub config_digest: String,
    /// The config's bytes until the build's end stores them (with the record).
    #[serde(skip)]
    pub pending_config: Option<std::sync::Arc<[u8]>>,
}

impl StepRecord {
    /// The image config after this step.
    pub fn config(&self, store: &Store) -> Result<serde_json::Value> {
        let bytes = match &self.pending_config {
            Some(b) => b.to_vec(),
            None => {
                let digest = parse_sha256(&self.config_digest).ok_or_else(|| {
                    StoreError::NoConfigDigest {
                        index: self.index,
                        text: self.text.clone(),
                    }
                })?;
                store.read_blob(&digest)?
            }
        };
        serde_json::from_slice(&bytes).map_err(|source| StoreError::Json {
            what: "image config",
            path: self.config_digest.clone(),
            source,
        })
    }

    /// Stores the config blob this record names (done once, when the build record is written).
    pub fn store_config(&self, store: &Store) -> Result<()> {
        if let Some(bytes) = &self.pending_config {
            store.put_blob(oci_spec::image::MediaType::ImageConfig, bytes)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerDesc {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub diff_id: String,
}

impl LayerDesc {
    pub fn from_ref(l: &LayerRef) -> Self {
        Self {
            digest: l.descriptor.digest().to_string(),
            media_type: l.descriptor.media_type().to_string(),
            size: l.descriptor.size(),
            diff_id: l.diff_id.to_string(),
        }
    }

    /// The recorded descriptor as the store's `LayerRef`.
    pub fn to_ref(&self) -> Result<LayerRef> {
        let bad = || StoreError::BadLayerDigest(self.digest.clone());
        Ok(LayerRef {
            descriptor: Descriptor::new(
                MediaType::from(self.media_type.as_str()),
                self.size,
                parse_sha256(&self.digest).ok_or_else(bad)?,
            ),
            diff_id: parse_sha256(&self.diff_id).ok_or_else(bad)?,
        })
    }
}

impl BuildRecord {
    /// A stage by label, or by index written as a number.
    pub fn stage(&self, label: &str) -> Option<&StageRecord> {
        self.stages
            .iter()
            .find(|s| s.label == label || s.index.to_string() == label)
    }

    /// The stage whose step failed: the target's if it failed, else the first one.
    pub fn failed_stage(&self) -> Option<&StageRecord> {
        let failed = || self.stages.iter().filter(|s| s.failed_step.is_some());
        failed()
            .find(|s| s.label == self.target)
            .or_else(|| failed().next())
    }
}

impl Store {
    /// The record of the newest build, if any build was recorded.
    pub fn last_build(&self) -> Result<Option<BuildRecord>> {
        self.get_json(RecordKind::Build, "last")
    }

    /// Writes a build's record under its id and as the last build.
    pub fn put_build(&self, record: &BuildRecord) -> Result<()> {
        self.put_json(RecordKind::Build, &record.id, record)?;
        self.put_json(RecordKind::Build, "last", record)
    }
}
