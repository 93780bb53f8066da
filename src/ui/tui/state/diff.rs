//! The diff view's state: what `m` marked, what `d` asked for, and the comparison ready to show.

use std::collections::HashMap;

use crate::analyze::{self, Aspect, ChangeKind, Kind};
use crate::engine::event::StepRef;
use crate::ui::tui::format;
use crate::ui::tui::shell::ShellRequest;
use crate::ui::tui::tree::{Change, Entry, EntryKind, FileTree, TreeView};

/// A state picked with `m`: how to call it, and the step whose filesystem it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub label: String,
    pub step: StepRef,
}

/// Compare `a` (before) with `b` (after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffRequest {
    pub a_label: String,
    pub b_label: String,
    pub a: ShellRequest,
    pub b: ShellRequest,
}

/// What the text pane says about one changed path.
#[derive(Debug, Clone)]
pub struct Detail {
    pub change: ChangeKind,
    /// One line: what differs (`content 1.2 kB → 1.4 kB, mode 0644 → 0755`).
    pub what: String,
    /// Unified diff, for small text files.
    pub text: Option<String>,
}

/// The comparison, ready to show.
#[derive(Debug, Clone)]
pub struct DiffData {
    pub summary: String,
    pub counts: String,
    pub tree: FileTree,
    pub details: HashMap<String, Detail>,
}

#[derive(Debug, Clone)]
pub struct DiffView {
    pub a_label: String,
    pub b_label: String,
    pub summary: String,
    pub counts: String,
    pub tree: TreeView,
    pub details: HashMap<String, Detail>,
    /// First line of the text diff shown.
    pub text_scroll: usize,
}

impl DiffView {
    /// What the text pane shows for the selected row.
    pub fn selected_detail(&self) -> Option<(String, Option<&Detail>)> {
        let id = self.tree.selected_node()?;
        let path = self.tree.tree.path(id);
        let detail = self.details.get(&path);
        Some((path, detail))
    }
}

#[derive(Debug, Clone)]
pub enum DiffPane {
    Loading {
        a_label: String,
        b_label: String,
    },
    Ready(Box<DiffView>),
    Failed {
        a_label: String,
        b_label: String,
        error: String,
    },
}

fn kind_of(kind: Kind) -> EntryKind {
    match kind {
        Kind::File => EntryKind::File,
        Kind::Dir => EntryKind::Dir,
        Kind::Symlink => EntryKind::Symlink,
        _ => EntryKind::Other,
    }
}

fn describe(c: &analyze::Change) -> String {
    let kind = |k: Kind| format!("{k:?}").to_lowercase();
    let side = |s: &analyze::diff::Side| {
        let mut t = format!("{} {}, mode {}", kind(s.kind), format::size(s.size), s.mode);
        if let Some(link) = &s.link {
            t.push_str(&format!(" → {link}"));
        }
        t
    };
    match (c.change, &c.a, &c.b) {
        (ChangeKind::Added, _, Some(b)) => format!("added: {}", side(b)),
        (ChangeKind::Removed, Some(a), _) => format!("removed: {}", side(a)),
        (ChangeKind::Modified, Some(a), Some(b)) => {
            let parts: Vec<String> = c
                .aspects
                .iter()
                .map(|aspect| match aspect {
                    Aspect::Kind => format!("kind {} → {}", kind(a.kind), kind(b.kind)),
                    Aspect::Content => format!(
                        "content {} → {}",
                        format::size(a.size),
                        format::size(b.size)
                    ),
                    Aspect::Mode => format!("mode {} → {}", a.mode, b.mode),
                    Aspect::Owner => format!("owner {}:{} → {}:{}", a.uid, a.gid, b.uid, b.gid),
                    Aspect::SymlinkTarget => format!(
                        "symlink {} → {}",
                        a.link.as_deref().unwrap_or(""),
                        b.link.as_deref().unwrap_or("")
                    ),
                })
                .collect();
            format!("modified: {}", parts.join(", "))
        }
        _ => String::new(),
    }
}

/// Turns a tree diff into what the view shows.
pub fn present(a_label: &str, b_label: &str, d: analyze::TreeDiff) -> DiffData {
    let t = &d.totals;
    let summary = d.summary_line(a_label, b_label, crate::ui::progress::human_bytes);
    let counts = format!(
        "{} added · {} removed · {} modified",
        t.added, t.removed, t.modified
    );
    let mut entries = Vec::with_capacity(d.changes.len());
    let mut details = HashMap::with_capacity(d.changes.len());
    for c in d.changes {
        let (side, change) = match c.change {
            ChangeKind::Added => (c.b.as_ref(), Change::Added),
            ChangeKind::Removed => (c.a.as_ref(), Change::Removed),
            ChangeKind::Modified => (c.b.as_ref(), Change::Modified),
        };
        let Some(side) = side else { continue };
        entries.push(Entry {
            path: c.path.trim_start_matches('/').to_string(),
            size: side.size,
            kind: kind_of(side.kind),
            change,
        });
        details.insert(
            c.path.clone(),
            Detail {
                change: c.change,
                what: describe(&c),
                text: c.text_diff.clone(),
            },
        );
    }
    DiffData {
        summary,
        counts,
        tree: FileTree::from_entries(entries),
        details,
    }
}
