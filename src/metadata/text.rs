//! LVM2 text metadata: import into the typed `Vg` model and export in
//! LVM2's two forms. Pure; no I/O (the generator line reads `uname` only).
//!
//! The key set, key order and comment layout follow LVM2's
//! `lib/format_text/export.c`, `import_vsn1.c`, `flags.c` and
//! `snapshot/snapshot.c`, `striped/striped.c` (facts, not code):
//!
//! * on-disk form: VG section first, no indentation, no size comments,
//!   then the header lines; the text ends with an empty line (the disk
//!   layer appends the NUL);
//! * file form (`vgcfgbackup`): header first, tab indentation, size
//!   comments aligned the way `_out_with_comment_file` does.
//!
//! Anything rlvm does not model (unknown keys, sections, segment types,
//! pvmove/lvmlockd status words) does not fail the import: it sets
//! `Vg::unsupported` so the VG can be listed but is never written.

use std::borrow::Cow;

use super::config::{self, key_eq, Item, Section, Value};
use super::id::Id;
pub use super::model::ALLOC_POLICIES;
use super::model::{flag_word, Flags, Lv, Pv, Segment, SegmentKind, StripeArea, Vg};
use super::validate;

pub const CONTENTS_VALUE: &str = "Text Format Volume Group";

/// The top-level keys that describe the write, not the VG.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextHeader {
    pub description: String,
    pub creation_host: String,
    /// Seconds since the epoch.
    pub creation_time: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error(transparent)]
    Parse(#[from] config::ConfigError),
    #[error("{0}")]
    Invalid(String),
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, TextError> {
    Err(TextError::Invalid(msg.into()))
}

// ---------------------------------------------------------------------------
// Flags (`flags.c`): each table in LVM2's canonical output order. `true`
// marks a word written in `status`, `false` one written in `flags`. On read,
// LVM looks a `status` word up in the whole table, so a compat word in
// `status` is not fatal.

const VG_FLAGS: &[(&str, bool)] = &[
    ("EXPORTED", true),
    ("RESIZEABLE", true),
    ("PVMOVE", true),
    ("READ", true),
    ("WRITE", true),
    ("WRITE_LOCKED", false),
    ("CLUSTERED", true),
    ("SHARED", true),
    ("NOAUTOACTIVATE", false),
];
const PV_FLAGS: &[(&str, bool)] = &[
    ("ALLOCATABLE", true),
    ("EXPORTED", true),
    ("MISSING", false),
];
const LV_FLAGS: &[(&str, bool)] = &[
    ("READ", true),
    ("WRITE", true),
    ("WRITE_LOCKED", false),
    ("FIXED_MINOR", true),
    ("VISIBLE", true),
    ("PVMOVE", true),
    ("LOCKED", true),
    ("NOTSYNCED", true),
    ("REBUILD", true),
    ("WRITEMOSTLY", true),
    ("ACTIVATION_SKIP", false),
    ("ERROR_WHEN_FULL", false),
    ("NOAUTOACTIVATE", false),
    ("CACHE_VOL", false),
];

/// Known words that mean a feature rlvm does not model (pvmove, lvmlockd,
/// clustering, raid/cache internals): the VG becomes read-only for rlvm.
const UNMODELLED_WORDS: &[&str] = &[
    "PVMOVE",
    "LOCKED",
    "CLUSTERED",
    "SHARED",
    "NOTSYNCED",
    "REBUILD",
    "WRITEMOSTLY",
    "CACHE_VOL",
];

/// A VG with a system ID is written with `WRITE_LOCKED` in `flags` instead
/// of `WRITE` in `status`, for the VG and each LV, so that LVM versions
/// without system IDs cannot write it (LVM2's `_print_vg`, `_print_lv`);
/// reading turns it back into `WRITE` (`_read_vg`, `_read_lv`). The model
/// holds the read form.
fn write_unlocked(mut status: Flags, mut flags: Flags) -> (Flags, Flags) {
    if flags.has("WRITE_LOCKED") {
        flags.clear("WRITE_LOCKED");
        status.set("WRITE");
    }
    (status, flags)
}

/// The written form of `status`/`flags` (see [`write_unlocked`]): the
/// model's own lists unless the VG is write-locked.
fn write_locked<'f>(
    status: &'f Flags,
    flags: &'f Flags,
    locked: bool,
) -> (Cow<'f, Flags>, Cow<'f, Flags>) {
    if !(locked && status.has("WRITE")) {
        return (Cow::Borrowed(status), Cow::Borrowed(flags));
    }
    let (mut status, mut flags) = (status.clone(), flags.clone());
    status.clear("WRITE");
    flags.set("WRITE_LOCKED");
    (Cow::Owned(status), Cow::Owned(flags))
}

/// Whether VG `vg` is written with `WRITE_LOCKED` (LVM2's
/// `vg_flag_write_locked`: it has a system ID; lock types are not modelled).
fn vg_write_locked(vg: &Vg) -> bool {
    vg.system_id.as_deref().is_some_and(|s| !s.is_empty())
}

/// Words in LVM2's canonical order, written as a list: known ones by
/// table position, then any unknown words in their stored order.
/// Duplicates are dropped.
struct CanonicalWords<'a>(&'a Flags, &'a [(&'a str, bool)]);

impl Put for CanonicalWords<'_> {
    fn put(&self, buf: &mut String) {
        let CanonicalWords(flags, table) = *self;
        // The usual list: known words, already in table order, each once.
        let mut last = None;
        let in_order = flags.0.iter().all(|w| {
            let at = table.iter().position(|(t, _)| t == w);
            let ok = at.is_some() && at > last;
            last = at;
            ok
        });
        if in_order {
            List(&flags.0).put(buf);
            return;
        }
        let mut first = true;
        let mut word = |buf: &mut String, w: &str| {
            if !first {
                buf.push_str(", ");
            }
            first = false;
            Quoted(w).put(buf);
        };
        buf.push('[');
        for (w, _) in table.iter().filter(|(w, _)| flags.has(w)) {
            word(buf, w);
        }
        for (i, w) in flags.0.iter().enumerate() {
            let unknown = !table.iter().any(|(t, _)| t == w);
            if unknown && !flags.0[..i].contains(w) {
                word(buf, w);
            }
        }
        buf.push(']');
    }
}

// ---------------------------------------------------------------------------
// Import.

/// Import a VG from text in either form. Returns the VG and the header.
pub fn import_vg(text: &str) -> Result<(Vg, TextHeader), TextError> {
    import_vg_repairing(text).map(|(vg, header, _)| (vg, header))
}

/// The `creation_time` LVM2 puts in place of one that does not fit its
/// integers (2018-05-24, libdm-config.c `_type`).
pub const REPAIRED_CREATION_TIME: u64 = 1_527_120_000;

/// LVM2's warning when it repairs a `creation_time`.
pub const INVALID_CREATION_TIME: &str =
    "WARNING: Invalid creation_time found in metadata (repaired with next metadata update).";

