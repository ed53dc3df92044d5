//! vgsplit's planning rules, and its three commits cut at every write on
//! in-memory PVs: what a later scan reads never loses a PV or an LV.

use std::collections::BTreeSet;

use super::*;
use crate::metadata::device::Fault;
use crate::metadata::id::Id;
use crate::metadata::model::{Flags, Segment, StripeArea};
use crate::metadata::store::{MemOpener, PvLayout};

const DEV_SIZE: usize = 16 << 20;

fn lv(name: &str, visible: bool, kind: SegmentKind, count: u64) -> Lv {
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
            kind,
        }],
    }
}

fn on(pvs: &[(&str, u64)]) -> SegmentKind {
    SegmentKind::Striped {
        stripe_size: (pvs.len() > 1).then_some(128),
        stripes: pvs
            .iter()
            .map(|(pv, pe)| StripeArea {
                pv: pv.to_string(),
                pe: *pe,
            })
            .collect(),
    }
}

fn snap_link(name: &str, origin: &str, cow: &str) -> Lv {
    let kind = SegmentKind::Snapshot {
        chunk_size: 8,
        origin: origin.into(),
        cow: cow.into(),
        merging: false,
    };
    let mut l = lv(name, false, kind, 4);
    l.status = Flags::new(&["READ"]);
    l
}

