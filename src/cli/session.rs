//! A build session: one display (the TUI, or a printer) over a series of builds. A build reruns
//! when watched files change (`--watch`, `w`) or a lesson's next "try this" step is applied
//! (`a`); a new change cancels a running build first. The TUI stays open across builds and shows
//! each new run with its cache hits and misses.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::view::Display;
use super::watch::ContextWatcher;
use crate::engine::sink::LogBacklog;
use crate::engine::{self, BuildOptions, BuildOutcome, Control, EngineError, Event, Record};
use crate::lesson::Workspace;
use crate::store::Store;
use crate::ui::progress::{JsonPrinter, Printer};
use crate::ui::tui::teach::{LessonInfo, RunSummary};
use crate::ui::tui::{self, TeachLink, TeachNote, TeachRequest, TuiOptions};

/// What each build builds: fixed options, or a lesson's working copy as its steps change it.
pub enum Source {
    Options(Box<BuildOptions>),
    Lesson(Box<Workspace>),
}

impl Source {
    fn options(&self) -> Result<BuildOptions, String> {
        match self {
            Source::Options(o) => Ok((**o).clone()),
            Source::Lesson(ws) => ws.options(),
        }
    }

    fn label(&self, opts: &BuildOptions) -> String {
        let file = opts
            .dockerfile
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        match &opts.target {
            Some(t) => format!("{file} --target {t}"),
            None => file,
        }
    }
}

pub struct Session {
    pub store: Arc<Store>,
    pub source: Source,
    pub watch: bool,
    pub event_log: Option<JsonPrinter<BufWriter<File>>>,
}

/// Where records go: the TUI's channel or a printer.
enum Out {
    Tui(mpsc::Sender<Record>),
    Printer(Box<dyn Printer>),
}

impl Out {
    async fn send(&mut self, r: Record) {
        match self {
            Out::Tui(tx) => {
                let _ = tx.send(r).await;
            }
            Out::Printer(p) => {
                let _ = p.print(&r);
            }
        }
    }
}

/// The UI's side of the session, when there is a UI.
struct Ui {
    controls: mpsc::Receiver<Control>,
    requests: mpsc::UnboundedReceiver<TeachRequest>,
    notes: mpsc::UnboundedSender<TeachNote>,
}

impl Session {
    /// Runs builds until the user quits (the TUI, or Ctrl-C when watching) or, without watching
    /// and without a UI, after one build. Returns the last build's outcome.
    pub async fn run(self, display: Display) -> Result<BuildOutcome, EngineError> {
        let quit = CancellationToken::new();
        let ctrl_c = quit.clone();
        tokio::spawn(async move {
            if super::build::cancel_signal().await {
                ctrl_c.cancel();
            }
        });
        match display {
            Display::Printer(printer) => self.drive(Out::Printer(printer), None, quit).await,
            Display::Tui(opts) => {
                let (tui_tx, tui_rx) = mpsc::channel::<Record>(4096);
                let (ctl_tx, ctl_rx) = mpsc::channel::<Control>(64);
                let (req_tx, req_rx) = mpsc::unbounded_channel();
                let (note_tx, note_rx) = mpsc::unbounded_channel();
                let opts = TuiOptions {
                    teach: Some(TeachLink {
                        requests: req_tx,
                        notes: note_rx,
                    }),
                    ..*opts
                };
                let closed = quit.clone();
                let signalled = quit.clone();
                let tui = tokio::spawn(async move {
                    let exit = tokio::select! {
                        exit = tui::run(tui_rx, Some(ctl_tx), opts) => exit,
                        // Only a signal cancels `quit` while the UI is up: it ends the UI too
                        // (terminal restored) instead of waiting for a key after the build stops.
                        () = signalled.cancelled() => {
                            let _ = tui::terminal::leave();
                            Ok(tui::TuiExit { build_finished: false, cancelled: true })
                        }
                    };
                    closed.cancel();
                    exit
                });
                let ui = Ui {
                    controls: ctl_rx,
                    requests: req_rx,
                    notes: note_tx,
                };
                let outcome = self.drive(Out::Tui(tui_tx), Some(ui), quit).await;
                match tui.await {
                    Ok(Err(e)) => eprintln!("{e}"),
                    Err(e) => eprintln!("display task failed: {e}"),
                    Ok(Ok(_)) => {}
                }
                outcome
            }
        }
    }

