//! Snapshot edits of the VG model, in named pairs as LVM2 keeps them
//! (lib/metadata/snapshot_manip.c: `vg_add_snapshot`, `init_snapshot_merge`
//! / `clear_snapshot_merge`, `vg_remove_snapshot`). Pure: each function
//! changes a `Vg` in memory and checks the preconditions LVM2 checks; the
//! caller commits.
//!
//! On disk a snapshot is two LVs: the COW LV (the user's name, no
//! `VISIBLE`) and an internal `snapshotN` LV whose one `snapshot` segment
//! names the origin and the COW (`cow_store`). A merge in progress changes
//! exactly two things: the segment says `merging_store` instead of
//! `cow_store`, and `snapshotN` loses `VISIBLE` (`init_snapshot_merge`).
//! Everything else about a merge (has the kernel started it, how far is
//! it) is read from the kernel.

use super::id::Id;
use super::model::{Flags, Lv, LvRole, Segment, SegmentKind, Vg};

/// Why a snapshot edit is refused, in LVM2's words where it has them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("Failed to find logical volume \"{vg}/{lv}\"")]
    NoSuchLv { vg: String, lv: String },
    #[error("{vg}/{lv} is not a snapshot.")]
    NotSnapshot { vg: String, lv: String },
    /// lvconvert.c `_lvconvert_merge_old_snapshot`.
    #[error("Cannot merge snapshot {vg}/{snap} into the origin {vg}/{origin} with merging snapshot {vg}/{merging}.")]
    OriginMerging {
        vg: String,
        snap: String,
        origin: String,
        merging: String,
    },
    #[error("Cannot merge snapshot {vg}/{snap} into the read-only origin {vg}/{origin}. (Use lvchange -p rw).")]
    ReadOnlyOrigin {
        vg: String,
        snap: String,
        origin: String,
    },
    /// snapshot_manip.c `validate_snapshot_origin`.
    #[error("Snapshots of an origin that has a merging snapshot are not supported.")]
    CreateOnMergingOrigin,
    #[error("Snapshots of snapshots are not supported: {vg}/{lv}.")]
    SnapshotOfSnapshot { vg: String, lv: String },
}

/// LVM2's `lv_is_merging_origin`.
pub fn is_merging_origin(vg: &Vg, lv: &str) -> bool {
    vg.merging_snapshot_of(lv).is_some()
}

/// LVM2's `lv_is_merging_cow`.
pub fn is_merging_cow(vg: &Vg, lv: &str) -> bool {
    vg.snapshot_by_cow(lv).is_some_and(|s| s.merging)
}

/// Largest COW (in extents) a snapshot of `origin_extents` can use: header,
/// one exception per origin chunk and the metadata areas that index them
/// (dm-snap-persistent's layout), plus a zeroed terminator area.
pub fn cow_max_extents(origin_extents: u64, extent_size: u64, chunk: u64) -> u64 {
    let origin_sectors = origin_extents * extent_size;
    let data_chunks = origin_sectors.div_ceil(chunk);
    let epa = chunk * 512 / 16;
    let areas = data_chunks.div_ceil(epa) + 1;
    let total_sectors = (1 + data_chunks + areas) * chunk;
    total_sectors.div_ceil(extent_size)
}

/// Checks that `origin` may get a new snapshot (`validate_snapshot_origin`).
pub fn check_snapshot_origin(vg: &Vg, origin: &str) -> Result<u64, SnapshotError> {
    let Some(ol) = vg.lv(origin) else {
        return Err(SnapshotError::NoSuchLv {
            vg: vg.name.clone(),
            lv: origin.to_string(),
        });
    };
    if vg.role(ol) != LvRole::Plain || !vg.lv_is_visible(ol) {
        return Err(SnapshotError::SnapshotOfSnapshot {
            vg: vg.name.clone(),
            lv: origin.to_string(),
        });
    }
    if is_merging_origin(vg, origin) {
        return Err(SnapshotError::CreateOnMergingOrigin);
    }
    Ok(ol.extent_count())
}

/// Adds snapshot `cow` (already in `vg.lvs`, hidden) of `origin` with
/// `chunk` sectors per chunk: the `snapshotN` link LV (`vg_add_snapshot`).
/// Returns the link's name.
pub fn add_snapshot(
    vg: &mut Vg,
    origin: &str,
    cow: &str,
    chunk: u64,
) -> Result<String, SnapshotError> {
    let origin_extents = check_snapshot_origin(vg, origin)?;
    let creation_time = vg.lv(cow).and_then(|c| c.creation_time);
    let creation_host = vg.lv(cow).and_then(|c| c.creation_host.clone());
    let link_name = vg.next_snapshot_link_name();
    vg.lvs.push(Lv {
        name: link_name.clone(),
        id: Id::random(),
        status: Flags::new(&["READ", "WRITE", "VISIBLE"]),
        flags: Flags::default(),
        tags: Vec::new(),
        creation_time,
        creation_host,
        allocation_policy: None,
        read_ahead: None,
        major: None,
        minor: None,
        segments: vec![Segment {
            start_extent: 0,
            extent_count: origin_extents,
            tags: Vec::new(),
            kind: SegmentKind::Snapshot {
                chunk_size: chunk,
                origin: origin.to_string(),
                cow: cow.to_string(),
                merging: false,
            },
        }],
    });
    Ok(link_name)
}

