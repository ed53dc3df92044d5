//! What the kernel says about one LV: `lv_state`. Reads the kernel
//! through the `Kernel` trait only; changes nothing.

use super::exec::Kernel;
use super::names::dm_uuid;
use super::state::{KernelDevice, LvKernelState};
use super::status::{parse_status, SnapshotStatus, TargetStatus};
use super::target::Target;
use crate::metadata::model::{LvRole, Vg};

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
    let mut st = LvKernelState {
        known: true,
        ..Default::default()
    };
    let Some(l) = vg.lv(lv) else {
        return st;
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
    st.snapshot = match vg.role(l) {
        LvRole::Cow => {
            let snap = vg.snapshot_by_cow(lv);
            let merging_origin = snap
                .as_ref()
                .filter(|s| s.merging)
                .and_then(|s| by_uuid(&s.origin.id))
                .filter(|o| {
                    matches!(
                        o.table.first().map(|t| &t.target),
                        Some(Target::SnapshotMerge(_))
                    )
                });
            match merging_origin {
                Some(o) => snapshot_of(o),
                None => top.and_then(snapshot_of),
            }
        }
        _ => top.and_then(snapshot_of),
    };
    st
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
}
