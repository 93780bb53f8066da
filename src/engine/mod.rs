//! The build engine: scheduler, step executors, cache keys, and the event stream it emits.
//! It never prints: every consumer reads the same [`Record`] stream.

pub mod build;
pub mod cache;
pub mod checks;
pub mod context;
pub mod control;
pub mod copy;
mod ctx;
mod cursor;
pub mod digest;
pub mod error;
pub mod event;
mod finish;
pub mod fsutil;
pub mod lookup;
pub mod options;
mod remote;
pub mod secret;
pub mod shell;
pub mod sink;
mod solve;
mod stage;
mod step;

pub use build::{build, load_plan};
pub use error::EngineError;
pub use event::{Control, Event, Record, StepRef};
pub use finish::BuildOutcome;
pub use options::{BuildOptions, SecretSpec};
