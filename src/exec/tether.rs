//! A container that dies with stagecraft. `runc run` keeps the container running when its parent
//! is killed (`kill -9 stagecraft` during `RUN while true; do :; done` left runc and the loop at
//! 100% CPU). So the runtime runs as PID 1 of a PID namespace of its own, made by util-linux's
//! `unshare --pid --fork --kill-child`, with a fresh /proc in a mount namespace of its own so the
//! pids it records match what it reads. The chain, when stagecraft dies for any reason:
//! parent-death signal → `unshare` gets SIGKILL → `--kill-child` → the runtime (PID 1) gets
//! SIGKILL → the kernel kills every process in that namespace, the container's nested one too.
//! Cancelling a step is the same: kill `unshare`.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// util-linux, part of every Debian install.
const UNSHARE: &str = "unshare";

/// `runtime_cmd` (program and arguments) wrapped so that its process tree dies with this
/// process. The parent-death signal follows the spawning *thread*: spawn from a thread that
/// lives as long as the run (an async task on a runtime worker, not a short-lived blocking thread).
pub fn dies_with_us(runtime_cmd: &Command) -> Command {
    let mut cmd = Command::new(UNSHARE);
    cmd.args([
        "--pid",
        "--fork",
        "--kill-child=SIGKILL",
        "--mount-proc",
        "--propagation=private",
    ]);
    cmd.arg(runtime_cmd.get_program());
    cmd.args(runtime_cmd.get_args());
    let parent = std::process::id();
    // SAFETY: prctl and getppid are async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Died between fork and prctl: the signal will never come, so do not start.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::other(
                    "stagecraft exited before the runtime started",
                ));
            }
            Ok(())
        });
    }
    cmd
}
