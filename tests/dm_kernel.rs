//! Real-kernel tests of the dm layer: run as root where
//! /dev/mapper/control exists (the test VM); elsewhere each test prints
//! "skipped: no device-mapper" and passes.
//!
//! Disks: `RLVM_TEST_DISKS="/dev/vdb /dev/vdc"` (at least 2, each at least
//! 64 MiB; their contents are destroyed), else two loop devices on sparse
//! files. Tests run one at a time (they share the disks) and remove every
//! `rlvmtest-*` device they leave behind, even on failure.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use rlvm::dm::exec::{execute_with, wanted_with_holders, Kernel};
use rlvm::dm::kernel::DmKernel;
use rlvm::dm::names::mapper_path;
use rlvm::dm::nodes::Nodes;
use rlvm::dm::plan::{
    plan_activate, plan_add_snapshot, plan_deactivate, plan_remove_snapshot, Interest,
};
use rlvm::dm::query::lv_state;
use rlvm::dm::state::SnapshotStatus;
use rlvm::dm::target::{format_table, DevNum};
use rlvm::metadata::id::Id;
use rlvm::metadata::model::*;

const VG: &str = "rlvmtest";
const ES: u64 = 8192; // 4 MiB extents
const PE_START: u64 = 2048;

static SERIAL: Mutex<()> = Mutex::new(());

fn dm_available() -> bool {
    Path::new("/dev/mapper/control").exists()
        && nix::unistd::Uid::effective().is_root()
        && DmKernel::open(true).is_ok()
}

/// Test disks; loop devices are detached on drop.
struct Disks {
    paths: Vec<PathBuf>,
    loops: Vec<PathBuf>,
    _dir: Option<tempfile::TempDir>,
}

impl Disks {
    fn get() -> Disks {
        if let Ok(v) = std::env::var("RLVM_TEST_DISKS") {
            let paths: Vec<PathBuf> = v.split_whitespace().map(PathBuf::from).collect();
            assert!(paths.len() >= 2, "RLVM_TEST_DISKS needs at least 2 devices");
            return Disks {
                paths,
                loops: vec![],
                _dir: None,
            };
        }
        let dir = tempfile::tempdir().unwrap();
        let mut loops = Vec::new();
        for i in 0..2 {
            let f = dir.path().join(format!("disk{i}"));
            OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .open(&f)
                .unwrap()
                .set_len(128 << 20)
                .unwrap();
            // Busybox losetup has no --show: ask for a free one first.
            let out = Command::new("losetup").arg("-f").output().unwrap();
            let dev = String::from_utf8(out.stdout).unwrap().trim().to_string();
            assert!(!dev.is_empty(), "no free loop device");
            let st = Command::new("losetup").arg(&dev).arg(&f).status().unwrap();
            assert!(st.success(), "losetup {dev} failed");
            loops.push(PathBuf::from(dev));
        }
        Disks {
            paths: loops.clone(),
            loops,
            _dir: Some(dir),
        }
    }
}

impl Drop for Disks {
    fn drop(&mut self) {
        for l in &self.loops {
            let _ = Command::new("losetup").arg("-d").arg(l).status();
        }
    }
}

/// Removes every `rlvmtest-*` device, top-down, when dropped.
struct Cleanup;
impl Drop for Cleanup {
    fn drop(&mut self) {
        let Ok(mut k) = DmKernel::open(true) else {
            return;
        };
        for _ in 0..4 {
            let Ok(list) = k.list() else { return };
            let mut mine: Vec<_> = list
                .into_iter()
                .filter(|d| d.name.starts_with(&format!("{VG}-")))
                .collect();
            if mine.is_empty() {
                return;
            }
            mine.sort_by_key(|d| d.name.contains("-real") || d.name.contains("-cow"));
            for d in mine {
                let _ = k.resume(&d.name);
                let _ = k.remove(&d.name);
                Nodes::for_system(true).remove(&d.name);
            }
        }
    }
}

fn devnum(path: &Path) -> DevNum {
    let st = nix::sys::stat::stat(path).unwrap();
    DevNum::new(
        nix::sys::stat::major(st.st_rdev) as u32,
        nix::sys::stat::minor(st.st_rdev) as u32,
    )
}

fn lv(name: &str, n: u8, pv: &str, pe: u64, count: u64, visible: bool) -> Lv {
    let mut status = Flags::new(&["READ", "WRITE"]);
    if visible {
        status.set("VISIBLE");
    }
    Lv {
        name: name.into(),
        id: Id([b'a' + n; 32]),
        status,
        flags: Flags::default(),
        tags: vec![],
        creation_time: None,
        creation_host: None,
        allocation_policy: None,
        read_ahead: None,
        major: None,
        minor: None,
        segments: vec![Segment {
            start_extent: 0,
            extent_count: count,
            tags: vec![],
            kind: SegmentKind::Striped {
                stripe_size: None,
                stripes: vec![StripeArea { pv: pv.into(), pe }],
            },
        }],
    }
}

