//! The other commands as the user: crun and `--network none`, the TUI (a live build, a layer,
//! a shell), `inspect`, `explain`, `learn`, `cache du/prune` and `image rm`, in a real terminal.

use super::common::{self, rootless::*, tmux::Tmux};

#[test]
fn crun_and_network_none_work_as_the_user() {
    common::require(&["crun", "runc"]);
    let sb = Sandbox::new(RANGED);
    ok(&sb.import_own_rootfs(), "import");
    // Only the container's own loopback, in /sys as well: sysfs is its own, not the host's.
    sb.write(
        "Dockerfile",
        "FROM busybox:latest\nRUN ls /sys/class/net > /nets && ip -o link | cut -d: -f2 >> /nets\n",
    );
    for runtime in ["crun", "runc"] {
        let args = [
            "build",
            "--progress=plain",
            "--no-cache",
            "--network",
            "none",
            "--runtime",
            runtime,
            "-t",
            "net:1",
            ".",
        ];
        ok(&sb.run(&args), runtime);
        let nets = sb.run(&["shell", "0", "--", "cat", "/nets"]);
        assert_eq!(stdout(&nets), "lo\n lo\n", "{runtime}: {}", stderr(&nets));
    }
}

/// `sh -c` line for tmux: the command as the user, then its exit code, then idle.
fn in_terminal(sb: &Sandbox, name: &str, args: &[&str]) -> Tmux {
    let socket = format!("stagecraft-rootless-{}-{name}", std::process::id());
    let script = format!("{}; echo \"exit=$?\"; exec sleep 600", sb.shell_line(args));
    Tmux::start(&socket, 120, 40, &script)
}

#[test]
fn tui_inspect_explain_learn_and_cache_work_as_the_user() {
    common::require(&["tmux", "runc"]);
    let sb = Sandbox::new(RANGED);
    ok(&sb.import_own_rootfs(), "import");
    sb.write(
        "Dockerfile",
        "FROM busybox:latest AS a\nRUN echo hi > /a.txt\nFROM busybox:latest\n\
         COPY --from=a /a.txt /a.txt\nRUN head -c 5000 /dev/zero > /big && rm /etc/group\n\
         RUN rm /big\n",
    );

    // The live build, the layer of 1/2 (a tree read from the user's snapshots), a shell in it.
    let t = in_terminal(&sb, "build", &["build", "-t", "t:1", "."]);
    t.wait_text("✓ built");
    t.send(&["Tab", "k", "t"]);
    let screen = t.wait_text("Layer · 1/2");
    let screen = if screen.contains("big") {
        screen
    } else {
        t.wait_text("big")
    };
    assert!(screen.contains("a.txt"), "{screen}");
    t.send(&["2", "s"]);
    t.wait_text("shell in 1/2");
    t.send(&["test -f /big && test $(id -u) = 0 && exit 7", "Enter"]);
    let screen = t.wait_text("exited with 7");
    t.send(&["q"]);
    let screen2 = t.wait_text("exit=");
    assert!(screen2.contains("exit=0"), "{screen}\n{screen2}");

    let t = in_terminal(&sb, "inspect", &["inspect", "t:1"]);
    t.wait_text("Layers · t:1");
    t.send(&["q"]);
    assert!(t.wait_text("exit=").contains("exit=0"));

    let explain = sb.run(&["explain", "t:1"]);
    ok(&explain, "explain");
    assert!(stdout(&explain).contains("/big"), "{}", stdout(&explain));

    // A lesson builds its own base and Dockerfile in a working copy of the user's.
    let t = in_terminal(&sb, "learn", &["learn", "6"]);
    t.wait_text("✓ built");
    t.send(&["q"]);
    assert!(t.wait_text("exit=").contains("exit=0"));

    ok(&sb.run(&["cache", "du"]), "cache du");
    ok(&sb.run(&["image", "rm", "t:1"]), "image rm");
    let pruned = sb.run(&["cache", "prune", "--all"]);
    ok(&pruned, "cache prune");
    assert!(stdout(&pruned).contains("removed"), "{}", stdout(&pruned));
    let check = sb.run(&["store", "check"]);
    ok(&check, "store check");
}
