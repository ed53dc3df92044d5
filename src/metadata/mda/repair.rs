//! `pvck --repair`: rebuilds a PV's label, pv_header, mda headers and
//! committed metadata from a copy of the VG's metadata (LVM2's
//! `_repair_pv_header` + `_repair_metadata` in `tools/pvck.c`). Planning
//! only reads the device; [`apply`] writes it, crash-safe: the text first,
//! then each mda header pointing at it, then the label pointing at the
//! mdas, each step synced, so a crash leaves the PV as damaged as before
//! or repaired, never pointing at something unwritten.

use std::io;

use super::super::config::{self, Item, Value};
use super::super::crc::lvm_crc;
use super::super::device::BlockDev;
use super::super::id::Id;
use super::super::label::{
    self, DiskLocn, Label, LabelError, PvHeader, LABEL_ID, LABEL_SIZE, LVM2_LABEL_TYPE,
    PV_EXT_USED, PV_HEADER_EXTENSION_VSN,
};
use super::dump::{dump_label, Log, Settings, MDA1_OFFSET, ONE_MIB};
use super::search::vgname_start;
use super::{
    read_mda_header, write_mda_header, write_text, MdaError, MdaHeader, RawLocn, FMTT_MAGIC,
    FMTT_VERSION, MDA_HEADER_SIZE,
};

#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    /// LVM2's own refusal, already worded (one or more lines).
    #[error("{0}")]
    Refused(String),
    #[error("Failed to read device: {0}")]
    Io(#[from] io::Error),
    #[error("Failed to write new mda: {0}")]
    Mda(#[from] MdaError),
    #[error("Failed to write new header: {0}")]
    Label(#[from] LabelError),
}

fn refused<T>(msg: impl Into<String>) -> Result<T, RepairError> {
    Err(RepairError::Refused(msg.into()))
}

/// A metadata file given with `-f`, as raw on-disk text (a backup file is
/// converted), NUL included as LVM2 counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataFile {
    pub text: Vec<u8>,
    pub crc: u32,
    /// The VG UUID in its dashed form, from the `id = "..."` line.
    pub vgid: String,
    /// The text does not start with a VG name: ask before writing it.
    pub suspicious: bool,
}

/// Reads a `-f` file for repair (`_read_metadata_file`): a `vgcfgbackup`
/// file is turned into raw text first; pvck's stdout and a raw copy
/// without VG UUID are refused.
pub fn read_metadata_file(bytes: &[u8], log: &mut Log) -> Result<MetadataFile, RepairError> {
    if bytes.is_empty() {
        return refused("Empty file.");
    }
    let mut text = if bytes.starts_with(b"# Generated") {
        backup_to_raw(bytes)
    } else {
        bytes.to_vec()
    };
    text.push(0);
    if text.len() < 129 {
        return refused("Invalid raw text metadata in file.  File size is too small.");
    }
    if text[0].is_ascii_whitespace()
        && text[1].is_ascii_whitespace()
        && text.windows(3).any(|w| w == b"---")
    {
        return refused(
            "Invalid raw text metadata in file.\n  (pvck stdout is not valid input, see pvck -f.)",
        );
    }
    if !text.ends_with(b"\n\n\0") {
        log.warn("WARNING: unexpected final bytes of raw metadata, expected \\n\\n\\0.");
    }
    let (vgid, suspicious) = if vgname_start(&text).is_some() {
        let Some(p) = text.windows(5).position(|w| w == b"id = ") else {
            return refused("Invalid raw text metadata in file.  (No VG UUID found.)");
        };
        let id = text.get(p + 6..p + 44).unwrap_or_default();
        (String::from_utf8_lossy(id).into_owned(), false)
    } else {
        log.warn("WARNING: file data does not begin with a VG name and may be invalid.");
        (String::new(), true)
    };
    let crc = lvm_crc(&text);
    Ok(MetadataFile {
        text,
        crc,
        vgid,
        suspicious,
    })
}

/// A `vgcfgbackup` file as on-disk text (`_backup_file_to_raw_metadata`):
/// the VG section first, its lines without leading tabs or trailing
/// comments, then the file's header lines as they are.
pub fn backup_to_raw(file: &[u8]) -> Vec<u8> {
    let mut lines = file.split_inclusive(|&b| b == b'\n');
    let mut pre = 0usize;
    let mut out = Vec::with_capacity(file.len());
    for line in lines.by_ref() {
        if vgname_start(line).is_some() {
            out.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                out.push(b'\n');
            }
            break;
        }
        pre += line.len();
    }
    if out.is_empty() {
        // No VG section: nothing to move; the checks refuse it later.
        return file.to_vec();
    }
    for line in lines {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        if body.first() == Some(&0) {
            break;
        }
        let body = {
            let start = body.iter().position(|&b| b != b'\t').unwrap_or(body.len());
            &body[start..]
        };
        // A tab with a comment after it ends the value.
        let end = body
            .iter()
            .enumerate()
            .find(|&(i, &b)| b == b'\t' && body[i..].contains(&b'#'))
            .map_or(body.len(), |(i, _)| i);
        out.extend_from_slice(&body[..end]);
        out.push(b'\n');
    }
    out.extend_from_slice(&file[..pre]);
    out
}

