//! `FROM --platform` rules: FromPlatformFlagConstDisallowed, RedundantTargetPlatform.

use super::{FROM_PLATFORM_FLAG_CONST_DISALLOWED, REDUNDANT_TARGET_PLATFORM, StageView, Warning};
use crate::frontend::instruction::Op;

pub fn check(stages: &[StageView]) -> Vec<Warning> {
    let mut out = Vec::new();
    for stage in stages {
        let Op::From(from) = &stage.from.op else {
            continue;
        };
        let Some(platform) = from.platform.as_deref() else {
            continue;
        };
        let bare = platform.trim_matches('"');
        if matches!(bare, "$TARGETPLATFORM" | "${TARGETPLATFORM}") {
            out.push(Warning::at(
                REDUNDANT_TARGET_PLATFORM,
                stage.from,
                format!(
                    "Setting platform to predefined {platform} in FROM is redundant as this is the default behavior"
                ),
                "drop --platform from this FROM",
            ));
            continue;
        }
        if bare.contains('$') {
            continue;
        }
        // A constant is fine when the stage is named for it (`build_amd64`): one per platform.
        let mut parts = bare.split('/');
        let (os, arch) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let name = from.name.as_deref().unwrap_or("");
        if os.is_empty()
            || (!os.is_empty() && name.contains(os))
            || (!arch.is_empty() && name.contains(arch))
        {
            continue;
        }
        out.push(Warning::at(
            FROM_PLATFORM_FLAG_CONST_DISALLOWED,
            stage.from,
            format!("FROM --platform flag should not use constant value {bare:?}"),
            "drop --platform, or use --platform=$BUILDPLATFORM",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::found;

    // BuildKit's documented examples (frontend/dockerfile/docs/rules/*.md), bad then good.

    #[test]
    fn from_platform_flag_const_disallowed() {
        assert_eq!(
            found("FROM --platform=linux/amd64 alpine AS base\nRUN apk add --no-cache git\n"),
            ["FromPlatformFlagConstDisallowed:1"]
        );
        assert!(found("FROM alpine AS base\nRUN apk add --no-cache git\n").is_empty());
        assert!(
            found("FROM --platform=${BUILDPLATFORM} alpine AS base\nRUN apk add --no-cache git\n")
                .is_empty()
        );
        let multi = "FROM --platform=linux/amd64 alpine AS build_amd64\nRUN true\n\n\
                     FROM --platform=linux/arm64 alpine AS build_arm64\nRUN true\n\n\
                     ARG TARGETARCH\nFROM build_${TARGETARCH} AS build\nRUN true\n";
        let f = found(multi);
        assert!(!f.iter().any(|w| w.starts_with("FromPlatform")), "{f:?}");
    }

    #[test]
    fn redundant_target_platform() {
        assert_eq!(
            found(
                "FROM --platform=$TARGETPLATFORM alpine AS builder\nRUN apk add --no-cache git\n"
            ),
            ["RedundantTargetPlatform:1"]
        );
        assert!(found("FROM alpine AS builder\nRUN apk add --no-cache git\n").is_empty());
    }
}
