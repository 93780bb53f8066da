//! `stagecraft completions` and `stagecraft man`, checked by the tools that consume them: bash
//! completes a flag from the generated script, groff renders the generated pages.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::Command;

fn stagecraft(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bash_completes_build_flags_from_the_generated_script() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("stagecraft.bash");
    std::fs::write(&script, stagecraft(&["completions", "bash"])).unwrap();
    // What bash does on `stagecraft build --no-ca<TAB>`.
    let probe = format!(
        "source {}; COMP_WORDS=(stagecraft build --no-ca); COMP_CWORD=2; \
         _stagecraft stagecraft --no-ca build; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = Command::new("bash").arg("-c").arg(&probe).output().unwrap();
    let replies = String::from_utf8_lossy(&out.stdout);
    assert!(
        replies.lines().any(|l| l == "--no-cache"),
        "bash offered {replies:?}; stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        replies.lines().all(|l| l.starts_with("--no-ca")),
        "{replies:?}"
    );
}

#[test]
fn zsh_and_fish_scripts_name_the_subcommands() {
    let zsh = stagecraft(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef stagecraft"), "{zsh:.80}");
    assert!(
        zsh.contains("'--no-cache[") && zsh.contains("build:"),
        "zsh"
    );
    let fish = stagecraft(&["completions", "fish"]);
    assert!(
        fish.contains("complete -c stagecraft") && fish.contains("-l no-cache"),
        "fish"
    );
}

#[test]
fn man_pages_render_with_groff() {
    let dir = tempfile::tempdir().unwrap();
    stagecraft(&["man", "--dir", &dir.path().display().to_string()]);
    let page = dir.path().join("stagecraft-build.1");
    assert!(page.is_file(), "no stagecraft-build.1");
    // Plain text: no bold/underline overstrikes.
    let out = Command::new("groff")
        .args(["-man", "-Tascii", "-P-cbou"])
        .arg(&page)
        .output()
        .expect("groff (apt-get install groff-base)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("--no-cache") && text.contains("--iidfile"),
        "{text}"
    );
    let top = stagecraft(&["man"]);
    assert!(
        top.starts_with(".ie \\n(.g") || top.contains(".TH stagecraft 1"),
        "{top:.200}"
    );
    assert!(
        top.contains("completions") && top.contains("build"),
        "top page lists subcommands"
    );
}
