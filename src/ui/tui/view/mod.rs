//! Views: functions from `&Model` to cells. They never change the model.

mod diff;
mod graph;
mod help;
mod logs;
mod popup;
mod provenance;
mod status;
mod steps;
mod symbols;
pub(crate) mod teach;
pub mod tree;

use ratatui::Frame;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use super::layout::Pane;
use super::model::Model;
use super::state::overlay::Overlay;

pub fn view(m: &Model, frame: &mut Frame) {
    let area = frame.area();
    frame.buffer_mut().set_style(area, m.theme.base);
    let areas = m.areas();
    graph::draw(m, frame.buffer_mut(), areas.graph);
    steps::draw(m, frame.buffer_mut(), areas.steps);
    if m.tree_open() {
        tree::draw(m, frame.buffer_mut(), areas.detail);
    } else {
        logs::draw(m, frame.buffer_mut(), areas.detail);
    }
    status::draw(m, frame.buffer_mut(), areas.status);
    teach::draw(m, frame.buffer_mut(), area);
    match &m.overlay {
        Overlay::None => {}
        Overlay::Help => help::draw(m, frame.buffer_mut(), area),
        Overlay::Explain(e) => teach::explanation(m, e, frame.buffer_mut(), area),
        Overlay::Provenance(popup) => provenance::popup(m, popup, frame.buffer_mut(), area),
        Overlay::Diff(d) => diff::draw(m, d, frame.buffer_mut(), area),
    }
}

/// A pane's frame: rounded, brighter and titled in the accent colour when focused.
fn pane<'a>(
    m: &Model,
    pane: Pane,
    title: impl Into<Line<'a>>,
    right: Option<Line<'a>>,
) -> Block<'a> {
    let focused = m.focus == pane;
    let theme = &m.theme;
    let border_style = if focused {
        theme.emphasis(theme.border_focus, true)
    } else {
        theme.emphasis(theme.border, false)
    };
    let number = Span::styled(
        format!(
            " {} ",
            m.panes()
                .iter()
                .position(|p| *p == pane)
                .map_or(0, |i| i + 1)
        ),
        if focused {
            theme.border_focus.add_modifier(Modifier::BOLD)
        } else {
            theme.dim
        },
    );
    let mut title_line: Line = title.into();
    title_line.spans.insert(0, number);
    title_line = title_line.patch_style(if focused {
        Style::new().add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    });
    let mut block = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(border_style)
        .title(title_line);
    if let Some(right) = right {
        block = block.title(right.right_aligned());
    }
    block
}
