//! `update`: the only place the model changes. Engine records, keys, mouse, resizes and ticks in;
//! effects (quit, control the build, read a layer) out.

use crate::engine::event::{Control, Event, Record, StepRef};

use super::graph::{BOX_H, GraphLayout};
use super::layout::{self, Pane};
use super::model::{Layer, Model};
use super::msg::{Effect, Msg};
use super::tree::TreeView;
use super::{diffview, keys, mouse, provenance};

pub fn update(m: &mut Model, msg: Msg) -> Vec<Effect> {
    let before = m.selected_step().map(|s| s.step.clone());
    let mut effects = match msg {
        Msg::Key(key) => keys::on_key(m, key),
        // The diff view covers the panes the mouse would act on.
        Msg::Mouse(_) if m.diff.is_some() => Vec::new(),
        Msg::Mouse(event) => mouse::on_mouse(m, event),
        Msg::Resize { width, height } => {
            m.width = width;
            m.height = height;
            Vec::new()
        }
        Msg::Tick { now } => {
            m.now = Some(now);
            m.ticks = m.ticks.wrapping_add(1);
            Vec::new()
        }
        Msg::Engine(record) => {
            on_record(m, &record);
            Vec::new()
        }
        Msg::DiffLoaded {
            a_label,
            b_label,
            result,
        } => {
            diffview::loaded(m, &a_label, &b_label, result);
            Vec::new()
        }
        Msg::Teach(note) => {
            super::teach::on_note(m, note);
            Vec::new()
        }
        Msg::ProvenanceLoaded { key, result } => {
            provenance::loaded(m, key, result);
            Vec::new()
        }
        Msg::EngineClosed => {
            m.stream_closed = true;
            Vec::new()
        }
        Msg::LayerLoaded { step, tree } => {
            // Answers for a step no longer selected are dropped: the newer request is on its way.
            if matches!(&m.layer, Layer::Loading(s) if *s == step) {
                m.layer = match tree {
                    Ok(tree) => Layer::Ready(Box::new(TreeView::new(step, tree))),
                    Err(e) => Layer::Failed {
                        step,
                        error: e.to_string(),
                    },
                };
            }
            Vec::new()
        }
    };
    settle(m);
    // The layer pane shows the selected step: when the selection moves, read the new one.
    let after = m.selected_step().map(|s| s.step.clone());
    if m.tree_open()
        && after != before
        && let Some(step) = after
    {
        m.layer = Layer::Loading(step.clone());
        effects.push(Effect::LoadLayer(m.build.layer_request(&step)));
    }
    effects.extend(provenance::request(m));
    effects
}

/// Quitting a live build cancels it: nobody would be left to watch it.
pub fn quit(m: &Model) -> Vec<Effect> {
    if m.live && m.build.finished.is_none() && !m.stream_closed {
        vec![Effect::Control(Control::Cancel), Effect::Quit]
    } else {
        vec![Effect::Quit]
    }
}

fn on_record(m: &mut Model, record: &Record) {
    if let Event::StepLog { step, stream, text } = &record.event {
        m.logs.push(step, *stream, text);
        m.build.last_event = Some(
            m.build
                .last_event
                .map_or(record.time, |t| t.max(record.time)),
        );
        return;
    }
    let latest = m.build.latest_step.clone();
    m.build.apply(record);
    if let Event::BuildStarted { plan, .. } = &record.event {
        m.graph = GraphLayout::new(&m.build.stages);
        m.stage = m.build.stage_index(&plan.target).unwrap_or(0);
        m.step = 0;
        m.graph_scroll = (0, 0);
        m.steps_scroll = 0;
    }
    if m.follow_build
        && m.build.latest_step != latest
        && let Some(step) = m.build.latest_step.clone()
    {
        select_step(m, &step);
    }
    // A failure is what a person wants to see first, whatever they were looking at.
    if let Event::StepFailed { step, .. } = &record.event {
        select_step(m, step);
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

/// Keeps selections in range and scrolls every pane so its selection is visible.
fn settle(m: &mut Model) {
    m.stage = m.stage.min(m.build.stages.len().saturating_sub(1));
    let steps = m.selected_stage().map_or(0, |s| s.steps.len());
    m.step = m.step.min(steps.saturating_sub(1));
    let areas = m.areas();

    let inner = layout::inner(areas.graph);
    if let Some(node) = m.graph.stage_node(m.stage).map(|n| &m.graph.nodes[n]) {
        let (sx, sy) = &mut m.graph_scroll;
        *sx = scroll_to(*sx, node.x, m.graph.box_w, inner.width);
        *sy = scroll_to(*sy, node.y, BOX_H, inner.height);
    }

    let rows = steps_rows(areas.steps.height);
    m.steps_scroll = scroll_to(m.steps_scroll as u16, m.step as u16, 1, rows) as usize;

    if let Layer::Ready(view) = &mut m.layer {
        let rows = tree_rows(areas.detail.height);
        view.scroll = scroll_to(view.scroll as u16, view.selected as u16, 1, rows) as usize;
    }

    if !m.panes().contains(&m.focus) {
        m.focus = Pane::Logs;
    }
}

/// The smallest change of `scroll` that shows `[at, at + len)` in a window of `window` cells.
fn scroll_to(scroll: u16, at: u16, len: u16, window: u16) -> u16 {
    if window == 0 {
        return at;
    }
    if at < scroll {
        at
    } else if at + len > scroll + window {
        (at + len).saturating_sub(window)
    } else {
        scroll
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
