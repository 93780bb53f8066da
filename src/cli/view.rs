//! Feeds a build's event stream to whoever shows it: the TUI on a terminal, or a printer, and
//! the `--event-log` file in every mode.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::engine::sink::LogBacklog;
use crate::engine::{Control, Event, Record};
use crate::ui::progress::{JsonPrinter, Printer};
use crate::ui::tui::{self, TuiOptions};

pub enum Display {
    Tui(Box<TuiOptions>),
    Printer(Box<dyn Printer>),
}

/// Consumes events until the build hangs up. Quitting the TUI while the build runs cancels it.
/// Log text is released from `backlog` once written (or handed to the TUI's bounded queue).
pub async fn show(
    mut rx: mpsc::UnboundedReceiver<Record>,
    control: mpsc::UnboundedSender<Control>,
    display: Display,
    mut event_log: Option<JsonPrinter<std::io::BufWriter<std::fs::File>>>,
    cancel: CancellationToken,
    backlog: std::sync::Arc<LogBacklog>,
) -> miette::Result<()> {
    match display {
        Display::Printer(mut printer) => {
            let mut pauses: Option<std::sync::mpsc::Sender<()>> = None;
            while let Some(record) = rx.recv().await {
                if let Some(log) = event_log.as_mut() {
                    let _ = log.print(&record);
                }
                let _ = printer.print(&record);
                backlog.release(LogBacklog::cost(&record));
                if matches!(record.event, Event::Paused { .. }) {
                    let answer = pauses.get_or_insert_with(|| stdin_answers(control.clone()));
                    let _ = answer.send(());
                }
            }
            Ok(())
        }
        Display::Tui(opts) => {
            let (tui_tx, tui_rx) = mpsc::channel::<Record>(4096);
            let (ctl_tx, mut ctl_rx) = mpsc::channel::<Control>(64);
            // The engine never waits on the UI: this task absorbs the stream and hands it on.
            let forward = tokio::spawn(async move {
                let mut tui_open = true;
                while let Some(record) = rx.recv().await {
                    if let Some(log) = event_log.as_mut() {
                        let _ = log.print(&record);
                    }
                    let cost = LogBacklog::cost(&record);
                    if tui_open && tui_tx.send(record).await.is_err() {
                        tui_open = false;
                    }
                    backlog.release(cost);
                }
            });
            let controls = tokio::spawn(async move {
                while let Some(c) = ctl_rx.recv().await {
                    let _ = control.send(c);
                }
            });
            let exit = tui::run(tui_rx, Some(ctl_tx), *opts).await;
            if exit.as_ref().map(|e| e.cancelled).unwrap_or(true) {
                cancel.cancel();
            }
            let _ = forward.await;
            controls.abort();
            exit.map(|_| ()).map_err(|e| miette::miette!("{e}"))
        }
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
