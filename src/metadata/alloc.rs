//! Extent allocation for linear and striped LVs: which PV extents a new or
//! extended LV gets. Pure: reads a `Vg`, returns segments; never touches
//! disk or kernel.
//!
//! The policy follows LVM2's "normal" allocation (`_allocate`,
//! `_find_some_parallel_space` and `_check_pva` in `lib/metadata/lv_manip.c`),
//! without tags, mirrors or logs:
//!
//! 1. Extending: first try space that continues each stripe of the LV's
//!    last segment on the same PV ("contiguous"), then space on the PVs
//!    each stripe already uses ("cling", LVM's `maximise_cling` default).
//! 2. Then rounds of "normal" allocation. Each round, every usable PV (in
//!    VG order) offers one free area: the smallest area that holds the
//!    whole remaining stripe length, or else its largest area. Offers are
//!    ordered by how much they can take (stable, so VG order breaks ties)
//!    and the first `stripes` of them are used, each for the smallest
//!    offer's length. A round after the first prefers PVs this request
//!    already used (LVM's cling-to-allocated), for linear LVs.
//!
//! With this, a request that fits in one area gets the first PV (VG order)
//! with such an area; checked against LVM 2.03.16 on three PVs of 15/7/7
//! extents, partly used: 5 → pv0, 14 → 11 on pv0 + 3 on pv1, 18 → 11 on
//! pv0 + 7 on pv2, `-i2 -l4` → pv0 + pv1.
//!
//! Only PVs with `ALLOCATABLE` status and without `MISSING` are used; free
//! space is every extent not covered by a striped segment's area.

use std::collections::BTreeMap;

use thiserror::Error;

use super::model::{Lv, Segment, SegmentKind, StripeArea, Vg};
use super::units::{display_size, DEFAULT_STRIPE_SIZE};

/// What to allocate. `pvs` restricts allocation to those PV keys (the PVs
/// named on the command line); `contiguous` is `--alloc contiguous`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocRequest {
    pub extents: u64,
    pub stripes: u32,
    /// Stripe size in sectors; [`DEFAULT_STRIPE_SIZE`] when striped and unset.
    pub stripe_size: Option<u64>,
    pub pvs: Option<Vec<String>>,
    pub contiguous: bool,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum AllocError {
    #[error("Number of stripes must be at least 1.")]
    NoStripes,
    #[error("Number of extents requested ({requested}) needs to be divisible by {stripes}.")]
    NotDivisible { requested: u64, stripes: u32 },
    #[error("Number of stripes ({stripes}) must not exceed number of physical volumes ({pvs})")]
    TooManyStripes { stripes: u32, pvs: usize },
    #[error("Physical Volume \"{pv}\" not found in Volume Group \"{vg}\".")]
    UnknownPv { pv: String, vg: String },
    /// lvcreate's check against the whole VG's free space.
    #[error(
        "Volume group \"{vg}\" has insufficient free space ({free} extents): {required} required."
    )]
    VgInsufficient {
        vg: String,
        free: u64,
        required: u64,
    },
    /// `_sufficient_pes_free`: the usable PVs cannot hold the request.
    #[error("Insufficient free space: {needed} extents needed, but only {available} available")]
    InsufficientFree { needed: u64, available: u64 },
    /// The allocator ran out of suitable areas. `lv` is empty unless the
    /// caller fills it with [`AllocError::for_lv`] (LVM prints the name).
    #[error(
        "Insufficient suitable {}allocatable extents for logical volume {lv}: {more} more required",
        if *.contiguous { "contiguous " } else { "" }
    )]
    InsufficientSuitable {
        lv: String,
        more: u64,
        contiguous: bool,
    },
}

impl AllocError {
    /// Name the LV in the message, as LVM does.
    pub fn for_lv(mut self, name: &str) -> Self {
        if let AllocError::InsufficientSuitable { lv, .. } = &mut self {
            *lv = name.to_string();
        }
        self
    }
}

/// `extents` rounded up to a multiple of `stripes` (lvcreate does this
/// before allocating).
pub fn round_up_to_stripes(extents: u64, stripes: u32) -> u64 {
    let s = stripes.max(1) as u64;
    extents.div_ceil(s).saturating_mul(s)
}

/// "Rounding size 12.00 MiB (3 extents) up to stripe boundary size
/// 16.00 MiB (4 extents)." (LVM 2.03.16).
pub fn stripe_rounding_notice(extents: u64, rounded: u64, extent_size: u64) -> String {
    format!(
        "Rounding size {} ({extents} extents) up to stripe boundary size {} ({rounded} extents).",
        display_size(extents.saturating_mul(extent_size)),
        display_size(rounded.saturating_mul(extent_size)),
    )
}

