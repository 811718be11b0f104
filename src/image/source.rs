//! Opening an image: a local file or an http(s) download, the checksum of the bytes as read, the
//! wrapper and format decisions, and spooling where qcow2 needs random access.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::Digest;

use super::qcow2::{self, Qcow2};
use super::wrap::{self, Decoder};
use super::{
    extents, open_file, Algorithm, Cancel, Checksum, Error, Format, FormatChoice, Image, Inspection,
    Location, Progress, Result, Sink, Spec, Wrapper, GRAIN, READ_CHUNK,
};

/// Leading bytes read to tell the wrapper and the format.
const PEEK: usize = 512;
/// Decompressed bytes read to inspect a wrapped qcow2's header: the first cluster at most (qemu's
/// largest cluster is 2 MiB), where the header, its extensions and the backing file name live.
const QCOW2_PREFIX: usize = 2 << 20;
/// Redirects followed before giving up (a loop ends here too).
pub(crate) const MAX_REDIRECTS: u32 = 10;
/// A download that receives nothing for this long has stalled.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Opening the connection (DNS, TCP, TLS, proxy) may take this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------------------------------------
// Formats

/// Another virtual-disk format `prefix` starts with, by its magic (raw would write its container,
/// not the disk it holds: `format = "auto"` refuses these rather than guessing).
fn other_format(prefix: &[u8]) -> Option<&'static str> {
    if prefix.starts_with(b"KDMV") || prefix.starts_with(b"# Disk DescriptorFile") {
        Some("VMDK")
    } else if prefix.starts_with(b"vhdxfile") {
        Some("VHDX")
    } else if prefix.starts_with(b"conectix") {
        Some("VHD")
    } else if prefix.starts_with(b"QEF\0") {
        Some("QED")
    } else if prefix.get(0x40..0x44) == Some(&0xbeda_107fu32.to_le_bytes()[..]) {
        Some("VDI")
    } else {
        None
    }
}

/// The format to read the content as, from the (decompressed) first bytes and `format`.
fn decide(prefix: &[u8], choice: FormatChoice, what: &str) -> Result<Format> {
    let is_qcow2 = prefix.starts_with(&qcow2::MAGIC);
    match choice {
        FormatChoice::Raw => Ok(Format::Raw),
        FormatChoice::Qcow2 if is_qcow2 => Ok(Format::Qcow2),
        FormatChoice::Qcow2 => Err(Error::NotQcow2 {
            what: what.to_string(),
            found: match other_format(prefix) {
                Some(f) => format!("it is a {f} image"),
                None => "its content does not start with qcow2's magic \"QFI\\xfb\"".into(),
            },
        }),
        FormatChoice::Auto if is_qcow2 => Ok(Format::Qcow2),
        FormatChoice::Auto => match other_format(prefix) {
            Some(format) => Err(Error::OtherFormat {
                what: what.to_string(),
                format,
            }),
            None => Ok(Format::Raw),
        },
    }
}

/// Reads up to `n` bytes (fewer only at the end of the stream).
fn read_up_to(r: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut v = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut v)?;
    Ok(v)
}

