//! Where the layer pane's entries come from: the store (a step's chain of layer blobs stacked with
//! OCI whiteout rules by `stack::Stack`, the step's own layer marking what it added, modified or
//! removed), or a directory laid out as a layer (tests, snapshots).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use oci_spec::image::{Descriptor, MediaType};

use super::layers::{self, IndexOptions, LayerIndex, index_layers_each};
use super::nodes::{Change, Entry, EntryKind};
use super::packages::{self, Owners};
use super::stack::{Live, Stack};
use crate::engine::event::StepRef;
use crate::store::digest::parse_sha256;
use crate::store::{LayerInfo, LayerRef, Store};

/// What to read for the layer pane: the filesystem after `step`, as the stack of its base image's
/// layers and then `layers` (oldest first: the parent stages' and this stage's, up to the step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRequest {
    pub step: StepRef,
    /// The external image at the bottom of the chain (`FROM image`), if any.
    pub base_image: Option<String>,
    pub layers: Vec<LayerInfo>,
    /// The last of `layers` is the step's own: its paths get the added/modified/removed marks.
    pub changes_in_last: bool,
}

impl LayerRequest {
    pub fn new(step: StepRef) -> Self {
        Self {
            step,
            base_image: None,
            layers: Vec::new(),
            changes_in_last: false,
        }
    }

    /// Whether a layer of the chain has no digest yet: its tar is made in the background and a
    /// `layer_digested` event brings the digest.
    pub fn pending(&self) -> bool {
        self.layers.iter().any(|l| l.digest.is_empty())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("layer contents of {step} are not available: {why}")]
    Unavailable { step: StepRef, why: String },
    #[error("reading the layers of {step}: {message}")]
    Store { step: StepRef, message: String },
    #[error("cannot read layer directory {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The filesystem after a step, as the layer pane shows it.
pub struct Listing<'a> {
    /// Every path, in any order; parents may be implied.
    pub entries: Box<dyn Iterator<Item = Entry> + Send + 'a>,
    /// Which package owns each path (empty when no package database is there).
    pub owners: Owners,
}

/// Where layer contents come from: the store once builds are real, a directory in tests.
pub trait LayerSource: Send + Sync {
    fn list(&self, request: &LayerRequest) -> Result<Listing<'_>, LayerError>;
}

/// A layer laid out as a directory: how snapshots sit in the store (`snapshots/<chain-id>/fs`).
/// Overlay whiteouts (`.wh.NAME` files) become removed entries; everything else counts as added,
/// since one directory alone cannot tell added from modified.
#[derive(Debug, Clone, Default)]
pub struct DirSource {
    dirs: HashMap<StepRef, PathBuf>,
}

impl DirSource {
    pub fn insert(&mut self, step: StepRef, dir: impl Into<PathBuf>) {
        self.dirs.insert(step, dir.into());
    }
}

impl LayerSource for DirSource {
    fn list(&self, request: &LayerRequest) -> Result<Listing<'_>, LayerError> {
        let step = &request.step;
        let root = self.dirs.get(step).ok_or_else(|| LayerError::Unavailable {
            step: step.clone(),
            why: "no directory recorded for this step".into(),
        })?;
        let meta = std::fs::metadata(root).map_err(|source| LayerError::Io {
            path: root.clone(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(LayerError::Unavailable {
                step: step.clone(),
                why: format!("{} is not a directory", root.display()),
            });
        }
        let root = root.clone();
        let walk = walkdir::WalkDir::new(&root)
            .min_depth(1)
            .into_iter()
            .filter_map(Result::ok);
        Ok(Listing {
            entries: Box::new(walk.filter_map(move |e| dir_entry(&root, &e))),
            owners: Owners::default(),
        })
    }
}

fn dir_entry(root: &Path, e: &walkdir::DirEntry) -> Option<Entry> {
    let rel = e
        .path()
        .strip_prefix(root)
        .ok()?
        .to_string_lossy()
        .into_owned();
    let name = e.file_name().to_string_lossy();
    if let Some(hidden) = name.strip_prefix(".wh.") {
        let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
        let path = if parent.is_empty() {
            hidden.to_string()
        } else {
            format!("{parent}/{hidden}")
        };
        return Some(Entry {
            path,
            size: 0,
            kind: EntryKind::Other,
            change: Change::Removed,
        });
    }
    let ft = e.file_type();
    let kind = if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_symlink() {
        EntryKind::Symlink
    } else if ft.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    };
    let size = if kind == EntryKind::File {
        e.metadata().map(|m| m.len()).unwrap_or(0)
    } else {
        0
    };
    Some(Entry {
        path: rel,
        size,
        kind,
        change: Change::Added,
    })
}

