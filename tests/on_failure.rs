//! `build --on-failure shell` on a real failing build: a shell in the state before the failing
//! step, with the stage's env, the failing command printed, and the build still failing.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::Fixture;

#[test]
fn failure_shell_opens_in_the_state_before_the_failing_step() {
    let f = Fixture::new();
    f.dockerfile(concat!(
        "FROM busybox AS app\n",
        "ENV GREETING=hello\n",
        "WORKDIR /work\n",
        "RUN echo made > made.txt\n",
        "RUN echo partial > partial.txt && exit 7\n",
    ));
    // Not a terminal: the shell reads these commands from stdin.
    let out = f.build_with_stdin(
        &["--on-failure", "shell"],
        "pwd; cat made.txt; echo $GREETING; ls partial.txt 2>&1 || echo no-partial\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build still fails: {stderr}");
    assert!(
        stdout.contains("/work\nmade\nhello\n"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stdout.contains("no-partial"), "{stdout}");
    assert!(stderr.contains("step app/4 (line 5) failed"), "{stderr}");
    assert!(
        stderr.contains("\n  echo partial > partial.txt && exit 7\n"),
        "{stderr}"
    );
    // The record keeps the failed step for later tools.
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f.root().join("builds/last.json")).unwrap()).unwrap();
    assert_eq!(record["stages"][0]["failed_step"]["index"], 4);
}
