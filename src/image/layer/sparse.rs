//! Holes in files: where a file has data (SEEK_DATA/SEEK_HOLE), copying only that, and writing
//! zero runs as holes. A 10 GB file holding a few KB then costs a few KB in a snapshot and a tar.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;

/// The data extents of `file` as `(offset, length)`, in order, covering `size` bytes. A file
/// without holes (or a filesystem that cannot say) is one extent.
pub fn data_extents(file: &File, size: u64) -> io::Result<Vec<(u64, u64)>> {
    let fd = file.as_raw_fd();
    let mut out = Vec::new();
    let mut pos: i64 = 0;
    let end = size as i64;
    while pos < end {
        // SAFETY: lseek on an fd we own; it does not touch memory.
        let data = unsafe { libc::lseek(fd, pos, libc::SEEK_DATA) };
        if data < 0 {
            match io::Error::last_os_error().raw_os_error() {
                Some(libc::ENXIO) => break, // only a hole up to the end
                Some(libc::EINVAL) | Some(libc::ENOTSUP) if out.is_empty() => {
                    return Ok(vec![(0, size)]);
                }
                _ => return Err(io::Error::last_os_error()),
            }
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        if hole < 0 {
            return Err(io::Error::last_os_error());
        }
        let stop = hole.min(end);
        if stop > data {
            out.push((data as u64, (stop - data) as u64));
        }
        pos = hole;
    }
    Ok(out)
}

/// True when `file` has holes: its allocated blocks cover less than its size.
pub fn may_be_sparse(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.blocks().saturating_mul(512) < meta.size()
}

/// Copies `src` (of `size` bytes) into the empty `dst`, keeping its holes: only data extents are
/// read and written; the length is set at the end so a trailing hole stays one.
pub fn copy_sparse(src: &mut File, dst: &mut File, size: u64) -> io::Result<u64> {
    let extents = data_extents(src, size)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut copied = 0;
    for (off, len) in extents {
        src.seek(SeekFrom::Start(off))?;
        dst.seek(SeekFrom::Start(off))?;
        let mut left = len;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = src.read(&mut buf[..want])?;
            if n == 0 {
                break; // the file shrank: copy what there is
            }
            dst.write_all(&buf[..n])?;
            left -= n as u64;
            copied += n as u64;
        }
    }
    dst.set_len(size)?;
    Ok(copied)
}

/// Holes smaller than this in all are not worth a sparse tar entry (which fewer tools read).
const MIN_HOLES: u64 = 1 << 20;

/// Where a file written into a layer tar has its data, when its holes are worth a sparse entry.
/// In the tar it is a PAX "GNU sparse 1.0" entry (GNU tar's `--sparse --format=posix`): a plain
/// file entry whose data starts with this map, which Go's archive/tar (skopeo, umoci,
/// containerd) and GNU tar expand transparently; [`SparseReader`] does it for the tar crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseMap {
    pub real_size: u64,
    /// `(offset, length)` of each stored piece, in order.
    pub extents: Vec<(u64, u64)>,
}

/// The PAX records that mark a GNU sparse 1.0 entry.
pub const PAX_MAJOR: &[u8] = b"GNU.sparse.major";
pub const PAX_MINOR: &[u8] = b"GNU.sparse.minor";
pub const PAX_NAME: &[u8] = b"GNU.sparse.name";
pub const PAX_REALSIZE: &[u8] = b"GNU.sparse.realsize";

/// A map longer than this is not from a writer we need to read: refuse it rather than buffer it.
const MAX_EXTENTS: usize = 1 << 20;

impl SparseMap {
    /// The bytes the tar entry stores after the map.
    pub fn stored(&self) -> u64 {
        self.extents.iter().map(|e| e.1).sum()
    }