/// What a PV entry of the metadata says about the PV.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PvEntry {
    id: Id,
    device: Option<String>,
    dev_size: Option<u64>,
    pe_start: u64,
}

fn pv_entries(text: &[u8]) -> Option<Vec<PvEntry>> {
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    let root = config::parse(std::str::from_utf8(&text[..end]).ok()?).ok()?;
    let vg = root.items.iter().find_map(|(_, i)| match i {
        Item::Section(s) => Some(s),
        Item::Value(_) => None,
    })?;
    let pvs = vg.get_section("physical_volumes")?;
    let mut out = Vec::new();
    for (_, item) in &pvs.items {
        let Item::Section(pv) = item else { continue };
        let int = |k: &str| match pv.find(k) {
            Some(Item::Value(Value::Int(n))) => u64::try_from(*n).ok(),
            _ => None,
        };
        out.push(PvEntry {
            id: pv.get_str("id")?.parse().ok()?,
            device: pv.get_str("device").map(str::to_string),
            dev_size: int("dev_size"),
            pe_start: int("pe_start")?,
        });
    }
    Some(out)
}

/// One metadata area repair writes: its number (1 or 2, as LVM2 says),
/// offset and size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MdaTarget {
    pub num: u32,
    pub offset: u64,
    pub size: u64,
}

/// The areas to write; `None` when the PV rightly has none.
pub type MdaTargets = Option<Vec<MdaTarget>>;

/// Whether an mda header that LVM2 would trust to exist (magic, version,
/// start) is at `offset`.
fn has_mda_header(dev: &dyn BlockDev, offset: u64, full: bool) -> bool {
    let mut buf = [0u8; MDA_HEADER_SIZE as usize];
    if dev.read_at(offset, &mut buf).is_err() || &buf[4..20] != FMTT_MAGIC {
        return false;
    }
    !full
        || (u32::from_le_bytes([buf[20], buf[21], buf[22], buf[23]]) == FMTT_VERSION
            && buf[24..32] == offset.to_le_bytes())
}

/// Looks for a second mda at LVM2's default place (the last MiB before the
/// last MiB boundary) holding this VG's metadata (`_check_for_mda2`).
fn find_mda2(dev: &dyn BlockDev, dev_size: u64, vgid: &str, log: &mut Log) -> Option<(u64, u64)> {
    if dev_size < 2 * ONE_MIB || vgid.is_empty() {
        return None;
    }
    let offset = dev_size - dev_size % ONE_MIB - ONE_MIB;
    let size = dev_size - offset;
    let mut magic = [0u8; MDA_HEADER_SIZE as usize];
    dev.read_at(offset, &mut magic).ok()?;
    if &magic[4..20] != FMTT_MAGIC {
        return None;
    }
    if !has_mda_header(dev, offset, true) {
        log.print("Skipping mda2 (wrong mda_header.version or start)");
        return None;
    }
    // The VG UUID in the first 256 bytes of a sector in the first half of
    // the text area: the mda holds this VG's metadata, not an older VG's.
    let mut sector = [0u8; 256];
    for i in 0..size / 1024 {
        let at = offset + MDA_HEADER_SIZE + i * 512;
        if dev.read_at(at, &mut sector).is_err() {
            break;
        }
        if sector.windows(vgid.len()).any(|w| w == vgid.as_bytes()) {
            log.print(format!("Found mda2 header at offset {offset} size {size}"));
            return Some((offset, size));
        }
    }
    log.print("Skipping mda2 (no matching VG UUID in metadata area)");
    None
}

