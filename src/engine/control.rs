//! Breakpoints and the control channel: a UI pauses a stage before a step, continues it, runs one
//! more step, or cancels the build. Other stages keep going while one is paused.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::event::{Control, Event, StepRef};
use super::sink::EventSink;

#[derive(Default)]
struct Inner {
    set: HashSet<StepRef>,
    /// `StepOnce`: pause again before the next step any stage starts.
    pause_next: bool,
    /// Bumped by Continue/StepOnce; a paused step waits for it to change.
    generation: u64,
}

#[derive(Clone)]
pub struct Breakpoints {
    inner: Arc<Mutex<Inner>>,
    resumed: Arc<Notify>,
    sink: EventSink,
}

impl Breakpoints {
    pub fn new(steps: impl IntoIterator<Item = StepRef>, sink: EventSink) -> Self {
        let inner = Inner {
            set: steps.into_iter().collect(),
            ..Inner::default()
        };
        Self {
            inner: Arc::new(Mutex::new(inner)),
            resumed: Arc::new(Notify::new()),
            sink,
        }
    }

    /// Waits here, after a `paused` event, when `step` has a breakpoint or a single step was asked.
    pub async fn before_step(&self, step: &StepRef, cancel: &CancellationToken) {
        let generation = {
            let Ok(mut inner) = self.inner.lock() else {
                return;
            };
            if !inner.set.contains(step) && !inner.pause_next {
                return;
            }
            inner.pause_next = false;
            inner.generation
        };
        self.sink.emit(Event::Paused { step: step.clone() });
        loop {
            let notified = self.resumed.notified();
            let moved_on = self
                .inner
                .lock()
                .map(|i| i.generation != generation)
                .unwrap_or(true);
            if moved_on || cancel.is_cancelled() {
                return;
            }
            tokio::select! {
                _ = notified => {}
                _ = cancel.cancelled() => return,
            }
        }
    }

    pub fn apply(&self, control: &Control) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        match control {
            Control::Continue => inner.generation += 1,
            Control::StepOnce => {
                inner.generation += 1;
                inner.pause_next = true;
            }
            Control::SetBreakpoint { step } => {
                inner.set.insert(step.clone());
            }
            Control::ClearBreakpoint { step } => {
                inner.set.remove(step);
            }
            Control::Cancel | Control::OpenShell { .. } => {}
        }
        drop(inner);
        self.resumed.notify_waiters();
    }
}

/// Applies controls from a UI until it hangs up.
pub async fn listen(
    mut rx: mpsc::UnboundedReceiver<Control>,
    breakpoints: Breakpoints,
    cancel: CancellationToken,
) {
    while let Some(control) = rx.recv().await {
        if control == Control::Cancel {
            cancel.cancel();
        }
        breakpoints.apply(&control);
    }
}
