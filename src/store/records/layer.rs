//! What the records (and the event stream) say about one layer.

use serde::{Deserialize, Serialize};

/// What a step's layer holds: its digests, sizes and how many paths it added, changed or removed.
/// `digest` and `diff_id` are empty while the layer's tar is not made yet (`layer_digested`
/// events bring them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Digest of the compressed blob (`sha256:…`).
    pub digest: String,
    /// Digest of the uncompressed tar (`sha256:…`).
    pub diff_id: String,
    /// Uncompressed size in bytes.
    pub size: u64,
    pub compressed_size: u64,
    pub added: u64,
    pub modified: u64,
    pub removed: u64,
}
