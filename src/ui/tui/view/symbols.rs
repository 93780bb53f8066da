//! One symbol and one colour per state: states never rely on colour alone.

use ratatui::style::{Modifier, Style};

use crate::ui::tui::build::{StageState, StepState};
use crate::ui::tui::theme::Theme;

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

pub fn spinner(ticks: u64) -> &'static str {
    SPINNER[(ticks % SPINNER.len() as u64) as usize]
}

pub fn step(state: StepState, ticks: u64, theme: &Theme) -> (&'static str, Style) {
    match state {
        StepState::Pending => ("·", theme.pending),
        StepState::Queued => ("○", theme.queued),
        StepState::Running => (spinner(ticks), theme.emphasis(theme.running, true)),
        StepState::Paused => ("‖", theme.emphasis(theme.paused, true)),
        StepState::Cached => ("◆", theme.cached),
        StepState::Done => ("✓", theme.done),
        StepState::Failed => (
            "✗",
            theme
                .emphasis(theme.failed, true)
                .add_modifier(Modifier::BOLD),
        ),
    }
}

pub fn stage(state: StageState, ticks: u64, theme: &Theme) -> (&'static str, Style) {
    match state {
        StageState::Pending => ("·", theme.pending),
        StageState::Queued => ("○", theme.queued),
        StageState::Running => (spinner(ticks), theme.emphasis(theme.running, true)),
        StageState::Paused => ("‖", theme.emphasis(theme.paused, true)),
        StageState::Cached => ("◆", theme.cached),
        StageState::Done => ("✓", theme.done),
        StageState::Failed => (
            "✗",
            theme
                .emphasis(theme.failed, true)
                .add_modifier(Modifier::BOLD),
        ),
        StageState::Skipped => ("⊘", theme.emphasis(theme.skipped, false)),
    }
}
