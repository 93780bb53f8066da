//! Shells: a process attached to the user's terminal (or a given fd), stdin included.
//!
//! On a terminal, `terminal: true` without `--console-socket` makes runc and crun allocate the
//! pty themselves, copy it to and from their own stdio, put that tty in raw mode and forward
//! window-size changes. Without a terminal (`stagecraft shell x -- cmd` in a pipe) the runtime
//! hands its stdio to the process unchanged, like `docker run -i` without `-t`.

use std::os::fd::OwnedFd;
use std::process::Stdio;

use super::bundle::Bundle;
use super::error::ExecError;
use super::run::Container;
use super::runtime::unique_container_id;
use super::spec::{Exit, RunSpec};
use super::tether::dies_with_us;
use super::user::resolve_user;

/// Where the interactive process's I/O goes.
#[derive(Debug)]
pub enum TtyIo {
    /// The calling process's stdin/stdout/stderr; a terminal when stdin is one.
    Inherit,
    /// One fd used as stdin, stdout and stderr: a pty's slave side (the process gets a terminal)
    /// or a socket (it does not).
    Fd(OwnedFd),
}

impl TtyIo {
    fn is_terminal(&self) -> bool {
        use std::io::IsTerminal;
        match self {
            Self::Inherit => std::io::stdin().is_terminal(),
            Self::Fd(fd) => fd.is_terminal(),
        }
    }
}

/// Runs `spec` attached to `io` until it exits. The caller must have restored its own terminal
/// (left the TUI's alternate screen and raw mode) before calling.
pub async fn run_interactive(spec: &RunSpec, io: TtyIo) -> Result<Exit, ExecError> {
    let user = resolve_user(&spec.rootfs, &spec.user)?;
    // A killed stagecraft cannot clean up after itself; the next run does (cheap when none).
    spec.runtime.remove_stale_containers();
    let id = unique_container_id();
    let bundle = Bundle::create(spec, &id, &user, io.is_terminal())?;
    let mut runtime = spec.runtime.command()?;
    runtime
        .arg("run")
        .arg("--bundle")
        .arg(bundle.dir())
        .arg(&id);
    // Tethered like RUN: a shell's container dies with stagecraft, even on `kill -9`. The
    // wrapper passes the terminal through untouched (the runtime still makes the pty).
    let mut command = tokio::process::Command::from(dies_with_us(&runtime));
    let spawn_err = |source| ExecError::Spawn {
        runtime: spec.runtime.path.clone(),
        source,
    };
    if let TtyIo::Fd(fd) = io {
        let stdout = fd.try_clone().map_err(spawn_err)?;
        let stderr = fd.try_clone().map_err(spawn_err)?;
        command
            .stdin(Stdio::from(fd))
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr));
    }
    let mut child = command.spawn().map_err(spawn_err)?;
    let mut container = Container::new(&spec.runtime, &id);
    let status = child.wait().await;
    container.exited();
    bundle.remove_stubs();
    let status = status.map_err(|source| ExecError::Wait {
        runtime: spec.runtime.path.clone(),
        source,
    })?;
    match status.code() {
        Some(code) => Ok(Exit {
            code,
            tail: Vec::new(),
        }),
        None => Err(ExecError::RuntimeKilled {
            runtime: spec.runtime.path.clone(),
        }),
    }
}
