//! `stagecraft inspect IMAGE`: the interactive image explorer (see `ui::inspect`).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use clap::{ArgAction, Args};
use miette::{IntoDiagnostic, Result, miette};

use super::Global;
use super::tui::ThemeArgs;
use crate::engine::lookup::resolve_target;
use crate::image::layer::Compression;
use crate::image::transport::Source;
use crate::store::Store;
use crate::ui::inspect::{self, Image};

/// Prefixes that name a transport rather than an image of the store.
const TRANSPORTS: [&str; 4] = ["oci:", "oci-archive:", "docker-archive:", "docker://"];

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// An image of the store (name or digest), a stage or step of the last build, or
    /// oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE, docker://REF (imported first)
    pub image: String,
    /// Verify TLS for docker:// registries (false: plain HTTP)
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub tls_verify: bool,
    /// Platform to pick from a multi-arch index (os/arch)
    #[arg(long)]
    pub platform: Option<String>,
    #[command(flatten)]
    pub theme: ThemeArgs,
    /// Benchmark hook: run without a terminal until every panel is filled, print timings (ms)
    #[arg(long, hide = true)]
    pub timings: bool,
}

pub fn run(global: &Global, args: InspectArgs) -> Result<ExitCode> {
    let start = Instant::now();
    if !args.timings && !std::io::stdout().is_terminal() {
        return Err(miette!(
            help = format!(
                "for a report without a terminal use `stagecraft explain {}`",
                args.image
            ),
            "inspect is interactive and needs a terminal on stdout"
        ));
    }
    let theme = args.theme.load()?;
    let store = Store::open(&global.store_root())?;
    let image = if TRANSPORTS.iter().any(|t| args.image.starts_with(t)) {
        let source: Source = args.image.parse().map_err(|e: String| miette!("{e}"))?;
        let resolved = super::image::import_source(
            &store,
            source,
            None,
            Compression::Gzip,
            args.tls_verify,
            args.platform.clone(),
        )?;
        let config = serde_json::to_value(&resolved.config).map_err(|e| miette!("{e}"))?;
        Image::new(store, args.image.clone(), resolved.layers, config)
    } else {
        drop(store);
        super::build_backend::import_last_build(global);
        let store = Store::open(&global.store_root())?;
        let r = resolve_target(&store, &args.image)?;
        Image::new(store, r.label, r.layers, r.config)
    };
    if args.timings {
        let t = inspect::run_headless(image, start).into_diagnostic()?;
        println!(
            "first_frame_ms={:.1} first_tree_ms={:.1} full_tree_ms={:.1} indexed_ms={:.1} waste_ms={:.1}",
            t.first_frame.as_secs_f64() * 1e3,
            t.first_tree.as_secs_f64() * 1e3,
            t.full_tree.as_secs_f64() * 1e3,
            t.indexed.as_secs_f64() * 1e3,
            t.waste.as_secs_f64() * 1e3
        );
        return Ok(ExitCode::SUCCESS);
    }
    inspect::run(image, theme).into_diagnostic()?;
    Ok(ExitCode::SUCCESS)
}
