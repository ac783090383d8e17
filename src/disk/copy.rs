//! The block copy: CopyBlocks= semantics, near the machine's limit.
//!
//! One reader thread walks the source's data segments (SEEK_DATA/SEEK_HOLE, so holes in a sparse
//! image are never read), hasher threads (one per CPU, up to [`MAX_HASHERS`]) hash every 4 KiB
//! block as dm-verity does (an all-zero block uses a precomputed hash), and the calling thread
//! puts the chunks back in order, writes, skipping all-zero blocks, and starts the write-out of
//! what it wrote at once, so the disk works while the copy goes on and the final fsync has
//! little left to wait for. All run overlapped on a small pool of reused 4 MiB buffers. The
//! target range must read back as zeroes before the copy (see [`super::zero_range`]); that is
//! what makes skipping zero blocks correct and keeps a sparse target sparse.
//!
//! The digest of a range is SHA-256 over the concatenated per-block hashes, so the same bytes
//! give the same digest whether they were read from data, from holes or from zeroes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

pub const BLOCK: usize = 4096;
pub const CHUNK: usize = 4 << 20;
const BUFFERS: usize = 6;
/// At most this many threads hash one copy.
const MAX_HASHERS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the source is truncated: {needed} bytes are needed up to offset {end}, it has {have}")]
    Truncated { needed: u64, end: u64, have: u64 },
    #[error("reading the source at offset {offset}: {source}")]
    Read { offset: u64, source: io::Error },
    #[error("writing the target at offset {offset}: {source}")]
    Write { offset: u64, source: io::Error },
    #[error("interrupted")]
    Interrupted,
}

/// What a copy or a read-back saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeDigest {
    pub digest: [u8; 32],
    pub len: u64,
    /// Per-block hashes, kept only when asked for (dm-verity checks).
    pub block_hashes: Option<Vec<[u8; 32]>>,
    /// Bytes read from the source (holes are not read).
    pub bytes_read: u64,
    /// Bytes written to the target (zero blocks are not written).
    pub bytes_written: u64,
}

