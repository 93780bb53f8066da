//! rpm's sqlite database, end to end: a real `rpmdb.sqlite` written by rpm itself (Debian's rpm
//! 4.18, `rpm -i --justdb` of a package built here with `rpmbuild`), copied into a busybox image
//! with the package's files, then read back by `explain --format json`.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{Fixture, require};
use serde_json::Value;

const SPEC: &str = "\
Name: hello-sc
Version: 1.2
Release: 3
Summary: two files
License: MIT
BuildArch: noarch
%description
two files
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/hello
head -c 3000 /dev/zero > %{buildroot}/usr/bin/hello
head -c 5000 /dev/zero > %{buildroot}/usr/share/hello/data
%files
/usr/bin/hello
/usr/share/hello/data
";

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {out:?}");
}

/// Builds the package and installs it (database only) into `dbpath`.
fn rpm_db(work: &Path, dbpath: &Path) {
    std::fs::write(work.join("hello.spec"), SPEC).unwrap();
    let topdir = format!("_topdir {}", work.join("top").display());
    run(Command::new("rpmbuild")
        .args(["--define", &topdir, "-bb"])
        .arg(work.join("hello.spec")));
    let rpm = work.join("top/RPMS/noarch/hello-sc-1.2-3.noarch.rpm");
    run(Command::new("rpm")
        .arg("--dbpath")
        .arg(dbpath)
        .arg("--initdb"));
    run(Command::new("rpm")
        .args(["-i", "--justdb", "--nodeps", "--dbpath"])
        .arg(dbpath)
        .arg(rpm));
}

#[test]
fn rpm_sqlite_packages_weigh_their_files() {
    require(&["rpm", "rpmbuild"]);
    let work = tempfile::tempdir().unwrap();
    let f = Fixture::new();
    let dbpath = f.ctx.path().join("rootfs/var/lib/rpm");
    std::fs::create_dir_all(&dbpath).unwrap();
    rpm_db(work.path(), &dbpath);
    assert!(
        dbpath.join("rpmdb.sqlite").exists(),
        "rpm 4.16+ writes sqlite"
    );
    f.write("rootfs/usr/bin/hello", &"h".repeat(3000));
    f.write("rootfs/usr/share/hello/data", &"d".repeat(5000));
    // An unread format next to it is named in the notes.
    f.write("rootfs/usr/lib/sysimage/rpm/Packages.db", "not read");
    f.dockerfile("FROM busybox\nCOPY rootfs/ /\n");
    let b = f.build(&["-t", "pk-rpm:1"]);
    assert!(b.ok(), "build: {}", b.stderr());
    let r: Value = f.json(&["explain", "--format", "json", "--top", "0"]);
    let packages = r["packages"]["packages"].as_array().unwrap();
    let rpms: Vec<&Value> = packages.iter().filter(|p| p["manager"] == "rpm").collect();
    assert_eq!(rpms.len(), 1, "{packages:?}");
    let p = rpms[0];
    assert_eq!(
        (&p["name"], &p["version"]),
        (&"hello-sc".into(), &"1.2-3".into())
    );
    assert_eq!((&p["files"], &p["bytes"]), (&2.into(), &8000.into()), "{p}");
    assert_eq!(p["declared_size"], 8000);
    assert_eq!(p["layer"], 1);
    let unowned = r["packages"]["unowned"].to_string();
    assert!(!unowned.contains("usr/bin/hello"), "{unowned}");
    let notes = r["packages"]["notes"].to_string();
    assert!(
        notes.contains("/usr/lib/sysimage/rpm/Packages.db (ndb) is not read")
            && !notes.contains("rpmdb.sqlite"),
        "{notes}"
    );
}
