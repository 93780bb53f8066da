//! One vertex of a stage: key it, decide (reuse or run), run the executor's work on a miss,
//! commit what it made, and advance the stage's cursor. Executors (`step/`) only describe the
//! work; they never come back here.

mod commit;
mod decide;

use std::time::Instant;

use super::ctx::BuildCtx;
use super::cursor::Cursor;
use super::digest::StepLayer;
use super::error::StepError;
use super::event::{Event, StepRef};
use super::step::{FsWork, Work};
use crate::image::config::History;
use crate::store::{LayerInfo, RecordKind};
use decide::{Decision, Hit};

/// Solves one step the executor described.
pub async fn solve(
    ctx: &BuildCtx,
    cursor: &mut Cursor,
    step_ref: &StepRef,
    line: usize,
    work: Work<'_>,
) -> Result<(), StepError> {
    match work {
        Work::Config { created_by } => {
            config_vertex(ctx, cursor, step_ref, created_by, line).await;
            Ok(())
        }
        Work::Fs(fs) => fs_vertex(ctx, cursor, step_ref, line, *fs).await,
    }
}

/// A step that changes the filesystem: reuse the layer cached under its key, or run the work
/// (which leaves an overlay upper dir) and commit that as a new layer.
async fn fs_vertex(
    ctx: &BuildCtx,
    cursor: &mut Cursor,
    step_ref: &StepRef,
    line: usize,
    work: FsWork<'_>,
) -> Result<(), StepError> {
    let key = work.inputs.key();
    ctx.sink.emit(Event::StepStarted {
        step: step_ref.clone(),
        cache_key: key.clone(),
    });
    let FsWork {
        inputs,
        created_by,
        run,
    } = work;
    let decision =
        decide::decide(ctx, step_ref, &inputs, &key, cursor.rebuilt, cursor.at_base).await;
    let (layer, cached) = match decision {
        Decision::Hit(hit, from) => {
            let info = match hit {
                Some(hit) => Some(reuse(ctx, cursor, *hit).await?),
                None => None,
            };
            ctx.sink.emit(Event::StepCached {
                step: step_ref.clone(),
                layer: info.clone(),
                from,
            });
            // Keep the lineage current so the next miss compares with the latest build.
            if !ctx.opts.dry_run {
                let _ = ctx
                    .store
                    .put_json(RecordKind::Cache, &ctx.lineage(step_ref), &inputs);
            }
            (info, true)
        }
        // The prediction: what a build would run, and why. Keys never depend on what a step
        // made, so the steps after it are keyed exactly as the build will key them.
        Decision::Miss { reason } if ctx.opts.dry_run => {
            ctx.sink.emit(Event::CacheMiss {
                step: step_ref.clone(),
                reason,
            });
            cursor.rebuilt = true;
            (None, false)
        }
        Decision::Miss { reason } => {
            ctx.sink.emit(Event::CacheMiss {
                step: step_ref.clone(),
                reason,
            });
            let started = Instant::now();
            materialize(ctx, cursor).await?;
            let permit = ctx.job().await?;
            let executed = run(cursor.snapshots.clone()).await?;
            let built = if executed.layer {
                Some(commit::commit_layer(ctx, cursor, step_ref, &key, executed).await?)
            } else {
                None
            };
            drop(permit);
            let layer = built.as_ref().map(|(info, p)| (info, p.as_ref()));
            commit::record_result(ctx, step_ref, &inputs, &key, &created_by, layer)?;
            // After the record: the digest it learns must not be overwritten by the empty one.
            let info = built.map(|(info, pending)| {
                ctx.digester.submit(pending);
                info
            });
            cursor.rebuilt = true;
            ctx.sink.emit(Event::StepFinished {
                step: step_ref.clone(),
                layer: info.clone(),
                duration: started.elapsed().as_secs_f64(),
            });
            (info, false)
        }
    };
    cursor.key = key.clone();
    cursor.at_base = false;
    cursor.state.history.push(History {
        created: ctx.opts.created(),
        created_by,
        empty_layer: layer.is_none(),
        comment: Some("stagecraft".into()),
    });
    // The added layer's diff_id, or its placeholder until the build's end knows it.
    let diff_id = layer.and(cursor.layers.last().map(StepLayer::diff_id));
    cursor.push_step(step_ref, line, key, cached, diff_id);
    Ok(())
}

/// Puts a hit's layer on the cursor; a record from before built snapshots needs the chain's
/// digests (waited for) to find or extract its snapshot.
async fn reuse(ctx: &BuildCtx, cursor: &mut Cursor, hit: Hit) -> Result<LayerInfo, StepError> {
    cursor.layers.push(hit.layer);
    match hit.dir {
        _ if hit.lazy || cursor.stale => cursor.stale = true,
        Some(dir) => cursor.snapshots.push(dir),
        // A dry run mounts nothing, so it needs no snapshot (extracting one would write it).
        None if ctx.opts.dry_run => {}
        None => {
            let layers = ctx
                .digester
                .resolve(&cursor.layers)
                .await
                .map_err(StepError::Invalid)?;
            cursor.snapshots = ctx.snapshots(&layers).await?;
        }
    }
    Ok(hit.info)
}

/// Extracts the snapshots of a chain that imported hits left unextracted, now that a step
/// needs its filesystem.
async fn materialize(ctx: &BuildCtx, cursor: &mut Cursor) -> Result<(), StepError> {
    if cursor.stale {
        cursor.snapshots = ctx.lowers(&cursor.layers).await?;
        cursor.stale = false;
    }
    Ok(())
}

/// A step that only changes the image config. Cached when this exact change on this filesystem
/// state was seen before (it never executes anything either way).
async fn config_vertex(
    ctx: &BuildCtx,
    cursor: &mut Cursor,
    step_ref: &StepRef,
    created_by: String,
    line: usize,
) {
    let inputs = super::cache::StepInputs {
        parent: cursor.key.clone(),
        instruction: created_by.clone(),
        ..Default::default()
    };
    let key = inputs.key();
    ctx.sink.emit(Event::StepStarted {
        step: step_ref.clone(),
        cache_key: key.clone(),
    });
    // A config change never rebases on a base image: `at_base` plays no part in its reason.
    let cached = match decide::decide(ctx, step_ref, &inputs, &key, cursor.rebuilt, false).await {
        Decision::Hit(_, from) => {
            ctx.sink.emit(Event::StepCached {
                step: step_ref.clone(),
                layer: None,
                from,
            });
            true
        }
        Decision::Miss { reason } => {
            ctx.sink.emit(Event::CacheMiss {
                step: step_ref.clone(),
                reason,
            });
            // A dry run predicts only: nothing recorded, nothing finished.
            if !ctx.opts.dry_run {
                let _ = commit::record_result(ctx, step_ref, &inputs, &key, &created_by, None);
                ctx.sink.emit(Event::StepFinished {
                    step: step_ref.clone(),
                    layer: None,
                    duration: 0.0,
                });
            }
            false
        }
    };
    cursor.state.history.push(History {
        created: ctx.opts.created(),
        created_by,
        empty_layer: true,
        comment: None,
    });
    cursor.push_step(step_ref, line, key, cached, None);
}
