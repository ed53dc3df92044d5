//! Report records (`crate::report`'s input) built from a scan and the
//! kernel's view: shared by the report commands and by `-S|--select` on
//! the commands that change things (`selecting`).

use std::collections::BTreeMap;

use crate::metadata::store::{Scan, VgHandle};
use crate::report::{self, LvRecord, PvRecord, VgRecord};
use crate::system::scan::ScanDev;

use super::common::Ctx;
use super::lvselect::LvSelection;

/// `report::mda_free_bytes` of an area, 0 when its header is unreadable.
pub fn mda_free(m: &crate::metadata::store::MdaState) -> u64 {
    m.header.as_ref().map(report::mda_free_bytes).unwrap_or(0)
}

/// Whether a metadata area is in use: readable and not
/// `--metadataignore`d (LVM2's `mda_is_ignored`), what `pv_mda_used_count`,
/// `vg_mda_used_count` and `vg_mda_free` count.
pub fn mda_in_use(m: &crate::metadata::store::MdaState) -> bool {
    m.header
        .as_ref()
        .is_ok_and(|h| h.slots[0].flags & crate::metadata::mda::RAW_LOCN_IGNORED == 0)
}

pub fn vg_record<'a>(h: &'a VgHandle, open_lvs: u32) -> VgRecord<'a> {
    let mdas: Vec<_> = h.pvs.values().flat_map(|p| p.mdas.iter()).collect();
    let in_use = |m: &&crate::metadata::store::MdaState| mda_in_use(m);
    VgRecord {
        vg: &h.vg,
        mda_count: mdas.len() as u32,
        mda_used_count: mdas.iter().filter(|m| mda_in_use(m)).count() as u32,
        mda_free_bytes: mdas
            .iter()
            .filter(|m| in_use(m))
            .map(|m| mda_free(m))
            .min()
            .unwrap_or(0),
        mda_size_bytes: mdas
            .iter()
            .filter_map(|m| m.header.as_ref().ok().map(|h| h.size))
            .min()
            .unwrap_or(0),
        missing_pvs: h.missing.len() as u32,
        open_lvs,
    }
}

/// Report records for the LVs of `hs`: all of a VG's LVs (`sel` None),
/// or those the arguments select (`select::LvSelection::pick`; hidden LVs
/// stay in, the report leaves them out without `-a`).
pub fn lv_records<'a>(
    hs: &'a [VgHandle],
    devs: &'a [BTreeMap<String, String>],
    states: &[KernelFacts],
    sel: Option<&LvSelection>,
) -> Vec<LvRecord<'a>> {
    let mut records = Vec::new();
    for ((h, st), devs) in hs.iter().zip(states).zip(devs) {
        let picked = sel.map(|s| s.pick(&h.vg, true, false).lvs);
        // A set: a VG of thousands of LVs is not searched once per LV.
        let picked: Option<rustc_hash::FxHashSet<&str>> = picked
            .as_ref()
            .map(|p| p.iter().map(String::as_str).collect());
        for lv in &h.vg.lvs {
            if picked
                .as_ref()
                .is_some_and(|p| !p.contains(lv.name.as_str()))
            {
                continue;
            }
            let facts = st.get(&lv.name).cloned().unwrap_or_default();
            records.push(LvRecord {
                vg: &h.vg,
                lv,
                state: facts.state,
                pv_devices: devs,
                kernel_device: facts.device,
                kernel_read_ahead: crate::report::KernelReadAhead::of(facts.device),
            });
        }
    }
    records
}

