//! The snapshotter fallbacks as the user: the copying snapshotter (forced with
//! `STAGECRAFT_SNAPSHOTTER=copy`, or chosen because the cached kernel probe said overlay fails)
//! builds the very image the kernel overlay builds.

use std::fs;

use super::build::{DOCKERFILE, EPOCH};
use super::common::{self, rootless::*};

#[test]
fn copying_snapshotter_builds_the_overlay_image_and_the_probe_is_cached() {
    common::require(&["runc"]);
    let base = BaseArchive::new();
    let sb = Sandbox::new(RANGED);
    ok(&sb.import(&base), "import");
    sb.write("Dockerfile", DOCKERFILE);
    sb.write("hello.txt", "hello\n");
    let args = [
        "build",
        "--progress=plain",
        "--no-cache",
        "-t",
        "out:1",
        ".",
    ];
    let overlay = sb.run_env(&args, &[EPOCH]);
    ok(&overlay, "overlay build");
    assert!(!stderr(&overlay).contains("copying snapshotter"));
    // The first rootless run probed the kernel and kept the answer per kernel release.
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let probe = sb.runtime_dir().join("overlay-probe");
    assert_eq!(
        fs::read_to_string(&probe).unwrap(),
        format!("{} Overlay\n", release.trim())
    );

    let copied = sb.run_env(&args, &[EPOCH, ("STAGECRAFT_SNAPSHOTTER", "copy")]);
    ok(&copied, "copy build");
    assert!(
        stderr(&copied).contains("warning: copying snapshotter"),
        "{}",
        stderr(&copied)
    );
    assert_eq!(
        image_digest(&copied),
        image_digest(&overlay),
        "overlay:\n{}\ncopy:\n{}",
        String::from_utf8_lossy(&overlay.stderr),
        String::from_utf8_lossy(&copied.stderr)
    );
    let shell = sb.run_env(
        &["shell", "1", "--", "cat", "/home/app/made.txt", "/opq/new"],
        &[("STAGECRAFT_SNAPSHOTTER", "copy")],
    );
    assert_eq!(stdout(&shell), "made-by-app\nnew\n", "{}", stderr(&shell));

    // A cached "overlay fails" for this kernel is believed without probing again.
    fs::write(&probe, format!("{} Copy\n", release.trim())).unwrap();
    let cached = sb.run_env(&args, &[EPOCH]);
    ok(&cached, "build after a cached failed probe");
    assert!(stderr(&cached).contains("warning: copying snapshotter"));
    assert_eq!(image_digest(&cached), image_digest(&overlay));
    ok(&sb.run(&["store", "check"]), "store check");
}
