//! `stagecraft plan`: show the stage graph of a Dockerfile without building anything.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::frontend::{self, PlanOptions, render};
use crate::store::Store;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Build context directory
    #[arg(default_value = ".")]
    pub context: PathBuf,
    /// Dockerfile (default: CONTEXT/Dockerfile; `-` reads standard input)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Stage to build (default: the last one)
    #[arg(long)]
    pub target: Option<String>,
    /// Build-time variable (KEY=VALUE, or KEY to take it from the environment)
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Target platform for the predefined TARGET* ARGs (default: this machine)
    #[arg(long)]
    pub platform: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Run the build checks (BuildKit's rules, as `docker build --check`) instead of showing the
    /// graph; exits 1 when `# check=error=true` and anything was found
    #[arg(long)]
    pub check: bool,
}

pub fn run(global: &super::Global, args: PlanArgs) -> miette::Result<ExitCode> {
    let file = args
        .file
        .clone()
        .unwrap_or_else(|| args.context.join("Dockerfile"));
    let source = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| miette::miette!("cannot read stdin: {e}"))?
    } else {
        std::fs::read_to_string(&file)
            .map_err(|e| miette::miette!("cannot read {}: {e}", file.display()))?
    };
    let dockerfile = frontend::parse_dockerfile(&source, &file)?;
    if args.check {
        // Base images' ENV come from the store when it exists; `plan` never creates one.
        let root = global.store_root();
        let store = root.is_dir().then(|| Store::open(&root).ok()).flatten();
        let build_args = super::build_flags::build_args(&args.build_args);
        let report =
            crate::engine::checks::check(&dockerfile, &args.context, &build_args, store.as_ref())
                .map_err(|e| miette::miette!("# check= directive: {e}"))?;
        let out =
            super::plan_check::render(&report, &dockerfile, matches!(args.format, Format::Json))?;
        print!("{}", crate::ui::visible::visible(&out));
        return Ok(if report.failure().is_some() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    let opts = PlanOptions {
        target: args.target,
        build_args: super::build_flags::build_args(&args.build_args),
        platform: args.platform,
    };
    let plan = frontend::plan(&dockerfile, &opts)?;
    let out = match args.format {
        Format::Text => render::text(&plan),
        Format::Json => {
            serde_json::to_string_pretty(&plan).map_err(|e| miette::miette!("{e}"))? + "\n"
        }
        Format::Dot => render::dot(&plan),
    };
    // Paths, instruction text and findings come from images and Dockerfiles.
    print!("{}", crate::ui::visible::visible(&out));
    Ok(ExitCode::SUCCESS)
}
