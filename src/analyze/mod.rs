//! Reading what builds produced: merged file trees of layer chains, diffs between them, and the
//! provenance of every file of an image. Used by `diff`, `explain` and the TUI.

pub mod ci;
pub mod diff;
pub mod dive_export;
pub mod error;
pub mod extract;
pub mod hints;
pub mod layer_source;
pub mod layers;
pub mod nodes;
pub mod packages;
pub mod provenance;
pub mod report;
pub mod secrets;
pub mod stack;
pub mod stages;
pub mod states;
pub mod tree;
pub mod waste;

pub use diff::{Aspect, Change, ChangeKind, DirSummary, TreeDiff, diff};
pub use error::AnalyzeError;
pub use provenance::{FileProvenance, Hop, layer_steps, provenance};
pub use report::{Report, explain};
pub use tree::{Entry, FileTree, Kind, display_path};
