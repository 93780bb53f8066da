//! Applies BuildKit's execution-time expansion to an instruction: exactly the fields BuildKit
//! expands (`instructions/commands.go` `Expand` methods), against the stage's current ARG/ENV
//! values. RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK commands are left for the container's shell;
//! ARG defaults go through `args::ArgScope::resolve`; FROM is expanded by `plan`.

use super::instruction::{Copy, KeyValue, Mount, Op, Source};
use super::shell::{Lexer, ShellError, Vars};

/// Returns `op` with its expandable fields expanded. `escape` is the Dockerfile's escape
/// character (`Dockerfile::directives.escape`).
pub fn expand_op(op: &Op, vars: &dyn Vars, escape: char) -> Result<Op, ShellError> {
    let lex = Lexer::new(escape);
    let word = |s: &str| lex.process(s, vars).map(|e| e.word);
    let opt = |s: &Option<String>| s.as_deref().map(word).transpose();
    let all = |v: &[String]| v.iter().map(|s| word(s)).collect::<Result<Vec<_>, _>>();
    let kvs = |v: &[KeyValue]| {
        v.iter()
            .map(|kv| {
                Ok(KeyValue {
                    key: word(&kv.key)?,
                    value: word(&kv.value)?,
                })
            })
            .collect::<Result<Vec<_>, ShellError>>()
    };
    Ok(match op {
        Op::Env(v) => Op::Env(kvs(v)?),
        Op::Label(v) => Op::Label(kvs(v)?),
        Op::Workdir(s) => Op::Workdir(word(s)?),
        Op::User(s) => Op::User(word(s)?),
        Op::Stopsignal(s) => Op::Stopsignal(word(s)?),
        Op::Expose(v) => Op::Expose(all(v)?),
        Op::Volume(v) => Op::Volume(all(v)?),
        Op::Copy(c) => Op::Copy(copy(c, &lex, vars)?),
        Op::Add(c) => Op::Add(copy(c, &lex, vars)?),
        Op::Run(r) => {
            let mut r = r.clone();
            for m in &mut r.mounts {
                *m = Mount {
                    target: opt(&m.target)?,
                    source: opt(&m.source)?,
                    from: opt(&m.from)?,
                    id: opt(&m.id)?,
                    mode: opt(&m.mode)?,
                    uid: opt(&m.uid)?,
                    gid: opt(&m.gid)?,
                    size: opt(&m.size)?,
                    env: opt(&m.env)?,
                    ..m.clone()
                };
            }
            Op::Run(r)
        }
        other => other.clone(),
    })
}

fn copy(c: &Copy, lex: &Lexer, vars: &dyn Vars) -> Result<Copy, ShellError> {
    let word = |s: &str| lex.process(s, vars).map(|e| e.word);
    let opt = |s: &Option<String>| s.as_deref().map(word).transpose();
    let mut body = *lex;
    body.skip_quotes = true;
    let mut sources = Vec::with_capacity(c.sources.len());
    for s in &c.sources {
        sources.push(match s {
            Source::Path(p) => Source::Path(word(p)?),
            Source::Heredoc(h) if h.expand => {
                let mut h = h.clone();
                h.content = body.process(&h.content, vars)?.word;
                Source::Heredoc(h)
            }
            other => other.clone(),
        });
    }
    Ok(Copy {
        sources,
        dest: word(&c.dest)?,
        from: opt(&c.from)?,
        chown: opt(&c.chown)?,
        chmod: opt(&c.chmod)?,
        checksum: opt(&c.checksum)?,
        exclude: c
            .exclude
            .iter()
            .map(|s| word(s))
            .collect::<Result<_, _>>()?,
        ..c.clone()
    })
}
