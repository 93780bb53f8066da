//! What every stage task of one build shares. Executors read the build's inputs (plan, options,
//! context, store) and emit events; the scheduler's own parts (stage results, breakpoints, the
//! job semaphore, the stat cache) sit behind methods.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, SemaphorePermit, watch};
use tokio_util::sync::CancellationToken;

use super::cache::lineage_id;
use super::context::SourceTree;
use super::context::digest::StatCache;
use super::control::Breakpoints;
use super::cursor::StageOutput;
use super::error::{StageError, StepError};
use super::event::StepRef;
use super::options::BuildOptions;
use super::sink::EventSink;
use crate::exec::Runtime;
use crate::frontend::BuildPlan;
use crate::image::layer::LayerStore;
use crate::store::{LayerRef, Store};

/// What a stage task publishes for the stages that wait on it: its output, or why it failed.
pub type StageResult = Option<Result<Arc<StageOutput>, Arc<StageError>>>;

pub struct BuildCtx {
    pub store: Arc<Store>,
    pub opts: BuildOptions,
    pub plan: BuildPlan,
    pub context: SourceTree,
    pub sink: EventSink,
    pub cancel: CancellationToken,
    runtime: Option<Runtime>,
    jobs: Semaphore,
    stat_cache: Mutex<StatCache>,
    outputs: Vec<watch::Receiver<StageResult>>,
    breakpoints: Breakpoints,
    /// Makes built layers' tars and digests in the background (see [`super::digest`]).
    pub digester: super::digest::Digester,
    /// The caches `--cache-from` named.
    pub imported: super::remote::Imported,
}

/// The parts of a build context that [`BuildCtx::new`] takes as they are.
pub struct BuildInputs {
    pub store: Arc<Store>,
    pub opts: BuildOptions,
    pub plan: BuildPlan,
    pub context: SourceTree,
    pub sink: EventSink,
    pub cancel: CancellationToken,
    pub runtime: Option<Runtime>,
    pub imported: super::remote::Imported,
}

impl BuildCtx {
    /// The context and, per stage of the plan, the sender its task publishes its result on.
    pub fn new(inputs: BuildInputs) -> (BuildCtx, Vec<watch::Sender<StageResult>>) {
        let (senders, outputs) = inputs
            .plan
            .stages
            .iter()
            .map(|_| watch::channel::<StageResult>(None))
            .unzip();
        let breakpoints = Breakpoints::new(
            // A dry run runs nothing, so there is nothing to pause before.
            inputs
                .opts
                .breakpoints
                .iter()
                .filter(|_| !inputs.opts.dry_run)
                .cloned(),
            inputs.sink.clone(),
        );
        let stat_cache = Mutex::new(StatCache::load(&stat_cache_path(&inputs.store)));
        let digester = super::digest::Digester::start(
            inputs.store.clone(),
            inputs.sink.clone(),
            inputs.opts.source_date_epoch,
        );
        let ctx = BuildCtx {
            jobs: Semaphore::new(inputs.opts.jobs.max(1)),
            store: inputs.store,
            opts: inputs.opts,
            plan: inputs.plan,
            context: inputs.context,
            sink: inputs.sink,
            cancel: inputs.cancel,
            runtime: inputs.runtime,
            stat_cache,
            outputs,
            breakpoints,
            digester,
            imported: inputs.imported,
        };
        (ctx, senders)
    }

    /// Waits for a stage's result; an error names the stage that failed.
    pub async fn stage_output(&self, index: usize) -> Result<Arc<StageOutput>, Arc<StageError>> {
        let Some(rx) = self.outputs.get(index) else {
            return Err(Arc::new(StageError::NoStage(index)));
        };
        let mut rx = rx.clone();
        loop {
            if let Some(result) = rx.borrow_and_update().clone() {
                return result;
            }
            if rx.changed().await.is_err() {
                return Err(Arc::new(StageError::Vanished(index)));
            }
        }
    }

    /// `--no-cache`, or `--no-cache-filter` naming this stage (by name or number).
    pub fn no_cache_for(&self, stage_label: &str) -> bool {
        let index = self
            .plan
            .stages
            .iter()
            .find(|s| s.label() == stage_label)
            .map(|s| s.index)
            .unwrap_or_default();
        self.opts.no_cache
            || self
                .opts
                .no_cache_filter
                .iter()
                .any(|f| f == stage_label || f == &index.to_string())
    }

    /// The OCI runtime; only builds with RUN steps find one.
    pub fn runtime(&self) -> Result<Runtime, StepError> {
        self.runtime.clone().ok_or_else(|| {
            StepError::Invalid("no OCI runtime: install runc or pass --runtime".into())
        })
    }

    /// A slot among `--jobs` for executing a step (cache hits need none).
    pub async fn job(&self) -> Result<SemaphorePermit<'_>, StepError> {
        self.jobs.acquire().await.map_err(|_| StepError::Cancelled)
    }

    /// The context's stat cache, for digesting COPY sources without rehashing unchanged files.
    pub fn stat_cache(&self) -> Result<std::sync::MutexGuard<'_, StatCache>, StepError> {
        self.stat_cache
            .lock()
            .map_err(|_| StepError::Invalid("stat cache poisoned".into()))
    }

    /// Pauses before `step` when a breakpoint (or a step-once) says so.
    pub async fn before_step(&self, step: &StepRef) {
        self.breakpoints.before_step(step, &self.cancel).await;
    }

    pub fn breakpoints(&self) -> &Breakpoints {
        &self.breakpoints
    }

    /// Names "the same step" across builds (for miss reasons): Dockerfile, stage, position.
    pub fn lineage(&self, step: &StepRef) -> String {
        lineage_id(
            &self.opts.dockerfile.display().to_string(),
            &step.stage,
            step.index,
        )
    }

    /// The extracted snapshot dirs of a layer chain (lowest first), extracting off the async
    /// threads.
    pub async fn snapshots(&self, layers: &[LayerRef]) -> Result<Vec<PathBuf>, StepError> {
        let store = self.store.clone();
        let layers = layers.to_vec();
        Ok(tokio::task::spawn_blocking(move || store.snapshot(&layers)).await??)
    }

    /// The snapshot dirs of a stage's chain, waiting for built layers' digests: for a chain
    /// whose imported hits were not extracted yet.
    pub async fn lowers(
        &self,
        layers: &[super::digest::StepLayer],
    ) -> Result<Vec<PathBuf>, StepError> {
        let refs = self
            .digester
            .resolve(layers)
            .await
            .map_err(StepError::Invalid)?;
        self.snapshots(&refs).await
    }

    /// Keeps the stat cache for the next build (best effort).
    pub fn save_stat_cache(&self) {
        if let Ok(cache) = self.stat_cache.lock() {
            let _ = cache.save(&stat_cache_path(&self.store));
        }
    }
}

fn stat_cache_path(store: &Store) -> PathBuf {
    store.root().join("cache").join("statcache.json")
}
