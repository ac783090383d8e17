//! Where a source's bytes go once they are hashed: a range of a disk or a file
//! ([`SlotWriter`]), or a folder a tar archive is unpacked into ([`tar_sink`]); in front of
//! either, [`Decompress`] looks at the first bytes as systemd-import and systemd-pull do and
//! decompresses xz, gzip, bzip2 and zstd streams on a second thread (`@s` is the decompressed
//! size; SHA256SUMS lists the file as served, so the hash is taken before this layer).
//!
//! A sink is fed the bytes of one source in order, across as many HTTP requests as the
//! download needs: a resumed transfer just goes on feeding it, so the decompressor and the tar
//! reader never see the seam.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

/// Bytes handed on per write by the helper threads.
const CHUNK: usize = 1 << 20;
/// Bytes needed to recognise every compression format (xz's magic).
const MAGIC_MAX: usize = 6;
/// The most memory the xz decoder may use (a stream that needs more is refused).
pub const XZ_MEMLIMIT: u64 = 256 << 20;
/// The largest zstd window accepted (128 MiB).
pub const ZSTD_WINDOW_LOG_MAX: u32 = 27;
/// The largest GNU long-name/long-link or PAX extension entry a tar archive may hold.
pub const TAR_META_MAX: u64 = 64 << 10;

/// A destination fed in order with the bytes of one source.
pub trait Sink: Send {
    fn write(&mut self, data: &[u8]) -> io::Result<()>;
    /// The source ended: flush, wait for helper threads. Bytes written to the destination.
    fn finish(self: Box<Self>) -> io::Result<u64>;
}

/// The destination is smaller than the data; carried inside an `io::Error`.
#[derive(Debug, thiserror::Error)]
#[error("{size} bytes do not fit the {limit} bytes available")]
pub struct TooLarge {
    pub size: u64,
    pub limit: u64,
}

/// The TooLarge inside an error from a sink, if that is what it is.
pub fn too_large(e: &io::Error) -> Option<&TooLarge> {
    e.get_ref().and_then(|i| i.downcast_ref::<TooLarge>())
}

/// Positional writes into `file` from `base`, never past `base + limit`.
pub struct SlotWriter {
    file: File,
    base: u64,
    limit: u64,
    pos: u64,
}

impl SlotWriter {
    pub fn new(file: File, base: u64, limit: u64) -> SlotWriter {
        SlotWriter { file, base, limit, pos: 0 }
    }
}

impl Sink for SlotWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        let end = self.pos + data.len() as u64;
        if end > self.limit {
            return Err(io::Error::other(TooLarge { size: end, limit: self.limit }));
        }
        self.file
            .write_all_at(data, self.base + self.pos)
            .map_err(|e| io::Error::new(e.kind(), format!("writing at byte {}: {e}", self.base + self.pos)))?;
        self.pos = end;
        Ok(())
    }

    fn finish(self: Box<Self>) -> io::Result<u64> {
        self.file.sync_data()?;
        Ok(self.pos)
    }
}

/// The compressions systemd-import/-pull recognise by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Xz,
    Gzip,
    Bzip2,
    Zstd,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::Xz => "xz",
            Compression::Gzip => "gzip",
            Compression::Bzip2 => "bzip2",
            Compression::Zstd => "zstd",
        })
    }
}

/// systemd's `import_uncompress_detect()` (zstd since v256).
pub fn detect(head: &[u8]) -> Option<Compression> {
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(Compression::Xz)
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Some(Compression::Gzip)
    } else if head.starts_with(b"BZh") {
        Some(Compression::Bzip2)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Compression::Zstd)
    } else {
        None
    }
}

/// A helper thread reading from a pipe that `write` fills.
struct Piped {
    tx: Option<io::PipeWriter>,
    handle: Option<JoinHandle<io::Result<u64>>>,
}