    async fn drive(
        mut self,
        mut out: Out,
        ui: Option<Ui>,
        quit: CancellationToken,
    ) -> Result<BuildOutcome, EngineError> {
        let has_ui = ui.is_some();
        let (mut controls, mut requests, notes) = match ui {
            Some(u) => (Some(u.controls), Some(u.requests), Some(u.notes)),
            None => (None, None, None),
        };
        let note = |notes: &Option<mpsc::UnboundedSender<TeachNote>>, n: TeachNote| {
            if let Some(tx) = notes {
                let _ = tx.send(n);
            }
        };
        if let Source::Lesson(ws) = &self.source {
            let l = &ws.lesson;
            note(
                &notes,
                TeachNote::Lesson(LessonInfo {
                    number: l.number,
                    title: l.title().to_string(),
                    text: l.text.clone(),
                    steps: l
                        .manifest
                        .steps
                        .iter()
                        .map(|s| (s.title.clone(), s.look.clone()))
                        .collect(),
                    workdir: ws.path().display().to_string(),
                }),
            );
        }
        note(&notes, TeachNote::Watching(self.watch));
        let mut watcher: Option<(PathBuf, PathBuf, ContextWatcher)> = None;
        let mut last: Result<BuildOutcome, EngineError> =
            Err(EngineError::Other("no build ran".into()));
        loop {
            let opts = match self.source.options() {
                Ok(o) => o,
                Err(e) => return Err(EngineError::Other(e)),
            };
            let label = self.source.label(&opts);
            // The engine holds log lines back while too many wait to be shown; shown, they go.
            let backlog = opts.log_backlog.clone();
            if self.watch {
                let key = (opts.context.clone(), opts.dockerfile.clone());
                if watcher
                    .as_ref()
                    .is_none_or(|(c, d, _)| (c, d) != (&key.0, &key.1))
                {
                    match ContextWatcher::new(&key.0, &key.1) {
                        Ok(w) => watcher = Some((key.0, key.1, w)),
                        Err(e) => {
                            if !has_ui {
                                eprintln!("stagecraft: {e}");
                            }
                            note(&notes, TeachNote::Error(e.to_string()))
                        }
                    }
                }
            }
            let cancel = CancellationToken::new();
            let (tx, mut rx) = mpsc::unbounded_channel::<Record>();
            let (btx, brx) = mpsc::unbounded_channel::<Control>();
            let mut build = Some(tokio::spawn(engine::build(
                self.store.clone(),
                opts,
                tx,
                Some(brx),
                cancel.clone(),
            )));
            let mut finished = false;
            let mut rebuild = false;
            let mut quitting = false;
            let mut summary: Option<RunSummary> = None;
            loop {
                tokio::select! {
                    r = rx.recv(), if !finished => match r {
                        Some(r) => {
                            if let Event::BuildFinished { totals, error, image } = &r.event {
                                summary = Some(RunSummary {
                                    label: label.clone(),
                                    ok: error.is_none() && image.is_some(),
                                    image_size: totals.image_size,
                                    steps: totals.steps,
                                    cached: totals.cached,
                                    seconds: totals.duration,
                                    findings: Vec::new(),
                                });
                            }
                            if let Some(log) = self.event_log.as_mut() {
                                let _ = log.print(&r);
                            }
                            let cost = LogBacklog::cost(&r);
                            out.send(r).await;
                            if let Some(b) = &backlog {
                                b.release(cost);
                            }
                        }
                        None => finished = true,
                    },
                    Some(c) = recv(controls.as_mut()) => {
                        let _ = btx.send(c);
                    }
                    Some(req) = recv_unbounded(requests.as_mut()) => match req {
                        TeachRequest::ToggleWatch => {
                            self.watch = !self.watch;
                            if !self.watch {
                                watcher = None;
                            } else {
                                // Made at the next build; for this one, now.
                                let (c, d) = match self.source.options() {
                                    Ok(o) => (o.context, o.dockerfile),
                                    Err(_) => continue,
                                };
                                match ContextWatcher::new(&c, &d) {
                                    Ok(w) => watcher = Some((c, d, w)),
                                    Err(e) => {
                        if !has_ui {
                            eprintln!("stagecraft: {e}");
                        }
                        note(&notes, TeachNote::Error(e.to_string()))
                    }
                                }
                            }
                            note(&notes, TeachNote::Watching(self.watch));
                        }
                        TeachRequest::NextStep => {
                            if let Source::Lesson(ws) = &mut self.source {
                                match ws.apply_next() {
                                    Ok(Some(_)) => {
                                        // The step's own edits are not a change to watch: a
                                        // watcher made after them has not seen them.
                                        if let Some((c, d, _)) = watcher.take()
                                            && let Ok(w) = ContextWatcher::new(&c, &d)
                                        {
                                            watcher = Some((c, d, w));
                                        }
                                        note(&notes, TeachNote::Applied(ws.applied));
                                        rebuild = true;
                                        cancel.cancel();
                                    }
                                    Ok(None) => {}
                                    Err(e) => {
                        if !has_ui {
                            eprintln!("stagecraft: {e}");
                        }
                        note(&notes, TeachNote::Error(e.to_string()))
                    }
                                }
                            }
                        }
                    },
                    Some(files) = changed(watcher.as_mut().map(|(_, _, w)| w)) => {
                        if matches!(out, Out::Printer(_)) {
                            eprintln!("stagecraft: changed: {}: rebuilding", files.join(", "));
                        }
                        note(&notes, TeachNote::Changed(files));
                        rebuild = true;
                        cancel.cancel();
                    }
                    _ = quit.cancelled(), if !quitting => {
                        quitting = true;
                        cancel.cancel();
                    }
                }
                if finished && let Some(handle) = build.take() {
                    last = handle
                        .await
                        .unwrap_or_else(|e| Err(EngineError::Other(format!("build task: {e}"))));
                    // A build that got as far as `build_finished` shows its own failure.
                    if summary.is_none()
                        && let Err(e) = &last
                    {
                        note(&notes, TeachNote::Error(format!("build failed: {e}")));
                    }
                    if let Some(mut s) = summary.take() {
                        if !s.ok && (rebuild || quitting) {
                            s.label.push_str(" (cancelled for a newer change)");
                        }
                        if let (Source::Lesson(_), Ok(o)) = (&self.source, &last)
                            && let Some(image) = o.record.image.clone()
                        {
                            s.findings = findings(self.store.clone(), image).await;
                        }
                        note(&notes, TeachNote::Run(s));
                    }
                    // Plain progress without --watch: one build and done.
                    if !has_ui && !self.watch {
                        return last;
                    }
                    if matches!(out, Out::Printer(_)) && !rebuild && !quitting {
                        if let Err(e) = &last {
                            eprintln!("stagecraft: {e}");
                        }
                        eprintln!("stagecraft: watching for changes (Ctrl-C stops)");
                    }
                }
                if finished && (rebuild || quitting) {
                    break;
                }
            }
            if quitting {
                return last;
            }
        }
    }
}

