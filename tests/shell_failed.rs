//! `stagecraft shell STAGE --failed`: the state a failed RUN left behind, kept by the engine under
//! `failed/`, opened over a throwaway upper; `store check` knows it, `cache prune` sweeps it once
//! the last build no longer names it.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::Fixture;

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn failed_entries(f: &Fixture) -> usize {
    std::fs::read_dir(f.root().join("failed"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn failed_shell_opens_what_the_failing_run_left_behind() {
    let f = Fixture::new();
    f.dockerfile(
        "FROM busybox AS app\nWORKDIR /w\nRUN echo made > made\nRUN touch /left-behind && echo partial > part && false\n",
    );
    let b = f.build(&[]);
    assert!(!b.ok(), "the build must fail");
    // The leftovers over the state before the step, with the stage's workdir.
    let out = f.cmd(&[
        "shell",
        "app",
        "--failed",
        "--",
        "sh",
        "-c",
        "ls /left-behind && pwd && cat made part",
    ]);
    assert_eq!(stdout(&out), "/left-behind\n/w\nmade\npartial\n");
    // The step's own address works too; another step's is refused and says which one failed.
    let out = f.cmd(&["shell", "app/3", "--failed", "--", "cat", "/w/part"]);
    assert_eq!(stdout(&out), "partial\n");
    let out = f.cmd(&["shell", "--failed", "--", "cat", "/w/part"]);
    assert_eq!(stdout(&out), "partial\n", "no TARGET: the failed stage");
    let out = f.cmd(&["shell", "app/2", "--failed", "--", "true"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("app/3 did"), "{err}");
    // Writes go to a throwaway upper: the kept state does not change.
    let out = f.cmd(&[
        "shell",
        "app",
        "--failed",
        "--",
        "sh",
        "-c",
        "rm /left-behind; echo x > /w/part",
    ]);
    stdout(&out);
    let out = f.cmd(&["shell", "app", "--failed", "--", "cat", "/w/part"]);
    assert_eq!(stdout(&out), "partial\n");
    // Without --failed: the steps that finished before the failure, not the leftovers.
    let out = f.cmd(&[
        "shell",
        "app/2",
        "--",
        "sh",
        "-c",
        "cat made; ls part || echo no-part",
    ]);
    let text = stdout(&out);
    assert!(
        text.starts_with("made\n") && text.contains("no-part"),
        "{text}"
    );
    let out = f.cmd(&["shell", "app/3", "--", "true"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("opens what it left behind"), "{err}");

    let check = f.cmd(&["store", "check"]);
    let text = stdout(&check);
    assert!(text.contains("0 problems"), "{text}");
    assert_eq!(failed_entries(&f), 1);
    // The last build still names it: prune keeps it.
    stdout(&f.cmd(&["cache", "prune"]));
    assert_eq!(failed_entries(&f), 1);
    // A fixed build is the last one now: its predecessor's leftovers are stale.
    f.dockerfile("FROM busybox AS app\nWORKDIR /w\nRUN echo made > made\n");
    let b = f.build(&[]);
    assert!(b.ok(), "{}", b.stderr());
    let out = f.cmd(&["shell", "app", "--failed", "--", "true"]);
    assert!(!out.status.success());
    stdout(&f.cmd(&["cache", "prune"]));
    assert_eq!(failed_entries(&f), 0);
}

#[test]
fn a_failed_copy_keeps_nothing_and_says_so() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox AS app\nCOPY missing.txt /\n");
    let b = f.build(&[]);
    assert!(!b.ok());
    let out = f.cmd(&["shell", "app", "--failed", "--", "true"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("left no state behind"), "{err}");
}

#[test]
fn on_failure_shell_left_opens_the_leftovers_without_the_tui() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox AS app\nRUN touch /left-behind && exit 4\n");
    // Not a terminal: the shell reads these commands from stdin.
    let out = f.build_with_stdin(
        &["--on-failure", "shell-left"],
        "ls /left-behind && echo found-it\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build still fails: {stderr}");
    assert!(
        stdout.contains("/left-behind\nfound-it\n"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.contains("shell in the state it left behind"),
        "{stderr}"
    );
}

/// A build killed right after its RUN failed (leftovers kept, no record written yet) leaves a
/// consistent store: check finds nothing broken, the orphan is nobody's, prune sweeps it.
#[test]
fn a_build_killed_after_a_failed_run_leaves_an_orphan_prune_sweeps() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let f = Fixture::new();
    // `slow` runs beside `app` and keeps the build alive after app's RUN failed.
    f.dockerfile(concat!(
        "FROM busybox AS app\nRUN touch /left-behind && false\n",
        "FROM busybox AS slow\nRUN sleep 20\n",
        "FROM busybox AS final\nCOPY --from=app /left-behind /a\nCOPY --from=slow /bin/sh /b\n",
    ));
    let mut child = Command::new(common::bin())
        .arg("--root")
        .arg(f.root())
        .args(["build", "--progress=json", "--jobs", "2"])
        .arg(f.ctx.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let events = child.stdout.take().unwrap();
    let mut failed = false;
    for line in std::io::BufReader::new(events).lines() {
        let line = line.unwrap();
        if line.contains("\"step_failed\"") {
            failed = true;
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(failed, "the build never reported the failed step");
    assert_eq!(
        failed_entries(&f),
        1,
        "the failed RUN's leftovers were kept"
    );
    // The killed build's runtime state is removed by the next command that opens the store
    // (store check alone only reports it), so open it once before checking.
    stdout(&f.cmd(&["image", "ls"]));
    let text = stdout(&f.cmd(&["store", "check"]));
    assert!(text.contains("0 problems"), "{text}");
    // No record names them: the shell has nothing to open, prune removes them.
    assert!(
        !f.cmd(&["shell", "app", "--failed", "--", "true"])
            .status
            .success()
    );
    stdout(&f.cmd(&["cache", "prune"]));
    assert_eq!(failed_entries(&f), 0);
    // The next container anyone runs removes the killed build's `sleep`.
    stdout(&f.cmd(&["shell", "busybox", "--", "true"]));
    let prefix = format!("stagecraft-{pid}-");
    let left: Vec<String> = std::fs::read_dir("/run/stagecraft/runc")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    assert!(
        left.is_empty(),
        "containers of the killed build remain: {left:?}"
    );
}