impl Piped {
    fn spawn(name: &str, f: impl FnOnce(io::PipeReader) -> io::Result<u64> + Send + 'static) -> io::Result<Piped> {
        let (rx, tx) = io::pipe()?;
        // a larger pipe means fewer wake-ups; the default 64 KiB works too
        // SAFETY: F_SETPIPE_SZ takes an int argument and touches no memory of ours.
        let _ = unsafe { libc::fcntl(tx.as_raw_fd(), libc::F_SETPIPE_SZ, CHUNK as libc::c_int) };
        let handle = std::thread::Builder::new().name(name.into()).spawn(move || f(rx))?;
        Ok(Piped { tx: Some(tx), handle: Some(handle) })
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        let Some(tx) = self.tx.as_mut() else { return Err(io::Error::other("written after the end")) };
        match tx.write_all(data) {
            Ok(()) => Ok(()),
            // the reader stopped early: its error is the one that says why
            Err(e) => match self.join() {
                Err(inner) => Err(inner),
                Ok(_) => Err(io::Error::new(e.kind(), format!("data after the end of the stream: {e}"))),
            },
        }
    }

    fn join(&mut self) -> io::Result<u64> {
        self.tx = None; // end of input for the reader
        match self.handle.take() {
            Some(h) => h.join().unwrap_or_else(|_| Err(io::Error::other("a helper thread panicked"))),
            None => Err(io::Error::other("the helper thread already ended")),
        }
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

enum State {
    /// Waiting for the first bytes.
    Sniffing {
        head: Vec<u8>,
        inner: Box<dyn Sink>,
    },
    Plain(Box<dyn Sink>),
    Piped(Piped),
    Gone,
}

/// Decompresses what starts with a compression's magic, passes anything else through.
pub struct Decompress {
    state: State,
    found: Option<Compression>,
}

impl Decompress {
    pub fn new(inner: Box<dyn Sink>) -> Decompress {
        Decompress { state: State::Sniffing { head: Vec::new(), inner }, found: None }
    }

    /// Leaves the sniffing state, choosing by `head`.
    fn choose(&mut self, head: &[u8]) -> io::Result<()> {
        let State::Sniffing { inner, .. } = std::mem::replace(&mut self.state, State::Gone) else { return Ok(()) };
        self.found = detect(head);
        self.state = match self.found {
            None => State::Plain(inner),
            Some(kind) => State::Piped(Piped::spawn("imprint-unpack", move |rx| decode(kind, rx, inner))?),
        };
        Ok(())
    }

    fn pass(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        match &mut self.state {
            State::Plain(s) => s.write(data),
            State::Piped(p) => p.write(data),
            _ => Err(io::Error::other("written after the end")),
        }
    }
}

impl Sink for Decompress {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if let State::Sniffing { head, .. } = &mut self.state {
            if head.is_empty() && data.len() >= MAGIC_MAX {
                // the usual case: the first chunk decides, and is written as it came (aligned)
                self.choose(data)?;
                return self.pass(data);
            }
            let take = (MAGIC_MAX - head.len()).min(data.len());
            head.extend_from_slice(&data[..take]);
            if head.len() < MAGIC_MAX {
                return Ok(());
            }
            let head = std::mem::take(head);
            self.choose(&head)?;
            self.pass(&head)?;
            return self.pass(&data[take..]);
        }
        self.pass(data)
    }

    fn finish(mut self: Box<Self>) -> io::Result<u64> {
        if let State::Sniffing { head, .. } = &mut self.state {
            let head = std::mem::take(head);
            self.choose(&head)?;
            self.pass(&head)?;
        }
        match std::mem::replace(&mut self.state, State::Gone) {
            State::Plain(s) => s.finish(),
            State::Piped(mut p) => p.join(),
            _ => Err(io::Error::other("finished twice")),
        }
    }
}

/// The decompressing thread: reads the compressed stream from the pipe, writes to `inner`.
fn decode(kind: Compression, rx: io::PipeReader, mut inner: Box<dyn Sink>) -> io::Result<u64> {
    let rx = BufReader::with_capacity(CHUNK, rx);
    // Every decoder's memory is bounded: xz by a limit the stream must stay under (xz -9e needs
    // 65 MiB), zstd by its largest window (2^27, as zstd's own default); gzip and bzip2 use a
    // fixed amount.
    let mut r: Box<dyn Read> = match kind {
        Compression::Xz => {
            let stream = xz2::stream::Stream::new_stream_decoder(XZ_MEMLIMIT, xz2::stream::CONCATENATED)
                .map_err(|e| io::Error::other(format!("starting the xz decoder: {e}")))?;
            Box::new(xz2::bufread::XzDecoder::new_stream(rx, stream))
        }
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(rx)),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(rx)),
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::with_buffer(rx)?;
            d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            Box::new(d)
        }
    };
    let mut buf = vec![0u8; CHUNK];
    loop {
        let mut n = 0;
        while n < buf.len() {
            match r.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io::Error::new(e.kind(), format!("{kind} data is damaged: {e}"))),
            }
        }
        if n == 0 {
            break;
        }
        inner.write(&buf[..n])?;
    }
    inner.finish()
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

