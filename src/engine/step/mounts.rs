//! `RUN --mount`: cache dirs the store keeps across builds, secrets that never reach a layer or a
//! key, read-only (or throwaway-writable) views of the context, a stage or an image, and tmpfs.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use nix::fcntl::{Flock, FlockArg};
use sha2::{Digest, Sha256};

use super::super::context::digest;
use super::super::ctx::BuildCtx;
use super::super::cursor::Cursor;
use super::super::error::StepError;
use super::super::fsutil::resolve_in_root;
use super::super::secret;
use super::from::source_lowers;
use super::overlay::absolute;
use crate::exec::ExtraMount;
use crate::frontend::instruction::{Mount, MountType, Sharing};
use crate::snapshot::overlay::Overlay;

/// What a mount keeps alive while the container runs: a lock, an overlay, a scratch dir.
#[expect(
    dead_code,
    reason = "held only so that dropping them releases the mount"
)]
enum Hold {
    View(Overlay, tempfile::TempDir),
    Lock(Flock<File>),
    Dir(tempfile::TempDir),
}

#[derive(Default)]
pub struct PreparedMounts {
    pub mounts: Vec<ExtraMount>,
    /// `NAME=secret` for secrets exposed as environment variables.
    pub secret_env: Vec<String>,
    /// Keys of what bind mounts read (stage keys, image digests, context digests).
    pub from_keys: Vec<String>,
    descriptions: Vec<String>,
    holds: Vec<Hold>,
}

impl PreparedMounts {
    /// The mounts as they enter the cache key and history (secret contents never do).
    pub fn describe(&self) -> String {
        self.descriptions
            .iter()
            .map(|d| format!(" --mount={d}"))
            .collect()
    }
}

impl Drop for PreparedMounts {
    fn drop(&mut self) {
        // Views unmount before their scratch dirs go (tuple fields drop in order).
        while let Some(hold) = self.holds.pop() {
            drop(hold);
        }
    }
}

fn parse_octal(what: &str, s: Option<&str>, default: u32) -> Result<u32, StepError> {
    match s {
        None => Ok(default),
        Some(s) => u32::from_str_radix(s, 8)
            .map_err(|_| StepError::Invalid(format!("--mount {what}={s:?} is not an octal mode"))),
    }
}

fn parse_id(what: &str, s: Option<&str>) -> Result<u32, StepError> {
    match s {
        None => Ok(0),
        Some(s) => s
            .parse()
            .map_err(|_| StepError::Invalid(format!("--mount {what}={s:?} must be a number"))),
    }
}

pub async fn prepare_mounts(
    ctx: &BuildCtx,
    cursor: &Cursor,
    mounts: &[Mount],
) -> Result<PreparedMounts, StepError> {
    let mut out = PreparedMounts::default();
    for m in mounts {
        let target = m
            .target
            .as_ref()
            .map(|t| absolute(&cursor.state.workdir, t));
        match m.kind {
            MountType::Tmpfs => {
                let target = target.ok_or_else(|| {
                    StepError::Invalid("--mount=type=tmpfs needs a target".into())
                })?;
                let size_bytes = m.size.as_deref().map(parse_size).transpose()?;
                out.descriptions.push(format!("type=tmpfs,target={target}"));
                out.mounts.push(ExtraMount::Tmpfs { target, size_bytes });
            }
            MountType::Cache => cache_mount(ctx, m, target, &mut out).await?,
            MountType::Secret => secret_mount(ctx, m, target, &mut out).await?,
            MountType::Bind => bind_mount(ctx, m, target, &mut out).await?,
            MountType::Ssh => {
                return Err(StepError::Invalid(
                    "--mount=type=ssh is not supported yet: stagecraft has no SSH agent forwarding"
                        .into(),
                ));
            }
        }
    }
    Ok(out)
}

fn parse_size(s: &str) -> Result<u64, StepError> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = match s.chars().last() {
        Some('k') => (&s[..s.len() - 1], 1u64 << 10),
        Some('m') => (&s[..s.len() - 1], 1 << 20),
        Some('g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s.as_str(), 1),
    };
    num.parse::<u64>()
        .map(|n| n * mult)
        .map_err(|_| StepError::Invalid(format!("invalid tmpfs size {s:?}")))
}

