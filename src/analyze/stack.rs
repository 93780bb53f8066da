//! Stacking layer indexes lowest first with OCI whiteout rules, noting every regular file a later
//! layer deleted or overwrote: the bytes an image carries but never shows.

use std::collections::BTreeMap;

use serde::Serialize;

use super::layers::{EntryKind, LayerIndex};

/// A path as the topmost layer so far set it.
#[derive(Debug, Clone)]
pub struct Live {
    pub kind: EntryKind,
    pub size: u64,
    pub layer: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// A whiteout (or an opaque directory, or a non-directory over its directory) removed it.
    Deleted,
    /// A later layer wrote the same path again.
    Overwritten,
}

/// A regular file of one layer that a later layer deleted or overwrote.
#[derive(Debug, Clone, Serialize)]
pub struct Shadowed {
    pub path: String,
    pub size: u64,
    /// The layer that wrote these bytes.
    pub layer: usize,
    /// The layer that deleted or overwrote them.
    pub by_layer: usize,
    pub how: How,
}

/// The merged filesystem after some layers, and what got shadowed on the way.
#[derive(Debug, Default)]
pub struct Stack {
    pub live: BTreeMap<String, Live>,
    pub shadowed: Vec<Shadowed>,
}

impl Stack {
    /// Entries strictly under `dir` (relative, no trailing `/`; empty for the root).
    pub fn under<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a String, &'a Live)> + 'a {
        let (lo, hi) = if dir.is_empty() {
            (String::new(), String::from("\u{10FFFF}"))
        } else {
            (format!("{dir}/"), format!("{dir}0"))
        };
        self.live.range(lo..hi)
    }

    fn remove_under(&mut self, dir: &str, by: usize) {
        let doomed: Vec<String> = self.under(dir).map(|(p, _)| p.clone()).collect();
        for p in doomed {
            self.remove(&p, by, How::Deleted);
        }
    }

    fn remove(&mut self, path: &str, by: usize, how: How) {
        if let Some(old) = self.live.remove(path)
            && old.kind == EntryKind::File
        {
            self.shadowed.push(Shadowed {
                path: path.to_string(),
                size: old.size,
                layer: old.layer,
                by_layer: by,
                how,
            });
        }
    }

    /// Puts one more layer on top.
    pub fn apply(&mut self, layer: &LayerIndex) {
        let i = layer.index;
        // Whiteouts and opaque markers hide lower layers only, so they go first.
        for e in &layer.entries {
            match e.kind {
                EntryKind::Whiteout => {
                    self.remove_under(&e.path, i);
                    self.remove(&e.path, i, How::Deleted);
                }
                EntryKind::Opaque => self.remove_under(&e.path, i),
                _ => {}
            }
        }
        for e in &layer.entries {
            if matches!(e.kind, EntryKind::Whiteout | EntryKind::Opaque) {
                continue;
            }
            if let Some(old) = self.live.get(&e.path) {
                if old.kind == EntryKind::Dir && e.kind != EntryKind::Dir {
                    self.remove_under(&e.path, i);
                }
                self.remove(&e.path, i, How::Overwritten);
            }
            self.live.insert(
                e.path.clone(),
                Live {
                    kind: e.kind,
                    size: e.size,
                    layer: i,
                },
            );
        }
    }

    pub fn of(layers: &[LayerIndex]) -> Stack {
        let mut stack = Stack::default();
        for l in layers {
            stack.apply(l);
        }
        stack
    }
}