/// Plans the new label and pv_header (`_repair_pv_header`): the PV UUID
/// from `pv_uuid=`, the old header or the device name hint in the
/// metadata; size and data offset from the metadata; mda1 at 4096 up to
/// the data, mda2 where the old header or the device shows one.
/// `confirm` answers LVM2's question whether to add a metadata area.
#[allow(clippy::too_many_arguments)]
pub fn plan_pv_header(
    dev: &dyn BlockDev,
    name: &str,
    is_this_device: &dyn Fn(&str) -> bool,
    labelsector: u64,
    set: &Settings,
    mf: Option<&MetadataFile>,
    confirm: &mut dyn FnMut(&str) -> bool,
    log: &mut Log,
) -> Result<(Label, Vec<MdaTarget>), RepairError> {
    let dev_size = dev.size()?;
    let info = dump_label(dev, labelsector, false, log);
    if !info.found_label {
        log.warn(format!(
            "WARNING: No LVM label found on {name}.  It may not be an LVM device."
        ));
    }
    let mut mda_count = info.mda_count;
    let mut mda2 = info.mda2;
    if mda_count == 0 {
        if has_mda_header(dev, MDA1_OFFSET, false) {
            mda_count = 1;
        }
        if let Some(m) = find_mda2(dev, dev_size, mf.map_or("", |m| &m.vgid), log) {
            mda2 = Some(m);
            mda_count = 2;
        }
    }
    let zero_mdas = set.mda_offset == Some(0) && set.mda_size == Some(0);
    if mda_count == 0 && zero_mdas {
        log.warn("WARNING: PV will have no metadata with zero metadata areas.");
    } else if mda_count == 0 {
        log.warn("WARNING: no previous metadata areas found on device.");
        if !confirm("Should a metadata area be included? ") {
            return refused(
                "To repair with zero metadata areas, use --settings \"mda_offset=0 mda_size=0\".",
            );
        }
        mda_count = 1;
    }
    if mda_count > 0 && (set.mda2_offset.is_some() || set.mda2_size.is_some()) {
        let (o, s) = (set.mda2_offset.unwrap_or(0), set.mda2_size.unwrap_or(0));
        if let Some((fo, fs)) = mda2 {
            if fo != o {
                return refused(format!(
                    "mda2_offset setting {o} does not match mda2_offset found on disk {fo}."
                ));
            }
            if fs != s {
                return refused(format!(
                    "mda2_size setting {s} does not match mda2_size found on disk {fs}."
                ));
            }
        }
        mda2 = Some((o, s));
        mda_count = 2;
    }

    let (pvid, device_size, pe_start) = match (set.device_size, set.pv_uuid, set.data_offset, mf)
    {
        (Some(size), Some(id), Some(data), None) => {
            if size != dev_size {
                log.warn(format!(
                    "WARNING: device_size setting {size} bytes does not match device size {dev_size} bytes."
                ));
            }
            (id, size, data)
        }
        (_, _, _, None) => {
            return refused("Metadata input file is needed for pv_header info.\n  See pvck --dump to locate and create a metadata file.")
        }
        (_, _, _, Some(mf)) => pv_from_metadata(&info.pv_id, set, name, is_this_device, mf, log)?,
    };

    let mut metadata_areas = Vec::new();
    if mda_count > 0 {
        if pe_start <= MDA1_OFFSET + 2 * MDA_HEADER_SIZE {
            return refused(format!(
                "Data offset {pe_start} leaves no room for a metadata area at {MDA1_OFFSET}."
            ));
        }
        metadata_areas.push(DiskLocn {
            offset: MDA1_OFFSET,
            size: pe_start - MDA1_OFFSET,
        });
    }
    if mda_count > 1 {
        if let Some((offset, size)) = mda2.filter(|m| m.0 != 0) {
            metadata_areas.push(DiskLocn { offset, size });
        }
    }
    let m = |i: usize| metadata_areas.get(i).map_or((0, 0), |l| (l.offset, l.size));
    let label = Label {
        sector: labelsector,
        header: PvHeader {
            id: pvid,
            device_size,
            data_areas: vec![DiskLocn {
                offset: pe_start,
                size: 0,
            }],
            metadata_areas: metadata_areas.clone(),
            ext_version: PV_HEADER_EXTENSION_VSN,
            ext_flags: PV_EXT_USED,
            bootloader_areas: vec![],
        },
    };
    let bytes = label::encode_label(&label)?;
    let crc = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    log.print(format!(
        "Writing label_header.crc 0x{crc:08x} pv_header uuid {} device_size {device_size}",
        pvid.as_raw_str()
    ));
    let ((o1, s1), (o2, s2)) = (m(0), m(1));
    log.print(format!(
        "Writing data_offset {pe_start} mda1_offset {o1} mda1_size {s1} mda2_offset {o2} mda2_size {s2}"
    ));
    let mdas = metadata_areas
        .iter()
        .enumerate()
        .map(|(i, l)| MdaTarget {
            num: i as u32 + 1,
            offset: l.offset,
            size: l.size,
        })
        .collect();
    Ok((label, mdas))
}

