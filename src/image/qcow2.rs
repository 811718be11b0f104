//! A qcow2 reader (versions 2 and 3): the header, the L1/L2 cluster mapping, and the content as
//! data and holes. Written from qemu's specification (docs/interop/qcow2.txt); it reads only, and
//! only the active L1 table (snapshots and refcounts are never needed to read the disk).
//!
//! Supported: standard clusters, unallocated clusters and zero clusters (v3's zero flag) as holes,
//! deflate-compressed clusters, the dirty bit (refcounts are not read, so they may be stale).
//! Refused by name: a backing file, encryption, an external data file, extended L2 entries, a
//! compression type other than zlib, the corrupt bit, unknown incompatible bits, version 1.

use std::fs::File;
use std::io;

use super::{Cancel, Error, Result, Sink, READ_CHUNK};

/// "QFI\xfb".
pub(crate) const MAGIC: [u8; 4] = *b"QFI\xfb";

/// Bits 9-55 of an L1 or standard L2 entry: a host offset.
const OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
/// L2 entry bit 62: compressed cluster.
const COMPRESSED: u64 = 1 << 62;
/// Standard cluster descriptor bit 0 (v3): the cluster reads as zeros.
const ZERO: u64 = 1;
/// L1 entries read at a time.
const L1_CHUNK: usize = 8192;
/// The largest L1 table qemu accepts (32 MiB): bounds what a hostile header can make us read.
const L1_MAX_BYTES: u64 = 32 << 20;

/// Reading at an offset: the file itself, or (to inspect a wrapped image) its first bytes.
pub(crate) trait ReadAt {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl ReadAt for File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        (**self).read_exact_at(buf, offset)
    }
}

impl ReadAt for [u8] {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        match start.checked_add(buf.len()).and_then(|end| self.get(start..end)) {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

/// What the reader needs from the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) version: u32,
    pub(crate) cluster_bits: u32,
    pub(crate) size: u64,
    pub(crate) l1_size: u32,
    pub(crate) l1_offset: u64,
}

impl Header {
    fn cluster_size(&self) -> u64 {
        1 << self.cluster_bits
    }
    /// Guest clusters in the disk.
    fn clusters(&self) -> u64 {
        self.size.div_ceil(self.cluster_size())
    }
    /// L2 entries per table (standard 8-byte entries).
    fn l2_entries(&self) -> u64 {
        self.cluster_size() / 8
    }
    /// L1 entries the disk's size needs.
    fn l1_needed(&self) -> u64 {
        self.clusters().div_ceil(self.l2_entries())
    }
}

/// Reads `len` bytes at `offset`; a read past the end of the file is damage (a truncated image).
fn read<R: ReadAt + ?Sized>(r: &R, what: &str, offset: u64, buf: &mut [u8], item: &str) -> Result<()> {
    r.read_exact_at(buf, offset).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::Corrupt {
                what: what.to_string(),
                detail: format!(
                    "the {item} at offset {offset} ({} bytes) lies beyond the end of the file: the image is truncated",
                    buf.len()
                ),
            }
        } else {
            Error::Io {
                what: what.to_string(),
                source: e,
            }
        }
    })
}

/// Names of features from the feature name table header extension, when the image has one.
fn feature_name<R: ReadAt + ?Sized>(
    r: &R,
    start: u64,
    cluster_size: u64,
    kind: u8,
    bit: u8,
) -> Option<String> {
    let mut pos = start;
    while pos + 8 <= cluster_size {
        let mut h = [0u8; 8];
        r.read_exact_at(&mut h, pos).ok()?;
        let (ty, len) = (be32(&h, 0), u64::from(be32(&h, 4)));
        if ty == 0 {
            return None;
        }
        if ty == 0x6803_f857 && len <= cluster_size {
            let mut table = vec![0u8; len as usize];
            r.read_exact_at(&mut table, pos + 8).ok()?;
            return table
                .chunks_exact(48)
                .find(|e| e[0] == kind && e[1] == bit)
                .map(|e| {
                    let name = &e[2..];
                    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                    String::from_utf8_lossy(&name[..end]).into_owned()
                });
        }
        pos += 8 + len.div_ceil(8) * 8;
    }
    None
}

