//! Everything the inspector shows, in one place; changed only by `update`.

use std::sync::Arc;

use super::layer_tree::LayerFiles;
use crate::analyze::layers::{EntryKind, LayerIndex};
use crate::analyze::waste::Efficiency;
use crate::ui::tui::Theme;
use crate::ui::tui::tree::Sort;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Layers,
    Files,
    Packages,
}

pub enum LayerState {
    Indexing,
    /// Still indexing; the entries read so far.
    Partial(Arc<LayerIndex>),
    Ready(Arc<LayerIndex>),
    Failed(String),
}

pub struct LayerRow {
    pub created_by: String,
    pub compressed_size: u64,
    pub state: LayerState,
}

/// A line being typed in the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    Filter(String),
    /// The destination directory for `x`.
    Extract(String),
}

/// The selected path's attributes, looked up once per selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    pub path: String,
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub link: Option<String>,
    /// The layer that wrote the path last (None: removed, or a directory no layer listed).
    pub layer: Option<usize>,
}

pub struct Model {
    pub image: String,
    pub theme: Theme,
    pub layers: Vec<LayerRow>,
    /// The layer whose tree is shown (or wanted).
    pub selected: usize,
    pub focus: Focus,
    /// Only this layer's changes, or everything up to it.
    pub only_changes: bool,
    pub sort: Sort,
    pub filter: String,
    pub files: Option<LayerFiles>,
    /// The (layer, filter) of a tree being built.
    pub pending: Option<(usize, String)>,
    pub waste: Option<Efficiency>,
    pub waste_pending: bool,
    /// The packages panel in place of the wasted-space one (`p`).
    pub show_packages: bool,
    /// The selected row of the packages panel.
    pub package: usize,
    pub prompt: Option<Prompt>,
    /// The last outcome to tell (text, is an error).
    pub message: Option<(String, bool)>,
    pub attributes: Option<Attributes>,
    pub size: (u16, u16),
    pub quit: bool,
}

impl Model {
    pub fn new(image: String, theme: Theme, layers: Vec<(String, u64)>) -> Self {
        Self {
            image,
            theme,
            layers: layers
                .into_iter()
                .map(|(created_by, compressed_size)| LayerRow {
                    created_by,
                    compressed_size,
                    state: LayerState::Indexing,
                })
                .collect(),
            selected: 0,
            focus: Focus::Layers,
            only_changes: false,
            sort: Sort::Size,
            filter: String::new(),
            files: None,
            pending: None,
            waste: None,
            waste_pending: false,
            show_packages: false,
            package: 0,
            prompt: None,
            message: None,
            attributes: None,
            size: (120, 40),
            quit: false,
        }
    }

    pub fn index(&self, i: usize) -> Option<&Arc<LayerIndex>> {
        match &self.layers.get(i)?.state {
            LayerState::Ready(ix) => Some(ix),
            _ => None,
        }
    }

    /// Indexes of layers 0 to `upto`, once all of them are read.
    pub fn indexes_upto(&self, upto: usize) -> Option<Vec<Arc<LayerIndex>>> {
        (0..=upto).map(|i| self.index(i).cloned()).collect()
    }

    pub fn indexed(&self) -> usize {
        self.layers
            .iter()
            .filter(|l| matches!(l.state, LayerState::Ready(_) | LayerState::Failed(_)))
            .count()
    }

    /// Indexes of layers 0 to `upto` when those below it are read and it is read or partly read;
    /// true when it is complete.
    pub fn indexes_for_tree(&self, upto: usize) -> Option<(Vec<Arc<LayerIndex>>, bool)> {
        let (top, complete) = match &self.layers.get(upto)?.state {
            LayerState::Ready(ix) => (ix.clone(), true),
            LayerState::Partial(ix) => (ix.clone(), false),
            _ => return None,
        };
        let mut all = if upto == 0 {
            Vec::new()
        } else {
            self.indexes_upto(upto - 1)?
        };
        all.push(top);
        Some((all, complete))
    }

    /// The tree on screen is the one asked for.
    pub fn files_current(&self) -> Option<&LayerFiles> {
        self.files
            .as_ref()
            .filter(|f| f.layer == self.selected && f.filter == self.filter)
    }

    /// Path (relative) of the selected tree row.
    pub fn selected_path(&self) -> Option<String> {
        let files = self.files_current()?;
        let id = files.view.selected_node()?;
        Some(files.view.tree.path(id).trim_start_matches('/').to_string())
    }
}
