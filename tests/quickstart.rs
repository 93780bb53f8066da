//! README's quick start is two commands: `./quickstart.sh`, then `cargo test --all-targets`. The
//! first must install every package the second needs, from the one list CI installs too.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn packages() -> Vec<String> {
    read(".ci/packages")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn quickstart_and_ci_install_the_same_list() {
    for script in ["quickstart.sh", ".ci/run"] {
        let text = read(script);
        assert!(
            text.contains(".ci/packages"),
            "{script} must read .ci/packages"
        );
        for pkg in ["runc", "skopeo", "tmux", "buildah"] {
            assert!(
                !text.contains(&format!(" {pkg} ")),
                "{script} names {pkg} itself instead of reading .ci/packages"
            );
        }
    }
    assert!(
        !read("quickstart.sh").contains("--quiet"),
        "quickstart.sh hides cargo's progress"
    );
}

/// Every tool a test looks for with `have` or `require`, and every package a failure message tells to install, is
/// in the list.
#[test]
fn the_list_covers_what_the_tests_need() {
    let list = packages();
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut needed = Vec::new();
    let mut sources = Vec::new();
    for entry in walk(&tests) {
        if entry.extension().is_some_and(|e| e == "rs") {
            sources.push(std::fs::read_to_string(&entry).unwrap_or_default());
        }
    }
    fn tool_package(tool: &str) -> &str {
        match tool {
            "registry" => "docker-registry",
            "docker" | "dockerd" => "docker.io",
            "newuidmap" | "newgidmap" => "uidmap",
            "runuser" => "util-linux",
            "rpmbuild" => "rpm",
            other => other,
        }
    }
    for text in &sources {
        for (i, _) in text.match_indices("have(\"") {
            let tool: String = text[i + 6..].chars().take_while(|c| *c != '"').collect();
            needed.push(tool_package(&tool).to_string());
        }
        for (i, _) in text.match_indices("require(&[") {
            let list: String = text[i + 10..].chars().take_while(|c| *c != ']').collect();
            for item in list.split(',').map(str::trim) {
                // Only literal names: `require(&[name])` over a list is checked where the list is.
                if let Some(tool) = item.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                    needed.push(tool_package(tool).to_string());
                }
            }
        }
        for (i, _) in text.match_indices("apt-get install ") {
            let pkg: String = text[i + 16..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
                .collect();
            // `apt-get install -y …` is a Dockerfile's RUN inside a container, not the host's need.
            if !pkg.is_empty() && !pkg.starts_with('-') {
                needed.push(pkg);
            }
        }
    }
    needed.sort();
    needed.dedup();
    assert!(needed.contains(&"skopeo".to_string()), "scan found nothing");
    for pkg in &needed {
        assert!(
            list.contains(pkg),
            "tests need {pkg} but .ci/packages does not list it"
        );
    }
}

/// On this machine (set up by quickstart.sh or .ci/run) every listed package is installed.
#[test]
fn every_listed_package_is_installed() {
    for pkg in packages() {
        let ok = Command::new("dpkg")
            .args(["-s", &pkg])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(ok, "{pkg} is not installed: run ./quickstart.sh");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "data") {
                out.extend(walk(&p));
            }
        } else {
            out.push(p);
        }
    }
    out
}
