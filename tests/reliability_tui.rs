//! SIGTERM to `stagecraft build` showing the TUI (a real terminal: tmux) while a step never ends:
//! the process exits by itself with the terminal restored, and leaves no process or container.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;
use std::process::Command;
use std::time::Duration;

use common::tmux::Tmux;
use common::{Fixture, bin};

/// Polls `probe` until it yields (as the tmux tests do: the terminal cannot notify us).
fn wait<T>(what: &str, probe: impl Fn() -> Option<T>) -> T {
    for _ in 0..3000 {
        if let Some(v) = probe() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("never saw {what}");
}

/// Pids whose command line contains every one of `parts`.
fn pids_with(parts: &[&str]) -> Vec<i32> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c).replace('\0', " ");
                parts.iter().all(|p| c.contains(p))
            })
        })
        .collect()
}

#[test]
fn sigterm_ends_a_tui_build_and_restores_the_terminal() {
    common::require(&["tmux"]);
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nRUN echo started && exec sleep 31536004\n");
    let root = f.root().display().to_string();
    let script = format!(
        "{} --root {root} build {}; echo \"exit=$?\"; stty -a | tr ' ;' '\\n\\n' | grep -x -e '-*icanon' -e '-*echo'; echo END; exec sleep 600",
        bin().display(),
        f.ctx.path().display()
    );
    let t = Tmux::start(
        &format!("stagecraft-reliability-{}", std::process::id()),
        120,
        40,
        &script,
    );
    wait("the never-ending step", || {
        (!pids_with(&["sleep 31536004"]).is_empty()).then_some(())
    });
    // The stagecraft process itself, not the shell whose script names it.
    let exe = format!("{} ", bin().display());
    let pid = wait("stagecraft", || {
        pids_with(&[&root, "build"]).into_iter().find(|p| {
            fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .starts_with(&exe)
            })
        })
    });
    // SAFETY: a signal to the build this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let screen = wait("stagecraft to exit", || {
        let s = t.screen();
        s.contains("END").then_some(s)
    });
    let lines: Vec<&str> = screen.lines().map(str::trim).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("exit=") && *l != "exit=0"),
        "a cancelled build fails: {screen}"
    );
    assert!(
        lines.contains(&"icanon") && lines.contains(&"echo"),
        "the terminal is back in cooked mode: {screen}"
    );
    assert!(
        pids_with(&["sleep 31536004"]).is_empty(),
        "the step's process is gone"
    );
    let out = Command::new("runc")
        .args(["--root", "/run/stagecraft/runc", "list"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(&root),
        "no container of this build is left"
    );
}
