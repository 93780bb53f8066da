//! The build record names each step's image config by digest (a blob in the store) instead of
//! carrying the JSON, so its size grows with the steps, not with their square.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::Fixture;

#[test]
fn step_records_name_config_blobs() {
    let f = Fixture::new();
    let mut dockerfile = String::from("FROM busybox\n");
    for i in 0..40 {
        dockerfile.push_str(&format!("ENV V{i}=value-{i}\n"));
    }
    dockerfile.push_str("RUN echo done > /done\n");
    f.dockerfile(&dockerfile);
    let b = f.build(&["-t", "rec:1"]);
    assert!(b.ok(), "{}", b.stderr());

    let text = std::fs::read_to_string(f.root().join("builds/last.json")).unwrap();
    assert!(
        !text.contains("created_by"),
        "history copied into the record"
    );
    let record: serde_json::Value = serde_json::from_str(&text).unwrap();
    let steps = record["stages"][0]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 42);
    for (i, step) in steps.iter().enumerate() {
        let digest = step["config_digest"].as_str().unwrap();
        let blob = f
            .root()
            .join("blobs/sha256")
            .join(digest.strip_prefix("sha256:").unwrap());
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&blob).unwrap()).unwrap();
        let env: Vec<&str> = config["config"]["Env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        // Step i (1..=40) has set V0..V(i-1).
        let set = i.min(40);
        assert_eq!(
            env.iter().filter(|e| e.starts_with('V')).count(),
            set,
            "step {i}: {env:?}"
        );
        assert!(config["history"].as_array().unwrap().len() > i);
    }
    // Readers open steps through the record: the shell at step 3 sees V0..V2.
    let out = f.cmd(&["shell", "0/3", "--", "sh", "-c", "echo $V2-$V3"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "value-2-");
}

#[test]
fn copy_steps_log_what_they_copied() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nCOPY d/ /d/\nCOPY one.txt /\n");
    f.write("d/a.txt", "aaaa");
    f.write("d/sub/b.txt", "bbbbbb");
    f.write("one.txt", "1");
    let b = f.build(&[]);
    assert!(b.ok(), "{}", b.stderr());
    assert_eq!(b.logs("0/1").trim(), "copied 2 files, 10 bytes");
    assert_eq!(b.logs("0/2").trim(), "copied 1 file, 1 byte");
}
