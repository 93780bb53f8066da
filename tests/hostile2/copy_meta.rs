//! Item 7: COPY from the context and `COPY --from` keep xattrs (`user.*`), file capabilities
//! and hard links within one COPY, as BuildKit does; they are part of the cache key; a file name
//! that is not UTF-8 goes through the context walk, `.dockerignore`, the copy, the layer tar and
//! the export as the same bytes.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::common::{Fixture, require};

/// `cap_net_bind_service+ep` as the kernel stores it (VFS_CAP_REVISION_2, effective).
const CAP_NET_BIND: [u8; 20] = [
    0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];
const LATIN1_NAME: &[u8] = b"caf\xe9.txt";
const IGNORED_NAME: &[u8] = b"junk\xff.log";

fn context(f: &Fixture) {
    let ctx = f.ctx.path();
    fs::create_dir_all(ctx.join("app")).unwrap();
    fs::write(ctx.join("app/ping"), "#!/bin/sh\necho ping\n").unwrap();
    xattr::set(ctx.join("app/ping"), "security.capability", &CAP_NET_BIND).unwrap();
    fs::write(ctx.join("app/notes"), "notes").unwrap();
    xattr::set(ctx.join("app/notes"), "user.origin", b"context").unwrap();
    fs::write(ctx.join("app/a"), "linked").unwrap();
    fs::hard_link(ctx.join("app/a"), ctx.join("app/b")).unwrap();
    fs::write(
        ctx.join("app").join(OsStr::from_bytes(LATIN1_NAME)),
        "latin-1",
    )
    .unwrap();
    fs::write(ctx.join("app").join(OsStr::from_bytes(IGNORED_NAME)), "x").unwrap();
    fs::write(ctx.join(".dockerignore"), "app/*.log\n").unwrap();
}

fn check_tree(dir: &Path, what: &str) {
    let cap = xattr::get(dir.join("ping"), "security.capability").unwrap();
    assert_eq!(
        cap.as_deref(),
        Some(&CAP_NET_BIND[..]),
        "{what}: capability"
    );
    let origin = xattr::get(dir.join("notes"), "user.origin").unwrap();
    assert_eq!(
        origin.as_deref(),
        Some(&b"context"[..]),
        "{what}: user xattr"
    );
    let (a, b) = (
        fs::metadata(dir.join("a")).unwrap(),
        fs::metadata(dir.join("b")).unwrap(),
    );
    assert_eq!((a.ino(), a.nlink()), (b.ino(), 2), "{what}: hard link");
    let latin = dir.join(OsStr::from_bytes(LATIN1_NAME));
    assert_eq!(fs::read_to_string(&latin).unwrap(), "latin-1", "{what}");
    assert!(
        !dir.join(OsStr::from_bytes(IGNORED_NAME)).exists(),
        "{what}: .dockerignore matched no non-UTF-8 name"
    );
}

#[test]
fn copies_keep_xattrs_capabilities_hard_links_and_byte_names() {
    require(&["umoci"]);
    let f = Fixture::new();
    context(&f);
    f.dockerfile(
        "FROM busybox AS src\nCOPY app /app/\n\
         FROM busybox\nCOPY --from=src /app /from/\nCOPY app/* /glob/\n",
    );
    let built = f.build(&["-t", "meta:1"]);
    assert!(built.ok(), "{}", built.stderr());
    let (_dir, rootfs) = f.unpack("meta:1");
    check_tree(&rootfs.join("from"), "COPY --from");
    let glob = rootfs.join("glob");
    assert!(glob.join(OsStr::from_bytes(LATIN1_NAME)).is_file(), "glob");
    assert!(!glob.join(OsStr::from_bytes(IGNORED_NAME)).exists(), "glob");

    // The context copy itself, read back from the store through the source stage.
    let built = f.build(&["-t", "meta-src:1", "--target", "src"]);
    assert!(built.ok(), "{}", built.stderr());
    let (_dir2, src) = f.unpack("meta-src:1");
    check_tree(&src.join("app"), "COPY from the context");

    // Same inputs: cached. A changed xattr alone: a miss naming the file.
    let again = f.build(&["-t", "meta:1"]);
    assert!(again.cached("src/1") && again.cached("1/2"), "not cached");
    xattr::set(f.ctx.path().join("app/notes"), "user.origin", b"edited").unwrap();
    let edited = f.build(&["-t", "meta:1"]);
    assert!(edited.ok(), "{}", edited.stderr());
    assert!(!edited.cached("src/1"), "an xattr change was not a miss");
    let reason = edited.miss_reason("src/1").unwrap_or_default();
    assert!(reason.contains("notes"), "reason: {reason}");
}
