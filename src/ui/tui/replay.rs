//! Replaying a recorded event log: every view can be shown and tested without running a build.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::engine::event::Record;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read event log {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: not an event record")]
    Parse {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
}

/// Reads a JSON-lines event log; blank lines are allowed, anything else must be a record.
pub fn read_log(path: &Path) -> Result<Vec<Record>, ReplayError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReplayError::Read {
        path: path.into(),
        source,
    })?;
    parse_log(&text, path)
}

pub fn parse_log(text: &str, path: &Path) -> Result<Vec<Record>, ReplayError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| ReplayError::Parse {
                path: path.into(),
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// Sends `records` paced by their recorded times divided by `speed` (0: no pauses).
/// Long silences in the recording are cut to `max_gap` so a replay never seems stuck.
pub fn spawn(records: Vec<Record>, speed: f64, max_gap: Duration) -> mpsc::Receiver<Record> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        let start = Instant::now();
        let mut offset = Duration::ZERO;
        let mut previous = records.first().map(|r| r.time);
        for record in records {
            if speed > 0.0 {
                let gap = previous.map_or(Duration::ZERO, |p| record.time.since(p));
                offset += gap.div_f64(speed).min(max_gap);
                tokio::time::sleep_until(start + offset).await;
            }
            previous = Some(record.time);
            if tx.send(record).await.is_err() {
                return;
            }
        }
    });
    rx
}
