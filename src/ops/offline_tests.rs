//! The whole offline merge against the recording kernel and PVs in files:
//! what the kernel saw before, between and after the two commits, the
//! origin's bytes afterwards, and what is left when it is refused or cut
//! short. (The real kernel proves the same in the VM: scenario
//! 20-offline-merge; this pins the order of operations.)

use std::cell::RefCell;
use std::io::{Read, Seek, SeekFrom, Write};
use std::rc::Rc;

use super::offline::{merge_offline, OfflineError, OfflineEvent};
use super::*;
use crate::dm::cow::build_store;
use crate::dm::exec::{Kernel, KernelError};
use crate::dm::fake::RecordingKernel;
use crate::dm::nodes::Nodes;
use crate::dm::state::KernelDevice;
use crate::dm::target::TargetLine;
use crate::metadata::device::FileDev;
use crate::metadata::id::Id;
use crate::metadata::model::{Flags, Lv, Segment, SegmentKind, StripeArea};
use crate::metadata::store::{self, FileOpener, PvLayout};

const PV_BYTES: u64 = 16 << 20;
/// Extent size in sectors (1 MiB).
const EXTENT: u64 = 2048;
/// Chunk size in sectors (4 KiB).
const CHUNK: u64 = 8;

type Fake = Rc<RefCell<RecordingKernel>>;

/// PVs in files, the recording kernel; records the kernel calls made at
/// each commit.
struct FileStorage {
    devs: PvDevices,
    calls_at_commit: RefCell<Vec<usize>>,
    kernel: Fake,
}

impl Storage for FileStorage {
    fn commit_around(
        &self,
        h: &mut VgHandle,
        between: &mut dyn FnMut() -> Result<(), OpsError>,
    ) -> Result<(), OpsError> {
        let at = &self.calls_at_commit;
        h.commit_around(&FileOpener, "test", || {
            between()?;
            at.borrow_mut().push(self.kernel.borrow().calls.len());
            Ok::<(), OpsError>(())
        })
        .map(|_| ())
        .map_err(|e| match e {
            store::CommitError::Store(e) => e.into(),
            store::CommitError::Between(e) => e,
        })
    }
    fn pv_devices(&self, _h: &VgHandle) -> PvDevices {
        self.devs.clone()
    }
    fn open(&self, path: &str) -> std::io::Result<Box<dyn crate::metadata::device::BlockDev>> {
        Ok(Box::new(FileDev::open(path, true)?))
    }
}

struct Shared(Fake);