impl RangeDigest {
    pub fn hex(&self) -> String {
        hex(&self.digest)
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The per-block hash `H(salt || block)`, shared by the threads that hash one range.
#[derive(Clone)]
struct UnitHash {
    salt: Vec<u8>,
    block: usize,
    zero_hash: [u8; 32],
}

impl UnitHash {
    fn new(salt: &[u8], block: usize) -> Self {
        assert!(block.is_power_of_two() && (512..=BLOCK).contains(&block), "block size {block}");
        UnitHash { salt: salt.to_vec(), block, zero_hash: BlockHasher::hash_one(salt, &vec![0u8; block]) }
    }

    /// One block; a final partial block is padded with zeroes.
    fn hash(&self, block: &[u8]) -> [u8; 32] {
        if is_zero(block) {
            self.zero_hash
        } else if block.len() == self.block {
            BlockHasher::hash_one(&self.salt, block)
        } else {
            let mut padded = vec![0u8; self.block];
            padded[..block.len()].copy_from_slice(block);
            BlockHasher::hash_one(&self.salt, &padded)
        }
    }

    /// The hashes of the blocks of `buf`, in order.
    fn hash_all(&self, buf: &[u8]) -> Vec<[u8; 32]> {
        buf.chunks(self.block).map(|b| self.hash(b)).collect()
    }
}

/// Hashes blocks in order: `H(salt || block)` per block, then SHA-256 over those.
pub struct BlockHasher {
    unit: UnitHash,
    outer: Sha256,
    keep: Option<Vec<[u8; 32]>>,
    len: u64,
}

impl BlockHasher {
    /// `block` is the hashing unit: 4096, or the data block size of a dm-verity tree (a power
    /// of two from 512 to 4096).
    pub fn new(salt: &[u8], keep: bool, block: usize) -> Self {
        BlockHasher { unit: UnitHash::new(salt, block), outer: Sha256::new(), keep: keep.then(Vec::new), len: 0 }
    }

    /// `H(salt || block)`: a dm-verity hash.
    pub fn hash_one(salt: &[u8], block: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(salt);
        h.update(block);
        let mut out = [0u8; 32];
        out.copy_from_slice(&h.finalize());
        out
    }

    fn push(&mut self, h: [u8; 32]) {
        self.outer.update(h);
        if let Some(k) = self.keep.as_mut() {
            k.push(h);
        }
    }

    /// Data whose length is a multiple of 512; a final partial block is padded with zeroes.
    pub fn data(&mut self, buf: &[u8]) {
        for block in buf.chunks(self.unit.block) {
            let h = self.unit.hash(block);
            self.push(h);
        }
        self.len += buf.len() as u64;
    }

    /// `len` bytes whose per-block hashes another thread made with [`UnitHash::hash_all`].
    fn hashed(&mut self, hashes: &[[u8; 32]], len: u64) {
        for h in hashes {
            self.push(*h);
        }
        self.len += len;
    }

    /// `len` bytes of zeroes (a hole), block-aligned except possibly at the very end.
    pub fn zeros(&mut self, len: u64) {
        let blocks = len.div_ceil(self.unit.block as u64);
        for _ in 0..blocks {
            let z = self.unit.zero_hash;
            self.push(z);
        }
        self.len += len;
    }

    pub fn finish(self) -> ([u8; 32], u64, Option<Vec<[u8; 32]>>) {
        let mut d = [0u8; 32];
        d.copy_from_slice(&self.outer.finalize());
        (d, self.len, self.keep)
    }
}

/// Whether a buffer is all zeroes (word at a time).
pub fn is_zero(buf: &[u8]) -> bool {
    let (pre, mid, post) = unsafe { buf.align_to::<u128>() };
    pre.iter().all(|&b| b == 0) && mid.iter().all(|&w| w == 0) && post.iter().all(|&b| b == 0)
}

/// The data segments of `[offset, offset+len)` relative to `offset`, block-aligned; the whole
/// range when the file cannot tell (block devices).
pub fn data_segments(f: &File, offset: u64, len: u64) -> Vec<(u64, u64)> {
    let fd = f.as_raw_fd();
    let end = offset + len;
    let mut segs = Vec::new();
    let mut pos = offset;
    while pos < end {
        // SAFETY: lseek on an owned, open descriptor; we restore nothing since we use pread.
        let data = unsafe { libc::lseek(fd, pos as libc::off_t, libc::SEEK_DATA) };
        if data < 0 {
            let err = io::Error::last_os_error().raw_os_error();
            if err == Some(libc::ENXIO) {
                break; // no more data
            }
            return vec![(0, len)]; // not supported: treat everything as data
        }
        let data = data as u64;
        if data >= end {
            break;
        }
        let hole = unsafe { libc::lseek(fd, data as libc::off_t, libc::SEEK_HOLE) };
        let hole = if hole < 0 { end } else { (hole as u64).min(end) };
        let b = BLOCK as u64;
        let s = (data - offset) / b * b;
        let e = ((hole - offset).div_ceil(b) * b).min(len);
        match segs.last_mut() {
            Some((ls, ll)) if *ls + *ll >= s => *ll = e.max(*ls + *ll) - *ls,
            _ => segs.push((s, e - s)),
        }
        pos = hole;
    }
    segs
}

enum Msg {
    Data { rel: u64, buf: Vec<u8>, len: usize },
    Hole { len: u64 },
    Err(CopyError),
}

/// Reads `[offset, offset+len)` of `src` as messages, in order, on the caller's thread.
fn read_range(src: &File, offset: u64, len: u64, cancel: &AtomicBool, free: &Receiver<Vec<u8>>, out: &SyncSender<Msg>) {
    read_range_filling(src, offset, len, cancel, free, out, false)
}

/// Sends `[from, to)` (a hole) as zero-filled data chunks, for the hashers to encrypt.
fn send_zeros(from: u64, to: u64, cancel: &AtomicBool, free: &Receiver<Vec<u8>>, out: &SyncSender<Msg>) -> bool {
    let mut pos = from;
    while pos < to {
        if cancel.load(Ordering::Relaxed) {
            let _ = out.send(Msg::Err(CopyError::Interrupted));
            return false;
        }
        let Ok(mut buf) = free.recv() else { return false };
        let n = (CHUNK as u64).min(to - pos) as usize;
        buf[..n].fill(0);
        if out.send(Msg::Data { rel: pos, buf, len: n }).is_err() {
            return false;
        }
        pos += n as u64;
    }
    true
}

/// With `fill`, holes are sent as zero-filled chunks instead of [`Msg::Hole`] (for a transform:
/// what a hole becomes is not zero, and the hashers transform the chunks in parallel).
fn read_range_filling(src: &File, offset: u64, len: u64, cancel: &AtomicBool, free: &Receiver<Vec<u8>>, out: &SyncSender<Msg>, fill: bool) {
    let mut at = 0u64;
    for (s, l) in data_segments(src, offset, len) {
        if s > at {
            let ok = if fill { send_zeros(at, s, cancel, free, out) } else { out.send(Msg::Hole { len: s - at }).is_ok() };
            if !ok {
                return;
            }
        }
        let mut pos = s;
        while pos < s + l {
            if cancel.load(Ordering::Relaxed) {
                let _ = out.send(Msg::Err(CopyError::Interrupted));
                return;
            }
            let Ok(mut buf) = free.recv() else { return };
            let n = (CHUNK as u64).min(s + l - pos) as usize;
            if let Err(e) = src.read_exact_at(&mut buf[..n], offset + pos) {
                let have = super::device_size(src).unwrap_or(0);
                let err = if e.kind() == io::ErrorKind::UnexpectedEof {
                    CopyError::Truncated { needed: len, end: offset + len, have }
                } else {
                    CopyError::Read { offset: offset + pos, source: e }
                };
                let _ = out.send(Msg::Err(err));
                return;
            }
            if out.send(Msg::Data { rel: pos, buf, len: n }).is_err() {
                return;
            }
            pos += n as u64;
        }
        at = s + l;
    }
    if at < len {
        if fill {
            send_zeros(at, len, cancel, free, out);
        } else {
            let _ = out.send(Msg::Hole { len: len - at });
        }
    }
}

/// A pool of reused read buffers: take with `recv`, give back with `send`.
fn buffer_pool(n: usize) -> (SyncSender<Vec<u8>>, Receiver<Vec<u8>>) {
    let (tx, rx) = sync_channel::<Vec<u8>>(n);
    for _ in 0..n {
        tx.send(vec![0u8; CHUNK]).expect("pool has room");
    }
    (tx, rx)
}

/// Checks that `src` holds `[offset, offset+len)`.
fn check_source_size(src: &File, offset: u64, len: u64) -> Result<(), CopyError> {
    let have = super::device_size(src).map_err(|e| CopyError::Read { offset, source: e })?;
    if have < offset + len {
        return Err(CopyError::Truncated { needed: len, end: offset + len, have });
    }
    Ok(())
}

/// Where bytes live: a file or device and an offset in it.
#[derive(Clone, Copy)]
pub struct At<'a> {
    pub file: &'a File,
    pub offset: u64,
}

/// How blocks are hashed: `H(salt || block)`, the per-block hashes kept for dm-verity checks.
#[derive(Clone, Copy, Default)]
pub struct Hashing<'a> {
    pub salt: &'a [u8],
    pub keep: bool,
    /// The hashing unit in bytes; 0 means 4096.
    pub block: usize,
    /// Hash nothing (the digest is all zeroes): for copies nobody checks, such as a file system
    /// just made in a scratch file, where hashing the holes of a large partition would cost more
    /// than the copy.
    pub skip: bool,
}

