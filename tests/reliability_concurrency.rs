//! Several processes on one store: four builds at once (two of them identical, so they race for
//! the same cache keys, snapshots and blobs) all succeed with correct images; `cache prune` and
//! `image prune` started while a build runs wait for it and remove nothing it needs. Overlap is made certain
//! without sleeping: each build's RUN connects to a listener of the test and blocks until the
//! test answers, and the test answers only once every build is inside its RUN.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{Fixture, bin};

/// A RUN that blocks until the test writes a line to it, then keeps that line in `/gate`.
fn gate(port: u16) -> String {
    format!("RUN nc 127.0.0.1 {port} > /gate && test -s /gate")
}

fn same(port: u16) -> String {
    format!(
        "FROM busybox AS base\nCOPY data.txt /data.txt\n{}\nRUN seq 1 3000 > /seq && cat /data.txt >> /seq\n\
         FROM busybox\nCOPY --from=base /seq /seq\nCOPY --from=base /gate /gate\nRUN sha256sum /seq > /sum\n",
        gate(port)
    )
}

fn other_c(port: u16) -> String {
    format!(
        "FROM busybox\nCOPY data.txt /c.txt\n{}\nRUN cat /c.txt /c.txt > /twice\n",
        gate(port)
    )
}

fn other_d(port: u16) -> String {
    format!(
        "FROM busybox AS a\n{}\nRUN mkdir /many && for i in $(seq 1 200); do echo $i > /many/$i; done\n\
         FROM busybox\nCOPY --from=a /many /many\nCOPY data.txt /d.txt\n",
        gate(port)
    )
}

fn context(dockerfile: &str, data: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    fs::write(dir.path().join("data.txt"), data).unwrap();
    dir
}

fn spawn_build(f: &Fixture, tag: &str, ctx: &Path) -> Child {
    Command::new(bin())
        .arg("--root")
        .arg(f.root())
        .args(["build", "--progress=plain", "-t", tag])
        .arg(ctx)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child, what: &str) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Accepts `n` connections (each a build inside its gated RUN) and only then answers them all.
fn release_when_all_waiting(listener: &TcpListener, n: usize) {
    let waiting: Vec<TcpStream> = (0..n).map(|_| listener.accept().unwrap().0).collect();
    for mut s in waiting {
        s.write_all(b"go\n").unwrap();
    }
}

fn assert_store_clean(f: &Fixture) {
    let out = f.cmd(&["store", "check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(": 0 problems"),
        "store check: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(root: &Path, rel: &str) -> String {
    fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn expected_seq(data: &str) -> String {
    let mut s: String = (1..=3000).map(|i| format!("{i}\n")).collect();
    s.push_str(data);
    s
}

#[test]
fn four_builds_at_once_on_one_store() {
    let f = Fixture::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let a = context(&same(port), "shared data\n");
    let b = context(&same(port), "shared data\n");
    let c = context(&other_c(port), "only c\n");
    let d = context(&other_d(port), "only d\n");
    let children = [
        ("conc/a:1", spawn_build(&f, "conc/a:1", a.path())),
        ("conc/b:1", spawn_build(&f, "conc/b:1", b.path())),
        ("conc/c:1", spawn_build(&f, "conc/c:1", c.path())),
        ("conc/d:1", spawn_build(&f, "conc/d:1", d.path())),
    ];
    // All four are inside a RUN at this point; they commit their layers at the same time.
    release_when_all_waiting(&listener, 4);
    for (tag, child) in children {
        finish(child, tag);
    }
    for tag in ["conc/a:1", "conc/b:1"] {
        let (_dir, root) = f.unpack(tag);
        let seq = read(&root, "seq");
        assert_eq!(seq, expected_seq("shared data\n"), "{tag}");
        assert_eq!(read(&root, "gate"), "go\n", "{tag}");
        let sum = read(&root, "sum");
        assert!(sum.ends_with("  /seq\n"), "{tag}: {sum}");
    }
    let (_dir, root) = f.unpack("conc/c:1");
    assert_eq!(read(&root, "twice"), "only c\nonly c\n");
    assert_eq!(read(&root, "gate"), "go\n");
    let (_dir, root) = f.unpack("conc/d:1");
    assert_eq!(read(&root, "d.txt"), "only d\n");
    assert_eq!(fs::read_dir(root.join("many")).unwrap().count(), 200);
    assert_eq!(read(&root, "many/137"), "137\n");
    assert_store_clean(&f);

    // A rebuild of the identical pair hits the cache for every step the racing builds stored.
    let out = Command::new(bin())
        .arg("--root")
        .arg(f.root())
        .args(["build", "--progress=json", "-t", "conc/a:2"])
        .arg(a.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = String::from_utf8_lossy(&out.stdout);
    assert!(
        !events.contains("\"step_finished\""),
        "every step is cached after the concurrent builds"
    );
}

/// Starts `stagecraft ARGS` and returns it once it said on stderr that it waits for the store.
fn spawn_waiting(f: &Fixture, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(bin())
        .arg("--root")
        .arg(f.root())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

#[test]
fn prune_during_a_build_removes_nothing_it_needs() {
    let f = Fixture::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // An earlier, untagged build: its records and layers are what a prune may take.
    let old = context(&other_c(port), "old\n");
    let old_build = spawn_build(&f, "conc/old:1", old.path());
    release_when_all_waiting(&listener, 1);
    finish(old_build, "old build");
    assert!(f.cmd(&["image", "rm", "conc/old:1"]).status.success());

    let ctx = context(&same(port), "needed by the build\n");
    let build = spawn_build(&f, "conc/live:1", ctx.path());
    // The build is inside its RUN: its base, its COPY layer and its snapshots are in use.
    let (conn, _) = listener.accept().unwrap();
    let (cache_prune, said) = spawn_waiting(&f, &["cache", "prune", "--all"]);
    assert!(said.contains("waiting"), "cache prune: {said}");
    // `image prune` waits the same way (issue 21 item 9: it used to refuse).
    let (image_prune, said_img) = spawn_waiting(&f, &["image", "prune"]);
    assert!(said_img.contains("waiting"), "image prune: {said_img}");
    let mut conn = conn;
    conn.write_all(b"go\n").unwrap();
    drop(conn);
    finish(build, "build during prune");
    let mut out = String::new();
    let mut cache_prune = cache_prune;
    cache_prune
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    finish(cache_prune, "cache prune");
    finish(image_prune, "image prune");

    let (_dir, root) = f.unpack("conc/live:1");
    assert_eq!(read(&root, "seq"), expected_seq("needed by the build\n"));
    assert_eq!(read(&root, "gate"), "go\n");
    assert!(read(&root, "sum").ends_with("  /seq\n"));
    assert!(root.join("bin/busybox").is_file(), "base layer intact");
    assert_store_clean(&f);
}