/// The PV's UUID, size and data offset from the metadata file
/// (`_get_pv_info_from_metadata`).
fn pv_from_metadata(
    cur: &Option<Id>,
    set: &Settings,
    name: &str,
    is_this_device: &dyn Fn(&str) -> bool,
    mf: &MetadataFile,
    log: &mut Log,
) -> Result<(Id, u64, u64), RepairError> {
    let mut want = *cur;
    if let Some(id) = set.pv_uuid {
        if let Some(c) = cur.filter(|c| *c != id) {
            log.warn(format!(
                "WARNING: existing PV UUID {} does not match pv_uuid setting {}.",
                c.as_raw_str(),
                id.as_raw_str()
            ));
        }
        want = Some(id);
    }
    let Some(pvs) = pv_entries(&mf.text) else {
        return refused("Invalid metadata file.");
    };
    let found = match want {
        Some(id) => pvs.iter().find(|p| p.id == id),
        None => pvs
            .iter()
            .find(|p| p.device.as_deref().is_some_and(is_this_device)),
    };
    let Some(pv) = found else {
        let first = match (set.pv_uuid, cur) {
            (Some(id), _) => format!("PV UUID {} not found in metadata file.", id.as_raw_str()),
            (None, Some(c)) => format!(
                "PV UUID {} in existing pv_header not found in metadata file.",
                c.as_raw_str()
            ),
            (None, None) => format!("PV name {name} not found in metadata file."),
        };
        return refused(format!(
            "{first}\n  No valid PV UUID, specify a PV UUID from metadata in --settings."
        ));
    };
    let size = pv.dev_size.unwrap_or(0).saturating_mul(512);
    Ok((pv.id, size, pv.pe_start.saturating_mul(512)))
}

/// The mdas `--repairtype metadata` writes, from the label on the device
/// (`_repair_metadata`); `None` when the PV has no mda and the settings
/// say that is right.
pub fn plan_metadata(
    dev: &dyn BlockDev,
    labelsector: u64,
    set: &Settings,
) -> Result<MdaTargets, RepairError> {
    let info = dump_label(dev, labelsector, false, &mut Log::default());
    mdas_to_write(info.found_label, info.mda1, info.mda2, set)
}

fn mdas_to_write(
    found_label: bool,
    mda1: Option<(u64, u64)>,
    mda2: Option<(u64, u64)>,
    set: &Settings,
) -> Result<MdaTargets, RepairError> {
    const SEE: &str = "\n  See --repairtype pv_header to repair headers.";
    if !found_label {
        return refused(format!("No lvm label found on device.{SEE}"));
    }
    if mda1.is_none() && mda2.is_none() {
        if set.mda_offset == Some(0) && set.mda_size == Some(0) {
            return Ok(None);
        }
        return refused(format!("No metadata areas found on device.{SEE}"));
    }
    if set.mda_num == 1 && mda1.is_none() {
        return refused(format!("No mda1 offset found.{SEE}"));
    }
    if set.mda_num == 2 && mda2.is_none() {
        return refused(format!("No mda2 offset found.{SEE}"));
    }
    let mut out = Vec::new();
    for (n, m) in [(1, mda1), (2, mda2)] {
        if let Some((o, s)) = m {
            if set.mda_num == 0 || set.mda_num == n {
                out.push(MdaTarget {
                    num: n,
                    offset: o,
                    size: s,
                });
            }
        }
    }
    Ok(Some(out))
}

/// The mdas a full `--repair` writes once `label` is in place.
pub fn plan_metadata_for(label: &Label, set: &Settings) -> Result<MdaTargets, RepairError> {
    let m = &label.header.metadata_areas;
    let at = |i: usize| m.get(i).map(|l| (l.offset, l.size));
    mdas_to_write(true, at(0), at(1), set)
}

