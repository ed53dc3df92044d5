//! What the kernel says about one LV: `lv_state`. Reads the kernel
//! through the `Kernel` trait only; changes nothing.

use super::exec::Kernel;
use super::names::dm_uuid;
use super::state::{KernelDevice, LvKernelState};
use super::status::{parse_status, SnapshotStatus, TargetStatus};
use super::target::Target;
use crate::metadata::model::{Lv, SnapshotRef, Vg};

/// The kernel state of LV `lv`: its top device (found by UUID, as LVM2
/// does), and the snapshot status of a COW's `vg-snap` device, or of a
/// merging origin's `snapshot-merge` (for the merging COW too).
/// `known == false` when device-mapper cannot be asked.
pub fn lv_state(kernel: &dyn Kernel, vg: &Vg, lv: &str) -> LvKernelState {
    match kernel.list() {
        Ok(devices) => lv_state_in(kernel, &devices, vg, lv),
        Err(_) => LvKernelState::default(),
    }
}

/// `lv_state` over a device list the caller already has, so a report of
/// many LVs lists the kernel's devices once, not once per LV.
pub fn lv_state_in(
    kernel: &dyn Kernel,
    devices: &[KernelDevice],
    vg: &Vg,
    lv: &str,
) -> LvKernelState {
    lv_state_by(
        kernel,
        &|u: &str| devices.iter().find(|d| d.uuid.as_deref() == Some(u)),
        vg,
        lv,
    )
}

/// `lv_state_in` with the device of a dm UUID looked up by `find`: a
/// report of 1000 LVs indexes the listing once (`by_uuid_index`) instead
/// of searching it for every LV (a million comparisons, seconds under
/// emulation).
pub fn lv_state_by<'d>(
    kernel: &dyn Kernel,
    find: &dyn Fn(&str) -> Option<&'d KernelDevice>,
    vg: &Vg,
    lv: &str,
) -> LvKernelState {
    let Some(l) = vg.lv(lv) else {
        return LvKernelState {
            known: true,
            ..Default::default()
        };
    };
    // A `snapshotN` link is no COW, whatever LV its segment names (`Vg::role`).
    let cow_of = match l.snapshot_segment() {
        Some(_) => None,
        None => vg.snapshot_by_cow(lv),
    };
    lv_state_of(kernel, find, vg, l, cow_of.as_ref())
}

/// `lv_state_by` for LV `l` of `vg`, given the snapshot whose COW `l` is
/// (None for every other LV, a link included): a report of many LVs
/// finds every COW in one pass over the VG (`Vg::snapshots`) instead of
/// looking `l` up by name and scanning the VG for its snapshot once per
/// LV (two million steps for 1000 LVs, most of `lvs`' own time under
/// emulation).
pub fn lv_state_of<'d>(
    kernel: &dyn Kernel,
    find: &dyn Fn(&str) -> Option<&'d KernelDevice>,
    vg: &Vg,
    l: &Lv,
    cow_of: Option<&SnapshotRef<'_>>,
) -> LvKernelState {
    let mut st = LvKernelState {
        known: true,
        ..Default::default()
    };
    let by_uuid = |id| find(&dm_uuid(&vg.id, id, None));
    let top = by_uuid(&l.id);
    if let Some(d) = top {
        st.active = !d.table.is_empty();
        st.open = d.open_count > 0;
        st.suspended = d.suspended;
        st.read_only = d.read_only;
        st.live_target = d.table.first().map(|t| t.target.target_type().to_string());
    }
    let snapshot_of = |d: &KernelDevice| -> Option<SnapshotStatus> {
        if !matches!(
            d.table.first().map(|t| &t.target),
            Some(Target::Snapshot(_) | Target::SnapshotMerge(_))
        ) {
            return None;
        }
        let s = kernel.status(&d.name).ok()?;
        let (_, _, tt, params) = s.first()?;
        match parse_status(tt, params) {
            Ok(TargetStatus::Snapshot(s)) => Some(s),
            _ => None,
        }
    };
    // A merging COW reads the origin's `snapshot-merge` status once the
    // origin carries that target; any other LV its own device's.
    let merging_origin = cow_of
        .filter(|s| s.merging)
        .and_then(|s| by_uuid(&s.origin.id))
        .filter(|o| {
            matches!(
                o.table.first().map(|t| &t.target),
                Some(Target::SnapshotMerge(_))
            )
        });
    st.snapshot = match merging_origin {
        Some(o) => snapshot_of(o),
        None => top.and_then(snapshot_of),
    };
    st
}

/// Each COW LV's snapshot, found in one pass over the VG, for
/// `lv_state_of` over many LVs.
pub struct Cows<'a>(rustc_hash::FxHashMap<&'a str, SnapshotRef<'a>>);

impl<'a> Cows<'a> {
    pub fn of(vg: &'a Vg) -> Cows<'a> {
        Cows(vg.snapshots_by_cow())
    }

    /// The snapshot whose COW `lv` is; None for any other LV, a
    /// `snapshotN` link included (`Vg::role`).
    pub fn of_lv(&self, lv: &Lv) -> Option<&SnapshotRef<'a>> {
        match lv.snapshot_segment() {
            Some(_) => None,
            None => self.0.get(lv.name.as_str()),
        }
    }
}

