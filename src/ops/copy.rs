//! The offline merge's copy engine: every exception of a snapshot's COW
//! copied back to its origin chunk with large, coalesced, aligned direct
//! I/O, several requests in flight, in bounded memory; then the origin is
//! made durable. Touches disks (the PVs, through `LvIo`); no kernel, no
//! metadata. `offline.rs` runs it between the two metadata commits.
//!
//! # Crash safety
//!
//! The engine never writes the COW and writes the origin only at the
//! chunks that have an exception, with those exceptions' own bytes. It
//! runs after the merge flag (`merging_store`) is committed and before
//! the commit that removes the snapshot, on an origin that no device
//! holds. So, whatever instant the power goes:
//!
//! * before the flag's commit: nothing has been written; the snapshot is
//!   a plain snapshot, as before the command;
//! * between the two commits (during the copy, or before its flush): the
//!   metadata says "merging" and the COW is exactly as the kernel left it,
//!   every exception in place. The next activation (rlvm's or LVM2's)
//!   loads `snapshot-merge`, whose constructor reads those exceptions
//!   (dm-snap-persistent.c `read_exceptions`): from then on the origin
//!   device reads every excepted chunk from the COW, and the kernel's
//!   merge copies each one to the origin again. Chunks the engine had
//!   written, in full, in part or not at all, are overwritten with the
//!   same COW bytes; chunks without an exception were never touched and
//!   are the origin's own. The result is the kernel merge's, byte for byte;
//! * after the removal's commit: the origin was flushed (fdatasync of
//!   every PV written, a cache flush like the kernel's
//!   `blkdev_issue_flush` before `commit_merge`) before that commit began,
//!   so every chunk is durable, and the metadata names a plain origin.
//!
//! Gap filling: two runs of exception chunks a short gap apart (at most
//! `GAP_FILL_BYTES`, e.g. every other 4 KiB block changed) are written as
//! one request: the gap is read from the origin first and written back
//! with the bytes it was just read with. That is the one write of chunks
//! without an exception, and it changes no byte: no device holds the
//! origin and the command holds the VG's lock, so nothing else writes
//! those chunks between the read and the write, and a write cut by the
//! power leaves each sector with its old or its new bytes, which are the
//! same. The argument above stands as it is: every chunk without an
//! exception keeps the origin's own bytes.
//!
//! Nothing here depends on the order of the writes, so they may run in
//! parallel and out of order. The kernel's merge instead shrinks the COW
//! after each run (`commit_merge`), which is what makes it slow: a flush
//! and a metadata write per run of chunks.
//!
//! # I/O
//!
//! Exceptions sorted by origin chunk are cut into batches of at most
//! `batch_bytes`, laid out in a buffer in origin order. A batch reads its
//! chunks in COW order with `preadv` straight into their places in the
//! buffer (COW-consecutive chunks in one call; gaps of a few chunks, such
//! as a metadata area between two data runs, read into scratch so the
//! call goes on), then writes each run of origin-consecutive chunks with
//! one `pwrite`. `threads` workers each own one batch buffer: that many
//! requests are in flight and memory is `threads * 2 * batch_bytes` (the
//! batch and the span a gap-filled write goes through, each rounded up
//! to whole 2 MiB huge pages) plus scratch. Threads rather than io_uring:
//! each request is large (MiBs), so the per-request cost io_uring saves
//! is negligible, and threads need no new dependency or kernel feature
//! (measured: scripts/bench-offline-merge.sh). What the per-request cost
//! does depend on is the buffer's pages: a direct I/O pins every page it
//! covers, and huge pages (`AlignedBuf`) made the copy 1.3-1.8x faster.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

use crate::dm::cow::Exception;
use crate::metadata::model::{Lv, SegmentKind, Vg};

