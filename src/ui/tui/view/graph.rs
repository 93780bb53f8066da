//! The stage graph: boxes by dependency depth, edges between them, external images as their own nodes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{pane, symbols};
use crate::ui::tui::build::{StageState, StageView};
use crate::ui::tui::format;
use crate::ui::tui::graph::{BOX_H, EdgeKind, NodeKind};
use crate::ui::tui::layout::{self, Pane};
use crate::ui::tui::model::Model;

/// Draws on a window of the graph's canvas, clipping to the pane.
struct Canvas<'b> {
    buf: &'b mut Buffer,
    area: Rect,
    scroll: (u16, u16),
}

impl Canvas<'_> {
    fn put(&mut self, cx: u16, cy: u16, text: &str, style: Style) {
        let (sx, sy) = self.scroll;
        if cy < sy || cy - sy >= self.area.height {
            return;
        }
        let y = self.area.y + (cy - sy);
        for (i, ch) in text.chars().enumerate() {
            let cx = cx + i as u16;
            if cx < sx || cx - sx >= self.area.width {
                continue;
            }
            if let Some(cell) = self.buf.cell_mut((self.area.x + (cx - sx), y)) {
                cell.set_char(ch).set_style(style);
            }
        }
    }
}

pub fn draw(m: &Model, buf: &mut Buffer, area: Rect) {
    let theme = &m.theme;
    let stages = m.build.stages.len();
    let skipped = m
        .build
        .stages
        .iter()
        .filter(|s| s.skipped.is_some())
        .count();
    let mut right = vec![Span::styled(format!(" {stages} stages"), theme.dim)];
    if skipped > 0 {
        right.push(Span::styled(format!(", {skipped} skipped"), theme.dim));
    }
    if let Some(target) = &m.build.target {
        right.push(Span::styled(" · target ", theme.dim));
        right.push(Span::styled(format!("{target} "), theme.target));
    }
    let block = pane(
        m,
        Pane::Graph,
        Span::styled("Stages ", theme.title),
        Some(Line::from(right)),
    );
    block.render(area, buf);
    let inner = layout::inner(area);
    if m.build.stages.is_empty() {
        let text = if m.stream_closed {
            "no build in this event stream"
        } else {
            "waiting for the build to start…"
        };
        Line::styled(text, theme.dim).render(inner, buf);
        return;
    }
    let mut canvas = Canvas {
        buf,
        area: inner,
        scroll: m.graph_scroll,
    };
    for cell in &m.graph.cells {
        let style = match cell.kind {
            EdgeKind::Base => theme.edge,
            EdgeKind::Copy => theme.edge_copy.add_modifier(Modifier::DIM),
        };
        let glyph = match (cell.kind, cell.glyph) {
            (EdgeKind::Copy, '─') => '┄',
            (EdgeKind::Copy, '│') => '┆',
            (_, g) => g,
        };
        canvas.put(cell.x, cell.y, glyph.encode_utf8(&mut [0; 4]), style);
    }
    let selected = m.graph.stage_node(m.stage);
    for (i, node) in m.graph.nodes.iter().enumerate() {
        match &node.kind {
            NodeKind::Stage(s) => {
                let stage = &m.build.stages[*s];
                stage_box(m, &mut canvas, node.x, node.y, stage, Some(i) == selected);
            }
            NodeKind::Image(name) => image_box(m, &mut canvas, node.x, node.y, name),
        }
    }
    // More graph than pane: say so at the edges rather than silently cut.
    let (sx, sy) = m.graph_scroll;
    let more = theme.accent.add_modifier(Modifier::BOLD);
    if sx + inner.width < m.graph.width && inner.height > 0 {
        canvas.buf.set_string(
            inner.right().saturating_sub(1),
            inner.y + inner.height / 2,
            "»",
            more,
        );
    }
    if sx > 0 && inner.height > 0 {
        canvas
            .buf
            .set_string(inner.x, inner.y + inner.height / 2, "«", more);
    }
    if sy + inner.height < m.graph.height && inner.width > 2 {
        canvas.buf.set_string(
            inner.x + inner.width / 2,
            area.bottom().saturating_sub(1),
            " ⌄ ",
            more,
        );
    }
    if sy > 0 && inner.width > 2 {
        canvas
            .buf
            .set_string(inner.x + inner.width / 2, area.y, " ⌃ ", more);
    }
}

