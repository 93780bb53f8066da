//! The displays a session drives, behind one interface: records in, the user's inputs
//! ([`Control`]s for the build, requests for the session) out in the order they were made, notes
//! about the session in. The TUI answers with keys; a printer (plain or JSON lines) answers each
//! `paused` event with a line from stdin.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::engine::{BuildOutcome, Control, EngineError, Event, Record};
use crate::ui::progress::Printer;
use crate::ui::tui::{self, TeachLink, TeachNote, TeachRequest, TuiExit, TuiOptions};

use super::notes::PrinterNotes;

/// Which display to open.
pub enum View {
    Tui(Box<TuiOptions>),
    Printer(Box<dyn Printer>),
}

/// What the user asked of the session through the display.
pub enum Input {
    Control(Control),
    Request(TeachRequest),
    /// The display ended (the user quit the TUI).
    Closed,
}

/// An open display.
pub enum Display {
    Tui(TuiDisplay),
    Printer(PrinterDisplay),
}

pub struct TuiDisplay {
    records: mpsc::Sender<Record>,
    controls: mpsc::Receiver<Control>,
    requests: mpsc::UnboundedReceiver<TeachRequest>,
    notes: mpsc::UnboundedSender<TeachNote>,
    task: Option<JoinHandle<Result<TuiExit, tui::TuiError>>>,
}

pub struct PrinterDisplay {
    printer: Box<dyn Printer>,
    controls: mpsc::UnboundedReceiver<Control>,
    control_tx: mpsc::UnboundedSender<Control>,
    pauses: Option<std::sync::mpsc::Sender<()>>,
    notes: PrinterNotes,
}

impl Display {
    /// Opens the view. `quit` ends the TUI too (the terminal restored) when a signal stops the
    /// session, instead of waiting for a key after the build stops.
    pub fn open(view: View, quit: &CancellationToken) -> Self {
        match view {
            View::Tui(opts) => Display::Tui(TuiDisplay::spawn(*opts, quit.clone())),
            View::Printer(printer) => {
                let (control_tx, controls) = mpsc::unbounded_channel();
                Display::Printer(PrinterDisplay {
                    printer,
                    controls,
                    control_tx,
                    pauses: None,
                    notes: PrinterNotes::default(),
                })
            }
        }
    }

    /// The TUI stays open between builds until the user quits; a printer does not.
    pub fn interactive(&self) -> bool {
        matches!(self, Display::Tui(_))
    }

    pub async fn show(&mut self, record: Record) {
        match self {
            Display::Tui(t) => {
                let _ = t.records.send(record).await;
            }
            Display::Printer(p) => {
                let _ = p.printer.print(&record);
                if matches!(record.event, Event::Paused { .. }) {
                    let tx = p.control_tx.clone();
                    let answer = p.pauses.get_or_insert_with(|| stdin_answers(tx));
                    let _ = answer.send(());
                }
            }
        }
    }

    pub fn note(&mut self, note: TeachNote) {
        match self {
            Display::Tui(t) => {
                let _ = t.notes.send(note);
            }
            Display::Printer(p) => p.notes.print(note),
        }
    }

    /// The user's next input; cancel-safe, so it can sit in a `select!`.
    pub async fn input(&mut self) -> Input {
        match self {
            Display::Tui(t) => t.input().await,
            Display::Printer(p) => match p.controls.recv().await {
                Some(c) => Input::Control(c),
                // The display holds a sender itself: this never ends.
                None => std::future::pending().await,
            },
        }
    }

    /// After a build with nothing to do until a watched file changes: a printer says so (and how
    /// the build failed); the TUI shows it already.
    pub fn idle(&mut self, last: &Result<BuildOutcome, EngineError>) {
        if let Display::Printer(_) = self {
            if let Err(e) = last {
                eprintln!("stagecraft: {e}");
            }
            eprintln!("stagecraft: watching for changes (Ctrl-C stops)");
        }
    }

    /// After each build of a printed lesson walk: its image on stdout (not with JSON progress,
    /// whose stdout is JSON lines only: the image is in `build_finished`), or how it failed (a
    /// step may break the build on purpose, and the walk goes on).
    pub fn walked(&mut self, last: &Result<BuildOutcome, EngineError>) {
        if let Display::Printer(p) = self {
            match last {
                Ok(o) => {
                    if let Some(image) = o.record.image.as_ref().filter(|_| !p.printer.is_json()) {
                        println!("{image}");
                    }
                }
                Err(e) => eprintln!("stagecraft: build failed: {e}"),
            }
        }
    }

    /// Waits for the display to finish (the TUI: until the user quits).
    pub async fn close(self) {
        if let Display::Tui(t) = self {
            let TuiDisplay { records, task, .. } = t;
            drop(records);
            if let Some(task) = task {
                report_exit(task.await);
            }
        }
    }
}

impl TuiDisplay {
    fn spawn(opts: TuiOptions, quit: CancellationToken) -> Self {
        let (records, tui_rx) = mpsc::channel::<Record>(4096);
        let (ctl_tx, controls) = mpsc::channel::<Control>(64);
        let (req_tx, requests) = mpsc::unbounded_channel();
        let (notes, note_rx) = mpsc::unbounded_channel();
        let opts = TuiOptions {
            teach: Some(TeachLink {
                requests: req_tx,
                notes: note_rx,
            }),
            ..opts
        };
        let task = tokio::spawn(async move {
            tokio::select! {
                exit = tui::run(tui_rx, Some(ctl_tx), opts) => exit,
                () = quit.cancelled() => {
                    let _ = tui::terminal::leave();
                    Ok(TuiExit { build_finished: false, cancelled: true })
                }
            }
        });
        Self {
            records,
            controls,
            requests,
            notes,
            task: Some(task),
        }
    }

    async fn input(&mut self) -> Input {
        let Self {
            controls,
            requests,
            task,
            ..
        } = self;
        let open = task.is_some();
        tokio::select! {
            Some(c) = controls.recv() => Input::Control(c),
            Some(r) = requests.recv() => Input::Request(r),
            exit = async {
                match task.as_mut() {
                    Some(t) => t.await,
                    None => std::future::pending().await,
                }
            }, if open => {
                *task = None;
                report_exit(exit);
                Input::Closed
            }
        }
    }
}

/// A TUI that failed says why once the terminal is restored.
fn report_exit(exit: Result<Result<TuiExit, tui::TuiError>, tokio::task::JoinError>) {
    match exit {
        Ok(Err(e)) => eprintln!("{e}"),
        Err(e) => eprintln!("display task failed: {e}"),
        Ok(Ok(_)) => {}
    }
}

/// Printers have no keys: a line on stdin answers each `paused` event. Enter continues, `n` runs
/// one step, `q` cancels; once stdin is at its end every pause continues at once.
fn stdin_answers(control: mpsc::UnboundedSender<Control>) -> std::sync::mpsc::Sender<()> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    // A plain thread: a blocking read must not hold a runtime worker, and it may outlive the build.
    std::thread::spawn(move || {
        let mut at_end = false;
        while rx.recv().is_ok() {
            let mut line = String::new();
            if !at_end {
                eprintln!(
                    "stagecraft: paused: Enter continues, n + Enter runs one step, q + Enter cancels"
                );
                at_end = matches!(std::io::stdin().read_line(&mut line), Ok(0) | Err(_));
            }
            let answer = match line.trim() {
                "n" => Control::StepOnce,
                "q" => Control::Cancel,
                _ => Control::Continue,
            };
            if control.send(answer).is_err() {
                break;
            }
        }
    });
    tx
}
