//! The disk's content as a sequence of data and holes, and the zero detection that turns all-zero
//! data into holes.

use super::Result;

/// Zero detection granularity: a data block of this size (aligned to the disk's offsets) that is
/// all zeros is sent as a hole. qcow2's default cluster size; small enough to find the zeros
/// inside file systems' free space, large enough that the check costs little per byte.
pub const GRAIN: usize = 64 * 1024;

/// Where the disk's content goes, in order from offset 0.
pub trait Sink {
    /// The next `buf.len()` bytes of the disk.
    fn data(&mut self, buf: &[u8]) -> Result<()>;
    /// The next `len` bytes of the disk are zeros.
    fn hole(&mut self, len: u64) -> Result<()>;
}

/// Whether every byte is zero. Works on 512-byte chunks whose OR the compiler vectorises, with an
/// early exit per chunk (data blocks usually fail on their first chunk).
pub fn is_zero(buf: &[u8]) -> bool {
    buf.chunks(512)
        .all(|c| c.iter().fold(0u8, |acc, &b| acc | b) == 0)
}

/// Wraps a sink: splits data at [`GRAIN`] boundaries of the disk, turns all-zero grains into
/// holes, and merges consecutive holes into one (libvirt sends one message per hole).
pub(crate) struct Sparse<'a> {
    out: &'a mut dyn Sink,
    /// Disk offset of the next byte.
    pos: u64,
    /// Zeros seen and not yet passed on.
    pending_hole: u64,
    data_bytes: u64,
    hole_bytes: u64,
}

impl<'a> Sparse<'a> {
    pub(crate) fn new(out: &'a mut dyn Sink) -> Self {
        Sparse {
            out,
            pos: 0,
            pending_hole: 0,
            data_bytes: 0,
            hole_bytes: 0,
        }
    }

    fn flush_hole(&mut self) -> Result<()> {
        if self.pending_hole > 0 {
            let len = std::mem::take(&mut self.pending_hole);
            self.out.hole(len)?;
            self.hole_bytes += len;
        }
        Ok(())
    }

    /// Passes on the last hole; returns (data bytes, hole bytes) passed on.
    pub(crate) fn finish(mut self) -> Result<(u64, u64)> {
        self.flush_hole()?;
        Ok((self.data_bytes, self.hole_bytes))
    }
}

impl Sink for Sparse<'_> {
    fn data(&mut self, buf: &[u8]) -> Result<()> {
        let grain = GRAIN as u64;
        // The start of the current run of non-zero grains within `buf`.
        let mut run_start: Option<usize> = None;
        let mut i = 0usize;
        while i < buf.len() {
            let to_boundary = (grain - (self.pos + i as u64) % grain) as usize;
            let end = (i + to_boundary).min(buf.len());
            if is_zero(&buf[i..end]) {
                if let Some(s) = run_start.take() {
                    self.out.data(&buf[s..i])?;
                    self.data_bytes += (i - s) as u64;
                }
                self.pending_hole += (end - i) as u64;
            } else if run_start.is_none() {
                self.flush_hole()?;
                run_start = Some(i);
            }
            i = end;
        }
        if let Some(s) = run_start {
            self.out.data(&buf[s..])?;
            self.data_bytes += (buf.len() - s) as u64;
        }
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn hole(&mut self, len: u64) -> Result<()> {
        self.pending_hole += len;
        self.pos += len;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what reaches it.
    #[derive(Default)]
    struct Record(Vec<(bool, u64)>);
    impl Sink for Record {
        fn data(&mut self, buf: &[u8]) -> Result<()> {
            self.0.push((true, buf.len() as u64));
            Ok(())
        }
        fn hole(&mut self, len: u64) -> Result<()> {
            self.0.push((false, len));
            Ok(())
        }
    }

    #[test]
    fn zero_check() {
        assert!(is_zero(&[]));
        assert!(is_zero(&[0; 5000]));
        let mut v = vec![0u8; 5000];
        v[4999] = 1;
        assert!(!is_zero(&v));
        v[4999] = 0;
        v[0] = 0x80;
        assert!(!is_zero(&v));
    }

    /// Zero grains become holes, aligned to the disk's offsets (not to the buffers'), adjacent
    /// holes merge, and data runs stay whole.
    #[test]
    fn grains_split_and_merge() {
        let g = GRAIN;
        let mut rec = Record::default();
        let mut s = Sparse::new(&mut rec);
        // 10 bytes of data, then zeros to the end of grain 1 (unaligned start).
        let mut a = vec![0u8; g + 100];
        a[0..10].fill(7);
        s.data(&a).unwrap();
        // The rest of grain 1, zero too: its two parts and the hole after it make one hole.
        s.data(&vec![0u8; g - 100]).unwrap();
        s.hole(3 * g as u64).unwrap();
        // Two data grains in a row, one buffer: one data call.
        s.data(&vec![1u8; 2 * g]).unwrap();
        let (data, holes) = s.finish().unwrap();
        assert_eq!(
            rec.0,
            vec![(true, g as u64), (false, 4 * g as u64), (true, 2 * g as u64)]
        );
        assert_eq!(data, 3 * g as u64);
        assert_eq!(holes, 4 * g as u64);
    }
}
