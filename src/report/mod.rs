//! Reports (`lvs`, `vgs`, `pvs`, `*display`): LVM2's field names, columns,
//! attribute strings, units and JSON shape.
//!
//! Pure: callers hand in records (metadata plus what the kernel and the
//! device scan said) and get the exact text LVM2 would print. No I/O.

use std::collections::BTreeMap;

use crate::dm::state::LvKernelState;
use crate::metadata::id::Id;
use crate::metadata::model::{Lv, Pv, Vg};

pub mod attr;
pub mod display;
pub mod facts;
pub mod fields;
pub mod format;
pub mod join;
pub mod select;
pub mod units;
pub mod values;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod mda_free_tests {
    use crate::metadata::mda::MdaHeader;

    /// Values LVM2 2.03.16 printed for a 1 MiB-aligned PV's area.
    #[test]
    fn mda_free_like_lvm() {
        let mut h = MdaHeader::new(4096, 1044480);
        assert_eq!(super::mda_free_bytes(&h), 521216);
        h.slots[0].offset = 1536;
        h.slots[0].size = 1006;
        assert_eq!(super::mda_free_bytes(&h), 520192);
        h.slots[0].flags = crate::metadata::mda::RAW_LOCN_IGNORED;
        assert_eq!(super::mda_free_bytes(&h), 0);
    }
}
#[cfg(test)]
mod golden_tests;

pub use display::{lvdisplay, pvdisplay, vgdisplay};
pub use fields::ReportType;
pub use format::{
    report_lvs, report_pvs, report_pvs_with_lvs, report_vgs, report_vgs_with_pvs, selected_lvs,
    selected_pvs, selected_vgs, ReportOptions,
};
pub use select::{SelectError, Selection};
pub use units::Units;

/// Report errors, with LVM2's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("Unrecognised field: {0}")]
    UnrecognisedField(String),
    #[error(transparent)]
    Units(#[from] units::UnitsError),
    #[error(transparent)]
    Select(#[from] select::SelectError),
    /// A selection of LVs on PV fields (LVM2 2.03.16's words).
    #[error("Can't report LV and PV fields at the same time in report type \"lv\".")]
    LvAndPvFields,
}

impl ReportError {
    /// LVM2 exits 5 (ECMD_FAILED) for an unknown `-o` field, after
    /// printing the field list (tested with 2.03.16).
    pub fn exit_code(&self) -> i32 {
        5
    }
}

/// One LV to report: the VG it is in, the LV, and the kernel's view.
#[derive(Clone, Debug)]
pub struct LvRecord<'a> {
    pub vg: &'a Vg,
    pub lv: &'a Lv,
    pub state: LvKernelState,
    /// PV key (`pv0`) → device name the scan found it on, `[unknown]` for
    /// a missing PV (the LV is then partial, `p` in lv_attr); the
    /// metadata's `device` hint is used for keys not listed.
    pub pv_devices: &'a BTreeMap<String, String>,
    /// Kernel major:minor of the LV's device when active.
    pub kernel_device: Option<(u32, u32)>,
    /// Read-ahead in sectors the kernel uses, when active.
    pub kernel_read_ahead: KernelReadAhead,
}

/// The read-ahead (sectors) the kernel uses for an LV's device: read from
/// sysfs the first time a report shows it, not for every active LV of
/// every report (1000 active LVs: 3000 system calls for `lvs` that shows
/// no read-ahead).
#[derive(Clone, Debug, Default)]
pub struct KernelReadAhead {
    device: Option<(u32, u32)>,
    value: std::cell::OnceCell<Option<u64>>,
}

impl KernelReadAhead {
    /// That of the device `major:minor` (none: not active).
    pub fn of(device: Option<(u32, u32)>) -> KernelReadAhead {
        KernelReadAhead {
            device,
            value: std::cell::OnceCell::new(),
        }
    }

    pub fn get(&self) -> Option<u64> {
        *self.value.get_or_init(|| {
            self.device
                .and_then(|(major, minor)| crate::system::scan::kernel_read_ahead(major, minor))
        })
    }
}

/// Free space LVM2 reports for a metadata area (`pv_mda_free`,
/// `vg_mda_free`), in bytes: a commit needs room for the new copy beside
/// the old one, so what is left of the text area after the header, three
/// sectors and two copies of the committed text (rounded up to 512 bytes)
/// is halved; 0 for an ignored area. Matches LVM2 2.03.16's values (1006
/// bytes of text in a 1020 KiB area: 520192; none: 521216).
pub fn mda_free_bytes(h: &crate::metadata::mda::MdaHeader) -> u64 {
    use crate::metadata::mda::{MDA_ALIGNMENT, MDA_HEADER_SIZE, RAW_LOCN_IGNORED};
    if h.slots[0].flags & RAW_LOCN_IGNORED != 0 {
        return 0;
    }
    let buffer = h.size.saturating_sub(MDA_HEADER_SIZE + 3 * 512);
    let used = h.slots[0].size.div_ceil(MDA_ALIGNMENT) * MDA_ALIGNMENT;
    (buffer.saturating_sub(2 * used) / 2) / 512 * 512
}