impl Kernel for Shared {
    fn list(&self) -> Result<Vec<KernelDevice>, KernelError> {
        self.0.borrow().list()
    }
    fn info(&self, name: &str) -> Result<Option<KernelDevice>, KernelError> {
        self.0.borrow().info(name)
    }
    fn status(&self, name: &str) -> Result<Vec<(u64, u64, String, String)>, KernelError> {
        self.0.borrow().status(name)
    }
    fn create(
        &mut self,
        name: &str,
        uuid: &str,
        ro: bool,
        minor: Option<u32>,
    ) -> Result<DevNum, KernelError> {
        self.0.borrow_mut().create(name, uuid, ro, minor)
    }
    fn load(&mut self, name: &str, table: &[TargetLine], ro: bool) -> Result<(), KernelError> {
        self.0.borrow_mut().load(name, table, ro)
    }
    fn clear(&mut self, name: &str) -> Result<(), KernelError> {
        self.0.borrow_mut().clear(name)
    }
    fn suspend(&mut self, name: &str) -> Result<(), KernelError> {
        self.0.borrow_mut().suspend(name)
    }
    fn resume(&mut self, name: &str) -> Result<(), KernelError> {
        self.0.borrow_mut().resume(name)
    }
    fn remove(&mut self, name: &str) -> Result<(), KernelError> {
        self.0.borrow_mut().remove(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), KernelError> {
        self.0.borrow_mut().rename(from, to)
    }
    fn udev_wait(&mut self) -> Result<(), KernelError> {
        self.0.borrow_mut().udev_wait()
    }
}

fn lv(name: &str, visible: bool, pv: &str, pe: u64, count: u64) -> Lv {
    let mut status = Flags::new(&["READ", "WRITE"]);
    if visible {
        status.set("VISIBLE");
    }
    Lv {
        name: name.into(),
        id: Id::random(),
        status,
        flags: Flags::default(),
        tags: vec![],
        creation_time: Some(1_800_000_000),
        creation_host: Some("host".into()),
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

struct Setup {
    _dir: tempfile::TempDir,
    paths: Vec<String>,
    storage: FileStorage,
    h: VgHandle,
    dm: Dm,
    fake: Fake,
    /// The origin's bytes after a correct merge.
    expected: Vec<u8>,
}

/// Byte offset of extent `pe` of PV `i`.
fn pe_offset(h: &VgHandle, i: usize, pe: u64) -> u64 {
    (h.vg.pvs[i].pe_start + pe * h.vg.extent_size) * 512
}

fn read_at(path: &str, off: u64, len: usize) -> Vec<u8> {
    let mut f = std::fs::File::open(path).unwrap();
    f.seek(SeekFrom::Start(off)).unwrap();
    let mut b = vec![0u8; len];
    f.read_exact(&mut b).unwrap();
    b
}

fn write_at(path: &str, off: u64, data: &[u8]) {
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(off)).unwrap();
    f.write_all(data).unwrap();
}

/// VG `vg` on two PVs in files: origin `lv` (4 MiB on pv0) and its only
/// snapshot `s1` (1 MiB COW on pv1) whose store holds exceptions for a
/// few scattered chunks; the origin's stack is active in the kernel when
/// `active`.
fn setup(active: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mut infos = vec![];
    let mut paths = vec![];
    for i in 0..2 {
        let path = dir
            .path()
            .join(format!("pv{i}"))
            .to_str()
            .unwrap()
            .to_string();
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(PV_BYTES).unwrap();
        let d = FileDev::open(&path, true).unwrap();
        infos.push(store::create_pv(&d, &path, Id::random(), &PvLayout::default()).unwrap());
        paths.push(path);
    }
    let mut vg = store::new_vg("vg", EXTENT, &infos);
    let keys: Vec<String> = vg.pvs.iter().map(|p| p.key.clone()).collect();
    vg.lvs.push(lv("lv", true, &keys[0], 0, 4));
    vg.lvs.push(lv("s1", false, &keys[1], 0, 1));
    crate::metadata::snapshot::add_snapshot(&mut vg, "lv", "s1", CHUNK).unwrap();
    let mut h = VgHandle::new_vg(vg, infos);
    h.commit(&FileOpener, "setup").unwrap();

    // Origin: every byte its offset's low byte; COW: chunks 1, 2, 7, 300
    // and 1000 of the origin hold other bytes.
    let origin_len = (4 * EXTENT * 512) as usize;
    let mut expected: Vec<u8> = (0..origin_len).map(|i| (i % 251) as u8).collect();
    write_at(&paths[0], pe_offset(&h, 0, 0), &expected);
    let cb = (CHUNK * 512) as usize;
    let olds = [300u64, 1, 2, 1000, 7];
    let (mut img, exceptions) = build_store(CHUNK, &olds, EXTENT * 512);
    for e in &exceptions {
        let fill = 0xA0u8.wrapping_add(e.old as u8);
        let new = e.new as usize * cb;
        img[new..new + cb].fill(fill);
        expected[e.old as usize * cb..(e.old as usize + 1) * cb].fill(fill);
    }
    write_at(&paths[1], pe_offset(&h, 1, 0), &img);

    let mut k = RecordingKernel::new();
    let mut devs = PvDevices::default();
    for (i, key) in keys.iter().enumerate() {
        let d = DevNum::new(7, i as u32);
        k.add_disk(d, PV_BYTES / 512);
        devs.insert(key.clone(), d);
    }
    let fake: Fake = Rc::new(RefCell::new(k));
    let storage = FileStorage {
        devs,
        calls_at_commit: RefCell::new(vec![]),
        kernel: fake.clone(),
    };
    let mut dm = Dm::with_kernel(Box::new(Shared(fake.clone())), Nodes::disabled(), false);
    if active {
        let out =
            activate::activate_lv(&mut dm, &storage, &h, "lv", &Default::default(), false).unwrap();
        assert!(out.failed.is_empty());
    }
    fake.borrow_mut().calls.clear();
    Setup {
        _dir: dir,
        paths,
        storage,
        h,
        dm,
        fake,
        expected,
    }
}

fn reread(paths: &[String]) -> VgHandle {
    store::scan(&FileOpener, paths).vg("vg").unwrap()
}

fn origin_bytes(s: &Setup) -> Vec<u8> {
    read_at(&s.paths[0], pe_offset(&s.h, 0, 0), s.expected.len())
}

fn table_types(dm: &Dm) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = dm
        .list()
        .unwrap()
        .into_iter()
        .map(|d| {
            let t = d
                .table
                .first()
                .map(|t| t.target.target_type().to_string())
                .unwrap_or_default();
            (d.name, t)
        })
        .collect();
    v.sort();
    v
}

fn run(s: &mut Setup, events: &mut Vec<OfflineEvent>) -> Result<offline::OfflineDone, OpsError> {
    merge_offline(
        Some(&mut s.dm),
        &s.storage,
        &mut s.h,
        "s1",
        copy::EngineOptions {
            threads: 2,
            batch_bytes: 64 << 10,
            flush_every: 128 << 10,
        },
        false,
        &mut |e| events.push(e),
    )
}

#[test]
fn active_origin_is_deactivated_merged_in_two_commits_and_reactivated_linear() {
    let mut s = setup(true);
    let before = table_types(&s.dm);
    assert!(
        before.iter().any(|(_, t)| t == "snapshot"),
        "setup: the snapshot is active: {before:?}"
    );
    let mut events = vec![];
    let done = run(&mut s, &mut events).unwrap();
    assert!(done.reactivated);
    assert_eq!(done.origin, "lv");

    // Bytes: every exception's chunk copied, everything else untouched.
    assert!(
        origin_bytes(&s) == s.expected,
        "origin bytes after the merge"
    );

    // Metadata: the snapshot is gone in what is on disk, the origin is a
    // plain LV.
    let h = reread(&s.paths);
    assert!(h.vg.lv("s1").is_none() && h.vg.snapshots_of("lv").is_empty());
    assert!(h.vg.lv("lv").is_some());

    // Kernel: all of the old stack removed before the first commit (the
    // merge flag), nothing between the two commits (the copy), the origin
    // back as one linear device after the second.
    let calls = s.fake.borrow().calls.clone();
    let at = s.storage.calls_at_commit.borrow().clone();
    assert_eq!(
        at.len(),
        2,
        "two commits: flag, then finish; calls {calls:?}"
    );
    let (first, second) = (at[0], at[1]);
    assert!(
        calls[..first].iter().all(|c| c.starts_with("remove")
            || c.starts_with("suspend")
            || c.starts_with("resume")
            || c.starts_with("load")
            || c.starts_with("clear")),
        "only teardown before the flag's commit: {:?}",
        &calls[..first]
    );
    assert!(
        calls[..first].iter().any(|c| c == "remove vg-lv"),
        "origin removed before the flag's commit: {calls:?}"
    );
    assert_eq!(first, second, "no kernel call during the copy: {calls:?}");
    assert!(
        calls[second..].iter().any(|c| c == "create vg-lv"),
        "origin created after the finish commit: {calls:?}"
    );
    assert_eq!(
        table_types(&s.dm),
        vec![("vg-lv".to_string(), "linear".to_string())],
        "only the origin is left, linear"
    );
    for d in s.dm.list().unwrap() {
        assert!(
            !d.suspended && !d.inactive_table,
            "{} left suspended",
            d.name
        );
    }
    // Progress: started once, then byte counts up to the total.
    assert_eq!(events.first(), Some(&OfflineEvent::Started));
    match events.last() {
        Some(OfflineEvent::Copied { done, total }) => assert_eq!(done, total),
        e => panic!("last event {e:?}"),
    }
}

#[test]
fn inactive_origin_is_merged_without_touching_the_kernel() {
    let mut s = setup(false);
    let mut events = vec![];
    let done = run(&mut s, &mut events).unwrap();
    assert!(!done.reactivated);
    assert!(origin_bytes(&s) == s.expected);
    assert!(reread(&s.paths).vg.lv("s1").is_none());
    assert!(
        s.fake.borrow().calls.is_empty(),
        "{:?}",
        s.fake.borrow().calls
    );
    assert!(s.dm.list().unwrap().is_empty());
}

#[test]
fn open_origin_or_other_snapshots_refuse_and_change_nothing() {
    // Open origin: refused before any kernel call or write.
    let mut s = setup(true);
    let tables = table_types(&s.dm);
    let origin = origin_bytes(&s);
    let seqno = reread(&s.paths).vg.seqno;
    s.fake.borrow_mut().set_open("vg-lv", 1);
    let err = run(&mut s, &mut vec![]).unwrap_err();
    assert!(
        matches!(err, OpsError::Offline(OfflineError::Open { .. })),
        "{err}"
    );
    assert!(s.fake.borrow().calls.is_empty());
    assert_eq!(table_types(&s.dm), tables);
    assert!(origin_bytes(&s) == origin);
    assert_eq!(reread(&s.paths).vg.seqno, seqno);

    // A second snapshot of the origin: refused, nothing changed.
    let mut s = setup(false);
    let key = s.h.vg.pvs[1].key.clone();
    s.h.vg.lvs.push(lv("s2", false, &key, 2, 1));
    crate::metadata::snapshot::add_snapshot(&mut s.h.vg, "lv", "s2", CHUNK).unwrap();
    s.h.commit(&FileOpener, "s2").unwrap();
    let seqno = reread(&s.paths).vg.seqno;
    let origin = origin_bytes(&s);
    let err = run(&mut s, &mut vec![]).unwrap_err();
    assert!(
        matches!(
            err,
            OpsError::Offline(OfflineError::OtherSnapshots { ref others, .. }) if others == "s2"
        ),
        "{err}"
    );
    assert_eq!(reread(&s.paths).vg.seqno, seqno);
    assert!(origin_bytes(&s) == origin);
}

#[test]
fn invalid_cow_refuses_and_puts_the_activation_back() {
    let mut s = setup(true);
    let tables = table_types(&s.dm);
    let seqno = reread(&s.paths).vg.seqno;
    // The kernel's "invalid" header: valid = 0.
    let hdr = pe_offset(&s.h, 1, 0) + 4;
    write_at(&s.paths[1], hdr, &0u32.to_le_bytes());
    let origin = origin_bytes(&s);
    let err = run(&mut s, &mut vec![]).unwrap_err();
    assert!(err.to_string().contains("invalidated"), "{err}");
    // Nothing committed, the bytes untouched, the stack active again as
    // it was (a snapshot on its origin), nothing suspended.
    assert_eq!(reread(&s.paths).vg.seqno, seqno);
    assert!(origin_bytes(&s) == origin);
    assert_eq!(table_types(&s.dm), tables);
    for d in s.dm.list().unwrap() {
        assert!(
            !d.suspended && !d.inactive_table,
            "{} left suspended",
            d.name
        );
    }
}
