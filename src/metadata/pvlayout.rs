//! Where a new PV's areas go: the first data sector (`pe_start`), the
//! bootloader area and the metadata areas, from the device size and the
//! pvcreate options, by LVM2's rules (`pv_create` and `set_pe_align` in
//! lib/metadata/metadata.c, `_text_pv_initialise` and
//! `_text_pv_add_metadata_area` in lib/format_text/format-text.c); and where
//! a PV's second metadata area moves when pvresize changes its size
//! (`_text_pv_resize`). Pure arithmetic: no disk access.
//!
//! Sizes are in 512-byte sectors unless a name says bytes. The metadata
//! areas are byte ranges, as the label stores them.

use thiserror::Error;

use super::label::DiskLocn;

/// `LABEL_SCAN_SIZE`: the label sectors; the first metadata area starts
/// after them (then rounded up to a page).
const LABEL_SCAN_BYTES: u64 = 2048;
/// The page size LVM2 aligns the first metadata area to (4 KiB on the
/// platforms rlvm runs on; LVM2's suite assumes it too).
pub const PAGE_BYTES: u64 = 4096;
/// `MDA_SIZE_MIN` (lib/format_text/layout.h): eight pages.
pub const MDA_SIZE_MIN_BYTES: u64 = 8 * PAGE_BYTES;
/// The default metadata area size for a 4 KiB page: pe_start lands on
/// 1 MiB (`get_default_pvmetadatasize_sectors`).
pub const DEFAULT_MDA_SECTORS: u64 = 2040;
/// `FIRST_PE_AT_ONE_MB_IN_SECTORS`.
const ONE_MIB_SECTORS: u64 = 2048;

/// What a pvcreate asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvRequest {
    /// Device size (or `--setphysicalvolumesize`).
    pub size: u64,
    /// `--dataalignment`, else `devices/data_alignment`; 0: the default.
    pub data_alignment: u64,
    /// `--dataalignmentoffset`.
    pub data_alignment_offset: u64,
    /// `devices/default_data_alignment` in MiB (0 counts as 1).
    pub default_alignment_mib: u64,
    /// `--metadatasize` (or `metadata/pvmetadatasize`, or the default).
    pub mda_size: u64,
    /// 0, 1 or 2 metadata areas.
    pub mda_copies: u32,
    /// `--bootloaderareasize`.
    pub ba_size: u64,
    /// `--restorefile`: the PV as a backup describes it; its pe_start is
    /// kept.
    pub restore: Option<Restored>,
}

/// A PV's layout as its VG's backup has it (`pvcreate --restorefile`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Restored {
    pub pe_start: u64,
    pub ba_start: u64,
    pub ba_size: u64,
    pub extent_size: u64,
    pub extent_count: u64,
}

/// Where everything goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvPlan {
    pub pe_start: u64,
    /// Bootloader area (start, size); size 0: none.
    pub ba_start: u64,
    pub ba_size: u64,
    /// Metadata areas in bytes, index 0 first.
    pub mdas: Vec<DiskLocn>,
}

/// Why a layout is impossible, in LVM2's words (the device name is put
/// in front by the caller where LVM2 has it).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum LayoutError {
    #[error("pe_align ({align} sectors) must not be less than pe_align_offset ({offset} sectors)")]
    OffsetAboveAlignment { align: u64, offset: u64 },
    #[error("Data alignment must not exceed device size.")]
    AlignmentBeyondDevice,
    #[error("Bootloader area with data-aligned start must not exceed device size.")]
    BootloaderBeyondDevice,
    #[error("Bootloader area would overlap data area.")]
    BootloaderOverlap,
    #[error(
        "Metadata area size too small: {0} bytes. It must be at least {MDA_SIZE_MIN_BYTES} bytes."
    )]
    MdaTooSmall(u64),
    #[error("Not enough space available for metadata area with index {0}")]
    NoSpace(usize),
    #[error("Physical extents end beyond end of device.")]
    ExtentsBeyondDevice,
}

/// The PE alignment LVM2 uses (`set_pe_align`): the one asked for, else
/// `default_data_alignment` MiB, never less than a page.
pub fn pe_align(data_alignment: u64, default_alignment_mib: u64) -> u64 {
    if data_alignment > 0 {
        return data_alignment;
    }
    let a = default_alignment_mib.max(1) * ONE_MIB_SECTORS;
    a.max(PAGE_BYTES / 512)
}