/// Allocate a new LV. Segments start at logical extent 0.
pub fn allocate(vg: &Vg, req: &AllocRequest) -> Result<Vec<Segment>, AllocError> {
    run(vg, None, req)
}

/// Extend `lv` by `req.extents`. Segments start at the LV's current end;
/// the caller appends them and may then call [`merge_segments`].
pub fn extend(vg: &Vg, lv: &Lv, req: &AllocRequest) -> Result<Vec<Segment>, AllocError> {
    run(vg, Some(lv), req)
}

/// Free extents per PV key, as (start, len) runs in PE order.
pub type FreeMap = BTreeMap<String, Vec<(u64, u64)>>;

/// Free runs on every PV of the VG (all PVs, usable or not).
pub fn free_map(vg: &Vg) -> FreeMap {
    let mut used: BTreeMap<&str, Vec<(u64, u64)>> = BTreeMap::new();
    for seg in vg.lvs.iter().flat_map(|lv| lv.segments.iter()) {
        if let SegmentKind::Striped { stripes, .. } = &seg.kind {
            let len = seg.area_len();
            for a in stripes {
                used.entry(a.pv.as_str()).or_default().push((a.pe, len));
            }
        }
    }
    vg.pvs
        .iter()
        .map(|pv| {
            let mut runs = Vec::new();
            let mut areas = used.remove(pv.key.as_str()).unwrap_or_default();
            areas.sort_unstable();
            let mut next = 0u64;
            for (pe, len) in areas {
                if pe > next {
                    runs.push((next, pe.min(pv.pe_count) - next));
                }
                next = next.max(pe.saturating_add(len));
                if next >= pv.pe_count {
                    break;
                }
            }
            if next < pv.pe_count {
                runs.push((next, pv.pe_count - next));
            }
            runs.retain(|r| r.1 > 0);
            (pv.key.clone(), runs)
        })
        .collect()
}

/// Merge neighbouring striped segments that continue each other on every
/// stripe with the same stripe size (LVM2's `lv_merge_segments`).
pub fn merge_segments(segs: &mut Vec<Segment>) {
    let mut out: Vec<Segment> = Vec::with_capacity(segs.len());
    for seg in segs.drain(..) {
        if let Some(prev) = out.last_mut() {
            if continues(prev, &seg) {
                prev.extent_count += seg.extent_count;
                continue;
            }
        }
        out.push(seg);
    }
    *segs = out;
}

fn continues(prev: &Segment, next: &Segment) -> bool {
    match (&prev.kind, &next.kind) {
        (
            SegmentKind::Striped {
                stripe_size: s1,
                stripes: a1,
            },
            SegmentKind::Striped {
                stripe_size: s2,
                stripes: a2,
            },
        ) => {
            let len = prev.area_len();
            s1 == s2
                && a1.len() == a2.len()
                && !a1.is_empty()
                && prev.tags == next.tags
                && prev.start_extent + prev.extent_count == next.start_extent
                && prev.extent_count.is_multiple_of(a1.len() as u64)
                && next.extent_count.is_multiple_of(a2.len() as u64)
                && a1
                    .iter()
                    .zip(a2)
                    .all(|(x, y)| x.pv == y.pv && x.pe.checked_add(len) == Some(y.pe))
        }
        // `error` after `error`, `zero` after `zero` (LVM2's
        // `_errseg_merge_segments`, `_zero_merge_segments`).
        _ => {
            prev.virtual_type().is_some()
                && prev.virtual_type() == next.virtual_type()
                && prev.tags == next.tags
                && prev.start_extent + prev.extent_count == next.start_extent
        }
    }
}

/// One allocated slice: per stripe (pv, pe), each `len` extents long.
struct Piece {
    areas: Vec<(String, u64)>,
    len: u64,
}

struct State {
    /// Usable PVs in VG order with their free runs.
    pvs: Vec<(String, Vec<(u64, u64)>)>,
    pieces: Vec<Piece>,
    /// Per-stripe extents still needed.
    remaining: u64,
}

impl State {
    fn take(&mut self, pv: &str, start: u64, len: u64) {
        if let Some((_, runs)) = self.pvs.iter_mut().find(|(k, _)| k == pv) {
            if let Some(i) = runs.iter().position(|r| r.0 == start) {
                if runs[i].1 <= len {
                    runs.remove(i);
                } else {
                    runs[i] = (start + len, runs[i].1 - len);
                }
            }
        }
    }
    fn commit(&mut self, areas: Vec<(String, u64)>, len: u64) {
        for (pv, pe) in &areas {
            self.take(pv, *pe, len);
        }
        self.remaining -= len;
        self.pieces.push(Piece { areas, len });
    }
    fn used_pvs(&self) -> Vec<String> {
        self.pieces
            .iter()
            .flat_map(|p| p.areas.iter().map(|a| a.0.clone()))
            .collect()
    }
}

