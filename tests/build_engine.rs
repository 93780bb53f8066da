//! Real builds on the busybox fixture: real overlay mounts, real runc, real layers, checked with umoci.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use common::Fixture;
use stagecraft::engine::Event;

const MULTISTAGE: &str = r#"
FROM busybox AS base
ENV GREETING=hello
RUN echo "$GREETING from base" > /greeting

FROM base AS builder
WORKDIR /src
COPY main.txt .
RUN mkdir -p /opt/toolchain && echo compiler > /opt/toolchain/cc && cat main.txt > /src/app

FROM busybox AS other
RUN echo other > /other

FROM busybox
COPY --from=builder /src/app /app
COPY --from=2 /other /other
COPY --from=busybox:1 /bin/busybox /bb
COPY --from=base /greeting /greeting
CMD ["cat", "/app"]
"#;

#[test]
fn multistage_build_ships_only_what_final_copies() {
    let f = Fixture::new();
    f.dockerfile(MULTISTAGE);
    f.write("main.txt", "the app\n");
    let b = f.build(&["-t", "test/app:1"]);
    assert!(b.ok(), "{}", b.stderr());
    let (_dir, rootfs) = f.unpack("test/app:1");
    assert_eq!(fs::read_to_string(rootfs.join("app")).unwrap(), "the app\n");
    assert_eq!(fs::read_to_string(rootfs.join("other")).unwrap(), "other\n");
    assert_eq!(
        fs::read_to_string(rootfs.join("greeting")).unwrap(),
        "hello from base\n"
    );
    assert!(rootfs.join("bb").is_file(), "COPY --from an external image");
    // The builder's toolchain never reaches the final image.
    assert!(!rootfs.join("opt/toolchain").exists());
    assert!(!rootfs.join("src").exists());
}

