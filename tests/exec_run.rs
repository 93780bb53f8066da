//! `RUN` through real runc and crun on a busybox overlay: output, exit codes, users, env,
//! network, layer diffs, mounts and cancellation.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use stagecraft::exec::{
    self, CancellationToken, Command, ExecError, Exit, ExtraMount, LogLine, Network, RunSpec,
    Runtime, Stream,
};
use stagecraft::snapshot::{Overlay, run_isolated};
use tokio::sync::mpsc;

/// The runtimes on this machine, runc first.
fn runtimes() -> Vec<Runtime> {
    ["runc", "crun"]
        .iter()
        .inspect(|name| common::require(&[name]))
        .map(|name| Runtime::find(Some(Path::new(name))).unwrap())
        .collect()
}

/// What a test gets: a runtime, a mounted overlay over busybox and a scratch dir.
#[derive(Clone)]
struct Case {
    runtime: Runtime,
    rootfs: PathBuf,
    upper: PathBuf,
    tmp: PathBuf,
}

impl Case {
    fn spec(&self, line: &str) -> RunSpec {
        RunSpec::new(
            self.rootfs.clone(),
            Command::sh(line),
            self.runtime.clone(),
            self.tmp.join("bundles"),
        )
    }
}

/// Runs `test` once per runtime, each time in a fresh private mount namespace with a tokio
/// runtime created inside it (so its threads and the runtime processes inherit the namespace).
fn with_each_runtime(
    test: impl Fn(Case) -> Pin<Box<dyn Future<Output = ()>>> + Send + Sync + 'static,
) {
    let runtimes = runtimes();
    assert!(!runtimes.is_empty(), "install runc or crun");
    let test = Arc::new(test);
    for runtime in runtimes {
        let test = test.clone();
        run_isolated(move || {
            let tmp = tempfile::tempdir().unwrap();
            let lower = common::busybox_rootfs(&tmp.path().join("lower"));
            let overlay = Overlay::mount(&[lower], &tmp.path().join("step")).unwrap();
            let case = Case {
                runtime,
                rootfs: overlay.rootfs().into(),
                upper: overlay.upper().into(),
                tmp: tmp.path().into(),
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(test(case));
        })
        .unwrap();
    }
}

async fn run(spec: &RunSpec) -> (Result<Exit, ExecError>, Vec<LogLine>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let result = exec::run(spec, tx, CancellationToken::new()).await;
    let mut lines = Vec::new();
    while let Ok(line) = rx.try_recv() {
        lines.push(line);
    }
    (result, lines)
}

fn stdout(lines: &[LogLine]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.stream == Stream::Stdout)
        .map(|l| l.text.clone())
        .collect()
}

#[test]
fn output_streams_line_by_line_and_exit_codes_propagate() {
    with_each_runtime(|case| {
        Box::pin(async move {
            let spec = case.spec("echo hello; echo oops >&2; echo bye");
            let (exit, lines) = run(&spec).await;
            assert_eq!(exit.unwrap().code, 0, "{:?}: {lines:?}", case.runtime);
            assert_eq!(stdout(&lines), ["hello", "bye"], "{:?}", case.runtime);
            assert!(lines.contains(&LogLine {
                stream: Stream::Stderr,
                text: "oops".into()
            }));

            let failing = RunSpec {
                command: Command::sh("echo last words; exit 3"),
                ..spec.clone()
            };
            let exit = run(&failing).await.0.unwrap();
            assert_eq!(exit.code, 3);
            assert_eq!(exit.tail.last().unwrap().text, "last words");

            let unbroken = RunSpec {
                command: Command::sh("head -c 150000 /dev/zero | tr '\\0' a"),
                ..spec.clone()
            };
            let lengths: Vec<usize> = stdout(&run(&unbroken).await.1)
                .iter()
                .map(String::len)
                .collect();
            assert_eq!(
                lengths,
                [65536, 65536, 150000 - 2 * 65536],
                "long output is cut, not buffered whole"
            );

            let exec_form = RunSpec {
                command: Command::Exec(vec!["/bin/echo".into(), "a  b".into()]),
                ..spec
            };
            assert_eq!(stdout(&run(&exec_form).await.1), ["a  b"]);
        })
    });
}

