//! A multi-arch index in an OCI layout: import picks the host platform, or `--platform`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use oci_spec::image::{Arch, ImageIndexBuilder, MediaType, Os, PlatformBuilder};
use stagecraft::image::layer::{LayerOptions, LayerStore};
use stagecraft::image::transport::oci_dir;
use stagecraft::store::Store;

#[test]
fn index_entries_are_chosen_by_platform() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Store::open(&tmp.path().join("src")).unwrap();
    let dir = tmp.path().join("content");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("f"), "f").unwrap();
    let layer = src.commit_layer(&dir, &LayerOptions::default()).unwrap();
    let layout = tmp.path().join("layout");
    let mut entries = Vec::new();
    for arch in [Arch::Amd64, Arch::ARM64] {
        let mut config = stagecraft::image::config::ImageState::scratch()
            .to_config(&[layer.diff_id.to_string()], "2024-01-01T00:00:00Z")
            .unwrap();
        config.set_architecture(arch.clone());
        let image = src
            .write_image(&config, std::slice::from_ref(&layer.descriptor), None)
            .unwrap();
        oci_dir::export(&src, &image, &arch.to_string(), &layout).unwrap();
        let mut d = image.descriptor.clone();
        d.set_platform(Some(
            PlatformBuilder::default()
                .os(Os::Linux)
                .architecture(arch)
                .build()
                .unwrap(),
        ));
        entries.push(d);
    }
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(entries)
        .build()
        .unwrap();
    let bytes = serde_json::to_vec(&index).unwrap();
    let index_desc = src.put_blob(MediaType::ImageIndex, &bytes).unwrap();
    std::fs::write(
        layout
            .join("blobs/sha256")
            .join(index_desc.digest().digest()),
        &bytes,
    )
    .unwrap();
    let mut top = index_desc.clone();
    top.set_annotations(Some(HashMap::from([(
        "org.opencontainers.image.ref.name".to_string(),
        "multi".to_string(),
    )])));
    let top_index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .manifests(vec![top])
        .build()
        .unwrap();
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&top_index).unwrap(),
    )
    .unwrap();

    let store = tmp.path().join("store");
    let run = |args: &[&str]| {
        let out = Command::cargo_bin("stagecraft")
            .unwrap()
            .arg("--root")
            .arg(&store)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let source = format!("oci:{}:multi", layout.display());
    run(&["image", "import", &source, "-t", "host"]);
    run(&[
        "image",
        "import",
        &source,
        "-t",
        "arm",
        "--platform",
        "linux/arm64",
    ]);
    let st = Store::open(&store).unwrap();
    let host = st.resolve("host").unwrap().unwrap();
    assert_eq!(
        host.config.architecture(),
        &stagecraft::store::platform::host_arch()
    );
    let arm = st.resolve("arm").unwrap().unwrap();
    assert_eq!(arm.config.architecture(), &Arch::ARM64);
    assert_ne!(host.digest(), arm.digest());
}
