//! Finding copies of metadata text in a metadata area without trusting
//! its header (LVM2's `_dump_all_text` and `_dump_search` in
//! `tools/pvck.c`): every 512-byte boundary that starts with `name {`,
//! `id = ...` and `seqno = N` lines is a copy, read up to its NUL,
//! wrapping at the end of the area. Pure over bytes, and reads through
//! [`BlockDev`] for `pvck --dump metadata_search`.

use super::super::config;
use super::super::crc::lvm_crc;
use super::super::device::BlockDev;
use super::dumpio::{read_vec, LabelInfo, Log, Settings, MDA1_OFFSET, ONE_MIB};
use super::MDA_HEADER_SIZE;

/// LVM2 never writes a VG name longer than this (`NAME_LEN`).
const NAME_LEN: usize = 128;
/// A copy shorter than this is not metadata (`_copy_out_metadata`).
const MIN_COPY: u64 = 256;

/// The length of the VG name if `line` starts like a copy of metadata,
/// `name {` (`_check_vgname_start`).
pub fn vgname_start(line: &[u8]) -> Option<usize> {
    let mut chars = 0;
    let mut space = false;
    for &c in line.iter().take(NAME_LEN + 3) {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b'+' => {
                if space {
                    return None;
                }
                chars += 1;
            }
            b' ' if chars > 0 && !space => space = true,
            b'{' if chars > 0 && space => return Some(chars),
            _ => return None,
        }
    }
    None
}

/// The line at the start of `buf`, newline included, at most 127 bytes
/// (`_copy_line` into LVM2's 128-byte line buffer).
fn first_line(buf: &[u8]) -> &[u8] {
    let max = buf.len().min(127);
    let end = buf[..max]
        .iter()
        .position(|&b| b == b'\n' || b == 0)
        .map_or(max, |p| p + 1);
    &buf[..end]
}

/// The copy starting at `start` in `area` (the whole mda, header
/// included), up to its NUL, wrapping to 512 but never past `stop`
/// (`_copy_out_metadata`). `None` if no end is found or it is too short.
fn copy_out(area: &[u8], start: usize, stop: usize, log: &mut Log) -> Option<(Vec<u8>, bool)> {
    let hdr = MDA_HEADER_SIZE as usize;
    let text = match area[start..].iter().position(|&b| b == 0) {
        Some(n) => area[start..start + n].to_vec(),
        None => {
            let stop = if stop == 0 { start } else { stop }.clamp(hdr, area.len());
            let n = area[hdr..stop].iter().position(|&b| b == 0)?;
            let mut t = area[start..].to_vec();
            t.extend_from_slice(&area[hdr..hdr + n]);
            t
        }
    };
    if (text.len() as u64) < MIN_COPY {
        log.print(format!(
            "skip invalid metadata with len {} at {start}",
            text.len()
        ));
        return None;
    }
    let bad_end = !text.ends_with(b"\n\n");
    Some((text, bad_end))
}

