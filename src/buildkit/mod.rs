//! The `--builder docker` backend: the build runs on the BuildKit inside a Docker daemon, and its
//! progress becomes the same [`crate::engine::Event`] stream our engine emits, so every view, the
//! event log and replays work unchanged.
//!
//! Layering: uses `frontend` (the plan the vertices map onto), `engine` (events, build context),
//! `image` (references); nothing above it knows which backend ran.

pub mod context;
pub mod daemon;
pub mod failure;
pub mod import;
pub mod later;
pub mod mapping;
pub mod names;
pub mod reasons;
pub mod replay;
pub mod result;
pub mod status;
pub mod trace;

pub use mapping::Mapper;
pub use replay::map_all;
pub use status::{SolveStatus, looks_like_rawjson, parse_rawjson};
