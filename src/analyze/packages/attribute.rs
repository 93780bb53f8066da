//! Bytes by package: the readers run on the database state after every layer that changed it,
//! so each package is tied to the layer that installed (or upgraded) it, and a package that a
//! later layer removed is still seen with the bytes its layer keeps storing.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::Serialize;

use super::{Captured, Db, Installed, Manager, read_all};
use crate::analyze::layers::{EntryKind, LayerIndex};
use crate::analyze::stack::Stack;

#[derive(Debug, Clone, Serialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub manager: Manager,
    /// Bytes of the regular files it owns in the final filesystem.
    pub bytes: u64,
    /// Paths it owns (files and symlinks).
    pub files: usize,
    /// The layer that installed this version.
    pub layer: usize,
    /// A later layer that rewrote some of its files (chmod, config edits…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_in_layer: Option<usize>,
    /// What its database declares (dpkg's Installed-Size in bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_size: Option<u64>,
    /// Go: the modules linked into the binary.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
    /// The paths it owns (`/usr/bin/x`), for views that highlight them.
    #[serde(skip)]
    pub paths: Vec<String>,
}

/// A package installed by one layer and removed by a later one: its bytes stay in the first.
#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    pub name: String,
    pub version: String,
    pub manager: Manager,
    pub bytes: u64,
    pub layer: usize,
    pub removed_in_layer: usize,
}

/// Files no package owns, grouped by the highest directory holding no owned file.
#[derive(Debug, Clone, Serialize)]
pub struct UnownedDir {
    pub dir: String,
    pub bytes: u64,
    pub files: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Packages {
    /// Largest first.
    pub packages: Vec<Package>,
    pub unowned: Vec<UnownedDir>,
    pub removed: Vec<Removed>,
    /// Databases found but not read, and why.
    pub notes: Vec<String>,
}

type Key = (Manager, String, String, String);

fn key(p: &Installed) -> Key {
    let at = p.files.first().cloned().unwrap_or_default();
    let at = if matches!(p.manager, Manager::Dpkg | Manager::Apk) {
        String::new()
    } else {
        at
    };
    (p.manager, p.name.clone(), p.version.clone(), at)
}

/// Follows symlinked directories (`bin` → `usr/bin` on merged-/usr systems) in `path`.
fn resolve(links: &HashMap<&str, &str>, path: &str) -> String {
    let mut parts: Vec<String> = path.split('/').map(str::to_string).collect();
    let mut i = 0;
    let mut hops = 0;
    while i + 1 < parts.len() && hops < 40 {
        let prefix = parts[..=i].join("/");
        let Some(target) = links.get(prefix.as_str()) else {
            i += 1;
            continue;
        };
        hops += 1;
        let base = if target.starts_with('/') {
            String::new()
        } else {
            parts[..i].join("/")
        };
        let mut joined: Vec<String> = Vec::new();
        for c in format!("{base}/{target}").split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    joined.pop();
                }
                c => joined.push(c.to_string()),
            }
        }
        let rest = parts.split_off(i + 1);
        i = 0;
        parts = joined;
        parts.extend(rest);
    }
    parts.join("/")
}

/// Live symlinks and their targets.
fn symlinks<'a, L: Borrow<LayerIndex>>(
    layers: &'a [L],
    stack: &Stack,
) -> HashMap<&'a str, &'a str> {
    let mut out = HashMap::new();
    for l in layers.iter().map(Borrow::borrow) {
        for e in l.entries.iter().filter(|e| e.kind == EntryKind::Symlink) {
            if stack.live.get(&e.path).is_some_and(|v| v.layer == l.index)
                && let Some(target) = &e.link
            {
                out.insert(e.path.as_str(), target.as_str());
            }
        }
    }
    out
}

/// Database states after each layer that touched them: (layer, packages of that state).
fn states<L: Borrow<LayerIndex>>(layers: &[L]) -> (Vec<(usize, Vec<Installed>)>, Stack) {
    let mut files: BTreeMap<String, Arc<Captured>> = BTreeMap::new();
    let mut stack = Stack::default();
    let mut out = Vec::new();
    for l in layers.iter().map(Borrow::borrow) {
        let before = files.len();
        for e in &l.entries {
            if matches!(e.kind, EntryKind::Whiteout | EntryKind::Opaque) {
                let under = format!("{}/", e.path);
                files.retain(|p, _| p != &e.path && !p.starts_with(&under));
            }
        }
        let changed = files.len() != before || !l.captured.is_empty();
        for (path, c) in &l.captured {
            files.insert(path.clone(), c.clone());
        }
        stack.apply(l);
        if changed {
            out.push((l.index, read_all(&Db::new(files.clone(), &stack.live))));
        }
    }
    (out, stack)
}

