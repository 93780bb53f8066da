//! Advice with the bytes it would save: caches left in the final image, files a later layer
//! deletes or overwrites, and `.git` or `node_modules` copied in from the context.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::layers::{EntryKind, LayerIndex};
use super::stack::{How, Stack};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HintKind {
    CacheLeftBehind,
    DeletedLater,
    OverwrittenLater,
    CopiedFromContext,
    ToolchainInImage,
    DocsAndLocales,
    PackageRemovedLater,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hint {
    pub kind: HintKind,
    /// What to change, naming the layers' instructions.
    pub message: String,
    /// Bytes the change would take out of the image.
    pub bytes: u64,
    pub files: usize,
    pub layers: Vec<usize>,
}

/// Package-manager caches and lists (`*` matches one path component) and how to avoid them.
const CACHES: &[(&str, &str)] = &[
    (
        "var/lib/apt/lists",
        "add `&& rm -rf /var/lib/apt/lists/*` to the RUN that runs apt-get update",
    ),
    (
        "var/cache/apt",
        "add `&& apt-get clean` to the RUN that installs packages",
    ),
    ("var/cache/apk", "use `apk add --no-cache`"),
    ("var/cache/yum", "add `&& yum clean all` to the same RUN"),
    ("var/cache/dnf", "add `&& dnf clean all` to the same RUN"),
    ("root/.cache/pip", "use `pip install --no-cache-dir`"),
    ("home/*/.cache/pip", "use `pip install --no-cache-dir`"),
    (
        "root/.npm",
        "add `&& npm cache clean --force` to the same RUN",
    ),
    (
        "home/*/.npm",
        "add `&& npm cache clean --force` to the same RUN",
    ),
    (
        "usr/local/share/.cache/yarn",
        "add `&& yarn cache clean` to the same RUN",
    ),
    (
        "root/.cache/yarn",
        "add `&& yarn cache clean` to the same RUN",
    ),
    (
        "root/.cache/go-build",
        "use a cache mount: `RUN --mount=type=cache,target=/root/.cache/go-build`",
    ),
    (
        "root/.cargo/registry",
        "use a cache mount: `RUN --mount=type=cache,target=/root/.cargo/registry`",
    ),
];

/// Where `path` lies under `pattern`: the matched prefix, or `None`.
fn cache_prefix<'a>(pattern: &str, path: &'a str) -> Option<&'a str> {
    let mut end = 0;
    let mut parts = path.split('/');
    for want in pattern.split('/') {
        let got = parts.next()?;
        if want != "*" && want != got {
            return None;
        }
        end += got.len() + 1;
    }
    parts.next()?;
    Some(&path[..end - 1])
}

/// `RUN /bin/sh -c x # buildkit` → `RUN x`: the words a user wrote.
pub fn user_text(created_by: &str) -> String {
    let text = created_by.trim();
    let text = text.strip_prefix("/bin/sh -c #(nop) ").unwrap_or(text);
    let text = text.strip_suffix(" # buildkit").unwrap_or(text);
    match text.strip_prefix("RUN /bin/sh -c ") {
        Some(rest) => format!("RUN {rest}"),
        None => text.to_string(),
    }
}

fn instruction(layers: &[LayerIndex], i: usize) -> String {
    let text = layers
        .get(i)
        .map(|l| user_text(&l.created_by))
        .unwrap_or_default();
    let text = text.as_str();
    let short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        format!("layer {i} `{short}…`")
    } else if short.is_empty() {
        format!("layer {i}")
    } else {
        format!("layer {i} `{short}`")
    }
}

fn files(n: usize) -> String {
    if n == 1 {
        "1 file".into()
    } else {
        format!("{n} files")
    }
}