fn run(vg: &Vg, lv: Option<&Lv>, req: &AllocRequest) -> Result<Vec<Segment>, AllocError> {
    if req.stripes == 0 {
        return Err(AllocError::NoStripes);
    }
    let stripes = req.stripes as u64;
    if !req.extents.is_multiple_of(stripes) {
        return Err(AllocError::NotDivisible {
            requested: req.extents,
            stripes: req.stripes,
        });
    }
    let named: Vec<&str> = match &req.pvs {
        Some(keys) => {
            for k in keys {
                if vg.pv(k).is_none() {
                    return Err(AllocError::UnknownPv {
                        pv: k.clone(),
                        vg: vg.name.clone(),
                    });
                }
            }
            vg.pvs
                .iter()
                .filter(|p| keys.contains(&p.key))
                .map(|p| p.key.as_str())
                .collect()
        }
        None => vg.pvs.iter().map(|p| p.key.as_str()).collect(),
    };
    if (named.len() as u64) < stripes {
        return Err(AllocError::TooManyStripes {
            stripes: req.stripes,
            pvs: named.len(),
        });
    }
    // lvcreate checks the whole VG's free space first (its message names
    // the VG); lvextend goes straight to the PVs.
    if lv.is_none() && req.extents > vg.pe_free() {
        return Err(AllocError::VgInsufficient {
            vg: vg.name.clone(),
            free: vg.pe_free(),
            required: req.extents,
        });
    }
    let start_le = lv.map(|l| l.extent_count()).unwrap_or(0);
    if req.extents == 0 {
        return Ok(Vec::new());
    }

    let map = free_map(vg);
    let usable: Vec<(String, Vec<(u64, u64)>)> = vg
        .pvs
        .iter()
        .filter(|p| named.contains(&p.key.as_str()))
        .filter(|p| p.status.has("ALLOCATABLE"))
        .filter(|p| !p.status.has("MISSING") && !p.flags.has("MISSING"))
        .map(|p| (p.key.clone(), map.get(&p.key).cloned().unwrap_or_default()))
        .collect();
    let available: u64 = usable.iter().flat_map(|(_, r)| r.iter().map(|x| x.1)).sum();
    if available < req.extents {
        return Err(AllocError::InsufficientFree {
            needed: req.extents,
            available,
        });
    }

    let mut st = State {
        pvs: usable,
        pieces: Vec::new(),
        remaining: req.extents / stripes,
    };
    let prev = lv
        .and_then(|l| l.segments.last())
        .and_then(|s| match &s.kind {
            SegmentKind::Striped { stripes: a, .. } if a.len() as u64 == stripes => {
                Some((a.clone(), s.area_len()))
            }
            _ => None,
        });

    if let Some((prev_areas, prev_len)) = &prev {
        contiguous_pass(&mut st, prev_areas, *prev_len);
        if !req.contiguous && st.remaining > 0 {
            let lv = lv.map(|l| l.segments.as_slice()).unwrap_or(&[]);
            cling_pass(&mut st, lv, stripes as usize);
        }
    } else if req.contiguous {
        normal_round(&mut st, stripes as usize, false, true);
    }
    if !req.contiguous {
        let mut cling = !st.pieces.is_empty();
        while st.remaining > 0 {
            let linear_cling = cling && stripes == 1;
            if !normal_round(&mut st, stripes as usize, linear_cling, false) {
                if linear_cling {
                    cling = false;
                    continue;
                }
                break;
            }
            cling = true;
        }
    }
    if st.remaining > 0 {
        return Err(AllocError::InsufficientSuitable {
            lv: lv.map(|l| l.name.clone()).unwrap_or_default(),
            more: st.remaining * stripes,
            contiguous: req.contiguous,
        });
    }

    let stripe_size = (stripes > 1).then(|| req.stripe_size.unwrap_or(DEFAULT_STRIPE_SIZE));
    let mut le = start_le;
    let mut segs: Vec<Segment> = st
        .pieces
        .into_iter()
        .map(|p| {
            let seg = Segment {
                start_extent: le,
                extent_count: p.len * stripes,
                tags: Vec::new(),
                kind: SegmentKind::Striped {
                    stripe_size,
                    stripes: p
                        .areas
                        .into_iter()
                        .map(|(pv, pe)| StripeArea { pv, pe })
                        .collect(),
                },
            };
            le += seg.extent_count;
            seg
        })
        .collect();
    merge_segments(&mut segs);
    Ok(segs)
}

