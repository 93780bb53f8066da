//! What the engine asks for: the process, its environment and its mounts.

use std::path::PathBuf;

use super::runtime::Runtime;

/// One process to run in a container over a prepared rootfs.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The mounted rootfs (usually [`crate::snapshot::Overlay::rootfs`]).
    pub rootfs: PathBuf,
    pub command: Command,
    /// `KEY=VALUE` pairs; `PATH` gets Docker's default and `HOME` the user's home when missing.
    pub env: Vec<String>,
    /// Absolute working directory inside the container; empty means `/`.
    pub cwd: String,
    /// Docker's `USER` syntax: `name`, `uid`, `name:group`, `uid:gid`; empty means root.
    pub user: String,
    pub network: Network,
    pub hostname: String,
    pub mounts: Vec<ExtraMount>,
    /// `(host, ip)` lines appended to the host's `/etc/hosts` (`--add-host`).
    pub extra_hosts: Vec<(String, String)>,
    /// Size of `/dev/shm` in bytes; `None` is Docker's 64 MiB.
    pub shm_size: Option<u64>,
    pub runtime: Runtime,
    /// Holds the per-run bundle dirs (config.json, secret files); removed after each run.
    pub bundle_parent: PathBuf,
}

impl RunSpec {
    /// A spec with Docker's defaults: root, `/`, host network, hostname `stagecraft`.
    pub fn new(
        rootfs: PathBuf,
        command: Command,
        runtime: Runtime,
        bundle_parent: PathBuf,
    ) -> Self {
        Self {
            rootfs,
            command,
            env: Vec::new(),
            cwd: String::new(),
            user: String::new(),
            network: Network::Host,
            hostname: "stagecraft".into(),
            mounts: Vec::new(),
            extra_hosts: Vec::new(),
            shm_size: None,
            runtime,
            bundle_parent,
        }
    }
}

/// The two forms of `RUN`, `CMD` and `ENTRYPOINT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `RUN echo hi`: the line, run through the stage's `SHELL` (`["/bin/sh", "-c"]` when empty).
    Shell { shell: Vec<String>, line: String },
    /// `RUN ["echo", "hi"]`: argv as given.
    Exec(Vec<String>),
}

impl Command {
    pub const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

    /// Shell form with the default shell.
    pub fn sh(line: impl Into<String>) -> Self {
        Self::Shell {
            shell: Vec::new(),
            line: line.into(),
        }
    }

    pub fn argv(&self) -> Vec<String> {
        match self {
            Self::Shell { shell, line } => {
                let mut argv = if shell.is_empty() {
                    Self::DEFAULT_SHELL.iter().map(|s| s.to_string()).collect()
                } else {
                    shell.clone()
                };
                argv.push(line.clone());
                argv
            }
            Self::Exec(argv) => argv.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    /// Share the host's network namespace (Docker build's default here).
    #[default]
    Host,
    /// A fresh network namespace with only `lo`.
    None,
}

/// Mounts beyond the standard set, as `RUN --mount` asks for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraMount {
    /// A host path (context, stage rootfs, image, or a store-managed cache dir with `readonly: false`).
    Bind {
        source: PathBuf,
        target: String,
        readonly: bool,
    },
    Tmpfs {
        target: String,
        size_bytes: Option<u64>,
    },
    /// Secret bytes, written to a private file outside every layer and bound read-only.
    Secret {
        contents: Vec<u8>,
        target: String,
        uid: u32,
        gid: u32,
        mode: u32,
    },
}

impl ExtraMount {
    pub fn target(&self) -> &str {
        match self {
            Self::Bind { target, .. }
            | Self::Tmpfs { target, .. }
            | Self::Secret { target, .. } => target,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of a process's output, without its line terminator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub stream: Stream,
    pub text: String,
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// The process's exit code; 128+N when signal N killed it (as the runtimes report it).
    pub code: i32,
    /// The last [`super::TAIL_LINES`] lines of output, for a failed step's message.
    pub tail: Vec<LogLine>,
}

impl Exit {
    pub fn success(&self) -> bool {
        self.code == 0
    }
}