/// Writes the plan: the text into each mda (after the copy a valid header
/// still points at, else at 512), synced; then each mda header pointing
/// at it; then the label. Says what it writes.
pub fn apply(
    dev: &dyn BlockDev,
    label: Option<&Label>,
    mdas: &[MdaTarget],
    mf: Option<&MetadataFile>,
    log: &mut Log,
) -> Result<(), RepairError> {
    let mut headers = Vec::new();
    if let Some(mf) = mf {
        let body = mf.text.strip_suffix(b"\0").unwrap_or(&mf.text);
        for &MdaTarget {
            num: n,
            offset,
            size,
        } in mdas
        {
            if mf.text.len() as u64 > size {
                let max = (size.saturating_sub(MDA_HEADER_SIZE) / 2).saturating_sub(512);
                return refused(format!(
                    "Metadata text {} too large for mda_size {size} max {max}",
                    mf.text.len()
                ));
            }
            let fresh = MdaHeader::new(offset, size);
            let rl = match read_mda_header(dev, offset) {
                Ok(h) if h.size == size => {
                    write_text(dev, &h, body).or_else(|_| write_text(dev, &fresh, body))?
                }
                _ => write_text(dev, &fresh, body)?,
            };
            log.print(format!(
                "Writing metadata at {} length {} crc 0x{:08x} mda{n}",
                offset + rl.offset,
                rl.size,
                rl.checksum
            ));
            log.print(format!("Writing mda_header at {offset} mda{n}"));
            headers.push((
                n,
                MdaHeader {
                    start: offset,
                    size,
                    slots: [rl, RawLocn::default()],
                },
            ));
        }
    }
    dev.sync()?;
    for (_, h) in &headers {
        write_mda_header(dev, h)?;
    }
    if let Some(label) = label {
        label::write_label(dev, label)?;
    }
    Ok(())
}

