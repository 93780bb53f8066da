//! Provenance on a real three-stage build with chained `COPY --from`: each file of the final image
//! leads back to the step that created it, through renames and across stages.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::Fixture;
use serde_json::Value;

fn hops(files: &Value, path: &str) -> Vec<(String, u64, String, u64, String)> {
    let file = files
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no {path} in {files:#}"));
    file["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["stage"].as_str().unwrap().to_string(),
                h["step"].as_u64().unwrap(),
                h["instruction"].as_str().unwrap().to_string(),
                h["line"].as_u64().unwrap(),
                h["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn hop(
    stage: &str,
    step: u64,
    instruction: &str,
    line: u64,
    path: &str,
) -> (String, u64, String, u64, String) {
    (stage.into(), step, instruction.into(), line, path.into())
}

#[test]
fn provenance_follows_chained_copy_from_to_the_creating_step() {
    let f = Fixture::new();
    f.write("local.txt", "from the context\n");
    f.dockerfile(concat!(
        "FROM busybox AS gen\n",
        "RUN mkdir /out && echo hello > /out/data.txt && head -c 5000 /dev/urandom > /out/blob\n",
        "FROM busybox AS mid\n",
        "COPY --from=gen /out/data.txt /stage/data.txt\n",
        "COPY --from=gen /out/blob /stage/renamed.bin\n",
        "RUN echo mine > /stage/own\n",
        "FROM busybox AS final\n",
        "COPY --from=mid /stage/ /app/\n",
        "COPY local.txt /app/local.txt\n",
        "RUN echo late >> /app/data.txt\n",
    ));
    let b = f.build(&[]);
    assert!(b.ok(), "{}", b.stderr());
    let out = f.cmd(&[
        "explain",
        "--provenance",
        "--limit",
        "0",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files: Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_eq!(
        hops(&files, "/app/renamed.bin"),
        [
            hop("final", 1, "COPY", 8, "/app/renamed.bin"),
            hop("mid", 2, "COPY", 5, "/stage/renamed.bin"),
            hop("gen", 1, "RUN", 2, "/out/blob"),
        ]
    );
    assert_eq!(
        hops(&files, "/app/own"),
        [
            hop("final", 1, "COPY", 8, "/app/own"),
            hop("mid", 3, "RUN", 6, "/stage/own")
        ]
    );
    // A later step that rewrites a file owns it.
    assert_eq!(
        hops(&files, "/app/data.txt"),
        [hop("final", 3, "RUN", 10, "/app/data.txt")]
    );
    assert_eq!(
        hops(&files, "/app/local.txt"),
        [hop("final", 2, "COPY", 9, "/app/local.txt")]
    );
    // Base image files: the FROM of the final stage.
    assert_eq!(
        hops(&files, "/bin/busybox"),
        [hop("final", 0, "FROM", 7, "/bin/busybox")]
    );
    // Largest first: the busybox binary, then the 5000-byte blob.
    let paths: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(&paths[..2], ["/bin/busybox", "/app/renamed.bin"]);

    // Another stage of the build; the text table names the chain.
    let out = f.cmd(&[
        "explain",
        "--provenance",
        "--stage",
        "mid",
        "--limit",
        "0",
        "--format",
        "json",
    ]);
    let mid: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        hops(&mid, "/stage/data.txt"),
        [
            hop("mid", 1, "COPY", 4, "/stage/data.txt"),
            hop("gen", 1, "RUN", 2, "/out/data.txt")
        ]
    );
    let text = String::from_utf8_lossy(&f.cmd(&["explain", "--provenance", "--limit", "3"]).stdout)
        .into_owned();
    let line = text
        .lines()
        .find(|l| l.contains("/app/renamed.bin"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("final/1 line 8: COPY --from=mid /stage/ /app/"),
        "{line}"
    );
    assert!(line.contains("gen/1 line 2: RUN mkdir /out"), "{line}");
    assert!(text.contains("more files; --limit 0 shows all"), "{text}");
}
