//! Resource faults: a store on a small tmpfs that fills up mid-build, a RUN that prints 1 GiB of
//! output (our memory stays bounded), and a RUN that never ends (SIGINT/SIGTERM end the build
//! promptly, leaving no container, process or mount).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Fixture, bin, busybox_rootfs};

/// Peak resident memory allowed to `stagecraft build` (and its runtime child) while a RUN prints
/// 1 GiB. Measured peaks are ~30 MB; this leaves headroom for allocator noise but fails on any
/// buffer that grows with the output (1 GiB of lines would be well over 1 GB resident).
const RSS_BOUND_KIB: i64 = 128 * 1024;

/// A tmpfs mounted for one test, unmounted (lazily, whatever is left open) when dropped.
struct Tmpfs(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs");
        Self(dir.path().to_path_buf(), dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mounts_under(path: &Path) -> Vec<String> {
    let text = String::from_utf8(
        Command::new("cat")
            .arg("/proc/self/mountinfo")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let p = path.display().to_string();
    text.lines()
        .filter(|l| l.split(' ').nth(4).is_some_and(|m| m.starts_with(&p)))
        .map(str::to_string)
        .collect()
}

fn stagecraft(root: &Path) -> Command {
    let mut c = Command::new(bin());
    c.arg("--root").arg(root);
    c
}

fn store_check(root: &Path) {
    let out = stagecraft(root).args(["store", "check"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(": 0 problems"),
        "store check: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runtime containers whose bundle lives under `root` (our runc state dir is shared with others).
fn containers_under(root: &Path) -> Vec<String> {
    let out = Command::new("runc")
        .args(["--root", "/run/stagecraft/runc", "list", "-q"])
        .output()
        .unwrap();
    let ids = String::from_utf8_lossy(&out.stdout).into_owned();
    ids.lines()
        .filter(|id| {
            let state = Command::new("runc")
                .args(["--root", "/run/stagecraft/runc", "state", id])
                .output()
                .unwrap();
            String::from_utf8_lossy(&state.stdout).contains(&root.display().to_string())
        })
        .map(str::to_string)
        .collect()
}

/// Processes whose command line is exactly `argv` (busybox applets show their own argv).
fn processes(argv: &[&str]) -> Vec<u32> {
    let want: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == want))
        .collect()
}

#[test]
fn a_full_store_fails_the_step_clearly_and_stays_consistent() {
    let tmpfs = Tmpfs::mount("64m");
    let root = tmpfs.0.join("store");
    let rootfs = tempfile::tempdir().unwrap();
    busybox_rootfs(rootfs.path());
    let out = stagecraft(&root)
        .args(["image", "import"])
        .arg(format!("rootfs:{}", rootfs.path().display()))
        .args(["-t", "busybox:latest"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ctx = tempfile::tempdir().unwrap();
    // The RUN itself fits (40 MiB in its upper dir); committing it as a layer blob does not.
    fs::write(
        ctx.path().join("Dockerfile"),
        "FROM busybox\nRUN echo small > /small\nRUN head -c 41943040 /dev/urandom > /big\n",
    )
    .unwrap();
    let out = stagecraft(&root)
        .args(["build", "--progress=plain", "-t", "full:1"])
        .arg(ctx.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(!out.status.success(), "the build cannot succeed: {stderr}");
    let flat = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("No space left on device") || flat.contains("no space left"),
        "{stderr}"
    );
    assert!(flat.contains("0/2"), "the error names the step: {stderr}");
    assert!(
        flat.contains("RUN head -c 41943040"),
        "the error names the instruction: {stderr}"
    );
    assert!(mounts_under(&root).is_empty(), "{:?}", mounts_under(&root));
    store_check(&root);
    // The store keeps working: a build that fits succeeds and reuses the step that completed.
    fs::write(
        ctx.path().join("Dockerfile"),
        "FROM busybox\nRUN echo small > /small\nRUN head -c 1024 /dev/urandom > /big\n",
    )
    .unwrap();
    let out = stagecraft(&root)
        .args(["build", "--progress=json"])
        .arg(ctx.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = String::from_utf8_lossy(&out.stdout);
    assert!(
        events.contains(r#""type":"step_cached","step":"0/1""#)
            || events.contains(r#""step":"0/1","type":"step_cached""#),
        "step 0/1 reused"
    );
    store_check(&root);
    drop(tmpfs);
}

/// Runs a build printing 1 GiB from one RUN, draining and counting its output as it comes; returns
/// (bytes of progress output, peak RSS in KiB of stagecraft or any child it waited for).
// Waited for with wait4 (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn build_printing_a_gib(progress: &str) -> (u64, i64) {
    let f = Fixture::new();
    // 16,384 lines of 64 KiB: a GiB of output in few events.
    f.dockerfile(
        "FROM busybox\nRUN yes \"$(head -c 65535 /dev/zero | tr '\\0' y)\" | head -c 1073741824 && echo done\n",
    );
    let mut child = Command::new(bin())
        .arg("--root")
        .arg(f.root())
        .args(["build", &format!("--progress={progress}")])
        .arg(f.ctx.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // A consumer much slower than the producer (a read call per 16 KiB against the runtime's
    // 64 KiB writes): whatever stagecraft does not hold back, it would have to buffer.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            let mut n = 0u64;
            let mut tail = Vec::new();
            loop {
                let len = r.read(&mut buf).unwrap();
                if len == 0 {
                    break;
                }
                tail = buf[..len].to_vec();
                n += len as u64;
            }
            (n, tail)
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let mut status = 0;
    // SAFETY: plain wait4 on our own child; `rusage` is written by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid as i32, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid as i32);
    let (out_bytes, _) = out.join().unwrap();
    let (err_bytes, err_tail) = err.join().unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "build failed: {}",
        String::from_utf8_lossy(&err_tail)
    );
    (out_bytes + err_bytes, usage.ru_maxrss)
}

#[test]
fn a_gib_of_output_keeps_memory_bounded_plain() {
    let (bytes, rss) = build_printing_a_gib("plain");
    eprintln!("plain: {bytes} bytes of progress, peak RSS {rss} KiB");
    assert!(bytes > 1 << 30, "the output was shown: {bytes}");
    assert!(
        rss < RSS_BOUND_KIB,
        "peak RSS {rss} KiB over {RSS_BOUND_KIB} KiB"
    );
}

#[test]
fn a_gib_of_output_keeps_memory_bounded_json() {
    let (bytes, rss) = build_printing_a_gib("json");
    eprintln!("json: {bytes} bytes of progress, peak RSS {rss} KiB");
    assert!(bytes > 1 << 30, "the output was shown: {bytes}");
    assert!(
        rss < RSS_BOUND_KIB,
        "peak RSS {rss} KiB over {RSS_BOUND_KIB} KiB"
    );
}

fn cancel_with(signal: i32, n: u32) {
    // A sleep length unique to this test process, so leftovers of another run never match.
    let tag = &format!("9{:07}{n}", std::process::id());
    let f = Fixture::new();
    f.dockerfile(&format!(
        "FROM busybox\nRUN echo started && exec sleep {tag}\n"
    ));
    let mut child = Command::new(bin())
        .arg("--root")
        .arg(f.root())
        .args(["build", "--progress=json"])
        .arg(f.ctx.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("\"text\":\"started\"") {
            break;
        }
    }
    // "started" can arrive before the shell has exec'd into sleep: poll (bounded) for it.
    let running = (0..3000).any(|_| {
        let found = processes(&["sleep", tag]).len() == 1;
        if !found {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        found
    });
    assert!(running, "the step runs");
    let start = std::time::Instant::now();
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0);
    for _ in lines {}
    let out = child.wait_with_output().unwrap();
    eprintln!("signal {signal}: exited after {:?}", start.elapsed());
    assert!(!out.status.success(), "a cancelled build fails");
    assert!(
        processes(&["sleep", tag]).is_empty(),
        "the step's process is gone"
    );
    assert!(containers_under(f.root()).is_empty(), "no container left");
    assert!(mounts_under(f.root()).is_empty(), "no mount left");
    store_check(f.root());
}

#[test]
fn sigint_cancels_a_step_that_never_ends() {
    cancel_with(libc::SIGINT, 1);
}

#[test]
fn sigterm_cancels_a_step_that_never_ends() {
    cancel_with(libc::SIGTERM, 2);
}
