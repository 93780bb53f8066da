//! The async loop: terminal input, engine records, ticks and finished background work meet in one
//! `select!`, go through `update`, and the frame is redrawn. The engine is never waited on.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::analyze::states;
use crate::engine::event::{Control, Record, Timestamp};

use super::effects::{Effects, Flow};
use super::model::Model;
use super::msg::Msg;
use super::shell::ShellRequest;
use super::teach::TeachLink;
use super::terminal::{self, Term};
use super::theme::Theme;
use super::tree::LayerSource;
use super::{update, view};

pub struct TuiOptions {
    pub theme: Theme,
    /// How fast the build's clock runs against the wall: 1 live, the replay speed when replaying.
    pub time_scale: f64,
    /// Where the layer tree reads layer contents from; `None` until a store is connected.
    pub layers: Option<Arc<dyn LayerSource>>,
    pub tick: Duration,
    /// The store `s` opens shells from; `None` turns shells off.
    pub store_root: Option<PathBuf>,
    /// The driver of a watch or lesson session (`w`, `a`, the lesson pane).
    pub teach: Option<TeachLink>,
}

impl Default for TuiOptions {
    fn default() -> Self {
        Self {
            theme: Theme::default(),
            time_scale: 1.0,
            layers: None,
            tick: Duration::from_millis(100),
            store_root: None,
            teach: None,
        }
    }
}

/// How the UI ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TuiExit {
    /// The build reported `build_finished` before the user left.
    pub build_finished: bool,
    /// The user quit while a live build was running, and `Control::Cancel` was sent.
    pub cancelled: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("cannot use the terminal")]
    Terminal(#[source] std::io::Error),
    #[error("reading terminal input failed")]
    Input(#[source] std::io::Error),
}

/// Runs the TUI until the user quits. Events come from the engine (or a replay) through `events`;
/// `control` carries the user's requests back to a live build.
pub async fn run(
    events: mpsc::Receiver<Record>,
    control: Option<mpsc::Sender<Control>>,
    opts: TuiOptions,
) -> Result<TuiExit, TuiError> {
    let mut term = terminal::enter().map_err(TuiError::Terminal)?;
    let result = event_loop(&mut term, events, control, opts).await;
    let restored = terminal::leave().map_err(TuiError::Terminal);
    let exit = result?;
    restored?;
    Ok(exit)
}

/// The build's clock: the last event's time, advanced by wall time times the scale.
struct Clock {
    last: Option<(Timestamp, Instant)>,
    scale: f64,
}

impl Clock {
    fn seen(&mut self, t: Timestamp) {
        if self.last.is_none_or(|(last, _)| t >= last) {
            self.last = Some((t, Instant::now()));
        }
    }

    fn now(&self) -> Timestamp {
        match self.last {
            Some((t, at)) => Timestamp(t.0 + at.elapsed().mul_f64(self.scale.max(0.0))),
            None => Timestamp::now(),
        }
    }
}

async fn event_loop(
    term: &mut Term,
    mut events: mpsc::Receiver<Record>,
    control: Option<mpsc::Sender<Control>>,
    mut opts: TuiOptions,
) -> Result<TuiExit, TuiError> {
    let size = term.size().map_err(TuiError::Terminal)?;
    let (teach_tx, mut teach_rx) = match opts.teach.take() {
        Some(link) => (Some(link.requests), Some(link.notes)),
        None => (None, None),
    };
    let mut model = Model::new(opts.theme.clone(), size.width, size.height);
    model.live = control.is_some();
    let mut input = EventStream::new();
    let mut ticker = tokio::time::interval(opts.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Msg>();
    let mut effects = Effects::new(
        done_tx,
        control,
        teach_tx,
        opts.layers.clone(),
        opts.store_root.clone(),
    );
    // Replays run the clock at replay speed; speed 0 (no pauses) keeps the recorded timeline.
    let mut clock = Clock {
        last: None,
        scale: opts.time_scale.max(0.0),
    };
    let mut stream_open = true;
    loop {
        term.draw(|f| view::view(&model, f))
            .map_err(TuiError::Terminal)?;
        let exit = |model: &Model, effects: &Effects| TuiExit {
            build_finished: model.build.finished.is_some(),
            cancelled: effects.cancelled,
        };
        let mut batch = Vec::new();
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(TermEvent::Key(k))) => batch.push(Msg::Key(k)),
                Some(Ok(TermEvent::Mouse(m))) => batch.push(Msg::Mouse(m)),
                Some(Ok(TermEvent::Resize(width, height))) => batch.push(Msg::Resize { width, height }),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(TuiError::Input(e)),
                None => return Ok(exit(&model, &effects)),
            },
            rec = events.recv(), if stream_open => match rec {
                Some(r) => drain(r, &mut events, &mut clock, &mut batch),
                None => {
                    stream_open = false;
                    batch.push(Msg::EngineClosed);
                }
            },
            Some(msg) = done_rx.recv() => batch.push(msg),
            Some(note) = async { match teach_rx.as_mut() { Some(rx) => rx.recv().await, None => None } }, if teach_rx.is_some() => {
                batch.push(Msg::Teach(note));
            }
            _ = ticker.tick() => batch.push(Msg::Tick { now: clock.now() }),
        }
        let mut shell = None;
        for msg in batch {
            for effect in update::update(&mut model, msg) {
                match effects.run(effect) {
                    Flow::Continue => {}
                    Flow::Quit => return Ok(exit(&model, &effects)),
                    Flow::Shell(request) => shell = Some(request),
                }
            }
        }
        if let Some(request) = shell {
            // crossterm's input thread would race the shell for stdin: stop it, start anew after.
            drop(input);
            terminal::leave().map_err(TuiError::Terminal)?;
            let notice = open_shell(opts.store_root.clone(), *request).await;
            terminal::resume(term).map_err(TuiError::Terminal)?;
            input = EventStream::new();
            model.notice = Some(notice);
        }
    }
}

/// Takes `first` and what is already queued behind it, so a flood of log lines costs one frame,
/// not thousands.
fn drain(
    first: Record,
    events: &mut mpsc::Receiver<Record>,
    clock: &mut Clock,
    batch: &mut Vec<Msg>,
) {
    clock.seen(first.time);
    batch.push(Msg::Engine(first));
    let started = Instant::now();
    while batch.len() < 20_000 && started.elapsed() < Duration::from_millis(15) {
        match events.try_recv() {
            Ok(r) => {
                clock.seen(r.time);
                batch.push(Msg::Engine(r));
            }
            Err(_) => break,
        }
    }
}

/// Runs the shell on the bare terminal; says how it went, for the status bar.
async fn open_shell(store_root: Option<PathBuf>, request: ShellRequest) -> String {
    let Some(root) = store_root else {
        return "no store is connected to this view: no shell".into();
    };
    let label = request.label.clone();
    match states::open_shell(root, request).await {
        Ok(code) => format!("shell in {label} exited with {code}"),
        Err(e) => {
            // Leave the error on screen long enough to read: the UI would paint over it at once.
            eprintln!("stagecraft: {e}\n(press Enter to return to the build)");
            let _ = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)
            })
            .await;
            format!("shell failed: {e}")
        }
    }
}
