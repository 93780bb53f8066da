//! One stage, step by step: resolve the base, then for each instruction compute its cache key,
//! reuse a cached layer or execute it, and commit what it changed as a layer.

use std::path::PathBuf;
use std::time::Instant;

use oci_spec::image::{Descriptor, MediaType};

use super::build::BuildCtx;
use super::cache::{StepInputs, lineage_id, miss_reason};
use super::error::StepError;
use super::event::{Event, StepRef};
use super::step;
use crate::frontend::StageVars;
use crate::frontend::plan::StageBase;
use crate::image::config::{History, ImageState};
use crate::image::layer::{LayerOptions, LayerStore};
use crate::store::digest::parse_sha256;
use crate::store::{
    CacheRecord, CachedLayer, LayerDesc, LayerInfo, LayerRef, RecordKind, StepRecord,
};

/// A finished stage: what later stages start from or copy out of.
#[derive(Debug, Clone)]
pub struct StageOutput {
    pub index: usize,
    pub label: String,
    pub layers: Vec<LayerRef>,
    pub snapshots: Vec<PathBuf>,
    pub state: ImageState,
    /// Key of the stage's filesystem state: what `COPY --from` of this stage keys on.
    pub key: String,
    /// True when any step of this stage (or of its base stage) executed instead of hitting the cache.
    pub rebuilt: bool,
    pub steps: Vec<StepRecord>,
}

/// The state a stage's steps advance.
pub struct Cursor {
    pub layers: Vec<LayerRef>,
    pub snapshots: Vec<PathBuf>,
    pub state: ImageState,
    pub key: String,
    pub rebuilt: bool,
    /// The stage's ARG and ENV values with BuildKit's rules (the front end's model): what words
    /// expand against and what RUN sees. ENV is mirrored into `state` for the image config.
    pub vars: StageVars,
    pub steps: Vec<StepRecord>,
    /// This stage set CMD itself (so a later ENTRYPOINT keeps it).
    pub cmd_set: bool,
    /// No filesystem step has run yet on top of a base image.
    pub at_base: bool,
}

impl Cursor {
    pub fn diff_ids(&self) -> Vec<oci_spec::image::Digest> {
        self.layers.iter().map(|l| l.diff_id.clone()).collect()
    }
}

/// What an executed filesystem step left: the scratch dir holding its overlay upper dir.
pub struct Executed {
    pub scratch: tempfile::TempDir,
    pub upper: PathBuf,
    /// False when the step changed nothing and should add no layer (WORKDIR on an existing dir).
    pub layer: bool,
}

