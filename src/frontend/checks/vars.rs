//! Variable rules: UndefinedArgInFrom, InvalidDefaultArgInFrom, UndefinedVar,
//! SecretsUsedInArgOrEnv. Expansion is the front end's own BuildKit lexer, which records the
//! names it looked up and did not find.

use std::collections::BTreeSet;

use super::{
    CheckInput, INVALID_DEFAULT_ARG_IN_FROM, SECRETS_USED_IN_ARG_OR_ENV, StageView,
    UNDEFINED_ARG_IN_FROM, UNDEFINED_VAR, Warning,
};
use crate::frontend::Dockerfile;
use crate::frontend::Instruction;
use crate::frontend::args::{host_platform, platform_args};
use crate::frontend::instruction::{Op, Source};
use crate::frontend::shell::{FnVars, Lexer};
use crate::frontend::suggest::closest;

/// Names BuildKit never reports as undefined.
const NON_ENV_ARGS: [&str; 2] = ["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"];

pub fn check(
    df: &Dockerfile,
    globals: &[Instruction],
    stages: &[StageView],
    input: &CheckInput,
) -> Vec<Warning> {
    let lexer = Lexer::new(df.directives.escape);
    let platform = platform_args(&host_platform());
    // Declared globals (with or without a value), and their defaults as a no-flag build sees them.
    let mut declared: BTreeSet<String> = platform.keys().cloned().collect();
    let mut defaults = platform.clone();
    for ins in globals {
        if let Op::Arg(decls) = &ins.op {
            for d in decls {
                declared.insert(d.name.clone());
                let value = d.default.as_deref().map(|v| {
                    lexer
                        .process(v, &defaults)
                        .map(|e| e.word)
                        .unwrap_or_default()
                });
                match value {
                    Some(v) => defaults.insert(d.name.clone(), v),
                    None => defaults.remove(&d.name),
                };
            }
        }
    }
    let mut out = Vec::new();
    let mut stage_env: Vec<(Option<String>, Option<BTreeSet<String>>)> = Vec::new();
    for stage in stages {
        let Op::From(from) = &stage.from.op else {
            continue;
        };
        out.extend(from_args(&lexer, stage.from, &declared));
        let with_defaults = lexer.process(&from.image, &defaults).map(|e| e.word);
        if with_defaults.as_deref().is_ok_and(|r| !valid_reference(r)) {
            out.push(Warning::at(
                INVALID_DEFAULT_ARG_IN_FROM,
                stage.from,
                format!(
                    "Default value for ARG {} results in empty or invalid base image name",
                    from.image
                ),
                "give the ARG a default that makes a valid image name (ARG TAG=latest)",
            ));
        }
        let base = with_defaults.unwrap_or_default();
        let lower = base.to_lowercase();
        let inherited = match stage_env
            .iter()
            .rev()
            .find(|(n, _)| n.as_deref() == Some(lower.as_str()))
        {
            Some((_, env)) => env.clone(),
            None if base == "scratch" => Some(BTreeSet::new()),
            None => (input.image_env)(&base).map(|e| e.into_iter().collect()),
        };
        let env = inherited.map(|mut defined| {
            out.extend(undefined_vars(&lexer, stage.body, &mut defined));
            defined
        });
        out.extend(secrets(stage.body));
        stage_env.push((from.name.clone(), env));
    }
    out
}

/// The image and `--platform` of a FROM may use only global ARGs and the platform ARGs.
fn from_args(lexer: &Lexer, from_ins: &Instruction, declared: &BTreeSet<String>) -> Vec<Warning> {
    let Op::From(from) = &from_ins.op else {
        return Vec::new();
    };
    let lookup = FnVars(|n: &str| declared.contains(n).then(String::new));
    let mut unmatched = BTreeSet::new();
    for word in std::iter::once(&from.image).chain(&from.platform) {
        if let Ok(e) = lexer.process(word, &lookup) {
            unmatched.extend(e.unmatched);
        }
    }
    let names: Vec<&str> = declared.iter().map(String::as_str).collect();
    unmatched
        .into_iter()
        .map(|arg| {
            let hint = closest(&arg, &names);
            let suggestion = hint
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            Warning::at(
                UNDEFINED_ARG_IN_FROM,
                from_ins,
                format!("FROM argument '{arg}' is not declared{suggestion}"),
                match hint {
                    Some(s) => format!("use ${s}, or declare ARG {arg} before the first FROM"),
                    None => format!("declare ARG {arg}=… before the first FROM"),
                },
            )
        })
        .collect()
}

