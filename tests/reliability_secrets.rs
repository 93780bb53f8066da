//! `RUN --mount=type=secret` (as a file and as an env variable, in two stages, next to a cache
//! mount): afterwards the secret's bytes are in no file of the store (blobs read through their
//! compression and as tars, snapshots, cache records and mounts, build records, tmp), not in the
//! exported image, the `--event-log` file, the JSON progress or the plain log. Also after a
//! SIGKILL in the middle of the RUN that has the secret mounted.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Fixture, bin};
use stagecraft::image::layer::decompress;

const SECRET: &str = "tok-9f3c2a7e-never-stored";

/// The secret is checked inside the RUNs by its hash, so the Dockerfile does not hold it.
fn dockerfile() -> String {
    let sum = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(SECRET.as_bytes()));
    format!(
        r#"
FROM busybox AS build
RUN --mount=type=secret,id=token sha256sum /run/secrets/token | grep -q ^{sum} && echo file-ok > /file-ok
RUN --mount=type=secret,id=token,env=TOKEN --mount=type=cache,target=/cache printf %s "$TOKEN" | sha256sum | grep -q ^{sum} && echo env-ok > /env-ok && echo used > /cache/used
FROM busybox
COPY --from=build /file-ok /env-ok /
RUN --mount=type=secret,id=token,target=/etc/token.conf wc -c < /etc/token.conf > /len
"#
    )
}

fn contains(data: &[u8], needle: &[u8]) -> bool {
    data.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir`, decompressed when it is gzip or zstd, must not hold the secret.
fn assert_secret_absent_under(dir: &Path, what: &str) -> usize {
    let mut files = 0;
    for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if !entry.file_type().is_file() {
            continue;
        }
        files += 1;
        let raw = fs::read(entry.path()).unwrap();
        assert!(
            !contains(&raw, SECRET.as_bytes()),
            "{what}: secret in {}",
            entry.path().display()
        );
        let mut plain = Vec::new();
        if decompress(&raw[..])
            .and_then(|mut r| r.read_to_end(&mut plain))
            .is_ok()
        {
            assert!(
                !contains(&plain, SECRET.as_bytes()),
                "{what}: secret in decompressed {}",
                entry.path().display()
            );
        }
    }
    files
}

fn secret_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    fs::write(&path, SECRET).unwrap();
    let arg = format!("id=token,src={}", path.display());
    (dir, arg)
}

#[test]
fn secret_bytes_reach_no_store_file_log_or_export() {
    let f = Fixture::new();
    f.dockerfile(&dockerfile());
    let (_sdir, secret) = secret_file();
    let out_dir = tempfile::tempdir().unwrap();
    let event_log = out_dir.path().join("events.jsonl");
    let oci = out_dir.path().join("oci");
    let log = event_log.display().to_string();
    let dest = format!("type=oci,dest={}", oci.display());
    let b = f.build(&[
        "-t",
        "secret/app:1",
        "--secret",
        &secret,
        "--event-log",
        &log,
        "-o",
        &dest,
    ]);
    assert!(b.ok(), "{}", b.stderr());
    let (_dir, root) = f.unpack("secret/app:1");
    assert_eq!(
        fs::read_to_string(root.join("file-ok")).unwrap(),
        "file-ok\n"
    );
    assert_eq!(fs::read_to_string(root.join("env-ok")).unwrap(), "env-ok\n");
    assert_eq!(
        fs::read_to_string(root.join("len")).unwrap().trim(),
        SECRET.len().to_string()
    );
    assert!(!root.join("etc/token.conf").exists() && !root.join("run/secrets/token").exists());

    // Plain progress too, from the cache this time (same key: secrets are not in it).
    let plain = f.cmd(&[
        "build",
        "--progress=plain",
        "--secret",
        &secret,
        &f.ctx.path().display().to_string(),
    ]);
    assert!(plain.status.success());

    let files = assert_secret_absent_under(f.root(), "store");
    assert!(files > 10, "the store was searched ({files} files)");
    assert_secret_absent_under(&oci, "export");
    assert_secret_absent_under(out_dir.path(), "event log");
    assert!(fs::metadata(&event_log).unwrap().len() > 0);
    for (what, bytes) in [
        ("json progress", &b.output.stdout),
        ("json stderr", &b.output.stderr),
        ("plain progress", &plain.stderr),
        ("plain stdout", &plain.stdout),
    ] {
        assert!(!contains(bytes, SECRET.as_bytes()), "secret in {what}");
    }
}

#[test]
fn secret_bytes_do_not_outlive_a_killed_build() {
    let f = Fixture::new();
    // The RUN holds the secret mounted (file and env) until it is killed.
    f.dockerfile(
        "FROM busybox\nRUN --mount=type=secret,id=token --mount=type=secret,id=token,env=TOKEN,target=/t2 echo mounted && exec sleep 31536003\n",
    );
    let (_sdir, secret) = secret_file();
    let mut child = Command::new(bin())
        .arg("--root")
        .arg(f.root())
        .args(["build", "--progress=json", "--secret", &secret])
        .arg(f.ctx.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if line.unwrap().contains("\"text\":\"mounted\"") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The killed build's container still runs (its runtime was not told); the disk holds no secret.
    assert_secret_absent_under(f.root(), "store after SIGKILL");
    // The next build removes the dead build's container, and with it the runtime's state.
    f.dockerfile("FROM busybox\nRUN true\n");
    assert!(f.build(&[]).ok());
    assert_secret_absent_under(Path::new("/run/stagecraft"), "runtime state after cleanup");
    assert_secret_absent_under(f.root(), "store after the next build");
}