async fn recv<T>(rx: Option<&mut mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv_unbounded<T>(rx: Option<&mut mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn changed(w: Option<&mut ContextWatcher>) -> Option<Vec<String>> {
    match w {
        Some(w) => w.changed().await,
        None => std::future::pending().await,
    }
}

/// What explain finds in the image, in a line each: wasted bytes, secrets, the file count.
pub(crate) async fn findings(store: Arc<Store>, image: String) -> Vec<String> {
    let work = tokio::task::spawn_blocking(move || -> Result<Vec<String>, String> {
        let resolved = engine::lookup::resolve_target(&store, &image).map_err(|e| e.to_string())?;
        let report = crate::analyze::report::explain(
            &store,
            &resolved.label,
            &resolved.layers,
            &resolved.config,
            0,
        )
        .map_err(|e| e.to_string())?;
        let mut out = vec![format!(
            "{} files, {} wasted (explain)",
            report.largest_files.len(),
            crate::ui::tui::format::size(report.efficiency.wasted_bytes)
        )];
        for s in &report.secrets {
            out.push(format!(
                "secret: {} in {} (layer {}{})",
                s.found.kind,
                s.path,
                s.layer,
                if s.in_final_image {
                    ""
                } else {
                    ", deleted later, still in the layer"
                }
            ));
        }
        if report.secrets.is_empty() {
            out.push("no secrets in any layer".into());
        }
        Ok(out)
    });
    match work.await {
        Ok(Ok(lines)) => lines,
        Ok(Err(e)) => vec![format!("explain failed: {e}")],
        Err(e) => vec![format!("explain failed: {e}")],
    }
}