#[test]
fn user_env_cwd_and_shell_are_applied() {
    with_each_runtime(|case| {
        Box::pin(async move {
            let mut spec = case.spec("id -u; id -g; echo $FOO; pwd; echo $HOME");
            spec.user = "app".into();
            spec.env = vec!["FOO=bar baz".into()];
            spec.cwd = "/tmp".into();
            let (exit, lines) = run(&spec).await;
            assert!(exit.unwrap().success(), "{lines:?}");
            assert_eq!(
                stdout(&lines),
                ["1000", "1000", "bar baz", "/tmp", "/home/app"]
            );

            spec.user = "nobody:app".into();
            spec.command = Command::Shell {
                shell: vec!["/bin/sh".into(), "-ec".into()],
                line: "id -u; id -g; false; echo unreachable".into(),
            };
            let (exit, lines) = run(&spec).await;
            assert_eq!(exit.unwrap().code, 1);
            assert_eq!(stdout(&lines), ["65534", "1000"]);

            spec.user = "ghost".into();
            assert!(matches!(
                run(&spec).await.0,
                Err(ExecError::UnknownUser { .. })
            ));
        })
    });
}

#[test]
fn network_none_has_only_loopback() {
    with_each_runtime(|case| {
        Box::pin(async move {
            let mut spec = case.spec("ls /sys/class/net");
            spec.network = Network::None;
            let (exit, lines) = run(&spec).await;
            assert!(exit.unwrap().success(), "{lines:?}");
            assert_eq!(stdout(&lines), ["lo"]);
            spec.network = Network::Host;
            let host = stdout(&run(&spec).await.1);
            let expected: Vec<String> = fs::read_dir("/sys/class/net")
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(
                host.len(),
                expected.len(),
                "host network shares the host's interfaces"
            );
        })
    });
}

#[test]
fn changes_land_in_the_upper_dir_without_mount_stubs() {
    with_each_runtime(|case| {
        Box::pin(async move {
            let mut spec = case.spec("echo data > /root/new && rm /etc/group && cat /run/secrets/token && echo && ls /ctx && echo cached > /cache/c && touch /scratch/t && ! touch /ctx/nope 2>/dev/null");
            let context = case.tmp.join("context");
            fs::create_dir_all(&context).unwrap();
            fs::write(context.join("in-context"), "").unwrap();
            let cache = case.tmp.join("cache");
            fs::create_dir_all(&cache).unwrap();
            spec.mounts = vec![
                ExtraMount::Secret {
                    contents: b"s3cret".to_vec(),
                    target: "/run/secrets/token".into(),
                    uid: 0,
                    gid: 0,
                    mode: 0o400,
                },
                ExtraMount::Bind {
                    source: context,
                    target: "/ctx".into(),
                    readonly: true,
                },
                ExtraMount::Bind {
                    source: cache.clone(),
                    target: "/cache".into(),
                    readonly: false,
                },
                ExtraMount::Tmpfs {
                    target: "/scratch".into(),
                    size_bytes: Some(1 << 20),
                },
            ];
            let (exit, lines) = run(&spec).await;
            assert!(exit.unwrap().success(), "{lines:?}");
            assert_eq!(stdout(&lines), ["s3cret", "in-context"]);
            assert_eq!(fs::read_to_string(cache.join("c")).unwrap(), "cached\n");

            let upper = &case.upper;
            assert_eq!(
                fs::read_to_string(upper.join("root/new")).unwrap(),
                "data\n"
            );
            let whiteout = fs::symlink_metadata(upper.join("etc/group")).unwrap();
            assert!(whiteout.file_type().is_char_device() && whiteout.rdev() == 0);
            for stub in [
                "run",
                "ctx",
                "cache",
                "scratch",
                "etc/resolv.conf",
                "etc/hosts",
            ] {
                assert!(
                    fs::symlink_metadata(upper.join(stub)).is_err(),
                    "mount stub {stub} left in the layer"
                );
            }
            assert_eq!(
                fs::read_dir(case.tmp.join("bundles")).unwrap().count(),
                0,
                "bundle dirs are removed"
            );
        })
    });
}

