//! Property test: valid metadata text, edited in structure-aware ways
//! (duplicate LV and PV sections, extents moved onto other LVs' or past
//! `pe_count`, wrong `segment_count` / `extent_count` / `stripe_count`,
//! copies on different PVs that differ at the same seqno) and planted
//! with valid checksums in the PVs' metadata areas. rlvm must either
//! refuse the VG, or read exactly what the text says into a VG that is
//! sound; and a write (an lvcreate, an lvremove) must either be refused
//! with no byte changed on any device, or commit a sound VG that reads
//! back as written. Runs in-process on in-memory PVs (no root, no LVM2).
//!
//! "Sound" is checked here by an independent oracle (`unsound`), not by
//! `validate.rs`: a rule missing there shows up as a failure here.
//! 64 random cases by default (about 3 s in a debug build); set
//! RLVM_EDIT_CASES for a longer hunt (1500 cases took a minute).

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use rlvm::metadata::alloc::{allocate, AllocRequest};
use rlvm::metadata::id::Id;
use rlvm::metadata::mda;
use rlvm::metadata::model::{Flags, Lv, SegmentKind, Vg};
use rlvm::metadata::snapshot;
use rlvm::metadata::store::{self, MemOpener, PvLayout, VgHandle};
use rlvm::metadata::text;

const DEV_SIZE: usize = 8 << 20;
/// 512 KiB extents: 14 on each PV.
const EXTENT: u64 = 1024;
const MDA_START: u64 = 4096;

fn new_lv(name: &str, visible: bool, segments: Vec<rlvm::metadata::model::Segment>) -> Lv {
    let mut status = Flags::new(&["READ", "WRITE"]);
    if visible {
        status.set("VISIBLE");
    }
    Lv {
        name: name.into(),
        id: Id::random(),
        status,
        flags: Flags::default(),
        tags: vec![],
        creation_time: Some(1_800_000_000),
        creation_host: Some("host".into()),
        allocation_policy: None,
        read_ahead: None,
        major: None,
        minor: None,
        segments,
    }
}

fn req(extents: u64, stripes: u32) -> AllocRequest {
    AllocRequest {
        extents,
        stripes,
        stripe_size: (stripes > 1).then_some(128),
        pvs: None,
        contiguous: false,
    }
}

/// Three PVs; LVs linear, striped, spread over PVs in several segments,
/// and a snapshot: every kind of section the edits work on.
fn base() -> (Vec<String>, Vec<Vec<u8>>) {
    let mut o = MemOpener::default();
    let mut infos = vec![];
    let mut names = vec![];
    for i in 0..3 {
        let name = format!("/dev/edit{i}");
        let d = o.add(&name, vec![0u8; DEV_SIZE]);
        infos.push(store::create_pv(&d, &name, Id::random(), &PvLayout::default()).unwrap());
        names.push(name);
    }
    let mut vg = store::new_vg("vg0", EXTENT, &infos);
    let a = allocate(&vg, &req(4, 1)).unwrap();
    vg.lvs.push(new_lv("a", true, a));
    let b = allocate(&vg, &req(6, 2)).unwrap();
    vg.lvs.push(new_lv("b", true, b));
    let c = allocate(&vg, &req(20, 1)).unwrap();
    assert!(c.len() > 1, "c should span PVs");
    vg.lvs.push(new_lv("c", true, c));
    let cow = allocate(&vg, &req(2, 1)).unwrap();
    vg.lvs.push(new_lv("s", false, cow));
    snapshot::add_snapshot(&mut vg, "a", "s", 8).unwrap();
    let mut h = VgHandle::new_vg(vg, infos);
    h.commit(&o, "create").unwrap();
    let images = names.iter().map(|n| o.devs[n].to_vec()).collect();
    (names, images)
}

fn opener(names: &[String], images: &[Vec<u8>]) -> MemOpener {
    let mut o = MemOpener::default();
    for (n, img) in names.iter().zip(images) {
        o.add(n, img.clone());
    }
    o
}

fn committed_text(o: &MemOpener, path: &str) -> String {
    let d = &o.devs[path];
    let hdr = mda::read_mda_header(d.as_ref(), MDA_START).unwrap();
    let b = mda::read_text(d.as_ref(), &hdr, 0).unwrap().unwrap();
    String::from_utf8(b).unwrap()
}

