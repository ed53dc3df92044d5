//! Property test: a random sequence of metadata changes, each committed
//! through the store onto in-memory PVs and read back from the bytes,
//! always leaves a VG that passes LVM2's invariants and reads back exactly
//! as committed.

use proptest::prelude::*;
use rlvm::metadata::alloc::{allocate, AllocRequest};
use rlvm::metadata::id::Id;
use rlvm::metadata::model::{Flags, Lv, Segment, Vg};
use rlvm::metadata::snapshot;
use rlvm::metadata::store::{self, MemOpener, PvLayout, VgHandle};
use rlvm::metadata::validate::validate_vg;

#[derive(Clone, Debug)]
enum Op {
    Create { extents: u64, stripes: u32 },
    Remove(usize),
    Rename(usize),
    Tag(usize),
    Snapshot { origin: usize, extents: u64 },
    Merge(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u64..20, 1u32..3).prop_map(|(extents, stripes)| Op::Create { extents, stripes }),
        2 => any::<usize>().prop_map(Op::Remove),
        1 => any::<usize>().prop_map(Op::Rename),
        1 => any::<usize>().prop_map(Op::Tag),
        2 => (any::<usize>(), 1u64..4).prop_map(|(origin, extents)| Op::Snapshot { origin, extents }),
        1 => any::<usize>().prop_map(Op::Merge),
    ]
}

fn new_lv(name: &str, visible: bool, segments: Vec<Segment>) -> Lv {
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
        segments,
    }
}

/// Applies one op to the working VG; returns false when it does not apply.
fn apply(vg: &mut Vg, op: &Op, n: &mut u32) -> bool {
    let plain: Vec<String> = vg
        .lvs
        .iter()
        .filter(|l| vg.role(l) == rlvm::metadata::model::LvRole::Plain)
        .map(|l| l.name.clone())
        .collect();
    let cows: Vec<String> = vg.snapshots().iter().map(|s| s.cow.name.clone()).collect();
    *n += 1;
    match op {
        Op::Create { extents, stripes } => {
            let req = AllocRequest {
                extents: *extents * *stripes as u64,
                stripes: *stripes,
                stripe_size: (*stripes > 1).then_some(128),
                pvs: None,
                contiguous: false,
            };
            match allocate(vg, &req) {
                Ok(segs) => {
                    vg.lvs.push(new_lv(&format!("lv{n}"), true, segs));
                    true
                }
                Err(_) => false,
            }
        }
        Op::Remove(i) if !plain.is_empty() => {
            let name = plain[i % plain.len()].clone();
            let snaps: Vec<(String, String)> = vg
                .snapshots_of(&name)
                .iter()
                .map(|s| (s.cow.name.clone(), s.link.name.clone()))
                .collect();
            vg.lvs.retain(|l| {
                l.name != name && !snaps.iter().any(|(c, k)| *c == l.name || *k == l.name)
            });
            true
        }
        Op::Rename(i) if !plain.is_empty() => {
            let old = plain[i % plain.len()].clone();
            snapshot::rename_lv(vg, &old, &format!("renamed{n}"));
            true
        }
        Op::Tag(i) if !vg.lvs.is_empty() => {
            let k = i % vg.lvs.len();
            vg.lvs[k].tags.push(format!("t{n}"));
            true
        }
        Op::Snapshot { origin, extents } if !plain.is_empty() => {
            let o = plain[origin % plain.len()].clone();
            if snapshot::check_snapshot_origin(vg, &o).is_err() {
                return false;
            }
            let req = AllocRequest {
                extents: *extents,
                stripes: 1,
                stripe_size: None,
                pvs: None,
                contiguous: false,
            };
            let Ok(segs) = allocate(vg, &req) else {
                return false;
            };
            let cow = format!("snap{n}");
            vg.lvs.push(new_lv(&cow, false, segs));
            snapshot::add_snapshot(vg, &o, &cow, 8).is_ok()
        }
        Op::Merge(i) if !cows.is_empty() => {
            let cow = cows[i % cows.len()].clone();
            snapshot::start_merge(vg, &cow).is_ok()
        }
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn random_commands_keep_a_valid_vg(ops in prop::collection::vec(op(), 1..25)) {
        let mut opener = MemOpener::default();
        let mut names = vec![];
        let mut infos = vec![];
        for i in 0..3 {
            let name = format!("/dev/test{i}");
            let d = opener.add(&name, vec![0u8; 32 << 20]);
            infos.push(store::create_pv(&d, &name, Id::random(), &PvLayout::default()).unwrap());
            names.push(name);
        }
        let vg = store::new_vg("vg0", 2048, &infos);
        let mut h = VgHandle::new_vg(vg, infos);
        h.commit(&opener, "create").unwrap();
        let mut n = 0;
        for op in &ops {
            let mut work = h.vg.clone();
            if !apply(&mut work, op, &mut n) {
                continue;
            }
            prop_assert!(validate_vg(&work).is_ok(), "{op:?} made an invalid VG: {:?}", validate_vg(&work));
            h.vg = work;
            h.commit(&opener, "step").unwrap();
            let back = store::scan(&opener, &names).vg("vg0").unwrap();
            prop_assert!(back.warnings.is_empty(), "{:?}", back.warnings);
            prop_assert_eq!(&back.vg, &h.vg);
        }
    }
}
