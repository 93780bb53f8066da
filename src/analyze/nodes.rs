//! The file tree as a person browses it (the TUI's layer pane and diff view, `inspect`): entries
//! of a layer or a comparison ingested into a compact arena, sizes summed up the tree and changes
//! marked on every parent. A 1M-file layer costs one pass to ingest, off the UI thread.

use std::collections::HashMap;

use super::packages::Owners;

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
    /// Which package owns each path, when the source read the package databases.
    pub owners: Owners,
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
        Self {
            nodes,
            owners: Owners::default(),
        }
    }

    pub fn with_owners(self, owners: Owners) -> Self {
        Self { owners, ..self }
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
