//! `build --on-failure shell`: after a failed step, an interactive shell in the state before it
//! (like `docker buildx debug --on=error`), with the failing command printed to re-run.

use std::process::ExitCode;

use miette::{Result, miette};

use crate::engine::build::{BuildRecord, StageRecord};
use crate::engine::load_record;
use crate::engine::lookup::{Resolved, layer_ref};
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnFailure {
    /// Open a shell in the state before the failing step
    Shell,
    /// Open a shell in the state the failing RUN left behind (what it wrote before failing)
    ShellLeft,
}

/// The failed stage of a record: the target's if it failed, else the first one.
fn failed_stage(record: &BuildRecord) -> Option<&StageRecord> {
    let failed = || record.stages.iter().filter(|s| s.failed_step.is_some());
    failed()
        .find(|s| s.label == record.target)
        .or_else(|| failed().next())
}

/// The failing command as one would type it again: the instruction without `RUN` and its flags.
fn command_of(text: &str) -> String {
    let rest = text.trim_start();
    let rest = rest
        .strip_prefix("RUN")
        .or_else(|| rest.strip_prefix("run"))
        .unwrap_or(rest);
    let mut words = rest.trim_start();
    while words.starts_with("--") {
        words = words
            .split_once(char::is_whitespace)
            .map_or("", |(_, r)| r)
            .trim_start();
    }
    words.to_string()
}

/// Opens the failure shell for the last build; the shell's exit code is not the build's.
pub fn open_failure_shell(
    store: &Store,
    mode: OnFailure,
    runtime: Option<&std::path::Path>,
) -> Result<Option<ExitCode>> {
    let Some(record) = load_record(store, "last")? else {
        return Ok(None);
    };
    let Some(stage) = failed_stage(&record) else {
        return Ok(None);
    };
    let Some(step) = &stage.failed_step else {
        return Ok(None);
    };
    if mode == OnFailure::ShellLeft {
        let state = crate::engine::shell::failed_state(store, Some(&stage.label))?;
        eprintln!(
            "stagecraft: step {}/{} (line {}) failed: {}\nstagecraft: shell in the state it left behind",
            stage.label, step.index, step.line, step.text
        );
        return super::shell::open_left(store, &state, None, runtime, &[]).map(Some);
    }
    let target = Resolved {
        label: format!("{}/{} (before the failing step)", stage.label, step.index),
        layers: step
            .layers
            .iter()
            .map(layer_ref)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| miette!("{e}"))?,
        config: step.config(store).map_err(|e| miette!("{e}"))?,
    };
    if crate::engine::shell::failed_dir(store, &record, &stage.label).is_some() {
        eprintln!(
            "stagecraft: what it left behind: stagecraft shell {} --failed",
            stage.label
        );
    }
    eprintln!(
        "stagecraft: step {}/{} (line {}) failed: {}\nstagecraft: shell in the state before it; the failing command:\n  {}",
        stage.label,
        step.index,
        step.line,
        step.text,
        command_of(&step.text)
    );
    super::shell::open(store, &target, None, runtime, &[]).map(Some)
}

#[cfg(test)]
mod tests {
    use super::command_of;

    #[test]
    fn failing_command_drops_run_and_its_flags() {
        assert_eq!(command_of("RUN make -j2"), "make -j2");
        assert_eq!(
            command_of("RUN --mount=type=cache,target=/c --network=none go build"),
            "go build"
        );
        assert_eq!(command_of("COPY a b"), "COPY a b");
    }
}
