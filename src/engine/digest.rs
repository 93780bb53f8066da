//! Layer tars and digests off the critical path. A finished step's snapshot is usable at once
//! (the next step mounts it); its tar, digest and blob are made here, on one worker thread at
//! the lowest CPU and best-effort I/O priority while the build goes on, and on demand (at the
//! caller's priority, or by raising the worker's) when something needs the digest: the image a
//! build writes at its end. Cache keys never depend on these digests.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::event::{Event, StepRef};
use super::sink::EventSink;
use crate::image::layer::digest_built;
use crate::store::{BuiltLayer, CacheRecord, LayerDesc, LayerRef, RecordKind, Store};

/// Media type of the plain tars builds commit.
pub const TAR_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// What a step record says for a layer whose digest is not known yet (in its layer list and in
/// its config's `rootfs.diff_ids`); the build's end puts the digest in its place.
pub fn placeholder(id: &str) -> String {
    format!("pending:{id}")
}

/// A step's layer: digested (an image's, or a cached step's whose digest is known) or pending.
#[derive(Debug, Clone)]
pub enum StepLayer {
    Ready(Box<LayerRef>),
    Built(Arc<Pending>),
}

impl StepLayer {
    /// The layer if its digest is known by now.
    pub fn known(&self) -> Option<LayerRef> {
        match self {
            StepLayer::Ready(l) => Some((**l).clone()),
            StepLayer::Built(p) => match &*p.lock() {
                State::Done(Ok(l)) => Some((**l).clone()),
                _ => None,
            },
        }
    }

    /// The layer's diff_id, or its [`placeholder`] while that is not known.
    pub fn diff_id(&self) -> String {
        match (self.known(), self) {
            (Some(l), _) => l.diff_id.to_string(),
            (None, StepLayer::Built(p)) => placeholder(&p.id),
            (None, StepLayer::Ready(l)) => l.diff_id.to_string(),
        }
    }

    /// The layer as a build record lists it (placeholders while not digested).
    pub fn desc(&self) -> LayerDesc {
        match self.known() {
            Some(l) => LayerDesc::from_ref(&l),
            None => LayerDesc {
                digest: self.diff_id(),
                media_type: TAR_LAYER.into(),
                size: 0,
                diff_id: self.diff_id(),
            },
        }
    }
}

#[derive(Debug)]
enum State {
    Queued,
    Running,
    Done(Result<Box<LayerRef>, String>),
}

/// A built snapshot waiting for its tar and digest.
#[derive(Debug)]
pub struct Pending {
    /// The built snapshot's id ([`crate::store::built_id`]).
    pub id: String,
    /// The step's cache key: its record learns the digest.
    pub key: String,
    pub step: StepRef,
    /// Added, modified, removed: from the stat walk when the step ended.
    pub counts: (u64, u64, u64),
    state: Mutex<State>,
    done: Condvar,
}

impl Pending {
    pub fn new(id: String, key: String, step: StepRef, counts: (u64, u64, u64)) -> Arc<Self> {
        Arc::new(Self {
            id,
            key,
            step,
            counts,
            state: Mutex::new(State::Queued),
            done: Condvar::new(),
        })
    }