/// Writes `text` as the committed copy of the PV's first area, checksums
/// valid, as an editor would (tests/interop/mda-edit.py does the same).
fn plant(o: &MemOpener, path: &str, text: &str) {
    let d = &o.devs[path];
    let hdr = mda::read_mda_header(d.as_ref(), MDA_START).unwrap();
    let locn = mda::write_text(d.as_ref(), &hdr, text.as_bytes()).unwrap();
    mda::write_mda_header(d.as_ref(), &hdr.with_committed(locn)).unwrap();
}

// ---- the structure-aware editor: the disk form has one item a line,
// sections open with "name {" and close with "}".

/// A section: its path ("vg0/logical_volumes/a/segment1") and the lines
/// it spans, brace lines included.
struct Section {
    path: String,
    start: usize,
    end: usize,
}

fn sections(lines: &[String]) -> Vec<Section> {
    let mut stack: Vec<(String, usize)> = vec![];
    let mut out = vec![];
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if let Some(name) = t.strip_suffix(" {") {
            stack.push((name.to_string(), i));
        } else if t == "}" {
            let path = stack
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join("/");
            let (_, start) = stack.pop().expect("balanced braces");
            out.push(Section {
                path,
                start,
                end: i,
            });
        }
    }
    out.sort_by_key(|s| s.start);
    out
}

fn depth(path: &str) -> usize {
    path.matches('/').count()
}

/// LV (or PV) sections: the children of `vg0/logical_volumes`.
fn children<'a>(secs: &'a [Section], parent: &str) -> Vec<&'a Section> {
    secs.iter()
        .filter(|s| {
            s.path.starts_with(&format!("{parent}/")) && depth(&s.path) == depth(parent) + 1
        })
        .collect()
}

#[derive(Clone, Debug)]
enum Edit {
    /// A second copy of an LV (or PV) section, same name; optionally a
    /// fresh id so that only the name clashes.
    DupSection { pv: bool, i: usize, fresh_id: bool },
    /// An LV (or PV) renamed to another's name.
    Rename { pv: bool, i: usize, j: usize },
    /// One `key = N` line of that kind set to a new number.
    SetNumber {
        key: usize,
        i: usize,
        value: i64,
        relative: bool,
    },
    /// The first extent of one stripe moved (onto another LV, past the end).
    StripePe { i: usize, pe: u64 },
    /// One stripe pointed at another PV key (pv3 does not exist).
    StripePv { i: usize, pv: usize },
    /// A difference that breaks nothing (an LV's creation host).
    Harmless { i: usize },
    /// One `key = value` line inside the PV and LV sections dropped (a
    /// required field missing) or written twice.
    Line { i: usize, twice: bool },
}

const NUMBER_KEYS: [&str; 6] = [
    "segment_count",
    "extent_count",
    "stripe_count",
    "start_extent",
    "pe_count",
    "chunk_size",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<bool>(), any::<usize>(), any::<bool>())
            .prop_map(|(pv, i, fresh_id)| Edit::DupSection { pv, i, fresh_id }),
        (any::<bool>(), any::<usize>(), any::<usize>()).prop_map(|(pv, i, j)| Edit::Rename {
            pv,
            i,
            j
        }),
        (
            0..NUMBER_KEYS.len(),
            any::<usize>(),
            -3i64..40,
            any::<bool>()
        )
            .prop_map(|(key, i, value, relative)| Edit::SetNumber {
                key,
                i,
                value,
                relative
            }),
        (any::<usize>(), 0u64..20).prop_map(|(i, pe)| Edit::StripePe { i, pe }),
        (any::<usize>(), 0usize..4).prop_map(|(i, pv)| Edit::StripePv { i, pv }),
        any::<usize>().prop_map(|i| Edit::Harmless { i }),
        (any::<usize>(), any::<bool>()).prop_map(|(i, twice)| Edit::Line { i, twice }),
    ]
}

