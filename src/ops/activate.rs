//! Activation, deactivation and refresh of LVs and VGs, and what the
//! kernel says about a VG's LVs. No metadata changes here. A merging
//! origin that comes up (or is refreshed) with nothing open gets its
//! `snapshot-merge` table, so a deferred or scheduled merge starts; the
//! outcome names the origins that merge, for the caller's pollers.

use std::collections::BTreeMap;

use crate::dm::error::PlanError;
use crate::dm::names::dm_uuid;
use crate::dm::plan;
use crate::dm::query::lv_state_in;
use crate::dm::state::{KernelDevice, LvKernelState};
use crate::dm::target::Target;
use crate::metadata::model::{LvRole, Vg};
use crate::metadata::store::VgHandle;

use super::merge::MergeError;
use super::{Dm, OpsError, Storage};

/// lvm.conf's activation filters: `activation/volume_list` and
/// `activation/auto_activation_volume_list` (None: not set).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub volume_list: Option<Vec<String>>,
    pub auto_list: Option<Vec<String>>,
}

/// What an activation did.
#[derive(Debug, Default)]
pub struct Activated {
    /// LVs left alone by a filter, activation skip or NOAUTOACTIVATE.
    pub skipped: Vec<String>,
    /// LVs that failed, with why (the others were still activated).
    pub failed: Vec<(String, OpsError)>,
    /// Origins that merge now (their live table is `snapshot-merge`).
    pub merging: Vec<String>,
    /// Visible LVs of the VG active afterwards.
    pub active: usize,
}

/// LVM2's `volume_list` match: entries are `vg`, `vg/lv`, `@tag` (VG or
/// LV tag) or `@*` (host tags: not supported, never matches).
fn list_allows(list: &[String], vg: &Vg, lv: &str) -> bool {
    let lv_tags = vg.lv(lv).map(|l| l.tags.clone()).unwrap_or_default();
    list.iter().any(|e| {
        if let Some(tag) = e.strip_prefix('@') {
            vg.tags.iter().any(|t| t == tag) || lv_tags.iter().any(|t| t == tag)
        } else if let Some((v, l)) = e.split_once('/') {
            v == vg.name && l == lv
        } else {
            e == &vg.name
        }
    })
}

/// Whether `lv` may be activated (`auto`: by `-aay`).
pub fn may_activate(filter: &Filter, vg: &Vg, lv: &str, auto: bool) -> bool {
    if let Some(list) = &filter.volume_list {
        if !list_allows(list, vg, lv) {
            return false;
        }
    }
    if auto {
        if vg.flags.has("NOAUTOACTIVATE")
            || vg.lv(lv).is_some_and(|l| l.flags.has("NOAUTOACTIVATE"))
        {
            return false;
        }
        if let Some(list) = &filter.auto_list {
            if !list_allows(list, vg, lv) {
                return false;
            }
        }
    }
    !vg.lv(lv).is_some_and(|l| l.flags.has("ACTIVATION_SKIP"))
}

/// The LVs `vgchange -ay` activates: visible plain LVs and origins (a
/// snapshot comes with its origin's stack).
pub fn top_level_lvs(vg: &Vg) -> Vec<String> {
    vg.lvs
        .iter()
        .filter(|l| vg.role(l) == LvRole::Plain && vg.lv_is_visible(l))
        .map(|l| l.name.clone())
        .collect()
}

/// Visible LVs of `vg` with a device in the kernel.
pub fn active_count(vg: &Vg, devs: &[KernelDevice]) -> usize {
    vg.lvs
        .iter()
        .filter(|l| vg.lv_is_visible(l))
        .filter(|l| {
            let u = dm_uuid(&vg.id, &l.id, None);
            devs.iter().any(|d| d.uuid.as_deref() == Some(u.as_str()))
        })
        .count()
}

