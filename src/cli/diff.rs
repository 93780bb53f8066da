//! `stagecraft diff A B`: what changed between two stages, steps or images of the store.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;
use miette::{IntoDiagnostic, Result};
use serde::Serialize;

use super::Global;
use crate::analyze::{Change, ChangeKind, FileTree, Kind, TreeDiff, diff};
use crate::engine::lookup::resolve_target;
use crate::store::Store;
use crate::ui::progress::human_bytes;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// Before: a stage (`builder`) or step (`builder/3`) of the last build, or an image
    pub a: String,
    /// After: same forms as A
    pub b: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Only the summary and the per-directory table (no file list, no text diffs)
    #[arg(long)]
    pub stat: bool,
}

/// `diff --format json`: documented in README.
#[derive(Debug, Serialize)]
struct JsonDiff<'a> {
    a: &'a str,
    b: &'a str,
    #[serde(flatten)]
    diff: &'a TreeDiff,
}

pub fn run(global: &Global, args: DiffArgs) -> Result<ExitCode> {
    super::build_backend::import_last_build(global);
    let store = Store::open(&global.store_root())?;
    let a = resolve_target(&store, &args.a)?;
    let b = resolve_target(&store, &args.b)?;
    let tree_a = FileTree::from_layers(&store, &a.layers)?;
    let tree_b = FileTree::from_layers(&store, &b.layers)?;
    let mut result = diff(&tree_a, &tree_b)?;
    if args.stat {
        result.changes.clear();
    }
    let out = match args.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&JsonDiff {
                a: &args.a,
                b: &args.b,
                diff: &result,
            })
            .into_diagnostic()?;
            s.push('\n');
            s
        }
        Format::Text => render_text(&args.a, &args.b, &result, args.stat),
    };
    // Paths, instruction text and findings come from images and Dockerfiles.
    print!("{}", crate::ui::visible::visible(&out));
    Ok(ExitCode::SUCCESS)
}

fn signed(delta: i64) -> String {
    let sign = if delta < 0 { "-" } else { "+" };
    format!("{sign}{}", human_bytes(delta.unsigned_abs()))
}

fn side_text(c: &Change) -> String {
    let (Some(a), Some(b)) = (&c.a, &c.b) else {
        return String::new();
    };
    let mut parts = Vec::new();
    for aspect in &c.aspects {
        parts.push(match aspect {
            crate::analyze::Aspect::Kind => format!("kind {:?} → {:?}", a.kind, b.kind),
            crate::analyze::Aspect::Content => {
                format!("content {} → {}", human_bytes(a.size), human_bytes(b.size))
            }
            crate::analyze::Aspect::Mode => format!("mode {} → {}", a.mode, b.mode),
            crate::analyze::Aspect::Owner => {
                format!("owner {}:{} → {}:{}", a.uid, a.gid, b.uid, b.gid)
            }
            crate::analyze::Aspect::SymlinkTarget => format!(
                "symlink {} → {}",
                a.link.as_deref().unwrap_or(""),
                b.link.as_deref().unwrap_or("")
            ),
        });
    }
    parts.join(", ")
}

fn render_text(a: &str, b: &str, d: &TreeDiff, stat: bool) -> String {
    let t = &d.totals;
    let mut out = String::new();
    let _ = writeln!(out, "{}", d.summary_line(a, b, human_bytes));
    let _ = writeln!(
        out,
        "{} added, {} removed, {} modified",
        t.added, t.removed, t.modified
    );
    if !d.directories.is_empty() {
        let _ = writeln!(out, "\nBy directory (largest change first):");
        for s in d.directories.iter().take(if stat { 50 } else { 15 }) {
            let _ = writeln!(
                out,
                "  {:>10}  {:<40} +{} -{} ~{}",
                signed(s.delta),
                s.path,
                s.added,
                s.removed,
                s.modified
            );
        }
    }
    if stat || d.changes.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nChanges:");
    let mut i = 0;
    while i < d.changes.len() {
        let c = &d.changes[i];
        let mark = match c.change {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Modified => '~',
        };
        let side = c.b.as_ref().or(c.a.as_ref());
        let is_dir = side.is_some_and(|s| s.kind == Kind::Dir);
        if is_dir && c.change != ChangeKind::Modified {
            // A whole directory came or went: one line for it and everything under it.
            let prefix = format!("{}/", c.path);
            let mut j = i + 1;
            let mut bytes = 0u64;
            while j < d.changes.len()
                && d.changes[j].path.starts_with(&prefix)
                && d.changes[j].change == c.change
            {
                bytes += d.changes[j].delta.unsigned_abs();
                j += 1;
            }
            let _ = writeln!(
                out,
                "  {mark} {}/  ({} paths, {})",
                c.path,
                j - i - 1,
                human_bytes(bytes)
            );
            i = j;
            continue;
        }
        match c.change {
            ChangeKind::Modified => {
                let _ = writeln!(out, "  {mark} {}  {}", c.path, side_text(c));
            }
            _ => {
                let size = side.map_or(0, |s| s.size);
                let _ = writeln!(out, "  {mark} {}  {}", c.path, human_bytes(size));
            }
        }
        if let Some(text) = &c.text_diff {
            for line in text.lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
        i += 1;
    }
    out
}
