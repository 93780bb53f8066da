//! Comparing two filesystem trees: what was added, removed and modified (content, mode, owner,
//! symlink target, kind), size deltas, a per-directory summary and text diffs of small files.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::{AnalyzeError, io_err};
use super::tree::{Entry, FileTree, Kind, display_path};

/// Text files up to this size get a unified diff.
pub const TEXT_DIFF_LIMIT: u64 = 64 * 1024;

/// Directories deeper than this are summarised under their ancestor at this depth.
pub const SUMMARY_DEPTH: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Modified,
}

/// What differs about a path present on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    Kind,
    Content,
    Mode,
    Owner,
    SymlinkTarget,
}

/// One side of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    pub kind: Kind,
    pub size: u64,
    /// Octal, `0755`.
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Side {
    fn of(e: &Entry) -> Self {
        Self {
            kind: e.kind,
            size: e.size,
            mode: format!("{:04o}", e.mode),
            uid: e.uid,
            gid: e.gid,
            link: e.link.as_ref().map(|l| l.to_string_lossy().into_owned()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Absolute path in the image (`/etc/passwd`).
    pub path: String,
    pub change: ChangeKind,
    /// For `modified`: what differs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aspects: Vec<Aspect>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a: Option<Side>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b: Option<Side>,
    /// Bytes in B minus bytes in A.
    pub delta: i64,
    /// Unified diff, for modified text files up to [`TEXT_DIFF_LIMIT`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_diff: Option<String>,
}

/// Changes under one directory (at most [`SUMMARY_DEPTH`] deep).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DirSummary {
    pub path: String,
    pub added: usize,
    pub removed: usize,
    pub modified: usize,
    pub bytes_added: u64,
    pub bytes_removed: u64,
    pub delta: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub a_size: u64,
    pub b_size: u64,
    pub a_paths: usize,
    pub b_paths: usize,
    pub added: usize,
    pub removed: usize,
    pub modified: usize,
    /// Bytes of A that B does not have (removed files, and the old content of changed ones).
    pub a_bytes_not_in_b: u64,
    /// Bytes of B that A did not have.
    pub b_bytes_not_in_a: u64,
    /// Of `a_bytes_not_in_b`, the bytes whose content B has nowhere, at no path: what never
    /// shipped when a stage's output is copied elsewhere (`/src/app` → `/usr/local/bin/app`).
    pub a_bytes_not_shipped: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TreeDiff {
    pub totals: Totals,
    /// Sorted by path.
    pub changes: Vec<Change>,
    /// Sorted by bytes changed, largest first.
    pub directories: Vec<DirSummary>,
}

fn aspects(a: &Entry, b: &Entry) -> Result<Vec<Aspect>, AnalyzeError> {
    let mut out = Vec::new();
    if a.kind != b.kind {
        out.push(Aspect::Kind);
        return Ok(out);
    }
    match a.kind {
        Kind::File if !a.same_content(b)? => out.push(Aspect::Content),
        Kind::Symlink if a.link != b.link => out.push(Aspect::SymlinkTarget),
        _ => {}
    }
    if a.mode != b.mode {
        out.push(Aspect::Mode);
    }
    if (a.uid, a.gid) != (b.uid, b.gid) {
        out.push(Aspect::Owner);
    }
    Ok(out)
}

fn read_text(path: &Path) -> Result<Option<String>, AnalyzeError> {
    let bytes = std::fs::read(path).map_err(io_err("read", path))?;
    if bytes.contains(&0) {
        return Ok(None);
    }
    Ok(String::from_utf8(bytes).ok())
}

/// A unified diff of two small text files, `None` for binary or large ones.
pub fn text_diff(a: &Entry, b: &Entry, path: &str) -> Result<Option<String>, AnalyzeError> {
    if a.kind != Kind::File
        || b.kind != Kind::File
        || a.size > TEXT_DIFF_LIMIT
        || b.size > TEXT_DIFF_LIMIT
    {
        return Ok(None);
    }
    let (Some(old), Some(new)) = (read_text(&a.source)?, read_text(&b.source)?) else {
        return Ok(None);
    };
    let diff = similar::TextDiff::from_lines(&old, &new);
    Ok(Some(
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("a{path}"), &format!("b{path}"))
            .to_string(),
    ))
}

fn summary_dir(rel: &Path) -> String {
    let parent = rel.parent().unwrap_or(Path::new(""));
    let dir: PathBuf = parent.components().take(SUMMARY_DEPTH).collect();
    display_path(&dir)
}

/// Bytes a path holds: files and symlinks count, directories are 0.
fn bytes(e: &Entry) -> u64 {
    e.size
}

/// The new side's bytes replace the old side's (not only metadata changed).
fn replaces_bytes(aspects: &[Aspect]) -> bool {
    aspects
        .iter()
        .any(|a| matches!(a, Aspect::Content | Aspect::Kind | Aspect::SymlinkTarget))
}

impl TreeDiff {
    /// `builder 812 MB → final 11.5 MB: 98.6% of builder never shipped (1.2 kB new in final)`,
    /// sizes written by `bytes` (the caller's units).
    pub fn summary_line(&self, a: &str, b: &str, bytes: impl Fn(u64) -> String) -> String {
        let t = &self.totals;
        let pct = if t.a_size == 0 {
            0.0
        } else {
            t.a_bytes_not_shipped as f64 * 100.0 / t.a_size as f64
        };
        format!(
            "{a} {} → {b} {}: {pct:.1}% of {a} never shipped ({} new in {b})",
            bytes(t.a_size),
            bytes(t.b_size),
            bytes(t.b_bytes_not_in_a),
        )
    }
}

/// Same-size files of B compared per file of A, at most: enough for real trees, bounded for
/// pathological ones (thousands of equal-size files).
const SHIPPED_CANDIDATES: usize = 64;

/// Bytes of A's files that left A's path whose content B holds at no path (same name first).
fn not_shipped(a: &FileTree, b: &FileTree, changes: &[Change]) -> Result<u64, AnalyzeError> {
    let mut by_size: HashMap<u64, Vec<(&PathBuf, &Entry)>> = HashMap::new();
    for (p, e) in b.iter().filter(|(_, e)| e.kind == Kind::File && e.size > 0) {
        by_size.entry(e.size).or_default().push((p, e));
    }
    let mut total = 0;
    for c in changes {
        let gone = match c.change {
            ChangeKind::Removed => true,
            ChangeKind::Modified => replaces_bytes(&c.aspects),
            ChangeKind::Added => false,
        };
        let rel = Path::new(c.path.trim_start_matches('/'));
        let Some(ea) = a.get(rel).filter(|_| gone) else {
            continue;
        };
        if ea.kind != Kind::File || ea.size == 0 {
            total += bytes(ea);
            continue;
        }
        let mut candidates: Vec<&(&PathBuf, &Entry)> = by_size
            .get(&ea.size)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        candidates.sort_by_key(|(p, _)| p.file_name() != rel.file_name());
        let mut found = false;
        for (_, eb) in candidates.into_iter().take(SHIPPED_CANDIDATES) {
            if ea.same_content(eb)? {
                found = true;
                break;
            }
        }
        if !found {
            total += ea.size;
        }
    }
    Ok(total)
}

/// Compares A (before) and B (after).
pub fn diff(a: &FileTree, b: &FileTree) -> Result<TreeDiff, AnalyzeError> {
    let mut changes = Vec::new();
    let mut totals = Totals {
        a_size: a.total_size(),
        b_size: b.total_size(),
        a_paths: a.len(),
        b_paths: b.len(),
        ..Totals::default()
    };
    let mut dirs: BTreeMap<String, DirSummary> = BTreeMap::new();
    let mut paths: Vec<&PathBuf> = a.iter().map(|(p, _)| p).collect();
    paths.extend(b.iter().map(|(p, _)| p).filter(|p| a.get(p).is_none()));
    paths.sort();
    for rel in paths {
        let path = display_path(rel);
        let change = match (a.get(rel), b.get(rel)) {
            (Some(ea), None) => {
                totals.removed += 1;
                totals.a_bytes_not_in_b += bytes(ea);
                Change {
                    path,
                    change: ChangeKind::Removed,
                    aspects: Vec::new(),
                    a: Some(Side::of(ea)),
                    b: None,
                    delta: -(bytes(ea) as i64),
                    text_diff: None,
                }
            }
            (None, Some(eb)) => {
                totals.added += 1;
                totals.b_bytes_not_in_a += bytes(eb);
                Change {
                    path,
                    change: ChangeKind::Added,
                    aspects: Vec::new(),
                    a: None,
                    b: Some(Side::of(eb)),
                    delta: bytes(eb) as i64,
                    text_diff: None,
                }
            }
            (Some(ea), Some(eb)) => {
                let aspects = aspects(ea, eb)?;
                if aspects.is_empty() {
                    continue;
                }
                totals.modified += 1;
                if replaces_bytes(&aspects) {
                    totals.a_bytes_not_in_b += bytes(ea);
                    totals.b_bytes_not_in_a += bytes(eb);
                }
                let text_diff = if aspects.contains(&Aspect::Content) {
                    text_diff(ea, eb, &path)?
                } else {
                    None
                };
                Change {
                    path,
                    change: ChangeKind::Modified,
                    aspects,
                    a: Some(Side::of(ea)),
                    b: Some(Side::of(eb)),
                    delta: bytes(eb) as i64 - bytes(ea) as i64,
                    text_diff,
                }
            }
            (None, None) => continue,
        };
        let dir = summary_dir(rel);
        let s = dirs.entry(dir.clone()).or_insert_with(|| DirSummary {
            path: dir,
            ..DirSummary::default()
        });
        match change.change {
            ChangeKind::Added => {
                s.added += 1;
                s.bytes_added += change.delta.unsigned_abs();
            }
            ChangeKind::Removed => {
                s.removed += 1;
                s.bytes_removed += change.delta.unsigned_abs();
            }
            ChangeKind::Modified => {
                s.modified += 1;
                if let (Some(sa), Some(sb)) = (&change.a, &change.b)
                    && replaces_bytes(&change.aspects)
                {
                    s.bytes_removed += sa.size;
                    s.bytes_added += sb.size;
                }
            }
        }
        s.delta += change.delta;
        changes.push(change);
    }
    totals.a_bytes_not_shipped = not_shipped(a, b, &changes)?;
    let mut directories: Vec<DirSummary> = dirs.into_values().collect();
    directories.sort_by(|x, y| {
        (y.bytes_added + y.bytes_removed)
            .cmp(&(x.bytes_added + x.bytes_removed))
            .then_with(|| x.path.cmp(&y.path))
    });
    Ok(TreeDiff {
        totals,
        changes,
        directories,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn content_copied_to_another_path_counts_as_shipped() {
        let tmp = tempfile::tempdir().expect("tmp");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        for d in [&a, &b] {
            fs::create_dir_all(d).expect("mkdir");
        }
        fs::write(a.join("app"), "binary!").expect("write");
        fs::write(a.join("app.o"), "object").expect("write");
        fs::write(b.join("app-installed"), "binary!").expect("write");
        fs::write(b.join("same-size"), "objecT").expect("write");
        let d = diff(
            &FileTree::from_dirs(&[a]).expect("a"),
            &FileTree::from_dirs(&[b]).expect("b"),
        )
        .expect("diff");
        assert_eq!(d.totals.a_bytes_not_in_b, 7 + 6);
        assert_eq!(d.totals.a_bytes_not_shipped, 6);
    }

    #[test]
    fn finds_added_removed_and_modified_paths() {
        let tmp = tempfile::tempdir().expect("tmp");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        for d in [&a, &b] {
            fs::create_dir_all(d.join("etc")).expect("mkdir");
            fs::write(d.join("etc/same"), "same").expect("write");
        }
        fs::write(a.join("etc/conf"), "one\ntwo\n").expect("write");
        fs::write(b.join("etc/conf"), "one\nTWO\nthree\n").expect("write");
        fs::write(a.join("old"), "12345").expect("write");
        fs::write(b.join("new"), "1").expect("write");
        fs::write(a.join("exe"), "x").expect("write");
        fs::write(b.join("exe"), "x").expect("write");
        fs::set_permissions(b.join("exe"), fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::set_permissions(a.join("exe"), fs::Permissions::from_mode(0o644)).expect("chmod");
        std::os::unix::fs::symlink("exe", a.join("link")).expect("symlink");
        std::os::unix::fs::symlink("new", b.join("link")).expect("symlink");
        let ta = FileTree::from_dirs(&[a]).expect("a");
        let tb = FileTree::from_dirs(&[b]).expect("b");
        let d = diff(&ta, &tb).expect("diff");
        let got: Vec<(String, ChangeKind, Vec<Aspect>)> = d
            .changes
            .iter()
            .map(|c| (c.path.clone(), c.change, c.aspects.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "/etc/conf".into(),
                    ChangeKind::Modified,
                    vec![Aspect::Content]
                ),
                ("/exe".into(), ChangeKind::Modified, vec![Aspect::Mode]),
                (
                    "/link".into(),
                    ChangeKind::Modified,
                    vec![Aspect::SymlinkTarget]
                ),
                ("/new".into(), ChangeKind::Added, vec![]),
                ("/old".into(), ChangeKind::Removed, vec![]),
            ]
        );
        let conf = &d.changes[0];
        assert_eq!(conf.delta, 6);
        let text = conf.text_diff.as_deref().expect("text diff");
        assert!(text.contains("-two\n+TWO\n+three\n"), "{text}");
        assert_eq!(d.totals.a_bytes_not_in_b, 8 + 5 + 3);
        // /old's 5 bytes and /etc/conf's 8 are nowhere in B; /link's target "exe" (3) is gone.
        assert_eq!(d.totals.a_bytes_not_shipped, 8 + 5 + 3);
        assert_eq!(d.directories[0].path, "/etc");
        assert_eq!(d.directories[0].bytes_added, 14);
    }
}
