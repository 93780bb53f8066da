//! A build session: one backend, one display, one ordered control channel between them — the
//! single consumer of the event stream, as BuildKit's progressui is. `build` (one build, or a
//! rebuild on every change with `--watch`), the TUI's `w` and `a` keys, and `learn` (a lesson's
//! try steps, applied by the user in the TUI or one after another by a printer) all run here; the
//! display may be the TUI or a printer (plain or JSON lines), and `--event-log` records every
//! event whichever it is. A new change cancels a running build first.
//!
//! Layer: above `ui` (it opens displays) and `backend` (it runs builds through [`Backend`]), below
//! `cli` (which turns flags into a [`Session`]).

mod display;
mod findings;
mod notes;
mod signal;
mod source;
pub mod watch;

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::backend::{Backend, BuildRun};
use crate::engine::sink::LogBacklog;
use crate::engine::{BuildOptions, BuildOutcome, EngineError, Event, Record};
use crate::store::Store;
use crate::ui::progress::{JsonPrinter, Printer};
use crate::ui::tui::teach::RunSummary;
use crate::ui::tui::{TeachNote, TeachRequest};

pub use display::View;
pub use findings::findings;
pub use signal::cancel_signal;
pub use source::Source;

use display::{Display, Input};
use watch::ContextWatcher;

pub struct Session {
    pub backend: Arc<dyn Backend>,
    /// The store the backend builds into: a lesson's images are explained from it.
    pub store: Arc<Store>,
    pub source: Source,
    pub watch: bool,
    /// A lesson without the TUI: apply up to this many try steps, one rebuild each, then end.
    pub walk: Option<usize>,
    pub event_log: Option<JsonPrinter<BufWriter<File>>>,
}

/// Why a build's loop ended before it went idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Rebuild,
    Quit,
}

/// The build in progress, and what it has shown so far.
struct Current {
    run: Option<BuildRun>,
    label: String,
    backlog: Option<Arc<LogBacklog>>,
    summary: Option<RunSummary>,
}

impl Current {
    fn cancel(&self) {
        if let Some(run) = &self.run {
            run.cancel();
        }
    }
}

struct Watched {
    context: PathBuf,
    dockerfile: PathBuf,
    watcher: ContextWatcher,
}

impl Session {
    /// Runs builds until the user quits (the TUI, or a signal), or — without the TUI and without
    /// watching — after one build (or a lesson's walk). Returns the last build's outcome.
    pub async fn run(self, view: View) -> Result<BuildOutcome, EngineError> {
        let quit = CancellationToken::new();
        let signalled = quit.clone();
        tokio::spawn(async move {
            if cancel_signal().await {
                signalled.cancel();
            }
        });
        let mut driver = Driver {
            display: Display::open(view, &quit),
            session: self,
            watched: None,
        };
        let outcome = driver.drive(&quit).await;
        driver.display.close().await;
        outcome
    }
}

struct Driver {
    session: Session,
    display: Display,
    watched: Option<Watched>,
}

impl Driver {
    async fn drive(&mut self, quit: &CancellationToken) -> Result<BuildOutcome, EngineError> {
        if let Some(info) = self.session.source.lesson() {
            self.display.note(TeachNote::Lesson(info));
        }
        self.display.note(TeachNote::Watching(self.session.watch));
        loop {
            let opts = self.session.source.options().map_err(EngineError::Lesson)?;
            if self.session.watch {
                self.follow(&opts);
            }
            let (last, next) = self.one_build(opts, quit).await;
            if next == Next::Quit {
                return last;
            }
        }
    }

    /// Runs one build and then, if the session goes on without a new build yet, waits for what
    /// comes next: a change, a request, or the end.
    async fn one_build(
        &mut self,
        opts: BuildOptions,
        quit: &CancellationToken,
    ) -> (Result<BuildOutcome, EngineError>, Next) {
        let mut current = Current {
            label: Source::label(&opts),
            backlog: opts.log_backlog.clone(),
            run: Some(self.session.backend.start(opts)),
            summary: None,
        };
        let mut last = Err(EngineError::NoBuild);
        let mut next: Option<Next> = None;
        loop {
            let running = current.run.is_some();
            tokio::select! {
                r = recv_events(current.run.as_mut()), if running => match r {
                    Some(r) => self.show(&mut current, r).await,
                    None => {
                        let Some(run) = current.run.take() else { continue };
                        last = run.outcome().await;
                        self.report(&last, current.summary.take(), next).await;
                        if next.is_none() {
                            next = self.after(&last);
                        }
                    }
                },
                input = self.display.input() => match input {
                    Input::Control(c) => {
                        if let Some(run) = &current.run {
                            run.control(c);
                        }
                    }
                    Input::Request(r) => {
                        if self.request(r) {
                            next = Some(Next::Rebuild);
                            current.cancel();
                        }
                    }
                    Input::Closed => {
                        next = Some(Next::Quit);
                        current.cancel();
                    }
                },
                Some(files) = changed(self.watched.as_mut()) => {
                    self.display.note(TeachNote::Changed(files));
                    next.get_or_insert(Next::Rebuild);
                    current.cancel();
                }
                () = quit.cancelled(), if next != Some(Next::Quit) => {
                    next = Some(Next::Quit);
                    current.cancel();
                }
            }
            if current.run.is_none()
                && let Some(next) = next
            {
                return (last, next);
            }
        }
    }

