//! Dockerfile front end: parse, normalize, expand, plan.

pub mod plan;

pub use plan::BuildPlan;
