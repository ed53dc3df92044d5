//! Rows that join objects, as LVM2's report types do when fields of
//! several objects meet: a PV's segments with the LV segment on each
//! (`PVSEGS`, for `pvs` with LV, segment or `pvseg_*` fields), and the
//! rows a selection on another object's fields is tested against (`vgs -S
//! lv_name=x` keeps a VG when one of its LVs matches). Pure.

use std::borrow::Cow;

use super::facts::{LvFacts, SnapIndex};
use super::fields::{FieldDef, Obj};
use super::values::{lv_value, lv_value_with, pv_value, vg_value, Cell, SizeFmt, SortKey};
use super::{LvRecord, PvRecord, VgRecord};
use crate::metadata::model::{Segment, SegmentKind, Vg};

/// The snapshot index of each VG of a report's LV records, made once per
/// report. An LV value made without one indexes its whole VG for itself,
/// which made `pvs -o +lv_name` and `--select` over many LVs quadratic.
#[derive(Default)]
pub struct Indexes<'a> {
    vgs: Vec<(&'a Vg, SnapIndex<'a>)>,
}

impl<'a> Indexes<'a> {
    pub fn new(lvs: &[LvRecord<'a>]) -> Self {
        let mut vgs: Vec<(&'a Vg, SnapIndex<'a>)> = Vec::new();
        for r in lvs {
            if !vgs.iter().any(|(v, _)| std::ptr::eq(*v, r.vg)) {
                vgs.push((r.vg, SnapIndex::new(r.vg)));
            }
        }
        Indexes { vgs }
    }

    /// The index of `vg`, if one of the records is in it.
    fn index(&self, vg: &Vg) -> Option<&SnapIndex<'a>> {
        self.vgs
            .iter()
            .find(|(v, _)| std::ptr::eq(*v, vg))
            .map(|(_, index)| index)
    }

    /// The snapshot facts of `r`'s LV.
    pub fn facts(&self, r: &LvRecord<'a>) -> LvFacts<'a> {
        match self.index(r.vg) {
            Some(index) => index.facts(r.lv),
            None => LvFacts::of(r.vg, r.lv),
        }
    }

    /// The value of LV (or segment) field `id` of `r`, whose facts are
    /// `facts` (from [`Indexes::facts`]).
    pub fn lv_value_with<'r>(
        &self,
        id: &str,
        r: &'r LvRecord<'a>,
        facts: &LvFacts<'r>,
        seg: Option<&'r Segment>,
        f: SizeFmt,
    ) -> Cell<'r> {
        match self.index(r.vg) {
            Some(index) => lv_value_with(id, r, facts, index, seg, f),
            None => lv_value(id, r, seg, f),
        }
    }

    /// The value of LV (or segment) field `id` of `r`.
    fn lv_value<'r>(
        &self,
        id: &str,
        r: &'r LvRecord<'a>,
        seg: Option<&'r Segment>,
        f: SizeFmt,
    ) -> Cell<'r> {
        self.lv_value_with(id, r, &self.facts(r), seg, f)
    }
}

/// A stretch of a PV's extents: used by one LV segment or free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PvSeg {
    pub start: u64,
    pub size: u64,
    /// (index in the LV records, index of the LV's segment).
    pub lv: Option<(usize, usize)>,
}

/// The segments of `pv` in extent order, free stretches included (LVM2's
/// `pv->segments`); an orphan or a PV without extents has one free
/// segment of its whole size.
pub fn pv_segments(pv: &PvRecord<'_>, lvs: &[LvRecord<'_>]) -> Vec<PvSeg> {
    let Some((vg, p)) = pv.vg else {
        return vec![PvSeg {
            start: 0,
            size: 0,
            lv: None,
        }];
    };
    let mut used: Vec<PvSeg> = vec![];
    for (i, r) in lvs.iter().enumerate() {
        if r.vg.name != vg.name {
            continue;
        }
        for (k, seg) in r.lv.segments.iter().enumerate() {
            if let SegmentKind::Striped { stripes, .. } = &seg.kind {
                let len = seg.extent_count / stripes.len().max(1) as u64;
                for a in stripes.iter().filter(|a| a.pv == p.key) {
                    used.push(PvSeg {
                        start: a.pe,
                        size: len,
                        lv: Some((i, k)),
                    });
                }
            }
        }
    }
    used.sort_by_key(|s| s.start);
    let mut out = vec![];
    let mut at = 0;
    for s in used {
        if s.start > at {
            out.push(PvSeg {
                start: at,
                size: s.start - at,
                lv: None,
            });
        }
        at = at.max(s.start + s.size);
        out.push(s);
    }
    if at < p.pe_count || out.is_empty() {
        out.push(PvSeg {
            start: at,
            size: p.pe_count.saturating_sub(at),
            lv: None,
        });
    }
    out
}

