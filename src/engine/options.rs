//! What a build is asked to do: the flags of `stagecraft build`, as the library takes them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::event::StepRef;
use crate::image::layer::Compression;
use crate::image::remote_cache::CacheSpec;

#[derive(Debug, Clone)]
pub enum SecretSource {
    File(PathBuf),
    Env(String),
}

/// `--secret id=ID,src=PATH` or `--secret id=ID,env=VAR`.
#[derive(Debug, Clone)]
pub struct SecretSpec {
    pub id: String,
    pub source: SecretSource,
}

impl std::str::FromStr for SecretSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut id = None;
        let mut source = None;
        for part in s.split(',') {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            match k {
                "id" => id = Some(v.to_string()),
                "src" | "source" => source = Some(SecretSource::File(PathBuf::from(v))),
                "env" => source = Some(SecretSource::Env(v.to_string())),
                "type" if v == "file" || v == "env" => {}
                _ => {
                    return Err(format!(
                        "unknown secret option {part:?}: use id=ID,src=PATH or id=ID,env=VAR"
                    ));
                }
            }
        }
        let id = id.filter(|i| !i.is_empty()).ok_or("a secret needs id=ID")?;
        // Docker's shorthand: `--secret id=TOKEN` reads the env var or file of that name.
        let source = source.unwrap_or_else(|| SecretSource::Env(id.clone()));
        Ok(Self { id, source })
    }
}

#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub context: PathBuf,
    /// The Dockerfile; default `<context>/Dockerfile`.
    pub dockerfile: PathBuf,
    pub tags: Vec<String>,
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub secrets: Vec<SecretSpec>,
    pub no_cache: bool,
    /// Stages (names or numbers) whose steps never use the cache.
    pub no_cache_filter: Vec<String>,
    /// Steps that may execute at the same time.
    pub jobs: usize,
    /// Default network for RUN: host, or none with `--network=none`.
    pub network_none: bool,
    pub runtime: Option<PathBuf>,
    /// Compression of exported layers; the store keeps what a build commits uncompressed.
    pub compression: Compression,
    pub source_date_epoch: Option<u64>,
    /// Pause before these steps.
    pub breakpoints: Vec<StepRef>,
    /// Talk plain HTTP to registries (always on for loopback).
    pub insecure_registry: bool,
    /// `--label K=V`: labels added to the target image's config.
    pub labels: BTreeMap<String, String>,
    /// `--pull`: resolve every base image from its registry, not the store's tags.
    pub pull: bool,
    /// `--add-host HOST:IP`: lines added to RUN's `/etc/hosts`.
    pub extra_hosts: Vec<(String, String)>,
    /// `--shm-size`: bytes of RUN's `/dev/shm` (default 64 MiB).
    pub shm_size: Option<u64>,
    /// `--dry-run`: key every step against the store and report hit or miss with the reason;
    /// run nothing, pull nothing, write nothing but the stat cache.
    pub dry_run: bool,
    /// `--cache-to`: where the build's cache records and layers are exported when it ends.
    pub cache_to: Vec<CacheSpec>,
    /// `--cache-from`: caches consulted when a key is not in the local store, in order.
    pub cache_from: Vec<CacheSpec>,
    /// Log text not yet shown by the display; RUN output waits while it is full (`None`: no limit).
    pub log_backlog: Option<std::sync::Arc<super::sink::LogBacklog>>,
}

impl BuildOptions {
    pub fn new(context: PathBuf) -> Self {
        Self {
            dockerfile: context.join("Dockerfile"),
            context,
            tags: Vec::new(),
            target: None,
            build_args: BTreeMap::new(),
            secrets: Vec::new(),
            no_cache: false,
            no_cache_filter: Vec::new(),
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            network_none: false,
            runtime: None,
            compression: Compression::default(),
            source_date_epoch: None,
            breakpoints: Vec::new(),
            insecure_registry: false,
            labels: BTreeMap::new(),
            pull: false,
            extra_hosts: Vec::new(),
            shm_size: None,
            dry_run: false,
            cache_to: Vec::new(),
            cache_from: Vec::new(),
            log_backlog: None,
        }
    }

    /// The time an image and its history entries record: `SOURCE_DATE_EPOCH` when given (so a
    /// rebuild, cached or not, and another machine make the same digest), else now.
    pub fn created(&self) -> String {
        crate::store::stamp::created(self.source_date_epoch)
    }
}
