//! Where every file of a built image came from: the step whose layer holds it, and, through
//! `COPY --from`, the step of the source stage that first created it.
//!
//! The build record says which layer each step added; a layer's snapshot dir holds what it wrote,
//! so the topmost layer holding a path names its step. A file a `COPY --from=X` step wrote is found
//! again in X's final tree by content (size first, then sha256; same name preferred), which also
//! follows renames, and the search continues in X.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::AnalyzeError;
use super::tree::{Entry, FileTree, Kind, display_path, same_bytes};
use crate::frontend::plan::StageBase;
use crate::image::layer::LayerStore;
use crate::store::Store;
use crate::store::{BuildRecord, LayerDesc, StageRecord};

/// One step on a file's way into the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub stage: String,
    pub step: usize,
    /// `RUN`, `COPY`, `FROM`, …
    pub instruction: String,
    pub text: String,
    /// 1-based Dockerfile line.
    pub line: usize,
    /// The file's path in that stage.
    pub path: String,
    /// When this step rewrote the file without changing its content (`RUN chmod`, `chown`):
    /// what it changed (`mode 0644 → 0755`). The next hop made the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileProvenance {
    pub path: String,
    pub kind: Kind,
    pub size: u64,
    /// From the step that put the file in the image back to the step that created it.
    pub hops: Vec<Hop>,
}

impl FileProvenance {
    /// The step that first created the file.
    pub fn origin(&self) -> Option<&Hop> {
        self.hops.last()
    }
}

/// A stage's final tree and, per layer of its chain, the (stage, step) that added it.
struct StageView {
    tree: FileTree,
    /// The stage's layer dirs, lowest first (to look below the layer that wrote a path last).
    dirs: Vec<PathBuf>,
    owners: Vec<(usize, usize)>,
    by_size: HashMap<u64, Vec<PathBuf>>,
}

struct Tracer<'a> {
    store: &'a Store,
    record: &'a BuildRecord,
    views: HashMap<usize, StageView>,
}

/// `COPY --from=X …`: X, as written.
fn copy_from(text: &str) -> Option<String> {
    let mut words = text.split_whitespace();
    let keyword = words.next()?;
    if !keyword.eq_ignore_ascii_case("COPY") {
        return None;
    }
    words
        .take_while(|w| w.starts_with("--"))
        .find_map(|w| w.strip_prefix("--from="))
        .map(|s| s.trim_matches(|c| c == '"' || c == '\'').to_string())
}

impl<'a> Tracer<'a> {
    /// A tracer over `record` and the position of `stage` (default: the build's target) in it.
    fn at(
        store: &'a Store,
        record: &'a BuildRecord,
        stage: Option<&str>,
    ) -> Result<(Self, usize), AnalyzeError> {
        let tracer = Tracer {
            store,
            record,
            views: HashMap::new(),
        };
        let label = stage.unwrap_or(&record.target);
        let pos = tracer.stage_pos(label).ok_or_else(|| {
            AnalyzeError::Record(format!("no stage {label} in build {}", record.id))
        })?;
        Ok((tracer, pos))
    }

    fn stage_pos(&self, label: &str) -> Option<usize> {
        self.record
            .stages
            .iter()
            .position(|s| s.label == label || s.index.to_string() == label)
    }

