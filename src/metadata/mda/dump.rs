//! `pvck`'s view of a PV's on-disk structures (LVM2's `tools/pvck.c`): the
//! label and pv_header, the mda headers, the committed text and every copy
//! of text left in a metadata area, field by field, with a `CHECK:` line
//! for each value LVM2 would not accept. Reads disk through [`BlockDev`]
//! (a device or an image file), never writes; what it says is returned as
//! [`Msg`]s for the command to print, and what it extracts as bytes for
//! the command to save.
//!
//! Every value comes from untrusted bytes: lists that do not end inside
//! the label sector, locations past the device, sizes larger than the
//! area are reported, never trusted.

use std::io;

use super::super::config::{self, Item, Value};
use super::super::crc::lvm_crc;
use super::super::device::BlockDev;
use super::super::id::{Id, ID_LEN};
use super::super::label::{LABEL_ID, LABEL_SIZE, LVM2_LABEL_TYPE};
use super::dumpio::{read_vec, u32_at, u64_at};
pub use super::dumpio::{LabelInfo, Log, Msg, Settings, SettingsError, MDA1_OFFSET, ONE_MIB};
use super::{FMTT_MAGIC, FMTT_VERSION, MDA_HEADER_SIZE, RAW_LOCN_IGNORED};

/// Printable characters as they are, others as `?` (`_chars_to_str`).
fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// Each byte in hex without padding, as LVM2 prints the mda magic.
fn hexstr(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:x}")).collect()
}

