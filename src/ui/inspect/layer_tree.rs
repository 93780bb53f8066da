//! The file tree after one layer of an image, from the layer indexes: everything up to the layer,
//! with the layer's own changes marked (added, modified, removed), optionally cut to the paths
//! that contain a filter string.

use std::collections::HashMap;
use std::sync::Arc;

use crate::analyze::layers::{EntryKind as LayerKind, LayerIndex};
use crate::analyze::packages::{self, Owners, Packages};
use crate::analyze::stack::Stack;
use crate::engine::event::StepRef;
use crate::ui::tui::tree::{Change, Entry, EntryKind, FileTree, TreeView};

/// A built tree and what the attribute panel needs to look paths up.
pub struct LayerFiles {
    pub layer: usize,
    pub filter: String,
    pub view: TreeView,
    /// The filesystem after the layer (path → the layer that wrote it last).
    pub stack: Stack,
    /// Built while the layer was still being indexed, from its first `seen` entries.
    pub partial: bool,
    pub seen: usize,
    /// Bytes by package of the filesystem after the layer (none while it is partial).
    pub packages: Packages,
}

fn kind(k: LayerKind) -> EntryKind {
    match k {
        LayerKind::File | LayerKind::HardLink => EntryKind::File,
        LayerKind::Dir => EntryKind::Dir,
        LayerKind::Symlink => EntryKind::Symlink,
        _ => EntryKind::Other,
    }
}

/// `layers` are the indexes of layers 0 to the one to show (it is the last). A `filter` keeps the
/// paths that contain it (case-insensitively) and opens every directory left. `partial`: the last
/// layer is still being indexed (its package databases are not read yet).
pub fn build(layers: &[Arc<LayerIndex>], filter: &str, partial: bool) -> Option<LayerFiles> {
    let (top, below) = layers.split_last()?;
    let mut stack = Stack::default();
    for l in below {
        stack.apply(l);
    }
    let mut marks: HashMap<&str, Change> = HashMap::new();
    let mut removed = Vec::new();
    for e in &top.entries {
        match (e.kind, stack.live.get(&e.path)) {
            (LayerKind::Opaque, _) => {}
            // Size 0: directory totals count what is there after the layer.
            (LayerKind::Whiteout, Some(old)) => removed.push(Entry {
                path: e.path.clone(),
                size: 0,
                kind: kind(old.kind),
                change: Change::Removed,
            }),
            (LayerKind::Whiteout, None) => {}
            // A directory listed again only because something under it changed is not itself a change.
            (LayerKind::Dir, Some(old)) if old.kind == LayerKind::Dir => {}
            (_, Some(_)) => {
                marks.insert(&e.path, Change::Modified);
            }
            (_, None) => {
                marks.insert(&e.path, Change::Added);
            }
        }
    }
    stack.apply(top);
    let needle = filter.to_lowercase();
    let keep = |p: &str| needle.is_empty() || p.to_lowercase().contains(&needle);
    let entries = stack
        .live
        .iter()
        .filter(|(p, _)| keep(p))
        .map(|(p, l)| Entry {
            path: p.clone(),
            size: l.size,
            kind: kind(l.kind),
            change: marks.get(p.as_str()).copied().unwrap_or(Change::Unchanged),
        })
        .chain(removed.into_iter().filter(|e| keep(&e.path)));
    // Attribution stacks the layers once more: only when a package database is there (an image
    // of 1M plain files keeps its tree time).
    let packages = if partial || layers.iter().all(|l| l.captured.is_empty()) {
        Packages::default()
    } else {
        packages::attribute(layers)
    };
    let tree = FileTree::from_entries(entries).with_owners(Owners::of(&packages));
    let mut view = TreeView::new(StepRef::new("layer", top.index), tree);
    if !needle.is_empty() {
        view.expand_all();
    }
    Some(LayerFiles {
        layer: top.index,
        filter: filter.to_string(),
        view,
        stack,
        partial,
        seen: top.entries.len(),
        packages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::tui::tree::Row;

    fn layer(index: usize, entries: &[(&str, LayerKind, u64)]) -> Arc<LayerIndex> {
        Arc::new(LayerIndex::for_test(index, entries))
    }

    fn marks(files: &LayerFiles) -> Vec<(String, Change)> {
        let tree = &files.view.tree;
        let mut out: Vec<(String, Change)> = (1..=tree.len() as u32)
            .map(|id| (tree.path(id), tree.node(id).change))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn marks_added_modified_removed_and_filters() {
        use LayerKind::*;
        let layers = [
            layer(
                0,
                &[("etc", Dir, 0), ("etc/a", File, 1), ("etc/b", File, 2)],
            ),
            layer(
                1,
                &[
                    ("etc", Dir, 0),
                    ("etc/a", File, 10),
                    ("etc/b", Whiteout, 0),
                    ("etc/c", File, 3),
                ],
            ),
        ];
        let files = build(&layers, "", false).expect("tree");
        assert_eq!(
            marks(&files),
            [
                ("/etc".to_string(), Change::Unchanged),
                ("/etc/a".to_string(), Change::Modified),
                ("/etc/b".to_string(), Change::Removed),
                ("/etc/c".to_string(), Change::Added),
            ]
        );
        assert_eq!(files.view.tree.node(0).size, 10 + 3);
        let below = build(&layers[..1], "", false).expect("tree");
        assert_eq!(marks(&below)[1], ("/etc/a".to_string(), Change::Added));
        // A filter keeps matching paths and opens their directories.
        let files = build(&layers, "TC/C", false).expect("tree");
        assert_eq!(marks(&files).len(), 2);
        assert_eq!(files.view.rows.len(), 2);
        assert!(matches!(files.view.rows[1], Row::Node { depth: 1, .. }));
    }
}