/// The words BuildKit expands itself (not RUN/CMD/ENTRYPOINT, which the shell expands), checked
/// against what is defined before the instruction; then its ARG and ENV names become defined.
fn undefined_vars(
    lexer: &Lexer,
    body: &[Instruction],
    defined: &mut BTreeSet<String>,
) -> Vec<Warning> {
    let mut out = Vec::new();
    for ins in body {
        let mut words: Vec<&String> = Vec::new();
        match &ins.op {
            Op::Copy(c) | Op::Add(c) => {
                words.extend(c.sources.iter().filter_map(|s| match s {
                    Source::Path(p) => Some(p),
                    Source::Heredoc(_) => None,
                }));
                words.push(&c.dest);
                words.extend(c.chown.iter().chain(&c.chmod).chain(&c.from));
            }
            Op::Env(kvs) | Op::Label(kvs) => words.extend(kvs.iter().map(|kv| &kv.value)),
            Op::Expose(w) | Op::Volume(w) => words.extend(w),
            Op::User(w) | Op::Workdir(w) | Op::Stopsignal(w) => words.push(w),
            _ => {}
        }
        let lookup = FnVars(|n: &str| defined.contains(n).then(String::new));
        let mut unmatched = BTreeSet::new();
        for w in words {
            if let Ok(e) = lexer.process(w, &lookup) {
                unmatched.extend(e.unmatched);
            }
        }
        // ARG defaults see the ARGs before them on the same line.
        if let Op::Arg(decls) = &ins.op {
            for d in decls {
                let lookup = FnVars(|n: &str| defined.contains(n).then(String::new));
                if let Some(Ok(e)) = d.default.as_ref().map(|v| lexer.process(v, &lookup)) {
                    unmatched.extend(e.unmatched);
                }
                defined.insert(d.name.clone());
            }
        }
        let names: Vec<&str> = defined.iter().map(String::as_str).collect();
        for var in unmatched
            .iter()
            .filter(|v| !NON_ENV_ARGS.contains(&v.as_str()))
        {
            let hint = closest(var, &names);
            let suggestion = hint
                .map(|s| format!(" (did you mean ${s}?)"))
                .unwrap_or_default();
            out.push(Warning::at(
                UNDEFINED_VAR,
                ins,
                format!("Usage of undefined variable '${var}'{suggestion}"),
                match hint {
                    Some(s) => format!("use ${s}, or declare ARG {var} in this stage"),
                    None => {
                        format!("declare ARG {var} (or ENV {var}=…) in this stage before this line")
                    }
                },
            ));
        }
        if let Op::Env(kvs) = &ins.op {
            defined.extend(kvs.iter().map(|kv| kv.key.clone()));
        }
    }
    out
}

/// BuildKit's test: a `_`-separated word of the key is a secret word, and none is an allowed one.
fn secret_key(key: &str) -> bool {
    const DENY: [&str; 10] = [
        "apikey",
        "auth",
        "credential",
        "credentials",
        "key",
        "password",
        "pword",
        "passwd",
        "secret",
        "token",
    ];
    const ALLOW: [&str; 3] = ["public", "file", "version"];
    let words: Vec<String> = key.split('_').map(str::to_lowercase).collect();
    words.iter().any(|w| DENY.contains(&w.as_str()))
        && !words.iter().any(|w| ALLOW.contains(&w.as_str()))
}

fn secrets(body: &[Instruction]) -> Vec<Warning> {
    let mut out = Vec::new();
    for ins in body {
        let keys: Vec<&String> = match &ins.op {
            Op::Arg(decls) => decls.iter().map(|d| &d.name).collect(),
            Op::Env(kvs) => kvs.iter().map(|kv| &kv.key).collect(),
            _ => continue,
        };
        for key in keys.into_iter().filter(|k| secret_key(k)) {
            out.push(Warning::at(
                SECRETS_USED_IN_ARG_OR_ENV,
                ins,
                format!(
                    "Do not use ARG or ENV instructions for sensitive data ({} {key:?})",
                    ins.keyword()
                ),
                format!(
                    "RUN --mount=type=secret,id={},env={key} … with --secret id={0}",
                    key.to_lowercase()
                ),
            ));
        }
    }
    out
}

