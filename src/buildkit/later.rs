//! A `--builder docker` build whose image was not imported when it ran: a printed build brings
//! it back only when `-o` or `--metadata-file` need it, so it costs what `docker build` costs
//! (fetching a 30 MB image from the daemon took as long again as a cold build). `explain`,
//! `inspect`, `diff` and `shell` bring it in on first use, and the build record gets its stages.

use std::path::Path;
use std::sync::Arc;

use super::daemon::{self, DaemonError};
use super::import::{ImportError, import_image};
use super::result::map_image;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LaterError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Daemon(#[from] DaemonError),
    #[error("bringing the last build's image from the daemon: {0}")]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("starting the runtime for the import: {0}")]
    Runtime(std::io::Error),
}

/// Imports the last build's image if it was built on the daemon and is not in the store yet.
pub fn complete_last_build(root: &Path) -> Result<(), LaterError> {
    let store = Arc::new(Store::open(root)?);
    let Some(mut record) = store.last_build()? else {
        return Ok(());
    };
    let (Some(id), None) = (record.daemon_image.clone(), &record.image) else {
        return Ok(());
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LaterError::Runtime)?;
    rt.block_on(async {
        let docker = daemon::connect().await?;
        let imported = import_image(&docker, store.clone(), &id, None).await?;
        let mapped = map_image(&record.plan, &imported);
        record.image = Some(imported.image.digest().to_string());
        record.stages = mapped.stages;
        store.put_build(&record)?;
        Ok(())
    })
}
