//! Reading VGs from their PVs and committing changes to every metadata
//! area. Touches disk only through `DevOpener`/`BlockDev`, so every path
//! here runs on in-memory devices in tests.
//!
//! Reading (`scan`): each device's label, each metadata area's header and
//! committed text. Copies are grouped by VG UUID; the highest seqno wins
//! (LVM2's rule), older or damaged copies are reported and repaired by the
//! next commit, which writes every area of every PV in the VG.
//!
//! Writing (`VgHandle::commit`) follows LVM2's protocol, explained in
//! `mda.rs`: write the new text into free space of every area, then point
//! the precommit slot at it, flush, then the committed slot, flush.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::device::{BlockDev, FileDev};
use super::duplicates::{self, DuplicatePv};
use super::id::Id;
use super::label::{self, DiskLocn, Label, LabelError, PvHeader, PV_EXT_USED};
use super::mda::{self, MdaError, MdaHeader, RawLocn};
use super::model::{ModelError, Vg};
use super::text::{self, TextError, TextHeader};
use super::validate::{self, ValidateError};

/// Opens block devices by path (real files in production, memory in tests).
pub trait DevOpener {
    fn open(&self, path: &str, writable: bool) -> io::Result<Box<dyn BlockDev>>;
}

/// Opens real block devices (or image files).
pub struct FileOpener;

impl DevOpener for FileOpener {
    fn open(&self, path: &str, writable: bool) -> io::Result<Box<dyn BlockDev>> {
        Ok(Box::new(FileDev::open(path, writable)?))
    }
}

/// Opens in-memory devices by name: the store's tests, the golden and
/// property tests and the benchmarks run the real commit path on these.
#[derive(Default, Clone)]
pub struct MemOpener {
    pub devs: BTreeMap<String, std::sync::Arc<super::device::MemDev>>,
}

impl MemOpener {
    /// Adds a device of `bytes` (zero-filled) under `name`.
    pub fn add(&mut self, name: &str, bytes: Vec<u8>) -> std::sync::Arc<super::device::MemDev> {
        let d = std::sync::Arc::new(super::device::MemDev::from_vec(bytes));
        self.devs.insert(name.to_string(), d.clone());
        d
    }
    pub fn names(&self) -> Vec<String> {
        self.devs.keys().cloned().collect()
    }
}

impl DevOpener for MemOpener {
    fn open(&self, path: &str, _writable: bool) -> io::Result<Box<dyn BlockDev>> {
        self.devs
            .get(path)
            .map(|d| Box::new(d.clone()) as Box<dyn BlockDev>)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, path.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Volume group \"{0}\" not found")]
    VgNotFound(String),
    /// Several VGs this host may use carry the name (LVM2's
    /// `_resolve_duplicate_vgnames`): the user must choose one by UUID.
    #[error("Multiple VGs found with the same name: skipping {0}\n  Use --select vg_uuid=<uuid> in place of the VG name.")]
    DuplicateVgName(String),
    /// No VG has this UUID.
    #[error("Volume group with UUID {0} not found")]
    VgIdNotFound(Id),
    /// `vgexport`ed: only reports, backups and `vgimport` may read it
    /// (LVM2's `READ_ALLOW_EXPORTED`); every write and activation is refused.
    #[error("Volume group {0} is exported")]
    VgExported(String),
    /// Owned by another host (its system ID is not this host's): listed
    /// only with `--foreign`, never written or activated (lvmsystemid(7)).
    #[error("Cannot access VG {vg} with system ID {system_id} with {}.", match .local { Some(l) => format!("local system ID {l}"), None => "unknown local system ID".to_string() })]
    VgForeign {
        vg: String,
        system_id: String,
        local: Option<String>,
    },
    #[error("Metadata copies of VG {vg} disagree at seqno {seqno} ({path}); not written.\n  Repair with vgck --updatemetadata {vg}.")]
    CopiesDisagree {
        vg: String,
        seqno: u32,
        path: String,
    },
    /// A PV of the VG is on more than one device (`duplicates.rs`).
    #[error("Cannot update volume group {0} with duplicate PV devices.")]
    DuplicatePvs(String),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: {source}")]
    Label { path: String, source: LabelError },
    #[error("{path}: {source}")]
    Mda { path: String, source: MdaError },
    #[error(transparent)]
    Unwritable(#[from] ModelError),
    /// The self-check before writing: the text must read back as the VG.
    #[error("Internal error: metadata does not round-trip ({0}); not written.")]
    NoRoundTrip(String),
    #[error("Internal error: generated metadata does not parse ({0}); not written.")]
    Unparsable(TextError),
    #[error("Metadata for VG {vg} failed validation: {source}")]
    Invalid { vg: String, source: ValidateError },
    #[error("No metadata areas to write to in VG {0}.")]
    NoMetadataAreas(String),
    #[error("Cannot use {path}: device is too small (need at least {need_kib} KiB).")]
    TooSmall { path: String, need_kib: u64 },
}

/// Why a metadata area, or the copy in it, is ignored when reading. Kept
/// in `MdaState` (hence `Clone`: the I/O-carrying `MdaError` is shared).
#[derive(Clone, Debug, thiserror::Error)]
pub enum MdaDamage {
    #[error(transparent)]
    Area(Arc<MdaError>),
    #[error("metadata text is not valid UTF-8")]
    NotUtf8,
    #[error(transparent)]
    Text(#[from] TextError),
}

impl From<MdaError> for MdaDamage {
    fn from(e: MdaError) -> Self {
        MdaDamage::Area(Arc::new(e))
    }
}

/// A two-phase commit's failure: the store's own, or the step run between
/// precommit and commit (nothing committed then).
#[derive(Debug, thiserror::Error)]
pub enum CommitError<E> {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Between(E),
}

/// Flushes every device of a commit, at once: each device's flush is a
/// wait for its own queue (on a PV behind a file or a write cache, tens of
/// milliseconds), so a VG on several PVs waits for the slowest, not for the
/// sum. Returns when every flush has ended; the first error, in device
/// order, is the result.
fn sync_all(devs: &[(String, Box<dyn BlockDev>)]) -> Result<(), StoreError> {
    if devs.len() < 2 {
        for (path, dev) in devs {
            dev.sync().map_err(io_err(path))?;
        }
        return Ok(());
    }
    // The first device is flushed on this thread while the others flush
    // on threads of their own (a thread costs ~0.4 ms under emulation).
    let results: Vec<io::Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = devs[1..]
            .iter()
            .map(|(_, dev)| s.spawn(move || dev.sync()))
            .collect();
        let first = devs[0].1.sync();
        std::iter::once(first)
            .chain(handles.into_iter().map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("flush thread panicked")))
            }))
            .collect()
    });
    for ((path, _), r) in devs.iter().zip(results) {
        r.map_err(io_err(path))?;
    }
    Ok(())
}

fn io_err(path: &str) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_string(),
        source,
    }
}

fn label_err(path: &str) -> impl FnOnce(LabelError) -> StoreError + '_ {
    move |source| StoreError::Label {
        path: path.to_string(),
        source,
    }
}

fn mda_err(path: &str) -> impl FnOnce(MdaError) -> StoreError + '_ {
    move |source| StoreError::Mda {
        path: path.to_string(),
        source,
    }
}

/// One metadata area as found on a PV.
#[derive(Clone, Debug)]
pub struct MdaState {
    pub locn: DiskLocn,
    /// The header, or why it was rejected.
    pub header: Result<MdaHeader, MdaDamage>,
    /// The committed copy: `None` for an empty area (orphan PV). Shared:
    /// the areas of a VG normally hold the same text, imported once.
    pub committed: Option<Imported>,
    /// The VG name at the head of a committed copy that does not import
    /// (the PV still belongs to that VG: it is not an orphan).
    pub damaged_vg_name: Option<String>,
}

impl MdaState {
    pub fn vg(&self) -> Option<&Vg> {
        self.shared_vg().map(|v| &**v)
    }
    /// [`MdaState::vg`] as shared with the handles read from it.
    fn shared_vg(&self) -> Option<&Arc<Vg>> {
        match &self.committed {
            Some(Ok(c)) => Some(&c.0),
            _ => None,
        }
    }
    /// Bytes of text area not used by the committed copy (for `pv_mda_free`).
    pub fn free_bytes(&self) -> u64 {
        match &self.header {
            Ok(h) => {
                let used = h.slots[0].size;
                h.size.saturating_sub(mda::MDA_HEADER_SIZE + used)
            }
            Err(_) => 0,
        }
    }
}

/// A device carrying an LVM2 label.
#[derive(Clone, Debug)]
pub struct PvInfo {
    pub path: String,
    /// Device size in bytes.
    pub size: u64,
    pub label: Label,
    pub mdas: Vec<MdaState>,
}

impl PvInfo {
    pub fn id(&self) -> Id {
        self.label.header.id
    }
    /// The VG this PV's own areas or label say it belongs to, even when
    /// the metadata cannot be read: the name from a readable copy, else
    /// the name at the head of a damaged one, else `""` when only the
    /// label's "used" flag says so. Such a PV is never an orphan, so
    /// pvcreate and vgcreate do not take it (LVM2 refuses them too).
    pub fn claimed_vg(&self) -> Option<String> {
        if let Some(v) = self.vg() {
            return Some(v.name.clone());
        }
        if let Some(n) = self.mdas.iter().find_map(|m| m.damaged_vg_name.clone()) {
            return Some(n);
        }
        let used = self.label.header.ext_flags & PV_EXT_USED != 0;
        let damaged = self
            .mdas
            .iter()
            .any(|m| m.header.is_err() || matches!(m.committed, Some(Err(_))));
        (used || damaged).then(String::new)
    }

    /// The newest VG metadata on this PV's own areas.
    pub fn vg(&self) -> Option<&Vg> {
        self.mdas
            .iter()
            .filter_map(|m| m.vg())
            .max_by_key(|v| v.seqno)
    }
    /// First data sector (from the label's data area).
    pub fn pe_start_sectors(&self) -> u64 {
        self.label
            .header
            .data_areas
            .first()
            .map(|d| d.offset / 512)
            .unwrap_or(2048)
    }
}

/// Everything a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// One device per PV: for a PV on duplicate devices, the preferred one.
    pub pvs: Vec<PvInfo>,
    pub warnings: Vec<String>,
    /// Devices left unused because another carries the same PV UUID.
    pub duplicates: Vec<DuplicatePv>,
    /// Who this host is, for the system ID rules (set by the caller; the
    /// default is a host without a system ID).
    pub host: HostId,
    /// `metadata/check_pv_device_sizes` (set by the caller): a VG read
    /// warns about PVs whose device is smaller than their recorded size.
    pub check_dev_sizes: bool,
}

/// This host's identity for LVM2's system ID rules (lvmsystemid(7)): its
/// system ID (`global/system_id_source`) and `local/extra_system_ids`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostId {
    pub system_id: Option<String>,
    pub extra: Vec<String>,
}

impl HostId {
    /// Whether VG `vg` is this host's to use: it has no system ID, or this
    /// host's, or one of the extra ones (LVM2's `_access_vg_systemid`).
    pub fn owns(&self, vg: &Vg) -> bool {
        match vg.system_id.as_deref() {
            None | Some("") => true,
            Some(s) => self.system_id.as_deref() == Some(s) || self.extra.iter().any(|e| e == s),
        }
    }
}

/// What a command may read besides VGs it may use: exported VGs (LVM2's
/// `READ_ALLOW_EXPORTED`), foreign VGs (`--foreign`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub exported: bool,
    pub foreign: bool,
}

impl Access {
    /// Any VG at all: to know which VG a PV belongs to.
    pub const ANY: Access = Access {
        exported: true,
        foreign: true,
    };
}

/// Reads labels and metadata from `paths`. Devices without a label are
/// skipped silently; unreadable devices and damaged areas become warnings.
pub fn scan(opener: &dyn DevOpener, paths: &[String]) -> Scan {
    scan_reusing(opener, paths, &[])
}

/// Devices read together by [`scan`]: their reads are started at once
/// (`BlockDev::prefetch`) so that the waits for the disks overlap; bounded
/// so that the descriptors open at a time stay well below the usual limit,
/// and below half the process's own limit ([`scan_batch`]).
const SCAN_BATCH: usize = 128;

/// [`SCAN_BATCH`], or half the soft limit on open files if that is lower
/// (at least 4): a device that does not open is skipped as unreadable, so
/// a batch must never run out of descriptors.
fn scan_batch() -> usize {
    use nix::sys::resource::{getrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, _)) => (usize::try_from(soft).unwrap_or(usize::MAX) / 2).clamp(4, SCAN_BATCH),
        Err(_) => SCAN_BATCH,
    }
}

/// Bytes from the start of a device asked for before its label is read:
/// the label sectors and the header of a first metadata area at 4 KiB.
const HEAD_BYTES: u64 = 8192;

