//! The multi-stage story of a recorded build: each stage's filesystem size and how much of it
//! (by content) reached the target image.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::error::AnalyzeError;
use super::layers::{EntryKind, LayerIndex, index_layers};
use super::stack::Stack;
use crate::store::BuildRecord;
use crate::store::Store;

#[derive(Debug, Clone, Serialize)]
pub struct StageShare {
    pub stage: String,
    /// Bytes of the regular files of the stage's final filesystem.
    pub size: u64,
    /// Of those, the bytes whose content is also in the target image.
    pub shipped_bytes: u64,
    /// `shipped_bytes / size` (1 for an empty stage).
    pub share: f64,
}

/// Path → (size, digest) of the regular files of the merged layers.
fn live_files(layers: &[LayerIndex]) -> BTreeMap<String, (u64, String)> {
    let stack = Stack::of(layers);
    let mut digests: BTreeMap<&str, &str> = BTreeMap::new();
    for l in layers {
        for e in &l.entries {
            if let (EntryKind::File, Some(d)) = (e.kind, &e.digest) {
                digests.insert(&e.path, d);
            }
        }
    }
    stack
        .live
        .iter()
        .filter(|(_, l)| l.kind == EntryKind::File)
        .filter_map(|(p, l)| Some((p.clone(), (l.size, digests.get(p.as_str())?.to_string()))))
        .collect()
}

/// Every built stage of `record`, in order, against the target image's `target` layers.
pub fn stage_shares(
    store: &Store,
    record: &BuildRecord,
    target: &[LayerIndex],
) -> Result<Vec<StageShare>, AnalyzeError> {
    let shipped: HashSet<String> = live_files(target).into_values().map(|(_, d)| d).collect();
    let mut out = Vec::new();
    for stage in &record.stages {
        let Some(image) = stage.image.as_deref() else {
            continue;
        };
        let Some(resolved) = store.resolve(image)? else {
            continue;
        };
        let config = serde_json::to_value(&resolved.config)
            .map_err(|e| AnalyzeError::Record(format!("stage {} config: {e}", stage.label)))?;
        let layers = index_layers(store, &resolved.layers, &config)?;
        let (mut size, mut kept) = (0, 0);
        for (s, d) in live_files(&layers).into_values() {
            size += s;
            if shipped.contains(&d) {
                kept += s;
            }
        }
        out.push(StageShare {
            stage: stage.label.clone(),
            size,
            shipped_bytes: kept,
            share: if size == 0 {
                1.0
            } else {
                kept as f64 / size as f64
            },
        });
    }
    Ok(out)
}
