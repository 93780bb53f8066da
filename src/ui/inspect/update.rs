//! The inspector's state changes: keys, finished indexes, trees and extractions. Pure apart from
//! the returned effects, which the runtime carries out off the UI thread.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::frame::areas;
use super::model::{Attributes, Focus, LayerState, Model, Prompt};
use super::msg::{Effect, Msg};
use super::packages;
use crate::analyze::layers::EntryKind;
use crate::ui::tui::tree::{Row, Sort};

pub fn update(m: &mut Model, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Key(k) => key(m, k, &mut fx),
        Msg::Resize(w, h) => m.size = (w, h),
        Msg::Indexed(i, r) => {
            if let Some(row) = m.layers.get_mut(i) {
                row.state = match r {
                    Ok(ix) => LayerState::Ready(ix),
                    Err(e) => LayerState::Failed(e),
                };
            }
        }
        Msg::Partial(ix) => {
            if let Some(row) = m.layers.get_mut(ix.index)
                && matches!(row.state, LayerState::Indexing | LayerState::Partial(_))
            {
                row.state = LayerState::Partial(ix);
            }
        }
        Msg::TreeBuilt(mut files) => {
            if m.pending.as_ref() == Some(&(files.layer, files.filter.clone())) {
                m.pending = None;
            }
            if files.layer == m.selected && files.filter == m.filter {
                if m.sort == Sort::Name {
                    files.view.toggle_sort();
                }
                if m.only_changes {
                    files.view.toggle_only_changes();
                }
                // A fuller tree of the same layer keeps what the person opened and selected.
                if let Some(old) = m
                    .files
                    .as_ref()
                    .filter(|o| o.layer == files.layer && o.filter == files.filter)
                {
                    files.view.restore(&old.view);
                }
                m.files = Some(*files);
                packages::mark(m);
            }
        }
        Msg::Waste(e) => {
            m.waste = Some(*e);
            m.waste_pending = false;
        }
        Msg::Extracted(r) => {
            m.message = Some(match r {
                Ok(done) => (done, false),
                Err(e) => (e, true),
            })
        }
    }
    fx.extend(want_tree(m));
    if m.waste.is_none()
        && !m.waste_pending
        && m.indexed() == m.layers.len()
        && let Some(all) = (0..m.layers.len())
            .map(|i| m.index(i).cloned())
            .collect::<Option<Vec<_>>>()
    {
        m.waste_pending = true;
        fx.push(Effect::ComputeWaste(all));
    }
    follow_selection(m);
    fx
}

/// Asks for the tree of the selected layer once the layers under it are read, again as its own
/// index grows and when it completes (one build at a time).
fn want_tree(m: &mut Model) -> Option<Effect> {
    if m.pending.is_some() || m.layers.is_empty() {
        return None;
    }
    let (layers, complete) = m.indexes_for_tree(m.selected)?;
    let seen = layers.last().map_or(0, |l| l.entries.len());
    if let Some(f) = m.files_current()
        && (!f.partial || (!complete && f.seen >= seen))
    {
        return None;
    }
    m.pending = Some((m.selected, m.filter.clone()));
    Some(Effect::BuildTree {
        layers,
        filter: m.filter.clone(),
        partial: !complete,
    })
}

