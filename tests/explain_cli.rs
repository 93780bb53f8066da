//! `stagecraft explain` on an image built by the real engine with known waste: a 1 MB file added
//! then deleted, a file overwritten, a duplicate, an `id_rsa` added then removed, apt lists left
//! behind, `.git` and `node_modules` copied in. The JSON numbers equal hand-computed ones.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::process::{Command, Output};

use common::{Fixture, bin, busybox_rootfs};
use serde_json::{Value, json};

/// A throwaway Ed25519 key made for this test with `openssl genpkey -algorithm ed25519`: a
/// complete PEM block whose body decodes, as `explain` requires of a finding.
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA/TA0Fpn+gShSv0OSPDu0Df6qHYY6jssSHINVDiVL6x\n-----END PRIVATE KEY-----\n";

const DOCKERFILE: &str = concat!(
    "FROM busybox\n",
    "RUN mkdir /data && head -c 1000000 /dev/zero > /data/big && printf aaaaaaaaaa > /data/over\n",
    "RUN rm /data/big && printf bbbbbbbbbbbbbbbbbbbb > /data/over\n",
    "RUN mkdir -p /root/.ssh /var/lib/apt/lists && printf -- '-----BEGIN PRIVATE KEY-----\\nMC4CAQAwBQYDK2VwBCIEIA/TA0Fpn+gShSv0OSPDu0Df6qHYY6jssSHINVDiVL6x\\n-----END PRIVATE KEY-----\\n' > /root/.ssh/id_rsa ",
    "&& head -c 5000 /dev/zero > /var/lib/apt/lists/x_Packages\n",
    "RUN rm /root/.ssh/id_rsa && cp /data/over /data/copy\n",
    "COPY . /app\n",
);

/// Bytes of the regular files of the fixture's busybox base (dive's size of layer 0).
fn base_size() -> u64 {
    let dir = tempfile::tempdir().unwrap();
    busybox_rootfs(dir.path());
    walkdir::WalkDir::new(dir.path())
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

fn built() -> Fixture {
    let f = Fixture::new();
    f.dockerfile(DOCKERFILE);
    f.write(".git/HEAD", "ref\n");
    f.write("node_modules/x/index.js", "module.exports=1\n");
    let b = f.build(&["-t", "waste:1"]);
    assert!(b.ok(), "build: {}", b.stderr());
    f
}

fn explain_in(f: &Fixture, cwd: &std::path::Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--root")
        .arg(f.root())
        .arg("explain")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn rows(v: &Value, keys: &[&str]) -> Vec<Value> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| Value::Array(keys.iter().map(|k| r[*k].clone()).collect()))
        .collect()
}

