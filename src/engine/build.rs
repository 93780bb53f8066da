//! The scheduler: walks the plan's stage graph on tokio. Each needed stage is a task that waits
//! for the stages it reads from; independent stages run at the same time, bounded by `--jobs`.
//! A failure stops what depends on it and lets unrelated stages finish.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::context::SourceTree;
use super::ctx::{BuildCtx, BuildInputs};
use super::cursor::StageOutput;
use super::error::{EngineError, StageError};
use super::event::{Control, Event, Record, StepRef};
use super::finish::BuildOutcome;
use super::options::BuildOptions;
use super::sink::EventSink;
use super::stage::{StageFailure, run_stage};
use crate::exec::Runtime;
use crate::frontend::{self, BuildPlan, PlanOptions};
use crate::store::Store;

/// Reads and plans the Dockerfile as `build` would, for `plan`-style callers.
pub fn load_plan(opts: &BuildOptions) -> Result<BuildPlan, EngineError> {
    load(opts).map(|(_, plan)| plan)
}

/// The parsed Dockerfile and its plan.
fn load(opts: &BuildOptions) -> Result<(frontend::Dockerfile, BuildPlan), EngineError> {
    let source = std::fs::read_to_string(&opts.dockerfile).map_err(|source| EngineError::Read {
        path: opts.dockerfile.display().to_string(),
        source,
    })?;
    let df = frontend::parse_dockerfile(&source, &opts.dockerfile).map_err(Box::new)?;
    let plan = frontend::plan(
        &df,
        &PlanOptions {
            target: opts.target.clone(),
            build_args: opts.build_args.clone(),
            platform: None,
        },
    )
    .map_err(Box::new)?;
    Ok((df, plan))
}

/// Runs the build checks and sends their warnings; with `# check=error=true` any warning fails
/// the build before a step runs (BuildKit's "lint violation found for rules: …").
fn run_checks(
    store: &Store,
    opts: &BuildOptions,
    df: &frontend::Dockerfile,
    plan: &BuildPlan,
    sink: &EventSink,
) -> Result<(), EngineError> {
    let report = super::checks::check(df, &opts.context, &opts.build_args, Some(store))
        .map_err(EngineError::CheckDirective)?;
    for event in super::checks::events(&report, df, plan) {
        sink.emit(event);
    }
    match report.failure() {
        Some(message) => {
            sink.emit(Event::BuildFinished {
                image: None,
                totals: super::event::Totals::default(),
                error: Some(message.clone()),
            });
            Err(EngineError::Checks(message))
        }
        None => Ok(()),
    }
}

/// Runs a build to the end, sending events to `events` and obeying `control`.
pub async fn build(
    store: Arc<Store>,
    opts: BuildOptions,
    events: mpsc::UnboundedSender<Record>,
    control: Option<mpsc::UnboundedReceiver<Control>>,
    cancel: CancellationToken,
) -> Result<BuildOutcome, EngineError> {
    let started = Instant::now();
    let sink = EventSink::new(events);
    let (df, plan) = load(&opts)?;
    let context = SourceTree::context(&opts.context, Some(&opts.dockerfile))?;
    let build_id = new_build_id();
    sink.emit(Event::BuildStarted {
        build_id: build_id.clone(),
        plan: plan.clone(),
    });
    run_checks(&store, &opts, &df, &plan, &sink)?;
    for stage in plan.stages.iter().filter(|s| !s.needed) {
        sink.emit(Event::StageSkipped {
            stage: stage.label(),
            reason: stage
                .skip_reason
                .clone()
                .unwrap_or_else(|| "not needed".into()),
        });
    }
    for stage in plan.stages.iter().filter(|s| s.needed) {
        for step in &stage.steps {
            sink.emit(Event::StepQueued {
                step: StepRef::new(stage.label(), step.index),
            });
        }
    }

    // Only a build with RUN steps needs a runtime; others work on machines without runc.
    let has_run = plan.stages.iter().filter(|s| s.needed).any(|s| {
        s.instructions
            .iter()
            .any(|i| matches!(i.op, frontend::Op::Run(_)))
    });
    let runtime = if has_run {
        Some(Runtime::find(opts.runtime.as_deref())?)
    } else {
        None
    };

    let imported = super::remote::Imported::load(
        &store,
        &opts.cache_from,
        &crate::image::registry::RegistryOptions {
            insecure: opts.insecure_registry,
            ..Default::default()
        },
        &sink,
    )
    .await;
    let (ctx, senders) = BuildCtx::new(BuildInputs {
        store,
        imported,
        opts,
        plan,
        context,
        sink: sink.clone(),
        cancel: cancel.clone(),
        runtime,
    });
    let ctx = Arc::new(ctx);
    // The listener holds an event sender (for `paused`); it must end with the build so consumers
    // see the stream close.
    let _listener = control.map(|control| {
        AbortOnDrop(tokio::spawn(super::control::listen(
            control,
            ctx.breakpoints().clone(),
            cancel.clone(),
        )))
    });

    let mut tasks = Vec::new();
    for (stage, tx) in ctx.plan.stages.iter().zip(senders) {
        if !stage.needed {
            continue;
        }
        let ctx = ctx.clone();
        let index = stage.index;
        tasks.push((
            index,
            tokio::spawn(async move {
                let result = run_stage(&ctx, index).await.map(Arc::new);
                let published = result.as_ref().map(Arc::clone);
                let _ = tx.send(Some(published.map_err(|f| f.error.clone())));
                result
            }),
        ));
    }
    let mut results: BTreeMap<usize, Result<Arc<StageOutput>, Box<StageFailure>>> = BTreeMap::new();
    for (index, task) in tasks {
        // A panicking stage fails that stage only; its dependents see it ended without a result.
        let result = task.await.unwrap_or_else(|e| {
            Err(StageFailure::before_any_step(StageError::Panicked {
                index,
                error: e,
            }))
        });
        results.insert(index, result);
    }
    ctx.save_stat_cache();
    super::finish::finish(&ctx, build_id, results, started).await
}

/// Aborts a task when dropped, whichever way the build returns.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn new_build_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}-{:05}",
        now.as_secs(),
        now.subsec_micros() % 100_000 + std::process::id() % 1000
    )
}