#[test]
fn target_builds_only_its_closure_and_skips_the_rest() {
    let f = Fixture::new();
    f.dockerfile(MULTISTAGE);
    f.write("main.txt", "x\n");
    let b = f.build(&["--target", "builder"]);
    assert!(b.ok(), "{}", b.stderr());
    let skipped: Vec<(String, String)> = b
        .events
        .iter()
        .filter_map(|r| match &r.event {
            Event::StageSkipped { stage, reason } => Some((stage.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = skipped.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names, ["other", "3"]);
    assert!(
        skipped[0].1.contains("builder"),
        "reason names the target: {}",
        skipped[0].1
    );
    assert!(b.step("other/1").is_empty(), "a skipped stage runs nothing");
    assert!(!b.step("builder/3").is_empty());
}

#[test]
fn independent_stages_run_at_the_same_time() {
    let f = Fixture::new();
    // Each stage waits until the other has started (a file in a shared cache mount), so both
    // RUN steps must be executing at once for both files to appear.
    f.dockerfile(
        r#"
FROM busybox AS a
RUN --mount=type=cache,id=rendezvous,target=/r touch /r/a && for i in $(seq 1 600); do [ -e /r/b ] && break; sleep 0.05; done; [ -e /r/b ] && echo a-saw-b > /a

FROM busybox AS b
RUN --mount=type=cache,id=rendezvous,target=/r touch /r/b && for i in $(seq 1 600); do [ -e /r/a ] && break; sleep 0.05; done; [ -e /r/a ] && echo b-saw-a > /b

FROM busybox
COPY --from=a /a /a
COPY --from=b /b /b
"#,
    );
    let b = f.build(&["--jobs", "2"]);
    assert!(b.ok(), "{}", b.stderr());
    let time = |step: &str, started: bool| {
        b.events
            .iter()
            .find(|r| {
                r.step().map(|s| s.to_string()).as_deref() == Some(step)
                    && if started {
                        matches!(r.event, Event::StepStarted { .. })
                    } else {
                        matches!(r.event, Event::StepFinished { .. })
                    }
            })
            .map(|r| r.time)
            .unwrap()
    };
    // Overlap, from the events' times: each started before the other finished.
    assert!(time("a/1", true) < time("b/1", false));
    assert!(time("b/1", true) < time("a/1", false));
}

#[test]
fn failing_run_reports_exit_code_and_output_and_leaves_nothing_behind() {
    let f = Fixture::new();
    f.dockerfile(
        "FROM busybox\nRUN echo about to fail && echo oops >&2 && exit 7\nRUN echo never\n",
    );
    let b = f.build(&[]);
    assert!(!b.ok());
    let failed = b
        .events
        .iter()
        .find_map(|r| match &r.event {
            Event::StepFailed {
                step,
                exit_code,
                message,
            } => Some((step.to_string(), *exit_code, message.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(failed.0, "0/1");
    assert_eq!(failed.1, Some(7));
    assert!(
        failed.2.contains("oops"),
        "message has the last output: {}",
        failed.2
    );
    assert!(
        b.step("0/2")
            .iter()
            .all(|e| matches!(e, Event::StepQueued { .. }))
    );
    // Scratch dirs are gone: nothing is left mounted or half-written in tmp/.
    let leftovers: Vec<_> = fs::read_dir(f.root().join("tmp")).unwrap().collect();
    assert!(leftovers.is_empty(), "tmp/ not empty: {leftovers:?}");
}

#[test]
fn copy_from_outside_the_context_is_an_error() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nCOPY ../secret /x\n");
    let b = f.build(&[]);
    assert!(!b.ok());
    assert!(
        b.stderr().contains("outside the build context"),
        "{}",
        b.stderr()
    );
    std::os::unix::fs::symlink("/etc/passwd", f.ctx.path().join("link")).unwrap();
    f.dockerfile("FROM busybox\nCOPY link /x\n");
    let b = f.build(&[]);
    assert!(!b.ok());
    assert!(
        b.stderr().contains("points outside the build context"),
        "{}",
        b.stderr()
    );
}

#[test]
fn a_file_deleted_later_is_absent_from_the_image() {
    let f = Fixture::new();
    f.dockerfile("FROM busybox\nRUN mkdir /d && echo big > /d/file && echo keep > /keep\nRUN rm -rf /d && rm /bin/vi\n");
    let b = f.build(&["-t", "test/wh:1"]);
    assert!(b.ok(), "{}", b.stderr());
    let (_dir, rootfs) = f.unpack("test/wh:1");
    assert!(!rootfs.join("d").exists());
    assert!(
        rootfs.join("bin/vi").symlink_metadata().is_err(),
        "whiteout of a base-image file"
    );
    assert!(rootfs.join("keep").is_file());
    assert!(rootfs.join("bin/sh").symlink_metadata().is_ok());
}

#[test]
fn metadata_instructions_shape_the_config_and_the_run_environment() {
    let f = Fixture::new();
    f.dockerfile(
        r#"FROM busybox
ARG VERSION=1.2
ENV APP_HOME=/srv/app PATH=/srv/bin:$PATH
LABEL org.example.version=$VERSION
WORKDIR $APP_HOME
USER app
RUN id -u > /tmp/uid; pwd > /tmp/pwd; echo "$VERSION" > /tmp/version
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGINT
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "echo hi"]
"#,
    );
    let b = f.build(&["-t", "test/meta:1"]);
    assert!(b.ok(), "{}", b.stderr());
    let (dir, rootfs) = f.unpack("test/meta:1");
    assert_eq!(
        fs::read_to_string(rootfs.join("tmp/uid")).unwrap().trim(),
        "1000"
    );
    assert_eq!(
        fs::read_to_string(rootfs.join("tmp/pwd")).unwrap().trim(),
        "/srv/app"
    );
    assert_eq!(
        fs::read_to_string(rootfs.join("tmp/version"))
            .unwrap()
            .trim(),
        "1.2"
    );
    assert_eq!(fs::metadata(rootfs.join("tmp/uid")).unwrap().uid(), 1000);
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--config"])
        .arg(format!("oci:{}:1", dir.path().join("oci").display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &config["config"];
    assert_eq!(c["User"], "app");
    assert_eq!(c["WorkingDir"], "/srv/app");
    assert_eq!(c["Labels"]["org.example.version"], "1.2");
    assert!(c["ExposedPorts"]["8080/tcp"].is_object() && c["ExposedPorts"]["53/udp"].is_object());
    assert!(c["Volumes"]["/data"].is_object());
    assert_eq!(c["StopSignal"], "SIGINT");
    assert_eq!(c["Entrypoint"], serde_json::json!(["/bin/sh"]));
    assert_eq!(c["Cmd"], serde_json::json!(["-c", "echo hi"]));
    let env: Vec<String> = serde_json::from_value(c["Env"].clone()).unwrap();
    assert!(env.contains(&"APP_HOME=/srv/app".to_string()));
    assert!(
        env.iter()
            .any(|e| e.starts_with("PATH=/srv/bin:/usr/local/sbin")),
        "{env:?}"
    );
    assert!(
        !env.iter().any(|e| e.starts_with("VERSION=")),
        "ARGs stay out of the image"
    );
    let history = config["history"].as_array().unwrap();
    assert!(
        history
            .iter()
            .any(|h| h["created_by"] == "EXPOSE 8080/tcp 53/udp" && h["empty_layer"] == true),
        "{history:?}"
    );
}

#[test]
fn heredocs_secrets_cache_mounts_and_add_archives() {
    let f = Fixture::new();
    let tarball = f.ctx.path().join("files.tar.gz");
    let src = tempfile::tempdir().unwrap();
    fs::write(src.path().join("inside.txt"), "from the archive\n").unwrap();
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(src.path())
        .arg("inside.txt")
        .status()
        .unwrap();
    assert!(status.success());
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("token.txt");
    fs::write(&secret, "s3cr3t-value-42").unwrap();
    f.dockerfile(concat!(
        "FROM busybox\n",
        "COPY <<EOF /etc/motd\n",
        "hello heredoc\n",
        "EOF\n",
        "RUN <<EOT\n",
        "echo line1 > /script-out\n",
        "echo line2 >> /script-out\n",
        "EOT\n",
        "RUN --mount=type=secret,id=token cat /run/secrets/token | wc -c > /secret-len\n",
        "RUN --mount=type=cache,target=/cache echo run >> /cache/count && wc -l < /cache/count > /cache-count\n",
        "ADD files.tar.gz /unpacked/\n",
    ));
    let secret_arg = format!("id=token,src={}", secret.display());
    let b = f.build(&["-t", "test/misc:1", "--secret", &secret_arg]);
    assert!(b.ok(), "{}", b.stderr());
    let (_dir, rootfs) = f.unpack("test/misc:1");
    assert_eq!(
        fs::read_to_string(rootfs.join("etc/motd")).unwrap(),
        "hello heredoc\n"
    );
    assert_eq!(
        fs::read_to_string(rootfs.join("script-out")).unwrap(),
        "line1\nline2\n"
    );
    assert_eq!(
        fs::read_to_string(rootfs.join("secret-len"))
            .unwrap()
            .trim(),
        "15"
    );
    assert!(!rootfs.join("run/secrets/token").exists());
    assert_eq!(
        fs::read_to_string(rootfs.join("unpacked/inside.txt")).unwrap(),
        "from the archive\n"
    );
    assert_eq!(
        fs::read_to_string(rootfs.join("cache-count"))
            .unwrap()
            .trim(),
        "1"
    );
    // The secret's bytes are in no blob, snapshot, record or event.
    for entry in walkdir::WalkDir::new(f.root())
        .into_iter()
        .filter_map(Result::ok)
    {
        if entry.file_type().is_file() {
            let data = fs::read(entry.path()).unwrap();
            assert!(
                !data.windows(15).any(|w| w == b"s3cr3t-value-42"),
                "secret found in {}",
                entry.path().display()
            );
        }
    }
    assert!(!String::from_utf8_lossy(&b.output.stdout).contains("s3cr3t-value-42"));
    // The cache mount persists: running that step again sees the first run's line.
    let b = f.build(&["-t", "test/misc:2", "--no-cache", "--secret", &secret_arg]);
    assert!(b.ok(), "{}", b.stderr());
    let (_dir, rootfs) = f.unpack("test/misc:2");
    assert_eq!(
        fs::read_to_string(rootfs.join("cache-count"))
            .unwrap()
            .trim(),
        "2"
    );
}

/// A tiny HTTP server on 127.0.0.1 serving one body, for ADD <url>.
fn serve_once(body: &'static [u8]) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/files/tool.txt", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(body).unwrap();
        }
    });
    (url, handle)
}

#[test]
fn add_url_bind_mounts_and_network_none() {
    let f = Fixture::new();
    let (url, server) = serve_once(b"downloaded\n");
    let sum = "sha256:1ef1a8adcfc87bd32e1e0d6b6f9f1ba4ab6e7e28c0a2b1c0b2c9d7b3f5d7c4a1";
    f.dockerfile(&format!(
        "FROM busybox AS tools\nRUN echo from-tools > /tool\n\nFROM busybox\nADD {url} /opt/\nRUN --mount=type=bind,from=tools,source=/tool,target=/mnt/tool cp /mnt/tool /copied\nRUN --network=none ip -o link | cut -d: -f2 | tr -d ' ' > /links\n"
    ));
    let b = f.build(&["-t", "test/add:1"]);
    assert!(b.ok(), "{}", b.stderr());
    let (_dir, rootfs) = f.unpack("test/add:1");
    assert_eq!(
        fs::read_to_string(rootfs.join("opt/tool.txt")).unwrap(),
        "downloaded\n"
    );
    assert_eq!(
        fs::read_to_string(rootfs.join("copied")).unwrap(),
        "from-tools\n"
    );
    assert_eq!(fs::read_to_string(rootfs.join("links")).unwrap(), "lo\n");
    assert!(
        !rootfs.join("mnt/tool").exists(),
        "bind mounts leave nothing in the layer"
    );
    // A wrong --checksum fails the step and names both digests.
    f.dockerfile(&format!("FROM busybox\nADD --checksum={sum} {url} /opt/\n"));
    let b = f.build(&["--no-cache"]);
    assert!(!b.ok());
    assert!(b.stderr().contains("checksum mismatch"), "{}", b.stderr());
    server.join().unwrap();
}
