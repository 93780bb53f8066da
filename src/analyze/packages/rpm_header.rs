//! rpm's header blob, as the database stores it (no lead, no magic): `il` and `dl` (u32 big
//! endian), `il` index entries of 16 bytes {tag, type, offset, count}, then `dl` bytes of data.
//! Every count and offset comes from the image, so each is checked against the blob before use:
//! a hostile header yields `None` or fewer values, never a panic or an allocation larger than
//! the blob.

const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const SIZE: u32 = 1009;
const OLDFILENAMES: u32 = 1027;
const DIRINDEXES: u32 = 1116;
const BASENAMES: u32 = 1117;
const DIRNAMES: u32 = 1118;
const LONGSIZE: u32 = 5009;

const INT32: u32 = 4;
const INT64: u32 = 5;
const STRING: u32 = 6;
const STRING_ARRAY: u32 = 8;
const I18NSTRING: u32 = 9;

/// What explain needs of one installed rpm.
#[derive(Debug, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    /// `[epoch:]version-release`, as rpm -q prints it.
    pub version: String,
    pub size: Option<u64>,
    /// Relative paths (no leading `/`).
    pub files: Vec<String>,
}

struct Entry {
    tag: u32,
    kind: u32,
    offset: usize,
    count: usize,
}

struct Blob<'a> {
    entries: Vec<Entry>,
    data: &'a [u8],
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