/// Plans a new PV.
pub fn plan(req: &PvRequest) -> Result<PvPlan, LayoutError> {
    let align = pe_align(req.data_alignment, req.default_alignment_mib);
    let offset = req.data_alignment_offset;
    if align < offset {
        return Err(LayoutError::OffsetAboveAlignment { align, offset });
    }
    let first = align + offset;
    if req.size < first {
        return Err(LayoutError::AlignmentBeyondDevice);
    }
    if req.size < first + req.ba_size {
        return Err(LayoutError::BootloaderBeyondDevice);
    }
    let mut p = PvPlan {
        pe_start: first,
        ba_start: 0,
        ba_size: 0,
        mdas: Vec::new(),
    };
    let locked = req.restore.is_some();
    let mut pe_count = 0;
    let mut extent_size = 0;
    match &req.restore {
        None => {
            if req.ba_size > 0 {
                // The bootloader area starts aligned and fills whole
                // alignment units, but never beyond the device.
                p.ba_start = first;
                p.ba_size = req.ba_size.div_ceil(align) * align;
                p.ba_size = p.ba_size.min(req.size - p.ba_start);
                p.pe_start = p.ba_start + p.ba_size;
            }
        }
        Some(r) => {
            p.pe_start = r.pe_start;
            let ba_size = if req.ba_size > 0 {
                req.ba_size
            } else {
                r.ba_size
            };
            if ba_size > 0 {
                let start = if r.ba_start > 0 { r.ba_start } else { first };
                if (r.ba_start > 0 && r.ba_start + ba_size > r.pe_start)
                    || r.pe_start <= first
                    || r.pe_start - first < ba_size
                {
                    return Err(LayoutError::BootloaderOverlap);
                }
                p.ba_start = start;
                p.ba_size = ba_size;
            }
            pe_count = r.extent_count;
            extent_size = r.extent_size;
            if (r.pe_start + r.extent_count * r.extent_size).saturating_sub(1) > req.size {
                return Err(LayoutError::ExtentsBeyondDevice);
            }
        }
    }
    for index in 0..req.mda_copies.min(2) as usize {
        if let Some(m) = add_mda(req, &mut p, locked, index, align, pe_count * extent_size)? {
            p.mdas.push(m);
        }
    }
    Ok(p)
}

/// One metadata area (`_text_pv_add_metadata_area`); `None` when it gets
/// no space at all. Index 0 sits after the label, and moves `pe_start`
/// (and the bootloader area) behind it unless pe_start is locked; index 1
/// sits at the end of the device. `data_len` is the length of data
/// extents already placed (a restored PV), in sectors.
fn add_mda(
    req: &PvRequest,
    p: &mut PvPlan,
    locked: bool,
    index: usize,
    align_sectors: u64,
    data_len: u64,
) -> Result<Option<DiskLocn>, LayoutError> {
    let disk = req.size * 512;
    let alignment = align_sectors * 512;
    let offset = req.data_alignment_offset * 512;
    let ba_size = p.ba_size * 512;
    let pe_start = p.pe_start * 512;
    let mut size = req.mda_size * 512;
    let no_space = LayoutError::NoSpace(index);
    let start;
    if index == 0 {
        let mut limit = if locked {
            pe_start
        } else {
            match p.mdas.get(1) {
                Some(m) => m.offset,
                None => disk,
            }
        };
        if ba_size > 0 {
            limit = limit.checked_sub(ba_size).ok_or(no_space.clone())?;
        }
        if limit > disk {
            return Err(no_space);
        }
        let mut s = LABEL_SCAN_BYTES;
        if limit.saturating_sub(s) >= MDA_SIZE_MIN_BYTES {
            s = s.div_ceil(PAGE_BYTES) * PAGE_BYTES;
        }
        // Its end on the data alignment (then the offset) if that fits.
        if alignment > 0 && !(s + size).is_multiple_of(alignment) {
            let grown = size + alignment - (s + size) % alignment;
            if s + grown <= limit {
                size = grown;
            }
        }
        if alignment > 0
            && offset > 0
            && (s + size).is_multiple_of(alignment)
            && s + size + offset <= limit
        {
            size += offset;
        }
        if s + size > limit {
            if !locked && alignment > 0 && limit.saturating_sub(s) > 2 * alignment {
                size = limit - s - 2 * alignment;
                if !(s + size).is_multiple_of(alignment) {
                    size += alignment - (s + size) % alignment;
                }
                if s + size > limit {
                    return Err(no_space);
                }
            } else {
                size = limit.saturating_sub(s);
            }
        }
        if !locked {
            if ba_size > 0 {
                p.ba_start = (s + size) / 512;
                p.pe_start = p.ba_start + p.ba_size;
            } else {
                p.pe_start = (s + size) / 512;
            }
        }
        start = s;
    } else {
        let limit = if pe_start > 0 || locked {
            if data_len > 0 {
                pe_start + data_len * 512
            } else {
                pe_start
            }
        } else {
            let l = match p.mdas.first() {
                Some(m) => m.offset + m.size,
                None => LABEL_SCAN_BYTES,
            };
            l + ba_size
        };
        (start, size) = mda1_place(disk, size, limit, alignment).ok_or(no_space)?;
    }
    if size == 0 {
        return Ok(None);
    }
    if size < MDA_SIZE_MIN_BYTES {
        return Err(LayoutError::MdaTooSmall(size));
    }
    Ok(Some(DiskLocn {
        offset: start,
        size,
    }))
}

