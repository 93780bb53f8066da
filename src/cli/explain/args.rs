//! The flags of `explain`, apart so that every part of the command can read them.

use clap::Args;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// dive's `--json` export (layers with their files, efficiency, inefficient files)
    DiveJson,
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
    pub ci: super::ci::CiArgs,
}