/// [`scan`], taking from `previous` (what an earlier scan of this
/// command found) each metadata area whose header reads back byte for
/// byte as it was, with the same label on a device of the same size: its
/// text was read and its checksum verified by that scan, and a commit
/// always rewrites the header (LVM2 writes new text beside the old and
/// then points the header at it), so the text it points at is the one
/// already read. Any other area is read again in full.
pub fn scan_reusing(opener: &dyn DevOpener, paths: &[String], previous: &[PvInfo]) -> Scan {
    let mut out = Scan::default();
    let mut found = Vec::new();
    let mut parsed = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    for batch in paths.chunks(scan_batch()) {
        for result in read_pvs(opener, batch, previous, &mut parsed)
            .into_iter()
            .flatten()
        {
            match result {
                Ok(Some((pv, warnings))) => {
                    out.warnings.extend(warnings);
                    found.push(pv);
                }
                Ok(None) => {}
                Err(e) => out.warnings.push(e.to_string()),
            }
        }
    }
    let candidates: Vec<duplicates::Found> = found
        .iter()
        .map(|p| duplicates::Found {
            id: p.id(),
            path: &p.path,
            size: p.size,
        })
        .collect();
    // What the newest metadata naming a PV says about it.
    let copies: Vec<&Vg> = found
        .iter()
        .flat_map(|p| p.mdas.iter().filter_map(|m| m.vg()))
        .collect();
    let summary = |id: &Id| {
        copies
            .iter()
            .filter(|v| v.pv_by_id(id).is_some())
            .max_by_key(|v| v.seqno)
            .and_then(|v| v.pv_by_id(id))
    };
    let (keep, dups) = duplicates::choose(&candidates, summary);
    out.warnings.extend(duplicates::warnings(&dups));
    out.duplicates = dups;
    out.pvs = found
        .into_iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(p))
        .collect();
    out
}

/// The name a metadata text starts with (`vg0 {`), read without parsing
/// the rest: the on-disk form begins with the VG section.
fn vg_name_at_head(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes.get(..bytes.len().min(1024))?).ok()?;
    let (name, _) = text.split_once('{')?;
    let name = name.trim();
    (!name.is_empty() && crate::metadata::names::check_name(name).is_ok()).then(|| name.to_string())
}

/// The VG's `seqno` from the head of a metadata text, without importing
/// it: the first `seqno = N` directly in the VG section (LVM2 writes it
/// second, after `id`). For the "updating old metadata" warning only.
fn seqno_at_head(bytes: &[u8]) -> Option<u32> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let mut depth = 0usize;
    for line in head.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if depth == 1 {
            if let Some(v) = line.strip_prefix("seqno") {
                if let Some(v) = v.trim_start().strip_prefix('=') {
                    return v.trim().parse().ok();
                }
            }
        }
        depth += line.matches('{').count();
        depth = depth.saturating_sub(line.matches('}').count());
    }
    None
}

/// Metadata texts already imported by this process, by their exact bytes:
/// the PVs of a VG normally carry the same text, which is then parsed
/// once; a rescan under the VG's lock that reads the same bytes again (the
/// usual case: nothing was committed in between) takes the import from
/// here, and so does the read after a commit (the commit stores the text
/// it wrote with its own self-check's import). An import is a function of
/// the bytes alone, so a cached one is exactly what parsing would give.
#[derive(Debug, Default)]
struct ParsedTexts(Vec<(Vec<u8>, Imported)>);

/// The process's cache of imported texts (see [`ParsedTexts`]).
static PARSED: std::sync::Mutex<ParsedTexts> = std::sync::Mutex::new(ParsedTexts(Vec::new()));

/// Texts kept in [`PARSED`]: a command works on a few VGs at a time; the
/// oldest entry goes first.
const PARSED_KEEP: usize = 16;

/// A copy's text imported (shared by every area holding the same text),
/// or why it does not import.
type Imported = Result<Arc<(Arc<Vg>, TextHeader)>, MdaDamage>;

impl ParsedTexts {
    fn import(&mut self, bytes: Vec<u8>) -> Imported {
        if let Some((_, r)) = self.0.iter().find(|(b, _)| *b == bytes) {
            return r.clone();
        }
        let r = std::str::from_utf8(&bytes)
            .map_err(|_| MdaDamage::NotUtf8)
            .and_then(|t| text::import_vg(t).map_err(MdaDamage::from))
            .map(|(vg, header)| Arc::new((Arc::new(vg), header)));
        self.insert(bytes, r.clone());
        r
    }

    fn insert(&mut self, bytes: Vec<u8>, r: Imported) {
        if self.0.iter().any(|(b, _)| *b == bytes) {
            return;
        }
        if self.0.len() >= PARSED_KEEP {
            let _evicted = self.0.remove(0);
        }
        self.0.push((bytes, r));
    }
}

/// Reads one device's label and metadata areas.
pub fn read_pv(
    dev: &dyn BlockDev,
    path: &str,
) -> Result<Option<(PvInfo, Vec<String>)>, StoreError> {
    let mut parsed = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    let Some((size, label)) = read_label_sized(dev, path)? else {
        return Ok(None);
    };
    let heads = Heads::read(dev, size, label);
    Ok(Some(read_mdas(dev, path, heads, None, &mut parsed)))
}

/// A device's size and label (`None` without one), or why it failed.
type LabelRead = Result<Option<(u64, Label)>, StoreError>;

/// What one device read as: `None` if it does not open.
type PvRead = Option<Result<Option<(PvInfo, Vec<String>)>, StoreError>>;

/// One result per device of `paths`, in order. Reads in phases over all
/// the devices, each phase's reads started together first: the labels,
/// the metadata area headers, the texts.
fn read_pvs(
    opener: &dyn DevOpener,
    paths: &[String],
    previous: &[PvInfo],
    parsed: &mut ParsedTexts,
) -> Vec<PvRead> {
    let devs: Vec<Option<Box<dyn BlockDev>>> =
        paths.iter().map(|p| opener.open(p, false).ok()).collect();
    for dev in devs.iter().flatten() {
        dev.prefetch(0, HEAD_BYTES);
    }
    let labels: Vec<Option<LabelRead>> = paths
        .iter()
        .zip(&devs)
        .map(|(path, dev)| Some(read_label_sized(dev.as_deref()?, path)))
        .collect();
    for (dev, label) in devs.iter().zip(&labels) {
        if let (Some(dev), Some(Ok(Some((_, l))))) = (dev, label) {
            for locn in l
                .header
                .metadata_areas
                .iter()
                .filter(|m| m.offset >= HEAD_BYTES)
            {
                dev.prefetch(locn.offset, mda::MDA_HEADER_SIZE);
            }
        }
    }
    let heads: Vec<Option<Result<Option<Heads>, StoreError>>> = devs
        .iter()
        .zip(labels)
        .map(|(dev, label)| {
            let dev = dev.as_deref()?;
            Some(label?.map(|l| l.map(|(size, label)| Heads::read(dev, size, label))))
        })
        .collect();
    let prev_of = |path: &str| previous.iter().find(|p| p.path == path);
    for ((path, dev), heads) in paths.iter().zip(&devs).zip(&heads) {
        if let (Some(dev), Some(Ok(Some(h)))) = (dev, heads) {
            h.prefetch_texts(dev.as_ref(), prev_of(path));
        }
    }
    paths
        .iter()
        .zip(&devs)
        .zip(heads)
        .map(|((path, dev), heads)| {
            let dev = dev.as_deref()?;
            Some(heads?.map(|h| h.map(|h| read_mdas(dev, path, h, prev_of(path), parsed))))
        })
        .collect()
}

/// A device's size and label, `None` without a label.
fn read_label_sized(dev: &dyn BlockDev, path: &str) -> Result<Option<(u64, Label)>, StoreError> {
    let size = dev.size().map_err(io_err(path))?;
    let label = label::read_label(dev).map_err(label_err(path))?;
    Ok(label.map(|l| (size, l)))
}

/// What is read of a PV before its metadata text: size, label, and the
/// header of each metadata area (in the label's order).
struct Heads {
    size: u64,
    label: Label,
    headers: Vec<Result<MdaHeader, MdaDamage>>,
}

impl Heads {
    fn read(dev: &dyn BlockDev, size: u64, label: Label) -> Heads {
        let headers = label
            .header
            .metadata_areas
            .iter()
            .map(|locn| mda::read_mda_header(dev, locn.offset).map_err(MdaDamage::from))
            .collect();
        Heads {
            size,
            label,
            headers,
        }
    }

    /// The area `i` as `previous` found it, if it is unchanged (see
    /// [`scan_reusing`]): only a copy that was read and imported is taken.
    fn unchanged<'p>(&self, i: usize, previous: Option<&'p PvInfo>) -> Option<&'p MdaState> {
        let prev = previous.filter(|p| p.size == self.size && p.label == self.label)?;
        let old = prev.mdas.get(i)?;
        let (Ok(h), Ok(old_h)) = (&self.headers[i], &old.header) else {
            return None;
        };
        (h == old_h && matches!(old.committed, Some(Ok(_)))).then_some(old)
    }

    /// Starts reading the texts [`read_mdas`] will read.
    fn prefetch_texts(&self, dev: &dyn BlockDev, previous: Option<&PvInfo>) {
        for (i, header) in self.headers.iter().enumerate() {
            match header {
                Ok(h) if self.unchanged(i, previous).is_none() && !is_ignored(h) => {
                    for (s, e) in mda::text_extents(h, 0) {
                        dev.prefetch(h.start + s, e - s);
                    }
                }
                _ => {}
            }
        }
    }
}

/// An area flagged ignored (`--metadataignore`, `--metadatacopies`).
fn is_ignored(h: &MdaHeader) -> bool {
    h.slots[0].flags & mda::RAW_LOCN_IGNORED != 0
}

/// The PV whose label and headers are `heads`: the committed text of
/// each area read (or taken unchanged from `previous`) and imported.
fn read_mdas(
    dev: &dyn BlockDev,
    path: &str,
    heads: Heads,
    previous: Option<&PvInfo>,
    parsed: &mut ParsedTexts,
) -> (PvInfo, Vec<String>) {
    let mut warnings = Vec::new();
    let mut mdas = Vec::new();
    for (i, locn) in heads.label.header.metadata_areas.iter().enumerate() {
        if let Some(old) = heads.unchanged(i, previous) {
            mdas.push(old.clone());
            continue;
        }
        let header = heads.headers[i].clone();
        let mut damaged_vg_name = None;
        let committed = match &header {
            // An ignored area is never read: its text is whatever it held
            // when it was ignored, not a copy of the VG (LVM2's
            // `_read_mda_header_and_metadata` skips it the same way).
            Ok(h) if is_ignored(h) => None,
            Ok(h) => match mda::read_text(dev, h, 0) {
                Ok(None) => None,
                Ok(Some(bytes)) => {
                    let head = vg_name_at_head(&bytes);
                    let result = parsed.import(bytes);
                    if result.is_err() {
                        damaged_vg_name = head;
                    }
                    Some(result)
                }
                Err(e) => Some(Err(e.into())),
            },
            Err(_) => None,
        };
        if let Err(e) = &header {
            warnings.push(format!(
                "Ignoring metadata area at offset {} on {}: {}",
                locn.offset, path, e
            ));
        }
        if let Some(Err(e)) = &committed {
            warnings.push(format!(
                "Ignoring bad metadata in area at offset {} on {}: {}",
                locn.offset, path, e
            ));
        }
        mdas.push(MdaState {
            locn: *locn,
            header,
            committed,
            damaged_vg_name,
        });
    }
    (
        PvInfo {
            path: path.to_string(),
            size: heads.size,
            label: heads.label,
            mdas,
        },
        warnings,
    )
}

/// The copies of one VG found by a scan (`Scan::groups`): indexes into
/// `Scan::pvs` and their `mdas`.
struct VgGroup<'a> {
    id: Id,
    /// The newest copy and where it is.
    best: (&'a Vg, usize, usize),
    /// Every PV any copy lists.
    pv_ids: BTreeSet<Id>,
    copies: Vec<(usize, usize)>,
}

/// A handle's working copy of its VG: shared with the scan's import (and
/// the committed copy) until the first change, copied then (`Arc::make_mut`
/// behind `DerefMut`). A report reads a VG of thousands of LVs without
/// copying it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkingVg(Arc<Vg>);

impl WorkingVg {
    pub fn new(vg: Vg) -> WorkingVg {
        WorkingVg(Arc::new(vg))
    }
    fn shared(vg: &Arc<Vg>) -> WorkingVg {
        WorkingVg(Arc::clone(vg))
    }
    /// The VG itself (copied only if still shared).
    pub fn into_inner(self) -> Vg {
        Arc::unwrap_or_clone(self.0)
    }
}

impl From<Vg> for WorkingVg {
    fn from(vg: Vg) -> WorkingVg {
        WorkingVg::new(vg)
    }
}

impl std::ops::Deref for WorkingVg {
    type Target = Vg;
    fn deref(&self) -> &Vg {
        &self.0
    }
}

impl std::ops::DerefMut for WorkingVg {
    fn deref_mut(&mut self) -> &mut Vg {
        Arc::make_mut(&mut self.0)
    }
}

