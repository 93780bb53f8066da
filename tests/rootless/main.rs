//! Every command as a regular user (issue 16): the binary runs through `runuser` as the users
//! `.ci/run` creates, each with its own store under `~/.local/share/stagecraft`.
#![allow(clippy::unwrap_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod build;
mod commands;
mod fallback;
mod killed;
mod runtime_dir;
mod snapshotter;