/// Whether `r` could name an image (distribution's grammar, loosely): a non-empty name of
/// lower-case path components (the first may be a registry host), an optional non-empty tag and
/// an optional `@algo:hex` digest.
fn valid_reference(r: &str) -> bool {
    let (rest, digest) = match r.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (r, None),
    };
    if digest.is_some_and(|d| {
        d.split_once(':')
            .is_none_or(|(a, h)| a.is_empty() || h.is_empty())
    }) {
        return false;
    }
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    let tag_ok = tag.is_none_or(|t| {
        !t.is_empty()
            && t.len() <= 128
            && !t.starts_with(['.', '-'])
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    });
    let parts: Vec<&str> = name.split('/').collect();
    let name_ok = !name.is_empty()
        && parts.iter().enumerate().all(|(i, p)| {
            let host = i == 0
                && parts.len() > 1
                && (p.contains('.') || p.contains(':') || *p == "localhost");
            !p.is_empty()
                && p.chars().all(|c| {
                    c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || "._-".contains(c)
                        || (host && (c == ':' || c.is_ascii_uppercase()))
                })
        });
    tag_ok && name_ok
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{found, found_with};

    // BuildKit's documented examples (frontend/dockerfile/docs/rules/*.md), bad then good.

    #[test]
    fn undefined_arg_in_from() {
        assert_eq!(
            found("FROM node:22${VARIANT} AS jsbuilder\n"),
            ["UndefinedArgInFrom:1"]
        );
        assert!(
            found("ARG VARIANT=\"-alpine3.20\"\nFROM node:22${VARIANT} AS jsbuilder\n").is_empty()
        );
        let r = super::super::test_support::report(
            "ARG VERSION=1\nFROM alpine:${VERSIN}\n",
            &|_| None,
            None,
        );
        assert_eq!(
            r.warnings[0].message,
            "FROM argument 'VERSIN' is not declared (did you mean VERSION?)"
        );
        // The platform ARGs are predefined.
        assert!(found("FROM --platform=$BUILDPLATFORM alpine\n").is_empty());
    }

    #[test]
    fn invalid_default_arg_in_from() {
        assert_eq!(
            found("ARG TAG\nFROM busybox:${TAG}\n"),
            ["InvalidDefaultArgInFrom:2"]
        );
        assert!(found("ARG TAG=latest\nFROM busybox:${TAG}\n").is_empty());
        assert!(found("ARG VARIANT\nFROM busybox:stable${VARIANT}\n").is_empty());
        assert!(found("ARG TAG\nFROM alpine:${TAG:-3.14}\n").is_empty());
    }

    #[test]
    fn undefined_var() {
        let no_env = |_: &str| Some(vec!["PATH".to_string()]);
        assert_eq!(
            found_with("FROM alpine AS base\nCOPY $foo .\n", &no_env, None),
            ["UndefinedVar:2"]
        );
        assert!(
            found_with("FROM alpine AS base\nARG foo\nCOPY $foo .\n", &no_env, None).is_empty()
        );
        assert_eq!(
            found_with("FROM alpine AS base\nARG VERSION=$foo\n", &no_env, None),
            ["UndefinedVar:2"]
        );
        let python =
            |image: &str| (image == "python").then(|| vec!["PATH".into(), "PYTHON_VERSION".into()]);
        assert!(
            found_with(
                "FROM python AS base\nARG VERSION=$PYTHON_VERSION\n",
                &python,
                None
            )
            .is_empty()
        );
        // An image whose env is unknown: no guessing.
        assert!(found("FROM alpine AS base\nCOPY $foo .\n").is_empty());
        // ENV carries into a stage built on this one; RUN is the shell's business.
        assert!(
            found_with(
                "FROM alpine AS a\nENV APP=/app\nFROM a\nWORKDIR $APP\nRUN echo $UNSET\n",
                &no_env,
                None
            )
            .is_empty()
        );
    }

    #[test]
    fn secrets_used_in_arg_or_env() {
        assert_eq!(
            found("FROM scratch\nARG AWS_SECRET_ACCESS_KEY\n"),
            ["SecretsUsedInArgOrEnv:2"]
        );
        assert_eq!(
            found(
                "FROM scratch\nARG AWS_ACCESS_KEY_ID\nARG AWS_SECRET_ACCESS_KEY\nRUN aws s3 cp s3://my-bucket/file .\n"
            ),
            ["SecretsUsedInArgOrEnv:2", "SecretsUsedInArgOrEnv:3"]
        );
        assert!(found(
            "FROM scratch\nRUN --mount=type=secret,id=aws_key_id,env=AWS_ACCESS_KEY_ID \\\n    --mount=type=secret,id=aws_secret_key,env=AWS_SECRET_ACCESS_KEY \\\n    aws s3 cp s3://my-bucket/file .\n"
        )
        .is_empty());
        assert!(found("FROM scratch\nENV PUBLIC_KEY=x GPG_KEY_FILE=y NODE_VERSION=1\n").is_empty());
        assert_eq!(
            found("FROM scratch\nENV github_token=x\n"),
            ["SecretsUsedInArgOrEnv:2"]
        );
    }
}
