//! Metadata area: the 512-byte `mda_header` and the circular text buffer
//! behind it (`lib/format_text/layout.h`, `format-text.c`). Reads and
//! writes disk through [`BlockDev`].
//!
//! An mda occupies `[start, start+size)` on the PV. Its header holds two
//! `raw_locn` slots: 0 is the committed copy, 1 the precommitted one. Text
//! copies live in `[start+512, start+size)`; a copy that reaches the end
//! continues at offset 512, and its `offset + size` then exceeds `size`.
//!
//! # Commit protocol
//!
//! A VG update is three phases, each applied to every in-use mda on every
//! PV before the next starts (LVM2's `vg_write`, `vg_precommit`,
//! `vg_commit`):
//! 1. [`write_text`] the new text (seqno+1) into free space of the circular
//!    buffer. No header changes, so readers still see the old copy.
//! 2. Precommit: [`write_mda_header`] with slot 1 pointing at the new copy
//!    ([`MdaHeader::with_precommitted`]). Only activation (suspend/preload)
//!    reads slot 1.
//! 3. Commit: [`write_mda_header`] with slot 0 pointing at the new copy and
//!    slot 1 cleared ([`MdaHeader::with_committed`]).
//!
//! Every header update is a single 512-byte sector write carrying its own
//! CRC, so each mda on its own flips atomically from old to new; and the
//! new text never overlaps the committed copy ([`next_text_offset`]), so a
//! crash at any point leaves every mda with a complete, CRC-valid copy,
//! either old or new. Across PVs the update is not atomic: after a crash
//! some mdas hold seqno N and others N+1. Readers resolve that by taking the
//! highest seqno among valid copies (and the next write rewrites the stale
//! ones: "updating old metadata"), so the VG is never lost, only rolled
//! forward or left at the old version.
//!
//! Ordering on disk (a drive's volatile cache may reorder unsynced
//! writes): the committed slot must never reach the disk before the text it
//! points at. The commit (store.rs) writes phases 1 and 2 on every device,
//! syncs each device once, then writes phase 3 and syncs each device once
//! more: two flushes per device per commit. Phase 2 is not ordered after
//! phase 1 and needs not be: no reader takes slot 1 for the committed copy,
//! and the precommit is durable, with its text, before phase 3 starts.
//! [`write_text`] does not sync; [`write_mda_header`] does
//! ([`put_mda_header`] is the commit's unsynced form).

use std::io;

use super::crc::lvm_crc;
use super::device::BlockDev;

pub mod dump;
pub mod dumpio;
pub mod repair;
pub mod search;

pub const MDA_HEADER_SIZE: u64 = 512;
/// `FMTT_MAGIC` from `layout.h`.
pub const FMTT_MAGIC: &[u8; 16] = b" LVM2 x[5A%r0N*>";
/// `FMTT_VERSION`.
pub const FMTT_VERSION: u32 = 1;
/// `MDA_ORIGINAL_ALIGNMENT`: every text copy starts on a 512-byte boundary.
pub const MDA_ALIGNMENT: u64 = 512;
/// Slot-0 flag set by `pvchange --metadataignore`.
pub const RAW_LOCN_IGNORED: u32 = 1;

const HDR: usize = MDA_HEADER_SIZE as usize;
const SLOT_OFFSETS: [usize; 2] = [0x28, 0x40];

/// A `raw_locn`: one text copy, `offset` relative to the mda start, `size`
/// including the trailing NUL, `checksum` the LVM CRC of those bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawLocn {
    pub offset: u64,
    pub size: u64,
    pub checksum: u32,
    pub flags: u32,
}

