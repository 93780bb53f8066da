//! `explain`'s findings about one image, put together from its layer index.

use serde::Serialize;

use super::error::AnalyzeError;
use super::hints::{Hint, hints};
use super::layers::{EntryKind, LayerIndex, index_layers};
use super::packages::{self, Package, Packages};
use super::secrets::SecretMatch;
use super::stack::{Shadowed, Stack};
use super::stages::StageShare;
use super::waste::{Duplicate, Efficiency, duplicates, efficiency_and_stack};
use crate::store::{LayerRef, Store};
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize)]
pub struct FinalFile {
    pub path: String,
    pub size: u64,
    /// The layer that wrote it last.
    pub layer: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Secret {
    pub layer: usize,
    pub created_by: String,
    pub path: String,
    #[serde(flatten)]
    pub found: SecretMatch,
    /// False when a later layer deleted or overwrote the file: it is still in this layer's tar.
    pub in_final_image: bool,
    /// Allow-listed (`--allow-secret`, `.stagecraft-ci`): shown, never fails CI.
    pub allowed: bool,
}

/// A key inside a file a system package installed as shipped (gnutls' and OpenSSL's self-test
/// keys, test suites' fixtures): the distribution's, not the image author's, so no finding.
#[derive(Debug, Clone, Serialize)]
pub struct PackagedSecret {
    pub path: String,
    pub kind: &'static str,
    /// `libgnutls30 3.7.9-2+deb12u3 (dpkg)`.
    pub package: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub image: String,
    pub layers: Vec<LayerIndex>,
    #[serde(flatten)]
    pub efficiency: Efficiency,
    /// Regular files of the final filesystem, largest first.
    pub largest_files: Vec<FinalFile>,
    /// Regular files a later layer deleted or overwrote, largest first.
    pub shadowed_files: Vec<Shadowed>,
    pub duplicates: Vec<Duplicate>,
    pub secrets: Vec<Secret>,
    pub secrets_in_packages: Vec<PackagedSecret>,
    pub hints: Vec<Hint>,
    /// Bytes by package, files no package owns, packages removed later.
    pub packages: Packages,
    /// For the last build: every stage's size and the share of it that reached the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<StageShare>>,
}

/// Reads every layer of `layers` and works out the report; lists are cut to `top` rows
/// (0: no cut). Totals always cover everything.
pub fn explain(
    store: &Store,
    image: &str,
    layers: &[LayerRef],
    config: &serde_json::Value,
    top: usize,
) -> Result<Report, AnalyzeError> {
    let index = index_layers(store, layers, config)?;
    Ok(report(image, index, top))
}

/// The secrets of every layer; those in files a system package installed (in the layer that
/// installed the package, so unchanged since) set apart.
fn secrets(
    layers: &[LayerIndex],
    stack: &Stack,
    packages: &Packages,
) -> (Vec<Secret>, Vec<PackagedSecret>) {
    let mut shipped: HashMap<&str, (usize, &Package)> = HashMap::new();
    for p in packages.packages.iter().filter(|p| p.manager.is_system()) {
        for path in &p.paths {
            shipped.insert(path.trim_start_matches('/'), (p.layer, p));
        }
    }
    let (mut found, mut packaged) = (Vec::new(), Vec::new());
    for l in layers {
        for s in &l.secrets {
            if let Some((_, p)) = shipped
                .get(s.path.as_str())
                .filter(|(at, _)| *at == l.index)
            {
                packaged.push(PackagedSecret {
                    path: format!("/{}", s.path),
                    kind: s.found.kind,
                    package: format!("{} {} ({})", p.name, p.version, p.manager.name()),
                });
                continue;
            }
            let in_final_image = stack
                .live
                .get(&s.path)
                .is_some_and(|live| live.layer == l.index);
            found.push(Secret {
                layer: l.index,
                created_by: l.created_by.clone(),
                path: format!("/{}", s.path),
                found: s.found.clone(),
                in_final_image,
                allowed: false,
            });
        }
    }
    (found, packaged)
}

fn cut<T>(mut v: Vec<T>, top: usize) -> Vec<T> {
    if top > 0 {
        v.truncate(top);
    }
    v
}

pub fn report(image: &str, layers: Vec<LayerIndex>, top: usize) -> Report {
    // Duplicates need only the layers: they are worked out beside the stack, on another core.
    let ((mut efficiency, stack), dups) = std::thread::scope(|s| {
        let dups = s.spawn(|| duplicates(&layers));
        let stacked = efficiency_and_stack(&layers);
        (
            stacked,
            dups.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
        )
    });
    efficiency.inefficiencies = cut(std::mem::take(&mut efficiency.inefficiencies), top);
    let mut largest: Vec<FinalFile> = stack
        .live
        .iter()
        .filter(|(_, l)| l.kind == EntryKind::File)
        .map(|(p, l)| FinalFile {
            path: format!("/{p}"),
            size: l.size,
            layer: l.layer,
        })
        .collect();
    largest.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    let mut shadowed: Vec<Shadowed> = stack
        .shadowed
        .iter()
        .map(|s| Shadowed {
            path: format!("/{}", s.path),
            ..s.clone()
        })
        .collect();
    shadowed.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    let packages = packages::attribute(&layers);
    let (secrets, secrets_in_packages) = secrets(&layers, &stack, &packages);
    let mut hints = hints(&layers, &stack);
    hints.extend(packages::advice::hints(&packages, &stack));
    hints.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.kind.cmp(&b.kind)));
    Report {
        image: image.to_string(),
        hints,
        packages,
        duplicates: cut(dups, top),
        largest_files: cut(largest, top),
        shadowed_files: cut(shadowed, top),
        efficiency,
        secrets,
        secrets_in_packages,
        layers,
        stages: None,
    }
}