pub async fn run_stage(ctx: &BuildCtx, index: usize) -> Result<StageOutput, String> {
    let Some(stage) = ctx.plan.stages.get(index) else {
        return Err(format!("no stage {index}"));
    };
    let label = stage.label();
    let mut cursor = match start_from(ctx, index, &label).await {
        Ok(c) => c,
        Err(message) => {
            ctx.sink.emit(Event::StepFailed {
                step: StepRef::new(&label, 0),
                exit_code: None,
                message: message.clone(),
            });
            return Err(message);
        }
    };
    if let Err(e) = run_onbuild_triggers(ctx, &mut cursor, &label).await {
        let message = format!("step {label}/0 (FROM): {e}");
        ctx.sink.emit(Event::StepFailed {
            step: StepRef::new(&label, 0),
            exit_code: match &e {
                StepError::Exit { code, .. } => Some(*code),
                _ => None,
            },
            message: e.message(),
        });
        return Err(message);
    }
    for (i, instruction) in stage.instructions.iter().enumerate().skip(1) {
        let step_ref = StepRef::new(&label, i);
        ctx.breakpoints.before_step(&step_ref, &ctx.cancel).await;
        if ctx.cancel.is_cancelled() {
            return Err("cancelled".into());
        }
        if let Err(e) = step::execute(ctx, &mut cursor, &step_ref, instruction).await {
            let exit_code = match &e {
                StepError::Exit { code, .. } => Some(*code),
                _ => None,
            };
            let message = e.message();
            if let (Ok(mut failed), Some(planned)) = (ctx.failed_steps.lock(), stage.steps.get(i)) {
                let (config_digest, pending_config) = config_of(&cursor.state, &cursor.layers);
                let done = std::mem::take(&mut cursor.steps);
                failed.insert(
                    index,
                    (
                        StepRecord {
                            index: i,
                            text: planned.text.clone(),
                            line: planned.line,
                            cache_key: cursor.key.clone(),
                            cached: false,
                            diff_id: None,
                            layers: cursor.layers.iter().map(LayerDesc::from_ref).collect(),
                            config_digest,
                            pending_config,
                        },
                        done,
                    ),
                );
            }
            ctx.sink.emit(Event::StepFailed {
                step: step_ref.clone(),
                exit_code,
                message: message.clone(),
            });
            return Err(format!(
                "step {step_ref} ({}) failed: {}",
                instruction.span.joined.trim(),
                e
            ));
        }
    }
    ctx.sink.emit(Event::StageFinished {
        stage: label.clone(),
        image_config: super::event::ConfigSummary::of(&cursor.state),
    });
    Ok(StageOutput {
        index,
        label,
        layers: cursor.layers,
        snapshots: cursor.snapshots,
        state: cursor.state,
        key: cursor.key,
        rebuilt: cursor.rebuilt,
        steps: cursor.steps,
    })
}

/// The base image's ONBUILD triggers run first, as BuildKit runs them: parsed like Dockerfile
/// lines, executed against this build's context, reported under step 0 (the FROM that brought
/// them); the new image does not inherit them.
async fn run_onbuild_triggers(
    ctx: &BuildCtx,
    cursor: &mut Cursor,
    label: &str,
) -> Result<(), StepError> {
    let triggers = std::mem::take(&mut cursor.state.onbuild);
    if triggers.is_empty() {
        return Ok(());
    }
    let step_ref = StepRef::new(label, 0);
    let parsed = crate::frontend::parse_dockerfile(
        &triggers.join("\n"),
        std::path::Path::new("<ONBUILD triggers of the base image>"),
    )
    .map_err(|e| StepError::Invalid(format!("ONBUILD trigger: {e}")))?;
    for instruction in &parsed.instructions {
        let text = instruction.span.joined.trim().to_string();
        if matches!(
            instruction.op,
            crate::frontend::Op::From(_) | crate::frontend::Op::Onbuild(_)
        ) {
            return Err(StepError::Invalid(format!(
                "ONBUILD trigger {text:?}: FROM and ONBUILD cannot be triggers"
            )));
        }
        ctx.sink.emit(Event::StepLog {
            step: step_ref.clone(),
            stream: super::event::Stream::Stdout,
            text: format!("ONBUILD trigger: {text}"),
        });
        step::execute(ctx, cursor, &step_ref, instruction).await?;
    }
    Ok(())
}

