//! `build --watch`: an edit of a context file or the Dockerfile rebuilds, and the new run's miss
//! reason names the file. Progress is read as JSON events; the test waits on events, not time.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Fixture, bin};
use stagecraft::engine::{Event, Record};

struct Watching {
    child: Child,
    events: mpsc::Receiver<Record>,
    /// stagecraft's stderr, shown when a build never comes.
    stderr: tempfile::NamedTempFile,
}

impl Watching {
    fn start(f: &Fixture) -> Self {
        let stderr = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(bin())
            .arg("--root")
            .arg(f.root())
            .args(["build", "--watch", "--progress=json"])
            .arg(f.ctx.path())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().unwrap())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if let Ok(r) = serde_json::from_str::<Record>(&line)
                    && tx.send(r).is_err()
                {
                    break;
                }
            }
        });
        Self {
            child,
            events,
            stderr,
        }
    }

    /// Every event up to and including the next `build_finished`. The bound only turns a hang
    /// into a failure; nothing is timed.
    fn next_build(&self) -> Vec<Event> {
        let mut got = Vec::new();
        loop {
            let r = self
                .events
                .recv_timeout(Duration::from_secs(300))
                .unwrap_or_else(|e| {
                    let err = std::fs::read_to_string(self.stderr.path()).unwrap_or_default();
                    panic!("no build_finished ({e}); saw {got:?}\nstderr:\n{err}")
                });
            let done = matches!(r.event, Event::BuildFinished { .. });
            got.push(r.event);
            if done {
                return got;
            }
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn miss(events: &[Event], step: &str) -> Option<String> {
    events.iter().find_map(|e| match e {
        Event::CacheMiss { step: s, reason } if s.to_string() == step => Some(reason.clone()),
        _ => None,
    })
}

fn cached(events: &[Event], step: &str) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::StepCached { step: s, .. } if s.to_string() == step))
}

#[test]
fn editing_a_context_file_or_the_dockerfile_rebuilds_with_the_reason() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nCOPY app.txt /app.txt\nRUN cat /app.txt\n");
    f.write("app.txt", "version 1\n");
    f.write(".dockerignore", "*.log\n");
    let w = Watching::start(&f);
    let first = w.next_build();
    assert!(matches!(first.first(), Some(Event::BuildStarted { .. })));

    f.write("app.txt", "version 2\n");
    let second = w.next_build();
    assert_eq!(
        miss(&second, "0/1").as_deref(),
        Some("files changed: app.txt")
    );
    assert_eq!(miss(&second, "0/2").as_deref(), Some("parent step rebuilt"));
    match second.last() {
        Some(Event::BuildFinished {
            error: None,
            image: Some(_),
            ..
        }) => {}
        other => panic!("second build failed: {other:?}"),
    }

    f.dockerfile("FROM busybox\nCOPY app.txt /app.txt\nRUN cat /app.txt\nENV MODE=watch\n");
    let third = w.next_build();
    assert!(cached(&third, "0/1") && cached(&third, "0/2"), "{third:?}");
    assert_eq!(
        miss(&third, "0/3").as_deref(),
        Some("no earlier build of this step")
    );
}

#[test]
fn a_change_during_a_build_cancels_it_and_builds_the_new_state() {
    let f = Fixture::new();
    // With v1 the RUN never ends on its own: only the watcher's cancel can end that build.
    f.dockerfile(
        "FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt; grep -q v2 /a.txt || sleep 600\n",
    );
    f.write("a.txt", "v1\n");
    let w = Watching::start(&f);
    loop {
        let r = w.events.recv_timeout(Duration::from_secs(300)).unwrap();
        if matches!(&r.event, Event::StepLog { text, .. } if text == "v1") {
            break;
        }
    }
    f.write("a.txt", "v2\n");
    let first = w.next_build();
    match first.last() {
        Some(Event::BuildFinished {
            error: Some(e),
            image: None,
            ..
        }) => {
            assert!(e.contains("cancel"), "{e}")
        }
        other => panic!("the running build was not cancelled: {other:?}"),
    }
    let second = w.next_build();
    assert_eq!(
        miss(&second, "0/1").as_deref(),
        Some("files changed: a.txt")
    );
    assert!(
        matches!(
            second.last(),
            Some(Event::BuildFinished {
                error: None,
                image: Some(_),
                ..
            })
        ),
        "{second:?}"
    );
}