/// The second metadata area's (start, size) in bytes on a device of
/// `disk` bytes: `size` wanted, at the end, not below `limit`, its start
/// aligned down to `alignment` when that fits. `None`: no room at all.
fn mda1_place(disk: u64, mut size: u64, limit: u64, alignment: u64) -> Option<(u64, u64)> {
    if limit >= disk {
        return None;
    }
    if size > disk {
        size = disk - limit;
    }
    if disk - size < limit {
        size = disk - limit;
    } else if alignment > 0 && !(disk - size).is_multiple_of(alignment) {
        let grown = size + (disk - size) % alignment;
        if grown < disk && disk - grown >= limit {
            size = grown;
        }
    }
    Some((disk - size, size))
}

/// Where a PV's second metadata area goes when pvresize makes the PV
/// `new_size` sectors (`_text_pv_resize`): the same size at the new end,
/// above the data start `pe_start` (sectors); alignment as at pvcreate.
pub fn moved_mda1(
    new_size: u64,
    pe_start: u64,
    mda1_size_bytes: u64,
    align_sectors: u64,
) -> Result<DiskLocn, LayoutError> {
    let (offset, size) = mda1_place(
        new_size * 512,
        mda1_size_bytes,
        pe_start * 512,
        align_sectors * 512,
    )
    .ok_or(LayoutError::NoSpace(1))?;
    if size < MDA_SIZE_MIN_BYTES {
        return Err(LayoutError::MdaTooSmall(size));
    }
    Ok(DiskLocn { offset, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 2048;

    fn req(size_mib: u64) -> PvRequest {
        PvRequest {
            size: size_mib * MIB,
            data_alignment: 0,
            data_alignment_offset: 0,
            default_alignment_mib: 1,
            mda_size: DEFAULT_MDA_SECTORS,
            mda_copies: 1,
            ba_size: 0,
            restore: None,
        }
    }
    fn kib(sectors: u64) -> u64 {
        sectors / 2
    }

    /// pe_start and the first mda's size in KiB, as LVM2's pe-align.sh
    /// and pvcreate-usage.sh check them on a 4 KiB-page machine.
    fn pe_and_mda(r: &PvRequest) -> (u64, u64) {
        let p = plan(r).unwrap();
        (kib(p.pe_start), p.mdas[0].size / 1024)
    }

    #[test]
    fn pe_start_and_mda_size_as_lvm2() {
        let mut r = req(34);
        assert_eq!(pe_and_mda(&r), (1024, 1020));
        r.mda_size = 200; // 100k: the default 1 MiB alignment still wins
        assert_eq!(pe_and_mda(&r), (1024, 1020));
        r.mda_size = 4096; // 2048k
        assert_eq!(pe_and_mda(&r), (3072, 3068));
        r.mda_size = 4088; // 2044k
        assert_eq!(pe_and_mda(&r), (2048, 2044));
        r.mda_size = 4096;
        r.default_alignment_mib = 2;
        assert_eq!(pe_and_mda(&r), (4096, 4092));
        r.data_alignment = 256; // 128k
        assert_eq!(pe_and_mda(&r), (2176, 2172));
        r.data_alignment_offset = 4; // 2k
        assert_eq!(pe_and_mda(&r), (2178, 2174));
        let mut r = req(34);
        r.mda_size = 200;
        r.data_alignment = 200; // 100k
        assert_eq!(kib(plan(&r).unwrap().pe_start), 200);
        r.mda_size = 256; // 128k
        r.data_alignment = 7; // 3.5k
        assert_eq!(plan(&r).unwrap().pe_start, 266); // 133k
        r.mda_copies = 2;
        assert_eq!(plan(&r).unwrap().pe_start, 266);
        let mut r = req(34);
        r.mda_size = 256;
        r.data_alignment_offset = 7;
        assert_eq!(plan(&r).unwrap().pe_start * 512, 1052160);
        r.mda_copies = 2;
        assert_eq!(plan(&r).unwrap().mdas.len(), 2);
    }

    #[test]
    fn bootloader_area_as_lvm2() {
        let mut r = req(34);
        r.ba_size = 512; // 256k
        let p = plan(&r).unwrap();
        assert_eq!(
            (kib(p.ba_start), kib(p.ba_size), kib(p.pe_start)),
            (1024, 1024, 2048)
        );
        r.data_alignment = 256;
        let p = plan(&r).unwrap();
        assert_eq!(
            (kib(p.ba_start), kib(p.ba_size), kib(p.pe_start)),
            (1024, 256, 1280)
        );
        r.mda_size = 512;
        let p = plan(&r).unwrap();
        assert_eq!(
            (kib(p.ba_start), kib(p.ba_size), kib(p.pe_start)),
            (384, 256, 640)
        );
        assert_eq!(p.mdas[0].size / 1024, 380);
        // pvcreate-bootloaderarea.sh: 255s mda, 256k alignment, 600k area.
        let mut r = req(34);
        r.mda_size = 255;
        r.data_alignment = 512;
        r.ba_size = 1200;
        let p = plan(&r).unwrap();
        assert_eq!(
            (p.ba_start * 512, p.ba_size * 512, p.pe_start * 512),
            (262144, 786432, 1048576)
        );
        // The whole data area as bootloader area: pe_start is the device end.
        let mut r = req(34);
        r.mda_size = 255;
        r.data_alignment = MIB;
        r.ba_size = 33 * MIB;
        let p = plan(&r).unwrap();
        assert_eq!(
            (p.ba_start, p.ba_size, p.pe_start),
            (MIB, 33 * MIB, 34 * MIB)
        );
        r.ba_size += 1;
        assert_eq!(plan(&r), Err(LayoutError::BootloaderBeyondDevice));
    }

    #[test]
    fn too_small_metadata_and_tiny_devices() {
        let mut r = req(34);
        r.data_alignment = 32; // 16 KiB
        r.mda_size = 32;
        assert_eq!(plan(&r), Err(LayoutError::MdaTooSmall(28672)));
        r.data_alignment = 64;
        r.mda_size = 64;
        assert_eq!(kib(plan(&r).unwrap().pe_start), 64);
        // A 1 MiB device: all metadata, no data (open-file-limit.sh).
        let p = plan(&req(1)).unwrap();
        assert_eq!((p.pe_start, p.mdas[0].offset), (MIB, 4096));
        // No metadata areas: data at the alignment.
        let mut r = req(8);
        r.mda_copies = 0;
        assert_eq!(plan(&r).unwrap().pe_start, MIB);
        r.data_alignment_offset = MIB + 1;
        assert!(matches!(
            plan(&r),
            Err(LayoutError::OffsetAboveAlignment { .. })
        ));
    }

    #[test]
    fn second_mda_at_the_aligned_end_and_after_a_resize() {
        let mut r = req(8);
        r.mda_copies = 2;
        let p = plan(&r).unwrap();
        assert_eq!(
            p.mdas[1],
            DiskLocn {
                offset: 7 << 20,
                size: 1 << 20
            }
        );
        let m = moved_mda1(4 * MIB, p.pe_start, p.mdas[1].size, MIB).unwrap();
        assert_eq!(
            m,
            DiskLocn {
                offset: 3 << 20,
                size: 1 << 20
            }
        );
        // Not above the data start: no room.
        assert_eq!(
            moved_mda1(MIB, MIB, 1 << 20, MIB),
            Err(LayoutError::NoSpace(1))
        );
    }

    #[test]
    fn restored_pe_start_is_kept() {
        let mut r = req(34);
        r.mda_size = 2048; // "--metadatasize = pe_start" when restoring
        r.restore = Some(Restored {
            pe_start: 2048,
            extent_size: 8192,
            extent_count: 8,
            ..Default::default()
        });
        let p = plan(&r).unwrap();
        assert_eq!(p.pe_start, 2048);
        assert_eq!(
            p.mdas[0],
            DiskLocn {
                offset: 4096,
                size: (1 << 20) - 4096
            }
        );
        // A second area fits behind 8 extents of 4 MiB on a 34 MiB
        // device, not behind 33 extents of 1 MiB.
        r.mda_copies = 2;
        assert_eq!(plan(&r).unwrap().mdas[1].offset, 33 << 20);
        r.restore = Some(Restored {
            pe_start: 2048,
            extent_size: 2048,
            extent_count: 33,
            ..Default::default()
        });
        assert_eq!(plan(&r), Err(LayoutError::NoSpace(1)));
    }
}
