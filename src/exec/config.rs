//! The OCI runtime `config.json` for a [`RunSpec`], built from `oci_spec::runtime` types.
//!
//! Docker's defaults where it has them (capabilities, standard mounts, masked paths), with two
//! deliberate differences: no rlimits at all (root may lack CAP_SYS_RESOURCE, so raising one
//! fails; the process inherits the runtime's), and no cgroup resources (nothing to limit).

use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Capabilities, Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxNamespace,
    LinuxNamespaceBuilder, LinuxNamespaceType, Mount, MountBuilder, Process, Root, Spec,
    UserBuilder, get_default_maskedpaths, get_default_readonly_paths,
};

use super::error::ExecError;
use super::spec::{ExtraMount, Network, RunSpec};
use super::user::ResolvedUser;

pub use crate::image::config::DEFAULT_PATH;

/// Host files every container sees read-only, as `docker build` does.
const HOST_FILES: [&str; 2] = ["/etc/resolv.conf", "/etc/hosts"];

/// Docker's default capability set.
const CAPABILITIES: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// The config for `spec` run as `user`; secret `i` of `spec.mounts` is read from `secret_dir/i`.
pub fn runtime_config(
    spec: &RunSpec,
    user: &ResolvedUser,
    secret_dir: &Path,
    terminal: bool,
) -> Result<Spec, ExecError> {
    let mut config = Spec::default();
    let mut root = Root::default();
    root.set_path(spec.rootfs.clone());
    root.set_readonly(Some(false));
    config.set_root(Some(root));
    config.set_hostname(Some(spec.hostname.clone()));
    config.set_annotations(None);
    config.set_process(Some(process(spec, user, terminal)?));
    config.set_mounts(Some(mounts(spec, secret_dir)?));
    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces(spec.network)?)
        .masked_paths(get_default_maskedpaths())
        .readonly_paths(get_default_readonly_paths())
        .build()?;
    // The builder starts from `Linux::default()`, which carries an empty resources block.
    linux.set_resources(None);
    config.set_linux(Some(linux));
    Ok(config)
}

fn process(spec: &RunSpec, user: &ResolvedUser, terminal: bool) -> Result<Process, ExecError> {
    let cwd = if spec.cwd.is_empty() {
        "/"
    } else {
        spec.cwd.as_str()
    };
    if !cwd.starts_with('/') {
        return Err(ExecError::RelativeCwd { cwd: cwd.into() });
    }
    let mut env = spec.env.clone();
    let has = |env: &[String], key: &str| {
        env.iter()
            .any(|e| e.split_once('=').is_some_and(|(k, _)| k == key))
    };
    if !has(&env, "PATH") {
        env.push(format!("PATH={DEFAULT_PATH}"));
    }
    if !has(&env, "HOME") {
        env.push(format!("HOME={}", user.home));
    }
    if terminal && !has(&env, "TERM") {
        env.push(format!(
            "TERM={}",
            std::env::var("TERM").unwrap_or_else(|_| "xterm".into())
        ));
    }
    let mut process_user = UserBuilder::default().uid(user.uid).gid(user.gid);
    if !user.additional_gids.is_empty() {
        process_user = process_user.additional_gids(user.additional_gids.clone());
    }
    let caps: Capabilities = CAPABILITIES.into_iter().collect();
    // Docker gives a non-root user only the bounding set: what setuid binaries may gain.
    let held = if user.uid == 0 {
        caps.clone()
    } else {
        Capabilities::new()
    };
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps)
        .effective(held.clone())
        .permitted(held)
        .inheritable(Capabilities::new())
        .ambient(Capabilities::new())
        .build()?;
    let mut process = Process::default();
    process.set_terminal(Some(terminal));
    process.set_user(process_user.build()?);
    process.set_args(Some(spec.command.argv()));
    process.set_env(Some(env));
    process.set_cwd(PathBuf::from(cwd));
    process.set_capabilities(Some(capabilities));
    process.set_rlimits(None);
    process.set_no_new_privileges(None);
    Ok(process)
}

fn namespaces(network: Network) -> Result<Vec<LinuxNamespace>, ExecError> {
    let mut kinds = vec![
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
    ];
    if network == Network::None {
        kinds.push(LinuxNamespaceType::Network);
    }
    kinds
        .into_iter()
        .map(|typ| {
            LinuxNamespaceBuilder::default()
                .typ(typ)
                .build()
                .map_err(ExecError::from)
        })
        .collect()
}

fn mount(
    destination: &str,
    typ: &str,
    source: impl Into<PathBuf>,
    options: &[&str],
) -> Result<Mount, ExecError> {
    Ok(MountBuilder::default()
        .destination(destination)
        .typ(typ)
        .source(source.into())
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()?)
}

/// The `/etc/hosts` written for `--add-host`: beside the secrets, in the bundle's private dir.
pub fn hosts_path(secret_dir: &Path) -> std::path::PathBuf {
    secret_dir.with_file_name("hosts")
}

/// sysfs may only be mounted by the owner of the network namespace: a rootless run on the
/// host network binds the host's read-only instead, as rootless podman does. With
/// `--network none` the container's own namespace is ours, so it gets a sysfs of its own (the
/// host's interfaces stay out of sight).
fn sys_mount(network: Network) -> Result<Mount, ExecError> {
    if crate::rootless::active() && network == Network::Host {
        mount(
            "/sys",
            "bind",
            "/sys",
            &["rbind", "nosuid", "noexec", "nodev", "ro"],
        )
    } else {
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        )
    }
}