/// The listing's devices by dm UUID (the first of a UUID, as a search
/// from the start finds it).
pub fn by_uuid_index(devices: &[KernelDevice]) -> std::collections::HashMap<&str, &KernelDevice> {
    let mut index = std::collections::HashMap::with_capacity(devices.len());
    for d in devices {
        if let Some(u) = d.uuid.as_deref() {
            index.entry(u).or_insert(d);
        }
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dm::exec::KernelError;
    use crate::dm::fake::RecordingKernel;
    use crate::dm::state::SnapshotStatus;

    struct Gone;
    impl Kernel for Gone {
        fn list(&self) -> Result<Vec<KernelDevice>, KernelError> {
            Err(KernelError::Unavailable("x".into()))
        }
        fn info(&self, _: &str) -> Result<Option<KernelDevice>, KernelError> {
            Err(KernelError::Unavailable("x".into()))
        }
        fn status(&self, _: &str) -> Result<Vec<(u64, u64, String, String)>, KernelError> {
            Err(KernelError::Unavailable("x".into()))
        }
        fn create(
            &mut self,
            _: &str,
            _: &str,
            _: bool,
            _: Option<u32>,
        ) -> Result<super::super::target::DevNum, KernelError> {
            Err(KernelError::Unavailable("x".into()))
        }
        fn load(
            &mut self,
            _: &str,
            _: &[super::super::target::TargetLine],
            _: bool,
        ) -> Result<(), KernelError> {
            Err(KernelError::Unavailable("x".into()))
        }
        fn rename(&mut self, _: &str, _: &str) -> Result<(), KernelError> {
            Err(KernelError::Unavailable("x".into()))
        }
        fn clear(&mut self, _: &str) -> Result<(), KernelError> {
            Err(KernelError::Unavailable("x".into()))
        }
        fn suspend(&mut self, _: &str) -> Result<(), KernelError> {
            Err(KernelError::Unavailable("x".into()))
        }
        fn resume(&mut self, _: &str) -> Result<(), KernelError> {
            Err(KernelError::Unavailable("x".into()))
        }
        fn remove(&mut self, _: &str) -> Result<(), KernelError> {
            Err(KernelError::Unavailable("x".into()))
        }
    }

    #[test]
    fn unknown_without_kernel() {
        let vg = crate::dm::plan_tests::fixture_vg();
        let st = lv_state(&Gone, &vg, "lv");
        assert!(!st.known);
        let mut k = RecordingKernel::new();
        k.unavailable = true;
        assert!(!lv_state(&k, &vg, "lv").known);
    }

    #[test]
    fn origin_snapshot_and_merge_states() {
        let (vg, vgm, mut k) = crate::dm::plan_tests::active_origin_with_snapshot();
        let st = lv_state(&k, &vg, "lv");
        assert!(st.known && st.active && !st.open && !st.suspended);
        assert_eq!(st.live_target.as_deref(), Some("snapshot-origin"));
        assert_eq!(st.snapshot, None);
        k.snapshot_status = "32/16384 16".into();
        let st = lv_state(&k, &vg, "s1");
        assert_eq!(st.live_target.as_deref(), Some("snapshot"));
        assert_eq!(
            st.snapshot,
            Some(SnapshotStatus::Usage {
                allocated: 32,
                total: 16384,
                metadata: Some(16)
            })
        );
        // Start the merge, then ask about origin and COW.
        crate::dm::plan_tests::start_merge(&mut k, &vg, &vgm);
        k.snapshot_status = "16/16384 16".into();
        let o = lv_state(&k, &vgm, "lv");
        assert_eq!(o.live_target.as_deref(), Some("snapshot-merge"));
        assert!(o.snapshot.unwrap().merge_finished());
        let c = lv_state(&k, &vgm, "s1");
        assert_eq!(c.live_target.as_deref(), Some("error"));
        assert!(c.snapshot.unwrap().merge_finished());
        assert!(!lv_state(&k, &vgm, "snapshot0").active);
    }

    /// `lv_state_of` with the COWs found once (`Cows`, what `lvs` uses)
    /// says of every LV what `lv_state` says, before and during a merge.
    #[test]
    fn state_of_every_lv_from_one_pass_is_lv_state() {
        let (vg, vgm, mut k) = crate::dm::plan_tests::active_origin_with_snapshot();
        k.snapshot_status = "32/16384 16".into();
        let check = |k: &dyn Kernel, vg: &Vg| {
            let devices = k.list().unwrap();
            let index = by_uuid_index(&devices);
            let find = |u: &str| index.get(u).copied();
            let cows = Cows::of(vg);
            assert!(vg.lvs.iter().any(|l| cows.of_lv(l).is_some()));
            for l in &vg.lvs {
                assert_eq!(
                    lv_state_of(k, &find, vg, l, cows.of_lv(l)),
                    lv_state(k, vg, &l.name),
                    "{}",
                    l.name
                );
            }
        };
        check(&k, &vg);
        crate::dm::plan_tests::start_merge(&mut k, &vg, &vgm);
        k.snapshot_status = "16/16384 16".into();
        check(&k, &vgm);
    }
}
