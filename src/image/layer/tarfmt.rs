//! Deterministic tar headers: ustar blocks, with a PAX extended header in front of an entry
//! whenever a name, link target, id or size does not fit, or the entry carries xattrs.

use std::io::{self, Write};

use tar::{EntryType, Header};

use super::sparse::{PAX_MAJOR, PAX_MINOR, PAX_NAME, PAX_REALSIZE, SparseMap};

/// Everything a header says about one entry.
pub struct EntryMeta<'a> {
    pub path: &'a [u8],
    pub kind: EntryType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub size: u64,
    pub link: Option<&'a [u8]>,
    pub dev: Option<(u32, u32)>,
    pub xattrs: &'a [(Vec<u8>, Vec<u8>)],
    /// A regular file stored sparse (PAX GNU sparse 1.0); `size` is then the map block and
    /// the stored pieces, which the caller writes.
    pub sparse: Option<&'a SparseMap>,
}

const OCTAL_7: u64 = 0o7777777;
const OCTAL_11: u64 = 0o77777777777;

fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    // The length prefix counts itself, so find the fixed point.
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

fn copy_name(field: &mut [u8], value: &[u8]) -> bool {
    let fits = value.len() <= field.len();
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
    fits
}

fn ustar(kind: EntryType, mode: u32, size: u64) -> Header {
    let mut h = Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h
}

pub fn pad(out: &mut impl Write, size: u64) -> io::Result<()> {
    let rem = (size % 512) as usize;
    if rem != 0 {
        out.write_all(&[0u8; 512][..512 - rem])?;
    }
    Ok(())
}

/// Writes the header block(s) for `meta`; the caller writes `meta.size` bytes of data and [`pad`].
pub fn write_header(out: &mut impl Write, meta: &EntryMeta<'_>) -> io::Result<()> {
    let mut h = ustar(meta.kind, meta.mode & 0o7777, 0);
    let mut pax = Vec::new();
    if let Some(map) = meta.sparse {
        pax_record(&mut pax, PAX_MAJOR, b"1");
        pax_record(&mut pax, PAX_MINOR, b"0");
        pax_record(&mut pax, PAX_NAME, meta.path);
        pax_record(&mut pax, PAX_REALSIZE, map.real_size.to_string().as_bytes());
    }
    {
        let old = h.as_old_mut();
        if !copy_name(&mut old.name, meta.path) {
            pax_record(&mut pax, b"path", meta.path);
        }
        if let Some(link) = meta.link
            && !copy_name(&mut old.linkname, link)
        {
            pax_record(&mut pax, b"linkpath", link);
        }
    }
    for (value, key, field) in [(meta.uid, "uid", 0), (meta.gid, "gid", 1)] {
        let v = if value > OCTAL_7 {
            pax_record(&mut pax, key.as_bytes(), value.to_string().as_bytes());
            0
        } else {
            value
        };
        if field == 0 {
            h.set_uid(v)
        } else {
            h.set_gid(v)
        }
    }
    if meta.size > OCTAL_11 {
        pax_record(&mut pax, b"size", meta.size.to_string().as_bytes());
    } else {
        h.set_size(meta.size);
    }
    h.set_mtime(meta.mtime.min(OCTAL_11));
    if let Some((major, minor)) = meta.dev {
        h.set_device_major(major)?;
        h.set_device_minor(minor)?;
    }
    for (name, value) in meta.xattrs {
        let mut key = b"SCHILY.xattr.".to_vec();
        key.extend_from_slice(name);
        pax_record(&mut pax, &key, value);
    }
    if !pax.is_empty() {
        let mut x = ustar(EntryType::XHeader, 0o644, pax.len() as u64);
        let mut name = b"PaxHeaders/".to_vec();
        name.extend_from_slice(&meta.path[..meta.path.len().min(89)]);
        copy_name(&mut x.as_old_mut().name, &name);
        x.set_mtime(meta.mtime.min(OCTAL_11));
        x.set_cksum();
        out.write_all(x.as_bytes())?;
        out.write_all(&pax)?;
        pad(out, pax.len() as u64)?;
    }
    h.set_cksum();
    out.write_all(h.as_bytes())
}

/// The end-of-archive marker: two zero blocks.
pub fn write_trailer(out: &mut impl Write) -> io::Result<()> {
    out.write_all(&[0u8; 1024])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_length_counts_itself() {
        let mut out = Vec::new();
        pax_record(&mut out, b"path", b"x");
        assert_eq!(out, b"9 path=x\n");
        let mut out = Vec::new();
        let long = vec![b'a'; 93];
        pax_record(&mut out, b"path", &long);
        let s = String::from_utf8(out.clone()).expect("utf8");
        let len: usize = s.split(' ').next().expect("len").parse().expect("number");
        assert_eq!(len, out.len());
    }
}
