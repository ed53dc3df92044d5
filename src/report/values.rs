//! Field values: what each field prints for one LV (or LV segment), VG or
//! PV record, with the value used to sort it. The rules follow LVM2's
//! `lib/report/report.c` display functions. Pure.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::attr::{lv_attr_with, pv_attr, vg_attr};
use super::facts::{LvFacts, SnapIndex};
use super::units::{format_size, SuffixStyle, Units};
use super::{LvRecord, PvRecord, VgRecord};
use crate::dm::state::SnapshotStatus;
use crate::metadata::model::{Segment, SegmentKind};

/// One printed value and how it sorts. The text borrows from the records
/// where the value is a stored name or a fixed word (`lvs` of 1000 LVs made
/// two copies of every name, one to print and one to sort by).
#[derive(Clone, Debug, PartialEq)]
pub struct Cell<'a> {
    pub text: Cow<'a, str>,
    pub sort: SortKey<'a>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SortKey<'a> {
    Num(f64),
    Str(Cow<'a, str>),
    /// Sorts as a string: the cell's own text.
    Text,
}

/// What a cell sorts by, resolved.
enum Key<'k> {
    Num(f64),
    Str(&'k str),
}

impl Cell<'_> {
    /// The order of two cells of one field.
    pub fn compare(&self, other: &Cell<'_>) -> Ordering {
        match (self.key(), other.key()) {
            (Key::Num(a), Key::Num(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
            (Key::Str(a), Key::Str(b)) => a.cmp(b),
            (Key::Num(_), Key::Str(_)) => Ordering::Less,
            (Key::Str(_), Key::Num(_)) => Ordering::Greater,
        }
    }

    fn key(&self) -> Key<'_> {
        match &self.sort {
            SortKey::Num(v) => Key::Num(*v),
            SortKey::Str(s) => Key::Str(s),
            SortKey::Text => Key::Str(&self.text),
        }
    }
}

/// Unit settings for size fields.
#[derive(Clone, Copy, Debug)]
pub struct SizeFmt {
    pub units: Units,
    pub suffix: bool,
}

impl SizeFmt {
    fn size(&self, sectors: u64) -> Cell<'static> {
        Cell {
            text: format_size(sectors, self.units, self.suffix, SuffixStyle::Unit).into(),
            sort: SortKey::Num(sectors as f64),
        }
    }
}

fn s<'a>(text: impl Into<Cow<'a, str>>) -> Cell<'a> {
    Cell {
        text: text.into(),
        sort: SortKey::Text,
    }
}

fn n(v: i64) -> Cell<'static> {
    Cell {
        text: v.to_string().into(),
        sort: SortKey::Num(v as f64),
    }
}

/// A binary field: its word when set, blank when clear, `unknown` when
/// the answer needs the kernel and the kernel could not be asked.
fn bin(v: Option<bool>, word: &'static str) -> Cell<'static> {
    let (text, k) = match v {
        Some(true) => (word, 1.0),
        Some(false) => ("", 0.0),
        None => ("unknown", -1.0),
    };
    Cell {
        text: Cow::Borrowed(text),
        sort: SortKey::Num(k),
    }
}

/// LVM2's fixed-point percent (`dm_make_percent`) printed with two
/// decimals (`dm_percent_to_round_float`): 0.00 and 100.00 only when exact.
pub fn percent_text(num: u64, den: u64) -> (String, f64) {
    if den == 0 {
        return ("".into(), -1.0);
    }
    let num = num.min(den) as u128;
    let den = den as u128;
    let hundredths = if num == 0 {
        0
    } else if num == den {
        10000
    } else {
        let h = (num * 10000 * 2 + den) / (den * 2);
        h.clamp(1, 9999)
    };
    (
        format!("{}.{:02}", hundredths / 100, hundredths % 100),
        hundredths as f64 / 100.0,
    )
}

fn pct(v: Option<(u64, u64)>) -> Cell<'static> {
    match v {
        Some((a, b)) => {
            let (text, k) = percent_text(a, b);
            Cell {
                text: text.into(),
                sort: SortKey::Num(k),
            }
        }
        None => Cell {
            text: Cow::Borrowed(""),
            sort: SortKey::Num(-1.0),
        },
    }
}

