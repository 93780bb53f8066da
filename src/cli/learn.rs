//! `stagecraft learn [N]`: the lessons under `examples/lessons`. Without N, the list; with N, the
//! lesson in the TUI beside its live build (on a terminal), or a walk through every "try this"
//! step with plain or JSON progress.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use miette::{IntoDiagnostic, Result};

use super::Global;
use super::build::Progress;
use crate::backend::Local;
use crate::engine::{BuildOutcome, EngineError};
use crate::lesson::{self, Lesson, Workspace};
use crate::session::{Session, Source, View};
use crate::store::Store;
use crate::ui::progress::{JsonPrinter, PlainPrinter, Printer};
use crate::ui::tui::{StoreLayers, TuiOptions};

#[derive(Debug, Clone, Args)]
pub struct LearnArgs {
    /// Lesson number; without it, the list of lessons
    pub number: Option<u32>,
    /// Directory of the lessons (default: ./examples/lessons, else the source tree's)
    #[arg(long, value_name = "DIR", env = "STAGECRAFT_LESSONS")]
    pub dir: Option<PathBuf>,
    /// auto (the TUI on a terminal), tty, plain or json (these walk through every try step)
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: Progress,
    /// Without the TUI: how many "try this" steps to apply, one rebuild each (default: all)
    #[arg(long, value_name = "N")]
    pub steps: Option<usize>,
    #[command(flatten)]
    pub theme: super::tui::ThemeArgs,
}

pub fn run(global: &Global, args: LearnArgs) -> Result<ExitCode> {
    let dir = args.dir.clone().unwrap_or_else(lesson::default_dir);
    let Some(number) = args.number else {
        for l in lesson::list(&dir).into_diagnostic()? {
            println!("{:>2}  {:<32} {}", l.number, l.title(), l.manifest.summary);
        }
        println!("\nstagecraft learn N opens lesson N beside its live build");
        return Ok(ExitCode::SUCCESS);
    };
    let lesson = lesson::find(&dir, number).into_diagnostic()?;
    let store = Arc::new(Store::open(&global.store_root())?);
    if lesson::base::ensure(&store).into_diagnostic()? {
        eprintln!(
            "stagecraft: imported {} from /bin/busybox for the lessons",
            lesson::base::BASE_IMAGE
        );
    }
    let tty = match args.progress {
        Progress::Tty => true,
        Progress::Auto => std::io::stdout().is_terminal(),
        Progress::Plain | Progress::Json => false,
    };
    if tty {
        return open_in_tui(global, &args, lesson, store);
    }
    walk_through(&args, lesson, store)
}

/// The lesson pane beside the live build; `a` applies the next try step and rebuilds.
fn open_in_tui(
    global: &Global,
    args: &LearnArgs,
    lesson: Lesson,
    store: Arc<Store>,
) -> Result<ExitCode> {
    let view = View::Tui(Box::new(TuiOptions {
        theme: args.theme.load()?,
        layers: Some(Arc::new(StoreLayers::new(global.store_root()))),
        store_root: Some(global.store_root()),
        ..TuiOptions::default()
    }));
    // A failed build is part of some lessons; the UI showed it.
    let _ = run_session(lesson, store, None, view)?;
    Ok(ExitCode::SUCCESS)
}

/// Builds the lesson, then applies each try step and rebuilds, printing progress; the exit code
/// is the last build's (a step may break the build on purpose, and the walk goes on).
fn walk_through(args: &LearnArgs, lesson: Lesson, store: Arc<Store>) -> Result<ExitCode> {
    let steps = args.steps.unwrap_or(lesson.manifest.steps.len());
    let printer: Box<dyn Printer> = if args.progress == Progress::Json {
        Box::new(JsonPrinter::new(std::io::stdout()))
    } else {
        Box::new(PlainPrinter::new(std::io::stderr()))
    };
    Ok(
        match run_session(lesson, store, Some(steps), View::Printer(printer))? {
            Ok(_) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(1),
        },
    )
}

fn run_session(
    lesson: Lesson,
    store: Arc<Store>,
    walk: Option<usize>,
    view: View,
) -> Result<Result<BuildOutcome, EngineError>> {
    let ws = Workspace::new(lesson).into_diagnostic()?;
    let session = Session {
        backend: Arc::new(Local::new(store.clone())),
        store,
        source: Source::Lesson(Box::new(ws)),
        watch: false,
        walk,
        event_log: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    Ok(rt.block_on(session.run(view)))
}
