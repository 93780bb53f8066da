//! The scheduler: walks the plan's stage graph on tokio. Each needed stage is a task that waits
//! for the stages it reads from; independent stages run at the same time, bounded by `--jobs`.
//! A failure stops what depends on it and lets unrelated stages finish.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::context::SourceTree;
use super::context::digest::StatCache;
use super::control::Breakpoints;
use super::error::EngineError;
use super::event::{Control, Event, Totals};
use super::options::BuildOptions;
use super::sink::EventSink;
use super::stage::{StageOutput, run_stage};
use crate::exec::Runtime;
use crate::frontend::{self, BuildPlan, PlanOptions};
use crate::store::{LayerRef, RecordKind, Store};

/// What a stage task publishes for the stages that wait on it.
pub type StageResult = Option<Result<Arc<StageOutput>, String>>;

/// Shared by every stage task of one build.
pub struct BuildCtx {
    pub store: Arc<Store>,
    pub opts: BuildOptions,
    pub plan: BuildPlan,
    pub dockerfile: String,
    pub context: SourceTree,
    pub sink: EventSink,
    pub runtime: Option<Runtime>,
    pub cancel: CancellationToken,
    pub jobs: Semaphore,
    pub stat_cache: Mutex<StatCache>,
    pub outputs: Vec<watch::Receiver<StageResult>>,
    pub breakpoints: Breakpoints,
    /// Per stage index: the state before the step that failed (for failure shells), and the
    /// steps that finished before it (so `shell stage/N` opens them after a failed build too).
    pub failed_steps: Mutex<BTreeMap<usize, (StepRecord, Vec<StepRecord>)>>,
}

impl BuildCtx {
    /// Waits for a stage's result; an error names the stage that failed.
    pub async fn stage_output(&self, index: usize) -> Result<Arc<StageOutput>, String> {
        let Some(rx) = self.outputs.get(index) else {
            return Err(format!("no stage {index}"));
        };
        let mut rx = rx.clone();
        loop {
            if let Some(result) = rx.borrow_and_update().clone() {
                return result;
            }
            if rx.changed().await.is_err() {
                return Err(format!("stage {index} ended without a result"));
            }
        }
    }

    pub fn no_cache_for(&self, stage_label: &str, stage_index: usize) -> bool {
        self.opts.no_cache
            || self
                .opts
                .no_cache_filter
                .iter()
                .any(|f| f == stage_label || f == &stage_index.to_string())
    }
}

/// The outcome of a build, also kept as `builds/<id>.json` for `shell`, `diff` and `explain`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildRecord {
    pub id: String,
    pub created: String,
    pub context: PathBuf,
    pub dockerfile: PathBuf,
    pub target: String,
    pub plan: BuildPlan,
    /// Manifest digest of the target image, when the build succeeded.
    pub image: Option<String>,
    pub error: Option<String>,
    pub stages: Vec<StageRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageRecord {
    pub index: usize,
    pub label: String,
    /// Manifest digest of the stage's image (every built stage gets one).
    pub image: Option<String>,
    pub steps: Vec<StepRecord>,
    /// When a step of this stage failed: that step, with the layers and config before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<StepRecord>,
}

/// One step's result: the layers of the stage after it (so `shell builder/3` can rebuild the view).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub index: usize,
    pub text: String,
    pub line: usize,
    pub cache_key: String,
    pub cached: bool,
    /// Layer this step added, if any (`sha256:` diff_id).
    pub diff_id: Option<String>,
    /// Layer descriptors of the stage after this step, lowest first.
    pub layers: Vec<LayerDesc>,
    /// Digest of the image config after this step: a blob in the store ([`StepRecord::config`]
    /// reads it). A digest, not the JSON, keeps the record linear in the number of steps.
    #[serde(default)]
    pub config_digest: String,
    /// The config's bytes until the build's end stores them (with the record).
    #[serde(skip)]
    pub pending_config: Option<std::sync::Arc<[u8]>>,
}

