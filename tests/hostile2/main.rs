//! Hostile input, round two (issue 21): each module reproduces one attack on real parts and
//! checks it now ends in a clear error or a safe result.
#![allow(clippy::unwrap_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod clear_errors;
mod copy_meta;
mod escapes;
mod expansion;
mod export;
mod killed;
mod limits;
mod pipe;
mod secret;
mod sparse;