fn vg(with_snap: bool) -> Vg {
    let pv = |key: &str, n: u8| Pv {
        key: key.into(),
        id: Id([b'A' + n; 32]),
        device: None,
        device_id_type: None,
        device_id: None,
        status: Flags::new(&["ALLOCATABLE"]),
        flags: Flags::default(),
        tags: vec![],
        dev_size: None,
        pe_start: PE_START,
        pe_count: 15,
        ba_start: None,
        ba_size: None,
    };
    let mut lvs = vec![lv("lv", 0, "pv0", 0, 8, true)];
    if with_snap {
        lvs.push(lv("snap", 1, "pv1", 0, 2, false));
        let mut link = lv("snapshot0", 2, "pv0", 0, 8, true);
        link.segments[0].kind = SegmentKind::Snapshot {
            chunk_size: 8,
            origin: "lv".into(),
            cow: "snap".into(),
            merging: false,
        };
        lvs.push(link);
    }
    Vg {
        name: VG.into(),
        id: Id([b'Z'; 32]),
        seqno: 1,
        format: None,
        status: Flags::new(&["READ", "WRITE"]),
        flags: Flags::default(),
        tags: vec![],
        system_id: None,
        extent_size: ES,
        max_lv: 0,
        max_pv: 0,
        allocation_policy: None,
        metadata_copies: None,
        pvs: vec![pv("pv0", 0), pv("pv1", 1)],
        lvs,
        unsupported: None,
    }
}

fn write_at(path: &Path, off: u64, data: &[u8]) {
    let mut f = OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(off)).unwrap();
    f.write_all(data).unwrap();
    f.sync_all().unwrap();
}

fn read_at(path: &Path, off: u64, len: usize) -> Vec<u8> {
    let mut f = OpenOptions::new().read(true).open(path).unwrap();
    f.seek(SeekFrom::Start(off)).unwrap();
    let mut v = vec![0; len];
    f.read_exact(&mut v).unwrap();
    v
}

macro_rules! require_dm {
    () => {
        if !dm_available() {
            eprintln!("skipped: no device-mapper");
            return;
        }
    };
}

fn pv_map(disks: &Disks) -> rlvm::dm::tree::PvDevices {
    [
        ("pv0".to_string(), devnum(&disks.paths[0])),
        ("pv1".to_string(), devnum(&disks.paths[1])),
    ]
    .into_iter()
    .collect()
}

#[test]
fn linear_lv_on_real_disk() {
    require_dm!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let disks = Disks::get();
    let _cleanup = Cleanup;
    let mut k = DmKernel::open(true).unwrap();
    let nodes = Nodes::for_system(true);
    let pvs = pv_map(&disks);
    let vg = vg(false);
    let ops = plan_activate(&vg, "lv", &pvs, &k.list().unwrap()).unwrap();
    execute_with(&mut k, &ops, &nodes).unwrap();
    let d = k.info("rlvmtest-lv").unwrap().expect("device exists");
    assert_eq!(
        format_table(&d.table),
        format!("0 65536 linear {} {PE_START}", pvs["pv0"])
    );
    assert!(!d.suspended);
    // Bytes written through the dm device land on the PV at pe_start.
    let pattern: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    let node = mapper_path("rlvmtest-lv");
    write_at(&node, 1 << 20, &pattern);
    assert_eq!(read_at(&node, 1 << 20, pattern.len()), pattern);
    assert_eq!(
        read_at(&disks.paths[0], PE_START * 512 + (1 << 20), pattern.len()),
        pattern
    );
    // Idempotent, then gone.
    assert!(plan_activate(&vg, "lv", &pvs, &k.list().unwrap())
        .unwrap()
        .is_empty());
    let ops = plan_deactivate(&vg, "lv", &k.list().unwrap()).unwrap();
    execute_with(&mut k, &ops, &nodes).unwrap();
    assert!(k.info("rlvmtest-lv").unwrap().is_none());
}

