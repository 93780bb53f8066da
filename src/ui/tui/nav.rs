//! Moving around the model: selection, log scrolling, pane row counts, and quitting. Shared by
//! keys, mouse, the diff view and `update`.

use crate::engine::event::{Control, StepRef};

use super::model::{Layer, Model};
use super::msg::Effect;

/// Quitting a live build cancels it: nobody would be left to watch it.
pub fn quit(m: &Model) -> Vec<Effect> {
    if m.live && m.build.finished.is_none() && !m.stream_closed {
        vec![Effect::Control(Control::Cancel), Effect::Quit]
    } else {
        vec![Effect::Quit]
    }
}

pub fn select_step(m: &mut Model, step: &StepRef) {
    if let Some(stage) = m.build.stage_index(&step.stage) {
        m.stage = stage;
        m.step = m.build.stages[stage]
            .steps
            .iter()
            .position(|s| s.step.index == step.index)
            .unwrap_or(0);
    }
}

/// Lines under the steps table about the selected step: two when there is room, else one.
pub fn detail_lines(pane_height: u16) -> u16 {
    if pane_height >= 10 { 2 } else { 1 }
}

/// Table rows in the steps pane: the inside minus the header and the detail lines.
pub fn steps_rows(pane_height: u16) -> u16 {
    pane_height
        .saturating_sub(2 + 1 + detail_lines(pane_height))
        .max(1)
}

/// Rows in the layer pane: the inside minus its header line.
pub fn tree_rows(pane_height: u16) -> u16 {
    pane_height.saturating_sub(2 + 1).max(1)
}

/// Lines in the log pane.
pub fn log_rows(pane_height: u16) -> u16 {
    pane_height.saturating_sub(2).max(1)
}

/// Scrolls the log pane by `delta` lines (negative: back in time). Reaching the end follows again.
pub fn scroll_logs(m: &mut Model, delta: isize) {
    let filter = m.log_filter();
    let len = m.logs.len(filter);
    let Some(bottom) = m.log_bottom() else { return };
    let page = log_rows(m.areas().detail.height) as usize;
    let lowest = page.saturating_sub(1).min(len - 1);
    let target = (bottom as isize + delta).clamp(lowest as isize, (len - 1) as isize) as usize;
    m.log.anchor = if target + 1 >= len {
        None
    } else {
        m.logs.seq_at(filter, target)
    };
}

/// Puts log line `pos` in the middle of the pane.
pub fn center_log(m: &mut Model, pos: usize) {
    let filter = m.log_filter();
    let len = m.logs.len(filter);
    let half = log_rows(m.areas().detail.height) as usize / 2;
    let bottom = (pos + half).min(len.saturating_sub(1));
    m.log.anchor = if bottom + 1 >= len {
        None
    } else {
        m.logs.seq_at(filter, bottom)
    };
}

/// Reads the filesystem after `step` into the layer pane; while a layer of its chain is not
/// digested yet the pane waits (and `update::layer_digested` asks again).
pub fn load_layer(m: &mut Model, step: StepRef) -> Option<Effect> {
    let request = m.build.layer_request(&step);
    let pending = request.pending();
    m.layer = Layer::Loading { step, pending };
    (!pending).then_some(Effect::LoadLayer(request))
}