/// The device name LVM2 gives a PV it cannot find.
pub const UNKNOWN_DEVICE: &str = "[unknown]";

impl LvRecord<'_> {
    /// Whether the LV has extents on a missing PV (LVM2's `lv_is_partial`
    /// for the LVs rlvm models).
    pub fn partial(&self) -> bool {
        self.lv.segments.iter().any(|seg| match &seg.kind {
            crate::metadata::model::SegmentKind::Striped { stripes, .. } => stripes
                .iter()
                .any(|a| self.pv_devices.get(&a.pv).map(String::as_str) == Some(UNKNOWN_DEVICE)),
            _ => false,
        })
    }

    /// Device name of PV `key`, as `devices` and lvdisplay print it.
    pub fn pv_device(&self, key: &str) -> String {
        self.pv_devices
            .get(key)
            .cloned()
            .or_else(|| self.vg.pv(key).and_then(|p| p.device.clone()))
            .unwrap_or_else(|| "[unknown]".to_string())
    }
}

/// One VG to report, with the metadata-area facts the scan found.
#[derive(Clone, Debug)]
pub struct VgRecord<'a> {
    pub vg: &'a Vg,
    /// Metadata areas on all its PVs.
    pub mda_count: u32,
    pub mda_used_count: u32,
    /// Smallest free space / size among its metadata areas, in bytes.
    pub mda_free_bytes: u64,
    pub mda_size_bytes: u64,
    pub missing_pvs: u32,
    /// LVs whose device is open (vgdisplay's "Open LV").
    pub open_lvs: u32,
}

impl<'a> VgRecord<'a> {
    /// A record with no scan facts (zero mdas), for VG fields shown in
    /// lvs/pvs, which do not print mda values.
    pub fn bare(vg: &'a Vg) -> Self {
        VgRecord {
            vg,
            mda_count: 0,
            mda_used_count: 0,
            mda_free_bytes: 0,
            mda_size_bytes: 0,
            missing_pvs: 0,
            open_lvs: 0,
        }
    }
}

/// One PV (device with a PV label) to report; `vg` is `None` for an orphan.
#[derive(Clone, Debug)]
pub struct PvRecord<'a> {
    pub device: String,
    pub dev_size_bytes: u64,
    pub pv_id: Id,
    pub pe_start_sectors: u64,
    pub mda_count: u32,
    pub mda_used_count: u32,
    pub mda_size_bytes: u64,
    pub mda_free_bytes: u64,
    pub vg: Option<(&'a Vg, &'a Pv)>,
    /// A PV of the VG not found on any device: LVM2 lists it as
    /// `[unknown]`, `m` in pv_attr.
    pub missing: bool,
    /// PV header extension version (`pv_ext_vsn`).
    pub ext_version: u32,
    /// The label's PV_EXT_USED flag (`pv_in_use` of an orphan).
    pub ext_used: bool,
    /// The label's bootloader area (`pv_ba_start`, `pv_ba_size`), in
    /// sectors; (0, 0) for none.
    pub ba_sectors: (u64, u64),
    /// The scan facts of the PV's VG (`vg_mda_count`... in pvs); VG
    /// fields read a bare record when `None`.
    pub vg_facts: Option<VgRecord<'a>>,
    /// The devices file's (IDTYPE, IDNAME) for a VG's PV whose metadata
    /// records no device ID (LVM2 would have written it there on its
    /// next VG update); `None` when not looked up.
    pub listed_id: Option<(String, String)>,
    /// The size the label records, in sectors: an orphan's `pv_size` and
    /// `pv_free` (pvcreate/pvresize `--setphysicalvolumesize`), as LVM2
    /// reports them.
    pub label_size_sectors: u64,
    /// Kernel major:minor of the device (`pv_major`, `pv_minor`).
    pub devno: Option<(u32, u32)>,
    /// False for a device without a PV label, listed by `pvs -a`.
    pub is_pv: bool,
    /// The extents LVs use on the PV, counted the first time a field
    /// needs them (a scan of the VG's LVs: once per value made `pvs -o
    /// +lv_name` quadratic in the number of LVs). Belongs to this `vg`:
    /// a record made from another (`..pv`) for a different VG or PV must
    /// start with a fresh `Default::default()`.
    pub used_extents: std::cell::OnceCell<u64>,
}

impl PvRecord<'_> {
    /// Extents of the PV that the VG's LVs use (0 for an orphan).
    pub fn used_extents(&self) -> u64 {
        *self
            .used_extents
            .get_or_init(|| self.vg.map_or(0, |(vg, pv)| vg.pe_used_on(&pv.key)))
    }
}
