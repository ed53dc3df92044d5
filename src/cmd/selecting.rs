//! `-S|--select` on the commands that change what it selects (lvchange,
//! lvremove, vgchange, vgremove, pvchange), as LVM2's `select_match_vg`,
//! `select_match_lv` and `select_match_pv` (tools/toollib.c) apply it:
//! each object the arguments name (all when none are named) is kept when
//! the selection selects it, judged on the same joined rows the report
//! commands use (`report::selected_vgs`, `selected_lvs`, `selected_pvs`),
//! so a VG is kept when one of its LVs, segments or PVs matches. Reads
//! only: the caller then changes the objects kept.

use crate::metadata::id::Id;
use crate::metadata::store::{Scan, VgHandle};
use crate::report::{self, ReportType, Selection};

use super::common::{CmdError, Ctx};
use super::records::{kernel_states, lv_records, pv_device_maps, pv_records, vg_record};

/// The `-S` text parsed for a command of `rt` objects; LVM2's words for a
/// bad selection (exit 5).
pub fn parse(text: &str, rt: ReportType) -> Result<Selection, CmdError> {
    Selection::parse(text, rt).map_err(|e| CmdError::Failed(e.to_string()))
}

/// Whether `sel` (of a VG command) selects the VG of `h`: itself, or one
/// of its LVs, LV segments, PVs or PV segments, as its fields say.
pub fn vg_selected(ctx: &Ctx, scan: &Scan, h: &VgHandle, sel: &Selection) -> bool {
    let one = std::slice::from_ref(h);
    let record = vg_record(h, 0);
    let pvs = pv_records(scan, one, &[], None);
    let states = [kernel_states(ctx, h)];
    let devs = pv_device_maps(one);
    let lvs = lv_records(one, &devs, &states, None);
    report::selected_vgs(std::slice::from_ref(&record), &pvs, &lvs, sel)[0]
}

/// The LVs of `names` (of the VG of `h`, in that order) that `sel` (of an
/// LV command) selects. A selection on PV fields selects no LV: each is
/// refused with LVM2's two lines and left unchanged (LVM2 goes on, exit
/// 0, as `select_match_lv` only skips it).
pub fn lvs_selected(ctx: &Ctx, h: &VgHandle, names: Vec<String>, sel: &Selection) -> Vec<String> {
    let one = std::slice::from_ref(h);
    let states = [kernel_states(ctx, h)];
    let devs = pv_device_maps(one);
    let records: Vec<_> = lv_records(one, &devs, &states, None)
        .into_iter()
        .filter(|r| names.contains(&r.lv.name))
        .collect();
    match report::selected_lvs(&records, sel) {
        Ok(keep) => records
            .iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(r, _)| r.lv.name.clone())
            .collect(),
        Err(e) => {
            for r in &records {
                ctx.error(format!("{e}\n  Selection failed for LV {}.", r.lv.name));
            }
            vec![]
        }
    }
}

/// The PVs (by ID) of the scan that `sel` (of a PV command) selects: on
/// its own fields, its VG's, or the LV segments on it. `hs` are the VGs
/// read (their PVs are reported as theirs, the others as orphans).
pub fn pvs_selected(ctx: &Ctx, scan: &Scan, hs: &[VgHandle], sel: &Selection) -> Vec<Id> {
    let states: Vec<_> = hs.iter().map(|h| kernel_states(ctx, h)).collect();
    let devs = pv_device_maps(hs);
    let lvs = lv_records(hs, &devs, &states, None);
    let records = pv_records(scan, hs, &[], None);
    report::selected_pvs(&records, &lvs, sel)
        .into_iter()
        .zip(&records)
        .filter(|(k, _)| *k)
        .map(|(_, r)| r.pv_id)
        .collect()
}