    /// The map as it leads the entry's data: decimal lines (count, then offset and length of
    /// each piece), zero-padded to a 512-byte block.
    pub fn block(&self) -> Vec<u8> {
        let mut out = format!("{}\n", self.extents.len()).into_bytes();
        for (off, len) in &self.extents {
            out.extend_from_slice(format!("{off}\n{len}\n").as_bytes());
        }
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    /// The entry's data size: the map block and the stored pieces.
    pub fn entry_size(&self) -> u64 {
        self.block().len() as u64 + self.stored()
    }

    /// The map of the file at `path` if it has at least [`MIN_HOLES`] of holes.
    pub fn of(path: &std::path::Path, meta: &std::fs::Metadata) -> io::Result<Option<Self>> {
        if !may_be_sparse(meta) {
            return Ok(None);
        }
        let size = meta.len();
        let file = File::open(path)?;
        let map = Self {
            real_size: size,
            extents: data_extents(&file, size)?,
        };
        Ok((size - map.stored() >= MIN_HOLES).then_some(map))
    }

    /// Reads the map that leads a sparse entry's data (whole 512-byte blocks).
    fn read(data: &mut impl Read, real_size: u64) -> io::Result<Self> {
        let bad =
            |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("sparse map: {what}"));
        let mut text = Vec::new();
        let mut numbers: Vec<u64> = Vec::new();
        let mut want: Option<usize> = None;
        while want.is_none_or(|w| numbers.len() < 1 + 2 * w) {
            let mut block = [0u8; 512];
            data.read_exact(&mut block)?;
            text.extend_from_slice(&block);
            let mut consumed = 0;
            for line in text.split_inclusive(|b| *b == b'\n') {
                if line.last() != Some(&b'\n') {
                    break;
                }
                consumed += line.len();
                let n = std::str::from_utf8(&line[..line.len() - 1])
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(|| bad("not a number"))?;
                numbers.push(n);
                if want.is_none() {
                    want = Some(
                        usize::try_from(n)
                            .ok()
                            .filter(|n| *n <= MAX_EXTENTS)
                            .ok_or_else(|| bad("too many pieces"))?,
                    );
                }
                if want.is_some_and(|w| numbers.len() == 1 + 2 * w) {
                    break;
                }
            }
            text.drain(..consumed);
        }
        let extents: Vec<(u64, u64)> = numbers[1..].chunks(2).map(|c| (c[0], c[1])).collect();
        let mut end = 0;
        for (off, len) in &extents {
            let stop = off
                .checked_add(*len)
                .ok_or_else(|| bad("piece out of range"))?;
            if *off < end || stop > real_size {
                return Err(bad("pieces out of order or past the end"));
            }
            end = stop;
        }
        Ok(Self { real_size, extents })
    }
}

/// The real size of a PAX GNU sparse 1.0 entry, from its PAX records; `None` for any other.
pub fn pax_real_size<'a>(records: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Option<u64> {
    let (mut major, mut minor, mut size) = (None, None, None);
    for (key, value) in records {
        let v = || std::str::from_utf8(value).ok()?.parse::<u64>().ok();
        match key {
            PAX_MAJOR => major = v(),
            PAX_MINOR => minor = v(),
            PAX_REALSIZE => size = v(),
            _ => {}
        }
    }
    (major == Some(1) && minor == Some(0))
        .then_some(size)
        .flatten()
}

/// The real size of `entry` if it is a PAX GNU sparse 1.0 entry (its data is then read through
/// [`SparseReader`]).
pub fn entry_real_size<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Option<u64>> {
    Ok(match entry.pax_extensions()? {
        Some(exts) => pax_real_size(exts.flatten().map(|e| (e.key_bytes(), e.value_bytes()))),
        None => None,
    })
}

/// A sparse entry's file as it is: its data read through the map, holes as zeros.
pub struct SparseReader<R> {
    inner: R,
    map: SparseMap,
    next: usize,
    pos: u64,
}

impl<R: Read> SparseReader<R> {
    /// Reads the map from the start of the entry's data.
    pub fn new(mut inner: R, real_size: u64) -> io::Result<Self> {
        let map = SparseMap::read(&mut inner, real_size)?;
        Ok(Self {
            inner,
            map,
            next: 0,
            pos: 0,
        })
    }

    /// Writes the file into the empty `file`, seeking over the holes (nothing is read or written
    /// for them), and sets its length.
    pub fn write_to(mut self, file: &mut File) -> io::Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        for &(off, len) in &self.map.extents {
            file.seek(SeekFrom::Start(off))?;
            let mut left = len;
            while left > 0 {
                let want = left.min(buf.len() as u64) as usize;
                self.inner.read_exact(&mut buf[..want])?;
                file.write_all(&buf[..want])?;
                left -= want as u64;
            }
        }
        file.set_len(self.map.real_size)
    }
}

