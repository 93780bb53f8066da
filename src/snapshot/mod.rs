//! Overlay snapshotter: a step's rootfs is an overlay of its parent chain plus a fresh upper dir.
//!
//! Every mount is made inside the private mount namespace entered by
//! [`namespace::enter_private_mount_namespace`], so none outlives the process.

mod legacy_mount;
pub mod mount_api;
pub mod mountinfo;
pub mod namespace;
pub mod overlay;

pub use namespace::{NamespaceError, enter_private_mount_namespace, run_isolated};
pub use overlay::{Overlay, OverlayError};
