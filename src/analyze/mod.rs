//! Reading what builds produced: merged file trees of layer chains, diffs between them, and the
//! provenance of every file of an image. Used by `diff`, `explain` and the TUI.

pub mod diff;
pub mod error;
pub mod provenance;
pub mod tree;

pub use diff::{Aspect, Change, ChangeKind, DirSummary, TreeDiff, diff};
pub use error::AnalyzeError;
pub use provenance::{FileProvenance, Hop, provenance};
pub use tree::{Entry, FileTree, Kind, display_path};