#[test]
fn explain_json_numbers_equal_hand_computed_ones() {
    let f = built();
    let out = explain_in(
        &f,
        f.ctx.path(),
        &["waste:1", "--format", "json", "--top", "0"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_of(&out);

    let base = base_size();
    let copy_layer = (DOCKERFILE.len() + "ref\n".len() + "module.exports=1\n".len()) as u64;
    let key = KEY.len() as u64;
    assert_eq!(key, 119);
    let sizes: Vec<u64> = r["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["size"].as_u64().unwrap())
        .collect();
    assert_eq!(
        sizes,
        [base, 1_000_000 + 10, 20, key + 5000, 20, copy_layer]
    );
    assert!(
        r["layers"][2]["created_by"]
            .as_str()
            .unwrap()
            .contains("rm /data/big")
    );

    // dive: paths in 2+ layers count in full: /data/big 1e6+0, /data/over 10+20, id_rsa 119+0.
    let wasted = 1_000_000 + 30 + key;
    assert_eq!(r["wasted_bytes"], wasted);
    let user = 1_000_010 + 20 + key + 5000 + 20 + copy_layer;
    assert_eq!(r["user_size"], user);
    assert_eq!(r["size"], base + user);
    // Σ smallest size per path / Σ all sizes per path.
    let min = base + 10 + 5000 + 20 + copy_layer;
    let cum = base + 1_000_000 + 30 + key + 5000 + 20 + copy_layer;
    let score = r["score"].as_f64().unwrap();
    assert!((score - min as f64 / cum as f64).abs() < 1e-12, "{score}");
    let uwp = r["user_wasted_percent"].as_f64().unwrap();
    assert!((uwp - wasted as f64 / user as f64).abs() < 1e-12, "{uwp}");

    assert_eq!(
        rows(
            &r["shadowed_files"],
            &["path", "size", "layer", "by_layer", "how"]
        ),
        [
            json!(["/data/big", 1_000_000, 1, 2, "deleted"]),
            json!(["/root/.ssh/id_rsa", key, 3, 4, "deleted"]),
            json!(["/data/over", 10, 1, 2, "overwritten"]),
        ]
    );
    let dups = r["duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1, "{dups:?}");
    assert_eq!(dups[0]["size"], 20);
    assert_eq!(dups[0]["wasted_bytes"], 20);
    assert_eq!(
        rows(&dups[0]["copies"], &["path", "layer"]),
        [json!(["/data/over", 2]), json!(["/data/copy", 4])]
    );
    assert_eq!(
        rows(&r["secrets"], &["kind", "path", "layer", "in_final_image"]),
        [json!(["private key", "/root/.ssh/id_rsa", 3, false])]
    );
    // The key's body is not repeated (the RUN text in created_by has it, as the image does).
    assert_eq!(r["secrets"][0]["excerpt"], "-----BEGIN PRIVATE KEY-----");
    assert_eq!(r["secrets"][0]["confidence"], "high");
    assert_eq!(
        rows(&r["hints"], &["kind", "bytes", "files", "layers"]),
        [
            json!(["deleted_later", 1_000_000, 1, [1, 2]]),
            json!(["cache_left_behind", 5000, 1, [3]]),
            json!(["deleted_later", key, 1, [3, 4]]),
            json!(["copied_from_context", 17, 1, [5]]),
            json!(["overwritten_later", 10, 1, [1, 2]]),
            json!(["copied_from_context", 4, 1, [5]]),
        ]
    );
    assert_eq!(r["largest_files"][0]["path"], "/bin/busybox");
    assert_eq!(
        rows(&r["largest_files"], &["path", "size", "layer"])[1],
        json!(["/var/lib/apt/lists/x_Packages", 5000, 3])
    );
}

#[test]
fn ci_mode_applies_dive_rules_flags_and_dive_ci_file() {
    let f = built();
    let cwd = tempfile::tempdir().unwrap();
    // dive's defaults: efficiency ≥ 0.9 and user waste ≤ 0.1 both fail here.
    let out = explain_in(&f, cwd.path(), &["waste:1", "--ci"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Result:FAIL [Total:4] [Passed:0] [Failed:2] [Skipped:2]"),
        "{text}"
    );
    assert!(text.contains("image efficiency is too low"), "{text}");

    let r = json_of(&explain_in(
        &f,
        cwd.path(),
        &["waste:1", "--format", "json"],
    ));
    let score = r["score"].as_f64().unwrap();
    let below = format!("{:.4}", score - 0.01);
    let ok = explain_in(
        &f,
        cwd.path(),
        &[
            "waste:1",
            "--ci",
            "--lowest-efficiency",
            &below,
            "--highest-user-wasted-percent",
            "disabled",
        ],
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // .dive-ci in the current dir: 1 MB (10^6) is less than the 1_000_149 wasted bytes.
    std::fs::write(
        cwd.path().join(".dive-ci"),
        "rules:\n  lowestEfficiency: disabled\n  highestWastedBytes: 1MB\n  highestUserWastedPercent: disabled\n",
    )
    .unwrap();
    let out = explain_in(&f, cwd.path(), &["waste:1", "--ci", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let ci = json_of(&out)["ci"].clone();
    assert_eq!(
        rows(&ci, &["rule", "status", "value"]),
        [
            json!(["lowestEfficiency", "skip", score.to_string()]),
            json!(["highestWastedBytes", "fail", "1000149"]),
            json!(["highestUserWastedPercent", "skip", ci[2]["value"]]),
            json!(["failOnSecrets", "skip", "1"]),
        ]
    );
    // Flags beat the file; secrets fail only when asked.
    let out = explain_in(
        &f,
        cwd.path(),
        &["waste:1", "--ci", "--highest-wasted-bytes", "1.1MB"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = explain_in(
        &f,
        cwd.path(),
        &[
            "waste:1",
            "--ci",
            "--highest-wasted-bytes",
            "2MB",
            "--fail-on-secrets",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "1 secret(s) in the layers, first: private key in /root/.ssh/id_rsa (layer 3)"
        ),
        "{text}"
    );
}

#[test]
fn last_build_tells_each_stage_share_that_reached_the_image() {
    let f = Fixture::new();
    f.dockerfile(concat!(
        "FROM busybox AS builder\n",
        "RUN mkdir /out && head -c 1000 /dev/zero > /out/a && head -c 5000 /dev/urandom > /junk\n",
        "FROM busybox\n",
        "COPY --from=builder /out/a /a\n",
    ));
    let b = f.build(&[]);
    assert!(b.ok(), "build: {}", b.stderr());
    let out = explain_in(&f, f.ctx.path(), &["--last", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_of(&out);
    let base = base_size();
    // builder holds the base, /out/a and /junk; the image has the base and /out/a's content.
    assert_eq!(
        rows(&r["stages"], &["stage", "size", "shipped_bytes"]),
        [
            json!(["builder", base + 6000, base + 1000]),
            json!(["1", base + 1000, base + 1000]),
        ]
    );
    let text = String::from_utf8_lossy(&explain_in(&f, f.ctx.path(), &[]).stdout).into_owned();
    assert!(
        text.contains("Stages (share of each that reached the image):"),
        "{text}"
    );
}
