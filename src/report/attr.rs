//! Attribute strings: `lv_attr` (10 characters), `vg_attr` (6), `pv_attr`
//! (3), computed the way LVM2's `lv_attr_dup` (lib/metadata/lv.c),
//! `_vgstatus_disp` and `_pvstatus_disp` (lib/report/report.c) do, for the
//! LV kinds rlvm models. Pure; the kernel's view comes in as
//! `LvKernelState`.

use super::facts::LvFacts;
use crate::dm::state::{LvKernelState, SnapshotStatus};
use crate::metadata::model::{Lv, LvRole, Pv, SegmentKind, Vg};

/// Allocation-policy letter (`alloc_policy_char` in display.c).
pub fn alloc_char(policy: Option<&str>) -> char {
    match policy.unwrap_or("inherit") {
        "contiguous" => 'c',
        "cling" | "cling_by_tags" => 'l',
        "normal" => 'n',
        "anywhere" => 'a',
        "inherit" => 'i',
        _ => '-',
    }
}

/// The snapshot status that applies to `lv`: its own for a COW, the
/// origin's `snapshot-merge` status for a merging origin or merging COW.
fn snapshot_status(state: &LvKernelState) -> Option<SnapshotStatus> {
    if state.known && state.active {
        state.snapshot
    } else {
        None
    }
}

/// `lv_attr` for one LV.
pub fn lv_attr(vg: &Vg, lv: &Lv, state: &LvKernelState) -> String {
    lv_attr_with(&LvFacts::of(vg, lv), lv, state)
}

/// `lv_attr` for one LV whose snapshot facts are already known.
pub fn lv_attr_with(facts: &LvFacts<'_>, lv: &Lv, state: &LvKernelState) -> String {
    let role = facts.role;
    let cow = &facts.cow;
    let is_origin = facts.is_origin();
    let merging_origin = facts.merging_origin;
    let unknown_seg = lv
        .segments
        .iter()
        .any(|s| matches!(s.kind, SegmentKind::Unknown { .. }));

    // [0] volume type.
    let kind = match (cow, role) {
        (Some(s), _) if s.merging => 'S',
        (Some(_), _) => 's',
        (None, LvRole::SnapshotLink) => 's',
        _ if merging_origin => 'O',
        _ if is_origin => 'o',
        _ => '-',
    };
    // [1] permissions: `R` when the kernel holds a writable LV read-only.
    let perm = if lv.writable() {
        if state.known && state.active && state.read_only {
            'R'
        } else {
            'w'
        }
    } else {
        'r'
    };
    // [2] allocation policy, uppercase when locked.
    let mut alloc = alloc_char(lv.allocation_policy.as_deref());
    if lv.status.has("LOCKED") {
        alloc = alloc.to_ascii_uppercase();
    }
    // [3] fixed minor.
    let fixed = if lv.status.has("FIXED_MINOR") {
        'm'
    } else {
        '-'
    };
    let snap = snapshot_status(state);
    let invalid = cow.is_some() && matches!(snap, Some(SnapshotStatus::Invalid));
    let merge_failed =
        (cow.is_some() || merging_origin) && matches!(snap, Some(SnapshotStatus::MergeFailed));
    // [4] state, [5] open.
    let (st, open) = if !state.known {
        ('X', 'X')
    } else if !state.active {
        ('-', '-')
    } else {
        let st = if state.suspended {
            if invalid {
                'S'
            } else if merge_failed {
                'M'
            } else {
                's'
            }
        } else if invalid {
            'I'
        } else if merge_failed {
            'm'
        } else {
            'a'
        };
        (st, if state.open { 'o' } else { '-' })
    };
    // [6] target type: snapshot and origin both use snapshot targets.
    let target = if cow.is_some() || is_origin || role == LvRole::SnapshotLink {
        's'
    } else if unknown_seg {
        'u'
    } else {
        '-'
    };
    // [7] zero (thin pools only), [8] health, [9] skip activation.
    let zero = '-';
    let health = if unknown_seg && !state.known {
        'X'
    } else {
        '-'
    };
    let skip = if lv.flags.has("ACTIVATION_SKIP") || lv.status.has("ACTIVATION_SKIP") {
        'k'
    } else {
        '-'
    };
    [
        kind, perm, alloc, fixed, st, open, target, zero, health, skip,
    ]
    .iter()
    .collect()
}

/// `vg_attr`: permissions, resizeable, exported, partial, allocation
/// policy, clustered/shared.
pub fn vg_attr(vg: &Vg, partial: bool) -> String {
    let perm = if vg.status.has("WRITE") { 'w' } else { 'r' };
    let resize = if vg.status.has("RESIZEABLE") {
        'z'
    } else {
        '-'
    };
    let exported = if vg.status.has("EXPORTED") { 'x' } else { '-' };
    let part = if partial { 'p' } else { '-' };
    let alloc = match vg.allocation_policy.as_deref().unwrap_or("normal") {
        "contiguous" => 'c',
        "cling" | "cling_by_tags" => 'l',
        "anywhere" => 'a',
        _ => 'n',
    };
    let shared = if vg.status.has("CLUSTERED") { 'c' } else { '-' };
    [perm, resize, exported, part, alloc, shared]
        .iter()
        .collect()
}

