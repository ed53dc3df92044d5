//! The copy engine on in-memory devices: every excepted chunk lands at its
//! origin place and nothing else changes, whatever the order, chunk size,
//! batch size and thread count; runs are coalesced; LV maps cross
//! segments and stripes.

use std::sync::Mutex;

use proptest::prelude::*;

use super::*;
use crate::dm::cow::build_store;
use crate::metadata::id::Id;
use crate::metadata::model::{Flags, Pv, Segment, StripeArea};

/// A COW image and an origin in memory, counting calls.
struct Mem {
    cow: Vec<u8>,
    origin: Mutex<Vec<u8>>,
    writes: Mutex<Vec<(u64, u64)>>,
    /// iovecs per read call.
    iovecs: Mutex<Vec<usize>>,
    /// Writes made when each sync came.
    syncs: Mutex<Vec<usize>>,
    /// A sync that fails (the early flushes' test).
    fail_sync: bool,
    /// Write number N waits (up to 10 s) for a sync to have come: shows
    /// a flush made while writes are still to come.
    hold_write: Option<usize>,
    synced: std::sync::Condvar,
    /// The first sync waits (up to 10 s) until the gate is opened.
    hold_sync: bool,
    gate: Mutex<bool>,
    opened: std::sync::Condvar,
}