/// `creation_time` values beyond a signed 64-bit integer (written by
/// 32-bit LVM2 < 2.02.169) replaced by [`REPAIRED_CREATION_TIME`], as
/// LVM2's parser does for that key only; whether one was.
fn repair_creation_times(text: &str) -> (std::borrow::Cow<'_, str>, bool) {
    let overflows = |line: &str| -> Option<usize> {
        let t = line.trim_start();
        let rest = t.strip_prefix("creation_time")?.trim_start();
        let value = rest.strip_prefix('=')?.trim_start();
        let digits = value
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .filter(|d| !d.is_empty())?;
        (digits.parse::<i64>().is_err()).then(|| line.len() - value.len())
    };
    // Only a line holding the key can overflow: look at those alone
    // (one per LV), not at every line of the text.
    let line_at = |i: usize| {
        let start = text[..i].rfind('\n').map_or(0, |n| n + 1);
        let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
        &text[start..end]
    };
    if !text
        .match_indices("creation_time")
        .any(|(i, _)| overflows(line_at(i)).is_some())
    {
        return (std::borrow::Cow::Borrowed(text), false);
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match overflows(line) {
            Some(at) => {
                let value = &line[at..];
                let end = value
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(value.len());
                out.push_str(&line[..at]);
                out.push_str(&REPAIRED_CREATION_TIME.to_string());
                out.push_str(&value[end..]);
            }
            None => out.push_str(line),
        }
    }
    (std::borrow::Cow::Owned(out), true)
}

/// [`import_vg`], with the warnings LVM2 prints while reading: a
/// `creation_time` out of range is repaired ([`INVALID_CREATION_TIME`]);
/// the next write stores the repaired value.
pub fn import_vg_repairing(text: &str) -> Result<(Vg, TextHeader, Vec<String>), TextError> {
    // A creation_time beyond i64 is not a number the parser takes, so a
    // text that needs the repair fails to parse: it is looked for only
    // then (the search costs as much as a tenth of the whole import).
    let e = match import_parsed(text) {
        Ok((vg, header)) => return Ok((vg, header, vec![])),
        Err(e) => e,
    };
    match repair_creation_times(text) {
        (repaired, true) => {
            let (vg, header) = import_parsed(&repaired)?;
            Ok((vg, header, vec![INVALID_CREATION_TIME.to_string()]))
        }
        (_, false) => Err(e),
    }
}

fn import_parsed(text: &str) -> Result<(Vg, TextHeader), TextError> {
    let (root, merged) = config::parse_noting_merges(text)?;
    match root.find("contents") {
        Some(Item::Value(Value::Str(s))) if s == CONTENTS_VALUE => {}
        _ => return invalid("Can't process text format file - missing contents field."),
    }
    match root.find("version") {
        Some(Item::Value(Value::Int(1))) => {}
        Some(_) => return invalid("Can't process text format file - unsupported version number."),
        None => return invalid("Can't process text format file - missing version field."),
    }
    let header = TextHeader {
        description: match root.find("description") {
            Some(Item::Value(Value::Str(s))) => s.to_string(),
            _ => String::new(),
        },
        creation_host: match root.find("creation_host") {
            Some(Item::Value(Value::Str(s))) => s.to_string(),
            _ => String::new(),
        },
        creation_time: match root.find("creation_time") {
            Some(Item::Value(Value::Int(t))) => u64::try_from(*t).unwrap_or(0),
            _ => 0,
        },
    };
    let Some((name, vgsec)) = root.items.iter().find_map(|(k, i)| match i {
        Item::Section(s) => Some((&**k, s)),
        Item::Value(_) => None,
    }) else {
        return invalid("Couldn't find volume group in file.");
    };
    // Keys given twice come of two sections of one name (merged by the
    // parser) or of a key written twice in one section; the second is
    // LVM2's "Ignoring duplicate config node" (the first one counts, in
    // both tools), the first is refused below. Only a text in which the
    // parser merged sections is searched (at 1000 LVs, a search was 7 %
    // of an lvcreate's instructions).
    if merged {
        check_no_duplicate_keys(vgsec, name)?;
    }
    let mut imp = Importer {
        unsupported: Vec::new(),
    };
    let vg = imp.vg(name, vgsec)?;
    Ok((vg, header))
}

struct Importer {
    unsupported: Vec<String>,
}

/// The parser merges sections of the same name, so two LVs (or PVs, or
/// segments) of one name become one section holding every key twice; the
/// second LV would vanish and its extents look free. A key given twice in
/// a section the parser merged means the copy is not self-consistent: it
/// is refused, as LVM2 refuses it ("Couldn't read all logical volumes").
/// Called only for a text in which the parser merged sections.
fn check_no_duplicate_keys(sec: &Section, path: &str) -> Result<(), TextError> {
    let mut at: Vec<&str> = Vec::new();
    match first_duplicate_key(sec, &mut at) {
        None => Ok(()),
        Some(k) => {
            let path: String = std::iter::once(path)
                .chain(at)
                .collect::<Vec<_>>()
                .join("/");
            invalid(format!(
                "Duplicate key '{k}' in {path}: two sections of that name?"
            ))
        }
    }
}

/// The first value key given twice in `sec`, its values before its
/// sections', depth first; `at` is left holding the path below `sec` to
/// the section that has it. Sections of VG metadata hold a dozen values
/// or fewer, which are compared pairwise (no set to build per section);
/// a larger one is sorted.
fn first_duplicate_key<'s>(sec: &'s Section, at: &mut Vec<&'s str>) -> Option<&'s str> {
    let values = || {
        sec.items
            .iter()
            .filter(|(_, i)| matches!(i, Item::Value(_)))
            .map(|(k, _)| &**k)
    };
    if sec.items.len() <= 16 {
        // Each key with a cheap signature (length, first and last byte):
        // only keys of equal signature are compared as strings.
        let sig = |k: &str| {
            let b = k.as_bytes();
            let edge = |c: Option<&u8>| u64::from(c.copied().unwrap_or(0));
            (b.len() as u64) << 16 | edge(b.first()) << 8 | edge(b.last())
        };
        let mut seen: [(&str, u64); 16] = [("", 0); 16];
        for (i, k) in values().enumerate() {
            let g = sig(k);
            if seen[..i].iter().any(|(p, pg)| *pg == g && *p == k) {
                return Some(k);
            }
            seen[i] = (k, g);
        }
    } else {
        let mut keys: Vec<(&str, usize)> = values().enumerate().map(|(i, k)| (k, i)).collect();
        keys.sort_unstable();
        // Of the keys given twice, the one whose second use comes first.
        let dup = keys
            .windows(2)
            .filter(|w| w[0].0 == w[1].0)
            .map(|w| (w[1].1, w[1].0))
            .min();
        if let Some((_, k)) = dup {
            return Some(k);
        }
    }
    for (k, item) in &sec.items {
        if let Item::Section(s) = item {
            at.push(k);
            if let Some(d) = first_duplicate_key(s, at) {
                return Some(d);
            }
            at.pop();
        }
    }
    None
}

/// Typed reads from one section, with the object named in every error.
struct Reader<'a> {
    sec: &'a Section<'a>,
    what: What<'a>,
}

/// The object a section describes, as errors name it ("logical volume
/// lv0"); formatted only when a message is made.
#[derive(Clone, Copy)]
enum What<'a> {
    Vg(&'a str),
    Pv(&'a str),
    Lv(&'a str),
    /// Segment key, LV name.
    Segment(&'a str, &'a str),
}

impl std::fmt::Display for What<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::Vg(n) => write!(f, "volume group {n}"),
            What::Pv(n) => write!(f, "physical volume {n}"),
            What::Lv(n) => write!(f, "logical volume {n}"),
            What::Segment(k, lv) => write!(f, "segment {k} of logical volume {lv}"),
        }
    }
}

/// [`What`] as notes about unsupported content name it ("LV lv0").
struct Short<'a>(What<'a>);

