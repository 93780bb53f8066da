//! Feeds a build's event stream to whoever shows it: printers, the event log, or the TUI.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::engine::{Control, Record};
use crate::ui::progress::Printer;

/// Consumes events until the build hangs up. `tty` asks for the TUI where one is available.
pub async fn show(
    mut rx: mpsc::UnboundedReceiver<Record>,
    control: mpsc::UnboundedSender<Control>,
    tty: bool,
    mut printer: Box<dyn Printer>,
    mut event_log: Option<impl Printer>,
    cancel: CancellationToken,
) {
    let _ = (tty, &control, &cancel);
    while let Some(record) = rx.recv().await {
        if let Some(log) = event_log.as_mut() {
            let _ = log.print(&record);
        }
        let _ = printer.print(&record);
    }
}