/// Fills `buf` as far as the stream goes; returns the bytes read (less than `buf.len()` only at
/// the end).
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// An error that came through a decoder: ours (carried inside the io::Error) when the source
/// failed, else the decoder's own.
fn unwrap_io(e: io::Error, what: &str, wrapper: Wrapper) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        if let Some(inner) = e.into_inner() {
            if let Ok(ours) = inner.downcast::<Error>() {
                return *ours;
            }
        }
        return Error::Io {
            what: what.to_string(),
            source: io::Error::other("lost error"),
        };
    }
    if wrapper == Wrapper::None {
        Error::Io {
            what: what.to_string(),
            source: e,
        }
    } else {
        Error::Decompress {
            what: what.to_string(),
            wrapper,
            source: e,
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Inspection (plan time)

pub(crate) fn inspect_file(path: &Path, choice: FormatChoice) -> Result<Inspection> {
    let what = path.display().to_string();
    let file = open_file(path)?;
    let io_err = |source| Error::Io {
        what: what.clone(),
        source,
    };
    let len = file.metadata().map_err(io_err)?.len();
    let prefix = read_up_to(&mut wrap::FromStart::new(&file), PEEK).map_err(io_err)?;
    let wrapper = wrap::detect(&prefix);
    let decomp = |source| Error::Decompress {
        what: what.clone(),
        wrapper,
        source,
    };
    let (format, virtual_size) = if wrapper == Wrapper::None {
        match decide(&prefix, choice, &what)? {
            Format::Qcow2 => (Format::Qcow2, Qcow2::open(file, len, &what)?.virtual_size()),
            Format::Raw => (Format::Raw, len),
        }
    } else {
        let head = wrap::decoded_prefix(&file, wrapper, PEEK).map_err(decomp)?;
        match decide(&head, choice, &what)? {
            Format::Qcow2 => {
                let head = wrap::decoded_prefix(&file, wrapper, QCOW2_PREFIX).map_err(decomp)?;
                let h = qcow2::parse_header(head.as_slice(), &what)?;
                (Format::Qcow2, h.size)
            }
            Format::Raw => (Format::Raw, wrap::decoded_size(&file, wrapper).map_err(decomp)?),
        }
    };
    Ok(Inspection {
        format,
        wrapper,
        virtual_size,
    })
}

// ------------------------------------------------------------------------------------------------
// Checksums

/// A running digest.
enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn new(a: Algorithm) -> Hasher {
        match a {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }
    fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }
    fn hex(self) -> String {
        let bytes: Vec<u8> = match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Compares a digest with the expected one: Ok(`algo:hex`) or the mismatch naming both.
fn compare(expected: &Checksum, actual_hex: String, what: &str) -> Result<String> {
    let actual = Checksum {
        algorithm: expected.algorithm,
        hex: actual_hex,
    };
    if actual.hex == expected.hex {
        Ok(actual.to_string())
    } else {
        Err(Error::ChecksumMismatch {
            what: what.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        })
    }
}

/// Hashes a whole local file and compares (before anything is sent).
fn verify_file(file: &File, expected: &Checksum, what: &str, cancel: &Cancel) -> Result<String> {
    let mut h = Hasher::new(expected.algorithm);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut pos = 0u64;
    loop {
        cancel.check()?;
        let n = file.read_at(&mut buf, pos).map_err(|source| Error::Io {
            what: what.to_string(),
            source,
        })?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        pos += n as u64;
    }
    compare(expected, h.hex(), what)
}

// ------------------------------------------------------------------------------------------------
// The bytes as read: a file or a download, counted, hashed, checked against Content-Length.

/// The source's bytes: hashed (when a checksum is pending), counted, and for downloads checked
/// against Content-Length and logged with progress. Its errors travel through decoders as
/// `io::Error::other(Error)`.
pub(crate) struct Input {
    inner: Box<dyn Read + Send>,
    hasher: Option<Hasher>,
    read: u64,
    /// For downloads: the URL as shown, Content-Length, and the progress log.
    download: Option<(String, Option<u64>, Progress)>,
    what: String,
}

impl Input {
    fn file(file: File, what: &str) -> Input {
        Input {
            inner: Box::new(wrap::FromStart::new(file)),
            hasher: None,
            read: 0,
            download: None,
            what: what.to_string(),
        }
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                let err = match &self.download {
                    Some((url, _, _)) => Error::Http {
                        url: url.clone(),
                        message: format!("the transfer failed after {} bytes: {e}", self.read),
                    },
                    None => Error::Io {
                        what: self.what.clone(),
                        source: e,
                    },
                };
                return Err(io::Error::other(err));
            }
        };
        if let Some((url, expected, progress)) = &mut self.download {
            if n == 0 {
                if let Some(expected) = *expected {
                    if self.read != expected {
                        return Err(io::Error::other(Error::ShortBody {
                            url: url.clone(),
                            expected,
                            received: self.read,
                        }));
                    }
                }
            } else {
                progress.advance(n as u64, true);
            }
        }
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// Bytes already read from `inner` (to tell the wrapper or the format), given back first.
pub(crate) struct Peeked<R> {
    head: io::Cursor<Vec<u8>>,
    inner: R,
}

impl<R: Read> Peeked<R> {
    fn new(mut inner: R, n: usize) -> io::Result<(Peeked<R>, Vec<u8>)> {
        let head = read_up_to(&mut inner, n)?;
        Ok((
            Peeked {
                head: io::Cursor::new(head.clone()),
                inner,
            },
            head,
        ))
    }
}

impl<R: Read> Read for Peeked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.head.read(buf)? {
            0 => self.inner.read(buf),
            n => Ok(n),
        }
    }
}

/// Decompressed content over the source's bytes.
pub(crate) type Stream = Peeked<Decoder<BufReader<Peeked<Input>>>>;

impl Stream {
    /// Reads what the decoder left of the source (so that the digest covers the whole file) and
    /// returns the digest of everything read, compared with the checksum.
    fn finish_input(&mut self, expected: Option<&Checksum>, what: &str) -> Result<Option<String>> {
        let source = self.inner.get_mut();
        io::copy(source, &mut io::sink()).map_err(|e| unwrap_io(e, what, Wrapper::None))?;
        let input = &mut source.get_mut().inner;
        if let Some((_, _, progress)) = &input.download {
            progress.finish();
        }
        match (expected, input.hasher.take()) {
            (Some(c), Some(h)) => compare(c, h.hex(), what).map(Some),
            _ => Ok(None),
        }
    }
}

/// Builds the decoded stream over `input`, telling the wrapper from its first bytes; returns it
/// with the first decompressed bytes (to tell the format).
fn decode(input: Input, what: &str) -> Result<(Stream, Wrapper, Vec<u8>)> {
    let (peeked, head) = Peeked::new(input, PEEK).map_err(|e| unwrap_io(e, what, Wrapper::None))?;
    let wrapper = wrap::detect(&head);
    let decoder = Decoder::new(wrapper, BufReader::with_capacity(256 << 10, peeked))
        .map_err(|e| unwrap_io(e, what, wrapper))?;
    let (stream, content_head) = Peeked::new(decoder, PEEK).map_err(|e| unwrap_io(e, what, wrapper))?;
    Ok((stream, wrapper, content_head))
}

// ------------------------------------------------------------------------------------------------
// Spooling

/// The most a qcow2 file holding a `virtual_size`-byte disk may take: its data (never more than
/// the disk), its tables (a few parts per thousand at qcow2's smallest cluster size) and room for
/// an internal snapshot's copy, with 64 MiB of slack. A stream that goes on past it (a header
/// followed by endless bytes, a decompression bomb) is stopped there instead of filling the disk.
pub(crate) fn spool_limit(virtual_size: u64) -> u64 {
    virtual_size.saturating_mul(2).saturating_add(64 << 20)
}

/// Copies the decompressed content into an anonymous temporary file (deleted by the kernel when
/// closed), leaving all-zero grains as holes; returns it with its length. More than `limit` bytes
/// fail at once ([`Error::SpoolLimit`]).
fn spool(
    stream: &mut Stream,
    what: &str,
    wrapper: Wrapper,
    limit: Option<u64>,
    cancel: &Cancel,
) -> Result<(File, u64)> {
    let spool_err = |source| Error::Spool {
        what: what.to_string(),
        source,
    };
    let file = tempfile::tempfile().map_err(spool_err)?;
    let mut buf = vec![0u8; READ_CHUNK];
    let mut pos = 0u64;
    loop {
        cancel.check()?;
        let n = fill(stream, &mut buf).map_err(|e| unwrap_io(e, what, wrapper))?;
        if n == 0 {
            break;
        }
        for (i, grain) in buf[..n].chunks(GRAIN).enumerate() {
            if !extents::is_zero(grain) {
                file.write_all_at(grain, pos + (i * GRAIN) as u64)
                    .map_err(spool_err)?;
            }
        }
        pos += n as u64;
        if let Some(limit) = limit.filter(|l| pos > *l) {
            return Err(Error::SpoolLimit {
                what: what.to_string(),
                limit,
            });
        }
    }
    file.set_len(pos).map_err(spool_err)?;
    Ok((file, pos))
}

// ------------------------------------------------------------------------------------------------
// Opening

/// What an opened image streams from.
pub(crate) enum Body {
    /// A qcow2 file (the local file itself, or a spooled copy).
    Qcow2(Qcow2<File>, Option<String>),
    /// A plain local raw file: its holes are found with SEEK_DATA/SEEK_HOLE.
    RawFile(File, u64, Option<String>),
    /// Raw content from a wrapper or a download, read once in order.
    RawStream {
        stream: Box<Stream>,
        wrapper: Wrapper,
        /// The checksum still to verify at the end (downloads).
        pending: Option<Checksum>,
        /// The digest verified before (local files).
        verified: Option<String>,
    },
}

impl Body {
    pub(crate) fn checksum_pending(&self) -> bool {
        matches!(self, Body::RawStream { pending: Some(_), .. })
    }

    /// Streams the content; returns the digest of the file as read when a checksum was set.
    pub(crate) fn write_to(self, what: &str, sink: &mut dyn Sink, cancel: &Cancel) -> Result<Option<String>> {
        match self {
            Body::Qcow2(q, digest) => q.write_to(sink, cancel).map(|()| digest),
            Body::RawFile(file, len, digest) => raw_file(&file, len, what, sink, cancel).map(|()| digest),
            Body::RawStream {
                mut stream,
                wrapper,
                pending,
                verified,
            } => {
                let mut buf = vec![0u8; READ_CHUNK];
                loop {
                    cancel.check()?;
                    let n = fill(&mut *stream, &mut buf).map_err(|e| unwrap_io(e, what, wrapper))?;
                    if n == 0 {
                        break;
                    }
                    sink.data(&buf[..n])?;
                }
                let digest = stream.finish_input(pending.as_ref(), what)?;
                Ok(digest.or(verified))
            }
        }
    }
}

/// A plain raw file: data regions read in [`READ_CHUNK`]s, the file system's holes passed on as
/// holes without reading them (a sparse 20 GiB raw image costs what its data costs).
fn raw_file(file: &File, len: u64, what: &str, sink: &mut dyn Sink, cancel: &Cancel) -> Result<()> {
    let io_err = |source| Error::Io {
        what: what.to_string(),
        source,
    };
    let mut buf = vec![0u8; READ_CHUNK];
    let mut pos = 0u64;
    while pos < len {
        cancel.check()?;
        let (data, end) = next_region(file, pos, len);
        if !data {
            sink.hole(end - pos)?;
            pos = end;
            continue;
        }
        while pos < end {
            cancel.check()?;
            let n = (end - pos).min(READ_CHUNK as u64) as usize;
            file.read_exact_at(&mut buf[..n], pos).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    io_err(io::Error::other(format!(
                        "the file shrank while it was read (at offset {pos})"
                    )))
                } else {
                    io_err(e)
                }
            })?;
            sink.data(&buf[..n])?;
            pos += n as u64;
        }
    }
    Ok(())
}

