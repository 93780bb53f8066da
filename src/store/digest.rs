//! sha256 digests computed while bytes stream through a reader or writer.

use std::io::{self, Read, Write};
use std::str::FromStr;

use oci_spec::image::Digest;
use sha2::{Digest as _, Sha256};

/// `sha256:<hex>` as an oci-spec digest.
pub fn from_hex(hex: &str) -> Digest {
    Digest::from_str(&format!("sha256:{hex}")).expect("a sha256 hex string is a valid digest")
}

/// The sha256 digest of a byte slice.
pub fn of_bytes(data: &[u8]) -> Digest {
    from_hex(&hex::encode(Sha256::digest(data)))
}

/// Parses `sha256:<64 hex>`; anything else is `None`.
pub fn parse_sha256(s: &str) -> Option<Digest> {
    let hex = s.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then(|| from_hex(hex))
}

/// Hashes everything written through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The inner writer, the digest and the number of bytes written.
    pub fn finish(self) -> (W, Digest, u64) {
        let digest = from_hex(&hex::encode(self.hasher.finalize()));
        (self.inner, digest, self.count)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes everything read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Reads to the end (so trailing padding is hashed too) and returns the digest and byte count.
    pub fn finish(mut self) -> io::Result<(Digest, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((from_hex(&hex::encode(self.hasher.finalize())), self.count))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_digest_is_the_well_known_one() {
        assert_eq!(
            of_bytes(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"{}").expect("write");
        let (_, d, n) = w.finish();
        assert_eq!(n, 2);
        assert_eq!(d, of_bytes(b"{}"));
    }

    #[test]
    fn parse_rejects_non_sha256() {
        assert!(parse_sha256("sha256:abc").is_none());
        assert!(
            parse_sha256("md5:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
                .is_none()
        );
        assert!(
            parse_sha256("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
                .is_some()
        );
    }
}
