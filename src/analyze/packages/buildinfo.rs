//! Go binaries: since Go 1.18 the linker writes the module list into the binary, after a
//! `\xff Go buildinf:` header (flag 2: strings inline, each a uvarint length and bytes). The
//! module text has lines `path`, `mod`, `dep`, `=>` (replacement) and `build`, tab-separated.

use serde::Serialize;

pub const MAGIC: &[u8] = b"\xff Go buildinf:";
/// Bytes kept after the magic: the header and both strings fit (module lists are a few KiB).
pub const CAPTURE: usize = 256 << 10;
const HEADER: usize = 32;
/// Go brackets the module text with 16 bytes of sentinel on each side.
const SENTINEL: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoBuild {
    /// `go1.22.5`; empty when the binary predates Go 1.18's inline format.
    pub go: String,
    pub modinfo: String,
}

fn uvarint(data: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, b) in data.iter().enumerate().take(9) {
        value |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn string_at(data: &[u8]) -> Option<(&[u8], usize)> {
    let (len, n) = uvarint(data)?;
    let bytes = data.get(n..n.checked_add(len)?)?;
    Some((bytes, n + len))
}

/// The build info in `blob`, which starts at [`MAGIC`].
pub fn parse(blob: &[u8]) -> Option<GoBuild> {
    if !blob.starts_with(MAGIC) || blob.len() < HEADER {
        return None;
    }
    let flags = blob[15];
    if flags & 2 == 0 {
        // Before Go 1.18 the header holds pointers into the data segment: not read.
        return Some(GoBuild {
            go: String::new(),
            modinfo: String::new(),
        });
    }
    let (go, used) = string_at(&blob[HEADER..])?;
    let (mut info, _) = string_at(&blob[HEADER + used..])?;
    if info.len() > 2 * SENTINEL {
        info = &info[SENTINEL..info.len() - SENTINEL];
    }
    Some(GoBuild {
        go: String::from_utf8_lossy(go).into_owned(),
        modinfo: String::from_utf8_lossy(info).into_owned(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A build info blob as the Go 1.18+ linker writes it.
    pub(crate) fn blob(go: &str, modinfo: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend([8u8, 2]);
        b.resize(HEADER, 0);
        let info = format!("{}{modinfo}{}", "s".repeat(SENTINEL), "e".repeat(SENTINEL));
        for s in [go, info.as_str()] {
            let mut n = s.len();
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                b.push(if n > 0 { byte | 0x80 } else { byte });
                if n == 0 {
                    break;
                }
            }
            b.extend_from_slice(s.as_bytes());
        }
        b
    }

    #[test]
    fn parses_inline_build_info() {
        let deps = "dep\tgithub.com/x/y\tv1.2.3\th1:abc=\n".repeat(20);
        let text = format!("path\texample.com/cmd/tool\nmod\texample.com\tv0.4.0\th1:x=\n{deps}");
        let found = parse(&blob("go1.22.5", &text)).expect("build info");
        assert_eq!(found.go, "go1.22.5");
        assert_eq!(found.modinfo, text);
        assert_eq!(parse(b"\xff Go buildinf:\x08\x00 short"), None);
    }
}
