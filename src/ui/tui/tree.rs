//! The layer file tree: ingested from a flat list of entries into a compact arena, while the rows a
//! person sees are built only for expanded directories, a page of children at a time. A 1M-file
//! layer costs one pass to ingest (off the UI thread) and O(visible rows) to show.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::engine::event::StepRef;
use crate::store::LayerInfo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// How a path differs from the layer below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Unchanged,
    Added,
    Modified,
    Removed,
}

/// One path of a layer's filesystem; `path` is relative, `/`-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub size: u64,
    pub kind: EntryKind,
    pub change: Change,
}

/// What to read for the layer pane: the filesystem after `step`, as the stack of its base image's
/// layers and then `layers` (oldest first: the parent stages' and this stage's, up to the step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRequest {
    pub step: StepRef,
    /// The external image at the bottom of the chain (`FROM image`), if any.
    pub base_image: Option<String>,
    pub layers: Vec<LayerInfo>,
    /// The last of `layers` is the step's own: its paths get the added/modified/removed marks.
    pub changes_in_last: bool,
}

impl LayerRequest {
    pub fn new(step: StepRef) -> Self {
        Self {
            step,
            base_image: None,
            layers: Vec::new(),
            changes_in_last: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("layer contents of {step} are not available: {why}")]
    Unavailable { step: StepRef, why: String },
    #[error("reading the layers of {step}: {message}")]
    Store { step: StepRef, message: String },
    #[error("cannot read layer directory {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where layer contents come from: the store once builds are real, a directory in tests.
pub trait LayerSource: Send + Sync {
    /// Every path of the filesystem after the requested step, in any order; parents may be implied.
    fn entries(
        &self,
        request: &LayerRequest,
    ) -> Result<Box<dyn Iterator<Item = Entry> + Send + '_>, LayerError>;
}

#[derive(Debug, Clone)]
pub struct TreeNode {
    pub name: Box<str>,
    pub parent: u32,
    pub kind: EntryKind,
    pub change: Change,
    /// Own size for files; the sum below for directories.
    pub size: u64,
    /// Something in this subtree (or the node itself) changed.
    pub changed: bool,
    pub children: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct FileTree {
    nodes: Vec<TreeNode>,
}

pub const ROOT: u32 = 0;

impl FileTree {
    pub fn from_entries(entries: impl IntoIterator<Item = Entry>) -> Self {
        let mut builder = Builder {
            nodes: vec![TreeNode {
                name: "/".into(),
                parent: ROOT,
                kind: EntryKind::Dir,
                change: Change::Unchanged,
                size: 0,
                changed: false,
                children: Vec::new(),
            }],
            index: HashMap::new(),
        };
        // Layers list a directory's entries together: remembering the last parent directory
        // skips walking (and hashing) every path component again.
        let mut last_dir = String::new();
        let mut last_dir_id = ROOT;
        for entry in entries {
            let path = entry.path.trim_matches('/').trim_start_matches("./");
            if path.is_empty() || path == "." {
                continue;
            }
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            let parent = if dir == last_dir {
                last_dir_id
            } else {
                let id = dir
                    .split('/')
                    .filter(|p| !p.is_empty() && *p != ".")
                    .fold(ROOT, |parent, part| builder.child(parent, part));
                last_dir.clear();
                last_dir.push_str(dir);
                last_dir_id = id;
                id
            };
            let id = builder.child(parent, name);
            let node = &mut builder.nodes[id as usize];
            node.kind = entry.kind;
            node.change = entry.change;
            node.size = if entry.kind == EntryKind::Dir {
                0
            } else {
                entry.size
            };
            node.changed = entry.change != Change::Unchanged;
        }
        let mut nodes = builder.nodes;
        // Parents are always created before their children, so one reverse pass sums subtrees.
        for id in (1..nodes.len()).rev() {
            let (size, changed, parent) =
                (nodes[id].size, nodes[id].changed, nodes[id].parent as usize);
            nodes[parent].size += size;
            nodes[parent].changed |= changed;
        }
        Self { nodes }
    }

    pub fn node(&self, id: u32) -> &TreeNode {
        &self.nodes[id as usize]
    }

    pub fn len(&self) -> usize {
        self.nodes.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.len() == 1
    }

    pub fn path(&self, mut id: u32) -> String {
        let mut parts = Vec::new();
        while id != ROOT {
            parts.push(&*self.nodes[id as usize].name);
            id = self.nodes[id as usize].parent;
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }
}

/// Interning of (directory, name) → node while a tree is built; dropped afterwards.
struct Builder {
    nodes: Vec<TreeNode>,
    index: HashMap<u32, HashMap<Box<str>, u32>>,
}

impl Builder {
    /// The node `name` under `parent`, created (as a directory until an entry says otherwise).
    fn child(&mut self, parent: u32, name: &str) -> u32 {
        if let Some(id) = self.index.get(&parent).and_then(|m| m.get(name)) {
            return *id;
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(TreeNode {
            name: name.into(),
            parent,
            kind: EntryKind::Dir,
            change: Change::Unchanged,
            size: 0,
            changed: false,
            children: Vec::new(),
        });
        self.nodes[parent as usize].children.push(id);
        self.index
            .entry(parent)
            .or_default()
            .insert(name.into(), id);
        id
    }
}

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
            (0..self.tree.nodes.len() as u32).filter(|&id| !self.tree.node(id).children.is_empty());
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

/// A layer laid out as a directory: how snapshots sit in the store (`snapshots/<chain-id>/fs`).
/// Overlay whiteouts (`.wh.NAME` files) become removed entries; everything else counts as added,
/// since one directory alone cannot tell added from modified.
#[derive(Debug, Clone, Default)]
pub struct DirSource {
    dirs: HashMap<StepRef, PathBuf>,
}

impl DirSource {
    pub fn insert(&mut self, step: StepRef, dir: impl Into<PathBuf>) {
        self.dirs.insert(step, dir.into());
    }
}

impl LayerSource for DirSource {
    fn entries(
        &self,
        request: &LayerRequest,
    ) -> Result<Box<dyn Iterator<Item = Entry> + Send + '_>, LayerError> {
        let step = &request.step;
        let root = self.dirs.get(step).ok_or_else(|| LayerError::Unavailable {
            step: step.clone(),
            why: "no directory recorded for this step".into(),
        })?;
        let meta = std::fs::metadata(root).map_err(|source| LayerError::Io {
            path: root.clone(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(LayerError::Unavailable {
                step: step.clone(),
                why: format!("{} is not a directory", root.display()),
            });
        }
        let root = root.clone();
        let walk = walkdir::WalkDir::new(&root)
            .min_depth(1)
            .into_iter()
            .filter_map(Result::ok);
        Ok(Box::new(walk.filter_map(move |e| dir_entry(&root, &e))))
    }
}

fn dir_entry(root: &Path, e: &walkdir::DirEntry) -> Option<Entry> {
    let rel = e
        .path()
        .strip_prefix(root)
        .ok()?
        .to_string_lossy()
        .into_owned();
    let name = e.file_name().to_string_lossy();
    if let Some(hidden) = name.strip_prefix(".wh.") {
        let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
        let path = if parent.is_empty() {
            hidden.to_string()
        } else {
            format!("{parent}/{hidden}")
        };
        return Some(Entry {
            path,
            size: 0,
            kind: EntryKind::Other,
            change: Change::Removed,
        });
    }
    let ft = e.file_type();
    let kind = if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_symlink() {
        EntryKind::Symlink
    } else if ft.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    };
    let size = if kind == EntryKind::File {
        e.metadata().map(|m| m.len()).unwrap_or(0)
    } else {
        0
    };
    Some(Entry {
        path: rel,
        size,
        kind,
        change: Change::Added,
    })
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
            .entries(&LayerRequest::new(step))
            .expect("entries")
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
                .entries(&LayerRequest::new(StepRef::new("s", 2)))
                .is_err()
        );
    }
}