fn frame(canvas: &mut Canvas, x: u16, y: u16, w: u16, heavy: bool, style: Style) {
    let (tl, tr, bl, br, h, v) = if heavy {
        ("┏", "┓", "┗", "┛", "━", "┃")
    } else {
        ("╭", "╮", "╰", "╯", "─", "│")
    };
    let bar = h.repeat(usize::from(w.saturating_sub(2)));
    canvas.put(x, y, &format!("{tl}{bar}{tr}"), style);
    for dy in 1..BOX_H - 1 {
        canvas.put(x, y + dy, v, style);
        canvas.put(x + w - 1, y + dy, v, style);
        canvas.put(
            x + 1,
            y + dy,
            &" ".repeat(usize::from(w.saturating_sub(2))),
            Style::new(),
        );
    }
    canvas.put(x, y + BOX_H - 1, &format!("{bl}{bar}{br}"), style);
}

fn stage_box(m: &Model, canvas: &mut Canvas, x: u16, y: u16, stage: &StageView, selected: bool) {
    let theme = &m.theme;
    let w = m.graph.box_w;
    let state = stage.state();
    let (symbol, state_style) = symbols::stage(state, m.ticks, theme);
    let is_target = m.build.target.as_deref() == Some(stage.label.as_str());
    let border = if selected {
        theme.border_focus.add_modifier(Modifier::BOLD)
    } else if state == StageState::Skipped {
        theme.emphasis(theme.skipped, false)
    } else {
        state_style.remove_modifier(Modifier::BOLD)
    };
    frame(canvas, x, y, w, selected, border);
    let name_style = match state {
        StageState::Skipped => theme.emphasis(theme.skipped, false),
        _ if selected => theme.text.add_modifier(Modifier::BOLD),
        _ => theme.text,
    };
    let name = format::truncate(&stage.label, usize::from(w.saturating_sub(4)));
    canvas.put(x + 1, y, " ", border);
    canvas.put(x + 2, y, &name, name_style);
    canvas.put(x + 2 + name.chars().count() as u16, y, " ", border);
    if is_target {
        let tag = " target ";
        canvas.put(
            x + w - 1 - tag.len() as u16,
            y + BOX_H - 1,
            tag,
            theme.target.add_modifier(Modifier::BOLD),
        );
    }
    let inner_w = usize::from(w.saturating_sub(4));
    let done = stage.steps_done();
    let total = stage.steps.len();
    let elapsed = stage
        .elapsed(m.clock())
        .map(format::duration)
        .unwrap_or_default();
    let status = match state {
        StageState::Skipped => stage.skipped.clone().unwrap_or_default(),
        // Once the build is over, a stage that never started will not: say so.
        StageState::Pending | StageState::Queued if m.build.finished.is_some() => {
            "not built".into()
        }
        StageState::Pending => "waiting".into(),
        StageState::Queued => "queued".into(),
        StageState::Paused => format!("paused {done}/{total}"),
        StageState::Cached => format!("cached {done}/{total}"),
        StageState::Failed => {
            let at = stage
                .steps
                .iter()
                .find(|s| s.failure.is_some())
                .map(|s| s.step.index);
            at.map_or_else(|| "failed".into(), |i| format!("failed at #{i}"))
        }
        StageState::Running | StageState::Done => format!("{done}/{total} {elapsed}"),
    };
    canvas.put(x + 2, y + 1, symbol, state_style);
    let status_style = if state == StageState::Skipped {
        theme.emphasis(theme.skipped, false)
    } else {
        theme.dim
    };
    canvas.put(
        x + 4,
        y + 1,
        &format::truncate(&status, inner_w.saturating_sub(2)),
        status_style,
    );
}

fn image_box(m: &Model, canvas: &mut Canvas, x: u16, y: u16, name: &str) {
    let theme = &m.theme;
    let w = m.graph.box_w;
    let style = theme.external.add_modifier(Modifier::DIM);
    frame(canvas, x, y, w, false, style);
    let short = name.rsplit('/').next().unwrap_or(name);
    canvas.put(x + 2, y + 1, "◇ ", theme.external);
    canvas.put(
        x + 4,
        y + 1,
        &format::truncate(short, usize::from(w.saturating_sub(6))),
        theme.external,
    );
    canvas.put(x + 2, y, " image ", style);
}
