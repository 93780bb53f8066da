//! The live build in a terminal: stage graph, steps, logs, layer tree, status bar.
//!
//! Elm-style: one [`Model`], one [`Msg`], [`update`] returns [`Effect`]s, [`view`] only draws.
//! [`run`] is the async loop that connects them to a terminal, an event stream and a control channel.

pub mod build;
pub mod diffview;
mod effects;
pub mod format;
pub mod graph;
pub mod highlight;
mod keys;
pub mod layout;
pub mod logs;
pub mod model;
mod mouse;
pub mod msg;
pub mod narrate;
mod nav;
pub mod provenance;
pub mod replay;
mod runtime;
pub mod shell;
pub mod state;
pub mod teach;
pub mod terminal;
pub mod theme;
pub mod tree;
pub mod update;
pub mod view;

pub use crate::analyze::layer_source::StoreLayers;
pub use model::Model;
pub use msg::{Effect, Msg};
pub use runtime::{TuiError, TuiExit, TuiOptions, run};
pub use teach::{TeachLink, TeachNote, TeachRequest};
pub use theme::Theme;
pub use tree::{Change, Entry, EntryKind, LayerRequest, LayerSource};
pub use update::update;
pub use view::view;