/// Origins of `vg` that metadata says merge and whose live table is
/// `snapshot-merge` (the merge runs in the kernel: something must poll).
pub fn merging_origins(vg: &Vg, devs: &[KernelDevice]) -> Vec<String> {
    vg.lvs
        .iter()
        .filter(|l| vg.merging_snapshot_of(&l.name).is_some())
        .filter(|l| {
            let u = dm_uuid(&vg.id, &l.id, None);
            devs.iter().any(|d| {
                d.uuid.as_deref() == Some(u.as_str())
                    && matches!(
                        d.table.first().map(|t| &t.target),
                        Some(Target::SnapshotMerge(_))
                    )
            })
        })
        .map(|l| l.name.clone())
        .collect()
}

/// LVM2 refuses activation changes on a merging COW, which is hidden
/// ("Operation not permitted on hidden LV").
pub fn check_not_hidden_merging(vg: &Vg, lv: &str) -> Result<(), OpsError> {
    if crate::metadata::snapshot::is_merging_cow(vg, lv) {
        return Err(MergeError::HiddenLv {
            vg: vg.name.clone(),
            lv: lv.to_string(),
        }
        .into());
    }
    Ok(())
}

fn merging_now(dm: &Dm, vg: &Vg) -> Result<Vec<String>, OpsError> {
    Ok(merging_origins(vg, &dm.list()?))
}

/// `vgchange -ay` / `-aay`: every top-level LV the filters allow. LVs on
/// missing PVs are refused by the planner, the rest still come up.
pub fn activate_vg(
    dm: &mut Dm,
    store: &dyn Storage,
    h: &VgHandle,
    filter: &Filter,
    auto: bool,
) -> Result<Activated, OpsError> {
    let pvs = store.pv_devices(h);
    let mut out = Activated::default();
    for lv in top_level_lvs(&h.vg) {
        if !may_activate(filter, &h.vg, &lv, auto) {
            out.skipped.push(lv);
            continue;
        }
        let step = plan::plan_activate(&h.vg, &lv, &pvs, &dm.list()?)
            .map_err(OpsError::from)
            .and_then(|ops| dm.run(&ops));
        if let Err(e) = step {
            out.failed.push((lv, e));
        }
    }
    let devs = dm.list()?;
    out.active = active_count(&h.vg, &devs);
    out.merging = merging_origins(&h.vg, &devs);
    Ok(out)
}

/// `vgchange -an`: every LV of the VG, refused while any is open.
/// Returns the visible LVs still active (0).
pub fn deactivate_vg(dm: &mut Dm, vg: &Vg) -> Result<usize, OpsError> {
    let ops = plan::plan_deactivate_vg(vg, &dm.list()?)?;
    dm.run(&ops)?;
    Ok(active_count(vg, &dm.list()?))
}

/// `lvchange -ay VG/LV` (a snapshot brings up its origin's stack).
pub fn activate_lv(
    dm: &mut Dm,
    store: &dyn Storage,
    h: &VgHandle,
    lv: &str,
    filter: &Filter,
    auto: bool,
) -> Result<Activated, OpsError> {
    no_such_lv(&h.vg, lv)?;
    check_not_hidden_merging(&h.vg, lv)?;
    let mut out = Activated::default();
    if !may_activate(filter, &h.vg, lv, auto) {
        out.skipped.push(lv.to_string());
        return Ok(out);
    }
    let ops = plan::plan_activate(&h.vg, lv, &store.pv_devices(h), &dm.list()?)?;
    dm.run(&ops)?;
    let devs = dm.list()?;
    out.active = active_count(&h.vg, &devs);
    out.merging = merging_origins(&h.vg, &devs);
    Ok(out)
}

/// `lvchange -an VG/LV`: the LV's whole family, refused while open.
pub fn deactivate_lv(dm: &mut Dm, vg: &Vg, lv: &str) -> Result<(), OpsError> {
    no_such_lv(vg, lv)?;
    check_not_hidden_merging(vg, lv)?;
    let ops = plan::plan_deactivate(vg, lv, &dm.list()?)?;
    dm.run(&ops)
}

