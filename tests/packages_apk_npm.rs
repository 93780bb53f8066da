//! Bytes by package for apk and npm, end to end through a build and `explain --format json`.
//! npm: real packages from the npm registry (scoped, nested `node_modules`), checked against
//! their own tarballs. apk: no Alpine base can be fetched here (only Debian's archive, PyPI, npm
//! and crates.io are reachable), so its `installed` database is written by hand in apk's format,
//! and a later layer removes a package from it as `apk del` would.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use common::{Fixture, require};
use serde_json::Value;

/// (name, version, tarball path on registry.npmjs.org, where it is installed under /app).
const NPM: &[(&str, &str, &str, &str)] = &[
    (
        "left-pad",
        "1.3.0",
        "left-pad/-/left-pad-1.3.0.tgz",
        "node_modules/left-pad",
    ),
    ("ms", "2.1.3", "ms/-/ms-2.1.3.tgz", "node_modules/ms"),
    (
        "debug",
        "4.3.4",
        "debug/-/debug-4.3.4.tgz",
        "node_modules/debug",
    ),
    // debug's own copy of ms, nested: its files are not debug's.
    (
        "ms",
        "2.1.2",
        "ms/-/ms-2.1.2.tgz",
        "node_modules/debug/node_modules/ms",
    ),
    (
        "@types/ms",
        "0.7.34",
        "@types/ms/-/ms-0.7.34.tgz",
        "node_modules/@types/ms",
    ),
];

const APK_DB: &str = "\
C:Q1aaaa=
P:hello
V:2.12-r1
A:x86_64
I:8192
T:hello world
F:usr/bin
R:hello
F:etc
R:hello.conf

C:Q1bbbb=
P:extra
V:1.0-r0
A:x86_64
I:8192
F:usr/lib
R:libextra.so.1
";

const DOCKERFILE: &str = "\
FROM busybox
COPY rootfs/ /
COPY app/ /app/
RUN sed -i '/^C:Q1bbbb=/,$d' /lib/apk/db/installed && rm /usr/lib/libextra.so.1
";

/// Downloads an npm tarball (curl trusts this machine's CA bundle) into `dest`, unpacked without
/// its top directory; returns the regular files' count and bytes as the tarball lists them.
fn npm_package(tarball: &str, dest: &Path) -> (u64, u64) {
    std::fs::create_dir_all(dest).unwrap();
    let tgz = dest.with_extension("tgz");
    let url = format!("https://registry.npmjs.org/{tarball}");
    let out = Command::new("curl")
        .args(["-fsSL", "--retry", "3", "-o"])
        .arg(&tgz)
        .arg(&url)
        .output()
        .unwrap();
    assert!(out.status.success(), "curl {url}: {out:?}");
    let out = Command::new("tar")
        .args(["xzf"])
        .arg(&tgz)
        .arg("-C")
        .arg(dest)
        .arg("--strip-components=1")
        .output()
        .unwrap();
    assert!(out.status.success(), "tar {tarball}: {out:?}");
    let mut bytes = Vec::new();
    std::fs::File::open(&tgz)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    std::fs::remove_file(&tgz).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let (mut files, mut size) = (0, 0);
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        if entry.header().entry_type().is_file() {
            files += 1;
            size += entry.header().size().unwrap();
        }
    }
    (files, size)
}

#[test]
fn apk_and_npm_packages_weigh_their_own_files() {
    require(&["curl"]);
    let f = Fixture::new();
    f.dockerfile(DOCKERFILE);
    f.write("rootfs/lib/apk/db/installed", APK_DB);
    f.write("rootfs/usr/bin/hello", &"h".repeat(1000));
    f.write("rootfs/etc/hello.conf", "greeting=hi\n");
    f.write("rootfs/usr/lib/libextra.so.1", &"x".repeat(5000));
    let mut expected = HashMap::new();
    for (name, version, tarball, at) in NPM {
        let counts = npm_package(tarball, &f.ctx.path().join("app").join(at));
        expected.insert(format!("{name}@{version}"), counts);
    }
    let b = f.build(&["-t", "pk-apk-npm:1"]);
    assert!(b.ok(), "build: {}", b.stderr());
    let r: Value = f.json(&["explain", "--format", "json", "--top", "0"]);
    let packages: HashMap<String, &Value> = r["packages"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let (m, n, v) = (&p["manager"], &p["name"], &p["version"]);
            (
                format!(
                    "{}:{}@{}",
                    m.as_str().unwrap(),
                    n.as_str().unwrap(),
                    v.as_str().unwrap()
                ),
                p,
            )
        })
        .collect();
    for (key, (files, bytes)) in &expected {
        let p = packages
            .get(&format!("npm:{key}"))
            .unwrap_or_else(|| panic!("no npm {key} in {:?}", packages.keys()));
        assert_eq!(
            (p["files"].as_u64().unwrap(), p["bytes"].as_u64().unwrap()),
            (*files, *bytes),
            "{key}: {p}"
        );
        assert_eq!(p["layer"], 2, "{key}: installed by COPY app/");
    }
    // apk: the package left in the database, with what it declares; the one removed later is
    // still stored by the layer that installed it.
    let hello = packages["apk:hello@2.12-r1"];
    assert_eq!(hello["files"], 2);
    assert_eq!(hello["bytes"], 1000 + 12);
    assert_eq!(hello["declared_size"], 8192);
    assert_eq!(hello["layer"], 1);
    assert!(!packages.contains_key("apk:extra@1.0-r0"));
    let removed = r["packages"]["removed"].as_array().unwrap();
    assert!(
        removed.iter().any(|p| p["name"] == "extra"
            && p["manager"] == "apk"
            && p["bytes"] == 5000
            && p["layer"] == 1
            && p["removed_in_layer"] == 3),
        "{removed:?}"
    );
    // The hint names the removed package and its bytes.
    let hints = r["hints"].as_array().unwrap();
    assert!(
        hints
            .iter()
            .any(|h| h["kind"] == "package_removed_later" && h["bytes"] == 5000),
        "{hints:?}"
    );
}
