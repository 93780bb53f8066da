//! Taking over the terminal and giving it back: raw mode, alternate screen, mouse, and a panic
//! hook that restores all of it before the panic message prints.

use std::io::{self, Stdout, stdout};
use std::sync::Once;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

static PANIC_HOOK: Once = Once::new();

pub fn enter() -> io::Result<Term> {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = leave();
            previous(info);
        }));
    });
    enable_raw_mode()?;
    if let Err(e) = execute!(stdout(), EnterAlternateScreen, EnableMouseCapture) {
        let _ = leave();
        return Err(e);
    }
    let mut terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    terminal.hide_cursor()?;
    terminal.clear()?;
    Ok(terminal)
}

/// Takes the terminal back after a shell: raw mode, alternate screen, and a full redraw.
pub fn resume(term: &mut Term) -> io::Result<()> {
    enable_raw_mode()?;
    execute!(
        stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        Clear(ClearType::All)
    )?;
    // A fresh terminal has an empty last frame, so the next draw paints every cell. (`clear`
    // would ask the terminal where its cursor is, and that answer can get lost after a shell.)
    *term = Terminal::new(CrosstermBackend::new(stdout()))?;
    term.hide_cursor()
}

/// Safe to call more than once and when `enter` failed halfway.
pub fn leave() -> io::Result<()> {
    let raw = disable_raw_mode();
    execute!(
        stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    )?;
    raw
}