/// Reads the label at `labelsector` and the pv_header after it, printing
/// every field when `print_fields` (`_dump_label_and_pv_header`), and a
/// `CHECK:` line for each bad one in any case.
pub fn dump_label(
    dev: &dyn BlockDev,
    labelsector: u64,
    print_fields: bool,
    log: &mut Log,
) -> LabelInfo {
    let mut info = LabelInfo::default();
    let lh_offset = labelsector.saturating_mul(LABEL_SIZE);
    let mut buf = [0u8; LABEL_SIZE as usize];
    if dev.read_at(lh_offset, &mut buf).is_err() {
        log.print(format!("CHECK: failed to read label_header at {lh_offset}"));
        return info;
    }
    let mut bad = false;
    if print_fields {
        log.print(format!("label_header at {lh_offset}"));
        log.print(format!("label_header.id {}", printable(&buf[..8])));
        log.print(format!("label_header.sector {}", u64_at(&buf, 8)));
        log.print(format!("label_header.crc 0x{:x}", u32_at(&buf, 16)));
        log.print(format!("label_header.offset {}", u32_at(&buf, 20)));
        log.print(format!("label_header.type {}", printable(&buf[24..32])));
    }
    let good_id = &buf[..8] == LABEL_ID;
    if !good_id {
        log.print("CHECK: label_header.id expected LABELONE");
        bad = true;
    }
    if u64_at(&buf, 8) != labelsector {
        log.print(format!("CHECK: label_header.sector expected {labelsector}"));
        bad = true;
    }
    let crc = lvm_crc(&buf[20..]);
    if crc != u32_at(&buf, 16) {
        log.print(format!("CHECK: label_header.crc expected 0x{crc:x}"));
        bad = true;
    }
    if u32_at(&buf, 20) != 32 {
        log.print("CHECK: label_header.offset expected 32");
        bad = true;
    }
    let good_type = &buf[24..32] == LVM2_LABEL_TYPE;
    if !good_type {
        log.print("CHECK: label_header.type expected LVM2 001");
        bad = true;
    }
    info.found_label = good_id && good_type;

    // The pv_header always follows the 32-byte label_header, whatever
    // label_header.offset claims.
    let pvh = 32usize;
    let pvh_offset = lh_offset + pvh as u64;
    let uuid = &buf[pvh..pvh + ID_LEN];
    info.device_size = u64_at(&buf, pvh + ID_LEN);
    if print_fields {
        log.print(format!("pv_header at {pvh_offset}"));
        log.print(format!("pv_header.pv_uuid {}", printable(uuid)));
        log.print(format!("pv_header.device_size {}", info.device_size));
    }
    info.pv_id = Id::from_raw(uuid).ok();
    if info.pv_id.is_none() {
        log.print("CHECK: pv_header.pv_uuid invalid format");
        bad = true;
    }

    // Two disk_locn lists (data areas, metadata areas), each ended by an
    // all-zero entry; then the extension and its bootloader-area list.
    let mut pos = pvh + ID_LEN + 8;
    let mut di = 0usize;
    let locn_line = |log: &mut Log, prefix: &str, di: usize, pos: usize, what: &str| {
        log.print(format!(
            "{prefix}.disk_locn[{di}] at {} # {what}",
            lh_offset + pos as u64
        ));
        log.print(format!(
            "{prefix}.disk_locn[{di}].offset {}",
            u64_at(&buf, pos)
        ));
        log.print(format!(
            "{prefix}.disk_locn[{di}].size {}",
            u64_at(&buf, pos + 8)
        ));
    };
    for list in 0..3 {
        let (prefix, what) = match list {
            0 => ("pv_header", "location of data area"),
            1 => ("pv_header", "location of metadata area"),
            _ => ("pv_header_extension", "bootloader area"),
        };
        if list == 2 {
            if pos + 8 > buf.len() {
                log.print("CHECK: pv_header_extension lies past the label sector");
                bad = true;
                break;
            }
            if print_fields {
                log.print(format!("pv_header_extension at {}", lh_offset + pos as u64));
                log.print(format!("pv_header_extension.version {}", u32_at(&buf, pos)));
                log.print(format!(
                    "pv_header_extension.flags {}",
                    u32_at(&buf, pos + 4)
                ));
            }
            pos += 8;
            di = 0;
        }
        loop {
            if pos + 16 > buf.len() {
                log.print(format!(
                    "CHECK: {prefix}.disk_locn list runs past the label sector"
                ));
                bad = true;
                break;
            }
            let (offset, size) = (u64_at(&buf, pos), u64_at(&buf, pos + 8));
            if offset == 0 {
                if print_fields {
                    locn_line(log, prefix, di, pos, "location list end");
                }
                pos += 16;
                di += 1;
                break;
            }
            if print_fields {
                locn_line(log, prefix, di, pos, what);
            }
            match list {
                0 if info.data_offset.is_none() => info.data_offset = Some(offset),
                1 => {
                    if info.mda_count == 0 {
                        info.mda1 = Some((offset, size));
                        if ![4096, 8192, 65536].contains(&offset) {
                            log.print(format!(
                                "WARNING: pv_header.disk_locn[{di}].offset {offset} is unexpected # for first mda"
                            ));
                        }
                    } else {
                        info.mda2 = Some((offset, size));
                    }
                    info.mda_count += 1;
                }
                _ => {}
            }
            pos += 16;
            di += 1;
        }
        if pos > buf.len() {
            break;
        }
    }
    info.ok = !bad;
    info
}

/// Where `-f` output goes: `wanted` when a file was named, `bytes` once
/// the dump produced what LVM2 would create the file with (a dump that
/// finds nothing to save creates no file).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SaveTo {
    pub wanted: bool,
    pub bytes: Option<Vec<u8>>,
}

impl SaveTo {
    pub fn file() -> SaveTo {
        SaveTo {
            wanted: true,
            bytes: None,
        }
    }
}

/// What to do with the text an mda points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintMeta {
    /// Check it only.
    Check,
    /// Print (or save) the committed copy.
    Current,
    /// List (and save) every copy found in the area.
    All,
}

/// One mda's dump: whether it checked out, the committed checksum, and
/// whether the header at least had the right magic.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MdaDump {
    pub ok: bool,
    pub checksum0: u32,
    pub found_header: bool,
}

/// The mda number LVM2 prints: 1 for the one at 4096, else 2.
fn mda_num_of(offset: u64) -> u32 {
    if offset == MDA1_OFFSET {
        1
    } else {
        2
    }
}