impl Hashing<'_> {
    /// No hashing at all.
    pub fn none() -> Self {
        Hashing { skip: true, ..Hashing::default() }
    }

    fn unit(&self) -> usize {
        if self.block == 0 { BLOCK } else { self.block }
    }
}

/// Rewrites data on its way to the target (encryption), given the byte offset of `buf` within
/// the copied range. With a transform every data block is written, zeroes too, since what they
/// become is not zero; holes too unless [`Transform::writes_holes`] says otherwise.
pub trait Transform: Sync {
    fn apply(&self, buf: &mut [u8], offset: u64);
    /// Whether the source's holes are transformed and written like zeroes (the default), or left
    /// unwritten on the target (for a source whose holes were never written: a new file system
    /// made in a scratch file, where nothing relies on what a hole reads back as).
    fn writes_holes(&self) -> bool {
        true
    }
}

/// Copies `len` bytes from `from` to `to`. `progress` gets the bytes done so far (holes count
/// as done).
pub fn copy_range(
    from: At,
    len: u64,
    to: At,
    hashing: Hashing,
    transform: Option<&dyn Transform>,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<RangeDigest, CopyError> {
    let (src, src_offset, dst, dst_offset) = (from.file, from.offset, to.file, to.offset);
    check_source_size(src, src_offset, len)?;
    let hashers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_HASHERS);
    let (free_tx, free_rx) = buffer_pool(BUFFERS + hashers);
    let (read_tx, read_rx) = sync_channel::<Msg>(BUFFERS);
    // The hashers share the reader's queue and number what they take under its lock, which is
    // the reader's order. The queue is dropped when the last hasher stops, unblocking the reader.
    let read_rx = Arc::new(Mutex::new((read_rx, 0u64)));
    // unbounded, but the data messages in it are bounded by the buffer pool
    let (hash_tx, hash_rx) = channel::<(u64, Msg, Vec<[u8; 32]>)>();
    let unit = UnitHash::new(hashing.salt, hashing.unit());
    let mut h = BlockHasher::new(hashing.salt, hashing.keep, hashing.unit());
    let (read, written) = std::thread::scope(|scope| {
        let fill = transform.is_some_and(|t| t.writes_holes());
        scope.spawn(move || read_range_filling(src, src_offset, len, cancel, &free_rx, &read_tx, fill));
        for _ in 0..hashers {
            let (read_rx, hash_tx, unit) = (Arc::clone(&read_rx), hash_tx.clone(), unit.clone());
            scope.spawn(move || {
                loop {
                    let (seq, msg) = {
                        let mut q = read_rx.lock().expect("no hasher panics holding the queue");
                        let Ok(msg) = q.0.recv() else { break };
                        q.1 += 1;
                        (q.1 - 1, msg)
                    };
                    let mut msg = msg;
                    let hashes = match &mut msg {
                        Msg::Data { buf, len, rel } => {
                            let h = if hashing.skip { Vec::new() } else { unit.hash_all(&buf[..*len]) };
                            if let Some(t) = transform {
                                t.apply(&mut buf[..*len], *rel);
                            }
                            h
                        }
                        _ => Vec::new(),
                    };
                    if hash_tx.send((seq, msg, hashes)).is_err() {
                        break;
                    }
                }
            });
        }
        drop((read_rx, hash_tx));
        let mut done = 0u64;
        let mut written = 0u64;
        let mut read = 0u64;
        let mut pending = BTreeMap::new();
        let mut next = 0u64;
        let mut result: Result<(), CopyError> = Ok(());
        'recv: for (seq, msg, hashes) in hash_rx.iter() {
            pending.insert(seq, (msg, hashes));
            while let Some((msg, hashes)) = pending.remove(&next) {
                next += 1;
                match msg {
                    Msg::Data { rel, buf, len } => {
                        if !hashing.skip {
                            h.hashed(&hashes, len as u64);
                        }
                        read += len as u64;
                        let w = match transform {
                            Some(_) => write_all(dst, dst_offset + rel, &buf[..len]),
                            None => write_nonzero(dst, dst_offset + rel, &buf[..len]),
                        };
                        match w {
                            Ok(w) => written += w,
                            Err(e) => result = Err(e),
                        }
                        start_write_out(dst, dst_offset + rel, len as u64);
                        done += len as u64;
                        let _ = free_tx.send(buf);
                    }
                    Msg::Hole { len: hole } => {
                        if !hashing.skip {
                            h.zeros(hole);
                        }
                        if let Some(t) = transform
                            && t.writes_holes()
                        {
                            match write_transformed_zeros(dst, dst_offset, done, hole, t) {
                                Ok(w) => written += w,
                                Err(e) => result = Err(e),
                            }
                        }
                        done += hole;
                    }
                    Msg::Err(e) => result = Err(e),
                }
                if result.is_err() {
                    break 'recv;
                }
                progress(done);
            }
        }
        // unblock the reader and the hashers if we stopped early
        drop(hash_rx);
        drop(free_tx);
        result.map(|()| (read, written))
    })?;
    let (digest, hashed, hashes) = h.finish();
    debug_assert!(hashing.skip || hashed == len);
    let digest = if hashing.skip { [0u8; 32] } else { digest };
    Ok(RangeDigest { digest, len, block_hashes: hashes, bytes_read: read, bytes_written: written })
}

