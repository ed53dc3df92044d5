//! Crash safety of a metadata commit across several PVs: the commit is cut
//! at every write (and at every byte of the torn write) on each PV in turn,
//! and what a later scan reads must always be exactly the old VG or exactly
//! the new one, never an error or a mix.

use rlvm::metadata::device::Fault;
use rlvm::metadata::id::Id;
use rlvm::metadata::model::Vg;
use rlvm::metadata::store::{self, MemOpener, PvLayout, VgHandle};

const DEV_SIZE: usize = 16 << 20;

/// A VG on three in-memory PVs, committed twice (so areas hold history).
fn setup() -> (MemOpener, Vec<String>, Vg) {
    let mut opener = MemOpener::default();
    let mut infos = vec![];
    let mut names = vec![];
    for i in 0..3 {
        let name = format!("/dev/crash{i}");
        let d = opener.add(&name, vec![0u8; DEV_SIZE]);
        infos.push(store::create_pv(&d, &name, Id::random(), &PvLayout::default()).unwrap());
        names.push(name);
    }
    let vg = store::new_vg("vg0", 2048, &infos);
    let mut h = VgHandle::new_vg(vg, infos);
    h.commit(&opener, "create").unwrap();
    h.vg.tags.push("second".into());
    h.commit(&opener, "second").unwrap();
    (opener, names, (*h.vg).clone())
}

fn snapshot(o: &MemOpener) -> Vec<Vec<u8>> {
    o.devs.values().map(|d| d.to_vec()).collect()
}

fn restore(names: &[String], images: &[Vec<u8>]) -> MemOpener {
    let mut o = MemOpener::default();
    for (n, img) in names.iter().zip(images) {
        o.add(n, img.clone());
    }
    o
}

/// Equal apart from seqno and the `device` hints (rewritten on commit).
fn same_but_seqno(a: &Vg, b: &Vg) -> bool {
    let norm = |v: &Vg| {
        let mut v = v.clone();
        v.seqno = 0;
        v.pvs.iter_mut().for_each(|p| p.device = None);
        v
    };
    norm(a) == norm(b)
}

#[test]
fn a_cut_commit_reads_back_old_or_new() {
    let (base, names, old) = setup();
    let images = snapshot(&base);
    let mut new = old.clone();
    new.tags.push("third".into());
    new.tags.push("x".repeat(100));
    let mut cases = 0;
    let mut saw_old = false;
    let mut saw_new = false;
    for victim in 0..names.len() {
        // Count the writes a clean commit makes on this PV.
        let probe = restore(&names, &images);
        let mut h = store::scan(&probe, &names).vg("vg0").unwrap();
        h.vg = new.clone().into();
        h.commit(&probe, "probe").unwrap();
        let writes = probe.devs[&names[victim]].write_calls();
        // Cut after every write call, and tear writes at many byte budgets
        // (a torn write keeps whole sectors only, as a disk does).
        let faults = (0..writes)
            .map(Fault::FailWriteAfterCalls)
            .chain((0..8192).step_by(300).map(Fault::FailWriteAfterBytes));
        for fault in faults {
            let o = restore(&names, &images);
            o.devs[&names[victim]].set_fault(Some(fault));
            let mut h = store::scan(&o, &names).vg("vg0").unwrap();
            h.vg = new.clone().into();
            let _ = h.commit(&o, "cut");
            // "Reboot": read everything back from the bytes.
            let after = restore(&names, &snapshot(&o));
            let got = store::scan(&after, &names)
                .vg("vg0")
                .unwrap_or_else(|e| panic!("PV {victim}, {fault:?}: {e}"));
            if same_but_seqno(&got.vg, &old) {
                saw_old = true;
                assert_eq!(got.vg.seqno, old.seqno, "PV {victim}, {fault:?}");
            } else if same_but_seqno(&got.vg, &new) {
                saw_new = true;
                assert_eq!(got.vg.seqno, old.seqno + 1, "PV {victim}, {fault:?}");
            } else {
                panic!("PV {victim}, {fault:?}: read a VG that is neither old nor new");
            }
            cases += 1;
        }
    }
    assert!(cases > 10, "only {cases} crash points");
    assert!(saw_old && saw_new, "crash points must cover both outcomes");
}
