//! `stagecraft learn [N]`: the lessons under `examples/lessons`. Without N, the list; with N, the
//! lesson in the TUI beside its live build (on a terminal), or a walk through every "try this"
//! step with plain or JSON progress.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use miette::{IntoDiagnostic, Result, miette};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Global;
use super::build::Progress;
use super::session::{Session, Source};
use super::view::Display;
use crate::engine::{self, BuildOutcome, Record};
use crate::lesson::{self, Lesson, Workspace};
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
    let ws = Workspace::new(lesson).into_diagnostic()?;
    let display = Display::Tui(Box::new(TuiOptions {
        theme: args.theme.load()?,
        layers: Some(Arc::new(StoreLayers::new(global.store_root()))),
        store_root: Some(global.store_root()),
        ..TuiOptions::default()
    }));
    let session = Session {
        store,
        source: Source::Lesson(Box::new(ws)),
        watch: false,
        event_log: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    // A failed build is part of some lessons; the UI showed it.
    let _ = rt.block_on(session.run(display));
    Ok(ExitCode::SUCCESS)
}

/// Builds the lesson, then applies each try step and rebuilds, printing progress.
fn walk_through(args: &LearnArgs, lesson: Lesson, store: Arc<Store>) -> Result<ExitCode> {
    let steps = args.steps.unwrap_or(lesson.manifest.steps.len());
    let json = args.progress == Progress::Json;
    eprintln!("{}", lesson.text.trim_end());
    let mut ws = Workspace::new(lesson).into_diagnostic()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    let mut printer: Box<dyn Printer> = if json {
        Box::new(JsonPrinter::new(std::io::stdout()))
    } else {
        Box::new(PlainPrinter::new(std::io::stderr()))
    };
    let mut last_failed = false;
    for round in 0..=steps {
        if round > 0 {
            let Some(step) = ws.apply_next().into_diagnostic()? else {
                break;
            };
            eprintln!("\n── try {round}: {} ──\n{}\n", step.title, step.look);
        }
        let opts = ws.options().map_err(|e| miette!("{e}"))?;
        let outcome = rt.block_on(build_once(store.clone(), opts, printer.as_mut()));
        match outcome {
            Ok(o) => {
                last_failed = false;
                if let Some(image) = &o.record.image {
                    // What explain finds, as the TUI's run table shows it.
                    for line in rt.block_on(super::session::findings(store.clone(), image.clone()))
                    {
                        eprintln!("  {line}");
                    }
                    println!("{image}");
                }
            }
            // A step may break the build on purpose (lesson 2); the walk goes on, and the exit
            // code is the last build's.
            Err(e) => {
                last_failed = true;
                eprintln!("stagecraft: build failed: {e}");
            }
        }
    }
    Ok(if last_failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One build to the end, its events printed as they come.
pub async fn build_once(
    store: Arc<Store>,
    opts: engine::BuildOptions,
    printer: &mut dyn Printer,
) -> Result<BuildOutcome, engine::EngineError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Record>();
    let build = tokio::spawn(engine::build(
        store,
        opts,
        tx,
        None,
        CancellationToken::new(),
    ));
    while let Some(record) = rx.recv().await {
        let _ = printer.print(&record);
    }
    build
        .await
        .unwrap_or_else(|e| Err(engine::EngineError::Other(format!("build task: {e}"))))
}