/// `YYYY-MM-DD HH:MM:SS +0000` in UTC (rlvm does not read the time zone
/// database; LVM2 prints local time, identical when TZ is UTC).
pub fn format_time(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The snapshot percent LVM2 shows as Data%/Snap% for a COW or a merging
/// origin: `None` when blank.
fn snap_percent(r: &LvRecord<'_>, facts: &LvFacts<'_>) -> Option<(u64, u64)> {
    let merging_origin = facts.merging_origin;
    if (facts.cow.is_none() && !merging_origin) || !r.state.known || !r.state.active {
        return None;
    }
    match r.state.snapshot? {
        SnapshotStatus::Usage {
            allocated,
            total,
            metadata,
        } => {
            if metadata == Some(allocated) {
                Some((0, total.max(1)))
            } else {
                Some((allocated, total))
            }
        }
        // An unusable COW reads as full; a merging origin shows nothing.
        _ if !merging_origin => Some((1, 1)),
        _ => None,
    }
}

fn segment_pv_list(r: &LvRecord<'_>, seg: &Segment) -> String {
    match &seg.kind {
        SegmentKind::Striped { stripes, .. } => stripes
            .iter()
            .map(|a| format!("{}({})", r.pv_device(&a.pv), a.pe))
            .collect::<Vec<_>>()
            .join(","),
        SegmentKind::Snapshot { .. } | SegmentKind::Unknown { .. } => String::new(),
    }
}

/// LV and segment fields whose value comes from the metadata alone, not
/// from the kernel's view of the LV (`lv_value_with` reads no `r.state`,
/// `r.kernel_device` or `r.kernel_read_ahead` for them): an `lvs` that
/// shows, sorts and selects only these and VG fields asks device-mapper
/// nothing, as LVM2 asks it only for fields that need it. Unit-tested:
/// each gives the same value whatever the kernel says.
const METADATA_ONLY: &[&str] = &[
    "lv_uuid",
    "lv_name",
    "lv_full_name",
    "lv_path",
    "lv_dm_path",
    "lv_layout",
    "lv_role",
    "lv_merging",
    "lv_converting",
    "lv_allocation_locked",
    "lv_allocation_policy",
    "lv_fixed_minor",
    "lv_skip_activation",
    "lv_autoactivation",
    "lv_major",
    "lv_minor",
    "lv_read_ahead",
    "lv_size",
    "seg_count",
    "origin",
    "origin_uuid",
    "origin_size",
    "lv_tags",
    "lv_time",
    "lv_host",
    "lv_modules",
    "segtype",
    "stripes",
    "stripe_size",
    "chunk_size",
    "seg_start",
    "seg_start_pe",
    "seg_size",
    "seg_size_pe",
    "seg_tags",
    "devices",
];

/// Whether an LV report's field `f` needs the kernel's view of the LV.
/// VG fields in an LV report are the metadata's (`VgRecord::bare`); PV
/// fields and anything not listed in `METADATA_ONLY` count as needing it.
pub fn reads_kernel(f: &super::fields::FieldDef) -> bool {
    use super::fields::Obj;
    match f.obj {
        Obj::Vg => false,
        Obj::Lv | Obj::Seg => !METADATA_ONLY.contains(&f.id),
        Obj::Pv | Obj::PvSeg => true,
    }
}

/// Value of LV (or segment, or VG) field `id` for `r`; `seg` is the
/// segment for per-segment rows (the first one otherwise).
///
/// Each call scans the VG for snapshot facts; reports over many LVs use
/// `lv_value_with`.
pub fn lv_value<'r>(
    id: &str,
    r: &'r LvRecord<'_>,
    seg: Option<&'r Segment>,
    f: SizeFmt,
) -> Cell<'r> {
    let index = SnapIndex::new(r.vg);
    lv_value_with(id, r, &index.facts(r.lv), &index, seg, f)
}