/// Parses and checks the header: everything this reader cannot handle is refused here, naming it.
// Over 100 lines on purpose: the header's fields in the order the qcow2 specification lists them, each with its check.
pub(crate) fn parse_header<R: ReadAt + ?Sized>(r: &R, what: &str) -> Result<Header> {
    let corrupt = |detail: String| Error::Corrupt {
        what: what.to_string(),
        detail,
    };
    let unsupported = |feature: String, hint: &'static str| Error::Unsupported {
        what: what.to_string(),
        feature,
        hint,
    };
    let mut h = [0u8; 72];
    read(r, what, 0, &mut h, "header")?;
    if h[0..4] != MAGIC {
        return Err(corrupt("no qcow2 magic".into()));
    }
    let version = be32(&h, 4);
    match version {
        2 | 3 => {}
        1 => return Err(unsupported("the old qcow format (version 1)".into(), "")),
        v => return Err(unsupported(format!("qcow2 version {v}"), "")),
    }
    let backing_offset = be64(&h, 8);
    let backing_len = be32(&h, 16);
    let cluster_bits = be32(&h, 20);
    let size = be64(&h, 24);
    let crypt = be32(&h, 32);
    let l1_size = be32(&h, 36);
    let l1_offset = be64(&h, 40);
    if !(9..=21).contains(&cluster_bits) {
        return Err(unsupported(
            format!("a cluster size of 2^{cluster_bits} bytes (qemu's range is 512 B to 2 MiB)"),
            "",
        ));
    }
    let cluster_size = 1u64 << cluster_bits;
    if backing_offset != 0 {
        let mut name = vec![0u8; backing_len.min(1023) as usize];
        let backing = match r.read_exact_at(&mut name, backing_offset) {
            Ok(()) => String::from_utf8_lossy(&name).into_owned(),
            Err(_) => format!("a name of {backing_len} bytes at offset {backing_offset}"),
        };
        return Err(Error::BackingFile {
            what: what.to_string(),
            backing,
        });
    }
    match crypt {
        0 => {}
        1 => {
            return Err(unsupported(
                "AES encryption".into(),
                "; decrypt it with qemu-img convert --object secret,... --image-opts",
            ))
        }
        2 => {
            return Err(unsupported(
                "LUKS encryption".into(),
                "; decrypt it with qemu-img convert --object secret,... --image-opts",
            ))
        }
        m => return Err(unsupported(format!("encryption method {m}"), "")),
    }
    if version >= 3 {
        let mut v3 = [0u8; 32];
        read(r, what, 72, &mut v3, "version 3 header")?;
        let incompatible = be64(&v3, 0);
        let header_length = u64::from(be32(&v3, 28));
        if header_length < 104 || header_length > cluster_size {
            return Err(corrupt(format!("header length {header_length}")));
        }
        // Bit 0 (dirty) only says that refcounts may be stale: they are not read here.
        let named = |bit: u8, fallback: &str| {
            feature_name(r, header_length, cluster_size, 0, bit).unwrap_or_else(|| fallback.to_string())
        };
        if incompatible & 2 != 0 {
            return Err(corrupt(
                "its corrupt bit is set (qemu found its metadata inconsistent)".into(),
            ));
        }
        if incompatible & 4 != 0 {
            return Err(unsupported(
                "an external data file (its clusters live in another file)".into(),
                "",
            ));
        }
        if incompatible & 8 != 0 {
            let mut ct = [0u8; 1];
            let compression = if header_length > 104 {
                read(r, what, 104, &mut ct, "compression type")?;
                ct[0]
            } else {
                0
            };
            return Err(match compression {
                1 => unsupported(
                    "zstd compression of clusters".into(),
                    "; or recompress with zlib: qemu-img convert -c -O qcow2 -o compression_type=zlib",
                ),
                n => unsupported(format!("compression type {n}"), ""),
            });
        }
        if incompatible & 16 != 0 {
            return Err(unsupported("extended L2 entries (subclusters)".into(), ""));
        }
        if let Some(bit) = (5..64).find(|b| incompatible & (1u64 << b) != 0) {
            let name = named(bit, "unnamed");
            return Err(unsupported(
                format!("incompatible feature bit {bit} ({name})"),
                "",
            ));
        }
    }
    let header = Header {
        version,
        cluster_bits,
        size,
        l1_size,
        l1_offset,
    };
    if l1_offset % cluster_size != 0 {
        return Err(corrupt(format!(
            "the L1 table offset {l1_offset} is not cluster-aligned"
        )));
    }
    if u64::from(l1_size) < header.l1_needed() {
        return Err(corrupt(format!(
            "its L1 table has {l1_size} entries, {} needed for a {size}-byte disk",
            header.l1_needed()
        )));
    }
    if header.l1_needed() * 8 > L1_MAX_BYTES {
        return Err(unsupported(
            format!("an L1 table over 32 MiB ({size}-byte disk with {cluster_size}-byte clusters)"),
            "",
        ));
    }
    Ok(header)
}

