//! `image history` pairs history entries with layers; entries marked empty_layer have none.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use oci_spec::image::{HistoryBuilder, ImageConfigurationBuilder, RootFsBuilder};
use stagecraft::image::layer::{LayerOptions, LayerStore};
use stagecraft::store::Store;

#[test]
fn history_shows_empty_layers_and_sizes_newest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let store = Store::open(&root).unwrap();
    let mut layers = Vec::new();
    for (name, size) in [("a", 10), ("b", 200_000)] {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("f"), vec![b'x'; size]).unwrap();
        layers.push(store.commit_layer(&dir, &LayerOptions::default()).unwrap());
    }
    let history = vec![
        HistoryBuilder::default()
            .created_by("COPY a /")
            .build()
            .unwrap(),
        HistoryBuilder::default()
            .created_by("ENV X=1")
            .empty_layer(true)
            .build()
            .unwrap(),
        HistoryBuilder::default()
            .created_by("RUN make b")
            .comment("built")
            .build()
            .unwrap(),
    ];
    let config = ImageConfigurationBuilder::default()
        .rootfs(
            RootFsBuilder::default()
                .diff_ids(
                    layers
                        .iter()
                        .map(|l| l.diff_id.to_string())
                        .collect::<Vec<_>>(),
                )
                .build()
                .unwrap(),
        )
        .history(history)
        .build()
        .unwrap();
    let descs: Vec<_> = layers.iter().map(|l| l.descriptor.clone()).collect();
    store.write_image(&config, &descs, Some("hist:1")).unwrap();
    drop(store);

    let out = Command::cargo_bin("stagecraft")
        .unwrap()
        .arg("--root")
        .arg(&root)
        .args(["image", "history", "hist:1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows[0].contains("RUN make b") && rows[0].contains("built"),
        "newest first: {text}"
    );
    assert!(
        rows[1].contains("ENV X=1") && rows[1].contains(" 0B"),
        "empty layer has no size: {text}"
    );
    assert!(rows[2].contains("COPY a /"), "{text}");
    let big = layers[1].descriptor.size();
    assert!(big > 0 && !rows[0].contains(" 0B"), "{text}");
}
