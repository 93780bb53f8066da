//! The build engine: scheduler, step executors, cache keys, and the event stream it emits.

pub mod context;
pub mod copy;
pub mod event;
pub mod fsutil;

pub use event::{Control, Event, Record, StepRef};
