//! The PV label (`label_header` + `pv_header`) in one of the first four
//! sectors (`lib/label/label.c`, `lib/format_text/layout.h`,
//! `text_label.c`). Reads and writes disk through [`BlockDev`].
//!
//! Layout of the label sector, little-endian, offsets from its start:
//! `"LABELONE"`, `sector_xl` u64, `crc_xl` u32 (over bytes 20..512),
//! `offset_xl` u32 (= 32), `"LVM2 001"`; then the pv_header: 32 raw ID
//! bytes, device size in bytes, the data-area list and the metadata-area
//! list (16-byte `{offset, size}` entries, each list ended by an entry with
//! offset 0), the extension (`version`, `flags`) and the bootloader-area
//! list. The rest of the sector is zero.

use std::io;

use super::crc::lvm_crc;
use super::device::BlockDev;
use super::id::{Id, IdError, ID_LEN};

pub const LABEL_SIZE: u64 = 512;
/// LVM looks for a label in sectors 0..4 (`LABEL_SCAN_SECTORS`).
pub const LABEL_SCAN_SECTORS: u64 = 4;
/// pvcreate's default label sector.
pub const DEFAULT_LABEL_SECTOR: u64 = 1;
pub const LABEL_ID: &[u8; 8] = b"LABELONE";
pub const LVM2_LABEL_TYPE: &[u8; 8] = b"LVM2 001";
/// The extension version we write (`PV_HEADER_EXTENSION_VSN`).
pub const PV_HEADER_EXTENSION_VSN: u32 = 2;
/// Extension flag: the PV belongs to a VG (extension version 2).
pub const PV_EXT_USED: u32 = 1;

const CRC_OFFSET: usize = 0x10;
const CRC_START: usize = 0x14;
/// `offset_xl` as LVM writes it: the pv_header follows the label header.
const PV_HEADER_OFFSET: usize = 32;
/// `sizeof(struct pv_header)`: ID, device size and the flexible array.
const PV_HEADER_FIXED: usize = ID_LEN + 8;
const LOCN_SIZE: usize = 16;
const SECTOR: usize = LABEL_SIZE as usize;

/// A `disk_locn`: an area on the PV in bytes. In the data-area list a size
/// of 0 means "to the end of the device".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiskLocn {
    pub offset: u64,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PvHeader {
    pub id: Id,
    /// Device size in bytes as recorded at pvcreate/pvresize time.
    pub device_size: u64,
    pub data_areas: Vec<DiskLocn>,
    pub metadata_areas: Vec<DiskLocn>,
    /// 0 when the header has no extension; we always write 2.
    pub ext_version: u32,
    pub ext_flags: u32,
    pub bootloader_areas: Vec<DiskLocn>,
}

impl PvHeader {
    /// LVM2 rewrites a header that is older than version 2, or that lacks
    /// [`PV_EXT_USED`] on a PV in a VG ("WARNING: updating PV header").
    pub fn needs_update(&self, in_vg: bool) -> bool {
        self.ext_version < PV_HEADER_EXTENSION_VSN || (in_vg && self.ext_flags & PV_EXT_USED == 0)
    }

    /// The bootloader area (`ba_start`, `ba_size`) in sectors; (0, 0)
    /// when the PV has none, as LVM2 reports it.
    pub fn bootloader_area_sectors(&self) -> (u64, u64) {
        match self.bootloader_areas.first() {
            Some(b) if b.size > 0 => (b.offset / 512, b.size / 512),
            _ => (0, 0),
        }
    }

    /// The size of a PV in no VG in sectors, as LVM2 reports it
    /// (`pv_size`): the size its label records (pvcreate or pvresize
    /// `--setphysicalvolumesize`), else `device_bytes`, the device's.
    pub fn orphan_size_sectors(&self, device_bytes: u64) -> u64 {
        match self.device_size {
            0 => device_bytes / 512,
            n => n / 512,
        }
    }
}

/// A label and the sector (0..4) it lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub sector: u64,
    pub header: PvHeader,
}