/// Step 0: the FROM.
async fn start_from(ctx: &BuildCtx, index: usize, label: &str) -> Result<Cursor, String> {
    let stage = &ctx.plan.stages[index];
    let step_ref = StepRef::new(label, 0);
    ctx.breakpoints.before_step(&step_ref, &ctx.cancel).await;
    let text = stage
        .steps
        .first()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    let line = stage.steps.first().map(|s| s.line).unwrap_or_default();
    let mut cursor = Cursor {
        layers: Vec::new(),
        snapshots: Vec::new(),
        state: ImageState::scratch(),
        key: String::new(),
        rebuilt: false,
        vars: StageVars::default(),
        steps: Vec::new(),
        cmd_set: false,
        at_base: false,
    };
    let started = Instant::now();
    let mut pulled = None;
    match (&stage.base, stage.base_stage) {
        (_, Some(base)) => {
            let out = ctx
                .stage_output(base)
                .await
                .map_err(|e| format!("base stage failed: {e}"))?;
            cursor.layers = out.layers.clone();
            cursor.snapshots = out.snapshots.clone();
            cursor.state = out.state.clone();
            cursor.key = out.key.clone();
            cursor.rebuilt = out.rebuilt;
        }
        (StageBase::Scratch(_), None) => cursor.key = "scratch".into(),
        (_, None) => {
            let (image, was_pulled) =
                step::from::resolve_image(ctx, &stage.base_ref, stage.platform.as_deref())
                    .await
                    .map_err(|e| e.to_string())?;
            cursor.snapshots = step::from::snapshots(ctx, &image.layers)
                .await
                .map_err(|e| format!("extracting {}: {e}", stage.base_ref))?;
            cursor.layers = image.layers.clone();
            // The raw blob: the OCI type drops Docker's fields (OnBuild, Healthcheck, Shell).
            let raw = ctx
                .store
                .read_blob(image.manifest.config().digest())
                .map_err(|e| e.to_string())?;
            let value: serde_json::Value = serde_json::from_slice(&raw)
                .map_err(|e| format!("config of {}: {e}", stage.base_ref))?;
            cursor.state = ImageState::from_json(&value);
            cursor.key = image.digest().to_string();
            cursor.at_base = true;
            if was_pulled {
                pulled = Some(format!(
                    "{} was not in the store: pulled {}",
                    stage.base_ref,
                    image.digest()
                ));
            }
        }
    }
    cursor.vars = StageVars::from_image_env(&cursor.state.env_strings());
    ctx.sink.emit(Event::StepStarted {
        step: step_ref.clone(),
        cache_key: cursor.key.clone(),
    });
    match pulled {
        Some(reason) => {
            ctx.sink.emit(Event::CacheMiss {
                step: step_ref.clone(),
                reason,
            });
            ctx.sink.emit(Event::StepFinished {
                step: step_ref,
                layer: None,
                duration: started.elapsed().as_secs_f64(),
            });
        }
        None => ctx.sink.emit(Event::StepCached {
            step: step_ref,
            layer: None,
        }),
    }
    let (config_digest, pending_config) = config_of(&cursor.state, &cursor.layers);
    cursor.steps.push(StepRecord {
        index: 0,
        text,
        line,
        cache_key: cursor.key.clone(),
        cached: true,
        diff_id: None,
        layers: cursor.layers.iter().map(LayerDesc::from_ref).collect(),
        config_digest,
        pending_config,
    });
    Ok(cursor)
}

fn diff_id_strings(layers: &[LayerRef]) -> Vec<String> {
    layers.iter().map(|l| l.diff_id.to_string()).collect()
}

/// The config after a step, as its digest and its bytes (stored when the build record is).
fn config_of(state: &ImageState, layers: &[LayerRef]) -> (String, Option<std::sync::Arc<[u8]>>) {
    let config = state.to_json(&diff_id_strings(layers), "");
    let bytes: std::sync::Arc<[u8]> = serde_json::to_vec(&config).unwrap_or_default().into();
    (
        crate::store::digest::of_bytes(&bytes).to_string(),
        Some(bytes),
    )
}