/// Space right after each stripe of the previous segment, same PVs.
fn contiguous_pass(st: &mut State, prev: &[StripeArea], prev_len: u64) {
    let mut areas = Vec::new();
    let mut len = st.remaining;
    for a in prev {
        let want = a.pe.saturating_add(prev_len);
        let run = st
            .pvs
            .iter()
            .find(|(k, _)| *k == a.pv)
            .and_then(|(_, runs)| runs.iter().find(|r| r.0 == want));
        match run {
            Some(&(start, rlen)) => {
                len = len.min(rlen);
                areas.push((a.pv.clone(), start));
            }
            None => return,
        }
    }
    if len > 0 {
        st.commit(areas, len);
    }
}

/// Space on the PVs each stripe index already uses anywhere in the LV,
/// largest area first, in rounds until a stripe finds nothing.
fn cling_pass(st: &mut State, segs: &[Segment], stripes: usize) {
    let mut per_stripe: Vec<Vec<&str>> = vec![Vec::new(); stripes];
    for seg in segs {
        if let SegmentKind::Striped { stripes: a, .. } = &seg.kind {
            if a.len() == stripes {
                for (s, area) in a.iter().enumerate() {
                    per_stripe[s].push(area.pv.as_str());
                }
            }
        }
    }
    while st.remaining > 0 {
        let mut chosen: Vec<(String, u64, u64)> = Vec::new();
        for pvs in &per_stripe {
            // First PV in VG order this stripe used, not already chosen.
            let pick = st
                .pvs
                .iter()
                .filter(|(k, runs)| {
                    pvs.contains(&k.as_str())
                        && !runs.is_empty()
                        && !chosen.iter().any(|c| &c.0 == k)
                })
                .find_map(|(k, runs)| largest(runs).map(|r| (k.clone(), r.0, r.1)));
            match pick {
                Some(p) => chosen.push(p),
                None => return,
            }
        }
        let len = chosen
            .iter()
            .map(|c| c.2)
            .min()
            .unwrap_or(0)
            .min(st.remaining);
        if len == 0 {
            return;
        }
        st.commit(chosen.into_iter().map(|c| (c.0, c.1)).collect(), len);
    }
}

/// Largest run; the lowest start among equals.
fn largest(runs: &[(u64, u64)]) -> Option<(u64, u64)> {
    runs.iter()
        .copied()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
}

/// One round of LVM's normal policy; false if nothing was allocated.
/// `cling`: only PVs this request already used. `whole`: every stripe must
/// come from one area (contiguous policy).
fn normal_round(st: &mut State, stripes: usize, cling: bool, whole: bool) -> bool {
    let need = st.remaining;
    let used = st.used_pvs();
    // (pv, start, usable length)
    let mut offers: Vec<(String, u64, u64)> = st
        .pvs
        .iter()
        .filter(|(k, _)| !cling || used.contains(k))
        .filter_map(|(k, runs)| {
            let fitting = runs
                .iter()
                .copied()
                .filter(|r| r.1 >= need)
                .min_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
            let area = fitting.or_else(|| largest(runs))?;
            Some((k.clone(), area.0, area.1.min(need)))
        })
        .collect();
    // Stable: VG order breaks ties, as in LVM.
    offers.sort_by_key(|o| std::cmp::Reverse(o.2));
    if offers.len() < stripes {
        return false;
    }
    offers.truncate(stripes);
    let len = offers.iter().map(|o| o.2).min().unwrap_or(0);
    if len == 0 || (whole && len < need) {
        return false;
    }
    st.commit(offers.into_iter().map(|o| (o.0, o.1)).collect(), len);
    true
}

#[cfg(test)]
pub(crate) mod fixtures {
    use crate::metadata::id::{Id, ID_LEN};
    use crate::metadata::model::{Flags, Lv, Pv, Segment, SegmentKind, StripeArea, Vg};

    pub fn pv(key: &str, pe_count: u64) -> Pv {
        Pv {
            key: key.into(),
            id: Id([b'p'; ID_LEN]),
            device: None,
            device_id_type: None,
            device_id: None,
            status: Flags::new(&["ALLOCATABLE"]),
            flags: Flags::default(),
            tags: vec![],
            dev_size: None,
            pe_start: 2048,
            pe_count,
            ba_start: None,
            ba_size: None,
        }
    }

    pub fn linear(start: u64, pv: &str, pe: u64, count: u64) -> Segment {
        Segment {
            start_extent: start,
            extent_count: count,
            tags: vec![],
            kind: SegmentKind::Striped {
                stripe_size: None,
                stripes: vec![StripeArea { pv: pv.into(), pe }],
            },
        }
    }

    pub fn lv(name: &str, segments: Vec<Segment>) -> Lv {
        Lv {
            name: name.into(),
            id: Id([b'l'; ID_LEN]),
            status: Flags::new(&["READ", "WRITE", "VISIBLE"]),
            flags: Flags::default(),
            tags: vec![],
            creation_time: None,
            creation_host: None,
            allocation_policy: None,
            read_ahead: None,
            major: None,
            minor: None,
            segments,
        }
    }

