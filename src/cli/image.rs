//! `stagecraft image …`: import, list, remove, history and export images in the store.

use std::process::ExitCode;

use clap::{ArgAction, Subcommand};
use miette::{IntoDiagnostic, Result, miette};

use super::Global;
use crate::image::layer::{Compression, LayerOptions, LayerStore};
use crate::image::registry::{self, RegistryOptions};
use crate::image::transport::{Destination, Source, docker_archive, oci_archive, oci_dir, rootfs};
use crate::store::reference::Reference;
use crate::store::{ResolvedImage, Store};
use crate::ui::visible::visible_line;

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Import an image: rootfs:DIR, oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE, docker://REF
    Import {
        source: String,
        /// Name to tag the image with (NAME[:TAG])
        #[arg(short = 't', long = "tag")]
        tag: Option<String>,
        /// Layer compression for rootfs: imports (gzip, zstd, none)
        #[arg(long, default_value = "gzip")]
        compression: Compression,
        /// Verify TLS for registries (false: plain HTTP)
        #[arg(long, default_value_t = true, action = ArgAction::Set)]
        tls_verify: bool,
        /// Platform to pick from a multi-arch index (os/arch)
        #[arg(long)]
        platform: Option<String>,
    },
    /// List tagged images
    Ls,
    /// Remove image tags
    Rm {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove blobs and snapshots no tag or cache/build record refers to
    Prune,
    /// Show the history of an image (newest first)
    History {
        name: String,
        /// Do not truncate the CREATED BY column
        #[arg(long)]
        no_trunc: bool,
    },
    /// Export an image: --output type=oci,dest=DIR | type=oci-archive,dest=FILE | type=docker-archive,dest=FILE | type=registry,name=REF
    Export {
        name: String,
        #[arg(short = 'o', long)]
        output: String,
        /// Verify TLS for registries (false: plain HTTP)
        #[arg(long, default_value_t = true, action = ArgAction::Set)]
        tls_verify: bool,
        /// Compression of layers the store holds uncompressed (gzip, zstd, none)
        #[arg(long, default_value = "gzip")]
        compression: Compression,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .into_diagnostic()
}

pub(crate) fn human(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < units.len() {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes}B")
    } else {
        format!("{v:.1}{}", units[i])
    }
}

fn short(d: &oci_spec::image::Digest) -> String {
    d.digest().chars().take(12).collect()
}

fn resolve(store: &Store, name: &str) -> Result<ResolvedImage> {
    store
        .resolve(name)?
        .ok_or_else(|| miette!("no image named {name:?} in the store (see `stagecraft image ls`)"))
}

/// Imports an image from a transport (`oci:`, `oci-archive:`, `docker-archive:`, `rootfs:`,
/// `docker://`) into the store, tagged `tag` if given.
pub(crate) fn import_source(
    store: &Store,
    source: Source,
    tag: Option<&str>,
    compression: Compression,
    tls_verify: bool,
    platform: Option<String>,
) -> Result<ResolvedImage> {
    // A bad name is refused before anything is read or written, not after the import.
    if let Some(t) = tag {
        super::build_flags::check_tag(t)?;
    }
    let image = match source {
        Source::Rootfs { dir } => {
            let opts = LayerOptions {
                compression,
                source_date_epoch: source_date_epoch(),
                ..Default::default()
            };
            rootfs::import(store, &dir, tag, &opts)?
        }
        Source::Oci { dir, tag: t } => {
            oci_dir::import_platform(store, &dir, t.as_deref(), tag, platform.as_deref())?
        }
        Source::OciArchive { file, tag: t } => {
            oci_archive::import_platform(store, &file, t.as_deref(), tag, platform.as_deref())?
        }
        Source::DockerArchive { file } => docker_archive::import(store, &file, tag)?,
        Source::Registry { reference } => {
            let opts = RegistryOptions {
                insecure: !tls_verify,
                platform,
                ..Default::default()
            };
            let image = runtime()?.block_on(registry::pull(store, &reference, &opts))?;
            if let Some(t) = tag {
                store.tag_image(t, &image.descriptor)?;
            }
            image
        }
    };
    Ok(image)
}

