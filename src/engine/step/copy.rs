//! COPY and ADD: select sources from the build context, a stage or an image; key them by content;
//! copy them into the step's overlay with Docker's destination rules. ADD also fetches http(s)
//! URLs and unpacks local tar archives.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use sha2::{Digest, Sha256};

use super::super::cache::StepInputs;
use super::super::context::dockerignore::DockerIgnore;
use super::super::context::{Selected, SourceTree, digest};
use super::super::copy::{CopyOptions, CopyStats, copy_into};
use super::super::ctx::BuildCtx;
use super::super::cursor::Cursor;
use super::super::error::StepError;
use super::super::event::{Event, StepRef, Stream};
use super::super::fsutil::resolve_in_root;
use super::from::source_lowers;
use super::overlay::{absolute, on_overlay};
use super::work::Work;
use crate::exec::resolve_user;
use crate::frontend::instruction::{Copy, Source};
use crate::image::layer::{ApplyOptions, WhiteoutMode, apply_layer, decompress};
use crate::snapshot::overlay::Overlay;

/// Where the sources come from, kept mounted while the step runs.
struct SourceView {
    tree: SourceTree,
    /// Key part for sources read from a stage or image.
    from_key: Option<String>,
    _view: Option<(Overlay, tempfile::TempDir)>,
    _heredocs: Option<tempfile::TempDir>,
    /// `--from` a stage of imported hits not extracted yet: mounted only if the step runs.
    deferred: Option<String>,
}

pub async fn copy<'a>(
    ctx: &'a BuildCtx,
    cursor: &mut Cursor,
    step_ref: &'a StepRef,
    copy: &Copy,
    is_add: bool,
) -> Result<Work<'a>, StepError> {
    let keyword = if is_add { "ADD" } else { "COPY" };
    let dest = copy.dest.clone();
    let chown = copy.chown.clone();
    let (chmod, exclude) = flags(copy)?;
    let Sources {
        paths,
        urls,
        repos,
        heredocs,
    } = Sources::of(copy, is_add);
    let from = copy.from.clone();
    let view = source_view(ctx, from.as_deref(), &heredocs).await?;
    let unread = ctx.opts.dry_run || view.deferred.is_some();
    let select_paths = paths.clone();
    let selected = if paths.is_empty() || (unread && view.from_key.is_some()) {
        Vec::new()
    } else {
        view.tree.select(&paths)?
    };
    let mut heredoc_tree = None;
    if !heredocs.is_empty() {
        let dir = view
            ._heredocs
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default();
        let tree = SourceTree::rootfs(&dir);
        let names: Vec<String> = heredocs.iter().map(|(n, _)| n.clone()).collect();
        heredoc_tree = Some((tree.clone(), tree.select(&names)?));
    }
    let mut downloads = fetch_urls(ctx, &urls, copy.checksum.as_deref()).await?;
    downloads.extend(fetch_repos(ctx, &repos, copy.keep_git_dir).await?);

    // The key: content of context sources; the source stage's key for --from; bodies of heredocs
    // and URLs are in the instruction text or the download digest.
    let sources_digest = if view.from_key.is_none() && !selected.is_empty() {
        let mut cache = ctx.stat_cache()?;
        Some(digest::digest(&view.tree, &selected, &mut cache)?)
    } else {
        None
    };
    let sources = Sources {
        paths,
        urls,
        repos,
        heredocs,
    };
    let instruction_text = key_text(keyword, copy, chmod, &sources, &cursor.state.workdir);
    let mut from_keys: Vec<String> = view.from_key.iter().cloned().collect();
    from_keys.extend(downloads.iter().map(|d| d.digest.clone()));
    let inputs = StepInputs {
        parent: cursor.key.clone(),
        instruction: instruction_text.clone(),
        sources: sources_digest,
        from: from_keys,
        ..StepInputs::default()
    };
    let created_by = format!("{instruction_text} # buildkit");
    let workdir = cursor.state.workdir.clone();
    let unpack = is_add && copy.unpack != Some(false);
    let parents = copy.parents;
    let (selected, archives) = if unpack {
        split_archives(&view.tree, selected)
    } else {
        (selected, Vec::new())
    };
    Ok(Work::fs(inputs, created_by, move |lowers| async move {
        let (view, selected, archives) = match view.deferred.clone() {
            Some(from) => mount_deferred(ctx, &from, view, &select_paths, unpack).await?,
            None => (view, selected, archives),
        };
        let sink = ctx.sink.clone();
        let step = step_ref.clone();
        on_overlay(ctx, lowers, move |rootfs| {
            let ids = match &chown {
                Some(spec) => {
                    let u = resolve_user(rootfs, spec)
                        .map_err(|e| StepError::Invalid(format!("--chown={spec}: {e}")))?;
                    Some((u.uid, u.gid))
                }
                None => None,
            };
            let opts = CopyOptions {
                chown: ids,
                chmod,
                parents,
                exclude,
            };
            let mut stats = CopyStats::default();
            if !selected.is_empty() {
                stats += copy_into(&view.tree, &selected, rootfs, &workdir, &dest, &opts)?;
            }
            if let Some((tree, sel)) = &heredoc_tree {
                stats += copy_into(tree, sel, rootfs, &workdir, &dest, &opts)?;
            }
            for d in &downloads {
                let tree = SourceTree::rootfs(d.dir.path());
                let sel = tree.select(std::slice::from_ref(&d.name))?;
                stats += copy_into(&tree, &sel, rootfs, &workdir, &dest, &opts)?;
            }
            if stats.files > 0 {
                sink.emit(Event::StepLog {
                    step,
                    stream: Stream::Stdout,
                    text: stats.summary(),
                });
            }
            for archive in &archives {
                let dest_dir = resolve_in_root(rootfs, absolute(&workdir, &dest), true)
                    .map_err(StepError::io(format!("ADD destination {dest}")))?;
                fs::create_dir_all(&dest_dir)
                    .map_err(StepError::io(format!("ADD destination {dest}")))?;
                unpack_archive(archive, &dest_dir)?;
            }
            drop(view);
            Ok(true)
        })
        .await
    }))
}