/// `gid=5` (tty) only where gid 5 exists: a single-ID rootless map has only 0.
fn devpts_options() -> Vec<&'static str> {
    let mut options = vec![
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620",
    ];
    if crate::rootless::ensure_mapped(0, 5).is_ok() {
        options.push("gid=5");
    }
    options
}

fn mounts(spec: &RunSpec, secret_dir: &Path) -> Result<Vec<Mount>, ExecError> {
    let shm_size = format!(
        "size={}k",
        spec.shm_size.map_or(65536, |b| b.div_ceil(1024))
    );
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount("/dev/pts", "devpts", "devpts", &devpts_options())?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_size],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        sys_mount(spec.network)?,
    ];
    for file in HOST_FILES {
        if file == "/etc/hosts" && !spec.extra_hosts.is_empty() {
            let hosts = hosts_path(secret_dir);
            mounts.push(mount(
                file,
                "bind",
                hosts,
                &["rbind", "ro", "nosuid", "nodev"],
            )?);
        } else if Path::new(file).exists() {
            mounts.push(mount(
                file,
                "bind",
                file,
                &["rbind", "ro", "nosuid", "nodev"],
            )?);
        }
    }
    let mut secrets = 0;
    for extra in &spec.mounts {
        let target = extra.target();
        if !target.starts_with('/') {
            return Err(ExecError::RelativeTarget {
                target: target.into(),
            });
        }
        mounts.push(match extra {
            ExtraMount::Bind {
                source, readonly, ..
            } => {
                let mode = if *readonly { "ro" } else { "rw" };
                mount(target, "bind", source, &["rbind", mode])?
            }
            ExtraMount::Tmpfs { size_bytes, .. } => {
                let size = size_bytes.map(|s| format!("size={s}"));
                let mut options = vec!["nosuid", "nodev", "mode=1777"];
                options.extend(size.as_deref());
                mount(target, "tmpfs", "tmpfs", &options)?
            }
            ExtraMount::Secret { .. } => {
                let source = secret_dir.join(secrets.to_string());
                secrets += 1;
                mount(
                    target,
                    "bind",
                    source,
                    &["bind", "ro", "nosuid", "nodev", "noexec"],
                )?
            }
        });
    }
    Ok(mounts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{Command, Runtime, RuntimeKind};

    fn spec() -> RunSpec {
        let runtime = Runtime {
            path: "/usr/sbin/runc".into(),
            kind: RuntimeKind::Runc,
        };
        RunSpec::new(
            "/rootfs".into(),
            Command::sh("echo hi"),
            runtime,
            "/tmp".into(),
        )
    }

    fn root() -> ResolvedUser {
        ResolvedUser {
            uid: 0,
            gid: 0,
            additional_gids: vec![],
            home: "/root".into(),
        }
    }

    #[test]
    fn never_sets_rlimits_or_cgroup_resources() {
        let config = runtime_config(&spec(), &root(), Path::new("/s"), false).expect("config");
        let json = serde_json::to_value(&config).expect("json");
        assert!(json["process"].get("rlimits").is_none(), "{json}");
        assert!(json["linux"].get("resources").is_none(), "{json}");
        assert_eq!(
            json["process"]["args"],
            serde_json::json!(["/bin/sh", "-c", "echo hi"])
        );
    }

    #[test]
    fn network_none_adds_a_network_namespace() {
        let mut spec = spec();
        let ns = |spec: &RunSpec| {
            let config = runtime_config(spec, &root(), Path::new("/s"), false).expect("config");
            let json = serde_json::to_value(&config).expect("json");
            json["linux"]["namespaces"]
                .as_array()
                .expect("ns")
                .iter()
                .map(|n| n["type"].to_string())
                .collect::<Vec<_>>()
        };
        assert!(!ns(&spec).contains(&"\"network\"".to_string()));
        spec.network = Network::None;
        assert!(ns(&spec).contains(&"\"network\"".to_string()));
    }

    #[test]
    fn env_gets_path_and_home_defaults_but_keeps_given_ones() {
        let mut spec = spec();
        spec.env = vec!["PATH=/x".into()];
        let config = runtime_config(&spec, &root(), Path::new("/s"), false).expect("config");
        let env = config
            .process()
            .as_ref()
            .and_then(|p| p.env().clone())
            .expect("env");
        assert_eq!(env, vec!["PATH=/x".to_string(), "HOME=/root".to_string()]);
    }

    #[test]
    fn relative_targets_and_cwd_are_rejected() {
        let mut spec = spec();
        spec.cwd = "work".into();
        assert!(matches!(
            runtime_config(&spec, &root(), Path::new("/s"), false),
            Err(ExecError::RelativeCwd { .. })
        ));
        spec.cwd = "/".into();
        spec.mounts.push(ExtraMount::Tmpfs {
            target: "tmp".into(),
            size_bytes: None,
        });
        assert!(matches!(
            runtime_config(&spec, &root(), Path::new("/s"), false),
            Err(ExecError::RelativeTarget { .. })
        ));
    }
}