/// Alignment of every buffer (enough for O_DIRECT on 4 KiB-sector disks).
pub const ALIGN: usize = 4096;
/// The largest gap between two runs of exception chunks that one write
/// bridges (module doc): scattered small changes become a few large
/// requests instead of one small request per chunk.
pub const GAP_FILL_BYTES: u64 = 64 << 10;
const IOV_MAX: usize = 1024;

/// How the engine runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineOptions {
    /// Workers, i.e. requests in flight.
    pub threads: usize,
    /// Largest batch (buffer per worker), in bytes.
    pub batch_bytes: usize,
    /// Bytes copied between two early flushes of the origin, made while
    /// the copy goes on (0: none, only the final one). See
    /// [`copy_exceptions`].
    pub flush_every: u64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            threads: 2,
            batch_bytes: 4 << 20,
            flush_every: 32 << 20,
        }
    }
}

/// What the copy did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyStats {
    pub bytes: u64,
    pub reads: u64,
    pub writes: u64,
    /// Wall time of the copy and the origin's sync, and of the (final)
    /// sync alone.
    pub elapsed: std::time::Duration,
    pub sync: std::time::Duration,
    /// Flushes made while the copy went on.
    pub early_flushes: u64,
}

/// Where the engine reads the COW and writes the origin (LV byte offsets).
pub trait MergeIo: Sync {
    /// Fills `bufs`, one after the other, from COW byte `off`.
    fn read_cow(&self, off: u64, bufs: &mut [&mut [u8]]) -> io::Result<()>;
    /// Reads origin bytes `off..off + buf.len()` into `buf`.
    fn read_origin(&self, off: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes `buf` at origin byte `off`.
    fn write_origin(&self, off: u64, buf: &[u8]) -> io::Result<()>;
    /// Makes every origin write durable.
    fn sync_origin(&self) -> io::Result<()>;
}

/// Buffers at least this big are their own mapping on huge-page
/// boundaries, advised to be backed by transparent huge pages: a 4 MiB
/// batch is 2 pages to fault in and pin for each direct I/O instead of
/// 1024 (and no memset: the kernel's pages come zeroed).
const HUGE: usize = 2 << 20;

/// A buffer aligned to `ALIGN` (to `HUGE` when that big), zeroed.
pub struct AlignedBuf {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
    backing: Backing,
}

enum Backing {
    Heap(std::alloc::Layout),
    /// An anonymous mapping of this many bytes at `ptr`.
    Mapped(usize),
}

// SAFETY: AlignedBuf owns its allocation exclusively, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    pub fn new(len: usize) -> AlignedBuf {
        let len = len.max(ALIGN);
        if len >= HUGE {
            if let Some(b) = Self::mapped(len) {
                return b;
            }
        }
        let layout = std::alloc::Layout::from_size_align(len, ALIGN).expect("buffer layout");
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr =
            std::ptr::NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        AlignedBuf {
            ptr,
            len,
            backing: Backing::Heap(layout),
        }
    }

    /// `len` bytes in whole huge pages on a huge-page boundary: one
    /// mapping a huge page larger, its unaligned head and tail unmapped.
    /// `None` if the kernel refuses (the heap is used instead).
    fn mapped(len: usize) -> Option<AlignedBuf> {
        use nix::sys::mman::{madvise, mmap_anonymous, munmap, MapFlags, MmapAdvise, ProtFlags};
        let size = len.checked_next_multiple_of(HUGE)?;
        let total = size.checked_add(HUGE)?;
        // SAFETY: a new private anonymous mapping anywhere the kernel
        // chooses: no memory in use is touched.
        let base = unsafe {
            mmap_anonymous(
                None,
                std::num::NonZeroUsize::new(total)?,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
            )
        }
        .ok()?;
        let addr = base.as_ptr() as usize;
        let head = addr.next_multiple_of(HUGE) - addr;
        let tail = total - head - size;
        let at = |off: usize| std::ptr::NonNull::new((addr + off) as *mut std::ffi::c_void);
        let start = at(head)?;
        // SAFETY: the head and the tail are parts of the mapping just made
        // outside [start, start + size), which nothing references.
        unsafe {
            if head > 0 {
                let _ = munmap(base, head);
            }
            if tail > 0 {
                let _ = munmap(at(head + size)?, tail);
            }
            // Advice only: without huge pages the buffer works the same.
            let _ = madvise(start, size, MmapAdvise::MADV_HUGEPAGE);
        }
        Some(AlignedBuf {
            ptr: start.cast(),
            len,
            backing: Backing::Mapped(size),
        })
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: ptr is valid for len initialised (zeroed) bytes owned by
        // self (len <= the allocation's or the mapping's size).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in deref, and &mut self makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        match self.backing {
            // SAFETY: allocated in `new` with this very layout.
            Backing::Heap(layout) => unsafe { std::alloc::dealloc(self.ptr.as_ptr(), layout) },
            Backing::Mapped(size) => {
                // SAFETY: the mapping made in `mapped`, `size` bytes at ptr,
                // referenced by nothing once self is dropped.
                let _ = unsafe { nix::sys::mman::munmap(self.ptr.cast(), size) };
            }
        }
    }
}

