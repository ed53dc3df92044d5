//! Operations against the recording kernel and in-memory PVs: the
//! transaction order (what the kernel saw before and after the commit),
//! reverts, and the merge from start to finish.

use std::cell::RefCell;
use std::collections::HashSet;

use super::merge::{self, Deferral, Finished, MergeStart, MergeState};
use super::resize;
use super::*;
use crate::dm::exec::Kernel;
use crate::dm::fake::RecordingKernel;
use crate::dm::nodes::Nodes;
use crate::metadata::device::MemDev;
use crate::metadata::id::Id;
use crate::metadata::model::{Flags, Lv, Segment, SegmentKind, StripeArea};
use crate::metadata::store::{self, MemOpener, PvLayout};

const PV_BYTES: usize = 64 << 20;

/// In-memory PVs; records, at each commit, the kernel calls made so far.
struct MemStorage {
    opener: MemOpener,
    names: Vec<String>,
    devs: PvDevices,
    /// How many kernel calls had been made at each commit.
    calls_at_commit: RefCell<Vec<usize>>,
    kernel: Fake,
}

impl Storage for MemStorage {
    fn commit_around(
        &self,
        h: &mut VgHandle,
        between: &mut dyn FnMut() -> Result<(), OpsError>,
    ) -> Result<(), OpsError> {
        let at = &self.calls_at_commit;
        h.commit_around(&self.opener, "test", || {
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
        use crate::metadata::store::DevOpener;
        self.opener.open(path, true)
    }
}

impl MemStorage {
    fn reread(&self) -> VgHandle {
        store::scan(&self.opener, &self.names).vg("vg").unwrap()
    }
}

type Fake = std::rc::Rc<RefCell<RecordingKernel>>;

/// The recording kernel, shared between the `Dm` under test and the test
/// (which sets open counts, status lines and failures on it).
struct Shared(Fake);

impl Kernel for Shared {
    fn list(&self) -> Result<Vec<crate::dm::state::KernelDevice>, crate::dm::exec::KernelError> {
        self.0.borrow().list()
    }
    fn list_wanted_in(
        &self,
        listed: Vec<crate::dm::ioctl::Listed>,
        want: &dyn Fn(&str, Option<&str>) -> bool,
    ) -> Result<Vec<crate::dm::state::KernelDevice>, crate::dm::exec::KernelError> {
        self.0.borrow().list_wanted_in(listed, want)
    }
    fn info(
        &self,
        name: &str,
    ) -> Result<Option<crate::dm::state::KernelDevice>, crate::dm::exec::KernelError> {
        self.0.borrow().info(name)
    }
    fn status(
        &self,
        name: &str,
    ) -> Result<Vec<(u64, u64, String, String)>, crate::dm::exec::KernelError> {
        self.0.borrow().status(name)
    }
    fn create(
        &mut self,
        name: &str,
        uuid: &str,
        ro: bool,
        minor: Option<u32>,
    ) -> Result<DevNum, crate::dm::exec::KernelError> {
        self.0.borrow_mut().create(name, uuid, ro, minor)
    }
    fn load(
        &mut self,
        name: &str,
        table: &[crate::dm::target::TargetLine],
        ro: bool,
    ) -> Result<(), crate::dm::exec::KernelError> {
        self.0.borrow_mut().load(name, table, ro)
    }
    fn clear(&mut self, name: &str) -> Result<(), crate::dm::exec::KernelError> {
        self.0.borrow_mut().clear(name)
    }
    fn suspend(&mut self, name: &str) -> Result<(), crate::dm::exec::KernelError> {
        self.0.borrow_mut().suspend(name)
    }
    fn resume(&mut self, name: &str) -> Result<(), crate::dm::exec::KernelError> {
        self.0.borrow_mut().resume(name)
    }
    fn remove(&mut self, name: &str) -> Result<(), crate::dm::exec::KernelError> {
        self.0.borrow_mut().remove(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), crate::dm::exec::KernelError> {
        self.0.borrow_mut().rename(from, to)
    }
    fn udev_wait(&mut self) -> Result<(), crate::dm::exec::KernelError> {
        self.0.borrow_mut().udev_wait()
    }
}

fn linear(pv: &str, pe: u64, count: u64) -> Segment {
    Segment {
        start_extent: 0,
        extent_count: count,
        tags: vec![],
        kind: SegmentKind::Striped {
            stripe_size: None,
            stripes: vec![StripeArea { pv: pv.into(), pe }],
        },
    }
}

fn lv(name: &str, visible: bool, segs: Vec<Segment>) -> Lv {
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
        segments: segs,
    }
}

/// VG `vg` on two in-memory PVs with origin `lv` (8 MiB on pv0) and
/// snapshots `s1`, `s2` (2 MiB each on pv1), committed; the kernel has the
/// origin's stack active.
fn setup() -> (MemStorage, VgHandle, Dm, Fake) {
    let mut opener = MemOpener::default();
    let mut infos = vec![];
    let mut names = vec![];
    for i in 0..2 {
        let name = format!("/dev/mem{i}");
        let d: std::sync::Arc<MemDev> = opener.add(&name, vec![0u8; PV_BYTES]);
        infos.push(store::create_pv(&*d, &name, Id::random(), &PvLayout::default()).unwrap());
        names.push(name);
    }
    let mut vg = store::new_vg("vg", 2048, &infos);
    let keys: Vec<String> = vg.pvs.iter().map(|p| p.key.clone()).collect();
    vg.lvs.push(lv("lv", true, vec![linear(&keys[0], 0, 8)]));
    for (i, s) in ["s1", "s2"].iter().enumerate() {
        vg.lvs
            .push(lv(s, false, vec![linear(&keys[1], 2 * i as u64, 2)]));
        crate::metadata::snapshot::add_snapshot(&mut vg, "lv", s, 8).unwrap();
    }
    let mut h = VgHandle::new_vg(vg, infos);
    h.commit(&opener, "setup").unwrap();
    let mut k = RecordingKernel::new();
    let mut devs = PvDevices::default();
    for (i, key) in keys.iter().enumerate() {
        let d = DevNum::new(8, 16 * (i as u32 + 1));
        k.add_disk(d, (PV_BYTES / 512) as u64);
        devs.insert(key.clone(), d);
    }
    let fake: Fake = std::rc::Rc::new(RefCell::new(k));
    let storage = MemStorage {
        opener,
        names,
        devs,
        calls_at_commit: RefCell::new(vec![]),
        kernel: fake.clone(),
    };
    let mut dm = Dm::with_kernel(Box::new(Shared(fake.clone())), Nodes::disabled(), false);
    let out =
        activate::activate_lv(&mut dm, &storage, &h, "lv", &Default::default(), false).unwrap();
    assert!(out.failed.is_empty());
    (storage, h, dm, fake)
}

fn table_type(dm: &Dm, name: &str) -> Option<String> {
    dm.kernel()
        .info(name)
        .unwrap()
        .and_then(|d| d.table.first().map(|t| t.target.target_type().to_string()))
}

fn names(dm: &Dm) -> HashSet<String> {
    dm.list().unwrap().into_iter().map(|d| d.name).collect()
}

fn nothing_suspended(dm: &Dm) {
    for d in dm.list().unwrap() {
        assert!(!d.suspended, "{} left suspended", d.name);
        assert!(!d.inactive_table, "{} left with an inactive table", d.name);
    }
}

#[test]
fn merge_start_hands_over_between_precommit_and_commit() {
    let (st, mut h, mut dm, fake) = setup();
    let seq = h.vg.seqno;
    let start = fake.borrow().calls.len();
    let out = merge::start(Some(&mut dm), &st, &mut h, "s1", false).unwrap();
    assert_eq!(
        out,
        MergeStart::Started {
            origin: "lv".into()
        }
    );
    assert_eq!(table_type(&dm, "vg-lv").as_deref(), Some("snapshot-merge"));
    assert_eq!(table_type(&dm, "vg-s1").as_deref(), Some("error"));
    assert_eq!(table_type(&dm, "vg-s2").as_deref(), Some("snapshot"));
    nothing_suspended(&dm);
    // The commit came after the loads and suspends, before any resume.
    let calls = fake.borrow().calls.clone();
    let at = *st.calls_at_commit.borrow().last().unwrap();
    let before_commit = &calls[start..at];
    let after_commit = &calls[at..];
    assert!(before_commit.iter().any(|c| c.starts_with("load vg-lv")));
    assert!(before_commit.iter().any(|c| c.starts_with("suspend vg-lv")));
    assert!(!before_commit.iter().any(|c| c.starts_with("resume")));
    assert!(after_commit.iter().any(|c| c.starts_with("resume vg-lv")));
    // One commit, and it says merging on disk.
    let back = st.reread();
    assert_eq!(back.vg.seqno, seq + 1);
    assert!(crate::metadata::snapshot::is_merging_cow(&back.vg, "s1"));
}

#[test]
fn merge_deferred_while_origin_or_snapshot_open_changes_no_table() {
    for (open, why) in [
        ("vg-lv", Deferral::OriginOpen),
        ("vg-s1", Deferral::SnapshotOpen),
    ] {
        let (st, mut h, mut dm, fake) = setup();
        let n = fake.borrow().calls.len();
        fake.borrow_mut().set_open(open, 1);
        let out = merge::start(Some(&mut dm), &st, &mut h, "s1", false).unwrap();
        assert_eq!(
            out,
            MergeStart::Deferred {
                origin: "lv".into(),
                why
            }
        );
        assert_eq!(fake.borrow().calls.len(), n, "no kernel call");
        assert_eq!(table_type(&dm, "vg-lv").as_deref(), Some("snapshot-origin"));
        assert!(crate::metadata::snapshot::is_merging_cow(
            &st.reread().vg,
            "s1"
        ));
    }
}

#[test]
fn onactivate_touches_nothing_running_then_activation_starts_it() {
    let (st, mut h, mut dm, fake) = setup();
    let n = fake.borrow().calls.len();
    let out = merge::start(Some(&mut dm), &st, &mut h, "s1", true).unwrap();
    assert!(matches!(
        out,
        MergeStart::Deferred {
            why: Deferral::OnActivate,
            ..
        }
    ));
    assert_eq!(fake.borrow().calls.len(), n);
    assert_eq!(table_type(&dm, "vg-lv").as_deref(), Some("snapshot-origin"));
    // "Reboot": everything down, then activation of the VG.
    activate::deactivate_vg(&mut dm, &h.vg).unwrap();
    assert!(names(&dm).is_empty());
    let h = st.reread();
    let a = activate::activate_vg(&mut dm, &st, &h, &Default::default(), false).unwrap();
    assert_eq!(a.merging, ["lv"]);
    assert_eq!(table_type(&dm, "vg-lv").as_deref(), Some("snapshot-merge"));
    // The merging snapshot's own device is not built on a cold start.
    assert!(!names(&dm).contains("vg-s1"));
    assert!(names(&dm).contains("vg-s2"));
}

#[test]
fn finish_removes_snapshot_in_one_commit_and_keeps_other_snapshots() {
    let (st, mut h, mut dm, fake) = setup();
    merge::start(Some(&mut dm), &st, &mut h, "s1", false).unwrap();
    // Exceptions left: not finished, nothing changes.
    fake.borrow_mut().snapshot_status = "48/4096 16".into();
    assert!(matches!(
        merge::check(&dm, &h.vg, "lv").unwrap(),
        MergeState::Merging { .. }
    ));
    assert!(merge::finish(&mut dm, &st, &mut h, "lv").is_err());
    fake.borrow_mut().snapshot_status = "16/4096 16".into();
    assert_eq!(merge::check(&dm, &h.vg, "lv").unwrap(), MergeState::Done);
    let seq = h.vg.seqno;
    let out = merge::finish(&mut dm, &st, &mut h, "lv").unwrap();
    assert_eq!(out, Finished::Merged { cow: "s1".into() });
    let back = st.reread();
    assert_eq!(back.vg.seqno, seq + 1, "one commit");
    assert!(back.vg.lv("s1").is_none());
    assert_eq!(back.vg.snapshots_of("lv").len(), 1);
    assert_eq!(table_type(&dm, "vg-lv").as_deref(), Some("snapshot-origin"));
    let n = names(&dm);
    assert!(!n.contains("vg-s1") && !n.contains("vg-s1-cow"), "{n:?}");
    assert!(n.contains("vg-s2") && n.contains("vg-lv-real"));
    nothing_suspended(&dm);
    // A second finisher finds nothing to do.
    assert_eq!(
        merge::finish(&mut dm, &st, &mut h, "lv").unwrap(),
        Finished::NotMerging
    );
    // The last snapshot merged: a plain linear origin, no layers left.
    merge::start(Some(&mut dm), &st, &mut h, "s2", false).unwrap();
    merge::finish(&mut dm, &st, &mut h, "lv").unwrap();
    assert_eq!(table_type(&dm, "vg-lv").as_deref(), Some("linear"));
    assert_eq!(names(&dm), HashSet::from(["vg-lv".to_string()]));
}

#[test]
fn kernel_failure_before_commit_commits_nothing_and_leaves_nothing_suspended() {
    let (st, mut h, mut dm, fake) = setup();
    let seq = st.reread().vg.seqno;
    // Fail the first suspend of the handover.
    let base = fake.borrow_mut().calls.len();
    fake.borrow_mut().fail_at = HashSet::from([base + 3]);
    let e = merge::start(Some(&mut dm), &st, &mut h, "s1", false).unwrap_err();
    assert!(!e.to_string().is_empty());
    assert_eq!(st.reread().vg.seqno, seq, "nothing committed");
    assert_eq!(table_type(&dm, "vg-lv").as_deref(), Some("snapshot-origin"));
    nothing_suspended(&dm);
}

#[test]
fn kernel_failure_after_commit_reverts_metadata() {
    let (st, mut h, mut dm, fake) = setup();
    let seq = st.reread().vg.seqno;
    // Every call from the first resume on fails: the resume after the
    // commit, and then the undo's own steps... so allow undo: fail only
    // the first resume.
    let base = fake.borrow().calls.len();
    // load lv, load s1, suspend s1, suspend lv | commit | resume lv ...
    fake.borrow_mut().fail_at = HashSet::from([base + 4]);
    let e = merge::start(Some(&mut dm), &st, &mut h, "s1", false).unwrap_err();
    assert!(matches!(e, OpsError::Reverted { .. }), "{e}");
    let back = st.reread();
    assert_eq!(back.vg.seqno, seq + 2, "committed, then reverted");
    assert!(!crate::metadata::snapshot::is_merging_cow(&back.vg, "s1"));
    assert_eq!(table_type(&dm, "vg-lv").as_deref(), Some("snapshot-origin"));
    nothing_suspended(&dm);
}

#[test]
fn removing_a_merging_snapshot_is_refused_and_hidden_cow_not_activatable() {
    let (st, mut h, mut dm, fake) = setup();
    merge::start(Some(&mut dm), &st, &mut h, "s1", false).unwrap();
    let e = merge::check_removable(Some(&dm), &h.vg, "s1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Can't remove merging snapshot logical volume vg/s1."
    );
    assert!(merge::check_removable(Some(&dm), &h.vg, "s2").is_ok());
    let e = activate::activate_lv(&mut dm, &st, &h, "s1", &Default::default(), false).unwrap_err();
    assert_eq!(e.to_string(), "Operation not permitted on hidden LV vg/s1.");
    // An invalidated merging snapshot may go.
    fake.borrow_mut().snapshot_status = "Invalid".into();
    assert!(merge::check_removable(Some(&dm), &h.vg, "s1").is_ok());
}

#[test]
fn a_glance_reports_what_check_reports_and_only_while_the_kernel_merges() {
    let (st, mut h, mut dm, fake) = setup();
    let dev = merge::MergeDevice::of(&h.vg, "lv").unwrap();
    // Not merging yet: `snapshot-origin` is no merge to glance at.
    assert_eq!(merge::glance(&dm, &dev), None);
    merge::start(Some(&mut dm), &st, &mut h, "s1", false).unwrap();
    fake.borrow_mut().snapshot_status = "48/4096 16".into();
    let MergeState::Merging { merged } = merge::check(&dm, &h.vg, "lv").unwrap() else {
        panic!("not merging")
    };
    assert_eq!(merge::glance(&dm, &dev), Some(merged));
    // Another device under the origin's name (another UUID) is not it.
    let mut other = h.vg.clone();
    other.id = Id::random();
    let stranger = merge::MergeDevice::of(&other, "lv").unwrap();
    assert_eq!(merge::glance(&dm, &stranger), None);
    // Finished, invalid, failed or unreadable: a full look must decide.
    for s in ["16/4096 16", "Invalid", "Merge failed", "0/0 0", "junk"] {
        fake.borrow_mut().snapshot_status = s.into();
        assert_eq!(merge::glance(&dm, &dev), None, "{s}");
    }
    // Deactivated: the device is gone.
    fake.borrow_mut().snapshot_status = "48/4096 16".into();
    activate::deactivate_vg(&mut dm, &h.vg).unwrap();
    assert_eq!(merge::glance(&dm, &dev), None);
}

#[test]
fn read_ahead_of_a_family_asks_by_name_and_of_many_lvs_lists_once() {
    let (_st, h, dm, fake) = setup();
    let family: Vec<String> = ["lv", "s1", "s2"].map(String::from).into();
    let before = fake.borrow().listings.get();
    activate::apply_read_ahead(&dm, &h, &family);
    assert_eq!(
        fake.borrow().listings.get(),
        before,
        "no listing of every device"
    );
    // Names that hold other devices (another VG's UUID): the UUIDs decide,
    // from one listing for all of them.
    let mut other = h.clone();
    other.vg.id = Id::random();
    activate::apply_read_ahead(&dm, &other, &family);
    assert_eq!(fake.borrow().listings.get(), before + 1, "one listing");
    // Many LVs: one listing for all of them.
    let many: Vec<String> = std::iter::repeat_n("lv".to_string(), 9).collect();
    activate::apply_read_ahead(&dm, &h, &many);
    assert_eq!(fake.borrow().listings.get(), before + 2);
}

#[test]
fn poller_errors_tell_invalid_failed_and_not_merging_apart() {
    let (st, mut h, mut dm, fake) = setup();
    assert_eq!(
        merge::check(&dm, &h.vg, "lv").unwrap(),
        MergeState::NotMerging
    );
    merge::start(Some(&mut dm), &st, &mut h, "s1", false).unwrap();
    fake.borrow_mut().snapshot_status = "Invalid".into();
    assert!(matches!(
        merge::check(&dm, &h.vg, "lv"),
        Err(merge::MergeError::Invalid { .. })
    ));
    fake.borrow_mut().snapshot_status = "Merge failed".into();
    let e = merge::check(&dm, &h.vg, "lv").unwrap_err();
    assert_eq!(
        e.to_string(),
        "vg/lv: Merge failed. Retry merge or inspect manually."
    );
    assert!(matches!(
        merge::check(&dm, &h.vg, "nosuch"),
        Err(merge::MergeError::LvGone { .. })
    ));
}

#[test]
fn create_activates_after_commit_and_reverts_when_the_kernel_refuses() {
    let (st, mut h, mut dm, fake) = setup();
    let before = h.vg.clone();
    let key = h.vg.pvs[0].key.clone();
    h.vg.lvs.push(lv("new", true, vec![linear(&key, 20, 4)]));
    lv::create(&mut dm, &st, &mut h, &before, "new", true, None).unwrap();
    assert_eq!(table_type(&dm, "vg-new").as_deref(), Some("linear"));
    assert!(st.reread().vg.lv("new").is_some());
    // Failing resume of the second new LV: metadata goes back.
    let before = h.vg.clone();
    h.vg.lvs.push(lv("new2", true, vec![linear(&key, 30, 4)]));
    let base = fake.borrow().calls.len();
    fake.borrow_mut().fail_at = HashSet::from([base + 2]);
    let e = lv::create(&mut dm, &st, &mut h, &before, "new2", true, None).unwrap_err();
    assert!(e
        .to_string()
        .contains("Aborting. Failed to activate new LV vg/new2."));
    assert!(st.reread().vg.lv("new2").is_none());
    assert!(!names(&dm).contains("vg-new2"));
}

/// lvcreate hands the kernel step the listing its scan made: the plan is
/// built from it (a device it does not name is not seen) and no listing
/// is made for it.
#[test]
fn create_plans_from_the_listing_it_is_given() {
    let (st, mut h, mut dm, fake) = setup();
    let key = h.vg.pvs[0].key.clone();
    let listing = |dm: &Dm| -> Vec<crate::dm::ioctl::Listed> {
        names(dm).into_iter().map(|n| (n, 0, None)).collect()
    };
    // Without a listing: one listing of the kernel for the plan.
    let before = h.vg.clone();
    h.vg.lvs.push(lv("a", true, vec![linear(&key, 20, 4)]));
    let n0 = fake.borrow().listings.get();
    lv::create(&mut dm, &st, &mut h, &before, "a", true, None).unwrap();
    let own = fake.borrow().listings.get() - n0;
    assert!(own >= 1);
    // With the scan's: one listing fewer, the same outcome.
    let before = h.vg.clone();
    h.vg.lvs.push(lv("b", true, vec![linear(&key, 30, 4)]));
    let listed = listing(&dm);
    let n0 = fake.borrow().listings.get();
    lv::create(&mut dm, &st, &mut h, &before, "b", true, Some(listed)).unwrap();
    assert_eq!(fake.borrow().listings.get() - n0, own - 1);
    assert_eq!(table_type(&dm, "vg-b").as_deref(), Some("linear"));
    assert!(st.reread().vg.lv("b").is_some());
    // A device of the new LV's name the listing names makes the plan
    // refuse it, as a listing of the kernel would; one it does not name
    // is not seen by the plan (the create ioctl then refuses it).
    let before = h.vg.clone();
    h.vg.lvs.push(lv("c", true, vec![linear(&key, 40, 4)]));
    let seen = |dm: &Dm, listed| {
        dm.list_for_in(listed, &[&before, &h.vg], &["c"])
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect::<Vec<_>>()
    };
    fake.borrow_mut()
        .create("vg-c", "LVM-stranger", false, None)
        .unwrap();
    assert_eq!(seen(&dm, Some(listing(&dm))), vec!["vg-c".to_string()]);
    assert_eq!(seen(&dm, Some(Vec::new())), Vec::<String>::new());
    assert_eq!(seen(&dm, None), vec!["vg-c".to_string()]);
}

/// The new LV's zeroed start is flushed with the commit's precommit: a
/// start that cannot be flushed fails as LVM2's "Failed to initialize"
/// (LVM2's lvcreate-signature-wiping.sh), a flush that fails once keeps
/// its own error; nothing is committed or left in the kernel either way.
#[test]
fn create_reports_a_zeroed_start_that_cannot_be_flushed() {
    use crate::metadata::device::Fault;
    let (st, mut h, mut dm, _fake) = setup();
    let key = h.vg.pvs[0].key.clone();
    let path = h.pv_path(&key).unwrap().to_string();
    let dev = st.opener.devs[&path].clone();
    let before = h.vg.clone();
    h.vg.lvs.push(lv("new", true, vec![linear(&key, 20, 4)]));
    dev.set_fault(Some(Fault::FailSyncs(2)));
    let e = lv::create(&mut dm, &st, &mut h, &before, "new", true, None).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Failed to initialize logical volume vg/new at position 0"),
        "{e}"
    );
    assert!(st.reread().vg.lv("new").is_none());
    assert!(!names(&dm).contains("vg-new"));
    dev.set_fault(Some(Fault::FailSync));
    let e = lv::create(&mut dm, &st, &mut h, &before, "new", true, None).unwrap_err();
    assert!(!e.to_string().contains("Failed to initialize"), "{e}");
    assert!(e.to_string().contains("injected device fault"), "{e}");
    assert!(st.reread().vg.lv("new").is_none());
    assert!(!names(&dm).contains("vg-new"));
    dev.set_fault(None);
    lv::create(&mut dm, &st, &mut h, &before, "new", true, None).unwrap();
    assert!(st.reread().vg.lv("new").is_some());
    assert!(names(&dm).contains("vg-new"));
}

#[test]
fn commit_point_cuts_after_suspends_or_after_preload() {
    use crate::dm::exec::commit_point;
    use crate::dm::plan::Op;
    let s = |n: &str| Op::Suspend { name: n.into() };
    let r = |n: &str| Op::Resume { name: n.into() };
    let c = |n: &str| Op::Create {
        name: n.into(),
        uuid: n.into(),
        read_only: false,
        minor: None,
    };
    let rm = |n: &str| Op::Remove { name: n.into() };
    assert_eq!(commit_point(&[s("a"), s("b"), r("b"), r("a")]), 2);
    assert_eq!(commit_point(&[c("a"), r("a")]), 1);
    assert_eq!(commit_point(&[rm("a")]), 0);
    assert_eq!(commit_point(&[]), 0);
}

/// Runs `op` and checks udev sync as the root-on-an-origin case needs it:
/// no udev wait while any device is suspended (udev's helper may live on
/// it: the wait would never end), and exactly one wait, after the last
/// kernel call, covering every resume/remove/rename `op` made.
fn one_udev_wait_at_the_end<T>(fake: &Fake, what: &str, op: impl FnOnce() -> T) -> T {
    let (calls0, waits0) = {
        let k = fake.borrow();
        (k.calls.len(), k.udev_waits.len())
    };
    let out = op();
    let k = fake.borrow();
    let calls = &k.calls[calls0..];
    let waits = &k.udev_waits[waits0..];
    for w in waits {
        assert!(
            w.suspended.is_empty(),
            "{what}: udev wait after call {} while {:?} suspended:\n{}",
            w.at,
            w.suspended,
            calls.join("\n")
        );
    }
    let cookies = calls
        .iter()
        .filter(|c| c.starts_with("resume") || c.starts_with("remove") || c.starts_with("rename"))
        .count();
    assert!(
        cookies > 0,
        "{what}: no resume/remove/rename?\n{}",
        calls.join("\n")
    );
    assert_eq!(
        waits.len(),
        1,
        "{what}: udev waits {waits:?}\n{}",
        calls.join("\n")
    );
    assert_eq!(waits[0].at, k.calls.len(), "{what}: the wait is not last");
    assert_eq!(waits[0].covers, cookies, "{what}: the wait misses cookies");
    out
}

#[test]
fn udev_is_waited_for_once_when_nothing_is_suspended_any_more() {
    let (st, mut h, mut dm, fake) = setup();
    // Activation (setup) waited once too, with nothing suspended.
    assert_eq!(fake.borrow().udev_waits.len(), 1);
    assert!(fake.borrow().udev_waits[0].suspended.is_empty());
    let key1 = h.vg.pvs[1].key.clone();

    // lvcreate -s: the origin is suspended while -real/-cow come up.
    let before = h.vg.clone();
    h.vg.lvs.push(lv("s3", false, vec![linear(&key1, 4, 2)]));
    crate::metadata::snapshot::add_snapshot(&mut h.vg, "lv", "s3", 8).unwrap();
    one_udev_wait_at_the_end(&fake, "lvcreate -s", || {
        lv::create(&mut dm, &st, &mut h, &before, "s3", true, None).unwrap()
    });
    assert!(fake.borrow().calls.iter().any(|c| c == "suspend vg-lv"));

    // lvremove of a snapshot: origin suspended, -cow removed.
    let before = h.vg.clone();
    crate::metadata::snapshot::remove_snapshot(&mut h.vg, "s3").unwrap();
    one_udev_wait_at_the_end(&fake, "lvremove snapshot", || {
        lv::remove(Some(&mut dm), &st, &mut h, &before, &["s3".into()]).unwrap()
    });

    // lvrename of the origin with its snapshots.
    let before = h.vg.clone();
    crate::metadata::snapshot::rename_lv(&mut h.vg, "lv", "root");
    one_udev_wait_at_the_end(&fake, "lvrename", || {
        lv::rename(Some(&mut dm), &st, &mut h, &before, "lv", "root").unwrap()
    });
    assert!(names(&dm).contains("vg-root-real"));

    // Merge start: origin and snapshot suspended for the handover.
    one_udev_wait_at_the_end(&fake, "merge start", || {
        merge::start(Some(&mut dm), &st, &mut h, "s1", false).unwrap()
    });
    assert_eq!(
        table_type(&dm, "vg-root").as_deref(),
        Some("snapshot-merge")
    );
    // Merge finish with another snapshot kept, then of the last one.
    one_udev_wait_at_the_end(&fake, "merge finish", || {
        merge::finish(&mut dm, &st, &mut h, "root").unwrap()
    });
    merge::start(Some(&mut dm), &st, &mut h, "s2", false).unwrap();
    one_udev_wait_at_the_end(&fake, "merge finish (last snapshot)", || {
        merge::finish(&mut dm, &st, &mut h, "root").unwrap()
    });
    assert_eq!(names(&dm), HashSet::from(["vg-root".to_string()]));
    nothing_suspended(&dm);
}

#[test]
fn failed_transactions_never_wait_for_udev_while_suspended() {
    // The resume after the commit fails: undone, reverted, then one wait.
    let (st, mut h, mut dm, fake) = setup();
    let base = fake.borrow().calls.len();
    fake.borrow_mut().fail_at = HashSet::from([base + 4]);
    let e = one_udev_wait_at_the_end(&fake, "failed merge start", || {
        merge::start(Some(&mut dm), &st, &mut h, "s1", false).unwrap_err()
    });
    assert!(matches!(e, OpsError::Reverted { .. }), "{e}");
    nothing_suspended(&dm);

    // A failure before the commit: undone, one wait.
    let (st, mut h, mut dm, fake) = setup();
    let base = fake.borrow().calls.len();
    fake.borrow_mut().fail_at = HashSet::from([base + 3]);
    one_udev_wait_at_the_end(&fake, "merge start failing before the commit", || {
        merge::start(Some(&mut dm), &st, &mut h, "s1", false).unwrap_err()
    });
    nothing_suspended(&dm);

    // The undo cannot resume either: devices stay suspended, and rlvm
    // must not wait (it would never return); it returns the error.
    let (st, mut h, mut dm, fake) = setup();
    let (base, waits) = {
        let k = fake.borrow();
        (k.calls.len(), k.udev_waits.len())
    };
    fake.borrow_mut().fail_from = Some(base + 4);
    merge::start(Some(&mut dm), &st, &mut h, "s1", false).unwrap_err();
    let k = fake.borrow();
    assert!(
        !k.suspended().is_empty(),
        "the test needs a device left suspended"
    );
    assert_eq!(
        k.udev_waits.len(),
        waits,
        "waited while suspended: {:?}",
        k.udev_waits
    );
}

/// Total length (sectors) of a device's live table.
fn table_len(dm: &Dm, name: &str) -> u64 {
    dm.kernel()
        .info(name)
        .unwrap()
        .map(|d| d.table.iter().map(|t| t.length).sum())
        .unwrap_or(0)
}

/// Grows `lv` by `n` extents on pv0 (after its last segment) in `h.vg`,
/// with its snapshot links following, as lvextend does.
fn grow(h: &mut VgHandle, lv: &str, pv: usize, pe: u64, n: u64) {
    let key = h.vg.pvs[pv].key.clone();
    let l = h.vg.lv_mut(lv).unwrap();
    let mut seg = linear(&key, pe, n);
    seg.start_extent = l.extent_count();
    l.segments.push(seg);
    crate::metadata::alloc::merge_segments(&mut l.segments);
    resize::follow_origin_size(&mut h.vg, lv);
}

#[test]
fn resize_grows_active_origin_through_real_and_its_snapshots() {
    let (st, mut h, mut dm, _fake) = setup();
    let before = h.vg.clone();
    grow(&mut h, "lv", 0, 8, 4);
    resize::resize(Some(&mut dm), &st, &mut h, &before, "lv").unwrap();
    // 12 extents of 1 MiB: the -real layer, the origin and both snapshots.
    for dev in ["vg-lv-real", "vg-lv", "vg-s1", "vg-s2"] {
        assert_eq!(table_len(&dm, dev), 12 * 2048, "{dev}");
    }
    assert_eq!(table_type(&dm, "vg-lv").as_deref(), Some("snapshot-origin"));
    let back = st.reread();
    assert_eq!(back.vg.lv("lv").unwrap().extent_count(), 12);
    assert!(crate::metadata::validate::validate_vg(&back.vg).is_ok());
    nothing_suspended(&dm);
}

#[test]
fn resize_grows_active_cow() {
    let (st, mut h, mut dm, _fake) = setup();
    let before = h.vg.clone();
    grow(&mut h, "s1", 1, 4, 2);
    resize::resize(Some(&mut dm), &st, &mut h, &before, "s1").unwrap();
    assert_eq!(table_len(&dm, "vg-s1-cow"), 4 * 2048);
    assert_eq!(table_len(&dm, "vg-s1"), 8 * 2048);
    assert_eq!(st.reread().vg.lv("s1").unwrap().extent_count(), 4);
    nothing_suspended(&dm);
}

#[test]
fn resize_kernel_failure_at_any_step_leaves_old_size_and_nothing_suspended() {
    // Count the steps of a successful resize, then fail each in turn.
    let steps = {
        let (st, mut h, mut dm, fake) = setup();
        let before = h.vg.clone();
        let base = fake.borrow().calls.len();
        grow(&mut h, "lv", 0, 8, 4);
        resize::resize(Some(&mut dm), &st, &mut h, &before, "lv").unwrap();
        let n = fake.borrow().calls.len() - base;
        n
    };
    assert!(steps > 3);
    let mut failures = 0;
    for step in 0..steps {
        let (st, mut h, mut dm, fake) = setup();
        let before = h.vg.clone();
        let base = fake.borrow().calls.len();
        fake.borrow_mut().fail_at = HashSet::from([base + step]);
        grow(&mut h, "lv", 0, 8, 4);
        if resize::resize(Some(&mut dm), &st, &mut h, &before, "lv").is_err() {
            failures += 1;
            assert_eq!(
                st.reread().vg.lv("lv").unwrap().extent_count(),
                8,
                "step {step}: old size committed"
            );
            assert_eq!(table_len(&dm, "vg-lv"), 8 * 2048, "step {step}");
        }
        nothing_suspended(&dm);
    }
    assert!(
        failures >= 4,
        "only {failures} of {steps} steps failed the resize"
    );
}

/// `setup`'s VG with five more LVs `l0`..`l4` (1 extent each on pv0), all
/// down; `l2`'s extent lies beyond the end of its disk.
fn many_families() -> (MemStorage, VgHandle, Dm, Fake) {
    let (st, mut h, mut dm, fake) = setup();
    activate::deactivate_vg(&mut dm, &h.vg).unwrap();
    let pv0 = h.vg.pvs[0].key.clone();
    for i in 0..5u64 {
        let pe = if i == 2 { 100_000 } else { 8 + i };
        h.vg.lvs
            .push(lv(&format!("l{i}"), true, vec![linear(&pv0, pe, 1)]));
    }
    (st, h, dm, fake)
}

#[test]
fn vg_activation_runs_families_apart_and_names_the_one_that_failed() {
    let (st, h, mut dm, fake) = many_families();
    fake.borrow_mut().calls.clear();
    let a = activate::activate_vg(&mut dm, &st, &h, &Default::default(), false).unwrap();
    let failed: Vec<&str> = a.failed.iter().map(|(lv, _)| lv.as_str()).collect();
    assert_eq!(failed, ["l2"]);
    assert!(
        a.failed[0].1.to_string().contains("too small"),
        "{}",
        a.failed[0].1
    );
    let up = names(&dm);
    for n in [
        "vg-lv",
        "vg-lv-real",
        "vg-s1",
        "vg-s1-cow",
        "vg-s2",
        "vg-l0",
        "vg-l4",
    ] {
        assert!(up.contains(n), "{n} not up: {up:?}");
    }
    assert!(!up.contains("vg-l2"), "{up:?}");
    nothing_suspended(&dm);
    // The families that succeeded were not run again: l0 was created once.
    let creates = fake
        .borrow()
        .calls
        .iter()
        .filter(|c| *c == "create vg-l0")
        .count();
    assert_eq!(creates, 1, "{:#?}", fake.borrow().calls);
}

#[test]
fn vg_deactivation_takes_down_what_it_can_and_fails() {
    let (st, mut h, mut dm, fake) = many_families();
    // l2 on the disk this time: everything comes up.
    if let SegmentKind::Striped { stripes, .. } = &mut h.vg.lvs.last_mut().unwrap().segments[0].kind
    {
        stripes[0].pe = 12;
    }
    let i = h.vg.lvs.iter().position(|l| l.name == "l2").unwrap();
    if let SegmentKind::Striped { stripes, .. } = &mut h.vg.lvs[i].segments[0].kind {
        stripes[0].pe = 13;
    }
    let a = activate::activate_vg(&mut dm, &st, &h, &Default::default(), false).unwrap();
    assert!(a.failed.is_empty(), "{:?}", a.failed);
    // The removal of l2 fails.
    let before = dm.list().unwrap();
    let ops = crate::dm::plan::plan_deactivate_vg(&h.vg, &before).unwrap();
    let groups = crate::dm::parallel::split_independent(&ops, &before, &|n| {
        crate::dm::tree::family_of_device(&h.vg, n)
    });
    let mut at = fake.borrow().calls.len();
    for g in &groups {
        if g.iter().any(|o| o.name() == "vg-l2") {
            break;
        }
        at += g.len();
    }
    fake.borrow_mut().fail_at = HashSet::from([at]);
    let e = activate::deactivate_vg(&mut dm, &h.vg).unwrap_err();
    assert!(e.to_string().contains("injected"), "{e}");
    assert_eq!(names(&dm), HashSet::from(["vg-l2".to_string()]));
    nothing_suspended(&dm);
}

/// Not a test: `vgchange -ay` and `-an` of 1000 LVs against the recording
/// kernel, for profiling the planning CPU (`valgrind --tool=callgrind` on
/// `cargo test --release --lib -- --ignored thousand_lvs`).
#[test]
#[ignore]
fn thousand_lvs_up_and_down() {
    let (st, mut h, mut dm, _fake) = setup();
    activate::deactivate_vg(&mut dm, &h.vg).unwrap();
    let pv0 = h.vg.pvs[0].key.clone();
    for i in 0..1000u64 {
        h.vg.lvs.push(lv(
            &format!("l{i}"),
            true,
            vec![linear(&pv0, 8 + i % 40, 1)],
        ));
    }
    let a = activate::activate_vg(&mut dm, &st, &h, &Default::default(), false).unwrap();
    assert!(a.failed.is_empty());
    activate::deactivate_vg(&mut dm, &h.vg).unwrap();
}

/// What vgchange -ay takes for the kernel's devices after a plan that ran
/// whole (`listed_after`: one listing, tables from `before` and the plan)
/// is what a full listing says, for a VG brought up cold (origin, snapshot
/// layers, a merging origin) and for one already up (nothing planned).
#[test]
fn listing_after_a_whole_plan_is_the_full_listing() {
    let (st, mut h, mut dm, _fake) = setup();
    merge::start(Some(&mut dm), &st, &mut h, "s1", true).unwrap();
    let key = |d: &crate::dm::state::KernelDevice| {
        (
            d.name.clone(),
            d.uuid.clone(),
            d.dev,
            d.table.clone(),
            d.read_only,
        )
    };
    for cold in [true, false] {
        if cold {
            activate::deactivate_vg(&mut dm, &h.vg).unwrap();
        }
        let h = st.reread();
        let before = dm.list().unwrap();
        let lvs = activate::top_level_lvs(&h.vg);
        let (ops, refused) =
            crate::dm::plan::plan_activate_many(&h.vg, &lvs, &st.pv_devices(&h), &before);
        assert!(refused.is_empty());
        let ops = ops.unwrap();
        assert_eq!(ops.is_empty(), !cold);
        let a = activate::activate_vg(&mut dm, &st, &h, &Default::default(), false).unwrap();
        assert!(a.failed.is_empty());
        assert_eq!(a.merging, ["lv"]);
        let mut after: Vec<_> = activate::listed_after(&dm, &before, &ops)
            .unwrap()
            .iter()
            .map(key)
            .collect();
        let mut full: Vec<_> = dm.list().unwrap().iter().map(key).collect();
        after.sort_by(|a, b| a.0.cmp(&b.0));
        full.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(full.len() >= 4, "{full:?}");
        assert_eq!(after, full);
    }
}