/// A step that only changes the image config. Cached when this exact change on this filesystem
/// state was seen before (it never executes anything either way).
pub fn meta_step(
    ctx: &BuildCtx,
    cursor: &mut Cursor,
    step_ref: &StepRef,
    created_by: String,
    line: usize,
) {
    let inputs = StepInputs {
        parent: cursor.key.clone(),
        instruction: created_by.clone(),
        ..StepInputs::default()
    };
    let key = inputs.key();
    ctx.sink.emit(Event::StepStarted {
        step: step_ref.clone(),
        cache_key: key.clone(),
    });
    let seen = ctx
        .store
        .get_json::<CacheRecord>(RecordKind::Cache, &key)
        .ok()
        .flatten()
        .is_some();
    if seen && !ctx.no_cache_for(&step_ref.stage, stage_index(ctx, &step_ref.stage)) {
        ctx.sink.emit(Event::StepCached {
            step: step_ref.clone(),
            layer: None,
        });
    } else {
        let lineage = lineage_id(&ctx.dockerfile, &step_ref.stage, step_ref.index);
        let prev: Option<StepInputs> = ctx
            .store
            .get_json(RecordKind::Cache, &lineage)
            .ok()
            .flatten();
        let no_cache = ctx.no_cache_for(&step_ref.stage, stage_index(ctx, &step_ref.stage));
        ctx.sink.emit(Event::CacheMiss {
            step: step_ref.clone(),
            reason: miss_reason(prev.as_ref(), &inputs, cursor.rebuilt, false, no_cache),
        });
        let record = CacheRecord {
            key: key.clone(),
            step: step_ref.to_string(),
            text: created_by.clone(),
            created: now_rfc3339(),
            layer: None,
        };
        let _ = ctx.store.put_json(RecordKind::Cache, &key, &record);
        let _ = ctx.store.put_json(RecordKind::Cache, &lineage, &inputs);
        ctx.sink.emit(Event::StepFinished {
            step: step_ref.clone(),
            layer: None,
            duration: 0.0,
        });
    }
    cursor.state.history.push(History {
        created: now_rfc3339(),
        created_by,
        empty_layer: true,
        comment: None,
    });
    record_step(cursor, step_ref, line, key, seen, None);
}

fn stage_index(ctx: &BuildCtx, label: &str) -> usize {
    ctx.plan
        .stages
        .iter()
        .find(|s| s.label() == label)
        .map(|s| s.index)
        .unwrap_or_default()
}

fn record_step(
    cursor: &mut Cursor,
    step_ref: &StepRef,
    line: usize,
    key: String,
    cached: bool,
    diff_id: Option<String>,
) {
    let text = cursor
        .state
        .history
        .last()
        .map(|h| h.created_by.clone())
        .unwrap_or_default();
    let (config_digest, pending_config) = config_of(&cursor.state, &cursor.layers);
    cursor.steps.push(StepRecord {
        index: step_ref.index,
        text,
        line,
        cache_key: key,
        cached,
        diff_id,
        layers: cursor.layers.iter().map(LayerDesc::from_ref).collect(),
        config_digest,
        pending_config,
    });
}

