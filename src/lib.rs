//! stagecraft: a daemonless multi-stage container image builder with a live terminal UI.
//!
//! Data flows one way: `frontend` (Dockerfile → `BuildPlan`) → `engine` (runs the plan, emits events)
//! → `store`/`image` (OCI content) → `analyze` (trees, diffs, waste) → `ui` (TUI and progress printers).

pub mod analyze;
pub mod backend;
pub mod buildkit;
pub mod cli;
pub mod engine;
pub mod exec;
pub mod frontend;
pub mod image;
pub mod lesson;
pub mod rootless;
pub mod session;
pub mod snapshot;
pub mod store;
pub mod ui;
