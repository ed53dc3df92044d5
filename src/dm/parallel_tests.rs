//! Tests of `split_independent` (groups share no device, keep their
//! order, cross references keep a plan whole) and of `execute_groups`
//! against the recording kernel, alone and shared by real threads: same
//! end state as one serial transaction, and a failing group undone alone.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::*;
use crate::dm::exec::execute;
use crate::dm::fake::RecordingKernel;
use crate::dm::plan::{plan_activate_many, plan_deactivate_vg};
use crate::dm::target::{Target, TargetLine};
use crate::dm::tree::{family_of_device, PvDevices};
use crate::metadata::id::Id;
use crate::metadata::model::*;

const ES: u64 = 8192; // 4 MiB extents

fn lv(name: &str, n: u32, pe: u64, count: u64) -> Lv {
    let mut id = [0u8; 32];
    id.copy_from_slice(format!("{n:0>32}").as_bytes());
    Lv {
        name: name.into(),
        id: Id(id),
        status: Flags::new(&["READ", "WRITE", "VISIBLE"]),
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
                stripes: vec![StripeArea {
                    pv: "pv0".into(),
                    pe,
                }],
            },
        }],
    }
}

/// VG `vg` on one PV: LVs `l0`.. of 2 extents each; `snaps` of them
/// (every third, from `l1`) with a snapshot `s<i>` of 1 extent.
fn vg(lvs: u32, snaps: &[u32]) -> Vg {
    let mut v = Vg {
        name: "vg".into(),
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
        pvs: vec![Pv {
            key: "pv0".into(),
            id: Id([b'A'; 32]),
            device: None,
            device_id_type: None,
            device_id: None,
            status: Flags::new(&["ALLOCATABLE"]),
            flags: Flags::default(),
            tags: vec![],
            dev_size: Some(400 * ES),
            pe_start: 2048,
            pe_count: 300,
            ba_start: None,
            ba_size: None,
        }],
        lvs: vec![],
        unsupported: None,
    };
    let mut pe = 0;
    for i in 0..lvs {
        v.lvs.push(lv(&format!("l{i}"), i, pe, 2));
        pe += 2;
    }
    for &i in snaps {
        let cow = format!("s{i}");
        let mut c = lv(&cow, 100 + i, pe, 1);
        pe += 1;
        c.status.clear("VISIBLE");
        v.lvs.push(c);
        let link = v.next_snapshot_link_name();
        let mut l = lv(&link, 150 + i, 0, 2);
        l.segments[0].kind = SegmentKind::Snapshot {
            chunk_size: 8,
            origin: format!("l{i}"),
            cow,
            merging: false,
        };
        l.status.clear("WRITE");
        v.lvs.push(l);
    }
    v
}

fn pvs() -> PvDevices {
    [("pv0".to_string(), DevNum::new(8, 16))]
        .into_iter()
        .collect()
}

fn kernel(sectors: u64) -> RecordingKernel {
    let mut k = RecordingKernel::new();
    k.add_disk(DevNum::new(8, 16), sectors);
    k
}

fn top_lvs(v: &Vg) -> Vec<String> {
    v.lvs
        .iter()
        .filter(|l| l.name.starts_with('l'))
        .map(|l| l.name.clone())
        .collect()
}

fn activation(v: &Vg, k: &RecordingKernel) -> Vec<Op> {
    let (plan, refused) = plan_activate_many(v, &top_lvs(v), &pvs(), &k.list().unwrap());
    assert!(refused.is_empty());
    plan.unwrap()
}

fn split(v: &Vg, ops: &[Op], k: &RecordingKernel) -> Vec<Vec<Op>> {
    split_independent(ops, &k.list().unwrap(), &|n| family_of_device(v, n))
}

/// Every device a group names.
fn devices(g: &[Op]) -> HashSet<String> {
    g.iter()
        .flat_map(|o| {
            let mut v = vec![o.name().to_string()];
            if let Op::Load { table, .. } = o {
                for r in table.iter().flat_map(|l| l.target.devices()) {
                    if let DevRef::Name(n) = r {
                        v.push(n.clone());
                    }
                }
            }
            v
        })
        .collect()
}

/// `g` is `ops` with some left out, in the same order.
fn is_subsequence(g: &[Op], ops: &[Op]) -> bool {
    let mut it = ops.iter();
    g.iter().all(|o| it.any(|p| p == o))
}

fn assert_disjoint_and_ordered(groups: &[Vec<Op>], ops: &[Op]) {
    assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), ops.len());
    for (i, g) in groups.iter().enumerate() {
        assert!(is_subsequence(g, ops), "group {i} out of order");
        for h in &groups[i + 1..] {
            let shared: Vec<_> = devices(g).intersection(&devices(h)).cloned().collect();
            assert!(shared.is_empty(), "groups share {shared:?}");
        }
    }
}

