//! Everything that draws: the live TUI and the plain/JSON progress printers. Only this module may
//! use ratatui or crossterm.

pub mod inspect;
pub mod progress;
pub mod tui;
pub mod visible;
