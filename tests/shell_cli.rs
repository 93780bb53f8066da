//! `stagecraft shell` on a real build: stages, steps and images, their config, and nothing kept.
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

#[test]
fn shell_runs_in_stages_steps_and_images_with_their_config() {
    let f = Fixture::new();
    f.dockerfile(
        "FROM busybox AS builder\nENV MODE=debug\nWORKDIR /src\nRUN echo one > /src/a\nRUN echo two > /src/b\n\nFROM scratch\nCOPY --from=builder /src/a /a\n",
    );
    let b = f.build(&[]);
    assert!(b.ok(), "{}", b.stderr());
    // The stage's last state, with its env and workdir.
    let out = f.cmd(&[
        "shell",
        "builder",
        "--",
        "sh",
        "-c",
        "pwd; echo $MODE; cat a b",
    ]);
    assert_eq!(stdout(&out), "/src\ndebug\none\ntwo\n");
    // A step: the filesystem after builder/3 has a but not b yet.
    let out = f.cmd(&["shell", "builder/3", "--", "ls", "/src"]);
    assert_eq!(stdout(&out), "a\n");
    // Exit codes come back; what the shell writes is thrown away.
    let out = f.cmd(&[
        "shell",
        "builder",
        "--",
        "sh",
        "-c",
        "echo scribble > /src/a; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let out = f.cmd(&["shell", "builder", "--", "cat", "/src/a"]);
    assert_eq!(stdout(&out), "one\n");
    // A stage without a shell, seen through a tools image.
    let out = f.cmd(&["shell", "1", "--image", "busybox", "--", "cat", "/target/a"]);
    assert_eq!(stdout(&out), "one\n");
    let out = f.cmd(&["shell", "nowhere", "--", "true"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither a stage"));
}