/// Dumps the mda header at `mda_offset` (`_dump_mda_header`), then, per
/// `print`, checks, prints or saves its text; with `area`, saves the area
/// itself instead. Saved bytes go to `save`.
#[allow(clippy::too_many_arguments)]
pub fn dump_mda(
    dev: &dyn BlockDev,
    set: &Settings,
    print_fields: bool,
    print: PrintMeta,
    area: bool,
    mda_offset: u64,
    mda_size: u64,
    log: &mut Log,
    save: &mut SaveTo,
) -> MdaDump {
    let mut out = MdaDump::default();
    let mn = mda_num_of(mda_offset);
    let mut buf = [0u8; MDA_HEADER_SIZE as usize];
    if dev.read_at(mda_offset, &mut buf).is_err() {
        log.print(format!("CHECK: failed to read mda_header at {mda_offset}"));
        return out;
    }
    let mut bad = false;
    if print_fields {
        log.print(format!("mda_header_{mn} at {mda_offset} # metadata area"));
        log.print(format!("mda_header_{mn}.checksum 0x{:x}", u32_at(&buf, 0)));
        log.print(format!("mda_header_{mn}.magic 0x{}", hexstr(&buf[4..20])));
        log.print(format!("mda_header_{mn}.version {}", u32_at(&buf, 20)));
        log.print(format!("mda_header_{mn}.start {}", u64_at(&buf, 24)));
        log.print(format!("mda_header_{mn}.size {}", u64_at(&buf, 32)));
    }
    let crc = lvm_crc(&buf[4..]);
    if crc != u32_at(&buf, 0) {
        log.print(format!(
            "CHECK: mda_header_{mn}.checksum expected 0x{crc:x}"
        ));
        bad = true;
    }
    out.found_header = &buf[4..20] == FMTT_MAGIC;
    if !out.found_header {
        log.print(format!(
            "CHECK: mda_header_{mn}.magic expected 0x{}",
            hexstr(FMTT_MAGIC)
        ));
        bad = true;
    }
    if u32_at(&buf, 20) != FMTT_VERSION {
        log.print(format!(
            "CHECK: mda_header_{mn}.version expected {FMTT_VERSION}"
        ));
        bad = true;
    }
    if u64_at(&buf, 24) != mda_offset {
        log.print(format!(
            "CHECK: mda_header_{mn}.start does not match pv_header.disk_locn.offset {mda_offset}"
        ));
        bad = true;
    }
    if u64_at(&buf, 32) != mda_size {
        log.print(format!(
            "CHECK: mda_header_{mn}.size does not match pv_header.disk_locn.size {mda_size}"
        ));
        bad = true;
    }
    if area {
        // LVM2 saves the area from its header on, less one sector.
        match read_vec(dev, mda_offset, mda_size) {
            Ok(v) => save.bytes = Some(v[..v.len().saturating_sub(512)].to_vec()),
            Err(_) => {
                log.print(format!(
                    "CHECK: failed to read metadata area at offset {mda_offset} size {mda_size}"
                ));
                bad = true;
            }
        }
        out.ok = !bad;
        return out;
    }
    let mut committed = None;
    for ri in 0..2 {
        let at = 40 + 24 * ri;
        let (offset, size) = (u64_at(&buf, at), u64_at(&buf, at + 8));
        let (checksum, flags) = (u32_at(&buf, at + 16), u32_at(&buf, at + 20));
        if print_fields {
            let wrapped = offset.saturating_add(size) > mda_size;
            log.print(format!(
                "mda_header_{mn}.raw_locn[{ri}] at {} # {}{}",
                mda_offset + at as u64,
                if ri == 0 { "commit" } else { "precommit" },
                if wrapped { " wrapped" } else { "" }
            ));
            log.print(format!("mda_header_{mn}.raw_locn[{ri}].offset {offset}"));
            log.print(format!("mda_header_{mn}.raw_locn[{ri}].size {size}"));
            log.print(format!(
                "mda_header_{mn}.raw_locn[{ri}].checksum 0x{checksum:x}"
            ));
            let ignored = if flags & RAW_LOCN_IGNORED != 0 {
                " # RAW_LOCN_IGNORED"
            } else {
                ""
            };
            log.print(format!(
                "mda_header_{mn}.raw_locn[{ri}].flags 0x{flags:x}{ignored}"
            ));
        }
        if ri == 1 && offset != 0 {
            log.print(format!(
                "CHECK: mda_header_{mn}.raw_locn[{ri}] for precommit not empty"
            ));
        }
        if ri == 1 || flags & RAW_LOCN_IGNORED != 0 {
            continue;
        }
        let mut size = size;
        let text_area = mda_size.saturating_sub(MDA_HEADER_SIZE);
        if size > text_area {
            log.print(format!(
                "CHECK: mda_header_{mn}.raw_locn[{ri}].size larger than metadata area size"
            ));
            size = text_area;
        }
        out.checksum0 = checksum;
        if offset != 0 {
            committed = Some((offset, size, checksum));
        }
    }
    if let Some((offset, size, checksum)) = committed {
        match print {
            PrintMeta::Check | PrintMeta::Current => {
                let show = print == PrintMeta::Current;
                if !dump_current_text(
                    dev,
                    print_fields,
                    show,
                    mn,
                    (mda_offset, mda_size),
                    (offset, size, checksum),
                    log,
                    save,
                ) {
                    bad = true;
                }
            }
            PrintMeta::All => match read_vec(dev, mda_offset, mda_size) {
                Ok(area) => {
                    let mut file = Vec::new();
                    super::search::search_text(set, mda_offset, &area, log, &mut file);
                    if save.wanted {
                        save.bytes = Some(file);
                    }
                }
                Err(_) => {
                    log.print(format!(
                        "CHECK: failed to read metadata area at offset {mda_offset} size {mda_size}"
                    ));
                    bad = true;
                }
            },
        }
    }
    out.ok = !bad;
    out
}

