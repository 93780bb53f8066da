//! How a printer shows what the TUI shows in its lesson and watch panes: as lines on stderr.

use crate::ui::tui::TeachNote;

#[derive(Default)]
pub struct PrinterNotes {
    /// (title, what to look at) of each try step of the lesson being walked through.
    steps: Vec<(String, String)>,
}

impl PrinterNotes {
    pub fn print(&mut self, note: TeachNote) {
        match note {
            TeachNote::Lesson(info) => {
                eprintln!("{}", info.text.trim_end());
                self.steps = info.steps;
            }
            TeachNote::Applied(n) => {
                if let Some((title, look)) = n.checked_sub(1).and_then(|i| self.steps.get(i)) {
                    eprintln!("\n── try {n}: {title} ──\n{look}\n");
                }
            }
            TeachNote::Changed(files) => {
                eprintln!("stagecraft: changed: {}: rebuilding", files.join(", "));
            }
            TeachNote::Error(e) => eprintln!("stagecraft: {e}"),
            // What explain found in the image, as the TUI's run table shows it.
            TeachNote::Run(summary) => {
                for line in summary.findings {
                    eprintln!("  {line}");
                }
            }
            TeachNote::Watching(_) => {}
        }
    }
}
