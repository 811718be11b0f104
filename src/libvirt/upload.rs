//! Filling a volume with an image's content over the provider's own connection:
//! `virStorageVolUpload` with a sparse stream, data with `virStreamSend`, zeros with
//! `virStreamSendHole`, and the volume's tail beyond the image as one more hole, so that the whole
//! volume reads as the image followed by zeros (libvirtd >= 6.7 writes holes into a block device
//! as zeros). Nothing is needed on the hypervisor, and remote URIs work.
//!
//! Two threads: one reads and converts the image ([`crate::image::Image::write_to`]), the other
//! (on tokio's blocking pool, as a change of the connection) sends; a small bounded queue between
//! them overlaps decompression with the network and bounds memory.
//!
//! An upload is a change: it is never repeated once its stream started. If libvirt refuses to
//! start it because the pool is busy, nothing was sent and it may be tried again with the same
//! image.

use std::os::raw::c_longlong;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use virt::connect::Connect;
use virt::storage_vol::StorageVol;
use virt::stream::Stream;

use super::conn::Gate;
use super::error::{during as lv, Error};
use super::Connection;
use crate::image::{self, Cancel, Image, Progress, Sink};

/// `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM`: the stream may carry holes.
pub const UPLOAD_SPARSE_STREAM: u32 = 1;

/// The most given to one `virStreamSend`: libvirt's RPC carries at most 256 KiB of stream data in
/// one message (`VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX`).
const SEND_CHUNK: usize = 256 * 1024;

/// Zeros sent as holes before the sender first waits for libvirtd to catch up. libvirtd writes a
/// hole into a block device as zeros and reads the connection in order: a hole message is a few
/// bytes, so without a limit the client queues gigabytes of zero-writing ahead of its keepalive
/// pings, which then go unanswered for minutes (seen on the loaded lab: "connection closed due to
/// keepalive timeout" in a 1 GiB upload, even with 16 MiB hole messages). After a window of holes,
/// one round trip (virConnectGetLibVersion) returns only when libvirtd has read, and so written,
/// what came before it. Data needs no such limit: socket buffers bound it.
const HOLES_FIRST_WINDOW: u64 = 16 << 20;

/// The largest window of holes between two waits.
const HOLES_MAX_WINDOW: u64 = 256 << 20;

/// How much of libvirtd's zero-writing one window may queue, at the rate it wrote the last one:
/// a tenth of keepalive's default patience (no reply for 5 s × 3 declares the connection dead), so
/// a hypervisor that suddenly writes ten times slower still answers in time; and long enough that
/// the wait (a round trip during which libvirtd runs dry) costs little. Measured with
/// `scripts/bench content` (a qcow2 of 1 GiB with 64 MiB of data, against `virsh vol-upload
/// --sparse`): a fixed 16 MiB window 1.38, one second's worth 1.09, two seconds' 0.92.
const HOLE_WINDOW_TIME: Duration = Duration::from_secs(2);

/// The next window of holes, from how long libvirtd took to write the last `bytes`.
fn next_window(bytes: u64, took: Duration) -> u64 {
    let rate = bytes as f64 / took.as_secs_f64().max(1e-3);
    ((rate * HOLE_WINDOW_TIME.as_secs_f64()) as u64).clamp(HOLES_FIRST_WINDOW, HOLES_MAX_WINDOW)
}

/// Segments (each at most one read chunk, 1-2 MiB) queued between the reader and the sender.
const QUEUE: usize = 4;

const OP: &str = "upload to storage volume";

/// The volume to fill, as the resource recorded it: it is looked up by key (an LV's UUID names one
/// volume for its whole life) and must still be `name` in `pool` (and at `path`, when given).
#[derive(Clone, Debug)]
pub struct UploadTarget {
    /// The pool's name.
    pub pool: String,
    /// The volume's name.
    pub name: String,
    /// The volume's key.
    pub key: String,
    /// The volume's path (`/dev/<vg>/<lv>`), when known.
    pub path: Option<String>,
}