/// The region at `pos`: (whether it holds data, where it ends). Without SEEK_DATA support,
/// everything is data (the zero check still finds the zeros).
#[cfg(target_os = "linux")]
fn next_region(file: &File, pos: u64, len: u64) -> (bool, u64) {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let Ok(at) = libc::off_t::try_from(pos) else {
        return (true, len);
    };
    // SAFETY: lseek on a file descriptor we own; it only moves the offset, which we never use
    // (every read is positional).
    let data = unsafe { libc::lseek(fd, at, libc::SEEK_DATA) };
    if data < 0 {
        return match io::Error::last_os_error().raw_os_error() {
            // No data after pos: the rest is a hole.
            Some(libc::ENXIO) => (false, len),
            _ => (true, len),
        };
    }
    let data = (data as u64).min(len);
    if data > pos {
        return (false, data);
    }
    // SAFETY: as above.
    let hole = unsafe { libc::lseek(fd, at, libc::SEEK_HOLE) };
    if hole < 0 {
        return (true, len);
    }
    (true, (hole as u64).clamp(pos + 1, len))
}

#[cfg(not(target_os = "linux"))]
fn next_region(_file: &File, _pos: u64, len: u64) -> (bool, u64) {
    (true, len)
}

pub(crate) fn open(spec: &Spec, capacity: Option<u64>, cancel: &Cancel) -> Result<Image> {
    match &spec.location {
        Location::Path(p) => open_path(p, spec, capacity, cancel),
        Location::Url(u) => open_url(u, spec, capacity, cancel),
    }
}