/// A step that changes the filesystem: reuse the layer cached under its key, or run `execute`
/// (which leaves an overlay upper dir) and commit that as a new layer.
pub async fn fs_step<F, Fut>(
    ctx: &BuildCtx,
    cursor: &mut Cursor,
    step_ref: &StepRef,
    inputs: StepInputs,
    created_by: String,
    line: usize,
    execute: F,
) -> Result<(), StepError>
where
    F: FnOnce(Vec<PathBuf>) -> Fut,
    Fut: std::future::Future<Output = Result<Executed, StepError>>,
{
    let key = inputs.key();
    ctx.sink.emit(Event::StepStarted {
        step: step_ref.clone(),
        cache_key: key.clone(),
    });
    let no_cache = ctx.no_cache_for(&step_ref.stage, stage_index(ctx, &step_ref.stage));
    let lineage = lineage_id(&ctx.dockerfile, &step_ref.stage, step_ref.index);
    let hit = if no_cache {
        None
    } else {
        cached_layer(ctx, &key)
    };
    let (layer, cached) = match hit {
        Some(layer) => {
            let info = layer.as_ref().map(|(_, info)| info.clone());
            if let Some((layer_ref, _)) = layer {
                cursor.layers.push(layer_ref);
                cursor.snapshots = step::from::snapshots(ctx, &cursor.layers).await?;
            }
            ctx.sink.emit(Event::StepCached {
                step: step_ref.clone(),
                layer: info.clone(),
            });
            (info, true)
        }
        None => {
            let prev: Option<StepInputs> = ctx
                .store
                .get_json(RecordKind::Cache, &lineage)
                .ok()
                .flatten();
            ctx.sink.emit(Event::CacheMiss {
                step: step_ref.clone(),
                reason: miss_reason(
                    prev.as_ref(),
                    &inputs,
                    cursor.rebuilt,
                    cursor.at_base,
                    no_cache,
                ),
            });
            let started = Instant::now();
            let permit = ctx
                .jobs
                .acquire()
                .await
                .map_err(|e| StepError::Invalid(e.to_string()))?;
            let executed = execute(cursor.snapshots.clone()).await?;
            let info = if executed.layer {
                Some(commit(ctx, cursor, executed).await?)
            } else {
                None
            };
            drop(permit);
            let record = CacheRecord {
                key: key.clone(),
                step: step_ref.to_string(),
                text: created_by.clone(),
                created: now_rfc3339(),
                layer: info
                    .as_ref()
                    .zip(cursor.layers.last())
                    .map(|(info, l)| CachedLayer {
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
            ctx.store.put_json(RecordKind::Cache, &key, &record)?;
            ctx.store.put_json(RecordKind::Cache, &lineage, &inputs)?;
            cursor.rebuilt = true;
            ctx.sink.emit(Event::StepFinished {
                step: step_ref.clone(),
                layer: info.clone(),
                duration: started.elapsed().as_secs_f64(),
            });
            (info, false)
        }
    };
    if cached {
        // Keep the lineage current so the next miss compares with the latest build.
        let _ = ctx.store.put_json(RecordKind::Cache, &lineage, &inputs);
    }
    cursor.key = key.clone();
    cursor.at_base = false;
    cursor.state.history.push(History {
        created: now_rfc3339(),
        created_by,
        empty_layer: layer.is_none(),
        comment: Some("stagecraft".into()),
    });
    record_step(
        cursor,
        step_ref,
        line,
        key,
        cached,
        layer.map(|l| l.diff_id),
    );
    Ok(())
}

/// The cached result under `key`, if its record and blob are both present: `Some(None)` for a step
/// that made no layer.
fn cached_layer(ctx: &BuildCtx, key: &str) -> Option<Option<(LayerRef, LayerInfo)>> {
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
    let diff_id = parse_sha256(&l.diff_id)?;
    let media_type = MediaType::from(l.media_type.as_str());
    let layer_ref = LayerRef {
        descriptor: Descriptor::new(media_type, l.compressed_size, digest),
        diff_id,
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
    Some(Some((layer_ref, info)))
}

/// Writes the upper dir as a layer blob, then moves it into place as the new top snapshot.
async fn commit(
    ctx: &BuildCtx,
    cursor: &mut Cursor,
    executed: Executed,
) -> Result<LayerInfo, StepError> {
    let store = ctx.store.clone();
    // Plain tars: compressing is an export's job (`LayerStore::with_compressed_layers`), off the
    // build's critical path and only for images that leave the store.
    let opts = LayerOptions {
        compression: crate::image::layer::Compression::None,
        source_date_epoch: ctx.opts.source_date_epoch,
        lowers: cursor.snapshots.iter().rev().cloned().collect(),
    };
    let parents = cursor.diff_ids();
    let (committed, snapshot) = tokio::task::spawn_blocking(move || {
        let committed = store.commit_layer(&executed.upper, &opts)?;
        let snapshot = store.adopt_snapshot(&parents, &committed.diff_id, &executed.upper)?;
        drop(executed.scratch);
        Ok::<_, crate::image::layer::LayerError>((committed, snapshot))
    })
    .await
    .map_err(|e| StepError::Invalid(e.to_string()))??;
    let info = committed.info();
    cursor.layers.push(LayerRef {
        descriptor: committed.descriptor,
        diff_id: committed.diff_id,
    });
    cursor.snapshots.push(snapshot);
    Ok(info)
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