/// What an upload did.
#[derive(Clone, Debug)]
pub struct Uploaded {
    /// The volume's size: everything sent, image and tail.
    pub capacity: u64,
    /// What the image streamed (its size, data and hole bytes, its verified digest).
    pub image: image::Summary,
    /// Zeros sent after the image, to the end of the volume.
    pub tail: u64,
    /// How long the transfer took.
    pub elapsed: Duration,
}

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadErrorKind {
    /// libvirt failed (looking up, starting the stream, sending, finishing).
    #[error(transparent)]
    Libvirt(#[from] Error),
    /// Reading or converting the image failed (including a checksum mismatch at the end).
    #[error(transparent)]
    Image(#[from] image::Error),
    /// The key no longer names that volume: nothing was done to whatever has it now.
    #[error("the volume {key:?} is not '{pool}/{name}' any more ({found}): nothing was written to it")]
    NotThisVolume {
        /// Expected pool.
        pool: String,
        /// Expected name.
        name: String,
        /// The key.
        key: String,
        /// What was found instead.
        found: String,
    },
}

/// An upload's failure, and whether the volume's content was changed by it.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct UploadError {
    /// What went wrong.
    pub kind: UploadErrorKind,
    /// Whether the upload had started: the volume's content is then partly replaced, and the
    /// volume is not worth keeping. False when nothing reached it (wrong volume, too small, the
    /// stream never opened).
    pub written: bool,
}

/// One piece of the disk, from the reading thread to the sending one.
enum Segment {
    Data(Vec<u8>),
    Hole(u64),
}

/// The reading thread's sink: the queue.
struct Queue(mpsc::SyncSender<Segment>);

impl Sink for Queue {
    fn data(&mut self, buf: &[u8]) -> image::Result<()> {
        self.0
            .send(Segment::Data(buf.to_vec()))
            .map_err(|_| image::Error::SinkClosed("the upload stopped".into()))
    }
    fn hole(&mut self, len: u64) -> image::Result<()> {
        self.0
            .send(Segment::Hole(len))
            .map_err(|_| image::Error::SinkClosed("the upload stopped".into()))
    }
}

/// Sends all of `buf`, in pieces libvirt takes.
fn send_data(stream: &Stream, buf: &[u8], object: &str) -> Result<(), Error> {
    for piece in buf.chunks(SEND_CHUNK) {
        let mut off = 0;
        while off < piece.len() {
            let n = stream.send(&piece[off..]).map_err(lv(OP, object))?;
            if n <= 0 {
                return Err(Error::Internal {
                    op: OP,
                    object: object.to_string(),
                    message: format!("virStreamSend took {n} bytes of a blocking stream"),
                });
            }
            off += n as usize;
        }
    }
    Ok(())
}

/// Sends data and holes on an open upload stream, pacing holes (see [`HOLES_FIRST_WINDOW`]).
struct Sender<'a> {
    stream: &'a Stream,
    conn: &'a Connect,
    object: &'a str,
    /// Hole bytes sent since libvirtd was last seen to have caught up.
    unconfirmed: u64,
    /// How many hole bytes may be unconfirmed (see [`next_window`]).
    window: u64,
    /// When the first unconfirmed hole was sent.
    since: Option<Instant>,
}

impl<'a> Sender<'a> {
    fn new(stream: &'a Stream, conn: &'a Connect, object: &'a str) -> Self {
        Sender {
            stream,
            conn,
            object,
            unconfirmed: 0,
            window: HOLES_FIRST_WINDOW,
            since: None,
        }
    }

    fn data(&mut self, buf: &[u8]) -> Result<(), Error> {
        send_data(self.stream, buf, self.object)
    }

