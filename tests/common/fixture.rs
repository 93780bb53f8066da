//! Running real builds in tests: a private store with a busybox base image imported through our
//! own `image import rootfs:`, a context dir, and the event stream of each build.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use stagecraft::engine::{Event, Record};

use super::{busybox_rootfs, debian_rootfs};

pub struct Fixture {
    pub store: tempfile::TempDir,
    pub ctx: tempfile::TempDir,
}

pub struct Built {
    pub output: Output,
    pub events: Vec<Record>,
}

impl Built {
    pub fn ok(&self) -> bool {
        self.output.status.success()
    }

    /// stderr with miette's wrapping and box drawing removed, so phrases can be searched.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr)
            .replace(['│', '×'], " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Every event about `stage/index`.
    pub fn step(&self, step: &str) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|r| r.step().map(|s| s.to_string()).as_deref() == Some(step))
            .map(|r| &r.event)
            .collect()
    }

    pub fn cached(&self, step: &str) -> bool {
        self.step(step)
            .iter()
            .any(|e| matches!(e, Event::StepCached { .. }))
    }

    pub fn miss_reason(&self, step: &str) -> Option<String> {
        self.step(step).iter().find_map(|e| match e {
            Event::CacheMiss { reason, .. } => Some(reason.clone()),
            _ => None,
        })
    }

    pub fn logs(&self, step: &str) -> String {
        self.step(step)
            .iter()
            .filter_map(|e| match e {
                Event::StepLog { text, .. } => Some(format!("{text}\n")),
                _ => None,
            })
            .collect()
    }

    /// The image digest `build_finished` carries (JSON progress prints nothing else on stdout).
    pub fn image(&self) -> String {
        self.events
            .iter()
            .find_map(|r| match &r.event {
                Event::BuildFinished { image, .. } => image.clone(),
                _ => None,
            })
            .unwrap_or_default()
    }

    pub fn finished(&self) -> Option<&Event> {
        self.events
            .iter()
            .map(|r| &r.event)
            .find(|e| matches!(e, Event::BuildFinished { .. }))
    }
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stagecraft"))
}

impl Fixture {
    /// A store holding `busybox:latest` (and `busybox:1`), made from Debian's busybox-static.
    pub fn new() -> Self {
        let store = tempfile::tempdir().unwrap();
        let ctx = tempfile::tempdir().unwrap();
        let rootfs = tempfile::tempdir().unwrap();
        busybox_rootfs(rootfs.path());
        let f = Self { store, ctx };
        let out = f.cmd(&[
            "image",
            "import",
            &format!("rootfs:{}", rootfs.path().display()),
            "-t",
            "busybox:latest",
        ]);
        assert!(
            out.status.success(),
            "import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = f.cmd(&[
            "image",
            "import",
            &format!("rootfs:{}", rootfs.path().display()),
            "-t",
            "busybox:1",
        ]);
        assert!(
            out.status.success(),
            "import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        f
    }

    /// Imports `debian:bookworm` (the shared debootstrap fixture, see `common::debian_rootfs`)
    /// through `image import rootfs:`, uncompressed.
    pub fn import_debian(&self) {
        let rootfs = debian_rootfs();
        let out = self.cmd(&[
            "image",
            "import",
            &format!("rootfs:{}", rootfs.display()),
            "-t",
            "debian:bookworm",
            "--compression",
            "none",
        ]);
        assert!(
            out.status.success(),
            "import debian: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn root(&self) -> &Path {
        self.store.path()
    }

    pub fn cmd(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .arg("--root")
            .arg(self.store.path())
            .args(args)
            .output()
            .unwrap()
    }

    /// A command that prints JSON on success (`explain --format json`, …), parsed.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.ctx.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    pub fn dockerfile(&self, text: &str) {
        self.write("Dockerfile", text);
    }

    /// `stagecraft build --progress=plain EXTRA... CONTEXT` with `input` on its stdin (not a
    /// terminal: pauses and failure shells read their answers from it).
    pub fn build_with_stdin(&self, extra: &[&str], input: &str) -> Output {
        let mut child = Command::new(bin())
            .arg("--root")
            .arg(self.store.path())
            .args(["build", "--progress=plain"])
            .args(extra)
            .arg(self.ctx.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// `stagecraft build --progress=json CONTEXT EXTRA...`, events parsed.
    pub fn build(&self, extra: &[&str]) -> Built {
        let ctx = self.ctx.path().display().to_string();
        let mut args = vec!["build", "--progress=json"];
        args.extend_from_slice(extra);
        args.push(&ctx);
        let output = self.cmd(&args);
        let events = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<Record>(l).unwrap_or_else(|e| panic!("bad event {l}: {e}"))
            })
            .collect();
        Built { output, events }
    }

    /// Exports `image` as an OCI layout and unpacks it with umoci; returns the rootfs dir.
    pub fn unpack(&self, image: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let layout = dir.path().join("oci");
        let out = self.cmd(&[
            "image",
            "export",
            image,
            "--output",
            &format!("type=oci,dest={}", layout.display()),
        ]);
        assert!(
            out.status.success(),
            "export: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tag = image
            .rsplit_once(':')
            .map(|(_, t)| t)
            .filter(|t| !t.contains('/'))
            .unwrap_or("latest");
        let bundle = dir.path().join("bundle");
        let out = Command::new("umoci")
            .args(["unpack", "--image", &format!("{}:{tag}", layout.display())])
            .arg(&bundle)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "umoci unpack: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (dir, bundle.join("rootfs"))
    }
}
