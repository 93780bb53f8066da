//! OCI images above the store: layer tars (writer and safe applier, committing and unpacking
//! them in the store), image configs, import/export transports and the registry client.

pub mod config;
pub mod layer;
pub mod registry;
pub mod remote_cache;
pub mod resolve;
pub mod transport;
