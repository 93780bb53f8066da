//! After a step ran: its upper dir becomes the new top snapshot at once (one rename, one stat
//! walk for its size and counts), and the cache records what the key now names (and the inputs,
//! for the next miss reason). The layer's tar and digest are the digester's job, off the
//! critical path.

use std::sync::Arc;

use super::super::cache::StepInputs;
use super::super::ctx::BuildCtx;
use super::super::cursor::{Cursor, Executed};
use super::super::digest::{Pending, StepLayer, TAR_LAYER};
use super::super::error::StepError;
use super::super::event::StepRef;
use crate::image::layer::{WriteOptions, layer_stats};
use crate::store::{CacheRecord, CachedLayer, LayerInfo, RecordKind, built_id};

/// Makes the upper dir the step's snapshot and counts what it holds (no file contents read).
/// The caller queues the returned layer for its digest once the cache record names it.
pub async fn commit_layer(
    ctx: &BuildCtx,
    cursor: &mut Cursor,
    step_ref: &StepRef,
    key: &str,
    executed: Executed,
) -> Result<(LayerInfo, Arc<Pending>), StepError> {
    let store = ctx.store.clone();
    let opts = WriteOptions {
        source_date_epoch: ctx.opts.source_date_epoch,
        lowers: cursor.snapshots.iter().rev().cloned().collect(),
    };
    let id = built_id(key);
    let adopt = id.clone();
    let (size, stats, dir) = tokio::task::spawn_blocking(move || {
        let (size, stats) = layer_stats(&executed.upper, &opts)?;
        let dir = store.adopt_built(&adopt, &executed.upper)?;
        drop(executed.scratch);
        Ok::<_, StepError>((size, stats, dir))
    })
    .await??;
    let counts = (stats.added, stats.modified, stats.removed);
    let pending = Pending::new(id, key.into(), step_ref.clone(), counts);
    cursor.layers.push(StepLayer::Built(pending.clone()));
    cursor.snapshots.push(dir);
    let info = LayerInfo {
        digest: String::new(),
        diff_id: String::new(),
        size,
        compressed_size: size,
        added: counts.0,
        modified: counts.1,
        removed: counts.2,
    };
    Ok((info, pending))
}

/// What a hit on `key` will reuse, and the inputs the next build's miss reason compares with.
/// A built layer's record names its snapshot; the digests arrive later (the digester writes them
/// into the record, and `layer.json` beside the snapshot).
pub fn record_result(
    ctx: &BuildCtx,
    step_ref: &StepRef,
    inputs: &StepInputs,
    key: &str,
    text: &str,
    layer: Option<(&LayerInfo, &Pending)>,
) -> Result<(), StepError> {
    let record = CacheRecord {
        key: key.to_string(),
        step: step_ref.to_string(),
        text: text.to_string(),
        created: crate::store::stamp::now(),
        layer: layer.map(|(info, _)| CachedLayer {
            digest: String::new(),
            media_type: TAR_LAYER.into(),
            compressed_size: info.compressed_size,
            diff_id: String::new(),
            size: info.size,
            added: info.added,
            modified: info.modified,
            removed: info.removed,
        }),
        snapshot: layer.map(|(_, p)| p.id.clone()),
    };
    ctx.store.put_json(RecordKind::Cache, key, &record)?;
    ctx.store
        .put_json(RecordKind::Cache, &ctx.lineage(step_ref), inputs)?;
    Ok(())
}
