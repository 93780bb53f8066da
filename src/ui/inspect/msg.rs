//! What can happen to the inspector ([`Msg`]) and what it asks the runtime to do ([`Effect`]).

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::KeyEvent;

use super::layer_tree::LayerFiles;
use crate::analyze::layers::LayerIndex;
use crate::analyze::waste::Efficiency;

pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    /// One layer's index is read (layers finish in any order).
    Indexed(usize, Result<Arc<LayerIndex>, String>),
    /// The entries of a layer read so far (it is still being indexed).
    Partial(Arc<LayerIndex>),
    TreeBuilt(Box<LayerFiles>),
    Waste(Box<Efficiency>),
    /// An extraction ended: what was written, or why not.
    Extracted(Result<String, String>),
}

#[derive(Debug)]
pub enum Effect {
    /// Build the tree after the last of `layers` (all of 0 to it), cut to `filter`.
    BuildTree {
        layers: Vec<Arc<LayerIndex>>,
        filter: String,
        /// The last layer is not fully indexed yet.
        partial: bool,
    },
    /// Work out dive's efficiency and wasted bytes over all layers.
    ComputeWaste(Vec<Arc<LayerIndex>>),
    /// Write `path` (relative, empty for the root) as it is after layer `upto` into `dest`.
    Extract {
        upto: usize,
        path: String,
        dest: PathBuf,
    },
}