/// One stretch of an LV on its PVs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Piece {
    lv_start: u64,
    len: u64,
    /// Stripe unit in bytes (0: linear) and, per stripe, (device index,
    /// byte offset of the area on the device).
    stripe: u64,
    areas: Vec<(usize, u64)>,
}

/// Where an LV's bytes are on its PVs (linear and striped segments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LvMap {
    pieces: Vec<Piece>,
    pub size: u64,
}

/// Why an LV cannot be mapped onto its PVs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("PV {pv} of {lv} is missing.")]
    MissingPv { pv: String, lv: String },
    #[error("{lv}: segment type {what} cannot be merged offline.")]
    Unsupported { lv: String, what: String },
}

impl LvMap {
    /// The map of `lv`; `dev_index(pv_key)` numbers the PVs it uses.
    pub fn new(
        vg: &Vg,
        lv: &Lv,
        dev_index: &mut dyn FnMut(&str) -> Option<usize>,
    ) -> Result<LvMap, MapError> {
        let es = vg.extent_size * 512;
        let mut pieces = Vec::new();
        for seg in &lv.segments {
            let SegmentKind::Striped {
                stripes,
                stripe_size,
            } = &seg.kind
            else {
                return Err(MapError::Unsupported {
                    lv: lv.name.clone(),
                    what: seg.type_name().to_string(),
                });
            };
            if stripes.is_empty() {
                return Err(MapError::Unsupported {
                    lv: lv.name.clone(),
                    what: "striped without areas".into(),
                });
            }
            let mut areas = Vec::new();
            for a in stripes {
                let missing = || MapError::MissingPv {
                    pv: a.pv.clone(),
                    lv: lv.name.clone(),
                };
                let pv = vg.pv(&a.pv).ok_or_else(missing)?;
                let dev = dev_index(&a.pv).ok_or_else(missing)?;
                areas.push((dev, pv.pe_start * 512 + a.pe * es));
            }
            let stripe = if areas.len() == 1 {
                0
            } else {
                stripe_size.unwrap_or(vg.extent_size) * 512
            };
            pieces.push(Piece {
                lv_start: seg.start_extent * es,
                len: seg.extent_count * es,
                stripe,
                areas,
            });
        }
        pieces.sort_by_key(|p| p.lv_start);
        Ok(LvMap {
            size: lv.extent_count() * es,
            pieces,
        })
    }

