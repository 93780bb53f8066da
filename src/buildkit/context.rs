//! The build context as a tar for `POST /build`: the files our engine would see (same
//! `.dockerignore`, same lookup order), plus the Dockerfile and the ignore file themselves, as the
//! docker CLI sends them. A Dockerfile outside the context goes in under a name of its own.

use std::path::Path;

use crate::engine::context::{ContextError, SourceTree, text};

/// Where the Dockerfile is inside the tar, and the tar.
pub struct ContextTar {
    pub dockerfile: String,
    pub tar: Vec<u8>,
}

/// Name under which a Dockerfile from outside the context travels (the CLI uses a random one).
const OUTSIDE_DOCKERFILE: &str = ".stagecraft.Dockerfile";

pub fn context_tar(root: &Path, dockerfile: &Path) -> Result<ContextTar, ContextError> {
    let tree = SourceTree::context(root, Some(dockerfile))?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ContextError::Io { path, source }
    };
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    let df_abs = std::fs::canonicalize(dockerfile).map_err(io(dockerfile))?;
    let df_rel = df_abs.strip_prefix(&tree.root).ok().map(Path::to_path_buf);
    let mut walker = walkdir::WalkDir::new(&tree.root)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walker.next() {
        let entry = entry.map_err(|e| ContextError::Io {
            path: tree.root.clone(),
            source: e.into(),
        })?;
        let rel = tree.rel_of(entry.path());
        let always = rel == Path::new(".dockerignore") || df_rel.as_deref() == Some(rel.as_path());
        if tree.ignore.is_ignored(&text(&rel)) && !always {
            // A directory may still hold `!re-included` files; without exceptions skip it whole.
            if entry.file_type().is_dir() && !tree.ignore.has_exclusions() {
                walker.skip_current_dir();
            }
            continue;
        }
        tar.append_path_with_name(entry.path(), &rel)
            .map_err(io(entry.path()))?;
    }
    let dockerfile = match df_rel {
        Some(rel) => rel.to_string_lossy().into_owned(),
        None => {
            tar.append_path_with_name(&df_abs, OUTSIDE_DOCKERFILE)
                .map_err(io(&df_abs))?;
            OUTSIDE_DOCKERFILE.to_string()
        }
    };
    let tar = tar.into_inner().map_err(io(root))?;
    Ok(ContextTar { dockerfile, tar })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tar: &[u8]) -> Vec<String> {
        let mut a = tar::Archive::new(tar);
        let mut out: Vec<String> = a
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .display()
                    .to_string()
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn honours_dockerignore_but_keeps_dockerfile() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        std::fs::write(
            root.join(".dockerignore"),
            "secret*\nbuild/\n!build/keep\nDockerfile\n",
        )
        .expect("ignore");
        std::fs::write(root.join("Dockerfile"), "FROM busybox\n").expect("df");
        std::fs::write(root.join("secret.txt"), "x").expect("secret");
        std::fs::write(root.join("app.txt"), "x").expect("app");
        std::fs::create_dir(root.join("build")).expect("dir");
        std::fs::write(root.join("build/keep"), "x").expect("keep");
        std::fs::write(root.join("build/drop"), "x").expect("drop");
        let t = context_tar(root, &root.join("Dockerfile")).expect("tar");
        assert_eq!(t.dockerfile, "Dockerfile");
        assert_eq!(
            names(&t.tar),
            [".dockerignore", "Dockerfile", "app.txt", "build/keep"]
        );
        let outside = tempfile::tempdir().expect("tmp");
        let df = outside.path().join("Other.Dockerfile");
        std::fs::write(&df, "FROM busybox\n").expect("df");
        let t = context_tar(root, &df).expect("tar");
        assert_eq!(t.dockerfile, OUTSIDE_DOCKERFILE);
        assert!(names(&t.tar).contains(&OUTSIDE_DOCKERFILE.to_string()));
    }
}