struct TarSink(Piped);

impl Sink for TarSink {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write(data)
    }

    fn finish(mut self: Box<Self>) -> io::Result<u64> {
        self.0.join()
    }
}

/// Unpacks a tar stream into `dir` (made by the tar reader; its parent should be a folder only
/// root can enter, so nothing unpacked is usable before the hash matched), as
/// `systemd-pull tar --direct` does: modes, times, xattrs and (as root) owners kept. Refused,
/// before anything of them is written: entries that would land outside `dir` (including hard
/// links), device nodes and FIFOs, GNU sparse files, long-name and PAX extension entries over
/// [`TAR_META_MAX`], and entries announcing more than `cap` bytes in all.
pub fn tar_sink(dir: &Path, cap: u64) -> io::Result<Box<dyn Sink>> {
    let dir: PathBuf = dir.to_path_buf();
    let p = Piped::spawn("imprint-untar", move |rx| {
        let mut counted = Counted { inner: TarGuard::new(BufReader::with_capacity(CHUNK, rx), cap), n: 0 };
        {
            let mut a = tar::Archive::new(&mut counted);
            a.set_preserve_permissions(true);
            a.set_preserve_mtime(true);
            a.set_preserve_ownerships(nix::unistd::geteuid().is_root());
            a.set_unpack_xattrs(true);
            a.set_overwrite(false);
            let bad = |e: io::Error| io::Error::new(e.kind(), format!("unpacking the archive: {}", super::fetch::error_chain(&e)));
            std::fs::create_dir_all(&dir).map_err(bad)?;
            for entry in a.entries().map_err(bad)? {
                let mut e = entry.map_err(bad)?;
                let path = e.path().map_err(bad)?.display().to_string();
                use tar::EntryType as T;
                let refuse = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("unpacking the archive: {path}: {what}"));
                match e.header().entry_type() {
                    T::Regular | T::Continuous | T::Directory | T::Symlink | T::Link => {}
                    T::Char | T::Block => return Err(refuse("a device node; an update archive holds none")),
                    T::Fifo => return Err(refuse("a FIFO; an update archive holds none")),
                    T::GNUSparse => return Err(refuse("a GNU sparse file, which imprint does not unpack")),
                    other => return Err(refuse(&format!("an entry of type {:?}, which imprint does not unpack", other.as_byte() as char))),
                }
                let unpacked = e.unpack_in(&dir).map_err(|err| {
                    io::Error::new(err.kind(), format!("unpacking the archive: {path}: {}", super::fetch::error_chain(&err)))
                })?;
                if !unpacked {
                    return Err(refuse("its path leads outside the target folder"));
                }
            }
        }
        // the zero blocks after the end, so the writer never sees a closed pipe
        io::copy(&mut counted, &mut io::sink())?;
        Ok(counted.n)
    })?;
    Ok(Box::new(TarSink(p)))
}

/// Watches the 512-byte blocks of a tar stream on their way to the tar reader: refuses, before
/// the tar reader sees them (and reads them whole into memory), GNU long-name/long-link and PAX
/// entries larger than [`TAR_META_MAX`], a global PAX header that sets a size, and entries that
/// announce more than `cap` bytes in all (a bomb that would fill the disk).
struct TarGuard<R> {
    inner: R,
    cap: u64,
    announced: u64,
    state: Guard,
    /// A `size=` from the PAX header of the next entry.
    pax_size: Option<u64>,
}

enum Guard {
    Header {
        buf: Box<[u8; 512]>,
        have: usize,
    },
    /// Data blocks of the current entry (padding included); `meta` collects a PAX header's.
    Data {
        left: u64,
        meta: Option<(u8, Vec<u8>, u64)>,
    },
    /// After the end-of-archive block.
    Trailer,
}

fn tar_number(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        // base-256 (GNU): the rest of the field, big-endian
        if field[0] != 0x80 || field[1..field.len() - 8].iter().any(|b| *b != 0) {
            return None;
        }
        return Some(u64::from_be_bytes(field[field.len() - 8..].try_into().ok()?));
    }
    let text: Vec<u8> = field.iter().copied().take_while(|b| *b != 0).filter(|b| *b != b' ').collect();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(std::str::from_utf8(&text).ok()?, 8).ok()
}

