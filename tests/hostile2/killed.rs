//! Item 2: `kill -9` of stagecraft during a RUN takes the container with it, and what the killed
//! process left (the runtime's state dir) is reported by `store check` and removed by `--repair`
//! or by the next command. A shell's container (`stagecraft shell`, failure shells) is tethered
//! the same way.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::common::{Fixture, bin};

/// Pids of processes whose command line holds `marker`.
fn with_marker(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if cmdline
            .windows(marker.len())
            .any(|w| w == marker.as_bytes())
        {
            out.push(pid);
        }
    }
    out
}

/// Polls `done` every 100 ms, up to `tries` times.
fn eventually(tries: u32, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..tries {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

fn state_dirs(owner: u32) -> Vec<PathBuf> {
    let prefix = format!("stagecraft-{owner}-");
    ["/run/stagecraft/runc", "/run/stagecraft/crun"]
        .iter()
        .filter_map(|root| std::fs::read_dir(root).ok())
        .flat_map(|d| d.flatten().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
        .collect()
}

#[test]
fn a_killed_build_takes_its_container_with_it() {
    let f = Fixture::new();
    // Made before the kill: every command but `store check` removes leftovers first.
    let other = Fixture::new();
    let marker = format!("spin-{}-{}", std::process::id(), line!());
    f.dockerfile(&format!(
        "FROM busybox\nRUN sh -c 'while true; do :; done; echo {marker}'\n"
    ));
    let mut build = Command::new(bin())
        .arg("--root")
        .arg(f.root())
        .args(["build", "--progress=plain"])
        .arg(f.ctx.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let owner = build.id();
    assert!(
        eventually(600, || !with_marker(&marker).is_empty()),
        "the RUN never started"
    );
    build.kill().unwrap();
    build.wait().unwrap();
    // The kernel tears the runtime's PID namespace down: nothing of the container keeps running.
    assert!(
        eventually(100, || with_marker(&marker).is_empty()),
        "container processes outlived stagecraft: {:?}",
        with_marker(&marker)
    );
    // Another store's check does not count it as its own problem (builds on other stores, as
    // the tests running beside this one, would fail their checks), but says it is there.
    let out = other.cmd(&["store", "check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = format!("of stagecraft process {owner}, which no longer runs");
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("broken") && l.contains(&line)),
        "another store's leftover reported as broken: {text}"
    );
    // Another stagecraft on this machine may clean up first; when the state is still there,
    // `store check` names it and `--repair` removes it.
    if !state_dirs(owner).is_empty() {
        let out = f.cmd(&["store", "check"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{text}");
        assert!(
            text.contains(&format!(
                "of stagecraft process {owner}, which no longer runs"
            )),
            "{text}"
        );
    }
    let out = f.cmd(&["store", "check", "--repair"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        state_dirs(owner).is_empty(),
        "state left: {:?}",
        state_dirs(owner)
    );
    let out = f.cmd(&["store", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let tmp: Vec<_> = std::fs::read_dir(f.root().join("tmp"))
        .unwrap()
        .flatten()
        .collect();
    assert!(tmp.is_empty(), "store tmp/ keeps {tmp:?}");
}

#[test]
fn a_killed_shell_takes_its_container_with_it() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nRUN echo built > /built\n");
    let built = f.build(&[]);
    assert!(built.ok(), "{}", built.stderr());
    let marker = format!("shell-spin-{}-{}", std::process::id(), line!());
    let script = format!("while true; do :; done; echo {marker}");
    let mut shell = Command::new(bin())
        .arg("--root")
        .arg(f.root())
        .args(["shell", "0", "--", "sh", "-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // stagecraft's own command line holds the marker too: only the others count.
    let owner = shell.id();
    let container = || -> Vec<u32> {
        with_marker(&marker)
            .into_iter()
            .filter(|p| *p != owner)
            .collect()
    };
    assert!(
        eventually(600, || !container().is_empty()),
        "the shell never started"
    );
    shell.kill().unwrap();
    shell.wait().unwrap();
    assert!(
        eventually(100, || container().is_empty()),
        "the shell's container outlived stagecraft: {:?}",
        container()
    );
}