/// Looks for copies of metadata at every 512-byte boundary of an mda
/// (`_dump_all_text`): a copy starts with `name {`, `id = "..."` and
/// `seqno = N` lines. Prints one line per copy and appends each to `file`
/// (separated by `\n--\n`). `mda_offset` is where `area` starts on disk.
pub fn search_text(
    set: &Settings,
    mda_offset: u64,
    area: &[u8],
    log: &mut Log,
    file: &mut Vec<u8>,
) {
    let hdr = MDA_HEADER_SIZE as usize;
    let chunks = area.len().saturating_sub(hdr) / 512;
    let mut count = 0usize;
    let mut first_start = 0usize;
    let mut id_first: Option<String> = None;
    let mut multiple_vgs = false;
    let mut printed = 0;
    while count < chunks {
        let off = hdr + count * 512;
        let at = mda_offset + off as u64;
        count += 1;
        if set.metadata_offset.is_some_and(|m| m != at) {
            continue;
        }
        let one = set.metadata_offset.is_some();
        let l1 = first_line(&area[off..]);
        let Some(namelen) = vgname_start(l1) else {
            if one {
                break;
            }
            continue;
        };
        let vgname = String::from_utf8_lossy(&l1[..namelen]).into_owned();
        let p = off + l1.len();
        let l2 = first_line(&area[p.min(area.len())..]);
        if !l2.starts_with(b"id = ") {
            if one {
                break;
            }
            continue;
        }
        let id =
            String::from_utf8_lossy(l2.get(6..44).unwrap_or(&l2[l2.len().min(6)..])).into_owned();
        let p = p + l2.len();
        let l3 = first_line(&area[p.min(area.len())..]);
        let seqno = l3.strip_prefix(b"seqno = ").and_then(|r| {
            let digits: Vec<u8> = r.iter().copied().take_while(u8::is_ascii_digit).collect();
            std::str::from_utf8(&digits).ok()?.parse::<u32>().ok()
        });
        let Some(seqno) = seqno else {
            if one {
                break;
            }
            continue;
        };
        if set.seqno.is_some_and(|s| s != seqno) {
            continue;
        }
        let one = one || set.seqno.is_some();
        let Some((text, bad_end)) = copy_out(area, off, first_start, log) else {
            log.warn(format!(
                "Failed to extract full metadata text at {at}, skipping."
            ));
            if one {
                break;
            }
            continue;
        };
        match &id_first {
            None => id_first = Some(id.clone()),
            Some(f) if *f != id => multiple_vgs = true,
            _ => {}
        }
        // The CRC LVM2 stores covers the NUL too.
        let mut with_nul = text.clone();
        with_nul.push(0);
        let len = with_nul.len();
        log.print(format!(
            "metadata at {at} length {len} crc {:08x} vg {vgname} seqno {seqno} id {id}",
            lvm_crc(&with_nul)
        ));
        if first_start == 0 {
            first_start = off;
        }
        let body = String::from_utf8_lossy(&text).into_owned();
        if config::parse(&body).is_err() {
            log.warn(format!("WARNING: parse error for metadata at {at}"));
        }
        if bad_end {
            log.warn(format!(
                "WARNING: unexpected terminating bytes for metadata at {at}"
            ));
        }
        if printed > 0 {
            file.extend_from_slice(b"\n--\n");
        }
        printed += 1;
        file.extend_from_slice(&text);
        // Skip the sectors this copy covers (count already moved one on).
        count += len.div_ceil(512).max(1) - 1;
        if one {
            break;
        }
    }
    if multiple_vgs {
        log.warn("WARNING: metadata from multiple VGs was found.");
    }
}

/// Where the second mda would be on a device of `dev_size` bytes if it
/// were `size` bytes: it ends at the last MiB boundary.
pub fn mda2_offset_from_size(dev_size: u64, size: u64) -> Option<u64> {
    (dev_size >= 2 * ONE_MIB).then(|| (dev_size - dev_size % ONE_MIB).saturating_sub(size))
}

/// The size of a second mda starting at `offset`, ending at the last MiB
/// boundary.
pub fn mda2_size_from_offset(dev_size: u64, offset: u64) -> Option<u64> {
    (dev_size >= 2 * ONE_MIB).then(|| (dev_size - dev_size % ONE_MIB).saturating_sub(offset))
}

