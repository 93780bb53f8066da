//! `RUN <<EOF` whose body starts with `#!`: like BuildKit, the body becomes a file the step runs
//! with that interpreter instead of text for the stage's SHELL. The file is bound read-only (and
//! `noexec`) under `/dev/pipes/`, so the interpreter is started the way the kernel would start a
//! script: `#!/usr/bin/env python3` runs `/usr/bin/env python3 /dev/pipes/EOF`.

use sha2::{Digest, Sha256};

use crate::exec::{Command, ExtraMount};
use crate::frontend::instruction::Run;

pub struct Script {
    name: String,
    content: String,
}

/// The script of a RUN that is exactly one heredoc with a `#!` line, if it is one.
pub fn script(run: &Run) -> Option<Script> {
    let doc = run.sole_heredoc().filter(|d| d.content.starts_with("#!"))?;
    Some(Script {
        name: doc.name.clone(),
        content: doc.content.clone(),
    })
}

impl Script {
    fn path(&self) -> String {
        format!("/dev/pipes/{}", self.name)
    }

    /// Interpreter, its one optional argument (Linux passes the rest of the line as one), the file.
    pub fn command(&self) -> Command {
        let line = self.content.lines().next().unwrap_or_default();
        let line = line.trim_start_matches("#!").trim();
        let mut argv: Vec<String> = match line.split_once([' ', '\t']) {
            Some((interp, arg)) => vec![interp.to_string(), arg.trim().to_string()],
            None => vec![line.to_string()],
        };
        argv.push(self.path());
        Command::Exec(argv)
    }

    pub fn mount(&self) -> ExtraMount {
        ExtraMount::Secret {
            contents: self.content.clone().into_bytes(),
            target: self.path(),
            uid: 0,
            gid: 0,
            mode: 0o755,
        }
    }

    /// What the cache key adds: the body is not in the command line, so its digest goes in.
    pub fn key_part(&self) -> String {
        format!(
            " <<{}:{}",
            self.name,
            hex::encode(Sha256::digest(self.content.as_bytes()))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::instruction;

    fn run(body: &str) -> Run {
        Run {
            command: instruction::Command::Shell("<<EOF".into()),
            heredocs: vec![instruction::Heredoc {
                name: "EOF".into(),
                content: body.into(),
                expand: true,
                chomp: false,
                fd: None,
            }],
            mounts: Vec::new(),
            network: None,
            security: None,
        }
    }

    #[test]
    fn shebang_line_names_the_interpreter() {
        let s = script(&run("#!/usr/bin/env python3\nprint(1)\n")).expect("a script");
        assert_eq!(
            s.command().argv(),
            ["/usr/bin/env", "python3", "/dev/pipes/EOF"]
        );
        let s = script(&run("#!/bin/sh\necho\n")).expect("a script");
        assert_eq!(s.command().argv(), ["/bin/sh", "/dev/pipes/EOF"]);
        assert!(script(&run("echo no shebang\n")).is_none());
    }
}