/// The VG name and seqno of a text copy, if it parses as config text.
fn name_and_seqno(text: &str) -> Option<(String, u32)> {
    let root = config::parse(text).ok()?;
    let (name, item) = root.items.first()?;
    let seqno = match item {
        Item::Section(s) => match s.find("seqno") {
            Some(Item::Value(Value::Int(n))) => u32::try_from(*n).unwrap_or(0),
            _ => 0,
        },
        Item::Value(_) => 0,
    };
    Some((name.to_string(), seqno))
}

/// The text up to its first NUL.
fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// Reads the committed copy (`_dump_current_text`): checks its CRC and
/// syntax, prints its location, and with `show` prints or saves it.
#[allow(clippy::too_many_arguments)]
fn dump_current_text(
    dev: &dyn BlockDev,
    print_fields: bool,
    show: bool,
    mn: u32,
    (mda_offset, mda_size): (u64, u64),
    (offset, size, checksum): (u64, u64, u32),
    log: &mut Log,
    save: &mut SaveTo,
) -> bool {
    let mut bad = false;
    let at = mda_offset.saturating_add(offset);
    let read = || -> io::Result<Vec<u8>> {
        if offset < MDA_HEADER_SIZE || offset >= mda_size {
            return Err(io::Error::other("offset outside the area"));
        }
        if offset + size > mda_size {
            let wrap = offset + size - mda_size;
            let mut a = read_vec(dev, at, size - wrap)?;
            a.extend(read_vec(dev, mda_offset + MDA_HEADER_SIZE, wrap)?);
            Ok(a)
        } else {
            read_vec(dev, at, size)
        }
    };
    let Ok(text) = read() else {
        log.print(format!(
            "CHECK: failed to read metadata text at mda_header_{mn}.raw_locn[0].offset {offset} size {size}"
        ));
        return false;
    };
    let crc = lvm_crc(&text);
    if crc != checksum {
        log.print(format!(
            "CHECK: metadata text at {at} crc does not match mda_header_{mn}.raw_locn[0].checksum"
        ));
        bad = true;
    }
    let body = String::from_utf8_lossy(until_nul(&text)).into_owned();
    let named = name_and_seqno(&body);
    if named.is_none() {
        log.print(format!(
            "CHECK: failed to parse metadata text at {at} size {size}"
        ));
        bad = true;
    }
    if print_fields || show {
        let (name, seqno) = named.unwrap_or_else(|| ("?".into(), 0));
        log.print(format!(
            "metadata text at {at} crc 0x{crc:x} # vgname {name} seqno {seqno}"
        ));
    }
    if show {
        if save.wanted {
            save.bytes = Some(body.into_bytes());
        } else {
            log.print("---");
            log.text(body);
            log.print("---");
        }
    }
    !bad
}

