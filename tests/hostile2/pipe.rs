//! Item 6: a reader that has gone (`stagecraft image ls | head -1`) ends the program quietly
//! with status 0, like ripgrep, instead of a panic and status 101.

use std::os::fd::OwnedFd;
use std::process::{Command, Output, Stdio};

use super::common::{Fixture, bin};

/// The write end of a pipe whose read end is already closed: every write fails with EPIPE.
fn closed_pipe() -> OwnedFd {
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    write
}

fn run_into_closed_pipe(f: &Fixture, args: &[&str], stderr_too: bool) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("--root").arg(f.root()).args(args);
    cmd.stdout(Stdio::from(closed_pipe()));
    if stderr_too {
        cmd.stderr(Stdio::from(closed_pipe()));
    }
    cmd.output().unwrap()
}

fn assert_quiet(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{what}: {stderr}");
    assert!(stderr.is_empty(), "{what} wrote to stderr: {stderr}");
}

#[test]
fn a_closed_pipe_ends_builds_and_listings_quietly() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nRUN echo hello > /h\n");
    let ctx = f.ctx.path().display().to_string();
    // The build's progress (stderr) and digest (stdout) both go nowhere: it still finishes and tags.
    let out = run_into_closed_pipe(
        &f,
        &["build", "--progress=plain", "-t", "piped:1", &ctx],
        true,
    );
    assert_eq!(out.status.code(), Some(0), "build into a closed pipe");
    let ls = f.cmd(&["image", "ls"]);
    assert!(
        String::from_utf8_lossy(&ls.stdout).contains("piped"),
        "the build did not tag: {}",
        String::from_utf8_lossy(&ls.stdout)
    );
    let cache = f.cmd(&["cache", "ls"]);
    assert!(!cache.stdout.is_empty(), "cache ls has nothing to print");
    for args in [
        &["image", "ls"][..],
        &["cache", "ls"],
        &["image", "history", "piped:1"],
        // Generated text too (clap_complete panicked on a failed write, man reported EPIPE).
        &["completions", "bash"],
        &["man"],
    ] {
        assert_quiet(&run_into_closed_pipe(&f, args, false), &args.join(" "));
    }
}