    fn hole(&mut self, len: u64) -> Result<(), Error> {
        let mut left = len;
        while left > 0 {
            if self.unconfirmed >= self.window {
                self.conn.lib_version().map_err(lv(OP, self.object))?;
                if let Some(since) = self.since.take() {
                    self.window = next_window(self.unconfirmed, since.elapsed());
                }
                self.unconfirmed = 0;
            }
            self.since.get_or_insert_with(Instant::now);
            let n = left.min(self.window - self.unconfirmed);
            // SAFETY: a live stream we own, opened for a sparse upload; no flags.
            let rc = unsafe { virt_sys::virStreamSendHole(self.stream.as_ptr(), n as c_longlong, 0) };
            if rc < 0 {
                return Err(Error::libvirt(OP, self.object, virt::error::Error::last_error()));
            }
            self.unconfirmed += n;
            left -= n;
        }
        Ok(())
    }
}

/// Finds the volume by key and checks it is the one expected; None (with what was found) when it
/// is not.
fn identify(c: &Connect, t: &UploadTarget, object: &str) -> Result<Result<(StorageVol, u64), String>, Error> {
    let vol = match c.lookup_storage_vol_by_key(&t.key) {
        Ok(v) => v,
        Err(e) => {
            let e = Error::libvirt("look up storage volume", object, e);
            return if e.is_not_found() {
                Ok(Err("no volume has this key".into()))
            } else {
                Err(e)
            };
        }
    };
    let name = vol.name().map_err(lv("look up storage volume", object))?;
    let pool = vol
        .lookup_storage_pool()
        .and_then(|p| p.name())
        .map_err(lv("look up the pool of storage volume", object))?;
    if name != t.name || pool != t.pool {
        return Ok(Err(format!("it is '{pool}/{name}'")));
    }
    if let Some(expected) = &t.path {
        let path = vol.path().map_err(lv("look up storage volume", object))?;
        if &path != expected {
            return Ok(Err(format!("its path is {path}, not {expected}")));
        }
    }
    let capacity = vol.info().map_err(lv("read storage volume", object))?.capacity;
    Ok(Ok((vol, capacity)))
}

/// Streams `image` into an open upload stream, then the tail; finishes the stream, or aborts it
/// on any failure (libvirt requires one or the other before the stream is freed).
// Over 100 lines on purpose: the stream's states (data, holes, cancel, the end) in one loop.
fn transfer(
    conn: &Connect,
    stream: Stream,
    image: Image,
    capacity: u64,
    cancel: &Cancel,
    object: &str,
) -> Result<Result<Uploaded, UploadErrorKind>, Error> {
    let started = Instant::now();
    let what = image.what().to_string();
    let (tx, rx) = mpsc::sync_channel::<Segment>(QUEUE);
    let reader_cancel = cancel.clone();
    let reader = std::thread::Builder::new()
        .name("image-reader".into())
        .spawn(move || image.write_to(&mut Queue(tx), &reader_cancel));
    let reader = match reader {
        Ok(r) => r,
        Err(e) => {
            let _ = stream.abort();
            return Err(Error::Internal {
                op: OP,
                object: object.to_string(),
                message: format!("starting the image reader thread: {e}"),
            });
        }
    };
    let mut progress = Progress::new("upload", &format!("{what} to {object}"), Some(capacity));
    let mut sender = Sender::new(&stream, conn, object);
    // Sends what the reader queues until it is done; the first failure stops it.
    let sent: Result<Result<(), UploadErrorKind>, Error> = (|| {
        loop {
            if let Err(e) = cancel.check() {
                return Ok(Err(e.into()));
            }
            // A reader waiting on a slow download still lets a cancel through within a second.
            let segment = match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(segment) => segment,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            let len = match &segment {
                Segment::Data(b) => b.len() as u64,
                Segment::Hole(n) => *n,
            };
            if progress.done() + len > capacity {
                return Ok(Err(image::Error::TooLarge {
                    what: what.clone(),
                    virtual_size: progress.done() + len,
                    capacity,
                }
                .into()));
            }
            let data = match &segment {
                Segment::Data(b) => {
                    sender.data(b)?;
                    true
                }
                Segment::Hole(n) => {
                    sender.hole(*n)?;
                    false
                }
            };
            progress.advance(len, data);
        }
        Ok(Ok(()))
    })();
    // Dropping the receiver makes a reader still running fail at its next segment.
    drop(rx);
    let read = reader.join().unwrap_or_else(|_| {
        Err(image::Error::SinkClosed(
            "the image reader thread panicked".into(),
        ))
    });
    let abort = |stream: Stream| {
        if let Err(e) = stream.abort() {
            tracing::debug!(object, "aborting the upload stream: {e}");
        }
    };
    match (sent, read) {
        (Ok(Ok(())), Ok(summary)) => {
            let tail = capacity - progress.done();
            if let Err(e) = sender.hole(tail) {
                abort(stream);
                return Err(e);
            }
            progress.advance(tail, false);
            stream.finish().map_err(lv(OP, object))?;
            progress.finish();
            Ok(Ok(Uploaded {
                capacity,
                image: summary,
                tail,
                elapsed: started.elapsed(),
            }))
        }
        (Ok(Ok(())), Err(e)) => {
            abort(stream);
            Ok(Err(e.into()))
        }
        (Ok(Err(e)), _) => {
            abort(stream);
            Ok(Err(e))
        }
        (Err(e), _) => {
            abort(stream);
            Err(e)
        }
    }
}

