//! `stagecraft diff` on real builds: JSON on stages with known differences, steps, text output.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::Fixture;
use serde_json::Value;

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn change<'a>(d: &'a Value, path: &str) -> &'a Value {
    d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == path)
        .unwrap_or_else(|| panic!("no change for {path} in {d:#}"))
}

#[test]
fn diff_json_reports_known_changes_between_stages() {
    let f = Fixture::new();
    f.dockerfile(concat!(
        "FROM busybox AS base\n",
        "RUN mkdir -p /etc/app && printf 'a=1\\nb=2\\n' > /etc/app/conf && echo keep > /keep",
        " && head -c 100000 /dev/zero > /big && mkdir -p /cache/x && echo c > /cache/x/c\n",
        "FROM base AS changed\n",
        "RUN printf 'a=1\\nb=3\\n' > /etc/app/conf && rm -r /big /cache && echo new > /new",
        " && chmod 600 /keep && chown 12:34 /etc/app && ln -s /keep /link\n",
    ));
    let b = f.build(&[]);
    assert!(b.ok(), "{}", b.stderr());
    let d: Value = serde_json::from_str(&stdout(
        &f.cmd(&["diff", "base", "changed", "--format", "json"]),
    ))
    .unwrap();
    assert_eq!(
        (d["a"].as_str(), d["b"].as_str()),
        (Some("base"), Some("changed"))
    );

    let conf = change(&d, "/etc/app/conf");
    assert_eq!(conf["change"], "modified");
    assert_eq!(conf["aspects"], serde_json::json!(["content"]));
    let text = conf["text_diff"].as_str().unwrap();
    assert!(text.contains("-b=2\n+b=3\n"), "{text}");
    let big = change(&d, "/big");
    assert_eq!(
        (big["change"].as_str(), big["delta"].as_i64()),
        (Some("removed"), Some(-100000))
    );
    assert_eq!(change(&d, "/cache/x/c")["change"], "removed");
    assert_eq!(change(&d, "/new")["change"], "added");
    assert_eq!(change(&d, "/new")["b"]["size"], 4);
    let keep = change(&d, "/keep");
    assert_eq!(keep["aspects"], serde_json::json!(["mode"]));
    assert_eq!(
        (keep["a"]["mode"].as_str(), keep["b"]["mode"].as_str()),
        (Some("0644"), Some("0600"))
    );
    let dir = change(&d, "/etc/app");
    assert_eq!(dir["aspects"], serde_json::json!(["owner"]));
    assert_eq!(
        (dir["b"]["uid"].as_u64(), dir["b"]["gid"].as_u64()),
        (Some(12), Some(34))
    );
    let link = change(&d, "/link");
    assert_eq!(
        (link["change"].as_str(), link["b"]["kind"].as_str()),
        (Some("added"), Some("symlink"))
    );
    assert_eq!(link["b"]["link"], "/keep");
    // Nothing else differs (the runtime's mount points and files leave no trace).
    let paths: Vec<&str> = d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/big",
            "/cache",
            "/cache/x",
            "/cache/x/c",
            "/etc/app",
            "/etc/app/conf",
            "/keep",
            "/link",
            "/new"
        ]
    );
    let t = &d["totals"];
    assert_eq!(
        (
            t["added"].as_u64(),
            t["removed"].as_u64(),
            t["modified"].as_u64()
        ),
        (Some(2), Some(4), Some(3))
    );
    assert_eq!(
        t["a_size"].as_u64().unwrap() - t["b_size"].as_u64().unwrap(),
        100000 + 2 - 4 - 5
    );
    assert_eq!(d["directories"][0]["path"], "/");
    assert_eq!(d["directories"][0]["bytes_removed"], 100000);

    // Steps work too; the reverse direction swaps added and removed.
    let d: Value = serde_json::from_str(&stdout(&f.cmd(&[
        "diff",
        "changed/1",
        "base/1",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(change(&d, "/big")["change"], "added");
    assert_eq!(change(&d, "/new")["change"], "removed");

    // Text: the summary line, the collapsed removed directory, the file's text diff.
    let text = stdout(&f.cmd(&["diff", "base", "changed"]));
    assert!(text.starts_with("base "), "{text}");
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains("% of base never shipped"),
        "{text}"
    );
    assert!(text.contains("  - /cache/  (2 paths, 2 B)"), "{text}");
    assert!(text.contains("      +b=3"), "{text}");
    let stat = stdout(&f.cmd(&["diff", "base", "changed", "--stat"]));
    assert!(!stat.contains("/etc/app/conf"), "{stat}");
    assert!(stat.contains("2 added, 4 removed, 3 modified"), "{stat}");
    // Unknown targets are an error that names them.
    let out = f.cmd(&["diff", "base", "nosuch"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nosuch"));
}