/// One VG as read: the winning metadata and where its PVs are.
#[derive(Clone, Debug)]
pub struct VgHandle {
    /// The working copy; commands change it and then `commit`.
    pub vg: WorkingVg,
    /// Shared with the scan's import of that copy (no second deep copy
    /// of a VG of thousands of LVs per read).
    committed: Arc<Vg>,
    /// PV key → device path, for PVs that are present.
    pub pv_paths: BTreeMap<String, String>,
    /// The present PVs' scan results, keyed like `pv_paths`.
    pub pvs: BTreeMap<String, PvInfo>,
    /// Keys of PVs listed in the metadata but not found.
    pub missing: Vec<String>,
    pub warnings: Vec<String>,
    /// PVs of this VG found on more than one device: the VG is then
    /// never written (`check_no_duplicates`).
    pub duplicates: Vec<DuplicatePv>,
    /// PVs whose copy has the winning seqno but other content: the VG is
    /// not written (`check_consistent`) unless the user repairs it.
    pub disagreeing: Vec<String>,
    /// Devices whose copy has the winning seqno and content but another
    /// checksum (its text was not written by a commit): warned about, and
    /// left as it is by commits until a repair, as LVM2 leaves such an
    /// area (it then reads as old metadata, which `vgck --updatemetadata`
    /// rewrites).
    mismatched: BTreeSet<String>,
    /// Set by an explicit repair (`vgck --updatemetadata`): the chosen
    /// copy may overwrite disagreeing ones.
    repair: bool,
    /// Devices whose areas hold another VG's metadata until the next
    /// commit (PVs that `absorb` moved in): overwritten without the
    /// "updating old metadata" warning (LVM2's `PV_MOVED_VG`).
    moved: BTreeSet<String>,
    /// Devices whose label changes with the next commit (new PV UUIDs:
    /// `new_identity`).
    relabel: BTreeSet<String>,
    /// The command writes a backup after each commit: the commit starts
    /// its text (`committed_file_text`) on a thread of its own as soon as
    /// the new metadata passed its self-check (`FILE_TEXT`).
    pub backup_ahead: bool,
    /// Devices written outside the metadata areas for the next commit (a
    /// new LV's zeroed start, `flush_with_commit`): flushed with the
    /// precommit's text, before the kernel or the committed slot is
    /// touched.
    flush_with_commit: BTreeSet<String>,
}

/// The backup-file text of a committed VG, being exported on a thread
/// while the commit finishes and the kernel is changed: a VG of a
/// thousand LVs takes ~8 ms of CPU to export under emulation, which a
/// command otherwise spends after its last kernel step. Keyed by the
/// committed copy itself (held, so its address is not reused); taken by
/// `committed_file_text` of that copy, or replaced by the next commit.
/// The thread only formats text in memory (no file is read, no device
/// touched), so a suspend window it overlaps is covered by the process's
/// memory lock as the main thread is (`dm::memlock`).
type FileTextAhead = (Arc<Vg>, std::thread::JoinHandle<String>);
static FILE_TEXT: std::sync::Mutex<Option<FileTextAhead>> = std::sync::Mutex::new(None);

impl Scan {
    /// VG names found, sorted.
    pub fn vg_names(&self) -> Vec<String> {
        let names: BTreeSet<String> = self
            .pvs
            .iter()
            .filter_map(|p| p.vg().map(|v| v.name.clone()))
            .collect();
        names.into_iter().collect()
    }

    /// PVs that belong to no VG.
    pub fn orphans(&self) -> Vec<&PvInfo> {
        let in_vg: BTreeSet<Id> = self
            .groups()
            .iter()
            .flat_map(|g| g.best.0.pvs.iter().map(|p| p.id))
            .collect();
        self.pvs
            .iter()
            .filter(|p| !in_vg.contains(&p.id()) && p.claimed_vg().is_none())
            .collect()
    }

    /// Re-reads the devices of VG `name` (those whose areas hold a copy of
    /// it, and those its newest copy lists), replacing what the first
    /// scan found: done under the VG's lock, so that what is read is one
    /// commit, never half of one (LVM2's `_label_rescan_vg`).
    pub fn rescan_vg(&mut self, opener: &dyn DevOpener, name: &str) {
        let listed: Vec<Id> = self
            .best_copy(name)
            .map(|v| v.pvs.iter().map(|p| p.id).collect())
            .unwrap_or_default();
        let paths: Vec<String> = self
            .pvs
            .iter()
            .filter(|p| {
                listed.contains(&p.id())
                    || p.mdas.iter().any(|m| {
                        m.vg().is_some_and(|v| v.name == name)
                            || m.damaged_vg_name.as_deref() == Some(name)
                    })
            })
            .map(|p| p.path.clone())
            .collect();
        let mut parsed = PARSED.lock().unwrap_or_else(|e| e.into_inner());
        let mut fresh: Vec<Option<PvInfo>> = Vec::with_capacity(paths.len());
        for batch in paths.chunks(scan_batch()) {
            // A device that no longer opens reads as no PV.
            fresh.extend(
                read_pvs(opener, batch, &self.pvs, &mut parsed)
                    .into_iter()
                    .map(|r| r.and_then(|r| r.ok().flatten()).map(|(pv, _)| pv)),
            );
        }
        for (path, fresh) in paths.iter().zip(fresh) {
            let at = self.pvs.iter().position(|p| &p.path == path);
            match (fresh, at) {
                (Some(pv), Some(i)) => self.pvs[i] = pv,
                (None, Some(i)) => {
                    self.pvs.remove(i);
                }
                _ => {}
            }
        }
    }

    /// Whether `path` is one of the devices of a PV found on several.
    pub fn is_duplicate_device(&self, path: &str) -> bool {
        self.duplicates
            .iter()
            .any(|d| d.used == path || d.unused == path)
    }

    pub fn pv_by_path(&self, path: &str) -> Option<&PvInfo> {
        self.pvs.iter().find(|p| p.path == path)
    }

    /// The winning copy of VG `name` (highest seqno), if any; of the VG
    /// the name means when several carry it.
    fn best_copy(&self, name: &str) -> Option<&Vg> {
        match self.resolve_vg_name(name) {
            Ok(id) => self.best_copy_of(name, &id),
            Err(_) => self
                .pvs
                .iter()
                .flat_map(|pv| pv.mdas.iter().filter_map(|m| m.vg()))
                .filter(|v| v.name == name)
                .max_by_key(|v| v.seqno),
        }
    }

    /// Names of the VGs a command may use when it names none (`lvs`,
    /// `vgchange -ay`, `vgck`): exported VGs are skipped without an error,
    /// as LVM2's `process_each_vg` skips them when they are not named, and
    /// so are foreign ones (see [`Scan::foreign_vg_names`]).
    pub fn usable_vg_names(&self) -> Vec<String> {
        self.vg_names()
            .into_iter()
            .filter(|n| {
                self.best_copy(n)
                    .is_some_and(|v| !v.is_exported() && self.host.owns(v))
            })
            .collect()
    }

    /// Names of the VGs that belong to other hosts.
    pub fn foreign_vg_names(&self) -> Vec<String> {
        let names: BTreeSet<String> = self
            .vg_ids()
            .into_iter()
            .filter(|(n, id)| self.best_copy_of(n, id).is_some_and(|v| !self.host.owns(v)))
            .map(|(n, _)| n)
            .collect();
        names.into_iter().collect()
    }

    /// PVs (index, seqno of their copy) whose own areas hold an older
    /// copy of the VG of `g` that its newest copy no longer lists: LVM2's
    /// outdated PVs (removed from the VG while they were absent).
    fn outdated_in(&self, g: &VgGroup<'_>) -> Vec<(usize, u32)> {
        let best = g.best.0;
        let mut out: Vec<(usize, u32)> = Vec::new();
        for &(pi, mi) in &g.copies {
            let Some(v) = self.pvs[pi].mdas[mi].vg() else {
                continue;
            };
            let id = self.pvs[pi].id();
            if v.seqno < best.seqno
                && best.pv_by_id(&id).is_none()
                && !out.iter().any(|(p, _)| *p == pi)
            {
                out.push((pi, v.seqno));
            }
        }
        out
    }

    /// Whether PV `id` is an outdated PV of some VG (see `outdated_in`):
    /// neither in a VG nor an orphan, as in LVM2.
    pub fn pv_is_outdated(&self, id: &Id) -> bool {
        self.groups().iter().any(|g| {
            self.outdated_in(g)
                .iter()
                .any(|(pi, _)| self.pvs[*pi].id() == *id)
        })
    }

    /// The outdated PVs of the VG called `name` (see `outdated_in`).
    pub fn outdated_pvs(&self, name: &str) -> Vec<&PvInfo> {
        self.groups()
            .iter()
            .filter(|g| g.best.0.name == name)
            .flat_map(|g| self.outdated_in(g))
            .map(|(pi, _)| &self.pvs[pi])
            .collect()
    }

    /// Whether the VG PV `id` belongs to is another host's.
    pub fn pv_is_foreign(&self, id: &Id) -> bool {
        self.vg_of_pv(id).is_some_and(|h| !self.host.owns(&h.vg))
    }

    /// The VG called `name` for a command that uses it (writes, activates,
    /// lists its LVs): highest seqno across all copies wins; a foreign VG
    /// (`StoreError::VgForeign`) or an exported one (`VgExported`) is
    /// refused, as by LVM2's `vg_read`.
    pub fn vg(&self, name: &str) -> Result<VgHandle, StoreError> {
        self.vg_with(name, Access::default())
    }

    /// The VG called `name`, exported or not: for what LVM2 allows on an
    /// exported VG (vgs, pvs, vgdisplay, pvdisplay, pvscan, vgcfgbackup,
    /// vgimport). Foreign VGs are still refused.
    pub fn vg_allow_exported(&self, name: &str) -> Result<VgHandle, StoreError> {
        self.vg_with(
            name,
            Access {
                exported: true,
                foreign: false,
            },
        )
    }

    /// The VG called `name` if `access` allows it.
    pub fn vg_with(&self, name: &str, access: Access) -> Result<VgHandle, StoreError> {
        let h = self.read_vg(name)?;
        self.check_access(h, access)
    }

