//! Shared by the TUI tests: load recorded event logs, drive the model, render to text.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use stagecraft::engine::event::Record;
use stagecraft::ui::tui::replay;
use stagecraft::ui::tui::{Effect, Model, Msg, Theme, update, view};

pub fn events(name: &str) -> Vec<Record> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/events")
        .join(name);
    replay::read_log(&path).expect("recorded event log parses")
}

/// A model that has seen every record of `name`, with the clock at the last record.
pub fn model_after(name: &str, width: u16, height: u16) -> Model {
    let mut m = Model::new(Theme::default(), width, height);
    feed(&mut m, events(name));
    m
}

pub fn feed(m: &mut Model, records: Vec<Record>) {
    let last = records.last().map(|r| r.time);
    for r in records {
        update(m, Msg::Engine(r));
    }
    if let Some(now) = last {
        update(m, Msg::Tick { now });
    }
}

pub fn key(m: &mut Model, code: KeyCode) -> Vec<Effect> {
    update(m, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn keys(m: &mut Model, text: &str) {
    for c in text.chars() {
        key(m, KeyCode::Char(c));
    }
}

/// The screen as text: one line per row, trailing blanks trimmed.
pub fn render(m: &Model) -> String {
    let mut terminal = Terminal::new(TestBackend::new(m.width, m.height)).expect("test terminal");
    terminal.draw(|f| view(m, f)).expect("draw");
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Selects `step` the way a user would end up there, without following the build any more.
pub fn select(m: &mut Model, step: &stagecraft::engine::event::StepRef) {
    m.follow_build = false;
    stagecraft::ui::tui::update::select_step(m, step);
}
