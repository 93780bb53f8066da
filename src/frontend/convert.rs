//! Parse-level nodes → typed instructions, with BuildKit's instruction rules
//! (`instructions/parse.go`): flag names and values, argument counts, heredoc sources.

use std::sync::Arc;

use super::error::{ErrorKind, FrontendError};
use super::flags::{self, Kind};
use super::instruction::*;
use super::syntax::{self, Node, Parsed, lines};

/// Converts nodes to instructions; errors point into `source` (the full text, BOM included).
pub struct Converter<'a> {
    pub source: &'a Arc<String>,
    pub path: &'a str,
    pub bom: usize,
}

struct At<'a> {
    conv: &'a Converter<'a>,
    raw: &'a lines::RawInstruction,
    node: &'a Node,
}

impl At<'_> {
    fn error(&self, kind: ErrorKind, text_offset: usize, len: usize) -> FrontendError {
        let offset = self.conv.bom + self.raw.source_offset(text_offset);
        FrontendError::new(kind).at(self.conv.source, self.conv.path, offset, len)
    }
    fn args_error(&self, message: String) -> FrontendError {
        let len = self.raw.text.len().saturating_sub(self.node.rest_at).max(1);
        self.error(ErrorKind::Syntax(message), self.node.rest_at, len)
    }
    fn keyword_error(&self, message: String) -> FrontendError {
        self.error(
            ErrorKind::Syntax(message),
            self.node.keyword_at,
            self.node.keyword.len(),
        )
    }
    fn flags(&self, spec: &[(&'static str, Kind)]) -> Result<flags::Flags, FrontendError> {
        flags::parse(&self.node.keyword, &self.node.flags, spec).map_err(|e| self.flag_error(e))
    }
    fn flag_error(&self, e: flags::FlagError) -> FrontendError {
        let f = &self.node.flags[e.index.min(self.node.flags.len().saturating_sub(1))];
        let kind = match e.message.strip_prefix("unknown flag: --") {
            Some(flag) => ErrorKind::UnknownFlag {
                instruction: self.node.keyword.clone(),
                flag: flag.to_string(),
            },
            None => ErrorKind::Flag(e.message),
        };
        let err = self.error(kind, f.start, f.end - f.start);
        match e.help {
            Some(h) => err.with_help(h),
            None => err,
        }
    }
    fn flag_value_error(&self, fl: &flags::Flags, name: &str, message: String) -> FrontendError {
        self.flag_error(flags::FlagError {
            message,
            index: fl.index(name).unwrap_or(0),
            help: None,
        })
    }
}

impl Converter<'_> {
    pub fn convert(&self, parsed: &Parsed) -> Result<Instruction, FrontendError> {
        let at = At {
            conv: self,
            raw: &parsed.raw,
            node: &parsed.node,
        };
        let op = op(&at, &parsed.node)?;
        let range = parsed.raw.range.clone();
        let src = &self.source[self.bom..];
        let keyword_offset = self.bom + parsed.raw.source_offset(parsed.node.keyword_at);
        let located =
            FrontendError::new(ErrorKind::NoStage).at(self.source, self.path, keyword_offset, 0);
        Ok(Instruction {
            span: Span {
                line: located.line,
                col: located.col,
                end_line: parsed.raw.end_line,
                offset: self.bom + range.start,
                len: range.len(),
                original: src[range].to_string(),
                joined: parsed.raw.text.trim().to_string(),
            },
            op,
        })
    }
}

fn exactly_one(at: &At<'_>, node: &Node) -> Result<String, FrontendError> {
    match node.args.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(at.args_error(format!("{} requires exactly one argument", node.keyword))),
    }
}

fn no_flags(at: &At<'_>) -> Result<(), FrontendError> {
    at.flags(&[]).map(|_| ())
}

fn command(node: &Node) -> Command {
    if node.json {
        Command::Exec(node.args.clone())
    } else {
        Command::Shell(node.args.concat())
    }
}

