//! `stagecraft build`: flags as in `docker build`, a live view (TUI on a terminal, plain or JSON
//! lines otherwise), and an optional export of the result.

use std::fs::File;
use std::io::{BufWriter, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use miette::{IntoDiagnostic, Result};

use super::Global;
use super::build_args::Builder;
pub use super::build_args::{BuildArgs, Progress};
use crate::engine;
use crate::session::{Session, Source, View};
use crate::store::Store;
use crate::ui::progress::{JsonPrinter, PlainPrinter, Printer};
use crate::ui::tui::{StoreLayers, TuiOptions};

pub fn run(global: &Global, args: BuildArgs) -> Result<ExitCode> {
    super::build_backend::check(&args)?;
    let mut opts = args.options()?;
    let backlog = Arc::new(engine::sink::LogBacklog::new(
        engine::sink::LogBacklog::DEFAULT_LIMIT,
    ));
    opts.log_backlog = Some(backlog.clone());
    let store = Arc::new(Store::open(&global.store_root())?);
    let tty = match args.progress {
        // A dry run's answer is a list of hits and misses: plain or JSON lines, not the TUI.
        _ if args.result.quiet || args.dry_run => false,
        Progress::Tty => true,
        Progress::Auto => std::io::stdout().is_terminal(),
        Progress::Plain | Progress::Json => false,
    };
    let import_now = tty || !args.output.is_empty() || args.result.metadata_file.is_some();
    let view = if tty {
        View::Tui(Box::new(TuiOptions {
            theme: args.theme.load()?,
            // `t` in the TUI reads the selected step's layers from this build's store.
            layers: Some(Arc::new(StoreLayers::new(global.store_root()))),
            store_root: Some(global.store_root()),
            ..TuiOptions::default()
        }))
    } else {
        let printer: Box<dyn Printer> = match args.progress {
            // -q: nothing but the digest (and errors, which are not events) is printed.
            _ if args.result.quiet => Box::new(PlainPrinter::new(std::io::sink())),
            Progress::Json => Box::new(JsonPrinter::new(std::io::stdout())),
            _ => Box::new(PlainPrinter::new(std::io::stderr())),
        };
        View::Printer(printer)
    };
    let event_log = match &args.event_log {
        Some(path) => Some(JsonPrinter::new(BufWriter::new(
            File::create(path).into_diagnostic()?,
        ))),
        None => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
    // The TUI stays open across builds, so `w` can start watching; printers end after one build
    // unless --watch.
    let session = Session {
        backend: super::build_backend::backend(args.builder, store.clone(), import_now),
        store: store.clone(),
        source: Source::Options(Box::new(opts)),
        watch: args.watch,
        walk: None,
        event_log,
    };
    let outcome = rt.block_on(session.run(view)).map(|o| (o, store));
    if let (Err(_), Some(mode)) = (&outcome, args.on_failure) {
        let store = Store::open(&global.store_root())?;
        super::on_failure::open_failure_shell(&store, mode, args.runtime.as_deref())?;
    }
    let (outcome, store) = outcome?;
    if args.builder == Builder::Docker {
        let print = args.progress != Progress::Json;
        let compression = args.compression.compression();
        super::build_backend::deliver(&store, &outcome.record, &args, compression, print)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        let t = &outcome.totals;
        eprintln!(
            "dry run: {} steps: {} would be cached, {} would run (nothing was run or written)",
            t.steps, t.cached, t.executed
        );
        return Ok(ExitCode::SUCCESS);
    }
    super::build_result::Delivery {
        store: &store,
        record: &outcome.record,
        tags: &args.tags,
        outputs: &args.output,
        insecure: !args.tls_verify,
        compression: args.compression.compression(),
        // JSON progress keeps stdout to JSON lines: the digest is in `build_finished`.
        print_digest: args.progress != Progress::Json,
    }
    .run(&args.result)?;
    Ok(ExitCode::SUCCESS)
}
