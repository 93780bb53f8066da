use std::io::Write;

use super::Printer;
use crate::engine::{Event, Record};

/// Writes each event as one JSON object per line: the format `tui --replay` reads.
pub struct JsonPrinter<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> JsonPrinter<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }
}

/// `"text":""}`, how a `step_log` record with empty text ends.
const EMPTY_TEXT_END: &[u8] = b"\"\"}";

impl<W: Write + Send> Printer for JsonPrinter<W> {
    fn print(&mut self, record: &Record) -> std::io::Result<()> {
        match &record.event {
            // Log text is nearly all the bytes of a chatty build. serde_json's string escaping is
            // generic, so it is compiled at this crate's opt-level (30 MB/s in a debug build);
            // `Value`'s Display is compiled inside serde_json. Same bytes, ~20× faster there.
            Event::StepLog { step, stream, text } => {
                let head = Record {
                    time: record.time,
                    event: Event::StepLog {
                        step: step.clone(),
                        stream: *stream,
                        text: String::new(),
                    },
                };
                let mut buf = serde_json::to_vec(&head).map_err(std::io::Error::other)?;
                if !buf.ends_with(EMPTY_TEXT_END) {
                    return Err(std::io::Error::other("step_log must end with its text"));
                }
                buf.truncate(buf.len() - EMPTY_TEXT_END.len());
                self.out.write_all(&buf)?;
                write!(self.out, "{}", serde_json::Value::String(text.clone()))?;
                self.out.write_all(b"}\n")?;
            }
            _ => {
                serde_json::to_writer(&mut self.out, record).map_err(std::io::Error::other)?;
                self.out.write_all(b"\n")?;
            }
        }
        self.out.flush()
    }

    fn is_json(&self) -> bool {
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engine::StepRef;
    use crate::engine::event::Stream;

    #[test]
    fn step_log_lines_are_exactly_what_serde_writes() {
        for text in [
            "",
            "plain",
            "quote \" backslash \\ tab \t nul \0 bell \u{7} ünïcödé \u{2028}",
        ] {
            let record = Record::now(Event::StepLog {
                step: "app/3".parse::<StepRef>().unwrap(),
                stream: Stream::Stderr,
                text: text.to_string(),
            });
            let mut p = JsonPrinter::new(Vec::new());
            p.print(&record).unwrap();
            let expected = format!("{}\n", serde_json::to_string(&record).unwrap());
            assert_eq!(String::from_utf8(p.out).unwrap(), expected);
        }
    }
}
