//! `update`: the only place the model changes. Engine records, keys, mouse, resizes and ticks in;
//! effects (quit, control the build, read a layer) out.

use crate::engine::event::{Event, Record};

use super::graph::{BOX_H, GraphLayout};
use super::layout::{self, Pane};
use super::model::{Layer, Model};
use super::msg::{Effect, Msg};
use super::tree::TreeView;
use super::{diffview, keys, mouse, provenance};

pub use super::nav::{
    center_log, detail_lines, load_layer, log_rows, quit, scroll_logs, select_step, steps_rows,
    tree_rows,
};

pub fn update(m: &mut Model, msg: Msg) -> Vec<Effect> {
    let before = m.selected_step().map(|s| s.step.clone());
    let mut effects = match msg {
        Msg::Key(key) => keys::on_key(m, key),
        // The diff view covers the panes the mouse would act on.
        Msg::Mouse(_) if m.diff().is_some() => Vec::new(),
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
            layer_digested(m, &record)
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
            if matches!(&m.layer, Layer::Loading { step: s, .. } if *s == step) {
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
        effects.extend(load_layer(m, step));
    }
    effects.extend(provenance::request(m));
    effects
}

/// A digest arrived: the layer pane waiting for one asks again.
fn layer_digested(m: &mut Model, record: &Record) -> Vec<Effect> {
    if !matches!(record.event, Event::LayerDigested { .. }) {
        return Vec::new();
    }
    match &m.layer {
        Layer::Loading {
            step,
            pending: true,
        } => {
            let step = step.clone();
            load_layer(m, step).into_iter().collect()
        }
        _ => Vec::new(),
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
    // A check warning goes to the logs under the step written on its line (else the first step),
    // where a person reading that step's output sees it.
    if let Event::Warning {
        rule,
        message,
        file,
        line,
        column,
        fix,
        step,
        ..
    } = &record.event
    {
        let first = m
            .build
            .stages
            .first()
            .and_then(|s| s.steps.first())
            .map(|s| s.step.clone());
        if let Some(at) = step.clone().or(first) {
            let text = format!("WARNING {rule}: {message} ({file}:{line}:{column}) fix: {fix}");
            m.logs
                .push(&at, crate::engine::event::Stream::Stderr, &text);
        }
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