    fn stage(&self, pos: usize) -> &'a StageRecord {
        &self.record.stages[pos]
    }

    /// Which (stage, step) added layer `i` of stage `pos`'s chain.
    fn owner(&self, pos: usize, i: usize) -> Result<(usize, usize), AnalyzeError> {
        let stage = self.stage(pos);
        let step = stage
            .steps
            .iter()
            .find(|s| s.layers.len() > i)
            .ok_or_else(|| {
                AnalyzeError::Record(format!("stage {} has no layer {i}", stage.label))
            })?;
        if step.index > 0 {
            return Ok((pos, step.index));
        }
        // Layers a stage starts with come from its base: an earlier stage or an image.
        let base = self
            .record
            .plan
            .stages
            .iter()
            .find(|s| s.index == stage.index)
            .map(|s| s.base.clone());
        if let Some(StageBase::Stage(name)) = base
            && let Some(base_pos) = self.stage_pos(&name)
            && base_pos != pos
        {
            return self.owner(base_pos, i);
        }
        Ok((pos, 0))
    }

    fn view(&mut self, pos: usize) -> Result<&StageView, AnalyzeError> {
        if !self.views.contains_key(&pos) {
            let stage = self.stage(pos);
            let last = stage.steps.last().ok_or_else(|| {
                AnalyzeError::Record(format!(
                    "stage {} did not finish in this build",
                    stage.label
                ))
            })?;
            let layers = last
                .layers
                .iter()
                .map(LayerDesc::to_ref)
                .collect::<Result<Vec<_>, _>>()?;
            let dirs = self.store.snapshot(&layers)?;
            let tree = FileTree::from_dirs(&dirs)?;
            let owners = (0..layers.len())
                .map(|i| self.owner(pos, i))
                .collect::<Result<Vec<_>, _>>()?;
            let mut by_size: HashMap<u64, Vec<PathBuf>> = HashMap::new();
            for (p, e) in tree.iter().filter(|(_, e)| e.kind != Kind::Dir) {
                by_size.entry(e.size).or_default().push(p.clone());
            }
            self.views.insert(
                pos,
                StageView {
                    tree,
                    dirs,
                    owners,
                    by_size,
                },
            );
        }
        self.views
            .get(&pos)
            .ok_or_else(|| AnalyzeError::Record("stage view vanished".into()))
    }

    fn hop(&self, pos: usize, step: usize, path: &Path) -> Hop {
        let stage = self.stage(pos);
        let plan_step = self
            .record
            .plan
            .stages
            .iter()
            .find(|s| s.index == stage.index)
            .and_then(|s| s.steps.get(step));
        let text = plan_step.map(|s| s.text.clone()).unwrap_or_default();
        Hop {
            stage: stage.label.clone(),
            step,
            instruction: plan_step.map(|s| s.instruction.clone()).unwrap_or_default(),
            line: plan_step.map_or(0, |s| s.line),
            text,
            path: display_path(path),
            metadata: None,
        }
    }

    fn get(&self, pos: usize) -> Result<&StageView, AnalyzeError> {
        self.views
            .get(&pos)
            .ok_or_else(|| AnalyzeError::Record(format!("stage {pos} not loaded")))
    }

    /// The hops of `path` in stage `pos`'s final tree.
    fn trace(&mut self, pos: usize, path: &Path) -> Result<Vec<Hop>, AnalyzeError> {
        let mut hops = Vec::new();
        let (mut pos, mut path) = (pos, path.to_path_buf());
        // Stages form a DAG; the bound only guards against a malformed record.
        for _ in 0..=self.record.stages.len() {
            self.view(pos)?;
            let view = self.get(pos)?;
            let Some(entry) = view.tree.get(&path) else {
                break;
            };
            let mut layer = entry.layer;
            let mut top = (entry.kind == Kind::File).then(|| Copy {
                mode: entry.mode,
                owner: (entry.uid, entry.gid),
                size: entry.size,
                source: entry.source.clone(),
            });
            while let Some(current) = &top {
                let Some((lower, below, change)) =
                    rewritten_from(&view.dirs, layer, &path, current)?
                else {
                    break;
                };
                let (owner_pos, step) = view.owners.get(layer).copied().unwrap_or((pos, 0));
                let mut hop = self.hop(owner_pos, step, &path);
                hop.metadata = Some(change);
                hops.push(hop);
                layer = lower;
                top = Some(below);
            }
            let (owner_pos, step) = view.owners.get(layer).copied().unwrap_or((pos, 0));
            let hop = self.hop(owner_pos, step, &path);
            let from = copy_from(&hop.text);
            hops.push(hop);
            let Some(source_pos) = from.as_deref().and_then(|f| self.stage_pos(f)) else {
                break;
            };
            self.view(source_pos)?;
            let (view, source) = (self.get(pos)?, self.get(source_pos)?);
            let Some(entry) = view.tree.get(&path) else {
                break;
            };
            match find_source(source, entry, path.file_name())? {
                Some(p) => {
                    pos = source_pos;
                    path = p;
                }
                None => break,
            }
        }
        Ok(hops)
    }
}

/// One layer's copy of a regular file.
struct Copy {
    mode: u32,
    owner: (u32, u32),
    size: u64,
    source: PathBuf,
}

