//! ARG scoping with BuildKit's rules. ARGs before the first FROM ("global" or meta ARGs) are
//! visible in FROM lines only; a stage sees one after re-declaring it (`ARG NAME` without a value).
//! `--build-arg` overrides every declaration's default. The platform ARGs (`TARGETPLATFORM`, …)
//! are predefined in the global scope; the proxy ARGs (`HTTP_PROXY`, …) reach RUN steps without a
//! declaration when given with `--build-arg`.

use std::collections::BTreeMap;

use super::instruction::ArgDecl;
use super::shell::{self, ShellError, Vars};

/// Build args that RUN steps see without an ARG declaration, and that stay out of the image history.
pub const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Everything the engine needs to give each stage's ARG instructions their values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArgScope {
    /// Values given with `--build-arg`.
    pub build_args: BTreeMap<String, String>,
    /// The global scope: platform ARGs plus the resolved global ARGs that have a value.
    pub meta: BTreeMap<String, String>,
    /// Names of the global ARGs, in declaration order (some may have no value).
    pub global_names: Vec<String>,
}

impl ArgScope {
    /// The value an `ARG` inside a stage takes (`None`: declared but unset). `stage` holds the
    /// stage's current ARG/ENV values; a default is expanded against it.
    pub fn resolve(&self, decl: &ArgDecl, stage: &dyn Vars) -> Result<Option<String>, ShellError> {
        if let Some(v) = self.build_args.get(&decl.name) {
            return Ok(Some(v.clone()));
        }
        match &decl.default {
            None => Ok(self.meta.get(&decl.name).cloned()),
            Some(d) => shell::expand(d, stage).map(Some),
        }
    }

    /// Proxy build args a RUN step gets in its environment without any declaration.
    pub fn proxy_env(&self) -> BTreeMap<String, String> {
        self.build_args
            .iter()
            .filter(|(k, _)| PROXY_ARGS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// `linux/amd64` style platform of this machine.
pub fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm/v7",
        "powerpc64" => "ppc64le",
        other => other,
    };
    format!("{}/{arch}", std::env::consts::OS)
}

/// The predefined platform ARGs for a target platform (`os/arch[/variant]`) built on this host.
pub fn platform_args(target: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (prefix, platform) in [("TARGET", target.to_string()), ("BUILD", host_platform())] {
        let mut parts = platform.splitn(3, '/');
        let os = parts.next().unwrap_or_default().to_string();
        let arch = parts.next().unwrap_or_default().to_string();
        let variant = parts.next().unwrap_or_default().to_string();
        m.insert(format!("{prefix}PLATFORM"), platform.clone());
        m.insert(format!("{prefix}OS"), os);
        m.insert(format!("{prefix}ARCH"), arch);
        m.insert(format!("{prefix}VARIANT"), variant);
    }
    m
}

/// Resolves the global ARGs in order: a build arg wins, otherwise the default expanded against
/// the platform ARGs and the earlier global ARGs.
pub fn resolve_globals(
    decls: &[&ArgDecl],
    build_args: &BTreeMap<String, String>,
    platform: &str,
) -> Result<ArgScope, ShellError> {
    let mut meta = platform_args(platform);
    let mut names = Vec::new();
    for decl in decls {
        let value = match (build_args.get(&decl.name), &decl.default) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(d)) => Some(shell::expand(d, &meta)?),
            (None, None) => None,
        };
        // Declared without a value: unset, unless predefined (`ARG TARGETARCH` keeps the platform's).
        if let Some(v) = value {
            meta.insert(decl.name.clone(), v);
            shell::limits::check_vars(&decl.name, &meta)?;
        }
        names.push(decl.name.clone());
    }
    Ok(ArgScope {
        build_args: build_args.clone(),
        meta,
        global_names: names,
    })
}
