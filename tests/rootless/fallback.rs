//! A user without a subordinate range: a single-ID map, a warning naming the fix, and a clear
//! error when an image or a USER needs another ID.

use super::common::{self, rootless::*};

#[test]
fn single_id_fallback_builds_as_root_and_names_the_fix_for_other_ids() {
    common::require(&["runc"]);
    let sb = Sandbox::new(SINGLE);
    // The root-made base holds /home/app as uid 1000, which has no host ID here.
    let base = BaseArchive::new();
    let refused = sb.import(&base);
    assert!(!refused.status.success(), "{}", stderr(&refused));
    let said = stderr(&refused);
    assert!(
        said.contains("uid 1000 is outside the ID map") && said.contains("/etc/subuid"),
        "{said}"
    );
    let own = sb.import_own_rootfs();
    ok(&own, "import a base of the user's own files");
    assert!(
        stderr(&own).contains("usermod --add-subuids"),
        "{}",
        stderr(&own)
    );

    sb.write(
        "Dockerfile",
        "FROM busybox:latest\nRUN mkdir /d && echo x > /d/f && echo y > /gone\nRUN rm /gone && id -u > /d/id\n",
    );
    ok(
        &sb.run(&["build", "--progress=plain", "-t", "s:1", "."]),
        "build",
    );
    let shell = sb.run(&["shell", "0", "--", "sh", "-c", "cat /d/id; ls /gone"]);
    assert_eq!(stdout(&shell), "0\n", "{}", stderr(&shell));

    sb.write("Dockerfile", "FROM busybox:latest\nUSER 1000\nRUN id\n");
    let refused = sb.run(&["build", "--progress=plain", "."]);
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(
        said.contains("uid 1000 is outside the ID map") && said.contains("/etc/subuid"),
        "{said}"
    );
}
