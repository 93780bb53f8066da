//! Debian's dpkg database: `/var/lib/dpkg/status` names the installed packages (with their
//! version and `Installed-Size` in KiB), `info/NAME[:ARCH].list` their files. Distroless images
//! keep one status paragraph per file in `status.d/` and no lists.

use super::{Db, Installed, Manager};

pub use super::capture::dpkg::{INFO, STATUS, STATUS_D};

/// `Key: value` fields of one control paragraph (continuation lines dropped).
fn fields(paragraph: &str) -> impl Iterator<Item = (&str, &str)> {
    paragraph
        .lines()
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
}

fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n").filter(|p| !p.trim().is_empty())
}

pub fn read(db: &Db) -> Vec<Installed> {
    let mut texts: Vec<&[u8]> = db.files_under(STATUS_D).map(|(_, c)| c).collect();
    texts.extend(db.file(STATUS));
    let mut out = Vec::new();
    for text in texts {
        let text = String::from_utf8_lossy(text);
        for p in paragraphs(&text) {
            let (mut name, mut version, mut arch, mut size, mut installed) =
                ("", "", "", None, true);
            for (k, v) in fields(p) {
                match k {
                    "Package" => name = v,
                    "Version" => version = v,
                    "Architecture" => arch = v,
                    "Installed-Size" => size = v.parse::<u64>().ok(),
                    // Removed packages keep a paragraph (`deinstall ok config-files`).
                    "Status" => installed = v.ends_with(" installed"),
                    _ => {}
                }
            }
            if name.is_empty() || !installed {
                continue;
            }
            let list = db
                .file(&format!("{INFO}{name}:{arch}.list"))
                .or_else(|| db.file(&format!("{INFO}{name}.list")));
            let files = list
                .map(|l| {
                    String::from_utf8_lossy(l)
                        .lines()
                        .map(|f| f.trim_start_matches('/').to_string())
                        .filter(|f| !f.is_empty() && f != ".")
                        .collect()
                })
                .unwrap_or_default();
            out.push(Installed {
                declared_size: size.map(|kib| kib * 1024),
                ..Installed::new(name, version, Manager::Dpkg, files)
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_and_lists() {
        let mut db = Db::default();
        db.insert(
            STATUS,
            b"Package: hello\nStatus: install ok installed\nInstalled-Size: 12\nArchitecture: amd64\nVersion: 2.10-3\nDescription: hi\n there\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n",
        );
        db.insert(
            "var/lib/dpkg/info/hello.list",
            b"/.\n/usr\n/usr/bin\n/usr/bin/hello\n",
        );
        let found = read(&db);
        assert_eq!(found.len(), 1);
        let p = &found[0];
        assert_eq!((p.name.as_str(), p.version.as_str()), ("hello", "2.10-3"));
        assert_eq!(p.files, ["usr", "usr/bin", "usr/bin/hello"]);
        assert_eq!(p.declared_size, Some(12 * 1024));
    }
}