    /// The VGs found: copies grouped by VG UUID and, within a UUID, by the
    /// PVs they list. Two VGs with one UUID but no PV in common are two
    /// VGs (a VG copied with dd, then renamed and given new PV UUIDs while
    /// the original was hidden: LVM2's duplicate-vgid case); copies of one
    /// VG always share its PVs. Each group's name is its newest copy's.
    fn groups(&self) -> Vec<VgGroup<'_>> {
        let mut groups: Vec<VgGroup<'_>> = Vec::new();
        for (pi, pv) in self.pvs.iter().enumerate() {
            for (mi, m) in pv.mdas.iter().enumerate() {
                let Some(v) = m.vg() else { continue };
                let ids: BTreeSet<Id> = v.pvs.iter().map(|p| p.id).collect();
                let at = groups
                    .iter()
                    .position(|g| g.id == v.id && !g.pv_ids.is_disjoint(&ids));
                let g = match at {
                    Some(i) => &mut groups[i],
                    None => {
                        groups.push(VgGroup {
                            id: v.id,
                            best: (v, pi, mi),
                            pv_ids: BTreeSet::new(),
                            copies: Vec::new(),
                        });
                        groups.last_mut().expect("just pushed")
                    }
                };
                // The newest copy, the first seen of that seqno (LVM2's rule).
                if v.seqno > g.best.0.seqno {
                    g.best = (v, pi, mi);
                }
                g.pv_ids.extend(ids);
                g.copies.push((pi, mi));
            }
        }
        groups
    }

    /// Every VG found: `(name, UUID)` sorted by name, then UUID. A name may
    /// appear more than once (VGs made while each other's PVs were absent,
    /// or cloned disks), and so may a UUID (see `groups`).
    pub fn vg_ids(&self) -> Vec<(String, Id)> {
        let mut out: Vec<(String, Id)> = self
            .groups()
            .iter()
            .map(|g| (g.best.0.name.clone(), g.id))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The UUID of the one VG `name` means, by LVM2's rule for duplicate
    /// names (tools/toollib.c `_resolve_duplicate_vgnames`): a name carried
    /// by several VGs means the only one this host may use (the others
    /// belong to other hosts); with none, or more than one, of those it
    /// is ambiguous. A single VG is returned whoever owns it (the caller
    /// checks access).
    pub fn resolve_vg_name(&self, name: &str) -> Result<Id, StoreError> {
        let found: Vec<Id> = self
            .vg_ids()
            .into_iter()
            .filter(|(n, _)| n == name)
            .map(|(_, id)| id)
            .collect();
        match found.as_slice() {
            [] => Err(StoreError::VgNotFound(name.to_string())),
            [one] => Ok(*one),
            many => {
                let local: Vec<&Id> = many
                    .iter()
                    .filter(|id| {
                        self.best_copy_of(name, id)
                            .is_some_and(|v| self.host.owns(v))
                    })
                    .collect();
                match local.as_slice() {
                    [one] => Ok(**one),
                    _ => Err(StoreError::DuplicateVgName(name.to_string())),
                }
            }
        }
    }

    /// The VG with UUID `id` if `access` allows it; of several VGs with
    /// that UUID, the first (by name) this host may use.
    pub fn vg_by_id(&self, id: &Id, access: Access) -> Result<VgHandle, StoreError> {
        let named: Vec<String> = self
            .vg_ids()
            .into_iter()
            .filter(|(_, i)| i == id)
            .map(|(n, _)| n)
            .collect();
        let name = named
            .iter()
            .find(|n| self.best_copy_of(n, id).is_some_and(|v| self.host.owns(v)))
            .or(named.first())
            .ok_or(StoreError::VgIdNotFound(*id))?;
        self.vg_by_key(name, id, access)
    }

    /// The VG called `name` with UUID `id`, if `access` allows it.
    pub fn vg_by_key(&self, name: &str, id: &Id, access: Access) -> Result<VgHandle, StoreError> {
        let h = self.read_vg_key(name, id)?;
        self.check_access(h, access)
    }

    fn check_access(&self, h: VgHandle, access: Access) -> Result<VgHandle, StoreError> {
        if !access.foreign && !self.host.owns(&h.vg) {
            return Err(StoreError::VgForeign {
                vg: h.vg.name.clone(),
                system_id: h.vg.system_id.clone().unwrap_or_default(),
                local: self.host.system_id.clone(),
            });
        }
        if !access.exported && h.vg.is_exported() {
            return Err(StoreError::VgExported(h.vg.name.clone()));
        }
        Ok(h)
    }

    /// The newest copy of the VG called `name` with UUID `id`.
    fn best_copy_of(&self, name: &str, id: &Id) -> Option<&Vg> {
        self.groups()
            .into_iter()
            .find(|g| g.id == *id && g.best.0.name == name)
            .map(|g| g.best.0)
    }

    /// The VG called `name` whatever its owner or state.
    fn read_vg(&self, name: &str) -> Result<VgHandle, StoreError> {
        let id = self.resolve_vg_name(name)?;
        self.read_vg_key(name, &id)
    }

    /// The VG called `name` with UUID `id`, whatever its owner or state.
    fn read_vg_key(&self, name: &str, id: &Id) -> Result<VgHandle, StoreError> {
        let groups = self.groups();
        let group = groups
            .iter()
            .find(|g| g.id == *id && g.best.0.name == name)
            .ok_or_else(|| StoreError::VgNotFound(name.to_string()))?;
        let (best, bpi, bmi) = group.best;
        let best_path = self.pvs[bpi].path.as_str();
        let best_mda = &self.pvs[bpi].mdas[bmi];
        let in_group = |pi: usize, mi: usize| group.copies.contains(&(pi, mi));
        let vg: &Vg = best;
        let mut warnings: Vec<String> = Vec::new();
        let mut disagreeing = Vec::new();
        let mut mismatched = BTreeSet::new();
        let mut outdated = false;
        let text_of = |m: &MdaState| {
            m.header
                .as_ref()
                .ok()
                .map(|h| (h.slots[0].checksum, h.slots[0].size))
        };
        for (pi, pv) in self.pvs.iter().enumerate() {
            for (i, m) in pv.mdas.iter().enumerate() {
                let Some(v) = m.vg() else { continue };
                if !in_group(pi, i) {
                    continue;
                }
                if v.seqno != vg.seqno {
                    warnings.push(format!(
                        "ignoring metadata seqno {} on {} for seqno {} on {} for VG {}.",
                        v.seqno, pv.path, vg.seqno, best_path, vg.name
                    ));
                    outdated = true;
                } else if let (Some((c, s)), Some((bc, bs))) = (text_of(m), text_of(best_mda)) {
                    // Same seqno, other text: one of the copies was not
                    // written by LVM's commit (LVM2's "mismatch").
                    if (c, s) != (bc, bs) {
                        warnings.push(format!(
                            "scan of VG {} from {} mda{} found mda_checksum {c:x} mda_size {s} vs {bc:x} {bs}",
                            vg.name, pv.path, i + 1
                        ));
                        warnings.push(format!(
                            "Scanning {} mda{} found mismatch with other metadata.",
                            pv.path,
                            i + 1
                        ));
                        if v == vg {
                            mismatched.insert(pv.path.clone());
                        } else {
                            disagreeing.push(pv.path.clone());
                        }
                    }
                }
            }
        }
        if outdated {
            warnings.push(format!(
                "Inconsistent metadata found for VG {}.\n  See vgck --updatemetadata to correct inconsistency.",
                vg.name
            ));
        }
        let gone = self.outdated_in(group);
        for (pi, seqno) in &gone {
            warnings.push(format!(
                "outdated PV {} seqno {seqno} has been removed in current VG {} seqno {}.",
                self.pvs[*pi].path, vg.name, vg.seqno
            ));
        }
        if let Some(last) = warnings.last_mut().filter(|_| !gone.is_empty()) {
            // LVM2 prints this line without "WARNING: ".
            last.push_str("\n  See vgck --updatemetadata to clear outdated metadata.");
        }
        let mut pv_paths = BTreeMap::new();
        let mut pvs = BTreeMap::new();
        let mut missing = Vec::new();
        let mut reappeared = Vec::new();
        for p in &vg.pvs {
            match self.pvs.iter().find(|s| s.id() == p.id) {
                // Written while it was missing: back with no extent in use,
                // it rejoins (its flag goes with the next write); with LVs
                // on it its data may be stale, so it stays missing until
                // restored (LVM2's vg_read in lib/metadata/metadata.c).
                Some(s) if p.flags.has("MISSING") => {
                    warnings.push(format!(
                        "VG {} was previously updated while PV {} was missing.",
                        vg.name, s.path
                    ));
                    if vg.pe_used_on(&p.key) == 0 {
                        warnings.push(format!(
                            "VG {} has unused reappeared PV {} {}.",
                            vg.name, s.path, p.id
                        ));
                        reappeared.push(p.key.clone());
                        pv_paths.insert(p.key.clone(), s.path.clone());
                        pvs.insert(p.key.clone(), s.clone());
                        continue;
                    }
                    warnings.push(format!(
                        "VG {} was missing PV {} {}.",
                        vg.name, s.path, p.id
                    ));
                    missing.push(p.key.clone());
                }
                Some(s) => {
                    pv_paths.insert(p.key.clone(), s.path.clone());
                    pvs.insert(p.key.clone(), s.clone());
                }
                None => {
                    warnings.push(format!("Couldn't find device with uuid {}.", p.id));
                    warnings.push(format!(
                        "VG {} is missing PV {} (last written to {}).",
                        vg.name,
                        p.id,
                        p.device.as_deref().unwrap_or("[unknown]")
                    ));
                    missing.push(p.key.clone());
                }
            }
        }
        let small = pv_size_warnings(vg.pvs.iter().filter_map(|p| Some((p, pvs.get(&p.key)?))));
        if self.check_dev_sizes && !small.is_empty() {
            warnings.extend(small);
            warnings.push(format!(
                "One or more devices used as PVs in VG {} have changed sizes.",
                vg.name
            ));
        }
        // Shared with the scan's import unless reappeared PVs change it.
        let mut vg = match best_mda.shared_vg() {
            Some(shared) => WorkingVg::shared(shared),
            None => WorkingVg::new(best.clone()),
        };
        if !reappeared.is_empty() {
            for p in vg.pvs.iter_mut().filter(|p| reappeared.contains(&p.key)) {
                p.flags.clear("MISSING");
            }
        }
        let duplicates = self
            .duplicates
            .iter()
            .filter(|d| vg.pv_by_id(&d.id).is_some())
            .cloned()
            .collect();
        // The copy as read, with reappeared PVs' changes above: the working
        // copy itself, until a command changes that.
        let committed = Arc::clone(&vg.0);
        Ok(VgHandle {
            committed,
            vg,
            pv_paths,
            pvs,
            missing,
            warnings,
            duplicates,
            disagreeing,
            mismatched,
            repair: false,
            moved: BTreeSet::new(),
            relabel: BTreeSet::new(),
            flush_with_commit: BTreeSet::new(),
            backup_ahead: false,
        })
    }

    pub fn into_vg(self, name: &str) -> Result<VgHandle, StoreError> {
        self.vg(name)
    }

    /// The VG whose metadata lists the PV `id` (exported or not), if any.
    pub fn vg_of_pv(&self, id: &Id) -> Option<VgHandle> {
        self.groups()
            .iter()
            .filter(|g| g.best.0.pv_by_id(id).is_some())
            .find_map(|g| self.vg_by_key(&g.best.0.name, &g.id, Access::ANY).ok())
    }
}

/// The header lines written with each commit.
pub fn text_header(description: &str) -> TextHeader {
    TextHeader {
        description: description.to_string(),
        creation_host: hostname(),
        creation_time: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    }
}

/// `vg` in backup-file form, described as LVM2 describes a backup
/// ("after") or an archive ("before") of this command.
fn file_text(vg: &Vg, when: &str) -> String {
    let header = text_header(&format!("Created *{when}* executing '{}'", command_line()));
    text::export_file(vg, &header)
}

pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The command line as LVM2 records it in descriptions.
pub fn command_line() -> String {
    let args: Vec<String> = std::env::args().collect();
    let mut words = args;
    if let Some(first) = words.first_mut() {
        if let Some(base) = std::path::Path::new(first.as_str()).file_name() {
            *first = base.to_string_lossy().into_owned();
        }
    }
    if words.first().map(|w| w == "rlvm").unwrap_or(false) {
        words.remove(0);
    }
    words.join(" ")
}

impl VgHandle {
    /// A handle for a VG that does not exist on disk yet (vgcreate).
    pub fn new_vg(vg: Vg, pvs: Vec<PvInfo>) -> VgHandle {
        let mut committed = vg.clone();
        committed.seqno = 0;
        let mut pv_paths = BTreeMap::new();
        let mut map = BTreeMap::new();
        for (p, info) in vg.pvs.iter().zip(pvs) {
            pv_paths.insert(p.key.clone(), info.path.clone());
            map.insert(p.key.clone(), info);
        }
        VgHandle {
            vg: vg.into(),
            committed: Arc::new(committed),
            pv_paths,
            pvs: map,
            missing: Vec::new(),
            warnings: Vec::new(),
            duplicates: Vec::new(),
            disagreeing: Vec::new(),
            mismatched: BTreeSet::new(),
            repair: false,
            moved: BTreeSet::new(),
            relabel: BTreeSet::new(),
            flush_with_commit: BTreeSet::new(),
            backup_ahead: false,
        }
    }

