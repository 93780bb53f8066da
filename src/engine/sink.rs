//! Where events go: every consumer (TUI, printers, `--event-log`) reads the same channel.

use tokio::sync::mpsc::UnboundedSender;

use super::event::{Event, Record};

#[derive(Debug, Clone)]
pub struct EventSink {
    tx: UnboundedSender<Record>,
}

impl EventSink {
    pub fn new(tx: UnboundedSender<Record>) -> Self {
        Self { tx }
    }

    /// Sends an event stamped now. A consumer that went away (the TUI quit) does not stop a build.
    pub fn emit(&self, event: Event) {
        let _ = self.tx.send(Record::now(event));
    }
}
