//! The build engine: scheduler, step executors, cache keys, and the event stream it emits.

pub mod event;

pub use event::{Control, Event, Record, StepRef};