/// The snapshot link of COW `cow` and its origin, or why `cow` is none.
fn snapshot_parts(vg: &Vg, cow: &str) -> Result<(String, String), SnapshotError> {
    if vg.lv(cow).is_none() {
        return Err(SnapshotError::NoSuchLv {
            vg: vg.name.clone(),
            lv: cow.to_string(),
        });
    }
    match vg.snapshot_by_cow(cow) {
        Some(s) => Ok((s.link.name.clone(), s.origin.name.clone())),
        None => Err(SnapshotError::NotSnapshot {
            vg: vg.name.clone(),
            lv: cow.to_string(),
        }),
    }
}

fn set_merging(vg: &mut Vg, link: &str, on: bool) {
    if let Some(l) = vg.lv_mut(link) {
        for seg in l.segments.iter_mut() {
            if let SegmentKind::Snapshot { merging, .. } = &mut seg.kind {
                *merging = on;
            }
        }
        if on {
            l.status.clear("VISIBLE");
        } else {
            l.status.set("VISIBLE");
        }
    }
}

/// Marks snapshot `cow` as merging into its origin (`init_snapshot_merge`),
/// after LVM2's checks: the origin must not be merging already and must be
/// writable. Returns the origin's name.
pub fn start_merge(vg: &mut Vg, cow: &str) -> Result<String, SnapshotError> {
    let (link, origin) = snapshot_parts(vg, cow)?;
    if let Some(m) = vg.merging_snapshot_of(&origin) {
        return Err(SnapshotError::OriginMerging {
            vg: vg.name.clone(),
            snap: cow.to_string(),
            origin,
            merging: m.cow.name.clone(),
        });
    }
    if !vg.lv(&origin).is_some_and(|o| o.writable()) {
        return Err(SnapshotError::ReadOnlyOrigin {
            vg: vg.name.clone(),
            snap: cow.to_string(),
            origin,
        });
    }
    set_merging(vg, &link, true);
    Ok(origin)
}

/// Undoes `start_merge` of whatever snapshot of `origin` merges
/// (`clear_snapshot_merge`). Returns the COW's name, if one merged.
pub fn clear_merge(vg: &mut Vg, origin: &str) -> Option<String> {
    let (link, cow) = vg
        .merging_snapshot_of(origin)
        .map(|s| (s.link.name.clone(), s.cow.name.clone()))?;
    set_merging(vg, &link, false);
    Some(cow)
}

/// Removes snapshot `cow` from the VG: its link LV and the COW LV together.
/// This is also how a finished merge ends, in one change (LVM2 needs two
/// commits there: `vg_remove_snapshot` and then `lv_remove` of the COW,
/// which can leave the COW behind as a plain LV after a crash). Returns the
/// origin's name.
pub fn remove_snapshot(vg: &mut Vg, cow: &str) -> Result<String, SnapshotError> {
    let (link, origin) = snapshot_parts(vg, cow)?;
    vg.lvs.retain(|l| l.name != link && l.name != cow);
    Ok(origin)
}

