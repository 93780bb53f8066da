//! The packages panel (`p`, in place of the wasted space): bytes by package of the filesystem after
//! the selected layer, as `analyze::packages` attributed it with the layer's tree, those that
//! layer installed set apart. The selected package's files are marked `●` in the tree; Enter
//! opens the tree at its largest file.

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::frame::{block, line_at};
use super::model::{Focus, Model};
use crate::analyze::packages::{Package, owners::label};
use crate::ui::tui::format::size;
use crate::ui::tui::layout::inner;

pub fn toggle(m: &mut Model) {
    m.show_packages = !m.show_packages;
    if m.show_packages {
        m.focus = Focus::Packages;
    } else if m.focus == Focus::Packages {
        m.focus = Focus::Layers;
    }
    mark(m);
}

/// The packages of the tree on screen, once it is complete.
fn listed(m: &Model) -> &[Package] {
    m.files_current()
        .filter(|f| !f.partial)
        .map_or(&[], |f| &f.packages.packages)
}

pub fn key(m: &mut Model, code: KeyCode) {
    let last = listed(m).len().saturating_sub(1);
    let page = usize::from(super::frame::areas(m.size).waste.height.saturating_sub(3)).max(1);
    m.package = match code {
        KeyCode::Up | KeyCode::Char('k') => m.package.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => m.package + 1,
        KeyCode::PageUp => m.package.saturating_sub(page),
        KeyCode::PageDown => m.package + page,
        KeyCode::Home | KeyCode::Char('g') => 0,
        KeyCode::End | KeyCode::Char('G') => last,
        KeyCode::Enter | KeyCode::Right => return reveal(m),
        _ => m.package,
    }
    .min(last);
    mark(m);
}

/// Marks the selected package's files in the tree (nothing when the panel is hidden).
pub fn mark(m: &mut Model) {
    let paths = match listed(m).get(m.package) {
        Some(p) if m.show_packages => p.paths.clone(),
        _ => Vec::new(),
    };
    if let Some(f) = m.files.as_mut() {
        f.view.mark(&paths);
    }
}

/// Opens the tree at the selected package's largest file.
fn reveal(m: &mut Model) {
    let Some(f) = m.files.as_mut() else {
        return;
    };
    let view = &mut f.view;
    let largest = view
        .marked
        .iter()
        .copied()
        .filter(|&id| view.tree.node(id).children.is_empty())
        .max_by_key(|&id| (view.tree.node(id).size, std::cmp::Reverse(id)));
    if let Some(id) = largest {
        view.reveal(id);
        m.focus = Focus::Files;
    }
}