/// `pv_attr`: allocatable, exported/used, missing (not found, or flagged
/// MISSING in the metadata). An orphan is `---`.
/// `used`: an orphan whose label says a VG uses it (PV_EXT_USED) though
/// no VG was found: `u` where an allocatable PV has `a` (LVM2's
/// `pv_attr_dup`).
pub fn pv_attr(vg: Option<(&Vg, &Pv)>, missing: bool, used: bool) -> String {
    match vg {
        None if used => "u--".to_string(),
        None => "---".to_string(),
        Some((vg, pv)) => {
            let a = if pv.status.has("ALLOCATABLE") {
                'a'
            } else {
                '-'
            };
            let x = if vg.status.has("EXPORTED") { 'x' } else { '-' };
            let m = if missing || pv.flags.has("MISSING") || pv.status.has("MISSING") {
                'm'
            } else {
                '-'
            };
            [a, x, m].iter().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::example_vg;

    fn st(known: bool, active: bool) -> LvKernelState {
        LvKernelState {
            known,
            active,
            ..Default::default()
        }
    }

    #[test]
    fn example_vg_without_device_mapper() {
        let vg = example_vg();
        let x = st(false, false);
        assert_eq!(lv_attr(&vg, vg.lv("origin").unwrap(), &x), "Owi-XXs---");
        assert_eq!(lv_attr(&vg, vg.lv("snap1").unwrap(), &x), "swi-XXs---");
        assert_eq!(lv_attr(&vg, vg.lv("snap2").unwrap(), &x), "Swi-XXs---");
    }

    #[test]
    fn every_lv_kind() {
        let mut vg = example_vg();
        let off = st(true, false);
        let mut on = st(true, true);
        // Merging origin, active and open (deferred merge).
        on.open = true;
        assert_eq!(lv_attr(&vg, vg.lv("origin").unwrap(), &on), "Owi-aos---");
        assert_eq!(lv_attr(&vg, vg.lv("origin").unwrap(), &off), "Owi---s---");
        // Merging COW, active, not open.
        let mut cow = st(true, true);
        assert_eq!(lv_attr(&vg, vg.lv("snap2").unwrap(), &cow), "Swi-a-s---");
        cow.snapshot = Some(SnapshotStatus::MergeFailed);
        assert_eq!(lv_attr(&vg, vg.lv("snap2").unwrap(), &cow), "Swi-m-s---");
        cow.suspended = true;
        assert_eq!(lv_attr(&vg, vg.lv("snap2").unwrap(), &cow), "Swi-M-s---");
        // Invalid snapshot.
        let mut inv = st(true, true);
        inv.snapshot = Some(SnapshotStatus::Invalid);
        assert_eq!(lv_attr(&vg, vg.lv("snap1").unwrap(), &inv), "swi-I-s---");
        inv.suspended = true;
        assert_eq!(lv_attr(&vg, vg.lv("snap1").unwrap(), &inv), "swi-S-s---");
        // Plain linear LV once the snapshots are gone; read-only and
        // activated read-only; fixed minor; contiguous; suspended.
        vg.lvs.retain(|l| l.name == "origin");
        let origin = vg.lv_mut("origin").unwrap();
        origin.status.set("FIXED_MINOR");
        origin.allocation_policy = Some("contiguous".into());
        let lv = vg.lv("origin").unwrap().clone();
        assert_eq!(lv_attr(&vg, &lv, &off), "-wcm------");
        let mut ro = st(true, true);
        ro.read_only = true;
        assert_eq!(lv_attr(&vg, &lv, &ro), "-Rcma-----");
        ro.suspended = true;
        assert_eq!(lv_attr(&vg, &lv, &ro), "-Rcms-----");
        let mut rdonly = lv.clone();
        rdonly.status.clear("WRITE");
        rdonly.status.clear("FIXED_MINOR");
        rdonly.allocation_policy = None;
        assert_eq!(lv_attr(&vg, &rdonly, &off), "-ri-------");
    }

    #[test]
    fn normal_origin_is_lowercase() {
        let mut vg = example_vg();
        vg.lvs
            .retain(|l| l.name != "snapshot1" && l.name != "snap2");
        let x = st(true, true);
        assert_eq!(lv_attr(&vg, vg.lv("origin").unwrap(), &x), "owi-a-s---");
    }

    #[test]
    fn vg_and_pv_attrs() {
        let vg = example_vg();
        assert_eq!(vg_attr(&vg, false), "wz--n-");
        assert_eq!(pv_attr(Some((&vg, &vg.pvs[0])), false, true), "a--");
        assert_eq!(pv_attr(Some((&vg, &vg.pvs[0])), true, true), "a-m");
        assert_eq!(pv_attr(None, false, false), "---");
        assert_eq!(pv_attr(None, false, true), "u--");
    }
}
