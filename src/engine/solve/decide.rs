//! The cache decision for a step: reuse what its key names, or run it, and why not.

use std::path::PathBuf;

use oci_spec::image::{Descriptor, MediaType};

use super::super::cache::{StepInputs, miss_reason};
use super::super::ctx::BuildCtx;
use super::super::digest::{Pending, StepLayer, TAR_LAYER};
use super::super::event::StepRef;
use crate::image::remote_cache::plain_layer;
use crate::store::digest::parse_sha256;
use crate::store::{CacheRecord, CachedLayer, LayerInfo, LayerRef, RecordKind};

/// A cached layer: how the stage's chain takes it, how events show it, and its snapshot dir when
/// it is a built snapshot still in the store (none for a record from before built snapshots:
/// its chain's snapshot comes from the blob).
pub struct Hit {
    pub layer: StepLayer,
    pub info: LayerInfo,
    pub dir: Option<PathBuf>,
    /// An imported record's layer: its blob is in the store, its snapshot is made only when a
    /// later step needs the filesystem.
    pub lazy: bool,
}

pub enum Decision {
    /// Reuse the result under the key: its layer, or `None` for a step that made none; and
    /// where it came from when that is not the local store (`registry REF`, `local DIR`).
    Hit(Option<Box<Hit>>, Option<String>),
    /// Execute; `reason` says what changed, in words a person can act on.
    Miss { reason: String },
}

/// Looks the step's key up in the cache (unless `--no-cache` says not to), then in the caches
/// `--cache-from` imported, and on a miss says why against the step's previous inputs (its
/// lineage record, else the imported build's step at the same place).
pub async fn decide(
    ctx: &BuildCtx,
    step_ref: &StepRef,
    inputs: &StepInputs,
    key: &str,
    parent_rebuilt: bool,
    at_base: bool,
) -> Decision {
    let no_cache = ctx.no_cache_for(&step_ref.stage);
    if !no_cache && let Some(hit) = cached_layer(ctx, step_ref, key) {
        return Decision::Hit(hit, None);
    }
    if !no_cache && let Some((hit, from)) = imported_hit(ctx, step_ref, key).await {
        return Decision::Hit(hit, Some(from));
    }
    let prev: Option<StepInputs> = ctx
        .store
        .get_json(RecordKind::Cache, &ctx.lineage(step_ref))
        .ok()
        .flatten()
        .or_else(|| ctx.imported.inputs_for(step_ref));
    Decision::Miss {
        reason: miss_reason(prev.as_ref(), inputs, parent_rebuilt, at_base, no_cache),
    }
}

/// The cached result under `key`, if its record and its snapshot or blob are present:
/// `Some(None)` for a step that made no layer.
fn cached_layer(ctx: &BuildCtx, step_ref: &StepRef, key: &str) -> Option<Option<Box<Hit>>> {
    let record: CacheRecord = ctx.store.get_json(RecordKind::Cache, key).ok().flatten()?;
    // The record's mtime is its last use: `cache ls` shows it, `cache prune` goes by it. A dry
    // run writes nothing, so it leaves the mtime alone.
    let touch = || {
        if !ctx.opts.dry_run {
            let _ = ctx.store.touch_json(RecordKind::Cache, key);
        }
    };
    let Some(l) = record.layer else {
        touch();
        return Some(None);
    };
    if let Some(hit) = record
        .snapshot
        .and_then(|id| built_hit(ctx, step_ref, key, id, &l))
    {
        touch();
        return Some(Some(Box::new(hit)));
    }
    let digest = parse_sha256(&l.digest)?;
    if !ctx.store.has_blob(&digest) {
        return None;
    }
    touch();
    let layer_ref = LayerRef {
        descriptor: Descriptor::new(
            MediaType::from(l.media_type.as_str()),
            l.compressed_size,
            digest,
        ),
        diff_id: parse_sha256(&l.diff_id)?,
    };
    Some(Some(Box::new(Hit {
        layer: StepLayer::Ready(Box::new(layer_ref)),
        info: l.info(),
        dir: None,
        lazy: false,
    })))
}

/// A hit on built snapshot `id` if it is still in the store, digested or not (then queued for
/// the background digester).
fn built_hit(
    ctx: &BuildCtx,
    step_ref: &StepRef,
    key: &str,
    id: String,
    l: &CachedLayer,
) -> Option<Hit> {
    let dir = ctx.store.built_dir(&id);
    if !dir.is_dir() {
        return None;
    }
    let (pending, info) = match ctx.store.built_layer(&id) {
        Some(built) => {
            let info = built.info();
            let pending = Pending::digested(id, key.into(), step_ref.clone(), &built);
            (pending, info)
        }
        None => {
            let counts = (l.added, l.modified, l.removed);
            let info = LayerInfo {
                digest: String::new(),
                diff_id: String::new(),
                ..l.info()
            };
            (Pending::new(id, key.into(), step_ref.clone(), counts), info)
        }
    };
    // A dry run only predicts: the layer's tar would be written by the build that uses it.
    if !ctx.opts.dry_run {
        ctx.digester.submit(pending.clone());
    }
    Some(Hit {
        layer: StepLayer::Built(pending),
        info,
        dir: Some(dir),
        lazy: false,
    })
}

/// The imported record under `key`: its layer blob fetched and verified now (a record that does
/// not check out is refused with a warning, and the step runs), recorded in the local cache so
/// the next build hits locally.
async fn imported_hit(
    ctx: &BuildCtx,
    step_ref: &StepRef,
    key: &str,
) -> Option<(Option<Box<Hit>>, String)> {
    let (cache, record) = ctx.imported.lookup(key)?;
    let from = cache.location.to_string();
    let hit = match &record.layer {
        None => None,
        // A dry run says it would hit, and fetches and writes nothing.
        Some(l) if ctx.opts.dry_run => Some((plain_layer(l)?, l)),
        Some(l) => match cache.fetch_layer(&ctx.store, l).await {
            Ok(layer) => Some((layer, l)),
            Err(e) => {
                let message = format!(
                    "cache record for step {step_ref} from {from} refused: {e}; the step runs"
                );
                super::super::remote::warn(&ctx.sink, message, Some(step_ref.clone()));
                return None;
            }
        },
    };
    let local = hit.as_ref().map(|(_, l)| CachedLayer {
        digest: l.diff_id.clone(),
        media_type: TAR_LAYER.into(),
        compressed_size: l.uncompressed_size,
        diff_id: l.diff_id.clone(),
        size: l.uncompressed_size,
        added: l.added,
        modified: l.modified,
        removed: l.removed,
    });
    let info = local.as_ref().map(CachedLayer::info);
    if ctx.opts.dry_run {
        return Some((
            hit.zip(info)
                .map(|((layer, _), info)| lazy_hit(layer, info)),
            from,
        ));
    }
    let _ = ctx.store.put_json(
        RecordKind::Cache,
        key,
        &CacheRecord {
            key: key.to_string(),
            step: step_ref.to_string(),
            text: record.text.clone(),
            created: crate::store::stamp::now(),
            layer: local,
            snapshot: None,
        },
    );
    let hit = hit
        .zip(info)
        .map(|((layer, _), info)| lazy_hit(layer, info));
    Some((hit, from))
}

fn lazy_hit(layer: LayerRef, info: LayerInfo) -> Box<Hit> {
    Box::new(Hit {
        layer: StepLayer::Ready(Box::new(layer)),
        info,
        dir: None,
        lazy: true,
    })
}