fn heredocs(raw: &lines::RawInstruction) -> Vec<Heredoc> {
    raw.heredocs
        .iter()
        .map(|h| Heredoc {
            name: h.header.name.clone(),
            content: if h.header.chomp {
                chomp(&h.content)
            } else {
                h.content.clone()
            },
            expand: h.header.expand,
            chomp: h.header.chomp,
            fd: h.header.fd,
        })
        .collect()
}

/// `<<-`: strip leading tabs from every line.
fn chomp(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

fn op(at: &At<'_>, node: &Node) -> Result<Op, FrontendError> {
    let kw = node.keyword.as_str();
    match kw {
        "FROM" => from(at, node),
        "RUN" => run(at, node),
        "CMD" => no_flags(at).map(|()| Op::Cmd(command(node))),
        "ENTRYPOINT" => no_flags(at).map(|()| Op::Entrypoint(command(node))),
        "COPY" | "ADD" => copy(at, node),
        "ENV" | "LABEL" => env_or_label(at, node),
        "ARG" => arg(at, node),
        "WORKDIR" | "USER" | "STOPSIGNAL" | "MAINTAINER" => {
            no_flags(at)?;
            let v = exactly_one(at, node)?;
            Ok(match kw {
                "WORKDIR" => Op::Workdir(v),
                "USER" => Op::User(v),
                "STOPSIGNAL" => Op::Stopsignal(v),
                _ => Op::Maintainer(v),
            })
        }
        "EXPOSE" | "VOLUME" => expose_or_volume(at, node),
        "SHELL" => {
            no_flags(at)?;
            if !node.json || node.args.is_empty() {
                return Err(at.args_error("SHELL requires the arguments to be in JSON form, e.g. SHELL [\"/bin/bash\", \"-c\"]".into()));
            }
            Ok(Op::Shell(node.args.clone()))
        }
        "HEALTHCHECK" => healthcheck(at, node),
        "ONBUILD" => onbuild(at, node),
        other => Err(at.keyword_error(format!("unknown instruction \"{other}\""))),
    }
}

fn from(at: &At<'_>, node: &Node) -> Result<Op, FrontendError> {
    let fl = at.flags(&[("platform", Kind::String)])?;
    let name = match node.args.as_slice() {
        [_] => None,
        [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(stage_name(at, name)?),
        _ => {
            return Err(at.args_error(
                "FROM requires either one or three arguments: FROM image [AS name]".into(),
            ));
        }
    };
    Ok(Op::From(From {
        image: node.args[0].clone(),
        platform: fl.string("platform"),
        name,
    }))
}

fn run(at: &At<'_>, node: &Node) -> Result<Op, FrontendError> {
    let fl = at.flags(&[
        ("mount", Kind::Strings),
        ("network", Kind::String),
        ("security", Kind::String),
    ])?;
    let mut mounts = Vec::new();
    for (value, index) in fl.all("mount") {
        let m = super::mount::parse(&value).map_err(|message| {
            at.flag_error(flags::FlagError {
                message,
                index,
                help: None,
            })
        })?;
        mounts.push(m);
    }
    let network = match fl.string("network").as_deref() {
        None => None,
        Some("default") => Some(Network::Default),
        Some("none") => Some(Network::None),
        Some("host") => Some(Network::Host),
        Some(v) => {
            let message = format!("unsupported network mode {v:?} (use default, none or host)");
            return Err(at.flag_value_error(&fl, "network", message));
        }
    };
    let security = match fl.string("security").as_deref() {
        None => None,
        Some("sandbox") => Some(Security::Sandbox),
        Some("insecure") => Some(Security::Insecure),
        Some(v) => {
            let message = format!("unsupported security mode {v:?} (use sandbox or insecure)");
            return Err(at.flag_value_error(&fl, "security", message));
        }
    };
    if node.args.is_empty() {
        return Err(at.keyword_error("RUN requires at least one argument".into()));
    }
    Ok(Op::Run(Run {
        command: command(node),
        heredocs: heredocs(at.raw),
        mounts,
        network,
        security,
    }))
}

fn env_or_label(at: &At<'_>, node: &Node) -> Result<Op, FrontendError> {
    no_flags(at)?;
    let kw = node.keyword.as_str();
    if node.pairs.is_empty() {
        return Err(at.keyword_error(format!("{kw} requires at least one argument")));
    }
    let kvs = node
        .pairs
        .iter()
        .map(|p| KeyValue {
            key: p.key.clone(),
            value: p.value.clone(),
        })
        .collect();
    Ok(if kw == "ENV" {
        Op::Env(kvs)
    } else {
        Op::Label(kvs)
    })
}

fn arg(at: &At<'_>, node: &Node) -> Result<Op, FrontendError> {
    no_flags(at)?;
    if node.args.is_empty() {
        return Err(at.keyword_error("ARG requires at least one argument".into()));
    }
    let mut decls = Vec::new();
    for a in &node.args {
        let (name, default) = match a.split_once('=') {
            Some((n, d)) => (n.to_string(), Some(d.to_string())),
            None => (a.clone(), None),
        };
        if name.is_empty() {
            return Err(at.args_error(format!("ARG names can not be blank: {a:?}")));
        }
        decls.push(ArgDecl { name, default });
    }
    Ok(Op::Arg(decls))
}

fn expose_or_volume(at: &At<'_>, node: &Node) -> Result<Op, FrontendError> {
    no_flags(at)?;
    let kw = node.keyword.as_str();
    if node.args.is_empty() {
        return Err(at.keyword_error(format!("{kw} requires at least one argument")));
    }
    if kw == "VOLUME" && node.args.iter().any(|a| a.trim().is_empty()) {
        return Err(at.args_error("VOLUME specified can not be an empty string".into()));
    }
    Ok(if kw == "EXPOSE" {
        Op::Expose(node.args.clone())
    } else {
        Op::Volume(node.args.clone())
    })
}

/// `ONBUILD <instruction>`: the trigger converted as an instruction of its own, located at its
/// keyword, so its errors and later its execution point at the right column.
fn onbuild(at: &At<'_>, node: &Node) -> Result<Op, FrontendError> {
    no_flags(at)?;
    let Some(inner) = &node.inner else {
        return Err(at.keyword_error("ONBUILD requires an instruction".into()));
    };
    if matches!(inner.keyword.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
        let message = format!("{} isn't allowed as an ONBUILD trigger", inner.keyword);
        return Err(at.error(
            ErrorKind::Syntax(message),
            inner.keyword_at,
            inner.keyword.len(),
        ));
    }
    let inner_at = At {
        conv: at.conv,
        raw: at.raw,
        node: inner,
    };
    let op = op(&inner_at, inner)?;
    let keyword_offset = at.conv.bom + at.raw.source_offset(inner.keyword_at);
    let located =
        FrontendError::new(ErrorKind::NoStage).at(at.conv.source, at.conv.path, keyword_offset, 0);
    let joined = at.raw.text[inner.keyword_at..].trim().to_string();
    Ok(Op::Onbuild(Box::new(Instruction {
        span: Span {
            line: located.line,
            col: located.col,
            end_line: at.raw.end_line,
            offset: keyword_offset,
            len: joined.len(),
            original: joined.clone(),
            joined,
        },
        op,
    })))
}

fn stage_name(at: &At<'_>, name: &str) -> Result<String, FrontendError> {
    let lower = name.to_ascii_lowercase();
    let valid = lower.starts_with(|c: char| c.is_ascii_lowercase())
        && lower
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(at.args_error(format!(
            "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
        )));
    }
    Ok(lower)
}

fn copy(at: &At<'_>, node: &Node) -> Result<Op, FrontendError> {
    let add = node.keyword == "ADD";
    let mut spec = vec![
        ("chown", Kind::String),
        ("chmod", Kind::String),
        ("link", Kind::Bool),
        ("exclude", Kind::Strings),
    ];
    if add {
        spec.extend([
            ("checksum", Kind::String),
            ("keep-git-dir", Kind::Bool),
            ("unpack", Kind::Bool),
        ]);
    } else {
        spec.extend([("from", Kind::String), ("parents", Kind::Bool)]);
    }
    let fl = at.flags(&spec)?;
    if node.args.len() < 2 {
        return Err(at.args_error(format!(
            "{} requires at least two arguments, but got {}",
            node.keyword,
            node.args.len()
        )));
    }
    let (srcs, dest) = node.args.split_at(node.args.len() - 1);
    let docs = heredocs(at.raw);
    if !node.json && syntax::heredoc::heredocs_from_line(&dest[0]).is_ok_and(|d| !d.is_empty()) {
        return Err(at.args_error(format!(
            "{} does not support heredocs as a destination",
            node.keyword
        )));
    }
    let mut sources = Vec::new();
    for s in srcs {
        let doc = if node.json {
            None
        } else {
            syntax::heredoc::heredocs_from_line(s)
                .ok()
                .and_then(|d| d.into_iter().next())
        };
        match doc {
            Some(h) => {
                let body = docs.iter().find(|d| d.name == h.name).cloned();
                sources.push(Source::Heredoc(body.unwrap_or(Heredoc {
                    name: h.name,
                    content: String::new(),
                    expand: h.expand,
                    chomp: h.chomp,
                    fd: h.fd,
                })));
            }
            None => sources.push(Source::Path(s.clone())),
        }
    }
    let exclude = fl.all("exclude").into_iter().map(|(v, _)| v).collect();
    let c = Copy {
        sources,
        dest: dest[0].clone(),
        from: fl.string("from"),
        chown: fl.string("chown"),
        chmod: fl.string("chmod"),
        link: fl.bool("link"),
        parents: fl.bool("parents"),
        exclude,
        checksum: fl.string("checksum"),
        keep_git_dir: fl.bool("keep-git-dir"),
        unpack: fl.opt_bool("unpack"),
    };
    Ok(if add { Op::Add(c) } else { Op::Copy(c) })
}

fn healthcheck(at: &At<'_>, node: &Node) -> Result<Op, FrontendError> {
    let fl = at.flags(&[
        ("interval", Kind::String),
        ("timeout", Kind::String),
        ("start-period", Kind::String),
        ("start-interval", Kind::String),
        ("retries", Kind::String),
    ])?;
    let Some(typ) = node.args.first() else {
        return Err(at.keyword_error("HEALTHCHECK requires at least one argument: HEALTHCHECK CMD command, or HEALTHCHECK NONE".into()));
    };
    match typ.to_ascii_uppercase().as_str() {
        "NONE" => {
            if node.args.len() > 1 {
                return Err(at.args_error("HEALTHCHECK NONE takes no arguments".into()));
            }
            Ok(Op::Healthcheck(Healthcheck::None))
        }
        "CMD" => {
            let rest = &node.args[1..];
            if rest.is_empty() {
                return Err(at.args_error("Missing command after HEALTHCHECK CMD".into()));
            }
            let test = if node.json {
                Command::Exec(rest.to_vec())
            } else {
                Command::Shell(rest.concat())
            };
            let duration = |name: &str| -> Result<Option<std::time::Duration>, FrontendError> {
                match fl.string(name) {
                    None => Ok(None),
                    Some(v) => super::duration::parse(&v)
                        .map(Some)
                        .map_err(|m| at.flag_value_error(&fl, name, format!("--{name}: {m}"))),
                }
            };
            let retries = match fl.string("retries") {
                None => None,
                Some(v) => Some(v.parse::<u32>().map_err(|_| {
                    at.flag_value_error(
                        &fl,
                        "retries",
                        format!("--retries must be a non-negative number, not {v:?}"),
                    )
                })?),
            };
            Ok(Op::Healthcheck(Healthcheck::Check(HealthcheckConfig {
                test,
                interval: duration("interval")?,
                timeout: duration("timeout")?,
                start_period: duration("start-period")?,
                start_interval: duration("start-interval")?,
                retries,
            })))
        }
        other => Err(at.args_error(format!("Unknown type {other:?} in HEALTHCHECK (try CMD)"))),
    }
}