fn key(m: &mut Model, k: KeyEvent, fx: &mut Vec<Effect>) {
    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
        m.quit = true;
        return;
    }
    if let Some(prompt) = m.prompt.as_mut() {
        let text = match prompt {
            Prompt::Filter(t) | Prompt::Extract(t) => t,
        };
        match k.code {
            KeyCode::Char(c) => text.push(c),
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Esc => m.prompt = None,
            KeyCode::Enter => match m.prompt.take() {
                Some(Prompt::Filter(t)) => m.filter = t,
                Some(Prompt::Extract(t)) => extract(m, &t, fx),
                None => {}
            },
            _ => {}
        }
        return;
    }
    m.message = None;
    match k.code {
        KeyCode::Char('q') => m.quit = true,
        KeyCode::Tab | KeyCode::BackTab => {
            m.focus = match m.focus {
                Focus::Layers => Focus::Files,
                Focus::Files if m.show_packages => Focus::Packages,
                Focus::Files | Focus::Packages => Focus::Layers,
            }
        }
        KeyCode::Char('p') => packages::toggle(m),
        KeyCode::Char('/') => m.prompt = Some(Prompt::Filter(m.filter.clone())),
        KeyCode::Esc if !m.filter.is_empty() => m.filter.clear(),
        KeyCode::Char('a') => {
            m.only_changes = !m.only_changes;
            if let Some(f) = m.files.as_mut() {
                f.view.toggle_only_changes();
            }
        }
        KeyCode::Char('s') => {
            m.sort = match m.sort {
                Sort::Size => Sort::Name,
                Sort::Name => Sort::Size,
            };
            if let Some(f) = m.files.as_mut() {
                f.view.toggle_sort();
            }
        }
        KeyCode::Char('x') => match m.selected_path() {
            Some(_) => m.prompt = Some(Prompt::Extract(".".into())),
            None => m.message = Some(("select a file or directory to extract".into(), true)),
        },
        _ if m.focus == Focus::Layers => layer_key(m, k.code),
        _ if m.focus == Focus::Packages => packages::key(m, k.code),
        _ => file_key(m, k.code),
    }
}

fn layer_key(m: &mut Model, code: KeyCode) {
    let last = m.layers.len().saturating_sub(1);
    m.selected = match code {
        KeyCode::Up | KeyCode::Char('k') => m.selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => (m.selected + 1).min(last),
        KeyCode::Home | KeyCode::Char('g') => 0,
        KeyCode::End | KeyCode::Char('G') => last,
        KeyCode::Enter | KeyCode::Right => {
            m.focus = Focus::Files;
            m.selected
        }
        _ => m.selected,
    };
}

fn file_key(m: &mut Model, code: KeyCode) {
    let page = tree_rows(m).max(1) as isize;
    let (layer, filter) = (m.selected, &m.filter);
    // Keys for a tree still being built are dropped, not sent to the one on its way out.
    let Some(files) = m
        .files
        .as_mut()
        .filter(|f| f.layer == layer && &f.filter == filter)
    else {
        return;
    };
    let view = &mut files.view;
    match code {
        KeyCode::Up | KeyCode::Char('k') => view.select(-1),
        KeyCode::Down | KeyCode::Char('j') => view.select(1),
        KeyCode::PageUp => view.select(-page),
        KeyCode::PageDown => view.select(page),
        KeyCode::Home | KeyCode::Char('g') => view.select(isize::MIN / 2),
        KeyCode::End | KeyCode::Char('G') => view.select(isize::MAX / 2),
        KeyCode::Right | KeyCode::Char('l') | KeyCode::Enter => view.expand(),
        KeyCode::Left | KeyCode::Char('h') => view.collapse(),
        KeyCode::Char(' ') => match view.selected_node() {
            Some(id) if view.is_open(id) => view.collapse(),
            _ => view.expand(),
        },
        KeyCode::Char('e') => view.expand_all(),
        _ => {}
    }
}

fn extract(m: &mut Model, dest: &str, fx: &mut Vec<Effect>) {
    let Some(path) = m.selected_path() else {
        return;
    };
    let dest = if dest.trim().is_empty() {
        "."
    } else {
        dest.trim()
    };
    m.message = Some((format!("extracting /{path} to {dest} …"), false));
    fx.push(Effect::Extract {
        upto: m.selected,
        path,
        dest: PathBuf::from(dest),
    });
}

/// Rows of the tree pane below its header line.
fn tree_rows(m: &Model) -> usize {
    let a = areas(m.size);
    usize::from(a.files.height.saturating_sub(3))
}

