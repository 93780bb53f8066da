//! Output pipes read line by line, forwarded to the engine and kept as a short tail.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::mpsc::Sender;

use super::spec::{LogLine, Stream};

/// How many of the last output lines [`super::Exit::tail`] keeps.
pub const TAIL_LINES: usize = 20;

/// Output without newlines (a binary on stdout) is cut into lines this long, bounding memory.
pub const MAX_LINE_BYTES: u64 = 64 * 1024;

/// The last lines of both streams, in the order they arrived.
#[derive(Clone, Default)]
pub(super) struct Tail(Arc<Mutex<VecDeque<LogLine>>>);

impl Tail {
    fn push(&self, line: LogLine) {
        if let Ok(mut lines) = self.0.lock() {
            if lines.len() == TAIL_LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    }

    pub fn lines(&self) -> Vec<LogLine> {
        self.0
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Reads `reader` to its end, sending each line (lossy UTF-8, terminator stripped); waits while
/// the receiver's queue is full. A closed receiver is not an error: the run goes on without
/// anybody watching.
pub(super) async fn forward<R: AsyncRead + Unpin>(
    reader: R,
    stream: Stream,
    log: Sender<LogLine>,
    tail: Tail,
) {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buf.pop();
                }
                let line = LogLine {
                    stream,
                    text: String::from_utf8_lossy(&buf).into_owned(),
                };
                tail.push(line.clone());
                let _ = log.send(line).await;
            }
        }
    }
}