/// `--chmod` as a mode and `--exclude` as ignore patterns.
fn flags(copy: &Copy) -> Result<(Option<u32>, DockerIgnore), StepError> {
    let chmod = match &copy.chmod {
        Some(m) => Some(
            u32::from_str_radix(m, 8)
                .map_err(|_| StepError::Invalid(format!("--chmod={m:?} is not an octal mode")))?,
        ),
        None => None,
    };
    let mut exclude_text = String::new();
    for pattern in &copy.exclude {
        exclude_text.push_str(pattern);
        exclude_text.push('\n');
    }
    let exclude =
        DockerIgnore::parse(&exclude_text).map_err(|e| StepError::Invalid(e.to_string()))?;
    Ok((chmod, exclude))
}

/// A COPY's or ADD's sources by kind: paths (context, stage or image), and for ADD URLs and git
/// repositories; heredocs as (name, content).
struct Sources {
    paths: Vec<String>,
    urls: Vec<String>,
    repos: Vec<String>,
    heredocs: Vec<(String, String)>,
}

impl Sources {
    fn of(copy: &Copy, is_add: bool) -> Sources {
        let mut out = Sources {
            paths: Vec::new(),
            urls: Vec::new(),
            repos: Vec::new(),
            heredocs: Vec::new(),
        };
        for source in &copy.sources {
            match source {
                Source::Path(p) if is_add && super::git::is_git(p) => out.repos.push(p.clone()),
                Source::Path(p)
                    if is_add && (p.starts_with("http://") || p.starts_with("https://")) =>
                {
                    out.urls.push(p.clone())
                }
                Source::Path(p) => out.paths.push(p.clone()),
                Source::Heredoc(h) => out.heredocs.push((h.name.clone(), h.content.clone())),
            }
        }
        out
    }
}

