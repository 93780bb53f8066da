//! Builds commit plain-tar layers (digest = diff_id); exports compress them, and what leaves the
//! store is still read by skopeo and umoci.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::process::Command;

use common::Fixture;

const TAR: &str = "application/vnd.oci.image.layer.v1.tar";

fn skopeo_inspect(layout: &str) -> serde_json::Value {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", layout])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect {layout}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn layer_types(manifest: &serde_json::Value) -> Vec<String> {
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["mediaType"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn build_stores_plain_layers_and_export_compresses_them() {
    common::require(&["skopeo", "umoci"]);
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nRUN echo made > /made\nCOPY a.txt /a.txt\n");
    f.write("a.txt", "from the context\n");
    let out = tempfile::tempdir().unwrap();
    let zstd = out.path().join("zstd");
    let b = f.build(&[
        "-t",
        "lazy:1",
        "--compression",
        "zstd",
        "-o",
        &format!("type=oci,dest={}", zstd.display()),
    ]);
    assert!(b.ok(), "{}", b.stderr());

    // In the store: the two new layers are plain tars whose digest is their diff_id.
    let stored = skopeo_inspect(&format!(
        "oci:{}:docker.io/library/lazy:1",
        f.root().display()
    ));
    let types = layer_types(&stored);
    assert_eq!(&types[1..], [TAR, TAR], "{stored}");
    for (i, l) in stored["layers"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .skip(1)
    {
        // The digests arrive after the step, once its tar is made off the critical path.
        let finished = b.step(&format!("0/{i}"));
        let layer = finished
            .iter()
            .find_map(|e| match e {
                stagecraft::engine::Event::LayerDigested { layer: l, .. } => Some(l.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(l["digest"].as_str().unwrap(), layer.diff_id);
        assert_eq!(layer.digest, layer.diff_id);
    }

    // `-o` of the build compressed with --compression; `image export` defaults to gzip.
    assert_eq!(
        &layer_types(&skopeo_inspect(&format!("oci:{}:1", zstd.display())))[1..],
        [
            "application/vnd.oci.image.layer.v1.tar+zstd",
            "application/vnd.oci.image.layer.v1.tar+zstd"
        ]
    );
    let (_dir, rootfs) = f.unpack("lazy:1");
    assert_eq!(
        std::fs::read_to_string(rootfs.join("made")).unwrap(),
        "made\n"
    );
    assert_eq!(
        std::fs::read_to_string(rootfs.join("a.txt")).unwrap(),
        "from the context\n"
    );
    let gzip = out.path().join("gzip");
    let o = f.cmd(&[
        "image",
        "export",
        "lazy:1",
        "-o",
        &format!("type=oci,dest={}", gzip.display()),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let exported = skopeo_inspect(&format!("oci:{}:1", gzip.display()));
    assert!(
        layer_types(&exported)
            .iter()
            .all(|t| t == "application/vnd.oci.image.layer.v1.tar+gzip"),
        "{exported}"
    );
    // Same config: compression does not change what the image is.
    assert_eq!(exported["config"]["digest"], stored["config"]["digest"]);
    let check = f.cmd(&["store", "check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}
