//! The layer file tree: ingested from a flat list of entries into a compact arena, while the rows a
//! person sees are built only for expanded directories, a page of children at a time. A 1M-file
//! layer costs one pass to ingest (off the UI thread) and O(visible rows) to show.

use std::collections::{HashMap, HashSet};

use crate::engine::event::StepRef;

pub use crate::analyze::layer_source::{DirSource, LayerError, LayerRequest, LayerSource};
pub use crate::analyze::nodes::{Change, Entry, EntryKind, FileTree, ROOT, TreeNode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    Size,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    Node {
        id: u32,
        depth: u16,
    },
    /// Stands for the children of `parent` not listed yet.
    More {
        parent: u32,
        depth: u16,
        remaining: usize,
    },
}

/// What the tree pane shows of one step's layer.
#[derive(Debug, Clone)]
pub struct TreeView {
    pub step: StepRef,
    pub tree: FileTree,
    pub sort: Sort,
    pub only_changes: bool,
    pub rows: Vec<Row>,
    pub selected: usize,
    pub scroll: usize,
    /// Nodes drawn with a mark (a package's files in `inspect`, and the directories above them).
    pub marked: HashSet<u32>,
    open: HashSet<u32>,
    shown: HashMap<u32, usize>,
}

/// Children listed per directory before a "… more" row.
pub const PAGE: usize = 1000;

impl TreeView {
    pub fn new(step: StepRef, tree: FileTree) -> Self {
        let mut view = Self {
            step,
            tree,
            sort: Sort::Size,
            only_changes: false,
            rows: Vec::new(),
            selected: 0,
            scroll: 0,
            marked: HashSet::new(),
            open: HashSet::from([ROOT]),
            shown: HashMap::new(),
        };
        view.rebuild();
        view
    }

    pub fn is_open(&self, id: u32) -> bool {
        self.open.contains(&id)
    }

    /// Expands the selected directory, or lists the next page for a "more" row.
    pub fn expand(&mut self) {
        match self.rows.get(self.selected).copied() {
            Some(Row::Node { id, .. }) if !self.tree.node(id).children.is_empty() => {
                self.open.insert(id);
            }
            Some(Row::More { parent, .. }) => {
                *self.shown.entry(parent).or_insert(PAGE) += PAGE;
            }
            _ => return,
        }
        self.rebuild();
    }

    /// Opens every directory: for a filtered tree, whose every row is a match or leads to one.
    pub fn expand_all(&mut self) {
        let dirs =
            (0..=self.tree.len() as u32).filter(|&id| !self.tree.node(id).children.is_empty());
        self.open.extend(dirs);
        self.rebuild_keeping_selection();
    }