    /// Copies of the newest metadata that disagree (same seqno, other
    /// text) are a VG whose true state is unknown: it is not written,
    /// except by an explicit repair ([`VgHandle::allow_repair`]).
    pub fn check_consistent(&self) -> Result<(), StoreError> {
        match self.disagreeing.first() {
            Some(path) if !self.repair => Err(StoreError::CopiesDisagree {
                vg: self.vg.name.clone(),
                seqno: self.committed.seqno,
                path: path.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// The user asked to repair (vgck --updatemetadata): the copy read
    /// (the first seen) is written over the disagreeing ones.
    pub fn allow_repair(&mut self) {
        self.repair = true;
    }

    /// LVM2 writes no VG with a PV on duplicate devices: which copy is
    /// right is the user's call (a filter, or `pvremove -ff` of a clone).
    pub fn check_no_duplicates(&self) -> Result<(), StoreError> {
        if self.duplicates.is_empty() {
            Ok(())
        } else {
            Err(StoreError::DuplicatePvs(self.vg.name.clone()))
        }
    }

    /// vgimportclone: the VG becomes a new one — UUID `vg_id`, name
    /// `name` — and each PV gets a new UUID (`pv_ids`, by PV key), in its
    /// metadata and its label (LVM2's `_update_vg` in
    /// tools/vgimportclone.c). The labels are rewritten by the next
    /// commit, with the new text and before its precommit (LVM2's
    /// `vg_write` writes its `pv_write_list` there too).
    pub fn new_identity(&mut self, vg_id: Id, name: &str, pv_ids: &BTreeMap<String, Id>) {
        self.vg.id = vg_id;
        self.vg.name = name.to_string();
        for pv in self.vg.pvs.iter_mut() {
            let Some(id) = pv_ids.get(&pv.key) else {
                continue;
            };
            pv.id = *id;
            if let Some(info) = self.pvs.get_mut(&pv.key) {
                info.label.header.id = *id;
                self.relabel.insert(info.path.clone());
            }
        }
    }

    /// vgmerge: the PVs and LVs of `from` join this VG (LVM2's
    /// tools/vgmerge.c): its PVs take keys after ours (`pvN`, segments
    /// follow), an LV whose UUID one of ours has gets a new one, and LV
    /// UUIDs become this VG's (dm UUIDs are VG UUID + LV UUID). The caller
    /// checks compatibility (extent size, limits, names, inactive LVs);
    /// nothing is written until `commit`.
    pub fn absorb(&mut self, from: VgHandle) {
        let mut next = self
            .vg
            .pvs
            .iter()
            .filter_map(|p| p.key.strip_prefix("pv").and_then(|n| n.parse::<u64>().ok()))
            .max()
            .map_or(0, |n| n + 1);
        let mut keys: BTreeMap<String, String> = BTreeMap::new();
        for pv in &from.vg.pvs {
            let mut key = format!("pv{next}");
            while self.vg.pvs.iter().any(|p| p.key == key) {
                next += 1;
                key = format!("pv{next}");
            }
            next += 1;
            keys.insert(pv.key.clone(), key);
        }
        let from_vg = from.vg.into_inner();
        for mut pv in from_vg.pvs {
            let key = keys[&pv.key].clone();
            if let Some(path) = from.pv_paths.get(&pv.key) {
                self.pv_paths.insert(key.clone(), path.clone());
                self.moved.insert(path.clone());
            }
            if let Some(info) = from.pvs.get(&pv.key) {
                self.pvs.insert(key.clone(), info.clone());
            }
            if from.missing.contains(&pv.key) {
                self.missing.push(key.clone());
            }
            pv.key = key;
            self.vg.pvs.push(pv);
        }
        for mut lv in from_vg.lvs {
            while self.vg.lvs.iter().any(|l| l.id == lv.id) {
                lv.id = Id::random();
            }
            for seg in lv.segments.iter_mut() {
                if let super::model::SegmentKind::Striped { stripes, .. } = &mut seg.kind {
                    for a in stripes.iter_mut() {
                        if let Some(k) = keys.get(&a.pv) {
                            a.pv = k.clone();
                        }
                    }
                }
            }
            self.vg.lvs.push(lv);
        }
        self.warnings.extend(from.warnings);
        self.duplicates.extend(from.duplicates);
        self.disagreeing.extend(from.disagreeing);
        self.mismatched.extend(from.mismatched);
    }

    /// For vgcfgrestore: the restored metadata counts as seqno `seqno`, so
    /// the commit writes `seqno + 1` (what LVM2 does, whatever is on disk).
    pub fn set_committed_seqno(&mut self, seqno: u32) {
        Arc::make_mut(&mut self.committed).seqno = seqno;
    }

    pub fn pv_path(&self, key: &str) -> Option<&str> {
        self.pv_paths.get(key).map(|s| s.as_str())
    }

    /// Makes the next commit flush `path` with its precommit: what was
    /// written there (a new LV's zeroed start, on the PV under it) is then
    /// durable, and written back to the device under the kernel's dm
    /// devices, before the kernel is changed or the committed slot points
    /// at the new text, as a flush of its own right after the write would
    /// make it, without the wait of a flush of its own (a block device's
    /// fdatasync writes back every dirty page of the device, whatever
    /// descriptor wrote it). Without a commit, nothing needs it: the bytes
    /// are in no LV.
    pub fn flush_with_commit(&mut self, path: String) {
        self.flush_with_commit.insert(path);
    }

    /// The last committed metadata.
    pub fn committed(&self) -> &Vg {
        &self.committed
    }
    pub fn committed_seqno(&self) -> u32 {
        self.committed.seqno
    }

    /// The committed metadata in backup-file form, or None for a VG not
    /// yet on disk: after this command's commit (a backup, "Created
    /// *after* executing"), or before it (an archive, "*before*", as
    /// LVM2 describes the two).
    pub fn committed_file_text(&self) -> Option<String> {
        let ahead = FILE_TEXT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take_if(|(vg, _)| Arc::ptr_eq(vg, &self.committed));
        if let Some(text) = ahead.and_then(|(_, thread)| thread.join().ok()) {
            return Some(text);
        }
        self.committed_text_described("after")
    }

    /// [`Self::committed_file_text`] for the archive written before a
    /// commit.
    pub fn committed_archive_text(&self) -> Option<String> {
        self.committed_text_described("before")
    }

    fn committed_text_described(&self, when: &str) -> Option<String> {
        if self.committed.seqno == 0 {
            return None;
        }
        Some(file_text(&self.committed, when))
    }

    /// Commits `self.vg` (seqno + 1) to every metadata area of every PV in
    /// the VG. Returns warnings (repairs made). On error before the first
    /// committed slot is written, nothing on disk refers to the new text.
    pub fn commit(
        &mut self,
        opener: &dyn DevOpener,
        description: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.commit_around(opener, description, || {
            Ok::<(), std::convert::Infallible>(())
        })
        .map_err(|e| match e {
            CommitError::Store(e) => e,
            CommitError::Between(never) => match never {},
        })
    }

    /// Phases 1 and 2 of a commit: `text` (the export of `new`) into the
    /// free space of every area (no header touched), labels that need it,
    /// then the precommit slot and one flush per device written.
    fn write_precommitted(
        &self,
        opener: &dyn DevOpener,
        new: &Vg,
        text: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Precommitted, StoreError> {
        // Phase 1: text into free space of every area (no header touched).
        // Devices written to (text, header or label): only those are
        // flushed, a PV whose areas are all ignored (--metadatacopies)
        // has nothing to make durable.
        let mut devs: Vec<(String, Box<dyn BlockDev>)> = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut labels: Vec<(String, Label)> = Vec::new();
        let mut prepared: Option<mda::PreparedText> = None;
        for p in &new.pvs {
            let Some(info) = self.pvs.get(&p.key) else {
                continue;
            };
            let dev = opener.open(&info.path, true).map_err(io_err(&info.path))?;
            let mut label = info.label.clone();
            if label.header.ext_version < 2
                || label.header.ext_flags & PV_EXT_USED == 0
                || self.relabel.contains(&info.path)
            {
                label.header.ext_version = 2;
                label.header.ext_flags |= PV_EXT_USED;
                labels.push((info.path.clone(), label.clone()));
            }
            let mut touched = labels.last().is_some_and(|(path, _)| *path == info.path);
            for locn in &label.header.metadata_areas {
                if self.mismatched.contains(&info.path) && !self.repair {
                    break;
                }
                let header = match mda::read_mda_header(dev.as_ref(), locn.offset) {
                    Ok(h) => h,
                    Err(e) => {
                        warnings.push(format!(
                            "Repairing metadata area at offset {} on {} ({e}).",
                            locn.offset, info.path
                        ));
                        mda::init_mda(dev.as_ref(), locn.offset, locn.size)
                            .map_err(mda_err(&info.path))?;
                        touched = true;
                        mda::read_mda_header(dev.as_ref(), locn.offset)
                            .map_err(mda_err(&info.path))?
                    }
                };
                if header.slots[0].flags & mda::RAW_LOCN_IGNORED != 0 {
                    continue;
                }
                let wrote_seqno = mda::read_text_head(dev.as_ref(), &header, 4096)
                    .ok()
                    .flatten()
                    .and_then(|b| seqno_at_head(&b));
                if let Some(s) = wrote_seqno {
                    if s != self.committed.seqno && !self.moved.contains(&info.path) {
                        warnings.push(format!(
                            "updating old metadata to {} on {}",
                            new.seqno, info.path
                        ));
                    }
                }
                // Checked and checksummed once, for the first area written.
                let ready = match prepared.take() {
                    Some(p) => p,
                    None => mda::PreparedText::new(text.as_bytes()).map_err(mda_err(&info.path))?,
                };
                let locn = mda::write_prepared(dev.as_ref(), &header, &ready);
                prepared = Some(ready);
                let locn = locn.map_err(mda_err(&info.path))?;
                touched = true;
                pending.push(Pending {
                    dev: devs.len(),
                    header,
                    locn,
                });
            }
            if touched {
                devs.push((info.path.clone(), dev));
            }
        }
        if pending.is_empty() {
            return Err(StoreError::NoMetadataAreas(new.name.clone()));
        }
        for (path, label) in &labels {
            if let Some((_, dev)) = devs.iter().find(|(p, _)| p == path) {
                label::write_label(dev.as_ref(), label).map_err(label_err(path))?;
            }
        }
        // Phase 2: precommit slot, then flush everything: one sync per
        // device makes the new text (and the precommit slot, which no
        // reader takes for the committed copy) durable before phase 3
        // points the committed slot at it.
        for p in &mut pending {
            let (path, dev) = &devs[p.dev];
            p.header.slots[1] = p.locn;
            mda::put_mda_header(dev.as_ref(), &p.header).map_err(mda_err(path))?;
        }
        // Devices written for this commit outside the areas ride on the
        // same flush (`flush_with_commit`); phase 3 flushes only the
        // areas' devices again.
        let written = devs.len();
        for path in &self.flush_with_commit {
            if !devs.iter().any(|(p, _)| p == path) {
                let dev = opener.open(path, true).map_err(io_err(path))?;
                devs.push((path.clone(), dev));
            }
        }
        sync_all(&devs)?;
        devs.truncate(written);
        Ok((devs, pending, labels))
    }

    /// Commits `self.vg` in two halves around `between`, LVM2's
    /// `vg_write` / `vg_commit` split: the new text and the precommit slot
    /// are written and flushed, then `between` runs (the kernel's preload
    /// and suspend), and only if it succeeds the committed slot is
    /// switched. A crash or a failure in `between` leaves the committed
    /// slot on the old text: readers (rlvm's and LVM2's) see the old VG,
    /// and the next commit overwrites the dangling precommit slot.
    pub fn commit_around<E>(
        &mut self,
        opener: &dyn DevOpener,
        description: &str,
        between: impl FnOnce() -> Result<(), E>,
    ) -> Result<Vec<String>, CommitError<E>> {
        self.check_no_duplicates()?;
        self.check_consistent()?;
        // The working copy itself becomes the new VG (a copy of a VG of
        // thousands of LVs per commit saved): it is back in `self.vg`
        // whatever happens, changed only where a commit recomputes
        // anyway (seqno, device hints, MISSING PVs, the LVs' order).
        let mut new = std::mem::replace(&mut self.vg, WorkingVg::shared(&self.committed));
        let done = self.commit_new(&mut new, opener, description, between);
        self.vg = new;
        done
    }

    /// [`Self::commit_around`] of `new`, the handle's working copy.
    fn commit_new<E>(
        &mut self,
        new: &mut WorkingVg,
        opener: &dyn DevOpener,
        description: &str,
        between: impl FnOnce() -> Result<(), E>,
    ) -> Result<Vec<String>, CommitError<E>> {
        let mut warnings = Vec::new();
        new.check_writable().map_err(StoreError::from)?;
        new.seqno = self.committed.seqno.wrapping_add(1).max(1);
        for pv in new.pvs.iter_mut() {
            if let Some(path) = self.pv_paths.get(&pv.key) {
                pv.device = Some(path.clone());
            }
            // A PV not found is written as LVM2 writes it: MISSING, device
            // unknown. Only the PVs present get the new metadata.
            if self.missing.contains(&pv.key) {
                pv.flags.set("MISSING");
                pv.device = Some("[unknown]".to_string());
            }
        }
        // Keep LVs in the order the text lists them (LVM2 writes visible
        // LVs first), so memory and disk agree.
        let visible = new.visible_flags();
        if visible.windows(2).any(|w| !w[0] && w[1]) {
            let lvs = std::mem::take(&mut new.lvs);
            let mut shown = Vec::with_capacity(lvs.len());
            let mut hidden = Vec::new();
            for (lv, v) in lvs.into_iter().zip(visible) {
                if v {
                    shown.push(lv);
                } else {
                    hidden.push(lv);
                }
            }
            shown.extend(hidden);
            new.lvs = shown;
        }
        let new: &Vg = new;
        validate::validate_vg(new).map_err(|source| StoreError::Invalid {
            vg: new.name.clone(),
            source,
        })?;
        let header = text_header(&format!("Write from {}.", description));
        let text = text::export_disk(new, &header);
        crate::metadata::phase::mark("validate-export");
        // Self-check: what we write must read back as exactly what we mean.
        // The import runs on a thread of its own while the text is written
        // and flushed (under emulation, most of a write's CPU), and is
        // waited for before anything else happens: nothing reaches the
        // kernel (`between`) or the committed slot unless it passed; a
        // failure leaves the precommit slot dangling, as a failed
        // `between` does.
        let (imported, devs, mut pending, labels) = std::thread::scope(|s| {
            let check = std::thread::Builder::new()
                .spawn_scoped(s, || round_trip(&text, new))
                .ok();
            let written = self.write_precommitted(opener, new, &text, &mut warnings);
            crate::metadata::phase::mark("precommit-written-flushed");
            let imported = match check {
                Some(h) => h.join().unwrap_or_else(|_| {
                    Err(StoreError::NoRoundTrip(
                        "the self-check's thread failed".to_string(),
                    ))
                }),
                None => round_trip(&text, new),
            };
            let (devs, pending, labels) = written?;
            crate::metadata::phase::mark("self-check-joined");
            Ok::<_, StoreError>((imported?, devs, pending, labels))
        })?;
        self.flush_with_commit.clear();
        if self.backup_ahead {
            let vg = Arc::clone(&imported.0);
            let spawned = std::thread::Builder::new().spawn(move || file_text(&vg, "after"));
            *FILE_TEXT.lock().unwrap_or_else(|e| e.into_inner()) =
                spawned.ok().map(|t| (Arc::clone(&imported.0), t));
        }
        between().map_err(CommitError::Between)?;
        crate::metadata::phase::mark("kernel-between");
        // Phase 3: committed slot; clear precommit; flush (one sync per
        // device: the commit is durable when this returns).
        for p in &mut pending {
            let (path, dev) = &devs[p.dev];
            p.header.slots[0] = p.locn;
            p.header.slots[1] = RawLocn::default();
            mda::put_mda_header(dev.as_ref(), &p.header).map_err(mda_err(path))?;
        }
        crate::metadata::phase::mark("commit-slot-written");
        sync_all(&devs)?;
        for (key, info) in self.pvs.iter_mut() {
            if let Some((_, l)) = labels.iter().find(|(path, _)| *path == info.path) {
                info.label = l.clone();
            }
            let _ = key;
        }
        // Every area written now holds the new text: nothing disagrees
        // any more (a mismatched area left alone now holds old metadata).
        self.disagreeing.clear();
        if self.repair {
            self.mismatched.clear();
        }
        self.moved.clear();
        self.relabel.clear();
        // The next read of this VG (the backup, another command step) finds
        // the text just written already imported.
        self.committed = Arc::clone(&imported.0);
        PARSED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(text.into_bytes(), Ok(imported));
        Ok(warnings)
    }

    /// Removes the VG from its PVs (vgremove): both slots of every area
    /// are cleared and the PVs' "used" flag dropped. The text stays, as
    /// with LVM2.
    pub fn remove(&self, opener: &dyn DevOpener) -> Result<(), StoreError> {
        self.check_no_duplicates()?;
        self.check_consistent()?;
        for info in self.pvs.values() {
            let dev = opener.open(&info.path, true).map_err(io_err(&info.path))?;
            for locn in &info.label.header.metadata_areas {
                if let Ok(mut h) = mda::read_mda_header(dev.as_ref(), locn.offset) {
                    h.slots = [RawLocn::default(), RawLocn::default()];
                    mda::write_mda_header(dev.as_ref(), &h).map_err(mda_err(&info.path))?;
                } else {
                    mda::init_mda(dev.as_ref(), locn.offset, locn.size)
                        .map_err(mda_err(&info.path))?;
                }
            }
            let mut label = info.label.clone();
            label.header.ext_flags &= !PV_EXT_USED;
            label.header.ext_version = 2;
            label::write_label(dev.as_ref(), &label).map_err(label_err(&info.path))?;
            dev.sync().map_err(io_err(&info.path))?;
        }
        Ok(())
    }
}

/// Names the first part of two VGs that differs (for the self-check's
/// error message).
/// An area written by a commit, waiting for its committed slot.
struct Pending {
    dev: usize,
    header: MdaHeader,
    locn: RawLocn,
}

/// What phases 1 and 2 of a commit wrote: the devices (to flush again),
/// the areas, and the labels rewritten.
type Precommitted = (
    Vec<(String, Box<dyn BlockDev>)>,
    Vec<Pending>,
    Vec<(String, Label)>,
);

/// The commit's self-check: `text` imported must be `new`; the import is
/// what the cache keeps for the text.
fn round_trip(text: &str, new: &Vg) -> Result<Arc<(Arc<Vg>, TextHeader)>, StoreError> {
    #[cfg(test)]
    if FAIL_ROUND_TRIP.lock().unwrap().as_deref() == Some(new.name.as_str()) {
        return Err(StoreError::NoRoundTrip("made to fail".into()));
    }
    match text::import_vg(text) {
        Ok((back, h)) if back == *new => Ok(Arc::new((Arc::new(back), h))),
        Ok((back, _)) => Err(StoreError::NoRoundTrip(round_trip_difference(new, &back))),
        Err(e) => Err(StoreError::Unparsable(e)),
    }
}

/// Tests: the VG whose self-check fails (by name: tests run at once).
#[cfg(test)]
static FAIL_ROUND_TRIP: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn round_trip_difference(a: &Vg, b: &Vg) -> String {
    for (x, y) in a.pvs.iter().zip(&b.pvs) {
        if x != y {
            return format!("PV {}: {:?} vs {:?}", x.key, x, y);
        }
    }
    for (x, y) in a.lvs.iter().zip(&b.lvs) {
        if x != y {
            return format!("LV {}: {:?} vs {:?}", x.name, x, y);
        }
    }
    let mut a2 = a.clone();
    a2.pvs.clear();
    a2.lvs.clear();
    let mut b2 = b.clone();
    b2.pvs.clear();
    b2.lvs.clear();
    format!("VG: {a2:?} vs {b2:?}")
}

/// A new, empty VG on freshly labelled PVs (what vgcreate writes, before
/// its first commit): PVs keyed pv0, pv1, ... in the given order, as many
/// whole extents as fit on each.
pub fn new_vg(name: &str, extent_size: u64, infos: &[PvInfo]) -> Vg {
    use super::model::{Flags, Pv};
    let pvs = infos
        .iter()
        .enumerate()
        .map(|(i, info)| Pv {
            key: format!("pv{i}"),
            id: info.id(),
            device: Some(info.path.clone()),
            device_id_type: None,
            device_id: None,
            status: Flags::new(&["ALLOCATABLE"]),
            flags: Flags::default(),
            tags: Vec::new(),
            dev_size: Some(info.label.header.orphan_size_sectors(info.size)),
            pe_start: info.pe_start_sectors(),
            pe_count: pe_count_for(info, extent_size),
            ba_start: None,
            ba_size: None,
        })
        .collect();
    Vg {
        name: name.to_string(),
        id: Id::random(),
        seqno: 0,
        format: Some("lvm2".into()),
        status: Flags::new(&["RESIZEABLE", "READ", "WRITE"]),
        flags: Flags::default(),
        tags: Vec::new(),
        system_id: None,
        extent_size,
        max_lv: 0,
        max_pv: 0,
        allocation_policy: None,
        metadata_copies: Some(0),
        pvs,
        lvs: Vec::new(),
        unsupported: None,
    }
}

/// Layout choices for a new PV (pvcreate).
#[derive(Clone, Debug)]
pub struct PvLayout {
    /// Size of each metadata area in bytes (mda1 is at 4096).
    pub mda_size: u64,
    /// 0, 1 or 2 metadata areas.
    pub mda_copies: u32,
    /// First data byte (pe_start).
    pub pe_start: u64,
}

impl Default for PvLayout {
    fn default() -> Self {
        PvLayout {
            mda_size: 1024 * 1024 - 4096,
            mda_copies: 1,
            pe_start: 1024 * 1024,
        }
    }
}

/// The second metadata area, when asked for, sits at the end of the device.
fn mda2_start(dev_size: u64, mda_size: u64) -> u64 {
    (dev_size.saturating_sub(mda_size)) & !4095
}

/// Writes a new PV label and empty metadata areas on `dev` (pvcreate):
/// `plan_pv` then `write_pv`.
pub fn create_pv(
    dev: &dyn BlockDev,
    path: &str,
    id: Id,
    layout: &PvLayout,
) -> Result<PvInfo, StoreError> {
    let size = dev.size().map_err(io_err(path))?;
    let planned = plan_pv(size, path, id, layout)?;
    write_pv(dev, &planned)
}

/// The PV that `create_pv` would write on a device of `size` bytes, without
/// writing it: commands check every device (size, extents) before they
/// write to any.
pub fn plan_pv(size: u64, path: &str, id: Id, layout: &PvLayout) -> Result<PvInfo, StoreError> {
    let mut metadata_areas = Vec::new();
    if layout.mda_copies >= 1 {
        metadata_areas.push(DiskLocn {
            offset: 4096,
            size: layout.mda_size.min(layout.pe_start.saturating_sub(4096)),
        });
    }
    if layout.mda_copies >= 2 {
        let start = mda2_start(size, layout.mda_size);
        metadata_areas.push(DiskLocn {
            offset: start,
            size: size - start,
        });
    }
    let min_size = layout.pe_start + 2 * 1024 * 1024;
    if size < min_size {
        return Err(StoreError::TooSmall {
            path: path.to_string(),
            need_kib: min_size / 1024,
        });
    }
    let label = Label {
        sector: 1,
        header: PvHeader {
            id,
            device_size: size,
            data_areas: vec![DiskLocn {
                offset: layout.pe_start,
                size: 0,
            }],
            metadata_areas,
            ext_version: 2,
            ext_flags: 0,
            bootloader_areas: Vec::new(),
        },
    };
    Ok(PvInfo {
        path: path.to_string(),
        size,
        label,
        mdas: Vec::new(),
    })
}

/// Writes the PV `plan_pv` planned onto `dev`: the label sectors and the
/// first text sector of each area are zeroed, areas are written before the
/// label so a half-made PV has no label.
pub fn write_pv(dev: &dyn BlockDev, planned: &PvInfo) -> Result<PvInfo, StoreError> {
    let path = planned.path.as_str();
    let zero = vec![0u8; 4096];
    dev.write_at(0, &zero).map_err(io_err(path))?;
    let mut mdas = Vec::new();
    for locn in &planned.label.header.metadata_areas {
        mda::init_mda(dev, locn.offset, locn.size).map_err(mda_err(path))?;
        mdas.push(MdaState {
            locn: *locn,
            header: mda::read_mda_header(dev, locn.offset).map_err(MdaDamage::from),
            committed: None,
            damaged_vg_name: None,
        });
    }
    label::write_label(dev, &planned.label).map_err(label_err(path))?;
    dev.sync().map_err(io_err(path))?;
    Ok(PvInfo {
        mdas,
        ..planned.clone()
    })
}

/// Usable extents on a PV of `dev_size` bytes for a VG with
/// `extent_size` sectors (space of a trailing second mda excluded).
pub fn pe_count_for(info: &PvInfo, extent_size: u64) -> u64 {
    let pe_start = info.pe_start_sectors() * 512;
    let end = info
        .label
        .header
        .metadata_areas
        .iter()
        .filter(|m| m.offset > pe_start)
        .map(|m| m.offset)
        .min()
        // Not past the size the label records (--setphysicalvolumesize).
        .unwrap_or(
            info.size
                .min(info.label.header.orphan_size_sectors(info.size) * 512),
        );
    if extent_size == 0 {
        return 0;
    }
    end.saturating_sub(pe_start) / (extent_size * 512)
}

/// LVM2's `check_pv_dev_sizes` (lib/metadata/metadata.c): one warning
/// per PV whose device (`PvInfo::size`) is smaller than the size the VG
/// records for it (`dev_size`, from the label: pvcreate or pvresize
/// `--setphysicalvolumesize`). Callers print them when
/// `metadata/check_pv_device_sizes` is on (LVM2's default).
pub fn pv_size_warnings<'a>(
    pvs: impl IntoIterator<Item = (&'a super::model::Pv, &'a PvInfo)>,
) -> Vec<String> {
    pvs.into_iter()
        .filter_map(|(pv, info)| {
            let recorded = pv.dev_size?;
            let dev = info.size / 512;
            (dev < recorded).then(|| {
                format!(
                    "Device {} has size of {dev} sectors which is smaller than corresponding PV size of {recorded} sectors. Was device resized?",
                    info.path
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pv_size_warnings_name_devices_smaller_than_recorded() {
        use crate::metadata::alloc::fixtures::pv;
        use crate::metadata::label::{Label, PvHeader};
        let info = |path: &str, mib: u64| PvInfo {
            path: path.into(),
            size: mib << 20,
            label: Label {
                sector: 1,
                header: PvHeader {
                    id: pv("x", 1).id,
                    device_size: 0,
                    data_areas: vec![],
                    metadata_areas: vec![],
                    ext_version: 2,
                    ext_flags: 0,
                    bootloader_areas: vec![],
                },
            },
            mdas: vec![],
        };
        let (mut a, mut b, c) = (pv("pv0", 1), pv("pv1", 1), pv("pv2", 1));
        a.dev_size = Some(32768); // 16 MiB recorded on an 8 MiB device
        b.dev_size = Some(16384);
        let (ia, ib, ic) = (info("/dev/a", 8), info("/dev/b", 8), info("/dev/c", 1));
        let w = pv_size_warnings([(&a, &ia), (&b, &ib), (&c, &ic)]);
        assert_eq!(
            w,
            ["Device /dev/a has size of 16384 sectors which is smaller than corresponding PV size of 32768 sectors. Was device resized?"]
        );
    }

    /// VGs `vg0` (on one PV) and `vg1` (on another), committed in memory.
    fn two_vgs() -> MemOpener {
        let mut opener = MemOpener::default();
        for (i, name) in ["vg0", "vg1"].iter().enumerate() {
            let path = format!("/dev/mem{i}");
            let d = opener.add(&path, vec![0u8; 8 << 20]);
            let info = create_pv(&d, &path, Id::random(), &PvLayout::default()).unwrap();
            let vg = new_vg(name, 2048, std::slice::from_ref(&info));
            VgHandle::new_vg(vg, vec![info])
                .commit(&opener, "create")
                .unwrap();
        }
        opener
    }

    /// VGs on their own PVs: (name, system ID, VG UUID).
    fn vgs(list: &[(&str, Option<&str>, Id)]) -> MemOpener {
        let mut opener = MemOpener::default();
        for (i, (name, sysid, id)) in list.iter().enumerate() {
            let path = format!("/dev/mem{i}");
            let d = opener.add(&path, vec![0u8; 8 << 20]);
            let info = create_pv(&d, &path, Id::random(), &PvLayout::default()).unwrap();
            let mut vg = new_vg(name, 2048, std::slice::from_ref(&info));
            vg.system_id = sysid.map(str::to_string);
            vg.id = *id;
            VgHandle::new_vg(vg, vec![info])
                .commit(&opener, "create")
                .unwrap();
        }
        opener
    }

    /// LVM2's duplicate VG names: the one local VG is meant; two local
    /// ones (or only foreign ones) are ambiguous; each is still there by
    /// UUID, and every one is listed.
    #[test]
    fn duplicate_names_resolve_to_the_one_local_vg() {
        let (a, b, c) = (Id::random(), Id::random(), Id::random());
        let o = vgs(&[("vg", None, a), ("vg", Some("other"), b)]);
        let sc = scan(&o, &o.names());
        assert_eq!(sc.resolve_vg_name("vg").unwrap(), a);
        assert_eq!(sc.vg("vg").unwrap().vg.id, a);
        assert_eq!(sc.vg_ids().len(), 2);
        assert!(matches!(
            sc.vg_by_id(&b, Access::default()),
            Err(StoreError::VgForeign { .. })
        ));
        assert_eq!(sc.vg_by_id(&b, Access::ANY).unwrap().vg.id, b);

        let o = vgs(&[("vg", None, a), ("vg", None, b), ("vg", Some("x"), c)]);
        let sc = scan(&o, &o.names());
        assert!(matches!(sc.vg("vg"), Err(StoreError::DuplicateVgName(_))));
        assert_eq!(sc.vg_by_id(&b, Access::default()).unwrap().vg.id, b);
        assert_eq!(sc.vg_ids().len(), 3);

        let o = vgs(&[("vg", Some("x"), a), ("vg", Some("y"), b)]);
        let sc = scan(&o, &o.names());
        assert!(matches!(
            sc.vg_with("vg", Access::ANY),
            Err(StoreError::DuplicateVgName(_))
        ));
    }

    /// One UUID, two names, no PV in common (a dd copy renamed and given
    /// new PV UUIDs): two VGs, each read from its own PV only.
    #[test]
    fn same_uuid_on_disjoint_pvs_is_two_vgs() {
        let a = Id::random();
        let o = vgs(&[("vg1", None, a), ("vg2", None, a)]);
        let sc = scan(&o, &o.names());
        assert_eq!(
            sc.vg_ids(),
            vec![("vg1".to_string(), a), ("vg2".to_string(), a)]
        );
        for (name, path) in [("vg1", "/dev/mem0"), ("vg2", "/dev/mem1")] {
            let h = sc.vg(name).unwrap();
            assert!(h.warnings.is_empty(), "{:?}", h.warnings);
            assert_eq!(h.pv_paths.values().collect::<Vec<_>>(), [path]);
        }
        assert!(sc.orphans().is_empty());
    }

    /// The seqno read from the head of the text is the VG's, not a
    /// nested section's or a comment's.
    #[test]
    fn seqno_at_head_reads_the_vg_section() {
        let opener = two_vgs();
        let mut h = scan(&opener, &opener.names()).vg("vg0").unwrap();
        h.vg.seqno = 41;
        let text = text::export_disk(&h.vg, &text_header("test"));
        assert_eq!(seqno_at_head(text.as_bytes()), Some(41));
        let nested = "vg0 {\n# seqno = 7\nid = \"x\"\nsub {\nseqno = 9\n}\nseqno = 12\n}\n";
        assert_eq!(seqno_at_head(nested.as_bytes()), Some(12));
        assert_eq!(seqno_at_head(b"vg0 {\n}\n"), None);
        assert_eq!(seqno_at_head(b"\xff\xfe"), None);
    }

    /// What a drive with a volatile write cache may do: every write and
    /// sync of every device, in order.
    /// (device, Some(write offset) | None for a sync), in order.
    type IoLog = std::sync::Arc<std::sync::Mutex<Vec<(String, Option<u64>)>>>;
    struct LoggingOpener {
        inner: MemOpener,
        log: IoLog,
    }
    struct LoggingDev {
        inner: Box<dyn BlockDev>,
        path: String,
        log: IoLog,
    }
    impl BlockDev for LoggingDev {
        fn size(&self) -> io::Result<u64> {
            self.inner.size()
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            self.inner.read_at(offset, buf)
        }
        fn write_at(&self, offset: u64, buf: &[u8]) -> io::Result<()> {
            self.log
                .lock()
                .unwrap()
                .push((self.path.clone(), Some(offset)));
            self.inner.write_at(offset, buf)
        }
        fn sync(&self) -> io::Result<()> {
            self.log.lock().unwrap().push((self.path.clone(), None));
            self.inner.sync()
        }
    }
    impl DevOpener for LoggingOpener {
        fn open(&self, path: &str, writable: bool) -> io::Result<Box<dyn BlockDev>> {
            Ok(Box::new(LoggingDev {
                inner: self.inner.open(path, writable)?,
                path: path.to_string(),
                log: self.log.clone(),
            }))
        }
    }

    /// A commit flushes each device twice, and the committed slot is
    /// written only after a sync of that device that follows the text:
    /// a drive cache cannot make the header point at text it lost.
    /// VG `vg0` (extent size 2048 sectors) on two fresh 8 MiB PVs
    /// `/dev/<prefix>0` and `/dev/<prefix>1`, committed once.
    fn two_pv_vg(opener: &mut MemOpener, prefix: &str) -> VgHandle {
        let mut infos = Vec::new();
        for i in 0..2 {
            let path = format!("/dev/{prefix}{i}");
            let d = opener.add(&path, vec![0u8; 8 << 20]);
            infos.push(create_pv(&d, &path, Id::random(), &PvLayout::default()).unwrap());
        }
        let mut h = VgHandle::new_vg(new_vg("vg0", 2048, &infos), infos);
        h.commit(opener, "create").unwrap();
        h
    }

    #[test]
    fn commit_orders_text_before_committed_slot_with_two_syncs_per_device() {
        let mut inner = MemOpener::default();
        two_pv_vg(&mut inner, "mem");
        let opener = LoggingOpener {
            inner,
            log: Default::default(),
        };
        let mut h = scan(&opener, &opener.inner.names()).vg("vg0").unwrap();
        h.vg.tags.push("t".into());
        opener.log.lock().unwrap().clear();
        h.commit(&opener, "tag").unwrap();
        let log = opener.log.lock().unwrap().clone();
        for dev in ["/dev/mem0", "/dev/mem1"] {
            let mine: Vec<Option<u64>> = log
                .iter()
                .filter(|(p, _)| p == dev)
                .map(|(_, o)| *o)
                .collect();
            let syncs: Vec<usize> = (0..mine.len()).filter(|&i| mine[i].is_none()).collect();
            assert_eq!(syncs.len(), 2, "{dev}: {mine:?}");
            // Writes before the first sync: text, then the precommit header;
            // between the syncs: only the header sector (slot 0).
            let header_writes: Vec<u64> = mine[syncs[0] + 1..syncs[1]]
                .iter()
                .flatten()
                .copied()
                .collect();
            assert_eq!(header_writes.len(), 1, "{dev}: {mine:?}");
            let hdr_off = header_writes[0];
            assert!(
                mine[..syncs[0]].iter().flatten().any(|&o| o != hdr_off),
                "{dev}: no text write before the first sync: {mine:?}"
            );
            assert_eq!(
                syncs[1],
                mine.len() - 1,
                "{dev}: writes after the last sync"
            );
        }
        let back = scan(&opener.inner, &opener.inner.names())
            .vg("vg0")
            .unwrap();
        assert_eq!(back.vg.tags, ["t"]);
    }

    /// A device written for a commit outside the areas (a new LV's zeroed
    /// start, `flush_with_commit`) is flushed once, with the precommit,
    /// before `between` runs; a device that also holds an area gets no
    /// flush more than its two; the next commit flushes neither again.
    #[test]
    fn devices_written_for_a_commit_are_flushed_with_its_precommit() {
        let mut inner = MemOpener::default();
        two_pv_vg(&mut inner, "fw");
        inner.add("/dev/fwother", vec![0u8; 1 << 20]);
        let opener = LoggingOpener {
            inner,
            log: Default::default(),
        };
        let mut h = scan(&opener, &opener.inner.names()).vg("vg0").unwrap();
        h.vg.tags.push("t".into());
        h.flush_with_commit("/dev/fwother".into());
        h.flush_with_commit("/dev/fw1".into());
        opener.log.lock().unwrap().clear();
        let mut at_between = None;
        h.commit_around(&opener, "tag", || {
            at_between = Some(opener.log.lock().unwrap().clone());
            Ok::<(), ()>(())
        })
        .unwrap();
        let syncs = |log: &[(String, Option<u64>)], dev: &str| {
            log.iter().filter(|(p, o)| p == dev && o.is_none()).count()
        };
        let before = at_between.expect("between ran");
        let log = opener.log.lock().unwrap().clone();
        assert_eq!(syncs(&before, "/dev/fwother"), 1, "{before:?}");
        assert_eq!(syncs(&log, "/dev/fwother"), 1, "{log:?}");
        for dev in ["/dev/fw0", "/dev/fw1"] {
            assert_eq!(syncs(&before, dev), 1, "{dev}: {before:?}");
            assert_eq!(syncs(&log, dev), 2, "{dev}: {log:?}");
        }
        opener.log.lock().unwrap().clear();
        h.vg.tags.push("u".into());
        h.commit(&opener, "tag").unwrap();
        let log = opener.log.lock().unwrap().clone();
        assert_eq!(syncs(&log, "/dev/fwother"), 0, "{log:?}");
        assert_eq!(syncs(&log, "/dev/fw1"), 2, "{log:?}");
    }

    /// A commit with `backup_ahead` exports the backup text beside the
    /// rest of the commit: the text `committed_file_text` returns is the
    /// committed VG's (the tag just committed in it), taken once; a handle
    /// whose copy is another (read again) exports its own.
    #[test]
    fn backup_text_made_ahead_is_the_committed_copys() {
        let mut o = MemOpener::default();
        two_pv_vg(&mut o, "mem");
        let mut h = scan(&o, &o.names()).vg("vg0").unwrap();
        h.backup_ahead = true;
        for tag in ["first", "second"] {
            h.vg.tags = vec![tag.to_string()];
            h.commit(&o, "tag").unwrap();
        }
        let made = |t: &str| {
            let i = t.find("vg0 {").expect("a VG section");
            t[i..].to_string()
        };
        let pending = || {
            FILE_TEXT
                .lock()
                .unwrap()
                .as_ref()
                .is_some_and(|(vg, _)| Arc::ptr_eq(vg, &h.committed))
        };
        assert!(pending(), "no text under way for the committed copy");
        let ahead = h.committed_file_text().unwrap();
        assert!(!pending(), "the text under way was not taken");
        assert!(ahead.contains("tags = [\"second\"]"), "{ahead}");
        assert!(ahead.contains("Created *after* executing"), "{ahead}");
        let again = h.committed_file_text().unwrap();
        assert_eq!(made(&ahead), made(&again));
        let other = scan(&o, &o.names()).vg("vg0").unwrap();
        assert_eq!(made(&other.committed_file_text().unwrap()), made(&ahead));
    }

    /// The self-check runs beside the writes of the text; when it fails,
    /// `between` never runs and readers still see the committed VG.
    #[test]
    fn a_commit_whose_text_does_not_read_back_changes_nothing() {
        let mut opener = MemOpener::default();
        let mut infos = Vec::new();
        for i in 0..2 {
            let path = format!("/dev/rt{i}");
            let d = opener.add(&path, vec![0u8; 8 << 20]);
            infos.push(create_pv(&d, &path, Id::random(), &PvLayout::default()).unwrap());
        }
        let mut h = VgHandle::new_vg(new_vg("rtcheck", 2048, &infos), infos);
        h.commit(&opener, "create").unwrap();
        let mut h = scan(&opener, &opener.names()).vg("rtcheck").unwrap();
        h.vg.tags.push("t".into());
        *FAIL_ROUND_TRIP.lock().unwrap() = Some("rtcheck".into());
        let mut ran = false;
        let r = h.commit_around(&opener, "tag", || {
            ran = true;
            Ok::<(), ()>(())
        });
        *FAIL_ROUND_TRIP.lock().unwrap() = None;
        assert!(
            matches!(r, Err(CommitError::Store(StoreError::NoRoundTrip(_)))),
            "{r:?}"
        );
        assert!(!ran, "between ran after a failed self-check");
        let back = scan(&opener, &opener.names()).vg("rtcheck").unwrap();
        assert!(back.vg.tags.is_empty());
        assert_eq!(back.committed_seqno(), 1);
        // The next commit writes over the dangling precommit slot.
        let mut h = back;
        h.vg.tags.push("u".into());
        h.commit(&opener, "tag").unwrap();
        let back = scan(&opener, &opener.names()).vg("rtcheck").unwrap();
        assert_eq!(back.vg.tags, ["u"]);
        assert_eq!(back.committed_seqno(), 2);
    }

    /// Two PVs with the same text: parsed once, both read the same VG.
    #[test]
    fn identical_copies_are_parsed_once() {
        let mut cache = ParsedTexts::default();
        let opener = two_vgs();
        let h = scan(&opener, &opener.names()).vg("vg0").unwrap();
        let text = text::export_disk(&h.vg, &text_header("test")).into_bytes();
        let a = cache.import(text.clone()).unwrap();
        let b = cache.import(text).unwrap();
        assert_eq!(a.0, b.0);
        assert_eq!(cache.0.len(), 1);
        assert!(cache.import(b"junk {".to_vec()).is_err());
        assert_eq!(cache.0.len(), 2);
    }

    fn export(opener: &MemOpener, name: &str) {
        let mut h = scan(opener, &opener.names()).vg(name).unwrap();
        h.vg.status.set("EXPORTED");
        h.vg.pvs.iter_mut().for_each(|p| p.status.set("EXPORTED"));
        h.commit(opener, "vgexport").unwrap();
    }

    /// A VG with another host's system ID: refused for use, readable with
    /// `foreign`, its PVs never offered as orphans; its owner uses it.
    #[test]
    fn a_foreign_vg_is_refused() {
        let opener = two_vgs();
        let mut h = scan(&opener, &opener.names()).vg("vg0").unwrap();
        h.vg.system_id = Some("otherhost".into());
        h.commit(&opener, "vgchange --systemid").unwrap();
        let mut s = scan(&opener, &opener.names());
        assert_eq!(
            s.vg("vg0").unwrap_err().to_string(),
            "Cannot access VG vg0 with system ID otherhost with unknown local system ID."
        );
        assert!(s.vg_allow_exported("vg0").is_err());
        let foreign = Access {
            exported: false,
            foreign: true,
        };
        assert_eq!(s.vg_with("vg0", foreign).unwrap().vg.name, "vg0");
        assert_eq!(s.usable_vg_names(), ["vg1"]);
        assert_eq!(s.foreign_vg_names(), ["vg0"]);
        assert!(s.orphans().is_empty());
        let pv = s.pv_by_path("/dev/mem0").unwrap().id();
        assert!(s.pv_is_foreign(&pv));
        s.host.system_id = Some("me".into());
        assert!(s
            .vg("vg0")
            .unwrap_err()
            .to_string()
            .ends_with("with local system ID me."));
        s.host.extra = vec!["otherhost".into()];
        assert!(s.vg("vg0").is_ok());
        s.host = HostId {
            system_id: Some("otherhost".into()),
            extra: vec![],
        };
        assert!(s.vg("vg0").is_ok() && !s.pv_is_foreign(&pv));
    }

    /// Two PVs whose copies have one seqno and different content: read
    /// from the first, warned, not written until an explicit repair.
    #[test]
    fn copies_that_disagree_are_not_written() {
        let mut opener = MemOpener::default();
        let h = two_pv_vg(&mut opener, "two");
        // Rewrite PV 1's copy with other content at the same seqno.
        let mut other = h.vg.clone();
        other.tags.push("other".into());
        let d1 = opener.devs["/dev/two1"].clone();
        let hdr = mda::read_mda_header(&d1, 4096).unwrap();
        let text = text::export_disk(&other, &text_header("planted"));
        let locn = mda::write_text(&d1, &hdr, text.as_bytes()).unwrap();
        let mut hdr2 = hdr;
        hdr2.slots[0] = locn;
        mda::write_mda_header(&d1, &hdr2).unwrap();

        let mut h = scan(&opener, &opener.names()).vg("vg0").unwrap();
        assert_eq!(h.disagreeing, ["/dev/two1"]);
        assert!(h.vg.tags.is_empty(), "the first copy is read");
        assert!(h
            .warnings
            .iter()
            .any(|w| w.contains("found mismatch with other metadata")));
        let before: Vec<Vec<u8>> = opener.devs.values().map(|d| d.to_vec()).collect();
        assert!(matches!(
            h.commit(&opener, "x"),
            Err(StoreError::CopiesDisagree { .. })
        ));
        assert!(h.remove(&opener).is_err());
        let after: Vec<Vec<u8>> = opener.devs.values().map(|d| d.to_vec()).collect();
        assert!(before == after, "nothing written");
        h.allow_repair();
        h.commit(&opener, "vgck --updatemetadata").unwrap();
        let h = scan(&opener, &opener.names()).vg("vg0").unwrap();
        assert!(h.disagreeing.is_empty() && h.warnings.is_empty());
    }

    /// Two PVs whose copies have one seqno and content but other text (a
    /// comment changed): warned about; a commit leaves the odd copy as it
    /// is (then read as old metadata), a repair rewrites it.
    #[test]
    fn copies_with_other_checksums_are_left_until_repair() {
        let mut opener = MemOpener::default();
        let h = two_pv_vg(&mut opener, "ck");
        let d1 = opener.devs["/dev/ck1"].clone();
        let hdr = mda::read_mda_header(&d1, 4096).unwrap();
        let text = text::export_disk(&h.vg, &text_header("planted, other comment"));
        let locn = mda::write_text(&d1, &hdr, text.as_bytes()).unwrap();
        let mut hdr2 = hdr;
        hdr2.slots[0] = locn;
        mda::write_mda_header(&d1, &hdr2).unwrap();

        let mut h = scan(&opener, &opener.names()).vg("vg0").unwrap();
        assert!(h.disagreeing.is_empty());
        assert!(h
            .warnings
            .iter()
            .any(|w| w.contains("found mismatch with other metadata")));
        let seqno = h.committed_seqno();
        h.commit(&opener, "lvcreate").unwrap();
        let mut h = scan(&opener, &opener.names()).vg("vg0").unwrap();
        assert_eq!(h.committed_seqno(), seqno + 1);
        assert!(h
            .warnings
            .iter()
            .any(|w| w.contains(&format!("ignoring metadata seqno {seqno} on /dev/ck1"))));
        h.allow_repair();
        h.commit(&opener, "vgck --updatemetadata").unwrap();
        let h = scan(&opener, &opener.names()).vg("vg0").unwrap();
        assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    }

    /// An ignored area that still points at an old copy (LVM2's
    /// `vgcreate --metadatacopies` leaves slot 0 set, flagged ignored) is
    /// not read: no "ignoring metadata seqno" warning, no copy, and the
    /// commit leaves it alone.
    #[test]
    fn ignored_areas_are_not_read() {
        let mut opener = MemOpener::default();
        two_pv_vg(&mut opener, "ig");
        let d1 = opener.devs["/dev/ig1"].clone();
        let mut hdr = mda::read_mda_header(&d1, 4096).unwrap();
        hdr.slots[0].flags |= mda::RAW_LOCN_IGNORED;
        mda::write_mda_header(&d1, &hdr).unwrap();
        let mut h = scan(&opener, &opener.names()).vg("vg0").unwrap();
        h.vg.tags.push("t".into());
        h.commit(&opener, "vgchange --addtag").unwrap();
        assert_eq!(mda::read_mda_header(&d1, 4096).unwrap(), hdr);
        let sc = scan(&opener, &opener.names());
        assert!(sc.warnings.is_empty(), "{:?}", sc.warnings);
        let m = &sc.pv_by_path("/dev/ig1").unwrap().mdas[0];
        assert!(m.committed.is_none() && m.header.is_ok());
        let h = sc.vg("vg0").unwrap();
        assert!(h.warnings.is_empty(), "{:?}", h.warnings);
        assert_eq!(h.vg.tags, ["t"]);
        assert_eq!(h.pv_paths.len(), 2);
    }

    /// A scan that reuses an earlier one takes an area only when its
    /// header is unchanged: a copy rewritten since (other content at the
    /// same seqno) is read again and found to disagree; a copy damaged in
    /// place behind an unchanged header is what the earlier scan read (it
    /// verified that text), and a scan of its own checks it again.
    #[test]
    fn a_rescan_reads_again_only_changed_areas() {
        let mut opener = MemOpener::default();
        let h = two_pv_vg(&mut opener, "re");
        let first = scan(&opener, &opener.names());
        assert!(first.vg("vg0").unwrap().disagreeing.is_empty());

        // Other content, same seqno, on /dev/re1: its header changes.
        let mut other = h.vg.clone();
        other.tags.push("other".into());
        let d1 = opener.devs["/dev/re1"].clone();
        let hdr = mda::read_mda_header(&d1, 4096).unwrap();
        let text = text::export_disk(&other, &text_header("planted"));
        let mut planted = hdr;
        planted.slots[0] = mda::write_text(&d1, &hdr, text.as_bytes()).unwrap();
        mda::write_mda_header(&d1, &planted).unwrap();
        let second = scan_reusing(&opener, &opener.names(), &first.pvs);
        assert_eq!(second.vg("vg0").unwrap().disagreeing, ["/dev/re1"]);

        // /dev/re0's text damaged behind its unchanged header.
        let d0 = opener.devs["/dev/re0"].clone();
        let h0 = mda::read_mda_header(&d0, 4096).unwrap();
        d0.write_at(h0.start + h0.slots[0].offset + 10, b"XXXX")
            .unwrap();
        let third = scan_reusing(&opener, &opener.names(), &second.pvs);
        assert!(third.warnings.is_empty(), "{:?}", third.warnings);
        assert!(third.pv_by_path("/dev/re0").unwrap().vg().is_some());
        let fresh = scan(&opener, &opener.names());
        assert!(
            fresh.warnings.iter().any(|w| w.contains("/dev/re0")),
            "{:?}",
            fresh.warnings
        );
        assert!(fresh.pv_by_path("/dev/re0").unwrap().vg().is_none());
    }

    /// A commit while a PV is missing writes the PVs present and marks the
    /// missing one as LVM2 does; when it comes back it stays missing.
    #[test]
    fn a_commit_with_a_pv_missing_marks_it() {
        let mut opener = MemOpener::default();
        two_pv_vg(&mut opener, "m");
        let gone = opener.devs.remove("/dev/m1").unwrap();
        let mut h = scan(&opener, &opener.names()).vg("vg0").unwrap();
        assert_eq!(h.missing, ["pv1"]);
        assert!(
            h.warnings[1].ends_with("(last written to /dev/m1)."),
            "{:?}",
            h.warnings
        );
        h.vg.tags.push("t".into());
        h.commit(&opener, "vgchange --addtag").unwrap();
        let pv1 = h.vg.pv("pv1").unwrap();
        assert!(pv1.flags.has("MISSING"));
        assert_eq!(pv1.device.as_deref(), Some("[unknown]"));
        opener.devs.insert("/dev/m1".into(), gone);
        let h = scan(&opener, &opener.names()).vg("vg0").unwrap();
        // Back with no extent in use: it rejoins, as in LVM2.
        assert!(h.missing.is_empty());
        assert!(!h.vg.pv("pv1").unwrap().flags.has("MISSING"));
        assert!(h
            .warnings
            .iter()
            .any(|w| w == "VG vg0 was previously updated while PV /dev/m1 was missing."));
        assert!(h
            .warnings
            .iter()
            .any(|w| w.starts_with("VG vg0 has unused reappeared PV /dev/m1 ")));
    }

    #[test]
    fn an_exported_vg_is_read_only_for_reports() {
        let opener = two_vgs();
        export(&opener, "vg0");
        let s = scan(&opener, &opener.names());
        assert!(matches!(s.vg("vg0"), Err(StoreError::VgExported(n)) if n == "vg0"));
        assert_eq!(
            s.vg("vg0").unwrap_err().to_string(),
            "Volume group vg0 is exported"
        );
        assert!(scan(&opener, &opener.names()).into_vg("vg0").is_err());
        assert!(s.vg_allow_exported("vg0").unwrap().vg.is_exported());
        assert_eq!(s.vg_names(), ["vg0", "vg1"]);
        assert_eq!(s.usable_vg_names(), ["vg1"]);
        // Its PVs still belong to it: never offered as orphans.
        assert!(s.orphans().is_empty());
        let pv = &s.pv_by_path("/dev/mem0").unwrap().id();
        assert_eq!(s.vg_of_pv(pv).unwrap().vg.name, "vg0");
    }
}