impl<R: Read> Read for SparseReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let end = self.map.real_size;
        let (start, len) = self.map.extents.get(self.next).copied().unwrap_or((end, 0));
        let room = buf.len() as u64;
        let n = if self.pos < start {
            let n = room.min(start - self.pos) as usize;
            buf[..n].fill(0);
            n
        } else if self.pos < start + len {
            let want = room.min(start + len - self.pos) as usize;
            let n = self.inner.read(&mut buf[..want])?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            n
        } else if self.next < self.map.extents.len() {
            self.next += 1;
            return self.read(buf);
        } else {
            0
        };
        self.pos += n as u64;
        Ok(n)
    }
}

/// A writer into a fresh file that turns whole blocks of zeros into holes (as `cp --sparse`):
/// what a layer applier writes through, so a sparse tar entry (or zeros in a plain one) stays
/// sparse on disk.
pub struct HoleWriter<'a> {
    file: &'a mut File,
    pos: u64,
    len: u64,
}

const BLOCK: usize = 4096;

impl<'a> HoleWriter<'a> {
    pub fn new(file: &'a mut File) -> Self {
        Self {
            file,
            pos: 0,
            len: 0,
        }
    }

    /// Moves to `offset` without writing (a hole up to there, if nothing is written over it).
    pub fn skip_to(&mut self, offset: u64) {
        self.pos = offset;
    }

    /// Sets the file's final length: a trailing hole becomes part of the file.
    pub fn finish(self, size: u64) -> io::Result<()> {
        if self.len != size {
            self.file.set_len(size)?;
        }
        Ok(())
    }

    fn write_at(&mut self, data: &[u8]) -> io::Result<()> {
        if data.iter().all(|b| *b == 0) {
            self.pos += data.len() as u64;
            return Ok(());
        }
        self.file.seek(SeekFrom::Start(self.pos))?;
        self.file.write_all(data)?;
        self.pos += data.len() as u64;
        self.len = self.len.max(self.pos);
        Ok(())
    }
}

impl Write for HoleWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Blocks aligned to the file offset, so a hole is whole filesystem blocks.
        let mut rest = buf;
        while !rest.is_empty() {
            let room = BLOCK - (self.pos % BLOCK as u64) as usize;
            let (chunk, tail) = rest.split_at(room.min(rest.len()));
            self.write_at(chunk)?;
            rest = tail;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileExt, MetadataExt};

    #[test]
    fn a_sparse_map_reads_back_as_the_file() {
        let map = SparseMap {
            real_size: 10_000,
            extents: vec![(0, 3), (4096, 2), (9_000, 1)],
        };
        let mut data = map.block();
        data.extend_from_slice(b"abcdef");
        let mut r = SparseReader::new(&data[..], 10_000).expect("map");
        let mut out = Vec::new();
        r.read_to_end(&mut out).expect("read");
        assert_eq!(out.len(), 10_000);
        assert_eq!(
            (&out[..3], &out[4096..4098], out[9_000]),
            (&b"abc"[..], &b"de"[..], b'f')
        );
        assert_eq!(out.iter().filter(|b| **b != 0).count(), 6);
        let bad = SparseMap {
            real_size: 10,
            extents: vec![(5, 2), (0, 1)],
        };
        assert!(SparseReader::new(&bad.block()[..], 10).is_err());
    }

    #[test]
    fn holes_survive_a_copy_and_a_zero_writer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let size = 256 << 20;
        let src_path = dir.path().join("src");
        let src = File::create(&src_path).expect("create");
        src.set_len(size).expect("len");
        src.write_all_at(b"head", 0).expect("write");
        src.write_all_at(b"middle", 100 << 20).expect("write");
        let extents = data_extents(&src, size).expect("extents");
        assert_eq!(extents.len(), 2, "{extents:?}");
        let mut src = File::open(&src_path).expect("open");
        let mut dst = File::create(dir.path().join("dst")).expect("create");
        assert!(copy_sparse(&mut src, &mut dst, size).expect("copy") < 1 << 20);
        let meta = dst.metadata().expect("stat");
        assert_eq!(meta.len(), size);
        assert!(meta.blocks() * 512 < 1 << 20, "{} blocks", meta.blocks());
        let mut out = File::create(dir.path().join("zeros")).expect("create");
        let mut w = HoleWriter::new(&mut out);
        w.write_all(&vec![0u8; 8 << 20]).expect("zeros");
        w.write_all(b"tail").expect("tail");
        w.finish((8 << 20) + 4 + 4096).expect("finish");
        let meta = out.metadata().expect("stat");
        assert_eq!(meta.len(), (8 << 20) + 4 + 4096);
        assert!(meta.blocks() * 512 <= 8192, "{} blocks", meta.blocks());
    }
}
