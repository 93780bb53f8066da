//! rpm databases. The sqlite one (`rpmdb.sqlite`, rpm 4.16+: Fedora 33+, RHEL 9) is read: its
//! `Packages` table holds one header blob per package ([`super::rpm_header`]). Berkeley DB
//! (`Packages`) and ndb (`Packages.db`) are only named: their files count as unowned, and the
//! report says so instead of pretending the image has no packages.

use std::collections::BTreeMap;
use std::io::Write;

use rusqlite::{Connection, OpenFlags};

use super::{Db, Installed, Manager, rpm_header};
use crate::analyze::stack::Live;

use super::capture::rpm::SQLITE;

/// The formats not read, and where rpm keeps them.
const UNREAD: &[(&str, &str)] = &[
    ("var/lib/rpm/Packages", "Berkeley DB"),
    ("var/lib/rpm/Packages.db", "ndb"),
    ("usr/lib/sysimage/rpm/Packages.db", "ndb"),
];

pub fn notes(live: &BTreeMap<String, Live>) -> Vec<String> {
    let unread = UNREAD
        .iter()
        .filter(|(path, _)| live.contains_key(*path))
        .map(|(path, format)| {
            format!(
                "rpm database /{path} ({format}) is not read: only rpm's sqlite database is \
                 supported, these packages' files are listed as unowned"
            )
        });
    // rpm checkpoints its write-ahead log when it closes; one left behind may hold changes the
    // main file lacks (an empty one is common and harmless), and only the main file is read.
    let wal = SQLITE
        .iter()
        .map(|path| format!("{path}-wal"))
        .filter(|wal| live.get(wal).is_some_and(|l| l.size > 0))
        .map(|wal| {
            format!("rpm write-ahead log /{wal} is not read: changes still in it are missed")
        });
    unread.chain(wal).collect()
}

pub fn read(db: &Db) -> Vec<Installed> {
    SQLITE
        .iter()
        .filter_map(|path| db.file(path))
        .flat_map(|bytes| blobs(bytes).unwrap_or_default())
        .filter_map(|blob| rpm_header::parse(&blob))
        .map(|h| Installed {
            declared_size: h.size,
            ..Installed::new(&h.name, &h.version, Manager::Rpm, h.files)
        })
        .collect()
}

/// Every header blob of the `Packages` table; `None` when the file is no sqlite database or has
/// no such table. sqlite opens files, so the captured bytes go to a temporary one, opened
/// immutable: read-only, no locks, no journal or WAL looked for.
fn blobs(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut file = tempfile::NamedTempFile::new().ok()?;
    file.write_all(bytes).ok()?;
    let uri = format!("file:{}?immutable=1", file.path().display());
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(uri, flags).ok()?;
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages ORDER BY hnum")
        .ok()?;
    let rows = stmt.query_map([], |row| row.get::<_, Vec<u8>>(0)).ok()?;
    rows.collect::<rusqlite::Result<_>>().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A sqlite file with rpm's table: one good header, one that is garbage.
    fn rpmdb(blobs: &[&[u8]]) -> Vec<u8> {
        let file = tempfile::NamedTempFile::new().unwrap();
        let conn = Connection::open(file.path()).unwrap();
        conn.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
        )
        .unwrap();
        for blob in blobs {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob])
                .unwrap();
        }
        drop(conn);
        std::fs::read(file.path()).unwrap()
    }

    #[test]
    fn reads_the_packages_table_and_skips_bad_headers() {
        let good = rpm_header::tests::hello();
        let mut db = Db::default();
        db.insert(SQLITE[0], &rpmdb(&[b"\xff\xff\xff\xffjunk", &good]));
        let found = read(&db);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].name.as_str(), found[0].manager),
            ("hello", Manager::Rpm)
        );
        assert_eq!(found[0].declared_size, Some(70_000));
    }

    #[test]
    fn a_file_that_is_not_sqlite_gives_no_packages() {
        let mut db = Db::default();
        db.insert(SQLITE[1], b"SQLite format 3\0 but then nothing");
        assert!(read(&db).is_empty());
        let mut truncated = rpmdb(&[&rpm_header::tests::hello()]);
        truncated.truncate(truncated.len() / 2);
        db.insert(SQLITE[1], &truncated);
        assert!(read(&db).is_empty());
    }
}
