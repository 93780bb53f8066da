//! Where each pane goes for a terminal size. A pure function, shared by drawing and mouse hit-testing.

use ratatui::layout::{Constraint, Layout, Rect};

use super::graph::GraphLayout;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Graph,
    Steps,
    Logs,
    Tree,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub graph: Rect,
    pub steps: Rect,
    /// Logs, or the layer tree when it is open: they share a place.
    pub detail: Rect,
    pub status: Rect,
}

/// Terminals at least this wide put steps and logs side by side.
pub const WIDE: u16 = 120;

pub fn areas(size: Rect, graph: &GraphLayout, steps: usize) -> Areas {
    let [body, status] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(size);
    // The graph takes what it needs, up to 40% of the height, and never less than one box row.
    let wanted = graph.height.saturating_add(2).max(5);
    let graph_h = wanted.min((body.height * 2 / 5).max(5)).min(body.height);
    let [graph_area, rest] =
        Layout::vertical([Constraint::Length(graph_h), Constraint::Min(0)]).areas(body);
    let (steps_area, detail) = if size.width >= WIDE {
        let [s, d] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(rest);
        (s, d)
    } else {
        // Stacked: steps get their rows plus borders, header and details, up to half of what is left.
        let wanted = (steps as u16).saturating_add(5).max(5);
        let h = wanted.min((rest.height / 2).max(5)).min(rest.height);
        let [s, d] = Layout::vertical([Constraint::Length(h), Constraint::Min(0)]).areas(rest);
        (s, d)
    };
    Areas {
        graph: graph_area,
        steps: steps_area,
        detail,
        status,
    }
}

impl Areas {
    pub fn pane_at(&self, x: u16, y: u16, tree_open: bool) -> Option<Pane> {
        let hit = |r: Rect| x >= r.x && x < r.right() && y >= r.y && y < r.bottom();
        if hit(self.graph) {
            Some(Pane::Graph)
        } else if hit(self.steps) {
            Some(Pane::Steps)
        } else if hit(self.detail) {
            Some(if tree_open { Pane::Tree } else { Pane::Logs })
        } else {
            None
        }
    }
}

/// The inside of a bordered pane.
pub fn inner(r: Rect) -> Rect {
    Rect {
        x: r.x + 1,
        y: r.y + 1,
        width: r.width.saturating_sub(2),
        height: r.height.saturating_sub(2),
    }
}
