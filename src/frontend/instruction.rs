//! Typed, located Dockerfile instructions: what the engine executes.
//!
//! Values are as written (variables not expanded, quotes still in where BuildKit keeps them until
//! expansion): ENV/LABEL/ARG values, COPY/ADD paths, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL and
//! mount options must go through `frontend::shell::expand` with the stage's ARG/ENV state when
//! the step runs (see `shell` for exactly which instructions BuildKit expands).

use std::time::Duration;

/// Where an instruction is in the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Span {
    /// 1-based line and column of the keyword.
    pub line: usize,
    pub col: usize,
    /// Last line (continuations and heredoc bodies included).
    pub end_line: usize,
    /// Byte range in the source (BOM included in offsets).
    pub offset: usize,
    pub len: usize,
    /// The instruction exactly as written (continuation lines and heredoc bodies included).
    pub original: String,
    /// The instruction with continuations joined and comment lines dropped (no heredoc bodies).
    pub joined: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub span: Span,
    pub op: Op,
}

impl Instruction {
    /// Upper-case keyword: `RUN`, `COPY`, …
    pub fn keyword(&self) -> &'static str {
        self.op.keyword()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    From(From),
    Run(Run),
    Cmd(Command),
    Entrypoint(Command),
    Copy(Copy),
    Add(Copy),
    Env(Vec<KeyValue>),
    Label(Vec<KeyValue>),
    Arg(Vec<ArgDecl>),
    Workdir(String),
    User(String),
    Expose(Vec<String>),
    Volume(Vec<String>),
    Shell(Vec<String>),
    Stopsignal(String),
    Healthcheck(Healthcheck),
    Onbuild(Box<Instruction>),
    Maintainer(String),
}

impl Op {
    pub fn keyword(&self) -> &'static str {
        match self {
            Op::From(_) => "FROM",
            Op::Run(_) => "RUN",
            Op::Cmd(_) => "CMD",
            Op::Entrypoint(_) => "ENTRYPOINT",
            Op::Copy(_) => "COPY",
            Op::Add(_) => "ADD",
            Op::Env(_) => "ENV",
            Op::Label(_) => "LABEL",
            Op::Arg(_) => "ARG",
            Op::Workdir(_) => "WORKDIR",
            Op::User(_) => "USER",
            Op::Expose(_) => "EXPOSE",
            Op::Volume(_) => "VOLUME",
            Op::Shell(_) => "SHELL",
            Op::Stopsignal(_) => "STOPSIGNAL",
            Op::Healthcheck(_) => "HEALTHCHECK",
            Op::Onbuild(_) => "ONBUILD",
            Op::Maintainer(_) => "MAINTAINER",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    /// Image reference, stage name or `scratch`, unexpanded (`${BASE}:1`).
    pub image: String,
    pub platform: Option<String>,
    /// `AS name`, lower-cased as BuildKit does.
    pub name: Option<String>,
}

/// Exec form (`["a", "b"]`, run directly) or shell form (run with the stage's SHELL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Exec(Vec<String>),
    Shell(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// Delimiter, quotes removed.
    pub name: String,
    /// Body; for `<<-` leading tabs are already stripped.
    pub content: String,
    /// False when the delimiter was quoted: BuildKit then uses the body literally.
    pub expand: bool,
    pub chomp: bool,
    pub fd: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Shell form keeps `<<EOF` words in the command; `heredocs` holds their bodies in order.
    pub command: Command,
    pub heredocs: Vec<Heredoc>,
    pub mounts: Vec<Mount>,
    pub network: Option<Network>,
    pub security: Option<Security>,
}

impl Run {
    /// The heredoc of a shell-form RUN that is nothing but that heredoc (`RUN <<EOF`).
    pub fn sole_heredoc(&self) -> Option<&Heredoc> {
        let Command::Shell(cmd) = &self.command else {
            return None;
        };
        let [doc] = self.heredocs.as_slice() else {
            return None;
        };
        let word = cmd.trim().strip_prefix("<<")?;
        (word.trim_start_matches('-').trim_matches(['\'', '"']) == doc.name).then_some(doc)
    }

    /// The text to hand to the stage's SHELL (`sh -c <text>`) for a shell-form RUN, following
    /// BuildKit: a RUN that is exactly one heredoc (`RUN <<EOF`) runs the heredoc body (when the
    /// body starts with `#!`, BuildKit instead writes it to a file and executes that file);
    /// otherwise the heredoc bodies and terminators follow the command line, so the shell reads
    /// them as ordinary heredocs. `None` for exec form. Expansion of `$VAR` is left to the shell.
    pub fn shell_script(&self) -> Option<String> {
        let Command::Shell(cmd) = &self.command else {
            return None;
        };
        if let Some(doc) = self.sole_heredoc() {
            return Some(doc.content.clone());
        }
        let mut script = cmd.clone();
        for doc in &self.heredocs {
            script.push('\n');
            script.push_str(&doc.content);
            script.push_str(&doc.name);
        }
        Some(script)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Default,
    None,
    Host,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Sandbox,
    Insecure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    Shared,
    Private,
    Locked,
}

/// `RUN --mount=...`. String fields are unexpanded; BuildKit expands them with the stage's
/// ARG/ENV values before use. Defaults are BuildKit's (bind mounts are read-only, caches shared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountType,
    /// Mount point in the container. Secret default: `/run/secrets/<id>`; ssh: `/run/buildkit/ssh_agent.0`.
    pub target: Option<String>,
    /// Path in the source (`from` stage/image, or the build context).
    pub source: Option<String>,
    /// Stage name/index or image the source path is read from.
    pub from: Option<String>,
    pub readonly: bool,
    /// Cache/secret/ssh id.
    pub id: Option<String>,
    pub sharing: Sharing,
    /// Octal file mode (cache, secret, ssh), as written.
    pub mode: Option<String>,
    pub uid: Option<String>,
    pub gid: Option<String>,
    /// Secret/ssh: fail when missing.
    pub required: bool,
    /// tmpfs size, as written (`64m`).
    pub size: Option<String>,
    /// Secret exposed as this environment variable.
    pub env: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Path(String),
    Heredoc(Heredoc),
}

/// COPY and ADD. `from` is COPY-only; `checksum`, `keep_git_dir` and `unpack` are ADD-only.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Copy {
    pub sources: Vec<Source>,
    pub dest: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub exclude: Vec<String>,
    pub checksum: Option<String>,
    pub keep_git_dir: bool,
    pub unpack: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    /// As written: `"a b"` keeps its quotes until expansion.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    /// Default as written (unexpanded, quotes kept).
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable any inherited check.
    None,
    Check(HealthcheckConfig),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthcheckConfig {
    /// `CMD` in exec form runs directly, in shell form through `/bin/sh -c` (`CMD-SHELL`).
    pub test: Command,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u32>,
}
