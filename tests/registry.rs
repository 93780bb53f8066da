//! Push to and pull from Debian's `docker-registry` on 127.0.0.1, and a registry that serves a
//! corrupted blob: the pull fails and nothing of it is stored.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use stagecraft::image::layer::{LayerOptions, LayerStore};
use stagecraft::image::registry::{self, RegistryOptions};
use stagecraft::store::Store;

use common::registry::start_registry;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn stagecraft(store: &Path) -> Command {
    let mut c = Command::cargo_bin("stagecraft").unwrap();
    c.arg("--root").arg(store);
    c
}

#[test]
fn push_and_pull_through_a_local_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = start_registry(tmp.path());
    let rootfs = common::busybox_rootfs(&tmp.path().join("rootfs"));
    let store = tmp.path().join("store");
    let digest = run(stagecraft(&store)
        .args(["image", "import"])
        .arg(format!("rootfs:{}", rootfs.display()))
        .args(["-t", "busybox:reg"]));
    let remote = format!("127.0.0.1:{}/test/busybox:1", reg.port);
    run(stagecraft(&store)
        .args(["image", "export", "busybox:reg", "--tls-verify=false", "-o"])
        .arg(format!("type=registry,name={remote}")));
    common::require(&["skopeo"]);
    let inspected = run(Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{remote}")));
    let v: serde_json::Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(
        v["Digest"],
        digest.trim(),
        "skopeo sees the manifest we pushed"
    );
    // Pushing again is a no-op for existing blobs and still succeeds.
    run(stagecraft(&store)
        .args(["image", "export", "busybox:reg", "--tls-verify=false", "-o"])
        .arg(format!("type=registry,name={remote}")));

    let store2 = tmp.path().join("store2");
    let pulled = run(stagecraft(&store2)
        .args(["image", "import", "--tls-verify=false"])
        .arg(format!("docker://{remote}"))
        .args(["-t", "pulled"]));
    assert_eq!(
        pulled.trim(),
        digest.trim(),
        "pulled manifest digest equals the pushed one"
    );
    let st = Store::open(&store2).unwrap();
    let a = st.resolve("pulled").unwrap().unwrap();
    let b = st.resolve(&remote).unwrap().unwrap();
    assert_eq!(a, b, "a pull tags the canonical remote name too");
    let dirs = st.snapshot(&a.layers).unwrap();
    assert!(dirs[0].join("bin/busybox").is_file());
}

/// Serves one image whose layer blob is corrupted (same length, one byte flipped).
fn serve_corrupt(listener: TcpListener, files: Vec<(String, String, Vec<u8>)>) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { return };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            continue;
        }
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let found = files.iter().find(|(p, _, _)| *p == path);
        let (status, ctype, body, digest) = match found {
            Some((p, ct, body)) => (
                "200 OK",
                ct.as_str(),
                body.clone(),
                p.rsplit('/').next().unwrap_or("").to_string(),
            ),
            None if path == "/v2/" => ("200 OK", "application/json", b"{}".to_vec(), String::new()),
            None => (
                "404 Not Found",
                "application/json",
                b"{\"errors\":[{\"code\":\"NOT_FOUND\"}]}".to_vec(),
                String::new(),
            ),
        };
        let mut head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        if digest.starts_with("sha256:") {
            head.push_str(&format!("Docker-Content-Digest: {digest}\r\n"));
        }
        head.push_str("\r\n");
        let _ = stream.write_all(head.as_bytes());
        if method != "HEAD" {
            let _ = stream.write_all(&body);
        }
    }
}

