//! `cache/<key>.json`: what a step-cache hit reuses.

use serde::{Deserialize, Serialize};

/// What a cache hit reuses: the layer a step produced (none for metadata-only steps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheRecord {
    pub key: String,
    /// `stage/index` and text of the step that made it, for `cache ls`.
    pub step: String,
    pub text: String,
    pub created: String,
    /// The layer; its `digest` and `diff_id` are empty until its tar is made (the snapshot's
    /// `layer.json` knows them first).
    pub layer: Option<CachedLayer>,
    /// The built snapshot (`snapshots/<id>/fs`) a hit mounts directly, digested or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
}

/// A cached step's layer: the same fields a built snapshot's `layer.json` holds.
pub type CachedLayer = super::super::built::BuiltLayer;
