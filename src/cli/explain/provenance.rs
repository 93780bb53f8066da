//! `explain --provenance`: where every file of the last build's image came from.

use std::fmt::Write as _;
use std::process::ExitCode;

use miette::{IntoDiagnostic, Result, miette};

use super::args::{ExplainArgs, Format};
use crate::analyze::{FileProvenance, provenance};
use crate::cli::Global;
use crate::store::Store;
use crate::ui::progress::human_bytes;

pub fn run(global: &Global, args: ExplainArgs) -> Result<ExitCode> {
    let store = Store::open(&global.store_root())?;
    let record = store
        .last_build()?
        .ok_or_else(|| miette!("no build recorded in {} yet", store.root().display()))?;
    let mut files = provenance(&store, &record, args.stage.as_deref())?;
    let total = files.len();
    if args.limit > 0 {
        files.truncate(args.limit);
    }
    let out = match args.format {
        Format::DiveJson => {
            return Err(miette::miette!(
                "--provenance writes text or json; dive-json is the report's format"
            ));
        }
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&files).into_diagnostic()?;
            s.push('\n');
            s
        }
        Format::Text => render(&files, total),
    };
    // Paths, instruction text and findings come from images and Dockerfiles.
    print!("{}", crate::ui::visible::visible(&out));
    Ok(ExitCode::SUCCESS)
}

fn render(files: &[FileProvenance], total: usize) -> String {
    let mut out = String::new();
    let width = files
        .iter()
        .map(|f| f.path.len())
        .max()
        .unwrap_or(4)
        .min(50);
    let _ = writeln!(out, "{:>9}  {:<width$}  FROM", "SIZE", "PATH");
    for f in files {
        let chain: Vec<String> = f
            .hops
            .iter()
            .map(|h| {
                let renamed = if h.path == f.path {
                    String::new()
                } else {
                    format!(" [{}]", h.path)
                };
                let changed = h
                    .metadata
                    .as_ref()
                    .map(|m| format!(" ({m}, same content)"))
                    .unwrap_or_default();
                format!(
                    "{}/{} line {}: {}{renamed}{changed}",
                    h.stage, h.step, h.line, h.text
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "{:>9}  {:<width$}  {}",
            human_bytes(f.size),
            f.path,
            chain.join("  ←  ")
        );
    }
    if files.len() < total {
        let _ = writeln!(
            out,
            "({} more files; --limit 0 shows all)",
            total - files.len()
        );
    }
    out
}