    /// The device stretches (device index, device offset, length) that
    /// bytes `off..off + len` of the LV occupy, in LV order.
    pub fn locate(&self, mut off: u64, len: u64) -> io::Result<Vec<(usize, u64, u64)>> {
        let end = off
            .checked_add(len)
            .filter(|&e| e <= self.size)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "beyond the LV's end"))?;
        let mut out: Vec<(usize, u64, u64)> = Vec::new();
        while off < end {
            let p = self
                .pieces
                .iter()
                .find(|p| p.lv_start <= off && off < p.lv_start + p.len)
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "LV hole"))?;
            let rel = off - p.lv_start;
            let piece_end = (p.lv_start + p.len).min(end);
            let (dev, at, n) = match rel.checked_div(p.stripe) {
                None => (p.areas[0].0, p.areas[0].1 + rel, piece_end - off),
                Some(unit) => {
                    let n_str = p.areas.len() as u64;
                    let (row, col) = (unit / n_str, (unit % n_str) as usize);
                    let within = rel % p.stripe;
                    let n = (p.stripe - within).min(piece_end - off);
                    (p.areas[col].0, p.areas[col].1 + row * p.stripe + within, n)
                }
            };
            match out.last_mut() {
                Some(l) if l.0 == dev && l.1 + l.2 == at => l.2 += n,
                _ => out.push((dev, at, n)),
            }
            off += n;
        }
        Ok(out)
    }
}