impl Connection {
    /// Replaces the content of the volume `target` with `image` followed by zeros to the end of
    /// the volume. Checks first that the key still names that volume and that the image fits.
    ///
    /// Blocking work runs on tokio's blocking pool; `cancel` (flag or deadline) aborts the stream.
    /// A failure says whether the volume was written to ([`UploadError::written`]): if so its
    /// content is neither the old nor the new one. A checksum verified only at the end of a
    /// streamed download fails here after the last byte, with `written` set.
    pub async fn upload_volume(
        &self,
        target: &UploadTarget,
        image: Image,
        cancel: Cancel,
    ) -> Result<Uploaded, UploadError> {
        let object = format!("'{}/{}'", target.pool, target.name);
        let slot = Arc::new(Mutex::new(Some(image)));
        let written = Arc::new(AtomicBool::new(false));
        let (t, w) = (target.clone(), written.clone());
        let result = self
            .change(OP, &object.clone(), move |c, gate: &Gate| {
                let Some(image) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() else {
                    // Only reachable if the work were repeated after its stream started; a change
                    // is repeated only when libvirt refused to start it (busy pool).
                    return Err(Error::Internal {
                        op: OP,
                        object: object.clone(),
                        message: "the image was already consumed by an earlier attempt".into(),
                    });
                };
                let give_back = |image: Image| *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(image);
                let (vol, capacity) = match identify(c, &t, &object) {
                    Ok(Ok(found)) => found,
                    Ok(Err(found)) => {
                        return Ok(Err(UploadErrorKind::NotThisVolume {
                            pool: t.pool.clone(),
                            name: t.name.clone(),
                            key: t.key.clone(),
                            found,
                        }))
                    }
                    Err(e) => {
                        give_back(image);
                        return Err(e);
                    }
                };
                if let Some(size) = image.virtual_size().filter(|&s| s > capacity) {
                    return Ok(Err(image::Error::TooLarge {
                        what: image.what().to_string(),
                        virtual_size: size,
                        capacity,
                    }
                    .into()));
                }
                let stream = Stream::new(c, 0).map_err(lv(OP, object.clone()))?;
                gate.send()?;
                if let Err(e) = vol.upload(&stream, 0, capacity, UPLOAD_SPARSE_STREAM) {
                    // Not started: nothing was sent, and a busy pool may be asked again.
                    give_back(image);
                    return Err(Error::libvirt(OP, object.clone(), e));
                }
                w.store(true, Ordering::SeqCst);
                tracing::info!(
                    volume = %object,
                    image = %image.what(),
                    format = %image.format(),
                    wrapper = %image.wrapper(),
                    capacity,
                    "uploading the image into the volume"
                );
                transfer(c, stream, image, capacity, &cancel, &object)
            })
            .await;
        let written = written.load(Ordering::SeqCst);
        match result {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(kind)) => Err(UploadError { kind, written }),
            Err(e) => Err(UploadError {
                kind: e.into(),
                written,
            }),
        }
    }
}

