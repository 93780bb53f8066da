//! OCI image model helpers: digests, layer tars (writer and safe applier), references,
//! import/export transports and the registry client.

pub mod config;
pub mod digest;
pub mod ioerr;
pub mod layer;
pub mod platform;
pub mod reference;
pub mod registry;
pub mod resolve;
pub mod transport;