/// When layer `layer` of `dirs` rewrote `path` with the same content as the layer below that
/// held it (a `chmod` or `chown` copies the file up whole): that lower layer, its copy, and what
/// changed.
fn rewritten_from(
    dirs: &[PathBuf],
    layer: usize,
    path: &Path,
    top: &Copy,
) -> Result<Option<(usize, Copy, String)>, AnalyzeError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Some((lower, meta)) = (0..layer.min(dirs.len())).rev().find_map(|i| {
        let meta = std::fs::symlink_metadata(dirs[i].join(path)).ok()?;
        Some((i, meta))
    }) else {
        return Ok(None);
    };
    let whiteout = meta.file_type().is_char_device() && meta.rdev() == 0;
    if whiteout || !meta.is_file() || meta.len() != top.size {
        return Ok(None);
    }
    let below = Copy {
        mode: meta.mode() & 0o7777,
        owner: (meta.uid(), meta.gid()),
        size: meta.len(),
        source: dirs[lower].join(path),
    };
    if !same_bytes(&below.source, &top.source)? {
        return Ok(None);
    }
    let mut changes = Vec::new();
    if below.mode != top.mode {
        changes.push(format!("mode {:04o} → {:04o}", below.mode, top.mode));
    }
    if below.owner != top.owner {
        let ((u0, g0), (u1, g1)) = (below.owner, top.owner);
        changes.push(format!("owner {u0}:{g0} → {u1}:{g1}"));
    }
    if changes.is_empty() {
        changes.push("rewritten with the same content".to_string());
    }
    Ok(Some((lower, below, changes.join(", "))))
}

/// The same file in a stage's final tree: same content, same name preferred.
fn find_source(
    view: &StageView,
    wanted: &Entry,
    name: Option<&std::ffi::OsStr>,
) -> Result<Option<PathBuf>, AnalyzeError> {
    let mut candidates: Vec<&PathBuf> = view
        .by_size
        .get(&wanted.size)
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    candidates.sort_by_key(|p| (p.file_name() != name, p.as_os_str().len()));
    for candidate in candidates {
        if let Some(e) = view.tree.get(candidate)
            && e.kind == wanted.kind
            && e.same_content(wanted)?
        {
            return Ok(Some(candidate.clone()));
        }
    }
    Ok(None)
}

/// For each layer of `stage`'s final chain (default: the build's target): the step that added
/// it, following `FROM stage` into earlier stages (`path` left empty).
pub fn layer_steps(
    store: &Store,
    record: &BuildRecord,
    stage: Option<&str>,
) -> Result<Vec<Hop>, AnalyzeError> {
    let (tracer, pos) = Tracer::at(store, record, stage)?;
    let layers = tracer.stage(pos).steps.last().map_or(0, |s| s.layers.len());
    (0..layers)
        .map(|i| {
            let (owner, step) = tracer.owner(pos, i)?;
            let mut hop = tracer.hop(owner, step, Path::new(""));
            hop.path.clear();
            Ok(hop)
        })
        .collect()
}

/// Provenance of every file and symlink of `stage` (default: the build's target), largest first.
pub fn provenance(
    store: &Store,
    record: &BuildRecord,
    stage: Option<&str>,
) -> Result<Vec<FileProvenance>, AnalyzeError> {
    let (mut tracer, pos) = Tracer::at(store, record, stage)?;
    let files: Vec<(PathBuf, Kind, u64)> = tracer
        .view(pos)?
        .tree
        .iter()
        .filter(|(_, e)| e.kind != Kind::Dir)
        .map(|(p, e)| (p.clone(), e.kind, e.size))
        .collect();
    let mut out = Vec::with_capacity(files.len());
    for (path, kind, size) in files {
        let hops = tracer.trace(pos, &path)?;
        out.push(FileProvenance {
            path: display_path(&path),
            kind,
            size,
            hops,
        });
    }
    out.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::copy_from;

    #[test]
    fn reads_the_source_stage_of_copy_from() {
        assert_eq!(
            copy_from("COPY --chown=1:1 --from=builder /a /b").as_deref(),
            Some("builder")
        );
        assert_eq!(copy_from("copy --from=\"0\" /a /b").as_deref(), Some("0"));
        assert_eq!(copy_from("COPY /a --from=x"), None);
        assert_eq!(copy_from("RUN --from=x"), None);
    }
}
