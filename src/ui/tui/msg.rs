//! Everything that can happen to the UI, and everything the UI asks the outside world to do.

use crossterm::event::{KeyEvent, MouseEvent};

use crate::engine::event::{Control, Record, StepRef, Timestamp};

use super::shell::ShellRequest;
use super::state::diff::{DiffData, DiffRequest};
use super::state::provenance::{Origins, ProvenanceKey};
use super::state::teach::{TeachNote, TeachRequest};
use super::tree::{FileTree, LayerError, LayerRequest};

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// Time passes: `now` is the build's clock (the recorded timeline when replaying).
    Tick {
        now: Timestamp,
    },
    Engine(Record),
    /// The event stream ended: the build (or replay) has nothing more to say.
    EngineClosed,
    /// A layer's file list, read off the UI thread after an `Effect::LoadLayer`.
    LayerLoaded {
        step: StepRef,
        tree: Result<FileTree, LayerError>,
    },
    /// A diff computed off the UI thread after an `Effect::LoadDiff`.
    DiffLoaded {
        a_label: String,
        b_label: String,
        result: Result<Box<DiffData>, String>,
    },
    /// From the driver of a watch or lesson session.
    Teach(TeachNote),
    /// Where the files of a stage came from, read off the UI thread after `Effect::LoadProvenance`.
    ProvenanceLoaded {
        key: ProvenanceKey,
        result: Result<Origins, String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Quit,
    Control(Control),
    /// Read the filesystem after a step and answer with `Msg::LayerLoaded`.
    LoadLayer(LayerRequest),
    /// Suspend the UI, open a shell in a step's filesystem, come back when it exits.
    Shell(Box<ShellRequest>),
    /// Compare two filesystems and answer with `Msg::DiffLoaded`.
    LoadDiff(Box<DiffRequest>),
    /// Ask the driver of a watch or lesson session for something.
    Teach(TeachRequest),
    /// Trace every file of a stage of the last build and answer with `Msg::ProvenanceLoaded`.
    LoadProvenance(ProvenanceKey),
}
