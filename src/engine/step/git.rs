//! `ADD <git repository> DEST`. BuildKit clones remote repositories; stagecraft never fetches
//! over the network for git, so it takes local ones only: `file:///path/repo.git[#ref[:subdir]]`,
//! cloned with the `git` on PATH, keyed by the commit it checked out. Anything else that names a
//! git repository is a clear error instead of an HTTP download of an HTML page.

use std::path::Path;
use std::process::Command;

use super::super::error::StepError;
use crate::store::Store;

/// Whether ADD's source names a git repository (BuildKit's rules, roughly).
pub fn is_git(src: &str) -> bool {
    let base = src.split('#').next().unwrap_or(src);
    if let Some(path) = base.strip_prefix("file://") {
        let p = Path::new(path);
        return p.join(".git").exists() || p.join("HEAD").is_file() || path.ends_with(".git");
    }
    src.starts_with("git@")
        || src.starts_with("git://")
        || (src.contains("://") && (base.ends_with(".git") || base.ends_with(".git/")))
        || src.starts_with("github.com/")
}

/// A checked-out repository: `dir/name` holds the tree (without `.git` unless kept).
pub struct Checkout {
    pub dir: tempfile::TempDir,
    pub name: String,
    /// `git:<commit>[:subdir]`: what the step's cache key takes from it.
    pub key: String,
}

fn git(args: &[&str], cwd: Option<&Path>, what: &str) -> Result<String, StepError> {
    let mut cmd = Command::new("git");
    cmd.args(args).env("GIT_TERMINAL_PROMPT", "0");
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let out = cmd
        .output()
        .map_err(|e| StepError::Invalid(format!("ADD {what}: running git: {e}")))?;
    if !out.status.success() {
        return Err(StepError::Invalid(format!(
            "ADD {what}: git {}: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Clones a local repository (blocking; the caller runs it off the async threads).
pub fn checkout(store: &Store, src: &str, keep_git_dir: bool) -> Result<Checkout, StepError> {
    let Some(rest) = src.strip_prefix("file://") else {
        return Err(StepError::Invalid(format!(
            "ADD of a remote git repository is not supported: {src} (stagecraft clones only local file:// repositories)"
        )));
    };
    if which("git").is_none() {
        return Err(StepError::Invalid(format!(
            "ADD of a git repository needs git on PATH: {src}"
        )));
    }
    let (repo, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (reference, subdir) = fragment.split_once(':').unwrap_or((fragment, ""));
    let dir = store.tmp_dir("git-")?;
    let tree = dir.path().join("repo");
    let tree_str = tree.to_string_lossy().to_string();
    git(
        &["clone", "--quiet", &format!("file://{repo}"), &tree_str],
        None,
        src,
    )?;
    if !reference.is_empty() {
        git(
            &["checkout", "--quiet", "--detach", reference],
            Some(&tree),
            src,
        )?;
    }
    let commit = git(&["rev-parse", "HEAD"], Some(&tree), src)?;
    if !keep_git_dir {
        std::fs::remove_dir_all(tree.join(".git"))
            .map_err(StepError::io(format!("ADD {src}: removing .git")))?;
    }
    let subdir = subdir.trim_matches('/');
    let name = if subdir.is_empty() {
        "repo".to_string()
    } else {
        if subdir.split('/').any(|c| c == "..") {
            return Err(StepError::Invalid(format!(
                "ADD {src}: subdirectory {subdir:?} leaves the repository"
            )));
        }
        format!("repo/{subdir}")
    };
    Ok(Checkout {
        dir,
        name,
        key: format!("git:{commit}:{subdir}:{keep_git_dir}"),
    })
}

fn which(cmd: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(cmd))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::is_git;

    #[test]
    fn git_sources_are_recognised() {
        assert!(is_git("https://github.com/moby/buildkit.git#v0.10.1"));
        assert!(is_git("git@github.com:moby/buildkit.git"));
        assert!(is_git("file:///srv/repo.git#main:sub"));
        assert!(!is_git("https://example.com/file.tar.gz"));
        assert!(!is_git("repo.git"));
    }
}
