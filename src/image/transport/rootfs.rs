//! `rootfs:DIR`: a directory becomes a one-layer image.

use std::path::Path;

use super::TransportError;
use crate::image::config::{History, ImageState};
use crate::image::layer::{LayerOptions, LayerStore};
use crate::store::{ResolvedImage, Store};

pub fn import(
    store: &Store,
    dir: &Path,
    name: Option<&str>,
    opts: &LayerOptions,
) -> Result<ResolvedImage, TransportError> {
    let layer = store.commit_layer(dir, opts)?;
    let created = crate::store::stamp::created(opts.source_date_epoch);
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