/// `pvck --dump metadata_search`: picks the area to search from the
/// settings, the headers or LVM2's defaults, then searches it. Returns
/// whether the search ran, and the saved copies.
pub fn dump_search(
    dev: &dyn BlockDev,
    set: &Settings,
    info: &LabelInfo,
    pvmetadatacopies: Option<u32>,
    log: &mut Log,
) -> (bool, Vec<u8>) {
    let mut file = Vec::new();
    let dev_size = dev.size().unwrap_or(0);
    let (m1o, m1s) = info.mda1.unwrap_or((0, 0));
    let (m2o, m2s) = info.mda2.unwrap_or((0, 0));
    let mut mda_num = set.mda_num;
    let (mda_offset, mda_size);
    if set.mda_offset.is_some() || set.mda_size.is_some() {
        let given = usize::from(set.mda_offset.is_some())
            + usize::from(set.mda_size.is_some())
            + usize::from(mda_num != 0);
        let (mut o, mut s) = (set.mda_offset.unwrap_or(0), set.mda_size.unwrap_or(0));
        if o == 0 || s == 0 {
            if given < 2 {
                log.error("Specify at least two values from: mda_num, mda_offset, mda_size.");
                return (false, file);
            }
            if s == 0 {
                s = match mda_num {
                    1 if m1s != 0 => m1s,
                    2 if m2s != 0 => m2s,
                    1 => ONE_MIB - MDA1_OFFSET,
                    _ => mda2_size_from_offset(dev_size, o).unwrap_or(0),
                };
            }
            if o == 0 {
                o = match mda_num {
                    1 => MDA1_OFFSET,
                    _ => mda2_offset_from_size(dev_size, s).unwrap_or(0),
                };
            }
            if set.mda2_offset.is_some() || set.mda2_size.is_some() {
                log.print("Ignoring mda2 values from settings.");
            }
        }
        (mda_offset, mda_size) = (o, s);
    } else if set.mda2_offset.is_some() || set.mda2_size.is_some() {
        let given = usize::from(set.mda2_offset.is_some())
            + usize::from(set.mda2_size.is_some())
            + usize::from(mda_num != 0);
        let (mut o, mut s) = (set.mda2_offset.unwrap_or(0), set.mda2_size.unwrap_or(0));
        if o == 0 || s == 0 {
            if given < 2 {
                log.error("Specify at least two values from: mda_num, mda2_offset, mda2_size.");
                return (false, file);
            }
            if mda_num == 1 {
                log.error("Invalid mda_num=1 and mda2 settings.");
                return (false, file);
            }
            if s == 0 {
                s = if m2s != 0 {
                    m2s
                } else {
                    mda2_size_from_offset(dev_size, o).unwrap_or(0)
                };
            }
            if o == 0 {
                o = if m2o != 0 {
                    m2o
                } else {
                    mda2_offset_from_size(dev_size, s).unwrap_or(0)
                };
            }
        }
        mda_num = 2;
        (mda_offset, mda_size) = (o, s);
    } else {
        if mda_num == 0 {
            mda_num = pvmetadatacopies.unwrap_or(1);
        }
        match mda_num {
            1 if info.found_label && m1o != 0 && m1s != 0 => (mda_offset, mda_size) = (m1o, m1s),
            1 => {
                (mda_offset, mda_size) = (MDA1_OFFSET, ONE_MIB - MDA1_OFFSET);
                log.print(format!(
                    "Using common defaults for first mda: offset {mda_offset} size {mda_size}."
                ));
                log.print(
                    "Override defaults with --settings \"mda_offset=<bytes> mda_size=<bytes>\"",
                );
            }
            2 if info.found_label && m2o != 0 && m2s != 0 => (mda_offset, mda_size) = (m2o, m2s),
            2 => {
                if dev_size < 2 * ONE_MIB {
                    log.error(format!(
                        "Device is too small ({dev_size} bytes) for a second mda."
                    ));
                    return (false, file);
                }
                mda_offset = dev_size - dev_size % ONE_MIB - ONE_MIB;
                mda_size = dev_size - mda_offset;
                log.print(format!(
                    "Using defaults for second mda: offset {mda_offset} size {mda_size}."
                ));
                log.print(
                    "Override defaults with --settings \"mda_offset=<bytes> mda_size=<bytes>\"",
                );
            }
            _ => {
                log.error("No mda location.");
                return (false, file);
            }
        }
    }
    if mda_num == 1 && ((m1o != 0 && m1o != mda_offset) || (m1s != 0 && m1s != mda_size)) {
        log.print(format!(
            "Ignoring mda1_offset {m1o} mda1_size {m1s} from pv_header."
        ));
    }
    if mda_num == 2 && ((m2o != 0 && m2o != mda_offset) || (m2s != 0 && m2s != mda_size)) {
        log.print(format!(
            "Ignoring mda2_offset {m2o} mda2_size {m2s} from pv_header."
        ));
    }
    log.print(format!(
        "Searching for metadata at offset {mda_offset} size {mda_size}"
    ));
    match read_vec(dev, mda_offset, mda_size) {
        Ok(area) if area.len() > MDA_HEADER_SIZE as usize => {
            search_text(set, mda_offset, &area, log, &mut file);
            (true, file)
        }
        _ => {
            log.print(format!(
                "CHECK: failed to read metadata area at offset {mda_offset} size {mda_size}"
            ));
            (false, file)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vgname_start_rules() {
        assert_eq!(vgname_start(b"vg0 {\n"), Some(3));
        assert_eq!(vgname_start(b"a.b-c_d+e {"), Some(9));
        assert_eq!(vgname_start(b" vg {"), None);
        assert_eq!(vgname_start(b"vg  {"), None);
        assert_eq!(vgname_start(b"vg x {"), None);
        assert_eq!(vgname_start(b"vg\0"), None);
    }
}