pub fn run(global: &Global, cmd: ImageCommand) -> Result<ExitCode> {
    let store = Store::open(&global.store_root())?;
    match cmd {
        ImageCommand::Import {
            source,
            tag,
            compression,
            tls_verify,
            platform,
        } => {
            let source: Source = source.parse().map_err(|e: String| miette!("{e}"))?;
            let image = import_source(
                &store,
                source,
                tag.as_deref(),
                compression,
                tls_verify,
                platform,
            )?;
            // Unpacked now, as `docker load` does: a build on it starts without extracting.
            store.snapshot(&image.layers)?;
            println!("{}", image.digest());
        }
        ImageCommand::Ls => {
            println!(
                "{:<40} {:<12} {:<20} {:>10}",
                "NAME", "DIGEST", "CREATED", "SIZE"
            );
            for (name, desc) in store.tags()? {
                let image = store.load_image(&desc)?;
                let size: u64 = image.layers.iter().map(|l| l.descriptor.size()).sum();
                let shown = Reference::parse(&name)
                    .map(|r| r.familiar())
                    .unwrap_or(name);
                let created = image.config.created().clone().unwrap_or_default();
                println!(
                    "{:<40} {:<12} {:<20} {:>10}",
                    visible_line(&shown),
                    short(image.digest()),
                    visible_line(&created),
                    human(size)
                );
            }
        }
        ImageCommand::Rm { names } => {
            let mut missing = false;
            for name in names {
                let canonical = Reference::parse(&name).into_diagnostic()?.canonical();
                match store.remove_tag(&canonical)? {
                    Some(d) => println!("untagged {} ({})", visible_line(&name), d.digest()),
                    None => {
                        eprintln!("no image named {:?}", visible_line(&name));
                        missing = true;
                    }
                }
            }
            return Ok(if missing {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            });
        }
        ImageCommand::Prune => {
            let r = match store.prune() {
                // As `cache prune`: a running build keeps what it uses until it ends.
                Err(crate::store::StoreError::Busy) => {
                    eprintln!("waiting for other stagecraft processes to close the store…");
                    store.prune_with(true)?
                }
                other => other?,
            };
            println!(
                "removed {} blobs ({}) and {} snapshots",
                r.blobs_removed,
                human(r.bytes_freed),
                r.snapshots_removed
            );
        }
        ImageCommand::History { name, no_trunc } => {
            let image = resolve(&store, &name)?;
            println!(
                "{:<22} {:<60} {:>10} COMMENT",
                "CREATED", "CREATED BY", "SIZE"
            );
            for row in history_rows(&image).into_iter().rev() {
                let mut by = row.created_by;
                if !no_trunc && by.chars().count() > 60 {
                    by = by.chars().take(57).collect::<String>() + "...";
                }
                let size = row.size.map_or_else(|| "0B".to_string(), human);
                println!(
                    "{:<22} {:<60} {:>10} {}",
                    visible_line(&row.created),
                    visible_line(&by),
                    size,
                    visible_line(&row.comment)
                );
            }
        }
        ImageCommand::Export {
            name,
            output,
            tls_verify,
            compression,
        } => {
            let dest = output.parse::<Destination>().map_err(|e| miette!("{e}"))?;
            let image = export_image(&store, &name, None, &dest, !tls_verify, compression)?;
            println!("{}", image.digest());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Exports the image `name` (a tag or digest) to `dest`. The exported image is named `as_name`
/// when given (`-t` of a build), else `name`. Layers the store holds uncompressed (every layer
/// a build made) leave `compression`-compressed, except into a docker-archive, which carries
/// plain tars anyway.
pub fn export_image(
    store: &Store,
    name: &str,
    as_name: Option<&str>,
    dest: &Destination,
    insecure: bool,
    compression: Compression,
) -> Result<ResolvedImage> {
    let image = resolve(store, name)?;
    let image = match dest {
        Destination::DockerArchive { .. } => image,
        _ => store.with_compressed_layers(&image, compression)?,
    };
    let reference = Reference::parse(as_name.unwrap_or(name)).ok();
    let tag = reference
        .as_ref()
        .and_then(|r| r.tag_or_latest().map(str::to_string))
        .unwrap_or_else(|| "latest".into());
    let familiar = reference
        .as_ref()
        .map(|r| r.familiar())
        .unwrap_or_else(|| format!("stagecraft:{tag}"));
    match dest {
        Destination::Oci { dir } => oci_dir::export(store, &image, &tag, dir)?,
        Destination::OciArchive { file } => oci_archive::export(store, &image, &tag, file)?,
        Destination::DockerArchive { file } => {
            docker_archive::export(store, &image, &familiar, file)?
        }
        Destination::Registry { name: dest } => {
            let opts = RegistryOptions {
                insecure,
                ..Default::default()
            };
            runtime()?.block_on(registry::push(store, &image, dest, &opts))?;
        }
    }
    Ok(image)
}

fn source_date_epoch() -> Option<u64> {
    std::env::var("SOURCE_DATE_EPOCH").ok()?.parse().ok()
}

/// One line of `image history`, oldest first.
pub struct HistoryRow {
    pub created: String,
    pub created_by: String,
    /// Compressed size of the layer; `None` for entries without a layer.
    pub size: Option<u64>,
    pub comment: String,
}

/// Pairs history entries with layers (entries marked `empty_layer` have none).
pub fn history_rows(image: &ResolvedImage) -> Vec<HistoryRow> {
    let mut layers = image.layers.iter();
    let history = image.config.history().clone().unwrap_or_default();
    let mut rows: Vec<HistoryRow> = history
        .iter()
        .map(|h| HistoryRow {
            created: h.created().clone().unwrap_or_default(),
            created_by: h.created_by().clone().unwrap_or_default(),
            size: if h.empty_layer().unwrap_or(false) {
                None
            } else {
                layers.next().map(|l| l.descriptor.size())
            },
            comment: h.comment().clone().unwrap_or_default(),
        })
        .collect();
    // Layers without history entries still show up.
    rows.extend(layers.map(|l| HistoryRow {
        created: String::new(),
        created_by: String::new(),
        size: Some(l.descriptor.size()),
        comment: String::new(),
    }));
    rows
}
