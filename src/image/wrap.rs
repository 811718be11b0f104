//! Compression wrappers: told by their magic bytes, decoded as streams, and their decompressed
//! size read cheaply where the format records it.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;

use super::Wrapper;

/// The wrapper whose magic `prefix` starts with.
pub(crate) fn detect(prefix: &[u8]) -> Wrapper {
    if prefix.starts_with(&[0x1f, 0x8b]) {
        Wrapper::Gzip
    } else if prefix.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Wrapper::Xz
    } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        // A skippable frame (0x184D2A5?, little-endian) can open a zstd file too.
        || (prefix.len() >= 4 && prefix[0] & 0xf0 == 0x50 && prefix[1..4] == [0x2a, 0x4d, 0x18])
    {
        Wrapper::Zstd
    } else {
        Wrapper::None
    }
}

/// The decompressed bytes of `R`: every gzip member, xz stream and zstd frame in turn.
pub(crate) enum Decoder<R: BufRead> {
    Plain(R),
    Gzip(flate2::bufread::MultiGzDecoder<R>),
    Xz(liblzma::bufread::XzDecoder<R>),
    Zstd(zstd::stream::read::Decoder<'static, R>),
}

impl<R: BufRead> Decoder<R> {
    pub(crate) fn new(wrapper: Wrapper, r: R) -> io::Result<Self> {
        Ok(match wrapper {
            Wrapper::None => Decoder::Plain(r),
            Wrapper::Gzip => Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(r)),
            Wrapper::Xz => Decoder::Xz(liblzma::bufread::XzDecoder::new_multi_decoder(r)),
            Wrapper::Zstd => Decoder::Zstd(zstd::stream::read::Decoder::with_buffer(r)?),
        })
    }

