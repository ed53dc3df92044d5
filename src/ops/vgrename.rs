//! Operations on whole VGs that change their identity in the kernel's
//! eyes: vgrename (every active LV's devices take the new VG name) and
//! the activity checks of vgmerge and vgimportclone. Touches the kernel
//! only through `Dm`, disks only through `Storage`.

use crate::dm::names::lv_id_in_vg;
use crate::dm::plan::{self, Op};
use crate::metadata::model::{LvRole, Vg};
use crate::metadata::store::VgHandle;

use super::{update, Dm, OpsError, Storage};

/// vgrename: `h.vg` carries the new name, `before` the old one (same UUID,
/// same LVs). One commit; the devices of every active LV family are
/// renamed after it (DM_DEV_RENAME, UUIDs unchanged: LVM2's
/// `vg_refresh_visible` after `vg_commit` in tools/vgrename.c). If the
/// kernel refuses, the devices are renamed back and the old metadata is
/// committed again.
pub fn rename_vg(
    dm: Option<&mut Dm>,
    store: &dyn Storage,
    h: &mut VgHandle,
    before: &Vg,
) -> Result<(), OpsError> {
    let Some(dm) = dm else {
        return store.commit(h);
    };
    let kernel = dm.list()?;
    let ops = plan_vg_rename(before, &h.vg, &store.pv_devices(h), &kernel)?;
    if ops.is_empty() {
        return store.commit(h);
    }
    update(dm, store, h, before, &ops, &kernel, "vgrename").map_err(|e| match e {
        OpsError::Reverted { cause, what } => OpsError::Reverted {
            cause,
            what: format!(
                "{what}\n  Renaming \"{}\" to \"{}\" failed: devices renamed back.",
                before.name, h.vg.name
            ),
        },
        e => e,
    })
}

/// The kernel's part of a VG rename: each LV family (an origin with its
/// snapshots, or a plain LV) is planned as lvrename plans it, with the LV
/// names unchanged and the VG's name changed.
pub fn plan_vg_rename(
    before: &Vg,
    after: &Vg,
    pvs: &crate::dm::tree::PvDevices,
    kernel: &[crate::dm::state::KernelDevice],
) -> Result<Vec<Op>, OpsError> {
    let mut ops = Vec::new();
    for lv in &before.lvs {
        // Snapshots and their links are planned with their origin.
        if before.role(lv) != LvRole::Plain {
            continue;
        }
        ops.extend(plan::plan_rename(
            before, after, &lv.name, &lv.name, pvs, kernel,
        )?);
    }
    Ok(ops)
}

/// Whether any LV of `vg` has a device in the kernel (LVM2's
/// `lvs_in_vg_activated`, which vgmerge and vgimportclone refuse).
pub fn vg_has_active_lvs(dm: &Dm, vg: &Vg) -> Result<bool, OpsError> {
    Ok(dm.list()?.iter().any(|d| {
        d.uuid
            .as_deref()
            .and_then(|u| lv_id_in_vg(u, &vg.id))
            .is_some_and(|id| vg.lvs.iter().any(|l| l.id == id))
    }))
}

/// Whether a device is held by another (a dm device built on it: an
/// active LV), from sysfs `holders/`. vgimportclone refuses such a device
/// as LVM2's `dev_is_used_by_active_lv` does.
pub fn device_is_held(major: u32, minor: u32) -> bool {
    std::fs::read_dir(format!("/sys/dev/block/{major}:{minor}/holders"))
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dm::exec::{execute, Kernel};
    use crate::dm::fake::RecordingKernel;
    use crate::dm::target::DevNum;
    use crate::dm::tree::PvDevices;
    use crate::metadata::id::Id;
    use crate::metadata::model::{Flags, Lv, Pv, Segment, SegmentKind, StripeArea};

    const ES: u64 = 8192;

    fn lv(name: &str, n: u8, kind: SegmentKind, count: u64, visible: bool) -> Lv {
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
            segments: vec![Segment {
                start_extent: 0,
                extent_count: count,
                tags: vec![],
                kind,
            }],
        }
    }

    fn linear(pv: &str, pe: u64) -> SegmentKind {
        SegmentKind::Striped {
            stripe_size: None,
            stripes: vec![StripeArea { pv: pv.into(), pe }],
        }
    }

    /// VG `vg`: origin `lv` with snapshot `s1`, and a plain `other`.
    fn vg() -> Vg {
        let pv = |key: &str, n: u8| Pv {
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
        };
        let link = SegmentKind::Snapshot {
            chunk_size: 8,
            origin: "lv".into(),
            cow: "s1".into(),
            merging: false,
        };
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
            lvs: vec![
                lv("lv", 0, linear("pv0", 0), 10, true),
                lv("other", 1, linear("pv0", 20), 5, true),
                lv("s1", 2, linear("pv1", 0), 2, false),
                lv("snapshot0", 3, link, 10, true),
            ],
            unsupported: None,
        }
    }

    fn pvs() -> PvDevices {
        [
            ("pv0".to_string(), DevNum::new(8, 16)),
            ("pv1".to_string(), DevNum::new(8, 32)),
        ]
        .into_iter()
        .collect()
    }

    fn active(vg: &Vg, lvs: &[&str]) -> RecordingKernel {
        let mut k = RecordingKernel::new();
        k.add_disk(DevNum::new(8, 16), 200 * ES);
        k.add_disk(DevNum::new(8, 32), 200 * ES);
        for l in lvs {
            let ops = plan::plan_activate(vg, l, &pvs(), &k.list().unwrap()).unwrap();
            execute(&mut k, &ops).unwrap();
        }
        k
    }

    /// Every device (origin, -real, snapshot, -cow, a plain LV) takes the
    /// new VG's name with the same UUID and table; nothing stays
    /// suspended; activation under the new name then has nothing to do.
    #[test]
    fn vg_rename_renames_every_active_device_keeping_uuids() {
        let before = vg();
        let mut k = active(&before, &["lv", "other"]);
        let mut after = before.clone();
        after.name = "new-vg".into();
        let old = k.list().unwrap();
        assert_eq!(old.len(), 5, "{old:?}");
        let ops = plan_vg_rename(&before, &after, &pvs(), &old).unwrap();
        execute(&mut k, &ops).unwrap();
        assert!(k.suspended().is_empty());
        let now = k.list().unwrap();
        assert_eq!(now.len(), old.len());
        for d in &old {
            let n = now.iter().find(|x| x.uuid == d.uuid).unwrap();
            assert_eq!(
                n.name,
                format!("new--vg-{}", d.name.strip_prefix("vg-").unwrap())
            );
            assert_eq!(n.table, d.table);
        }
        assert!(plan_vg_rename(&after, &after, &pvs(), &now)
            .unwrap()
            .is_empty());
        for l in ["lv", "s1", "other"] {
            assert!(plan::plan_activate(&after, l, &pvs(), &now)
                .unwrap()
                .is_empty());
        }
    }

    #[test]
    fn inactive_vg_plans_nothing() {
        let before = vg();
        let mut after = before.clone();
        after.name = "other".into();
        let k = active(&before, &[]);
        let ops = plan_vg_rename(&before, &after, &pvs(), &k.list().unwrap()).unwrap();
        assert!(ops.is_empty());
    }
}
