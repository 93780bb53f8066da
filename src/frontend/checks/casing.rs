//! Casing rules: StageNameCasing, FromAsCasing, ConsistentInstructionCasing.

use super::{
    CONSISTENT_INSTRUCTION_CASING, FROM_AS_CASING, STAGE_NAME_CASING, StageView, Warning,
    written_args, written_keyword,
};
use crate::frontend::Dockerfile;

fn consistent(s: &str) -> bool {
    s == s.to_lowercase() || s == s.to_uppercase()
}

pub fn check(df: &Dockerfile, stages: &[StageView]) -> Vec<Warning> {
    let mut out = Vec::new();
    for stage in stages {
        let from = stage.from;
        let keyword = written_keyword(from);
        // `FROM [--flags] image AS name`: the words after the flags.
        let args: Vec<&str> = written_args(from)
            .into_iter()
            .filter(|w| !w.starts_with("--"))
            .collect();
        let [_, as_word, name] = args.as_slice() else {
            continue;
        };
        if *name != name.to_lowercase() {
            out.push(Warning::at(
                STAGE_NAME_CASING,
                from,
                format!("Stage name '{name}' should be lowercase"),
                format!("AS {}", name.to_lowercase()),
            ));
        }
        // A keyword of mixed case is ConsistentInstructionCasing's business.
        let upper = keyword == keyword.to_uppercase();
        if consistent(keyword) {
            let want = if upper {
                as_word.to_uppercase()
            } else {
                as_word.to_lowercase()
            };
            if **as_word != want {
                out.push(Warning::at(
                    FROM_AS_CASING,
                    from,
                    format!("'{as_word}' and '{keyword}' keywords' casing do not match"),
                    format!("write {keyword} … {want} {name}"),
                ));
            }
        }
    }
    out.extend(instruction_casing(df));
    out
}

/// Every keyword in one casing: the majority's, counting only self-consistent keywords.
fn instruction_casing(df: &Dockerfile) -> Vec<Warning> {
    let keywords: Vec<&str> = df.instructions.iter().map(written_keyword).collect();
    let (mut lower, mut upper) = (0, 0);
    for k in keywords.iter().filter(|k| consistent(k)) {
        if *k == k.to_lowercase() {
            lower += 1;
        } else {
            upper += 1;
        }
    }
    let majority_lower = lower > upper;
    let mut out = Vec::new();
    for (ins, k) in df.instructions.iter().zip(&keywords) {
        let (casing, want) = if majority_lower {
            ("lowercase", k.to_lowercase())
        } else {
            ("uppercase", k.to_uppercase())
        };
        if **k != want {
            out.push(Warning::at(
                CONSISTENT_INSTRUCTION_CASING,
                ins,
                format!("Command '{k}' should match the case of the command majority ({casing})"),
                format!("write {want}"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::found;

    // BuildKit's documented examples (frontend/dockerfile/docs/rules/*.md), bad then good.

    #[test]
    fn stage_name_casing() {
        assert_eq!(found("FROM alpine AS BuilderBase\n"), ["StageNameCasing:1"]);
        assert!(found("FROM alpine AS builder-base\n").is_empty());
    }

    #[test]
    fn from_as_casing() {
        assert_eq!(found("FROM debian:latest as builder\n"), ["FromAsCasing:1"]);
        assert!(found("FROM debian:latest AS deb-builder\n").is_empty());
        assert!(found("from debian:latest as deb-builder\n").is_empty());
    }

    #[test]
    fn consistent_instruction_casing() {
        let bad = "From alpine\nRun echo hello > /greeting.txt\nEntRYpOiNT [\"cat\", \"/greeting.txt\"]\n";
        assert_eq!(
            found(bad),
            [
                "ConsistentInstructionCasing:1",
                "ConsistentInstructionCasing:2",
                "ConsistentInstructionCasing:3"
            ]
        );
        assert!(
            found("FROM alpine\nRUN echo hello > /greeting.txt\nENTRYPOINT [\"cat\", \"/greeting.txt\"]\n")
                .is_empty()
        );
        assert!(
            found("from alpine\nrun echo hello > /greeting.txt\nentrypoint [\"cat\", \"/greeting.txt\"]\n")
                .is_empty()
        );
        // The minority casing is named with the majority's.
        let r = super::super::test_support::report("FROM a\nRUN x\nrun y\n", &|_| None, None);
        assert_eq!(
            r.warnings[0].message,
            "Command 'run' should match the case of the command majority (uppercase)"
        );
    }
}
