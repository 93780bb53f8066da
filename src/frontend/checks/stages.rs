//! Rules about a stage as a whole: DuplicateStageName, ReservedStageName,
//! MultipleInstructionsDisallowed, WorkdirRelativePath, JSONArgsRecommended. A stage built on an
//! earlier stage inherits its WORKDIR and SHELL state, as BuildKit's dispatch state does.

use super::{
    DUPLICATE_STAGE_NAME, JSON_ARGS_RECOMMENDED, MULTIPLE_INSTRUCTIONS_DISALLOWED,
    RESERVED_STAGE_NAME, StageView, WORKDIR_RELATIVE_PATH, Warning,
};
use crate::frontend::Instruction;
use crate::frontend::instruction::{Command, Op};

#[derive(Clone, Copy, Default)]
struct Inherited {
    workdir_set: bool,
    shell_set: bool,
}

pub fn check(stages: &[StageView]) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut states: Vec<Inherited> = Vec::new();
    for stage in stages {
        let Op::From(from) = &stage.from.op else {
            continue;
        };
        if let Some(name) = &from.name {
            if name == "scratch" || name == "context" {
                out.push(Warning::at(
                    RESERVED_STAGE_NAME,
                    stage.from,
                    format!("Stage name should not use the same name as reserved stage {name:?}"),
                    format!("rename the stage (AS {name}-stage)"),
                ));
            }
            if names.contains(name) {
                out.push(Warning::at(
                    DUPLICATE_STAGE_NAME,
                    stage.from,
                    format!("Duplicate stage name {name:?}, stage names should be unique"),
                    format!("rename one of the stages called {name}"),
                ));
            }
        }
        let base = from.image.to_lowercase();
        let mut state = names
            .iter()
            .rposition(|n| *n == base)
            .and_then(|i| states.get(i).copied())
            .unwrap_or_default();
        out.extend(body(stage.body, &mut state));
        names.push(from.name.clone().unwrap_or_default());
        states.push(state);
    }
    out
}

fn body(body: &[Instruction], state: &mut Inherited) -> Vec<Warning> {
    let mut out = Vec::new();
    // The last CMD, ENTRYPOINT and HEALTHCHECK seen: an earlier one is the one ignored.
    let mut seen: [Option<&Instruction>; 3] = [None; 3];
    for ins in body {
        let once = match &ins.op {
            Op::Cmd(_) => Some(0),
            Op::Entrypoint(_) => Some(1),
            Op::Healthcheck(_) => Some(2),
            _ => None,
        };
        if let Some(slot) = once {
            if let Some(earlier) = seen[slot] {
                let name = ins.keyword();
                out.push(Warning::at(
                    MULTIPLE_INSTRUCTIONS_DISALLOWED,
                    earlier,
                    format!(
                        "Multiple {name} instructions should not be used in the same stage because only the last one will be used"
                    ),
                    format!("delete this {name}: the one on line {} wins", ins.span.line),
                ));
            }
            seen[slot] = Some(ins);
        }
        match &ins.op {
            Op::Shell(_) => state.shell_set = true,
            Op::Workdir(path) => {
                // A path from a variable is judged by BuildKit after expansion; unknown here.
                let bare = path.trim_matches(['"', '\'']);
                if !state.workdir_set && !bare.starts_with('/') && !bare.contains('$') {
                    out.push(Warning::at(
                        WORKDIR_RELATIVE_PATH,
                        ins,
                        format!(
                            "Relative workdir {path:?} can have unexpected results if the base image changes"
                        ),
                        format!("WORKDIR /{path}"),
                    ));
                }
                state.workdir_set = true;
            }
            Op::Cmd(Command::Shell(cmd)) | Op::Entrypoint(Command::Shell(cmd))
                if !state.shell_set =>
            {
                let name = ins.keyword();
                let argv: Vec<String> = cmd.split_whitespace().map(|w| format!("{w:?}")).collect();
                out.push(Warning::at(
                    JSON_ARGS_RECOMMENDED,
                    ins,
                    format!(
                        "JSON arguments recommended for {name} to prevent unintended behavior related to OS signals"
                    ),
                    format!("{name} [{}]", argv.join(", ")),
                ));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::found;

    // BuildKit's documented examples (frontend/dockerfile/docs/rules/*.md), bad then good.

    #[test]
    fn duplicate_stage_name() {
        assert_eq!(
            found(
                "FROM debian:latest AS builder\nRUN apt-get update; apt-get install -y curl\n\nFROM golang:latest AS builder\n"
            ),
            ["DuplicateStageName:4"]
        );
        assert!(found(
            "FROM debian:latest AS deb-builder\nRUN apt-get update; apt-get install -y curl\n\nFROM golang:latest AS go-builder\n"
        )
        .is_empty());
    }

    #[test]
    fn reserved_stage_name() {
        assert_eq!(
            found("FROM alpine AS scratch\nFROM alpine AS context\n"),
            ["ReservedStageName:1", "ReservedStageName:2"]
        );
        assert!(found("FROM alpine AS builder\n").is_empty());
    }

    #[test]
    fn multiple_instructions_disallowed() {
        assert_eq!(
            found(
                "FROM alpine\nENTRYPOINT [\"echo\", \"Hello, Norway!\"]\nENTRYPOINT [\"echo\", \"Hello, Sweden!\"]\n# Only \"Hello, Sweden!\" will be printed\n"
            ),
            ["MultipleInstructionsDisallowed:2"]
        );
        assert!(
            found("FROM alpine\nENTRYPOINT [\"echo\", \"Hello, Norway!\\nHello, Sweden!\"]\n")
                .is_empty()
        );
        assert!(found(
            "FROM python:alpine\nRUN apk add curl\nHEALTHCHECK --interval=1s --timeout=3s \\\n  CMD [\"curl\", \"-f\", \"http://localhost:8080\"]\nCMD [\"python\", \"-m\", \"http.server\", \"8080\"]\n"
        )
        .is_empty());
    }

    #[test]
    fn workdir_relative_path() {
        assert_eq!(
            found("FROM nginx AS web\nWORKDIR usr/share/nginx/html\nCOPY public .\n"),
            ["WorkdirRelativePath:2"]
        );
        assert!(
            found("FROM nginx AS web\nWORKDIR /usr/share/nginx/html\nCOPY public .\n").is_empty()
        );
        // Set in the base stage: a relative WORKDIR after it is relative to a known place.
        assert!(found("FROM nginx AS a\nWORKDIR /srv\nFROM a\nWORKDIR html\n").is_empty());
        assert!(found("FROM nginx\nWORKDIR \"$APP\"\n").is_empty());
    }

    #[test]
    fn json_args_recommended() {
        assert_eq!(
            found(
                "FROM alpine\nENTRYPOINT my-program start\n# entrypoint becomes: /bin/sh -c my-program start\n"
            ),
            ["JSONArgsRecommended:2"]
        );
        assert!(found("FROM alpine\nENTRYPOINT [\"my-program\", \"start\"]\n").is_empty());
        assert!(found(
            "FROM alpine\nRUN apk add bash\nCOPY --chmod=755 <<EOT /entrypoint.sh\n#!/usr/bin/env bash\nset -e\nmy-background-process &\nmy-program start\nEOT\nENTRYPOINT [\"/entrypoint.sh\"]\n"
        )
        .is_empty());
        assert!(found(
            "FROM alpine\nRUN apk add bash\nSHELL [\"/bin/bash\", \"-c\"]\nENTRYPOINT echo \"hello world\"\n"
        )
        .is_empty());
    }
}
