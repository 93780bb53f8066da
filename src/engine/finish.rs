//! The end of a build: every built stage becomes an image in the store (so `shell` and `diff` can
//! open it later), the target is tagged, the build record is written, and `build_finished` sent.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use oci_spec::image::{Descriptor, MediaType};

use super::ctx::BuildCtx;
use super::cursor::StageOutput;
use super::error::{EngineError, StageError};
use super::event::{Event, Totals};
use super::solve::now_rfc3339;
use super::stage::StageFailure;
use crate::store::{BuildRecord, ResolvedImage, StageRecord, Store};

pub struct BuildOutcome {
    pub record: BuildRecord,
    pub totals: Totals,
}

/// Writes a stage's image (config blob + manifest) into the store, with `labels` added to its
/// config (`--label`, the target's only); tags it when asked.
pub fn write_stage_image(
    store: &Store,
    out: &StageOutput,
    tag: Option<&str>,
    created: &str,
    labels: &BTreeMap<String, String>,
) -> Result<ResolvedImage, EngineError> {
    let diff_ids: Vec<String> = out.layers.iter().map(|l| l.diff_id.to_string()).collect();
    let config = if labels.is_empty() {
        out.state.to_json(&diff_ids, created)
    } else {
        let mut state = out.state.clone();
        state.labels.extend(labels.clone());
        state.to_json(&diff_ids, created)
    };
    let bytes = serde_json::to_vec(&config).map_err(EngineError::ImageConfig)?;
    let config_desc = store.put_blob(MediaType::ImageConfig, &bytes)?;
    let layers: Vec<Descriptor> = out.layers.iter().map(|l| l.descriptor.clone()).collect();
    Ok(store.put_manifest(config_desc, &layers, tag)?)
}

/// The stage results become images and the build record; the build's error is the target's,
/// else the first failed stage's.
pub async fn finish(
    ctx: &Arc<BuildCtx>,
    build_id: String,
    results: BTreeMap<usize, Result<Arc<StageOutput>, Box<StageFailure>>>,
    started: Instant,
) -> Result<BuildOutcome, EngineError> {
    let created = ctx.opts.created();
    let mut totals = Totals::default();
    let mut stages = Vec::new();
    let mut error: Option<Arc<StageError>> = None;
    let mut image = None;
    for (&index, result) in &results {
        let label = ctx
            .plan
            .stages
            .get(index)
            .map(|s| s.label())
            .unwrap_or_default();
        let record = match result {
            Ok(out) => {
                let (record, digest) = stage_image(ctx, index, label, out, &created, &mut totals)?;
                if index == ctx.plan.target_index {
                    image = Some(digest);
                }
                record
            }
            Err(failure) => {
                totals.failed += 1;
                if error.is_none() || index == ctx.plan.target_index {
                    error = Some(failure.error.clone());
                }
                StageRecord {
                    index,
                    label,
                    image: None,
                    steps: failure.done.clone(),
                    failed_step: failure.failed_step.clone(),
                }
            }
        };
        stages.push(record);
    }
    let cancelled = ctx.cancel.is_cancelled();
    if cancelled {
        image = None;
    }
    let message = match &error {
        _ if cancelled => Some(EngineError::Cancelled.to_string()),
        e => e.as_ref().map(|e| e.to_string()),
    };
    totals.duration = started.elapsed().as_secs_f64();
    for stage in &stages {
        for step in stage.steps.iter().chain(&stage.failed_step) {
            step.store_config(&ctx.store)?;
        }
    }
    let record = BuildRecord {
        id: build_id,
        created: now_rfc3339(),
        context: ctx.opts.context.clone(),
        dockerfile: ctx.opts.dockerfile.clone(),
        target: ctx.plan.target.clone(),
        plan: ctx.plan.clone(),
        image: image.clone(),
        error: message.clone(),
        stages,
    };
    ctx.store.put_build(&record)?;
    ctx.sink.emit(Event::BuildFinished {
        image: image.clone(),
        totals: totals.clone(),
        error: message,
    });
    match error {
        _ if cancelled => Err(EngineError::Cancelled),
        Some(e) if image.is_none() => Err(EngineError::Failed(e)),
        _ => Ok(BuildOutcome { record, totals }),
    }
}

/// A built stage's image in the store (the target's tagged and labelled), its record and digest.
fn stage_image(
    ctx: &BuildCtx,
    index: usize,
    label: String,
    out: &StageOutput,
    created: &str,
    totals: &mut Totals,
) -> Result<(StageRecord, String), EngineError> {
    totals.steps += out.steps.len();
    totals.cached += out.steps.iter().filter(|s| s.cached).count();
    totals.executed += out.steps.iter().filter(|s| !s.cached).count();
    let is_target = index == ctx.plan.target_index;
    let no_labels = BTreeMap::new();
    let (first_tag, labels) = if is_target {
        (ctx.opts.tags.first().map(String::as_str), &ctx.opts.labels)
    } else {
        (None, &no_labels)
    };
    let written = write_stage_image(&ctx.store, out, first_tag, created, labels)?;
    if is_target {
        for tag in ctx.opts.tags.iter().skip(1) {
            ctx.store.tag_image(tag, &written.descriptor)?;
        }
        totals.image_size = out.layers.iter().map(|l| l.descriptor.size()).sum();
    }
    let digest = written.digest().to_string();
    let record = StageRecord {
        index,
        label,
        image: Some(digest.clone()),
        steps: out.steps.clone(),
        failed_step: None,
    };
    Ok((record, digest))
}
