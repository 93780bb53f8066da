//! The seam between what runs a build and what shows it. A backend turns build options into one
//! ordered stream of [`Record`]s and obeys [`Control`]s sent back in order; the build session, every
//! display (TUI, plain, JSON, the event log) and the miss-reason and replay tools sit above this
//! boundary and never ask which backend ran. Our engine is [`Local`]; a BuildKit backend is another
//! implementation of [`Backend`] producing the same events.

pub mod docker;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::engine::{self, BuildOptions, BuildOutcome, Control, EngineError, Record};
use crate::store::Store;

/// Anything that can run a build and report it as the event stream.
pub trait Backend: Send + Sync {
    /// Starts one build at once and returns its running handle; the build proceeds on the tokio
    /// runtime whether or not anyone reads its events yet (they queue).
    fn start(&self, opts: BuildOptions) -> BuildRun;
}

/// One running build, as a display driver sees it: events out, controls in, an outcome at the end.
/// `events` ends (returns `None`) when the producer is done; [`BuildRun::outcome`] is then ready.
pub struct BuildRun {
    pub events: mpsc::UnboundedReceiver<Record>,
    controls: mpsc::UnboundedSender<Control>,
    cancel: CancellationToken,
    outcome: JoinHandle<Result<BuildOutcome, EngineError>>,
}

impl BuildRun {
    /// Spawns `producer` with the three ends a backend needs: where events go, where controls
    /// come from (one channel, so they arrive in the order they were sent), and a cancel token.
    pub fn spawn<F, Fut>(producer: F) -> Self
    where
        F: FnOnce(
            mpsc::UnboundedSender<Record>,
            mpsc::UnboundedReceiver<Control>,
            CancellationToken,
        ) -> Fut,
        Fut: Future<Output = Result<BuildOutcome, EngineError>> + Send + 'static,
    {
        let (event_tx, events) = mpsc::unbounded_channel();
        let (controls, control_rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let outcome = tokio::spawn(producer(event_tx, control_rx, cancel.clone()));
        Self {
            events,
            controls,
            cancel,
            outcome,
        }
    }

    /// Passes a user's request to the build; a build that already ended ignores it.
    pub fn control(&self, c: Control) {
        let _ = self.controls.send(c);
    }

    /// Stops the build: the running step is killed and cleaned up, and the stream ends.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Waits for the build's result (call once `events` has ended).
    pub async fn outcome(self) -> Result<BuildOutcome, EngineError> {
        drop(self.events);
        self.outcome
            .await
            .unwrap_or_else(|e| Err(EngineError::Task(e)))
    }
}

/// Our own engine on a local store (`--builder local`, the default).
pub struct Local {
    store: Arc<Store>,
}

impl Local {
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }
}

impl Backend for Local {
    fn start(&self, opts: BuildOptions) -> BuildRun {
        let store = self.store.clone();
        BuildRun::spawn(move |events, controls, cancel| {
            engine::build(store, opts, events, Some(controls), cancel)
        })
    }
}