/// Starts writing `[offset, offset+len)` of `f` out to the disk, without waiting for it
/// (`SYNC_FILE_RANGE_WRITE` alone does not wait). A hint: an error shows in the fsync that
/// follows every copy.
fn start_write_out(f: &File, offset: u64, len: u64) {
    // SAFETY: sync_file_range on an open descriptor; no memory is passed.
    let _ = unsafe { libc::sync_file_range(f.as_raw_fd(), offset as libc::off64_t, len as libc::off64_t, libc::SYNC_FILE_RANGE_WRITE) };
}

fn write_all(dst: &File, offset: u64, buf: &[u8]) -> Result<u64, CopyError> {
    dst.write_all_at(buf, offset).map_err(|source| CopyError::Write { offset, source })?;
    start_write_out(dst, offset, buf.len() as u64);
    Ok(buf.len() as u64)
}

/// Writes `len` zero bytes at range offset `rel` through `t`.
fn write_transformed_zeros(dst: &File, dst_offset: u64, rel: u64, len: u64, t: &dyn Transform) -> Result<u64, CopyError> {
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    while done < len {
        let n = (CHUNK as u64).min(len - done) as usize;
        buf[..n].fill(0);
        t.apply(&mut buf[..n], rel + done);
        write_all(dst, dst_offset + rel + done, &buf[..n])?;
        done += n as u64;
    }
    Ok(len)
}