impl Connection {
    /// Writes zeros over the volume `target` from byte `from` to its end, and returns how many
    /// bytes that was: a sparse upload of that range carrying one hole, paced like an upload's
    /// holes (libvirtd >= 6.7 writes a hole into a block device as zeros).
    ///
    /// A copy made by `virStorageVolCreateXMLFrom` stops at the source's size, and LVM does not
    /// clear the extents it gives a new LV: without this, a clone larger than its source would
    /// end with whatever an earlier LV left there (seen on the lab: another LV's bytes).
    /// Identity-checked like [`Connection::upload_volume`]; `cancel` aborts the stream. A failure
    /// says whether anything was written ([`UploadError::written`]).
    pub async fn zero_volume_tail(
        &self,
        target: &UploadTarget,
        from: u64,
        cancel: Cancel,
    ) -> Result<u64, UploadError> {
        const ZERO_OP: &str = "zero the end of storage volume";
        let object = format!("'{}/{}'", target.pool, target.name);
        let written = Arc::new(AtomicBool::new(false));
        let (t, w) = (target.clone(), written.clone());
        let result = self
            .change(ZERO_OP, &object.clone(), move |c, gate: &Gate| {
                let (vol, capacity) = match identify(c, &t, &object)? {
                    Ok(found) => found,
                    Err(found) => {
                        return Ok(Err(UploadErrorKind::NotThisVolume {
                            pool: t.pool.clone(),
                            name: t.name.clone(),
                            key: t.key.clone(),
                            found,
                        }))
                    }
                };
                if from >= capacity {
                    return Ok(Ok(0));
                }
                let len = capacity - from;
                let stream = Stream::new(c, 0).map_err(lv(ZERO_OP, object.clone()))?;
                gate.send()?;
                // Not started: nothing was sent, and a busy pool may be asked again.
                vol.upload(&stream, from, len, UPLOAD_SPARSE_STREAM)
                    .map_err(lv(ZERO_OP, object.clone()))?;
                w.store(true, Ordering::SeqCst);
                let mut sender = Sender::new(&stream, c, &object);
                let mut progress = Progress::new("zeroing", &format!("{object} from byte {from}"), Some(len));
                let mut left = len;
                while left > 0 {
                    let step = left.min(HOLES_FIRST_WINDOW);
                    let sent = match cancel.check() {
                        Err(e) => Ok(Err(e.into())),
                        Ok(()) => sender.hole(step).map(Ok),
                    };
                    match sent {
                        Ok(Ok(())) => {}
                        other => {
                            if let Err(e) = stream.abort() {
                                tracing::debug!(object = %object, "aborting the zeroing stream: {e}");
                            }
                            return other.map(|r| r.map(|()| 0));
                        }
                    }
                    progress.advance(step, false);
                    left -= step;
                }
                stream.finish().map_err(lv(ZERO_OP, object.clone()))?;
                progress.finish();
                Ok(Ok(len))
            })
            .await;
        let written = written.load(Ordering::SeqCst);
        match result {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(kind)) => Err(UploadError { kind, written }),
            Err(e) => Err(UploadError {
                kind: e.into(),
                written,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{FormatChoice, Location, Spec};
    use crate::libvirt::testing::TestDriver;
    use crate::libvirt::volume::Created;

    fn image_of(bytes: &[u8]) -> (tempfile::TempDir, Image) {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("img.raw");
        std::fs::write(&p, bytes).expect("write");
        let spec = Spec {
            location: Location::Path(p),
            format: FormatChoice::Auto,
            checksum: None,
        };
        let img = image::open(&spec, &Cancel::never()).expect("open");
        (dir, img)
    }

    /// The window of holes follows libvirtd's zero-writing rate, two seconds' worth, within
    /// [16 MiB, 256 MiB].
    #[test]
    fn hole_windows_hold_two_seconds_of_libvirtds_writing() {
        const MIB: u64 = 1 << 20;
        let ms = Duration::from_millis;
        assert_eq!(next_window(16 * MIB, ms(250)), 128 * MIB);
        assert_eq!(next_window(16 * MIB, ms(2000)), 16 * MIB);
        // Slow (a loaded lab): never below the first window.
        assert_eq!(next_window(16 * MIB, ms(8000)), HOLES_FIRST_WINDOW);
        // Fast, or a wait too short to measure: never above the largest.
        assert_eq!(next_window(64 * MIB, ms(10)), HOLES_MAX_WINDOW);
        assert_eq!(next_window(64 * MIB, Duration::ZERO), HOLES_MAX_WINDOW);
    }

    /// The checks made before a stream is opened: the key must still name the volume, and the
    /// image must fit. None of these writes anything; libvirt's test driver has no uploads, so its
    /// refusal shows the stream was asked for only once the checks passed.
    #[tokio::test]
    async fn identity_and_size_are_checked_before_anything_is_written() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        let xml = "<volume><name>up-check</name><capacity>1048576</capacity></volume>".to_string();
        let Created::New(vol) = c
            .create_volume_xml("default-pool", "up-check", xml)
            .await
            .expect("create")
        else {
            panic!("a new volume")
        };
        let target = UploadTarget {
            pool: "default-pool".into(),
            name: "up-check".into(),
            key: vol.key(),
            path: None,
        };
        let small = vec![7u8; 4096];

        let mut wrong_name = target.clone();
        wrong_name.name = "other".into();
        let (_d, img) = image_of(&small);
        let e = c
            .upload_volume(&wrong_name, img, Cancel::never())
            .await
            .unwrap_err();
        assert!(matches!(e.kind, UploadErrorKind::NotThisVolume { .. }), "{e}");
        assert!(!e.written);
        assert!(
            e.to_string().contains("'default-pool/up-check'"),
            "says what it found: {e}"
        );

        let mut wrong_key = target.clone();
        wrong_key.key = "/nonexistent/key".into();
        let (_d, img) = image_of(&small);
        let e = c
            .upload_volume(&wrong_key, img, Cancel::never())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no volume has this key"), "{e}");
        assert!(!e.written);

        let mut wrong_path = target.clone();
        wrong_path.path = Some("/dev/elsewhere".into());
        let (_d, img) = image_of(&small);
        let e = c
            .upload_volume(&wrong_path, img, Cancel::never())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("/dev/elsewhere"), "{e}");

        let (_d, img) = image_of(&vec![1u8; (1 << 20) + 512]);
        let e = c.upload_volume(&target, img, Cancel::never()).await.unwrap_err();
        assert!(
            matches!(
                e.kind,
                UploadErrorKind::Image(image::Error::TooLarge {
                    capacity: 1048576,
                    ..
                })
            ),
            "{e}"
        );
        assert!(!e.written);

        let (_d, img) = image_of(&small);
        let e = c.upload_volume(&target, img, Cancel::never()).await.unwrap_err();
        assert!(
            matches!(e.kind, UploadErrorKind::Libvirt(_)) && e.to_string().contains("virStorageVolUpload"),
            "the test driver refuses the stream itself: {e}"
        );
        assert!(!e.written);
    }
}
