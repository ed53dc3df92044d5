//! LVM2's write-time invariants (`vg_validate` in `lib/metadata/metadata.c`,
//! `check_lv_segments` in `merge.c`, name rules in `lvm-string.c`), checked
//! before every write so that rlvm never hands LVM2 metadata that its next
//! write would refuse. Pure; no I/O.
//!
//! A subset (`check_references`) is also what LVM2 refuses on read, and
//! `text::import_vg` applies it.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::model::{Lv, SegmentKind, Vg, ALLOC_POLICIES};

/// One invariant broken; the message names the object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidateError(pub String);

fn fail<T>(msg: impl Into<String>) -> Result<T, ValidateError> {
    Err(ValidateError(msg.into()))
}

/// LVM2's `NAME_LEN` minus the terminating NUL.
pub const MAX_NAME_LEN: usize = 127;

/// Characters LVM2 allows in tags (`validate_tag`), besides alphanumerics.
const TAG_EXTRA: &str = "_+.-/=!:&#";
const MAX_TAG_LEN: usize = 1024;

/// LV names reserved for LVM2's internal LVs (`apply_lvname_restrictions`).
const RESERVED_LV_PREFIXES: &[&str] = &["snapshot", "pvmove"];
/// Each starts with '_' (`check_lv_name` relies on it).
const RESERVED_LV_SUBSTRINGS: &[&str] = &[
    "_cdata", "_cmeta", "_corig", "_cpool", "_cvol", "_wcorig", "_mlog", "_mimage", "_pmspare",
    "_rimage", "_rmeta", "_tdata", "_tmeta", "_vorigin", "_vdata", "_imeta", "_iorig",
];