    pub fn vg(pvs: Vec<Pv>, lvs: Vec<Lv>) -> Vg {
        Vg {
            name: "rvg".into(),
            id: Id([b'v'; ID_LEN]),
            seqno: 1,
            format: None,
            status: Flags::new(&["READ", "WRITE", "RESIZEABLE"]),
            flags: Flags::default(),
            tags: vec![],
            system_id: None,
            extent_size: 8192,
            max_lv: 0,
            max_pv: 0,
            allocation_policy: None,
            metadata_copies: None,
            pvs,
            lvs,
            unsupported: None,
        }
    }

    /// The VG of the LVM 2.03.16 checks: PVs of 15, 7, 7 extents of 4 MiB;
    /// LV `a` = 3 extents at pv1:0, LV `o` = 4 extents at pv0:0.
    pub fn lvm_check_vg() -> Vg {
        vg(
            vec![pv("pv0", 15), pv("pv1", 7), pv("pv2", 7)],
            vec![
                lv("a", vec![linear(0, "pv1", 0, 3)]),
                lv("o", vec![linear(0, "pv0", 0, 4)]),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    fn req(extents: u64) -> AllocRequest {
        AllocRequest {
            extents,
            stripes: 1,
            stripe_size: None,
            pvs: None,
            contiguous: false,
        }
    }

    /// (pv, pe, extents) per segment, stripes flattened.
    fn layout(segs: &[Segment]) -> Vec<Vec<(String, u64, u64)>> {
        segs.iter()
            .map(|s| match &s.kind {
                SegmentKind::Striped { stripes, .. } => stripes
                    .iter()
                    .map(|a| (a.pv.clone(), a.pe, s.area_len()))
                    .collect(),
                _ => vec![],
            })
            .collect()
    }
    fn l(items: &[&[(&str, u64, u64)]]) -> Vec<Vec<(String, u64, u64)>> {
        items
            .iter()
            .map(|seg| {
                seg.iter()
                    .map(|(p, e, n)| (p.to_string(), *e, *n))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn matches_lvm_choices() {
        let vg = lvm_check_vg();
        // Fits in one area: the first PV (VG order) with a big enough area.
        assert_eq!(
            layout(&allocate(&vg, &req(5)).unwrap()),
            l(&[&[("pv0", 4, 5)]])
        );
        // 11 on pv0, then the remaining 3 from the first PV that holds 3.
        let segs = allocate(&vg, &req(14)).unwrap();
        assert_eq!(layout(&segs), l(&[&[("pv0", 4, 11)], &[("pv1", 3, 3)]]));
        assert_eq!((segs[1].start_extent, segs[1].extent_count), (11, 3));
        // 11 on pv0, then 7: only pv2 has 7.
        assert_eq!(
            layout(&allocate(&vg, &req(18)).unwrap()),
            l(&[&[("pv0", 4, 11)], &[("pv2", 0, 7)]])
        );
        // -i2 -l4: two PVs, two extents each, VG order among equals.
        let r = AllocRequest {
            stripes: 2,
            extents: 4,
            ..req(0)
        };
        let segs = allocate(&vg, &r).unwrap();
        assert_eq!(layout(&segs), l(&[&[("pv0", 4, 2), ("pv1", 3, 2)]]));
        match &segs[0].kind {
            SegmentKind::Striped { stripe_size, .. } => assert_eq!(*stripe_size, Some(128)),
            _ => panic!(),
        }
        // Restricted to named PVs (LVM: 8 on loop1+loop2 → 7 on loop2, 1 on loop1).
        let r = AllocRequest {
            pvs: Some(vec!["pv1".into(), "pv2".into()]),
            ..req(8)
        };
        assert_eq!(
            layout(&allocate(&vg, &r).unwrap()),
            l(&[&[("pv2", 0, 7)], &[("pv1", 3, 1)]])
        );
    }

    #[test]
    fn smallest_fitting_area_on_a_pv() {
        // pv0 free: [0,2) [5,10) [12,20): 4 extents go to [5,10).
        let vg = vg(
            vec![pv("pv0", 20)],
            vec![lv(
                "x",
                vec![linear(0, "pv0", 2, 3), linear(3, "pv0", 10, 2)],
            )],
        );
        assert_eq!(
            layout(&allocate(&vg, &req(4)).unwrap()),
            l(&[&[("pv0", 5, 4)]])
        );
        // 9 fits nowhere: largest first (8), then the 1 left.
        assert_eq!(
            layout(&allocate(&vg, &req(9)).unwrap()),
            l(&[&[("pv0", 12, 8)], &[("pv0", 0, 1)]])
        );
    }

    #[test]
    fn errors_match_lvm() {
        let vg = lvm_check_vg();
        assert_eq!(
            allocate(&vg, &req(250)).unwrap_err().to_string(),
            "Volume group \"rvg\" has insufficient free space (22 extents): 250 required."
        );
        let r = AllocRequest {
            pvs: Some(vec!["pv1".into()]),
            ..req(10)
        };
        assert_eq!(
            allocate(&vg, &r).unwrap_err().to_string(),
            "Insufficient free space: 10 extents needed, but only 4 available"
        );
        let r = AllocRequest {
            stripes: 4,
            ..req(4)
        };
        assert_eq!(
            allocate(&vg, &r).unwrap_err().to_string(),
            "Number of stripes (4) must not exceed number of physical volumes (3)"
        );
        let r = AllocRequest {
            stripes: 2,
            ..req(3)
        };
        assert_eq!(
            allocate(&vg, &r).unwrap_err().to_string(),
            "Number of extents requested (3) needs to be divisible by 2."
        );
        assert_eq!(
            allocate(
                &vg,
                &AllocRequest {
                    stripes: 0,
                    ..req(3)
                }
            ),
            Err(AllocError::NoStripes)
        );
        let r = AllocRequest {
            pvs: Some(vec!["pv9".into()]),
            ..req(1)
        };
        assert_eq!(
            allocate(&vg, &r).unwrap_err().to_string(),
            "Physical Volume \"pv9\" not found in Volume Group \"rvg\"."
        );
        // 3 stripes of 7: pv1 has only 4 free, so stripes run out.
        let r = AllocRequest {
            stripes: 3,
            ..req(21)
        };
        let e = allocate(&vg, &r).unwrap_err().for_lv("t");
        assert_eq!(
            e.to_string(),
            "Insufficient suitable allocatable extents for logical volume t: 9 more required"
        );
        let r = AllocRequest {
            contiguous: true,
            ..req(12)
        };
        assert_eq!(
            allocate(&vg, &r).unwrap_err().for_lv("t").to_string(),
            "Insufficient suitable contiguous allocatable extents for logical volume t: 12 more required"
        );
    }

    #[test]
    fn contiguous_policy() {
        let vg = lvm_check_vg();
        let r = AllocRequest {
            contiguous: true,
            ..req(7)
        };
        // pv0 has 11 free, pv2 has 7: the first PV with room.
        assert_eq!(layout(&allocate(&vg, &r).unwrap()), l(&[&[("pv0", 4, 7)]]));
        // Extending contiguously needs the extents right after the LV.
        let o = vg.lv("o").unwrap();
        let segs = extend(
            &vg,
            o,
            &AllocRequest {
                contiguous: true,
                ..req(11)
            },
        )
        .unwrap();
        assert_eq!(layout(&segs), l(&[&[("pv0", 4, 11)]]));
        assert!(extend(
            &vg,
            o,
            &AllocRequest {
                contiguous: true,
                ..req(12)
            }
        )
        .is_err());
    }

    #[test]
    fn unusable_pvs_are_skipped() {
        let mut vg = lvm_check_vg();
        vg.pvs[0].status.clear("ALLOCATABLE");
        vg.pvs[2].flags.set("MISSING");
        assert_eq!(
            layout(&allocate(&vg, &req(4)).unwrap()),
            l(&[&[("pv1", 3, 4)]])
        );
        assert_eq!(
            allocate(&vg, &req(5)).unwrap_err(),
            AllocError::InsufficientFree {
                needed: 5,
                available: 4
            }
        );
        vg.pvs[1].status.set("MISSING");
        assert!(allocate(&vg, &req(1)).is_err());
    }

    #[test]
    fn extend_prefers_contiguous_then_same_pv() {
        let vg = lvm_check_vg();
        let o = vg.lv("o").unwrap();
        let segs = extend(&vg, o, &req(3)).unwrap();
        assert_eq!(segs.len(), 1);
        assert_eq!((segs[0].start_extent, segs[0].extent_count), (4, 3));
        assert_eq!(layout(&segs), l(&[&[("pv0", 4, 3)]]));
        let mut all = o.segments.clone();
        all.extend(segs);
        merge_segments(&mut all);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].extent_count, 7);

        // `a` (pv1:0..3) blocked by `b` right after it: cling to pv1 first.
        let mut vg = lvm_check_vg();
        vg.lvs.push(lv("b", vec![linear(0, "pv1", 3, 1)]));
        let a = vg.lv("a").unwrap().clone();
        let segs = extend(&vg, &a, &req(5)).unwrap();
        assert_eq!(layout(&segs), l(&[&[("pv1", 4, 3)], &[("pv0", 4, 2)]]));
        assert_eq!(segs[0].start_extent, 3);
        assert_eq!(segs[1].start_extent, 6);

        // Then `o` (pv0:0..4, pv0:4..6 now taken by `a`) clings to pv0:
        // LVM 2.03.16 put `lvextend -l+3 rvg/o` at loop0(6).
        vg.lv_mut("a").unwrap().segments.extend(segs);
        let o = vg.lv("o").unwrap().clone();
        assert_eq!(
            layout(&extend(&vg, &o, &req(3)).unwrap()),
            l(&[&[("pv0", 6, 3)]])
        );
        assert_eq!(
            extend(&vg, &o, &req(100)).unwrap_err().to_string(),
            "Insufficient free space: 100 extents needed, but only 16 available"
        );
    }

    #[test]
    fn striped_extend_continues_stripes() {
        let vg0 = vg(vec![pv("pv0", 10), pv("pv1", 10), pv("pv2", 10)], vec![]);
        let r = AllocRequest {
            stripes: 2,
            stripe_size: Some(16),
            ..req(4)
        };
        let segs = allocate(&vg0, &r).unwrap();
        assert_eq!(layout(&segs), l(&[&[("pv0", 0, 2), ("pv1", 0, 2)]]));
        let mut vg1 = vg0.clone();
        vg1.lvs.push(lv("s", segs));
        let s = vg1.lv("s").unwrap().clone();
        let more = extend(&vg1, &s, &r).unwrap();
        assert_eq!(layout(&more), l(&[&[("pv0", 2, 2), ("pv1", 2, 2)]]));
        let mut all = s.segments.clone();
        all.extend(more);
        merge_segments(&mut all);
        assert_eq!(layout(&all), l(&[&[("pv0", 0, 4), ("pv1", 0, 4)]]));
    }

    #[test]
    fn free_map_handles_odd_metadata() {
        // Overlapping and out-of-range areas must not panic or go negative.
        let vg = vg(
            vec![pv("pv0", 10)],
            vec![lv(
                "x",
                vec![
                    linear(0, "pv0", 2, 5),
                    linear(5, "pv0", 4, 3),
                    linear(8, "pv0", 9, 5),
                ],
            )],
        );
        assert_eq!(free_map(&vg)["pv0"], vec![(0, 2), (7, 2)]);
        let vg = vg_with_zero();
        assert!(free_map(&vg)["pv0"].is_empty());
        assert!(allocate(&vg, &req(1)).is_err());
    }

    fn vg_with_zero() -> Vg {
        vg(vec![pv("pv0", 0)], vec![])
    }

    #[test]
    fn stripe_rounding() {
        assert_eq!(round_up_to_stripes(3, 2), 4);
        assert_eq!(round_up_to_stripes(4, 2), 4);
        assert_eq!(round_up_to_stripes(5, 0), 5);
        assert_eq!(
            stripe_rounding_notice(3, 4, 8192),
            "Rounding size 12.00 MiB (3 extents) up to stripe boundary size 16.00 MiB (4 extents)."
        );
    }

    #[test]
    fn zero_extents_is_empty() {
        assert_eq!(allocate(&lvm_check_vg(), &req(0)), Ok(vec![]));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Op {
            Create {
                extents: u64,
                stripes: u32,
                pvs: Option<Vec<usize>>,
                contiguous: bool,
            },
            Extend {
                lv: usize,
                extents: u64,
                stripes: u32,
            },
            Remove {
                lv: usize,
            },
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                (
                    1u64..40,
                    1u32..4,
                    proptest::option::of(proptest::collection::vec(0usize..5, 1..4)),
                    any::<bool>()
                )
                    .prop_map(|(extents, stripes, pvs, contiguous)| Op::Create {
                        extents,
                        stripes,
                        pvs,
                        contiguous
                    }),
                (0usize..8, 1u64..20, 1u32..3).prop_map(|(lv, extents, stripes)| Op::Extend {
                    lv,
                    extents,
                    stripes
                }),
                (0usize..8).prop_map(|lv| Op::Remove { lv }),
            ]
        }

        /// Every area inside its PV, no extent used twice.
        fn check(vg: &Vg) -> Result<(), TestCaseError> {
            let mut used: BTreeMap<&str, Vec<bool>> = vg
                .pvs
                .iter()
                .map(|p| (p.key.as_str(), vec![false; p.pe_count as usize]))
                .collect();
            for lv in &vg.lvs {
                let mut le = 0;
                for seg in &lv.segments {
                    prop_assert_eq!(seg.start_extent, le);
                    le += seg.extent_count;
                    let SegmentKind::Striped { stripes, .. } = &seg.kind else {
                        continue;
                    };
                    prop_assert_eq!(seg.extent_count % stripes.len() as u64, 0);
                    for a in stripes {
                        let map = used.get_mut(a.pv.as_str()).unwrap();
                        for pe in a.pe..a.pe + seg.area_len() {
                            prop_assert!((pe as usize) < map.len(), "beyond pe_count");
                            prop_assert!(!map[pe as usize], "overlap on {} pe {}", a.pv, pe);
                            map[pe as usize] = true;
                        }
                    }
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]
            #[test]
            fn random_histories_stay_consistent(
                sizes in proptest::collection::vec((0u64..30, any::<bool>(), 0u8..10), 1..5),
                ops in proptest::collection::vec(op(), 1..25),
            ) {
                let pvs = sizes
                    .iter()
                    .enumerate()
                    .map(|(i, (n, alloc, miss))| {
                        let mut p = pv(&format!("pv{i}"), *n);
                        if !alloc && *miss < 3 { p.status.clear("ALLOCATABLE"); }
                        if *miss == 0 { p.flags.set("MISSING"); }
                        p
                    })
                    .collect();
                let mut vg = vg(pvs, vec![]);
                let mut next = 0;
                for op in ops {
                    match op {
                        Op::Create { extents, stripes, pvs, contiguous } => {
                            let n = vg.pvs.len();
                            let keys = pvs.map(|v| v.iter().map(|i| format!("pv{}", i % n)).collect::<Vec<_>>());
                            let usable_free: u64 = vg.pvs.iter()
                                .filter(|p| keys.as_ref().is_none_or(|k| k.contains(&p.key)))
                                .filter(|p| p.status.has("ALLOCATABLE") && !p.flags.has("MISSING"))
                                .map(|p| p.pe_count - vg.pe_used_on(&p.key))
                                .sum();
                            let n_pvs = vg.pvs.iter().filter(|p| keys.as_ref().is_none_or(|k| k.contains(&p.key))).count();
                            let extents = round_up_to_stripes(extents, stripes);
                            let r = AllocRequest { extents, stripes, stripe_size: None, pvs: keys.clone(), contiguous };
                            match allocate(&vg, &r) {
                                Ok(segs) => {
                                    let total: u64 = segs.iter().map(|s| s.extent_count).sum();
                                    prop_assert_eq!(total, extents);
                                    for s in &segs {
                                        let SegmentKind::Striped { stripes: a, .. } = &s.kind else { unreachable!() };
                                        prop_assert_eq!(a.len(), stripes as usize);
                                        let mut k: Vec<_> = a.iter().map(|x| &x.pv).collect();
                                        k.sort();
                                        k.dedup();
                                        prop_assert_eq!(k.len(), stripes as usize, "stripes share a PV");
                                        if let Some(keys) = &keys {
                                            prop_assert!(a.iter().all(|x| keys.contains(&x.pv)));
                                        }
                                    }
                                    vg.lvs.push(lv(&format!("lv{next}"), segs));
                                    next += 1;
                                }
                                Err(_) => {
                                    // Linear, splittable allocation succeeds whenever space exists.
                                    if stripes == 1 && !contiguous && n_pvs >= 1 {
                                        prop_assert!(extents > usable_free || extents > vg.pe_free());
                                    }
                                }
                            }
                        }
                        Op::Extend { lv: i, extents, stripes } => {
                            if vg.lvs.is_empty() { continue; }
                            let i = i % vg.lvs.len();
                            let target = vg.lvs[i].clone();
                            let extents = round_up_to_stripes(extents, stripes);
                            let r = AllocRequest { extents, stripes, stripe_size: None, pvs: None, contiguous: false };
                            if let Ok(segs) = extend(&vg, &target, &r) {
                                let total: u64 = segs.iter().map(|s| s.extent_count).sum();
                                prop_assert_eq!(total, extents);
                                prop_assert_eq!(segs[0].start_extent, target.extent_count());
                                let lvm = &mut vg.lvs[i];
                                lvm.segments.extend(segs);
                                merge_segments(&mut lvm.segments);
                                prop_assert_eq!(lvm.extent_count(), target.extent_count() + extents);
                            } else if stripes == 1 {
                                let free: u64 = vg.pvs.iter()
                                    .filter(|p| p.status.has("ALLOCATABLE") && !p.flags.has("MISSING"))
                                    .map(|p| p.pe_count - vg.pe_used_on(&p.key))
                                    .sum();
                                prop_assert!(extents > free);
                            }
                        }
                        Op::Remove { lv: i } => {
                            if !vg.lvs.is_empty() {
                                let i = i % vg.lvs.len();
                                vg.lvs.remove(i);
                            }
                        }
                    }
                    check(&vg)?;
                    prop_assert!(vg.pe_alloc() <= vg.pe_total());
                }
            }
        }
    }
}
