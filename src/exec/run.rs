//! `RUN`: one container in the foreground, output streamed, cancellable.

use std::process::Stdio;

use tokio::sync::mpsc::{self, Sender, UnboundedSender};
use tokio_util::sync::CancellationToken;

use super::bundle::Bundle;
use super::error::ExecError;
use super::runtime::{Runtime, unique_container_id};
use super::spec::{Exit, LogLine, RunSpec, Stream};
use super::stream::{Tail, forward};
use super::tether::dies_with_us;
use super::user::resolve_user;

/// Output lines queued between the pipe readers and the consumer of [`run_bounded`]; when the
/// queue is full the readers stop reading and the container blocks on its writes.
pub const LOG_QUEUE_LINES: usize = 64;

/// [`run_bounded`] for consumers that take every line at once (tests, tools).
pub async fn run(
    spec: &RunSpec,
    log: UnboundedSender<LogLine>,
    cancel: CancellationToken,
) -> Result<Exit, ExecError> {
    let (tx, mut rx) = mpsc::channel(LOG_QUEUE_LINES);
    let pump = async move {
        while let Some(line) = rx.recv().await {
            let _ = log.send(line);
        }
    };
    let (result, ()) = tokio::join!(run_bounded(spec, tx, cancel), pump);
    result
}

/// Runs `spec` to completion, sending every output line to `log`. A slow consumer slows the
/// container down instead of growing a buffer: memory stays bounded whatever the output.
///
/// A non-zero exit is `Ok` with that code (the engine decides what fails). When `cancel` fires,
/// the container is killed and deleted and the result is [`ExecError::Cancelled`]. Dropping the
/// future also kills and deletes the container. The bundle dir is always removed, and mount
/// points the runtime had to create in the rootfs are removed again.
pub async fn run_bounded(
    spec: &RunSpec,
    log: Sender<LogLine>,
    cancel: CancellationToken,
) -> Result<Exit, ExecError> {
    let user = resolve_user(&spec.rootfs, &spec.user)?;
    // A killed stagecraft cannot clean up after itself; the next run does (cheap when none).
    spec.runtime.remove_stale_containers();
    let id = unique_container_id();
    let bundle = Bundle::create(spec, &id, &user, false)?;
    let mut runtime = spec.runtime.command()?;
    runtime
        .arg("run")
        .arg("--bundle")
        .arg(bundle.dir())
        .arg(&id);
    let mut command = tokio::process::Command::from(dies_with_us(&runtime));
    command
        .kill_on_drop(true)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Declared before the child so that, dropped, the child (and with it the container's PID
    // namespace) is killed first and the state deleted after.
    let mut container = Container::new(&spec.runtime, &id);
    let mut child = command.spawn().map_err(|source| ExecError::Spawn {
        runtime: spec.runtime.path.clone(),
        source,
    })?;
    let tail = Tail::default();
    let stdout = child
        .stdout
        .take()
        .map(|out| forward(out, Stream::Stdout, log.clone(), tail.clone()));
    let stderr = child
        .stderr
        .take()
        .map(|err| forward(err, Stream::Stderr, log, tail.clone()));
    let finished = async {
        tokio::join!(optional(stdout), optional(stderr));
        child.wait().await
    };
    let outcome = tokio::select! {
        status = finished => Some(status),
        () = cancel.cancelled() => None,
    };
    let result = match outcome {
        Some(status) => {
            container.exited();
            let status = status.map_err(|source| ExecError::Wait {
                runtime: spec.runtime.path.clone(),
                source,
            })?;
            match status.code() {
                Some(code) => Ok(Exit {
                    code,
                    tail: tail.lines(),
                }),
                None => Err(ExecError::RuntimeKilled {
                    runtime: spec.runtime.path.clone(),
                }),
            }
        }
        None => {
            container.kill_until_exited(&mut child).await;
            Err(ExecError::Cancelled)
        }
    };
    bundle.remove_stubs();
    result
}

async fn optional(work: Option<impl Future<Output = ()>>) {
    if let Some(work) = work {
        work.await;
    }
}

/// A started container; dropped while still running, it is killed and deleted (blocking).
pub(super) struct Container<'a> {
    runtime: &'a Runtime,
    id: &'a str,
    running: bool,
}

impl<'a> Container<'a> {
    pub fn new(runtime: &'a Runtime, id: &'a str) -> Self {
        Self {
            runtime,
            id,
            running: true,
        }
    }

    /// The runtime reported the exit; it deletes a foreground container itself.
    pub fn exited(&mut self) {
        self.running = false;
    }

    /// Kills the runtime's PID namespace (see `tether`): every process of the container dies
    /// with it, even one the runtime has not finished creating; then the state is deleted.
    pub async fn kill_until_exited(&mut self, child: &mut tokio::process::Child) {
        let _ = child.start_kill();
        let _ = child.wait().await;
        let runtime = self.runtime.clone();
        let id = self.id.to_string();
        let _ = tokio::task::spawn_blocking(move || runtime.kill_and_delete(&id)).await;
        self.running = false;
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        if self.running {
            self.runtime.kill_and_delete(self.id);
        }
    }
}
