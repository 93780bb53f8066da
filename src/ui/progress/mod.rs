//! Non-interactive progress: a readable log like BuildKit's plain mode, or the raw event stream.

mod json;
mod plain;

pub use json::JsonPrinter;
pub use plain::{PlainPrinter, human_bytes};

use crate::engine::Record;

/// A consumer of the event stream that writes text somewhere.
pub trait Printer: Send {
    fn print(&mut self, record: &Record) -> std::io::Result<()>;

    /// True for the JSON-lines printer: whoever shares its output (stdout) must print nothing else.
    fn is_json(&self) -> bool {
        false
    }
}
