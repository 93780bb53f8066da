//! Rules about how one instruction is written: NoEmptyContinuation, MaintainerDeprecated,
//! LegacyKeyValueFormat, ExposeProtoCasing, ExposeInvalidFormat.

use super::{
    EXPOSE_INVALID_FORMAT, EXPOSE_PROTO_CASING, LEGACY_KEY_VALUE_FORMAT, MAINTAINER_DEPRECATED,
    NO_EMPTY_CONTINUATION, Warning, written_args,
};
use crate::frontend::Dockerfile;
use crate::frontend::instruction::Op;

pub fn check(df: &Dockerfile) -> Vec<Warning> {
    let mut out = Vec::new();
    for (line, message) in &df.warnings {
        if message.starts_with("empty continuation") {
            out.push(Warning {
                rule: NO_EMPTY_CONTINUATION,
                message: "Empty continuation line".into(),
                line: *line,
                col: 1,
                fix:
                    "delete the blank line inside the \\-continued instruction (a comment may stay)"
                        .into(),
            });
        }
    }
    for ins in &df.instructions {
        match &ins.op {
            Op::Maintainer(who) => out.push(Warning::at(
                MAINTAINER_DEPRECATED,
                ins,
                "Maintainer instruction is deprecated in favor of using label".into(),
                format!("LABEL org.opencontainers.image.authors={who:?}"),
            )),
            Op::Env(_) | Op::Label(_) => {
                let name = ins.keyword();
                let first = written_args(ins).first().copied().unwrap_or_default();
                if !first.is_empty() && !first.contains('=') {
                    out.push(Warning::at(
                        LEGACY_KEY_VALUE_FORMAT,
                        ins,
                        format!(
                            "\"{name} key=value\" should be used instead of legacy \"{name} key value\" format"
                        ),
                        format!("write {name} {first}=\"…\" (quote the value)"),
                    ));
                }
            }
            Op::Expose(ports) => out.extend(expose(ins, ports)),
            _ => {}
        }
    }
    out
}

fn expose(ins: &crate::frontend::Instruction, ports: &[String]) -> Vec<Warning> {
    let mut out = Vec::new();
    for raw in ports {
        let (mapped, container) = split_port(raw);
        let proto = container.split_once('/').map(|(_, p)| p).unwrap_or("");
        if proto != proto.to_lowercase() {
            out.push(Warning::at(
                EXPOSE_PROTO_CASING,
                ins,
                format!("Defined protocol '{raw}' in EXPOSE instruction should be lowercase"),
                format!("EXPOSE {}", raw.to_lowercase()),
            ));
        }
        if mapped {
            out.push(Warning::at(
                EXPOSE_INVALID_FORMAT,
                ins,
                format!(
                    "EXPOSE instruction should not define an IP address or host-port mapping, found '{raw}'"
                ),
                format!("EXPOSE {container} (publish with `docker run -p` instead)"),
            ));
        }
    }
    out
}

/// `[ip:][hostPort:]containerPort[/proto]`: whether an IP or host port is given, and the
/// container part. An IPv6 address is bracketed, so its colons are skipped.
fn split_port(raw: &str) -> (bool, &str) {
    let rest = match raw.strip_prefix('[') {
        Some(r) => r.split_once(']').map_or(r, |(_, after)| after),
        None => raw,
    };
    match rest.rfind(':') {
        Some(i) => (true, &rest[i + 1..]),
        None => (raw.starts_with('['), rest),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::found;

    // BuildKit's documented examples (frontend/dockerfile/docs/rules/*.md), bad then good.

    #[test]
    fn no_empty_continuation() {
        assert_eq!(
            found("FROM alpine\nEXPOSE \\\n\n80\n"),
            ["NoEmptyContinuation:2"]
        );
        assert!(found("FROM alpine\nEXPOSE \\\n# Port\n80\n").is_empty());
    }

    #[test]
    fn maintainer_deprecated() {
        assert_eq!(
            found("FROM scratch\nMAINTAINER moby@example.com\n"),
            ["MaintainerDeprecated:2"]
        );
        assert!(
            found("FROM scratch\nLABEL org.opencontainers.image.authors=\"moby@example.com\"\n")
                .is_empty()
        );
    }

    #[test]
    fn legacy_key_value_format() {
        assert_eq!(
            found("FROM alpine\nENV DEPS \\\n    curl \\\n    git \\\n    make\n"),
            ["LegacyKeyValueFormat:2"]
        );
        assert!(
            found("FROM alpine\nENV DEPS=\"\\\n    curl \\\n    git \\\n    make\"\n").is_empty()
        );
        assert!(found("FROM alpine\nARG foo=bar\n").is_empty());
        assert_eq!(
            found("FROM alpine\nLABEL a b\n"),
            ["LegacyKeyValueFormat:2"]
        );
    }

    #[test]
    fn expose_rules() {
        assert_eq!(
            found("FROM alpine\nEXPOSE 80/TcP\n"),
            ["ExposeProtoCasing:2"]
        );
        assert!(found("FROM alpine\nEXPOSE 80/tcp\n").is_empty());
        assert_eq!(
            found("FROM alpine\nEXPOSE 127.0.0.1:80:80\n"),
            ["ExposeInvalidFormat:2"]
        );
        assert_eq!(
            found("FROM alpine\nEXPOSE 80:80\n"),
            ["ExposeInvalidFormat:2"]
        );
        assert!(found("FROM alpine\nEXPOSE 80\n").is_empty());
    }
}