fn caches(layers: &[LayerIndex], stack: &Stack) -> Vec<Hint> {
    // (pattern index, matched dir) → (bytes, files, layers)
    let mut found: BTreeMap<(usize, String), (u64, usize, BTreeSet<usize>)> = BTreeMap::new();
    for (path, live) in &stack.live {
        if live.kind != EntryKind::File {
            continue;
        }
        for (n, (pattern, _)) in CACHES.iter().enumerate() {
            if let Some(dir) = cache_prefix(pattern, path) {
                let slot = found.entry((n, dir.to_string())).or_default();
                slot.0 += live.size;
                slot.1 += 1;
                slot.2.insert(live.layer);
            }
        }
    }
    found
        .into_iter()
        .filter(|(_, (bytes, _, _))| *bytes > 0)
        .map(|((n, dir), (bytes, files, layer_set))| {
            let by: Vec<String> = layer_set.iter().map(|i| instruction(layers, *i)).collect();
            Hint {
                kind: HintKind::CacheLeftBehind,
                message: format!(
                    "/{dir} is left in the image by {}: {}",
                    by.join(", "),
                    CACHES[n].1
                ),
                bytes,
                files,
                layers: layer_set.into_iter().collect(),
            }
        })
        .collect()
}

fn shadowed(layers: &[LayerIndex], stack: &Stack) -> Vec<Hint> {
    let mut groups: BTreeMap<(usize, usize, How), (u64, usize)> = BTreeMap::new();
    for s in &stack.shadowed {
        let g = groups.entry((s.layer, s.by_layer, s.how)).or_default();
        g.0 += s.size;
        g.1 += 1;
    }
    groups
        .into_iter()
        .filter(|(_, (bytes, _))| *bytes > 0)
        .map(|((from, by, how), (bytes, count))| {
            let (a, b) = (instruction(layers, from), instruction(layers, by));
            let (kind, message) = match how {
                How::Deleted => (
                    HintKind::DeletedLater,
                    format!(
                        "{a} adds {} that {b} deletes (still stored in layer {from}): delete \
                         in the same RUN (chain with &&) or build in another stage",
                        files(count)
                    ),
                ),
                How::Overwritten => (
                    HintKind::OverwrittenLater,
                    format!(
                        "{b} rewrites {} of {a}: both copies are stored; change them in \
                         the same RUN (or COPY --chmod/--chown)",
                        files(count)
                    ),
                ),
            };
            Hint {
                kind,
                message,
                bytes,
                files: count,
                layers: vec![from, by],
            }
        })
        .collect()
}

fn is_copy(created_by: &str) -> bool {
    let text = created_by.trim();
    let text = text.strip_prefix("/bin/sh -c #(nop) ").unwrap_or(text);
    text.starts_with("COPY") || text.starts_with("ADD")
}

fn copied_in(layers: &[LayerIndex]) -> Vec<Hint> {
    let mut out = Vec::new();
    for l in layers.iter().filter(|l| is_copy(&l.created_by)) {
        for name in [".git", "node_modules"] {
            let (mut bytes, mut files) = (0, 0);
            for e in &l.entries {
                if e.kind == EntryKind::File && e.path.split('/').any(|c| c == name) {
                    bytes += e.size;
                    files += 1;
                }
            }
            if files == 0 {
                continue;
            }
            let advice = if name == ".git" {
                "add `.git` to .dockerignore"
            } else {
                "add `node_modules` to .dockerignore and install dependencies in the image"
            };
            out.push(Hint {
                kind: HintKind::CopiedFromContext,
                message: format!(
                    "{} copies {name} from the build context: {advice}",
                    instruction(layers, l.index)
                ),
                bytes,
                files,
                layers: vec![l.index],
            });
        }
    }
    out
}

/// Every hint, most bytes to save first.
pub fn hints(layers: &[LayerIndex], stack: &Stack) -> Vec<Hint> {
    let mut out = caches(layers, stack);
    out.extend(shadowed(layers, stack));
    out.extend(copied_in(layers));
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.kind.cmp(&b.kind)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_patterns_match_whole_components() {
        assert_eq!(
            cache_prefix("var/lib/apt/lists", "var/lib/apt/lists/x_Packages"),
            Some("var/lib/apt/lists")
        );
        assert_eq!(
            cache_prefix("home/*/.npm", "home/app/.npm/_cacache/x"),
            Some("home/app/.npm")
        );
        assert_eq!(
            cache_prefix("var/lib/apt/lists", "var/lib/apt/listsx/y"),
            None
        );
        assert_eq!(cache_prefix("var/lib/apt/lists", "var/lib/apt/lists"), None);
        assert!(is_copy("COPY . /app") && is_copy("/bin/sh -c #(nop) ADD x y"));
        assert!(!is_copy("RUN cp -r . /app"));
    }
}
