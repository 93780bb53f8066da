//! Go binaries as packages: the module list their build info names (see [`super::buildinfo`]).

use super::{Db, Installed, Manager};

pub fn read(db: &Db) -> Vec<Installed> {
    let mut out = Vec::new();
    for (path, build) in db.go_binaries() {
        let (mut name, mut version) = (String::new(), build.go.clone());
        let mut modules = Vec::new();
        for line in build.modinfo.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            match cols.as_slice() {
                ["path", p, ..] if name.is_empty() => name = p.to_string(),
                ["mod", m, v, ..] => {
                    name = m.to_string();
                    version = v.to_string();
                }
                ["dep", m, v, ..] => modules.push(format!("{m}@{v}")),
                _ => {}
            }
        }
        if name.is_empty() {
            name = path.rsplit('/').next().unwrap_or(path).to_string();
        }
        out.push(Installed {
            modules,
            ..Installed::new(&name, &version, Manager::Go, vec![path.to_string()])
        });
    }
    out
}
