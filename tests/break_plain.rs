//! `build --break` without the TUI: each pause waits for a line on stdin (Enter continues, `n`
//! runs one step, `q` cancels).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::process::Output;

use common::Fixture;

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

/// stagecraft's stderr, a line at a time, as it comes.
struct Lines(std::sync::mpsc::Receiver<String>);

impl Lines {
    fn new(stderr: std::process::ChildStderr) -> Self {
        use std::io::BufRead;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self(rx)
    }

    /// Lines up to and including the first that contains `what`. The bound only turns a hang
    /// into a failure; nothing is timed.
    fn until(&self, what: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match self.0.recv_timeout(std::time::Duration::from_secs(300)) {
                Ok(line) => {
                    let done = line.contains(what);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(e) => panic!("no line with {what:?} ({e}); saw:\n{}", seen.join("\n")),
            }
        }
    }
}

#[test]
fn watch_with_plain_progress_continues_each_pause_from_stdin() {
    use std::io::Write;
    let f = Fixture::new();
    f.dockerfile("FROM busybox AS app\nRUN echo one > /one\nRUN echo two\n");
    let mut child = std::process::Command::new(common::bin())
        .arg("--root")
        .arg(f.root())
        .args(["build", "--watch", "--progress=plain", "--break", "app/1"])
        .arg(f.ctx.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let lines = Lines::new(child.stderr.take().unwrap());
    lines.until("paused before [app 2/3] RUN echo one");
    stdin.write_all(b"\n").unwrap();
    let first = lines.until("watching for changes");
    assert!(
        first.iter().any(|l| l.contains("RUN echo two")),
        "the build went on past the pause: {first:?}"
    );
    assert!(!first.iter().any(|l| l.contains("cancelled")), "{first:?}");
    // The rebuild pauses again, and stdin still answers: `n` runs one step, Enter the rest.
    f.dockerfile("FROM busybox AS app\nRUN echo one > /one\nRUN echo three\n");
    lines.until("paused before [app 2/3] RUN echo one");
    stdin.write_all(b"n\n").unwrap();
    lines.until("paused before [app 3/3] RUN echo three");
    stdin.write_all(b"\n").unwrap();
    let second = lines.until("watching for changes");
    assert!(
        second.iter().any(|l| l.contains("three")),
        "the rebuild ran to the end: {second:?}"
    );
    sigterm(child.id());
    let status = child.wait().unwrap();
    assert!(
        status.code().is_some(),
        "ended by the session, not the signal: {status:?}"
    );
}

fn sigterm(pid: u32) {
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}
