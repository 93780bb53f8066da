//! What covers the panes: at most one thing at a time, and it has the keys while it is open.

use super::diff::DiffPane;
use super::provenance::ProvenancePopup;
use crate::ui::tui::narrate::Explanation;

#[derive(Debug, Clone, Default)]
pub enum Overlay {
    #[default]
    None,
    /// `?`: the keys.
    Help,
    /// `e`: the selected step or stage in plain words.
    Explain(Explanation),
    /// `p`: one file's chain of origins.
    Provenance(ProvenancePopup),
    /// `d`: two filesystems compared, over everything.
    Diff(Box<DiffPane>),
}
