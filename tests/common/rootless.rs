//! Running the real binary as a regular user (issue 16): the users `.ci/run` creates, a sandbox
//! dir that user owns (its HOME, so the store lands in the default `~/.local/share/stagecraft`),
//! and a busybox base image that a root store exported, so root and rootless builds start from
//! the same image.
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use super::{bin, busybox_rootfs, require};

/// Has a subordinate ID range in /etc/subuid and /etc/subgid.
pub const RANGED: &str = "stagecraft-rootless";
/// Has none: the single-ID fallback.
pub const SINGLE: &str = "stagecraft-single";

fn id_of(user: &str, flag: &str) -> u32 {
    let out = Command::new("id").args([flag, user]).output().unwrap();
    assert!(
        out.status.success(),
        "test user {user} is missing: .ci/run creates it (the `useradd`/`usermod --add-subuids` \
         step after apt-get install); run that step on this machine"
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The first host ID of `user`'s range in a subid file (`/etc/subuid`).
pub fn subid_start(file: &str, user: &str) -> Option<u32> {
    fs::read_to_string(file).ok()?.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == user).then(|| f.next()?.parse().ok())?
    })
}

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    bin: PathBuf,
}

impl Sandbox {
    /// A fresh dir owned by `user` with `home/` and `ctx/`, and the binary where it can run it.
    pub fn new(user: &str) -> Self {
        require(&["newuidmap", "newgidmap", "runuser"]);
        let (uid, gid) = (id_of(user, "-u"), id_of(user, "-g"));
        let dir = tempfile::Builder::new()
            .prefix("stagecraft-rootless-")
            .tempdir_in("/tmp")
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        // The target dir may sit under a home the user cannot enter: a link (or copy) here.
        let bin = dir.path().join("stagecraft");
        if fs::hard_link(super::bin(), &bin).is_err() {
            fs::copy(super::bin(), &bin).unwrap();
        }
        let sb = Self {
            dir,
            user: user.into(),
            uid,
            gid,
            bin,
        };
        for sub in ["home", "ctx", "run"] {
            fs::create_dir(sb.path(sub)).unwrap();
            sb.give(&sb.path(sub));
        }
        sb
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The default store of the user (no --root): `$HOME/.local/share/stagecraft`.
    pub fn store(&self) -> PathBuf {
        self.path("home/.local/share/stagecraft")
    }

    /// The user's runtime dir for stagecraft (runc state): `$XDG_RUNTIME_DIR/stagecraft-UID`,
    /// with `XDG_RUNTIME_DIR` set to the sandbox's `run/` so tests do not share it.
    pub fn runtime_dir(&self) -> PathBuf {
        self.path("run").join(format!("stagecraft-{}", self.uid))
    }

    /// Hands `path` (recursively) to the user.
    pub fn give(&self, path: &Path) {
        let out = Command::new("chown")
            .arg("-R")
            .arg(format!("{}:{}", self.uid, self.gid))
            .arg(path)
            .output()
            .unwrap();
        assert!(out.status.success(), "chown: {out:?}");
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.path("ctx").join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        self.give(&self.path("ctx"));
    }

    /// The binary as the user, in a clean environment, from `ctx/`.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", &self.user, "--", "env", "-i"])
            .arg(format!("HOME={}", self.path("home").display()))
            .arg("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .arg(format!("USER={}", self.user))
            .arg(format!("XDG_RUNTIME_DIR={}", self.path("run").display()));
        for (k, v) in env {
            cmd.arg(format!("{k}={v}"));
        }
        cmd.arg(&self.bin).args(args).current_dir(self.path("ctx"));
        cmd
    }

    /// [`Self::command`] as one `sh -c` line (for tmux); the sandbox paths hold no spaces.
    pub fn shell_line(&self, args: &[&str]) -> String {
        let cmd = self.command(args, &[("TERM", "xterm-256color")]);
        let words: Vec<String> = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|w| format!("'{}'", w.to_string_lossy().replace('\'', "'\\''")))
            .collect();
        format!("cd '{}' && {}", self.path("ctx").display(), words.join(" "))
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args, &[]).output().unwrap()
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().unwrap()
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Imports the archive a root store exported (see [`BaseArchive`]) as `busybox:latest`.
    pub fn import(&self, base: &BaseArchive) -> Output {
        self.run(&[
            "image",
            "import",
            &format!("oci-archive:{}", base.path.display()),
            "-t",
            "busybox:latest",
        ])
    }

    /// Imports a busybox rootfs the user owns entirely (every ID 0 inside): a base the
    /// single-ID user can use.
    pub fn import_own_rootfs(&self) -> Output {
        let rootfs = self.path("rootfs");
        busybox_rootfs(&rootfs);
        self.give(&rootfs);
        self.run(&[
            "image",
            "import",
            &format!("rootfs:{}", rootfs.display()),
            "-t",
            "busybox:latest",
        ])
    }
}

/// `busybox:latest` made by root (`/home/app` owned by 1000) and exported as an OCI archive any
/// user can read.
pub struct BaseArchive {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl BaseArchive {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("stagecraft-base-")
            .tempdir_in("/tmp")
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let rootfs = dir.path().join("rootfs");
        busybox_rootfs(&rootfs);
        let store = dir.path().join("store");
        let path = dir.path().join("busybox.tar");
        let root = |args: &[&str]| {
            let out = Command::new(bin())
                .arg("--root")
                .arg(&store)
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        };
        root(&[
            "image",
            "import",
            &format!("rootfs:{}", rootfs.display()),
            "-t",
            "busybox:latest",
        ]);
        root(&[
            "image",
            "export",
            "busybox:latest",
            "--output",
            &format!("type=oci-archive,dest={}", path.display()),
        ]);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        Self { dir, path }
    }
}

/// Asserts that `out` succeeded, showing both streams when not.
pub fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        stdout(out),
        stderr(out)
    );
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr with miette's wrapping and box drawing removed, so phrases can be searched.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .replace(['│', '×'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The digest `build` printed last on stdout.
pub fn image_digest(out: &Output) -> String {
    stdout(out)
        .lines()
        .rev()
        .find(|l| l.starts_with("sha256:"))
        .unwrap_or_default()
        .to_string()
}

/// Mount points at or below `dir` in the test's (the host's) mount namespace.
pub fn mounts_below(dir: &Path) -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| Path::new(p).starts_with(dir))
        .map(String::from)
        .collect()
}
