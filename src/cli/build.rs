//! `stagecraft build`: flags as in `docker build`, a live view (TUI on a terminal, plain or JSON
//! lines otherwise), and an optional export of the result.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use miette::{IntoDiagnostic, Result, miette};

use super::Global;
use crate::engine::{self, BuildOptions, SecretSpec, StepRef};
use crate::image::layer::Compression;
use crate::image::transport::Destination;
use crate::session::{Session, Source, View};
use crate::store::Store;
use crate::ui::progress::{JsonPrinter, PlainPrinter, Printer};
use crate::ui::tui::{StoreLayers, TuiOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    Auto,
    Tty,
    Plain,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    Gzip,
    Zstd,
    Uncompressed,
}

#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// Build context directory
    #[arg(default_value = ".")]
    pub context: PathBuf,
    /// Dockerfile (default: CONTEXT/Dockerfile)
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Name and optionally a tag (NAME[:TAG]); repeatable
    #[arg(short = 't', long = "tag")]
    pub tags: Vec<String>,
    /// Stage to build (default: the last one)
    #[arg(long)]
    pub target: Option<String>,
    /// Build-time variable KEY=VALUE (KEY alone takes the value from the environment)
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Secret for RUN --mount=type=secret: id=ID,src=PATH or id=ID,env=VAR
    #[arg(long = "secret")]
    pub secrets: Vec<SecretSpec>,
    /// Do not use the cache
    #[arg(long)]
    pub no_cache: bool,
    /// Do not use the cache for these stages
    #[arg(long = "no-cache-filter", value_name = "STAGE")]
    pub no_cache_filter: Vec<String>,
    /// How to show progress: auto (TUI on a terminal, plain otherwise), tty, plain, json
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: Progress,
    /// Export the result: type=oci,dest=DIR | type=oci-archive,dest=FILE |
    /// type=docker-archive,dest=FILE | type=registry,name=REF
    #[arg(short = 'o', long)]
    pub output: Vec<Destination>,
    /// Steps that may run at the same time (default: number of cores)
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Also write the event stream as JSON lines to FILE
    #[arg(long, value_name = "FILE")]
    pub event_log: Option<PathBuf>,
    /// OCI runtime binary (default: runc, or crun, on PATH)
    #[arg(long, value_name = "PATH")]
    pub runtime: Option<PathBuf>,
    /// Network for RUN steps: host (default) or none
    #[arg(long, default_value = "host")]
    pub network: String,
    /// Compression of the layers `-o` exports or pushes (the store keeps them uncompressed)
    #[arg(long, value_enum, default_value = "gzip")]
    pub compression: CompressionArg,
    /// Pause before this step (STAGE/INDEX); repeatable
    #[arg(long = "break", value_name = "STAGE/INDEX")]
    pub breakpoints: Vec<StepRef>,
    /// When a step fails: `shell` opens a shell in the state before it (the failing command
    /// printed); `shell-left` in the state the failing RUN left behind
    #[arg(long, value_enum, value_name = "ACTION")]
    pub on_failure: Option<super::on_failure::OnFailure>,
    /// Rebuild whenever the Dockerfile or a context file it can use changes (Ctrl-C or q stops)
    #[arg(long)]
    pub watch: bool,
    #[command(flatten)]
    pub theme: super::tui::ThemeArgs,
    /// Talk plain HTTP to the registry for FROM pulls and pushes
    #[arg(long = "tls-verify", default_value = "true", action = clap::ArgAction::Set)]
    pub tls_verify: bool,
    /// Set a label on the image (KEY=VALUE); repeatable
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Resolve every base image from its registry again instead of the store's copy
    #[arg(long)]
    pub pull: bool,
    /// Add a line to RUN's /etc/hosts (HOST:IP); repeatable
    #[arg(long = "add-host", value_name = "HOST:IP")]
    pub add_hosts: Vec<String>,
    /// Size of RUN's /dev/shm (bytes, or with a unit: 128m, 1g; default 64m)
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Target platform; only this machine's (e.g. linux/amd64) until cross-building exists
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Key every step against the store and print which would be cached and which would run
    /// (with the reason); runs, pulls and writes nothing (the stat cache aside)
    #[arg(long)]
    pub dry_run: bool,
    /// Export the build cache when the build ends: type=registry,ref=REF[,mode=min|max]
    /// [,compression=gzip|zstd|uncompressed][,ignore-error=true] or type=local,dest=DIR; repeatable
    #[arg(long = "cache-to", value_name = "SPEC", value_parser = crate::image::remote_cache::parse_cache_to)]
    pub cache_to: Vec<crate::image::remote_cache::CacheSpec>,
    /// Use an exported cache for steps the local store has not got: type=registry,ref=REF,
    /// type=local,src=DIR or a bare REF; repeatable, the first holding a step wins
    #[arg(long = "cache-from", value_name = "SPEC", value_parser = crate::image::remote_cache::parse_cache_from)]
    pub cache_from: Vec<crate::image::remote_cache::CacheSpec>,
    #[command(flatten)]
    pub result: super::build_result::ResultFlags,
    /// Where the build runs: local (stagecraft's engine) or docker (the BuildKit inside the
    /// Docker daemon at DOCKER_HOST)
    #[arg(long, value_enum, env = "STAGECRAFT_BUILDER", default_value = "local")]
    pub builder: super::build_backend::Builder,
}

