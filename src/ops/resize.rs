//! lvextend / lvreduce / lvresize for linear, striped and snapshot (COW)
//! LVs: the pure size arithmetic LVM2 applies (percentages, stripe
//! rounding), the metadata edit that shortens an LV, and the one operation
//! that commits the new size and reloads an active LV's stack in the
//! transaction order of `super::update` (precommit, preload + suspend,
//! commit, resume; undone on failure, nothing left suspended). An origin
//! with snapshots grows through its `-real` device, which the planner
//! resumes grown before the `snapshot-origin` table above it is reloaded
//! (`dm::plan::plan_update`). Extent allocation is `metadata::alloc`.
//!
//! Rules as LVM 2.03.16 applies them (`_lvresize_adjust_extents` in
//! lib/metadata/lv_manip.c), checked against it on loop devices
//! (tests/interop/resize.sh).

use crate::metadata::model::{Lv, SegmentKind, Vg};
use crate::metadata::store::VgHandle;
use crate::metadata::units::display_size;

use super::{Dm, OpsError, Storage};

/// `pct` percent of `base` extents: rounded up when the size grows or is
/// absolute (`+50%FREE`, `90%VG`), down when it is taken off (`-10%LV`).
pub fn percent_of(pct: u32, base: u64, round_up: bool) -> u64 {
    let n = pct as u128 * base as u128;
    let v = if round_up { n.div_ceil(100) } else { n / 100 };
    v.min(u64::MAX as u128) as u64
}

/// The outcome of stripe rounding: the new size and LVM2's notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rounded {
    pub extents: u64,
    pub notice: Option<String>,
}

/// Rounds `new` (extents) so the segment that ends the LV holds whole
/// stripe rows. `seg_start` is the LE where that segment starts (the
/// current size when extending: the new segment), `row` its stripes times
/// the stripe size in extents (at least 1 per stripe). The size moves up,
/// away from the original request only when the VG can hold it: reducing,
/// or growing by a count, always rounds up; growing by a percentage rounds
/// down when `free` cannot take the rounded-up size (`-l+100%FREE` on
/// three stripes leaves the odd extents free).
pub fn round_to_stripes(
    new: u64,
    current: u64,
    seg_start: u64,
    row: u64,
    percent: bool,
    free: u64,
) -> Rounded {
    let row = row.max(1);
    let seg = new.saturating_sub(seg_start);
    let rest = seg % row;
    if rest == 0 || row == 1 {
        return Rounded {
            extents: new,
            notice: None,
        };
    }
    let up = new - rest + row;
    if new < current || !percent || free >= up.saturating_sub(current) {
        Rounded {
            extents: up,
            notice: Some(format!(
                "Rounding size ({new} extents) up to stripe boundary size for segment ({up} extents)."
            )),
        }
    } else {
        let down = new - rest;
        Rounded {
            extents: down,
            notice: Some(format!(
                "Rounding size ({new} extents) down to stripe boundary size for segment ({down} extents)"
            )),
        }
    }
}

/// Stripe count and stripe size (sectors) of the segment holding logical
/// extent `le` of `lv` (the last segment if `le` is past the end).
pub fn stripes_at(lv: &Lv, le: u64) -> (u64, Option<u64>) {
    let seg = lv
        .segments
        .iter()
        .find(|s| s.start_extent <= le && le < s.start_extent + s.extent_count)
        .or(lv.segments.last());
    match seg.map(|s| &s.kind) {
        Some(SegmentKind::Striped {
            stripes,
            stripe_size,
        }) => (stripes.len().max(1) as u64, *stripe_size),
        _ => (1, None),
    }
}

/// Start LE of the segment holding logical extent `le`.
pub fn segment_start_at(lv: &Lv, le: u64) -> u64 {
    lv.segments
        .iter()
        .find(|s| s.start_extent <= le && le < s.start_extent + s.extent_count)
        .map(|s| s.start_extent)
        .unwrap_or(0)
}

/// Shortens `lv` to `extents`: segments past the end go, the one across it
/// is cut (its length stays a multiple of its stripes: the caller rounded).
pub fn truncate(lv: &mut Lv, extents: u64) {
    lv.segments.retain(|s| s.start_extent < extents);
    if let Some(last) = lv.segments.last_mut() {
        let end = last.start_extent + last.extent_count;
        if end > extents {
            last.extent_count = extents - last.start_extent;
        }
    }
}

