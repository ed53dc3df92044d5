//! vgchange's edits of a VG's own attributes, as pure functions on the
//! model (no I/O): maximum LV and PV counts, resizeable, extent size,
//! allocation policy. The rules and words are LVM2's `vg_set_*` in
//! lib/metadata/vg.c and the `_vgchange_*` helpers in tools/vgchange.c.
//! (Kept beside vgchange, their only user; they would sit as well in
//! `metadata`.)

use crate::metadata::model::{SegmentKind, Vg};
use crate::metadata::units;

/// An edit refused, in LVM2's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refuse<T>(msg: String) -> Result<T, Refused> {
    Err(Refused(msg))
}

pub fn is_resizeable(vg: &Vg) -> bool {
    vg.status.has("RESIZEABLE")
}

fn must_be_resizeable(vg: &Vg, what: &str) -> Result<(), Refused> {
    if is_resizeable(vg) {
        Ok(())
    } else {
        refuse(format!(
            "Volume group \"{}\" must be resizeable to change {what}",
            vg.name
        ))
    }
}

/// `vgchange -l`: 0 is unlimited; never below the visible LVs.
pub fn set_max_lv(vg: &mut Vg, max_lv: u64) -> Result<(), Refused> {
    must_be_resizeable(vg, "MaxLogicalVolume")?;
    let visible = vg.visible_count() as u64;
    if max_lv > 0 && max_lv < visible {
        return refuse(format!(
            "MaxLogicalVolume is less than the current number {visible} of LVs for {}",
            vg.name
        ));
    }
    vg.max_lv = max_lv;
    Ok(())
}

/// `vgchange -p`: 0 is unlimited; never below the PVs in the VG.
pub fn set_max_pv(vg: &mut Vg, max_pv: u64) -> Result<(), Refused> {
    must_be_resizeable(vg, "MaxPhysicalVolumes")?;
    let count = vg.pvs.len() as u64;
    if max_pv > 0 && max_pv < count {
        return refuse(format!(
            "MaxPhysicalVolumes is less than the current number {count} of PVs for \"{}\"",
            vg.name
        ));
    }
    vg.max_pv = max_pv;
    Ok(())
}

/// `vgchange -x y|n`: a no-op is refused.
pub fn set_resizeable(vg: &mut Vg, on: bool) -> Result<(), Refused> {
    match (on, is_resizeable(vg)) {
        (true, true) => refuse(format!(
            "Volume group \"{}\" is already resizeable",
            vg.name
        )),
        (false, false) => refuse(format!(
            "Volume group \"{}\" is already not resizeable",
            vg.name
        )),
        (true, false) => {
            vg.status.set("RESIZEABLE");
            Ok(())
        }
        (false, true) => {
            vg.status.clear("RESIZEABLE");
            Ok(())
        }
    }
}

/// `vgchange --alloc`: `policy` as `alloc_arg` gives it (None = normal);
/// a no-op is refused.
pub fn set_alloc(vg: &mut Vg, policy: Option<String>) -> Result<(), Refused> {
    if vg.allocation_policy == policy {
        return refuse(format!(
            "Volume group allocation policy is already {}",
            policy.as_deref().unwrap_or("normal")
        ));
    }
    vg.allocation_policy = policy;
    Ok(())
}

/// One count of extents at the new extent size (`_recalc_extents`): the
/// space must be a whole number of new extents that fits in 32 bits.
fn recalc(count: &mut u64, old: u64, new: u64, what: &str) -> Result<(), Refused> {
    let size = old * *count;
    if !size.is_multiple_of(new) {
        return refuse(format!(
            "New size {size} for {what} not an exact number of new extents."
        ));
    }
    let n = size / new;
    if n > u64::from(u32::MAX) {
        return refuse(format!("New extent count {n} for {what} exceeds 32 bits."));
    }
    *count = n;
    Ok(())
}

/// `vgchange -s`: every count of extents in the VG rescaled to extent
/// size `new` (sectors). `Ok(false)` when the size is already `new` (LVM2
/// warns and changes nothing). Nothing is changed on a refusal.
pub fn set_extent_size(vg: &mut Vg, new: u64) -> Result<bool, Refused> {
    must_be_resizeable(vg, "PE size")?;
    let old = vg.extent_size;
    if new == old {
        return Ok(false);
    }
    let total: u64 = vg.pvs.iter().map(|p| p.pe_count).sum::<u64>() * old;
    if new > old && !total.is_multiple_of(new) {
        return refuse("New extent size is not a perfect fit".into());
    }
    let mut out = vg.clone();
    out.extent_size = new;
    for pv in &mut out.pvs {
        let what = pv.device.clone().unwrap_or_else(|| pv.key.clone());
        recalc(&mut pv.pe_count, old, new, &what)?;
    }
    for lv in &mut out.lvs {
        let name = lv.name.clone();
        for seg in &mut lv.segments {
            recalc(
                &mut seg.start_extent,
                old,
                new,
                &format!("{name} segment start"),
            )?;
            let stripes = match &seg.kind {
                SegmentKind::Striped { stripes, .. } => stripes.len().max(1) as u64,
                _ => 1,
            };
            let mut area_len = seg.extent_count / stripes;
            recalc(
                &mut seg.extent_count,
                old,
                new,
                &format!("{name} segment length"),
            )?;
            if let SegmentKind::Striped { stripes, .. } = &mut seg.kind {
                recalc(&mut area_len, old, new, &format!("{name} area length"))?;
                for area in stripes.iter_mut() {
                    recalc(&mut area.pe, old, new, &format!("{name} pvseg start"))?;
                }
            }
        }
    }
    *vg = out;
    Ok(true)
}