/// Writes the non-zero blocks of `buf` at `offset`, coalescing runs; returns bytes written.
fn write_nonzero(dst: &File, offset: u64, buf: &[u8]) -> Result<u64, CopyError> {
    let mut written = 0u64;
    let mut run_start: Option<usize> = None;
    let nblocks = buf.len().div_ceil(BLOCK);
    for i in 0..=nblocks {
        let nonzero = i < nblocks && !is_zero(&buf[i * BLOCK..((i + 1) * BLOCK).min(buf.len())]);
        match (nonzero, run_start) {
            (true, None) => run_start = Some(i * BLOCK),
            (false, Some(s)) => {
                let e = (i * BLOCK).min(buf.len());
                dst.write_all_at(&buf[s..e], offset + s as u64).map_err(|source| CopyError::Write { offset: offset + s as u64, source })?;
                written += (e - s) as u64;
                run_start = None;
            }
            _ => {}
        }
    }
    Ok(written)
}

/// Reads a range back and digests it the same way [`copy_range`] does.
pub fn digest_range(
    from: At,
    len: u64,
    hashing: Hashing,
    transform: Option<&dyn Transform>,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<RangeDigest, CopyError> {
    let (f, offset) = (from.file, from.offset);
    check_source_size(f, offset, len)?;
    let (free_tx, free_rx) = buffer_pool(BUFFERS);
    let (read_tx, read_rx) = sync_channel::<Msg>(BUFFERS);
    std::thread::scope(|scope| {
        scope.spawn(move || read_range(f, offset, len, cancel, &free_rx, &read_tx));
        let mut h = BlockHasher::new(hashing.salt, hashing.keep, hashing.unit());
        let mut done = 0u64;
        let mut read = 0u64;
        for msg in read_rx.iter() {
            match msg {
                Msg::Data { rel, mut buf, len } => {
                    if let Some(t) = transform {
                        t.apply(&mut buf[..len], rel);
                    }
                    h.data(&buf[..len]);
                    read += len as u64;
                    done += len as u64;
                    let _ = free_tx.send(buf);
                }
                Msg::Hole { len } => {
                    h.zeros(len);
                    done += len;
                }
                Msg::Err(e) => return Err(e),
            }
            progress(done);
        }
        drop(free_tx);
        let (digest, _, hashes) = h.finish();
        Ok(RangeDigest { digest, len, block_hashes: hashes, bytes_read: read, bytes_written: 0 })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_detection() {
        assert!(is_zero(&[0u8; 4096]));
        let mut b = vec![0u8; 4096];
        b[4095] = 1;
        assert!(!is_zero(&b));
        assert!(!is_zero(&b[1..]));
    }

    #[test]
    fn holes_and_zero_data_digest_alike() {
        let mut a = BlockHasher::new(&[], false, BLOCK);
        a.data(&[0u8; 3 * BLOCK]);
        let mut b = BlockHasher::new(&[], false, BLOCK);
        b.zeros(3 * BLOCK as u64);
        assert_eq!(a.finish().0, b.finish().0);
    }

    #[test]
    fn copy_skips_holes_and_zeroes_and_digests_match() {
        let dir = tempfile::tempdir().unwrap();
        let src = File::options().read(true).write(true).create(true).truncate(true).open(dir.path().join("s")).unwrap();
        src.set_len(64 << 20).unwrap();
        src.write_all_at(&[7u8; 10000], 1 << 20).unwrap();
        src.write_all_at(&[0u8; 8192], 8 << 20).unwrap(); // allocated zeroes
        src.write_all_at(&[9u8; 4096], 40 << 20).unwrap();
        let dst = File::options().read(true).write(true).create(true).truncate(true).open(dir.path().join("d")).unwrap();
        dst.set_len(128 << 20).unwrap();
        let cancel = AtomicBool::new(false);
        let mut last = 0;
        let d = copy_range(
            At { file: &src, offset: 0 },
            64 << 20,
            At { file: &dst, offset: 1 << 20 },
            Hashing::default(),
            None,
            &cancel,
            &mut |n| last = n,
        )
        .unwrap();
        assert_eq!(last, 64 << 20);
        assert!(d.bytes_written <= 3 * 4096 + 4096, "{}", d.bytes_written);
        let back = digest_range(At { file: &dst, offset: 1 << 20 }, 64 << 20, Hashing::default(), None, &cancel, &mut |_| {}).unwrap();
        assert_eq!(back.digest, d.digest);
        let mut buf = vec![0u8; 10000];
        dst.read_exact_at(&mut buf, 2 << 20).unwrap();
        assert_eq!(buf, vec![7u8; 10000]);
    }

    #[test]
    fn a_truncated_source_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let src = File::create(dir.path().join("s")).unwrap();
        src.set_len(1 << 20).unwrap();
        let src = File::open(dir.path().join("s")).unwrap();
        let dst = File::create(dir.path().join("d")).unwrap();
        let cancel = AtomicBool::new(false);
        let e =
            copy_range(At { file: &src, offset: 0 }, 2 << 20, At { file: &dst, offset: 0 }, Hashing::default(), None, &cancel, &mut |_| {})
                .unwrap_err();
        assert!(matches!(e, CopyError::Truncated { .. }), "{e}");
    }
}