/// The instruction as the cache key reads it: flags, sources, heredoc bodies by digest, and the
/// absolute destination.
fn key_text(
    keyword: &str,
    copy: &Copy,
    chmod: Option<u32>,
    sources: &Sources,
    workdir: &str,
) -> String {
    let mut parts: Vec<String> = vec![keyword.to_string()];
    if let Some(f) = &copy.from {
        parts.push(format!("--from={f}"));
    }
    if let Some(c) = &copy.chown {
        parts.push(format!("--chown={c}"));
    }
    if let Some(m) = chmod {
        parts.push(format!("--chmod={m:o}"));
    }
    if copy.parents {
        parts.push("--parents".into());
    }
    for e in &copy.exclude {
        parts.push(format!("--exclude={e}"));
    }
    parts.extend(sources.paths.iter().cloned());
    parts.extend(sources.urls.iter().cloned());
    parts.extend(sources.repos.iter().cloned());
    for (name, content) in &sources.heredocs {
        parts.push(format!(
            "<<{name}:{}",
            hex::encode(Sha256::digest(content.as_bytes()))
        ));
    }
    parts.push(absolute(workdir, &copy.dest));
    parts.join(" ")
}

/// Clones ADD's git repositories (off the async threads).
async fn fetch_repos(
    ctx: &BuildCtx,
    repos: &[String],
    keep_git_dir: bool,
) -> Result<Vec<Download>, StepError> {
    let mut out = Vec::new();
    for repo in repos {
        let (store, repo) = (ctx.store.clone(), repo.clone());
        let c =
            tokio::task::spawn_blocking(move || super::git::checkout(&store, &repo, keep_git_dir))
                .await??;
        out.push(Download {
            dir: c.dir,
            name: c.name,
            digest: c.key,
        });
    }
    Ok(out)
}

async fn source_view(
    ctx: &BuildCtx,
    from: Option<&str>,
    heredocs: &[(String, String)],
) -> Result<SourceView, StepError> {
    let heredoc_dir = if heredocs.is_empty() {
        None
    } else {
        let dir = ctx.store.tmp_dir("heredoc-")?;
        for (name, content) in heredocs {
            fs::write(dir.path().join(name), content)
                .map_err(StepError::io(format!("heredoc {name}")))?;
        }
        Some(dir)
    };
    let Some(from) = from else {
        return Ok(SourceView {
            tree: ctx.context.clone(),
            from_key: None,
            _view: None,
            _heredocs: heredoc_dir,
            deferred: None,
        });
    };
    // A stage made of imported hits is extracted only if this step runs: its key is all a hit needs.
    if let Some(key) = super::from::unextracted_stage_key(ctx, from).await {
        return Ok(SourceView {
            tree: SourceTree::rootfs(Path::new("/")),
            from_key: Some(key),
            _view: None,
            _heredocs: heredoc_dir,
            deferred: Some(from.to_string()),
        });
    }
    let (lowers, key) = source_lowers(ctx, from).await?;
    // A dry run keys `--from` on the source's key alone and mounts nothing.
    if ctx.opts.dry_run {
        return Ok(SourceView {
            tree: SourceTree::rootfs(Path::new("/")),
            from_key: Some(key),
            _view: None,
            _heredocs: heredoc_dir,
            deferred: None,
        });
    }
    let scratch = ctx.store.tmp_dir("from-")?;
    let overlay = Overlay::mount(&lowers, scratch.path())?;
    Ok(SourceView {
        tree: SourceTree::rootfs(overlay.rootfs()),
        from_key: Some(key),
        _view: Some((overlay, scratch)),
        _heredocs: heredoc_dir,
        deferred: None,
    })
}

/// The source of a `--from` that [`source_view`] deferred, mounted now that the step runs, with
/// its selection (and ADD's archives split off).
async fn mount_deferred(
    ctx: &BuildCtx,
    from: &str,
    view: SourceView,
    paths: &[String],
    unpack: bool,
) -> Result<(SourceView, Vec<Selected>, Vec<PathBuf>), StepError> {
    let (lowers, key) = source_lowers(ctx, from).await?;
    let scratch = ctx.store.tmp_dir("from-")?;
    let overlay = Overlay::mount(&lowers, scratch.path())?;
    let view = SourceView {
        tree: SourceTree::rootfs(overlay.rootfs()),
        from_key: Some(key),
        _view: Some((overlay, scratch)),
        _heredocs: view._heredocs,
        deferred: None,
    };
    let selected = match paths.is_empty() {
        true => Vec::new(),
        false => view.tree.select(paths)?,
    };
    let (selected, archives) = match unpack {
        true => split_archives(&view.tree, selected),
        false => (selected, Vec::new()),
    };
    Ok((view, selected, archives))
}

