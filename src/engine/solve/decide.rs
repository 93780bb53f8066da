//! The cache decision for a step: reuse what its key names, or run it, and why not.

use oci_spec::image::{Descriptor, MediaType};

use super::super::cache::{StepInputs, miss_reason};
use super::super::ctx::BuildCtx;
use super::super::event::StepRef;
use crate::store::digest::parse_sha256;
use crate::store::{CacheRecord, LayerInfo, LayerRef, RecordKind};

/// A cached layer: how the stage's chain takes it, and how events show it.
pub type CachedLayer = (LayerRef, LayerInfo);

pub enum Decision {
    /// Reuse the result under the key: its layer, or `None` for a step that made none.
    Hit(Option<Box<CachedLayer>>),
    /// Execute; `reason` says what changed, in words a person can act on.
    Miss { reason: String },
}

/// Looks the step's key up in the cache (unless `--no-cache` says not to) and, on a miss, says
/// why against the step's previous inputs (its lineage record).
pub fn decide(
    ctx: &BuildCtx,
    step_ref: &StepRef,
    inputs: &StepInputs,
    key: &str,
    parent_rebuilt: bool,
    at_base: bool,
) -> Decision {
    let no_cache = ctx.no_cache_for(&step_ref.stage);
    if !no_cache && let Some(hit) = cached_layer(ctx, key) {
        return Decision::Hit(hit);
    }
    let prev: Option<StepInputs> = ctx
        .store
        .get_json(RecordKind::Cache, &ctx.lineage(step_ref))
        .ok()
        .flatten();
    Decision::Miss {
        reason: miss_reason(prev.as_ref(), inputs, parent_rebuilt, at_base, no_cache),
    }
}

/// The cached result under `key`, if its record and blob are both present: `Some(None)` for a step
/// that made no layer.
fn cached_layer(ctx: &BuildCtx, key: &str) -> Option<Option<Box<CachedLayer>>> {
    let record: CacheRecord = ctx.store.get_json(RecordKind::Cache, key).ok().flatten()?;
    let Some(l) = record.layer else {
        let _ = ctx.store.touch_json(RecordKind::Cache, key);
        return Some(None);
    };
    let digest = parse_sha256(&l.digest)?;
    if !ctx.store.has_blob(&digest) {
        return None;
    }
    // The record's mtime is its last use: `cache ls` shows it, `cache prune` goes by it.
    let _ = ctx.store.touch_json(RecordKind::Cache, key);
    let layer_ref = LayerRef {
        descriptor: Descriptor::new(
            MediaType::from(l.media_type.as_str()),
            l.compressed_size,
            digest,
        ),
        diff_id: parse_sha256(&l.diff_id)?,
    };
    let info = LayerInfo {
        digest: l.digest,
        diff_id: l.diff_id,
        size: l.size,
        compressed_size: l.compressed_size,
        added: l.added,
        modified: l.modified,
        removed: l.removed,
    };
    Some(Some(Box::new((layer_ref, info))))
}