    /// The compressed stream underneath (to read what the decoder left, for the checksum).
    pub(crate) fn get_mut(&mut self) -> &mut R {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(d) => d.get_mut(),
            Decoder::Xz(d) => d.get_mut(),
            Decoder::Zstd(d) => d.get_mut(),
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Xz(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

/// Reads a file from offset 0 with positional reads, whatever its shared offset says.
pub(crate) struct FromStart<F: std::borrow::Borrow<File>> {
    file: F,
    pos: u64,
}

impl<F: std::borrow::Borrow<File>> FromStart<F> {
    pub(crate) fn new(file: F) -> Self {
        FromStart { file, pos: 0 }
    }
}

impl<F: std::borrow::Borrow<File>> Read for FromStart<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.borrow().read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// The first `n` decompressed bytes of a wrapped file (fewer when it is shorter).
pub(crate) fn decoded_prefix(file: &File, wrapper: Wrapper, n: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(n.min(1 << 20));
    Decoder::new(wrapper, BufReader::new(FromStart::new(file)))?
        .take(n as u64)
        .read_to_end(&mut out)?;
    Ok(out)
}

/// The decompressed size of a wrapped file: from xz's indexes or zstd's frame headers when they
/// say it, else by decompressing to the end (gzip always: its ISIZE field is the size modulo 4 GiB
/// of the last member only).
pub(crate) fn decoded_size(file: &File, wrapper: Wrapper) -> io::Result<u64> {
    match recorded_size(file, wrapper)? {
        Some(n) => Ok(n),
        None => io::copy(
            &mut Decoder::new(wrapper, BufReader::with_capacity(1 << 20, FromStart::new(file)))?,
            &mut io::sink(),
        ),
    }
}

/// The decompressed size when the wrapper records it without decompressing (xz, zstd with frame
/// sizes; a plain file's own size).
pub(crate) fn recorded_size(file: &File, wrapper: Wrapper) -> io::Result<Option<u64>> {
    let len = file.metadata()?.len();
    match wrapper {
        Wrapper::None => Ok(Some(len)),
        Wrapper::Xz => xz_size(file, len),
        Wrapper::Zstd => zstd_size(file, len),
        Wrapper::Gzip => Ok(None),
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn read_at(file: &File, pos: u64, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    file.read_exact_at(&mut buf, pos)?;
    Ok(buf)
}

/// xz's variable-length integer (7 bits a byte, least significant first, at most 9 bytes).
fn xz_varint(buf: &[u8], at: &mut usize) -> io::Result<u64> {
    let mut v = 0u64;
    for i in 0..9 {
        let b = *buf
            .get(*at)
            .ok_or_else(|| invalid("xz index ends inside a number"))?;
        *at += 1;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(invalid("xz index holds a number longer than 9 bytes"))
}

/// Largest xz index we read to learn the size (one record per block: a 1 TiB image in xz -T's
/// 24 MiB blocks has about 44,000, under 1 MiB of index). Bigger: decompress instead.
const XZ_INDEX_MAX: u64 = 16 << 20;

/// The sum of the uncompressed sizes in every stream's index, walking the streams backwards from
/// the end (xz's footer says where its index starts; the index says where its stream starts).
/// None when an index is too big to read.
fn xz_size(file: &File, len: u64) -> io::Result<Option<u64>> {
    const HEADER_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0x00];
    if len % 4 != 0 {
        return Err(invalid("the xz file's size is not a multiple of 4"));
    }
    let mut pos = len;
    let mut total = 0u64;
    while pos > 0 {
        // Stream padding: groups of four zero bytes after a stream.
        while pos >= 4 && read_at(file, pos - 4, 4)? == [0, 0, 0, 0] {
            pos -= 4;
        }
        if pos < 24 {
            return Err(invalid("the xz file is too short for a stream"));
        }
        let footer = read_at(file, pos - 12, 12)?;
        if footer[10..12] != *b"YZ" {
            return Err(invalid("no xz stream footer where one must end"));
        }
        let backward = (u64::from(u32::from_le_bytes([footer[4], footer[5], footer[6], footer[7]])) + 1) * 4;
        if backward > XZ_INDEX_MAX {
            return Ok(None);
        }
        let index_start = (pos - 12)
            .checked_sub(backward)
            .ok_or_else(|| invalid("the xz index would start before the file"))?;
        let index = read_at(file, index_start, backward as usize)?;
        if index[0] != 0 {
            return Err(invalid("no xz index where the footer says"));
        }
        let mut at = 1;
        let records = xz_varint(&index, &mut at)?;
        let mut blocks = 0u64;
        for _ in 0..records {
            let unpadded = xz_varint(&index, &mut at)?;
            let uncompressed = xz_varint(&index, &mut at)?;
            blocks = blocks
                .checked_add(unpadded.div_ceil(4) * 4)
                .ok_or_else(|| invalid("xz block sizes overflow"))?;
            total = total
                .checked_add(uncompressed)
                .ok_or_else(|| invalid("xz uncompressed sizes overflow"))?;
        }
        let stream_start = index_start
            .checked_sub(blocks)
            .and_then(|p| p.checked_sub(12))
            .ok_or_else(|| invalid("the xz stream would start before the file"))?;
        if read_at(file, stream_start, 6)? != HEADER_MAGIC {
            return Err(invalid(
                "no xz stream header where the index says the stream starts",
            ));
        }
        pos = stream_start;
    }
    Ok(Some(total))
}

/// The sum of the content sizes zstd frames record in their headers, walking frame by frame
/// over the 3-byte block headers. None when a frame does not record its size (zstd writes it
/// when it knows the input's size: files yes, pipes no).
fn zstd_size(file: &File, len: u64) -> io::Result<Option<u64>> {
    let le = |b: &[u8]| b.iter().rev().fold(0u64, |v, &x| (v << 8) | u64::from(x));
    let mut pos = 0u64;
    let mut total = 0u64;
    while pos < len {
        let magic = le(&read_at(file, pos, 4)?) as u32;
        if magic & 0xffff_fff0 == 0x184d_2a50 {
            let size = le(&read_at(file, pos + 4, 4)?);
            pos += 8 + size;
            continue;
        }
        if magic != 0xfd2f_b528 {
            return Err(invalid(format!("no zstd frame at offset {pos}")));
        }
        let fhd = read_at(file, pos + 4, 1)?[0];
        let single_segment = fhd & 0x20 != 0;
        let header = 5 + u64::from(!single_segment) + [0, 1, 2, 4][usize::from(fhd & 3)];
        let fcs_len = match fhd >> 6 {
            0 if single_segment => 1,
            0 => return Ok(None),
            1 => 2,
            2 => 4,
            _ => 8,
        };
        let fcs = le(&read_at(file, pos + header, fcs_len)?) + if fcs_len == 2 { 256 } else { 0 };
        total = total
            .checked_add(fcs)
            .ok_or_else(|| invalid("zstd frame sizes overflow"))?;
        let mut p = pos + header + fcs_len as u64;
        loop {
            let bh = le(&read_at(file, p, 3)?);
            let size = bh >> 3;
            p += 3 + match (bh >> 1) & 3 {
                0 | 2 => size,
                1 => 1,
                _ => return Err(invalid(format!("reserved zstd block type at offset {p}"))),
            };
            if bh & 1 == 1 {
                break;
            }
        }
        if fhd & 0x04 != 0 {
            p += 4;
        }
        pos = p;
    }
    if pos != len {
        return Err(invalid("the last zstd frame runs past the end of the file"));
    }
    Ok(Some(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic() {
        assert_eq!(detect(&[0x1f, 0x8b, 8, 0]), Wrapper::Gzip);
        assert_eq!(detect(b"\xfd7zXZ\x00\x00"), Wrapper::Xz);
        assert_eq!(detect(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Wrapper::Zstd);
        assert_eq!(detect(&[0x5e, 0x2a, 0x4d, 0x18]), Wrapper::Zstd);
        assert_eq!(detect(b"QFI\xfb"), Wrapper::None);
        assert_eq!(detect(b"\x1f"), Wrapper::None);
        assert_eq!(detect(b""), Wrapper::None);
    }

    fn xz(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
        e.write_all(data).expect("compress");
        e.finish().expect("compress")
    }

    fn file_of(bytes: &[u8]) -> File {
        use std::io::Write;
        let mut f = tempfile::tempfile().expect("tempfile");
        f.write_all(bytes).expect("write");
        f
    }

    /// xz's size comes from the indexes, without decompressing: over two streams, with stream
    /// padding (groups of four zero bytes) between and after them. gzip records none.
    #[test]
    fn xz_sizes_are_read_from_the_indexes_across_streams_and_padding() {
        let mut two = xz(&[7u8; 100_000]);
        two.extend([0u8; 8]);
        two.extend(xz(&[9u8; 30_000]));
        two.extend([0u8; 4]);
        let f = file_of(&two);
        assert_eq!(recorded_size(&f, Wrapper::Xz).expect("read"), Some(130_000));
        // The decoder agrees (it is what decoded_size falls back to when nothing is recorded).
        assert_eq!(
            io::copy(
                &mut Decoder::new(Wrapper::Xz, BufReader::new(FromStart::new(&f))).expect("decoder"),
                &mut io::sink()
            )
            .expect("decompress"),
            130_000
        );
        assert_eq!(recorded_size(&f, Wrapper::Gzip).expect("read"), None);
        assert_eq!(
            recorded_size(&f, Wrapper::None).expect("read"),
            Some(two.len() as u64)
        );
    }

    /// Under 24 bytes (a stream's header and footer) is too short for xz; 24 bytes is read, and
    /// refused for what it holds.
    #[test]
    fn xz_files_too_short_for_a_stream_are_refused_as_such() {
        let err = |len: usize| {
            xz_size(&file_of(&vec![1u8; len]), len as u64)
                .unwrap_err()
                .to_string()
        };
        assert!(err(20).contains("too short for a stream"), "{}", err(20));
        assert!(err(24).contains("no xz stream footer"), "{}", err(24));
    }

    /// An xz footer whose index would be bigger than 16 MiB is not read (the size is then found by
    /// decompressing); one of 16 MiB exactly is, and here it would start before the file.
    #[test]
    fn xz_indexes_over_16_mib_are_not_read() {
        let footer_claiming = |field: u32| {
            let mut f = vec![1u8; 20];
            f.extend([0, 0, 0, 0]);
            f.extend(field.to_le_bytes());
            f.extend([0, 0, b'Y', b'Z']);
            f
        };
        let huge = footer_claiming(u32::MAX);
        assert_eq!(
            xz_size(&file_of(&huge), huge.len() as u64).expect("not read"),
            None
        );
        let at_bound = footer_claiming(((XZ_INDEX_MAX / 4) - 1) as u32);
        let e = xz_size(&file_of(&at_bound), at_bound.len() as u64)
            .unwrap_err()
            .to_string();
        assert!(e.contains("would start before the file"), "{e}");
    }

    /// zstd's size comes from the frames' headers, summed over frames and past skippable frames
    /// (one-shot compression records it; a stream's does not, and then nothing is recorded).
    #[test]
    fn zstd_sizes_are_read_from_the_frame_headers() {
        let mut two = zstd::bulk::compress(&[5u8; 70_000], 1).expect("compress");
        // A skippable frame between them (magic 0x184D2A5?, a length, that many bytes): no data.
        two.extend(0x184d_2a53u32.to_le_bytes());
        two.extend(5u32.to_le_bytes());
        two.extend(b"skip!");
        two.extend(zstd::bulk::compress(&[6u8; 300], 1).expect("compress"));
        assert_eq!(
            recorded_size(&file_of(&two), Wrapper::Zstd).expect("read"),
            Some(70_300)
        );
        // Frames built by hand (raw blocks), for the header fields the library's frames above do
        // not have: a one-byte content size (single segment, under 256 bytes) and a dictionary ID.
        let raw_frame = |fhd: u8, after_fhd: &[u8], n: usize| {
            let mut f = 0xfd2f_b528u32.to_le_bytes().to_vec();
            f.push(fhd);
            f.extend(after_fhd);
            f.extend((((n as u32) << 3) | 1).to_le_bytes()[..3].iter());
            f.extend(vec![b'r'; n]);
            f
        };
        // Single segment, no content-size flag: one byte of size.
        let one_byte = raw_frame(0x20, &[200], 200);
        // Single segment, a 2-byte size (stored less 256) after a 1-byte dictionary ID.
        let with_dict = raw_frame(0x61, &[7, 44, 0], 300);
        let f = file_of(&[one_byte, with_dict].concat());
        assert_eq!(recorded_size(&f, Wrapper::Zstd).expect("read"), Some(500));
        let streamed = zstd::encode_all(&[5u8; 70_000][..], 1).expect("compress");
        assert_eq!(
            recorded_size(&file_of(&streamed), Wrapper::Zstd).expect("read"),
            None
        );
    }

    #[test]
    fn varints() {
        let mut at = 0;
        assert_eq!(xz_varint(&[0x7f], &mut at).unwrap(), 127);
        at = 0;
        assert_eq!(xz_varint(&[0x80, 0x01], &mut at).unwrap(), 128);
        assert_eq!(at, 2);
        at = 0;
        assert!(xz_varint(&[0x80], &mut at).is_err());
        at = 0;
        assert!(xz_varint(&[0xff; 10], &mut at).is_err());
    }
}
