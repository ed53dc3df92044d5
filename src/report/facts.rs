//! The snapshot facts of an LV that report fields read (LVM2's
//! `lv_is_cow`, `lv_is_origin`, `lv_is_merging_origin`, `lv_is_visible`),
//! computed once per LV instead of once per field.
//!
//! LVM2 stores no origin or COW flag: the facts come from the `snapshotN`
//! LVs of the VG, so asking the model for them costs a scan of the VG's
//! LVs. A report over a large VG asks for every LV, so `SnapIndex` makes
//! that one pass per VG, and `LvFacts` carries the answers for one LV
//! through all of its fields. Pure.

use rustc_hash::FxHashMap as HashMap;

use crate::metadata::model::{Lv, LvRole, SnapshotRef, Vg};

/// What the report fields of one LV need to know about snapshots.
#[derive(Clone, Debug)]
pub struct LvFacts<'a> {
    pub role: LvRole,
    /// LVM2's `lv_is_visible`.
    pub visible: bool,
    /// The snapshot whose COW this LV is.
    pub cow: Option<SnapshotRef<'a>>,
    /// How many snapshots have this LV as their origin.
    pub snapshots: usize,
    /// This LV is the origin of a merging snapshot.
    pub merging_origin: bool,
}

impl<'a> LvFacts<'a> {
    /// The facts from the model's queries (each a scan of the VG): for
    /// one-off callers.
    pub fn of(vg: &'a Vg, lv: &'a Lv) -> Self {
        LvFacts {
            role: vg.role(lv),
            visible: vg.lv_is_visible(lv),
            cow: vg.snapshot_by_cow(&lv.name),
            snapshots: vg.snapshots_of(&lv.name).len(),
            merging_origin: vg.merging_snapshot_of(&lv.name).is_some(),
        }
    }

    pub fn is_origin(&self) -> bool {
        self.snapshots > 0
    }
}

/// Snapshot facts for every LV of one VG, from one pass over its LVs.
/// Answers exactly what the `Vg` queries answer (first snapshot in metadata
/// order wins, links whose origin or COW is missing do not count).
#[derive(Clone, Debug, Default)]
pub struct SnapIndex<'a> {
    /// COW LV name → its snapshot.
    by_cow: HashMap<&'a str, SnapshotRef<'a>>,
    /// Origin LV name → (number of snapshots, one of them is merging).
    by_origin: HashMap<&'a str, (usize, bool)>,
}

impl<'a> SnapIndex<'a> {
    pub fn new(vg: &'a Vg) -> Self {
        let snapshots = vg.snapshots();
        let mut by_origin: HashMap<&'a str, (usize, bool)> = HashMap::default();
        for s in &snapshots {
            let e = by_origin
                .entry(s.origin.name.as_str())
                .or_insert((0, false));
            e.0 += 1;
            e.1 |= s.merging;
        }
        let mut by_cow: HashMap<&'a str, SnapshotRef<'a>> = HashMap::default();
        for s in snapshots {
            by_cow.entry(s.cow.name.as_str()).or_insert(s);
        }
        SnapIndex { by_cow, by_origin }
    }

    /// The facts for `lv`, an LV of this index's VG.
    pub fn facts(&self, lv: &'a Lv) -> LvFacts<'a> {
        let link = lv.snapshot_segment().is_some();
        let cow = self.by_cow.get(lv.name.as_str()).cloned();
        let (snapshots, merging_origin) = self
            .by_origin
            .get(lv.name.as_str())
            .copied()
            .unwrap_or((0, false));
        let (role, visible) = match (&cow, link) {
            (_, true) => (LvRole::SnapshotLink, false),
            (Some(s), false) => (LvRole::Cow, !s.merging && s.origin.is_visible_flag()),
            (None, false) => (LvRole::Plain, lv.is_visible_flag()),
        };
        LvFacts {
            role,
            visible,
            cow,
            snapshots,
            merging_origin,
        }
    }

    /// Visible LVs in `vg` (the `lv_count` field), which must be the VG
    /// this index was built from.
    pub fn visible_count(&self, vg: &'a Vg) -> usize {
        vg.lvs.iter().filter(|l| self.facts(l).visible).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    /// The example VG and variants: no merging snapshot, a link whose
    /// origin is missing, a hidden origin, two links on one COW, no
    /// snapshots at all.
    fn variants() -> Vec<Vg> {
        let base = fixture::example_vg();
        let mut out = vec![base.clone()];
        let mut v = base.clone();
        v.lvs.retain(|l| l.name != "snapshot1");
        out.push(v);
        let mut v = base.clone();
        v.lvs.retain(|l| l.name != "origin");
        out.push(v);
        let mut v = base.clone();
        v.lv_mut("origin").unwrap().status.clear("VISIBLE");
        out.push(v);
        let mut v = base.clone();
        let mut dup = v.lv("snapshot1").unwrap().clone();
        dup.name = "snapshot2".into();
        if let Some(crate::metadata::model::SegmentKind::Snapshot { merging, .. }) =
            dup.segments.first_mut().map(|s| &mut s.kind)
        {
            *merging = false;
        }
        v.lvs.insert(1, dup);
        out.push(v);
        let mut v = base;
        v.lvs.retain(|l| l.snapshot_segment().is_none());
        out.push(v);
        out
    }

    #[test]
    fn index_agrees_with_model_queries() {
        for vg in variants() {
            let index = SnapIndex::new(&vg);
            for lv in &vg.lvs {
                let a = index.facts(lv);
                let b = LvFacts::of(&vg, lv);
                assert_eq!(a.role, b.role, "{}", lv.name);
                assert_eq!(a.visible, b.visible, "{}", lv.name);
                assert_eq!(a.cow, b.cow, "{}", lv.name);
                assert_eq!(a.snapshots, b.snapshots, "{}", lv.name);
                assert_eq!(a.merging_origin, b.merging_origin, "{}", lv.name);
            }
            let visible = vg.lvs.iter().filter(|l| vg.lv_is_visible(l)).count();
            assert_eq!(index.visible_count(&vg), visible);
        }
    }
}
