//! After a step ran: its upper dir becomes a layer blob and the new top snapshot, and the cache
//! records what the key now names (and the inputs, for the next miss reason).

use super::super::cache::StepInputs;
use super::super::ctx::BuildCtx;
use super::super::cursor::{Cursor, Executed};
use super::super::error::StepError;
use super::super::event::StepRef;
use crate::image::layer::{Compression, LayerError, LayerOptions, LayerStore};
use crate::store::{CacheRecord, CachedLayer, LayerInfo, LayerRef, RecordKind};

/// Writes the upper dir as a layer blob, then moves it into place as the new top snapshot.
pub async fn commit_layer(
    ctx: &BuildCtx,
    cursor: &mut Cursor,
    executed: Executed,
) -> Result<LayerInfo, StepError> {
    let store = ctx.store.clone();
    // Plain tars: compressing is an export's job (`LayerStore::with_compressed_layers`), off the
    // build's critical path and only for images that leave the store.
    let opts = LayerOptions {
        compression: Compression::None,
        source_date_epoch: ctx.opts.source_date_epoch,
        lowers: cursor.snapshots.iter().rev().cloned().collect(),
    };
    let parents = cursor.diff_ids();
    let (committed, snapshot) = tokio::task::spawn_blocking(move || {
        let committed = store.commit_layer(&executed.upper, &opts)?;
        let snapshot = store.adopt_snapshot(&parents, &committed.diff_id, &executed.upper)?;
        drop(executed.scratch);
        Ok::<_, LayerError>((committed, snapshot))
    })
    .await??;
    let info = committed.info();
    cursor.layers.push(LayerRef {
        descriptor: committed.descriptor,
        diff_id: committed.diff_id,
    });
    cursor.snapshots.push(snapshot);
    Ok(info)
}

/// What a hit on `key` will reuse, and the inputs the next build's miss reason compares with.
pub fn record_result(
    ctx: &BuildCtx,
    step_ref: &StepRef,
    inputs: &StepInputs,
    key: &str,
    text: &str,
    layer: Option<(&LayerInfo, &LayerRef)>,
) -> Result<(), StepError> {
    let record = CacheRecord {
        key: key.to_string(),
        step: step_ref.to_string(),
        text: text.to_string(),
        created: super::now_rfc3339(),
        layer: layer.map(|(info, l)| CachedLayer {
            digest: info.digest.clone(),
            media_type: l.descriptor.media_type().to_string(),
            compressed_size: info.compressed_size,
            diff_id: info.diff_id.clone(),
            size: info.size,
            added: info.added,
            modified: info.modified,
            removed: info.removed,
        }),
    };
    ctx.store.put_json(RecordKind::Cache, key, &record)?;
    ctx.store
        .put_json(RecordKind::Cache, &ctx.lineage(step_ref), inputs)?;
    Ok(())
}
