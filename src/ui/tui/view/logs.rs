//! Build output: follows new lines, scrolls back, filters to one step, highlights search matches.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::pane;
use crate::engine::event::Stream;
use crate::ui::tui::layout::{self, Pane};
use crate::ui::tui::logs::{Filter, LogLine};
use crate::ui::tui::model::Model;

pub fn draw(m: &Model, buf: &mut Buffer, area: Rect) {
    let theme = &m.theme;
    let filter = m.log_filter();
    let len = m.logs.len(filter);
    let scope = match (filter, m.selected_step()) {
        (Filter::Step(_), Some(step)) => format!("{} ", step.step),
        _ => "all steps ".into(),
    };
    let title = Line::from(vec![
        Span::styled("Logs · ", theme.title),
        Span::styled(scope, theme.text),
    ]);
    let bottom = m.log_bottom();
    let mut right = Vec::new();
    if let Some(search) = &m.log.search {
        right.push(Span::styled(
            format!(" /{} ", search.query.text),
            theme.accent,
        ));
        right.push(Span::styled(
            format!("{} matches ", search.matches),
            theme.dim,
        ));
    }
    match (m.log.anchor, bottom) {
        (None, _) => right.push(Span::styled(" following ", theme.done)),
        (Some(_), Some(b)) => right.push(Span::styled(
            format!(" {} lines below ", len - 1 - b),
            theme.paused,
        )),
        _ => {}
    }
    pane(m, Pane::Logs, title, Some(Line::from(right))).render(area, buf);
    let inner = layout::inner(area);
    let Some(bottom) = bottom else {
        let text = if m.log.only_step {
            "no output from this step (f: all steps)"
        } else {
            "no output yet"
        };
        Line::styled(format!(" {text}"), theme.dim).render(inner, buf);
        return;
    };
    let rows = usize::from(inner.height);
    let top = (bottom + 1).saturating_sub(rows);
    let lines: Vec<(u64, &LogLine)> = (top..=bottom)
        .filter_map(|p| m.logs.seq_at(filter, p))
        .filter_map(|seq| m.logs.get(seq).map(|l| (seq, l)))
        .collect();
    // The step column is as wide as the widest reference on screen.
    let tag_w = if filter == Filter::All {
        lines
            .iter()
            .map(|(_, l)| m.logs.step_ref(l.step).to_string().len())
            .max()
            .unwrap_or(0)
    } else {
        0
    };
    let current = m.log.search.as_ref().and_then(|s| s.current);
    for (i, (seq, line)) in lines.iter().enumerate() {
        let mut spans = Vec::new();
        if tag_w > 0 {
            let tag = m.logs.step_ref(line.step).to_string();
            spans.push(Span::styled(format!("{tag:>tag_w$} │ "), theme.dim));
        }
        let base = if line.stream == Stream::Stderr {
            theme.stderr
        } else {
            theme.text
        };
        spans.extend(highlighted(m, &line.text, base, current == Some(*seq)));
        let y = inner.y + i as u16;
        Line::from(spans).render(
            Rect {
                y,
                height: 1,
                ..inner
            },
            buf,
        );
    }
    if top == 0 && m.logs.dropped() > 0 && rows > 1 {
        let note = format!(
            " … {} older lines dropped to bound memory ",
            m.logs.dropped()
        );
        Line::styled(note, theme.dim.add_modifier(Modifier::ITALIC))
            .render(Rect { height: 1, ..inner }, buf);
    }
}

fn highlighted<'a>(
    m: &Model,
    text: &'a str,
    base: ratatui::style::Style,
    current: bool,
) -> Vec<Span<'a>> {
    let Some(search) = &m.log.search else {
        return vec![Span::styled(text, base)];
    };
    let mut spans = Vec::new();
    let mut at = 0;
    let style = if current {
        m.theme
            .search_match()
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    } else {
        m.theme.search_match()
    };
    while let Some((start, end)) = search.query.find_from(text, at) {
        if start > at {
            spans.push(Span::styled(&text[at..start], base));
        }
        spans.push(Span::styled(&text[start..end], style));
        at = end.max(start + 1);
        if at >= text.len() {
            break;
        }
    }
    if at < text.len() {
        spans.push(Span::styled(&text[at..], base));
    }
    spans
}
