//! Who shows a build's event stream: the TUI on a terminal or a printer (plus the `--event-log`
//! file in every mode), and the printer loop for a single build without a UI.

use tokio::sync::mpsc;

use crate::engine::sink::LogBacklog;
use crate::engine::{Control, Event, Record};
use crate::ui::progress::{JsonPrinter, Printer};
use crate::ui::tui::TuiOptions;

pub enum Display {
    Tui(Box<TuiOptions>),
    Printer(Box<dyn Printer>),
}

/// Prints events until the build hangs up (one build, no UI: the TUI and watch mode go through
/// `session`). Log text is released from `backlog` once written.
pub async fn show(
    mut rx: mpsc::UnboundedReceiver<Record>,
    control: mpsc::UnboundedSender<Control>,
    mut printer: Box<dyn Printer>,
    mut event_log: Option<JsonPrinter<std::io::BufWriter<std::fs::File>>>,
    backlog: std::sync::Arc<LogBacklog>,
) {
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
