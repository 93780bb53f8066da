//! Layer compression on all cores (gzip through gzp, zstd with its own workers) and
//! decompression chosen by the stream's magic bytes.

use std::io::{self, BufRead, BufReader, Read, Write};

use gzp::ZWriter;
use gzp::deflate::Gzip;
use gzp::par::compress::{ParCompress, ParCompressBuilder};
use oci_spec::image::MediaType;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    #[default]
    Gzip,
    Zstd,
}

impl Compression {
    pub fn media_type(self) -> MediaType {
        match self {
            Compression::None => MediaType::ImageLayer,
            Compression::Gzip => MediaType::ImageLayerGzip,
            Compression::Zstd => MediaType::ImageLayerZstd,
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" | "uncompressed" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            "zstd" => Ok(Compression::Zstd),
            other => Err(format!(
                "unknown compression {other:?}: use gzip, zstd or none"
            )),
        }
    }
}

fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// A writer that compresses into `W`; [`Compressor::finish`] flushes and hands `W` back.
pub enum Compressor<W: Write + Send + 'static> {
    None(W),
    Gzip(ParCompress<'static, Gzip, W>),
    Zstd(zstd::Encoder<'static, W>),
}

impl<W: Write + Send + 'static> Compressor<W> {
    pub fn new(kind: Compression, out: W) -> io::Result<Self> {
        Ok(match kind {
            Compression::None => Compressor::None(out),
            Compression::Gzip => {
                let builder = ParCompressBuilder::<Gzip>::new()
                    .num_threads(threads())
                    .map_err(io::Error::other)?
                    .compression_level(gzp::Compression::new(6));
                Compressor::Gzip(builder.from_writer(out))
            }
            Compression::Zstd => {
                let mut enc = zstd::Encoder::new(out, 3)?;
                let n = threads();
                if n > 1 {
                    enc.multithread(n as u32)?;
                }
                Compressor::Zstd(enc)
            }
        })
    }

    pub fn finish(self) -> io::Result<W> {
        match self {
            Compressor::None(w) => Ok(w),
            Compressor::Gzip(mut z) => z.finish().map_err(io::Error::other),
            Compressor::Zstd(z) => z.finish(),
        }
    }
}

impl<W: Write + Send + 'static> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::None(w) => w.write(buf),
            Compressor::Gzip(z) => z.write(buf),
            Compressor::Zstd(z) => z.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::None(w) => w.flush(),
            Compressor::Gzip(z) => z.flush(),
            Compressor::Zstd(z) => z.flush(),
        }
    }
}

/// A reader of the uncompressed tar, whatever the blob's compression (detected from its first
/// bytes, so docker media types and mislabeled blobs work too).
pub fn decompress<'a, R: Read + 'a>(input: R) -> io::Result<Box<dyn Read + 'a>> {
    let mut input = BufReader::with_capacity(1 << 20, input);
    let head = input.fill_buf()?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(input))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::Decoder::with_buffer(input)?)
    } else {
        Box::new(input)
    })
}
