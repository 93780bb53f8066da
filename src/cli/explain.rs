//! `stagecraft explain [IMAGE | --last]`: what an image's layers hold, what they waste and what
//! they leak (see `explain_report`), with a CI mode (`explain_ci`); `--provenance`: where every
//! file of the last build's image came from.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;
use miette::{IntoDiagnostic, Result, miette};

use super::Global;
use crate::analyze::{FileProvenance, provenance};
use crate::store::Store;
use crate::ui::progress::human_bytes;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// An image of the store, or a stage (`builder`) or step (`builder/3`) of the last build
    /// (default: the last build's image)
    #[arg(conflicts_with = "last")]
    pub image: Option<String>,
    /// For every file of the image: the stage, step, instruction and Dockerfile line that put it
    /// there, following COPY --from back to the step that created it
    #[arg(long, conflicts_with = "image")]
    pub provenance: bool,
    /// Explain the last build (the default; builds are recorded in the store)
    #[arg(long)]
    pub last: bool,
    /// A stage of the build instead of its target
    #[arg(long)]
    pub stage: Option<String>,
    /// Show at most N files, largest first (0: all)
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Rows of each list (largest files, deleted files, duplicates…); 0: all
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    #[command(flatten)]
    pub ci: super::explain_ci::CiArgs,
}

pub fn run(global: &Global, args: ExplainArgs) -> Result<ExitCode> {
    if args.provenance {
        return run_provenance(global, args);
    }
    super::explain_report::run(global, args)
}

fn run_provenance(global: &Global, args: ExplainArgs) -> Result<ExitCode> {
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
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&files).into_diagnostic()?;
            s.push('\n');
            s
        }
        Format::Text => render(&files, total),
    };
    print!("{out}");
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
                format!(
                    "{}/{} line {}: {}{renamed}",
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
