//! A VG's preferred number of metadata copies (`vgmetadatacopies`, the
//! VG's `metadata_copies`): which of its metadata areas are in use and
//! which are ignored, as LVM2's `_vg_adjust_ignored_mdas`
//! (lib/metadata/metadata.c) keeps them at every VG write.
//!
//! LVM2 picks the areas to flip at random; rlvm picks them in a fixed
//! order (areas in use are ignored from the last one back, ignored areas
//! are used again from the first one on), so the same VG always ends up
//! the same way.
//!
//! Order for crash safety (see [`plan`]): areas used again are flipped
//! before the commit, so the commit writes its copy into them; areas
//! being ignored are flipped after it, so until then they hold the new
//! copy too. A crash in between leaves an area in use that is empty (it
//! was ignored, its slots zeroed) or one still in use with the latest
//! copy; the areas in use always hold the committed VG.

use crate::metadata::label::DiskLocn;
use crate::metadata::pvedit::{self, PvEditError};
use crate::metadata::store::{DevOpener, VgHandle};

/// `metadata_copies` value that leaves the areas as they are (except that
/// one at least is kept in use): LVM2's `unmanaged`.
pub const UNMANAGED: u64 = 0;

/// The ignored state of each area after balancing to `copies`
/// ([`UNMANAGED`], or the number wanted; a number above the areas there
/// are uses all of them). `ignored` is the state now, one entry per area.
pub fn balance(ignored: &[bool], copies: u64) -> Vec<bool> {
    let mut out = ignored.to_vec();
    let count = out.len() as u64;
    let used = out.iter().filter(|i| !**i).count() as u64;
    let want = if copies == UNMANAGED {
        // Unmanaged: one area at least stays in use.
        used.max(1).min(count)
    } else {
        copies.min(count)
    };
    if used < want {
        let mut n = want - used;
        for i in out.iter_mut().filter(|i| **i) {
            if n == 0 {
                break;
            }
            *i = false;
            n -= 1;
        }
    } else if used > want {
        let mut n = used - want;
        for i in out.iter_mut().rev().filter(|i| !**i) {
            if n == 0 {
                break;
            }
            *i = true;
            n -= 1;
        }
    }
    out
}

/// One area to flip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flip {
    pub path: String,
    pub locn: DiskLocn,
    /// The new state: true to ignore the area, false to use it again.
    pub ignored: bool,
}

/// The flips that bring the areas of the PVs `h` has (in the VG's PV
/// order) to the VG's `metadata_copies`. An area whose header cannot be
/// read is left alone (it counts as in use, as the commit repairs it).
pub fn plan(h: &VgHandle, opener: &dyn DevOpener) -> Result<Vec<Flip>, PvEditError> {
    let mut areas: Vec<(String, DiskLocn, bool)> = Vec::new();
    for pv in &h.vg.pvs {
        let Some(info) = h.pvs.get(&pv.key) else {
            continue;
        };
        if h.missing.contains(&pv.key) {
            continue;
        }
        let dev = opener.open(&info.path, false)?;
        for locn in &info.label.header.metadata_areas {
            let ignored = pvedit::mda_ignored(dev.as_ref(), locn).unwrap_or(false);
            areas.push((info.path.clone(), *locn, ignored));
        }
    }
    let now: Vec<bool> = areas.iter().map(|a| a.2).collect();
    let after = balance(&now, h.vg.metadata_copies.unwrap_or(UNMANAGED));
    Ok(areas
        .into_iter()
        .zip(after)
        .filter(|((_, _, was), new)| was != new)
        .map(|((path, locn, _), ignored)| Flip {
            path,
            locn,
            ignored,
        })
        .collect())
}

/// The areas of `pvs` that are ignored now, as flips that ignore them
/// again (vgreduce and vgremove clear both slots of every area, the flag
/// with them; LVM2 leaves an ignored area ignored).
pub fn ignored_now<'a>(
    pvs: impl IntoIterator<Item = &'a crate::metadata::store::PvInfo>,
    opener: &dyn DevOpener,
) -> Result<Vec<Flip>, PvEditError> {
    let mut out = Vec::new();
    for info in pvs {
        let dev = opener.open(&info.path, false)?;
        for locn in &info.label.header.metadata_areas {
            if pvedit::mda_ignored(dev.as_ref(), locn) == Some(true) {
                out.push(Flip {
                    path: info.path.clone(),
                    locn: *locn,
                    ignored: true,
                });
            }
        }
    }
    Ok(out)
}

/// Writes the flips of `flips` whose new state is `ignored`.
pub fn apply(flips: &[Flip], ignored: bool, opener: &dyn DevOpener) -> Result<(), PvEditError> {
    for f in flips.iter().filter(|f| f.ignored == ignored) {
        let dev = opener.open(&f.path, true)?;
        pvedit::set_mda_ignored(dev.as_ref(), &f.locn, ignored)?;
        dev.sync()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: bool = true;
    const F: bool = false;

    #[test]
    fn unmanaged_keeps_the_flags_but_one_area_in_use() {
        assert_eq!(balance(&[T, F, T], UNMANAGED), vec![T, F, T]);
        assert_eq!(balance(&[T, T], UNMANAGED), vec![F, T]);
        assert_eq!(balance(&[], UNMANAGED), Vec::<bool>::new());
    }

    #[test]
    fn a_number_ignores_from_the_end_and_uses_from_the_start() {
        assert_eq!(balance(&[F, F, F, F], 1), vec![F, T, T, T]);
        assert_eq!(balance(&[T, T, T, T], 3), vec![F, F, F, T]);
        assert_eq!(balance(&[T, F, T, F], 1), vec![T, F, T, T]);
        // More copies than areas: all of them.
        assert_eq!(balance(&[T, F, T], 8), vec![F, F, F]);
    }
}
