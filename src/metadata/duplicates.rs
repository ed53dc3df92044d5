//! Duplicate PVs: one PV UUID on more than one device (a cloned disk, a
//! multipath device seen through each path without a filter). Which device
//! is used and why, as LVM2's `_choose_duplicates` (lib/cache/lvmcache.c)
//! decides it, for the rules that need no kernel: the device whose size the
//! metadata records, then the device the metadata names (`device = ...`),
//! then a device-mapper device, then the device seen first. Pure.
//!
//! A VG with a PV on duplicate devices is listed but never written
//! (`VgHandle::check_no_duplicates`): the copies may differ, and writing
//! through the wrong one loses the other's data.

use std::collections::BTreeMap;

use super::id::Id;
use super::model::Pv;

/// A device not used because another carries the same PV UUID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicatePv {
    pub id: Id,
    /// The device used for the PV.
    pub used: String,
    /// The device left unused.
    pub unused: String,
    /// LVM2's words for why `used` was preferred.
    pub reason: &'static str,
}

/// A device carrying a PV label, as the scan found it.
#[derive(Clone, Copy, Debug)]
pub struct Found<'a> {
    pub id: Id,
    pub path: &'a str,
    /// Device size in bytes.
    pub size: u64,
}

fn is_dm(path: &str) -> bool {
    path.starts_with("/dev/mapper/") || path.starts_with("/dev/dm-")
}

/// Chooses one device per PV UUID: `keep[i]` says whether `found[i]` is
/// used; the others are returned with the reason. `summary` gives what the
/// metadata records for a PV (size, last device), if any VG lists it.
pub fn choose<'a>(
    found: &[Found<'_>],
    summary: impl Fn(&Id) -> Option<&'a Pv>,
) -> (Vec<bool>, Vec<DuplicatePv>) {
    let mut groups: BTreeMap<Id, Vec<usize>> = BTreeMap::new();
    for (i, p) in found.iter().enumerate() {
        groups.entry(p.id).or_default().push(i);
    }
    let mut keep = vec![true; found.len()];
    let mut dups = Vec::new();
    // Groups in the order their first device was seen.
    let mut ordered: Vec<&Vec<usize>> = groups.values().filter(|g| g.len() > 1).collect();
    ordered.sort_by_key(|g| g[0]);
    for group in ordered {
        let id = found[group[0]].id;
        let hint = summary(&id);
        let same_size = |i: usize| {
            hint.and_then(|p| p.dev_size)
                .is_some_and(|s| found[i].size / 512 == s)
        };
        let same_name = |i: usize| {
            hint.and_then(|p| p.device.as_deref())
                .is_some_and(|d| d == found[i].path)
        };
        let dm = |i: usize| is_dm(found[i].path);
        let mut best = group[0];
        let mut reason = "device was seen first";
        for &other in &group[1..] {
            let rules: [(&'static str, &dyn Fn(usize) -> bool); 3] = [
                ("device size is correct", &same_size),
                ("device name matches previous", &same_name),
                ("device is in dm subsystem", &dm),
            ];
            reason = "device was seen first";
            for (why, rule) in rules {
                match (rule(best), rule(other)) {
                    (true, false) => {
                        reason = why;
                        break;
                    }
                    (false, true) => {
                        best = other;
                        reason = why;
                        break;
                    }
                    _ => {}
                }
            }
        }
        for &i in group {
            if i != best {
                keep[i] = false;
                dups.push(DuplicatePv {
                    id,
                    used: found[best].path.to_string(),
                    unused: found[i].path.to_string(),
                    reason,
                });
            }
        }
    }
    (keep, dups)
}

/// LVM2's warnings (`_warn_unused_duplicates`): every unused device, then
/// the preferred device of each.
pub fn warnings(dups: &[DuplicatePv]) -> Vec<String> {
    let unused = dups
        .iter()
        .map(|d| format!("Not using device {} for PV {}.", d.unused, d.id));
    let prefers = dups.iter().map(|d| {
        format!(
            "PV {} prefers device {} because {}.",
            d.id, d.used, d.reason
        )
    });
    unused.chain(prefers).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::store::{self, MemOpener, PvLayout, VgHandle};

    /// A VG on `/dev/a` (8 MiB), cloned onto `/dev/b` (same size) and
    /// `/dev/c` (larger).
    fn clones() -> MemOpener {
        let mut o = MemOpener::default();
        let d = o.add("/dev/a", vec![0u8; 8 << 20]);
        let info = store::create_pv(&d, "/dev/a", Id::random(), &PvLayout::default()).unwrap();
        let vg = store::new_vg("vg0", 2048, std::slice::from_ref(&info));
        VgHandle::new_vg(vg, vec![info])
            .commit(&o, "create")
            .unwrap();
        let image = d.to_vec();
        o.add("/dev/b", image.clone());
        let mut big = image;
        big.resize(16 << 20, 0);
        o.add("/dev/c", big);
        o
    }

    fn reasons(o: &MemOpener, paths: &[&str]) -> Vec<(String, String, &'static str)> {
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        store::scan(o, &paths)
            .duplicates
            .into_iter()
            .map(|d| (d.used, d.unused, d.reason))
            .collect()
    }

    #[test]
    fn the_device_the_metadata_describes_wins() {
        let o = clones();
        // Same size: the name recorded in the metadata decides, whatever
        // the scan order.
        assert_eq!(
            reasons(&o, &["/dev/b", "/dev/a"]),
            [(
                "/dev/a".into(),
                "/dev/b".into(),
                "device name matches previous"
            )]
        );
        // A different size loses first.
        assert_eq!(
            reasons(&o, &["/dev/c", "/dev/a"]),
            [("/dev/a".into(), "/dev/c".into(), "device size is correct")]
        );
        let s = store::scan(&o, &["/dev/c".into(), "/dev/b".into()]);
        assert_eq!(s.duplicates[0].reason, "device size is correct");
        assert_eq!(s.pvs.len(), 1);
        assert_eq!(s.pvs[0].path, "/dev/b");
    }

    #[test]
    fn otherwise_the_first_seen() {
        let mut o = MemOpener::default();
        let d = o.add("/dev/x", vec![0u8; 8 << 20]);
        store::create_pv(&d, "/dev/x", Id::random(), &PvLayout::default()).unwrap();
        o.add("/dev/y", d.to_vec());
        assert_eq!(
            reasons(&o, &["/dev/y", "/dev/x"]),
            [("/dev/y".into(), "/dev/x".into(), "device was seen first")]
        );
    }

    #[test]
    fn warnings_in_lvm2_order() {
        let id = Id::random();
        let d = |u: &str| DuplicatePv {
            id,
            used: "/dev/a".into(),
            unused: u.into(),
            reason: "device was seen first",
        };
        assert_eq!(
            warnings(&[d("/dev/b"), d("/dev/c")]),
            [
                format!("Not using device /dev/b for PV {id}."),
                format!("Not using device /dev/c for PV {id}."),
                format!("PV {id} prefers device /dev/a because device was seen first."),
                format!("PV {id} prefers device /dev/a because device was seen first."),
            ]
        );
    }
}
