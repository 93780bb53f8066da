use std::io::Write;

use super::Printer;
use crate::engine::Record;

/// Writes each event as one JSON object per line: the format `tui --replay` reads.
pub struct JsonPrinter<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> JsonPrinter<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }
}

impl<W: Write + Send> Printer for JsonPrinter<W> {
    fn print(&mut self, record: &Record) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, record).map_err(std::io::Error::other)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
