//! Watch mode's eyes: a `notify` watcher on the build context and the Dockerfile that reports a
//! batch of changed paths once the edits settle. Only files the build can use count: the
//! Dockerfile, its `.dockerignore`, and context files `.dockerignore` does not exclude.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::engine::context::SourceTree;

/// Edits closer together than this are one change (an editor's save is several events).
pub const DEBOUNCE: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
#[error("watching {path} for changes: {source}")]
pub struct WatchError {
    path: PathBuf,
    source: notify::Error,
}

pub struct ContextWatcher {
    _watcher: notify::RecommendedWatcher,
    rx: mpsc::UnboundedReceiver<PathBuf>,
    context: PathBuf,
    dockerfile: PathBuf,
    /// Changes seen since the last batch, and when the batch ends if nothing more comes.
    pending: Vec<String>,
    deadline: Option<tokio::time::Instant>,
}

impl ContextWatcher {
    pub fn new(context: &Path, dockerfile: &Path) -> Result<Self, WatchError> {
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let context = canon(context);
        let dockerfile = canon(dockerfile);
        let (tx, rx) = mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(event) = res else { return };
            // Reads (the build itself opens every file it copies) change nothing.
            if matches!(event.kind, EventKind::Access(_) | EventKind::Other) {
                return;
            }
            for path in event.paths {
                let _ = tx.send(path);
            }
        })
        .map_err(|source| WatchError {
            path: context.clone(),
            source,
        })?;
        let mut watch = |path: &Path, mode| {
            watcher.watch(path, mode).map_err(|source| WatchError {
                path: path.to_path_buf(),
                source,
            })
        };
        watch(&context, RecursiveMode::Recursive)?;
        if let Some(dir) = dockerfile.parent().filter(|d| !d.starts_with(&context)) {
            watch(dir, RecursiveMode::NonRecursive)?;
        }
        Ok(Self {
            _watcher: watcher,
            rx,
            context,
            dockerfile,
            pending: Vec::new(),
            deadline: None,
        })
    }

    /// Waits for a change that matters, then for the edits to settle; returns the changed paths
    /// (relative to the context where they are in it), sorted. `None` when the watcher is gone.
    /// Cancel-safe: a caller's `select!` may drop it at any await; what it saw is kept.
    pub async fn changed(&mut self) -> Option<Vec<String>> {
        loop {
            let Some(deadline) = self.deadline else {
                let path = self.rx.recv().await?;
                self.saw(&path);
                continue;
            };
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(path)) => self.saw(&path),
                Ok(None) => return None,
                Err(_) => {
                    self.deadline = None;
                    let mut seen = std::mem::take(&mut self.pending);
                    seen.sort();
                    seen.dedup();
                    return Some(seen);
                }
            }
        }
    }

    /// A relevant path (re)starts the quiet period that ends the batch.
    fn saw(&mut self, path: &Path) {
        if let Some(rel) = self.relevant(path) {
            self.pending.push(rel);
            self.deadline = Some(tokio::time::Instant::now() + DEBOUNCE);
        }
    }

    /// The path as the user knows it, if the build can use it.
    fn relevant(&self, path: &Path) -> Option<String> {
        let ignore_file = {
            let mut name = self.dockerfile.file_name()?.to_os_string();
            name.push(".dockerignore");
            self.dockerfile.with_file_name(name)
        };
        if path == self.dockerfile || path == ignore_file {
            return Some(display(path, &self.context));
        }
        let rel = path.strip_prefix(&self.context).ok()?;
        let rel = rel.to_string_lossy().into_owned();
        if rel.is_empty() || rel == ".dockerignore" {
            return Some(display(path, &self.context));
        }
        // The ignore rules are read afresh: an edit of .dockerignore changes them.
        let tree = SourceTree::context(&self.context, Some(&self.dockerfile)).ok()?;
        (!tree.ignore.is_ignored(&rel)).then_some(rel)
    }
}

fn display(path: &Path, context: &Path) -> String {
    path.strip_prefix(context)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.display().to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn reports_context_edits_but_not_ignored_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "*.log\n").unwrap();
        // A directory made after the watch starts is watched only once inotify has seen it, so a
        // file written into it at once can be missed (the directory itself is reported).
        std::fs::create_dir(dir.path().join("src")).unwrap();
        let mut w = ContextWatcher::new(dir.path(), &dir.path().join("Dockerfile")).unwrap();
        std::fs::write(dir.path().join("build.log"), "x").unwrap();
        std::fs::write(dir.path().join("src/a.txt"), "x").unwrap();
        let changed = w.changed().await.unwrap();
        assert_eq!(changed, ["src/a.txt"], "build.log is ignored");
        assert!(!changed.iter().any(|p| p.ends_with(".log")), "{changed:?}");
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nENV A=1\n").unwrap();
        assert_eq!(w.changed().await.unwrap(), ["Dockerfile"]);
    }

    #[tokio::test]
    async fn a_wait_dropped_mid_debounce_keeps_what_it_saw() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let mut w = ContextWatcher::new(dir.path(), &dir.path().join("Dockerfile")).unwrap();
        std::fs::write(dir.path().join("a.txt"), "x").unwrap();
        // A select! in the session drops the wait whenever a build event comes first.
        let early = tokio::time::timeout(DEBOUNCE / 5, w.changed()).await;
        assert!(early.is_err(), "a batch ends only after the quiet period");
        assert_eq!(w.changed().await.unwrap(), ["a.txt"]);
    }
}
