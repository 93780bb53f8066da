//! Item 3: `--secret src=` naming a FIFO (open would wait forever for a writer), `/dev/zero`
//! (never ends) or a large file: refused at once with a clear error, under a memory cap.

use std::process::Command;

use super::common::{Fixture, bin};
use super::limits::{AS_LIMIT, run_limited};

const DOCKERFILE: &str = "FROM busybox\nRUN --mount=type=secret,id=z wc -c /run/secrets/z\n";

fn build_with_secret(f: &Fixture, src: &str) -> (bool, String) {
    let ctx = f.ctx.path().display().to_string();
    let mut cmd = Command::new(bin());
    cmd.arg("--root").arg(f.root()).args([
        "build",
        "--progress=plain",
        "--secret",
        &format!("id=z,src={src}"),
        &ctx,
    ]);
    let out = run_limited(&mut cmd, AS_LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let words = stderr
        .replace(['│', '×'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (out.status.success(), words)
}

#[test]
fn secrets_from_fifos_devices_and_large_files_are_refused() {
    let f = Fixture::new();
    f.dockerfile(DOCKERFILE);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("F");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let (ok, err) = build_with_secret(&f, &fifo.display().to_string());
    assert!(
        !ok && err.contains("is a FIFO, not a regular file"),
        "{err}"
    );

    let (ok, err) = build_with_secret(&f, "/dev/zero");
    assert!(
        !ok && err.contains("is a character device, not a regular file"),
        "{err}"
    );

    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'k'; 500 * 1024 + 1]).unwrap();
    let (ok, err) = build_with_secret(&f, &big.display().to_string());
    assert!(
        !ok && err.contains("secret z is larger than 512000 bytes"),
        "{err}"
    );

    // At the limit it is still a secret.
    std::fs::write(&big, vec![b'k'; 500 * 1024]).unwrap();
    let (ok, err) = build_with_secret(&f, &big.display().to_string());
    assert!(ok, "{err}");
    assert!(err.contains("512000 /run/secrets/z"), "{err}");
}
