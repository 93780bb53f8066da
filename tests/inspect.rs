//! `stagecraft inspect` end to end: a crafted two-layer OCI image opened through the `oci:`
//! transport in a real terminal (tmux), driven by keys and read back with capture-pane; and its
//! extraction against a hostile image.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::tmux::Tmux;
use sha2::{Digest, Sha256};

/// A gzip layer of (path, content) files, (path) directories, whiteouts (`.wh.` names) and
/// symlinks (content `-> TARGET`).
fn layer(entries: &[(&str, Option<&str>)]) -> (Vec<u8>, String) {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, content) in entries {
        let mut h = tar::Header::new_gnu();
        match content {
            Some(c) if c.starts_with("-> ") => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_mode(0o777);
                tar.append_link(&mut h, path, &c[3..]).unwrap();
            }
            Some(c) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(c.len() as u64);
                h.set_mode(0o640);
                h.set_uid(1000);
                h.set_gid(1001);
                tar.append_data(&mut h, path, c.as_bytes()).unwrap();
            }
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_mode(0o755);
                tar.append_data(&mut h, path, std::io::empty()).unwrap();
            }
        }
    }
    let raw = tar.into_inner().unwrap();
    let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&raw)));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    (gz.finish().unwrap(), diff_id)
}

fn blob(dir: &Path, data: &[u8]) -> serde_json::Value {
    let hex = hex::encode(Sha256::digest(data));
    std::fs::write(dir.join("blobs/sha256").join(&hex), data).unwrap();
    serde_json::json!({"digest": format!("sha256:{hex}"), "size": data.len()})
}

/// An OCI layout: layer 0 has /etc/os-release, /etc/gone and /bin/tool; layer 1 overwrites
/// os-release, deletes gone and adds /app/config.json.
fn crafted_image(dir: &Path) {
    oci_layout(
        dir,
        &[
            layer(&[
                ("etc", None),
                ("etc/os-release", Some("NAME=base\n")),
                ("etc/gone", Some("soon deleted\n")),
                ("bin", None),
                ("bin/tool", Some(&"x".repeat(3000))),
            ]),
            layer(&[
                ("etc", None),
                ("etc/os-release", Some("NAME=crafted v2\n")),
                ("etc/.wh.gone", Some("")),
                ("app", None),
                ("app/config.json", Some("{\"port\": 8080}\n")),
            ]),
        ],
    );
}

