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

    /// Resolves once nobody reads the events any more.
    pub async fn closed(&self) {
        self.tx.closed().await
    }
}

/// Bytes of `step_log` text emitted but not yet shown. When a display sets one in
/// [`super::BuildOptions::log_backlog`] and releases what it has written, RUN output waits while
/// the backlog is over its limit, so a slow terminal or pipe slows the build's output instead of
/// growing memory (the event channel itself is unbounded by contract).
#[derive(Debug)]
pub struct LogBacklog {
    bytes: std::sync::atomic::AtomicUsize,
    limit: usize,
    released: tokio::sync::Notify,
}

impl LogBacklog {
    /// Default limit: a few long lines' worth beyond the queues in front of it.
    pub const DEFAULT_LIMIT: usize = 4 << 20;

    pub fn new(limit: usize) -> Self {
        Self {
            bytes: std::sync::atomic::AtomicUsize::new(0),
            limit,
            released: tokio::sync::Notify::new(),
        }
    }

    /// Waits until `n` more bytes fit (always admits a line when nothing is pending).
    pub async fn reserve(&self, n: usize) {
        use std::sync::atomic::Ordering;
        loop {
            // Created before the check, so a release between check and await is not missed.
            let released = self.released.notified();
            let pending = self.bytes.load(Ordering::Acquire);
            if pending == 0 || pending + n <= self.limit {
                self.bytes.fetch_add(n, Ordering::AcqRel);
                return;
            }
            released.await;
        }
    }

    /// The display has written `n` bytes of log text.
    pub fn release(&self, n: usize) {
        use std::sync::atomic::Ordering;
        let _ = self
            .bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                Some(b.saturating_sub(n))
            });
        self.released.notify_waiters();
    }

    /// What a record costs in the backlog: the text of a `step_log`, nothing for other events.
    pub fn cost(record: &Record) -> usize {
        match &record.event {
            Event::StepLog { text, .. } => text.len(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LogBacklog;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_full_backlog_holds_output_until_the_display_releases() {
        let b = Arc::new(LogBacklog::new(100));
        b.reserve(60).await;
        b.reserve(40).await;
        let waiter = tokio::spawn({
            let b = b.clone();
            async move { b.reserve(10).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "over the limit: waits");
        b.release(60);
        waiter.await.expect("admitted after a release");
        // A line longer than the limit still passes once nothing is pending.
        b.release(50);
        b.reserve(1000).await;
    }
}