/// LVs of the test VG: `a` on pv0, `b` on pv1 with snapshot `s` (COW on
/// pv1), `st` striped over pv0 and pv2.
fn lvs() -> Vec<Lv> {
    vec![
        lv("a", true, on(&[("pv0", 0)]), 4),
        lv("b", true, on(&[("pv1", 0)]), 4),
        lv("s", true, on(&[("pv1", 4)]), 2),
        snap_link("snapshot0", "b", "s"),
        lv("st", true, on(&[("pv0", 4), ("pv2", 0)]), 4),
    ]
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

fn test_vg() -> Vg {
    let mut vg = store::new_vg("vg0", 2048, &[]);
    vg.lvs = lvs();
    vg
}

#[test]
fn lvs_wholly_on_moved_pvs_move_with_their_snapshots() {
    let m = plan_moves(&test_vg(), &set(&["pv1"]), |_| false).unwrap();
    assert_eq!(m.lvs, vec!["b", "s", "snapshot0"]);
    let m = plan_moves(&test_vg(), &set(&["pv0", "pv2"]), |_| false).unwrap();
    assert_eq!(m.lvs, vec!["a", "st"]);
}

#[test]
fn an_lv_across_both_sides_or_a_split_snapshot_is_refused() {
    assert_eq!(
        plan_moves(&test_vg(), &set(&["pv2"]), |_| false).unwrap_err(),
        "Can't split Logical Volume st between two Volume Groups"
    );
    let mut vg = test_vg();
    // The COW on pv2, the origin on pv1.
    vg.lvs[2].segments[0].kind = on(&[("pv2", 4)]);
    vg.lvs.retain(|l| l.name != "st");
    assert_eq!(
        plan_moves(&vg, &set(&["pv1"]), |_| false).unwrap_err(),
        "Can't split snapshot s between two Volume Groups"
    );
}

#[test]
fn an_active_lv_that_would_move_is_refused() {
    let vg = test_vg();
    assert_eq!(
        plan_moves(&vg, &set(&["pv1"]), |l| l.name == "b").unwrap_err(),
        "Logical volume vg0/b must be inactive."
    );
    // Active LVs that stay are no obstacle.
    assert!(plan_moves(&vg, &set(&["pv1"]), |l| l.name == "a").is_ok());
}

#[test]
fn lv_option_takes_the_lvs_own_pvs() {
    let vg = test_vg();
    assert_eq!(pvs_of_lv(&vg, "st").unwrap(), set(&["pv0", "pv2"]));
    assert!(matches!(pvs_of_lv(&vg, "nope"), Err(CmdError::Failed(m))
        if m == "Logical volume nope not in volume group vg0"));
}

/// Three in-memory PVs holding vg0 with `lvs()`; their names.
fn setup() -> (MemOpener, Vec<String>) {
    let mut opener = MemOpener::default();
    let mut infos = vec![];
    let mut names = vec![];
    for i in 0..3 {
        let name = format!("/dev/split{i}");
        let d = opener.add(&name, vec![0u8; DEV_SIZE]);
        infos.push(store::create_pv(&d, &name, Id::random(), &PvLayout::default()).unwrap());
        names.push(name);
    }
    let vg = store::new_vg("vg0", 2048, &infos);
    let mut h = VgHandle::new_vg(vg, infos);
    h.vg.lvs = lvs();
    h.commit(&opener, "create").unwrap();
    (opener, names)
}

fn images(o: &MemOpener, names: &[String]) -> Vec<Vec<u8>> {
    names.iter().map(|n| o.devs[n].to_vec()).collect()
}

fn restore(names: &[String], imgs: &[Vec<u8>]) -> MemOpener {
    let mut o = MemOpener::default();
    for (n, img) in names.iter().zip(imgs) {
        o.add(n, img.clone());
    }
    o
}

/// vgsplit vg0 vg1 /dev/split1 (a new vg1) on `o`, as the command does
/// it; the first error stops it (a crash).
fn split(o: &MemOpener, names: &[String]) -> Result<(), store::StoreError> {
    let mut src = store::scan(o, names).vg("vg0")?;
    let moves = plan_moves(&src.vg, &set(&["pv1"]), |_| false).unwrap();
    check_mdas(&src, &moves.pvs).unwrap();
    let part = split_off(&mut src, &moves);
    let mut dest = VgHandle::new_vg(store::new_vg("vg1", 2048, &[]), Vec::new());
    dest.absorb(part);
    write_split(&mut dest, &mut src, &mut |h: &mut VgHandle| {
        h.commit(o, "vgsplit").map(|_| ())
    })
}

#[test]
fn a_split_cut_at_any_write_loses_no_pv_and_no_lv() {
    let (base, names) = setup();
    let before = images(&base, &names);
    let pv_ids: BTreeSet<Id> = store::scan(&base, &names)
        .vg("vg0")
        .unwrap()
        .vg
        .pvs
        .iter()
        .map(|p| p.id)
        .collect();
    let all_lvs = set(&["a", "b", "s", "snapshot0", "st"]);
    // A clean split: vg0 keeps a and st on pv0 and pv2; vg1 has b and its
    // snapshot on pv1, imported.
    let probe = restore(&names, &before);
    split(&probe, &names).unwrap();
    let found = store::scan(&probe, &names);
    let vg0 = found.vg("vg0").unwrap();
    let vg1 = found.vg("vg1").unwrap();
    assert!(vg0.warnings.is_empty() && vg1.warnings.is_empty());
    let names_of =
        |h: &VgHandle| -> BTreeSet<String> { h.vg.lvs.iter().map(|l| l.name.clone()).collect() };
    assert_eq!(names_of(&vg0), set(&["a", "st"]));
    assert_eq!(names_of(&vg1), set(&["b", "s", "snapshot0"]));
    assert_eq!(vg1.pv_paths.values().collect::<Vec<_>>(), vec![&names[1]]);
    let mut cases = 0;
    let (mut saw_step1, mut saw_step2) = (false, false);
    for (victim, name) in names.iter().enumerate() {
        let writes = probe.devs[name].write_calls();
        for n in 0..writes {
            let o = restore(&names, &before);
            o.devs[&names[victim]].set_fault(Some(Fault::FailWriteAfterCalls(n)));
            if split(&o, &names).is_ok() {
                continue;
            }
            cases += 1;
            // What a reboot reads: the devices as the cut left them.
            let o = restore(&names, &images(&o, &names));
            let found = store::scan(&o, &names);
            let src = found
                .vg("vg0")
                .unwrap_or_else(|e| panic!("vg0 unreadable after cut {n} on {name}: {e}"));
            assert!(src.missing.is_empty(), "vg0 lost a PV (cut {n} on {name})");
            let dest = found.vg_allow_exported("vg1").ok();
            // Every PV and every LV is in a VG that reads complete.
            let mut pvs: BTreeSet<Id> = src.vg.pvs.iter().map(|p| p.id).collect();
            let mut lvs = names_of(&src);
            if let Some(d) = &dest {
                assert!(d.missing.is_empty(), "vg1 lost a PV (cut {n} on {name})");
                pvs.extend(d.vg.pvs.iter().map(|p| p.id));
                lvs.extend(names_of(d));
                if d.vg.is_exported() {
                    if src.vg.pvs.len() == 3 {
                        saw_step1 = true;
                    } else {
                        saw_step2 = true;
                    }
                }
            }
            assert_eq!(pvs, pv_ids, "a PV left every VG (cut {n} on {name})");
            assert_eq!(lvs, all_lvs, "an LV was lost (cut {n} on {name})");
            // The source is either untouched or split: never half of it.
            if src.vg.pvs.len() == 3 {
                assert_eq!(names_of(&src), all_lvs);
            } else {
                assert_eq!(names_of(&src), set(&["a", "st"]));
                assert!(dest.is_some(), "the moved PV belongs to no VG");
            }
        }
    }
    assert!(cases > 10, "only {cases} cut points");
    assert!(
        saw_step1 && saw_step2,
        "cuts after step 1 and 2 were not seen"
    );
}

#[test]
fn a_split_into_an_existing_vg_renames_keys_and_keeps_both_vgs_whole() {
    let (o, names) = setup();
    // vg2 on a fourth PV, with an LV of its own.
    let mut o = o;
    let d = o.add("/dev/split3", vec![0u8; DEV_SIZE]);
    let info = store::create_pv(&d, "/dev/split3", Id::random(), &PvLayout::default()).unwrap();
    let mut h2 = VgHandle::new_vg(store::new_vg("vg2", 2048, &[info]), vec![]);
    h2.pvs = store::scan(&o, &["/dev/split3".to_string()])
        .pvs
        .into_iter()
        .map(|p| ("pv0".to_string(), p))
        .collect();
    h2.vg.lvs = vec![lv("c", true, on(&[("pv0", 0)]), 4)];
    h2.commit(&o, "create").unwrap();
    let mut all = names.clone();
    all.push("/dev/split3".into());
    let found = store::scan(&o, &all);
    let mut src = found.vg("vg0").unwrap();
    let mut dest = found.vg("vg2").unwrap();
    check_compatible(&src.vg, &dest.vg, false).unwrap();
    let moves = plan_moves(&src.vg, &set(&["pv1"]), |_| false).unwrap();
    let part = split_off(&mut src, &moves);
    dest.absorb(part);
    write_split(&mut dest, &mut src, &mut |h: &mut VgHandle| {
        h.commit(&o, "vgsplit").map(|_| ())
    })
    .unwrap();
    let found = store::scan(&o, &all);
    let vg2 = found.vg("vg2").unwrap();
    assert!(!vg2.vg.is_exported());
    assert_eq!(vg2.vg.pvs.len(), 2);
    // b's extents now name vg2's key for the moved PV.
    let b = vg2.vg.lv("b").unwrap();
    let SegmentKind::Striped { stripes, .. } = &b.segments[0].kind else {
        panic!("b is striped");
    };
    assert_eq!(vg2.pv_path(&stripes[0].pv), Some(names[1].as_str()));
    assert_eq!(found.vg("vg0").unwrap().vg.pvs.len(), 2);
}

#[test]
fn both_vgs_must_keep_a_metadata_area() {
    let (o, names) = setup();
    let mut src = store::scan(&o, &names).vg("vg0").unwrap();
    // pv1 without areas cannot carry a new VG's metadata.
    src.pvs
        .get_mut("pv1")
        .unwrap()
        .label
        .header
        .metadata_areas
        .clear();
    assert!(
        matches!(check_mdas(&src, &set(&["pv1"])), Err(CmdError::Failed(m))
        if m == "Cannot split: Nowhere to store metadata for new Volume Group")
    );
    // Every PV leaving is allowed (nothing is left to write).
    assert!(check_mdas(&src, &set(&["pv0", "pv1", "pv2"])).is_ok());
}

#[test]
fn an_existing_vg_takes_lvm2s_compatibility_checks() {
    let from = test_vg();
    let mut to = store::new_vg("vg2", 4096, &[]);
    let err = |r: Result<(), CmdError>| match r {
        Err(CmdError::Failed(m)) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        err(check_compatible(&from, &to, true)),
        "Logical volumes in \"vg0\" must be inactive"
    );
    assert_eq!(
        err(check_compatible(&from, &to, false)),
        "Extent sizes differ: 4096 (vg2) and 2048 (vg0)"
    );
    to.extent_size = 2048;
    to.lvs = vec![lv("st", true, on(&[("pv0", 0)]), 1)];
    assert_eq!(
        err(check_compatible(&from, &to, false)),
        "Duplicate logical volume name \"st\" in \"vg2\" and \"vg0\""
    );
}
