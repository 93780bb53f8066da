use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("no OCI runtime found: neither runc nor crun is on PATH")]
    NoRuntime,
    #[error("OCI runtime {path} is not an executable file")]
    RuntimeMissing { path: PathBuf },
    #[error("unable to find user {user}: no matching entries in /etc/passwd of {rootfs}")]
    UnknownUser { user: String, rootfs: PathBuf },
    #[error("unable to find group {group}: no matching entries in /etc/group of {rootfs}")]
    UnknownGroup { group: String, rootfs: PathBuf },
    #[error("cannot read {path} in rootfs {rootfs}: {source}")]
    ReadRootfs {
        rootfs: PathBuf,
        path: String,
        source: std::io::Error,
    },
    #[error("mount target {target} must be an absolute path")]
    RelativeTarget { target: String },
    #[error("working directory {cwd} must be an absolute path")]
    RelativeCwd { cwd: String },
    #[error("cannot build the runtime config: {0}")]
    Config(#[from] oci_spec::OciSpecError),
    #[error("cannot prepare bundle {path}: {source}")]
    Bundle {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start {runtime}: {source}")]
    Spawn {
        runtime: PathBuf,
        source: std::io::Error,
    },
    #[error("waiting for {runtime} failed: {source}")]
    Wait {
        runtime: PathBuf,
        source: std::io::Error,
    },
    #[error("{runtime} was killed by a signal before reporting an exit code")]
    RuntimeKilled { runtime: PathBuf },
    #[error("the run was cancelled")]
    Cancelled,
    #[error(transparent)]
    Unmapped(#[from] crate::rootless::UnmappedId),
    #[error(transparent)]
    UnsafeRuntimeDir(#[from] crate::rootless::UnsafeRuntimeDir),
}