/// An opened qcow2 image.
pub(crate) struct Qcow2<R: ReadAt> {
    r: R,
    h: Header,
    file_len: u64,
    what: String,
}

impl<R: ReadAt> Qcow2<R> {
    /// Checks the header of `r` (`file_len` bytes long).
    pub(crate) fn open(r: R, file_len: u64, what: &str) -> Result<Self> {
        let h = parse_header(&r, what)?;
        Ok(Qcow2 {
            r,
            h,
            file_len,
            what: what.to_string(),
        })
    }

    pub(crate) fn virtual_size(&self) -> u64 {
        self.h.size
    }

    fn corrupt(&self, detail: String) -> Error {
        Error::Corrupt {
            what: self.what.clone(),
            detail,
        }
    }

    /// Streams the disk: consecutive standard clusters that are contiguous in the file are read
    /// together (up to [`READ_CHUNK`]); unallocated and zero clusters are holes.
    pub(crate) fn write_to(&self, sink: &mut dyn Sink, cancel: &Cancel) -> Result<()> {
        let h = &self.h;
        let cs = h.cluster_size();
        let clusters = h.clusters();
        let l2_entries = h.l2_entries();
        let run_max = (READ_CHUNK as u64).max(cs);
        let mut l1 = vec![0u8; 0];
        let mut l2 = vec![0u8; cs as usize];
        let mut data = vec![0u8; run_max as usize];
        let mut compressed = Vec::new();
        let mut cluster = vec![0u8; 0];
        let mut inflate = flate2::Decompress::new(false);
        // A run of host-contiguous standard clusters not read yet: (host offset, bytes).
        let mut run: Option<(u64, u64)> = None;
        let flush = |run: &mut Option<(u64, u64)>, data: &mut [u8], sink: &mut dyn Sink| -> Result<()> {
            if let Some((host, len)) = run.take() {
                let buf = &mut data[..len as usize];
                read(&self.r, &self.what, host, buf, "data cluster")?;
                sink.data(buf)?;
            }
            Ok(())
        };
        for l1_index in 0..h.l1_needed() {
            cancel.check()?;
            let in_chunk = (l1_index % L1_CHUNK as u64) as usize;
            if in_chunk == 0 {
                let n = (h.l1_needed() - l1_index).min(L1_CHUNK as u64) as usize;
                l1.resize(n * 8, 0);
                read(
                    &self.r,
                    &self.what,
                    h.l1_offset + l1_index * 8,
                    &mut l1,
                    "L1 table",
                )?;
            }
            let first = l1_index * l2_entries;
            let count = (clusters - first).min(l2_entries);
            // Bytes of the disk this L2 table covers (the last cluster may be partial).
            let span = (count * cs).min(h.size - first * cs);
            let l2_offset = be64(&l1, in_chunk * 8) & OFFSET_MASK;
            if l2_offset == 0 {
                flush(&mut run, &mut data, sink)?;
                sink.hole(span)?;
                continue;
            }
            if l2_offset % cs != 0 {
                return Err(self.corrupt(format!(
                    "L1 entry {l1_index} points to an unaligned L2 table at {l2_offset}"
                )));
            }
            read(&self.r, &self.what, l2_offset, &mut l2, "L2 table")?;
            for j in 0..count {
                let entry = be64(&l2, j as usize * 8);
                let guest = (first + j) * cs;
                let len = cs.min(h.size - guest);
                if entry & COMPRESSED != 0 {
                    flush(&mut run, &mut data, sink)?;
                    self.read_compressed(entry, &mut compressed, &mut cluster, &mut inflate, guest)?;
                    sink.data(&cluster[..len as usize])?;
                    continue;
                }
                let host = entry & OFFSET_MASK;
                if (h.version >= 3 && entry & ZERO != 0) || host == 0 {
                    flush(&mut run, &mut data, sink)?;
                    sink.hole(len)?;
                    continue;
                }
                if host % cs != 0 {
                    return Err(self.corrupt(format!(
                        "the cluster at disk offset {guest} points to an unaligned host offset {host}"
                    )));
                }
                match &mut run {
                    Some((start, n)) if *start + *n == host && *n + len <= run_max => *n += len,
                    _ => {
                        flush(&mut run, &mut data, sink)?;
                        run = Some((host, len));
                    }
                }
            }
        }
        flush(&mut run, &mut data, sink)
    }