/// One joined row: any of a VG, a PV with one of its segments, an LV
/// with one of its segments.
#[derive(Clone, Copy, Default)]
pub struct Joined<'r, 'a> {
    pub vg: Option<&'r VgRecord<'a>>,
    pub pv: Option<(&'r PvRecord<'a>, PvSeg)>,
    pub lv: Option<(&'r LvRecord<'a>, Option<&'a Segment>)>,
}

fn blank() -> Cell<'static> {
    Cell {
        text: Cow::Borrowed(""),
        sort: SortKey::Text,
    }
}

/// The value of `f` in a joined row (blank when the row lacks its object).
pub fn joined_value<'r, 'a>(
    f: &FieldDef,
    row: &Joined<'r, 'a>,
    fmt: SizeFmt,
    ix: &Indexes<'a>,
) -> Cell<'r> {
    match f.obj {
        Obj::PvSeg => match row.pv {
            Some((_, s)) => {
                let v = if f.id == "pvseg_start" {
                    s.start
                } else {
                    s.size
                };
                Cell {
                    text: v.to_string().into(),
                    sort: SortKey::Num(v as f64),
                }
            }
            None => blank(),
        },
        Obj::Pv => match row.pv {
            Some((p, _)) => pv_value(f.id, p, fmt),
            None => blank(),
        },
        Obj::Vg => match (row.vg, row.pv, row.lv) {
            (Some(v), _, _) => vg_value(f.id, v, fmt),
            (None, Some((p, _)), _) => pv_value(f.id, p, fmt),
            (None, None, Some((l, seg))) => ix.lv_value(f.id, l, seg, fmt),
            _ => blank(),
        },
        Obj::Lv | Obj::Seg => match row.lv {
            Some((l, seg)) => ix.lv_value(f.id, l, seg, fmt),
            None => blank(),
        },
    }
}

/// The joined rows of one PV: one per segment, with the LV segment on it.
pub fn pv_rows<'r, 'a>(pv: &'r PvRecord<'a>, lvs: &'r [LvRecord<'a>]) -> Vec<Joined<'r, 'a>> {
    pv_segments(pv, lvs)
        .into_iter()
        .map(|s| Joined {
            vg: None,
            pv: Some((pv, s)),
            lv: s.lv.map(|(i, k)| (&lvs[i], lvs[i].lv.segments.get(k))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::fixture::{example_vg, lv_records};

    /// pv0 of the example VG: origin on 0-3, snap1 on 4-5, free 6-14.
    #[test]
    fn segments_cover_the_pv_in_order() {
        let vg = example_vg();
        let devs = BTreeMap::new();
        let lvs = lv_records(&vg, &devs);
        let pv = PvRecord {
            device: "/dev/loop0".into(),
            dev_size_bytes: 64 << 20,
            pv_id: vg.pvs[0].id,
            pe_start_sectors: 2048,
            mda_count: 1,
            mda_used_count: 1,
            mda_size_bytes: 0,
            mda_free_bytes: 0,
            vg: Some((&vg, &vg.pvs[0])),
            missing: false,
            ext_version: 2,
            ext_used: true,
            ba_sectors: (0, 0),
            vg_facts: None,
            listed_id: None,
            label_size_sectors: 131072,
            devno: None,
            is_pv: true,
            used_extents: Default::default(),
        };
        let segs = pv_segments(&pv, &lvs);
        let shape: Vec<(u64, u64, Option<&str>)> = segs
            .iter()
            .map(|s| (s.start, s.size, s.lv.map(|(i, _)| lvs[i].lv.name.as_str())))
            .collect();
        assert_eq!(
            shape,
            [(0, 4, Some("origin")), (4, 2, Some("snap1")), (6, 9, None)]
        );
        let orphan = PvRecord { vg: None, ..pv };
        assert_eq!(pv_segments(&orphan, &lvs).len(), 1);
    }
}