    /// One record to the event log and the display; shown, its log text stops counting against
    /// the engine's backlog.
    async fn show(&mut self, current: &mut Current, r: Record) {
        if let Event::BuildFinished {
            totals,
            error,
            image,
        } = &r.event
        {
            current.summary = Some(RunSummary {
                label: current.label.clone(),
                ok: error.is_none() && image.is_some(),
                image_size: totals.image_size,
                steps: totals.steps,
                cached: totals.cached,
                seconds: totals.duration,
                findings: Vec::new(),
            });
        }
        if let Some(log) = self.session.event_log.as_mut() {
            let _ = log.print(&r);
        }
        let cost = LogBacklog::cost(&r);
        self.display.show(r).await;
        if let Some(b) = &current.backlog {
            b.release(cost);
        }
    }

    /// Tells the display how a build ended: the run table's row (with what explain finds in a
    /// lesson's image), or the error of a build that never reported `build_finished`.
    async fn report(
        &mut self,
        last: &Result<BuildOutcome, EngineError>,
        summary: Option<RunSummary>,
        next: Option<Next>,
    ) {
        let Some(mut s) = summary else {
            if let Err(e) = last
                && self.display.interactive()
            {
                self.display
                    .note(TeachNote::Error(format!("build failed: {e}")));
            }
            return;
        };
        if !s.ok && next.is_some() {
            s.label.push_str(" (cancelled for a newer change)");
        }
        if let (Source::Lesson(_), Ok(o)) = (&self.session.source, last)
            && let Some(image) = o.record.image.clone()
        {
            s.findings = findings(self.session.store.clone(), image).await;
        }
        self.display.note(TeachNote::Run(s));
    }

    /// What follows a build that ended on its own: the next try step of a walk, the end of the
    /// session, or (`None`) waiting for a change or the user.
    fn after(&mut self, last: &Result<BuildOutcome, EngineError>) -> Option<Next> {
        if let Some(left) = self.session.walk {
            self.display.walked(last);
            if left > 0 && self.next_step() {
                self.session.walk = Some(left - 1);
                return Some(Next::Rebuild);
            }
            return Some(Next::Quit);
        }
        if !self.display.interactive() && !self.session.watch {
            return Some(Next::Quit);
        }
        if self.session.watch {
            self.display.idle(last);
        }
        None
    }

    /// Handles `w` and `a`; true when a new build must start.
    fn request(&mut self, r: TeachRequest) -> bool {
        match r {
            TeachRequest::ToggleWatch => {
                self.session.watch = !self.session.watch;
                if !self.session.watch {
                    self.watched = None;
                } else if let Ok(opts) = self.session.source.options() {
                    // Made at the next build; for this one, now.
                    self.follow(&opts);
                }
                self.display.note(TeachNote::Watching(self.session.watch));
                false
            }
            TeachRequest::NextStep => self.next_step(),
        }
    }

    /// Applies the lesson's next try step; true when there was one.
    fn next_step(&mut self) -> bool {
        let Source::Lesson(ws) = &mut self.session.source else {
            return false;
        };
        match ws.apply_next() {
            Ok(Some(_)) => {
                let applied = ws.applied;
                // The step's own edits are not a change to watch: a watcher made after them has
                // not seen them.
                if let Some(w) = self.watched.take()
                    && let Ok(watcher) = ContextWatcher::new(&w.context, &w.dockerfile)
                {
                    self.watched = Some(Watched { watcher, ..w });
                }
                self.display.note(TeachNote::Applied(applied));
                true
            }
            Ok(None) => false,
            Err(e) => {
                self.display.note(TeachNote::Error(e.to_string()));
                false
            }
        }
    }

    /// Watches the context and Dockerfile `opts` builds from (a new watcher when they moved).
    fn follow(&mut self, opts: &BuildOptions) {
        if self
            .watched
            .as_ref()
            .is_some_and(|w| w.context == opts.context && w.dockerfile == opts.dockerfile)
        {
            return;
        }
        match ContextWatcher::new(&opts.context, &opts.dockerfile) {
            Ok(watcher) => {
                self.watched = Some(Watched {
                    context: opts.context.clone(),
                    dockerfile: opts.dockerfile.clone(),
                    watcher,
                })
            }
            Err(e) => self.display.note(TeachNote::Error(e.to_string())),
        }
    }
}

async fn recv_events(run: Option<&mut BuildRun>) -> Option<Record> {
    match run {
        Some(run) => run.events.recv().await,
        None => std::future::pending().await,
    }
}

async fn changed(w: Option<&mut Watched>) -> Option<Vec<String>> {
    match w {
        Some(w) => w.watcher.changed().await,
        None => std::future::pending().await,
    }
}
