//! The layer tree: the filesystem after the selected step, with change marks and sizes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::pane;
use crate::ui::tui::format;
use crate::ui::tui::layout::{self, Pane};
use crate::ui::tui::model::{Layer, Model};
use crate::ui::tui::theme::Theme;
use crate::ui::tui::tree::{Change, EntryKind, Row, Sort, TreeView};

pub fn draw(m: &Model, buf: &mut Buffer, area: Rect) {
    let theme = &m.theme;
    let (step, right) = match &m.layer {
        Layer::Ready(view) => {
            let sort = if view.sort == Sort::Size {
                "by size"
            } else {
                "by name"
            };
            let scope = if view.only_changes {
                "changes only"
            } else {
                "all paths"
            };
            (
                view.step.to_string(),
                Some(Line::styled(format!(" {sort} · {scope} "), theme.dim)),
            )
        }
        Layer::Loading { step, .. } | Layer::Failed { step, .. } => (step.to_string(), None),
        Layer::Closed => (String::new(), None),
    };
    let title = Line::from(vec![
        Span::styled("Layer · ", theme.title),
        Span::styled(format!("{step} "), theme.text),
    ]);
    pane(m, Pane::Tree, title, right).render(area, buf);
    let inner = layout::inner(area);
    match &m.layer {
        Layer::Ready(view) => {
            rows(&m.theme, view, buf, inner);
            super::provenance::column(m, view, buf, inner);
        }
        Layer::Loading { step, pending } => {
            let text = if *pending {
                format!(
                    " the layer of {step} is being written in the background; it shows here when done …"
                )
            } else {
                format!(" reading the filesystem after {step} …")
            };
            Line::styled(text, theme.dim).render(inner, buf)
        }
        Layer::Failed { error, .. } => {
            Line::styled(format!(" {error}"), theme.failed).render(inner, buf)
        }
        Layer::Closed => {}
    }
}

/// The tree's rows inside `inner` (a header line, then the rows from `view.scroll`): shared with
/// `inspect`, which draws the same trees for image layers.
pub fn rows(theme: &Theme, view: &TreeView, buf: &mut Buffer, inner: Rect) {
    let root = view.tree.node(crate::ui::tui::tree::ROOT);
    let header = Line::from(vec![
        Span::styled(
            format!(" {} paths · {}", view.tree.len(), format::size(root.size)),
            theme.text,
        ),
        Span::styled(" │ ", theme.dim),
        // Before the path, whose tail a narrow pane may cut.
        owner(theme, view),
        // Deep paths lose their ancestors to indentation: the header names the selection in full.
        match view.selected_node() {
            Some(id) => Span::styled(view.tree.path(id), theme.accent),
            None => Span::styled("+ added  ~ modified  - removed", theme.dim),
        },
    ]);
    header.render(Rect { height: 1, ..inner }, buf);
    let visible = usize::from(inner.height.saturating_sub(1));
    for (i, row) in view.rows.iter().enumerate().skip(view.scroll).take(visible) {
        let y = inner.y + 1 + (i - view.scroll) as u16;
        let line = match *row {
            Row::Node { id, depth } => {
                let node = view.tree.node(id);
                let (mark, mark_style) = match node.change {
                    Change::Added => ("+", theme.added),
                    Change::Modified => ("~", theme.modified),
                    Change::Removed => ("-", theme.removed),
                    Change::Unchanged if node.changed => ("·", theme.modified),
                    Change::Unchanged => (" ", theme.dim),
                };
                let arrow = match node.kind {
                    EntryKind::Dir if node.children.is_empty() => "  ",
                    EntryKind::Dir if view.is_open(id) => "▾ ",
                    EntryKind::Dir => "▸ ",
                    _ => "  ",
                };
                let name_style = match (node.kind, node.change) {
                    (_, Change::Removed) => theme.removed.add_modifier(Modifier::CROSSED_OUT),
                    (EntryKind::Dir, _) => theme.accent,
                    (EntryKind::Symlink, _) => theme.variable,
                    _ => theme.text,
                };
                let suffix = match node.kind {
                    EntryKind::Dir => "/",
                    EntryKind::Symlink => "@",
                    _ => "",
                };
                let marked = if view.marked.contains(&id) {
                    " ●"
                } else {
                    ""
                };
                Line::from(vec![
                    Span::styled(format!(" {mark} "), mark_style),
                    Span::styled(format!("{:>9}  ", format::size(node.size)), theme.dim),
                    Span::raw("  ".repeat(usize::from(depth))),
                    Span::styled(arrow, theme.dim),
                    Span::styled(format!("{}{suffix}", node.name), name_style),
                    Span::styled(marked, theme.accent),
                ])
            }
            Row::More {
                depth, remaining, ..
            } => Line::from(vec![
                Span::raw(" ".repeat(14 + 2 * usize::from(depth))),
                Span::styled(
                    format!("… {remaining} more (Enter)"),
                    theme.dim.add_modifier(Modifier::ITALIC),
                ),
            ]),
        };
        let line = if i == view.selected {
            line.patch_style(theme.selection())
        } else {
            line
        };
        line.render(
            Rect {
                y,
                height: 1,
                ..inner
            },
            buf,
        );
    }
}

/// `libc6 2.36-9 (dpkg) · ` for a selected file a package owns, `no package · ` for one no
/// package owns, nothing for directories or when no package database was read.
fn owner<'a>(theme: &Theme, view: &'a TreeView) -> Span<'a> {
    let Some(id) = view.selected_node() else {
        return Span::raw("");
    };
    if view.tree.owners.is_empty() || view.tree.node(id).kind == EntryKind::Dir {
        return Span::raw("");
    }
    match view.tree.owners.owner(&view.tree.path(id)) {
        Some(label) => Span::styled(format!("{label} · "), theme.variable),
        None => Span::styled("no package · ", theme.dim),
    }
}