/// Parses `build` flags on their own, for the bare `stagecraft` command.
#[derive(Debug, clap::Parser)]
struct BuildOnly {
    #[command(flatten)]
    args: BuildArgs,
}

impl BuildArgs {
    /// `stagecraft build .` with every default.
    pub fn current_dir() -> Self {
        use clap::Parser;
        BuildOnly::parse_from(["build", "."]).args
    }

    pub fn options(&self) -> Result<BuildOptions> {
        let mut opts = BuildOptions::new(self.context.clone());
        if let Some(f) = &self.file {
            opts.dockerfile = f.clone();
        }
        // Refused before the build, as docker does, not when the image is written at its end.
        for t in &self.tags {
            super::build_flags::check_tag(t)?;
        }
        opts.tags = self.tags.clone();
        opts.target = self.target.clone();
        opts.build_args = parse_build_args(&self.build_args);
        opts.secrets = self.secrets.clone();
        opts.no_cache = self.no_cache;
        opts.no_cache_filter = self.no_cache_filter.clone();
        if let Some(j) = self.jobs {
            opts.jobs = j.max(1);
        }
        opts.runtime = self.runtime.clone();
        opts.network_none = match self.network.as_str() {
            "none" => true,
            "host" | "default" => false,
            other => return Err(miette!("--network={other}: use host or none")),
        };
        opts.compression = opts_compression(self.compression);
        opts.source_date_epoch = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.parse().ok());
        opts.breakpoints = self.breakpoints.clone();
        opts.insecure_registry = !self.tls_verify;
        opts.labels = super::build_flags::labels(&self.labels)?;
        opts.pull = self.pull;
        opts.dry_run = self.dry_run;
        opts.cache_to = self.cache_to.clone();
        opts.cache_from = self.cache_from.clone();
        opts.extra_hosts = super::build_flags::add_hosts(&self.add_hosts)?;
        opts.shm_size = self
            .shm_size
            .as_deref()
            .map(super::build_flags::bytes)
            .transpose()?;
        if let Some(p) = &self.platform {
            super::build_flags::check_platform(p)?;
        }
        Ok(opts)
    }
}

fn opts_compression(arg: CompressionArg) -> Compression {
    match arg {
        CompressionArg::Gzip => Compression::Gzip,
        CompressionArg::Zstd => Compression::Zstd,
        CompressionArg::Uncompressed => Compression::None,
    }
}

/// `KEY=VALUE`, or `KEY` alone to take the value from the environment (skipped when unset), as docker.
pub fn parse_build_args(args: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for a in args {
        match a.split_once('=') {
            Some((k, v)) => {
                out.insert(k.to_string(), v.to_string());
            }
            None => {
                if let Ok(v) = std::env::var(a) {
                    out.insert(a.clone(), v);
                }
            }
        }
    }
    out
}

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
    if args.builder == super::build_backend::Builder::Docker {
        let print = args.progress != Progress::Json;
        let compression = opts_compression(args.compression);
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
        compression: opts_compression(args.compression),
        // JSON progress keeps stdout to JSON lines: the digest is in `build_finished`.
        print_digest: args.progress != Progress::Json,
    }
    .run(&args.result)?;
    Ok(ExitCode::SUCCESS)
}