impl std::fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            What::Vg(n) => write!(f, "VG {n}"),
            What::Pv(n) => write!(f, "PV {n}"),
            What::Lv(n) => write!(f, "LV {n}"),
            What::Segment(k, lv) => write!(f, "segment {k} of LV {lv}"),
        }
    }
}

impl Reader<'_> {
    fn missing<T>(&self, key: &str) -> Result<T, TextError> {
        invalid(format!("Couldn't read '{key}' for {}.", self.what))
    }
    fn int(&self, key: &str, max: u64) -> Result<Option<u64>, TextError> {
        match self.sec.find(key) {
            None => Ok(None),
            Some(Item::Value(Value::Int(i))) if *i >= 0 && (*i as u64) <= max => {
                Ok(Some(*i as u64))
            }
            Some(_) => invalid(format!(
                "Invalid '{key}' for {}: expected an integer in 0..={max}.",
                self.what
            )),
        }
    }
    fn req_int(&self, key: &str, max: u64) -> Result<u64, TextError> {
        match self.int(key, max)? {
            Some(v) => Ok(v),
            None => self.missing(key),
        }
    }
    fn u32(&self, key: &str) -> Result<u64, TextError> {
        self.req_int(key, u32::MAX as u64)
    }
    fn signed(&self, key: &str) -> Result<Option<i64>, TextError> {
        match self.sec.find(key) {
            None => Ok(None),
            Some(Item::Value(Value::Int(i))) => Ok(Some(*i)),
            Some(_) => invalid(format!(
                "Invalid '{key}' for {}: expected an integer.",
                self.what
            )),
        }
    }
    fn str(&self, key: &str) -> Result<Option<String>, TextError> {
        Ok(self.str_ref(key)?.map(str::to_string))
    }
    /// A string value borrowed from the parsed text (no copy for a value
    /// that is only looked at: an id, a segment type).
    fn str_ref(&self, key: &str) -> Result<Option<&str>, TextError> {
        match self.sec.find(key) {
            None => Ok(None),
            Some(Item::Value(Value::Str(s))) => Ok(Some(s)),
            Some(_) => invalid(format!(
                "Invalid '{key}' for {}: expected a string.",
                self.what
            )),
        }
    }
    fn req_str(&self, key: &str) -> Result<String, TextError> {
        Ok(self.req_str_ref(key)?.to_string())
    }
    fn req_str_ref(&self, key: &str) -> Result<&str, TextError> {
        match self.str_ref(key)? {
            Some(s) => Ok(s),
            None => self.missing(key),
        }
    }
    /// A string list (`tags`, `flags`, `status`); absent is empty.
    fn list(&self, key: &str) -> Result<Vec<String>, TextError> {
        self.list_of(key, |s| s.to_string())
    }
    /// A string list, each string through `f` (one lookup of `key`, one
    /// allocation for the list).
    fn list_of<T>(&self, key: &str, f: impl Fn(&str) -> T) -> Result<Vec<T>, TextError> {
        let bad = || {
            invalid(format!(
                "Invalid '{key}' for {}: expected a list of strings.",
                self.what
            ))
        };
        match self.sec.find(key) {
            None => Ok(Vec::new()),
            Some(Item::Value(Value::Str(s))) => Ok(vec![f(s)]),
            Some(Item::Value(Value::Array(vals))) => {
                let mut out = Vec::with_capacity(vals.len());
                for v in vals {
                    match v {
                        Value::Str(s) => out.push(f(s)),
                        _ => return bad(),
                    }
                }
                Ok(out)
            }
            Some(_) => bad(),
        }
    }
    fn id(&self) -> Result<Id, TextError> {
        let s = self.req_str_ref("id")?;
        s.parse()
            .map_err(|e| TextError::Invalid(format!("Invalid id for {}: {e}.", self.what)))
    }
    fn status(&self, table: &[(&str, bool)], vg: bool) -> Result<Flags, TextError> {
        if self.sec.find("status").is_none() {
            return self.missing("status");
        }
        let words = self.list_of("status", flag_word)?;
        for w in &words {
            // "PARTIAL" is still read from old backups (`read_flags`).
            let known = table.iter().any(|(t, _)| key_eq(t, w)) || (vg && w == "PARTIAL");
            if !known {
                return invalid(format!("Unknown status flag '{w}' in {}.", self.what));
            }
        }
        Ok(Flags(words))
    }
    fn flags(&self) -> Result<Flags, TextError> {
        Ok(Flags(self.list_of("flags", flag_word)?))
    }
    fn alloc(&self) -> Result<Option<String>, TextError> {
        let a = self.str("allocation_policy")?;
        if let Some(p) = &a {
            if !ALLOC_POLICIES.contains(&p.as_str()) {
                return invalid(format!(
                    "Unknown allocation policy '{p}' for {}.",
                    self.what
                ));
            }
        }
        Ok(a)
    }
}

impl Importer {
    fn note(&mut self, why: String) {
        if !self.unsupported.contains(&why) {
            self.unsupported.push(why);
        }
    }

    /// Note every key of `sec` not in `known` (sections in `known_sections`).
    fn unknown_keys(&mut self, sec: &Section, known: &[&str], what: &dyn std::fmt::Display) {
        for (k, item) in &sec.items {
            let ok = match item {
                Item::Value(_) => known.iter().any(|w| key_eq(w, k)),
                Item::Section(_) => false,
            };
            if !ok {
                self.note(format!("unknown key '{k}' in {what}"));
            }
        }
    }

    fn words(&mut self, flags: &Flags, what: &dyn std::fmt::Display) {
        for w in &flags.0 {
            if UNMODELLED_WORDS.contains(&&**w) {
                self.note(format!("{w} flag on {what}"));
            }
        }
    }

    fn vg(&mut self, name: &str, sec: &Section) -> Result<Vg, TextError> {
        let r = Reader {
            sec,
            what: What::Vg(name),
        };
        let id = r.id()?;
        let seqno = r.u32("seqno")? as u32;
        let format = r.str("format")?;
        if let Some(f) = &format {
            if f != "lvm2" {
                return invalid(format!("Unsupported metadata format '{f}' in {}.", r.what));
            }
        }
        let (status, flags) = write_unlocked(r.status(VG_FLAGS, true)?, r.flags()?);
        let extent_size = r.u32("extent_size")?;
        let max_lv = r.u32("max_lv")?;
        let max_pv = r.u32("max_pv")?;
        let mut vg = Vg {
            name: name.to_string(),
            id,
            seqno,
            format,
            tags: r.list("tags")?,
            system_id: r.str("system_id")?,
            extent_size,
            max_lv,
            max_pv,
            allocation_policy: r.alloc()?,
            metadata_copies: r.int("metadata_copies", u32::MAX as u64)?,
            pvs: Vec::new(),
            lvs: Vec::new(),
            unsupported: None,
            status,
            flags,
        };
        let what = Short(What::Vg(name));
        self.words(&vg.status, &what);
        self.words(&vg.flags, &what);
        const KNOWN: &[&str] = &[
            "id",
            "seqno",
            "format",
            "status",
            "flags",
            "tags",
            "system_id",
            "extent_size",
            "max_lv",
            "max_pv",
            "allocation_policy",
            "metadata_copies",
        ];
        let mut pv_sec = None;
        let mut lv_sec = None;
        for (k, item) in &sec.items {
            match (&**k, item) {
                ("physical_volumes", Item::Section(s)) if pv_sec.is_none() => pv_sec = Some(s),
                ("logical_volumes", Item::Section(s)) if lv_sec.is_none() => lv_sec = Some(s),
                (k, Item::Value(_)) if KNOWN.contains(&k) => {}
                (k, Item::Section(_)) => self.note(format!("unknown section '{k}' in {what}")),
                (k, Item::Value(_)) => self.note(format!("unknown key '{k}' in {what}")),
            }
        }
        let Some(pv_sec) = pv_sec else {
            return invalid(format!(
                "Couldn't find physical_volumes section for {what}."
            ));
        };
        for (key, item) in &pv_sec.items {
            match item {
                Item::Section(s) => {
                    let pv = self.pv(key, s)?;
                    vg.pvs.push(pv);
                }
                Item::Value(_) => self.note(format!("unknown key '{key}' in physical_volumes")),
            }
        }
        if let Some(lv_sec) = lv_sec {
            // Sized once: a VG of thousands of LVs is read on every command.
            vg.lvs.reserve_exact(lv_sec.items.len());
            for (key, item) in &lv_sec.items {
                match item {
                    Item::Section(s) => {
                        let lv = self.lv(key, s)?;
                        vg.lvs.push(lv);
                    }
                    Item::Value(_) => self.note(format!("unknown key '{key}' in logical_volumes")),
                }
            }
        }
        // What LVM2 refuses on read once all LVs are known: dangling
        // snapshot references, PE ranges outside a PV, overlapping areas.
        validate::check_references(&vg).map_err(|e| TextError::Invalid(e.to_string()))?;
        if !self.unsupported.is_empty() {
            vg.unsupported = Some(self.unsupported.join("; "));
        }
        Ok(vg)
    }

