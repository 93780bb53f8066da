//! `stagecraft build`'s flags (those of `docker build`, and ours) and the build options they make.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use miette::{Result, miette};

use crate::engine::{BuildOptions, SecretSpec, StepRef};
use crate::image::layer::Compression;
use crate::image::transport::Destination;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Builder {
    /// stagecraft's own engine, on this machine's store
    Local,
    /// The BuildKit inside the Docker daemon at DOCKER_HOST (unix, or tcp with DOCKER_TLS_VERIFY)
    Docker,
}

/// `import_now`: a docker build's image comes back into the store as soon as it is built (for
/// the TUI and for `-o`/`--metadata-file`); otherwise on first use.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnFailure {
    /// Open a shell in the state before the failing step
    Shell,
    /// Open a shell in the state the failing RUN left behind (what it wrote before failing)
    ShellLeft,
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
    pub on_failure: Option<OnFailure>,
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
    pub builder: Builder,
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
        opts.build_args = super::build_flags::build_args(&self.build_args);
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
        opts.compression = self.compression.compression();
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

impl CompressionArg {
    pub fn compression(self) -> Compression {
        match self {
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::Zstd => Compression::Zstd,
            CompressionArg::Uncompressed => Compression::None,
        }
    }
}