/// `lvchange --refresh`: reload the family's tables from metadata. A
/// deferred merge starts here when nothing is open. Returns the origins
/// that merge afterwards.
pub fn refresh_lv(
    dm: &mut Dm,
    store: &dyn Storage,
    h: &VgHandle,
    lv: &str,
) -> Result<Vec<String>, OpsError> {
    no_such_lv(&h.vg, lv)?;
    check_not_hidden_merging(&h.vg, lv)?;
    let ops = plan::plan_refresh(&h.vg, lv, &store.pv_devices(h), &dm.list()?)?;
    dm.run(&ops)?;
    merging_now(dm, &h.vg)
}

/// `vgchange --refresh`: every top-level LV.
pub fn refresh_vg(dm: &mut Dm, store: &dyn Storage, h: &VgHandle) -> Result<Vec<String>, OpsError> {
    let pvs = store.pv_devices(h);
    for lv in top_level_lvs(&h.vg) {
        let ops = plan::plan_refresh(&h.vg, &lv, &pvs, &dm.list()?)?;
        dm.run(&ops)?;
    }
    merging_now(dm, &h.vg)
}

fn no_such_lv(vg: &Vg, lv: &str) -> Result<(), OpsError> {
    if vg.lv(lv).is_none() {
        return Err(PlanError::NoSuchLv {
            vg: vg.name.clone(),
            lv: lv.to_string(),
        }
        .into());
    }
    Ok(())
}

/// vgremove: deactivate every LV first.
pub fn deactivate_all_for_removal(dm: &mut Dm, vg: &Vg) -> Result<(), OpsError> {
    let ops = plan::plan_deactivate_vg(vg, &dm.list()?)?;
    dm.run(&ops)
}

/// Whether any LV of the VG has a device in the kernel.
pub fn any_lv_active(dm: &Dm, vg: &Vg) -> bool {
    let Ok(devs) = dm.list() else {
        return false;
    };
    let prefix = format!("LVM-{}", vg.id.as_raw_str());
    devs.iter()
        .any(|d| d.uuid.as_deref().is_some_and(|u| u.starts_with(&prefix)))
}

/// What the kernel says about one LV, for reports.
#[derive(Clone, Debug, Default)]
pub struct LvFacts {
    pub state: LvKernelState,
    /// (major, minor) of the LV's own device.
    pub device: Option<(u32, u32)>,
    /// Read-ahead the kernel uses, in sectors.
    pub read_ahead: Option<u64>,
}

/// The kernel's view of every LV in the VG (the kernel's devices are
/// listed once). Without device-mapper every LV reads as unknown.
pub fn lv_facts(dm: Option<&Dm>, vg: &Vg) -> BTreeMap<String, LvFacts> {
    let devices = dm.and_then(|d| d.list().ok());
    vg.lvs
        .iter()
        .map(|lv| {
            let facts = match (dm, &devices) {
                (Some(dm), Some(devs)) => {
                    let state = lv_state_in(dm.kernel(), devs, vg, &lv.name);
                    let uuid = dm_uuid(&vg.id, &lv.id, None);
                    let device = devs
                        .iter()
                        .find(|d| d.uuid.as_deref() == Some(uuid.as_str()))
                        .map(|d| (d.dev.major, d.dev.minor));
                    LvFacts {
                        state,
                        device,
                        read_ahead: device.and_then(kernel_read_ahead),
                    }
                }
                _ => LvFacts::default(),
            };
            (lv.name.clone(), facts)
        })
        .collect()
}

/// The read-ahead the kernel uses for a device, in sectors (what
/// lvdisplay's "currently set to" shows), from sysfs.
fn kernel_read_ahead((major, minor): (u32, u32)) -> Option<u64> {
    let path = format!("/sys/dev/block/{major}:{minor}/queue/read_ahead_kb");
    let kb: u64 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    Some(kb * 2)
}