    fn pv(&mut self, key: &str, sec: &Section) -> Result<Pv, TextError> {
        let r = Reader {
            sec,
            what: What::Pv(key),
        };
        let pv = Pv {
            key: key.to_string(),
            id: r.id()?,
            device: r.str("device")?,
            device_id_type: r.str("device_id_type")?,
            device_id: r.str("device_id")?,
            status: r.status(PV_FLAGS, false)?,
            flags: r.flags()?,
            tags: r.list("tags")?,
            dev_size: r.int("dev_size", u64::MAX)?,
            pe_start: r.req_int("pe_start", u64::MAX)?,
            pe_count: r.u32("pe_count")?,
            ba_start: r.int("ba_start", u64::MAX)?,
            ba_size: r.int("ba_size", u64::MAX)?,
        };
        let what = Short(What::Pv(key));
        self.words(&pv.status, &what);
        self.unknown_keys(
            sec,
            &[
                "id",
                "device",
                "device_id_type",
                "device_id",
                "status",
                "flags",
                "tags",
                "dev_size",
                "pe_start",
                "pe_count",
                "ba_start",
                "ba_size",
            ],
            &what,
        );
        Ok(pv)
    }

    fn lv(&mut self, name: &str, sec: &Section) -> Result<Lv, TextError> {
        let r = Reader {
            sec,
            what: What::Lv(name),
        };
        let id = r.id()?;
        let (status, flags) = write_unlocked(r.status(LV_FLAGS, false)?, r.flags()?);
        let (creation_time, creation_host) =
            match (sec.find("creation_time"), sec.find("creation_host")) {
                (Some(_), _) => {
                    let t = r.int("creation_time", u64::MAX)?;
                    match r.str("creation_host")? {
                        Some(h) => (t, Some(h)),
                        None => {
                            return invalid(format!("Couldn't read creation_host for {}.", r.what))
                        }
                    }
                }
                (None, Some(_)) => {
                    return invalid(format!("Missing creation_time for {}.", r.what))
                }
                (None, None) => (None, None),
            };
        // LVM2's encoding (`_read_lv`): absent or 0 is auto, -1 none
        // (held as `Some(0)`), else sectors.
        let read_ahead = match r.signed("read_ahead")? {
            None | Some(0) => None,
            Some(-1) => Some(0),
            Some(v) if v > 0 && v <= u32::MAX as i64 => Some(v as u64),
            Some(v) => return invalid(format!("Invalid read_ahead {v} for {}.", r.what)),
        };
        let segment_count = r.u32("segment_count")?;
        let mut lv = Lv {
            name: name.to_string(),
            id,
            status,
            flags,
            tags: r.list("tags")?,
            creation_time,
            creation_host,
            allocation_policy: r.alloc()?,
            read_ahead,
            major: r.signed("major")?,
            minor: r.signed("minor")?,
            // As many as the text claims, within reason (a first push would
            // take room for four: most LVs have one segment).
            segments: Vec::with_capacity(segment_count.min(64) as usize),
        };
        let what = Short(What::Lv(name));
        self.words(&lv.status, &what);
        // The keys `_read_lv` reads.
        let known = |key: &str| {
            [
                "id",
                "status",
                "flags",
                "tags",
                "creation_time",
                "creation_host",
                "allocation_policy",
                "read_ahead",
                "major",
                "minor",
                "segment_count",
            ]
            .iter()
            .any(|k| key_eq(k, key))
        };
        let mut next_le = 0u64;
        for (key, item) in &sec.items {
            match item {
                // Every child section is a segment (`_read_segments`).
                Item::Section(s) => {
                    let n = lv.segments.len() + 1;
                    let seg = self.segment(name, key, s)?;
                    if seg.start_extent != next_le {
                        return invalid(format!(
                            "LV {name}: segment {n} starts at extent {}, expected {next_le} (segments must be contiguous from 0).",
                            seg.start_extent
                        ));
                    }
                    next_le = next_le.saturating_add(seg.extent_count);
                    lv.segments.push(seg);
                }
                Item::Value(_) if known(key) => {}
                Item::Value(_) => self.note(format!("unknown key '{key}' in {what}")),
            }
        }
        if segment_count != lv.segments.len() as u64 {
            return invalid(format!(
                "LV {name}: segment_count is {segment_count} but {} segments were found.",
                lv.segments.len()
            ));
        }
        Ok(lv)
    }

    fn segment(&mut self, lv: &str, key: &str, sec: &Section) -> Result<Segment, TextError> {
        let r = Reader {
            sec,
            what: What::Segment(key, lv),
        };
        let start_extent = r.u32("start_extent")?;
        let extent_count = r.u32("extent_count")?;
        let type_name = r.req_str_ref("type")?;
        let tags = r.list("tags")?;
        let what = Short(What::Segment(key, lv));
        let (kind, known): (SegmentKind, &[&str]) = match type_name {
            "striped" => {
                let count = r.u32("stripe_count")?;
                if count == 0 {
                    return invalid(format!("Zero areas not allowed for {}.", r.what));
                }
                let stripe_size = match r.int("stripe_size", u32::MAX as u64)? {
                    None if count > 1 => return r.missing("stripe_size"),
                    s => s,
                };
                let stripes = stripe_areas(&r, count)?;
                (
                    SegmentKind::Striped {
                        stripe_size,
                        stripes,
                    },
                    &[
                        "start_extent",
                        "extent_count",
                        "type",
                        "tags",
                        "stripe_count",
                        "stripe_size",
                        "stripes",
                    ],
                )
            }
            "snapshot" => {
                let chunk_size = r.u32("chunk_size")?;
                let origin = r.req_str("origin")?;
                let cow = r.str("cow_store")?;
                let merge = r.str("merging_store")?;
                let (cow, merging) = match (cow, merge) {
                    (Some(_), Some(_)) => {
                        return invalid(format!(
                            "Both snapshot cow and merging storage were specified in {}.",
                            r.what
                        ))
                    }
                    (Some(c), None) => (c, false),
                    (None, Some(m)) => (m, true),
                    (None, None) => {
                        return invalid(format!(
                            "Snapshot cow storage not specified in {}.",
                            r.what
                        ))
                    }
                };
                (
                    SegmentKind::Snapshot {
                        chunk_size,
                        origin,
                        cow,
                        merging,
                    },
                    &[
                        "start_extent",
                        "extent_count",
                        "type",
                        "tags",
                        "chunk_size",
                        "origin",
                        "cow_store",
                        "merging_store",
                    ],
                )
            }
            // Virtual types: nothing but the common keys (LVM2 exports no
            // more for them).
            v if super::model::VIRTUAL_SEGTYPES.contains(&v) => (
                SegmentKind::Unknown {
                    type_name: v.to_string(),
                },
                &["start_extent", "extent_count", "type", "tags"],
            ),
            other => {
                self.note(format!("segment type '{other}' in LV {lv}"));
                (
                    SegmentKind::Unknown {
                        type_name: other.to_string(),
                    },
                    &[],
                )
            }
        };
        if !known.is_empty() {
            self.unknown_keys(sec, known, &what);
        }
        Ok(Segment {
            start_extent,
            extent_count,
            tags,
            kind,
        })
    }
}