    /// Inflates one compressed cluster into `cluster` (raw deflate, as qemu writes it).
    fn read_compressed(
        &self,
        entry: u64,
        compressed: &mut Vec<u8>,
        cluster: &mut Vec<u8>,
        inflate: &mut flate2::Decompress,
        guest: u64,
    ) -> Result<()> {
        let cs = self.h.cluster_size();
        // Compressed cluster descriptor: the offset in bits 0..x-1, then the number of additional
        // 512-byte sectors up to bit 61, with x = 62 - (cluster_bits - 8).
        let x = 62 - (self.h.cluster_bits - 8);
        let offset = entry & ((1u64 << x) - 1);
        let sectors = ((entry >> x) & ((1u64 << (self.h.cluster_bits - 8)) - 1)) + 1;
        // The last sectors may run past the end of the file (qemu does not pad the last one).
        let len = (sectors * 512 - (offset & 511)).min(self.file_len.saturating_sub(offset));
        if len == 0 {
            return Err(self.corrupt(format!(
                "the compressed cluster at disk offset {guest} lies beyond the end of the file"
            )));
        }
        compressed.resize(len as usize, 0);
        read(&self.r, &self.what, offset, compressed, "compressed cluster")?;
        cluster.resize(cs as usize, 0);
        inflate.reset(false);
        let status = inflate.decompress(compressed, cluster, flate2::FlushDecompress::Finish);
        // Like qemu: the cluster is good when it inflated to a whole cluster.
        if status.is_err() || inflate.total_out() != cs {
            return Err(self.corrupt(format!(
                "the compressed cluster at disk offset {guest} does not inflate to {cs} bytes{}",
                status.err().map(|e| format!(" ({e})")).unwrap_or_default()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal header: version, cluster bits, size, L1 at one cluster, no backing file.
    fn header(version: u32, cluster_bits: u32, size: u64, incompatible: u64) -> Vec<u8> {
        let cs = 1usize << cluster_bits;
        let mut h = vec![0u8; cs];
        h[0..4].copy_from_slice(&MAGIC);
        h[4..8].copy_from_slice(&version.to_be_bytes());
        h[20..24].copy_from_slice(&cluster_bits.to_be_bytes());
        h[24..32].copy_from_slice(&size.to_be_bytes());
        let l1 = size.div_ceil(cs as u64).div_ceil(cs as u64 / 8) as u32;
        h[36..40].copy_from_slice(&l1.to_be_bytes());
        h[40..48].copy_from_slice(&(cs as u64).to_be_bytes());
        if version == 3 {
            h[72..80].copy_from_slice(&incompatible.to_be_bytes());
            h[96..100].copy_from_slice(&4u32.to_be_bytes());
            h[100..104].copy_from_slice(&112u32.to_be_bytes());
        }
        h
    }

    #[test]
    fn header_fields() {
        let h = header(3, 16, 1 << 30, 1);
        let parsed = parse_header(h.as_slice(), "x").expect("a dirty v3 header is readable");
        assert_eq!(
            parsed,
            Header {
                version: 3,
                cluster_bits: 16,
                size: 1 << 30,
                l1_size: 2,
                l1_offset: 65536
            }
        );
        assert_eq!(parsed.l1_needed(), 2);
    }

    /// Each refusal names what it refuses.
    #[test]
    fn refusals_name_the_feature() {
        let msg = |h: &[u8]| parse_header(h, "img").unwrap_err().to_string();
        assert!(msg(&header(3, 16, 1 << 20, 2)).contains("corrupt bit"));
        assert!(msg(&header(3, 16, 1 << 20, 4)).contains("external data file"));
        assert!(msg(&header(3, 16, 1 << 20, 16)).contains("extended L2"));
        let mut zstd = header(3, 16, 1 << 20, 8);
        zstd[104] = 1;
        assert!(msg(&zstd).contains("zstd compression"));
        assert!(msg(&header(3, 16, 1 << 20, 1 << 9)).contains("incompatible feature bit 9 (unnamed)"));
        let mut named = header(3, 16, 1 << 20, 1 << 9);
        // A feature name table extension right after the 112-byte header.
        named[112..116].copy_from_slice(&0x6803_f857u32.to_be_bytes());
        named[116..120].copy_from_slice(&48u32.to_be_bytes());
        named[120] = 0;
        named[121] = 9;
        named[122..130].copy_from_slice(b"teleport");
        assert!(msg(&named).contains("bit 9 (teleport)"), "{}", msg(&named));
        let mut enc = header(2, 16, 1 << 20, 0);
        enc[32..36].copy_from_slice(&2u32.to_be_bytes());
        assert!(msg(&enc).contains("LUKS encryption"));
        let mut v1 = header(2, 16, 1 << 20, 0);
        v1[4..8].copy_from_slice(&1u32.to_be_bytes());
        assert!(msg(&v1).contains("version 1"));
        assert!(msg(&header(2, 22, 1 << 20, 0)).contains("cluster size"));
        let mut short_l1 = header(2, 16, 1 << 40, 0);
        short_l1[36..40].copy_from_slice(&1u32.to_be_bytes());
        assert!(msg(&short_l1).contains("L1 table has 1 entries"));
        let mut backing = header(2, 16, 1 << 20, 0);
        backing[8..16].copy_from_slice(&200u64.to_be_bytes());
        backing[16..20].copy_from_slice(&9u32.to_be_bytes());
        backing[200..209].copy_from_slice(b"base.img\0");
        let m = msg(&backing);
        assert!(m.contains("backing file") && m.contains("base.img"), "{m}");
        assert!(msg(&header(2, 16, 1 << 20, 0)[..50]).contains("truncated"));
    }

    /// Puts a header extension (type, length, data) at `pos`; returns where the next one starts
    /// (the data padded to 8 bytes, as qemu writes it).
    fn extension(h: &mut [u8], pos: usize, ty: u32, data: &[u8]) -> usize {
        h[pos..pos + 4].copy_from_slice(&ty.to_be_bytes());
        h[pos + 4..pos + 8].copy_from_slice(&(data.len() as u32).to_be_bytes());
        h[pos + 8..pos + 8 + data.len()].copy_from_slice(data);
        pos + 8 + data.len().div_ceil(8) * 8
    }

    /// A feature name table: (kind, bit, name) entries of 48 bytes.
    fn name_table(entries: &[(u8, u8, &str)]) -> Vec<u8> {
        let mut t = vec![0u8; 48 * entries.len()];
        for (i, (kind, bit, name)) in entries.iter().enumerate() {
            t[48 * i] = *kind;
            t[48 * i + 1] = *bit;
            t[48 * i + 2..48 * i + 2 + name.len()].copy_from_slice(name.as_bytes());
        }
        t
    }

    const FEATURE_NAMES: u32 = 0x6803_f857;

    /// The name of an unknown incompatible bit comes from the feature name table wherever the
    /// extensions put it: after another extension whose length is not a multiple of 8, past the
    /// first eighth of the cluster, behind entries of another kind and of another bit. Nothing
    /// past the header's cluster is an extension, even when the last one ends exactly there.
    #[test]
    fn feature_names_are_found_past_other_extensions_and_entries() {
        let msg = |h: &[u8]| parse_header(h, "img").unwrap_err().to_string();
        let mut h = header(3, 16, 1 << 20, 1 << 9);
        // Another extension (a backing format name) of 8875 bytes, padded to 8880: the table
        // starts at 112 + 8 + 8880 = 9000, past 65536 / 8.
        let next = extension(&mut h, 112, 0xe279_2aca, &[b'x'; 8875]);
        assert_eq!(next, 9000);
        let table = name_table(&[(1, 9, "compatible"), (0, 3, "other"), (0, 9, "teleport")]);
        extension(&mut h, next, FEATURE_NAMES, &table);
        assert!(msg(&h).contains("bit 9 (teleport)"), "{}", msg(&h));

        // The extensions fill the header's cluster exactly, without an end marker; a table-like
        // block in the next cluster is not read.
        let mut h = header(3, 16, 1 << 20, 1 << 9);
        h.resize(2 << 16, 0);
        let fill = (1 << 16) - 112 - 8;
        assert_eq!(extension(&mut h, 112, 0xe279_2aca, &vec![b'x'; fill]), 1 << 16);
        extension(&mut h, 1 << 16, FEATURE_NAMES, &name_table(&[(0, 9, "beyond")]));
        assert!(msg(&h).contains("bit 9 (unnamed)"), "{}", msg(&h));
    }

    /// The version 3 header's length: 104 bytes up to one cluster, both ends included; a
    /// compression type is read only from a header long enough to hold it.
    #[test]
    fn header_length_bounds_and_the_compression_type_field() {
        let with_length = |len: u32, incompatible: u64| {
            let mut h = header(3, 16, 1 << 20, incompatible);
            h[100..104].copy_from_slice(&len.to_be_bytes());
            h
        };
        for ok in [104, 1 << 16] {
            assert!(parse_header(with_length(ok, 0).as_slice(), "x").is_ok(), "{ok}");
        }
        for bad in [103, (1 << 16) + 1] {
            let e = parse_header(with_length(bad, 0).as_slice(), "x")
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("header length {bad}")), "{e}");
        }
        // Byte 104 is past a 104-byte header: not a compression type (zstd's would be 1).
        let mut short = with_length(104, 8);
        short[104] = 1;
        let e = parse_header(short.as_slice(), "x").unwrap_err().to_string();
        assert!(e.contains("compression type 0"), "{e}");
    }

    /// The L1 table's bound: 32 MiB of entries is read, one entry more is refused.
    #[test]
    fn the_l1_table_may_be_32_mib_and_no_more() {
        // 512-byte clusters: an L1 entry covers 64 clusters (32 KiB), so 128 GiB needs 4 Mi
        // entries, 32 MiB.
        let h = header(3, 9, 1 << 37, 0);
        assert_eq!(
            parse_header(h.as_slice(), "x").expect("32 MiB of L1").l1_needed(),
            4 << 20
        );
        let e = parse_header(header(3, 9, (1 << 37) + 1, 0).as_slice(), "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("L1 table over 32 MiB"), "{e}");
    }

    /// A hand-built image: L2 entries of every kind, checked cluster by cluster.
    #[test]
    fn mapping_by_hand() {
        struct Rec(Vec<u8>, u64);
        impl Sink for Rec {
            fn data(&mut self, b: &[u8]) -> Result<()> {
                self.0.extend_from_slice(b);
                Ok(())
            }
            fn hole(&mut self, n: u64) -> Result<()> {
                self.1 += n;
                self.0.resize(self.0.len() + n as usize, 0);
                Ok(())
            }
        }
        let cs = 512usize;
        // A disk of 5 clusters and 100 bytes: 0 data A, 1 unallocated, 2 zero flag (with a
        // preallocated offset), 3 data B, 4 data C right after B in the file, 5 (partial) data D.
        let size = 5 * cs as u64 + 100;
        let mut img = header(3, 9, size, 0);
        img.resize(12 * cs, 0);
        // L1 at cluster 1 -> L2 at cluster 2.
        img[cs..cs + 8].copy_from_slice(&((2 * cs as u64) | (1 << 63)).to_be_bytes());
        let l2 = 2 * cs;
        let put = |img: &mut Vec<u8>, i: usize, e: u64| {
            img[l2 + i * 8..l2 + i * 8 + 8].copy_from_slice(&e.to_be_bytes())
        };
        put(&mut img, 0, 4 * cs as u64);
        put(&mut img, 2, (9 * cs as u64) | ZERO);
        put(&mut img, 3, 6 * cs as u64);
        put(&mut img, 4, 7 * cs as u64);
        put(&mut img, 5, 8 * cs as u64);
        img[4 * cs..5 * cs].fill(b'A');
        img[9 * cs..10 * cs].fill(b'Z');
        img[6 * cs..7 * cs].fill(b'B');
        img[7 * cs..8 * cs].fill(b'C');
        img[8 * cs..9 * cs].fill(b'D');
        let q = Qcow2::open(img.as_slice(), img.len() as u64, "hand").expect("opens");
        let mut rec = Rec(Vec::new(), 0);
        q.write_to(&mut rec, &Cancel::never()).expect("reads");
        let mut want = vec![b'A'; cs];
        want.extend(vec![0u8; 2 * cs]);
        want.extend(vec![b'B'; cs]);
        want.extend(vec![b'C'; cs]);
        want.extend(vec![b'D'; 100]);
        assert_eq!(rec.0.len(), want.len());
        assert!(rec.0 == want, "content differs");
        assert_eq!(
            rec.1,
            2 * cs as u64,
            "the unallocated and the zero cluster are holes"
        );

        // A data cluster beyond the end of the file: the image is truncated.
        let mut cut = img;
        put(&mut cut, 0, 40 * cs as u64);
        let q = Qcow2::open(cut.as_slice(), cut.len() as u64, "cut").expect("opens");
        let err = q.write_to(&mut Rec(Vec::new(), 0), &Cancel::never()).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}
