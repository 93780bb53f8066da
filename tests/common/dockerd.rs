//! A private dockerd (Debian's docker.io 20.10, which embeds BuildKit 0.8) for tests of the
//! `--builder docker` backend: a unix socket in a temp dir, no bridge, no iptables, its own data
//! and exec roots, and `busybox:latest` loaded from a docker-archive made by our own
//! `image export`. One daemon per test binary: it takes seconds to start.
//!
//! The daemon runs under a small watcher shell whose stdin is a pipe held by this process. When
//! the test binary exits (however it exits) the pipe closes, and the watcher stops dockerd (which
//! stops its containerd) and removes the temp dir, so nothing outlives the tests.
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

/// The Debian 20.10 CLI. `/usr/local/bin/docker` (28.x) may come first on PATH and refuses
/// BuildKit without buildx.
pub const DOCKER: &str = "/usr/bin/docker";
pub const DOCKERD: &str = "/usr/sbin/dockerd";

pub struct Dockerd {
    /// `unix://…/docker.sock`, for `DOCKER_HOST`.
    pub host: String,
    pub dir: PathBuf,
    /// Closing it (at process exit) stops the daemon.
    _lifeline: Mutex<ChildStdin>,
    /// The watcher shell; the kernel reaps it once this process is gone.
    _watcher: Mutex<Child>,
}

static DOCKERD_ONCE: OnceLock<Dockerd> = OnceLock::new();

/// The test binary's dockerd, started on first use, with `busybox:latest` loaded.
pub fn dockerd() -> &'static Dockerd {
    DOCKERD_ONCE.get_or_init(|| {
        let d = Dockerd::start();
        d.load_busybox();
        d
    })
}

impl Dockerd {
    fn start() -> Self {
        super::require(&["dockerd"]);
        assert!(
            Path::new(DOCKER).exists(),
            "{DOCKER} (the 20.10 CLI) missing: apt-get install docker.io"
        );
        // Short path: the socket path must fit in sun_path (108 bytes).
        let dir = tempfile::Builder::new()
            .prefix("sc-dockerd.")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        fs::write(dir.join("daemon.json"), DAEMON_JSON).unwrap();
        let d = dir.display();
        let script = format!(
            "{DOCKERD} --config-file {d}/daemon.json --data-root {d}/data --exec-root {d}/exec \
             --pidfile {d}/dockerd.self.pid -H unix://{d}/docker.sock </dev/null >{d}/dockerd.log 2>&1 &
             pid=$!; echo $pid > {d}/dockerd.pid
             read _ignored || true
             kill -TERM $pid; wait $pid
             rm -rf {d}"
        );
        let log = fs::File::create(dir.join("watcher.log")).unwrap();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            // Its own process group: a Ctrl-C to the test run must not kill the watcher before it
            // has stopped dockerd.
            .process_group(0)
            .spawn()
            .unwrap();
        let lifeline = child.stdin.take().unwrap();
        let daemon = Self {
            host: format!("unix://{}/docker.sock", dir.display()),
            dir,
            _lifeline: Mutex::new(lifeline),
            _watcher: Mutex::new(child),
        };
        daemon.wait_ready();
        daemon
    }

    /// Polls until the API answers; fails with the daemon's log if dockerd exits first.
    fn wait_ready(&self) {
        loop {
            if self.docker(&["version"]).status.success() {
                return;
            }
            let pid = fs::read_to_string(self.dir.join("dockerd.pid")).unwrap_or_default();
            if let Ok(pid) = pid.trim().parse::<i32>()
                && unsafe { libc::kill(pid, 0) } != 0
            {
                let log = fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
                panic!("dockerd exited before answering:\n{log}");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// `/usr/bin/docker ARGS` against this daemon.
    pub fn docker(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(DOCKER);
        cmd.env("DOCKER_HOST", &self.host)
            .env("DOCKER_BUILDKIT", "1")
            .args(args);
        cmd
    }

    /// Like [`Dockerd::docker`], failing the test with docker's stderr.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `busybox:latest` from Debian's busybox-static, through our own `image import rootfs:` and
    /// `image export type=docker-archive`, then `docker load`: the daemon never pulls.
    fn load_busybox(&self) {
        let work = tempfile::tempdir().unwrap();
        let rootfs = work.path().join("rootfs");
        super::busybox_rootfs(&rootfs);
        let store = work.path().join("store");
        let archive = work.path().join("busybox.docker.tar");
        let sc = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
                .arg("--root")
                .arg(&store)
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "stagecraft {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        sc(&[
            "image",
            "import",
            &format!("rootfs:{}", rootfs.display()),
            "-t",
            "busybox:latest",
        ]);
        sc(&[
            "image",
            "export",
            "busybox:latest",
            "-o",
            &format!("type=docker-archive,dest={}", archive.display()),
        ]);
        self.docker_ok(&["load", "-q", "-i", &archive.display().to_string()]);
    }
}

const DAEMON_JSON: &str = r#"{
  "storage-driver": "overlay2",
  "bridge": "none",
  "iptables": false,
  "ip-forward": false,
  "ip-masq": false,
  "userland-proxy": false,
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "log-level": "warn",
  "features": { "buildkit": true }
}
"#;
