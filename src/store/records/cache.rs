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
    pub layer: Option<CachedLayer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedLayer {
    /// Blob descriptor fields.
    pub digest: String,
    pub media_type: String,
    pub compressed_size: u64,
    pub diff_id: String,
    pub size: u64,
    pub added: u64,
    pub modified: u64,
    pub removed: u64,
}
