//! Which package owns a path: what the views show next to a selected file (the TUI's layer pane,
//! `inspect`), built once from the attribution of that filesystem.

use std::collections::HashMap;

use super::Packages;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owners {
    /// `libc6 (dpkg)`, one per package: short enough for a header line (versions are in
    /// `explain` and inspect's packages panel).
    labels: Vec<String>,
    /// Relative path (`usr/bin/ls`) → index into `labels`.
    by_path: HashMap<String, u32>,
}

impl Owners {
    pub fn of(packages: &Packages) -> Self {
        let mut out = Owners::default();
        for (i, p) in packages.packages.iter().enumerate() {
            out.labels.push(label(&p.name, "", p.manager.name()));
            for path in &p.paths {
                out.by_path
                    .insert(path.trim_start_matches('/').to_string(), i as u32);
            }
        }
        out
    }

    /// The package owning `path` (relative or absolute).
    pub fn owner(&self, path: &str) -> Option<&str> {
        let i = *self.by_path.get(path.trim_start_matches('/'))?;
        self.labels.get(i as usize).map(String::as_str)
    }

    /// No package database was found (then "no package" says nothing).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

pub fn label(name: &str, version: &str, manager: &str) -> String {
    if version.is_empty() {
        format!("{name} ({manager})")
    } else {
        format!("{name} {version} ({manager})")
    }
}
