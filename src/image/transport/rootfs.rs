//! `rootfs:DIR`: a directory becomes a one-layer image.

use std::path::Path;

use super::TransportError;
use crate::image::config::{History, ImageState};
use crate::image::layer::{LayerOptions, LayerStore};
use crate::store::{ResolvedImage, Store};

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
    let mut state = ImageState::scratch();
    state.history.push(History {
        created: created.clone(),
        created_by: format!("stagecraft image import rootfs:{}", dir.display()),
        empty_layer: false,
        comment: None,
    });
    let config = state
        .to_config(&[layer.diff_id.to_string()], &created)
        .map_err(|e| super::invalid(dir.display(), format!("image config: {e}")))?;
    Ok(store.write_image(&config, &[layer.descriptor], name)?)
}