fn oci_layout(dir: &Path, layers: &[(Vec<u8>, String)]) {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.1.clone()).collect::<Vec<_>>()},
        "history": [{"created_by": "ADD base.tar /"}, {"created_by": "COPY app/ /app/"}]
    });
    let mut config_desc = blob(dir, config.to_string().as_bytes());
    config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
    let layer_descs: Vec<serde_json::Value> = layers
        .iter()
        .map(|(gz, _)| {
            let mut d = blob(dir, gz);
            d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip".into();
            d
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc, "layers": layer_descs
    });
    let mut m = blob(dir, manifest.to_string().as_bytes());
    m["mediaType"] = "application/vnd.oci.image.manifest.v1+json".into();
    m["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "latest"});
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [m]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// Polls until some line of the screen satisfies `pred`.
fn wait_line(t: &Tmux, what: &str, pred: impl Fn(&str) -> bool) -> String {
    t.wait_for(what, |s| s.lines().any(&pred))
}

/// Waits for the tree of `layer` (with no filter when `filter` is empty) to be on screen.
fn wait_tree(t: &Tmux, layer: usize, filter: &str) -> String {
    let title = format!("Files after layer {layer}");
    t.wait_for(&title.clone(), |s| {
        let filtered = ["by size · /", "by name · /"]
            .iter()
            .any(|right| s.contains(&format!("{right}{filter}")));
        s.contains(&title) && s.contains(" paths · ") && filter.is_empty() != filtered
    })
}

#[test]
fn inspect_marks_filters_and_extracts_in_a_terminal() {
    common::require(&["tmux"]);
    let tmp = tempfile::tempdir().unwrap();
    let image = tmp.path().join("image");
    crafted_image(&image);
    let store = tmp.path().join("store");
    let dest = tmp.path().join("out");
    let bin = env!("CARGO_BIN_EXE_stagecraft");
    let t = Tmux::start(
        &format!("stagecraft-inspect-test-{}", std::process::id()),
        140,
        40,
        &format!(
            "{bin} --root {} inspect oci:{}:latest; echo \"exit=$?\"; exec sleep 600",
            store.display(),
            image.display()
        ),
    );
    t.wait_text("COPY app/ /app/");
    t.wait_text("efficiency");
    // Layer 1, tree pane, filter to the config file: it is marked added.
    t.send(&["Down", "Tab", "/"]);
    t.send(&["-l", "config"]);
    t.send(&["Enter"]);
    wait_tree(&t, 1, "config");
    wait_line(&t, "config.json marked added", |l| {
        l.contains("config.json") && l.contains(" + ")
    });
    t.send(&["Down"]);
    t.wait_text("0640  1000:1001  15 B  from layer 1");
    // x: into a destination of our choosing.
    t.send(&["x", "BSpace"]);
    t.send(&["-l", &dest.display().to_string()]);
    t.send(&["Enter"]);
    t.wait_text("extracted /app/config.json");
    assert_eq!(
        std::fs::read_to_string(dest.join("config.json")).unwrap(),
        "{\"port\": 8080}\n"
    );
    // Without the filter (rows by size: bin, etc, app): os-release is modified, gone removed.
    t.send(&["Escape"]);
    wait_tree(&t, 1, "");
    t.send(&["Home", "Down", "Right"]);
    let screen = wait_line(&t, "os-release marked modified", |l| {
        l.contains("os-release") && l.contains(" ~ ")
    });
    assert!(
        screen
            .lines()
            .any(|l| l.contains("gone") && l.contains(" - ")),
        "{screen}"
    );
    // Layer 0's /bin, extracted whole.
    t.send(&["Tab", "Up", "Tab"]);
    wait_tree(&t, 0, "");
    t.send(&["Home", "x", "BSpace"]);
    t.send(&["-l", &tmp.path().join("layer0").display().to_string()]);
    t.send(&["Enter"]);
    t.wait_text("extracted /bin");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("layer0/bin/tool")).unwrap(),
        "x".repeat(3000)
    );
    t.send(&["q"]);
    t.wait_text("exit=0");
}

#[test]
fn inspect_without_a_terminal_points_to_explain() {
    let out = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .args(["inspect", "some-image"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs a terminal") && err.contains("stagecraft explain some-image"),
        "{err}"
    );
}

/// A hostile image: links out of the tree (absolute, `..`) and files written through them in a
/// later layer. Extracting never writes outside the destination.
#[test]
fn extract_never_writes_outside_the_destination() {
    use stagecraft::analyze::extract::extract;
    use stagecraft::image::transport::oci_dir;
    use stagecraft::store::Store;

    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let image = tmp.path().join("image");
    oci_layout(
        &image,
        &[
            layer(&[
                ("app", None),
                ("app/abs", Some(&format!("-> {}", outside.display()))),
                ("app/up", Some("-> ../../../../../../../..")),
                ("app/ok", Some("fine\n")),
            ]),
            layer(&[
                ("app", None),
                ("app/abs/evil", Some("escaped\n")),
                ("app/up/evil", Some("escaped\n")),
            ]),
        ],
    );
    let store = Store::open(&tmp.path().join("store")).unwrap();
    let img = oci_dir::import(&store, &image, Some("latest"), None).unwrap();
    let dest = tmp.path().join("dest");
    // Whatever the applier makes of the links (it may refuse), nothing lands outside.
    let result = extract(&store, &img.layers, 1, "app", &dest);
    assert!(
        std::fs::read_dir(&outside).unwrap().next().is_none(),
        "wrote outside: {result:?}"
    );
    assert!(!tmp.path().join("evil").exists());
    assert_eq!(
        std::fs::read_to_string(dest.join("app/ok")).unwrap(),
        "fine\n"
    );
    // Layer 0 alone: the links themselves, as links, and no second extraction over them.
    let dest0 = tmp.path().join("dest0");
    extract(&store, &img.layers, 0, "app", &dest0).unwrap();
    assert_eq!(std::fs::read_link(dest0.join("app/abs")).unwrap(), outside);
    assert!(matches!(
        extract(&store, &img.layers, 0, "app", &dest0),
        Err(stagecraft::analyze::extract::ExtractError::Exists(_))
    ));
}