    /// A built snapshot whose layer was digested before (a cache hit).
    pub fn digested(id: String, key: String, step: StepRef, layer: &BuiltLayer) -> Arc<Self> {
        let state = match layer.layer_ref() {
            Some(l) => State::Done(Ok(Box::new(l))),
            None => State::Queued,
        };
        Arc::new(Self {
            id,
            key,
            step,
            counts: (layer.added, layer.modified, layer.removed),
            state: Mutex::new(state),
            done: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Shared {
    store: Arc<Store>,
    /// Taken when the build ends, so a digest still running then does not hold the event
    /// stream open.
    sink: Mutex<Option<EventSink>>,
    source_date_epoch: Option<u64>,
    queue: Mutex<VecDeque<Arc<Pending>>>,
    wake: Condvar,
    stop: AtomicBool,
    /// The worker's thread id while it works on a job (0 when idle), for raising its priority.
    busy_tid: AtomicI32,
    /// Every built layer of this build, for [`Digester::resolve_all`].
    all: Mutex<Vec<Arc<Pending>>>,
}

/// The background digest worker of one build. Dropping it stops the worker after its current
/// job; a job cut short by the process ending leaves only a temporary file that nothing names.
pub struct Digester {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Digester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Digester")
    }
}

/// The worker's nice value: it only uses CPU nobody else wants.
const LOW_NICE: i32 = 19;

impl Digester {
    pub fn start(store: Arc<Store>, sink: EventSink, source_date_epoch: Option<u64>) -> Self {
        let shared = Arc::new(Shared {
            store,
            sink: Mutex::new(Some(sink)),
            source_date_epoch,
            queue: Mutex::new(VecDeque::new()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            busy_tid: AtomicI32::new(0),
            all: Mutex::new(Vec::new()),
        });
        let worker = shared.clone();
        // Without a worker every digest is made on demand: slower builds, same results.
        let _ = std::thread::Builder::new()
            .name("layer-digest".into())
            .spawn(move || worker.run());
        Self { shared }
    }

    /// Queues a layer for the background worker (one already digested is only registered).
    pub fn submit(&self, layer: Arc<Pending>) {
        lock(&self.shared.all).push(layer.clone());
        if matches!(*layer.lock(), State::Queued) {
            lock(&self.shared.queue).push_back(layer);
            self.shared.wake.notify_one();
        }
    }

    /// The digested layers, waiting (off the async runtime) for those still pending.
    pub async fn resolve(&self, layers: &[StepLayer]) -> Result<Vec<LayerRef>, String> {
        let mut out = Vec::with_capacity(layers.len());
        for layer in layers {
            out.push(match layer {
                StepLayer::Ready(l) => (**l).clone(),
                StepLayer::Built(p) => self.wait(p.clone()).await?,
            });
        }
        Ok(out)
    }

    /// Every built layer of the build digested, by [`placeholder`]: what the build's end needs
    /// to finish its records and images.
    pub async fn resolve_all(&self) -> Result<HashMap<String, LayerRef>, String> {
        let all = lock(&self.shared.all).clone();
        let mut out = HashMap::new();
        for p in all {
            let layer = self.wait(p.clone()).await?;
            out.insert(placeholder(&p.id), layer);
        }
        Ok(out)
    }

    async fn wait(&self, layer: Arc<Pending>) -> Result<LayerRef, String> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.wait(&layer))
            .await
            .map_err(|e| e.to_string())?
    }
}

impl Drop for Digester {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        lock(&self.shared.sink).take();
        self.shared.wake.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The layer's digest, now: made on this thread if nobody started it, else waited for with
    /// the worker raised to normal priority.
    fn wait(&self, layer: &Pending) -> Result<LayerRef, String> {
        let mut state = layer.lock();
        if matches!(*state, State::Queued) {
            *state = State::Running;
            drop(state);
            self.digest(layer);
            state = layer.lock();
        } else if matches!(*state, State::Running) {
            set_priority(self.busy_tid.load(Ordering::Acquire), 0);
        }
        while matches!(*state, State::Running) {
            state = layer
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        match &*state {
            State::Done(result) => result.clone().map(|l| *l),
            _ => Err("layer digest did not finish".into()),
        }
    }

    fn run(&self) {
        // SAFETY: gettid has no arguments and cannot fail.
        let tid = unsafe { libc::gettid() };
        loop {
            let next = {
                let mut queue = lock(&self.queue);
                loop {
                    if self.stop.load(Ordering::Acquire) {
                        return;
                    }
                    if let Some(next) = queue.pop_front() {
                        break next;
                    }
                    queue = self
                        .wake
                        .wait(queue)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            };
            let mut state = next.lock();
            if !matches!(*state, State::Queued) {
                continue; // taken on demand meanwhile
            }
            *state = State::Running;
            drop(state);
            set_priority(tid, LOW_NICE);
            self.busy_tid.store(tid, Ordering::Release);
            self.digest(&next);
            self.busy_tid.store(0, Ordering::Release);
        }
    }

    /// Writes the blob and `layer.json`, tells the step's cache record and the event stream.
    fn digest(&self, layer: &Pending) {
        let made = digest_built(&self.store, &layer.id, self.source_date_epoch, layer.counts)
            .map_err(|e| format!("digesting the layer of step {}: {e}", layer.step));
        let result = made.and_then(|built| {
            self.record(&layer.key, &built);
            if let Some(sink) = &*lock(&self.sink) {
                sink.emit(Event::LayerDigested {
                    step: layer.step.clone(),
                    layer: built.info(),
                });
            }
            built
                .layer_ref()
                .map(Box::new)
                .ok_or_else(|| format!("step {}: bad layer digest {}", layer.step, built.digest))
        });
        *layer.lock() = State::Done(result);
        layer.done.notify_all();
    }

    /// The step's cache record learns the digest (best effort: `layer.json` is the truth).
    fn record(&self, key: &str, built: &BuiltLayer) {
        let Ok(Some(mut record)) = self.store.get_json::<CacheRecord>(RecordKind::Cache, key)
        else {
            return;
        };
        if let Some(l) = record.layer.as_mut() {
            l.digest.clone_from(&built.digest);
            l.diff_id.clone_from(&built.diff_id);
            l.media_type.clone_from(&built.media_type);
            l.compressed_size = built.compressed_size;
            l.size = built.size;
            let _ = self.store.put_json(RecordKind::Cache, key, &record);
        }
    }
}

/// Sets thread `tid`'s nice value and a matching best-effort I/O priority (level 7 is the
/// lowest; the idle class could starve behind other processes' writes while a build waits).
fn set_priority(tid: i32, nice: i32) {
    if tid <= 0 {
        return;
    }
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const IOPRIO_CLASS_BE: libc::c_long = 2;
    let level = if nice > 0 { 7 } else { 4 };
    let Ok(id) = libc::id_t::try_from(tid) else {
        return;
    };
    // SAFETY: plain integer arguments; failures (no CAP_SYS_NICE to raise) leave it as it was.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, id, nice);
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            libc::c_long::from(tid),
            (IOPRIO_CLASS_BE << 13) | level,
        );
    }
}