fn open_path(path: &Path, spec: &Spec, capacity: Option<u64>, cancel: &Cancel) -> Result<Image> {
    let what = path.display().to_string();
    let file = open_file(path)?;
    let io_err = |source| Error::Io {
        what: what.clone(),
        source,
    };
    let len = file.metadata().map_err(io_err)?.len();
    // The file is hashed first: a wrong file never reaches the volume.
    let digest = match &spec.checksum {
        Some(c) => Some(verify_file(&file, c, &what, cancel)?),
        None => None,
    };
    let head = read_up_to(&mut wrap::FromStart::new(&file), PEEK).map_err(io_err)?;
    let wrapper = wrap::detect(&head);
    if wrapper == Wrapper::None {
        let format = decide(&head, spec.format, &what)?;
        let (body, size) = match format {
            Format::Qcow2 => {
                let q = Qcow2::open(file, len, &what)?;
                let size = q.virtual_size();
                (Body::Qcow2(q, digest), size)
            }
            Format::Raw => (Body::RawFile(file, len, digest), len),
        };
        return Ok(Image {
            what,
            format,
            wrapper,
            virtual_size: Some(size),
            body,
        });
    }
    let recorded = wrap::recorded_size(&file, wrapper).ok().flatten();
    let (mut stream, wrapper, content_head) = decode(Input::file(file, &what), &what)?;
    finish_open(
        &what,
        spec,
        &mut stream,
        wrapper,
        &content_head,
        None,
        digest,
        recorded,
        capacity,
        cancel,
    )
    .map(|(format, virtual_size, body)| Image {
        what: what.clone(),
        format,
        wrapper,
        virtual_size,
        body,
    })
}