#[test]
fn activation_splits_into_families_in_order() {
    let v = vg(6, &[1, 4]);
    let k = kernel(400 * ES);
    let ops = activation(&v, &k);
    let groups = split(&v, &ops, &k);
    assert_eq!(groups.len(), 6);
    assert_disjoint_and_ordered(&groups, &ops);
    // The family of l1: origin, its -real, the snapshot and its COW.
    let g1 = groups
        .iter()
        .find(|g| devices(g).contains("vg-l1"))
        .unwrap();
    let want: HashSet<String> = ["vg-l1", "vg-l1-real", "vg-s1", "vg-s1-cow"]
        .map(String::from)
        .into();
    assert_eq!(devices(g1), want);
    // Groups come in the order of their first op.
    let firsts: Vec<usize> = groups
        .iter()
        .map(|g| ops.iter().position(|o| *o == g[0]).unwrap())
        .collect();
    assert!(firsts.windows(2).all(|w| w[0] < w[1]), "{firsts:?}");
}

#[test]
fn deactivation_splits_by_live_tables() {
    let v = vg(5, &[0, 3]);
    let mut k = kernel(400 * ES);
    let up = activation(&v, &k);
    execute(&mut k, &up).unwrap();
    let ops = plan_deactivate_vg(&v, &k.list().unwrap()).unwrap();
    // Without family knowledge, the live tables still tie each family.
    let groups = split_independent(&ops, &k.list().unwrap(), &|_| None);
    assert_eq!(groups.len(), 5);
    assert_disjoint_and_ordered(&groups, &ops);
    let g0 = groups.iter().find(|g| g[0].name().contains("l0")).unwrap();
    assert_eq!(g0.len(), 4, "{g0:?}");
}

#[test]
fn cross_references_keep_one_group() {
    let v = vg(3, &[]);
    let k = kernel(400 * ES);
    let mut ops = activation(&v, &k);
    assert_eq!(split(&v, &ops, &k).len(), 3);
    // l2's table now sits on l0's device by name: all of l0 and l2 in one.
    for o in ops.iter_mut() {
        if let Op::Load { name, table, .. } = o {
            if name == "vg-l2" {
                table[0].target = Target::Linear {
                    dev: DevRef::Name("vg-l0".into()),
                    offset: 0,
                };
            }
        }
    }
    let groups = split(&v, &ops, &k);
    assert_eq!(groups.len(), 2);
    assert_disjoint_and_ordered(&groups, &ops);
    assert!(devices(&groups[0]).contains("vg-l2"));
    // By number: an existing device's table uses l1's device.
    let mut k = kernel(400 * ES);
    let up = activation(&v, &k);
    execute(&mut k, &up).unwrap();
    let l1 = k.info("vg-l1").unwrap().unwrap().dev;
    let other = vec![
        Op::Create {
            name: "other".into(),
            uuid: "X".into(),
            read_only: false,
            minor: None,
        },
        Op::Load {
            name: "other".into(),
            table: vec![TargetLine {
                start: 0,
                length: 8,
                target: Target::Linear {
                    dev: DevRef::Num(l1),
                    offset: 0,
                },
            }],
            read_only: false,
        },
        Op::Remove {
            name: "vg-l1".into(),
        },
        Op::Remove {
            name: "vg-l0".into(),
        },
    ];
    let groups = split_independent(&other, &k.list().unwrap(), &|_| None);
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].len(), 3);
}

#[test]
fn a_repair_plan_stays_whole() {
    let ops = vec![
        Op::Clear {
            name: "vg-a".into(),
        },
        Op::Remove {
            name: "vg-b".into(),
        },
    ];
    assert_eq!(split_independent(&ops, &[], &|_| None), vec![ops.clone()]);
    assert!(split_independent(&[], &[], &|_| None).is_empty());
}

/// The recording kernel shared by several handles, one call at a time, so
/// that `execute_groups` really runs groups on several threads.
#[derive(Clone)]
struct Shared(Arc<Mutex<RecordingKernel>>);

impl Shared {
    fn k(&self) -> std::sync::MutexGuard<'_, RecordingKernel> {
        self.0.lock().unwrap()
    }
}

