//! Operations that change an LV in metadata and in the kernel together:
//! create (with zeroing), remove, rename, change permission. Each builds
//! the new VG, plans the kernel's transition and runs both through
//! `super::update`, the one transaction order.

use crate::dm::error::PlanError;
use crate::dm::names::dm_name;
use crate::dm::plan;
use crate::metadata::device::BlockDev;
use crate::metadata::model::{LvRole, SegmentKind, Vg};
use crate::metadata::store::{StoreError, VgHandle};

use super::{update, Dm, OpsError, Storage};

/// Writes zeros over the first `bytes` of an LV (LVM2's default `-Zy`
/// wipes 4 KiB), or over the first chunks of a new COW so the kernel sees
/// an empty exception store. Written on the PV where LE 0 lives, before
/// any device-mapper device exists for the LV, and flushed by the commit
/// that adds the LV, with its precommit (`VgHandle::flush_with_commit`):
/// one flush fewer per lvcreate than a flush of its own. `flush_now`:
/// flushed here (a write error of the zeros shows here).
pub fn zero_lv_start(
    store: &dyn Storage,
    h: &mut VgHandle,
    lv: &str,
    bytes: u64,
    flush_now: bool,
) -> Result<(), OpsError> {
    let Some(l) = h.vg.lv(lv) else {
        return Ok(());
    };
    let Some(seg) = l.segments.first() else {
        return Ok(());
    };
    let SegmentKind::Striped {
        stripes,
        stripe_size,
    } = &seg.kind
    else {
        return Ok(());
    };
    let Some(area) = stripes.first() else {
        return Ok(());
    };
    let Some(pv) = h.vg.pv(&area.pv) else {
        return Ok(());
    };
    let Some(path) = h.pv_path(&area.pv) else {
        return Err(OpsError::MissingPv {
            pv: area.pv.clone(),
            lv: lv.to_string(),
        });
    };
    // With stripes, the first stripe-size piece is on the first area.
    let len = match stripe_size {
        Some(ss) if stripes.len() > 1 => bytes.min(ss * 512),
        _ => bytes,
    };
    let offset = (pv.pe_start + area.pe * h.vg.extent_size) * 512;
    let wipe = |source| OpsError::Wipe {
        vg: h.vg.name.clone(),
        lv: lv.to_string(),
        source,
    };
    let dev = store.open(path).map_err(wipe)?;
    dev.write_at(offset, &vec![0u8; len as usize])
        .map_err(wipe)?;
    if flush_now {
        return dev.sync().map_err(wipe);
    }
    // Durable, and on the device under the LV's dm device, with the
    // commit's precommit flush, before the kernel sees the LV.
    h.flush_with_commit(path.to_string());
    Ok(())
}

/// A window of a device: the bytes of a new LV's first area on its PV,
/// read as a device of its own for signature detection.
struct Window<'a> {
    dev: &'a dyn BlockDev,
    offset: u64,
    len: u64,
}

impl Window<'_> {
    fn check(&self, offset: u64, len: usize) -> std::io::Result<()> {
        if offset.saturating_add(len as u64) > self.len {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "past the end of the LV area",
            ));
        }
        Ok(())
    }
}

impl BlockDev for Window<'_> {
    fn size(&self) -> std::io::Result<u64> {
        Ok(self.len)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.check(offset, buf.len())?;
        self.dev.read_at(self.offset + offset, buf)
    }
    fn write_at(&self, offset: u64, buf: &[u8]) -> std::io::Result<()> {
        self.check(offset, buf.len())?;
        self.dev.write_at(self.offset + offset, buf)
    }
    fn sync(&self) -> std::io::Result<()> {
        self.dev.sync()
    }
}

/// lvcreate `-Wy` (LVM2's `wipe_known_signatures` in `_lv_wipe`): the
/// signatures of other formats (filesystems, swap, ...) that a new LV
/// shows where it starts, left there by an LV that used the extents
/// before, are wiped. Returns their names, in the order found. Only the
/// first area (the first stripe chunk with stripes) is looked at; written
/// on the PV, before any device exists for the LV.
pub fn wipe_signatures(
    store: &dyn Storage,
    h: &VgHandle,
    lv: &str,
) -> Result<Vec<&'static str>, OpsError> {
    let Some(seg) = h.vg.lv(lv).and_then(|l| l.segments.first()) else {
        return Ok(vec![]);
    };
    let SegmentKind::Striped {
        stripes,
        stripe_size,
    } = &seg.kind
    else {
        return Ok(vec![]);
    };
    let (Some(area), es) = (stripes.first(), h.vg.extent_size) else {
        return Ok(vec![]);
    };
    let Some(pv) = h.vg.pv(&area.pv) else {
        return Ok(vec![]);
    };
    let Some(path) = h.pv_path(&area.pv) else {
        return Err(OpsError::MissingPv {
            pv: area.pv.clone(),
            lv: lv.to_string(),
        });
    };
    let len = match stripe_size {
        Some(ss) if stripes.len() > 1 => ss * 512,
        _ => seg.area_len() * es * 512,
    };
    let wipe = |source| OpsError::Wipe {
        vg: h.vg.name.clone(),
        lv: lv.to_string(),
        source,
    };
    let dev = store.open(path).map_err(wipe)?;
    let window = Window {
        dev: dev.as_ref(),
        offset: (pv.pe_start + area.pe * es) * 512,
        len,
    };
    let found = crate::system::signatures::detect(&window);
    for sig in &found {
        crate::system::signatures::wipe(&window, sig).map_err(wipe)?;
    }
    Ok(found.iter().map(|s| s.name).collect())
}