/// Which name or tag rule a string breaks; the message is completed with
/// the object's name by `validate_vg`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("name is empty")]
    EmptyName,
    #[error("name is longer than {MAX_NAME_LEN} characters")]
    NameTooLong,
    #[error("name may not be \".\" or \"..\"")]
    DotName,
    #[error("name may not start with '-'")]
    HyphenName,
    #[error("name contains invalid character '{0}'")]
    NameChar(char),
    #[error("names starting with \"{0}\" are reserved")]
    ReservedPrefix(&'static str),
    #[error("names containing \"{0}\" are reserved")]
    ReservedSubstring(&'static str),
    #[error("tag is empty")]
    EmptyTag,
    #[error("tag is longer than {MAX_TAG_LEN} characters")]
    TagTooLong,
    #[error("tag \"{tag}\" contains invalid character '{c}'")]
    TagChar { tag: String, c: char },
}

/// The basic name rule (`_validate_name`): non-empty, at most 127
/// characters of `[A-Za-z0-9+_.-]`, no leading `-`, not `.` or `..`.
pub fn check_name(name: &str) -> Result<(), RuleError> {
    if name.is_empty() {
        return Err(RuleError::EmptyName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(RuleError::NameTooLong);
    }
    if name == "." || name == ".." {
        return Err(RuleError::DotName);
    }
    if name.starts_with('-') {
        return Err(RuleError::HyphenName);
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+_.-".contains(*c)))
    {
        return Err(RuleError::NameChar(c));
    }
    Ok(())
}

/// The extra LV rules: reserved prefixes and internal suffixes.
pub fn check_lv_name(name: &str, snapshot_link: bool) -> Result<(), RuleError> {
    check_name(name)?;
    for p in RESERVED_LV_PREFIXES {
        if name.starts_with(p) && !(snapshot_link && *p == "snapshot") {
            return Err(RuleError::ReservedPrefix(p));
        }
    }
    // Every reserved substring starts with '_': most names have none.
    if !name.contains('_') {
        return Ok(());
    }
    for s in RESERVED_LV_SUBSTRINGS {
        if name.contains(s) {
            return Err(RuleError::ReservedSubstring(s));
        }
    }
    Ok(())
}

pub fn check_tag(tag: &str) -> Result<(), RuleError> {
    if tag.is_empty() {
        return Err(RuleError::EmptyTag);
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(RuleError::TagTooLong);
    }
    match tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || TAG_EXTRA.contains(*c)))
    {
        Some(c) => Err(RuleError::TagChar {
            tag: tag.to_string(),
            c,
        }),
        None => Ok(()),
    }
}

/// `what` names the object in the error (formatted only then).
fn tags(tags: &[String], what: impl Fn() -> String) -> Result<(), ValidateError> {
    for t in tags {
        check_tag(t).map_err(|e| ValidateError(format!("{}: {e}.", what())))?;
    }
    Ok(())
}

/// What LVM2 refuses on read as well as on write: striped areas must name
/// existing PVs, lie within `pe_count` and not overlap; snapshot segments
/// must name existing origin and COW LVs.
pub fn check_references(vg: &Vg) -> Result<(), ValidateError> {
    // (pv key) -> list of (first PE, length, LV name) to check overlaps.
    let mut used: HashMap<&str, Vec<(u64, u64, &str)>> = HashMap::default();
    for lv in &vg.lvs {
        for (i, seg) in lv.segments.iter().enumerate() {
            match &seg.kind {
                SegmentKind::Striped { stripes, .. } => {
                    let len = seg.area_len();
                    for a in stripes {
                        let Some(pv) = vg.pv(&a.pv) else {
                            return fail(format!(
                                "LV {}: segment {} refers to unknown PV {}.",
                                lv.name,
                                i + 1,
                                a.pv
                            ));
                        };
                        let end = a.pe.saturating_add(len);
                        if end > pv.pe_count {
                            return fail(format!(
                                "LV {}: segment {} uses extents {}..{} of PV {} which has only {} (Segment with extent {} in PV {} not found).",
                                lv.name,
                                i + 1,
                                a.pe,
                                end,
                                pv.key,
                                pv.pe_count,
                                pv.pe_count.max(a.pe),
                                pv.key
                            ));
                        }
                        used.entry(pv.key.as_str())
                            .or_default()
                            .push((a.pe, len, &lv.name));
                    }
                }
                SegmentKind::Snapshot { origin, cow, .. } => {
                    if vg.lv(origin).is_none() {
                        return fail(format!(
                            "Unknown logical volume {origin} specified for snapshot origin in LV {}.",
                            lv.name
                        ));
                    }
                    if vg.lv(cow).is_none() {
                        return fail(format!(
                            "Unknown logical volume {cow} specified for snapshot cow store in LV {}.",
                            lv.name
                        ));
                    }
                }
                SegmentKind::Unknown { .. } => {}
            }
        }
    }
    for (pv, mut areas) in used {
        areas.sort();
        for w in areas.windows(2) {
            let (a, b) = (w[0], w[1]);
            if a.0.saturating_add(a.1) > b.0 && a.1 > 0 && b.1 > 0 {
                return fail(format!(
                    "PV segments corrupted: LVs {} and {} both use extent {} of PV {pv}.",
                    a.2, b.2, b.0
                ));
            }
        }
    }
    Ok(())
}

/// Every invariant LVM2's `vg_validate` and friends check before a write.
pub fn validate_vg(vg: &Vg) -> Result<(), ValidateError> {
    let name = &vg.name;
    check_name(name).map_err(|e| ValidateError(format!("Invalid VG name \"{name}\": {e}.")))?;
    if vg.seqno == 0 {
        return fail(format!("VG {name}: seqno must be greater than 0."));
    }
    if vg.extent_size == 0 {
        return fail(format!("VG {name}: extent_size must be greater than 0."));
    }
    if let Some(a) = &vg.allocation_policy {
        if !ALLOC_POLICIES.contains(&a.as_str()) {
            return fail(format!("VG {name}: unknown allocation policy \"{a}\"."));
        }
    }
    tags(&vg.tags, || format!("VG {name}"))?;
    if vg.max_pv > 0 && vg.pvs.len() as u64 > vg.max_pv {
        return fail(format!(
            "VG {name}: {} PVs exceed max_pv {}.",
            vg.pvs.len(),
            vg.max_pv
        ));
    }
    // LVM2 counts visible LVs against max_lv (`vg_visible_lvs`).
    let visible = vg.visible_count() as u64;
    if vg.max_lv > 0 && visible > vg.max_lv {
        return fail(format!(
            "VG {name}: {visible} visible LVs exceed max_lv {}.",
            vg.max_lv
        ));
    }

    let mut keys = HashSet::default();
    let mut ids = HashSet::default();
    for pv in &vg.pvs {
        if pv.key.is_empty() || pv.key.contains(char::is_whitespace) {
            return fail(format!("VG {name}: invalid PV key \"{}\".", pv.key));
        }
        if !keys.insert(pv.key.as_str()) {
            return fail(format!("VG {name}: duplicate PV key {}.", pv.key));
        }
        if !ids.insert(pv.id) {
            return fail(format!(
                "VG {name}: duplicate PV id {} ({}).",
                pv.id, pv.key
            ));
        }
        tags(&pv.tags, || format!("PV {}", pv.key))?;
    }

    let n = vg.lvs.len();
    let mut names = HashSet::with_capacity_and_hasher(n, Default::default());
    let mut lv_ids = HashSet::with_capacity_and_hasher(n, Default::default());
    for lv in &vg.lvs {
        let link = lv.snapshot_segment().is_some();
        check_lv_name(&lv.name, link)
            .map_err(|e| ValidateError(format!("Invalid LV name \"{}\": {e}.", lv.name)))?;
        if !names.insert(lv.name.as_str()) {
            return fail(format!("VG {name}: duplicate LV name {}.", lv.name));
        }
        if !lv_ids.insert(lv.id) {
            return fail(format!(
                "Internal error: Duplicate LV id {} for {} in VG {name}.",
                lv.id, lv.name
            ));
        }
        if lv.creation_time.is_some() != lv.creation_host.is_some() {
            return fail(format!(
                "LV {}: creation_time and creation_host must be set together.",
                lv.name
            ));
        }
        if let Some(a) = &lv.allocation_policy {
            if !ALLOC_POLICIES.contains(&a.as_str()) {
                return fail(format!(
                    "LV {}: unknown allocation policy \"{a}\".",
                    lv.name
                ));
            }
        }
        tags(&lv.tags, || format!("LV {}", lv.name))?;
        check_segments(vg, lv)?;
    }
    check_references(vg)?;
    check_snapshots(vg)
}

fn check_segments(vg: &Vg, lv: &Lv) -> Result<(), ValidateError> {
    if lv.segments.is_empty() {
        return fail(format!("LV {}: has no segments.", lv.name));
    }
    let mut le = 0u64;
    for (i, seg) in lv.segments.iter().enumerate() {
        let n = i + 1;
        if seg.start_extent != le {
            return fail(format!(
                "LV {}: segment {n} starts at extent {}, expected {le}.",
                lv.name, seg.start_extent
            ));
        }
        if seg.extent_count == 0 {
            return fail(format!("LV {}: segment {n} is empty.", lv.name));
        }
        le = le.saturating_add(seg.extent_count);
        tags(&seg.tags, || format!("LV {} segment {n}", lv.name))?;
        match &seg.kind {
            SegmentKind::Striped {
                stripes,
                stripe_size,
            } => {
                if stripes.is_empty() {
                    return fail(format!("LV {}: segment {n} has no stripes.", lv.name));
                }
                if seg.extent_count % stripes.len() as u64 != 0 {
                    return fail(format!(
                        "LV {}: segment {n}: {} extents are not divisible by {} stripes.",
                        lv.name,
                        seg.extent_count,
                        stripes.len()
                    ));
                }
                if stripes.len() > 1 && stripe_size.unwrap_or(0) == 0 {
                    return fail(format!(
                        "LV {}: segment {n} has {} stripes but no stripe_size.",
                        lv.name,
                        stripes.len()
                    ));
                }
            }
            SegmentKind::Snapshot { .. } if lv.segments.len() != 1 => {
                return fail(format!(
                    "LV {}: a snapshot LV must have exactly one segment.",
                    lv.name
                ));
            }
            SegmentKind::Snapshot { .. } => {}
            SegmentKind::Unknown { .. } if seg.virtual_type().is_some() => {}
            SegmentKind::Unknown { type_name } => {
                return fail(format!(
                    "LV {}: segment {n} has unsupported type {type_name} (VG {}).",
                    lv.name, vg.name
                ));
            }
        }
    }
    Ok(())
}

fn check_snapshots(vg: &Vg) -> Result<(), ValidateError> {
    let links: HashSet<&str> = vg
        .lvs
        .iter()
        .filter(|l| l.snapshot_segment().is_some())
        .map(|l| l.name.as_str())
        .collect();
    let mut cows: HashMap<&str, &str> = HashMap::default();
    let mut merging: HashMap<&str, &str> = HashMap::default();
    for lv in &vg.lvs {
        let Some((origin, cow, chunk, is_merging)) = lv.snapshot_segment() else {
            continue;
        };
        let link = &lv.name;
        if links.contains(origin) || links.contains(cow) {
            return fail(format!(
                "Snapshot {link}: origin {origin} and COW {cow} may not be snapshot LVs."
            ));
        }
        if origin == cow {
            return fail(format!(
                "Snapshot {link}: origin and COW are the same LV {cow}."
            ));
        }
        if let Some(other) = cows.insert(cow, link) {
            return fail(format!(
                "COW LV {cow} is used by two snapshots ({other} and {link})."
            ));
        }
        if !(8..=1024).contains(&chunk) || !chunk.is_power_of_two() {
            return fail(format!(
                "Snapshot {link}: chunk_size {chunk} is not a power of two between 8 and 1024 sectors."
            ));
        }
        let origin_size = vg.lv(origin).map(|o| o.extent_count()).unwrap_or(0);
        if lv.extent_count() != origin_size {
            return fail(format!(
                "Snapshot {link}: {} extents, but origin {origin} has {origin_size}.",
                lv.extent_count()
            ));
        }
        if is_merging {
            if let Some(other) = merging.insert(origin, link) {
                return fail(format!(
                    "Origin {origin} has two merging snapshots ({other} and {link})."
                ));
            }
        }
    }
    // Snapshots of snapshots do not exist in LVM2.
    for (cow, link) in &cows {
        if vg.is_origin(cow) {
            return fail(format!(
                "COW LV {cow} of snapshot {link} may not itself be an origin."
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check_lv_name` skips the substring search for names without '_'.
    #[test]
    fn reserved_substrings_start_with_underscore() {
        assert!(RESERVED_LV_SUBSTRINGS.iter().all(|s| s.starts_with('_')));
        assert_eq!(
            check_lv_name("a_tmeta", false),
            Err(RuleError::ReservedSubstring("_tmeta"))
        );
        assert_eq!(check_lv_name("tmeta", false), Ok(()));
    }

    /// The rule messages are part of `validate_vg`'s errors: same words
    /// as when they were plain strings.
    #[test]
    fn rule_messages() {
        let msg = |r: Result<(), RuleError>| r.unwrap_err().to_string();
        assert_eq!(msg(check_name("")), "name is empty");
        assert_eq!(
            msg(check_name(&"v".repeat(128))),
            "name is longer than 127 characters"
        );
        assert_eq!(msg(check_name("..")), "name may not be \".\" or \"..\"");
        assert_eq!(msg(check_name("-a")), "name may not start with '-'");
        assert_eq!(
            msg(check_name("a b")),
            "name contains invalid character ' '"
        );
        assert_eq!(
            msg(check_lv_name("snapshot1", false)),
            "names starting with \"snapshot\" are reserved"
        );
        assert_eq!(check_lv_name("snapshot1", true), Ok(()));
        assert_eq!(
            msg(check_lv_name("a_tmeta", false)),
            "names containing \"_tmeta\" are reserved"
        );
        assert_eq!(msg(check_tag("")), "tag is empty");
        assert_eq!(
            msg(check_tag(&"t".repeat(1025))),
            "tag is longer than 1024 characters"
        );
        assert_eq!(
            msg(check_tag("a b")),
            "tag \"a b\" contains invalid character ' '"
        );
    }
}