impl Kernel for Shared {
    fn list(&self) -> Result<Vec<KernelDevice>, KernelError> {
        self.k().list()
    }
    fn info(&self, name: &str) -> Result<Option<KernelDevice>, KernelError> {
        self.k().info(name)
    }
    fn status(&self, name: &str) -> Result<Vec<(u64, u64, String, String)>, KernelError> {
        self.k().status(name)
    }
    fn create(
        &mut self,
        name: &str,
        uuid: &str,
        ro: bool,
        minor: Option<u32>,
    ) -> Result<DevNum, KernelError> {
        self.k().create(name, uuid, ro, minor)
    }
    fn load(&mut self, name: &str, table: &[TargetLine], ro: bool) -> Result<(), KernelError> {
        self.k().load(name, table, ro)
    }
    fn clear(&mut self, name: &str) -> Result<(), KernelError> {
        self.k().clear(name)
    }
    fn suspend(&mut self, name: &str) -> Result<(), KernelError> {
        self.k().suspend(name)
    }
    fn resume(&mut self, name: &str) -> Result<(), KernelError> {
        // Let the other threads in between.
        std::thread::yield_now();
        self.k().resume(name)
    }
    fn remove(&mut self, name: &str) -> Result<(), KernelError> {
        std::thread::yield_now();
        self.k().remove(name)
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), KernelError> {
        self.k().rename(from, to)
    }
    fn udev_wait(&mut self) -> Result<(), KernelError> {
        self.k().udev_wait()
    }
    fn open_another(&self) -> Option<Box<dyn Kernel + Send>> {
        Some(Box::new(self.clone()))
    }
}

/// The kernel's tables with device numbers replaced by device names
/// (threads take minors in another order).
fn tables(k: &RecordingKernel) -> String {
    let devs = k.list().unwrap();
    let re = regex::Regex::new(r"253:\d+").unwrap();
    re.replace_all(&k.dump(), |c: &regex::Captures| {
        match devs.iter().find(|d| d.dev.to_string() == c[0]) {
            Some(d) => format!("<{}>", d.name),
            None => c[0].to_string(),
        }
    })
    .into_owned()
}

fn serial(k: &RecordingKernel, ops: &[Op]) -> RecordingKernel {
    let mut s = k.clone();
    execute(&mut s, ops).unwrap();
    s
}

#[test]
fn threads_give_the_state_of_one_serial_transaction() {
    let v = vg(24, &[1, 5, 9, 13]);
    let k = kernel(400 * ES);
    let ops = activation(&v, &k);
    let want = serial(&k, &ops);
    for threads in [1, 3, 8] {
        let shared = Shared(Arc::new(Mutex::new(k.clone())));
        let groups = split(&v, &ops, &shared.k());
        assert_eq!(groups.len(), 24);
        let mut h = shared.clone();
        let r = execute_groups(&mut h, &groups, &Nodes::disabled(), threads);
        assert!(r.iter().all(|r| r.is_ok()), "{threads}: {r:?}");
        let got = shared.k().clone();
        assert_eq!(tables(&got), tables(&want), "{threads} threads");
        assert!(got.suspended().is_empty() && got.pending().is_empty());
        // udev: one wait per handle, after every group, nothing suspended.
        assert_eq!(got.udev_waits.len(), threads.min(groups.len()));
        assert!(got.udev_waits.iter().all(|w| w.suspended.is_empty()));
        assert!(got.udev_waits.iter().all(|w| w.at == got.calls.len()));

        // And back down.
        let down = plan_deactivate_vg(&v, &got.list().unwrap()).unwrap();
        let groups = split(&v, &down, &got);
        let r = execute_groups(&mut h, &groups, &Nodes::disabled(), threads);
        assert!(r.iter().all(|r| r.is_ok()), "{threads}: {r:?}");
        assert_eq!(shared.k().names(), Vec::<String>::new());
    }
}

#[test]
fn a_failing_group_is_undone_alone() {
    let mut v = vg(12, &[1, 11]);
    // l11 lies beyond the end of the disk: its family's load fails.
    if let SegmentKind::Striped { stripes, .. } = &mut v.lvs[11].segments[0].kind {
        stripes[0].pe = 280;
    }
    let k = kernel(100 * ES);
    let ops = activation(&v, &k);
    for shared in [true, false] {
        let base = Shared(Arc::new(Mutex::new(k.clone())));
        let groups = split(&v, &ops, &base.k());
        let r = if shared {
            execute_groups(&mut base.clone(), &groups, &Nodes::disabled(), 4)
        } else {
            // The plain fake has no second handle: one thread.
            let mut plain = k.clone();
            let r = execute_groups(&mut plain, &groups, &Nodes::disabled(), 4);
            *base.k() = plain;
            r
        };
        let failed: Vec<usize> = (0..r.len()).filter(|&i| r[i].is_err()).collect();
        assert_eq!(failed.len(), 1, "{r:?}");
        assert!(devices(&groups[failed[0]]).contains("vg-l11"));
        let got = base.k().clone();
        assert!(got.suspended().is_empty() && got.pending().is_empty());
        let names = got.names();
        assert!(!names.iter().any(|n| n.contains("l11") || n.contains("s11")));
        for i in 0..11 {
            assert!(names.contains(&format!("vg-l{i}")), "{names:?}");
        }
        assert!(names.contains(&"vg-s1".to_string()));
    }
}
