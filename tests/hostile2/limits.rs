//! Running the real binary with a cap on its address space, so that a regression of a memory
//! bound fails the test instead of taking the machine down.

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

/// Address space the child may map: far above what a build of a small Dockerfile needs (tokio's
/// threads and malloc's arenas reserve a few hundred MB), far below the gigabytes an attack asks for.
pub const AS_LIMIT: u64 = 2 << 30;

/// Runs `cmd` with `RLIMIT_AS` lowered to `bytes` in the child (lowering needs no privilege).
pub fn run_limited(cmd: &mut Command, bytes: u64) -> Output {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}
