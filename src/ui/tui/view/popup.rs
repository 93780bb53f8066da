//! A centred overlay box that any key closes (the `?` keys and the provenance chain).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget, Wrap};

use crate::ui::tui::theme::Theme;

/// Draws `lines` in a rounded box titled `title`, at most `max_width` wide and as tall as the
/// lines, centred in `area` over whatever was drawn there. Prose `wrap`s; tables (the key list)
/// are cut at the edge so their columns stay aligned.
pub fn render(
    theme: &Theme,
    title: &str,
    lines: Vec<Line<'_>>,
    (max_width, wrap): (u16, bool),
    buf: &mut Buffer,
    area: Rect,
) {
    let width = max_width.min(area.width);
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    Clear.render(rect, buf);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border_focus)
        .title(Span::styled(
            format!(" {title} "),
            theme.title.add_modifier(Modifier::BOLD),
        ))
        .title(Line::styled(" any key closes ", theme.dim).right_aligned())
        .style(theme.base);
    let paragraph = Paragraph::new(lines).block(block);
    if wrap {
        paragraph.wrap(Wrap { trim: false }).render(rect, buf);
    } else {
        paragraph.render(rect, buf);
    }
}
