//! Running `RUN` steps and shells: one OCI runtime bundle per process, run by runc or crun.
//!
//! The engine fills a [`RunSpec`] (rootfs from [`crate::snapshot::Overlay`], command, env, user,
//! mounts), calls [`run`] and receives the output line by line on a channel; [`run_interactive`]
//! does the same with a terminal for `stagecraft shell`.
//!
//! Everything here must run inside the private mount namespace
//! ([`crate::snapshot::enter_private_mount_namespace`]).

mod bundle;
mod config;
mod error;
mod in_root;
mod interactive;
pub mod leftovers;
mod run;
mod runtime;
mod spec;
mod stream;
mod tether;
mod user;

pub use config::runtime_config;
pub use error::ExecError;
pub use interactive::{TtyIo, run_interactive};
pub use run::{LOG_QUEUE_LINES, run, run_bounded};
pub use runtime::{Runtime, RuntimeKind};
pub use spec::{Command, Exit, ExtraMount, LogLine, Network, RunSpec, Stream};
pub use stream::TAIL_LINES;
pub use tokio_util::sync::CancellationToken;
pub use user::{ResolvedUser, resolve_user};