/// The warning for a `vgchange -s` to the size the VG already has.
pub fn extent_size_unchanged(vg: &Vg) -> String {
    format!(
        "Physical extent size of VG {} is already {}.",
        vg.name,
        units::display_size(vg.extent_size)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::text;

    const VG: &str = r#"contents = "Text Format Volume Group"
version = 1
vg {
id = "aaaaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaaa"
seqno = 3
format = "lvm2"
status = ["RESIZEABLE", "READ", "WRITE"]
flags = []
extent_size = 8192
max_lv = 0
max_pv = 0
metadata_copies = 0
physical_volumes {
pv0 {
id = "bbbbbb-bbbb-bbbb-bbbb-bbbb-bbbb-bbbbbb"
device = "/dev/sdb"
status = ["ALLOCATABLE"]
flags = []
dev_size = 131072
pe_start = 2048
pe_count = 15
}
pv1 {
id = "cccccc-cccc-cccc-cccc-cccc-cccc-cccccc"
device = "/dev/sdc"
status = ["ALLOCATABLE"]
flags = []
dev_size = 131072
pe_start = 2048
pe_count = 15
}
}
logical_volumes {
lv1 {
id = "dddddd-dddd-dddd-dddd-dddd-dddd-dddddd"
status = ["READ", "WRITE", "VISIBLE"]
flags = []
segment_count = 1
segment1 {
start_extent = 0
extent_count = 4
type = "striped"
stripe_count = 2
stripe_size = 128
stripes = [
"pv0", 2,
"pv1", 0
]
}
}
}
}
"#;

    fn vg() -> Vg {
        text::import_vg(VG).unwrap().0
    }

    #[test]
    fn smaller_extents_rescale_every_count() {
        let mut v = vg();
        assert_eq!(set_extent_size(&mut v, 8), Ok(true));
        assert_eq!(v.extent_size, 8);
        assert_eq!(v.pvs[0].pe_count, 15 * 1024);
        let seg = &v.lvs[0].segments[0];
        assert_eq!(seg.extent_count, 4096);
        match &seg.kind {
            SegmentKind::Striped { stripes, .. } => {
                assert_eq!(stripes[0].pe, 2048);
                assert_eq!(stripes[1].pe, 0);
            }
            k => panic!("{k:?}"),
        }
        // The same size again changes nothing.
        let before = v.clone();
        assert_eq!(set_extent_size(&mut v, 8), Ok(false));
        assert_eq!(v, before);
    }

    #[test]
    fn larger_extents_must_fit_and_nothing_changes_on_refusal() {
        let mut v = vg();
        let before = v.clone();
        // 30 extents of 4 MiB do not make whole 16 MiB extents.
        assert_eq!(
            set_extent_size(&mut v, 32768),
            Err(Refused("New extent size is not a perfect fit".into()))
        );
        assert_eq!(v, before);
        // They do make 8 MiB extents, but not on each PV (15 each).
        assert_eq!(
            set_extent_size(&mut v, 16384).unwrap_err().0,
            "New size 122880 for /dev/sdb not an exact number of new extents."
        );
        assert_eq!(v, before);
        v.status.clear("RESIZEABLE");
        assert!(set_extent_size(&mut v, 8).is_err());
    }

    #[test]
    fn limits_and_flags_in_lvm2_words() {
        let mut v = vg();
        assert_eq!(
            set_max_pv(&mut v, 1).unwrap_err().0,
            "MaxPhysicalVolumes is less than the current number 2 of PVs for \"vg\""
        );
        set_max_pv(&mut v, 128).unwrap();
        assert_eq!(v.max_pv, 128);
        assert_eq!(
            set_max_lv(&mut v, 0).map(|_| v.max_lv),
            Ok(0),
            "0 is unlimited"
        );
        set_resizeable(&mut v, false).unwrap();
        assert_eq!(
            set_resizeable(&mut v, false).unwrap_err().0,
            "Volume group \"vg\" is already not resizeable"
        );
        assert!(set_max_lv(&mut v, 5).is_err());
        set_alloc(&mut v, Some("anywhere".into())).unwrap();
        assert_eq!(
            set_alloc(&mut v, Some("anywhere".into())).unwrap_err().0,
            "Volume group allocation policy is already anywhere"
        );
    }
}