/// `stripes = ["pv0", 0, "pv1", 12]`: exactly `count` (name, PE) pairs.
fn stripe_areas(r: &Reader<'_>, count: u64) -> Result<Vec<StripeArea>, TextError> {
    let vals = match r.sec.find("stripes") {
        Some(Item::Value(Value::Array(v))) => v,
        Some(_) => {
            return invalid(format!(
                "Invalid 'stripes' for {}: expected an array.",
                r.what
            ))
        }
        None => return r.missing("stripes"),
    };
    if vals.len() as u64 != count.saturating_mul(2) {
        return invalid(format!(
            "Incorrect number of areas in area array for {}.",
            r.what
        ));
    }
    // Sized exactly (collecting through a Result would start at four).
    let mut areas = Vec::with_capacity(vals.len() / 2);
    for pair in vals.chunks(2) {
        match pair {
            [Value::Str(pv), Value::Int(pe)] if *pe >= 0 && *pe <= u32::MAX as i64 => {
                areas.push(StripeArea {
                    pv: pv.to_string(),
                    pe: *pe as u64,
                })
            }
            _ => {
                return invalid(format!(
                    "Bad area array for {}: expected \"pvN\", <extent> pairs.",
                    r.what
                ))
            }
        }
    }
    Ok(areas)
}

// ---------------------------------------------------------------------------
// Export.

/// The values behind the comment lines of the header, which LVM2 takes
/// from its version string and `uname(2)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generator {
    /// Follows "# Generated by ": e.g. `rlvm version 0.1.0`.
    pub program: String,
    /// The `creation_host` comment: sysname nodename release version machine.
    pub uname: String,
}

impl Generator {
    pub fn current() -> Generator {
        let uname = match nix::sys::utsname::uname() {
            Ok(u) => [
                u.sysname(),
                u.nodename(),
                u.release(),
                u.version(),
                u.machine(),
            ]
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" "),
            Err(_) => String::new(),
        };
        Generator {
            program: format!("rlvm version {}", env!("CARGO_PKG_VERSION")),
            uname,
        }
    }
}

/// The on-disk form (VG first; the caller appends the NUL).
pub fn export_disk(vg: &Vg, header: &TextHeader) -> String {
    export_disk_with(vg, header, &Generator::current())
}

/// The `vgcfgbackup` file form (header first, indented, commented).
pub fn export_file(vg: &Vg, header: &TextHeader) -> String {
    export_file_with(vg, header, &Generator::current())
}

pub fn export_disk_with(vg: &Vg, header: &TextHeader, gen: &Generator) -> String {
    let mut f = Out::for_vg(false, vg);
    f.vg(vg);
    f.header(header, gen);
    f.buf
}

pub fn export_file_with(vg: &Vg, header: &TextHeader, gen: &Generator) -> String {
    let mut f = Out::for_vg(true, vg);
    f.header(header, gen);
    f.vg(vg);
    f.buf
}

/// LVM2's formatter: one line per call, comments only in file form.
/// Lines are written straight into the buffer (no String per line), and
/// a comment is only computed for the file form, which shows it.
struct Out {
    buf: String,
    indent: usize,
    file: bool,
    /// Size comments made so far, by sectors: most LVs of a VG share a
    /// handful of sizes, and `%g` formatting is not cheap.
    sizes: rustc_hash::FxHashMap<u64, std::rc::Rc<str>>,
    /// The last `creation_time` comment made (LVs made together share it).
    last_time: Option<(u64, String)>,
}

/// LVM2 aligns comments to this tab stop (`COMMENT_TAB`).
const COMMENT_TAB: usize = 6;

/// A string as libdm writes it quoted (`config::quote`), without making
/// the quoted copy.
struct Quoted<'a>(&'a str);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        f.write_char('"')?;
        let mut rest = self.0;
        // Searched byte by byte: both are ASCII, never inside a character.
        while let Some(i) = rest.bytes().position(|b| b == b'"' || b == b'\\') {
            f.write_str(&rest[..i])?;
            f.write_char('\\')?;
            f.write_str(&rest[i..i + 1])?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)?;
        f.write_char('"')
    }
}

/// `["a", "b"]`: a list of quoted words.
struct List<'a, S: AsRef<str>>(&'a [S]);

impl<S: AsRef<str>> std::fmt::Display for List<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[")?;
        for (i, w) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", Quoted(w.as_ref()))?;
        }
        f.write_str("]")
    }
}

/// One line: `$out.ln(comment, format_args!(...))`.
macro_rules! ln {
    ($out:expr, $($arg:tt)*) => {
        $out.line_args(None, format_args!($($arg)*))
    };
}

/// A value written straight into the text (no `fmt` machinery: these
/// are most of a VG's lines).
trait Put {
    fn put(&self, buf: &mut String);
}

impl Put for &str {
    fn put(&self, buf: &mut String) {
        buf.push_str(self);
    }
}

impl Put for u64 {
    fn put(&self, buf: &mut String) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut v = *self;
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for &d in &digits[i..] {
            buf.push(char::from(d));
        }
    }
}

impl Put for u32 {
    fn put(&self, buf: &mut String) {
        u64::from(*self).put(buf);
    }
}

impl Put for usize {
    fn put(&self, buf: &mut String) {
        (*self as u64).put(buf);
    }
}

impl Put for i64 {
    fn put(&self, buf: &mut String) {
        if *self < 0 {
            buf.push('-');
        }
        self.unsigned_abs().put(buf);
    }
}

impl Put for Quoted<'_> {
    fn put(&self, buf: &mut String) {
        buf.push('"');
        let mut rest = self.0;
        while let Some(i) = memchr::memchr2(b'"', b'\\', rest.as_bytes()) {
            buf.push_str(&rest[..i]);
            buf.push('\\');
            buf.push_str(&rest[i..i + 1]);
            rest = &rest[i + 1..];
        }
        buf.push_str(rest);
        buf.push('"');
    }
}

impl<S: AsRef<str>> Put for List<'_, S> {
    fn put(&self, buf: &mut String) {
        buf.push('[');
        for (i, w) in self.0.iter().enumerate() {
            if i > 0 {
                buf.push_str(", ");
            }
            Quoted(w.as_ref()).put(buf);
        }
        buf.push(']');
    }
}