/// The `size=` record of PAX extended header data, if any.
fn pax_size(data: &[u8]) -> Result<Option<u64>, String> {
    let mut size = None;
    let mut rest = data;
    while !rest.is_empty() {
        let sp = rest.iter().position(|b| *b == b' ').ok_or("a PAX record without a length")?;
        let len: usize = std::str::from_utf8(&rest[..sp]).ok().and_then(|t| t.parse().ok()).ok_or("a PAX record length is not a number")?;
        if len <= sp || len > rest.len() {
            return Err("a PAX record's length is out of range".into());
        }
        let rec = &rest[sp + 1..len];
        if let Some(v) = rec.strip_prefix(b"size=") {
            let v = v.strip_suffix(b"\n").unwrap_or(v);
            size = Some(std::str::from_utf8(v).ok().and_then(|t| t.parse::<u64>().ok()).ok_or("a PAX size is not a number")?);
        }
        rest = &rest[len..];
    }
    Ok(size)
}

impl<R: Read> TarGuard<R> {
    fn new(inner: R, cap: u64) -> Self {
        TarGuard { inner, cap, announced: 0, state: Guard::Header { buf: Box::new([0; 512]), have: 0 }, pax_size: None }
    }

    fn header(&mut self, h: &[u8; 512]) -> Result<Guard, String> {
        if h.iter().all(|b| *b == 0) {
            return Ok(Guard::Trailer);
        }
        let kind = h[156];
        if kind == b'S' {
            let name = String::from_utf8_lossy(&h[..100]);
            return Err(format!("{}: a GNU sparse file, which imprint does not unpack", name.trim_end_matches('\0')));
        }
        let size = tar_number(&h[124..136]).ok_or("a tar header's size field is not a number")?;
        let blocks = |n: u64| n.div_ceil(512).checked_mul(512).ok_or("a tar entry size overflows");
        match kind {
            b'L' | b'K' | b'x' | b'g' => {
                if size > TAR_META_MAX {
                    return Err(format!("a tar extension entry of {size} bytes (the most accepted is {TAR_META_MAX})"));
                }
                Ok(Guard::Data { left: blocks(size)?, meta: Some((kind, Vec::new(), size)) })
            }
            _ => {
                let size = self.pax_size.take().unwrap_or(size);
                self.announced = self.announced.checked_add(size).ok_or("tar entry sizes overflow")?;
                if self.announced > self.cap {
                    return Err(format!("the archive's entries hold more than the {} bytes there is room for", self.cap));
                }
                // every entry is followed by its size in data blocks, whatever its type (as the
                // tar reader skips them)
                Ok(if size == 0 {
                    Guard::Header { buf: Box::new([0; 512]), have: 0 }
                } else {
                    Guard::Data { left: blocks(size)?, meta: None }
                })
            }
        }
    }