/// `--repairtype label_header`: the label_header fields set to their
/// constants with a new CRC, the pv_header after it kept as it is.
pub fn repair_label_header(sector: &[u8; LABEL_SIZE as usize], labelsector: u64) -> [u8; 512] {
    let mut out = *sector;
    out[..8].copy_from_slice(LABEL_ID);
    out[8..16].copy_from_slice(&labelsector.to_le_bytes());
    out[20..24].copy_from_slice(&32u32.to_le_bytes());
    out[24..32].copy_from_slice(LVM2_LABEL_TYPE);
    let crc = lvm_crc(&out[20..]);
    out[16..20].copy_from_slice(&crc.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::device::MemDev;
    use crate::metadata::label::{fixtures, read_label};
    use crate::metadata::mda::dump::{dump_metadata, PrintMeta, SaveTo};
    use crate::metadata::mda::read_text;

    fn current_text(dev: &MemDev) -> Vec<u8> {
        let mut save = SaveTo::file();
        let mut log = Log::default();
        assert!(dump_metadata(
            dev,
            &Settings::default(),
            1,
            None,
            PrintMeta::Current,
            false,
            &mut log,
            &mut save
        ));
        save.bytes.unwrap()
    }

    /// Zeroed label and mda header, repaired from the text the dump
    /// saved: the same label, and the same text committed.
    #[test]
    fn repair_restores_zeroed_headers() {
        let image = fixtures::vg_pv();
        let good = MemDev::from_vec(image.clone());
        let old_label = read_label(&good).unwrap().unwrap();
        let text = current_text(&good);
        let mut log = Log::default();
        let mf = read_metadata_file(&text, &mut log).unwrap();
        assert!(!mf.suspicious);
        let mut broken = image.clone();
        broken[512..1024].fill(0);
        broken[4096..4608].fill(0);
        let dev = MemDev::from_vec(broken);
        let (label, mdas) = plan_pv_header(
            &dev,
            "/dev/nomatch",
            &|_| false,
            1,
            &Settings {
                pv_uuid: Some(old_label.header.id),
                ..Default::default()
            },
            Some(&mf),
            &mut |_| true,
            &mut log,
        )
        .unwrap();
        assert_eq!(label.header.id, old_label.header.id);
        assert_eq!(label.header.metadata_areas, old_label.header.metadata_areas);
        assert_eq!(label.header.data_areas, old_label.header.data_areas);
        let mdas2 = plan_metadata_for(&label, &Settings::default())
            .unwrap()
            .unwrap();
        assert_eq!(mdas, mdas2);
        apply(&dev, Some(&label), &mdas2, Some(&mf), &mut log).unwrap();
        let back = read_label(&dev).unwrap().unwrap();
        assert_eq!(back.header.id, old_label.header.id);
        let h = read_mda_header(&dev, 4096).unwrap();
        let t = read_text(&dev, &h, 0).unwrap().unwrap();
        assert_eq!(t, text);
    }

    /// A crash after any number of writes leaves either the damaged PV
    /// as it was (no label) or a label whose every mda holds the text.
    #[test]
    fn crash_at_any_write_leaves_no_label_or_a_whole_repair() {
        use crate::metadata::device::Fault;
        let image = fixtures::vg_pv();
        let text = current_text(&MemDev::from_vec(image.clone()));
        let mut log = Log::default();
        let mf = read_metadata_file(&text, &mut log).unwrap();
        let mut broken = image;
        broken[512..1024].fill(0);
        broken[4096..4608].fill(0);
        let plan_dev = MemDev::from_vec(broken.clone());
        let id = read_label(&MemDev::from_vec(fixtures::vg_pv()))
            .unwrap()
            .unwrap()
            .header
            .id;
        let set = Settings {
            pv_uuid: Some(id),
            ..Default::default()
        };
        let (label, _) = plan_pv_header(
            &plan_dev,
            "d",
            &|_| false,
            1,
            &set,
            Some(&mf),
            &mut |_| true,
            &mut log,
        )
        .unwrap();
        let mdas = plan_metadata_for(&label, &set).unwrap().unwrap();
        for calls in 0.. {
            let dev = MemDev::from_vec(broken.clone());
            dev.set_fault(Some(Fault::FailWriteAfterCalls(calls)));
            let done = apply(&dev, Some(&label), &mdas, Some(&mf), &mut Log::default());
            match read_label(&dev).unwrap() {
                None => assert!(done.is_err(), "finished without a label"),
                Some(l) => {
                    for m in &l.header.metadata_areas {
                        let h = read_mda_header(&dev, m.offset).unwrap();
                        assert_eq!(read_text(&dev, &h, 0).unwrap().unwrap(), text);
                    }
                }
            }
            if done.is_ok() {
                assert!(calls > 2);
                break;
            }
        }
    }

    #[test]
    fn unknown_pv_is_refused_and_nothing_written() {
        let image = fixtures::vg_pv();
        let good = MemDev::from_vec(image.clone());
        let text = current_text(&good);
        let mut log = Log::default();
        let mf = read_metadata_file(&text, &mut log).unwrap();
        let mut broken = image;
        broken[512..1024].fill(0);
        let dev = MemDev::from_vec(broken.clone());
        let e = plan_pv_header(
            &dev,
            "/dev/x",
            &|d| d == "/dev/y",
            1,
            &Settings::default(),
            Some(&mf),
            &mut |_| true,
            &mut log,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("PV name /dev/x not found"), "{e}");
        assert_eq!(dev.to_vec(), broken);
    }

    #[test]
    fn backup_file_becomes_raw_text() {
        let backup = b"# Generated by LVM2 version 2.03.16(2) (2022-05-18): Mon Nov 30 2026\n\ncontents = \"Text Format Volume Group\"\nversion = 1\n\ndescription = \"x\"\n\ncreation_host = \"h\"\t# Linux h\ncreation_time = 1\t# Mon\n\nvg0 {\n\tid = \"abc\"\n\tseqno = 3\n\tphysical_volumes {\n\n\t\tpv0 {\n\t\t\tdev_size = 69632\t# 34 Megabytes\n\t\t}\n\t}\n}\n";
        let raw = backup_to_raw(backup);
        let s = String::from_utf8(raw).unwrap();
        assert!(s.starts_with("vg0 {\nid = \"abc\"\nseqno = 3\nphysical_volumes {\n\npv0 {\ndev_size = 69632\n}\n}\n}\n# Generated by LVM2"), "{s}");
        assert!(s.ends_with("creation_time = 1\t# Mon\n\n"));
    }

    #[test]
    fn label_header_repair_keeps_pv_header() {
        let image = fixtures::vg_pv();
        let mut sector = [0u8; 512];
        sector.copy_from_slice(&image[512..1024]);
        let mut broken = sector;
        broken[..8].fill(0);
        assert_eq!(repair_label_header(&broken, 1), sector);
    }
}