/// An id in quotes, dashed (`"abcdef-..."`).
struct QuotedId<'a>(&'a crate::metadata::id::Id);

impl Put for QuotedId<'_> {
    fn put(&self, buf: &mut String) {
        let s = self.0.as_raw_str();
        buf.push('"');
        let mut pos = 0;
        for (i, len) in [6, 4, 4, 4, 4, 4, 6].into_iter().enumerate() {
            if i > 0 {
                buf.push('-');
            }
            buf.push_str(s.get(pos..pos + len).unwrap_or(""));
            pos += len;
        }
        buf.push('"');
    }
}

/// One line of pieces: `put!(out, comment; "key = ", value)`.
macro_rules! put {
    ($out:expr, $comment:expr; $($v:expr),+ $(,)?) => {{
        let start = $out.begin();
        $( Put::put(&$v, &mut $out.buf); )+
        $out.end(start, $comment);
    }};
}

impl Out {
    /// A formatter for `vg`, its buffer sized for the text at once: an LV
    /// takes 300-450 bytes (a growing buffer would copy a VG of thousands
    /// of LVs several times; a large buffer's unused end is never touched).
    fn for_vg(file: bool, vg: &Vg) -> Out {
        let segments: usize = vg.lvs.iter().map(|lv| lv.segments.len()).sum();
        let mut f = Out::new(file);
        f.buf
            .reserve(4096 + 512 * (vg.pvs.len() + vg.lvs.len() + segments));
        f
    }
    fn new(file: bool) -> Out {
        Out {
            buf: String::new(),
            indent: 0,
            file,
            sizes: Default::default(),
            last_time: None,
        }
    }
    fn line(&mut self, text: &str) {
        self.line_args(None, format_args!("{text}"));
    }
    fn line_c(&mut self, text: &str, comment: Option<&str>) {
        self.line_args(comment, format_args!("{text}"));
    }
    fn line_args(&mut self, comment: Option<&str>, text: std::fmt::Arguments<'_>) {
        use std::fmt::Write as _;
        let start = self.begin();
        let _ = self.buf.write_fmt(text);
        self.end(start, comment);
    }
    /// Starts a line (its indentation, file form); where its text starts.
    fn begin(&mut self) -> usize {
        if self.file {
            for _ in 0..self.indent {
                self.buf.push('\t');
            }
        }
        self.buf.len()
    }
    /// Ends the line whose text started at `start`, with `comment`
    /// aligned (file form only).
    fn end(&mut self, start: usize, comment: Option<&str>) {
        if let (true, Some(c)) = (self.file, comment) {
            // One tab at least, then up to the COMMENT_TAB stop, counting
            // 8 columns per indentation tab.
            let col = (self.buf.len() - start + 8 * self.indent) / 8 + 1;
            let tabs = COMMENT_TAB.saturating_sub(col).max(1);
            for _ in 0..tabs {
                self.buf.push('\t');
            }
            self.buf.push_str(c);
        }
        self.buf.push('\n');
    }
    /// `key = value` with the size comment of `sectors` (file form).
    fn size(&mut self, sectors: u64, key: &str, value: u64) {
        if !self.file {
            put!(self, None; key, " = ", value);
            return;
        }
        // Shared, not copied: the same few comments on every LV.
        let comment = self
            .sizes
            .entry(sectors)
            .or_insert_with(|| size_comment(sectors).into())
            .clone();
        put!(self, Some(&*comment); key, " = ", value);
    }
    fn nl(&mut self) {
        self.buf.push('\n');
    }
    fn open(&mut self, name: &str) {
        put!(self, None; name, " {");
        self.indent += 1;
    }
    fn close(&mut self) {
        self.indent = self.indent.saturating_sub(1);
        self.line("}");
    }
    fn flags(&mut self, status: &Flags, flags: &Flags, table: &[(&str, bool)]) {
        put!(self, None; "status = ", CanonicalWords(status, table));
        put!(self, None; "flags = ", CanonicalWords(flags, table));
    }
    fn tags(&mut self, tags: &[String]) {
        if !tags.is_empty() {
            put!(self, None; "tags = ", List(tags));
        }
    }

    fn header(&mut self, h: &TextHeader, gen: &Generator) {
        let when = ctime(h.creation_time);
        ln!(self, "# Generated by {}: {when}\n", gen.program);
        ln!(self, "contents = {}", Quoted(CONTENTS_VALUE));
        self.line("version = 1");
        self.nl();
        ln!(self, "description = {}", Quoted(&h.description));
        self.nl();
        ln!(
            self,
            "creation_host = {}\t# {}",
            Quoted(&h.creation_host),
            gen.uname
        );
        ln!(self, "creation_time = {}\t# {when}\n", h.creation_time);
    }

    fn vg(&mut self, vg: &Vg) {
        self.open(&vg.name);
        put!(self, None; "id = ", QuotedId(&vg.id));
        put!(self, None; "seqno = ", vg.seqno);
        if let Some(fmt) = &vg.format {
            self.line_args(
                Some("# informational"),
                format_args!("format = {}", Quoted(fmt)),
            );
        }
        let (status, flags) = write_locked(&vg.status, &vg.flags, vg_write_locked(vg));
        self.flags(&status, &flags, VG_FLAGS);
        self.tags(&vg.tags);
        if let Some(s) = &vg.system_id {
            ln!(self, "system_id = {}", Quoted(s));
        }
        self.size(vg.extent_size, "extent_size", vg.extent_size);
        put!(self, None; "max_lv = ", vg.max_lv);
        put!(self, None; "max_pv = ", vg.max_pv);
        if let Some(a) = &vg.allocation_policy {
            self.nl();
            ln!(self, "allocation_policy = {}", Quoted(a));
        }
        if let Some(m) = vg.metadata_copies {
            ln!(self, "metadata_copies = {m}");
        }
        self.nl();
        self.open("physical_volumes");
        for pv in &vg.pvs {
            self.pv(vg, pv);
        }
        self.close();
        self.nl();
        if !vg.lvs.is_empty() {
            self.open("logical_volumes");
            // Visible LVs first, then hidden ones (`_print_lvs`).
            let visible = vg.visible_flags();
            let locked = vg_write_locked(vg);
            for want in [true, false] {
                for (lv, _) in vg.lvs.iter().zip(&visible).filter(|(_, v)| **v == want) {
                    self.lv(vg, lv, locked);
                }
            }
            self.close();
        }
        self.nl();
        self.close();
    }

    fn pv(&mut self, vg: &Vg, pv: &Pv) {
        self.nl();
        self.open(&pv.key);
        put!(self, None; "id = ", QuotedId(&pv.id));
        if let Some(d) = &pv.device {
            self.line_args(Some("# Hint only"), format_args!("device = {}", Quoted(d)));
        }
        if let Some(t) = &pv.device_id_type {
            ln!(self, "device_id_type = {}", Quoted(t));
        }
        if let Some(d) = &pv.device_id {
            ln!(self, "device_id = {}", Quoted(d));
        }
        self.nl();
        self.flags(&pv.status, &pv.flags, PV_FLAGS);
        self.tags(&pv.tags);
        if let Some(s) = pv.dev_size {
            self.size(s, "dev_size", s);
        }
        put!(self, None; "pe_start = ", pv.pe_start);
        self.size(
            vg.extent_size.saturating_mul(pv.pe_count),
            "pe_count",
            pv.pe_count,
        );
        if let Some(s) = pv.ba_start {
            ln!(self, "ba_start = {s}");
        }
        if let Some(s) = pv.ba_size {
            self.size(s, "ba_size", s);
        }
        self.close();
    }

