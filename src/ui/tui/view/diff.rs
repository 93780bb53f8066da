//! The diff view over the whole screen: the summary line, the tree of changes with sizes and
//! marks (the layer tree's rows), and the selected file's text diff.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use super::tree::rows;
use crate::ui::tui::diffview::{DiffPane, DiffView};
use crate::ui::tui::model::Model;
use crate::ui::tui::theme::Theme;

pub fn draw(m: &Model, pane: &DiffPane, buf: &mut Buffer, area: Rect) {
    let theme = &m.theme;
    Clear.render(area, buf);
    let (a, b) = match pane {
        DiffPane::Loading { a_label, b_label }
        | DiffPane::Failed {
            a_label, b_label, ..
        } => (a_label, b_label),
        DiffPane::Ready(v) => (&v.a_label, &v.b_label),
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border_focus)
        .title(Line::from(vec![
            Span::styled(" Diff · ", theme.title.add_modifier(Modifier::BOLD)),
            Span::styled(format!("{a} → {b} "), theme.text),
        ]))
        .title(
            Line::styled(
                " jk move · hl fold · PgUp/PgDn text · s sort · Esc/d close ",
                theme.dim,
            )
            .right_aligned(),
        )
        .style(theme.base);
    let inner = block.inner(area);
    block.render(area, buf);
    let [head, body] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(inner);
    match pane {
        DiffPane::Loading { .. } => {
            Line::styled(format!(" comparing {a} with {b} …"), theme.dim).render(head, buf)
        }
        DiffPane::Failed { error, .. } => {
            Line::styled(format!(" {error}"), theme.failed).render(head, buf)
        }
        DiffPane::Ready(view) => ready(theme, view, buf, head, body),
    }
}

fn ready(theme: &Theme, view: &DiffView, buf: &mut Buffer, head: Rect, body: Rect) {
    Line::styled(
        format!(" {}", view.summary),
        theme.accent.add_modifier(Modifier::BOLD),
    )
    .render(Rect { height: 1, ..head }, buf);
    Line::styled(format!(" {}", view.counts), theme.dim).render(
        Rect {
            y: head.y + 1,
            height: 1,
            ..head
        },
        buf,
    );
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    let frame = |title: &str| {
        Block::bordered()
            .border_type(BorderType::Rounded)
            .border_style(theme.border)
            .title(Span::styled(format!(" {title} "), theme.title))
    };
    let tree_block = frame("changes");
    let tree_inner = tree_block.inner(left);
    tree_block.render(left, buf);
    rows(theme, &view.tree, buf, tree_inner);

    let selected = view.selected_detail();
    let title = selected.as_ref().map_or(String::new(), |(p, _)| p.clone());
    let text_block = frame(&title);
    let text_inner = text_block.inner(right);
    text_block.render(right, buf);
    let lines: Vec<Line> = match &selected {
        None if view.tree.rows.is_empty() => vec![Line::styled(
            "no differences: the two filesystems are the same",
            theme.dim,
        )],
        None => vec![Line::styled(
            "select a changed path to see what differs",
            theme.dim,
        )],
        Some((_, None)) => vec![Line::styled(
            "a directory: its changes are listed below it",
            theme.dim,
        )],
        Some((_, Some(detail))) => {
            let mut lines = vec![Line::styled(detail.what.clone(), theme.text)];
            match &detail.text {
                Some(text) => lines.extend(text.lines().map(|l| diff_line(theme, l))),
                None => lines.push(Line::styled(
                    "(no text diff: binary, large, or not modified content)",
                    theme.dim,
                )),
            }
            lines
        }
    };
    for (i, line) in lines
        .into_iter()
        .skip(view.text_scroll)
        .take(usize::from(text_inner.height))
        .enumerate()
    {
        line.render(
            Rect {
                y: text_inner.y + i as u16,
                height: 1,
                ..text_inner
            },
            buf,
        );
    }
}

fn diff_line<'a>(theme: &Theme, line: &'a str) -> Line<'a> {
    let style = if line.starts_with("+++") || line.starts_with("---") {
        theme.dim
    } else if line.starts_with('+') {
        theme.added
    } else if line.starts_with('-') {
        theme.removed
    } else if line.starts_with("@@") {
        theme.accent
    } else {
        theme.text
    };
    Line::styled(line, style)
}