impl RawLocn {
    /// Offset 0 means "no copy" (LVM's list terminator).
    pub fn is_empty(&self) -> bool {
        self.offset == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MdaHeader {
    /// Absolute byte offset of this header on the PV.
    pub start: u64,
    /// Size of the whole area, header included.
    pub size: u64,
    /// 0: committed, 1: precommitted.
    pub slots: [RawLocn; 2],
}

impl MdaHeader {
    /// A header with both slots empty.
    pub fn new(start: u64, size: u64) -> MdaHeader {
        MdaHeader {
            start,
            size,
            slots: [RawLocn::default(); 2],
        }
    }

    /// Phase 2 of the commit protocol: slot 1 points at `new`.
    pub fn with_precommitted(&self, new: RawLocn) -> MdaHeader {
        MdaHeader {
            slots: [self.slots[0], new],
            ..*self
        }
    }

    /// Phase 3: slot 0 points at `new` and slot 1 is cleared. The
    /// `RAW_LOCN_IGNORED` flag of slot 0 is kept.
    pub fn with_committed(&self, new: RawLocn) -> MdaHeader {
        let flags = new.flags | (self.slots[0].flags & RAW_LOCN_IGNORED);
        MdaHeader {
            slots: [RawLocn { flags, ..new }, RawLocn::default()],
            ..*self
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MdaError {
    #[error("metadata area I/O failed: {0}")]
    Io(#[from] io::Error),
    /// The header errors all say "bad metadata header", LVM2's warning for
    /// them (`text_label.c`), with the field LVM2 names before it.
    #[error(
        "bad metadata header at {start}: wrong checksum {found:08x} (expected {computed:08x})"
    )]
    BadChecksum {
        start: u64,
        found: u32,
        computed: u32,
    },
    #[error("bad metadata header at {start}: wrong magic number")]
    BadMagic { start: u64 },
    #[error("bad metadata header at {start}: wrong version {version}")]
    BadVersion { start: u64, version: u32 },
    #[error("bad metadata header at {expected}: wrong start {found}")]
    BadStart { expected: u64, found: u64 },
    #[error("bad metadata header at {start}: invalid size {size} (must be at least 512)")]
    BadSize { start: u64, size: u64 },
    #[error("metadata area at {start} (size {size}) extends past the end of the device ({device} bytes)")]
    BeyondDevice { start: u64, size: u64, device: u64 },
    #[error("no metadata slot {0} (0 is committed, 1 precommitted)")]
    BadSlot(usize),
    #[error("metadata location in slot {slot} (offset {offset}, size {size}) lies outside the metadata area (size {area})")]
    BadLocation {
        slot: usize,
        offset: u64,
        size: u64,
        area: u64,
    },
    #[error("Checksum error in metadata text at offset {offset} (0x{found:08x}, expected 0x{computed:08x})")]
    BadTextChecksum {
        offset: u64,
        found: u32,
        computed: u32,
    },
    #[error("metadata too large for metadata area ({len} bytes, at most {max})")]
    TooLarge { len: u64, max: u64 },
    #[error("metadata ({len} bytes) would overlap the committed copy in the circular buffer")]
    Overlap { len: u64 },
    #[error("metadata text contains a NUL byte")]
    NulInText,
    #[error(
        "metadata text of {size} bytes in slot {slot} is larger than rlvm reads (at most {max})"
    )]
    TextTooLarge { slot: usize, size: u64, max: u64 },
}

/// The most metadata text read from one area. The area's own size bounds
/// it too, but a hostile or damaged label can claim an area as large as
/// the device: this keeps one read (and one allocation) sane. LVM2 writes
/// well under a MiB even for thousands of LVs.
pub const MAX_TEXT_SIZE: u64 = 128 << 20;

fn u32_at(buf: &[u8], off: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(s) = buf.get(off..off + 4) {
        b.copy_from_slice(s);
    }
    u32::from_le_bytes(b)
}

fn u64_at(buf: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = buf.get(off..off + 8) {
        b.copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

/// Checks a header sector the way `raw_parse_mda_header` does, in its
/// order: checksum, magic, version, start, size.
pub fn parse_mda_header(buf: &[u8; HDR], expected_start: u64) -> Result<MdaHeader, MdaError> {
    let start = expected_start;
    let found = u32_at(buf, 0);
    let computed = lvm_crc(&buf[4..]);
    if found != computed {
        return Err(MdaError::BadChecksum {
            start,
            found,
            computed,
        });
    }
    if &buf[4..20] != FMTT_MAGIC {
        return Err(MdaError::BadMagic { start });
    }
    let version = u32_at(buf, 0x14);
    if version != FMTT_VERSION {
        return Err(MdaError::BadVersion { start, version });
    }
    let found_start = u64_at(buf, 0x18);
    if found_start != expected_start {
        return Err(MdaError::BadStart {
            expected: expected_start,
            found: found_start,
        });
    }
    let size = u64_at(buf, 0x20);
    if size < MDA_HEADER_SIZE || start.checked_add(size).is_none() {
        return Err(MdaError::BadSize { start, size });
    }
    let slot = |o: usize| RawLocn {
        offset: u64_at(buf, o),
        size: u64_at(buf, o + 8),
        checksum: u32_at(buf, o + 16),
        flags: u32_at(buf, o + 20),
    };
    Ok(MdaHeader {
        start,
        size,
        slots: SLOT_OFFSETS.map(slot),
    })
}

/// Reads and checks the header of the mda the pv_header places at `start`.
pub fn read_mda_header(dev: &dyn BlockDev, start: u64) -> Result<MdaHeader, MdaError> {
    let mut buf = [0u8; HDR];
    dev.read_at(start, &mut buf)?;
    parse_mda_header(&buf, start)
}

/// The header sector: fields in disk order, zero terminator after slot 1,
/// checksum last.
pub fn encode_mda_header(hdr: &MdaHeader) -> [u8; HDR] {
    let mut b = [0u8; HDR];
    b[4..20].copy_from_slice(FMTT_MAGIC);
    b[0x14..0x18].copy_from_slice(&FMTT_VERSION.to_le_bytes());
    b[0x18..0x20].copy_from_slice(&hdr.start.to_le_bytes());
    b[0x20..0x28].copy_from_slice(&hdr.size.to_le_bytes());
    for (rl, o) in hdr.slots.iter().zip(SLOT_OFFSETS) {
        b[o..o + 8].copy_from_slice(&rl.offset.to_le_bytes());
        b[o + 8..o + 16].copy_from_slice(&rl.size.to_le_bytes());
        b[o + 16..o + 20].copy_from_slice(&rl.checksum.to_le_bytes());
        b[o + 20..o + 24].copy_from_slice(&rl.flags.to_le_bytes());
    }
    let crc = lvm_crc(&b[4..]);
    b[..4].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Writes the header sector and syncs.
pub fn write_mda_header(dev: &dyn BlockDev, hdr: &MdaHeader) -> Result<(), MdaError> {
    put_mda_header(dev, hdr)?;
    dev.sync()?;
    Ok(())
}

/// Writes the header sector without syncing: for a commit that writes the
/// headers of every device and then syncs each device once.
pub fn put_mda_header(dev: &dyn BlockDev, hdr: &MdaHeader) -> Result<(), MdaError> {
    dev.write_at(hdr.start, &encode_mda_header(hdr))?;
    Ok(())
}

/// Formats a fresh mda: zeroes the first text sector, then writes a header
/// with both slots empty. Returns that header.
pub fn init_mda(dev: &dyn BlockDev, start: u64, size: u64) -> Result<MdaHeader, MdaError> {
    if size < MDA_HEADER_SIZE || start.checked_add(size).is_none() {
        return Err(MdaError::BadSize { start, size });
    }
    let hdr = MdaHeader::new(start, size);
    let first = (size - MDA_HEADER_SIZE).min(MDA_ALIGNMENT) as usize;
    if first > 0 {
        dev.write_at(start + MDA_HEADER_SIZE, &vec![0u8; first])?;
    }
    write_mda_header(dev, &hdr)?;
    Ok(hdr)
}

/// Where a copy of `len` bytes at `offset` lies, relative to the mda start:
/// the part up to the end of the area and the part that wrapped to 512
/// (possibly empty). `None` if it does not fit, or if the wrapped part
/// would run into the first part.
fn pieces(area: u64, offset: u64, len: u64) -> Option<[(u64, u64); 2]> {
    if offset < MDA_HEADER_SIZE || offset >= area || len > area - MDA_HEADER_SIZE {
        return None;
    }
    let first = len.min(area - offset);
    let wrap = len - first;
    if MDA_HEADER_SIZE + wrap > offset {
        return None;
    }
    Some([
        (offset, offset + first),
        (MDA_HEADER_SIZE, MDA_HEADER_SIZE + wrap),
    ])
}

/// Where the copy in `slot` lies, relative to the area's start: the
/// non-empty pieces `read_text` would read (none if the slot is empty or
/// does not fit the area).
pub fn text_extents(hdr: &MdaHeader, slot: usize) -> Vec<(u64, u64)> {
    let Some(rl) = hdr.slots.get(slot).filter(|rl| !rl.is_empty()) else {
        return Vec::new();
    };
    pieces(hdr.size, rl.offset, rl.size)
        .map(|p| p.into_iter().filter(|(s, e)| s < e).collect())
        .unwrap_or_default()
}

fn overlaps(a: &[(u64, u64); 2], b: &[(u64, u64); 2]) -> bool {
    a.iter().any(|&(s1, e1)| {
        b.iter()
            .any(|&(s2, e2)| s1 < e1 && s2 < e2 && s1 < e2 && s2 < e1)
    })
}

fn align_up(x: u64) -> Option<u64> {
    Some(x.checked_add(MDA_ALIGNMENT - 1)? / MDA_ALIGNMENT * MDA_ALIGNMENT)
}

/// Reads the copy in `slot` (0 committed, 1 precommitted): `None` if the
/// slot is empty. Joins a wrapped copy, checks its CRC over exactly
/// `raw_locn.size` bytes and drops one trailing NUL if there is one (LVM2
/// accepts text without it).
pub fn read_text(
    dev: &dyn BlockDev,
    hdr: &MdaHeader,
    slot: usize,
) -> Result<Option<Vec<u8>>, MdaError> {
    let rl = *hdr.slots.get(slot).ok_or(MdaError::BadSlot(slot))?;
    if rl.is_empty() {
        return Ok(None);
    }
    let device = dev.size()?;
    if hdr
        .start
        .checked_add(hdr.size)
        .is_none_or(|end| end > device)
    {
        return Err(MdaError::BeyondDevice {
            start: hdr.start,
            size: hdr.size,
            device,
        });
    }
    let bad = MdaError::BadLocation {
        slot,
        offset: rl.offset,
        size: rl.size,
        area: hdr.size,
    };
    let parts = pieces(hdr.size, rl.offset, rl.size).ok_or(bad)?;
    if rl.size > MAX_TEXT_SIZE {
        return Err(MdaError::TextTooLarge {
            slot,
            size: rl.size,
            max: MAX_TEXT_SIZE,
        });
    }
    // Fits in usize: it lies inside the device, which is addressable here.
    let mut text = vec![0u8; rl.size as usize];
    let mut pos = 0usize;
    for (s, e) in parts {
        let n = (e - s) as usize;
        dev.read_at(hdr.start + s, &mut text[pos..pos + n])?;
        pos += n;
    }
    let computed = lvm_crc(&text);
    if computed != rl.checksum {
        return Err(MdaError::BadTextChecksum {
            offset: rl.offset,
            found: rl.checksum,
            computed,
        });
    }
    if text.last() == Some(&0) {
        text.pop();
    }
    Ok(Some(text))
}

/// Up to `max` bytes from the start of the copy in slot 0 (joined if it
/// wraps), unchecked: the CRC covers the whole copy, so this is only for
/// what a caller may guess from the head (the VG's seqno for a warning),
/// never for metadata it trusts. `None` if the slot is empty.
pub fn read_text_head(
    dev: &dyn BlockDev,
    hdr: &MdaHeader,
    max: u64,
) -> Result<Option<Vec<u8>>, MdaError> {
    let rl = hdr.slots[0];
    if rl.is_empty() {
        return Ok(None);
    }
    let bad = MdaError::BadLocation {
        slot: 0,
        offset: rl.offset,
        size: rl.size,
        area: hdr.size,
    };
    let parts = pieces(hdr.size, rl.offset, rl.size.min(max)).ok_or(bad)?;
    let mut text = Vec::new();
    for (s, e) in parts {
        let mut buf = vec![0u8; (e - s) as usize];
        dev.read_at(hdr.start + s, &mut buf)?;
        text.extend_from_slice(&buf);
    }
    Ok(Some(text))
}

/// Where the next copy of `len` bytes (NUL included) goes, the way LVM2's
/// `_next_rlocn_offset` places it: at 512 if nothing is committed, else
/// just after the committed copy rounded up to 512, restarting at 512 when
/// less than a sector is left before the end. The copy may wrap but must
/// not overlap the committed one, and may be at most `(size-512)/2 - 512`
/// bytes so the buffer always holds both.
pub fn next_text_offset(hdr: &MdaHeader, len: u64) -> Result<u64, MdaError> {
    let max = (hdr.size.saturating_sub(MDA_HEADER_SIZE) / 2).saturating_sub(MDA_ALIGNMENT);
    if len > max || len == 0 {
        return Err(MdaError::TooLarge { len, max });
    }
    let old = hdr.slots[0];
    if old.is_empty() {
        return Ok(MDA_HEADER_SIZE);
    }
    let bad = MdaError::BadLocation {
        slot: 0,
        offset: old.offset,
        size: old.size,
        area: hdr.size,
    };
    let old_parts = pieces(hdr.size, old.offset, old.size).ok_or(bad)?;
    let old_end = if old_parts[1].1 > MDA_HEADER_SIZE {
        old_parts[1].1
    } else {
        old_parts[0].1
    };
    let mut next = align_up(old_end).ok_or(MdaError::Overlap { len })?;
    if next > hdr.size - MDA_HEADER_SIZE {
        next = MDA_HEADER_SIZE;
    }
    match pieces(hdr.size, next, len) {
        Some(new_parts) if !overlaps(&new_parts, &old_parts) => Ok(next),
        _ => Err(MdaError::Overlap { len }),
    }
}

/// Writes `text` plus a NUL as the next copy ([`next_text_offset`]), wrapped
/// if needed and zero-padded to a 512 boundary (never into the committed
/// copy). Does not sync: the caller makes the text durable before any
/// header's committed slot points at it (store's commit syncs once per
/// device after the precommit). The header is not touched: the caller
/// precommits and commits the returned location (see the module comment).
pub fn write_text(dev: &dyn BlockDev, hdr: &MdaHeader, text: &[u8]) -> Result<RawLocn, MdaError> {
    write_prepared(dev, hdr, &PreparedText::new(text)?)
}

/// A text as areas hold it (NUL-terminated), checked and checksummed
/// once for all the areas a commit writes it to.
pub struct PreparedText {
    buf: Vec<u8>,
    checksum: u32,
}

impl PreparedText {
    pub fn new(text: &[u8]) -> Result<PreparedText, MdaError> {
        if text.contains(&0) {
            return Err(MdaError::NulInText);
        }
        let mut buf = Vec::with_capacity(text.len() + 1);
        buf.extend_from_slice(text);
        buf.push(0);
        let len = buf.len() as u64;
        if len > MAX_TEXT_SIZE {
            // Never write what `read_text` would refuse to read back.
            return Err(MdaError::TooLarge {
                len,
                max: MAX_TEXT_SIZE,
            });
        }
        let checksum = lvm_crc(&buf);
        Ok(PreparedText { buf, checksum })
    }
}

/// [`write_text`] of a text prepared once.
pub fn write_prepared(
    dev: &dyn BlockDev,
    hdr: &MdaHeader,
    text: &PreparedText,
) -> Result<RawLocn, MdaError> {
    let buf = &text.buf;
    let len = buf.len() as u64;
    let offset = next_text_offset(hdr, len)?;
    let parts = pieces(hdr.size, offset, len).ok_or(MdaError::Overlap { len })?;
    let old = hdr.slots[0];
    let old_parts = if old.is_empty() {
        None
    } else {
        pieces(hdr.size, old.offset, old.size)
    };
    let mut pos = 0usize;
    for (s, e) in parts {
        if s == e {
            continue;
        }
        // Pad to the next sector, but not past the area or into the old copy.
        let mut padded = align_up(e).unwrap_or(e).min(hdr.size);
        for &(os, oe) in old_parts.iter().flatten() {
            if os < oe && os >= e && os < padded {
                padded = os;
            }
        }
        let n = (e - s) as usize;
        let mut chunk = vec![0u8; (padded - s) as usize];
        chunk[..n].copy_from_slice(&buf[pos..pos + n]);
        dev.write_at(hdr.start + s, &chunk)?;
        pos += n;
    }
    Ok(RawLocn {
        offset,
        size: len,
        checksum: text.checksum,
        flags: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::device::{Fault, MemDev};
    use crate::metadata::label::{fixtures, read_label};
    use proptest::prelude::*;

    const MDA1: u64 = 4096;

    fn fix_crc(image: &mut [u8], start: u64) {
        let h = &mut image[start as usize..][..HDR];
        let crc = lvm_crc(&h[4..]);
        h[..4].copy_from_slice(&crc.to_le_bytes());
    }

    /// LVM2's own copies: the locations it chose on the wrapped fixture.
    fn lvm_locations() -> Vec<(u64, u64)> {
        include_str!("../../fuzz/seeds/wrapped-pv.locns")
            .lines()
            .map(|l| {
                let mut it = l.split_whitespace().map(|n| n.parse::<u64>().unwrap());
                (it.next().unwrap(), it.next().unwrap())
            })
            .collect()
    }

    #[test]
    fn real_headers_parse_and_reencode_identically() {
        for image in [
            fixtures::vg_pv(),
            fixtures::orphan_pv(),
            fixtures::wrapped_pv(),
        ] {
            let dev = MemDev::from_vec(image.clone());
            let label = read_label(&dev).unwrap().unwrap();
            assert_eq!(label.header.metadata_areas[0].offset, MDA1);
            let hdr = read_mda_header(&dev, MDA1).unwrap();
            assert_eq!(hdr.size, label.header.metadata_areas[0].size);
            assert_eq!(&encode_mda_header(&hdr)[..], &image[4096..4608]);
        }
    }

    #[test]
    fn reads_real_committed_text() {
        let dev = MemDev::from_vec(fixtures::vg_pv());
        let hdr = read_mda_header(&dev, MDA1).unwrap();
        assert_eq!(hdr.slots[1], RawLocn::default());
        let text = read_text(&dev, &hdr, 0).unwrap().unwrap();
        assert_eq!(text.len() as u64, hdr.slots[0].size - 1);
        let s = std::str::from_utf8(&text).unwrap();
        assert!(s.starts_with("rlvmfix {\n"));
        assert!(s.contains("seqno = 2\n") && s.contains("lv0 {"));
        assert!(s.ends_with("\n\n"));
        assert_eq!(read_text(&dev, &hdr, 1).unwrap(), None);
        let orphan = MemDev::from_vec(fixtures::orphan_pv());
        let hdr = read_mda_header(&orphan, MDA1).unwrap();
        assert_eq!(read_text(&orphan, &hdr, 0).unwrap(), None);
    }

    /// A label claiming a huge area and a huge committed copy (a hostile
    /// or damaged disk) is refused before anything is allocated or read.
    #[test]
    fn a_huge_claimed_text_is_refused_unread() {
        struct Huge;
        impl BlockDev for Huge {
            fn size(&self) -> std::io::Result<u64> {
                Ok(1 << 40)
            }
            fn read_at(&self, _: u64, _: &mut [u8]) -> std::io::Result<()> {
                panic!("nothing is read")
            }
            fn write_at(&self, _: u64, _: &[u8]) -> std::io::Result<()> {
                panic!("nothing is written")
            }
            fn sync(&self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut hdr = MdaHeader::new(MDA1, (1 << 40) - MDA1);
        hdr.slots[0] = RawLocn {
            offset: MDA_HEADER_SIZE,
            size: 1 << 39,
            checksum: 0,
            flags: 0,
        };
        assert!(matches!(
            read_text(&Huge, &hdr, 0),
            Err(MdaError::TextTooLarge { size, .. }) if size == 1 << 39
        ));
    }

    #[test]
    fn reads_copy_wrapped_by_lvm2() {
        let dev = MemDev::from_vec(fixtures::wrapped_pv());
        let hdr = read_mda_header(&dev, MDA1).unwrap();
        let rl = hdr.slots[0];
        assert_eq!((hdr.size, rl.offset, rl.size), (61440, 60928, 1287));
        let s = String::from_utf8(read_text(&dev, &hdr, 0).unwrap().unwrap()).unwrap();
        assert!(s.starts_with("rlvmwrap {\n"));
        assert!(s.contains("\"t39\"") && s.contains("contents = \"Text Format Volume Group\""));
    }

    #[test]
    fn placement_matches_lvm2() {
        let locns = lvm_locations();
        assert!(locns.len() > 40);
        let mut hdr = MdaHeader::new(MDA1, 61440);
        for &(offset, size) in &locns {
            assert_eq!(
                next_text_offset(&hdr, size).unwrap(),
                offset,
                "after {:?}",
                hdr.slots[0]
            );
            hdr.slots[0] = RawLocn {
                offset,
                size,
                checksum: 0,
                flags: 0,
            };
        }
    }

    /// Replays LVM2's last write: from the previous committed copy, writing
    /// the same text must give the same raw_locn and the same bytes.
    #[test]
    fn wrapped_write_is_byte_identical_to_lvm2() {
        let image = fixtures::wrapped_pv();
        let dev = MemDev::from_vec(image.clone());
        let real = read_mda_header(&dev, MDA1).unwrap();
        let text = read_text(&dev, &real, 0).unwrap().unwrap();
        let locns = lvm_locations();
        let at = locns.iter().position(|&l| l == (60928, 1287)).unwrap();
        let (offset, size) = locns[at - 1];
        let prev = &image[(MDA1 + offset) as usize..][..size as usize];
        let before = MdaHeader::new(MDA1, 61440).with_committed(RawLocn {
            offset,
            size,
            checksum: lvm_crc(prev),
            flags: 0,
        });
        let rl = write_text(&dev, &before, &text).unwrap();
        assert_eq!(rl, real.slots[0]);
        assert_eq!(dev.to_vec(), image);
        write_mda_header(&dev, &before.with_committed(rl)).unwrap();
        assert_eq!(dev.to_vec(), image);
    }

    #[test]
    fn unwrapped_write_is_byte_identical_to_lvm2() {
        let image = fixtures::vg_pv();
        let dev = MemDev::from_vec(image.clone());
        let real = read_mda_header(&dev, MDA1).unwrap();
        let text = read_text(&dev, &real, 0).unwrap().unwrap();
        // Copy 1 (vgcreate) is still at 512, ending at its NUL.
        let area = &image[(MDA1 + 512) as usize..];
        let size = area.iter().position(|&b| b == 0).unwrap() as u64 + 1;
        let first = RawLocn {
            offset: 512,
            size,
            checksum: lvm_crc(&area[..size as usize]),
            flags: 0,
        };
        let before = MdaHeader::new(MDA1, real.size).with_committed(first);
        let rl = write_text(&dev, &before, &text).unwrap();
        assert_eq!(rl, real.slots[0]);
        write_mda_header(&dev, &before.with_committed(rl)).unwrap();
        assert_eq!(dev.to_vec(), image);
    }

    #[test]
    fn header_errors_are_distinct() {
        let base = fixtures::vg_pv();
        let read = |image: Vec<u8>, at| read_mda_header(&MemDev::from_vec(image), at);
        let mut image = base.clone();
        image[4096 + 0x30] ^= 1;
        assert!(matches!(
            read(image, MDA1),
            Err(MdaError::BadChecksum { start: 4096, .. })
        ));
        let mut image = base.clone();
        image[4096 + 5] = b'X';
        fix_crc(&mut image, MDA1);
        assert!(matches!(
            read(image, MDA1),
            Err(MdaError::BadMagic { start: 4096 })
        ));
        let mut image = base.clone();
        image[4096 + 0x14] = 2;
        fix_crc(&mut image, MDA1);
        assert!(matches!(
            read(image, MDA1),
            Err(MdaError::BadVersion { version: 2, .. })
        ));
        let mut image = base.clone();
        image[4096 + 0x19] = 0x20;
        fix_crc(&mut image, MDA1);
        assert!(matches!(
            read(image, MDA1),
            Err(MdaError::BadStart {
                expected: 4096,
                found: 8192
            })
        ));
        let mut image = base.clone();
        image[4096 + 0x20..4096 + 0x28].copy_from_slice(&511u64.to_le_bytes());
        fix_crc(&mut image, MDA1);
        assert!(matches!(
            read(image, MDA1),
            Err(MdaError::BadSize { size: 511, .. })
        ));
        // A header copied elsewhere keeps its start field.
        let mut image = base.clone();
        image.copy_within(4096..4608, 8192);
        assert!(matches!(
            read(image, 8192),
            Err(MdaError::BadStart {
                expected: 8192,
                found: 4096
            })
        ));
        assert!(matches!(
            read(base[..4200].to_vec(), MDA1),
            Err(MdaError::Io(_))
        ));
    }

    #[test]
    fn text_errors() {
        let image = fixtures::vg_pv();
        let dev = MemDev::from_vec(image.clone());
        let hdr = read_mda_header(&dev, MDA1).unwrap();
        let rl = hdr.slots[0];
        let with = |rl: RawLocn| MdaHeader {
            slots: [rl, RawLocn::default()],
            ..hdr
        };
        let bad_crc = with(RawLocn {
            checksum: rl.checksum ^ 1,
            ..rl
        });
        assert!(matches!(
            read_text(&dev, &bad_crc, 0),
            Err(MdaError::BadTextChecksum { .. })
        ));
        for (offset, size) in [
            (100, 10),
            (hdr.size, 10),
            (512, hdr.size),
            (600, hdr.size - 400),
        ] {
            let r = read_text(&dev, &with(RawLocn { offset, size, ..rl }), 0);
            assert!(
                matches!(r, Err(MdaError::BadLocation { slot: 0, .. })),
                "{offset} {size}: {r:?}"
            );
        }
        assert!(matches!(
            read_text(&dev, &hdr, 2),
            Err(MdaError::BadSlot(2))
        ));
        let big = MdaHeader {
            size: 1 << 40,
            ..hdr
        };
        assert!(matches!(
            read_text(&dev, &big, 0),
            Err(MdaError::BeyondDevice { .. })
        ));
        // Without the NUL (size one less, CRC over those bytes): accepted.
        let start = (MDA1 + rl.offset) as usize;
        let no_nul = &image[start..start + rl.size as usize - 1];
        let r = RawLocn {
            size: rl.size - 1,
            checksum: lvm_crc(no_nul),
            ..rl
        };
        assert_eq!(read_text(&dev, &with(r), 0).unwrap().unwrap(), no_nul);
    }

    #[test]
    fn size_limit_and_nul() {
        let dev = MemDev::new(4096 + 1_044_480);
        let hdr = init_mda(&dev, MDA1, 1_044_480).unwrap();
        assert_eq!(next_text_offset(&hdr, 521_472).unwrap(), 512);
        let e = next_text_offset(&hdr, 521_473).unwrap_err();
        assert_eq!(
            e.to_string(),
            "metadata too large for metadata area (521473 bytes, at most 521472)"
        );
        assert!(matches!(
            write_text(&dev, &hdr, b"a\0b"),
            Err(MdaError::NulInText)
        ));
        let tiny = MdaHeader::new(0, 1024);
        assert!(matches!(
            next_text_offset(&tiny, 1),
            Err(MdaError::TooLarge { max: 0, .. })
        ));
        assert!(matches!(
            init_mda(&dev, 0, 100),
            Err(MdaError::BadSize { .. })
        ));
    }

    #[test]
    fn init_zeroes_first_text_sector() {
        let dev = MemDev::from_vec(vec![0xAA; 16384]);
        let hdr = init_mda(&dev, MDA1, 8192).unwrap();
        assert_eq!(read_mda_header(&dev, MDA1).unwrap(), hdr);
        let v = dev.to_vec();
        assert!(v[4608..5120].iter().all(|&b| b == 0));
        assert_eq!(v[5120], 0xAA);
        assert_eq!(read_text(&dev, &hdr, 0).unwrap(), None);
    }

    /// Commits texts of varying length through a small area, many times
    /// around, reading each back through the header we wrote.
    #[test]
    fn many_commits_wrap_and_read_back() {
        let dev = MemDev::new(4096 + 32768);
        let mut hdr = init_mda(&dev, MDA1, 32768).unwrap();
        let mut wrapped = 0;
        for i in 0..300u64 {
            let text = format!(
                "vg{i} {{\n{}}}\n",
                "x = 1\n".repeat((i * 37 % 900) as usize + 1)
            );
            let rl = write_text(&dev, &hdr, text.as_bytes()).unwrap();
            assert_eq!(rl.offset % 512, 0);
            wrapped += usize::from(rl.offset + rl.size > hdr.size);
            write_mda_header(&dev, &hdr.with_precommitted(rl)).unwrap();
            let pre = read_mda_header(&dev, MDA1).unwrap();
            assert_eq!(read_text(&dev, &pre, 1).unwrap().unwrap(), text.as_bytes());
            assert_eq!(pre.slots[0], hdr.slots[0]);
            hdr = pre.with_committed(rl);
            write_mda_header(&dev, &hdr).unwrap();
            let back = read_mda_header(&dev, MDA1).unwrap();
            assert_eq!(back.slots[1], RawLocn::default());
            assert_eq!(read_text(&dev, &back, 0).unwrap().unwrap(), text.as_bytes());
        }
        assert!(wrapped > 5, "only {wrapped} wrapped copies");
    }

    #[test]
    fn ignored_flag_survives_commit() {
        let h = MdaHeader::new(MDA1, 8192).with_committed(RawLocn {
            offset: 512,
            size: 3,
            checksum: 1,
            flags: RAW_LOCN_IGNORED,
        });
        let n = h.with_committed(RawLocn {
            offset: 1024,
            size: 3,
            checksum: 2,
            flags: 0,
        });
        assert_eq!(n.slots[0].flags, RAW_LOCN_IGNORED);
    }

    /// Cuts the commit short after every possible number of written bytes:
    /// the area must always read back as the old text or the new one.
    #[test]
    fn crash_at_any_byte_leaves_old_or_new() {
        let size = 8192u64;
        let old_text = b"vg0 {\nseqno = 1\n}\n".repeat(40);
        let new_text = b"vg0 {\nseqno = 2\n}\n".repeat(90);
        let base = MemDev::new((MDA1 + size) as usize);
        let hdr = init_mda(&base, MDA1, size).unwrap();
        // A fake copy ending at 5633 puts the old one at 6144, so the new
        // one starts at 7168 and wraps.
        let fake = RawLocn {
            offset: 5632,
            size: 1,
            checksum: 0,
            flags: 0,
        };
        let old = write_text(&base, &hdr.with_committed(fake), &old_text).unwrap();
        assert_eq!(old.offset, 6144);
        write_mda_header(&base, &hdr.with_committed(old)).unwrap();
        let image = base.to_vec();
        let mut budget = 0u64;
        loop {
            let dev = MemDev::from_vec(image.clone());
            dev.set_fault(Some(Fault::FailWriteAfterBytes(budget)));
            let result = (|| -> Result<(), MdaError> {
                let h = read_mda_header(&dev, MDA1)?;
                let rl = write_text(&dev, &h, &new_text)?;
                assert!(rl.offset + rl.size > size, "new copy should wrap");
                write_mda_header(&dev, &h.with_precommitted(rl))?;
                write_mda_header(&dev, &h.with_precommitted(rl).with_committed(rl))
            })();
            let after = read_mda_header(&dev, MDA1).unwrap();
            let text = read_text(&dev, &after, 0).unwrap().unwrap();
            if result.is_ok() {
                assert_eq!(text, new_text);
                break;
            }
            assert!(text == old_text || text == new_text);
            budget += 1;
        }
        assert!(budget > 2048);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let dev = MemDev::from_vec(data);
            for start in [0, 512] {
                if let Ok(h) = read_mda_header(&dev, start) {
                    let _ = read_text(&dev, &h, 0);
                    let _ = read_text(&dev, &h, 1);
                }
            }
        }

        #[test]
        fn arbitrary_valid_headers_never_panic(
            size in prop_oneof![Just(u64::MAX), 0u64..5000],
            offsets in proptest::array::uniform2(prop_oneof![Just(u64::MAX), 0u64..5000]),
            sizes in proptest::array::uniform2(prop_oneof![Just(u64::MAX), 0u64..5000]),
            len in 0u64..3000,
        ) {
            let slot = |i: usize| RawLocn { offset: offsets[i], size: sizes[i], checksum: 0, flags: 0 };
            let hdr = MdaHeader { start: 0, size, slots: [slot(0), slot(1)] };
            let dev = MemDev::new(4096);
            dev.write_at(0, &encode_mda_header(&hdr)).unwrap();
            if let Ok(h) = read_mda_header(&dev, 0) {
                prop_assert_eq!(h, hdr);
                let _ = read_text(&dev, &h, 0);
                let _ = read_text(&dev, &h, 1);
                if let Ok(off) = next_text_offset(&h, len) {
                    prop_assert!(pieces(h.size, off, len).is_some());
                }
                if h.size <= 4096 {
                    let _ = write_text(&dev, &h, &vec![b'a'; len as usize]);
                }
            }
        }
    }
}
