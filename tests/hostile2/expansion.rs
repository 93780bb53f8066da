//! Item 1: a few hundred bytes of Dockerfile that double or square a variable must end in a
//! file:line:col error, not in the kernel's OOM killer.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use super::common::{Fixture, bin};
use super::limits::{AS_LIMIT, run_limited};

/// `NAME0=xxxxxxxxxx` then thirty lines each quadrupling the previous one (10·4³⁰ bytes).
fn quadrupling(keyword: &str) -> String {
    let mut s = format!("{keyword} A0=xxxxxxxxxx\n");
    for i in 1..=30 {
        let p = format!("${{A{}}}", i - 1);
        s.push_str(&format!("{keyword} A{i}={p}{p}{p}{p}\n"));
    }
    s
}

fn run(f: &Fixture, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("--root").arg(f.root()).args(args);
    run_limited(&mut cmd, AS_LIMIT)
}

/// The command failed by itself (exit status 1, no signal, no abort) naming `line` of the
/// Dockerfile and the limit.
fn assert_limit_error(out: &Output, line: usize, what: &str) {
    let raw = String::from_utf8_lossy(&out.stderr);
    // miette wraps and frames the message: search it as one line of words.
    let stderr = raw
        .replace(['│', '×'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(out.status.signal(), None, "killed by a signal: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("Dockerfile:{line}:1")),
        "no location for line {line}: {stderr}"
    );
    assert!(stderr.contains(what), "no {what:?}: {stderr}");
    assert!(raw.len() < 20_000, "error is {} bytes long", raw.len());
}

fn plan_and_build(f: &Fixture, dockerfile: &str, line: usize, what: &str) {
    f.dockerfile(dockerfile);
    let ctx = f.ctx.path().display().to_string();
    assert_limit_error(&run(f, &["plan", &ctx]), line, what);
    assert_limit_error(&run(f, &["build", "--progress=plain", &ctx]), line, what);
}

#[test]
fn quadrupled_env_fails_at_its_line_under_a_memory_cap() {
    let f = Fixture::new();
    let df = format!("FROM busybox\n{}RUN echo never\n", quadrupling("ENV"));
    // A9 is 10·4⁹ = 2.6 MB, the first over the 1 MiB an expansion may add; it is line 11.
    plan_and_build(&f, &df, 11, "an expansion may add at most 1048576 bytes");
}

#[test]
fn quadrupled_global_args_fail_at_their_line_under_a_memory_cap() {
    let f = Fixture::new();
    let df = format!("{}FROM busybox\nRUN echo never\n", quadrupling("ARG"));
    plan_and_build(&f, &df, 10, "an expansion may add at most 1048576 bytes");
}

#[test]
fn many_large_variables_hit_the_stage_limit() {
    let f = Fixture::new();
    let mut df = format!(
        "FROM busybox\n{}",
        quadrupling("ENV")
            .lines()
            .take(9)
            .collect::<Vec<_>>()
            .join("\n")
    );
    // A8 is 655,360 bytes; seven copies pass the 4 MiB a stage's variables may hold.
    df.push_str("\nENV B1=$A8 B2=$A8 B3=$A8 B4=$A8 B5=$A8 B6=$A8 B7=$A8\nRUN echo never\n");
    plan_and_build(&f, &df, 11, "over the limit of 4194304 bytes");
}

#[test]
fn squaring_by_pattern_replacement_is_capped() {
    let f = Fixture::new();
    let mut df = format!(
        "FROM busybox\n{}",
        quadrupling("ENV")
            .lines()
            .take(7)
            .collect::<Vec<_>>()
            .join("\n")
    );
    // A6 is 40,960 bytes: replacing each of its characters by itself squares it to 1.6 GB.
    df.push_str("\nCOPY ${A6//?/$A6} /x\n");
    plan_and_build(&f, &df, 9, "an expansion may add at most 1048576 bytes");
}
