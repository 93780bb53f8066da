//! One vertex of a stage: key it, decide (reuse or run), run the executor's work on a miss,
//! commit what it made, and advance the stage's cursor. Executors (`step/`) only describe the
//! work; they never come back here.

mod commit;
mod decide;

use std::time::Instant;

use super::ctx::BuildCtx;
use super::cursor::Cursor;
use super::error::StepError;
use super::event::{Event, StepRef};
use super::step::{FsWork, Work};
use crate::image::config::History;
use crate::store::RecordKind;
use decide::Decision;

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
            config_vertex(ctx, cursor, step_ref, created_by, line);
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
    let decision = decide::decide(ctx, step_ref, &inputs, &key, cursor.rebuilt, cursor.at_base);
    let (layer, cached) = match decision {
        Decision::Hit(hit) => {
            let info = hit.as_ref().map(|h| h.1.clone());
            if let Some((layer_ref, _)) = hit.map(|h| *h) {
                cursor.layers.push(layer_ref);
                cursor.snapshots = ctx.snapshots(&cursor.layers).await?;
            }
            ctx.sink.emit(Event::StepCached {
                step: step_ref.clone(),
                layer: info.clone(),
            });
            // Keep the lineage current so the next miss compares with the latest build.
            let _ = ctx
                .store
                .put_json(RecordKind::Cache, &ctx.lineage(step_ref), &inputs);
            (info, true)
        }
        Decision::Miss { reason } => {
            ctx.sink.emit(Event::CacheMiss {
                step: step_ref.clone(),
                reason,
            });
            let started = Instant::now();
            let permit = ctx.job().await?;
            let executed = run(cursor.snapshots.clone()).await?;
            let info = if executed.layer {
                Some(commit::commit_layer(ctx, cursor, executed).await?)
            } else {
                None
            };
            drop(permit);
            let layer = info.as_ref().zip(cursor.layers.last());
            commit::record_result(ctx, step_ref, &inputs, &key, &created_by, layer)?;
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
    cursor.push_step(step_ref, line, key, cached, layer.map(|l| l.diff_id));
    Ok(())
}

/// A step that only changes the image config. Cached when this exact change on this filesystem
/// state was seen before (it never executes anything either way).
fn config_vertex(
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
    let cached = match decide::decide(ctx, step_ref, &inputs, &key, cursor.rebuilt, false) {
        Decision::Hit(_) => {
            ctx.sink.emit(Event::StepCached {
                step: step_ref.clone(),
                layer: None,
            });
            true
        }
        Decision::Miss { reason } => {
            ctx.sink.emit(Event::CacheMiss {
                step: step_ref.clone(),
                reason,
            });
            let _ = commit::record_result(ctx, step_ref, &inputs, &key, &created_by, None);
            ctx.sink.emit(Event::StepFinished {
                step: step_ref.clone(),
                layer: None,
                duration: 0.0,
            });
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

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
