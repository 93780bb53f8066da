//! The inspector's frame: where each panel goes, and the block and line helpers every panel
//! draws with.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders, Widget};

use super::model::Model;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub layers: Rect,
    pub waste: Rect,
    pub attributes: Rect,
    pub files: Rect,
    pub status: Rect,
}

pub fn areas((w, h): (u16, u16)) -> Areas {
    let full = Rect::new(0, 0, w, h);
    let [body, status] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(full);
    let [left, files] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
    let [layers, attributes, waste] = Layout::vertical([
        Constraint::Percentage(45),
        Constraint::Length(5),
        Constraint::Min(0),
    ])
    .areas(left);
    Areas {
        layers,
        waste,
        attributes,
        files,
        status,
    }
}

pub fn block<'a>(m: &Model, title: String, focused: bool, right: Option<String>) -> Block<'a> {
    let t = &m.theme;
    let border = if focused {
        t.emphasis(t.border_focus, true)
    } else {
        t.emphasis(t.border, false)
    };
    let title_style = if focused {
        t.title.add_modifier(Modifier::BOLD)
    } else {
        t.title
    };
    let mut b = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(border)
        .title(Line::styled(format!(" {title} "), title_style));
    if let Some(r) = right {
        b = b.title(Line::styled(format!(" {r} "), t.dim).right_aligned());
    }
    b
}

pub fn line_at(line: Line, area: Rect, row: u16, buf: &mut Buffer) {
    if row < area.height {
        line.render(
            Rect {
                y: area.y + row,
                height: 1,
                ..area
            },
            buf,
        );
    }
}
