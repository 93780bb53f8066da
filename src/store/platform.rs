//! The platform this process builds for, in OCI (GOARCH/GOOS) spelling.

use oci_spec::image::{Arch, Os, Platform};

/// GOARCH of the host: `amd64`, `arm64`, …
pub fn host_arch() -> Arch {
    match std::env::consts::ARCH {
        "x86_64" => Arch::Amd64,
        "aarch64" => Arch::ARM64,
        "x86" => Arch::i386,
        other => Arch::from(other),
    }
}

/// True if an index entry's platform is `os/arch` (no platform means any).
pub fn matches(p: Option<&Platform>, os: &Os, arch: &Arch) -> bool {
    p.is_none_or(|p| p.os() == os && p.architecture() == arch)
}

/// Parses `os/arch[/variant]`, e.g. `linux/amd64`.
pub fn parse(s: &str) -> Option<(Os, Arch)> {
    let mut parts = s.split('/');
    let os = parts.next()?;
    let arch = parts.next()?;
    Some((Os::from(os), Arch::from(arch)))
}
