//! `build --break` without the TUI: each pause waits for a line on stdin (Enter continues, `n`
//! runs one step, `q` cancels).
#![allow(clippy::unwrap_used, clippy::panic)]

mod engine_support;

use std::process::Output;

use engine_support::Fixture;

fn pauses(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("paused before"))
        .map(str::to_string)
        .collect()
}

#[test]
fn plain_breakpoints_continue_step_and_cancel_from_stdin() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox AS app\nRUN echo one > /one\nRUN echo two > /two\nRUN echo three\n");
    // n: run app/1, pause again before app/2; Enter: continue to the end.
    let out = f.build_with_stdin(&["--break", "app/1", "--no-cache"], "n\n\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = pauses(&out);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].contains("app/1") || p[0].contains("RUN echo one"),
        "{p:?}"
    );
    assert!(
        p[1].contains("app/2") || p[1].contains("RUN echo two"),
        "{p:?}"
    );
    // q cancels at the pause: the build fails and step 1 never ran.
    let out = f.build_with_stdin(&["--break", "app/1", "--no-cache"], "q\n");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("paused before [app 2/4] RUN echo one"),
        "{stderr}"
    );
    assert!(stderr.contains("build cancelled"), "{stderr}");
    assert!(
        !stderr.contains("#2"),
        "no step ran after the pause: {stderr}"
    );
    // End of input: every pause continues.
    let out = f.build_with_stdin(&["--break", "app/1", "--break", "app/3", "--no-cache"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(pauses(&out).len(), 2);
}