    /// The node at `path` (`/a/b`), found by names from the root.
    pub fn find(&self, path: &str) -> Option<u32> {
        let mut id = ROOT;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            id = *self
                .tree
                .node(id)
                .children
                .iter()
                .find(|&&c| &*self.tree.node(c).name == part)?;
        }
        Some(id)
    }

    /// Opens the directories `old` had open and selects what it selected, where this tree has
    /// them: for a fuller tree of the same filesystem replacing `old`.
    pub fn restore(&mut self, old: &TreeView) {
        let open: Vec<u32> = old
            .open
            .iter()
            .filter(|&&id| id != ROOT)
            .filter_map(|&id| self.find(&old.tree.path(id)))
            .collect();
        self.open.extend(open);
        self.rebuild();
        if let Some(id) = old
            .selected_node()
            .and_then(|id| self.find(&old.tree.path(id)))
        {
            self.selected = self.row_of(id).unwrap_or(0);
        }
        self.scroll = old.scroll;
    }

    /// Marks the nodes at `paths` and the directories above them; returns the marked files.
    pub fn mark(&mut self, paths: &[String]) -> Vec<u32> {
        self.marked.clear();
        let files: Vec<u32> = paths.iter().filter_map(|p| self.find(p)).collect();
        for &id in &files {
            let mut at = id;
            while at != ROOT && self.marked.insert(at) {
                at = self.tree.node(at).parent;
            }
        }
        files
    }

    /// Opens the directories above `id` and selects it.
    pub fn reveal(&mut self, id: u32) {
        let mut at = self.tree.node(id).parent;
        while at != ROOT {
            self.open.insert(at);
            at = self.tree.node(at).parent;
        }
        self.rebuild();
        self.selected = self.row_of(id).unwrap_or(0);
    }

    /// Collapses the selected directory, or moves to its parent when it is already closed.
    pub fn collapse(&mut self) {
        let Some(row) = self.rows.get(self.selected).copied() else {
            return;
        };
        let (id, parent) = match row {
            Row::Node { id, .. } => (Some(id), self.tree.node(id).parent),
            Row::More { parent, .. } => (None, parent),
        };
        if let Some(id) = id.filter(|id| self.open.contains(id)) {
            self.open.remove(&id);
        } else if parent != ROOT {
            self.open.remove(&parent);
            self.rebuild();
            self.selected = self.row_of(parent).unwrap_or(0);
            return;
        }
        self.rebuild();
    }

    pub fn toggle_sort(&mut self) {
        self.sort = if self.sort == Sort::Size {
            Sort::Name
        } else {
            Sort::Size
        };
        self.rebuild_keeping_selection();
    }

    pub fn toggle_only_changes(&mut self) {
        self.only_changes = !self.only_changes;
        self.rebuild_keeping_selection();
    }

    pub fn select(&mut self, delta: isize) {
        let last = self.rows.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, last) as usize;
    }

    pub fn selected_node(&self) -> Option<u32> {
        match self.rows.get(self.selected)? {
            Row::Node { id, .. } => Some(*id),
            Row::More { .. } => None,
        }
    }

    fn row_of(&self, id: u32) -> Option<usize> {
        self.rows
            .iter()
            .position(|r| matches!(r, Row::Node { id: i, .. } if *i == id))
    }

    fn rebuild_keeping_selection(&mut self) {
        let keep = self.selected_node();
        self.rebuild();
        self.selected = keep.and_then(|id| self.row_of(id)).unwrap_or(0);
    }

    fn rebuild(&mut self) {
        let mut rows = Vec::new();
        self.emit(ROOT, 0, &mut rows);
        self.rows = rows;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
    }

    /// Depth-first over open directories; each open directory's children are sorted here, so
    /// closed ones cost nothing.
    fn emit(&self, dir: u32, depth: u16, rows: &mut Vec<Row>) {
        let tree = &self.tree;
        let mut children: Vec<u32> = tree
            .node(dir)
            .children
            .iter()
            .copied()
            .filter(|&c| !self.only_changes || tree.node(c).changed)
            .collect();
        match self.sort {
            Sort::Size => children.sort_by(|&a, &b| {
                tree.node(b)
                    .size
                    .cmp(&tree.node(a).size)
                    .then_with(|| tree.node(a).name.cmp(&tree.node(b).name))
            }),
            Sort::Name => children.sort_by(|&a, &b| tree.node(a).name.cmp(&tree.node(b).name)),
        }
        let limit = self.shown.get(&dir).copied().unwrap_or(PAGE);
        let remaining = children.len().saturating_sub(limit);
        children.truncate(limit);
        for id in children {
            rows.push(Row::Node { id, depth });
            if self.open.contains(&id) && !tree.node(id).children.is_empty() {
                self.emit(id, depth + 1, rows);
            }
        }
        if remaining > 0 {
            rows.push(Row::More {
                parent: dir,
                depth,
                remaining,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64, change: Change) -> Entry {
        Entry {
            path: path.into(),
            size,
            kind: EntryKind::File,
            change,
        }
    }

    fn names(view: &TreeView) -> Vec<String> {
        view.rows
            .iter()
            .map(|r| match r {
                Row::Node { id, depth } => format!(
                    "{}{}",
                    "  ".repeat(*depth as usize),
                    view.tree.node(*id).name
                ),
                Row::More { remaining, .. } => format!("+{remaining}"),
            })
            .collect()
    }

    #[test]
    fn implied_parents_sum_sizes_and_changes() {
        let tree = FileTree::from_entries([
            file("usr/bin/app", 700, Change::Added),
            file("usr/lib/libc.so", 300, Change::Unchanged),
            file("etc/passwd", 10, Change::Unchanged),
        ]);
        assert_eq!(tree.len(), 7);
        assert_eq!(tree.node(ROOT).size, 1010);
        let view = TreeView::new(StepRef::new("s", 1), tree);
        assert_eq!(names(&view), ["usr", "etc"]);
        assert!(view.tree.node(view.selected_node().expect("usr")).changed);
    }

    #[test]
    fn expand_collapse_sort_and_filter() {
        let tree = FileTree::from_entries([
            file("a/small", 1, Change::Unchanged),
            file("a/big", 9, Change::Modified),
            file("b", 5, Change::Unchanged),
        ]);
        let mut view = TreeView::new(StepRef::new("s", 1), tree);
        view.expand();
        assert_eq!(names(&view), ["a", "  big", "  small", "b"]);
        view.toggle_sort();
        assert_eq!(names(&view), ["a", "  big", "  small", "b"]);
        view.toggle_only_changes();
        assert_eq!(names(&view), ["a", "  big"]);
        view.select(1);
        view.collapse();
        assert_eq!(names(&view), ["a"]);
        assert_eq!(view.selected, 0);
    }

    #[test]
    fn huge_directories_page() {
        let tree = FileTree::from_entries(
            (0..2500).map(|i| file(&format!("d/f{i:05}"), 1, Change::Added)),
        );
        let mut view = TreeView::new(StepRef::new("s", 1), tree);
        view.expand();
        assert_eq!(view.rows.len(), 1 + PAGE + 1);
        assert!(matches!(
            view.rows.last(),
            Some(Row::More {
                remaining: 1500,
                ..
            })
        ));
        view.selected = view.rows.len() - 1;
        view.expand();
        assert_eq!(view.rows.len(), 1 + 2 * PAGE + 1);
    }

    #[test]
    fn directory_source_reads_whiteouts_as_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("etc")).expect("mkdir");
        std::fs::write(dir.path().join("etc/motd"), "hello").expect("write");
        std::fs::write(dir.path().join("etc/.wh.issue"), "").expect("write");
        let mut source = DirSource::default();
        let step = StepRef::new("s", 1);
        source.insert(step.clone(), dir.path());
        let mut entries: Vec<Entry> = source
            .list(&LayerRequest::new(step))
            .expect("entries")
            .entries
            .collect();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(
            entries[1],
            Entry {
                path: "etc/issue".into(),
                size: 0,
                kind: EntryKind::Other,
                change: Change::Removed
            }
        );
        assert_eq!(entries[2], file("etc/motd", 5, Change::Added));
        assert!(
            source
                .list(&LayerRequest::new(StepRef::new("s", 2)))
                .is_err()
        );
    }
}