/// An origin's snapshot links (`snapshotN`) span the origin: their one
/// segment follows the origin's new size.
pub fn follow_origin_size(vg: &mut Vg, origin: &str) {
    let Some(n) = vg.lv(origin).map(|l| l.extent_count()) else {
        return;
    };
    for link in vg.lvs.iter_mut() {
        if link.snapshot_segment().is_some_and(|(o, ..)| o == origin) {
            if let Some(seg) = link.segments.first_mut() {
                seg.extent_count = n;
            }
        }
    }
}

/// "Size of logical volume vg/lv changed from 8.00 MiB (2 extents) to
/// 16.00 MiB (4 extents)."
pub fn size_changed_notice(vg: &Vg, lv: &str, from: u64, to: u64) -> String {
    format!(
        "Size of logical volume {}/{lv} changed from {} ({from} extents) to {} ({to} extents).",
        vg.name,
        display_size(from.saturating_mul(vg.extent_size)),
        display_size(to.saturating_mul(vg.extent_size)),
    )
}

/// Commits `h.vg` (with `lv` at its new size) and, when the LV's family is
/// active, reloads it in the one transaction order. Without device-mapper
/// (activation off) only the metadata is committed.
pub fn resize(
    dm: Option<&mut Dm>,
    store: &dyn Storage,
    h: &mut VgHandle,
    before: &Vg,
    lv: &str,
) -> Result<(), OpsError> {
    super::reload_lv(dm, store, h, before, lv, "resize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::model::{Segment, StripeArea};

    #[test]
    fn percentages_round_as_lvm2() {
        // 90%VG of 15 extents grows to 14, -10%LV of 15 takes 1 off.
        assert_eq!(percent_of(90, 15, true), 14);
        assert_eq!(percent_of(10, 15, false), 1);
        assert_eq!(percent_of(50, 45, true), 23);
        assert_eq!(percent_of(10, 23, false), 2);
        assert_eq!(percent_of(100, 0, true), 0);
    }

    #[test]
    fn stripe_rounding_matches_lvm2() {
        // Observed with LVM 2.03.16 (three 5-extent PVs, -i3 LV of 12).
        let r = round_to_stripes(16, 12, 12, 3, false, 3);
        assert_eq!(r.extents, 18);
        assert_eq!(
            r.notice.as_deref(),
            Some("Rounding size (16 extents) up to stripe boundary size for segment (18 extents).")
        );
        // Reduce 12 -> 8 in a 3-stripe segment starting at 0: up to 9.
        assert_eq!(round_to_stripes(8, 12, 0, 3, false, 0).extents, 9);
        // 90%VG: 14 rounds up to 15 when the VG has room.
        assert_eq!(round_to_stripes(14, 9, 9, 3, true, 6).extents, 15);
        // +100%FREE with 5 free on 3 stripes: down to a whole row.
        let r = round_to_stripes(8, 3, 3, 3, true, 5);
        assert_eq!(r.extents, 6);
        assert!(r.notice.unwrap().contains("down to stripe boundary"));
        // Whole rows and linear: no notice.
        assert_eq!(round_to_stripes(15, 12, 12, 3, true, 3).notice, None);
        assert_eq!(round_to_stripes(7, 3, 3, 1, false, 9).notice, None);
    }

    fn striped(start: u64, count: u64, stripes: usize) -> Segment {
        Segment {
            start_extent: start,
            extent_count: count,
            kind: SegmentKind::Striped {
                stripe_size: (stripes > 1).then_some(128),
                stripes: (0..stripes)
                    .map(|i| StripeArea {
                        pv: format!("pv{i}"),
                        pe: start,
                    })
                    .collect(),
            },
            tags: vec![],
        }
    }

    fn lv_with(segments: Vec<Segment>) -> Lv {
        Lv {
            name: "lv".into(),
            id: crate::metadata::id::Id::random(),
            status: Default::default(),
            flags: Default::default(),
            tags: vec![],
            creation_time: None,
            creation_host: None,
            allocation_policy: None,
            read_ahead: None,
            major: None,
            minor: None,
            segments,
        }
    }

    #[test]
    fn truncate_drops_and_cuts_segments() {
        let mut lv = lv_with(vec![striped(0, 6, 3), striped(6, 4, 2), striped(10, 5, 1)]);
        assert_eq!(stripes_at(&lv, 7), (2, Some(128)));
        assert_eq!(segment_start_at(&lv, 7), 6);
        truncate(&mut lv, 8);
        assert_eq!(lv.extent_count(), 8);
        assert_eq!(lv.segments.len(), 2);
        assert_eq!(lv.segments[1].extent_count, 2);
        assert_eq!(lv.segments[1].area_len(), 1);
        truncate(&mut lv, 3);
        assert_eq!(lv.segments.len(), 1);
        assert_eq!(lv.segments[0].area_len(), 1);
    }
}
