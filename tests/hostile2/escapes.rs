//! Item 5: escape sequences from a build (RUN output, the Dockerfile's text, the error after a
//! failed step) never reach the terminal raw. The build runs on a pty; the test reads the exact
//! bytes stagecraft wrote to it.

use std::io::Read;
use std::process::{Command, Stdio};

use super::common::{Fixture, bin};

/// Title, clear screen, cursor report (the terminal types a reply), clipboard write (OSC 52),
/// hyperlink (OSC 8), DCS, and a C1 CSI.
const NASTY: &str = r"printf '\033]0;pwned\007\033[2J\033[6n\033]52;c;cHduZWQ=\007\033]8;;http://x\007l\033]8;;\007\033P+q\033\\\302\2336n\n'";

/// Everything stagecraft writes to a pty (stdout and stderr both) until it exits.
fn run_on_pty(f: &Fixture, args: &[&str]) -> Vec<u8> {
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut cmd = Command::new(bin());
    cmd.arg("--root").arg(f.root()).args(args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave.try_clone().unwrap()));
    let mut child = cmd.spawn().unwrap();
    // Every copy of the slave in this process must be closed, or the read never sees its end.
    drop(cmd);
    drop(pty.slave);
    let mut master = std::fs::File::from(pty.master);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // The read ends with EIO once the child (the last holder of the slave) has exited.
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    child.wait().unwrap();
    out
}

/// Every ESC in `bytes` starts a colour (SGR) sequence, the only kind we write ourselves.
fn only_colours(bytes: &[u8]) -> Result<(), String> {
    let mut i = 0;
    while let Some(at) = bytes[i..].iter().position(|b| *b == 0x1b) {
        let start = i + at;
        let rest = &bytes[start + 1..];
        let params = rest
            .iter()
            .skip(1)
            .take_while(|b| b.is_ascii_digit() || **b == b';')
            .count();
        if rest.first() != Some(&b'[') || rest.get(1 + params) != Some(&b'm') {
            let end = (start + 24).min(bytes.len());
            return Err(format!(
                "raw escape: {:?}",
                String::from_utf8_lossy(&bytes[start..end])
            ));
        }
        i = start + 1;
    }
    if bytes.windows(2).any(|w| w == [0xc2, 0x9b]) {
        return Err("raw C1 CSI".into());
    }
    Ok(())
}

#[test]
fn build_output_instruction_text_and_errors_reach_a_pty_made_visible() {
    let f = Fixture::new();
    // The Dockerfile's own text carries a raw ESC too (in the RUN line's comment-like echo).
    f.dockerfile(&format!(
        "FROM busybox\nRUN {NASTY}\nRUN echo \"\u{1b}]0;from-dockerfile\u{7}\"\nRUN {NASTY}; exit 3\n"
    ));
    let ctx = f.ctx.path().display().to_string();
    let out = run_on_pty(&f, &["build", "--progress=plain", &ctx]);
    let text = String::from_utf8_lossy(&out);
    if let Err(e) = only_colours(&out) {
        panic!("{e}\n{text}");
    }
    assert!(
        text.contains("^[]0;pwned^G^[[2J^[[6n^[]52;c;cHduZWQ=^G"),
        "{text}"
    );
    assert!(text.contains("^[P+q^[\\M-^[6n"), "{text}");
    assert!(text.contains("^[]0;from-dockerfile^G"), "{text}");
    // The failed step's error (printed by miette after the progress) shows its output's tail.
    assert!(text.contains("exit code 3"), "{text}");
}