/// Keeps the selected row on screen and the attribute panel on the selected path.
fn follow_selection(m: &mut Model) {
    let height = tree_rows(m).max(1);
    let Some(files) = m.files.as_mut() else {
        return;
    };
    let view = &mut files.view;
    if view.selected < view.scroll {
        view.scroll = view.selected;
    } else if view.selected >= view.scroll + height {
        view.scroll = view.selected + 1 - height;
    }
    view.scroll = view.scroll.min(view.rows.len().saturating_sub(1));
    let path = m.selected_path();
    if m.attributes.as_ref().map(|a| &a.path) != path.as_ref() {
        m.attributes = path.map(|p| attributes(m, p));
    }
}

fn attributes(m: &Model, path: String) -> Attributes {
    let live = m
        .files_current()
        .and_then(|f| f.stack.live.get(&path).cloned());
    let entry = live.as_ref().and_then(|l| {
        m.index(l.layer)?
            .entries
            .iter()
            .rev()
            .find(|e| e.path == path)
    });
    let removed = m.files_current().is_some_and(|f| {
        f.view.selected_node().is_some_and(|id| {
            f.view.tree.node(id).change == crate::ui::tui::tree::Change::Removed
                && matches!(f.view.rows.get(f.view.selected), Some(Row::Node { .. }))
        })
    });
    Attributes {
        kind: match (&live, removed) {
            (_, true) => EntryKind::Whiteout,
            (Some(l), _) => l.kind,
            (None, _) => EntryKind::Dir,
        },
        mode: entry.map_or(0, |e| e.mode),
        uid: entry.map_or(0, |e| e.uid),
        gid: entry.map_or(0, |e| e.gid),
        size: live.as_ref().map_or(0, |l| l.size),
        link: entry.and_then(|e| e.link.clone()),
        layer: live.map(|l| l.layer),
        path,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crossterm::event::KeyEvent;

    use super::*;
    use crate::analyze::layers::{EntryKind as K, LayerIndex};
    use crate::ui::inspect::layer_tree;
    use crate::ui::tui::Theme;
    use crate::ui::tui::tree::Change;

    fn layer(index: usize, entries: &[(&str, K, u64)]) -> Arc<LayerIndex> {
        Arc::new(LayerIndex::for_test(index, entries))
    }

    /// Runs tree and waste effects in place, as the runtime would on its threads.
    fn send(m: &mut Model, msg: Msg) -> Vec<Effect> {
        let mut left = Vec::new();
        let mut queue = vec![msg];
        while let Some(msg) = queue.pop() {
            for fx in update(m, msg) {
                match fx {
                    Effect::BuildTree {
                        layers,
                        filter,
                        partial,
                    } => {
                        let files = layer_tree::build(&layers, &filter, partial).expect("tree");
                        queue.push(Msg::TreeBuilt(Box::new(files)))
                    }
                    Effect::ComputeWaste(layers) => queue.push(Msg::Waste(Box::new(
                        crate::analyze::waste::efficiency(&layers),
                    ))),
                    other => left.push(other),
                }
            }
        }
        left
    }

    fn press(m: &mut Model, code: KeyCode) -> Vec<Effect> {
        send(m, Msg::Key(KeyEvent::from(code)))
    }

    fn typed(m: &mut Model, text: &str) {
        for c in text.chars() {
            press(m, KeyCode::Char(c));
        }
    }

    fn model() -> Model {
        Model::new(
            "img".into(),
            Theme::monochrome(),
            vec![("base".into(), 10), ("RUN x".into(), 20)],
        )
    }

    #[test]
    fn layers_stream_in_trees_follow_the_selection_and_waste_waits_for_all() {
        let mut m = model();
        let l0 = layer(0, &[("etc", K::Dir, 0), ("etc/a", K::File, 5)]);
        let l1 = layer(
            1,
            &[
                ("etc", K::Dir, 0),
                ("etc/a", K::File, 9),
                ("ln", K::Symlink, 0),
            ],
        );
        // Layer 1 first: nothing can be shown yet for layer 0.
        send(&mut m, Msg::Indexed(1, Ok(l1)));
        assert!(m.files.is_none() && m.waste.is_none());
        send(&mut m, Msg::Indexed(0, Ok(l0)));
        assert_eq!(m.files_current().expect("tree").layer, 0);
        let waste = m.waste.as_ref().expect("waste once all are in");
        assert_eq!(waste.wasted_bytes, 14);
        // Attributes of the selected path come from its entry.
        let a = m.attributes.clone().expect("attributes");
        assert_eq!((a.path.as_str(), a.mode, a.layer), ("etc", 0o755, Some(0)));
        // Next layer: /etc/a is modified there.
        press(&mut m, KeyCode::Down);
        let files = m.files_current().expect("layer 1 tree");
        assert_eq!(files.layer, 1);
        press(&mut m, KeyCode::Tab);
        press(&mut m, KeyCode::Char('/'));
        typed(&mut m, "a");
        press(&mut m, KeyCode::Enter);
        let files = m.files_current().expect("filtered");
        let id = files.view.selected_node().expect("selected");
        assert_eq!(files.view.tree.path(id), "/etc");
        press(&mut m, KeyCode::Down);
        let a = m.attributes.clone().expect("attributes");
        assert_eq!(
            (a.path.as_str(), a.size, a.mode, a.uid, a.gid),
            ("etc/a", 9, 0o640, 7, 8)
        );
        let files = m.files_current().expect("tree");
        let id = files.view.selected_node().expect("selected");
        assert_eq!(files.view.tree.node(id).change, Change::Modified);
        // x asks for a destination and hands the extraction to the runtime.
        press(&mut m, KeyCode::Char('x'));
        press(&mut m, KeyCode::Backspace);
        typed(&mut m, "/tmp/out");
        let fx = press(&mut m, KeyCode::Enter);
        assert!(
            matches!(&fx[..], [Effect::Extract { upto: 1, path, dest }]
                if path == "etc/a" && dest == std::path::Path::new("/tmp/out")),
            "{fx:?}"
        );
        // Esc drops the filter; `a` shows only the layer's changes.
        press(&mut m, KeyCode::Esc);
        assert!(m.filter.is_empty() && m.files_current().is_some());
        press(&mut m, KeyCode::Char('a'));
        assert!(m.files_current().expect("tree").view.only_changes);
        press(&mut m, KeyCode::Char('q'));
        assert!(m.quit);
    }

    #[test]
    fn an_image_without_layers_still_scores() {
        let mut m = Model::new("empty".into(), Theme::monochrome(), Vec::new());
        send(&mut m, Msg::Resize(100, 30));
        assert_eq!(m.waste.as_ref().map(|w| w.score), Some(1.0));
    }

    #[test]
    fn a_layer_still_indexing_shows_what_is_read_and_keeps_the_selection() {
        let mut m = model();
        let full = layer(
            0,
            &[
                ("a", K::Dir, 0),
                ("a/x", K::File, 50),
                ("b", K::Dir, 0),
                ("b/y", K::File, 9),
            ],
        );
        let part = Arc::new(LayerIndex {
            entries: full.entries[..2].to_vec(),
            ..(*full).clone()
        });
        send(&mut m, Msg::Partial(part));
        let files = m.files_current().expect("partial tree");
        assert!(files.partial && files.view.tree.len() == 2);
        assert_eq!(m.indexed(), 0);
        // Open a/ and select a/x, then the layer completes: the fuller tree keeps both.
        press(&mut m, KeyCode::Tab);
        press(&mut m, KeyCode::Right);
        press(&mut m, KeyCode::Down);
        assert_eq!(m.selected_path().as_deref(), Some("a/x"));
        send(&mut m, Msg::Indexed(0, Ok(full)));
        let files = m.files_current().expect("tree");
        assert!(!files.partial && files.view.tree.len() == 4);
        assert_eq!(m.selected_path().as_deref(), Some("a/x"));
    }
}