/// The outcome of scanning sectors 0..4: the label LVM2 would use, and one
/// line per label-looking sector LVM2 would ignore (wrong `sector_xl`, bad
/// CRC, unknown type, an additional label). Callers print the warnings with
/// the device name in front.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelScan {
    pub label: Option<Label>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("label I/O failed: {0}")]
    Io(#[from] io::Error),
    #[error("label sector {0} is outside sectors 0-3")]
    BadSector(u64),
    #[error("PV header offset {0} in label at sector {1} is out of range")]
    BadHeaderOffset(u32, u64),
    #[error("{0} list in PV header at sector {1} is not terminated inside the sector")]
    Unterminated(&'static str, u64),
    #[error("invalid PV UUID in label at sector {1}: {0}")]
    BadPvId(#[source] IdError, u64),
    #[error("PV header does not fit in one sector ({0} bytes needed)")]
    TooManyAreas(usize),
    #[error("{0} area with offset 0 cannot be written (offset 0 ends the list)")]
    ZeroOffset(&'static str),
}

fn u32_at(buf: &[u8], off: usize) -> Option<u32> {
    let b = buf.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

fn u64_at(buf: &[u8], off: usize) -> Option<u64> {
    let b = buf.get(off..off.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

/// Reads a `disk_locn` list starting at `*pos`, leaving `*pos` after its
/// terminator. `None` when the list runs off the sector.
fn read_locns(sector: &[u8], pos: &mut usize) -> Option<Vec<DiskLocn>> {
    let mut out = Vec::new();
    loop {
        let offset = u64_at(sector, *pos)?;
        let size = u64_at(sector, *pos + 8)?;
        *pos += LOCN_SIZE;
        if offset == 0 {
            return Some(out);
        }
        out.push(DiskLocn { offset, size });
    }
}

/// Parses the pv_header of a label sector whose CRC and type already passed.
fn parse_pv_header(
    buf: &[u8],
    sector: u64,
    warnings: &mut Vec<String>,
) -> Result<PvHeader, LabelError> {
    let offset = u32_at(buf, CRC_START).unwrap_or(u32::MAX);
    // label_check_pv_layout(): the fixed part must fit in the sector.
    if offset as usize > SECTOR - PV_HEADER_FIXED {
        return Err(LabelError::BadHeaderOffset(offset, sector));
    }
    let mut pos = offset as usize;
    let id_bytes = buf.get(pos..pos + ID_LEN).unwrap_or(&[]);
    let id = Id::from_raw(id_bytes).map_err(|e| LabelError::BadPvId(e, sector))?;
    let device_size = u64_at(buf, pos + ID_LEN).unwrap_or(0);
    pos += PV_HEADER_FIXED;
    let data_areas =
        read_locns(buf, &mut pos).ok_or(LabelError::Unterminated("data area", sector))?;
    let metadata_areas =
        read_locns(buf, &mut pos).ok_or(LabelError::Unterminated("metadata area", sector))?;
    // The extension exists only if its 8 bytes fit after the two lists.
    let (mut ext_version, mut ext_flags, mut bootloader_areas) = (0, 0, Vec::new());
    if let (Some(v @ 1..), Some(f)) = (u32_at(buf, pos), u32_at(buf, pos + 4)) {
        // Version 0 means no extension: its flags are not looked at.
        ext_version = v;
        ext_flags = f;
        pos += 8;
        match read_locns(buf, &mut pos) {
            Some(list) => bootloader_areas = list,
            None => warnings.push(format!(
                "bootloader area list in PV header at sector {sector} is not terminated - ignoring it"
            )),
        }
    }
    Ok(PvHeader {
        id,
        device_size,
        data_areas,
        metadata_areas,
        ext_version,
        ext_flags,
        bootloader_areas,
    })
}

/// Scans sectors 0..4 the way LVM2's `_find_lvm_header` does: a sector is a
/// candidate if it starts with `LABELONE`; it is ignored if its `sector_xl`
/// is not the sector it sits in, if its CRC is wrong, or if its type is not
/// `LVM2 001`; the first valid one wins and later valid ones are ignored.
/// Sectors past the end of a tiny device are skipped.
pub fn scan_label(dev: &dyn BlockDev) -> Result<LabelScan, LabelError> {
    let size = dev.size()?;
    let sectors = (size / LABEL_SIZE).min(LABEL_SCAN_SECTORS);
    let mut scan = LabelScan::default();
    // The label sectors in one read (they are adjacent).
    let mut all = [0u8; SECTOR * LABEL_SCAN_SECTORS as usize];
    let all = &mut all[..sectors as usize * SECTOR];
    dev.read_at(0, all)?;
    for (sector, buf) in (0..sectors).zip(all.chunks_exact(SECTOR)) {
        if &buf[..8] != LABEL_ID {
            continue;
        }
        let sector_xl = u64_at(buf, 8).unwrap_or(u64::MAX);
        if sector_xl != sector {
            scan.warnings.push(format!(
                "Label for sector {sector_xl} found at sector {sector} - ignoring"
            ));
            continue;
        }
        let stored = u32_at(buf, CRC_OFFSET).unwrap_or(0);
        let computed = lvm_crc(&buf[CRC_START..]);
        if stored != computed {
            scan.warnings.push(format!(
                "Label checksum incorrect at sector {sector} (0x{stored:08x}, expected 0x{computed:08x}) - ignoring"
            ));
            continue;
        }
        if &buf[0x18..0x20] != LVM2_LABEL_TYPE {
            scan.warnings.push(format!(
                "Label at sector {sector} has unknown type {:?} - ignoring",
                String::from_utf8_lossy(&buf[0x18..0x20])
            ));
            continue;
        }
        if scan.label.is_some() {
            scan.warnings
                .push(format!("Ignoring additional label at sector {sector}"));
            continue;
        }
        let header = parse_pv_header(buf, sector, &mut scan.warnings)?;
        scan.label = Some(Label { sector, header });
    }
    Ok(scan)
}

/// The label LVM2 would use, or `None`; see [`scan_label`] for the
/// warnings this drops.
pub fn read_label(dev: &dyn BlockDev) -> Result<Option<Label>, LabelError> {
    Ok(scan_label(dev)?.label)
}

fn put_locns(
    out: &mut [u8; SECTOR],
    pos: &mut usize,
    list: &[DiskLocn],
    what: &'static str,
) -> Result<(), LabelError> {
    for l in list {
        if l.offset == 0 {
            return Err(LabelError::ZeroOffset(what));
        }
        out[*pos..*pos + 8].copy_from_slice(&l.offset.to_le_bytes());
        out[*pos + 8..*pos + 16].copy_from_slice(&l.size.to_le_bytes());
        *pos += LOCN_SIZE;
    }
    // The zero terminator is already there.
    *pos += LOCN_SIZE;
    Ok(())
}

/// The 512 bytes of a label sector, fields in disk order, CRC last. The
/// extension is always written as version 2; `ext_version` is ignored.
pub fn encode_label(label: &Label) -> Result<[u8; SECTOR], LabelError> {
    let h = &label.header;
    let needed = PV_HEADER_OFFSET
        + PV_HEADER_FIXED
        + LOCN_SIZE * (h.data_areas.len() + h.metadata_areas.len() + h.bootloader_areas.len() + 3)
        + 8;
    if needed > SECTOR {
        return Err(LabelError::TooManyAreas(needed));
    }
    let mut out = [0u8; SECTOR];
    out[..8].copy_from_slice(LABEL_ID);
    out[8..16].copy_from_slice(&label.sector.to_le_bytes());
    out[CRC_START..CRC_START + 4].copy_from_slice(&(PV_HEADER_OFFSET as u32).to_le_bytes());
    out[0x18..0x20].copy_from_slice(LVM2_LABEL_TYPE);
    let mut pos = PV_HEADER_OFFSET;
    out[pos..pos + ID_LEN].copy_from_slice(&h.id.0);
    out[pos + ID_LEN..pos + PV_HEADER_FIXED].copy_from_slice(&h.device_size.to_le_bytes());
    pos += PV_HEADER_FIXED;
    put_locns(&mut out, &mut pos, &h.data_areas, "data")?;
    put_locns(&mut out, &mut pos, &h.metadata_areas, "metadata")?;
    out[pos..pos + 4].copy_from_slice(&PV_HEADER_EXTENSION_VSN.to_le_bytes());
    out[pos + 4..pos + 8].copy_from_slice(&h.ext_flags.to_le_bytes());
    pos += 8;
    put_locns(&mut out, &mut pos, &h.bootloader_areas, "bootloader")?;
    let crc = lvm_crc(&out[CRC_START..]);
    out[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Writes `label` into its sector, then wipes any other label-looking
/// sector in 0..4 so exactly one label remains, then syncs. The new label
/// goes first: a crash in between leaves two valid labels, never none.
/// Sectors without `LABELONE` (a boot sector, say) are left alone.
pub fn write_label(dev: &dyn BlockDev, label: &Label) -> Result<(), LabelError> {
    if label.sector >= LABEL_SCAN_SECTORS {
        return Err(LabelError::BadSector(label.sector));
    }
    let bytes = encode_label(label)?;
    dev.write_at(label.sector * LABEL_SIZE, &bytes)?;
    wipe_labels_except(dev, Some(label.sector))?;
    dev.sync()?;
    Ok(())
}

/// Zeroes every sector in 0..4 that starts with `LABELONE` (LVM2's
/// `label_remove`), syncs, and returns how many were wiped.
pub fn wipe_labels(dev: &dyn BlockDev) -> Result<usize, LabelError> {
    let n = wipe_labels_except(dev, None)?;
    dev.sync()?;
    Ok(n)
}

fn wipe_labels_except(dev: &dyn BlockDev, keep: Option<u64>) -> Result<usize, LabelError> {
    let sectors = (dev.size()? / LABEL_SIZE).min(LABEL_SCAN_SECTORS);
    let mut buf = [0u8; SECTOR];
    let mut wiped = 0;
    for sector in (0..sectors).filter(|&s| Some(s) != keep) {
        dev.read_at(sector * LABEL_SIZE, &mut buf)?;
        if &buf[..8] == LABEL_ID {
            dev.write_at(sector * LABEL_SIZE, &[0u8; SECTOR])?;
            wiped += 1;
        }
    }
    Ok(wiped)
}

/// Real LVM2-written devices (see `fuzz/seeds/make-fixtures.sh`), shared
/// with the mda tests and used as fuzz seeds.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::io::Read;

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut out)
            .expect("fixture is valid gzip");
        out
    }
    /// First MiB of a PV after `pvcreate` only.
    pub fn orphan_pv() -> Vec<u8> {
        gunzip(include_bytes!("../../fuzz/seeds/orphan-pv.bin.gz"))
    }
    /// First MiB of a PV in VG `rlvmfix` with one LV (seqno 2).
    pub fn vg_pv() -> Vec<u8> {
        gunzip(include_bytes!("../../fuzz/seeds/vg-pv.bin.gz"))
    }
    /// First 64 KiB of a PV with a 61440-byte mda whose committed copy
    /// wraps.
    pub fn wrapped_pv() -> Vec<u8> {
        gunzip(include_bytes!("../../fuzz/seeds/wrapped-pv.bin.gz"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::device::MemDev;
    use proptest::prelude::*;

    fn sample(sector: u64) -> Label {
        Label {
            sector,
            header: PvHeader {
                id: Id::from_raw(b"D6LSgm1CAb9CP3SB1pku4nk6Y2llg6P1").unwrap(),
                device_size: 64 << 20,
                data_areas: vec![DiskLocn {
                    offset: 1 << 20,
                    size: 0,
                }],
                metadata_areas: vec![DiskLocn {
                    offset: 4096,
                    size: 1_044_480,
                }],
                ext_version: 2,
                ext_flags: PV_EXT_USED,
                bootloader_areas: vec![],
            },
        }
    }

    #[test]
    fn orphan_size_and_bootloader_area_from_the_header() {
        let mut h = sample(1).header;
        assert_eq!(h.orphan_size_sectors(128 << 20), 131072);
        h.device_size = 0;
        assert_eq!(h.orphan_size_sectors(128 << 20), 262144);
        assert_eq!(h.bootloader_area_sectors(), (0, 0));
        h.bootloader_areas = vec![DiskLocn {
            offset: 262144,
            size: 786432,
        }];
        assert_eq!(h.bootloader_area_sectors(), (512, 1536));
    }

    #[test]
    fn reads_real_lvm2_pv_in_vg() {
        let image = fixtures::vg_pv();
        let scan = scan_label(&MemDev::from_vec(image.clone())).unwrap();
        assert!(scan.warnings.is_empty(), "{:?}", scan.warnings);
        let l = scan.label.unwrap();
        let mut expected = sample(1);
        expected.header.id = Id::from_raw(&image[544..576]).unwrap();
        assert_eq!(l, expected);
        assert!(!l.header.needs_update(true));
    }

    #[test]
    fn reads_real_lvm2_orphan_pv() {
        let l = read_label(&MemDev::from_vec(fixtures::orphan_pv()))
            .unwrap()
            .unwrap();
        assert_eq!(l.header.ext_version, 2);
        assert_eq!(l.header.ext_flags, 0);
        assert_eq!(l.header.metadata_areas, sample(1).header.metadata_areas);
        assert!(l.header.needs_update(true));
        assert!(!l.header.needs_update(false));
    }

    #[test]
    fn writes_exactly_what_lvm2_wrote() {
        for image in [
            fixtures::vg_pv(),
            fixtures::orphan_pv(),
            fixtures::wrapped_pv(),
        ] {
            let dev = MemDev::from_vec(image.clone());
            let l = read_label(&dev).unwrap().unwrap();
            let fresh = MemDev::new(image.len());
            write_label(&fresh, &l).unwrap();
            assert_eq!(&fresh.to_vec()[..2048], &image[..2048]);
        }
        // Field by field, against the layout in the reference notes.
        let b = encode_label(&sample(1)).unwrap();
        assert_eq!(&b[0x20..0x40], b"D6LSgm1CAb9CP3SB1pku4nk6Y2llg6P1");
        assert_eq!(u64_at(&b, 0x40), Some(64 << 20));
        assert_eq!(u64_at(&b, 584 - 512), Some(1 << 20));
        assert_eq!(u64_at(&b, 616 - 512), Some(4096));
        assert_eq!(u64_at(&b, 624 - 512), Some(1_044_480));
        assert_eq!(u32_at(&b, 648 - 512), Some(2));
        assert_eq!(u32_at(&b, 652 - 512), Some(1));
        assert!(b[656 - 512..].iter().all(|&x| x == 0));
    }

    #[test]
    fn round_trip_every_sector_and_wipes_others() {
        for sector in 0..4 {
            let dev = MemDev::new(8192);
            write_label(&dev, &sample((sector + 1) % 4)).unwrap();
            write_label(&dev, &sample(sector)).unwrap();
            let scan = scan_label(&dev).unwrap();
            assert_eq!(scan.label, Some(sample(sector)));
            assert!(scan.warnings.is_empty());
            assert_eq!(wipe_labels(&dev).unwrap(), 1);
            assert_eq!(read_label(&dev).unwrap(), None);
            assert!(dev.to_vec().iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn bootloader_areas_round_trip() {
        let mut l = sample(1);
        l.header.bootloader_areas = vec![DiskLocn {
            offset: 1 << 20,
            size: 512 << 10,
        }];
        let dev = MemDev::new(4096);
        write_label(&dev, &l).unwrap();
        assert_eq!(read_label(&dev).unwrap(), Some(l));
    }

    #[test]
    fn write_leaves_non_label_sector_zero_alone() {
        let dev = MemDev::new(4096);
        dev.write_at(0, &[0xEB; 512]).unwrap();
        write_label(&dev, &sample(1)).unwrap();
        assert_eq!(&dev.to_vec()[..512], &[0xEB; 512]);
    }

    #[test]
    fn rejects_unwritable_labels() {
        let dev = MemDev::new(4096);
        assert!(matches!(
            write_label(&dev, &sample(4)),
            Err(LabelError::BadSector(4))
        ));
        let mut l = sample(1);
        l.header
            .metadata_areas
            .push(DiskLocn { offset: 0, size: 5 });
        assert!(matches!(
            write_label(&dev, &l),
            Err(LabelError::ZeroOffset(_))
        ));
        let mut l = sample(1);
        l.header.data_areas = vec![DiskLocn { offset: 1, size: 1 }; 40];
        assert!(matches!(
            write_label(&dev, &l),
            Err(LabelError::TooManyAreas(_))
        ));
        assert!(write_label(&MemDev::new(600), &sample(1)).is_err());
    }

    fn with_sector(image: &mut [u8], sector: u64, f: impl FnOnce(&mut [u8]), fix_crc: bool) {
        let s = &mut image[sector as usize * SECTOR..][..SECTOR];
        f(s);
        if fix_crc {
            let crc = lvm_crc(&s[CRC_START..]);
            s[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
        }
    }

    /// A corruption, whether to fix the CRC after it, and the warning.
    type Corruption = (fn(&mut [u8]), bool, &'static str);

    #[test]
    fn ignores_bad_crc_wrong_sector_and_type() {
        let base = fixtures::vg_pv();
        let cases: [Corruption; 3] = [
            (|s| s[0x30] ^= 1, false, "checksum incorrect"),
            (|s| s[8] = 2, true, "Label for sector 2 found at sector 1"),
            (|s| s[0x1f] = b'2', true, "unknown type"),
        ];
        for (corrupt, fix, msg) in cases {
            let mut image = base.clone();
            with_sector(&mut image, 1, corrupt, fix);
            let scan = scan_label(&MemDev::from_vec(image)).unwrap();
            assert_eq!(scan.label, None);
            assert_eq!(scan.warnings.len(), 1);
            assert!(scan.warnings[0].contains(msg), "{:?}", scan.warnings);
        }
    }

    #[test]
    fn first_valid_label_wins() {
        let dev = MemDev::new(4096);
        dev.write_at(1536, &encode_label(&sample(3)).unwrap())
            .unwrap();
        let mut other = sample(2);
        other.header.device_size = 1;
        dev.write_at(1024, &encode_label(&other).unwrap()).unwrap();
        let scan = scan_label(&dev).unwrap();
        assert_eq!(scan.label, Some(other));
        assert_eq!(
            scan.warnings,
            vec!["Ignoring additional label at sector 3".to_string()]
        );
    }

    #[test]
    fn old_extension_versions() {
        let mut image = fixtures::vg_pv();
        // Version 1: same layout, bootloader list present.
        with_sector(&mut image, 1, |s| s[648 - 512] = 1, true);
        let l = read_label(&MemDev::from_vec(image.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(
            (l.header.ext_version, l.header.bootloader_areas.len()),
            (1, 0)
        );
        assert!(l.header.needs_update(false));
        // Version 0: no extension at all.
        with_sector(&mut image, 1, |s| s[648 - 512..656 - 512].fill(0), true);
        let l = read_label(&MemDev::from_vec(image)).unwrap().unwrap();
        assert_eq!((l.header.ext_version, l.header.ext_flags), (0, 0));
        assert_eq!(l.header.metadata_areas.len(), 1);
    }

    #[test]
    fn malformed_headers_are_errors() {
        let base = fixtures::vg_pv();
        let mut image = base.clone();
        with_sector(
            &mut image,
            1,
            |s| s[0x14..0x18].copy_from_slice(&473u32.to_le_bytes()),
            true,
        );
        assert!(matches!(
            read_label(&MemDev::from_vec(image)),
            Err(LabelError::BadHeaderOffset(473, 1))
        ));
        let mut image = base.clone();
        with_sector(&mut image, 1, |s| s[0x20] = b'_', true);
        assert!(matches!(
            read_label(&MemDev::from_vec(image)),
            Err(LabelError::BadPvId(..))
        ));
        let mut image = base;
        with_sector(&mut image, 1, |s| s[0x48..].fill(0x11), true);
        assert!(matches!(
            read_label(&MemDev::from_vec(image)),
            Err(LabelError::Unterminated("data area", 1))
        ));
    }

    #[test]
    fn tiny_and_truncated_devices() {
        assert_eq!(read_label(&MemDev::new(0)).unwrap(), None);
        assert_eq!(read_label(&MemDev::new(511)).unwrap(), None);
        let image = fixtures::vg_pv();
        // Sector 1 cut short: it is not scanned at all.
        assert_eq!(
            read_label(&MemDev::from_vec(image[..1000].to_vec())).unwrap(),
            None
        );
        assert!(read_label(&MemDev::from_vec(image[..1024].to_vec()))
            .unwrap()
            .is_some());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2100)) {
            let _ = scan_label(&MemDev::from_vec(data));
        }

        #[test]
        fn arbitrary_valid_crc_sectors_never_panic(
            body in proptest::collection::vec(any::<u8>(), 488),
            offset in 0u32..600,
        ) {
            let mut image = vec![0u8; 2048];
            with_sector(&mut image, 1, |s| {
                s[..8].copy_from_slice(LABEL_ID);
                s[8] = 1;
                s[0x18..].copy_from_slice(&body[..488]);
                s[0x18..0x20].copy_from_slice(LVM2_LABEL_TYPE);
                s[0x14..0x18].copy_from_slice(&(offset % 520).to_le_bytes());
            }, true);
            let _ = scan_label(&MemDev::from_vec(image));
        }
    }
}
