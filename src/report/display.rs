//! `lvdisplay`, `vgdisplay`, `pvdisplay` long output in LVM2's layout
//! (`lvdisplay_full`, `vgdisplay_full`, `pvdisplay_full` in
//! lib/display/display.c are the reference). Pure.

use super::units::{format_size, SuffixStyle, Units};
use super::values::format_time;
use super::{LvRecord, PvRecord, VgRecord};
use crate::dm::state::SnapshotStatus;
use crate::metadata::model::LvRole;

fn size(sectors: u64, units: Units) -> String {
    format_size(sectors, units, true, SuffixStyle::Short)
}

/// Whether a snapshot's COW reads as active (LVM2: active and its percent
/// is not invalid).
fn snap_active(r: &LvRecord<'_>) -> bool {
    r.state.known
        && r.state.active
        && !matches!(r.state.snapshot, Some(SnapshotStatus::Invalid) | None)
}

/// `lvdisplay` for the given LVs, in the order given (LVM2 uses metadata
/// order). `snapshotN` links are skipped; hidden LVs only with `all`.
/// An origin's snapshots read `active`/`INACTIVE` from their COW LVs'
/// records in `records`; a COW not in `records` reads INACTIVE.
pub fn lvdisplay(records: &[LvRecord<'_>], all: bool, units: Units) -> String {
    let mut out = String::new();
    // Each LV's snapshot facts from one index per VG (asking the VG for
    // them scans all its LVs: quadratic over a VG of many LVs).
    let index = super::join::Indexes::new(records);
    for r in records {
        let (vg, lv) = (r.vg, r.lv);
        let facts = index.facts(r);
        if facts.role == LvRole::SnapshotLink || (!all && !facts.visible) {
            continue;
        }
        let inkernel = r.state.known && r.state.active;
        let mut p = |s: String| {
            out.push_str("  ");
            out.push_str(&s);
            out.push('\n');
        };
        p("--- Logical volume ---".into());
        if facts.visible {
            p(format!(
                "LV Path                /dev/{}/{}",
                vg.name, lv.name
            ));
            p(format!("LV Name                {}", lv.name));
        } else {
            p(format!("Internal LV Name       {}", lv.name));
        }
        p(format!("VG Name                {}", vg.name));
        p(format!("LV UUID                {}", lv.id));
        let access = if lv.writable() && inkernel && r.state.read_only {
            "read/write (activated read only)"
        } else if lv.writable() {
            "read/write"
        } else {
            "read only"
        };
        p(format!("LV Write Access        {access}"));
        p(format!(
            "LV Creation host, time {}, {}",
            lv.creation_host.as_deref().unwrap_or(""),
            lv.creation_time.map(format_time).unwrap_or_default()
        ));
        let snaps = if facts.is_origin() {
            vg.snapshots_of(&lv.name)
        } else {
            Vec::new()
        };
        let cow = facts.cow;
        if !snaps.is_empty() {
            p("LV snapshot status     source of".into());
            for s in &snaps {
                let active = records
                    .iter()
                    .find(|c| std::ptr::eq(c.vg, vg) && c.lv.name == s.cow.name)
                    .is_some_and(snap_active);
                p(format!(
                    "                       {} [{}]",
                    s.cow.name,
                    if active { "active" } else { "INACTIVE" }
                ));
            }
        } else if let Some(s) = &cow {
            p(format!(
                "LV snapshot status     {} destination for {}",
                if snap_active(r) { "active" } else { "INACTIVE" },
                s.origin.name
            ));
        }
        if r.state.known {
            if inkernel && r.state.suspended {
                p("LV Status              suspended".into());
            } else {
                p(format!(
                    "LV Status              {}available",
                    if inkernel { "" } else { "NOT " }
                ));
            }
        }
        if inkernel {
            p(format!(
                "# open                 {}",
                u32::from(r.state.open)
            ));
        }
        let ext = vg.extent_size;
        let shown_le = cow
            .as_ref()
            .map(|s| s.origin.extent_count())
            .unwrap_or(lv.extent_count());
        p(format!(
            "LV Size                {}",
            size(shown_le * ext, units)
        ));
        p(format!("Current LE             {shown_le}"));
        if let Some(s) = &cow {
            p(format!(
                "COW-table size         {}",
                size(lv.extent_count() * ext, units)
            ));
            p(format!("COW-table LE           {}", lv.extent_count()));
            if snap_active(r) {
                if let Some(SnapshotStatus::Usage {
                    allocated,
                    total,
                    metadata,
                }) = r.state.snapshot
                {
                    let used = if metadata == Some(allocated) {
                        0
                    } else {
                        allocated
                    };
                    p(format!(
                        "Allocated to snapshot  {}%",
                        super::values::percent_text(used, total).0
                    ));
                }
            }
            p(format!(
                "Snapshot chunk size    {}",
                size(s.chunk_size, units)
            ));
        }
        p(format!("Segments               {}", lv.segments.len()));
        p(format!(
            "Allocation             {}",
            lv.allocation_policy.as_deref().unwrap_or("inherit")
        ));
        match lv.read_ahead {
            None => p("Read ahead sectors     auto".into()),
            Some(ra) => p(format!("Read ahead sectors     {ra}")),
        }
        if let (true, Some(kra)) = (inkernel, r.kernel_read_ahead.get()) {
            if Some(kra) != lv.read_ahead {
                p(format!("- currently set to     {kra}"));
            }
        }
        if lv.status.has("FIXED_MINOR") {
            if let Some(maj) = lv.major.filter(|m| *m >= 0) {
                p(format!("Persistent major       {maj}"));
            }
            p(format!("Persistent minor       {}", lv.minor.unwrap_or(-1)));
        }
        if let (true, Some((maj, min))) = (inkernel, r.kernel_device) {
            p(format!("Block device           {maj}:{min}"));
        }
        p(" ".into());
    }
    out
}

/// `vgdisplay` for one VG.
pub fn vgdisplay(r: &VgRecord<'_>, units: Units) -> String {
    let vg = r.vg;
    let ext = vg.extent_size;
    let total = vg.pe_total();
    let free = vg.pe_free();
    let access = match (vg.status.has("READ"), vg.status.has("WRITE")) {
        (true, true) => "read/write",
        (true, false) => "read",
        (false, true) => "write",
        (false, false) => "error",
    };
    let lines = [
        "--- Volume group ---".to_string(),
        format!("VG Name               {}", vg.name),
        format!(
            "System ID             {}",
            vg.system_id.as_deref().unwrap_or("")
        ),
        "Format                lvm2".to_string(),
        format!("Metadata Areas        {}", r.mda_count),
        format!("Metadata Sequence No  {}", vg.seqno),
        format!("VG Access             {access}"),
        format!(
            "VG Status             {}{}resizable",
            if vg.status.has("EXPORTED") {
                "exported/"
            } else {
                ""
            },
            if vg.status.has("RESIZEABLE") {
                ""
            } else {
                "NOT "
            }
        ),
        format!("MAX LV                {}", vg.max_lv),
        format!(
            "Cur LV                {}",
            vg.lvs.iter().filter(|l| vg.lv_is_visible(l)).count()
        ),
        format!("Open LV               {}", r.open_lvs),
        format!("Max PV                {}", vg.max_pv),
        format!("Cur PV                {}", vg.pvs.len()),
        format!(
            "Act PV                {}",
            (vg.pvs.len() as u32).saturating_sub(r.missing_pvs)
        ),
        format!("VG Size               {}", size(total * ext, units)),
        format!("PE Size               {}", size(ext, units)),
        format!("Total PE              {total}"),
        format!(
            "Alloc PE / Size       {} / {}",
            total - free,
            size((total - free) * ext, units)
        ),
        format!("Free  PE / Size       {free} / {}", size(free * ext, units)),
        format!("VG UUID               {}", vg.id),
        " ".to_string(),
    ];
    lines.iter().map(|l| format!("  {l}\n")).collect()
}

/// `pvdisplay` for the given PVs: PVs in a VG first, then orphans (each
/// preceded by LVM2's `"<dev>" is a new physical volume of "<size>"`).
/// `pvdisplay -s`: a line per PV with the space still free on it (all of
/// the device for an orphan), as LVM2's `pvdisplay_short` words it.
pub fn pvdisplay_short(records: &[PvRecord<'_>], units: Units) -> String {
    let mut out = String::new();
    for r in records {
        let free = match r.vg {
            Some((vg, pv)) => pv.pe_count.saturating_sub(vg.pe_used_on(&pv.key)) * vg.extent_size,
            None => r.dev_size_bytes / 512,
        };
        out.push_str(&format!(
            "  Device \"{}\" has a capacity of {}\n",
            r.device,
            size(free, units)
        ));
    }
    out
}

pub fn pvdisplay(records: &[PvRecord<'_>], units: Units) -> String {
    let mut out = String::new();
    let ordered = records
        .iter()
        .filter(|r| r.vg.is_some())
        .chain(records.iter().filter(|r| r.vg.is_none()));
    for r in ordered {
        let dev_sectors = r.dev_size_bytes / 512;
        let mut lines = vec![];
        match r.vg {
            Some((vg, pv)) => {
                let pe_size = vg.extent_size;
                let data = pv.pe_count * pe_size;
                let pv_size = pv.dev_size.unwrap_or(dev_sectors);
                let (shown, unusable) = if pv_size > data + pv.pe_start {
                    (pv_size, pv_size - data)
                } else {
                    (data + pv.pe_start, data + pv.pe_start - pv_size)
                };
                let used = vg.pe_used_on(&pv.key);
                let free = pv.pe_count.saturating_sub(used);
                if vg.is_exported() {
                    // LVM2's pvdisplay_full says so before the block.
                    lines.push(format!(
                        "Physical volume \"{}\" of volume group \"{}\" is exported",
                        r.device, vg.name
                    ));
                }
                lines.push("--- Physical volume ---".to_string());
                lines.push(format!("PV Name               {}", r.device));
                lines.push(format!(
                    "VG Name               {}{}",
                    vg.name,
                    if vg.is_exported() { " (exported)" } else { "" }
                ));
                lines.push(format!(
                    "PV Size               {} / not usable {}",
                    size(shown, units),
                    size(unusable, units)
                ));
                if pv.pe_count > 0 && pv.status.has("ALLOCATABLE") {
                    lines.push(format!(
                        "Allocatable           yes {}",
                        if free == 0 { "(but full)" } else { "" }
                    ));
                } else {
                    lines.push("Allocatable           NO".to_string());
                }
                lines.push(format!("PE Size               {}", size(pe_size, units)));
                lines.push(format!("Total PE              {}", pv.pe_count));
                lines.push(format!("Free PE               {free}"));
                lines.push(format!("Allocated PE          {used}"));
            }
            None => {
                out.push_str(&format!(
                    "  \"{}\" is a new physical volume of \"{}\"\n",
                    r.device,
                    size(dev_sectors, units)
                ));
                lines.push("--- NEW Physical volume ---".to_string());
                lines.push(format!("PV Name               {}", r.device));
                lines.push("VG Name               ".to_string());
                lines.push(format!(
                    "PV Size               {}",
                    size(dev_sectors, units)
                ));
                lines.push("Allocatable           NO".to_string());
                lines.push(format!("PE Size               {}", size(0, units)));
                lines.push("Total PE              0".to_string());
                lines.push("Free PE               0".to_string());
                lines.push("Allocated PE          0".to_string());
            }
        }
        lines.push(format!("PV UUID               {}", r.pv_id));
        lines.push(" ".to_string());
        for l in lines {
            out.push_str(&format!("  {l}\n"));
        }
    }
    out
}
