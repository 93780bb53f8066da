//! `stagecraft tui --replay FILE [--speed N]`: the build UI over a recorded event log.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use miette::IntoDiagnostic;

use super::Global;
use crate::ui::tui::{self, StoreLayers, Theme, TuiOptions, replay};

#[derive(Debug, clap::Args)]
pub struct TuiArgs {
    /// Event log to replay: JSON lines as written by `--event-log` or `--progress=json`
    #[arg(long, value_name = "FILE")]
    pub replay: PathBuf,
    /// Replay speed: 2 is twice as fast as recorded, 0 shows everything at once
    #[arg(long, default_value_t = 1.0, value_name = "N")]
    pub speed: f64,
    /// The Dockerfile of a BuildKit rawjson log (`buildctl`/`buildx --progress=rawjson`), whose
    /// vertices are mapped onto its stages and steps
    #[arg(short = 'f', long = "file", value_name = "DOCKERFILE")]
    pub file: Option<PathBuf>,
    /// The target the recorded BuildKit build had (default: the last stage)
    #[arg(long)]
    pub target: Option<String>,
    #[command(flatten)]
    pub theme: ThemeArgs,
}

/// The records to replay: an event log as it is, or BuildKit's rawjson mapped onto the plan of
/// the Dockerfile given with `-f`.
fn load_records(args: &TuiArgs) -> miette::Result<Vec<crate::engine::Record>> {
    let text = std::fs::read_to_string(&args.replay)
        .map_err(|e| miette::miette!("{}: {e}", args.replay.display()))?;
    if !crate::buildkit::looks_like_rawjson(&text) {
        return replay::parse_log(&text, &args.replay).into_diagnostic();
    }
    let Some(file) = &args.file else {
        miette::bail!(
            "{} is BuildKit rawjson progress: give its Dockerfile with -f FILE",
            args.replay.display()
        );
    };
    let statuses = crate::buildkit::parse_rawjson(&text).into_diagnostic()?;
    let dir = file.parent().map(PathBuf::from).unwrap_or_default();
    let mut opts = crate::engine::BuildOptions::new(dir);
    opts.dockerfile = file.clone();
    opts.target = args.target.clone();
    let plan = crate::engine::load_plan(&opts)?;
    Ok(crate::buildkit::map_all(plan, "rawjson", &statuses))
}

/// `--theme`, shared by every command that opens the TUI.
#[derive(Debug, Clone, clap::Args)]
pub struct ThemeArgs {
    /// Colour theme: dark, light, high-contrast, colorblind, a theme in
    /// $XDG_CONFIG_HOME/stagecraft/themes/, or a path to a .toml file. NO_COLOR turns colour off.
    #[arg(long, value_name = "NAME|PATH", env = "STAGECRAFT_THEME")]
    pub theme: Option<String>,
}

impl ThemeArgs {
    pub fn load(&self) -> miette::Result<Theme> {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme::load(
            self.theme.as_deref(),
            Theme::user_dir().as_deref(),
            no_color,
        )
        .into_diagnostic()
    }
}

pub fn run(global: &Global, args: TuiArgs) -> miette::Result<ExitCode> {
    if !(args.speed >= 0.0 && args.speed.is_finite()) {
        miette::bail!("--speed must be a number ≥ 0, got {}", args.speed);
    }
    let theme = args.theme.load()?;
    let records = load_records(&args)?;
    if !std::io::stdout().is_terminal() {
        miette::bail!(
            "the TUI needs a terminal on stdout; for a plain listing use the event log itself"
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    runtime.block_on(async move {
        let events = replay::spawn(records, args.speed, Duration::from_secs(3));
        // The layer pane reads the store the recorded build wrote to (`--root`), when it has them.
        let layers = Arc::new(StoreLayers::new(global.store_root()));
        let opts = TuiOptions {
            theme,
            time_scale: args.speed,
            layers: Some(layers),
            store_root: Some(global.store_root()),
            ..TuiOptions::default()
        };
        tui::run(events, None, opts).await.into_diagnostic()
    })?;
    Ok(ExitCode::SUCCESS)
}