/// lvcreate with activation: `h.vg` already holds the new LV (and, for a
/// snapshot, its `snapshotN` link); `before` is the VG without it. A
/// snapshot's COW is always wiped (header and first metadata area); a
/// plain LV when `zero`. If activation fails the new LV leaves the
/// metadata again (LVM2 does the same). `listed`: the kernel's devices as
/// the caller listed them under the VG's lock, nothing changed in the
/// kernel since (`Dm::list_for_in`); `None` lists them.
pub fn create(
    dm: &mut Dm,
    store: &dyn Storage,
    h: &mut VgHandle,
    before: &Vg,
    name: &str,
    zero: bool,
    listed: Option<Vec<crate::dm::ioctl::Listed>>,
) -> Result<(), OpsError> {
    let snapshot = h.vg.snapshot_by_cow(name).map(|s| s.chunk_size);
    let zeroed = match snapshot {
        _ if dm.test_mode() => None,
        Some(chunk) => Some((2 * chunk * 512).max(4096)),
        None if zero => Some(4096),
        None => None,
    };
    if let Some(bytes) = zeroed {
        zero_lv_start(store, h, name, bytes, false)?;
    }
    crate::metadata::phase::mark("zeroed-start");
    let pvs = store.pv_devices(h);
    let kernel = dm.list_for_in(listed, &[before, &h.vg], &[name])?;
    crate::metadata::phase::mark("kernel-listing");
    let mut ops = match snapshot {
        Some(_) => plan::plan_add_snapshot(before, &h.vg, name, &pvs, &kernel)?,
        None => vec![],
    };
    if ops.is_empty() {
        ops = plan::plan_activate(&h.vg, name, &pvs, &kernel)?;
    }
    update(dm, store, h, before, &ops, &kernel, "create").map_err(|e| match e {
        OpsError::Reverted { cause, what } => OpsError::Reverted {
            cause,
            what: format!(
                "{what}\n  Aborting. Failed to activate new LV {}/{name}.",
                before.name
            ),
        },
        // The precommit's flush failed: if the zeroed start is what could
        // not be written (its writeback failed in that flush), say so as
        // LVM2 does, by zeroing it again, flushed at once; nothing was
        // committed either way.
        OpsError::Store(StoreError::Io { .. }) => match zeroed {
            Some(bytes) => match zero_lv_start(store, h, name, bytes, true) {
                Err(wipe @ OpsError::Wipe { .. }) => wipe,
                _ => e,
            },
            None => e,
        },
        e => e,
    })
}

/// lvremove: `h.vg` no longer holds `removed` (the LV asked for last, its
/// snapshots before it); `before` does. The kernel's devices go after the
/// commit; a snapshot's origin is reloaded without it.
pub fn remove(
    dm: Option<&mut Dm>,
    store: &dyn Storage,
    h: &mut VgHandle,
    before: &Vg,
    removed: &[String],
) -> Result<(), OpsError> {
    let (Some(dm), Some(target)) = (dm, removed.last()) else {
        return store.commit(h);
    };
    let pvs = store.pv_devices(h);
    let kernel = dm.list_for(&[before, &h.vg], &[target.as_str()])?;
    let ops = match before.lv(target).map(|l| before.role(l)) {
        Some(LvRole::Cow) => {
            let snap_dev = dm_name(&before.name, target, None);
            if kernel
                .iter()
                .any(|d| d.name == snap_dev && d.open_count > 0)
            {
                return Err(PlanError::InUse {
                    vg: before.name.clone(),
                    lv: target.clone(),
                }
                .into());
            }
            plan::plan_remove_snapshot(before, &h.vg, target, &pvs, &kernel)?
        }
        _ => plan::plan_deactivate(before, target, &kernel)?,
    };
    update(dm, store, h, before, &ops, &kernel, "remove")
}

/// lvrename: `h.vg` has the new names, `before` the old ones. The active
/// family's devices are renamed after the commit (DM_DEV_RENAME, UUIDs
/// stay); if the kernel refuses, they are renamed back and the old
/// metadata committed again.
pub fn rename(
    dm: Option<&mut Dm>,
    store: &dyn Storage,
    h: &mut VgHandle,
    before: &Vg,
    old: &str,
    new: &str,
) -> Result<(), OpsError> {
    let Some(dm) = dm else {
        return store.commit(h);
    };
    let kernel = dm.list_for(&[before, &h.vg], &[old, new])?;
    let ops = plan::plan_rename(before, &h.vg, old, new, &store.pv_devices(h), &kernel)?;
    update(dm, store, h, before, &ops, &kernel, "rename").map_err(|e| match e {
        OpsError::Reverted { cause, what } => OpsError::Reverted {
            cause,
            what: format!(
                "{what}\n  Failed to rename {}/{old} to {new}: devices renamed back.",
                before.name
            ),
        },
        e => e,
    })
}

/// lvchange -p: reload the active tables read-only or read-write with the
/// new metadata, in the transaction order.
pub fn change_permission(
    dm: Option<&mut Dm>,
    store: &dyn Storage,
    h: &mut VgHandle,
    before: &Vg,
    lv: &str,
) -> Result<(), OpsError> {
    super::reload_lv(dm, store, h, before, lv, "permission")
}
