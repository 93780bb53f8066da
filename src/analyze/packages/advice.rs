//! Hints that need packages: build toolchains shipped in the image, documentation and locales,
//! and packages a later layer removed while their bytes stay stored.

use super::{Manager, Packages};
use crate::analyze::hints::{Hint, HintKind};
use crate::analyze::stack::Stack;

/// Debian/Alpine packages that build software and are not needed to run it.
fn is_toolchain(manager: Manager, name: &str) -> bool {
    let base = name.split(':').next().unwrap_or(name);
    match manager {
        Manager::Dpkg | Manager::Apk | Manager::Rpm => {
            base.ends_with("-dev")
                || base.ends_with("-devel")
                || [
                    "gcc",
                    "g++",
                    "cpp",
                    "clang",
                    "llvm",
                    "binutils",
                    "make",
                    "cmake",
                    "golang",
                    "rustc",
                    "cargo",
                    "build-essential",
                    "build-base",
                    "libgcc-",
                    "libstdc++-",
                    "musl-dev",
                    "autoconf",
                    "automake",
                    "libtool",
                ]
                .iter()
                .any(|t| base.starts_with(t) && is_versioned(base, t))
        }
        Manager::Python => matches!(
            base.to_ascii_lowercase().as_str(),
            "pip" | "setuptools" | "wheel"
        ),
        Manager::Npm | Manager::Go => false,
    }
}

/// `gcc-12`, `cpp-12`, `libstdc++-12-dev`: the tool name then a version or nothing. Not
/// `gcc-12-base` (copyright files every libgcc-s1 image has).
fn is_versioned(name: &str, tool: &str) -> bool {
    let rest = &name[tool.len()..];
    let version = |v: &str| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.');
    tool.ends_with('-') && version(rest.trim_end_matches("-dev"))
        || rest.strip_prefix('-').is_some_and(version)
        || rest.is_empty()
}

fn toolchain(p: &Packages) -> Option<Hint> {
    let tools: Vec<_> = p
        .packages
        .iter()
        .filter(|x| x.bytes > 0 && is_toolchain(x.manager, &x.name))
        .collect();
    if tools.is_empty() {
        return None;
    }
    let bytes = tools.iter().map(|t| t.bytes).sum();
    let mut layers: Vec<usize> = tools.iter().map(|t| t.layer).collect();
    layers.sort_unstable();
    layers.dedup();
    let names: Vec<String> = tools.iter().take(6).map(|t| t.name.clone()).collect();
    let more = tools.len().saturating_sub(names.len());
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Some(Hint {
        kind: HintKind::ToolchainInImage,
        message: format!(
            "build tools ship in the image ({}{more}): build in a `FROM … AS builder` stage and \
             `COPY --from=builder` only what runs (for a venv: pip and setuptools stay behind \
             with `python -m venv --without-pip`)",
            names.join(", ")
        ),
        bytes,
        files: tools.iter().map(|t| t.files).sum(),
        layers,
    })
}

const DOCS: &[&str] = &[
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
];

fn docs(stack: &Stack) -> Option<Hint> {
    let (mut bytes, mut files) = (0, 0);
    let mut layers = std::collections::BTreeSet::new();
    for dir in DOCS {
        for (_, live) in stack.under(dir) {
            bytes += live.size;
            files += usize::from(live.size > 0);
            if live.size > 0 {
                layers.insert(live.layer);
            }
        }
    }
    (bytes > 0).then(|| Hint {
        kind: HintKind::DocsAndLocales,
        message: "documentation, man pages and locales (/usr/share/doc, man, info, locale): \
                  keep dpkg from installing them with `path-exclude` lines in \
                  /etc/dpkg/dpkg.cfg.d/ before apt-get install (deleting them later saves nothing)"
            .to_string(),
        bytes,
        files,
        layers: layers.into_iter().collect(),
    })
}

fn removed(p: &Packages) -> Vec<Hint> {
    p.removed
        .iter()
        .filter(|r| r.bytes > 0)
        .map(|r| Hint {
            kind: HintKind::PackageRemovedLater,
            message: format!(
                "{} {} ({}) is installed by layer {} and removed by layer {}: its files stay \
                 stored in layer {}; install and remove it in the same RUN, or use it in a \
                 builder stage",
                r.name,
                r.version,
                r.manager.name(),
                r.layer,
                r.removed_in_layer,
                r.layer
            ),
            bytes: r.bytes,
            files: 0,
            layers: vec![r.layer, r.removed_in_layer],
        })
        .collect()
}

pub fn hints(p: &Packages, stack: &Stack) -> Vec<Hint> {
    let mut out: Vec<Hint> = toolchain(p).into_iter().collect();
    out.extend(docs(stack));
    out.extend(removed(p));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_toolchains_by_name() {
        for t in [
            "gcc-12",
            "gcc",
            "cpp-12",
            "libc6-dev",
            "linux-libc-dev",
            "make",
            "binutils",
            "g++-12",
            "libstdc++-12-dev",
        ] {
            assert!(is_toolchain(Manager::Dpkg, t), "{t}");
        }
        for t in [
            "libc6",
            "python3",
            "libgcc-s1",
            "gcc-12-base",
            "makedev",
            "gccgo-x",
            "cppcheck",
        ] {
            assert!(!is_toolchain(Manager::Dpkg, t), "{t}");
        }
        assert!(is_toolchain(Manager::Python, "pip"));
        assert!(!is_toolchain(Manager::Python, "requests"));
    }
}