/// Renames LV `old` to `new` everywhere the VG names it (the LV itself and
/// the snapshot segments that refer to it as origin or COW).
pub fn rename_lv(vg: &mut Vg, old: &str, new: &str) {
    for l in vg.lvs.iter_mut() {
        if l.name == old {
            l.name = new.to_string();
        }
        for seg in l.segments.iter_mut() {
            if let SegmentKind::Snapshot { origin, cow, .. } = &mut seg.kind {
                if origin == old {
                    *origin = new.to_string();
                }
                if cow == old {
                    *cow = new.to_string();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::text;

    fn vg_with_snapshots() -> Vg {
        let text = include_str!("../../tests/golden/cases/snapshots/backup.vg");
        text::import_vg(text).expect("golden snapshots case").0
    }

    fn first_snapshot(vg: &Vg) -> (String, String) {
        let s = &vg.snapshots()[0];
        (s.cow.name.clone(), s.origin.name.clone())
    }

    #[test]
    fn merge_marks_merging_store_and_hides_link_and_back() {
        let mut vg = vg_with_snapshots();
        let before = vg.clone();
        let (cow, origin) = first_snapshot(&vg);
        assert_eq!(start_merge(&mut vg, &cow).unwrap(), origin);
        assert!(is_merging_origin(&vg, &origin));
        assert!(is_merging_cow(&vg, &cow));
        let s = vg.snapshot_by_cow(&cow).unwrap();
        assert!(!s.link.is_visible_flag());
        assert!(!vg.lv_is_visible(s.cow));
        let disk = text::export_disk(&vg, &crate::metadata::store::text_header("t"));
        assert!(disk.contains(&format!("merging_store = \"{cow}\"")));
        // The state LVM2 reads back as merging.
        let (back, _) = text::import_vg(&disk).unwrap();
        assert!(is_merging_cow(&back, &cow));
        assert_eq!(clear_merge(&mut vg, &origin), Some(cow.clone()));
        assert_eq!(vg, before);
    }

    #[test]
    fn second_merge_and_read_only_origin_refused_with_lvm2_words() {
        let mut vg = vg_with_snapshots();
        let (cow, origin) = first_snapshot(&vg);
        let other = vg
            .snapshots_of(&origin)
            .iter()
            .map(|s| s.cow.name.clone())
            .find(|c| *c != cow);
        start_merge(&mut vg, &cow).unwrap();
        if let Some(other) = other {
            let e = start_merge(&mut vg, &other).unwrap_err();
            assert!(e.to_string().starts_with("Cannot merge snapshot"), "{e}");
            assert!(e.to_string().contains("with merging snapshot"), "{e}");
        }
        let e = check_snapshot_origin(&vg, &origin).unwrap_err();
        assert_eq!(e, SnapshotError::CreateOnMergingOrigin);

        let mut vg = vg_with_snapshots();
        vg.lv_mut(&origin).unwrap().status.clear("WRITE");
        let e = start_merge(&mut vg, &cow).unwrap_err();
        assert!(e.to_string().contains("read-only origin"), "{e}");
        assert!(e.to_string().ends_with("(Use lvchange -p rw)."), "{e}");
    }

    #[test]
    fn merge_of_non_snapshot_refused() {
        let mut vg = vg_with_snapshots();
        let (_, origin) = first_snapshot(&vg);
        assert!(matches!(
            start_merge(&mut vg, &origin),
            Err(SnapshotError::NotSnapshot { .. })
        ));
        assert!(matches!(
            start_merge(&mut vg, "nosuch"),
            Err(SnapshotError::NoSuchLv { .. })
        ));
    }

    #[test]
    fn remove_snapshot_drops_link_and_cow_in_one_change() {
        let mut vg = vg_with_snapshots();
        let (cow, origin) = first_snapshot(&vg);
        let n = vg.lvs.len();
        let link = vg.snapshot_by_cow(&cow).unwrap().link.name.clone();
        start_merge(&mut vg, &cow).unwrap();
        assert_eq!(remove_snapshot(&mut vg, &cow).unwrap(), origin);
        assert_eq!(vg.lvs.len(), n - 2);
        assert!(vg.lv(&cow).is_none() && vg.lv(&link).is_none());
        assert!(!is_merging_origin(&vg, &origin));
        crate::metadata::validate::validate_vg(&vg).unwrap();
    }

    #[test]
    fn add_snapshot_then_remove_is_identity() {
        let mut vg = vg_with_snapshots();
        let (cow, origin) = first_snapshot(&vg);
        remove_snapshot(&mut vg, &cow).unwrap();
        let without = vg.clone();
        let mut c = without.lvs[0].clone();
        c.name = "newsnap".into();
        c.status = Flags::new(&["READ", "WRITE"]);
        vg.lvs.push(c);
        let link = add_snapshot(&mut vg, &origin, "newsnap", 16).unwrap();
        assert_eq!(vg.snapshot_by_cow("newsnap").unwrap().chunk_size, 16);
        assert!(vg.lv(&link).unwrap().is_visible_flag());
        remove_snapshot(&mut vg, "newsnap").unwrap();
        assert_eq!(vg.lvs, without.lvs);
    }

    #[test]
    fn rename_follows_snapshot_segments() {
        let mut vg = vg_with_snapshots();
        let (cow, origin) = first_snapshot(&vg);
        rename_lv(&mut vg, &origin, "neworigin");
        rename_lv(&mut vg, &cow, "newcow");
        let s = vg.snapshot_by_cow("newcow").unwrap();
        assert_eq!(s.origin.name, "neworigin");
    }

    #[test]
    fn cow_cap_covers_whole_origin() {
        // 16 MiB origin, 4 MiB extents, 4 KiB chunks: 4096 data chunks,
        // 16 areas + terminator, header: (1+4096+17)*8 sectors → 5 extents.
        assert_eq!(cow_max_extents(4, 8192, 8), 5);
    }
}