/// The rest of opening a stream (a wrapped local file or a download): the format, then either a
/// spooled qcow2 (checksum verified now) or the stream itself (checksum verified at its end).
#[allow(clippy::too_many_arguments)]
fn finish_open(
    what: &str,
    spec: &Spec,
    stream: &mut Stream,
    wrapper: Wrapper,
    content_head: &[u8],
    pending: Option<&Checksum>,
    verified: Option<String>,
    raw_size: Option<u64>,
    capacity: Option<u64>,
    cancel: &Cancel,
) -> Result<(Format, Option<u64>, Body)> {
    let format = decide(content_head, spec.format, what)?;
    // Refuse what the header refuses (backing file, encryption, a disk larger than the volume)
    // before spooling a whole download: the fixed header is in the first bytes.
    let mut limit = None;
    if format == Format::Qcow2 {
        let header = qcow2::parse_header(content_head, what)?;
        if let Some(capacity) = capacity {
            if header.size > capacity {
                return Err(Error::TooLarge {
                    what: what.to_string(),
                    virtual_size: header.size,
                    capacity,
                });
            }
        }
        limit = Some(spool_limit(header.size));
    }
    Ok(match format {
        Format::Qcow2 => {
            let (file, len) = spool(stream, what, wrapper, limit, cancel)?;
            let digest = stream.finish_input(pending, what)?.or(verified);
            let q = Qcow2::open(file, len, what)?;
            let size = q.virtual_size();
            (Format::Qcow2, Some(size), Body::Qcow2(q, digest))
        }
        Format::Raw => (Format::Raw, raw_size, {
            // The stream moves into the body; `stream` is left with an empty placeholder.
            Body::RawStream {
                stream: Box::new(std::mem::replace(stream, placeholder())),
                wrapper,
                pending: pending.cloned(),
                verified,
            }
        }),
    })
}

/// An empty stream, to take a real one out of a `&mut`.
fn placeholder() -> Stream {
    let input = Input {
        inner: Box::new(io::empty()),
        hasher: None,
        read: 0,
        download: None,
        what: String::new(),
    };
    Peeked {
        head: io::Cursor::new(Vec::new()),
        inner: Decoder::Plain(BufReader::new(Peeked {
            head: io::Cursor::new(Vec::new()),
            inner: input,
        })),
    }
}

// ------------------------------------------------------------------------------------------------
// Downloads

