//! SIGKILL `stagecraft build` at pseudo-random points (after N events of its JSON stream: during
//! RUN, layer commit, cache writes, tagging) and check after each kill that the store is
//! consistent, no overlay mount is left, and the next build succeeds reusing what completed.
//! `STAGECRAFT_CRASH_KILLS` sets the number of kills (default 12).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{Fixture, bin};
use stagecraft::engine::{Event, Record};

const DOCKERFILE: &str = r#"
FROM busybox AS deps
COPY go.mod /src/
RUN seq 1 50000 > /deps && cat /src/go.mod >> /deps
RUN mkdir -p /many && for i in $(seq 1 300); do echo $i > /many/f$i; done

FROM busybox
COPY --from=deps /deps /deps
COPY --from=deps /many /many
COPY . /src
RUN cat /src/main.go /deps > /out && for i in $(seq 1 200); do echo $i > /o$i; done
RUN sha256sum /out > /out.sum
"#;

struct Killed {
    pid: u32,
    /// Steps that finished (or were cached) before the kill.
    done: BTreeSet<String>,
    events: usize,
}

/// Starts a build and SIGKILLs it right after its `after`-th event (if it gets that far).
fn build_and_kill(f: &Fixture, after: usize) -> Killed {
    let mut child = Command::new(bin())
        .arg("--root")
        .arg(f.root())
        .args(["build", "--progress=json", "-t", "crash:latest"])
        .arg(f.ctx.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut done = BTreeSet::new();
    let mut events = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let Ok(record) = serde_json::from_str::<Record>(&line) else {
            continue;
        };
        events += 1;
        if let Event::StepFinished { step, .. } | Event::StepCached { step, .. } = &record.event {
            done.insert(step.to_string());
        }
        if events == after {
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();
    Killed { pid, done, events }
}

fn assert_consistent(f: &Fixture, context: &str) {
    // The runtime state of a container the kill cut short is removed by the next command and
    // only listed by `store check`: open the store once first, as the next build would.
    let opened = f.cmd(&["image", "ls"]);
    assert!(
        opened.status.success(),
        "{context}: image ls after the kill"
    );
    let out = f.cmd(&["store", "check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(": 0 problems"),
        "{context}: store check: {stdout}"
    );
    // A fresh process's view of the host mount table.
    let mounts = Command::new("cat")
        .arg("/proc/self/mountinfo")
        .output()
        .unwrap();
    let root = f.root().display().to_string();
    let leaked: Vec<String> = String::from_utf8_lossy(&mounts.stdout)
        .lines()
        .filter(|l| l.contains(&root))
        .map(str::to_string)
        .collect();
    assert!(leaked.is_empty(), "{context}: mounts left: {leaked:?}");
}

/// Containers a killed build left in the runtimes' state dirs.
fn containers_of(pids: &[u32]) -> Vec<String> {
    ["/run/stagecraft/runc", "/run/stagecraft/crun"]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|id| {
            pids.iter()
                .any(|p| id.starts_with(&format!("stagecraft-{p}-")))
        })
        .collect()
}

#[test]
fn sigkill_at_random_points_never_corrupts_the_store() {
    let kills: usize = std::env::var("STAGECRAFT_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let f = Fixture::new();
    f.dockerfile(DOCKERFILE);
    f.write("go.mod", "module example\n");
    // A full build gives the number of events to choose kill points from.
    f.write("main.go", "package main // 0\n");
    let full = f.build(&["-t", "crash:latest"]);
    assert!(full.ok(), "{}", full.stderr());
    let total = full.events.len();
    let mut seed: u64 = 0x5eed_cafe;
    let mut pids = Vec::new();
    let mut last = None;
    let mut mid_build = 0;
    for i in 1..=kills {
        // Each round changes the app source (stage 2 reruns); every 4th also go.mod (all rerun).
        f.write("main.go", &format!("package main // {i}\n"));
        if i % 4 == 0 {
            f.write("go.mod", &format!("module example{i}\n"));
        }
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let after = 1 + (seed >> 33) as usize % total;
        let killed = build_and_kill(&f, after);
        assert_consistent(
            &f,
            &format!(
                "kill {i} after event {after} of {total} (saw {})",
                killed.events
            ),
        );
        // Reaching the chosen event means the process was killed before it finished.
        mid_build += usize::from(killed.events == after);
        eprintln!(
            "kill {i}: after event {after} of ~{total}, {} steps done",
            killed.done.len()
        );
        pids.push(killed.pid);
        last = Some(killed);
    }
    eprintln!("{mid_build} of {kills} kills landed mid-build");
    assert!(mid_build * 2 >= kills, "too few kills landed mid-build");
    let last = last.unwrap();
    let next = f.build(&["-t", "crash:latest"]);
    assert!(next.ok(), "build after the kills: {}", next.stderr());
    for step in &last.done {
        assert!(
            next.cached(step),
            "{step} completed before the kill but was not reused: {:?}",
            next.step(step)
        );
    }
    assert_consistent(&f, "after the final build");
    assert!(
        containers_of(&pids).is_empty(),
        "containers of killed builds remain: {:?}",
        containers_of(&pids)
    );
    let (_dir, rootfs) = f.unpack("crash:latest");
    let out = std::fs::read_to_string(rootfs.join("out")).unwrap();
    assert!(
        out.starts_with(&format!("package main // {kills}\n")),
        "{}",
        &out[..40]
    );
}

/// SIGKILL right after a big step ended, while its layer's tar and digest are being made in the
/// background: the store stays consistent (a snapshot without a tar is fine, a partial blob is
/// named by nothing) and the next build reuses the step, making its tar then.
#[test]
fn sigkill_during_a_background_digest_keeps_the_step() {
    let f = Fixture::new();
    let big = "RUN dd if=/dev/urandom of=/big bs=1M count=200 2>/dev/null\n";
    f.dockerfile(&format!("FROM busybox\n{big}RUN sleep 60\n"));
    let mut child = Command::new(bin())
        .arg("--root")
        .arg(f.root())
        .args(["build", "--progress=json", "-t", "digest:kill"])
        .arg(f.ctx.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut finished, mut digested) = (false, false);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let Ok(record) = serde_json::from_str::<Record>(&line.unwrap()) else {
            continue;
        };
        match &record.event {
            Event::LayerDigested { step, .. } if step.to_string() == "0/1" => digested = true,
            Event::StepFinished { step, layer, .. } if step.to_string() == "0/1" => {
                let layer = layer.as_ref().unwrap();
                assert!(layer.size > 200 << 20, "size from the stat walk: {layer:?}");
                assert!(layer.digest.is_empty(), "digest comes later: {layer:?}");
                finished = true;
                child.kill().unwrap();
                break;
            }
            _ => {}
        }
    }
    child.wait().unwrap();
    assert!(finished, "the big step never finished");
    eprintln!(
        "killed with the digest {}",
        if digested { "done" } else { "running" }
    );
    assert_consistent(&f, "killed during a background digest");

    f.dockerfile(&format!("FROM busybox\n{big}RUN echo done\n"));
    let next = f.build(&["-t", "digest:kill"]);
    assert!(next.ok(), "{}", next.stderr());
    assert!(
        next.cached("0/1"),
        "the big step was not reused: {:?}",
        next.step("0/1")
    );
    let made_now = next.events.iter().any(|r| {
        matches!(&r.event, Event::LayerDigested { step, layer }
            if step.to_string() == "0/1" && layer.digest.starts_with("sha256:"))
    });
    assert!(digested || made_now, "nobody made the big layer's digest");
    assert_consistent(&f, "after the next build");
    let (_dir, rootfs) = f.unpack("digest:kill");
    assert_eq!(
        std::fs::metadata(rootfs.join("big")).unwrap().len(),
        200 << 20
    );
}