/// `layers` from the bottom, as `LayerIndex` or `Arc<LayerIndex>`.
pub fn attribute<L: Borrow<LayerIndex>>(layers: &[L]) -> Packages {
    let (states, stack) = states(layers);
    let mut first_seen: HashMap<Key, usize> = HashMap::new();
    let mut removed = Vec::new();
    let mut previous: Vec<Installed> = Vec::new();
    for (layer, now) in &states {
        let keys: BTreeSet<Key> = now.iter().map(key).collect();
        for p in &previous {
            let upgraded = now
                .iter()
                .any(|n| n.manager == p.manager && n.name == p.name);
            if !keys.contains(&key(p)) && !upgraded {
                let installed = first_seen.get(&key(p)).copied().unwrap_or(0);
                removed.push((p.clone(), installed, *layer));
            }
        }
        for k in keys {
            first_seen.entry(k).or_insert(*layer);
        }
        previous = now.clone();
    }
    let links = symlinks(layers, &stack);
    let mut out = Packages {
        notes: super::rpm::notes(&stack.live),
        ..Packages::default()
    };
    let mut owned: BTreeSet<String> = BTreeSet::new();
    for p in previous {
        let layer = first_seen.get(&key(&p)).copied().unwrap_or(0);
        if let Some(pkg) = own(&p, layer, &links, &stack, &mut owned) {
            out.packages.push(pkg);
        }
    }
    out.packages
        .sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    out.unowned = unowned(&stack, &owned);
    out.removed = removed
        .into_iter()
        .map(|(p, layer, by)| Removed {
            bytes: stored_bytes(layers[layer].borrow(), &p, &links),
            name: p.name,
            version: p.version,
            manager: p.manager,
            layer,
            removed_in_layer: by,
        })
        .collect();
    out
}

/// Claims the live files of `p` that no earlier package claimed.
fn own(
    p: &Installed,
    layer: usize,
    links: &HashMap<&str, &str>,
    stack: &Stack,
    owned: &mut BTreeSet<String>,
) -> Option<Package> {
    let (mut bytes, mut paths, mut changed) = (0, Vec::new(), None);
    for f in &p.files {
        let path = resolve(links, f);
        let Some(live) = stack.live.get(&path) else {
            continue;
        };
        if live.kind == EntryKind::Dir || !owned.insert(path.clone()) {
            continue;
        }
        bytes += live.size;
        if live.layer > layer {
            changed = changed.max(Some(live.layer));
        }
        paths.push(format!("/{path}"));
    }
    if paths.is_empty() && p.manager != Manager::Dpkg {
        // Everything it lists belongs to a system package (Debian's python3-* ship RECORDs too).
        return None;
    }
    Some(Package {
        name: p.name.clone(),
        version: p.version.clone(),
        manager: p.manager,
        bytes,
        files: paths.len(),
        layer,
        changed_in_layer: changed,
        declared_size: p.declared_size,
        modules: p.modules.clone(),
        paths,
    })
}

/// Bytes a removed package's files still take in the layer that installed it.
fn stored_bytes(layer: &LayerIndex, p: &Installed, links: &HashMap<&str, &str>) -> u64 {
    let wanted: BTreeSet<String> = p.files.iter().map(|f| resolve(links, f)).collect();
    layer
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File && (wanted.contains(&e.path)))
        .map(|e| e.size)
        .sum()
}

fn unowned(stack: &Stack, owned: &BTreeSet<String>) -> Vec<UnownedDir> {
    let mut owned_dirs: BTreeSet<&str> = BTreeSet::new();
    for p in owned {
        let mut at = p.as_str();
        while let Some((dir, _)) = at.rsplit_once('/') {
            if !owned_dirs.insert(dir) {
                break;
            }
            at = dir;
        }
    }
    let mut groups: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    for (path, live) in &stack.live {
        if live.kind != EntryKind::File || owned.contains(path) {
            continue;
        }
        let parent = path.rsplit_once('/').map_or("", |(d, _)| d);
        let mut group = parent;
        let mut end = 0;
        for c in path.split('/') {
            end += c.len();
            if end >= path.len() || !owned_dirs.contains(&path[..end]) {
                group = &path[..end.min(path.len())];
                break;
            }
            end += 1;
        }
        let group = if group == path { parent } else { group };
        let g = groups.entry(format!("/{group}")).or_default();
        g.0 += live.size;
        g.1 += 1;
    }
    let mut out: Vec<UnownedDir> = groups
        .into_iter()
        .map(|(dir, (bytes, files))| UnownedDir { dir, bytes, files })
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.dir.cmp(&b.dir)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_merged_usr_links() {
        let links: HashMap<&str, &str> = [("bin", "usr/bin"), ("lib64", "/usr/lib64")].into();
        assert_eq!(resolve(&links, "bin/ls"), "usr/bin/ls");
        assert_eq!(resolve(&links, "lib64/ld.so"), "usr/lib64/ld.so");
        assert_eq!(resolve(&links, "bin"), "bin");
        assert_eq!(resolve(&links, "usr/bin/ls"), "usr/bin/ls");
    }
}
