//! Interactive runs (the base of `stagecraft shell`): a process with a real terminal.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs::File;
use std::io::Read;
use std::path::Path;

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::pty::openpty;
use stagecraft::exec::{self, Command, RunSpec, Runtime, TtyIo};
use stagecraft::snapshot::{Overlay, run_isolated};

fn run_on_a_pty(runtime: &str) -> (i32, String) {
    let runtime = Runtime::find(Some(Path::new(runtime))).unwrap();
    run_isolated(move || {
        let tmp = tempfile::tempdir().unwrap();
        let lower = common::busybox_rootfs(&tmp.path().join("lower"));
        let overlay = Overlay::mount(&[lower], &tmp.path().join("step")).unwrap();
        let mut spec = RunSpec::new(
            overlay.rootfs().into(),
            Command::sh("tty; test -t 0 && echo stdin-is-a-tty; echo TERM=$TERM; id -u"),
            runtime,
            tmp.path().join("bundles"),
        );
        spec.user = "app".into();
        let pty = openpty(None, None).unwrap();
        // Other tests start processes concurrently; they must not inherit (and hold open) our pty.
        for fd in [&pty.master, &pty.slave] {
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).unwrap();
        }
        // The reader sees EOF (EIO) once every copy of the slave side is closed.
        let mut master = File::from(pty.master);
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = master.read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let exit = rt
            .block_on(exec::run_interactive(&spec, TtyIo::Fd(pty.slave)))
            .unwrap();
        (exit.code, reader.join().unwrap())
    })
    .unwrap()
}

#[test]
fn runc_gives_the_process_a_terminal() {
    let (code, out) = run_on_a_pty("runc");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("/dev/pts/0"), "{out}");
    assert!(out.contains("stdin-is-a-tty"), "{out}");
    assert!(out.contains("TERM="), "{out}");
    assert!(out.contains("1000"), "{out}");
}

#[test]
fn crun_gives_the_process_a_terminal() {
    common::require(&["crun"]);
    let (code, out) = run_on_a_pty("crun");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("/dev/pts/0") && out.contains("stdin-is-a-tty"),
        "{out}"
    );
}

#[test]
fn without_a_terminal_stdin_and_stdout_are_passed_through() {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    let runtime = Runtime::find(None).unwrap();
    let out = run_isolated(move || {
        let tmp = tempfile::tempdir().unwrap();
        let lower = common::busybox_rootfs(&tmp.path().join("lower"));
        let overlay = Overlay::mount(&[lower], &tmp.path().join("step")).unwrap();
        let spec = RunSpec::new(
            overlay.rootfs().into(),
            Command::sh("test -t 0 || echo no-tty; read line; echo got $line"),
            runtime,
            tmp.path().join("bundles"),
        );
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        ours.write_all(b"hello\n").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let exit = rt
            .block_on(exec::run_interactive(&spec, TtyIo::Fd(theirs.into())))
            .unwrap();
        assert_eq!(exit.code, 0);
        ours.shutdown(std::net::Shutdown::Write).unwrap();
        let mut out = String::new();
        ours.read_to_string(&mut out).unwrap();
        out
    })
    .unwrap();
    assert_eq!(out, "no-tty\ngot hello\n");
}
