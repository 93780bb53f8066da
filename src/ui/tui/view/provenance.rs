//! Provenance in the layer tree: a right-hand column with each file's origin, and the `p` popup
//! with the whole chain, each hop with its Dockerfile line and instruction.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::ui::tui::model::Model;
use crate::ui::tui::provenance::{self, ProvenancePopup, ProvenanceState};
use crate::ui::tui::tree::{Row, TreeView};

/// Columns the origin takes at the right of each row.
const WIDTH: u16 = 24;

/// Draws over the right end of the tree's rows (drawn by `tree::rows` in `inner`).
pub fn column(m: &Model, view: &TreeView, buf: &mut Buffer, inner: Rect) {
    if inner.width < WIDTH * 2 || provenance::wanted_key(m).is_none() {
        return;
    }
    let theme = &m.theme;
    let x = inner.x + inner.width - WIDTH;
    let cell = |y: u16| Rect {
        x,
        y,
        width: WIDTH,
        height: 1,
    };
    let Some(origins) = provenance::origins(m) else {
        let what = match &m.provenance {
            Some(ProvenanceState::Failed(..)) => " provenance: n/a",
            _ => " provenance …",
        };
        Line::styled(what, theme.dim).render(cell(inner.y), buf);
        return;
    };
    // The header's left part names the selected file's package when the image has packages.
    if view.tree.owners.is_empty() {
        Line::styled(" origin (p: chain)", theme.dim).render(cell(inner.y), buf);
    }
    let visible = usize::from(inner.height.saturating_sub(1));
    for (i, row) in view.rows.iter().enumerate().skip(view.scroll).take(visible) {
        let Row::Node { id, .. } = *row else { continue };
        let Some(hops) = origins.get(&view.tree.path(id)) else {
            continue;
        };
        let y = inner.y + 1 + (i - view.scroll) as u16;
        let style = if i == view.selected {
            theme.selection()
        } else {
            theme.variable
        };
        Line::styled(
            format!(
                " {:>w$}",
                provenance::column(hops),
                w = usize::from(WIDTH) - 1
            ),
            style,
        )
        .render(cell(y), buf);
    }
}

pub fn popup(m: &Model, p: &ProvenancePopup, buf: &mut Buffer, area: Rect) {
    let theme = &m.theme;
    let mut lines = vec![Line::styled(
        p.path.clone(),
        theme.accent.add_modifier(Modifier::BOLD),
    )];
    if p.hops.is_empty() {
        lines.push(Line::styled(
            "no step of this build wrote it (from the base image or an unknown source)",
            theme.dim,
        ));
    }
    for (i, hop) in p.hops.iter().enumerate() {
        let role = match i {
            0 if p.hops.len() == 1 => "created and put here by",
            0 => "put here by",
            _ if i + 1 == p.hops.len() => "created by",
            _ => "copied from",
        };
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::styled(format!("{role} "), theme.dim),
            Span::styled(format!("{}/{}", hop.stage, hop.step), theme.title),
            Span::styled(format!("  line {}", hop.line), theme.text),
            Span::styled(format!("  as {}", hop.path), theme.dim),
        ]));
        lines.push(Line::styled(format!("  {}", hop.text), theme.text));
    }
    super::popup::render(theme, "provenance", lines, (90, true), buf, area);
}
