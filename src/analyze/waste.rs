//! Wasted bytes and the efficiency score with dive's definitions (dive `filetree/efficiency.go`,
//! `image/analysis.go`), and files stored more than once across layers.
//!
//! For every path that is a leaf (no children in that layer's tar) of some layer, in each layer:
//! its size is the tar header size, or for a whiteout the bytes the stacked lower layers had
//! under it when it was a directory (0 when it was a file). Per path: `cumulative` = sum of those
//! sizes, `min` = the smallest. Then
//! `efficiency = Σ min / Σ cumulative` (1 when Σ cumulative = 0),
//! `wasted_bytes = Σ cumulative` over the paths found in two or more layers,
//! `user_size = Σ layer size` without layer 0, `user_wasted_percent = wasted_bytes / user_size`.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::layers::{EntryKind, LayerIndex};
use super::stack::Stack;

#[derive(Debug, Clone, Serialize)]
pub struct Inefficiency {
    pub path: String,
    /// In how many layers the path is a leaf (including whiteouts).
    pub count: usize,
    pub cumulative_size: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Efficiency {
    pub score: f64,
    pub wasted_bytes: u64,
    /// Σ layer sizes (regular files of every layer tar).
    pub size: u64,
    /// Σ layer sizes without the base layer.
    pub user_size: u64,
    /// `wasted_bytes / user_size` as a ratio (0 when nothing was added on top of the base, or
    /// 1 when only deletions were).
    pub user_wasted_percent: f64,
    /// Paths in two or more layers, largest cumulative size first.
    pub inefficiencies: Vec<Inefficiency>,
}

#[derive(Default)]
struct PathData {
    count: usize,
    cumulative: u64,
    min: u64,
}

/// Paths of a layer that no other entry of the layer lies under (opaque markers are not
/// children: dive drops them).
fn leaves(layer: &LayerIndex) -> impl Iterator<Item = &super::layers::LayerEntry> {
    let mut parents = HashSet::new();
    for e in &layer.entries {
        if e.kind == EntryKind::Opaque {
            continue;
        }
        let mut p = e.path.as_str();
        while let Some((dir, _)) = p.rsplit_once('/') {
            if !parents.insert(dir) {
                break;
            }
            p = dir;
        }
    }
    layer
        .entries
        .iter()
        .filter(move |e| e.kind != EntryKind::Opaque && !parents.contains(e.path.as_str()))
}

pub fn efficiency<L: std::borrow::Borrow<LayerIndex>>(layers: &[L]) -> Efficiency {
    efficiency_and_stack(layers).0
}

/// [`efficiency`] and the stack of all layers it builds on the way (so callers that need the
/// final filesystem too do not stack the layers twice).
pub fn efficiency_and_stack<L: std::borrow::Borrow<LayerIndex>>(
    layers: &[L],
) -> (Efficiency, Stack) {
    let mut data: HashMap<&str, PathData> = HashMap::new();
    let mut stack = Stack::default();
    for layer in layers {
        let layer = layer.borrow();
        for e in leaves(layer) {
            let size = if e.kind == EntryKind::Whiteout {
                match stack.live.get(&e.path) {
                    Some(old) if old.kind == EntryKind::Dir => {
                        stack.under(&e.path).map(|(_, l)| l.size).sum()
                    }
                    _ => 0,
                }
            } else {
                e.size
            };
            let d = data.entry(e.path.as_str()).or_default();
            d.min = if d.count == 0 { size } else { d.min.min(size) };
            d.count += 1;
            d.cumulative += size;
        }
        stack.apply(layer);
    }
    let (mut min_sum, mut cum_sum) = (0u64, 0u64);
    for d in data.values() {
        min_sum += d.min;
        cum_sum += d.cumulative;
    }
    let mut inefficiencies: Vec<Inefficiency> = data
        .into_iter()
        .filter(|(_, d)| d.count >= 2)
        .map(|(path, d)| Inefficiency {
            path: format!("/{path}"),
            count: d.count,
            cumulative_size: d.cumulative,
        })
        .collect();
    inefficiencies.sort_by(|a, b| {
        b.cumulative_size
            .cmp(&a.cumulative_size)
            .then_with(|| a.path.cmp(&b.path))
    });
    let wasted_bytes = inefficiencies.iter().map(|i| i.cumulative_size).sum();
    let size = layers.iter().map(|l| l.borrow().size).sum();
    let user_size = layers.iter().skip(1).map(|l| l.borrow().size).sum();
    let efficiency = Efficiency {
        score: if cum_sum == 0 {
            1.0
        } else {
            min_sum as f64 / cum_sum as f64
        },
        wasted_bytes,
        size,
        user_size,
        user_wasted_percent: ratio(wasted_bytes, user_size),
        inefficiencies,
    };
    (efficiency, stack)
}

fn ratio(wasted: u64, user: u64) -> f64 {
    match (wasted, user) {
        (0, _) => 0.0,
        (_, 0) => 1.0,
        (w, u) => w as f64 / u as f64,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Copy {
    pub layer: usize,
    pub path: String,
}

/// One content stored in several places of the layer tars.
#[derive(Debug, Clone, Serialize)]
pub struct Duplicate {
    pub digest: String,
    pub size: u64,
    pub copies: Vec<Copy>,
    /// `size × (copies − 1)`.
    pub wasted_bytes: u64,
}

/// Non-empty regular files whose content appears more than once across all layer tars (deleted
/// and overwritten copies included: they are stored all the same).
pub fn duplicates(layers: &[LayerIndex]) -> Vec<Duplicate> {
    // Only files whose size another file shares can be copies: the rest skip the digest map.
    let mut by_size: HashMap<u64, Vec<(usize, &super::layers::LayerEntry)>> = HashMap::new();
    for l in layers {
        for e in &l.entries {
            if e.kind == EntryKind::File && e.size > 0 && e.digest.is_some() {
                by_size.entry(e.size).or_default().push((l.index, e));
            }
        }
    }
    let mut out = Vec::new();
    for (size, files) in by_size {
        if files.len() < 2 {
            continue;
        }
        let mut groups: HashMap<&str, Vec<Copy>> = HashMap::new();
        for (layer, e) in files {
            if let Some(d) = &e.digest {
                groups.entry(d).or_default().push(Copy {
                    layer,
                    path: format!("/{}", e.path),
                });
            }
        }
        out.extend(
            groups
                .into_iter()
                .filter(|(_, copies)| copies.len() >= 2)
                .map(|(digest, copies)| Duplicate {
                    digest: digest.to_string(),
                    size,
                    wasted_bytes: size * (copies.len() as u64 - 1),
                    copies,
                }),
        );
    }
    out.sort_by(|a, b| {
        b.wasted_bytes
            .cmp(&a.wasted_bytes)
            .then_with(|| a.digest.cmp(&b.digest))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(index: usize, entries: &[(&str, EntryKind, u64)]) -> LayerIndex {
        LayerIndex::for_test(index, entries)
    }

    #[test]
    fn dive_score_for_deleted_overwritten_and_removed_dirs() {
        use EntryKind::*;
        let layers = [
            layer(0, &[("bin", Dir, 0), ("bin/sh", File, 100)]),
            layer(
                1,
                &[
                    ("d", Dir, 0),
                    ("d/a", File, 10),
                    ("d/b", File, 20),
                    ("big", File, 1000),
                    ("f", File, 5),
                ],
            ),
            layer(
                2,
                &[("d", Whiteout, 0), ("big", Whiteout, 0), ("f", File, 7)],
            ),
        ];
        let e = efficiency(&layers);
        // /d is a leaf only as a whiteout (30: its children), so it is no inefficiency;
        // /big: 1000 then 0; /f: 5 then 7.
        assert_eq!(e.wasted_bytes, 1000 + 12);
        let (min, cum) = (100 + 10 + 20 + 30 + 5, 100 + 10 + 20 + 30 + 1000 + 5 + 7);
        assert!((e.score - min as f64 / cum as f64).abs() < 1e-12, "{e:?}");
        assert_eq!(e.user_size, 1035 + 7);
        assert_eq!(e.inefficiencies[0].path, "/big");
        let stack = Stack::of(&layers);
        let mut shadowed: Vec<_> = stack
            .shadowed
            .iter()
            .map(|s| (s.path.as_str(), s.size, s.layer, s.by_layer, s.how))
            .collect();
        shadowed.sort_by_key(|s| s.0);
        use super::super::stack::How::*;
        assert_eq!(
            shadowed,
            [
                ("big", 1000, 1, 2, Deleted),
                ("d/a", 10, 1, 2, Deleted),
                ("d/b", 20, 1, 2, Deleted),
                ("f", 5, 1, 2, Overwritten)
            ]
        );
        assert_eq!(duplicates(&layers).len(), 0);
    }
}
