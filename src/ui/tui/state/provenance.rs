//! Provenance state: which build and stage the layer tree's origins are about, and the popup.

use std::collections::HashMap;

use crate::analyze::Hop;

/// Which build and stage a provenance answer is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceKey {
    pub build_id: String,
    pub stage: String,
}

/// Path (`/app/bin`) → hops, from the step that put the file in the stage back to its origin.
pub type Origins = HashMap<String, Vec<Hop>>;

#[derive(Debug, Clone)]
pub enum ProvenanceState {
    Loading(ProvenanceKey),
    Ready(ProvenanceKey, Origins),
    Failed(ProvenanceKey, String),
}

impl ProvenanceState {
    pub fn key(&self) -> &ProvenanceKey {
        match self {
            Self::Loading(k) | Self::Ready(k, _) | Self::Failed(k, _) => k,
        }
    }
}

/// The detail popup: one file's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenancePopup {
    pub path: String,
    pub hops: Vec<Hop>,
}