/// `pvck --dump headers`: every field of the label, the pv_header and
/// each mda header, and where the committed text is.
pub fn dump_headers(dev: &dyn BlockDev, set: &Settings, labelsector: u64, log: &mut Log) -> bool {
    let info = dump_label(dev, labelsector, true, log);
    let Some((m1o, m1s)) = info.mda1 else {
        log.print("zero metadata copies");
        return true;
    };
    let mut ok = info.ok;
    let mut none = SaveTo::default();
    let d1 = dump_mda(
        dev,
        set,
        true,
        PrintMeta::Check,
        false,
        m1o,
        m1s,
        log,
        &mut none,
    );
    ok &= d1.ok;
    if let Some((m2o, m2s)) = info.mda2 {
        let d2 = dump_mda(
            dev,
            set,
            true,
            PrintMeta::Check,
            false,
            m2o,
            m2s,
            log,
            &mut none,
        );
        ok &= d2.ok;
        if d1.checksum0 != 0 && d2.checksum0 != 0 && d1.checksum0 != d2.checksum0 {
            log.print("CHECK: mdas have different raw_locn[0].checksum values");
        }
    }
    if !ok {
        log.error("Found bad header or metadata values.");
    }
    ok
}

/// `pvck --dump metadata|metadata_all|metadata_area`: the text (or area)
/// of mda 1, or 2 with `mda_num=2`/`--pvmetadatacopies 2`. `save` is set
/// when `-f` was given and receives what goes to the file.
#[allow(clippy::too_many_arguments)]
pub fn dump_metadata(
    dev: &dyn BlockDev,
    set: &Settings,
    labelsector: u64,
    pvmetadatacopies: Option<u32>,
    print: PrintMeta,
    area: bool,
    log: &mut Log,
    save: &mut SaveTo,
) -> bool {
    let mda_num = match set.mda_num {
        0 => pvmetadatacopies.unwrap_or(1),
        n => n,
    };
    let info = dump_label(dev, labelsector, false, log);
    let mut ok = info.ok;
    let Some(mda1) = info.mda1 else {
        log.print("zero metadata copies");
        return true;
    };
    let target = match mda_num {
        1 => Some(mda1),
        2 => {
            if info.mda2.is_none() {
                log.print("CHECK: second mda not found");
                ok = false;
            }
            info.mda2
        }
        _ => None,
    };
    if let Some((o, s)) = target {
        ok &= dump_mda(dev, set, false, print, area, o, s, log, save).ok;
    }
    if !ok {
        log.error("Found bad header or metadata values.");
    }
    ok
}