/// A step's filesystem read from the store's layer blobs (`StoreLayers::new(store_root)`).
#[derive(Debug, Clone)]
pub struct StoreLayers {
    root: PathBuf,
}

impl StoreLayers {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl LayerSource for StoreLayers {
    fn list(&self, request: &LayerRequest) -> Result<Listing<'_>, LayerError> {
        let fail = |message: String| LayerError::Store {
            step: request.step.clone(),
            message,
        };
        let store = Store::open(&self.root).map_err(|e| fail(e.to_string()))?;
        let chain = layer_chain(&store, request.base_image.as_deref(), &request.layers)
            .or_else(|why| recorded_chain(&store, request).ok_or(why))
            .map_err(fail)?;
        let mut indexes = index(&store, &chain).map_err(fail)?;
        // Attribution stacks the layers once more: only when a package database is there.
        let owners = if indexes.iter().all(|l| l.captured.is_empty()) {
            Owners::default()
        } else {
            Owners::of(&packages::attribute(&indexes))
        };
        let last = if request.changes_in_last {
            indexes.pop()
        } else {
            None
        };
        Ok(Listing {
            entries: Box::new(marked(Stack::of(&indexes), last).into_iter()),
            owners,
        })
    }
}

/// The layers the last build recorded for the requested step, when they end with the layers the
/// request names: a `--builder docker` build's base image lives in the daemon, not in the store,
/// but its record holds the whole chain of the imported image.
fn recorded_chain(store: &Store, request: &LayerRequest) -> Option<Vec<LayerRef>> {
    let record = store.last_build().ok()??;
    let stage = record.stage(&request.step.stage)?;
    let step = stage.steps.iter().find(|s| s.index == request.step.index)?;
    let chain: Vec<LayerRef> = step
        .layers
        .iter()
        .map(crate::store::LayerDesc::to_ref)
        .collect::<Result<_, _>>()
        .ok()?;
    let own = request.layers.iter().map(|l| l.diff_id.as_str());
    let tail = chain.iter().rev().take(request.layers.len()).rev();
    tail.map(|l| l.diff_id.to_string()).eq(own).then_some(chain)
}

/// The layers of a state: its base image's (`FROM image`), then the build's own.
pub fn layer_chain(
    store: &Store,
    base_image: Option<&str>,
    layers: &[LayerInfo],
) -> Result<Vec<LayerRef>, String> {
    let mut chain = Vec::new();
    if let Some(image) = base_image {
        let base = store
            .resolve(image)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("base image {image} is not in the store"))?;
        chain = base.layers;
    }
    for info in layers {
        let bad = || {
            match info.digest.is_empty() {
            true => "a layer of this state is still being written in the background; try again when its digest is in".to_string(),
            false => format!("bad layer digest {:?}", info.digest),
        }
        };
        chain.push(LayerRef {
            descriptor: Descriptor::new(
                MediaType::ImageLayerGzip,
                info.compressed_size,
                parse_sha256(&info.digest).ok_or_else(bad)?,
            ),
            diff_id: parse_sha256(&info.diff_id).ok_or_else(bad)?,
        });
    }
    Ok(chain)
}

/// Every layer's entries (headers only), read in parallel.
fn index(store: &Store, chain: &[LayerRef]) -> Result<Vec<LayerIndex>, String> {
    for layer in chain {
        let digest = layer.descriptor.digest();
        if !store.has_blob(digest) {
            return Err(format!("layer {digest} is not in the store"));
        }
    }
    let slots: Vec<Mutex<Option<Result<LayerIndex, String>>>> =
        chain.iter().map(|_| Mutex::new(None)).collect();
    index_layers_each(
        store,
        chain,
        &serde_json::Value::Null,
        IndexOptions { content: false },
        &|_, _| {},
        &|i, r| {
            if let Ok(mut slot) = slots[i].lock() {
                *slot = Some(r.map_err(|e| format!("layer {}: {e}", chain[i].descriptor.digest())));
            }
        },
    );
    slots
        .into_iter()
        .map(|s| {
            s.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err("a layer indexer died".into()))
        })
        .collect()
}