pub fn draw(m: &Model, buf: &mut Buffer, area: Rect) {
    let t = &m.theme;
    let layer = m.selected;
    let Some(files) = m.files_current().filter(|f| !f.partial) else {
        block(m, "Packages".into(), m.focus == Focus::Packages, None).render(area, buf);
        let why = format!(" reading the package databases up to layer {layer} …");
        line_at(Line::styled(why, t.pending), inner(area), 0, buf);
        return;
    };
    let all = &files.packages;
    let total: u64 = all.packages.iter().map(|p| p.bytes).sum();
    let unowned: u64 = all.unowned.iter().map(|u| u.bytes).sum();
    let here = all.packages.iter().filter(|p| p.layer == layer).count();
    let title = format!(
        "Packages after layer {layer} · {here} new · {} · {} · unowned {}",
        all.packages.len(),
        size(total),
        size(unowned)
    );
    block(m, title, m.focus == Focus::Packages, None).render(area, buf);
    let inner = inner(area);
    line_at(
        Line::styled(
            format!(" {:>9} {:>6} {:>5}  PACKAGE", "SIZE", "FILES", "LAYER"),
            t.dim,
        ),
        inner,
        0,
        buf,
    );
    if all.packages.is_empty() {
        let why = match all.notes.first() {
            Some(note) => format!(" {note}"),
            None => " no package database (dpkg, apk, pip, npm, Go) in this filesystem".into(),
        };
        line_at(Line::styled(why, t.dim), inner, 1, buf);
        return;
    }
    let visible = usize::from(inner.height.saturating_sub(1)).max(1);
    let skip = (m.package + 1).saturating_sub(visible);
    for (i, p) in all.packages.iter().enumerate().skip(skip).take(visible) {
        let style = if p.layer == layer { t.added } else { t.text };
        let mut line = Line::from(vec![
            Span::styled(
                format!(" {:>9} {:>6} {:>5}  ", size(p.bytes), p.files, p.layer),
                t.dim,
            ),
            Span::styled(label(&p.name, &p.version, p.manager.name()), style),
        ]);
        if i == m.package {
            line = line.patch_style(t.selection());
        }
        line_at(line, inner, (i - skip + 1) as u16, buf);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::analyze::layers::{EntryKind as K, LayerIndex};
    use crate::analyze::packages::Captured;
    use crate::ui::inspect::{Effect, Msg, layer_tree, update};
    use crate::ui::tui::Theme;

    /// A layer installing `hello` with dpkg, plus a file no package owns.
    fn dpkg_layer() -> Arc<LayerIndex> {
        let mut l = LayerIndex::for_test(
            0,
            &[
                ("usr/bin/hello", K::File, 700),
                ("usr/share/doc/hello/README", K::File, 30),
                ("app/run", K::File, 5),
            ],
        );
        let status = "Package: hello\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.10-3\n\n";
        let list = "/.\n/usr\n/usr/bin\n/usr/bin/hello\n/usr/share/doc/hello/README\n";
        for (path, text) in [
            ("var/lib/dpkg/status", status),
            ("var/lib/dpkg/info/hello.list", list),
        ] {
            l.captured.push((
                path.to_string(),
                Arc::new(Captured::Bytes(text.as_bytes().to_vec())),
            ));
        }
        Arc::new(l)
    }

    fn send(m: &mut Model, msg: Msg) {
        let mut queue = vec![msg];
        while let Some(msg) = queue.pop() {
            for fx in update(m, msg) {
                if let Effect::BuildTree {
                    layers,
                    filter,
                    partial,
                } = fx
                {
                    let files = layer_tree::build(&layers, &filter, partial).expect("tree");
                    queue.push(Msg::TreeBuilt(Box::new(files)));
                }
            }
        }
    }

    #[test]
    fn the_panel_lists_packages_marks_their_files_and_names_the_owner() {
        let mut m = Model::new("img".into(), Theme::monochrome(), vec![("base".into(), 1)]);
        send(&mut m, Msg::Indexed(0, Ok(dpkg_layer())));
        send(&mut m, Msg::Key(KeyCode::Char('p').into()));
        assert_eq!(m.focus, Focus::Packages);
        let files = m.files_current().expect("tree");
        let hello = &files.packages.packages[0];
        assert_eq!(
            (hello.name.as_str(), hello.bytes, hello.files),
            ("hello", 730, 2)
        );
        assert_eq!(files.packages.unowned[0].dir, "/app");
        // Its files and the directories above them are marked; /app is not.
        let view = &files.view;
        let marked: Vec<String> = view.marked.iter().map(|&id| view.tree.path(id)).collect();
        assert!(marked.contains(&"/usr/bin/hello".to_string()), "{marked:?}");
        assert!(marked.contains(&"/usr".to_string()));
        assert!(
            view.find("/app")
                .is_some_and(|id| !view.marked.contains(&id))
        );
        // Enter opens the tree at its largest file; the tree knows who owns it.
        send(&mut m, Msg::Key(KeyCode::Enter.into()));
        assert_eq!(m.focus, Focus::Files);
        assert_eq!(m.selected_path().as_deref(), Some("usr/bin/hello"));
        let tree = &m.files_current().expect("tree").view.tree;
        assert_eq!(tree.owners.owner("/usr/bin/hello"), Some("hello (dpkg)"));
        assert_eq!(tree.owners.owner("app/run"), None);
        // Drawn: the panel's row and the tree header's owner.
        let backend = ratatui::backend::TestBackend::new(140, 30);
        let mut term = ratatui::Terminal::new(backend).expect("terminal");
        term.draw(|f| super::super::view(&m, f)).expect("draw");
        let screen: String = term
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(
            screen.contains("Packages after layer 0 · 1 new · 1 ·"),
            "{screen}"
        );
        assert!(screen.contains("hello 2.10-3 (dpkg)"), "{screen}");
        assert!(
            screen.contains("│ hello (dpkg) · /usr/bin/hello"),
            "{screen}"
        );
        // p again: the wasted-space panel is back and nothing is marked.
        send(&mut m, Msg::Key(KeyCode::Char('p').into()));
        assert!(m.files_current().expect("tree").view.marked.is_empty());
    }
}
