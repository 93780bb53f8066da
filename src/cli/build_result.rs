//! What `build` does with a finished image, as `docker build` does: `-o` exports, `--load` into
//! docker or podman, `--iidfile`, `--metadata-file`, and the digest on stdout (alone with `-q`,
//! never in JSON progress, whose stdout is JSON lines only).

use std::path::{Path, PathBuf};
use std::process::Command;

use miette::{IntoDiagnostic, Result, miette};
use serde_json::json;

use crate::image::layer::Compression;
use crate::image::transport::Destination;
use crate::store::{BuildRecord, Store};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ResultFlags {
    /// Print only the image digest on stdout (no progress; errors still go to stderr)
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Write the image digest to FILE
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Write the build's result as JSON to FILE: digest, config digest, tags, each stage's image
    #[arg(long, value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,
    /// Load the image into the local docker (or podman) through `docker load`
    #[arg(long)]
    pub load: bool,
}

/// Everything after a successful build that is not the build itself.
pub struct Delivery<'a> {
    pub store: &'a Store,
    pub record: &'a BuildRecord,
    pub tags: &'a [String],
    pub outputs: &'a [Destination],
    pub insecure: bool,
    pub compression: Compression,
    /// Print the digest on stdout (false for JSON progress).
    pub print_digest: bool,
}

impl Delivery<'_> {
    pub fn run(&self, flags: &ResultFlags) -> Result<()> {
        let Some(digest) = &self.record.image else {
            return Ok(());
        };
        for dest in self.outputs {
            super::image::export_image(
                self.store,
                digest,
                self.tags.first().map(String::as_str),
                dest,
                self.insecure,
                self.compression,
            )?;
        }
        if flags.load {
            load(self.store, digest, self.tags)?;
        }
        if let Some(path) = &flags.iidfile {
            write_file(path, digest.as_bytes())?;
        }
        if let Some(path) = &flags.metadata_file {
            let meta = self.metadata(digest)?;
            let text = serde_json::to_vec_pretty(&meta).into_diagnostic()?;
            write_file(path, &text)?;
        }
        if self.print_digest || flags.quiet {
            println!("{digest}");
        }
        Ok(())
    }

    /// buildx's keys where they exist (`containerimage.digest`, `image.name`), plus the stages.
    fn metadata(&self, digest: &str) -> Result<serde_json::Value> {
        let image = self
            .store
            .resolve(digest)?
            .ok_or_else(|| miette!("the built image {digest} is not in the store"))?;
        let stages: serde_json::Map<String, serde_json::Value> = self
            .record
            .stages
            .iter()
            .filter_map(|s| Some((s.label.clone(), json!(s.image.clone()?))))
            .collect();
        Ok(json!({
            "containerimage.digest": digest,
            "containerimage.config.digest": image.manifest.config().digest().to_string(),
            "image.name": self.tags.join(","),
            "stagecraft.build.id": self.record.id,
            "stagecraft.target": self.record.target,
            "stagecraft.stages": stages,
        }))
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| miette!("cannot write {}: {e}", path.display()))
}

/// The first of `docker` and `podman` on PATH (`STAGECRAFT_LOAD_CLI` overrides).
fn loader() -> Option<PathBuf> {
    if let Some(cli) = std::env::var_os("STAGECRAFT_LOAD_CLI") {
        return Some(PathBuf::from(cli));
    }
    let path = std::env::var_os("PATH")?;
    ["docker", "podman"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// `docker load` of a docker-archive export (the format both CLIs read), then `docker tag` for the
/// tags after the first (the archive carries one name).
fn load(store: &Store, digest: &str, tags: &[String]) -> Result<()> {
    let cli = loader().ok_or_else(|| {
        miette!(
            "--load needs docker or podman on PATH (apt-get install docker.io or podman); \
             or export with -o type=docker-archive,dest=FILE"
        )
    })?;
    let dir = tempfile::tempdir_in(store.root().join("tmp")).into_diagnostic()?;
    let file = dir.path().join("image.tar");
    let dest = Destination::DockerArchive { file: file.clone() };
    let first = tags.first().map(String::as_str);
    super::image::export_image(store, digest, first, &dest, false, Compression::None)?;
    let out = Command::new(&cli)
        .arg("load")
        .arg("-i")
        .arg(&file)
        .output()
        .map_err(|e| miette!("--load: cannot run {}: {e}", cli.display()))?;
    if !out.status.success() {
        return Err(miette!(
            "--load: {} load failed: {}",
            cli.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if let Some(first) = first {
        for tag in &tags[1..] {
            let st = Command::new(&cli).args(["tag", first, tag]).status();
            if !st.is_ok_and(|s| s.success()) {
                return Err(miette!(
                    "--load: {} tag {first} {tag} failed",
                    cli.display()
                ));
            }
        }
    }
    eprintln!(
        "loaded into {}: {}",
        cli.display(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    Ok(())
}
