//! The parts of the model that features own (diff view, provenance, teaching, overlays): types
//! only, so the model and the messages can name them without importing the code that acts on them.

pub mod diff;
pub mod overlay;
pub mod provenance;
pub mod teach;
