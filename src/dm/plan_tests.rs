//! Planner and executor tests: the printed operation order of every plan,
//! executed against `RecordingKernel`, and the executor's undo with a
//! failure injected at every step.

use super::exec::{execute, ExecError, Kernel};
use super::fake::RecordingKernel;
use super::plan::*;
use super::target::DevNum;
use super::tree::PvDevices;
use crate::metadata::id::Id;
use crate::metadata::model::*;

const ES: u64 = 8192; // 4 MiB extents

fn lv(name: &str, n: u8, segs: Vec<Segment>, visible: bool) -> Lv {
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
        segments: segs,
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

fn pv(key: &str, n: u8) -> Pv {
    Pv {
        key: key.into(),
        id: Id([b'A' + n; 32]),
        device: None,
        device_id_type: None,
        device_id: None,
        status: Flags::new(&["ALLOCATABLE"]),
        flags: Flags::default(),
        tags: vec![],
        dev_size: Some(200 * ES),
        pe_start: 2048,
        pe_count: 100,
        ba_start: None,
        ba_size: None,
    }
}

/// VG `vg` with LV `lv` (10 extents on pv0), no snapshots.
fn base_vg() -> Vg {
    Vg {
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
        pvs: vec![pv("pv0", 0), pv("pv1", 1)],
        lvs: vec![lv("lv", 0, vec![linear("pv0", 0, 10)], true)],
        unsupported: None,
    }
}

fn with_snapshot(mut vg: Vg, cow: &str, n: u8, pe: u64, merging: bool) -> Vg {
    vg.lvs.push(lv(cow, n, vec![linear("pv1", pe, 2)], false));
    let link = vg.next_snapshot_link_name();
    let mut l = lv(
        &link,
        n + 10,
        vec![Segment {
            start_extent: 0,
            extent_count: 10,
            tags: vec![],
            kind: SegmentKind::Snapshot {
                chunk_size: 8,
                origin: "lv".into(),
                cow: cow.into(),
                merging,
            },
        }],
        true,
    );
    l.status.clear("WRITE");
    vg.lvs.push(l);
    vg
}

fn pvs() -> PvDevices {
    [
        ("pv0".to_string(), DevNum::new(8, 16)),
        ("pv1".to_string(), DevNum::new(8, 32)),
    ]
    .into_iter()
    .collect()
}

fn kernel() -> RecordingKernel {
    let mut k = RecordingKernel::new();
    k.add_disk(DevNum::new(8, 16), 200 * ES);
    k.add_disk(DevNum::new(8, 32), 200 * ES);
    k
}

fn lines(ops: &[Op]) -> Vec<String> {
    ops.iter().map(|o| o.to_string()).collect()
}

fn run(k: &mut RecordingKernel, ops: &[Op]) {
    execute(k, ops).unwrap_or_else(|e| panic!("{e}\n{}", format_plan(ops)));
    assert!(
        k.suspended().is_empty(),
        "left suspended: {:?}",
        k.suspended()
    );
    assert!(k.pending().is_empty());
}

fn activate(k: &mut RecordingKernel, vg: &Vg, lv: &str) {
    let ops = plan_activate(vg, lv, &pvs(), &k.list().unwrap()).unwrap();
    run(k, &ops);
}

#[test]
fn activate_linear_then_idempotent() {
    let vg = base_vg();
    let mut k = kernel();
    let ops = plan_activate(&vg, "lv", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        [
            "create vg-lv",
            "load vg-lv: 0 81920 linear 8:16 2048",
            "resume vg-lv"
        ]
    );
    match &ops[0] {
        Op::Create { uuid, .. } => {
            assert_eq!(uuid, &format!("LVM-{}{}", "Z".repeat(32), "a".repeat(32)))
        }
        o => panic!("{o}"),
    }
    run(&mut k, &ops);
    assert!(plan_activate(&vg, "lv", &pvs(), &k.list().unwrap())
        .unwrap()
        .is_empty());
}

#[test]
fn striped_table() {
    let mut vg = base_vg();
    vg.lvs[0].segments = vec![Segment {
        start_extent: 0,
        extent_count: 4,
        tags: vec![],
        kind: SegmentKind::Striped {
            stripe_size: Some(128),
            stripes: vec![
                StripeArea {
                    pv: "pv0".into(),
                    pe: 0,
                },
                StripeArea {
                    pv: "pv1".into(),
                    pe: 5,
                },
            ],
        },
    }];
    let ops = plan_activate(&vg, "lv", &pvs(), &[]).unwrap();
    assert_eq!(
        lines(&ops)[1],
        format!(
            "load vg-lv: 0 32768 striped 2 128 8:16 2048 8:32 {}",
            2048 + 5 * ES
        )
    );
}

#[test]
fn missing_pv_refuses_partial() {
    let vg = base_vg();
    let e = plan_activate(&vg, "lv", &PvDevices::default(), &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Refusing activation of partial LV vg/lv.  Use '--activationmode partial' to override."
    );
}

const ORIGIN_STACK: [&str; 12] = [
    "create vg-lv-real",
    "load vg-lv-real: 0 81920 linear 8:16 2048",
    "resume vg-lv-real",
    "create vg-s1-cow",
    "load vg-s1-cow: 0 16384 linear 8:32 2048",
    "resume vg-s1-cow",
    "create vg-s1",
    "load vg-s1: 0 81920 snapshot vg-lv-real vg-s1-cow P 8",
    "create vg-lv",
    "load vg-lv: 0 81920 snapshot-origin vg-lv-real",
    "resume vg-s1",
    "resume vg-lv",
];

#[test]
fn activate_snapshot_activates_origin_stack() {
    let vg = with_snapshot(base_vg(), "s1", 1, 0, false);
    let mut k = kernel();
    let ops = plan_activate(&vg, "s1", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(lines(&ops), ORIGIN_STACK);
    run(&mut k, &ops);
    assert_eq!(
        k.dump(),
        "vg-lv: 0 81920 snapshot-origin 253:0\n\
         vg-lv-real: 0 81920 linear 8:16 2048\n\
         vg-s1: 0 81920 snapshot 253:0 253:1 P 8\n\
         vg-s1-cow: 0 16384 linear 8:32 2048\n"
    );
    let uuid = |n: &str| k.info(n).unwrap().unwrap().uuid.unwrap();
    let base = format!("LVM-{}", "Z".repeat(32));
    assert_eq!(uuid("vg-lv-real"), format!("{base}{}-real", "a".repeat(32)));
    assert_eq!(uuid("vg-s1-cow"), format!("{base}{}-cow", "b".repeat(32)));
    assert_eq!(uuid("vg-s1"), format!("{base}{}", "b".repeat(32)));
    assert!(plan_activate(&vg, "lv", &pvs(), &k.list().unwrap())
        .unwrap()
        .is_empty());
}

#[test]
fn add_first_and_second_snapshot() {
    let v0 = base_vg();
    let v1 = with_snapshot(v0.clone(), "s1", 1, 0, false);
    let v2 = with_snapshot(v1.clone(), "s2", 2, 2, false);
    let mut k = kernel();
    activate(&mut k, &v0, "lv");
    let ops = plan_add_snapshot(&v0, &v1, "s1", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        [
            "create vg-lv-real",
            "load vg-lv-real: 0 81920 linear 8:16 2048",
            "resume vg-lv-real",
            "create vg-s1-cow",
            "load vg-s1-cow: 0 16384 linear 8:32 2048",
            "resume vg-s1-cow",
            "create vg-s1",
            "load vg-s1: 0 81920 snapshot vg-lv-real vg-s1-cow P 8",
            "load vg-lv: 0 81920 snapshot-origin vg-lv-real",
            "suspend vg-lv",
            "resume vg-s1",
            "resume vg-lv",
        ]
    );
    run(&mut k, &ops);
    // Same state as activating from scratch.
    let mut fresh = kernel();
    activate(&mut fresh, &v1, "lv");
    assert_eq!(
        k.dump().replace("253:1 ", "").len(),
        fresh.dump().replace("253:1 ", "").len()
    );

    // A second snapshot: the origin's table stays, but it is suspended
    // while the new snapshot starts.
    let ops = plan_add_snapshot(&v1, &v2, "s2", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        [
            "create vg-s2-cow",
            "load vg-s2-cow: 0 16384 linear 8:32 18432",
            "resume vg-s2-cow",
            "create vg-s2",
            "load vg-s2: 0 81920 snapshot vg-lv-real vg-s2-cow P 8",
            "suspend vg-lv",
            "resume vg-s2",
            "resume vg-lv",
        ]
    );
    run(&mut k, &ops);

    // Remove one of two: origin suspended around the snapshot's removal.
    let ops = plan_remove_snapshot(&v2, &v1, "s2", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        [
            "suspend vg-lv",
            "remove vg-s2",
            "remove vg-s2-cow",
            "resume vg-lv"
        ]
    );
    run(&mut k, &ops);

    // Remove the last: origin back to linear, -real goes after the resume.
    let ops = plan_remove_snapshot(&v1, &v0, "s1", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        [
            "load vg-lv: 0 81920 linear 8:16 2048",
            "suspend vg-lv",
            "remove vg-s1",
            "remove vg-s1-cow",
            "resume vg-lv",
            "remove vg-lv-real",
        ]
    );
    run(&mut k, &ops);
    assert_eq!(k.names(), ["vg-lv"]);
    assert_eq!(k.dump(), "vg-lv: 0 81920 linear 8:16 2048\n");
}

#[test]
fn snapshot_of_inactive_origin_does_nothing() {
    let v0 = base_vg();
    let v1 = with_snapshot(v0.clone(), "s1", 1, 0, false);
    assert!(plan_add_snapshot(&v0, &v1, "s1", &pvs(), &[])
        .unwrap()
        .is_empty());
}

#[test]
fn deactivate_top_down_and_refuses_open() {
    let vg = with_snapshot(base_vg(), "s1", 1, 0, false);
    let mut k = kernel();
    activate(&mut k, &vg, "lv");
    k.set_open("vg-lv", 1);
    let e = plan_deactivate(&vg, "s1", &k.list().unwrap()).unwrap_err();
    assert_eq!(e.to_string(), "Logical volume vg/lv in use.");
    let e = plan_deactivate_vg(&vg, &k.list().unwrap()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Can't deactivate volume group \"vg\" with 1 open logical volume(s)"
    );
    k.set_open("vg-lv", 0);
    let ops = plan_deactivate(&vg, "lv", &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        [
            "remove vg-lv",
            "remove vg-s1",
            "remove vg-lv-real",
            "remove vg-s1-cow"
        ]
    );
    run(&mut k, &ops);
    assert!(k.names().is_empty());
    assert!(plan_deactivate(&vg, "lv", &[]).unwrap().is_empty());
}

#[test]
fn refresh_reloads_changed_and_cycles_visible() {
    let vg = base_vg();
    let mut k = kernel();
    assert!(plan_refresh(&vg, "lv", &pvs(), &k.list().unwrap())
        .unwrap()
        .is_empty());
    activate(&mut k, &vg, "lv");
    let ops = plan_refresh(&vg, "lv", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(lines(&ops), ["suspend vg-lv", "resume vg-lv"]);
    // The PV moved to another device number: refresh reloads.
    let mut moved = pvs();
    moved.insert("pv0".into(), DevNum::new(8, 32));
    let ops = plan_refresh(&vg, "lv", &moved, &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        [
            "load vg-lv: 0 81920 linear 8:32 2048",
            "suspend vg-lv",
            "resume vg-lv"
        ]
    );
    run(&mut k, &ops);
}

#[test]
fn extend_origin_resumes_grown_real_early() {
    let v1 = with_snapshot(base_vg(), "s1", 1, 0, false);
    let mut v2 = v1.clone();
    let mut seg = linear("pv0", 10, 5);
    seg.start_extent = 10;
    v2.lvs[0].segments.push(seg);
    let mut k = kernel();
    activate(&mut k, &v1, "lv");
    let ops = plan_update(&v1, &v2, "lv", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        [
            "load vg-lv-real: 0 81920 linear 8:16 2048, 81920 40960 linear 8:16 83968",
            "resume vg-lv-real",
            "load vg-lv: 0 122880 snapshot-origin vg-lv-real",
            "suspend vg-lv",
            "resume vg-lv",
        ]
    );
    run(&mut k, &ops);
}

#[test]
fn merging_snapshot_cold_start_at_activation() {
    let vg = with_snapshot(base_vg(), "s1", 1, 0, true);
    let mut k = kernel();
    let ops = plan_activate(&vg, "lv", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        [
            "create vg-lv-real",
            "load vg-lv-real: 0 81920 linear 8:16 2048",
            "resume vg-lv-real",
            "create vg-s1-cow",
            "load vg-s1-cow: 0 16384 linear 8:32 2048",
            "resume vg-s1-cow",
            "create vg-lv",
            "load vg-lv: 0 81920 snapshot-merge vg-lv-real vg-s1-cow P 8",
            "resume vg-lv",
        ]
    );
    run(&mut k, &ops);
    assert!(plan_activate(&vg, "lv", &pvs(), &k.list().unwrap())
        .unwrap()
        .is_empty());
    // Merge finished: the poller drops the snapshot.
    let done = base_vg();
    let ops = plan_remove_snapshot(&vg, &done, "s1", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        [
            "load vg-lv: 0 81920 linear 8:16 2048",
            "suspend vg-lv",
            "resume vg-lv",
            "remove vg-lv-real",
            "remove vg-s1-cow",
        ]
    );
    run(&mut k, &ops);
    assert_eq!(k.names(), ["vg-lv"]);
}

/// The coming `lvconvert --merge` is `plan_update` to merging metadata:
/// LVM's handover order falls out of the generic phases.
#[test]
fn merge_handover_order() {
    let v1 = with_snapshot(base_vg(), "s1", 1, 0, false);
    let v2 = with_snapshot(base_vg(), "s1", 1, 0, true);
    let mut k = kernel();
    activate(&mut k, &v1, "lv");
    let ops = plan_update(&v1, &v2, "lv", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        [
            "load vg-lv: 0 81920 snapshot-merge vg-lv-real vg-s1-cow P 8",
            "load vg-s1: 0 81920 error",
            "suspend vg-s1",
            "suspend vg-lv",
            "resume vg-lv",
            "resume vg-s1",
        ]
    );
    run(&mut k, &ops);
    // Origin open: the merge is postponed, nothing changes.
    let mut k = kernel();
    activate(&mut k, &v1, "lv");
    k.set_open("vg-lv", 1);
    assert!(plan_update(&v1, &v2, "lv", &pvs(), &k.list().unwrap())
        .unwrap()
        .is_empty());
}

/// The end of a merge started by a handover (the snapshot's name kept by
/// an `error` device): while the origin is suspended nothing is removed;
/// the stand-in, `-real` and `-cow` go after the origin is resumed.
#[test]
fn merge_finish_removes_nothing_while_the_origin_is_suspended() {
    let v1 = with_snapshot(base_vg(), "s1", 1, 0, false);
    let v2 = with_snapshot(base_vg(), "s1", 1, 0, true);
    let mut k = kernel();
    activate(&mut k, &v1, "lv");
    let start = plan_update(&v1, &v2, "lv", &pvs(), &k.list().unwrap()).unwrap();
    run(&mut k, &start);
    assert!(k.names().contains(&"vg-s1".to_string()));
    let ops = plan_remove_snapshot(&v2, &base_vg(), "s1", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        [
            "load vg-lv: 0 81920 linear 8:16 2048",
            "suspend vg-lv",
            "resume vg-lv",
            "remove vg-lv-real",
            "remove vg-s1",
            "remove vg-s1-cow",
        ]
    );
    run(&mut k, &ops);
    assert_eq!(k.names(), ["vg-lv"]);
}

#[test]
fn uuid_conflict_is_refused() {
    let vg = base_vg();
    let mut k = kernel();
    k.create("vg-lv", "LVM-other", false, None).unwrap();
    let e = plan_activate(&vg, "lv", &pvs(), &k.list().unwrap()).unwrap_err();
    assert!(matches!(e, PlanError::UuidConflict { .. }), "{e}");
}

/// Every plan, failing at every step: the kernel ends exactly as it
/// started, with nothing suspended and no table pending.
#[test]
fn undo_at_every_step() {
    let v0 = base_vg();
    let v1 = with_snapshot(v0.clone(), "s1", 1, 0, false);
    let v2 = with_snapshot(v1.clone(), "s2", 2, 2, false);
    let v1m = with_snapshot(base_vg(), "s1", 1, 0, true);
    type Setup = fn(&mut RecordingKernel);
    type Planner = Box<dyn Fn(&RecordingKernel) -> Vec<Op>>;
    let cases: Vec<(&str, Setup, Planner)> = vec![
        ("activate origin", |_| {}, {
            let v = v1.clone();
            Box::new(move |k| plan_activate(&v, "lv", &pvs(), &k.list().unwrap()).unwrap())
        }),
        ("add first snapshot", |_| {}, {
            let (a, b) = (v0.clone(), v1.clone());
            Box::new(move |k| plan_add_snapshot(&a, &b, "s1", &pvs(), &k.list().unwrap()).unwrap())
        }),
        ("add second snapshot", |_| {}, {
            let (a, b) = (v1.clone(), v2.clone());
            Box::new(move |k| plan_add_snapshot(&a, &b, "s2", &pvs(), &k.list().unwrap()).unwrap())
        }),
        ("remove last snapshot", |_| {}, {
            let (a, b) = (v1.clone(), v0.clone());
            Box::new(move |k| {
                plan_remove_snapshot(&a, &b, "s1", &pvs(), &k.list().unwrap()).unwrap()
            })
        }),
        ("deactivate", |_| {}, {
            let v = v1.clone();
            Box::new(move |k| plan_deactivate(&v, "lv", &k.list().unwrap()).unwrap())
        }),
        ("merge handover", |_| {}, {
            let (a, b) = (v1.clone(), v1m.clone());
            Box::new(move |k| plan_update(&a, &b, "lv", &pvs(), &k.list().unwrap()).unwrap())
        }),
    ];
    let starts: [(&str, &Vg); 6] = [
        ("activate origin", &v0),
        ("add first snapshot", &v0),
        ("add second snapshot", &v1),
        ("remove last snapshot", &v1),
        ("deactivate", &v1),
        ("merge handover", &v1),
    ];
    for ((name, setup, planner), (_, start)) in cases.iter().zip(starts) {
        let mut base = kernel();
        if name != &"activate origin" {
            activate(&mut base, start, "lv");
        }
        setup(&mut base);
        base.calls.clear();
        let ops = planner(&base);
        assert!(!ops.is_empty(), "{name}");
        let before = base.dump();
        // Count the calls of a clean run.
        let mut clean = base.clone();
        run(&mut clean, &ops);
        let n = clean.calls.len();
        for at in 0..n {
            let mut k = base.clone();
            k.fail_at.insert(at);
            let e = execute(&mut k, &ops).expect_err("injected failure");
            assert!(matches!(e, ExecError::Step { .. }), "{name} at {at}: {e}");
            assert!(
                k.suspended().is_empty(),
                "{name} at {at}: suspended {:?}",
                k.suspended()
            );
            assert!(
                k.pending().is_empty(),
                "{name} at {at}: pending {:?}",
                k.pending()
            );
            assert_eq!(
                normalise(&k.dump()),
                normalise(&before),
                "{name} at {at}: calls {:#?}",
                k.calls
            );
        }
    }
}

/// Re-created devices get new minors; compare tables without them.
fn normalise(dump: &str) -> String {
    let re = regex::Regex::new(r"253:\d+").unwrap();
    re.replace_all(dump, "253:N").into_owned()
}

#[test]
fn failed_undo_reports_both() {
    let v0 = base_vg();
    let v1 = with_snapshot(v0.clone(), "s1", 1, 0, false);
    let mut k = kernel();
    activate(&mut k, &v0, "lv");
    let ops = plan_add_snapshot(&v0, &v1, "s1", &pvs(), &k.list().unwrap()).unwrap();
    k.calls.clear();
    // Fail at "suspend vg-lv" (call 9) and every call after it.
    k.fail_from = Some(9);
    let e = execute(&mut k, &ops).unwrap_err();
    match &e {
        ExecError::UndoFailed { op, undo, .. } => {
            assert_eq!(op, "suspend vg-lv");
            assert!(!undo.is_empty());
        }
        e => panic!("{e}"),
    }
    assert!(e.to_string().contains("undo failed too"), "{e}");
}

#[test]
fn unresolvable_reference_fails_cleanly() {
    let mut k = kernel();
    let ops = vec![
        Op::Create {
            name: "x".into(),
            uuid: "LVM-x".into(),
            read_only: false,
            minor: None,
        },
        Op::Load {
            name: "x".into(),
            table: vec!["0 8 snapshot-origin nowhere".parse().unwrap()],
            read_only: false,
        },
    ];
    assert!(execute(&mut k, &ops).is_err());
    assert!(k.names().is_empty());
}

pub(crate) fn fixture_vg() -> Vg {
    base_vg()
}

/// (vg with origin `lv` + snapshot `s1`, same vg with s1 merging, kernel
/// with the stack active).
pub(crate) fn active_origin_with_snapshot() -> (Vg, Vg, RecordingKernel) {
    let v1 = with_snapshot(base_vg(), "s1", 1, 0, false);
    let v2 = with_snapshot(base_vg(), "s1", 1, 0, true);
    let mut k = kernel();
    activate(&mut k, &v1, "lv");
    (v1, v2, k)
}

pub(crate) fn start_merge(k: &mut RecordingKernel, before: &Vg, after: &Vg) {
    let ops = plan_update(before, after, "lv", &pvs(), &k.list().unwrap()).unwrap();
    run(k, &ops);
}

/// `vg` with LV `old` renamed to `new`, as lvrename edits the metadata.
fn renamed(vg: &Vg, old: &str, new: &str) -> Vg {
    let mut v = vg.clone();
    for l in v.lvs.iter_mut() {
        if l.name == old {
            l.name = new.into();
        }
        for seg in l.segments.iter_mut() {
            if let SegmentKind::Snapshot { origin, cow, .. } = &mut seg.kind {
                if origin == old {
                    *origin = new.into();
                }
                if cow == old {
                    *cow = new.into();
                }
            }
        }
    }
    v
}

/// (name, uuid, table) of every device, sorted by name.
fn devices(k: &RecordingKernel) -> Vec<(String, Option<String>, String)> {
    k.list()
        .unwrap()
        .into_iter()
        .map(|d| (d.name, d.uuid, super::target::format_table(&d.table)))
        .collect()
}

#[test]
fn rename_active_linear_lv() {
    let mut vg = base_vg();
    vg.name = "my-vg".into();
    let mut k = kernel();
    activate(&mut k, &vg, "lv");
    let before = devices(&k);
    let after = renamed(&vg, "lv", "new-lv");
    let ops = plan_rename(&vg, &after, "lv", "new-lv", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(lines(&ops), ["rename my--vg-lv to my--vg-new--lv"]);
    k.calls.clear();
    run(&mut k, &ops);
    assert_eq!(k.calls, ["rename my--vg-lv my--vg-new--lv"]);
    let now = devices(&k);
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].0, "my--vg-new--lv");
    assert_eq!((&now[0].1, &now[0].2), (&before[0].1, &before[0].2));
    // Done: the renamed stack is what activation wants.
    assert!(plan_activate(&after, "new-lv", &pvs(), &k.list().unwrap())
        .unwrap()
        .is_empty());
}

#[test]
fn rename_inactive_lv_does_nothing() {
    let vg = base_vg();
    let k = kernel();
    let after = renamed(&vg, "lv", "x");
    assert!(
        plan_rename(&vg, &after, "lv", "x", &pvs(), &k.list().unwrap())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn rename_active_origin_and_snapshot_bottom_up() {
    let v1 = with_snapshot(base_vg(), "s1", 1, 0, false);
    let mut k = kernel();
    activate(&mut k, &v1, "lv");
    let uuids: Vec<_> = devices(&k).into_iter().map(|d| (d.1, d.2)).collect();
    // The origin: -real first, then the top device; the snapshot's
    // devices keep their names (their tables use numbers).
    let v2 = renamed(&v1, "lv", "o");
    let ops = plan_rename(&v1, &v2, "lv", "o", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        ["rename vg-lv-real to vg-o-real", "rename vg-lv to vg-o"]
    );
    run(&mut k, &ops);
    // The snapshot: its -cow, then itself.
    let v3 = renamed(&v2, "s1", "s-2");
    let ops = plan_rename(&v2, &v3, "s1", "s-2", &pvs(), &k.list().unwrap()).unwrap();
    assert_eq!(
        lines(&ops),
        ["rename vg-s1-cow to vg-s--2-cow", "rename vg-s1 to vg-s--2"]
    );
    run(&mut k, &ops);
    assert_eq!(k.names(), ["vg-o", "vg-o-real", "vg-s--2", "vg-s--2-cow"]);
    let mut now: Vec<_> = devices(&k).into_iter().map(|d| (d.1, d.2)).collect();
    let mut was = uuids;
    now.sort();
    was.sort();
    assert_eq!(now, was, "same UUIDs and tables under the new names");
    assert!(plan_activate(&v3, "o", &pvs(), &k.list().unwrap())
        .unwrap()
        .is_empty());
}

#[test]
fn rename_to_a_taken_name_is_refused() {
    let vg = base_vg();
    let mut k = kernel();
    activate(&mut k, &vg, "lv");
    k.create("vg-x", "LVM-foreign", false, None).unwrap();
    let after = renamed(&vg, "lv", "x");
    let e = plan_rename(&vg, &after, "lv", "x", &pvs(), &k.list().unwrap()).unwrap_err();
    assert!(
        matches!(e, PlanError::UuidConflict { ref name, .. } if name == "vg-x"),
        "{e}"
    );
}

/// A failure at every call of a rename plan: everything renamed back.
#[test]
fn rename_undo_at_every_step() {
    let v1 = with_snapshot(base_vg(), "s1", 1, 0, false);
    let v2 = renamed(&v1, "lv", "o");
    let mut base = kernel();
    activate(&mut base, &v1, "lv");
    base.calls.clear();
    let ops = plan_rename(&v1, &v2, "lv", "o", &pvs(), &base.list().unwrap()).unwrap();
    let before = base.dump();
    for at in 0..ops.len() {
        let mut k = base.clone();
        k.fail_at.insert(at);
        let e = execute(&mut k, &ops).expect_err("injected failure");
        assert!(matches!(e, ExecError::Step { .. }), "at {at}: {e}");
        assert_eq!(k.dump(), before, "at {at}: calls {:#?}", k.calls);
        assert!(k.suspended().is_empty());
    }
    // Failing at the second rename: the first is renamed back.
    let mut k = base.clone();
    k.fail_at.insert(1);
    execute(&mut k, &ops).unwrap_err();
    assert_eq!(
        k.calls,
        [
            "rename vg-lv-real vg-o-real",
            "rename vg-lv vg-o",
            "rename vg-o-real vg-lv-real"
        ]
    );
}

/// A device renamed after it was suspended is resumed under its old name
/// by the undo.
#[test]
fn undo_resumes_renamed_suspended_device_under_old_name() {
    let vg = base_vg();
    let mut k = kernel();
    activate(&mut k, &vg, "lv");
    k.calls.clear();
    let ops = vec![
        Op::Suspend {
            name: "vg-lv".into(),
        },
        Op::Rename {
            from: "vg-lv".into(),
            to: "vg-x".into(),
        },
        Op::Resume {
            name: "vg-nope".into(),
        },
    ];
    execute(&mut k, &ops).unwrap_err();
    assert_eq!(k.names(), ["vg-lv"]);
    assert!(k.suspended().is_empty(), "{:?}", k.calls);
}

fn fixed(vg: &mut Vg, lv: &str, minor: i64) {
    let l = vg.lv_mut(lv).unwrap();
    l.status.set("FIXED_MINOR");
    l.major = Some(253);
    l.minor = Some(minor);
}

#[test]
fn fixed_minor_goes_into_create_of_the_visible_device_only() {
    let mut vg = with_snapshot(base_vg(), "snap", 1, 0, false);
    fixed(&mut vg, "lv", 200);
    fixed(&mut vg, "snap", 201);
    let mut k = kernel();
    let ops = plan_activate(&vg, "lv", &pvs(), &k.list().unwrap()).unwrap();
    let creates: Vec<String> = lines(&ops)
        .into_iter()
        .filter(|l| l.starts_with("create"))
        .collect();
    assert_eq!(
        creates,
        [
            "create vg-lv-real",
            "create vg-snap-cow",
            "create vg-snap (minor 201)",
            "create vg-lv (minor 200)"
        ]
    );
    run(&mut k, &ops);
    let dev = |k: &RecordingKernel, n: &str| k.info(n).unwrap().unwrap().dev;
    assert_eq!(dev(&k, "vg-lv"), DevNum::new(253, 200));
    assert_eq!(dev(&k, "vg-snap"), DevNum::new(253, 201));
    // Without FIXED_MINOR the minor key is ignored.
    let mut vg2 = base_vg();
    vg2.lvs[0].minor = Some(7);
    let ops = plan_activate(&vg2, "lv", &pvs(), &[]).unwrap();
    assert_eq!(lines(&ops)[0], "create vg-lv");
}

#[test]
fn fixed_minor_in_use_fails_and_leaves_nothing() {
    let mut vg = base_vg();
    fixed(&mut vg, "lv", 0);
    let mut k = kernel();
    k.create("other", "LVM-other", false, None).unwrap();
    let ops = plan_activate(&vg, "lv", &pvs(), &k.list().unwrap()).unwrap();
    assert!(execute(&mut k, &ops).is_err());
    assert_eq!(k.names(), ["other"]);
}

/// (name, uuid, table) of every device, device numbers replaced by names,
/// `error` tables (a merging snapshot's handover source) left out.
fn by_name(k: &RecordingKernel) -> Vec<(String, Option<String>, String)> {
    let list = k.list().unwrap();
    let mut names: Vec<(String, String)> = list
        .iter()
        .map(|d| (format!("{}:{}", d.dev.major, d.dev.minor), d.name.clone()))
        .collect();
    names.push(("8:16".into(), "pv0".into()));
    names.push(("8:32".into(), "pv1".into()));
    list.into_iter()
        .map(|d| {
            let mut t = format!("{} ", super::target::format_table(&d.table));
            for (num, name) in &names {
                t = t.replace(&format!(" {num} "), &format!(" {name} "));
            }
            (d.name, d.uuid, t.trim_end().to_string())
        })
        .filter(|(_, _, t)| !t.contains(" error"))
        .collect()
}

/// kill -9 at every step of every plan (no undo runs), then one
/// activation with the metadata on disk (the old, or the new if the commit
/// happened): the kernel ends exactly as a clean activation of that
/// metadata leaves it, with nothing suspended and no inactive table left.
#[test]
fn activation_repairs_every_interrupted_plan() {
    use super::exec::Transaction;
    use super::nodes::Nodes;
    let v0 = base_vg();
    let v1 = with_snapshot(v0.clone(), "s1", 1, 0, false);
    let v2 = with_snapshot(v1.clone(), "s2", 2, 2, false);
    let v1m = with_snapshot(base_vg(), "s1", 1, 0, true);
    let v2m = with_snapshot(
        with_snapshot(base_vg(), "s1", 1, 0, true),
        "s2",
        2,
        2,
        false,
    );
    // (what, metadata before, metadata after, the plan's starting state)
    let cases: Vec<(&str, &Vg, &Vg, Option<&Vg>)> = vec![
        ("activate origin with snapshot", &v1, &v1, None),
        ("add first snapshot", &v0, &v1, Some(&v0)),
        ("add second snapshot", &v1, &v2, Some(&v1)),
        ("remove snapshot", &v2, &v1, Some(&v2)),
        ("remove last snapshot", &v1, &v0, Some(&v1)),
        ("merge handover", &v1, &v1m, Some(&v1)),
        ("merge handover, other snapshot kept", &v2, &v2m, Some(&v2)),
    ];
    let mut cuts = 0;
    for (what, before, after, start) in cases {
        let mut base = kernel();
        if let Some(s) = start {
            activate(&mut base, s, "lv");
        }
        let ops = plan_update(before, after, "lv", &pvs(), &base.list().unwrap()).unwrap();
        let ops = if ops.is_empty() {
            plan_activate(after, "lv", &pvs(), &base.list().unwrap()).unwrap()
        } else {
            ops
        };
        for cut in 0..=ops.len() {
            let mut k = base.clone();
            {
                let nodes = Nodes::disabled();
                let mut tx = Transaction::new(&mut k, &nodes).unwrap();
                tx.run(&ops[..cut]).unwrap();
                // Killed here: the transaction is dropped, nothing undone.
            }
            for meta in [before, after] {
                let mut got = k.clone();
                let plan = plan_activate(meta, "lv", &pvs(), &got.list().unwrap())
                    .unwrap_or_else(|e| panic!("{what}, cut {cut}: {e}"));
                execute(&mut got, &plan).unwrap_or_else(|e| {
                    panic!(
                        "{what}, cut after {cut} of\n{}\nrepair plan failed: {e}\n{}",
                        format_plan(&ops),
                        format_plan(&plan)
                    )
                });
                assert!(got.suspended().is_empty(), "{what}, cut {cut}: suspended");
                assert!(
                    got.pending().is_empty(),
                    "{what}, cut {cut}: inactive tables"
                );
                let mut clean = kernel();
                activate(&mut clean, meta, "lv");
                assert_eq!(
                    by_name(&got),
                    by_name(&clean),
                    "{what}, cut after {cut} of\n{}\nrepair plan:\n{}",
                    format_plan(&ops),
                    format_plan(&plan)
                );
                cuts += 1;
            }
        }
    }
    assert!(cuts > 50, "only {cuts} interrupted states tried");
}

/// A device of the VG that no LV in the metadata owns (a snapshot whose
/// lvcreate was killed before its commit) goes at the next activation;
/// one that is open stays.
#[test]
fn leftover_devices_of_unknown_lvs_are_removed_unless_open() {
    let v0 = base_vg();
    let v1 = with_snapshot(v0.clone(), "s1", 1, 0, false);
    let mut k = kernel();
    activate(&mut k, &v1, "lv");
    let ops = plan_activate(&v0, "lv", &pvs(), &k.list().unwrap()).unwrap();
    let l = lines(&ops);
    assert!(l.contains(&"remove vg-s1".to_string()), "{l:?}");
    assert!(l.contains(&"remove vg-s1-cow".to_string()), "{l:?}");
    run(&mut k, &ops);
    assert_eq!(k.names(), ["vg-lv"]);

    let mut k = kernel();
    activate(&mut k, &v1, "lv");
    k.set_open("vg-s1", 1);
    let ops = plan_activate(&v0, "lv", &pvs(), &k.list().unwrap()).unwrap();
    assert!(!lines(&ops).iter().any(|l| l.contains("vg-s1")), "{ops:?}");
}

/// `vgchange -ay` in one plan: the kernel ends as LV-by-LV activation
/// leaves it; an LV whose PV is missing is refused by name and the others
/// still come up; a second run changes nothing.
#[test]
fn activate_many_equals_one_by_one() {
    let mut vg = with_snapshot(base_vg(), "s1", 2, 0, false);
    vg.lvs
        .push(lv("other", 5, vec![linear("pv0", 20, 3)], true));
    vg.lvs.push(lv("lost", 6, vec![linear("pv9", 0, 1)], true));
    let names: Vec<String> = ["lv", "s1", "other", "lost"].map(String::from).to_vec();

    let mut one_by_one = kernel();
    for lv in &names[..3] {
        activate(&mut one_by_one, &vg, lv);
    }
    assert!(plan_activate(&vg, "lost", &pvs(), &one_by_one.list().unwrap()).is_err());

    let mut together = kernel();
    let (plan, refused) = plan_activate_many(&vg, &names, &pvs(), &together.list().unwrap());
    let ops = plan.unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].0, "lost");
    assert!(refused[0].1.to_string().contains("partial LV vg/lost"));
    // Each device is created and loaded once, though lv and s1 share a stack.
    let creates = lines(&ops)
        .iter()
        .filter(|l| l.starts_with("create "))
        .count();
    assert_eq!(creates, 5, "{}", format_plan(&ops));
    run(&mut together, &ops);
    // Minors differ with the creation order: compare tables by device name.
    let by_name = |k: &RecordingKernel| -> Vec<(String, Option<String>, String)> {
        let list = k.list().unwrap();
        devices(k)
            .into_iter()
            .map(|(name, uuid, mut table)| {
                for d in &list {
                    let num = format!("{}:{}", d.dev.major, d.dev.minor);
                    table = table.replace(&format!(" {num} "), &format!(" {} ", d.name));
                    if table.ends_with(&format!(" {num}")) {
                        table = format!("{} {}", &table[..table.len() - num.len() - 1], d.name);
                    }
                }
                (name, uuid, table)
            })
            .collect()
    };
    assert_eq!(by_name(&together), by_name(&one_by_one));

    let (again, _) = plan_activate_many(&vg, &names, &pvs(), &together.list().unwrap());
    assert!(again.unwrap().is_empty());
}

/// Every plan an LV command builds is the same from `Kernel::list_wanted`
/// with the command's `Interest` as from the full listing, on a kernel
/// that also holds another VG's devices, a leftover of this VG, and a
/// foreign device stacked on one of this VG's LVs.
#[test]
fn plans_from_wanted_listing_are_plans_from_full_listing() {
    use super::exec::wanted_with_holders;
    use super::target::{Target, TargetLine};
    let mut v1 = with_snapshot(base_vg(), "s1", 1, 0, false);
    v1.lvs
        .push(lv("other", 5, vec![linear("pv0", 20, 3)], true));
    let mut k = kernel();
    activate(&mut k, &v1, "lv");
    activate(&mut k, &v1, "other");
    // A leftover: a device of this VG whose LV the metadata lacks.
    let mut gone = v1.clone();
    gone.lvs
        .push(lv("gone", 7, vec![linear("pv0", 40, 1)], true));
    activate(&mut k, &gone, "gone");
    // Another VG, and a foreign device on top of vg-other.
    let mut vg2 = base_vg();
    vg2.name = "vg2".into();
    vg2.id = Id([b'Y'; 32]);
    activate(&mut k, &vg2, "lv");
    let other = k.info("vg-other").unwrap().unwrap().dev;
    k.create("crypt", "CRYPT-1", false, None).unwrap();
    let table = [TargetLine::new(
        0,
        8,
        Target::Linear {
            dev: super::target::DevRef::Num(other),
            offset: 0,
        },
    )];
    k.load("crypt", &table, false).unwrap();
    k.resume("crypt").unwrap();

    let wanted = |vgs: &[&Vg], lvs: &[&str]| {
        let i = Interest::for_lvs(vgs, lvs);
        wanted_with_holders(k.list().unwrap(), &|n, u| i.wants(n, u))
    };
    let full = k.list().unwrap();
    let names = |l: &[super::state::KernelDevice]| -> Vec<String> {
        l.iter().map(|d| d.name.clone()).collect()
    };

    // lvcreate of a plain LV: only the leftover's device is looked at.
    let mut with_new = v1.clone();
    with_new
        .lvs
        .push(lv("new", 8, vec![linear("pv0", 50, 1)], true));
    let w = wanted(&[&v1, &with_new], &["new"]);
    assert_eq!(names(&w), ["vg-gone"]);
    assert_eq!(
        plan_activate(&with_new, "new", &pvs(), &full).unwrap(),
        plan_activate(&with_new, "new", &pvs(), &w).unwrap()
    );
    assert!(!lines(&plan_activate(&with_new, "new", &pvs(), &w).unwrap()).is_empty());

    // lvcreate -s of a second snapshot.
    let v2 = with_snapshot(v1.clone(), "s2", 2, 10, false);
    let w = wanted(&[&v1, &v2], &["s2"]);
    assert!(
        !names(&w).contains(&"vg2-lv".to_string()),
        "{:?}",
        names(&w)
    );
    assert_eq!(
        plan_add_snapshot(&v1, &v2, "s2", &pvs(), &full).unwrap(),
        plan_add_snapshot(&v1, &v2, "s2", &pvs(), &w).unwrap()
    );

    // lvremove of the snapshot, and of the LV a foreign device holds.
    let v0 = {
        let mut v = base_vg();
        v.lvs.push(lv("other", 5, vec![linear("pv0", 20, 3)], true));
        v
    };
    let w = wanted(&[&v1, &v0], &["s1"]);
    assert_eq!(
        plan_remove_snapshot(&v1, &v0, "s1", &pvs(), &full).unwrap(),
        plan_remove_snapshot(&v1, &v0, "s1", &pvs(), &w).unwrap()
    );
    let w = wanted(&[&v1], &["other"]);
    assert!(names(&w).contains(&"crypt".to_string()), "{:?}", names(&w));
    assert_eq!(
        plan_deactivate(&v1, "other", &full).map(|o| lines(&o)),
        plan_deactivate(&v1, "other", &w).map(|o| lines(&o))
    );

    // lvrename of the origin, and the start of a merge.
    let r = renamed(&v1, "lv", "lv2");
    let w = wanted(&[&v1, &r], &["lv", "lv2"]);
    assert_eq!(
        plan_rename(&v1, &r, "lv", "lv2", &pvs(), &full).unwrap(),
        plan_rename(&v1, &r, "lv", "lv2", &pvs(), &w).unwrap()
    );
    let mut m = with_snapshot(base_vg(), "s1", 1, 0, true);
    m.lvs.push(lv("other", 5, vec![linear("pv0", 20, 3)], true));
    let w = wanted(&[&v1, &m], &["s1"]);
    let ops = plan_update(&v1, &m, "lv", &pvs(), &w).unwrap();
    assert!(
        lines(&ops).iter().any(|l| l.contains("snapshot-merge")),
        "{ops:?}"
    );
    assert_eq!(plan_update(&v1, &m, "lv", &pvs(), &full).unwrap(), ops);
}

/// The families index answers as the per-LV scans do: roots, owners,
/// snapshots, device families and stacks, for an origin with two
/// snapshots, a plain LV, a snapshot link, unknown names and other VGs.
#[test]
fn families_index_agrees_with_the_scans() {
    use crate::dm::tree::{
        family_of_device, family_owners, family_root, lv_stack, lv_stack_in, Families,
    };
    let mut vg = with_snapshot(
        with_snapshot(base_vg(), "s1", 1, 0, false),
        "s2",
        2,
        2,
        true,
    );
    vg.lvs
        .push(lv("plain", 5, vec![linear("pv0", 20, 1)], true));
    let fams = Families::new(&vg);
    let k = kernel();
    let names: Vec<String> = vg
        .lvs
        .iter()
        .map(|l| l.name.clone())
        .chain(["nosuch".to_string()])
        .collect();
    for name in &names {
        let scan = family_root(&vg, name);
        let index = fams.root(name);
        assert_eq!(
            scan.as_ref().map(|r| &r.name).map_err(|e| e.to_string()),
            index.as_ref().map(|r| &r.name).map_err(|e| e.to_string()),
            "{name}"
        );
        if let Ok(root) = scan {
            assert_eq!(family_owners(&vg, &root.name), fams.owners(root), "{name}");
            assert_eq!(
                vg.snapshots_of(&root.name),
                fams.snapshots_of(&root.name),
                "{name}"
            );
            let a = lv_stack(&vg, name, &pvs(), &k.list().unwrap()).unwrap();
            let b = lv_stack_in(&fams, name, &pvs(), &k.list().unwrap()).unwrap();
            assert_eq!(a.owners, b.owners, "{name}");
            let nodes = |s: &crate::dm::tree::Stack| {
                s.nodes.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>()
            };
            assert_eq!(nodes(&a), nodes(&b), "{name}");
        }
        for layer in [None, Some("real"), Some("cow")] {
            let dev = crate::dm::names::dm_name("vg", name, layer);
            assert_eq!(family_of_device(&vg, &dev), fams.of_device(&dev), "{dev}");
        }
    }
    assert_eq!(fams.root("s2").unwrap().name, "lv");
    assert_eq!(fams.of_device("other-lv"), None);
}
