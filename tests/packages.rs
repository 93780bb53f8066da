//! Bytes by package, secrets without false alarms, provenance through chmod/chown and stage
//! costs, on a real Debian image built by the engine: the shared debootstrap base, `apt-get
//! install` from Debian's archive, a venv with `six` from PyPI copied from a builder stage.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::LazyLock;

use common::tmux::Tmux;
use common::{Fixture, bin, require};
use serde_json::Value;

const DOCKERFILE: &str = "\
FROM debian:bookworm AS base
RUN apt-get update && apt-get install -y --no-install-recommends python3 make patch && rm -rf /var/lib/apt/lists/*

FROM base AS builder
RUN apt-get update && apt-get install -y --no-install-recommends python3-venv && rm -rf /var/lib/apt/lists/*
RUN --mount=type=secret,id=cacert,target=/run/secrets/ca.pem python3 -m venv /opt/venv && PIP_CERT=/run/secrets/ca.pem /opt/venv/bin/pip install --no-cache-dir six==1.16.0
RUN /opt/venv/bin/pip show -f six > /six.txt && printf '#!/bin/sh\\necho tool\\n' > /opt/tool

FROM base
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/tool /usr/local/bin/tool
RUN chmod 0755 /usr/local/bin/tool && chown 1000:1000 /usr/local/bin/tool
COPY key.pem /root/key.pem
RUN rm /root/key.pem && apt-get purge -y patch
";

/// One build shared by every test of this file: it downloads packages, so it is made once.
static BUILT: LazyLock<Fixture> = LazyLock::new(|| {
    require(&["openssl", "umoci"]);
    let f = Fixture::new();
    common::remove_at_exit(f.store.path());
    common::remove_at_exit(f.ctx.path());
    f.import_debian();
    f.dockerfile(DOCKERFILE);
    let key = f.ctx.path().join("key.pem");
    let out = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl genpkey: {out:?}");
    let b = f.build(&[
        "-t",
        "pk:1",
        "--secret",
        "id=cacert,src=/etc/ssl/certs/ca-certificates.crt",
    ]);
    assert!(
        b.ok(),
        "build: {}\n{}",
        b.stderr(),
        String::from_utf8_lossy(&b.output.stdout)
    );
    std::fs::write(events_log(&f), &b.output.stdout).unwrap();
    f
});

/// The build's JSON events, for `tui --replay`.
fn events_log(f: &Fixture) -> PathBuf {
    f.ctx.path().join("events.jsonl")
}

fn explain(args: &[&str]) -> Output {
    let cwd = tempfile::tempdir().unwrap();
    Command::new(bin())
        .arg("--root")
        .arg(BUILT.root())
        .arg("explain")
        .args(args)
        .current_dir(cwd.path())
        .output()
        .unwrap()
}

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json", "--top", "0"]);
    let out = explain(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn packages(r: &Value) -> HashMap<String, Value> {
    r["packages"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!(
                    "{}:{}",
                    p["manager"].as_str().unwrap(),
                    p["name"].as_str().unwrap()
                ),
                p.clone(),
            )
        })
        .collect()
}

/// Bytes of the distinct regular files a dpkg `.list` names, as the unpacked image holds them, and the
/// number of its entries.
fn list_bytes(rootfs: &Path, name: &str) -> (u64, u64) {
    let info = rootfs.join("var/lib/dpkg/info");
    let list = std::fs::read_to_string(info.join(format!("{name}.list")))
        .or_else(|_| std::fs::read_to_string(info.join(format!("{name}:amd64.list"))))
        .unwrap_or_else(|e| panic!("{name}.list: {e}"));
    // A hard link is stored once (gzip's uncompress is gunzip), so count each inode once.
    let mut seen = std::collections::HashSet::new();
    let mut bytes = 0;
    for line in list.lines().filter(|l| l.len() > 1) {
        let meta = std::fs::symlink_metadata(rootfs.join(&line[1..]));
        if let Some(m) = meta.ok().filter(|m| m.is_file())
            && seen.insert((m.dev(), m.ino()))
        {
            bytes += m.len();
        }
    }
    (bytes, list.lines().count() as u64)
}

#[test]
fn dpkg_packages_weigh_their_files_and_what_dpkg_declares() {
    let r = json(&[]);
    let pkgs = packages(&r);
    let dpkg: Vec<&Value> = pkgs.values().filter(|p| p["manager"] == "dpkg").collect();
    assert!(dpkg.len() > 80, "{} dpkg packages", dpkg.len());
    let rootfs = unpacked();
    let mut off = Vec::new();
    for p in &dpkg {
        let name = p["name"].as_str().unwrap();
        let (bytes, declared) = (
            p["bytes"].as_u64().unwrap(),
            p["declared_size"].as_u64().unwrap(),
        );
        // Exactly the files of its list, as umoci unpacked them.
        let (files, entries) = list_bytes(&rootfs, name);
        assert_eq!(bytes, files, "{name}");
        // Installed-Size counts each entry in whole KiB (1 KiB per file, or a 4 KiB block when
        // the package was measured with du): never less than the files, at most a block more
        // per entry.
        if bytes > declared + 1024 || declared > bytes + 4096 * entries {
            off.push(format!("{name}: {bytes} bytes, Installed-Size {declared}"));
        }
    }
    // A few Debian packages declare more than they ship (libstdc++6 declares 2686 KiB for
    // 2256 KiB of files); the rest must agree.
    assert!(
        off.len() * 30 < dpkg.len(),
        "sizes off dpkg's Installed-Size:\n{}",
        off.join("\n")
    );
    // The layer that installed them, with its Dockerfile line.
    let python = &pkgs["dpkg:python3.11-minimal"];
    let layer = python["layer"].as_u64().unwrap() as usize;
    assert_eq!(r["layers"][layer]["step"]["line"], 2, "{python}");
    assert_eq!(pkgs["dpkg:libc6"]["layer"], 0);
}

#[test]
fn pip_packages_weigh_what_pip_show_lists() {
    let r = json(&[]);
    let pkgs = packages(&r);
    let six = &pkgs["pip:six"];
    assert_eq!(six["version"], "1.16.0");
    // `pip show -f six` as the builder wrote it: Location and the files under it.
    let show = std::fs::read_to_string(snapshot_file("six.txt")).unwrap();
    let location = show
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .unwrap()
        .to_string();
    let listed: Vec<&str> = show
        .split_once("Files:\n")
        .unwrap()
        .1
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        six["files"].as_u64().unwrap() as usize,
        listed.len(),
        "{six}"
    );
    let venv = unpacked().join("opt/venv");
    let bytes: u64 = listed
        .iter()
        .map(|f| {
            let path = format!("{location}/{f}");
            let path = venv.join(path.trim_start_matches('/').trim_start_matches("opt/venv/"));
            std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        })
        .sum();
    assert_eq!(six["bytes"].as_u64().unwrap(), bytes);
    // Copied in by the final stage's COPY --from=builder (line 10).
    let layer = six["layer"].as_u64().unwrap() as usize;
    assert_eq!(r["layers"][layer]["step"]["line"], 10);
    // pip and setuptools ride along in the runtime venv: a toolchain hint, with make.
    let hint = r["hints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "toolchain_in_image")
        .unwrap_or_else(|| panic!("no toolchain hint: {}", r["hints"]));
    let msg = hint["message"].as_str().unwrap();
    assert!(msg.contains("pip") && msg.contains("make"), "{msg}");
    let tool_bytes = ["pip:pip", "pip:setuptools", "dpkg:make"]
        .iter()
        .map(|k| pkgs[*k]["bytes"].as_u64().unwrap())
        .sum::<u64>();
    assert!(hint["bytes"].as_u64().unwrap() >= tool_bytes, "{hint}");
}

/// A file the build wrote, found in the store's snapshot dirs.
fn snapshot_file(name: &str) -> std::path::PathBuf {
    walkdir::WalkDir::new(BUILT.root().join("snapshots"))
        .max_depth(3)
        .into_iter()
        .flatten()
        .map(|e| e.into_path())
        .find(|p| p.ends_with(format!("fs/{name}")))
        .unwrap_or_else(|| panic!("no {name} in the snapshots"))
}

/// The final image, unpacked by umoci from our OCI export (once).
fn unpacked() -> PathBuf {
    static UNPACKED: LazyLock<(tempfile::TempDir, PathBuf)> = LazyLock::new(|| {
        let unpacked = BUILT.unpack("pk:1");
        common::remove_at_exit(unpacked.0.path());
        unpacked
    });
    UNPACKED.1.clone()
}

#[test]
fn gnutls_keys_are_no_finding_but_a_deleted_key_fails_ci() {
    let r = json(&[]);
    let secrets = r["secrets"].as_array().unwrap();
    let paths: Vec<&str> = secrets
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/root/key.pem"], "{secrets:?}");
    assert_eq!(secrets[0]["confidence"], "high");
    assert_eq!(secrets[0]["in_final_image"], false);
    // libgnutls30 holds complete self-test key blocks: set apart as the package's, not reported.
    let packaged = r["secrets_in_packages"].as_array().unwrap();
    assert!(
        packaged
            .iter()
            .any(|s| s["path"].as_str().unwrap().contains("libgnutls.so.30")
                && s["package"].as_str().unwrap().starts_with("libgnutls30 ")),
        "{packaged:?}"
    );
    let ci = [
        "--ci",
        "--lowest-efficiency",
        "disabled",
        "--highest-user-wasted-percent",
        "disabled",
        "--fail-on-secrets",
    ];
    let out = explain(&ci);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("failOnSecrets") && text.contains("/root/key.pem"),
        "{text}"
    );
    let mut allowed = ci.to_vec();
    allowed.extend(["--allow-secret", "/root/*.pem"]);
    let out = explain(&allowed);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn provenance_goes_through_chmod_and_chown_to_the_builder() {
    let out = Command::new(bin())
        .arg("--root")
        .arg(BUILT.root())
        .args([
            "explain",
            "--provenance",
            "--format",
            "json",
            "--limit",
            "0",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tool = files
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/usr/local/bin/tool")
        .unwrap();
    let hops: Vec<(String, u64, Value)> = tool["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["stage"].as_str().unwrap().to_string(),
                h["line"].as_u64().unwrap(),
                h["metadata"].clone(),
            )
        })
        .collect();
    assert_eq!(hops.len(), 3, "{hops:?}");
    assert_eq!((hops[0].0.as_str(), hops[0].1), ("2", 12));
    let change = hops[0].2.as_str().unwrap();
    assert!(
        change.contains("mode 0644 → 0755") && change.contains("owner 0:0 → 1000:1000"),
        "{change}"
    );
    assert_eq!(
        (hops[1].0.as_str(), hops[1].1, &hops[1].2),
        ("2", 11, &Value::Null)
    );
    assert_eq!((hops[2].0.as_str(), hops[2].1), ("builder", 7));
}

#[test]
fn stages_can_be_explained_and_costed() {
    let r = json(&[]);
    let stages = r["stages"].as_array().unwrap();
    let builder = stages.iter().find(|s| s["stage"] == "builder").unwrap();
    let (size, shipped) = (
        builder["size"].as_u64().unwrap(),
        builder["shipped_bytes"].as_u64().unwrap(),
    );
    assert!(shipped > 0 && shipped < size, "{builder}");
    // The builder on its own: its packages include python3-venv, which the image does not.
    for args in [&["builder"][..], &["--stage", "builder"][..]] {
        let b = json(args);
        let pkgs = packages(&b);
        assert!(pkgs.contains_key("dpkg:python3-venv"), "{args:?}");
        assert_eq!(b["layers"].as_array().unwrap().len(), 5);
    }
    assert!(!packages(&r).contains_key("dpkg:python3-venv"));
    // patch: installed by the base stage, purged by the last step, still stored.
    let removed = r["packages"]["removed"].as_array().unwrap();
    let patch = removed
        .iter()
        .find(|p| p["name"] == "patch")
        .unwrap_or_else(|| panic!("{removed:?}"));
    assert_eq!(patch["layer"], 1);
    assert!(patch["bytes"].as_u64().unwrap() > 50_000, "{patch}");
    let text = String::from_utf8_lossy(&explain(&[]).stdout).to_string();
    assert!(
        text.contains("Packages (") && text.contains("python3.11-minimal"),
        "{text}"
    );
    assert!(text.contains("removed later: patch"), "{text}");
}

/// `stagecraft --root STORE ARGS` in a 150×45 tmux terminal.
fn terminal(name: &str, args: &str) -> Tmux {
    require(&["tmux"]);
    let script = format!(
        "{} --root {} {args}; echo \"exit=$?\"; exec sleep 600",
        bin().display(),
        BUILT.root().display()
    );
    Tmux::start(
        &format!("stagecraft-pk-{name}-{}", std::process::id()),
        150,
        45,
        &script,
    )
}

/// The tree's header: ` 812 paths · 198 MB │ libc6 (dpkg) · /usr/lib/…`.
fn header(screen: &str) -> String {
    screen
        .lines()
        .find_map(|l| l.split_once(" paths · ").map(|(_, h)| h.to_string()))
        .unwrap_or_default()
}

/// Walks down the tree (opening directories, largest first) one key pair at a time, each time
/// waiting for the selection to move, until the header names the package that owns the selected
/// file; returns that label.
fn walk_to_an_owned_file(t: &Tmux) -> String {
    for _ in 0..12 {
        let now = header(&t.screen());
        let owner = now
            .split_once(" │ ")
            .and_then(|(_, h)| h.split_once(" · "))
            .map(|(label, _)| label)
            .filter(|label| label.ends_with("(dpkg)"));
        if let Some(owner) = owner {
            return owner.to_string();
        }
        t.send(&["l", "j"]);
        t.wait_for("the selection to move", |s| header(s) != now);
    }
    panic!("no owned file reached; last screen:\n{}", t.screen());
}

#[test]
fn inspect_lists_packages_per_layer_and_marks_their_files() {
    let t = terminal("inspect", "inspect pk:1");
    t.wait_text("efficiency");
    // Layer 1 (apt-get installs python3, make and patch): its packages, then the largest one's files.
    t.send(&["Down", "p"]);
    let screen = t.wait_text("Packages after layer 1 ·");
    let installed: usize = screen
        .split(" new · ")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(installed >= 3, "python3, make, patch and more:\n{screen}");
    t.send(&["Enter"]);
    let owner = walk_to_an_owned_file(&t);
    let screen = t.screen();
    // The package of the panel's selected row named in the tree's header; its files marked.
    let name = owner.trim_end_matches(" (dpkg)");
    assert!(screen.matches(name).count() >= 2, "{owner}\n{screen}");
    assert!(screen.contains(" ●"), "{screen}");
    t.send(&["q"]);
    t.wait_text("exit=0");
}

#[test]
fn the_build_tui_names_the_package_of_the_selected_file() {
    let log = events_log(&BUILT);
    let t = terminal("tui", &format!("tui --replay {} --speed 0", log.display()));
    t.wait_text("✓ built");
    // The target's last step, its layer tree, down into /usr.
    t.send(&["Tab", "t"]);
    t.wait_text(" paths · ");
    let owner = walk_to_an_owned_file(&t);
    assert!(!owner.is_empty());
    t.send(&["q"]);
    t.wait_text("exit=0");
}