    /// `locked`: the VG is written locked (`vg_write_locked`).
    fn lv(&mut self, vg: &Vg, lv: &Lv, locked: bool) {
        self.nl();
        self.open(&lv.name);
        put!(self, None; "id = ", QuotedId(&lv.id));
        let (status, flags) = write_locked(&lv.status, &lv.flags, locked);
        self.flags(&status, &flags, LV_FLAGS);
        self.tags(&lv.tags);
        if let Some(t) = lv.creation_time {
            let when = self.file.then(|| match &self.last_time {
                Some((lt, w)) if *lt == t => w.clone(),
                _ => iso_time(t),
            });
            if let Some(w) = &when {
                self.last_time = Some((t, w.clone()));
            }
            put!(self, when.as_deref(); "creation_time = ", t);
            let host = lv.creation_host.as_deref().unwrap_or("");
            put!(self, None; "creation_host = ", Quoted(host));
        }
        if let Some(a) = &lv.allocation_policy {
            ln!(self, "allocation_policy = {}", Quoted(a));
        }
        match lv.read_ahead {
            None => {}
            Some(0) => self.line_c("read_ahead = -1", Some("# None")),
            Some(r) => ln!(self, "read_ahead = {r}"),
        }
        if let Some(m) = lv.major {
            ln!(self, "major = {m}");
        }
        if let Some(m) = lv.minor {
            ln!(self, "minor = {m}");
        }
        put!(self, None; "segment_count = ", lv.segments.len());
        self.nl();
        for (i, seg) in lv.segments.iter().enumerate() {
            self.segment(vg, i + 1, seg);
        }
        self.close();
    }

    fn segment(&mut self, vg: &Vg, n: usize, seg: &Segment) {
        put!(self, None; "segment", n, " {");
        self.indent += 1;
        put!(self, None; "start_extent = ", seg.start_extent);
        self.size(
            seg.extent_count.saturating_mul(vg.extent_size),
            "extent_count",
            seg.extent_count,
        );
        self.nl();
        put!(self, None; "type = ", Quoted(seg.type_name()));
        self.tags(&seg.tags);
        match &seg.kind {
            SegmentKind::Striped {
                stripe_size,
                stripes,
            } => {
                let linear = (stripes.len() == 1).then_some("# linear");
                put!(self, linear; "stripe_count = ", stripes.len());
                if let Some(s) = stripe_size {
                    self.size(*s, "stripe_size", *s);
                }
                self.nl();
                self.line("stripes = [");
                self.indent += 1;
                for (i, a) in stripes.iter().enumerate() {
                    let sep = if i + 1 == stripes.len() { "" } else { "," };
                    put!(self, None; Quoted(&a.pv), ", ", a.pe, sep);
                }
                self.indent -= 1;
                self.line("]");
            }
            SegmentKind::Snapshot {
                chunk_size,
                origin,
                cow,
                merging,
            } => {
                ln!(self, "chunk_size = {chunk_size}");
                ln!(self, "origin = {}", Quoted(origin));
                let key = if *merging {
                    "merging_store"
                } else {
                    "cow_store"
                };
                ln!(self, "{key} = {}", Quoted(cow));
            }
            // `error` / `zero`: the common keys only, as LVM2 writes them.
            // Any other type is not modelled: such a VG is never written.
            SegmentKind::Unknown { .. } => {}
        }
        self.close();
    }
}

// ---------------------------------------------------------------------------
// Human comments.

/// `# 4 Megabytes`: LVM2's `_sectors_to_units` (binary units, `%g`).
pub fn size_comment(sectors: u64) -> String {
    const UNITS: &[&str] = &[
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Petabytes",
        "Exabytes",
    ];
    let mut d = sectors as f64 / 2.0;
    let mut i = 0;
    while d > 1024.0 && i + 1 < UNITS.len() {
        d /= 1024.0;
        i += 1;
    }
    format!("# {} {}", fmt_g(d), UNITS[i])
}