impl<'a> Blob<'a> {
    fn parse(blob: &'a [u8]) -> Option<Self> {
        let il = usize::try_from(be32(blob, 0)?).ok()?;
        let dl = usize::try_from(be32(blob, 4)?).ok()?;
        let start = il.checked_mul(16)?.checked_add(8)?;
        let data = blob.get(start..start.checked_add(dl)?)?;
        let entries = (0..il)
            .map(|i| {
                let at = 8 + i * 16;
                Some(Entry {
                    tag: be32(blob, at)?,
                    kind: be32(blob, at + 4)?,
                    offset: usize::try_from(be32(blob, at + 8)?).ok()?,
                    count: usize::try_from(be32(blob, at + 12)?).ok()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Blob { entries, data })
    }

    fn entry(&self, tag: u32) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }

    /// Up to `count` NUL-terminated strings from the entry's offset; stops at the data's end.
    fn strings(&self, tag: u32) -> Vec<String> {
        let Some(e) = self.entry(tag) else {
            return Vec::new();
        };
        let count = match e.kind {
            STRING_ARRAY => e.count,
            STRING | I18NSTRING => 1,
            _ => return Vec::new(),
        };
        let mut rest = self.data.get(e.offset..).unwrap_or_default();
        let mut out = Vec::new();
        while out.len() < count {
            let Some(end) = rest.iter().position(|&b| b == 0) else {
                break;
            };
            out.push(String::from_utf8_lossy(&rest[..end]).into_owned());
            rest = &rest[end + 1..];
        }
        out
    }

    fn string(&self, tag: u32) -> Option<String> {
        self.strings(tag).into_iter().next()
    }

    /// Up to `count` integers (INT32 or INT64), as many as fit in the data.
    fn ints(&self, tag: u32) -> Vec<u64> {
        let Some(e) = self.entry(tag) else {
            return Vec::new();
        };
        let width = match e.kind {
            INT32 => 4,
            INT64 => 8,
            _ => return Vec::new(),
        };
        let rest = self.data.get(e.offset..).unwrap_or_default();
        rest.chunks_exact(width)
            .take(e.count)
            .map(|c| c.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
            .collect()
    }
}

/// The files of a header: DIRNAMES[DIRINDEXES[i]] + BASENAMES[i], or OLDFILENAMES before rpm 4.
fn files(blob: &Blob) -> Vec<String> {
    let base = blob.strings(BASENAMES);
    if base.is_empty() {
        let old = blob.strings(OLDFILENAMES).into_iter();
        return old.map(|f| f.trim_start_matches('/').to_string()).collect();
    }
    let dirs = blob.strings(DIRNAMES);
    let index = blob.ints(DIRINDEXES);
    base.iter()
        .zip(index)
        .filter_map(|(name, i)| {
            let dir = dirs.get(usize::try_from(i).ok()?)?;
            Some(format!("{dir}{name}").trim_start_matches('/').to_string())
        })
        .filter(|f| !f.is_empty())
        .collect()
}

pub fn parse(blob: &[u8]) -> Option<Header> {
    let b = Blob::parse(blob)?;
    let name = b.string(NAME).filter(|n| !n.is_empty())?;
    let mut version = b.string(VERSION).unwrap_or_default();
    if let Some(release) = b.string(RELEASE) {
        version = format!("{version}-{release}");
    }
    if let Some(epoch) = b.ints(EPOCH).first() {
        version = format!("{epoch}:{version}");
    }
    let size = b.ints(LONGSIZE).first().or(b.ints(SIZE).first()).copied();
    Some(Header {
        name,
        version,
        size,
        files: files(&b),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests {
    use super::*;

    /// A header blob from (tag, type, count, data) entries, data laid out in order.
    pub(in crate::analyze::packages) fn blob(entries: &[(u32, u32, u32, &[u8])]) -> Vec<u8> {
        let mut index: Vec<u8> = Vec::new();
        let mut data: Vec<u8> = Vec::new();
        for (tag, kind, count, bytes) in entries {
            let offset = u32::try_from(data.len()).unwrap();
            for v in [*tag, *kind, offset, *count] {
                index.extend(v.to_be_bytes());
            }
            data.extend(*bytes);
        }
        let mut out = Vec::new();
        out.extend(u32::try_from(entries.len()).unwrap().to_be_bytes());
        out.extend(u32::try_from(data.len()).unwrap().to_be_bytes());
        out.extend(index);
        out.extend(data);
        out
    }

    pub(in crate::analyze::packages) fn hello() -> Vec<u8> {
        blob(&[
            (NAME, STRING, 1, b"hello\0"),
            (VERSION, STRING, 1, b"2.12\0"),
            (RELEASE, STRING, 1, b"1.fc40\0"),
            (SIZE, INT32, 1, &70_000u32.to_be_bytes()),
            (DIRINDEXES, INT32, 2, &[0, 0, 0, 0, 0, 0, 0, 1]),
            (BASENAMES, STRING_ARRAY, 2, b"hello\0hello.1.gz\0"),
            (
                DIRNAMES,
                STRING_ARRAY,
                2,
                b"/usr/bin/\0/usr/share/man/man1/\0",
            ),
        ])
    }

    #[test]
    fn reads_name_version_size_and_files() {
        let h = parse(&hello()).expect("parses");
        assert_eq!(
            (h.name.as_str(), h.version.as_str()),
            ("hello", "2.12-1.fc40")
        );
        assert_eq!(h.size, Some(70_000));
        assert_eq!(h.files, ["usr/bin/hello", "usr/share/man/man1/hello.1.gz"]);
    }

    #[test]
    fn old_file_names_and_epoch() {
        let h = parse(&blob(&[
            (NAME, STRING, 1, b"old\0"),
            (VERSION, STRING, 1, b"1\0"),
            (EPOCH, INT32, 1, &2u32.to_be_bytes()),
            (OLDFILENAMES, STRING_ARRAY, 2, b"/etc/a\0/etc/b\0"),
        ]))
        .expect("parses");
        assert_eq!(h.version, "2:1");
        assert_eq!(h.files, ["etc/a", "etc/b"]);
    }

    #[test]
    fn hostile_headers_never_panic() {
        let good = hello();
        // Every truncation: the declared lengths no longer fit.
        for len in 0..good.len() {
            assert_eq!(parse(&good[..len]), None, "truncated at {len}");
        }
        // Counts and offsets pointing far outside the data: fewer values, no panic.
        let huge = u32::MAX.to_be_bytes();
        let h = parse(&blob(&[
            (NAME, STRING, 1, b"x\0"),
            (DIRINDEXES, INT32, u32::MAX, &[0, 0, 0, 9]),
            (BASENAMES, STRING_ARRAY, u32::MAX, b"a\0b"),
            (DIRNAMES, STRING_ARRAY, 1, b"/d/\0"),
            (SIZE, INT64, u32::MAX, &huge),
        ]))
        .expect("name is readable");
        // Index 9 names no directory: the file is dropped; the INT64 SIZE is too short to read.
        assert_eq!((h.files.len(), h.size), (0, None));
        let mut bad_offset = hello();
        bad_offset[16..20].copy_from_slice(&huge); // NAME's offset
        assert_eq!(parse(&bad_offset), None);
        // An index count whose entries would need more bytes than exist.
        let mut many = hello();
        many[..4].copy_from_slice(&huge);
        assert_eq!(parse(&many), None);
    }
}