/// Report records for the PVs of the scan (only those whose path is in
/// `filter`, when given), the missing PVs of `hs`, and with `devices`
/// (`-a`) every other device too, as a non-PV row.
pub fn pv_records<'a>(
    scan: &'a Scan,
    hs: &'a [VgHandle],
    filter: &[String],
    devices: Option<&[ScanDev]>,
) -> Vec<PvRecord<'a>> {
    let mut out = Vec::new();
    let devno = |path: &str| {
        devices
            .and_then(|d| d.iter().find(|d| d.path.to_string_lossy() == path))
            .map(|d| (d.major, d.minor))
    };
    for info in &scan.pvs {
        if !filter.is_empty() && !filter.contains(&info.path) {
            continue;
        }
        let in_vg = hs
            .iter()
            .find_map(|h| h.vg.pv_by_id(&info.id()).map(|p| (h, p)));
        let vg = in_vg.map(|(h, p)| (&*h.vg, p));
        let vg_facts = in_vg.map(|(h, _)| vg_record(h, 0));
        // A PV of another host's VG is that VG's, not an orphan: it is
        // left out unless its VG is shown (--foreign), as in LVM2.
        if vg.is_none() && scan.pv_is_foreign(&info.id()) {
            continue;
        }
        // An outdated PV (removed from its VG while absent) is neither.
        if vg.is_none() && scan.pv_is_outdated(&info.id()) {
            continue;
        }
        out.push(PvRecord {
            device: info.path.clone(),
            dev_size_bytes: info.size,
            pv_id: info.id(),
            // A VG's PV: the metadata's pe_start (LVM2's pv->pe_start,
            // which vgcfgrestore may set), else the label's data area.
            pe_start_sectors: vg.map_or_else(|| info.pe_start_sectors(), |(_, p)| p.pe_start),
            mda_count: info.mdas.len() as u32,
            mda_used_count: info.mdas.iter().filter(|m| mda_in_use(m)).count() as u32,
            mda_size_bytes: info
                .mdas
                .iter()
                .filter_map(|m| m.header.as_ref().ok().map(|h| h.size))
                .min()
                .unwrap_or(0),
            mda_free_bytes: info.mdas.iter().map(mda_free).min().unwrap_or(0),
            vg,
            missing: false,
            ext_version: info.label.header.ext_version,
            ext_used: info.label.header.ext_flags & crate::metadata::label::PV_EXT_USED != 0,
            ba_sectors: info.label.header.bootloader_area_sectors(),
            vg_facts,
            listed_id: None,
            label_size_sectors: info.label.header.orphan_size_sectors(info.size),
            devno: devno(&info.path),
            is_pv: true,
            used_extents: Default::default(),
        });
    }
    for d in devices.unwrap_or(&[]) {
        let path = d.path.to_string_lossy().into_owned();
        let known = scan.pvs.iter().any(|p| p.path == path);
        if known || (!filter.is_empty() && !filter.contains(&path)) {
            continue;
        }
        // The unused device of a duplicate PV is listed too (LVM2's
        // `pvs -a` shows it, with no size, as the PV's other device).
        let dup = scan.duplicates.iter().find(|p| p.unused == path);
        out.push(PvRecord {
            device: path,
            dev_size_bytes: if dup.is_some() { 0 } else { d.size_bytes },
            pv_id: dup.map_or(
                crate::metadata::id::Id([b'0'; crate::metadata::id::ID_LEN]),
                |p| p.id,
            ),
            pe_start_sectors: 0,
            mda_count: 0,
            mda_used_count: 0,
            mda_size_bytes: 0,
            mda_free_bytes: 0,
            vg: None,
            missing: false,
            ext_version: 0,
            ext_used: false,
            ba_sectors: (0, 0),
            vg_facts: None,
            listed_id: None,
            label_size_sectors: if dup.is_some() { 0 } else { d.size_bytes / 512 },
            devno: Some((d.major, d.minor)),
            is_pv: dup.is_some(),
            used_extents: Default::default(),
        });
    }
    // PVs of a VG that no device carries: listed as `[unknown]` with `m`,
    // as LVM2 lists them (unless PVs were named: those are devices).
    if filter.is_empty() {
        for h in hs {
            // (A PV back on its device but flagged MISSING is listed above.)
            let gone = h
                .missing
                .iter()
                .filter_map(|k| h.vg.pv(k))
                .filter(|p| scan.pvs.iter().all(|s| s.id() != p.id));
            for pv in gone {
                out.push(PvRecord {
                    device: report::UNKNOWN_DEVICE.to_string(),
                    dev_size_bytes: 0,
                    pv_id: pv.id,
                    pe_start_sectors: pv.pe_start,
                    mda_count: 0,
                    mda_used_count: 0,
                    mda_size_bytes: 0,
                    mda_free_bytes: 0,
                    vg: Some((&h.vg, pv)),
                    missing: true,
                    ext_version: 0,
                    ext_used: true,
                    ba_sectors: (0, 0),
                    vg_facts: Some(vg_record(h, 0)),
                    listed_id: None,
                    label_size_sectors: 0,
                    devno: None,
                    is_pv: true,
                    used_extents: Default::default(),
                });
            }
        }
    }
    out
}

/// For each VG, its PVs' devices as reports name them: the device found,
/// or `[unknown]` for a missing PV (never the stale hint in the metadata).
pub fn pv_device_maps(hs: &[VgHandle]) -> Vec<BTreeMap<String, String>> {
    hs.iter()
        .map(|h| {
            let mut m = h.pv_paths.clone();
            for k in &h.missing {
                m.insert(k.clone(), report::UNKNOWN_DEVICE.to_string());
            }
            m
        })
        .collect()
}

/// Kernel facts for one LV (`ops::activate::lv_facts`).
pub type LvKernelFacts = crate::ops::activate::LvFacts;

pub type KernelFacts = BTreeMap<String, LvKernelFacts>;

/// The kernel's view of every LV in the VG.
pub fn kernel_states(ctx: &Ctx, h: &VgHandle) -> KernelFacts {
    crate::ops::activate::lv_facts(ctx.dm().as_ref(), &h.vg)
}
