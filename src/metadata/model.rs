//! The typed model of an LVM2 volume group: VG, PVs, LVs and segments, as
//! the text metadata describes them (`lib/format_text/import_vsn1.c` and
//! `export.c` in LVM2 are the reference for which keys exist).
//!
//! Pure data and pure queries; no I/O. Text conversion lives in
//! `metadata::text`, invariants in `metadata::validate`.

use std::borrow::Cow;
use std::fmt;

use super::id::Id;

/// The allocation policies LVM2 knows (`get_alloc_from_string`): the values
/// `allocation_policy` may hold.
pub const ALLOC_POLICIES: &[&str] = &[
    "contiguous",
    "cling",
    "cling_by_tags",
    "normal",
    "anywhere",
    "inherit",
];

/// Why the model refuses a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The VG holds content rlvm does not model (`Vg::unsupported`).
    #[error("Cannot change VG {vg} with unsupported content: {why}.")]
    Unsupported { vg: String, why: String },
}

/// Every `status`/`flags` word LVM2 writes: a word read from metadata is
/// held as one of these (no allocation per LV per word), any other word as
/// its own string.
const KNOWN_WORDS: &[&str] = &[
    "READ",
    "WRITE",
    "VISIBLE",
    "RESIZEABLE",
    "ALLOCATABLE",
    "EXPORTED",
    "FIXED_MINOR",
    "WRITE_LOCKED",
    "MISSING",
    "PVMOVE",
    "LOCKED",
    "CLUSTERED",
    "SHARED",
    "NOTSYNCED",
    "REBUILD",
    "WRITEMOSTLY",
    "ACTIVATION_SKIP",
    "ERROR_WHEN_FULL",
    "NOAUTOACTIVATE",
    "CACHE_VOL",
    "PARTIAL",
];

/// `word` as a flag word: borrowed from [`KNOWN_WORDS`] when it is one.
pub fn flag_word(word: &str) -> Cow<'static, str> {
    match KNOWN_WORDS.iter().find(|k| **k == word) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(word.to_string()),
    }
}

/// A status/flags word list as written in metadata (`status = ["READ", ...]`).
///
/// Kept as words, not bits, so that round-tripping preserves exactly what
/// LVM2 wrote; `text` rejects unknown `status` words on import as LVM2 does.
/// Known words are static strings ([`flag_word`]): a VG of 1000 LVs is
/// imported, cloned and exported several times per command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flags(pub Vec<Cow<'static, str>>);

impl Flags {
    pub fn new(words: &[&str]) -> Self {
        Flags(words.iter().map(|w| flag_word(w)).collect())
    }
    pub fn has(&self, word: &str) -> bool {
        self.0.iter().any(|w| w == word)
    }
    /// Adds `word`, keeping LVM2's order for the words it orders (what its
    /// exporter writes), so a changed VG still round-trips exactly.
    pub fn set(&mut self, word: &str) {
        // One list serves VG, PV and LV words: LVM2 writes a VG's
        // EXPORTED first and a PV's after ALLOCATABLE (`flags.c`).
        const ORDER: &[&str] = &[
            "ALLOCATABLE",
            "EXPORTED",
            "RESIZEABLE",
            "READ",
            "WRITE",
            "FIXED_MINOR",
            "VISIBLE",
        ];
        if self.has(word) {
            return;
        }
        let rank = |w: &str| ORDER.iter().position(|o| *o == w);
        let at =
            rank(word).and_then(|r| self.0.iter().position(|w| rank(w).is_some_and(|x| x > r)));
        match at {
            Some(i) => self.0.insert(i, flag_word(word)),
            None => self.0.push(flag_word(word)),
        }
    }
    pub fn clear(&mut self, word: &str) {
        self.0.retain(|w| w != word);
    }
}

/// The volume group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vg {
    pub name: String,
    pub id: Id,
    pub seqno: u32,
    /// `format = "lvm2"` is informational; kept so a round trip is exact.
    pub format: Option<String>,
    pub status: Flags,
    pub flags: Flags,
    pub tags: Vec<String>,
    pub system_id: Option<String>,
    /// Extent size in 512-byte sectors.
    pub extent_size: u64,
    pub max_lv: u64,
    pub max_pv: u64,
    pub allocation_policy: Option<String>,
    pub metadata_copies: Option<u64>,
    pub pvs: Vec<Pv>,
    pub lvs: Vec<Lv>,
    /// Set when the metadata holds something rlvm does not model (unknown
    /// keys, segment types, sections). Such a VG is listed but never written;
    /// the string says why, for the error message.
    pub unsupported: Option<String>,
}

