//! Mouse: a click selects what is under it and focuses its pane; the wheel scrolls the pane under it.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};

use super::graph::NodeKind;
use super::layout::{self, Pane};
use super::model::{Layer, Model};
use super::msg::Effect;
use super::nav::scroll_logs;

pub fn on_mouse(m: &mut Model, e: MouseEvent) -> Vec<Effect> {
    let areas = m.areas();
    let Some(pane) = areas.pane_at(e.column, e.row, m.tree_open()) else {
        return Vec::new();
    };
    match e.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            m.focus = pane;
            click(m, pane, e.column, e.row);
        }
        MouseEventKind::ScrollUp => wheel(m, pane, -3),
        MouseEventKind::ScrollDown => wheel(m, pane, 3),
        _ => {}
    }
    Vec::new()
}

fn click(m: &mut Model, pane: Pane, x: u16, y: u16) {
    let areas = m.areas();
    match pane {
        Pane::Graph => {
            let inner = layout::inner(areas.graph);
            let (sx, sy) = m.graph_scroll;
            let cx = x.saturating_sub(inner.x) + sx;
            let cy = y.saturating_sub(inner.y) + sy;
            if let Some(NodeKind::Stage(stage)) = m
                .graph
                .node_at(cx, cy)
                .map(|n| m.graph.nodes[n].kind.clone())
            {
                m.follow_build = false;
                if stage != m.stage {
                    m.stage = stage;
                    m.step = 0;
                }
            }
        }
        Pane::Steps => {
            // Row 0 of the inside is the table header.
            let row = y.saturating_sub(layout::inner(areas.steps).y + 1) as usize;
            let len = m.selected_stage().map_or(0, |s| s.steps.len());
            if y > layout::inner(areas.steps).y && m.steps_scroll + row < len {
                m.follow_build = false;
                m.step = m.steps_scroll + row;
            }
        }
        Pane::Tree => {
            if let Layer::Ready(view) = &mut m.layer {
                let row = y.saturating_sub(layout::inner(areas.detail).y + 1) as usize;
                if view.scroll + row < view.rows.len() {
                    view.selected = view.scroll + row;
                }
            }
        }
        Pane::Logs => {}
    }
}

fn wheel(m: &mut Model, pane: Pane, by: isize) {
    match pane {
        Pane::Logs => scroll_logs(m, by),
        Pane::Steps => {
            let len = m.selected_stage().map_or(0, |s| s.steps.len());
            m.follow_build = false;
            m.step =
                (m.step as isize + by.signum()).clamp(0, len.saturating_sub(1) as isize) as usize;
        }
        Pane::Graph => {
            m.follow_build = false;
            let len = m.build.stages.len();
            m.stage =
                (m.stage as isize + by.signum()).clamp(0, len.saturating_sub(1) as isize) as usize;
            m.step = 0;
        }
        Pane::Tree => {
            if let Layer::Ready(view) = &mut m.layer {
                view.select(by);
            }
        }
    }
}
