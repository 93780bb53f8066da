//! The end of a build: every built stage becomes an image in the store (so `shell` and `diff` can
//! open it later), the target is tagged, the build record is written, and `build_finished` sent.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use oci_spec::image::{Descriptor, MediaType};

use super::ctx::BuildCtx;
use super::cursor::StageOutput;
use super::digest::{StepLayer, placeholder};
use super::error::{EngineError, StageError};
use super::event::{Event, Totals};
use super::stage::StageFailure;
use crate::store::stamp;
use crate::store::{
    BuildRecord, LayerDesc, LayerRef, ResolvedImage, StageRecord, StepRecord, Store, chain_ids,
};

pub struct BuildOutcome {
    pub record: BuildRecord,
    pub totals: Totals,
}

/// Writes a stage's image (config blob + manifest over `layers`, the stage's layers digested)
/// into the store, with `labels` added to its config (`--label`, the target's only); tags it
/// when asked.
pub fn write_stage_image(
    store: &Store,
    out: &StageOutput,
    layers: &[LayerRef],
    tag: Option<&str>,
    created: &str,
    labels: &BTreeMap<String, String>,
) -> Result<ResolvedImage, EngineError> {
    let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.to_string()).collect();
    let config = if labels.is_empty() {
        out.state.to_json(&diff_ids, created)
    } else {
        let mut state = out.state.clone();
        state.labels.extend(labels.clone());
        state.to_json(&diff_ids, created)
    };
    let bytes = serde_json::to_vec(&config).map_err(EngineError::ImageConfig)?;
    let config_desc = store.put_blob(MediaType::ImageConfig, &bytes)?;
    let layers: Vec<Descriptor> = layers.iter().map(|l| l.descriptor.clone()).collect();
    Ok(store.put_manifest(config_desc, &layers, tag)?)
}

/// The stage's layers digested, from `digests` (by [`placeholder`]) for built ones.
fn digested(
    layers: &[StepLayer],
    digests: &HashMap<String, LayerRef>,
) -> Result<Vec<LayerRef>, EngineError> {
    layers
        .iter()
        .map(|l| match (l.known(), l) {
            (Some(known), _) => Ok(known),
            (None, StepLayer::Built(p)) => digests
                .get(&placeholder(&p.id))
                .cloned()
                .ok_or_else(|| EngineError::Digest(format!("step {} has no layer digest", p.step))),
            (None, StepLayer::Ready(r)) => Ok((**r).clone()),
        })
        .collect()
}

/// Points the chain ids of a stage's built layers at their snapshots, so opening the stage's
/// image later (`shell`, `diff`, a `FROM` of its tag) extracts nothing. Best effort.
fn link_chains(store: &Store, built: &[StepLayer], layers: &[LayerRef]) {
    let diff_ids: Vec<_> = layers.iter().map(|l| l.diff_id.clone()).collect();
    for (layer, chain) in built.iter().zip(chain_ids(&diff_ids)) {
        if let StepLayer::Built(p) = layer {
            let _ = store.link_built(&chain, &p.id);
        }
    }
}

/// Replaces the placeholders a step record got for layers not digested when it was made.
fn fill_in(step: &mut StepRecord, digests: &HashMap<String, LayerRef>) {
    for desc in &mut step.layers {
        if let Some(l) = digests.get(&desc.digest) {
            *desc = LayerDesc::from_ref(l);
        }
    }
    if let Some(l) = step.diff_id.as_ref().and_then(|d| digests.get(d)) {
        step.diff_id = Some(l.diff_id.to_string());
    }
    let Some(bytes) = &step.pending_config else {
        return;
    };
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    if !text.contains("\"pending:") {
        return;
    }
    for (placeholder, l) in digests {
        text = text.replace(placeholder.as_str(), l.diff_id.as_ref());
    }
    let bytes: Arc<[u8]> = text.into_bytes().into();
    step.config_digest = crate::store::digest::of_bytes(&bytes).to_string();
    step.pending_config = Some(bytes);
}