/// A physical volume as the VG metadata records it (`pvN { ... }`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pv {
    /// The key in `physical_volumes` (`pv0`, `pv1`, ...); segments refer to it.
    pub key: String,
    pub id: Id,
    /// `device = "/dev/sdb"`: a hint only.
    pub device: Option<String>,
    pub device_id_type: Option<String>,
    pub device_id: Option<String>,
    pub status: Flags,
    pub flags: Flags,
    pub tags: Vec<String>,
    /// Device size in sectors, if recorded.
    pub dev_size: Option<u64>,
    /// First extent, in sectors from the start of the device.
    pub pe_start: u64,
    pub pe_count: u64,
    pub ba_start: Option<u64>,
    pub ba_size: Option<u64>,
}

/// A logical volume section, including LVM's internal ones (`snapshotN`,
/// COW LVs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lv {
    pub name: String,
    /// The LV half of the lvid; the full dm UUID is `vg.id ‖ lv.id`.
    pub id: Id,
    pub status: Flags,
    pub flags: Flags,
    pub tags: Vec<String>,
    /// Seconds since the epoch; written together with `creation_host`.
    pub creation_time: Option<u64>,
    pub creation_host: Option<String>,
    pub allocation_policy: Option<String>,
    pub read_ahead: Option<u64>,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub segments: Vec<Segment>,
}

/// One `segmentN` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub start_extent: u64,
    pub extent_count: u64,
    pub tags: Vec<String>,
    pub kind: SegmentKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SegmentKind {
    /// `type = "striped"`; linear is `stripe_count = 1`.
    Striped {
        /// Stripe size in sectors; `None` when there is a single stripe.
        stripe_size: Option<u64>,
        /// One area per stripe: the PV key and the first PE on it. Each
        /// area is `extent_count / stripes.len()` extents long.
        stripes: Vec<StripeArea>,
    },
    /// `type = "snapshot"` on the internal `snapshotN` LV.
    Snapshot {
        /// Chunk size in sectors.
        chunk_size: u64,
        /// Name of the origin LV.
        origin: String,
        /// Name of the COW LV (`cow_store` or `merging_store`).
        cow: String,
        /// `merging_store` rather than `cow_store`.
        merging: bool,
    },
    /// Any other type, kept by name. `error` and `zero` (LVM2's virtual
    /// segment types: no PV areas, dm's `error` / `zero` target over the
    /// segment; see [`VIRTUAL_SEGTYPES`]) are modelled: rlvm creates,
    /// extends, writes and activates them. Anything else (thin, raid,
    /// mirror, cache, ...) makes the VG read-only.
    Unknown { type_name: String },
}

/// The segment types without PV areas that rlvm models (LVM2's
/// `SEG_VIRTUAL` types `lib/error/errseg.c`, `lib/zero/zero.c`): nothing is
/// allocated, the kernel maps the segment to the target of that name, and
/// adjacent segments of one such type merge.
pub const VIRTUAL_SEGTYPES: &[&str] = &["error", "zero"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StripeArea {
    pub pv: String,
    pub pe: u64,
}

impl Segment {
    pub fn type_name(&self) -> &str {
        match &self.kind {
            SegmentKind::Striped { .. } => "striped",
            SegmentKind::Snapshot { .. } => "snapshot",
            SegmentKind::Unknown { type_name } => type_name,
        }
    }
    /// A segment of virtual type `type_name` (one of [`VIRTUAL_SEGTYPES`]).
    pub fn new_virtual(type_name: &str, start_extent: u64, extent_count: u64) -> Segment {
        Segment {
            start_extent,
            extent_count,
            tags: vec![],
            kind: SegmentKind::Unknown {
                type_name: type_name.to_string(),
            },
        }
    }
    /// The virtual type (`error`, `zero`) of this segment, if it has one.
    pub fn virtual_type(&self) -> Option<&str> {
        match &self.kind {
            SegmentKind::Unknown { type_name }
                if VIRTUAL_SEGTYPES.contains(&type_name.as_str()) =>
            {
                Some(type_name)
            }
            _ => None,
        }
    }
    /// Extents each stripe area covers on its PV.
    pub fn area_len(&self) -> u64 {
        match &self.kind {
            SegmentKind::Striped { stripes, .. } if !stripes.is_empty() => {
                self.extent_count / stripes.len() as u64
            }
            _ => 0,
        }
    }
}

impl Lv {
    pub fn extent_count(&self) -> u64 {
        self.segments.iter().map(|s| s.extent_count).sum()
    }
    pub fn is_visible_flag(&self) -> bool {
        self.status.has("VISIBLE")
    }
    pub fn writable(&self) -> bool {
        self.status.has("WRITE")
    }
    /// The snapshot segment, if this is an internal `snapshotN` LV.
    pub fn snapshot_segment(&self) -> Option<(&str, &str, u64, bool)> {
        match self.segments.as_slice() {
            [Segment {
                kind:
                    SegmentKind::Snapshot {
                        chunk_size,
                        origin,
                        cow,
                        merging,
                    },
                ..
            }] => Some((origin, cow, *chunk_size, *merging)),
            _ => None,
        }
    }
}

/// What role an LV plays, derived from the snapshot segments in the VG
/// (LVM2 stores no "origin" or "cow" flag: `lv_is_origin`, `lv_is_cow` are
/// computed from the `snapshotN` LVs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LvRole {
    /// A plain LV (or an origin; see `Vg::snapshots_of`).
    Plain,
    /// The internal `snapshotN` LV that ties an origin to a COW.
    SnapshotLink,
    /// The COW LV the user knows as "the snapshot".
    Cow,
}

