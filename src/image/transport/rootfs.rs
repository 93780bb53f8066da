//! `rootfs:DIR`: a directory becomes a one-layer image.

use std::path::Path;

use oci_spec::image::{
    ConfigBuilder, HistoryBuilder, ImageConfigurationBuilder, Os, RootFsBuilder,
};

use super::TransportError;
use crate::image::platform;
use crate::store::{LayerOptions, ResolvedImage, Store, StoreError};

pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// RFC 3339 time for `created` fields: `SOURCE_DATE_EPOCH` when given, else now.
pub fn created(source_date_epoch: Option<u64>) -> String {
    let t = match source_date_epoch {
        Some(s) => std::time::UNIX_EPOCH + std::time::Duration::from_secs(s),
        None => std::time::SystemTime::now(),
    };
    humantime::format_rfc3339_seconds(t).to_string()
}

pub fn import(
    store: &Store,
    dir: &Path,
    name: Option<&str>,
    opts: &LayerOptions,
) -> Result<ResolvedImage, TransportError> {
    let layer = store.commit_layer(dir, opts)?;
    let created = created(opts.source_date_epoch);
    let history = HistoryBuilder::default()
        .created(created.clone())
        .created_by(format!("stagecraft image import rootfs:{}", dir.display()))
        .build()
        .map_err(StoreError::from)?;
    let config = ImageConfigurationBuilder::default()
        .created(created)
        .architecture(platform::host_arch())
        .os(Os::Linux)
        .config(
            ConfigBuilder::default()
                .env(vec![DEFAULT_PATH.to_string()])
                .build()
                .map_err(StoreError::from)?,
        )
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(vec![layer.diff_id.to_string()])
                .build()
                .map_err(StoreError::from)?,
        )
        .history(vec![history])
        .build()
        .map_err(StoreError::from)?;
    Ok(store.write_image(&config, &[layer.descriptor], name)?)
}