async fn cache_mount(
    ctx: &BuildCtx,
    m: &Mount,
    target: Option<String>,
    out: &mut PreparedMounts,
) -> Result<(), StepError> {
    let target =
        target.ok_or_else(|| StepError::Invalid("--mount=type=cache needs a target".into()))?;
    let id = match &m.id {
        Some(id) => id.clone(),
        None => target.clone(),
    };
    if ctx.opts.dry_run {
        // Keyed by its description; the dir is made only by a build that runs.
        out.descriptions
            .push(format!("type=cache,id={id},target={target}"));
        return Ok(());
    }
    let mode = parse_octal("mode", m.mode.as_deref(), 0o755)?;
    let uid = parse_id("uid", m.uid.as_deref())?;
    let gid = parse_id("gid", m.gid.as_deref())?;
    let name = hex::encode(&Sha256::digest(id.as_bytes())[..16]);
    let base = ctx.store.root().join("cache").join("mounts");
    let dir = base.join(&name);
    fs::create_dir_all(&base).map_err(StepError::io(format!("cache mount {id}")))?;
    if !dir.is_dir() {
        fs::create_dir_all(&dir).map_err(StepError::io(format!("cache mount {id}")))?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode))
            .map_err(StepError::io(format!("cache mount {id}")))?;
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| crate::rootless::explain_chown(e, uid, gid))
            .map_err(StepError::io(format!("cache mount {id}")))?;
    }
    // The dir's mtime is the mount's last use, which `cache prune --filter until=` goes by.
    let _ = File::open(&dir).and_then(|d| d.set_modified(std::time::SystemTime::now()));
    let lock_path = base.join(format!("{name}.lock"));
    let source = match m.sharing {
        Sharing::Shared => dir,
        Sharing::Locked => {
            let file = File::create(&lock_path)
                .map_err(StepError::io(format!("cache mount {id} lock")))?;
            let lock = tokio::task::spawn_blocking(move || {
                Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| e)
            })
            .await?
            .map_err(|e| StepError::Invalid(format!("locking cache mount {id}: {e}")))?;
            out.holds.push(Hold::Lock(lock));
            dir
        }
        Sharing::Private => {
            let file = File::create(&lock_path)
                .map_err(StepError::io(format!("cache mount {id} lock")))?;
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => {
                    out.holds.push(Hold::Lock(lock));
                    dir
                }
                // In use by another build: this one gets a fresh private dir.
                Err(_) => {
                    let tmp = ctx.store.tmp_dir("cache-private-")?;
                    let path = tmp.path().to_path_buf();
                    fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                        .map_err(StepError::io("private cache"))?;
                    std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                        .map_err(|e| crate::rootless::explain_chown(e, uid, gid))
                        .map_err(StepError::io("private cache"))?;
                    out.holds.push(Hold::Dir(tmp));
                    path
                }
            }
        }
    };
    out.descriptions
        .push(format!("type=cache,id={id},target={target}"));
    out.mounts.push(ExtraMount::Bind {
        source,
        target,
        readonly: m.readonly,
    });
    Ok(())
}

async fn secret_mount(
    ctx: &BuildCtx,
    m: &Mount,
    target: Option<String>,
    out: &mut PreparedMounts,
) -> Result<(), StepError> {
    let id = m
        .id
        .clone()
        .or_else(|| {
            target
                .as_ref()
                .and_then(|t| t.rsplit('/').next().map(str::to_string))
        })
        .ok_or_else(|| StepError::Invalid("--mount=type=secret needs an id or a target".into()))?;
    let contents = match ctx.opts.secrets.iter().find(|s| s.id == id) {
        Some(spec) => Some(secret::load(&id, &spec.source, &ctx.cancel).await?),
        None => None,
    };
    let Some(contents) = contents else {
        if m.required {
            return Err(StepError::Invalid(format!(
                "secret {id} is required: pass --secret id={id},src=PATH"
            )));
        }
        return Ok(());
    };
    out.descriptions.push(format!("type=secret,id={id}"));
    if let Some(var) = &m.env {
        out.secret_env
            .push(format!("{var}={}", String::from_utf8_lossy(&contents)));
        if target.is_none() {
            return Ok(());
        }
    }
    let mode = parse_octal("mode", m.mode.as_deref(), 0o400)?;
    out.mounts.push(ExtraMount::Secret {
        contents,
        target: target.unwrap_or_else(|| format!("/run/secrets/{id}")),
        uid: parse_id("uid", m.uid.as_deref())?,
        gid: parse_id("gid", m.gid.as_deref())?,
        mode,
    });
    Ok(())
}

async fn bind_mount(
    ctx: &BuildCtx,
    m: &Mount,
    target: Option<String>,
    out: &mut PreparedMounts,
) -> Result<(), StepError> {
    let target =
        target.ok_or_else(|| StepError::Invalid("--mount=type=bind needs a target".into()))?;
    let source = match &m.source {
        Some(s) => s.clone(),
        None => "/".into(),
    };
    let from = m.from.clone();
    let (lowers, key): (Vec<PathBuf>, String) = match from {
        None => {
            let sel = ctx.context.select(std::slice::from_ref(&source))?;
            let d = {
                let mut cache = ctx.stat_cache()?;
                digest::digest(&ctx.context, &sel, &mut cache)?
            };
            (vec![ctx.context.root.clone()], d.digest)
        }
        Some(from) => source_lowers(ctx, &from).await?,
    };
    if ctx.opts.dry_run {
        out.from_keys.push(key);
        out.descriptions.push(bind_description(m, &source, &target));
        return Ok(());
    }
    // A view over an overlay: `rw` writes land in its throwaway upper dir, never in the source.
    let scratch = ctx.store.tmp_dir("bind-")?;
    let overlay = Overlay::mount(&lowers, scratch.path())?;
    let path = resolve_in_root(overlay.rootfs(), &source, true)
        .map_err(StepError::io(format!("bind source {source}")))?;
    if !path.exists() {
        return Err(StepError::Invalid(format!(
            "bind mount source {source:?} does not exist"
        )));
    }
    out.from_keys.push(key);
    out.descriptions.push(bind_description(m, &source, &target));
    out.mounts.push(ExtraMount::Bind {
        source: path,
        target,
        readonly: m.readonly,
    });
    out.holds.push(Hold::View(overlay, scratch));
    Ok(())
}

/// How a bind mount enters RUN's key.
fn bind_description(m: &Mount, source: &str, target: &str) -> String {
    format!(
        "type=bind,from={},source={source},target={target}{}",
        m.from.as_deref().unwrap_or("context"),
        if m.readonly { "" } else { ",rw" }
    )
}