fn apply(text: &str, e: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let secs = sections(&lines);
    let parent = |pv: bool| {
        if pv {
            "vg0/physical_volumes"
        } else {
            "vg0/logical_volumes"
        }
    };
    match e {
        Edit::DupSection { pv, i, fresh_id } => {
            let kids = children(&secs, parent(*pv));
            let s = kids[i % kids.len()];
            let mut copy: Vec<String> = lines[s.start..=s.end].to_vec();
            if *fresh_id {
                if let Some(l) = copy
                    .iter_mut()
                    .find(|l| l.trim_start().starts_with("id = "))
                {
                    *l = format!("id = \"{}\"", Id::random());
                }
            }
            let at = s.end + 1;
            lines.splice(at..at, copy);
        }
        Edit::Rename { pv, i, j } => {
            let kids = children(&secs, parent(*pv));
            let (a, b) = (i % kids.len(), j % kids.len());
            let name = kids[b].path.rsplit('/').next().unwrap().to_string();
            lines[kids[a].start] = format!("{name} {{");
        }
        Edit::SetNumber {
            key,
            i,
            value,
            relative,
        } => {
            let prefix = format!("{} = ", NUMBER_KEYS[*key]);
            let at: Vec<usize> = (0..lines.len())
                .filter(|&k| lines[k].trim_start().starts_with(&prefix))
                .collect();
            if !at.is_empty() {
                let k = at[i % at.len()];
                let old: i64 = lines[k].trim_start()[prefix.len()..]
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                let new = if *relative { old + value } else { *value };
                lines[k] = format!("{prefix}{new}");
            }
        }
        Edit::StripePe { i, pe } => {
            let at = stripe_lines(&lines);
            if !at.is_empty() {
                let k = at[i % at.len()];
                let pv = lines[k].split(',').next().unwrap().trim().to_string();
                let comma = if lines[k].trim_end().ends_with(',') {
                    ","
                } else {
                    ""
                };
                lines[k] = format!("{pv}, {pe}{comma}");
            }
        }
        Edit::StripePv { i, pv } => {
            let at = stripe_lines(&lines);
            if !at.is_empty() {
                let k = at[i % at.len()];
                let rest = lines[k].split_once(',').unwrap().1.to_string();
                lines[k] = format!("\"pv{pv}\",{rest}");
            }
        }
        Edit::Line { i, twice } => {
            let first = secs
                .iter()
                .filter(|s| s.path == "vg0/physical_volumes")
                .map(|s| s.start)
                .next()
                .unwrap_or(0);
            let at: Vec<usize> = (first..lines.len())
                .filter(|&k| lines[k].contains(" = "))
                .collect();
            if !at.is_empty() {
                let k = at[i % at.len()];
                if *twice {
                    let l = lines[k].clone();
                    lines.insert(k, l);
                } else {
                    lines.remove(k);
                }
            }
        }
        Edit::Harmless { i } => {
            let at: Vec<usize> = (0..lines.len())
                .filter(|&k| lines[k].trim_start().starts_with("creation_host = "))
                .collect();
            if !at.is_empty() {
                let k = at[i % at.len()];
                lines[k] = "creation_host = \"elsewhere\"".into();
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// The `"pvN", PE` lines inside `stripes = [ ... ]`.
fn stripe_lines(lines: &[String]) -> Vec<usize> {
    let mut out = vec![];
    let mut inside = false;
    for (k, l) in lines.iter().enumerate() {
        let t = l.trim();
        if t.starts_with("stripes = [") {
            inside = true;
        } else if inside && t == "]" {
            inside = false;
        } else if inside && t.starts_with('"') {
            out.push(k);
        }
    }
    out
}

// ---- the oracle

/// Why `vg` is not sound, independently of `validate.rs`: names and ids
/// unique, segments contiguous from extent 0, stripes dividing them,
/// every area on a known PV within its `pe_count`, no extent used twice,
/// snapshots naming existing LVs of the right size.
fn unsound(vg: &Vg) -> Option<String> {
    let mut seen = HashSet::new();
    for p in &vg.pvs {
        if !seen.insert(p.key.clone()) || !seen.insert(p.id.to_string()) {
            return Some(format!("PV {} twice", p.key));
        }
    }
    let mut used: HashMap<&str, Vec<bool>> = vg
        .pvs
        .iter()
        .map(|p| (p.key.as_str(), vec![false; p.pe_count as usize]))
        .collect();
    let mut names = HashSet::new();
    for lv in &vg.lvs {
        if !names.insert(lv.name.clone()) || !names.insert(lv.id.to_string()) {
            return Some(format!("LV {} twice", lv.name));
        }
        if lv.segments.is_empty() {
            return Some(format!("LV {} has no segments", lv.name));
        }
        let mut le = 0;
        for seg in &lv.segments {
            if seg.start_extent != le || seg.extent_count == 0 {
                return Some(format!("LV {}: segments not contiguous", lv.name));
            }
            le += seg.extent_count;
            match &seg.kind {
                SegmentKind::Striped { stripes, .. } => {
                    let n = stripes.len() as u64;
                    if n == 0 || seg.extent_count % n != 0 {
                        return Some(format!("LV {}: stripes do not divide", lv.name));
                    }
                    for a in stripes {
                        let Some(map) = used.get_mut(a.pv.as_str()) else {
                            return Some(format!("LV {}: unknown PV {}", lv.name, a.pv));
                        };
                        for pe in a.pe..a.pe + seg.extent_count / n {
                            match map.get_mut(pe as usize) {
                                None => {
                                    return Some(format!("LV {}: PE {pe} out of range", lv.name))
                                }
                                Some(true) => {
                                    return Some(format!("PE {pe} of {} used twice", a.pv))
                                }
                                Some(u) => *u = true,
                            }
                        }
                    }
                }
                SegmentKind::Snapshot { origin, cow, .. } => {
                    let (Some(o), Some(_)) = (vg.lv(origin), vg.lv(cow)) else {
                        return Some(format!("snapshot {}: unknown LV", lv.name));
                    };
                    if o.extent_count() != lv.extent_count() {
                        return Some(format!("snapshot {}: size differs from origin", lv.name));
                    }
                }
                SegmentKind::Unknown { .. } => return Some("unknown segment type".into()),
            }
        }
    }
    None
}

/// What the text says, counted from the text itself: the sections under
/// logical_volumes and physical_volumes, and for each LV its
/// `segment_count`, the number of its segment sections, and per segment
/// `stripe_count` against the stripe lines.
fn text_disagrees_with(text: &str, vg: &Vg) -> Option<String> {
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let secs = sections(&lines);
    let lvs = children(&secs, "vg0/logical_volumes");
    let pvs = children(&secs, "vg0/physical_volumes");
    if lvs.len() != vg.lvs.len() || pvs.len() != vg.pvs.len() {
        return Some(format!(
            "text has {} LVs and {} PVs, read {} and {}",
            lvs.len(),
            pvs.len(),
            vg.lvs.len(),
            vg.pvs.len()
        ));
    }
    let value = |from: usize, to: usize, key: &str| -> Option<u64> {
        lines[from..to].iter().find_map(|l| {
            l.trim_start()
                .strip_prefix(&format!("{key} = "))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
    };
    for s in lvs {
        let name = s.path.rsplit('/').next().unwrap();
        let segs = children(&secs, &s.path);
        let lv = vg.lv(name)?;
        let declared = value(
            s.start,
            segs.first().map_or(s.end, |g| g.start),
            "segment_count",
        );
        if declared != Some(segs.len() as u64) || lv.segments.len() != segs.len() {
            return Some(format!(
                "LV {name}: segment_count {declared:?}, {} sections, read {}",
                segs.len(),
                lv.segments.len()
            ));
        }
        for (g, seg) in segs.iter().zip(&lv.segments) {
            let extents = value(g.start, g.end, "extent_count");
            if extents != Some(seg.extent_count) {
                return Some(format!(
                    "LV {name}: extent_count {extents:?} read as {}",
                    seg.extent_count
                ));
            }
            if let SegmentKind::Striped { stripes, .. } = &seg.kind {
                let listed = stripe_lines(&lines[g.start..g.end]).len();
                let declared = value(g.start, g.end, "stripe_count");
                if declared != Some(listed as u64) || stripes.len() != listed {
                    return Some(format!(
                        "LV {name}: stripe_count {declared:?}, {listed} listed, read {}",
                        stripes.len()
                    ));
                }
            }
        }
    }
    None
}

fn images(o: &MemOpener, names: &[String]) -> Vec<Vec<u8>> {
    names.iter().map(|n| o.devs[n].to_vec()).collect()
}

/// A write as lvcreate (`remove == false`) or lvremove makes it.
fn change(vg: &mut Vg, remove: bool) -> bool {
    if remove {
        let plain = ["b", "c"];
        let before = vg.lvs.len();
        vg.lvs.retain(|l| !plain.contains(&l.name.as_str()));
        return vg.lvs.len() != before;
    }
    match allocate(vg, &req(2, 1)) {
        Ok(segs) => {
            vg.lvs.push(new_lv("new", true, segs));
            true
        }
        Err(_) => false,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    RefusedRead,
    RefusedWrite,
    NothingToWrite,
    Wrote,
}

/// Plants `edits` on the PVs marked in `on` (the others keep the original
/// copy, same seqno), reads the VG, then tries a write; fails the case on
/// a misread, an unsound write, or a refused write that changed a byte.
fn check(
    names: &[String],
    base: &[Vec<u8>],
    edits: &[Edit],
    on: &[bool],
    remove: bool,
) -> Result<Outcome, TestCaseError> {
    let o = opener(names, base);
    let original = committed_text(&o, &names[0]);
    let mut edited = original.clone();
    for e in edits {
        edited = apply(&edited, e);
    }
    let planted: Vec<&str> = on
        .iter()
        .map(|&yes| {
            if yes {
                edited.as_str()
            } else {
                original.as_str()
            }
        })
        .collect();
    for (n, t) in names.iter().zip(&planted) {
        plant(&o, n, t);
    }
    let before = images(&o, names);
    let read = store::scan(&o, names).vg("vg0");
    let mut h = match read {
        Err(e) => {
            prop_assert!(!e.to_string().is_empty());
            return Ok(Outcome::RefusedRead);
        }
        Ok(h) => h,
    };
    // Read: exactly what the copy read says, and a sound VG.
    let copy_read = planted
        .iter()
        .find(|t| text::import_vg(t).is_ok_and(|(v, _)| v == *h.vg))
        .copied();
    let Some(copy_read) = copy_read else {
        return Err(TestCaseError::fail(format!(
            "read a VG that no copy holds:\n{edited}"
        )));
    };
    if let Some(why) = text_disagrees_with(copy_read, &h.vg) {
        return Err(TestCaseError::fail(format!(
            "misread ({why}):\n{copy_read}"
        )));
    }
    // An unsound VG may be read (and reported) as it is; it is never
    // written (below).
    let was_unsound = unsound(&h.vg);
    // Copies that parse to different VGs at one seqno: nothing written.
    let parsed: Vec<Vg> = planted
        .iter()
        .filter_map(|t| text::import_vg(t).ok().map(|(v, _)| v))
        .collect();
    let disagree = parsed.windows(2).any(|w| w[0] != w[1]);
    let mut work = h.vg.clone();
    if !change(&mut work, remove) {
        return Ok(Outcome::NothingToWrite);
    }
    h.vg = work;
    match h.commit(&o, "edit test") {
        Err(_) => {
            prop_assert!(
                images(&o, names) == before,
                "a refused write changed a device"
            );
            Ok(Outcome::RefusedWrite)
        }
        Ok(_) => {
            prop_assert!(!disagree, "wrote over copies that disagree:\n{edited}");
            prop_assert!(
                was_unsound.is_none(),
                "wrote a change to an unsound VG ({:?}):\n{copy_read}",
                was_unsound
            );
            if let Some(why) = unsound(&h.vg) {
                return Err(TestCaseError::fail(format!("wrote an unsound VG ({why})")));
            }
            let back = store::scan(&o, names).vg("vg0").unwrap();
            prop_assert_eq!(&back.vg, &h.vg);
            Ok(Outcome::Wrote)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(std::env::var("RLVM_EDIT_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64)))]
    #[test]
    fn edited_metadata_is_refused_or_read_right_and_never_written_unsound(
        edits in prop::collection::vec(edit(), 1..3),
        on in prop::array::uniform3(any::<bool>()),
        remove in any::<bool>(),
    ) {
        thread_local! {
            static BASE: (Vec<String>, Vec<Vec<u8>>) = base();
        }
        let on = if on.iter().any(|&b| b) { on } else { [true, true, true] };
        BASE.with(|(names, images)| check(names, images, &edits, &on, remove))?;
    }
}

/// The edits change the text as meant (the editor itself is tested).
#[test]
fn the_editor_edits_what_it_says() {
    let (names, images) = base();
    let o = opener(&names, &images);
    let t = committed_text(&o, &names[0]);
    let dup = apply(
        &t,
        &Edit::DupSection {
            pv: false,
            i: 0,
            fresh_id: true,
        },
    );
    let lines: Vec<String> = dup.lines().map(str::to_string).collect();
    let lvs = children(&sections(&lines), "vg0/logical_volumes").len();
    assert_eq!(lvs, 6, "a, b, c, s, the snapshot link, and a copy of one");
    let (vg, _) = text::import_vg(&t).unwrap();
    assert_eq!(text_disagrees_with(&t, &vg), None);
    assert_eq!(unsound(&vg), None);
    let moved = apply(&t, &Edit::StripePe { i: 0, pe: 0 });
    let moved = apply(&moved, &Edit::StripePe { i: 1, pe: 0 });
    assert!(
        text::import_vg(&moved).is_err() || unsound(&text::import_vg(&moved).unwrap().0).is_some()
    );
}

/// One case of each kind, with the outcome LVM2's rules give: the random
/// cases above may miss a kind; these never do.
#[test]
fn each_kind_of_edit_has_its_outcome() {
    use Outcome::*;
    let (names, images) = base();
    let all = [true, true, true];
    let num = |key: &str, i: usize, value: i64| Edit::SetNumber {
        key: NUMBER_KEYS.iter().position(|k| *k == key).unwrap(),
        i,
        value,
        relative: true,
    };
    // The snapshot link's extent_count: the last one in the text.
    let o = opener(&names, &images);
    let t = committed_text(&o, &names[0]);
    let last_extent_count = t.matches("extent_count = ").count() - 1;
    // (what, edits, which PVs get them, lvremove rather than lvcreate, outcome)
    type Case = (&'static str, Vec<Edit>, [bool; 3], bool, Outcome);
    let cases: Vec<Case> = vec![
        ("untouched", vec![], all, false, Wrote),
        (
            "harmless, every copy",
            vec![Edit::Harmless { i: 0 }],
            all,
            false,
            Wrote,
        ),
        (
            "LV a onto another LV's extents",
            vec![Edit::StripePe { i: 0, pe: 4 }],
            all,
            false,
            RefusedRead,
        ),
        (
            "LV a past pe_count",
            vec![Edit::StripePe { i: 0, pe: 12 }],
            all,
            false,
            RefusedRead,
        ),
        (
            "a stripe on no PV",
            vec![Edit::StripePv { i: 0, pv: 3 }],
            all,
            false,
            RefusedRead,
        ),
        (
            "segment_count + 1",
            vec![num("segment_count", 0, 1)],
            all,
            false,
            RefusedRead,
        ),
        (
            "stripe_count + 1",
            vec![num("stripe_count", 0, 1)],
            all,
            false,
            RefusedRead,
        ),
        (
            "start_extent + 1",
            vec![num("start_extent", 0, 1)],
            all,
            false,
            RefusedRead,
        ),
        (
            "duplicate LV section, own id",
            vec![Edit::DupSection {
                pv: false,
                i: 1,
                fresh_id: true,
            }],
            all,
            false,
            RefusedRead,
        ),
        (
            "duplicate PV section",
            vec![Edit::DupSection {
                pv: true,
                i: 0,
                fresh_id: false,
            }],
            all,
            false,
            RefusedRead,
        ),
        (
            "LV renamed to another's name",
            vec![Edit::Rename {
                pv: false,
                i: 0,
                j: 1,
            }],
            all,
            false,
            RefusedRead,
        ),
        (
            "copies differ at one seqno (lvcreate)",
            vec![Edit::Harmless { i: 0 }],
            [true, false, false],
            false,
            RefusedWrite,
        ),
        (
            "copies differ at one seqno (lvremove)",
            vec![Edit::Harmless { i: 0 }],
            [false, true, false],
            true,
            RefusedWrite,
        ),
        (
            "snapshot smaller than its origin",
            vec![num("extent_count", last_extent_count, -1)],
            all,
            true,
            RefusedWrite,
        ),
    ];
    for (what, edits, on, remove, want) in cases {
        let got =
            check(&names, &images, &edits, &on, remove).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(got, want, "{what}");
    }
}