impl Mem {
    /// `cow` over `origin`, nothing held, no sync failing.
    fn new(cow: Vec<u8>, origin: Vec<u8>) -> Mem {
        Mem {
            cow,
            origin: Mutex::new(origin),
            writes: Mutex::new(vec![]),
            iovecs: Mutex::new(vec![]),
            syncs: Mutex::new(vec![]),
            fail_sync: false,
            hold_write: None,
            synced: Default::default(),
            hold_sync: false,
            gate: Mutex::new(false),
            opened: Default::default(),
        }
    }
    fn open_gate(&self) {
        *self.gate.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl MergeIo for Mem {
    fn read_cow(&self, off: u64, bufs: &mut [&mut [u8]]) -> io::Result<()> {
        self.iovecs.lock().unwrap().push(bufs.len());
        let mut at = off as usize;
        for b in bufs.iter_mut() {
            let src = self
                .cow
                .get(at..at + b.len())
                .ok_or(io::ErrorKind::UnexpectedEof)?;
            b.copy_from_slice(src);
            at += b.len();
        }
        Ok(())
    }
    fn read_origin(&self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let o = self.origin.lock().unwrap();
        let s = off as usize;
        buf.copy_from_slice(o.get(s..s + buf.len()).ok_or(io::ErrorKind::InvalidInput)?);
        Ok(())
    }
    fn write_origin(&self, off: u64, buf: &[u8]) -> io::Result<()> {
        if self.hold_write == Some(self.writes.lock().unwrap().len()) {
            let syncs = self.syncs.lock().unwrap();
            let _ =
                self.synced
                    .wait_timeout_while(syncs, std::time::Duration::from_secs(10), |s| {
                        s.is_empty()
                    });
        }
        let mut o = self.origin.lock().unwrap();
        let s = off as usize;
        o.get_mut(s..s + buf.len())
            .ok_or(io::ErrorKind::InvalidInput)?
            .copy_from_slice(buf);
        self.writes.lock().unwrap().push((off, buf.len() as u64));
        Ok(())
    }
    fn sync_origin(&self) -> io::Result<()> {
        let writes = self.writes.lock().unwrap().len();
        let first = {
            let mut syncs = self.syncs.lock().unwrap();
            syncs.push(writes);
            syncs.len() == 1
        };
        self.synced.notify_all();
        if self.hold_sync && first {
            let gate = self.gate.lock().unwrap();
            let _ =
                self.opened
                    .wait_timeout_while(gate, std::time::Duration::from_secs(10), |open| !*open);
        }
        if self.fail_sync {
            return Err(io::Error::other("flush EIO"));
        }
        Ok(())
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed ^ (i >> 12) as u8)
        .collect()
}

/// Fills each COW data chunk with bytes of its own and runs the engine.
fn run(
    cs: u64,
    olds: &[u64],
    origin_bytes: u64,
    opts: EngineOptions,
) -> (Mem, Vec<u8>, Vec<crate::dm::cow::Exception>, CopyStats) {
    run_holding(cs, olds, origin_bytes, opts, None)
}

/// [`run`], write number `hold_write` waiting for a sync (`Mem`).
fn run_holding(
    cs: u64,
    olds: &[u64],
    origin_bytes: u64,
    opts: EngineOptions,
    hold_write: Option<usize>,
) -> (Mem, Vec<u8>, Vec<crate::dm::cow::Exception>, CopyStats) {
    let cb = cs * 512;
    let chunks = 2 + olds.len() as u64 * 2 + 4;
    let (mut img, mut exc) = build_store(cs, olds, chunks * cb);
    for e in &exc {
        let at = (e.new * cb) as usize;
        img[at..at + cb as usize].copy_from_slice(&pattern(cb as usize, e.new as u8 ^ 0x5a));
    }
    exc.sort();
    let before = pattern(origin_bytes as usize, 7);
    let mem = Mem {
        hold_write,
        ..Mem::new(img, before.clone())
    };
    let mut last = (0, 0);
    let stats = copy_exceptions(&mem, &exc, cb, origin_bytes, opts, &mut |d, t| {
        assert!(d >= last.0 && d <= t);
        last = (d, t);
    })
    .unwrap();
    assert_eq!(last.0, last.1, "progress ends at the total");
    let writes = mem.writes.lock().unwrap().len();
    assert_eq!(
        mem.syncs.lock().unwrap().last(),
        Some(&writes),
        "origin synced after every write"
    );
    assert_eq!(
        mem.syncs.lock().unwrap().len() as u64,
        stats.early_flushes + 1
    );
    (mem, before, exc, stats)
}

fn check(mem: &Mem, before: &[u8], exc: &[crate::dm::cow::Exception], cb: u64) {
    let o = mem.origin.lock().unwrap();
    let mut want = before.to_vec();
    for e in exc {
        let (s, n) = ((e.old * cb) as usize, cb as usize);
        let n = n.min(want.len() - s);
        let src = (e.new * cb) as usize;
        want[s..s + n].copy_from_slice(&mem.cow[src..src + n]);
    }
    assert!(*o == want, "origin differs from the expected merge");
}

#[test]
fn sequential_changes_coalesce_into_one_write_per_batch() {
    let olds: Vec<u64> = (100..1100).collect();
    let opts = EngineOptions {
        threads: 3,
        batch_bytes: 1 << 20,
        ..EngineOptions::default()
    };
    let (mem, before, exc, stats) = run(8, &olds, 2048 * 4096, opts);
    check(&mem, &before, &exc, 4096);
    // 1000 chunks of 4 KiB in 1 MiB batches: 4 batches, one write each; the
    // reads bridge the metadata chunk every 256 data chunks.
    assert_eq!(stats.writes, 4);
    assert_eq!(stats.reads, 4);
    assert_eq!(stats.bytes, 1000 * 4096);
}

#[test]
fn full_batches_of_small_chunks_read_in_one_call_with_few_iovecs() {
    // 4 KiB chunks, 4 MiB batches: 1024 chunks and 4 metadata gaps per
    // batch; consecutive chunks share an iovec, so one read per batch.
    let olds: Vec<u64> = (2048..2048 + 4096).collect();
    let opts = EngineOptions {
        threads: 2,
        batch_bytes: 4 << 20,
        ..EngineOptions::default()
    };
    let (mem, before, exc, stats) = run(8, &olds, 8192 * 4096, opts);
    check(&mem, &before, &exc, 4096);
    assert_eq!((stats.reads, stats.writes), (4, 4));
    assert!(mem.iovecs.lock().unwrap().iter().all(|&n| n <= 11));
}

#[test]
fn scattered_changes_are_written_across_short_gaps() {
    // Every other 4 KiB chunk changed (the bench's scatter pattern): the
    // gaps are read from the origin and written back with their own bytes,
    // so 1000 chunks go out in writes of up to a batch's size (1 MiB: 128
    // exceptions and their gaps, 255 chunks), 8 of them, not 1000 writes.
    // A gap past GAP_FILL_BYTES is not bridged.
    let mut olds: Vec<u64> = (0..1000).map(|i| 100 + 2 * i).collect();
    olds.push(2100 + GAP_FILL_BYTES / 4096 + 1);
    let opts = EngineOptions {
        threads: 2,
        batch_bytes: 1 << 20,
        ..EngineOptions::default()
    };
    let (mem, before, exc, stats) = run(8, &olds, 4096 * 4096, opts);
    check(&mem, &before, &exc, 4096);
    assert_eq!(stats.bytes, 1001 * 4096);
    assert_eq!(stats.writes, 9, "8 gap-filled writes and the far chunk");
    let writes = mem.writes.lock().unwrap();
    assert!(writes.contains(&(100 * 4096, 255 * 4096)));
    assert!(writes.contains(&(olds[1000] * 4096, 4096)));
    assert!(writes
        .iter()
        .all(|&(off, len)| off >= 100 * 4096 && off + len <= (olds[1000] + 1) * 4096));
}

#[test]
fn partial_last_chunk_is_clipped() {
    // Origin of 10.5 chunks of 64 KiB; chunk 10 is the partial one.
    let cb = 128 * 512;
    let origin = 10 * cb + cb / 2;
    let (mem, before, exc, stats) = run(128, &[10, 3, 4], origin, EngineOptions::default());
    check(&mem, &before, &exc, cb);
    assert_eq!(stats.bytes, 2 * cb + cb / 2);
    assert!(mem.writes.lock().unwrap().contains(&(10 * cb, cb / 2)));
}

#[test]
fn a_failing_device_stops_the_copy_with_its_error() {
    struct Failing;
    impl MergeIo for Failing {
        fn read_cow(&self, _: u64, _: &mut [&mut [u8]]) -> io::Result<()> {
            Err(io::Error::other("EIO"))
        }
        fn read_origin(&self, _: u64, _: &mut [u8]) -> io::Result<()> {
            unreachable!("the COW's read fails first")
        }
        fn write_origin(&self, _: u64, _: &[u8]) -> io::Result<()> {
            unreachable!("nothing read, nothing written")
        }
        fn sync_origin(&self) -> io::Result<()> {
            unreachable!("no sync after a failure")
        }
    }
    let (_, mut exc) = build_store(8, &[1, 2, 3], 64 * 4096);
    exc.sort();
    let e = copy_exceptions(
        &Failing,
        &exc,
        4096,
        1 << 20,
        EngineOptions::default(),
        &mut |_, _| {},
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "EIO");
}

/// Early flushes come while the copy goes on (not before anything was
/// written, not after the last batch), the final one after every write;
/// none with `flush_every` 0; a failing flush fails the copy.
#[test]
fn early_flushes_overlap_the_copy_and_the_last_flush_follows_every_write() {
    let olds: Vec<u64> = (0..1024).collect();
    let opts = |flush_every| EngineOptions {
        threads: 1,
        batch_bytes: 64 << 10,
        flush_every,
    };
    // 4 MiB in 64 batches of 64 KiB, one worker: a flush signal every
    // 1 MiB, at 1, 2 and 3 MiB (merged while one runs); the 40th write
    // waits for the first flush, which comes after the 16th. (A signal
    // queued during a flush may be served after the last write: only
    // the first early flush is bound to come while writes are to come.)
    let (mem, before, exc, stats) = run_holding(8, &olds, 2048 * 4096, opts(1 << 20), Some(40));
    check(&mem, &before, &exc, 4096);
    assert_eq!(stats.writes, 64);
    assert!((1..=3).contains(&stats.early_flushes), "{stats:?}");
    let syncs = mem.syncs.lock().unwrap().clone();
    assert!((16..=40).contains(&syncs[0]), "{syncs:?}");
    assert_eq!(syncs.last(), Some(&64));
    let (mem, _, _, stats) = run(8, &olds, 2048 * 4096, opts(0));
    assert_eq!(stats.early_flushes, 0);
    assert_eq!(*mem.syncs.lock().unwrap(), vec![64]);
    // A failing flush: the copy fails with its error.
    let (img, mut exc) = build_store(8, &olds, 2100 * 4096);
    exc.sort();
    let mem = Mem {
        fail_sync: true,
        ..Mem::new(img, vec![0; 2048 * 4096])
    };
    let e =
        copy_exceptions(&mem, &exc, 4096, 2048 * 4096, opts(1 << 20), &mut |_, _| {}).unwrap_err();
    assert_eq!(e.to_string(), "flush EIO");
}

/// A flush signal still queued when the last batch is written is
/// dropped: the final flush follows at once, and an early flush then would
/// flush the same writes twice.
#[test]
fn no_early_flush_starts_after_the_last_write() {
    let olds: Vec<u64> = (0..1024).collect();
    let (img, mut exc) = build_store(8, &olds, 2100 * 4096);
    exc.sort();
    // One worker, 64 batches of 64 KiB, a flush signal at 1, 2 and 3 MiB.
    // The first flush begins by write 40 (which waits for it) and
    // lasts until the progress reaches the total, so the signal sent at
    // 2 MiB is still queued after the last write.
    let mem = Mem {
        hold_write: Some(40),
        hold_sync: true,
        ..Mem::new(img, vec![0; 2048 * 4096])
    };
    let opts = EngineOptions {
        threads: 1,
        batch_bytes: 64 << 10,
        flush_every: 1 << 20,
    };
    let stats = copy_exceptions(&mem, &exc, 4096, 2048 * 4096, opts, &mut |done, total| {
        if done == total {
            mem.open_gate();
        }
    })
    .unwrap();
    let syncs = mem.syncs.lock().unwrap().clone();
    assert_eq!(stats.early_flushes, 1, "{syncs:?}");
    assert_eq!(syncs.len(), 2, "{syncs:?}");
    assert!(syncs[0] <= 40, "{syncs:?}");
    assert_eq!(syncs[1], 64, "{syncs:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(60))]
    #[test]
    fn any_exceptions_any_batching_same_bytes(
        shift in 0u32..3,
        olds in proptest::collection::hash_set(0u64..600, 0..400),
        threads in 1usize..5,
        batch_chunks in 1usize..40,
        flush_chunks in 0u64..50,
    ) {
        let cs = 8u64 << shift;
        let cb = cs * 512;
        let olds: Vec<u64> = olds.into_iter().collect();
        let opts = EngineOptions {
            threads,
            batch_bytes: batch_chunks * cb as usize,
            flush_every: flush_chunks * cb,
        };
        let (mem, before, exc, stats) = run(cs, &olds, 600 * cb, opts);
        check(&mem, &before, &exc, cb);
        prop_assert_eq!(stats.bytes, olds.len() as u64 * cb);
    }
}

fn vg_with(extent_sectors: u64, lvs: Vec<Lv>) -> Vg {
    let pv = |key: &str, pe_start: u64| Pv {
        key: key.into(),
        id: Id::random(),
        device: None,
        device_id_type: None,
        device_id: None,
        status: Flags::default(),
        flags: Flags::default(),
        tags: vec![],
        dev_size: None,
        pe_start,
        pe_count: 1000,
        ba_start: None,
        ba_size: None,
    };
    Vg {
        name: "vg".into(),
        id: Id::random(),
        seqno: 1,
        format: None,
        status: Flags::default(),
        flags: Flags::default(),
        tags: vec![],
        system_id: None,
        extent_size: extent_sectors,
        max_lv: 0,
        max_pv: 0,
        allocation_policy: None,
        metadata_copies: None,
        pvs: vec![pv("pv0", 2048), pv("pv1", 4096)],
        lvs,
        unsupported: None,
    }
}

fn lv(name: &str, segments: Vec<Segment>) -> Lv {
    Lv {
        name: name.into(),
        id: Id::random(),
        status: Flags::default(),
        flags: Flags::default(),
        tags: vec![],
        creation_time: None,
        creation_host: None,
        allocation_policy: None,
        read_ahead: None,
        major: None,
        minor: None,
        segments,
    }
}

fn seg(start: u64, count: u64, stripe_size: Option<u64>, areas: &[(&str, u64)]) -> Segment {
    Segment {
        start_extent: start,
        extent_count: count,
        tags: vec![],
        kind: SegmentKind::Striped {
            stripe_size,
            stripes: areas
                .iter()
                .map(|(pv, pe)| StripeArea {
                    pv: pv.to_string(),
                    pe: *pe,
                })
                .collect(),
        },
    }
}

#[test]
fn lv_map_crosses_segments_and_stripes() {
    // 8-sector (4 KiB) extents: LV = 2 extents on pv1 at PE 5, then 4
    // extents striped over pv0 PE 0 and pv1 PE 10 in 2 KiB units.
    let l = lv(
        "o",
        vec![
            seg(0, 2, None, &[("pv1", 5)]),
            seg(2, 4, Some(4), &[("pv0", 0), ("pv1", 10)]),
        ],
    );
    let vg = vg_with(8, vec![l.clone()]);
    let mut idx = |k: &str| Some(if k == "pv0" { 0 } else { 1 });
    let m = LvMap::new(&vg, &l, &mut idx).unwrap();
    assert_eq!(m.size, 6 * 4096);
    let pv1 = 4096 * 512;
    let pv0 = 2048 * 512;
    assert_eq!(m.locate(0, 8192).unwrap(), vec![(1, pv1 + 5 * 4096, 8192)]);
    assert_eq!(
        m.locate(4096, 4096 + 2048 + 2048 + 1024).unwrap(),
        vec![
            (1, pv1 + 6 * 4096, 4096),
            (0, pv0, 2048),
            (1, pv1 + 10 * 4096, 2048),
            (0, pv0 + 2048, 1024),
        ]
    );
    assert!(m.locate(6 * 4096 - 1, 2).is_err());
    let mut none = |_: &str| None;
    assert!(matches!(
        LvMap::new(&vg, &l, &mut none),
        Err(MapError::MissingPv { .. })
    ));
}

#[test]
fn lv_io_reads_across_devices_and_writes_through_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<File> = (0..2)
        .map(|i| {
            let p = dir.path().join(format!("pv{i}"));
            std::fs::write(&p, pattern(8 << 20, i as u8)).unwrap();
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&p)
                .unwrap()
        })
        .collect();
    let cow = lv(
        "c",
        vec![
            seg(0, 1, None, &[("pv0", 3)]),
            seg(1, 1, None, &[("pv1", 0)]),
        ],
    );
    let origin = lv("o", vec![seg(0, 2, Some(8), &[("pv0", 10), ("pv1", 10)])]);
    let vg = vg_with(8, vec![cow.clone(), origin.clone()]);
    let mut idx = |k: &str| Some(if k == "pv0" { 0 } else { 1 });
    let io = LvIo {
        cow: LvMap::new(&vg, &cow, &mut idx).unwrap(),
        origin: LvMap::new(&vg, &origin, &mut idx).unwrap(),
        files,
        written: vec![true, true],
    };
    let mut a = vec![0u8; 3000];
    let mut b = vec![0u8; 3000];
    io.read_cow(2048, &mut [&mut a, &mut b]).unwrap();
    let p0 = pattern(8 << 20, 0);
    let p1 = pattern(8 << 20, 1);
    let c0 = 2048 * 512 + 3 * 4096;
    assert_eq!(&a[..2048], &p0[c0 + 2048..c0 + 4096]);
    assert_eq!(&a[2048..], &p1[2048 * 512..2048 * 512 + 952]);
    assert_eq!(&b[..], &p1[2048 * 512 + 952..2048 * 512 + 3952]);
    let mut h = vec![0u8; 16];
    io.read_cow_at(4090, &mut h).unwrap();
    assert_eq!(&h[..6], &p0[c0 + 4090..c0 + 4096]);
    io.write_origin(0, &vec![0xab; 8192]).unwrap();
    io.sync_origin().unwrap();
    let d0 = std::fs::read(dir.path().join("pv0")).unwrap();
    let d1 = std::fs::read(dir.path().join("pv1")).unwrap();
    let o0 = 2048 * 512 + 10 * 4096;
    let o1 = 4096 * 512 + 10 * 4096;
    assert!(d0[o0..o0 + 4096].iter().all(|&x| x == 0xab));
    assert!(d1[o1..o1 + 4096].iter().all(|&x| x == 0xab));
    assert_eq!(
        d0[o0 + 4096],
        p0[o0 + 4096],
        "nothing beyond the LV written"
    );
}

#[test]
fn buffers_are_zeroed_aligned_and_as_long_as_asked() {
    for len in [1, 4096, 5000, HUGE - 1, HUGE, 4 << 20, (4 << 20) + 4096] {
        let mut b = AlignedBuf::new(len);
        assert_eq!(b.len(), len.max(ALIGN), "{len}");
        let align = if b.len() >= HUGE { HUGE } else { ALIGN };
        assert_eq!(b.as_ptr() as usize % align, 0, "{len}");
        assert!(b.iter().all(|&x| x == 0), "{len}: not zeroed");
        // Writable from end to end (a mapping cut short would fault).
        let n = b.len();
        b[0] = 1;
        b[n - 1] = 2;
        assert_eq!((b[0], b[n - 1]), (1, 2));
    }
}