/// `lv_value` with the LV's snapshot facts and its VG's `SnapIndex`
/// computed once by the caller (`index` must be built from `r.vg`).
pub fn lv_value_with<'r>(
    id: &str,
    r: &'r LvRecord<'_>,
    facts: &LvFacts<'r>,
    index: &SnapIndex<'_>,
    seg: Option<&'r Segment>,
    f: SizeFmt,
) -> Cell<'r> {
    let vg = r.vg;
    let lv = r.lv;
    let visible = facts.visible;
    let ext = vg.extent_size;
    let known = r.state.known;
    let active = known && r.state.active;
    let cow = &facts.cow;
    let seg = seg.or(lv.segments.first());
    let kdev = if active { r.kernel_device } else { None };
    match id {
        "lv_uuid" => s(lv.id.to_string()),
        "lv_name" if visible => s(lv.name.as_str()),
        "lv_name" => Cell {
            text: format!("[{}]", lv.name).into(),
            sort: SortKey::Str(Cow::Borrowed(&lv.name)),
        },
        "lv_full_name" => s(format!("{}/{}", vg.name, lv.name)),
        "lv_path" if visible => s(format!("/dev/{}/{}", vg.name, lv.name)),
        "lv_dm_path" => s(format!(
            "/dev/mapper/{}-{}",
            vg.name.replace('-', "--"),
            lv.name.replace('-', "--")
        )),
        "lv_layout" => s(match seg.map(|s| &s.kind) {
            Some(SegmentKind::Striped { stripes, .. }) if stripes.len() > 1 => "striped",
            Some(SegmentKind::Striped { .. }) => "linear",
            Some(SegmentKind::Unknown { type_name }) => type_name.as_str(),
            _ => "unknown",
        }),
        "lv_role" => {
            let mut roles = vec!["public"];
            if cow.is_some() {
                roles.extend(["snapshot", "thicksnapshot"]);
            } else {
                let snaps = facts.snapshots;
                if snaps > 0 {
                    roles.extend(["origin", "thickorigin"]);
                }
                if snaps > 1 {
                    roles.push("multithickorigin");
                }
            }
            s(roles.join(","))
        }
        "lv_merging" => bin(
            Some(cow.as_ref().is_some_and(|c| c.merging) || facts.merging_origin),
            "merging",
        ),
        "lv_converting" | "lv_allocation_locked" => bin(Some(false), ""),
        "lv_allocation_policy" => s(lv.allocation_policy.as_deref().unwrap_or("inherit")),
        "lv_fixed_minor" => bin(Some(lv.status.has("FIXED_MINOR")), "fixed minor"),
        "lv_skip_activation" => bin(
            Some(lv.flags.has("ACTIVATION_SKIP") || lv.status.has("ACTIVATION_SKIP")),
            "skip activation",
        ),
        "lv_autoactivation" => bin(Some(!lv.flags.has("NOAUTOACTIVATE")), "enabled"),
        // Monitoring is dmeventd's, for targets rlvm does not create.
        "seg_monitor" => s(""),
        "lv_active" => s(match (known, active) {
            (false, _) => "unknown",
            (true, true) => "active",
            (true, false) => "",
        }),
        "lv_active_locally" | "lv_active_exclusively" => bin(
            known.then_some(active),
            match id {
                "lv_active_locally" => "active locally",
                _ => "active exclusively",
            },
        ),
        "lv_active_remotely" => bin(known.then_some(false), "active remotely"),
        "lv_major" => n(lv.major.unwrap_or(-1)),
        "lv_minor" => n(lv.minor.unwrap_or(-1)),
        "lv_read_ahead" => match lv.read_ahead {
            None => Cell {
                text: Cow::Borrowed("auto"),
                sort: SortKey::Num(-1.0),
            },
            Some(ra) => f.size(ra),
        },
        "lv_size" => f.size(lv.extent_count() * ext),
        "seg_count" => n(lv.segments.len() as i64),
        "origin" => s(cow.as_ref().map_or("", |c| c.origin.name.as_str())),
        "origin_uuid" => s(cow
            .as_ref()
            .map(|c| c.origin.id.to_string())
            .unwrap_or_default()),
        "origin_size" => match cow {
            Some(c) => f.size(c.origin.extent_count() * ext),
            None => s(""),
        },
        "lv_tags" => s(sorted_tags(&lv.tags)),
        "lv_time" => s(lv.creation_time.map(format_time).unwrap_or_default()),
        "lv_host" => s(lv.creation_host.as_deref().unwrap_or("")),
        "lv_modules" => s(lv_modules(lv, facts).join(",")),
        "lv_kernel_major" => n(kdev.map(|d| d.0 as i64).unwrap_or(-1)),
        "lv_kernel_minor" => n(kdev.map(|d| d.1 as i64).unwrap_or(-1)),
        "lv_kernel_read_ahead" => match (active, r.kernel_read_ahead.get()) {
            (true, Some(ra)) => f.size(ra),
            _ => n(-1),
        },
        "lv_permissions" => s(match (known, lv.writable()) {
            (false, _) => "unknown",
            (true, false) => "read-only",
            (true, true) if active && r.state.read_only => "read-only-override",
            (true, true) => "writeable",
        }),
        "lv_suspended" => bin(known.then_some(active && r.state.suspended), "suspended"),
        "lv_live_table" => bin(known.then_some(active), "live table present"),
        "lv_inactive_table" => bin(known.then_some(false), "inactive table present"),
        "lv_device_open" => bin(known.then_some(active && r.state.open), "open"),
        "data_percent" | "snap_percent" => pct(snap_percent(r, facts)),
        "lv_health_status" => s(""),
        "lv_merge_failed" | "lv_snapshot_invalid" => {
            let relevant = cow.is_some() || facts.merging_origin;
            let st = r.state.snapshot;
            let v = if !relevant {
                Some(false)
            } else if !active {
                None
            } else if id == "lv_merge_failed" {
                Some(matches!(st, Some(SnapshotStatus::MergeFailed)))
            } else {
                Some(matches!(st, Some(SnapshotStatus::Invalid)))
            };
            bin(
                v,
                if id == "lv_merge_failed" {
                    "merge failed"
                } else {
                    "snapshot invalid"
                },
            )
        }
        "lv_attr" => {
            let mut attr = lv_attr_with(facts, lv, &r.state);
            // [8] health: `p` for an LV with extents on a missing PV.
            if r.partial() && attr.as_bytes().get(8) == Some(&b'-') {
                attr.replace_range(8..9, "p");
            }
            s(attr)
        }
        "segtype" => s(match seg.map(|s| &s.kind) {
            Some(SegmentKind::Striped { stripes, .. }) if stripes.len() == 1 => "linear",
            Some(s2) => match s2 {
                SegmentKind::Striped { .. } => "striped",
                SegmentKind::Snapshot { .. } => "snapshot",
                SegmentKind::Unknown { type_name } => type_name.as_str(),
            },
            None => "",
        }),
        "stripes" => n(match seg.map(|s| &s.kind) {
            Some(SegmentKind::Striped { stripes, .. }) => stripes.len() as i64,
            _ => 0,
        }),
        "stripe_size" => f.size(match seg.map(|s| &s.kind) {
            Some(SegmentKind::Striped { stripe_size, .. }) => stripe_size.unwrap_or(0),
            _ => 0,
        }),
        "chunk_size" => f.size(cow.as_ref().map(|c| c.chunk_size).unwrap_or(0)),
        "seg_start" => f.size(seg.map(|s| s.start_extent * ext).unwrap_or(0)),
        "seg_start_pe" => n(seg.map(|s| s.start_extent as i64).unwrap_or(0)),
        "seg_size" => f.size(seg.map(|s| s.extent_count * ext).unwrap_or(0)),
        "seg_size_pe" => n(seg.map(|s| s.extent_count as i64).unwrap_or(0)),
        "seg_tags" => s(seg.map(|s| sorted_tags(&s.tags)).unwrap_or_default()),
        // Zeroing is a thin-pool notion: unknown for everything rlvm models.
        "zero" => bin(None, "zero"),
        "devices" => s(seg.map(|sg| segment_pv_list(r, sg)).unwrap_or_default()),
        _ if id.starts_with("vg_")
            || ["pv_count", "lv_count", "snap_count", "max_lv", "max_pv"].contains(&id) =>
        {
            vg_value_with(id, &VgRecord::bare(vg), f, Some(index))
        }
        _ => s(""),
    }
}