/// Plain `pvck PV` (`_dump_found`): checks label, headers and committed
/// text, and says what it found.
pub fn check_pv(dev: &dyn BlockDev, name: &str, labelsector: u64, log: &mut Log) -> bool {
    let set = Settings::default();
    let info = dump_label(dev, labelsector, false, log);
    let mut ok = info.ok;
    let mut found = [false; 2];
    let mut none = SaveTo::default();
    if info.found_label {
        for (i, m) in [info.mda1, info.mda2].into_iter().enumerate() {
            if let Some((o, s)) = m {
                let d = dump_mda(
                    dev,
                    &set,
                    false,
                    PrintMeta::Check,
                    false,
                    o,
                    s,
                    log,
                    &mut none,
                );
                ok &= d.ok;
                found[i] = d.found_header;
            }
        }
    }
    if !info.found_label {
        log.error(format!("Could not find LVM label on {name}"));
        return false;
    }
    log.print(format!(
        "Found label on {name}, sector {labelsector}, type=LVM2 001"
    ));
    for (i, m) in [info.mda1, info.mda2].into_iter().enumerate() {
        if let (true, Some((o, s))) = (found[i], m) {
            log.print(format!("Found text metadata area: offset={o}, size={s}"));
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::device::MemDev;
    use crate::metadata::label::fixtures;
    use crate::metadata::mda::search::dump_search;

    #[test]
    fn settings_parse_like_lvm2() {
        let s =
            Settings::parse(&["mda_num=2  seqno=3".into(), " mda_size=1048576".into()]).unwrap();
        assert_eq!(
            (s.mda_num, s.seqno, s.mda_size),
            (2, Some(3), Some(1 << 20))
        );
        assert_eq!(
            Settings::parse(&["bogus=1".into()])
                .unwrap_err()
                .to_string(),
            "Invalid setting: bogus"
        );
        assert!(Settings::parse(&["seqno".into()]).is_err());
        assert!(Settings::parse(&["pv_uuid=xyz".into()]).is_err());
    }

    #[test]
    fn headers_of_real_lvm2_pv() {
        let dev = MemDev::from_vec(fixtures::vg_pv());
        let mut log = Log::default();
        assert!(dump_headers(&dev, &Settings::default(), 1, &mut log));
        let out = log.printed().join("\n");
        for want in [
            "label_header at 512",
            "pv_header at 544",
            "pv_header.disk_locn[0].offset 1048576",
            "pv_header.disk_locn[2].offset 4096",
            "mda_header_1 at 4096 # metadata area",
            "mda_header_1.start 4096",
            "mda_header_1.magic 0x204c564d3220785b35412572304e2a3e",
            "metadata text at ",
        ] {
            assert!(out.contains(want), "{want} missing in\n{out}");
        }
        assert!(!out.contains("CHECK"), "{out}");
    }

    #[test]
    fn zeroed_label_is_reported_not_trusted() {
        let mut image = fixtures::vg_pv();
        image[512..1024].fill(0);
        let dev = MemDev::from_vec(image);
        let mut log = Log::default();
        assert!(!check_pv(&dev, "/dev/x", 1, &mut log));
        assert!(log
            .msgs
            .contains(&Msg::Error("Could not find LVM label on /dev/x".into())));
        let mut log = Log::default();
        // No metadata area is known: LVM2 says so and succeeds.
        assert!(dump_headers(&dev, &Settings::default(), 1, &mut log));
        assert!(log.printed().contains(&"zero metadata copies"));
        assert!(log
            .printed()
            .contains(&"CHECK: label_header.id expected LABELONE"));
    }

    #[test]
    fn search_finds_every_copy_and_the_current_one() {
        let dev = MemDev::from_vec(fixtures::wrapped_pv());
        let mut log = Log::default();
        let info = dump_label(&dev, 1, false, &mut log);
        let (ok, file) = dump_search(&dev, &Settings::default(), &info, None, &mut log);
        assert!(ok);
        let found: Vec<&str> = log
            .printed()
            .into_iter()
            .filter(|l| l.starts_with("metadata at "))
            .collect();
        assert!(found.len() > 1, "{log:?}");
        let mut save = SaveTo::file();
        let mut log2 = Log::default();
        assert!(dump_metadata(
            &dev,
            &Settings::default(),
            1,
            None,
            PrintMeta::Current,
            false,
            &mut log2,
            &mut save
        ));
        let current = save.bytes.unwrap();
        assert!(!current.is_empty());
        // The committed copy is among those the search found.
        let text = String::from_utf8_lossy(&file);
        assert!(text.contains(std::str::from_utf8(&current[..200]).unwrap()));
    }

    #[test]
    fn garbage_never_panics() {
        for seed in 0..200u64 {
            let mut image = fixtures::vg_pv();
            let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            for _ in 0..64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let pos = (x as usize) % 8192;
                image[pos] = (x >> 32) as u8;
            }
            let dev = MemDev::from_vec(image);
            let set = Settings::default();
            let mut log = Log::default();
            let _ = dump_headers(&dev, &set, 1, &mut log);
            let info = dump_label(&dev, 1, false, &mut log);
            let _ = super::super::search::dump_search(&dev, &set, &info, None, &mut log);
            let mut save = SaveTo::file();
            let _ = dump_metadata(
                &dev,
                &set,
                1,
                None,
                PrintMeta::All,
                false,
                &mut log,
                &mut save,
            );
            let _ = check_pv(&dev, "d", 1, &mut log);
        }
    }
}
