//! One stage, step by step: start from its base (FROM), run the base image's ONBUILD triggers,
//! then have each instruction's executor describe its work and the solver key, run and commit it.

use std::sync::Arc;
use std::time::Instant;

use super::ctx::BuildCtx;
use super::cursor::{Cursor, StageOutput};
use super::digest::StepLayer;
use super::error::{StageError, StepError};
use super::event::{Event, StepRef};
use super::solve::solve;
use super::step;
use crate::frontend::plan::StageBase;
use crate::frontend::{Instruction, StageVars};
use crate::image::config::ImageState;
use crate::store::StepRecord;

/// Why a stage stopped, and what the build record keeps of it.
pub struct StageFailure {
    pub error: Arc<StageError>,
    /// The step that failed, with the layers and config before it (for failure shells).
    pub failed_step: Option<StepRecord>,
    /// The steps that finished before it (so `shell stage/N` opens them after a failed build).
    pub done: Vec<StepRecord>,
}

impl StageFailure {
    pub fn before_any_step(error: StageError) -> Box<StageFailure> {
        Box::new(StageFailure {
            error: Arc::new(error),
            failed_step: None,
            done: Vec::new(),
        })
    }
}

pub async fn run_stage(ctx: &BuildCtx, index: usize) -> Result<StageOutput, Box<StageFailure>> {
    let Some(stage) = ctx.plan.stages.get(index) else {
        return Err(StageFailure::before_any_step(StageError::NoStage(index)));
    };
    let label = stage.label();
    let from_ref = StepRef::new(&label, 0);
    let mut cursor = match start_from(ctx, index, &label).await {
        Ok(c) => c,
        Err(e) => {
            emit_failed(ctx, &from_ref, &e);
            return Err(StageFailure::before_any_step(StageError::Base(e)));
        }
    };
    if let Err(e) = run_onbuild_triggers(ctx, &mut cursor, &from_ref).await {
        emit_failed(ctx, &from_ref, &e);
        return Err(StageFailure::before_any_step(StageError::Onbuild {
            step: from_ref,
            error: e,
        }));
    }
    for (i, instruction) in stage.instructions.iter().enumerate().skip(1) {
        let step_ref = StepRef::new(&label, i);
        ctx.before_step(&step_ref).await;
        if ctx.cancel.is_cancelled() {
            return Err(StageFailure::before_any_step(StageError::Cancelled));
        }
        if let Err(e) = run_step(ctx, &mut cursor, &step_ref, instruction).await {
            emit_failed(ctx, &step_ref, &e);
            let failed_step = stage.steps.get(i).map(|planned| {
                cursor.record(i, planned.text.clone(), planned.line, cursor.key.clone())
            });
            return Err(Box::new(StageFailure {
                error: Arc::new(StageError::Step {
                    step: step_ref,
                    instruction: instruction.span.joined.trim().to_string(),
                    error: e,
                }),
                failed_step,
                done: std::mem::take(&mut cursor.steps),
            }));
        }
    }
    ctx.sink.emit(Event::StageFinished {
        stage: label,
        image_config: super::event::ConfigSummary::of(&cursor.state),
    });
    Ok(cursor.into_output())
}

/// One instruction: its executor describes the work, the solver does it.
async fn run_step(
    ctx: &BuildCtx,
    cursor: &mut Cursor,
    step_ref: &StepRef,
    instruction: &Instruction,
) -> Result<(), StepError> {
    let work = step::prepare(ctx, cursor, step_ref, instruction).await?;
    solve(ctx, cursor, step_ref, instruction.span.line, work).await
}

fn emit_failed(ctx: &BuildCtx, step_ref: &StepRef, e: &StepError) {
    ctx.sink.emit(Event::StepFailed {
        step: step_ref.clone(),
        exit_code: match e {
            StepError::Exit { code, .. } => Some(*code),
            _ => None,
        },
        message: e.message(),
    });
}

/// The base image's ONBUILD triggers run first, as BuildKit runs them: parsed like Dockerfile
/// lines, executed against this build's context, reported under step 0 (the FROM that brought
/// them); the new image does not inherit them.
async fn run_onbuild_triggers(
    ctx: &BuildCtx,
    cursor: &mut Cursor,
    step_ref: &StepRef,
) -> Result<(), StepError> {
    let triggers = std::mem::take(&mut cursor.state.onbuild);
    if triggers.is_empty() {
        return Ok(());
    }
    let parsed = crate::frontend::parse_dockerfile(
        &triggers.join("\n"),
        std::path::Path::new("<ONBUILD triggers of the base image>"),
    )
    .map_err(|e| StepError::Trigger(Box::new(e)))?;
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
        run_step(ctx, cursor, step_ref, instruction).await?;
    }
    Ok(())
}

/// Step 0: the FROM.
async fn start_from(ctx: &BuildCtx, index: usize, label: &str) -> Result<Cursor, StepError> {
    let stage = &ctx.plan.stages[index];
    let step_ref = StepRef::new(label, 0);
    ctx.before_step(&step_ref).await;
    let started = Instant::now();
    let (mut cursor, pulled) = match (&stage.base, stage.base_stage) {
        (_, Some(base)) => {
            let out = ctx.stage_output(base).await.map_err(StepError::BaseStage)?;
            (Cursor::from_stage(&out), None)
        }
        (StageBase::Scratch(_), None) => {
            let mut cursor = Cursor::scratch();
            cursor.key = "scratch".into();
            (cursor, None)
        }
        (_, None) => from_image(ctx, &stage.base_ref, stage.platform.as_deref()).await?,
    };
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
            from: None,
        }),
    }
    let planned = stage.steps.first();
    let text = planned.map(|s| s.text.clone()).unwrap_or_default();
    let line = planned.map(|s| s.line).unwrap_or_default();
    let record = StepRecord {
        cached: true,
        ..cursor.record(0, text, line, cursor.key.clone())
    };
    cursor.steps.push(record);
    Ok(cursor)
}

/// `FROM <image>`: the store's copy or a pull; the second value says why it missed when pulled.
async fn from_image(
    ctx: &BuildCtx,
    base_ref: &str,
    platform: Option<&str>,
) -> Result<(Cursor, Option<String>), StepError> {
    let (image, was_pulled) = step::from::resolve_image(ctx, base_ref, platform).await?;
    let mut cursor = Cursor::scratch();
    // A dry run never mounts anything: extracting would only write snapshots.
    if !ctx.opts.dry_run {
        cursor.snapshots = ctx
            .snapshots(&image.layers)
            .await
            .map_err(|e| StepError::Extract {
                base: base_ref.to_string(),
                error: Box::new(e),
            })?;
    }
    cursor.layers = image
        .layers
        .iter()
        .map(|l| StepLayer::Ready(Box::new(l.clone())))
        .collect();
    // The raw blob: the OCI type drops Docker's fields (OnBuild, Healthcheck, Shell).
    let raw = ctx.store.read_blob(image.manifest.config().digest())?;
    let value: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|error| StepError::BaseConfig {
            base: base_ref.to_string(),
            error,
        })?;
    cursor.state = ImageState::from_json(&value);
    cursor.key = image.digest().to_string();
    cursor.at_base = true;
    let pulled =
        was_pulled.then(|| format!("{base_ref} was not in the store: pulled {}", image.digest()));
    Ok((cursor, pulled))
}