/// C's `%g` (precision 6) for finite non-negative values.
fn fmt_g(d: f64) -> String {
    if d == 0.0 || !d.is_finite() {
        return "0".into();
    }
    let e = format!("{d:.5e}");
    let exp: i32 = e
        .split_once('e')
        .and_then(|(_, x)| x.parse().ok())
        .unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let (mant, _) = e.split_once('e').unwrap_or((&e, ""));
        let mant = trim_zeros(mant);
        return format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let prec = (5 - exp).max(0) as usize;
    trim_zeros(&format!("{d:.prec$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

struct Tm {
    year: i64,
    mon: u32,
    day: u32,
    wday: usize,
    h: u64,
    m: u64,
    s: u64,
}

/// UTC broken-down time. rlvm writes times in UTC (LVM2 uses local time;
/// the comments are informational only).
fn tm(t: u64) -> Tm {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    let (year, mon, day) = civil(days);
    Tm {
        year,
        mon,
        day,
        wday: ((days + 4).rem_euclid(7)) as usize,
        h: secs / 3600,
        m: secs / 60 % 60,
        s: secs % 60,
    }
}

/// `ctime(3)` without the newline: `Sat Nov 21 22:25:34 2026`.
pub fn ctime(t: u64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let x = tm(t);
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        DAYS[x.wday],
        MONS[(x.mon as usize).saturating_sub(1) % 12],
        x.day,
        x.h,
        x.m,
        x.s,
        x.year
    )
}

/// `# 2026-11-21 22:21:20 +0000` (strftime `%Y-%m-%d %T %z`, UTC).
fn iso_time(t: u64) -> String {
    let x = tm(t);
    format!(
        "# {}-{:02}-{:02} {:02}:{:02}:{:02} +0000",
        x.year, x.mon, x.day, x.h, x.m, x.s
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `model::flag_word` keeps its own list of the words these tables
    /// hold (the model cannot see the text format's tables): every word
    /// rlvm reads or writes must be one of its static strings.
    #[test]
    fn every_table_word_is_a_static_flag_word() {
        let words = VG_FLAGS
            .iter()
            .chain(PV_FLAGS)
            .chain(LV_FLAGS)
            .map(|(w, _)| *w);
        for w in words
            .chain(["PARTIAL"])
            .chain(UNMODELLED_WORDS.iter().copied())
        {
            assert!(matches!(flag_word(w), Cow::Borrowed(_)), "{w}");
        }
    }

    /// creation-time.sh: a `creation_time` beyond i64 (32-bit LVM2 <
    /// 2.02.169) reads as LVM2 reads it, repaired to 2018-05-24 with a
    /// warning; other keys are untouched.
    #[test]
    fn creation_time_out_of_range_is_repaired() {
        let text = include_str!("../../tests/golden/cases/snapshots/backup.vg");
        let (vg, _) = import_vg(text).expect("import");
        let bad: String = text
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("creation_time") && l.starts_with('\t') {
                    let indent = &l[..l.len() - l.trim_start().len()];
                    format!("{indent}creation_time = 12029933779523993599\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        assert!(import_vg_repairing(text).expect("import").2.is_empty());
        let (back, _, warnings) = import_vg_repairing(&bad).expect("repaired");
        assert_eq!(warnings, vec![INVALID_CREATION_TIME.to_string()]);
        assert!(back
            .lvs
            .iter()
            .all(|l| l.creation_time == Some(REPAIRED_CREATION_TIME)));
        assert_eq!(back.lvs.len(), vg.lvs.len());
        let out = export_file(&back, &TextHeader::default());
        assert!(import_vg_repairing(&out).expect("import").2.is_empty());
    }

    /// `error` and `zero` segments (lvcreate --type error|zero) are
    /// modelled: the VG stays writable, they are written with the common
    /// keys only, as LVM2 writes them, and read back the same; adjacent
    /// ones of one type merge.
    #[test]
    fn error_and_zero_segments_round_trip() {
        let text = include_str!("../../tests/golden/cases/snapshots/backup.vg");
        let (mut vg, header) = import_vg(text).expect("import");
        let mut lv = vg.lvs[0].clone();
        lv.name = "virt".into();
        lv.id = Id::random();
        lv.segments = vec![
            Segment::new_virtual("error", 0, 2),
            Segment::new_virtual("error", 2, 2),
            Segment::new_virtual("zero", 4, 1),
        ];
        crate::metadata::alloc::merge_segments(&mut lv.segments);
        assert_eq!(lv.segments.len(), 2);
        assert_eq!(lv.segments[0].extent_count, 4);
        vg.lvs.push(lv);
        let out = export_file(&vg, &header);
        assert!(out.contains("type = \"error\""), "{out}");
        assert!(out.contains("type = \"zero\""), "{out}");
        let (back, _) = import_vg(&out).expect("re-import");
        assert_eq!(back.unsupported, None);
        assert_eq!(back.lv("virt"), vg.lv("virt"));
        assert_eq!(back.lvs.len(), vg.lvs.len());
        assert!(back.check_writable().is_ok());
        // Another unknown type still makes the VG read-only.
        let thin = out.replace("type = \"zero\"", "type = \"thin\"");
        assert!(import_vg(&thin).expect("import").0.unsupported.is_some());
    }

    /// What LVM2 writes for a VG with a system ID (`vgchange --systemid`):
    /// WRITE moved to WRITE_LOCKED for the VG and its LVs. rlvm reads it as
    /// writable, writes it back the same way, and the other way when the
    /// system ID is cleared.
    #[test]
    fn write_locked_system_id_vg() {
        let text = r#"vg0 {
id = "Wq7Hb1-1l8o-Z2ZT-6oJo-eeuV-Mg0y-2hXP5S"
seqno = 3
format = "lvm2"
status = ["RESIZEABLE", "READ"]
flags = ["WRITE_LOCKED"]
system_id = "otherhost"
extent_size = 8192
max_lv = 0
max_pv = 0
metadata_copies = 0
physical_volumes {
pv0 {
id = "hsJb0z-Mp1Q-L8sW-G85C-8ErT-oUtL-psbx66"
device = "/dev/loop0"
status = ["ALLOCATABLE"]
flags = []
dev_size = 131072
pe_start = 2048
pe_count = 15
}
}
logical_volumes {
a {
id = "w5d5zl-sLmU-P0We-avMp-Cygm-ofYG-O2JJye"
status = ["READ", "VISIBLE"]
flags = ["WRITE_LOCKED"]
segment_count = 1
segment1 {
start_extent = 0
extent_count = 1
type = "striped"
stripe_count = 1
stripes = [
"pv0", 0
]
}
}
}
}
contents = "Text Format Volume Group"
version = 1
"#;
        let (vg, _) = import_vg(text).unwrap();
        assert_eq!(vg.unsupported, None);
        assert_eq!(vg.status, Flags::new(&["RESIZEABLE", "READ", "WRITE"]));
        assert!(vg.flags.0.is_empty());
        let lv = vg.lv("a").unwrap();
        assert!(lv.writable() && lv.flags.0.is_empty());
        let header = TextHeader::default();
        let out = export_disk(&vg, &header);
        assert!(out.contains("status = [\"RESIZEABLE\", \"READ\"]\nflags = [\"WRITE_LOCKED\"]"));
        assert!(out.contains("status = [\"READ\", \"VISIBLE\"]\nflags = [\"WRITE_LOCKED\"]"));
        assert_eq!(import_vg(&out).unwrap().0, vg);
        // Two LV sections of one name (merged by the parser): refused.
        let dup = text.replacen(
            "logical_volumes {\n",
            "logical_volumes {\nb {\nid = \"AAAAAA-sLmU-P0We-avMp-Cygm-ofYG-O2JJye\"\nstatus = [\"READ\"]\nsegment_count = 0\n}\n",
            1,
        );
        assert!(import_vg(&dup).is_ok());
        let dup = dup.replacen("b {\nid", "a {\nid", 1);
        let e = import_vg(&dup).unwrap_err().to_string();
        assert!(
            e.starts_with("Duplicate key 'id' in vg0/logical_volumes/a"),
            "{e}"
        );
        // A key written twice in one section (no merge): the first counts,
        // as in LVM2 ("Ignoring duplicate config node").
        let twice = text.replacen(
            "status = [\"READ\", \"VISIBLE\"]",
            "status = [\"READ\", \"VISIBLE\"]\nstatus = [\"READ\"]",
            1,
        );
        assert_ne!(twice, text);
        let (back, _) = import_vg(&twice).unwrap();
        assert_eq!(back.lv("a").unwrap().status, vg.lv("a").unwrap().status);
        // Two sections of one name whose keys differ: merged, accepted.
        let (merged, _) = config::parse_noting_merges("a {\nx = 1\n}\na {\ny = 2\n}\n").unwrap();
        assert_eq!(merged.items.len(), 1);
        assert!(
            config::parse_noting_merges("a {\nx = 1\n}\nb {\nx = 1\n}\n").is_ok_and(|(_, m)| !m)
        );
        assert!(
            config::parse_noting_merges("a {\nx = 1\n}\na {\ny = 2\n}\n").is_ok_and(|(_, m)| m)
        );
        assert!(config::parse_noting_merges("a/b = 1\n").is_ok_and(|(_, m)| m));
        let mut free = vg.clone();
        free.system_id = None;
        let out = export_disk(&free, &header);
        assert!(!out.contains("WRITE_LOCKED"));
        assert!(out.contains("status = [\"RESIZEABLE\", \"READ\", \"WRITE\"]"));
    }

    #[test]
    fn size_comments_match_lvm() {
        assert_eq!(size_comment(8192), "# 4 Megabytes");
        assert_eq!(size_comment(131072), "# 64 Megabytes");
        assert_eq!(size_comment(2048), "# 1024 Kilobytes");
        assert_eq!(size_comment(3), "# 1.5 Kilobytes");
        assert_eq!(size_comment(0), "# 0 Kilobytes");
        assert_eq!(size_comment(3 * 1024 * 1024 + 2), "# 1.5 Gigabytes");
        assert_eq!(fmt_g(1.0 / 3.0), "0.333333");
        assert_eq!(fmt_g(1023.999999), "1024");
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(ctime(1795299934), "Sat Nov 21 22:25:34 2026");
        assert_eq!(ctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(iso_time(1795299680), "# 2026-11-21 22:21:20 +0000");
    }

    #[test]
    fn comment_alignment() {
        let mut f = Out::new(true);
        f.indent = 1;
        f.line_c("format = \"lvm2\"", Some("# informational"));
        f.indent = 3;
        f.line_c("device = \"/dev/loop0\"", Some("# Hint only"));
        assert_eq!(
            f.buf,
            "\tformat = \"lvm2\"\t\t\t# informational\n\t\t\tdevice = \"/dev/loop0\"\t# Hint only\n"
        );
    }
}