impl StepRecord {
    /// The image config after this step.
    pub fn config(&self, store: &Store) -> Result<serde_json::Value, EngineError> {
        let bytes = match &self.pending_config {
            Some(b) => b.to_vec(),
            None => {
                let digest = crate::image::digest::parse_sha256(&self.config_digest).ok_or_else(
                    || {
                        EngineError::Other(format!(
                            "step {} ({}) has no config digest: recorded by an older stagecraft, build again",
                            self.index, self.text
                        ))
                    },
                )?;
                store.read_blob(&digest)?
            }
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| EngineError::Other(format!("config {}: {e}", self.config_digest)))
    }

    /// Stores the config blob this record names (done once, when the build record is written).
    pub fn store_config(&self, store: &Store) -> Result<(), EngineError> {
        if let Some(bytes) = &self.pending_config {
            store.put_blob(oci_spec::image::MediaType::ImageConfig, bytes)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerDesc {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub diff_id: String,
}

impl LayerDesc {
    pub fn from_ref(l: &LayerRef) -> Self {
        Self {
            digest: l.descriptor.digest().to_string(),
            media_type: l.descriptor.media_type().to_string(),
            size: l.descriptor.size(),
            diff_id: l.diff_id.to_string(),
        }
    }
}

pub struct BuildOutcome {
    pub record: BuildRecord,
    pub totals: Totals,
}

/// Reads and plans the Dockerfile as `build` would, for `plan`-style callers.
pub fn load_plan(opts: &BuildOptions) -> Result<BuildPlan, EngineError> {
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
    Ok(plan)
}

/// Runs a build to the end, sending events to `events` and obeying `control`.
pub async fn build(
    store: Arc<Store>,
    opts: BuildOptions,
    events: mpsc::UnboundedSender<super::Record>,
    control: Option<mpsc::UnboundedReceiver<Control>>,
    cancel: CancellationToken,
) -> Result<BuildOutcome, EngineError> {
    let started = Instant::now();
    let sink = EventSink::new(events);
    let plan = load_plan(&opts)?;
    let context = SourceTree::context(&opts.context, Some(&opts.dockerfile))
        .map_err(|e| EngineError::Other(e.to_string()))?;
    let build_id = new_build_id();
    sink.emit(Event::BuildStarted {
        build_id: build_id.clone(),
        plan: plan.clone(),
    });
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
                step: super::StepRef::new(stage.label(), step.index),
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
        Some(
            Runtime::find(opts.runtime.as_deref())
                .map_err(|e| EngineError::Other(e.to_string()))?,
        )
    } else {
        None
    };

    let stat_path = store.root().join("cache").join("statcache.json");
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for _ in &plan.stages {
        let (tx, rx) = watch::channel::<StageResult>(None);
        senders.push(tx);
        receivers.push(rx);
    }
    let breakpoints = Breakpoints::new(opts.breakpoints.iter().cloned(), sink.clone());
    let ctx = Arc::new(BuildCtx {
        store: store.clone(),
        dockerfile: opts.dockerfile.display().to_string(),
        jobs: Semaphore::new(opts.jobs.max(1)),
        stat_cache: Mutex::new(StatCache::load(&stat_path)),
        outputs: receivers,
        opts,
        plan,
        context,
        sink: sink.clone(),
        runtime,
        cancel: cancel.clone(),
        breakpoints,
        failed_steps: Mutex::new(BTreeMap::new()),
    });
    // The listener holds an event sender (for `paused`); it must end with the build so consumers
    // see the stream close.
    let _listener = control.map(|control| {
        AbortOnDrop(tokio::spawn(super::control::listen(
            control,
            ctx.breakpoints.clone(),
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
                let _ = tx.send(Some(result.clone()));
                result
            }),
        ));
    }
    let mut results: BTreeMap<usize, Result<Arc<StageOutput>, String>> = BTreeMap::new();
    for (index, task) in tasks {
        // A panicking stage fails that stage only; its dependents see it ended without a result.
        let result = task
            .await
            .unwrap_or_else(|e| Err(format!("internal error in stage {index}: {e}")));
        results.insert(index, result);
    }
    if let Ok(cache) = ctx.stat_cache.lock() {
        let _ = cache.save(&stat_path);
    }
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

/// Loads a build record by id, or the newest one for `last`.
pub fn load_record(store: &Store, id: &str) -> Result<Option<BuildRecord>, EngineError> {
    if id != "last" {
        return Ok(store.get_json(RecordKind::Build, id)?);
    }
    Ok(store.get_json(RecordKind::Build, "last")?)
}
