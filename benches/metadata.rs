//! Metadata benchmarks on a VG with 1000 linear LVs (plus 4 snapshots) on
//! two in-memory PVs with 8 MiB metadata areas:
//!
//! - `export_disk`: model -> on-disk text
//! - `import_vg`: on-disk text -> model
//! - `validate_vg`: the pre-write invariant checks
//! - `commit`: a full `VgHandle::commit` (export, self-check, write the text
//!   into both PVs' areas, precommit + commit headers, syncs)
//! - `scan`: `store::scan` of both PVs (label, mda header, text, parse)
//! - `allocate`: `alloc::allocate` of one more 1-extent LV in the full VG
//!
//! Run: `cargo bench --bench metadata` (add `-- --quick` for a fast pass).
//! Nothing is printed besides criterion's own output.

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

use rlvm::metadata::alloc::{self, AllocRequest};
use rlvm::metadata::id::Id;
use rlvm::metadata::model::{Flags, Lv, Segment, SegmentKind, StripeArea, Vg};
use rlvm::metadata::store::{self, MemOpener, PvLayout, VgHandle};
use rlvm::metadata::{text, validate};

const LINEAR_LVS: usize = 1000;
const SNAPSHOTS: usize = 4;
const MIB: u64 = 1024 * 1024;
/// 1 MiB extents keep the (lazily zeroed) in-memory PVs small; the text
/// differs from 4 MiB extents only in numbers.
const EXTENT_SECTORS: u64 = 2048;
const EXTENTS_PER_PV: u64 = 600;

fn lv(name: &str, visible: bool, segments: Vec<Segment>) -> Lv {
    let mut status = Flags::new(&["READ", "WRITE"]);
    if visible {
        status.set("VISIBLE");
    }
    Lv {
        name: name.to_string(),
        id: Id::random(),
        status,
        flags: Flags::default(),
        tags: Vec::new(),
        creation_time: Some(1_700_000_000),
        creation_host: Some("benchhost".to_string()),
        allocation_policy: None,
        read_ahead: None,
        major: None,
        minor: None,
        segments,
    }
}

fn linear(pv: &str, pe: u64, count: u64) -> Segment {
    Segment {
        start_extent: 0,
        extent_count: count,
        tags: Vec::new(),
        kind: SegmentKind::Striped {
            stripe_size: None,
            stripes: vec![StripeArea {
                pv: pv.to_string(),
                pe,
            }],
        },
    }
}

struct Fixture {
    opener: MemOpener,
    paths: Vec<String>,
    handle: VgHandle,
    /// The committed VG (seqno 1) and its on-disk text.
    vg: Vg,
    text: String,
}

/// Two PVs, a VG with `LINEAR_LVS` 1-extent linear LVs alternating between
/// them and `SNAPSHOTS` snapshots of the first LVs, committed once.
fn fixture() -> Fixture {
    let layout = PvLayout {
        mda_size: 8 * MIB,
        mda_copies: 1,
        pe_start: 9 * MIB,
    };
    let dev_size = layout.pe_start + EXTENTS_PER_PV * EXTENT_SECTORS * 512;
    let mut opener = MemOpener::default();
    let mut paths = Vec::new();
    let mut infos = Vec::new();
    for i in 0..2 {
        let path = format!("/dev/mem{i}");
        let dev = opener.add(&path, vec![0u8; dev_size as usize]);
        let info = store::create_pv(dev.as_ref(), &path, Id::random(), &layout).expect("create_pv");
        paths.push(path);
        infos.push(info);
    }
    let mut next_pe = [0u64; 2];
    let mut take = |i: usize| {
        let pe = next_pe[i % 2];
        next_pe[i % 2] += 1;
        linear(&format!("pv{}", i % 2), pe, 1)
    };
    let mut lvs = Vec::new();
    for i in 0..LINEAR_LVS {
        lvs.push(lv(&format!("lv{i:04}"), true, vec![take(i)]));
    }
    for s in 0..SNAPSHOTS {
        let cow = format!("snap{s}");
        lvs.push(lv(&cow, false, vec![take(s)]));
        lvs.push(lv(
            &format!("snapshot{s}"),
            true,
            vec![Segment {
                start_extent: 0,
                extent_count: 1,
                tags: Vec::new(),
                kind: SegmentKind::Snapshot {
                    chunk_size: 8,
                    origin: format!("lv{s:04}"),
                    cow,
                    merging: false,
                },
            }],
        ));
    }
    let mut vg = store::new_vg("benchvg", EXTENT_SECTORS, &infos);
    vg.lvs = lvs;
    let mut handle = VgHandle::new_vg(vg, infos);
    handle
        .commit(&opener, "bench setup")
        .expect("initial commit");
    let vg = handle.committed().clone();
    let text = text::export_disk(&vg, &store::text_header("bench"));
    Fixture {
        opener,
        paths,
        handle,
        vg,
        text,
    }
}

fn bench_metadata(c: &mut Criterion) {
    let mut fx = fixture();
    let header = store::text_header("bench");
    assert_eq!(fx.vg.lvs.len(), LINEAR_LVS + 2 * SNAPSHOTS);
    // Sanity: the setup is what the benchmarks claim to measure.
    let scan = store::scan(&fx.opener, &fx.paths);
    assert_eq!(scan.pvs.len(), 2);
    assert!(scan.warnings.is_empty(), "{:?}", scan.warnings);
    assert!(scan
        .pvs
        .iter()
        .all(|p| p.vg().map(|v| v.lvs.len()) == Some(fx.vg.lvs.len())));

    let mut g = c.benchmark_group("vg1000");
    g.throughput(Throughput::Bytes(fx.text.len() as u64));
    g.bench_function("export_disk", |b| {
        b.iter(|| text::export_disk(black_box(&fx.vg), black_box(&header)))
    });
    g.bench_function("import_vg", |b| {
        b.iter(|| text::import_vg(black_box(&fx.text)).expect("import"))
    });
    g.throughput(Throughput::Elements(fx.vg.lvs.len() as u64));
    g.bench_function("validate_vg", |b| {
        b.iter(|| validate::validate_vg(black_box(&fx.vg)).expect("valid"))
    });
    let req = AllocRequest {
        extents: 1,
        stripes: 1,
        stripe_size: None,
        pvs: None,
        contiguous: false,
    };
    g.bench_function("allocate", |b| {
        b.iter(|| alloc::allocate(black_box(&fx.vg), black_box(&req)).expect("alloc"))
    });
    // Two PVs x one mda each: each iteration writes the text twice.
    g.throughput(Throughput::Bytes(2 * fx.text.len() as u64));
    g.bench_function("commit_2pvs", |b| {
        b.iter(|| fx.handle.commit(&fx.opener, "bench").expect("commit"))
    });
    g.bench_function("scan_2pvs", |b| {
        b.iter(|| {
            let s = store::scan(&fx.opener, black_box(&fx.paths));
            debug_assert_eq!(s.pvs.len(), 2);
            s
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_metadata
}
criterion_main!(benches);