/// Processes whose command line is exactly `argv` (to find a container's process on the host).
fn processes_running(argv: &[&str]) -> usize {
    let wanted: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|cmdline| *cmdline == wanted)
        .count()
}

/// Polls until a process with this command line exists (the exec follows the start a little later).
async fn wait_until_running(argv: &[&str]) {
    while processes_running(argv) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[test]
fn cancel_kills_the_container() {
    with_each_runtime(|case| {
        Box::pin(async move {
            let marker = format!("{}", 900_000 + std::process::id() % 99_999);
            let spec = case.spec(&format!("echo started; exec sleep {marker}"));
            let (tx, mut rx) = mpsc::unbounded_channel::<LogLine>();
            let cancel = CancellationToken::new();
            let control = async {
                assert_eq!(rx.recv().await.unwrap().text, "started");
                // `started` comes just before the shell execs sleep: wait for the exec.
                wait_until_running(&["sleep", &marker]).await;
                cancel.cancel();
            };
            let (result, ()) = tokio::join!(exec::run(&spec, tx, cancel.clone()), control);
            assert!(matches!(result, Err(ExecError::Cancelled)), "{result:?}");
            assert_eq!(
                processes_running(&["sleep", &marker]),
                0,
                "{:?} left the process running",
                case.runtime
            );
        })
    });
}

#[test]
fn a_cancel_that_comes_before_the_container_exists_still_kills_it() {
    with_each_runtime(|case| {
        Box::pin(async move {
            let marker = format!("{}", 800_000 + std::process::id() % 99_999);
            let spec = case.spec(&format!("exec sleep {marker}"));
            let cancel = CancellationToken::new();
            cancel.cancel();
            let (tx, _rx) = mpsc::unbounded_channel();
            let result = exec::run(&spec, tx, cancel).await;
            assert!(matches!(result, Err(ExecError::Cancelled)), "{result:?}");
            assert_eq!(
                processes_running(&["sleep", &marker]),
                0,
                "{:?}",
                case.runtime
            );
        })
    });
}

#[test]
fn containers_of_dead_stagecraft_processes_are_removed() {
    with_each_runtime(|case| {
        Box::pin(async move {
            let marker = format!("{}", 700_000 + std::process::id() % 99_999);
            let mut spec = case.spec(&format!("exec sleep {marker}"));
            spec.network = Network::None;
            let bundle = case.tmp.join("orphan");
            fs::create_dir_all(&bundle).unwrap();
            let user = exec::resolve_user(&spec.rootfs, "").unwrap();
            let config = exec::runtime_config(&spec, &user, &bundle, false).unwrap();
            config.save(bundle.join("config.json")).unwrap();
            // The "owner" stays alive until the container runs: a concurrent `exec::run` (other
            // tests) removes containers of dead owners and would race `runc run` itself.
            let mut owner = std::process::Command::new("sleep")
                .arg("100000")
                .spawn()
                .unwrap();
            let id = format!("stagecraft-{}-{marker}-0", owner.id());
            let status = std::process::Command::new(&case.runtime.path)
                .arg("--root")
                .arg(case.runtime.state_root().unwrap())
                .args(["run", "--detach", "--bundle"])
                .arg(&bundle)
                .arg(&id)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                // Detached, the container keeps the runtime's stdio: no pipes to wait on.
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
            wait_until_running(&["sleep", &marker]).await;
            owner.kill().unwrap();
            owner.wait().unwrap();

            // A concurrent `exec::run` (other tests) may get to it first: it cleans up too.
            case.runtime.remove_stale_containers();
            assert!(!case.runtime.state_root().unwrap().join(&id).exists());
            assert_eq!(
                processes_running(&["sleep", &marker]),
                0,
                "{:?}",
                case.runtime
            );
        })
    });
}