#[test]
fn snapshot_stack_tables_and_removal() {
    require_dm!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let disks = Disks::get();
    let _cleanup = Cleanup;
    let mut k = DmKernel::open(true).unwrap();
    let nodes = Nodes::for_system(true);
    let pvs = pv_map(&disks);
    let (v0, v1) = (vg(false), vg(true));
    let ops = plan_activate(&v0, "lv", &pvs, &k.list().unwrap()).unwrap();
    execute_with(&mut k, &ops, &nodes).unwrap();
    let origin = mapper_path("rlvmtest-lv");
    write_at(&origin, 0, &[0xaa; 4096]);
    // The command zeroes the COW header before the snapshot exists.
    write_at(&disks.paths[1], PE_START * 512, &[0; 4096]);
    let ops = plan_add_snapshot(&v0, &v1, "snap", &pvs, &k.list().unwrap()).unwrap();
    execute_with(&mut k, &ops, &nodes).unwrap();

    let info = |k: &DmKernel, n: &str| k.info(n).unwrap().unwrap_or_else(|| panic!("{n}"));
    let table = |k: &DmKernel, n: &str| format_table(&info(k, n).table);
    let real = info(&k, "rlvmtest-lv-real").dev;
    let cow = info(&k, "rlvmtest-snap-cow").dev;
    assert_eq!(
        table(&k, "rlvmtest-lv"),
        format!("0 65536 snapshot-origin {real}")
    );
    assert_eq!(
        table(&k, "rlvmtest-lv-real"),
        format!("0 65536 linear {} {PE_START}", pvs["pv0"])
    );
    assert_eq!(
        table(&k, "rlvmtest-snap-cow"),
        format!("0 16384 linear {} {PE_START}", pvs["pv1"])
    );
    assert_eq!(
        table(&k, "rlvmtest-snap"),
        format!("0 65536 snapshot {real} {cow} P 8")
    );
    for n in [
        "rlvmtest-lv",
        "rlvmtest-lv-real",
        "rlvmtest-snap",
        "rlvmtest-snap-cow",
    ] {
        assert!(!info(&k, n).suspended, "{n} suspended");
    }

    // The snapshot keeps the old data after the origin changes.
    write_at(&origin, 0, &[0xbb; 4096]);
    assert_eq!(
        read_at(&mapper_path("rlvmtest-snap"), 0, 4096),
        vec![0xaa; 4096]
    );
    assert_eq!(read_at(&origin, 0, 4096), vec![0xbb; 4096]);
    let st = lv_state(&k, &v1, "snap");
    assert!(st.known && st.active);
    match st.snapshot {
        Some(SnapshotStatus::Usage {
            allocated,
            metadata: Some(m),
            ..
        }) => assert!(allocated > m, "{allocated} {m}"),
        s => panic!("snapshot status {s:?}"),
    }

    // The listing a plan gets (one DM_LIST_DEVICES with UUIDs, holders
    // from sysfs, tables of the kept devices only) is the full listing's
    // part: here with a foreign device stacked on the snapshot.
    let snap_dev = info(&k, "rlvmtest-snap").dev;
    k.create("rlvmtest-holder", "TEST-holder", false, None)
        .unwrap();
    let holder_table = [rlvm::dm::target::TargetLine::new(
        0,
        8,
        rlvm::dm::target::Target::Linear {
            dev: rlvm::dm::target::DevRef::Num(snap_dev),
            offset: 0,
        },
    )];
    k.load("rlvmtest-holder", &holder_table, false).unwrap();
    k.resume("rlvmtest-holder").unwrap();
    let interest = Interest::for_lvs(&[&v1], &["snap"]);
    type Pick<'a> = &'a dyn Fn(&str, Option<&str>) -> bool;
    let picks: [Pick; 4] = [
        &|n, u| interest.wants(n, u),
        &|n, _| n == "rlvmtest-snap-cow",
        &|_, _| false,
        &|n, _| n.starts_with("rlvmtest-"),
    ];
    let names = |l: &[rlvm::dm::state::KernelDevice]| -> Vec<String> {
        l.iter().map(|d| d.name.clone()).collect()
    };
    for pick in picks {
        let fast = k.list_wanted(pick).unwrap();
        let slow = wanted_with_holders(k.list().unwrap(), pick);
        assert_eq!(fast, slow, "{:?} vs {:?}", names(&fast), names(&slow));
        // Without holders: exactly the picked devices.
        let mut picked = k.list().unwrap();
        picked.retain(|d| pick(&d.name, d.uuid.as_deref()));
        assert_eq!(k.list_picked(pick).unwrap(), picked);
    }
    let fast = names(&k.list_wanted(&|n, u| interest.wants(n, u)).unwrap());
    for n in [
        "rlvmtest-lv",
        "rlvmtest-lv-real",
        "rlvmtest-snap",
        "rlvmtest-snap-cow",
        "rlvmtest-holder",
    ] {
        assert!(fast.contains(&n.to_string()), "{n} not in {fast:?}");
    }
    // The COW's holders are the snapshot and, through it, the foreign device.
    assert_eq!(
        names(&k.list_wanted(&|n, _| n == "rlvmtest-snap-cow").unwrap()),
        ["rlvmtest-holder", "rlvmtest-snap", "rlvmtest-snap-cow"]
    );
    k.remove("rlvmtest-holder").unwrap();

    // Remove the snapshot: origin back to linear, layers gone.
    let ops = plan_remove_snapshot(&v1, &v0, "snap", &pvs, &k.list().unwrap()).unwrap();
    execute_with(&mut k, &ops, &nodes).unwrap();
    assert_eq!(
        table(&k, "rlvmtest-lv"),
        format!("0 65536 linear {} {PE_START}", pvs["pv0"])
    );
    for n in ["rlvmtest-lv-real", "rlvmtest-snap", "rlvmtest-snap-cow"] {
        assert!(k.info(n).unwrap().is_none(), "{n} left behind");
    }
    assert_eq!(read_at(&origin, 0, 4096), vec![0xbb; 4096]);
    let ops = plan_deactivate(&v0, "lv", &k.list().unwrap()).unwrap();
    execute_with(&mut k, &ops, &nodes).unwrap();
    assert!(k.info("rlvmtest-lv").unwrap().is_none());
}
