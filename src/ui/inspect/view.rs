//! Drawing the inspector: layers, attributes and wasted space (or packages) on the left, the file tree on the
//! right (drawn by the build TUI's tree renderer), keys or a prompt in the status bar.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::frame::{areas, block, line_at};
use super::model::{Focus, LayerState, Model, Prompt};
use crate::analyze::layers::EntryKind;
use crate::ui::tui::format::size;
use crate::ui::tui::layout::inner;
use crate::ui::tui::tree::Sort;
use crate::ui::tui::view::tree::rows as tree_rows;

pub fn view(m: &Model, frame: &mut Frame) {
    let area = frame.area();
    let buf = frame.buffer_mut();
    buf.set_style(area, m.theme.base);
    let a = areas((area.width, area.height));
    layers(m, buf, a.layers);
    attributes(m, buf, a.attributes);
    if m.show_packages {
        super::packages::draw(m, buf, a.waste);
    } else {
        waste(m, buf, a.waste);
    }
    files(m, buf, a.files);
    status(m, buf, a.status);
}

fn layers(m: &Model, buf: &mut Buffer, area: Rect) {
    let t = &m.theme;
    let done = m.indexed();
    let right = (done < m.layers.len()).then(|| format!("indexed {done}/{}", m.layers.len()));
    block(
        m,
        format!("Layers · {}", m.image),
        m.focus == Focus::Layers,
        right,
    )
    .render(area, buf);
    let inner = inner(area);
    line_at(
        Line::styled(
            format!(" {:>2} {:>9} {:>8}  CREATED BY", "#", "SIZE", "FILES"),
            t.dim,
        ),
        inner,
        0,
        buf,
    );
    let visible = usize::from(inner.height.saturating_sub(1)).max(1);
    let skip = (m.selected + 1).saturating_sub(visible);
    for (i, l) in m.layers.iter().enumerate().skip(skip).take(visible) {
        let (sz, files, style) = match &l.state {
            LayerState::Indexing => (
                format!("~{}", size(l.compressed_size)),
                "indexing…".to_string(),
                t.pending,
            ),
            LayerState::Partial(ix) => (
                format!("~{}", size(l.compressed_size)),
                format!("{}k…", ix.entries.len() / 1000),
                t.pending,
            ),
            LayerState::Ready(ix) => (
                size(ix.size),
                ix.entries
                    .iter()
                    .filter(|e| e.kind != EntryKind::Dir)
                    .count()
                    .to_string(),
                t.text,
            ),
            LayerState::Failed(_) => (String::new(), "failed".into(), t.failed),
        };
        let mut line = Line::from(vec![
            Span::styled(format!(" {i:>2} {sz:>9} {files:>9}  "), style),
            Span::styled(l.created_by.replace('\n', " "), t.text),
        ]);
        if i == m.selected {
            line = line.patch_style(t.selection());
        }
        line_at(line, inner, (i - skip + 1) as u16, buf);
    }
}

fn attributes(m: &Model, buf: &mut Buffer, area: Rect) {
    let t = &m.theme;
    block(m, "Attributes".into(), false, None).render(area, buf);
    let inner = inner(area);
    let Some(a) = &m.attributes else {
        line_at(Line::styled(" no path selected", t.dim), inner, 0, buf);
        return;
    };
    line_at(
        Line::styled(format!(" /{}", a.path), t.accent),
        inner,
        0,
        buf,
    );
    let kind = match a.kind {
        EntryKind::File => "file",
        EntryKind::Dir => "directory",
        EntryKind::Symlink => "symlink",
        EntryKind::HardLink => "hard link",
        EntryKind::Whiteout => "removed",
        _ => "special",
    };
    if a.layer.is_none() && a.kind == EntryKind::Dir {
        let line = " directory: no layer lists it, only paths under it";
        line_at(Line::styled(line, t.dim), inner, 1, buf);
        return;
    }
    let from = a
        .layer
        .map_or_else(String::new, |l| format!("  from layer {l}"));
    line_at(
        Line::styled(
            format!(
                " {kind}  {}  {:04o}  {}:{}  {}{from}",
                permissions(a.kind, a.mode),
                a.mode,
                a.uid,
                a.gid,
                size(a.size)
            ),
            t.text,
        ),
        inner,
        1,
        buf,
    );
    if let Some(link) = &a.link {
        line_at(
            Line::styled(format!(" → {link}"), t.variable),
            inner,
            2,
            buf,
        );
    }
}

