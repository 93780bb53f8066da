//! A closed pipe on stdout or stderr (`stagecraft image ls | head -1`) ends the program quietly
//! with status 0, as ripgrep does, instead of a panic and status 101. `println!` panics on a write
//! error; Rust ignores SIGPIPE, so the write fails with EPIPE rather than killing us like `ls`,
//! and restoring SIGPIPE would also kill us on a registry or runtime socket that closes.
//! Build progress ignores write errors already, so a build whose reader left still finishes
//! (and tags) before the last `println!` of its digest ends here.

use std::panic::PanicHookInfo;

/// Chains a panic hook that exits quietly for a broken pipe and defers to the previous hook
/// otherwise. Call once at process start.
pub fn exit_quietly_on_broken_pipe() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if is_broken_pipe(info) {
            std::process::exit(0);
        }
        previous(info);
    }));
}

/// The panic `print!`/`eprint!` raise when their stream's reader has gone.
fn is_broken_pipe(info: &PanicHookInfo<'_>) -> bool {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    message.starts_with("failed printing to std") && message.ends_with("Broken pipe (os error 32)")
}

/// Writes `bytes` to stdout; a reader that has gone (`| head`) is no error, as for `print!`.
pub fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
