//! Filesystem states of a build as the TUI names them (after a step, before a failed one, what a
//! failed RUN left behind) and the questions asked of them off the UI thread: their layers and
//! config, a comparison of two, the origins of a stage's files, and a shell in one. The UI sends
//! these as effects; it never opens the store itself.

use std::path::{Path, PathBuf};

use super::diff::TEXT_DIFF_LIMIT;
use super::layer_source::{LayerRequest, layer_chain};
use super::{ChangeKind, FileTree, Kind, TreeDiff, diff, provenance};
use crate::engine::event::{ConfigSummary, StepRef};
use crate::engine::lookup::{Resolved, resolve_target};
use crate::engine::shell as engine_shell;
use crate::image::layer::LayerStore;
use crate::store::Store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellRequest {
    /// The state to open: the filesystem after this step.
    pub after: Option<StepRef>,
    /// The layers that make it up, as the events reported them.
    pub layers: LayerRequest,
    /// The stage's config when the events carried one (`stage_finished`).
    pub config: Option<ConfigSummary>,
    pub build_id: Option<String>,
    /// Printed before the shell starts (the failing command, ready to re-run).
    pub banner: Vec<String>,
    pub label: String,
    /// `S`: the failed snapshot (what the failed RUN left behind) stacked over `after`'s state.
    pub left: Option<String>,
}

/// A resolved shell: the state's layers and config, and a failed step's leftovers over them.
pub struct ShellTarget {
    pub target: Resolved,
    pub top: Option<PathBuf>,
}

/// The state to open, with a failed step's leftovers when `S` asked for them.
pub fn resolve_shell(store: &Store, req: &ShellRequest) -> Result<ShellTarget, String> {
    let top = match &req.left {
        Some(name) => {
            let dir = store.failed_dir(name);
            if !dir.is_dir() {
                return Err(format!(
                    "{} kept nothing: only a RUN that ran and failed leaves its state behind",
                    req.label
                ));
            }
            Some(dir)
        }
        None => None,
    };
    Ok(ShellTarget {
        target: resolve(store, req)?,
        top,
    })
}

/// The layers and config to open: this build's record when it has the step, else the events.
pub fn resolve(store: &Store, req: &ShellRequest) -> Result<Resolved, String> {
    if let Some(after) = &req.after
        && let Ok(Some(record)) = store.last_build()
        && Some(&record.id) == req.build_id.as_ref()
        && let Ok(found) = resolve_target(store, &format!("{}/{}", after.stage, after.index))
    {
        return Ok(found);
    }
    let mut config = serde_json::json!({"config": {}});
    if let Some(image) = &req.layers.base_image {
        let base = store
            .resolve(image)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("base image {image} is not in the store"))?;
        config = serde_json::to_value(&base.config).map_err(|e| e.to_string())?;
    }
    let layers = layer_chain(store, req.layers.base_image.as_deref(), &req.layers.layers)?;
    if let Some(summary) = &req.config {
        config["config"]["Env"] = serde_json::json!(summary.env);
        if let Some(w) = &summary.workdir {
            config["config"]["WorkingDir"] = serde_json::json!(w);
        }
        if let Some(u) = &summary.user {
            config["config"]["User"] = serde_json::json!(u);
        }
    }
    Ok(Resolved {
        label: req.label.clone(),
        layers,
        config,
    })
}

/// Opens a shell in the state on this terminal (the caller has left the UI): prints the banner,
/// runs the shell, and returns its exit code. The store is opened and the state resolved on the
/// blocking pool.
pub async fn open_shell(store_root: PathBuf, request: ShellRequest) -> Result<i32, String> {
    let resolved = tokio::task::spawn_blocking(move || {
        let store = Store::open(&store_root).map_err(|e| e.to_string())?;
        let target = resolve_shell(&store, &request)?;
        Ok::<_, String>((store, target, request))
    })
    .await
    .unwrap_or_else(|e| Err(format!("shell task: {e}")))?;
    let (store, ShellTarget { target, top }, request) = resolved;
    for line in &request.banner {
        println!("{line}");
    }
    println!(
        "stagecraft: shell in {} (changes are thrown away on exit; exit returns to the build)",
        target.label
    );
    engine_shell::open_over(&store, &target, top.as_deref(), None, &[], None)
        .await
        .map_err(|e| e.to_string())
}

/// Compares two states: every change, with the text diff of small text files (whole, for a file
/// only one side has). Blocking.
pub fn compare(store_root: &Path, a: &ShellRequest, b: &ShellRequest) -> Result<TreeDiff, String> {
    let store = Store::open(store_root).map_err(|e| e.to_string())?;
    let tree_a = tree_of(&store, a)?;
    let tree_b = tree_of(&store, b)?;
    let mut d = diff(&tree_a, &tree_b).map_err(|e| e.to_string())?;
    whole_texts(&mut d, &tree_a, &tree_b);
    Ok(d)
}

/// Where every file of `stage` of the store's last build came from, if `build_id` is still the
/// last build. Blocking.
pub fn stage_origins(
    store_root: &Path,
    build_id: &str,
    stage: &str,
) -> Result<Vec<super::FileProvenance>, String> {
    let store = Store::open(store_root).map_err(|e| e.to_string())?;
    let record = store
        .last_build()
        .map_err(|e| e.to_string())?
        .filter(|r| r.id == build_id)
        .ok_or("this build is not the store's last build any more")?;
    provenance(&store, &record, Some(stage)).map_err(|e| e.to_string())
}

/// The merged tree of a state: its layers, and a failed step's kept leftovers on top.
fn tree_of(store: &Store, req: &ShellRequest) -> Result<FileTree, String> {
    let state = resolve_shell(store, req)?;
    let mut dirs = store
        .snapshot(&state.target.layers)
        .map_err(|e| e.to_string())?;
    dirs.extend(state.top);
    FileTree::from_dirs(&dirs).map_err(|e| e.to_string())
}

/// Added or removed files shown whole: most are few and small, and reading them here keeps the
/// UI thread off the store.
const WHOLE_TEXT_FILES: usize = 2000;

/// A file only one side has, as a diff against nothing (all `+` or all `-` lines).
fn whole_texts(d: &mut TreeDiff, a: &FileTree, b: &FileTree) {
    let mut budget = WHOLE_TEXT_FILES;
    for change in d.changes.iter_mut() {
        if budget == 0 {
            break;
        }
        let rel = Path::new(change.path.trim_start_matches('/'));
        let (entry, added) = match change.change {
            ChangeKind::Added => (b.get(rel), true),
            ChangeKind::Removed => (a.get(rel), false),
            ChangeKind::Modified => continue,
        };
        let Some(entry) = entry.filter(|e| e.kind == Kind::File && e.size <= TEXT_DIFF_LIMIT)
        else {
            continue;
        };
        budget -= 1;
        let Ok(bytes) = std::fs::read(&entry.source) else {
            continue;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        if text.contains('\0') {
            continue;
        }
        let (old, new) = if added {
            ("", text.as_str())
        } else {
            (text.as_str(), "")
        };
        let path = &change.path;
        change.text_diff = Some(
            similar::TextDiff::from_lines(old, new)
                .unified_diff()
                .header(&format!("a{path}"), &format!("b{path}"))
                .to_string(),
        );
    }
}
