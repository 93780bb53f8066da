//! `build --on-failure shell`: after a failed step, an interactive shell in the state before it
//! (like `docker buildx debug --on=error`), with the failing command printed to re-run.

use std::process::ExitCode;

use miette::Result;

use crate::engine::shell::last_failure;
use crate::store::Store;

pub use super::build_args::OnFailure;

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
    let Some(mut state) = last_failure(store)? else {
        return Ok(None);
    };
    let (stage, step) = (&state.stage, &state.step);
    if mode == OnFailure::ShellLeft {
        eprintln!(
            "stagecraft: step {stage}/{} (line {}) failed: {}\nstagecraft: shell in the state it left behind",
            step.index, step.line, step.text
        );
        return super::shell::open_left(store, &state, None, runtime, &[]).map(Some);
    }
    if state.has_left() {
        eprintln!("stagecraft: what it left behind: stagecraft shell {stage} --failed");
    }
    eprintln!(
        "stagecraft: step {stage}/{} (line {}) failed: {}\nstagecraft: shell in the state before it; the failing command:\n  {}",
        step.index,
        step.line,
        step.text,
        command_of(&step.text)
    );
    state.below.label = format!("{stage}/{} (before the failing step)", step.index);
    super::shell::open(store, &state.below, None, runtime, &[]).map(Some)
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