struct Download {
    dir: tempfile::TempDir,
    name: String,
    digest: String,
}

/// Downloads ADD's URLs into scratch dirs, verifying `--checksum` when given.
async fn fetch_urls(
    ctx: &BuildCtx,
    urls: &[String],
    checksum: Option<&str>,
) -> Result<Vec<Download>, StepError> {
    let mut out = Vec::new();
    if !urls.is_empty() {
        crate::image::registry::ensure_tls_provider();
    }
    for url in urls {
        let response = reqwest::get(url.as_str())
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| StepError::Invalid(format!("ADD {url}: {e}")))?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| StepError::Invalid(format!("ADD {url}: {e}")))?;
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        if let Some(want) = checksum
            && want != digest
        {
            return Err(StepError::Invalid(format!(
                "ADD {url}: checksum mismatch: expected {want}, got {digest}"
            )));
        }
        let name = url
            .split(['?', '#'])
            .next()
            .and_then(|u| u.rsplit('/').next())
            .filter(|n| !n.is_empty())
            .unwrap_or("download")
            .to_string();
        let dir = ctx.store.tmp_dir("add-")?;
        let mut f =
            File::create(dir.path().join(&name)).map_err(StepError::io(format!("ADD {url}")))?;
        f.write_all(&bytes)
            .map_err(StepError::io(format!("ADD {url}")))?;
        out.push(Download { dir, name, digest });
    }
    Ok(out)
}

/// Local archives ADD unpacks, apart from the plain files it copies.
fn split_archives(tree: &SourceTree, selected: Vec<Selected>) -> (Vec<Selected>, Vec<PathBuf>) {
    let mut archives = Vec::new();
    let mut plain = Vec::new();
    for sel in selected {
        let path = tree.abs(&sel.rel);
        if !sel.is_dir && is_archive(&path) {
            archives.push(path);
        } else {
            plain.push(sel);
        }
    }
    (plain, archives)
}

const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];

fn read_head(path: &Path) -> Vec<u8> {
    let mut head = vec![0u8; 512];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head.truncate(n);
    head
}

/// Is this a tar archive, compressed or not? Detected from the content, as Docker does.
fn is_archive(path: &Path) -> bool {
    let head = read_head(path);
    head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(b"BZh")
        || head.starts_with(&XZ_MAGIC)
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || head.get(257..262) == Some(b"ustar".as_slice())
}

/// Extracts an archive with the layer applier, which never writes outside `dest`.
fn unpack_archive(archive: &Path, dest: &Path) -> Result<(), StepError> {
    let head = read_head(archive);
    let what = || format!("ADD {}", archive.display());
    let tool = if head.starts_with(b"BZh") {
        Some("bzip2")
    } else if head.starts_with(&XZ_MAGIC) {
        Some("xz")
    } else {
        None
    };
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Apply,
    };
    match tool {
        Some(tool) => {
            let mut child = std::process::Command::new(tool)
                .arg("-dc")
                .arg(archive)
                .stdout(Stdio::piped())
                .spawn()
                .map_err(StepError::io(format!(
                    "{}: running {tool} (install it to ADD such archives)",
                    what()
                )))?;
            let stdout = child
                .stdout
                .take()
                .ok_or_else(|| StepError::Invalid(format!("{}: no output from {tool}", what())))?;
            apply_layer(stdout, dest, &opts)
                .map_err(|e| StepError::Invalid(format!("{}: {e}", what())))?;
            let status = child.wait().map_err(StepError::io(what()))?;
            if !status.success() {
                return Err(StepError::Invalid(format!(
                    "{}: {tool} failed ({status})",
                    what()
                )));
            }
        }
        None => {
            let file = File::open(archive).map_err(StepError::io(what()))?;
            let reader = decompress(file).map_err(StepError::io(what()))?;
            apply_layer(reader, dest, &opts)
                .map_err(|e| StepError::Invalid(format!("{}: {e}", what())))?;
        }
    }
    Ok(())
}