/// The kernel modules (dm targets) the LV needs, sorted, once each, as
/// LVM2's `list_lv_modules` gives them: a segment type's own target
/// (`error`, `zero`, `snapshot`), and `snapshot` for an origin or a COW;
/// linear and striped need none. Types rlvm does not model add nothing.
fn lv_modules(lv: &crate::metadata::model::Lv, facts: &LvFacts<'_>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for seg in &lv.segments {
        match &seg.kind {
            SegmentKind::Snapshot { .. } => out.push("snapshot"),
            SegmentKind::Unknown { type_name } if type_name == "error" => out.push("error"),
            SegmentKind::Unknown { type_name } if type_name == "zero" => out.push("zero"),
            _ => {}
        }
    }
    if facts.cow.is_some() || facts.is_origin() {
        out.push("snapshot");
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn sorted_tags(tags: &[String]) -> String {
    let mut t = tags.to_vec();
    t.sort();
    t.join(",")
}

/// Value of VG field `id`.
pub fn vg_value<'v>(id: &str, r: &VgRecord<'v>, f: SizeFmt) -> Cell<'v> {
    vg_value_with(id, r, f, None)
}

/// `vg_value`, reusing the VG's `SnapIndex` when the caller has one.
fn vg_value_with<'v>(
    id: &str,
    r: &VgRecord<'v>,
    f: SizeFmt,
    index: Option<&SnapIndex<'_>>,
) -> Cell<'v> {
    let vg = r.vg;
    let ext = vg.extent_size;
    match id {
        "vg_fmt" => s("lvm2"),
        "vg_uuid" => s(vg.id.to_string()),
        "vg_name" => s(vg.name.as_str()),
        "vg_attr" => s(vg_attr(vg, r.missing_pvs > 0)),
        "vg_permissions" => s(if vg.status.has("WRITE") {
            "writeable"
        } else {
            "read-only"
        }),
        "vg_extendable" => bin(Some(vg.status.has("RESIZEABLE")), "extendable"),
        "vg_exported" => bin(Some(vg.status.has("EXPORTED")), "exported"),
        "vg_partial" => bin(Some(r.missing_pvs > 0), "partial"),
        "vg_autoactivation" => bin(Some(!vg.flags.has("NOAUTOACTIVATE")), "enabled"),
        // 0 or unset: "unmanaged", LVM2's reserved undefined number.
        "vg_mda_copies" => match vg.metadata_copies {
            Some(c) if c > 0 => n(c as i64),
            _ => Cell {
                text: Cow::Borrowed("unmanaged"),
                sort: SortKey::Num(-1.0),
            },
        },
        "vg_allocation_policy" => s(vg.allocation_policy.as_deref().unwrap_or("normal")),
        "vg_clustered" => bin(Some(vg.status.has("CLUSTERED")), "clustered"),
        "vg_shared" => bin(Some(false), "shared"),
        "vg_size" => f.size(vg.pe_total() * ext),
        "vg_free" => f.size(vg.pe_free() * ext),
        "vg_sysid" | "vg_systemid" => s(vg.system_id.as_deref().unwrap_or("")),
        "vg_extent_size" => f.size(ext),
        "vg_extent_count" => n(vg.pe_total() as i64),
        "vg_free_count" => n(vg.pe_free() as i64),
        "max_lv" => n(vg.max_lv as i64),
        "max_pv" => n(vg.max_pv as i64),
        "pv_count" => n(vg.pvs.len() as i64),
        "vg_missing_pv_count" => n(r.missing_pvs as i64),
        "lv_count" => n(match index {
            Some(index) => index.visible_count(vg),
            None => SnapIndex::new(vg).visible_count(vg),
        } as i64),
        "snap_count" => n(vg.snapshots().len() as i64),
        "vg_seqno" => n(vg.seqno as i64),
        "vg_tags" => s(sorted_tags(&vg.tags)),
        "vg_mda_count" => n(r.mda_count as i64),
        "vg_mda_used_count" => n(r.mda_used_count as i64),
        "vg_mda_free" => f.size(r.mda_free_bytes / 512),
        "vg_mda_size" => f.size(r.mda_size_bytes / 512),
        _ => s(""),
    }
}

