//! `build --builder`: which backend runs the build, and what a result that lives in a Docker
//! daemon (not in our store) can be delivered as.

use std::sync::Arc;

use miette::{Result, miette};

use super::build_args::{BuildArgs, Builder};
use super::build_result::{Delivery, ResultFlags};
use crate::backend::docker::DockerDaemon;
use crate::backend::{Backend, Local};
use crate::image::layer::Compression;
use crate::store::{BuildRecord, Store};

pub fn backend(builder: Builder, store: Arc<Store>, import_now: bool) -> Arc<dyn Backend> {
    match builder {
        Builder::Local => Arc::new(Local::new(store)),
        Builder::Docker => Arc::new(DockerDaemon { store, import_now }),
    }
}

/// Flags whose work happens in our store cannot act on an image that stays in the daemon.
pub fn check(args: &BuildArgs) -> Result<()> {
    if args.builder == Builder::Local {
        return Ok(());
    }
    // --load is what the daemon does anyway; -o and --metadata-file read the imported copy.
    let unsupported = [
        (
            !args.secrets.is_empty(),
            "--secret (bollard's /build session serves registry auth only)",
        ),
        (args.on_failure.is_some(), "--on-failure"),
        (args.watch, "--watch"),
        (args.dry_run, "--dry-run"),
        (
            !args.cache_to.is_empty() || !args.cache_from.is_empty(),
            "--cache-to/--cache-from (docker 20.10's /build API takes no BuildKit cache exporters)",
        ),
    ];
    match unsupported.iter().find(|(used, _)| *used) {
        Some((_, flag)) => Err(miette!("{flag} needs --builder local for now")),
        None => Ok(()),
    }
}

/// The daemon's image id on stdout (and in `--iidfile`), as `docker build` prints it; `-o` and
/// `--metadata-file` from the copy imported into the store (whose config digest is that id).
pub fn deliver(
    store: &Store,
    record: &BuildRecord,
    args: &BuildArgs,
    compression: Compression,
    print: bool,
) -> Result<()> {
    let Some(id) = &record.daemon_image else {
        return Ok(());
    };
    if !args.output.is_empty() || args.result.metadata_file.is_some() {
        if record.image.is_none() {
            return Err(miette!(
                "-o and --metadata-file need the image in the store, and importing it from the daemon failed (see the build's last activity)"
            ));
        }
        let flags = ResultFlags {
            metadata_file: args.result.metadata_file.clone(),
            ..ResultFlags::default()
        };
        Delivery {
            store,
            record,
            tags: &args.tags,
            outputs: &args.output,
            insecure: !args.tls_verify,
            compression,
            print_digest: false,
        }
        .run(&flags)?;
    }
    if let Some(path) = &args.result.iidfile {
        std::fs::write(path, id).map_err(|e| miette!("--iidfile {}: {e}", path.display()))?;
    }
    if print {
        println!("{id}");
    }
    Ok(())
}

/// Before a command reads the last build: a docker build's image comes into the store now if
/// it was left for later. A failure is a warning: the command may not need that image.
pub fn import_last_build(global: &super::Global) {
    if let Err(e) = crate::buildkit::later::complete_last_build(&global.store_root()) {
        eprintln!(
            "stagecraft: warning: {}",
            crate::ui::visible::visible(&e.to_string())
        );
    }
}