/// The stacked filesystem as entries; with `last`, what that layer added, modified or removed.
fn marked(mut stack: Stack, last: Option<LayerIndex>) -> Vec<Entry> {
    let entry = |path: &str, live: &Live, change| Entry {
        path: path.to_string(),
        size: live.size,
        kind: kind_of(live.kind),
        change,
    };
    let Some(last) = last else {
        return stack
            .live
            .iter()
            .map(|(p, l)| entry(p, l, Change::Unchanged))
            .collect();
    };
    let before = stack.live.clone();
    stack.apply(&last);
    let mut out = Vec::with_capacity(stack.live.len());
    for (path, live) in &stack.live {
        let change = match before.get(path) {
            _ if live.layer != last.index => Change::Unchanged,
            None => Change::Added,
            // A directory listed again only because something below it changed is not a change.
            Some(old) if old.kind == layers::EntryKind::Dir && live.kind == old.kind => {
                Change::Unchanged
            }
            Some(_) => Change::Modified,
        };
        out.push(entry(path, live, change));
    }
    out.extend(
        before
            .keys()
            .filter(|p| !stack.live.contains_key(*p))
            .map(|p| Entry {
                path: p.clone(),
                size: 0,
                kind: EntryKind::Other,
                change: Change::Removed,
            }),
    );
    out
}

fn kind_of(kind: layers::EntryKind) -> EntryKind {
    match kind {
        layers::EntryKind::File | layers::EntryKind::HardLink => EntryKind::File,
        layers::EntryKind::Dir => EntryKind::Dir,
        layers::EntryKind::Symlink => EntryKind::Symlink,
        _ => EntryKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::layer::{LayerOptions, LayerStore};

    fn write(root: &std::path::Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
    }

    #[test]
    fn stacks_committed_layers_and_marks_the_last() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store_root = dir.path().join("store");
        let store = Store::open(&store_root).expect("store");
        let lower = dir.path().join("lower");
        write(
            &lower,
            &[
                ("etc/motd", "hello"),
                ("etc/issue", "v1"),
                ("usr/bin/tool", "#!/bin/sh"),
            ],
        );
        let upper = dir.path().join("upper");
        write(&upper, &[("etc/motd", "hello, world"), ("app/run", "run")]);
        // Overlay's whiteout for a removed file: a 0/0 character device; the writer turns it into `.wh.`.
        nix::sys::stat::mknod(
            &upper.join("etc/issue"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o644),
            0,
        )
        .expect("whiteout device");
        let first = store
            .commit_layer(&lower, &LayerOptions::default())
            .expect("commit lower");
        let second = store
            .commit_layer(&upper, &LayerOptions::default())
            .expect("commit upper");
        drop(store);

        let request = LayerRequest {
            step: StepRef::new("app", 2),
            base_image: None,
            layers: vec![first.info(), second.info()],
            changes_in_last: true,
        };
        let entries: Vec<Entry> = StoreLayers::new(&store_root)
            .list(&request)
            .expect("entries")
            .entries
            .collect();
        let find = |p: &str| {
            entries
                .iter()
                .find(|e| e.path == p)
                .unwrap_or_else(|| panic_missing(p, &entries))
        };
        assert_eq!(find("etc/motd").change, Change::Modified);
        assert_eq!(find("etc/motd").size, 12);
        assert_eq!(find("etc/issue").change, Change::Removed);
        assert_eq!(find("app/run").change, Change::Added);
        assert_eq!(find("usr/bin/tool").change, Change::Unchanged);
        assert_eq!(find("etc").change, Change::Unchanged);

        let missing = LayerRequest {
            base_image: Some("nope:1".into()),
            ..request
        };
        let err = StoreLayers::new(&store_root)
            .list(&missing)
            .err()
            .expect("no such image");
        assert!(err.to_string().contains("nope:1"), "{err}");
    }

    fn panic_missing(path: &str, entries: &[Entry]) -> ! {
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        unreachable!("{path} missing from {paths:?}")
    }
}
