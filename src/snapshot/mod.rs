//! Overlay snapshotter: a step's rootfs is an overlay of its parent chain plus a fresh upper dir
//! (or, where the kernel refuses the mount, a copy of the chain diffed afterwards: `copy`).
//!
//! Every mount is made inside the private mount namespace entered by
//! [`namespace::enter_private_mount_namespace`], so none outlives the process.

pub mod backend;
mod copy;
mod error;
mod legacy_mount;
mod mount;
pub mod mount_api;
pub mod mountinfo;
pub mod namespace;
mod options;
pub mod overlay;
pub mod start;

pub use error::OverlayError;
pub use namespace::{NamespaceError, enter_private_mount_namespace, run_isolated};
pub use options::MAX_LOWER_DIRS;
pub use overlay::Overlay;