/// A snapshot as the user sees it: COW LV + link LV + origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotRef<'a> {
    pub link: &'a Lv,
    pub cow: &'a Lv,
    pub origin: &'a Lv,
    pub chunk_size: u64,
    pub merging: bool,
}

impl Vg {
    pub fn lv(&self, name: &str) -> Option<&Lv> {
        self.lvs.iter().find(|l| l.name == name)
    }
    pub fn lv_mut(&mut self, name: &str) -> Option<&mut Lv> {
        self.lvs.iter_mut().find(|l| l.name == name)
    }
    pub fn pv(&self, key: &str) -> Option<&Pv> {
        self.pvs.iter().find(|p| p.key == key)
    }
    pub fn pv_by_id(&self, id: &Id) -> Option<&Pv> {
        self.pvs.iter().find(|p| &p.id == id)
    }

    /// The snapshot that `link` defines, if it is a `snapshotN` LV whose
    /// origin and COW exist.
    fn snapshot_of_link<'a>(&'a self, link: &'a Lv) -> Option<SnapshotRef<'a>> {
        let (origin, cow, chunk_size, merging) = link.snapshot_segment()?;
        Some(SnapshotRef {
            link,
            cow: self.lv(cow)?,
            origin: self.lv(origin)?,
            chunk_size,
            merging,
        })
    }
    /// The snapshots whose segment satisfies `pick(origin, cow)`, in
    /// metadata order. Only the (few) matching links pay for the origin and
    /// COW name lookups; the scan itself allocates nothing.
    fn snapshots_where<'a: 'p, 'p>(
        &'a self,
        pick: impl Fn(&str, &str) -> bool + 'p,
    ) -> impl Iterator<Item = SnapshotRef<'a>> + 'p {
        self.lvs.iter().filter_map(move |link| {
            let (origin, cow, _, _) = link.snapshot_segment()?;
            if pick(origin, cow) {
                self.snapshot_of_link(link)
            } else {
                None
            }
        })
    }

    /// Every LV by name, the first LV of a name winning as in [`Vg::lv`]:
    /// for loops over the VG that would otherwise call `lv` per LV.
    pub fn lv_index(&self) -> rustc_hash::FxHashMap<&str, &Lv> {
        let mut names: rustc_hash::FxHashMap<&str, &Lv> = Default::default();
        names.reserve(self.lvs.len());
        for lv in &self.lvs {
            names.entry(lv.name.as_str()).or_insert(lv);
        }
        names
    }
    /// Every snapshot in the VG (one per `snapshotN` LV whose origin and
    /// COW exist), in metadata order. One pass: the origin and COW names
    /// are looked up in an index of the LVs (the first LV of a name, as
    /// `lv` finds it), not by a scan of the VG per link.
    pub fn snapshots(&self) -> Vec<SnapshotRef<'_>> {
        if !self.lvs.iter().any(|l| l.snapshot_segment().is_some()) {
            return Vec::new();
        }
        let names = self.lv_index();
        self.lvs
            .iter()
            .filter_map(|link| {
                let (origin, cow, chunk_size, merging) = link.snapshot_segment()?;
                Some(SnapshotRef {
                    link,
                    cow: names.get(cow)?,
                    origin: names.get(origin)?,
                    chunk_size,
                    merging,
                })
            })
            .collect()
    }
    /// Every snapshot by its COW's name, from one pass (`snapshots`): what
    /// `snapshot_by_cow` answers for each name, the first link naming a
    /// COW winning.
    pub fn snapshots_by_cow(&self) -> rustc_hash::FxHashMap<&str, SnapshotRef<'_>> {
        let mut by_cow: rustc_hash::FxHashMap<&str, SnapshotRef<'_>> = Default::default();
        for s in self.snapshots() {
            by_cow.entry(s.cow.name.as_str()).or_insert(s);
        }
        by_cow
    }
    /// Snapshots whose origin is `origin`, in metadata order.
    pub fn snapshots_of(&self, origin: &str) -> Vec<SnapshotRef<'_>> {
        self.snapshots_where(|o, _| o == origin).collect()
    }
    /// The snapshot whose COW LV is `cow`.
    pub fn snapshot_by_cow(&self, cow: &str) -> Option<SnapshotRef<'_>> {
        self.snapshots_where(|_, c| c == cow).next()
    }
    pub fn is_origin(&self, lv: &str) -> bool {
        self.snapshots_where(|o, _| o == lv).next().is_some()
    }
    /// The merging snapshot of `origin`, if any.
    pub fn merging_snapshot_of(&self, origin: &str) -> Option<SnapshotRef<'_>> {
        self.snapshots_where(|o, _| o == origin).find(|s| s.merging)
    }
    pub fn role(&self, lv: &Lv) -> LvRole {
        if lv.snapshot_segment().is_some() {
            LvRole::SnapshotLink
        } else if self.snapshot_by_cow(&lv.name).is_some() {
            LvRole::Cow
        } else {
            LvRole::Plain
        }
    }
    /// LVM2's `lv_is_visible`: a `snapshotN` link is never visible; a COW is
    /// visible if its origin is, unless it is merging; others by flag.
    pub fn lv_is_visible(&self, lv: &Lv) -> bool {
        if lv.snapshot_segment().is_some() {
            return false;
        }
        match self.snapshot_by_cow(&lv.name) {
            Some(s) => !s.merging && s.origin.is_visible_flag(),
            None => lv.is_visible_flag(),
        }
    }
    /// `role` of every LV, in `lvs` order, in one pass over the VG (the
    /// per-LV query scans the VG: quadratic for whole-VG loops).
    pub fn roles(&self) -> Vec<LvRole> {
        let names: rustc_hash::FxHashSet<&str> = self.lvs.iter().map(|l| l.name.as_str()).collect();
        let cows: rustc_hash::FxHashSet<&str> = self
            .lvs
            .iter()
            .filter_map(|l| l.snapshot_segment())
            .filter(|(o, c, _, _)| names.contains(o) && names.contains(c))
            .map(|(_, c, _, _)| c)
            .collect();
        self.lvs
            .iter()
            .map(|lv| {
                if lv.snapshot_segment().is_some() {
                    LvRole::SnapshotLink
                } else if cows.contains(lv.name.as_str()) {
                    LvRole::Cow
                } else {
                    LvRole::Plain
                }
            })
            .collect()
    }
    /// How many LVs are visible (LVM2's `vg_visible_lvs`, what max_lv
    /// counts), in one pass (`visible_flags`).
    pub fn visible_count(&self) -> usize {
        self.visible_flags().into_iter().filter(|v| *v).count()
    }
    /// `lv_is_visible` of every LV, in `lvs` order, in one pass over the VG
    /// (the per-LV query scans the VG: quadratic for whole-VG loops).
    pub fn visible_flags(&self) -> Vec<bool> {
        let by_name = self.lv_index();
        // COW name -> (merging, origin's VISIBLE flag), first link wins as in
        // `snapshot_by_cow`; links whose origin or COW is missing define nothing.
        let mut cows: rustc_hash::FxHashMap<&str, (bool, bool)> = Default::default();
        for link in &self.lvs {
            if let Some((origin, cow, _, merging)) = link.snapshot_segment() {
                if let (Some(o), true) = (by_name.get(origin), by_name.contains_key(cow)) {
                    cows.entry(cow).or_insert((merging, o.is_visible_flag()));
                }
            }
        }
        self.lvs
            .iter()
            .map(|lv| {
                if lv.snapshot_segment().is_some() {
                    return false;
                }
                match cows.get(lv.name.as_str()) {
                    Some(&(merging, origin_visible)) => !merging && origin_visible,
                    None => lv.is_visible_flag(),
                }
            })
            .collect()
    }
    /// Extent size in bytes.
    pub fn extent_bytes(&self) -> u64 {
        self.extent_size * 512
    }
    pub fn pe_total(&self) -> u64 {
        self.pvs.iter().map(|p| p.pe_count).sum()
    }
    /// Extents allocated on PV `key` (from striped segments).
    pub fn pe_used_on(&self, key: &str) -> u64 {
        self.lvs
            .iter()
            .flat_map(|lv| lv.segments.iter())
            .map(|seg| match &seg.kind {
                SegmentKind::Striped { stripes, .. } => {
                    stripes.iter().filter(|a| a.pv == key).count() as u64 * seg.area_len()
                }
                _ => 0,
            })
            .sum()
    }
    pub fn pe_alloc(&self) -> u64 {
        self.pvs.iter().map(|p| self.pe_used_on(&p.key)).sum()
    }
    pub fn pe_free(&self) -> u64 {
        self.pe_total().saturating_sub(self.pe_alloc())
    }
    /// `vgexport`ed (LVM2's `vg_is_exported`).
    pub fn is_exported(&self) -> bool {
        self.status.has("EXPORTED")
    }
    /// Whether rlvm may write this VG; the error says why not.
    pub fn check_writable(&self) -> Result<(), ModelError> {
        match &self.unsupported {
            Some(why) => Err(ModelError::Unsupported {
                vg: self.name.clone(),
                why: why.clone(),
            }),
            None => Ok(()),
        }
    }
    /// The lowest free `snapshotN` name (LVM2's `vg_add_snapshot`).
    pub fn next_snapshot_link_name(&self) -> String {
        (0..)
            .map(|n| format!("snapshot{n}"))
            .find(|n| self.lv(n).is_none())
            .unwrap_or_default()
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted: Vec<String> = self.0.iter().map(|w| format!("\"{w}\"")).collect();
        write!(f, "[{}]", quoted.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::Flags;

    /// The one-pass `visible_flags` agrees with `lv_is_visible` on VGs
    /// with normal, merging and hidden-origin snapshots.
    #[test]
    fn visible_flags_match_lv_is_visible() {
        let texts = [
            include_str!("../../tests/golden/cases/merging/backup.vg"),
            include_str!("../../tests/golden/cases/snapshots/backup.vg"),
        ];
        for text in texts {
            let mut vg = crate::metadata::text::import_vg(text).expect("import").0;
            for round in 0..3 {
                let one_pass = vg.visible_flags();
                let each: Vec<bool> = vg.lvs.iter().map(|l| vg.lv_is_visible(l)).collect();
                assert_eq!(one_pass, each, "round {round}");
                if round == 0 {
                    assert!(each.contains(&true) && each.contains(&false));
                }
                // Hide every origin, then merge every snapshot.
                match round {
                    0 => {
                        let origins: Vec<String> = vg
                            .snapshots()
                            .iter()
                            .map(|s| s.origin.name.clone())
                            .collect();
                        for lv in vg.lvs.iter_mut().filter(|l| origins.contains(&l.name)) {
                            lv.status.0.retain(|f| f != "VISIBLE");
                        }
                    }
                    _ => {
                        for lv in &mut vg.lvs {
                            for seg in &mut lv.segments {
                                if let super::SegmentKind::Snapshot { merging, .. } = &mut seg.kind
                                {
                                    *merging = true;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn set_keeps_lvm_order() {
        let mut f = Flags::new(&["READ", "VISIBLE"]);
        f.set("WRITE");
        assert_eq!(f, Flags::new(&["READ", "WRITE", "VISIBLE"]));
        f.set("PVMOVE");
        assert_eq!(f.0.last().map(|w| &**w), Some("PVMOVE"));
        let mut vg = Flags::new(&["RESIZEABLE", "READ", "WRITE"]);
        vg.set("EXPORTED");
        assert_eq!(vg, Flags::new(&["EXPORTED", "RESIZEABLE", "READ", "WRITE"]));
        let mut pv = Flags::new(&["ALLOCATABLE"]);
        pv.set("EXPORTED");
        assert_eq!(pv, Flags::new(&["ALLOCATABLE", "EXPORTED"]));
    }
}
