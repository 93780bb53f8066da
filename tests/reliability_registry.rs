//! A real `docker-registry` on 127.0.0.1 serving lies: a config or manifest whose bytes do not
//! match their digest (tampered in the registry's storage), and manifests whose descriptors
//! claim absurd sizes (planted with correct digests). Every pull fails with a clear error and
//! the store keeps nothing half-stored: no tag, no manifest, no unverified blob, `store check` clean.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use sha2::{Digest, Sha256};

const REGISTRY: &str = "/usr/bin/docker-registry";

struct Registry {
    child: Child,
    port: u16,
    data: PathBuf,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_registry(dir: &Path) -> Registry {
    assert!(
        Path::new(REGISTRY).exists(),
        "apt-get install docker-registry"
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = dir.join("data");
    let config = dir.join("config.yml");
    fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  cache:\n    blobdescriptor: \"\"\nhttp:\n  addr: 127.0.0.1:{port}\n",
            data.display()
        ),
    )
    .unwrap();
    let child = Command::new(REGISTRY)
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reg = Registry { child, port, data };
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return reg;
        }
        if let Some(status) = reg.child.try_wait().unwrap() {
            panic!("docker-registry exited: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn stagecraft(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .arg("--root")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Registry {
    fn v2(&self) -> PathBuf {
        self.data.join("docker/registry/v2")
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.v2()
            .join("blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Puts `manifest` into the registry's storage as `repo:tag`, with its true digest.
    fn plant_manifest(&self, repo: &str, tag: &str, manifest: &[u8]) -> String {
        let hex = sha256(manifest);
        let digest = format!("sha256:{hex}");
        let blob = self.blob_path(&digest);
        fs::create_dir_all(blob.parent().unwrap()).unwrap();
        fs::write(&blob, manifest).unwrap();
        let m = self.v2().join("repositories").join(repo).join("_manifests");
        for link in [
            m.join("revisions/sha256").join(&hex).join("link"),
            m.join("tags").join(tag).join("current/link"),
            m.join("tags")
                .join(tag)
                .join("index/sha256")
                .join(&hex)
                .join("link"),
        ] {
            fs::create_dir_all(link.parent().unwrap()).unwrap();
            fs::write(link, &digest).unwrap();
        }
        digest
    }

    fn reference(&self, repo: &str, tag: &str) -> String {
        format!("docker://127.0.0.1:{}/{repo}:{tag}", self.port)
    }
}

/// A pull into a fresh store fails with an error containing one of `why`, and stores nothing.
fn assert_refused(reg: &Registry, tmp: &Path, case: &str, repo: &str, tag: &str, why: &[&str]) {
    let store = tmp.join(format!("store-{case}"));
    let out = stagecraft(
        &store,
        &[
            "image",
            "import",
            &reg.reference(repo, tag),
            "--tls-verify=false",
            "-t",
            "pulled:1",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!out.status.success(), "{case}: the pull must fail");
    assert!(
        why.iter().any(|w| err.contains(w)),
        "{case}: unclear error: {err}"
    );
    let blobs: Vec<_> = walkdir::WalkDir::new(store.join("blobs"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().to_path_buf())
        .collect();
    // Blobs verified before the failure may stay (complete, unreferenced, for prune to take; a
    // concurrent pull may already use them). Nothing else does: no partial or unverified blob,
    // no manifest, no tag.
    for blob in &blobs {
        let name = blob.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            sha256(&fs::read(blob).unwrap()),
            name,
            "{case}: unverified blob kept"
        );
        let json = serde_json::from_slice::<serde_json::Value>(&fs::read(blob).unwrap());
        assert!(
            !json.is_ok_and(|v| v["layers"].is_array()),
            "{case}: a manifest was stored"
        );
    }
    eprintln!("{case}: {err}");
    let ls = stagecraft(&store, &["image", "ls"]);
    assert!(
        !String::from_utf8_lossy(&ls.stdout).contains("pulled"),
        "{case}: tagged anyway"
    );
    let check = stagecraft(&store, &["store", "check"]);
    assert!(
        check.status.success(),
        "{case}: store check: {}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn lying_registries_get_clear_errors_and_store_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = start_registry(tmp.path());
    let rootfs = common::busybox_rootfs(&tmp.path().join("rootfs"));
    let src = tmp.path().join("src-store");
    let out = stagecraft(
        &src,
        &[
            "image",
            "import",
            &format!("rootfs:{}", rootfs.display()),
            "-t",
            "base:1",
        ],
    );
    assert!(out.status.success());
    let remote = format!("127.0.0.1:{}/hostile/base:1", reg.port);
    let out = stagecraft(
        &src,
        &[
            "image",
            "export",
            "base:1",
            "--tls-verify=false",
            "-o",
            &format!("type=registry,name={remote}"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = reg
        .v2()
        .join("repositories/hostile/base/_manifests/tags/1/current/link");
    let manifest_digest = fs::read_to_string(link).unwrap();
    let manifest_bytes = fs::read(reg.blob_path(&manifest_digest)).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&manifest_bytes).unwrap();
    let config_digest = manifest["config"]["digest"].as_str().unwrap().to_string();
    let layer_digest = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let layer_size = manifest["layers"][0]["size"].as_u64().unwrap();

    // The untouched image pulls fine (the harness is right).
    let ok = tmp.path().join("store-ok");
    let out = stagecraft(
        &ok,
        &[
            "image",
            "import",
            &reg.reference("hostile/base", "1"),
            "--tls-verify=false",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Absurd sizes, with correct digests: a config of 2^60 bytes, a layer of 2^62, a layer
    // that claims 10 bytes, a negative size.
    let with = |config_size: serde_json::Value, layer_size: serde_json::Value| {
        let mut m = manifest.clone();
        m["config"]["size"] = config_size;
        m["layers"][0]["size"] = layer_size;
        serde_json::to_vec(&m).unwrap()
    };
    let config_size = manifest["config"]["size"].clone();
    let cases: [(&str, Vec<u8>, &[&str]); 4] = [
        (
            "huge-config",
            with((1u64 << 60).into(), layer_size.into()),
            &["size", "larger", "too large", "bytes"],
        ),
        (
            "huge-layer",
            with(config_size.clone(), (1u64 << 62).into()),
            &["size", "smaller", "bytes", "too large"],
        ),
        (
            "short-layer",
            with(config_size.clone(), 10.into()),
            &["larger", "size", "bytes"],
        ),
        (
            "negative",
            with(config_size.clone(), (-5).into()),
            &["size", "invalid", "manifest"],
        ),
    ];
    for (case, bytes, why) in &cases {
        // In the same repository, so the registry serves its blobs to these manifests too.
        reg.plant_manifest("hostile/base", case, bytes);
        assert_refused(&reg, tmp.path(), case, "hostile/base", case, why);
    }

    // Wrong digests: same-length tampering in the registry's own storage.
    let tamper = |digest: &str| {
        let path = reg.blob_path(digest);
        let original = fs::read(&path).unwrap();
        let mut bad = original.clone();
        let i = bad.iter().rposition(|b| b.is_ascii_digit()).unwrap();
        bad[i] = if bad[i] == b'1' { b'2' } else { b'1' };
        fs::write(&path, &bad).unwrap();
        (path, original)
    };
    let mismatch = ["digest", "mismatch", "does not match", "expected"];
    let (path, original) = tamper(&config_digest);
    assert_refused(&reg, tmp.path(), "config", "hostile/base", "1", &mismatch);
    fs::write(path, original).unwrap();
    let (path, original) = tamper(&manifest_digest);
    assert_refused(&reg, tmp.path(), "manifest", "hostile/base", "1", &mismatch);
    fs::write(path, original).unwrap();
    // A layer whose bytes changed (one flipped byte, same length).
    let path = reg.blob_path(&layer_digest);
    let original = fs::read(&path).unwrap();
    let mut bad = original.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    fs::write(&path, &bad).unwrap();
    assert_refused(&reg, tmp.path(), "layer", "hostile/base", "1", &mismatch);
    fs::write(&path, original).unwrap();
}