/// The stage results become images and the build record; the build's error is the target's,
/// else the first failed stage's.
pub async fn finish(
    ctx: &Arc<BuildCtx>,
    build_id: String,
    results: BTreeMap<usize, Result<Arc<StageOutput>, Box<StageFailure>>>,
    started: Instant,
) -> Result<BuildOutcome, EngineError> {
    if ctx.opts.dry_run {
        return dry_run_finish(ctx, build_id, &results, started);
    }
    let created = ctx.opts.created();
    // Built layers' tars and digests were made in the background while the build ran; what is
    // left of that work ends here (at normal priority), before the images need the digests.
    let digests = ctx
        .digester
        .resolve_all()
        .await
        .map_err(EngineError::Digest)?;
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
                let layers = digested(&out.layers, &digests)?;
                link_chains(&ctx.store, &out.layers, &layers);
                let stage = (index, label, out.as_ref(), layers.as_slice());
                let (record, digest) = stage_image(ctx, stage, &created, &mut totals)?;
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
    for stage in &mut stages {
        for step in stage.steps.iter_mut().chain(&mut stage.failed_step) {
            fill_in(step, &digests);
            step.store_config(&ctx.store)?;
        }
    }
    let record = build_record(ctx, build_id, image.clone(), message.clone(), stages);
    ctx.store.put_build(&record)?;
    let export = match image {
        Some(_) => super::remote::export::export_all(ctx, &record).await.err(),
        None => None,
    };
    ctx.sink.emit(Event::BuildFinished {
        image: image.clone(),
        totals: totals.clone(),
        error: message.or_else(|| export.clone()),
    });
    match error {
        _ if cancelled => Err(EngineError::Cancelled),
        _ if let Some(e) = export => Err(EngineError::CacheExport(e)),
        Some(e) if image.is_none() => Err(EngineError::Failed(e)),
        _ => Ok(BuildOutcome { record, totals }),
    }
}

/// A built stage's image in the store (the target's tagged and labelled), its record and digest.
/// `stage`: its index, label, output and digested layers.
fn stage_image(
    ctx: &BuildCtx,
    (index, label, out, layers): (usize, String, &StageOutput, &[LayerRef]),
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
    let written = write_stage_image(&ctx.store, out, layers, first_tag, created, labels)?;
    if is_target {
        for tag in ctx.opts.tags.iter().skip(1) {
            ctx.store.tag_image(tag, &written.descriptor)?;
        }
        totals.image_size = layers.iter().map(|l| l.descriptor.size()).sum();
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

/// The end of a dry run: no image, no record; `executed` counts the steps a build would run.
fn dry_run_finish(
    ctx: &Arc<BuildCtx>,
    build_id: String,
    results: &BTreeMap<usize, Result<Arc<StageOutput>, Box<StageFailure>>>,
    started: Instant,
) -> Result<BuildOutcome, EngineError> {
    let mut totals = Totals::default();
    let mut error = None;
    for result in results.values() {
        match result {
            Ok(out) => {
                totals.steps += out.steps.len();
                totals.cached += out.steps.iter().filter(|s| s.cached).count();
                totals.executed += out.steps.iter().filter(|s| !s.cached).count();
            }
            Err(f) => {
                totals.failed += 1;
                error.get_or_insert_with(|| f.error.clone());
            }
        }
    }
    totals.duration = started.elapsed().as_secs_f64();
    ctx.sink.emit(Event::BuildFinished {
        image: None,
        totals: totals.clone(),
        error: error.as_ref().map(|e| e.to_string()),
    });
    if let Some(e) = error {
        return Err(EngineError::Failed(e));
    }
    let record = build_record(ctx, build_id, None, None, Vec::new());
    Ok(BuildOutcome { record, totals })
}

/// The record of this build: its plan, result and stages.
fn build_record(
    ctx: &BuildCtx,
    id: String,
    image: Option<String>,
    error: Option<String>,
    stages: Vec<StageRecord>,
) -> BuildRecord {
    BuildRecord {
        id,
        created: stamp::now(),
        context: ctx.opts.context.clone(),
        dockerfile: ctx.opts.dockerfile.clone(),
        target: ctx.plan.target.clone(),
        plan: ctx.plan.clone(),
        image,
        error,
        stages,
        daemon_image: None,
    }
}