/// `ls -l` style: `drwxr-xr-x`, `-rwsr-xr-x`, `lrwxrwxrwx`.
fn permissions(kind: EntryKind, mode: u32) -> String {
    let mut out = String::from(match kind {
        EntryKind::Dir => 'd',
        EntryKind::Symlink => 'l',
        EntryKind::Other => '?',
        _ => '-',
    });
    for (shift, special, set) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(match (bits & 1 != 0, mode & special != 0) {
            (true, true) => set,
            (false, true) => set.to_ascii_uppercase(),
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    out
}

fn waste(m: &Model, buf: &mut Buffer, area: Rect) {
    let t = &m.theme;
    let Some(e) = &m.waste else {
        block(m, "Wasted space".into(), false, None).render(area, buf);
        let why = if m.indexed() < m.layers.len() {
            " waiting for every layer's index …"
        } else {
            " working out efficiency …"
        };
        line_at(Line::styled(why, t.dim), inner(area), 0, buf);
        return;
    };
    let title = format!(
        "Wasted space · efficiency {:.1} % · {} wasted ({:.1} % of user size)",
        e.score * 100.0,
        size(e.wasted_bytes),
        e.user_wasted_percent * 100.0
    );
    block(m, title, false, None).render(area, buf);
    let inner = inner(area);
    line_at(
        Line::styled(format!(" {:>5} {:>9}  PATH", "COUNT", "TOTAL"), t.dim),
        inner,
        0,
        buf,
    );
    if e.inefficiencies.is_empty() {
        line_at(
            Line::styled(" no path is stored in more than one layer", t.dim),
            inner,
            1,
            buf,
        );
    }
    for (i, w) in e
        .inefficiencies
        .iter()
        .take(usize::from(inner.height.saturating_sub(1)))
        .enumerate()
    {
        line_at(
            Line::from(vec![
                Span::styled(
                    format!(" {:>5} {:>9}  ", w.count, size(w.cumulative_size)),
                    t.removed,
                ),
                Span::styled(w.path.clone(), t.text),
            ]),
            inner,
            (i + 1) as u16,
            buf,
        );
    }
}

fn files(m: &Model, buf: &mut Buffer, area: Rect) {
    let t = &m.theme;
    let scope = if m.only_changes {
        "this layer's changes"
    } else {
        "everything up to it"
    };
    let sort = if m.sort == Sort::Size {
        "by size"
    } else {
        "by name"
    };
    let filter = if m.filter.is_empty() {
        String::new()
    } else {
        format!(" · /{}", m.filter)
    };
    let partial = if m.files_current().is_some_and(|f| f.partial) {
        " · so far (indexing)"
    } else {
        ""
    };
    block(
        m,
        format!("Files after layer {} · {scope}{partial}", m.selected),
        m.focus == Focus::Files,
        Some(format!("{sort}{filter}")),
    )
    .render(area, buf);
    let inner = inner(area);
    match m.files_current() {
        Some(f) => tree_rows(t, &f.view, buf, inner),
        None => {
            let why = match m.layers.get(m.selected).map(|l| &l.state) {
                Some(LayerState::Failed(e)) => Line::styled(format!(" {e}"), t.failed),
                _ if m.indexes_upto(m.selected).is_none() => {
                    Line::styled(format!(" indexing layers 0 to {} …", m.selected), t.pending)
                }
                _ => Line::styled(" building the tree …", t.pending),
            };
            line_at(why, inner, 0, buf);
        }
    }
}

fn status(m: &Model, buf: &mut Buffer, area: Rect) {
    let t = &m.theme;
    let bar = t.status_bar();
    buf.set_style(area, bar);
    let line = match (&m.prompt, &m.message) {
        (Some(Prompt::Filter(text)), _) => Line::styled(
            format!(" filter paths: {text}▏  (Enter apply · Esc cancel)"),
            bar,
        ),
        (Some(Prompt::Extract(text)), _) => Line::styled(
            format!(
                " extract /{} into directory: {text}▏  (Enter · Esc cancel)",
                m.selected_path().unwrap_or_default()
            ),
            bar,
        ),
        (None, Some((text, error))) => Line::styled(
            format!(" {text}"),
            if *error {
                t.failed.add_modifier(Modifier::BOLD)
            } else {
                bar
            },
        ),
        (None, None) => Line::styled(
            " q quit · Tab pane · ↑↓ move · ←→ collapse/expand · a layer/all · s sort · / filter · e expand all · x extract · p packages",
            bar,
        ),
    };
    line.patch_style(Style::new()).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_read_like_ls() {
        assert_eq!(permissions(EntryKind::Dir, 0o755), "drwxr-xr-x");
        assert_eq!(permissions(EntryKind::File, 0o4755), "-rwsr-xr-x");
        assert_eq!(permissions(EntryKind::File, 0o1640), "-rw-r----T");
        assert_eq!(permissions(EntryKind::Symlink, 0o777), "lrwxrwxrwx");
    }
}