/// Value of PV (or VG) field `id`.
pub fn pv_value<'r>(id: &str, r: &'r PvRecord<'_>, f: SizeFmt) -> Cell<'r> {
    let dev_sectors = r.dev_size_bytes / 512;
    if !r.is_pv {
        // A device without a PV label (`pvs -a`): LVM2 prints only its
        // name, size and a `---` attribute.
        return match id {
            "pv_name" => s(r.device.as_str()),
            "dev_size" => f.size(dev_sectors),
            "pv_attr" => s("---"),
            "pv_major" => s(r.devno.map(|d| d.0.to_string()).unwrap_or_default()),
            "pv_minor" => s(r.devno.map(|d| d.1.to_string()).unwrap_or_default()),
            "pv_size" | "pv_free" | "pv_used" | "pe_start" | "pv_mda_free" | "pv_mda_size"
            | "pv_ba_start" | "pv_ba_size" => f.size(0),
            "pv_pe_count" | "pv_pe_alloc_count" | "pv_mda_count" | "pv_mda_used_count"
            | "pv_ext_vsn" => n(0),
            "pv_allocatable" | "pv_exported" | "pv_missing" | "pv_in_use" | "pv_duplicate" => {
                bin(Some(false), "")
            }
            _ => s(""),
        };
    }
    let (size, free, used, pe, alloc) = match r.vg {
        Some((vg, pv)) => {
            let used = r.used_extents();
            (
                pv.pe_count * vg.extent_size,
                pv.pe_count.saturating_sub(used) * vg.extent_size,
                used * vg.extent_size,
                pv.pe_count,
                used,
            )
        }
        // A PV in use by a VG that was not found has no free space.
        None if r.ext_used => (r.label_size_sectors, 0, 0, 0, 0),
        None => (r.label_size_sectors, r.label_size_sectors, 0, 0, 0),
    };
    match id {
        "pv_fmt" => s("lvm2"),
        "pv_uuid" => s(r.pv_id.to_string()),
        "dev_size" => f.size(dev_sectors),
        "pv_name" => s(r.device.as_str()),
        "pv_mda_free" => f.size(r.mda_free_bytes / 512),
        "pv_ext_vsn" => n(r.ext_version as i64),
        "pv_in_use" => bin(Some(r.vg.is_some() || r.ext_used), "used"),
        "pv_duplicate" => bin(Some(false), "duplicate"),
        "pv_major" => s(r.devno.map(|d| d.0.to_string()).unwrap_or_default()),
        "pv_minor" => s(r.devno.map(|d| d.1.to_string()).unwrap_or_default()),
        "pv_mda_size" => f.size(r.mda_size_bytes / 512),
        "pe_start" => f.size(r.pe_start_sectors),
        // From the VG metadata's PV section (written while a devices
        // file is in use), as LVM2 reports them: blank for an orphan.
        "pv_device_id" => s(r
            .vg
            .and_then(|(_, p)| p.device_id.as_deref())
            .or_else(|| r.vg.and(r.listed_id.as_ref()).map(|l| l.1.as_str()))
            .unwrap_or("")),
        "pv_device_id_type" => s(r
            .vg
            .and_then(|(_, p)| p.device_id_type.as_deref())
            .or_else(|| r.vg.and(r.listed_id.as_ref()).map(|l| l.0.as_str()))
            .unwrap_or("")),
        "pv_ba_start" => f.size(r.ba_sectors.0),
        "pv_ba_size" => f.size(r.ba_sectors.1),
        "pv_size" => f.size(size),
        "pv_free" => f.size(free),
        "pv_used" => f.size(used),
        "pv_attr" => s(pv_attr(r.vg, r.missing, r.ext_used)),
        "pv_allocatable" => bin(
            Some(r.vg.is_some_and(|(_, p)| p.status.has("ALLOCATABLE"))),
            "allocatable",
        ),
        "pv_exported" => bin(
            Some(r.vg.is_some_and(|(v, _)| v.status.has("EXPORTED"))),
            "exported",
        ),
        "pv_missing" => bin(
            Some(r.missing || r.vg.is_some_and(|(_, p)| p.flags.has("MISSING"))),
            "missing",
        ),
        "pv_pe_count" => n(pe as i64),
        "pv_pe_alloc_count" => n(alloc as i64),
        "pv_tags" => s(r.vg.map(|(_, p)| sorted_tags(&p.tags)).unwrap_or_default()),
        "pv_mda_count" => n(r.mda_count as i64),
        "pv_mda_used_count" => n(r.mda_used_count as i64),
        // LVM2 names no VG for an orphan, `[unknown]` for a PV a VG uses
        // (PV_EXT_USED) when that VG was not found.
        "vg_name" => s(match r.vg {
            Some((v, _)) => v.name.as_str(),
            None if r.ext_used => super::UNKNOWN_DEVICE,
            None => "",
        }),
        _ => match (r.vg, &r.vg_facts) {
            (Some((vg, _)), Some(facts)) if std::ptr::eq(vg, facts.vg) => vg_value(id, facts, f),
            (Some((vg, _)), _) => vg_value(id, &VgRecord::bare(vg), f),
            (None, _) => s(""),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rounding_like_lvm() {
        assert_eq!(percent_text(0, 100).0, "0.00");
        assert_eq!(percent_text(1, 1000000).0, "0.01");
        assert_eq!(percent_text(999999, 1000000).0, "99.99");
        assert_eq!(percent_text(5, 5).0, "100.00");
        assert_eq!(percent_text(16, 16384).0, "0.10");
    }

    /// Modules as LVM2 2.03.16 lists them: `snapshot` for an origin and
    /// its COW, nothing for a plain linear LV, a virtual type's own target.
    #[test]
    fn lv_modules_like_lvm() {
        use crate::metadata::model::Segment;
        let mut vg = crate::report::fixture::example_vg();
        let mut plain = vg.lv("origin").unwrap().clone();
        plain.name = "plain".into();
        vg.lvs.push(plain);
        let mut virt = vg.lv("plain").unwrap().clone();
        virt.name = "virt".into();
        virt.segments = vec![
            Segment::new_virtual("zero", 0, 1),
            Segment::new_virtual("error", 1, 1),
            Segment::new_virtual("zero", 2, 1),
        ];
        vg.lvs.push(virt);
        let index = SnapIndex::new(&vg);
        let modules =
            |name: &str| lv_modules(vg.lv(name).unwrap(), &index.facts(vg.lv(name).unwrap()));
        assert_eq!(modules("origin"), ["snapshot"]);
        let cow = vg
            .lvs
            .iter()
            .find(|l| index.facts(l).cow.is_some())
            .unwrap();
        assert_eq!(modules(&cow.name), ["snapshot"]);
        assert!(modules("plain").is_empty());
        assert_eq!(modules("virt"), ["error", "zero"]);
    }

    /// Each field of `METADATA_ONLY` is a field, and gives the same text
    /// and sort key for every LV of the example VG (origin, snapshots,
    /// merging) whether the kernel could not be asked, says the LV is not
    /// active, or says it is active, open, suspended, read-only, an
    /// invalid snapshot or a merge, with a device number and read-ahead.
    #[test]
    fn metadata_only_fields_ignore_the_kernel() {
        use crate::dm::state::LvKernelState;
        use crate::report::fields::{resolve, ReportType};
        let vg = crate::report::fixture::example_vg();
        let devs = std::collections::BTreeMap::new();
        let index = SnapIndex::new(&vg);
        let states = [
            LvKernelState::default(),
            LvKernelState {
                known: true,
                ..Default::default()
            },
            LvKernelState {
                known: true,
                active: true,
                open: true,
                suspended: true,
                read_only: true,
                live_target: Some("snapshot-merge".into()),
                snapshot: Some(SnapshotStatus::Invalid),
            },
            LvKernelState {
                known: true,
                active: true,
                live_target: Some("snapshot".into()),
                snapshot: Some(SnapshotStatus::Usage {
                    allocated: 8,
                    total: 64,
                    metadata: Some(2),
                }),
                ..Default::default()
            },
        ];
        for id in METADATA_ONLY {
            let f = resolve(id, ReportType::Lvs).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert!(!reads_kernel(f), "{id}");
            for lv in &vg.lvs {
                let facts = index.facts(lv);
                let seen: Vec<(String, String)> = states
                    .iter()
                    .enumerate()
                    .map(|(i, st)| {
                        let dev = (i > 1).then_some((253, 7));
                        let r = LvRecord {
                            vg: &vg,
                            lv,
                            state: st.clone(),
                            pv_devices: &devs,
                            kernel_device: dev,
                            kernel_read_ahead: crate::report::KernelReadAhead::of(dev),
                        };
                        let f = SizeFmt {
                            units: Units::default(),
                            suffix: true,
                        };
                        let c = lv_value_with(id, &r, &facts, &index, None, f);
                        (c.text.into_owned(), format!("{:?}", c.sort))
                    })
                    .collect();
                assert!(
                    seen.windows(2).all(|w| w[0] == w[1]),
                    "{id} of {}: {seen:?}",
                    lv.name
                );
            }
        }
        // And the fields that do read it are not taken for metadata.
        for id in [
            "lv_attr",
            "lv_active",
            "data_percent",
            "lv_kernel_major",
            "lv_device_open",
        ] {
            assert!(reads_kernel(resolve(id, ReportType::Lvs).unwrap()), "{id}");
        }
    }

    #[test]
    fn time_is_utc() {
        assert_eq!(format_time(1795299680), "2026-11-21 22:21:20 +0000");
        assert_eq!(format_time(0), "1970-01-01 00:00:00 +0000");
    }
}