/// Positioned vectored read of exactly the bytes `bufs` hold.
fn preadv_all(f: &File, mut off: u64, bufs: &mut [&mut [u8]]) -> io::Result<()> {
    let (mut i, mut skip) = (0usize, 0usize);
    while i < bufs.len() {
        let mut iov: Vec<libc::iovec> = Vec::with_capacity(IOV_MAX.min(bufs.len() - i));
        for (k, b) in bufs[i..].iter_mut().take(IOV_MAX).enumerate() {
            let s = if k == 0 { skip } else { 0 };
            iov.push(libc::iovec {
                iov_base: b[s..].as_mut_ptr().cast(),
                iov_len: b.len() - s,
            });
        }
        // SAFETY: every iovec points into a distinct live &mut slice of
        // `bufs`, valid for iov_len bytes, for the duration of the call.
        let n = unsafe {
            libc::preadv(
                f.as_raw_fd(),
                iov.as_ptr(),
                iov.len() as libc::c_int,
                off as libc::off_t,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let mut n = n as usize;
        off += n as u64;
        while n > 0 && i < bufs.len() {
            let left = bufs[i].len() - skip;
            if n >= left {
                n -= left;
                i += 1;
                skip = 0;
            } else {
                skip += n;
                n = 0;
            }
        }
        while i < bufs.len() && bufs[i].len() == skip {
            i += 1;
            skip = 0;
        }
    }
    Ok(())
}

/// A COW and an origin LV on open PV devices.
pub struct LvIo {
    pub files: Vec<File>,
    /// Whether each file is written (origin PVs, synced at the end).
    pub written: Vec<bool>,
    pub cow: LvMap,
    pub origin: LvMap,
}

impl LvIo {
    /// Reads COW bytes through an aligned bounce buffer (for the header
    /// and metadata areas).
    pub fn read_cow_at(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = off / ALIGN as u64 * ALIGN as u64;
        let end = (off + buf.len() as u64).div_ceil(ALIGN as u64) * ALIGN as u64;
        let end = end.min(self.cow.size);
        let mut b = AlignedBuf::new((end - start) as usize);
        let len = (end - start) as usize;
        self.read_cow(start, &mut [&mut b[..len]])?;
        let s = (off - start) as usize;
        buf.copy_from_slice(&b[s..s + buf.len()]);
        Ok(())
    }
}

impl MergeIo for LvIo {
    fn read_cow(&self, off: u64, bufs: &mut [&mut [u8]]) -> io::Result<()> {
        let total: u64 = bufs.iter().map(|b| b.len() as u64).sum();
        let pieces = self.cow.locate(off, total)?;
        if let [(dev, at, _)] = pieces.as_slice() {
            return preadv_all(&self.files[*dev], *at, bufs);
        }
        // Several device stretches: cut the buffers at their boundaries.
        let mut rest: Vec<&mut [u8]> = bufs.iter_mut().map(|b| &mut **b).collect();
        rest.reverse();
        for (dev, at, len) in pieces {
            let mut part: Vec<&mut [u8]> = Vec::new();
            let mut need = len as usize;
            while need > 0 {
                let b = rest.pop().ok_or(io::ErrorKind::InvalidInput)?;
                if b.len() <= need {
                    need -= b.len();
                    part.push(b);
                } else {
                    let (a, tail) = b.split_at_mut(need);
                    need = 0;
                    part.push(a);
                    rest.push(tail);
                }
            }
            preadv_all(&self.files[dev], at, &mut part)?;
        }
        Ok(())
    }

    fn read_origin(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0usize;
        for (dev, at, len) in self.origin.locate(off, buf.len() as u64)? {
            self.files[dev].read_exact_at(&mut buf[done..done + len as usize], at)?;
            done += len as usize;
        }
        Ok(())
    }

    fn write_origin(&self, off: u64, buf: &[u8]) -> io::Result<()> {
        let mut done = 0usize;
        for (dev, at, len) in self.origin.locate(off, buf.len() as u64)? {
            self.files[dev].write_all_at(&buf[done..done + len as usize], at)?;
            done += len as usize;
        }
        Ok(())
    }

    /// Flushes every PV the origin was written on, all at once (one cache
    /// flush each, in parallel when the origin spans several PVs).
    fn sync_origin(&self) -> io::Result<()> {
        let written: Vec<&File> = self
            .files
            .iter()
            .zip(&self.written)
            .filter_map(|(f, w)| w.then_some(f))
            .collect();
        if let [one] = written.as_slice() {
            return one.sync_data();
        }
        std::thread::scope(|s| {
            let jobs: Vec<_> = written.iter().map(|f| s.spawn(|| f.sync_data())).collect();
            // The scope waits for every flush, even after a failed one.
            jobs.into_iter().try_for_each(|j| {
                j.join()
                    .unwrap_or_else(|_| Err(io::Error::other("sync thread panicked")))
            })
        })
    }
}

/// Cuts `exc` (sorted by origin chunk) into batches of at most
/// `per_batch` chunks.
fn batches(n: usize, per_batch: usize) -> Vec<std::ops::Range<usize>> {
    (0..n)
        .step_by(per_batch.max(1))
        .map(|s| s..(s + per_batch.max(1)).min(n))
        .collect()
}

/// A worker's buffers: the batch (exceptions in origin order), scratch
/// for COW gaps a read bridges, and the span a gap-filled write goes
/// through.
struct Buffers<'a> {
    buf: &'a mut [u8],
    scratch: &'a mut [u8],
    span: &'a mut [u8],
}

/// Copies one batch (`exc`, sorted by origin chunk) through `buf`.
fn copy_batch(
    io: &dyn MergeIo,
    exc: &[Exception],
    cb: u64,
    origin_bytes: u64,
    bufs: Buffers<'_>,
    stats: &mut CopyStats,
) -> io::Result<u64> {
    let Buffers { buf, scratch, span } = bufs;
    let cbu = cb as usize;
    // Chunks in COW order, cut into segments that are consecutive both in
    // the COW and in the (origin-order) buffer: one iovec each.
    let mut order: Vec<usize> = (0..exc.len()).collect();
    order.sort_unstable_by_key(|&i| exc[i].new);
    let mut segs: Vec<(usize, usize)> = Vec::new();
    for &i in &order {
        match segs.last_mut() {
            Some((s, n)) if *s + *n == i && exc[i - 1].new + 1 == exc[i].new => *n += 1,
            _ => segs.push((i, 1)),
        }
    }
    // The segments tile the buffer: hand each its slice, in buffer order.
    let mut by_pos: Vec<usize> = (0..segs.len()).collect();
    by_pos.sort_unstable_by_key(|&k| segs[k].0);
    let mut pieces: Vec<Option<&mut [u8]>> = (0..segs.len()).map(|_| None).collect();
    let mut rest: &mut [u8] = &mut buf[..exc.len() * cbu];
    for k in by_pos {
        let (a, b) = std::mem::take(&mut rest).split_at_mut(segs[k].1 * cbu);
        pieces[k] = Some(a);
        rest = b;
    }
    // Reads: COW-consecutive segments in one call; a gap (a metadata area,
    // a chunk of another batch) read into scratch while scratch lasts.
    let mut k = 0;
    while k < segs.len() {
        let first = exc[segs[k].0].new;
        let mut iov: Vec<&mut [u8]> = Vec::new();
        let mut spare: &mut [u8] = &mut *scratch;
        let mut next = first;
        while k < segs.len() && iov.len() + 1 < IOV_MAX {
            let (s, n) = segs[k];
            let gap = (exc[s].new - next) as usize;
            if gap > 0 {
                if gap * cbu > spare.len() {
                    break;
                }
                let (g, r) = std::mem::take(&mut spare).split_at_mut(gap * cbu);
                spare = r;
                iov.push(g);
            }
            iov.push(pieces[k].take().ok_or(io::ErrorKind::InvalidData)?);
            next = exc[s + n - 1].new + 1;
            k += 1;
        }
        io.read_cow(first * cb, &mut iov)?;
        stats.reads += 1;
    }
    // Writes, one per run of origin-consecutive chunks, or per group of
    // runs a short gap apart, written through `span` with the gaps' own
    // bytes (module doc); clipped at the origin's end (its last chunk may
    // be partial).
    let mut done = 0u64;
    let mut i = 0;
    while i < exc.len() {
        let (mut j, mut gapped) = (i + 1, false);
        while j < exc.len() {
            let gap = (exc[j].old - exc[j - 1].old - 1) * cb;
            let span_len = (exc[j].old - exc[i].old + 1) * cb;
            gapped |= gap > 0;
            if gap > GAP_FILL_BYTES || (gapped && span_len > span.len() as u64) {
                break;
            }
            j += 1;
        }
        let off = exc[i].old * cb;
        let len = ((exc[j - 1].old - exc[i].old + 1) * cb).min(origin_bytes - off);
        if exc[j - 1].old - exc[i].old + 1 == (j - i) as u64 {
            io.write_origin(off, &buf[i * cbu..i * cbu + len as usize])?;
            done += len;
        } else {
            let span = &mut span[..len as usize];
            io.read_origin(off, span)?;
            stats.reads += 1;
            for (k, e) in exc.iter().enumerate().take(j).skip(i) {
                let at = ((e.old - exc[i].old) * cb) as usize;
                let n = cb.min(origin_bytes - e.old * cb) as usize;
                span[at..at + n].copy_from_slice(&buf[k * cbu..k * cbu + n]);
                done += n as u64;
            }
            io.write_origin(off, span)?;
        }
        stats.writes += 1;
        i = j;
    }
    Ok(done)
}

/// Copies every exception of `exc` (sorted by origin chunk, checked
/// against the origin's size by `dm::cow::read_store`) from the COW to
/// the origin, then syncs the origin. `progress(done, total)` is called
/// on the caller's thread as batches complete.
///
/// Early flushes: every `opts.flush_every` bytes copied, a thread of its
/// own flushes the origin's PVs while the workers go on (one flush at a
/// time; signals that come during one are merged into the next). A cache
/// flush makes durable what was written before it, so the final flush,
/// made after every write has completed, has only the last stretch left
/// to put on stable media instead of all of it: the destaging of a
/// disk's (or a virtual disk's host's) write cache overlaps the copy.
/// Durability is the final flush's alone, as before; an early flush
/// only ever flushes more, and one that fails fails the copy. No early
/// flush starts once every batch is written (a signal queued during the
/// previous flush would otherwise flush just before the final one).
pub fn copy_exceptions(
    io: &dyn MergeIo,
    exc: &[Exception],
    chunk_bytes: u64,
    origin_bytes: u64,
    opts: EngineOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> io::Result<CopyStats> {
    let started = std::time::Instant::now();
    let cb = chunk_bytes;
    if cb == 0 || !cb.is_multiple_of(512) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad chunk size",
        ));
    }
    let total: u64 = exc
        .iter()
        .map(|e| cb.min(origin_bytes.saturating_sub(e.old * cb)))
        .sum();
    let per_batch = (opts.batch_bytes as u64 / cb).max(1) as usize;
    let list = batches(exc.len(), per_batch);
    let threads = opts.threads.clamp(1, list.len().max(1));
    let scratch_bytes = ((128 << 10) / cb as usize).min(32) * cb as usize;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first_err: Mutex<Option<io::Error>> = Mutex::new(None);
    let stats = Mutex::new(CopyStats::default());
    let (tx, rx) = mpsc::channel::<u64>();
    // Set once every batch is written: a flush signal still queued then
    // is dropped, as the final flush follows at once.
    let all_written = AtomicBool::new(false);
    let mut early_flush: io::Result<u64> = Ok(0);
    std::thread::scope(|s| {
        // At most one signal waits while a flush runs: later ones merge.
        let (flush_tx, flush_rx) = mpsc::sync_channel::<()>(1);
        let all_written = &all_written;
        let flusher = (opts.flush_every > 0).then(|| {
            s.spawn(move || -> io::Result<u64> {
                let mut flushes = 0;
                for () in flush_rx {
                    if all_written.load(Ordering::Acquire) {
                        continue;
                    }
                    io.sync_origin()?;
                    flushes += 1;
                }
                Ok(flushes)
            })
        });
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop, first_err, stats, list) = (&next, &stop, &first_err, &stats, &list);
            s.spawn(move || {
                let mut buf = AlignedBuf::new(per_batch * cb as usize);
                let mut scratch = AlignedBuf::new(scratch_bytes);
                let mut span = AlignedBuf::new(per_batch * cb as usize);
                let mut mine = CopyStats::default();
                while !stop.load(Ordering::Relaxed) {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    let Some(r) = list.get(b) else { break };
                    let got = copy_batch(
                        io,
                        &exc[r.clone()],
                        cb,
                        origin_bytes,
                        Buffers {
                            buf: &mut buf,
                            scratch: &mut scratch[..scratch_bytes],
                            span: &mut span,
                        },
                        &mut mine,
                    );
                    match got {
                        Ok(n) => {
                            mine.bytes += n;
                            let _ = tx.send(n);
                        }
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            first_err
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(e);
                        }
                    }
                }
                let mut all = stats.lock().unwrap_or_else(|p| p.into_inner());
                all.bytes += mine.bytes;
                all.reads += mine.reads;
                all.writes += mine.writes;
            });
        }
        drop(tx);
        let mut done = 0u64;
        let mut flush_at = opts.flush_every;
        progress(0, total);
        for n in rx {
            done += n;
            if done >= total {
                // A batch is sent only once all of its writes completed.
                all_written.store(true, Ordering::Release);
            }
            progress(done, total);
            // Not after the last batch: the final flush comes then.
            if flusher.is_some() && done >= flush_at && done < total {
                // Full: a flush is waiting already and will cover this.
                let _ = flush_tx.try_send(());
                flush_at = done + opts.flush_every;
            }
        }
        drop(flush_tx);
        if let Some(f) = flusher {
            early_flush = f
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("flush thread panicked")));
        }
    });
    if let Some(e) = first_err.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let early_flushes = early_flush?;
    let sync_start = std::time::Instant::now();
    io.sync_origin()?;
    let mut stats = stats.into_inner().unwrap_or_else(|p| p.into_inner());
    stats.early_flushes = early_flushes;
    stats.sync = sync_start.elapsed();
    stats.elapsed = started.elapsed();
    Ok(stats)
}

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;