/// The URL as it may be shown: no user:password, no query (signed URLs carry tokens there).
pub fn display_url(url: &str) -> String {
    let (base, had_query) = match url.find(['?', '#']) {
        Some(i) => (&url[..i], true),
        None => (url, false),
    };
    let mut shown = base.to_string();
    if let Some(scheme_end) = base.find("://") {
        let rest = &base[scheme_end + 3..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            shown = format!("{}***@{}", &base[..scheme_end + 3], &rest[at + 1..]);
        }
    }
    if had_query {
        shown.push_str("?…");
    }
    shown
}

/// The root certificates: the system's trust store (as curl and Go programs use), else Mozilla's.
fn root_certs() -> ureq::tls::RootCerts {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        tracing::debug!(errors = ?found.errors, "no system root certificates; using Mozilla's (webpki-roots)");
        return ureq::tls::RootCerts::WebPki;
    }
    found
        .certs
        .iter()
        .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
        .collect::<Vec<_>>()
        .into()
}

/// The HTTP client for one download: proxies from the environment (ALL_PROXY, HTTPS_PROXY,
/// HTTP_PROXY, NO_PROXY; ureq's defaults), redirects followed up to [`MAX_REDIRECTS`], statuses
/// other than 2xx as errors, no transparent decompression (the checksum is of the file as served).
fn agent(cancel: &Cancel) -> ureq::Agent {
    let global = cancel
        .deadline()
        .map(|d| d.saturating_duration_since(Instant::now()));
    let config = ureq::Agent::config_builder()
        .max_redirects(MAX_REDIRECTS)
        .http_status_as_error(true)
        .user_agent(concat!("terraform-provider-libvirt/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_per_read(Some(READ_TIMEOUT))
        .timeout_global(global)
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(root_certs()).build())
        .build();
    ureq::Agent::new_with_config(config)
}

fn open_url(url: &str, spec: &Spec, capacity: Option<u64>, cancel: &Cancel) -> Result<Image> {
    let what = display_url(url);
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("http" | "https")) {
        return Err(Error::UrlScheme { url: what });
    }
    cancel.check()?;
    let response = agent(cancel).get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(status) => Error::HttpStatus {
            url: what.clone(),
            status,
        },
        ureq::Error::TooManyRedirects => Error::Http {
            url: what.clone(),
            message: format!("more than {MAX_REDIRECTS} redirects (a redirect loop?)"),
        },
        other => Error::Http {
            url: what.clone(),
            message: other.to_string(),
        },
    })?;
    let length = response.body().content_length();
    tracing::info!(url = %what, content_length = ?length, "downloading the image");
    let input = Input {
        inner: Box::new(response.into_body().into_reader()),
        hasher: spec.checksum.as_ref().map(|c| Hasher::new(c.algorithm)),
        read: 0,
        download: Some((what.clone(), length, Progress::new("download", &what, length))),
        what: what.clone(),
    };
    let (mut stream, wrapper, content_head) = decode(input, &what)?;
    let raw_size = if wrapper == Wrapper::None { length } else { None };
    let (format, virtual_size, body) = finish_open(
        &what,
        spec,
        &mut stream,
        wrapper,
        &content_head,
        spec.checksum.as_ref(),
        None,
        raw_size,
        capacity,
        cancel,
    )?;
    Ok(Image {
        what,
        format,
        wrapper,
        virtual_size,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_secrets() {
        assert_eq!(display_url("https://a.example/x.img"), "https://a.example/x.img");
        assert_eq!(
            display_url("https://user:pw@a.example/x.img?sig=abc"),
            "https://***@a.example/x.img?…"
        );
        assert_eq!(display_url("http://h/p@q"), "http://h/p@q");
    }

    #[test]
    fn formats_by_magic() {
        let d = |p: &[u8], c| decide(p, c, "i");
        assert_eq!(
            d(b"QFI\xfb\0\0\0\x03", FormatChoice::Auto).unwrap(),
            Format::Qcow2
        );
        assert_eq!(d(b"QFI\xfb\0\0\0\x03", FormatChoice::Raw).unwrap(), Format::Raw);
        assert_eq!(d(b"\0\0\0\0", FormatChoice::Auto).unwrap(), Format::Raw);
        let e = d(b"\0\0\0\0", FormatChoice::Qcow2).unwrap_err().to_string();
        assert!(e.contains("not qcow2"), "{e}");
        let e = d(b"KDMV\x01", FormatChoice::Auto).unwrap_err().to_string();
        assert!(e.contains("VMDK") && e.contains("format = \"raw\""), "{e}");
        assert_eq!(d(b"KDMV\x01", FormatChoice::Raw).unwrap(), Format::Raw);
        let mut vdi = vec![0u8; 0x48];
        vdi[0x40..0x44].copy_from_slice(&0xbeda_107fu32.to_le_bytes());
        assert!(d(&vdi, FormatChoice::Auto)
            .unwrap_err()
            .to_string()
            .contains("VDI"));
    }

    #[test]
    fn checksums_compare() {
        let c = Checksum::parse("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")
            .unwrap();
        let h = Hasher::new(Algorithm::Sha256);
        assert_eq!(compare(&c, h.hex(), "x").unwrap(), format!("{c}"));
        let e = compare(&c, "00".repeat(32), "x").unwrap_err().to_string();
        assert!(e.contains(&c.hex) && e.contains(&"00".repeat(32)), "{e}");
    }
}

#[cfg(test)]
mod bound_tests {
    use std::io::Write;
    use std::process::Command;

    use super::*;
    use crate::image::{Checksum, FormatChoice};

    /// A qcow2 image of `virtual_size` bytes made by qemu-img, read back.
    fn qcow2(dir: &Path, virtual_size: u64) -> Vec<u8> {
        let path = dir.join("disk.qcow2");
        let status = Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2"])
            .arg(&path)
            .arg(virtual_size.to_string())
            .status()
            .expect("qemu-img runs (it is on every machine of this project: scripts/install-deps)");
        assert!(status.success(), "qemu-img create failed");
        std::fs::read(path).expect("read the image")
    }

    fn gzip_to(path: &Path, parts: &[&[u8]]) {
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(path).expect("create"),
            flate2::Compression::fast(),
        );
        for p in parts {
            gz.write_all(p).expect("write");
        }
        gz.finish().expect("finish");
    }

    fn spec_of(path: &Path) -> Spec {
        Spec {
            location: Location::Path(path.to_path_buf()),
            format: FormatChoice::Auto,
            checksum: None::<Checksum>,
        }
    }

    /// A gzip-wrapped qcow2 header followed by far more bytes than a qcow2 file of its disk's
    /// size can hold (a decompression bomb's shape): the spool stops at the bound, naming it.
    #[test]
    fn a_spool_stops_at_the_bound_of_its_disk_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut img = qcow2(dir.path(), 1 << 20);
        img.resize(img.len().max(4096), 0);
        let filler = vec![0x5au8; 1 << 20];
        let bomb = dir.path().join("bomb.qcow2.gz");
        let mut parts: Vec<&[u8]> = vec![&img];
        let over = (spool_limit(1 << 20) >> 20) + 2;
        parts.extend(std::iter::repeat_n(filler.as_slice(), over as usize));
        gzip_to(&bomb, &parts);
        match open(&spec_of(&bomb), Some(8 << 20), &Cancel::never()) {
            Err(Error::SpoolLimit { limit, .. }) => assert_eq!(limit, spool_limit(1 << 20)),
            Err(e) => panic!("expected the spool limit, got {e}"),
            Ok(_) => panic!("expected the spool limit, the image opened"),
        }
    }

    /// A qcow2 whose disk is larger than the volume is refused from its header, before any of
    /// it is spooled; the same image fits a volume of its size.
    #[test]
    fn a_qcow2_larger_than_the_volume_is_refused_before_spooling() {
        let dir = tempfile::tempdir().expect("tempdir");
        let img = qcow2(dir.path(), 64 << 20);
        let gz = dir.path().join("disk.qcow2.gz");
        gzip_to(&gz, &[&img]);
        match open(&spec_of(&gz), Some(1 << 20), &Cancel::never()) {
            Err(Error::TooLarge {
                virtual_size,
                capacity,
                ..
            }) => {
                assert_eq!((virtual_size, capacity), (64 << 20, 1 << 20))
            }
            Err(e) => panic!("expected TooLarge, got {e}"),
            Ok(_) => panic!("expected TooLarge, the image opened"),
        }
        assert!(open(&spec_of(&gz), Some(64 << 20), &Cancel::never()).is_ok());
    }
}