#[test]
fn corrupted_blob_fails_the_pull_and_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    // Build a real image to serve.
    let src = Store::open(&tmp.path().join("src")).unwrap();
    let dir = tmp.path().join("content");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello"), "hello world").unwrap();
    let layer = src.commit_layer(&dir, &LayerOptions::default()).unwrap();
    let image = stagecraft::image::transport::rootfs::import(
        &src,
        &dir,
        Some("x"),
        &LayerOptions::default(),
    )
    .unwrap();
    assert_eq!(
        image.layers[0].descriptor.digest(),
        layer.descriptor.digest()
    );
    let manifest = src.read_blob(image.digest()).unwrap();
    let config = src.read_blob(image.manifest.config().digest()).unwrap();
    let mut blob = src.read_blob(layer.descriptor.digest()).unwrap();
    let mid = blob.len() / 2;
    blob[mid] ^= 0xff;

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let files = vec![
        (
            format!("/v2/bad/img/manifests/{}", "latest"),
            "application/vnd.oci.image.manifest.v1+json".to_string(),
            manifest.clone(),
        ),
        (
            format!("/v2/bad/img/manifests/{}", image.digest()),
            "application/vnd.oci.image.manifest.v1+json".to_string(),
            manifest,
        ),
        (
            format!("/v2/bad/img/blobs/{}", image.manifest.config().digest()),
            "application/octet-stream".to_string(),
            config,
        ),
        (
            format!("/v2/bad/img/blobs/{}", layer.descriptor.digest()),
            "application/octet-stream".to_string(),
            blob,
        ),
    ];
    std::thread::spawn(move || serve_corrupt(listener, files));

    let dest = Store::open(&tmp.path().join("dest")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reference = format!("127.0.0.1:{port}/bad/img:latest");
    let err = rt
        .block_on(registry::pull(
            &dest,
            &reference,
            &RegistryOptions::default(),
        ))
        .unwrap_err();
    let msg = format!("{err}");
    assert!(
        msg.contains("verification") || msg.contains("digest"),
        "{msg}"
    );
    assert!(
        !dest.has_blob(layer.descriptor.digest()),
        "the corrupted blob is not stored"
    );
    assert!(
        dest.resolve(&reference).unwrap().is_none(),
        "no tag for a failed pull"
    );
    assert!(dest.tags().unwrap().is_empty());
    let leftovers: Vec<_> = std::fs::read_dir(dest.root().join("tmp"))
        .unwrap()
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary files left: {leftovers:?}"
    );
}

#[test]
fn from_resolves_store_tags_before_the_registry() {
    use stagecraft::image::resolve::{Origin, resolve_base};
    let tmp = tempfile::tempdir().unwrap();
    let reg = start_registry(tmp.path());
    let rootfs = common::busybox_rootfs(&tmp.path().join("rootfs"));
    let store = Store::open(&tmp.path().join("store")).unwrap();
    let remote = format!("127.0.0.1:{}/lib/base:1", reg.port);
    let image = stagecraft::image::transport::rootfs::import(
        &store,
        &rootfs,
        Some(&remote),
        &LayerOptions::default(),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let opts = RegistryOptions::default();
    let (found, origin) = rt.block_on(resolve_base(&store, &remote, &opts)).unwrap();
    assert_eq!((found.digest(), origin), (image.digest(), Origin::Store));

    rt.block_on(registry::push(&store, &image, &remote, &opts))
        .unwrap();
    let fresh = Store::open(&tmp.path().join("fresh")).unwrap();
    let (pulled, origin) = rt.block_on(resolve_base(&fresh, &remote, &opts)).unwrap();
    assert_eq!(
        (pulled.digest(), origin),
        (image.digest(), Origin::Registry)
    );
    let (_, origin) = rt.block_on(resolve_base(&fresh, &remote, &opts)).unwrap();
    assert_eq!(
        origin,
        Origin::Store,
        "a pulled image is found in the store next time"
    );
    let missing = format!("127.0.0.1:{}/lib/none:1", reg.port);
    assert!(rt.block_on(resolve_base(&fresh, &missing, &opts)).is_err());
}

#[test]
fn docker_archive_import_round_trips_through_the_registry() {
    common::require(&["skopeo", "umoci"]);
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let reg = start_registry(work);
    let rootfs = common::busybox_rootfs(&work.join("rootfs"));
    let seed = work.join("seed");
    run(stagecraft(&seed)
        .args(["image", "import"])
        .arg(format!("rootfs:{}", rootfs.display()))
        .args(["-t", "seed"]));
    let layout = work.join("layout");
    run(stagecraft(&seed)
        .args(["image", "export", "seed", "-o"])
        .arg(format!("type=oci,dest={}", layout.display())));
    let archive = work.join("d.tar");
    run(Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci:{}:latest", layout.display()))
        .arg(format!("docker-archive:{}:busybox:da", archive.display())));

    let store = work.join("store");
    let digest = run(stagecraft(&store)
        .args(["image", "import"])
        .arg(format!("docker-archive:{}", archive.display())));
    let remote = format!("127.0.0.1:{}/da/busybox:1", reg.port);
    run(stagecraft(&store)
        .args(["image", "export", "busybox:da", "--tls-verify=false", "-o"])
        .arg(format!("type=registry,name={remote}")));
    let copied = work.join("copied");
    run(Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!("docker://{remote}"))
        .arg(format!("oci:{}:r", copied.display())));
    let bundle = work.join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:r", copied.display()))
        .arg(&bundle));
    assert_eq!(
        std::fs::read(bundle.join("rootfs/bin/busybox")).unwrap(),
        std::fs::read(rootfs.join("bin/busybox")).unwrap()
    );
    assert!(
        bundle
            .join("rootfs/bin/sh")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let pulled = run(stagecraft(&work.join("store2"))
        .args(["image", "import"])
        .arg(format!("docker://{remote}")));
    assert_eq!(pulled.trim(), digest.trim());
}
