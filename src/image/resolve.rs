//! `FROM name` resolution: the store's tags first, then the registry (`docker.io` by default,
//! `library/` for single names).

use super::registry::{self, RegistryError, RegistryOptions};
use crate::store::{ResolvedImage, Store};

/// Where a base image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Store,
    Registry,
}

/// Finds `name` (tag, `name@sha256:…` or bare manifest digest) in the store, else pulls it.
pub async fn resolve_base(
    store: &Store,
    name: &str,
    opts: &RegistryOptions,
) -> Result<(ResolvedImage, Origin), RegistryError> {
    if let Some(image) = store.resolve(name)? {
        return Ok((image, Origin::Store));
    }
    let image = registry::pull(store, name, opts).await?;
    Ok((image, Origin::Registry))
}