    /// Walks `bytes` (just read) through the block structure.
    fn watch(&mut self, mut bytes: &[u8]) -> Result<(), String> {
        while !bytes.is_empty() {
            match &mut self.state {
                Guard::Trailer => return Ok(()),
                Guard::Header { buf, have } => {
                    let k = (512 - *have).min(bytes.len());
                    buf[*have..*have + k].copy_from_slice(&bytes[..k]);
                    *have += k;
                    bytes = &bytes[k..];
                    if *have == 512 {
                        let h = **buf;
                        self.state = self.header(&h)?;
                    }
                }
                Guard::Data { left, meta } => {
                    let k = (*left).min(bytes.len() as u64) as usize;
                    if let Some((_, data, size)) = meta {
                        let want = (*size as usize).saturating_sub(data.len()).min(k);
                        data.extend_from_slice(&bytes[..want]);
                    }
                    *left -= k as u64;
                    bytes = &bytes[k..];
                    if *left == 0 {
                        if let Some((kind, data, _)) = meta.take() {
                            let size = pax_size(&data)?;
                            match kind {
                                b'x' => self.pax_size = size,
                                b'g' if size.is_some() => return Err("a global PAX header that sets a size".into()),
                                _ => {}
                            }
                        }
                        self.state = Guard::Header { buf: Box::new([0; 512]), have: 0 };
                    }
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.watch(&buf[..n]).map_err(|why| io::Error::new(io::ErrorKind::InvalidData, why))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(len: u64) -> (tempfile::NamedTempFile, Box<dyn Sink>) {
        let t = tempfile::NamedTempFile::new().unwrap();
        let f = File::options().read(true).write(true).open(t.path()).unwrap();
        (t, Box::new(SlotWriter::new(f, 0, len)))
    }

    fn feed(mut s: Box<dyn Sink>, data: &[u8], step: usize) -> io::Result<u64> {
        for c in data.chunks(step) {
            s.write(c)?;
        }
        s.finish()
    }

    fn sample() -> Vec<u8> {
        (0..300_000u32).flat_map(|i| (i * 7919 % 251).to_le_bytes()).collect()
    }

    fn compressed(kind: Compression, data: &[u8]) -> Vec<u8> {
        match kind {
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Xz => {
                let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Bzip2 => {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Zstd => zstd::encode_all(data, 1).unwrap(),
        }
    }

    #[test]
    fn every_compression_is_recognised_and_undone_whatever_the_chunking() {
        let data = sample();
        for kind in [Compression::Xz, Compression::Gzip, Compression::Bzip2, Compression::Zstd] {
            let c = compressed(kind, &data);
            assert_eq!(detect(&c), Some(kind));
            for step in [1, 5, 4096, 1 << 20] {
                let (t, s) = slot(data.len() as u64);
                let n = feed(Box::new(Decompress::new(s)), &c, step).unwrap();
                assert_eq!(n, data.len() as u64, "{kind} step {step}");
                assert_eq!(std::fs::read(t.path()).unwrap(), data, "{kind} step {step}");
            }
        }
    }

    #[test]
    fn plain_data_passes_through_even_when_shorter_than_a_magic() {
        for data in [b"abc".to_vec(), sample()] {
            let (t, s) = slot(1 << 30);
            assert_eq!(feed(Box::new(Decompress::new(s)), &data, 2).unwrap(), data.len() as u64);
            assert_eq!(std::fs::read(t.path()).unwrap(), data);
        }
    }

    #[test]
    fn decompressed_size_is_held_to_the_limit() {
        let data = sample();
        let (_t, s) = slot(data.len() as u64 - 1);
        let e = feed(Box::new(Decompress::new(s)), &compressed(Compression::Zstd, &data), 4096).unwrap_err();
        let tl = too_large(&e).expect("TooLarge");
        assert_eq!(tl.limit, data.len() as u64 - 1);
    }

    #[test]
    fn damaged_compressed_data_is_an_error() {
        let mut c = compressed(Compression::Gzip, &sample());
        let n = c.len();
        c.truncate(n / 2);
        let (_t, s) = slot(1 << 30);
        let e = feed(Box::new(Decompress::new(s)), &c, 4096).unwrap_err();
        assert!(e.to_string().contains("gzip"), "{e}");
    }

    #[test]
    fn tar_streams_unpack_and_stay_inside() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o640);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        b.append_data(&mut h, "etc/hello", &b"hello"[..]).unwrap();
        let archive = b.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let s = Box::new(Decompress::new(tar_sink(dir.path(), 1 << 30).unwrap()));
        let n = feed(s, &compressed(Compression::Xz, &archive), 777).unwrap();
        assert_eq!(n, archive.len() as u64);
        assert_eq!(std::fs::read(dir.path().join("etc/hello")).unwrap(), b"hello");
        use std::os::unix::fs::PermissionsExt;
        let md = std::fs::metadata(dir.path().join("etc/hello")).unwrap();
        assert_eq!(md.permissions().mode() & 0o777, 0o640);

        // a path climbing out is refused, nothing lands beside the folder
        let mut raw = vec![0u8; 512];
        let name = b"../escape";
        raw[..name.len()].copy_from_slice(name);
        let mut h = tar::Header::from_byte_slice(&raw).clone();
        h.set_size(1);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        let mut evil = h.as_bytes().to_vec();
        evil.extend_from_slice(&[b'x'; 512]);
        evil.extend_from_slice(&[0u8; 1024]);
        let inner = tempfile::tempdir().unwrap();
        let target = inner.path().join("t");
        std::fs::create_dir(&target).unwrap();
        let r = feed(tar_sink(&target, 1 << 30).unwrap(), &evil, 512);
        assert!(!inner.path().join("escape").exists(), "{r:?}");
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0, "{r:?}");
    }
}
