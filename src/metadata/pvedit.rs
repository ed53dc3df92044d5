//! Edits of one PV's label and metadata-area headers outside a VG commit
//! (pvcreate --metadataignore, pvchange --metadataignore, pvresize): what
//! LVM2's `pv_write` does (lib/metadata/metadata.c, `_text_pv_write` and
//! `_write_single_mda` in lib/format_text/format-text.c). Writes disk
//! through [`BlockDev`].
//!
//! Order for crash safety: a metadata area a new label points at is
//! formatted before the label is written, so a crash leaves either the
//! old label (pointing at the old, intact areas) or the new one (pointing
//! at formatted areas).

use super::device::BlockDev;
use super::label::{
    self, write_label, DiskLocn, Label, LabelError, PV_EXT_USED, PV_HEADER_EXTENSION_VSN,
};
use super::mda::{self, MdaError, MdaHeader, RAW_LOCN_IGNORED};

#[derive(Debug, thiserror::Error)]
pub enum PvEditError {
    #[error(transparent)]
    Mda(#[from] MdaError),
    #[error(transparent)]
    Label(#[from] LabelError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Whether the metadata area at `locn` is marked ignored; `None` when its
/// header cannot be read.
pub fn mda_ignored(dev: &dyn BlockDev, locn: &DiskLocn) -> Option<bool> {
    mda::read_mda_header(dev, locn.offset)
        .ok()
        .map(|h| h.slots[0].flags & RAW_LOCN_IGNORED != 0)
}

/// Marks the metadata area at `locn` ignored or in use. An area becoming
/// ignored loses its pointers to text (LVM2 zeroes both slots: an ignored
/// area is never read, and must not offer a stale copy once it is used
/// again); one becoming used keeps what it points at, which the next
/// commit of its VG replaces ("updating old metadata").
pub fn set_mda_ignored(
    dev: &dyn BlockDev,
    locn: &DiskLocn,
    ignored: bool,
) -> Result<(), PvEditError> {
    let mut hdr = match mda::read_mda_header(dev, locn.offset) {
        Ok(h) => h,
        Err(_) => MdaHeader::new(locn.offset, locn.size),
    };
    if ignored {
        hdr.slots = Default::default();
        hdr.slots[0].flags = RAW_LOCN_IGNORED;
    } else {
        hdr.slots[0].flags &= !RAW_LOCN_IGNORED;
    }
    mda::write_mda_header(dev, &hdr)?;
    Ok(())
}

/// Formats the areas of `new` that `old` does not have (a moved second
/// area: empty, ignored if `ignored`), then writes `new` (pvresize).
pub fn rewrite_label(
    dev: &dyn BlockDev,
    old: &Label,
    new: &Label,
    ignored: &[bool],
) -> Result<(), PvEditError> {
    for (i, locn) in new.header.metadata_areas.iter().enumerate() {
        if old.header.metadata_areas.contains(locn) {
            continue;
        }
        mda::init_mda(dev, locn.offset, locn.size)?;
        if ignored.get(i).copied().unwrap_or(false) {
            set_mda_ignored(dev, locn, true)?;
        }
    }
    label::write_label(dev, new)?;
    Ok(())
}

/// Why an outdated PV could not be made an orphan again.
#[derive(Debug, thiserror::Error)]
pub enum ClearError {
    #[error(transparent)]
    Label(#[from] LabelError),
    #[error(transparent)]
    Mda(#[from] super::mda::MdaError),
}

/// Makes a PV its VG no longer lists (LVM2's outdated PV) an orphan again,
/// as `vgck --updatemetadata` does: the label loses its "used" flag, then
/// each metadata area is formatted empty. In that order, a crash between
/// the two leaves areas that still name the VG: the PV is found outdated
/// again and the next repair finishes it.
pub fn clear_outdated(dev: &dyn BlockDev, label: &Label) -> Result<(), ClearError> {
    let mut l = label.clone();
    l.header.ext_flags &= !PV_EXT_USED;
    if l.header.ext_version < PV_HEADER_EXTENSION_VSN {
        l.header.ext_version = PV_HEADER_EXTENSION_VSN;
    }
    write_label(dev, &l)?;
    for m in &label.header.metadata_areas {
        super::mda::init_mda(dev, m.offset, m.size)?;
    }
    dev.sync().map_err(LabelError::Io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::device::MemDev;
    use crate::metadata::id::Id;
    use crate::metadata::store::{self, PvLayout};

    #[test]
    fn clear_outdated_leaves_an_orphan() {
        let d = MemDev::new(8 << 20);
        let info = store::create_pv(&d, "/dev/x", Id::random(), &PvLayout::default()).unwrap();
        let locn = info.label.header.metadata_areas[0];
        let hdr = crate::metadata::mda::read_mda_header(&d, locn.offset).unwrap();
        let text = crate::metadata::mda::write_text(&d, &hdr, b"vg0 {\n}\n").unwrap();
        crate::metadata::mda::write_mda_header(&d, &hdr.with_committed(text)).unwrap();
        let mut used = info.label.clone();
        used.header.ext_flags |= PV_EXT_USED;
        write_label(&d, &used).unwrap();
        clear_outdated(&d, &used).unwrap();
        let l = label::read_label(&d).unwrap().unwrap();
        assert_eq!(l.header.ext_flags & PV_EXT_USED, 0);
        assert_eq!(l.header.id, info.label.header.id);
        let h = crate::metadata::mda::read_mda_header(&d, locn.offset).unwrap();
        assert!(h.slots[0].is_empty() && h.slots[1].is_empty());
    }

    #[test]
    fn ignore_flag_round_trips_and_drops_stale_pointers() {
        let d = MemDev::new(8 << 20);
        let info = store::create_pv(&d, "/dev/x", Id::random(), &PvLayout::default()).unwrap();
        let locn = info.label.header.metadata_areas[0];
        assert_eq!(mda_ignored(&d, &locn), Some(false));
        // A slot pointing at some text, as a VG commit leaves it.
        let hdr = mda::read_mda_header(&d, locn.offset).unwrap();
        let text = mda::write_text(&d, &hdr, b"vg0 {\n}\n").unwrap();
        mda::write_mda_header(&d, &hdr.with_committed(text)).unwrap();
        set_mda_ignored(&d, &locn, true).unwrap();
        assert_eq!(mda_ignored(&d, &locn), Some(true));
        let h = mda::read_mda_header(&d, locn.offset).unwrap();
        assert!(h.slots[0].is_empty() && h.slots[1].is_empty());
        set_mda_ignored(&d, &locn, false).unwrap();
        assert_eq!(mda_ignored(&d, &locn), Some(false));
    }

    #[test]
    fn moved_area_is_formatted_before_the_label_points_at_it() {
        let d = MemDev::new(8 << 20);
        let layout = PvLayout {
            mda_copies: 2,
            ..PvLayout::default()
        };
        let info = store::create_pv(&d, "/dev/x", Id::random(), &layout).unwrap();
        let mut new = info.label.clone();
        new.header.device_size = 4 << 20;
        new.header.metadata_areas[1] = DiskLocn {
            offset: 3 << 20,
            size: 1 << 20,
        };
        rewrite_label(&d, &info.label, &new, &[false, true]).unwrap();
        assert_eq!(label::read_label(&d).unwrap(), Some(new.clone()));
        assert_eq!(mda_ignored(&d, &new.header.metadata_areas[1]), Some(true));
        assert_eq!(mda_ignored(&d, &new.header.metadata_areas[0]), Some(false));
    }
}
