//! Laying out a report: selected fields and records in, LVM2's text out
//! (aligned columns, `--noheadings`, `--separator`, `--nameprefixes`,
//! `--rows`, compacted empty columns, `--reportformat json`), keeping the
//! rows a `--select` selects, following libdm's `dm_report_output`. Pure.

use super::facts::LvFacts;
use super::fields::{resolve, select_fields_from, FieldDef, Kind, Obj, ReportType, FIELDS};
use super::join::{joined_value, pv_rows, Indexes, Joined};
use super::select::Selection;
use super::units::Units;
use super::values::{pv_value, vg_value, Cell, SizeFmt, SortKey};
use super::{LvRecord, PvRecord, ReportError, VgRecord};
use crate::metadata::model::LvRole;

/// The options of `lvs`/`vgs`/`pvs` that shape the output.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// The `-o` arguments as given (each a comma list, `+`/`-` allowed).
    pub fields: Vec<String>,
    /// The `-O` arguments (each a comma list; `-name` sorts descending).
    pub sort: Vec<String>,
    pub headings: bool,
    pub separator: Option<String>,
    /// `--aligned`: pad columns even with a separator.
    pub aligned: bool,
    pub units: Units,
    pub suffix: bool,
    pub json: bool,
    /// `-a`: include hidden LVs (shown as `[name]`).
    pub all: bool,
    /// `--nameprefixes`: each value as `LVM2_FIELD='value'`.
    pub name_prefixes: bool,
    /// `--unquoted`: no quotes around `--nameprefixes` values.
    pub unquoted: bool,
    /// `--rows`: one line per field instead of one per object.
    pub rows: bool,
    /// `--binary`: binary fields as 1/0 instead of their word.
    pub binary: bool,
    /// `-S|--select`: only the rows the selection selects.
    pub select: Option<String>,
    /// The default `-o` list when configured (`report/lvs_cols`...).
    pub default_fields: Option<String>,
    /// `report/compact_output`: drop every column that is blank in all rows.
    pub compact_all: bool,
    /// `report/compact_output_cols`: the columns dropped when blank
    /// (replaced by the `-o#field` lists given).
    pub compact_fields: Vec<String>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            fields: vec![],
            sort: vec![],
            headings: true,
            separator: None,
            aligned: false,
            units: Units::default(),
            suffix: true,
            json: false,
            all: false,
            name_prefixes: false,
            unquoted: false,
            rows: false,
            binary: false,
            select: None,
            default_fields: None,
            compact_all: false,
            compact_fields: vec![],
        }
    }
}

impl ReportOptions {
    /// The parsed `--select` for a report of type `rt`.
    pub fn selection(&self, rt: ReportType) -> Result<Option<Selection>, ReportError> {
        match &self.select {
            None => Ok(None),
            Some(s) => Ok(Some(Selection::parse(s, rt)?)),
        }
    }
    /// The fields shown (`-o`, the configured or built-in defaults).
    pub fn fields(&self, rt: ReportType) -> Result<Vec<&'static FieldDef>, ReportError> {
        let defaults: Vec<String> = match &self.default_fields {
            Some(d) => d.split(',').map(|s| s.trim().to_string()).collect(),
            None => rt.default_fields().iter().map(|s| s.to_string()).collect(),
        };
        select_fields_from(&defaults, &self.fields, rt)
    }
    /// Whether an LV report needs the kernel's view of the LVs: a field it
    /// shows, sorts by or selects on reads it (`values::reads_kernel`). A
    /// name that does not resolve counts as reading it (the report then
    /// fails on it as before).
    pub fn reads_kernel(&self, rt: ReportType) -> bool {
        let (Ok(shown), Ok(sorted), Ok(selection)) =
            (self.fields(rt), sort_fields(self, rt), self.selection(rt))
        else {
            return true;
        };
        shown
            .into_iter()
            .chain(sorted.into_iter().map(|(f, _)| f))
            .chain(selection.map(|s| s.fields()).unwrap_or_default())
            .any(super::values::reads_kernel)
    }
    /// The fields to drop when blank in every row.
    fn compact(&self, rt: ReportType) -> Vec<&'static FieldDef> {
        let given: Vec<&str> = self
            .fields
            .iter()
            .filter_map(|a| a.strip_prefix('#'))
            .flat_map(|l| l.split(','))
            .filter(|n| !n.is_empty())
            .collect();
        let names: Vec<&str> = if given.is_empty() {
            self.compact_fields.iter().map(String::as_str).collect()
        } else {
            given
        };
        names.iter().filter_map(|n| resolve(n, rt).ok()).collect()
    }
    fn size_fmt(&self) -> SizeFmt {
        SizeFmt {
            units: self.units,
            suffix: self.suffix,
        }
    }
}

type Row<'a> = Vec<Cell<'a>>;

fn sort_fields(
    opts: &ReportOptions,
    rt: ReportType,
) -> Result<Vec<(&'static FieldDef, bool)>, ReportError> {
    let keys: Vec<String> = if opts.sort.is_empty() {
        rt.default_sort().iter().map(|s| s.to_string()).collect()
    } else {
        opts.sort
            .iter()
            .flat_map(|a| a.split(','))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    keys.iter()
        .map(|k| {
            let (desc, name) = match k.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, k.strip_prefix('+').unwrap_or(k)),
            };
            Ok((super::fields::resolve(name, rt)?, desc))
        })
        .collect()
}

/// Builds the table: `value(field, i)` for each of `n` objects, the rows
/// the selection keeps, sorted.
fn build<'a, F>(
    n: usize,
    opts: &ReportOptions,
    rt: ReportType,
    value: F,
) -> Result<String, ReportError>
where
    F: Fn(&str, usize) -> Cell<'a>,
{
    let mut fields = opts.fields(rt)?;
    let sort = sort_fields(opts, rt)?;
    let selection = opts.selection(rt)?;
    let cell = |f: &FieldDef, i: usize| {
        let mut c = value(f.id, i);
        if opts.binary && f.kind == Kind::Bin {
            c.text = std::borrow::Cow::Borrowed(match c.sort {
                SortKey::Num(v) if v > 0.0 => "1",
                SortKey::Num(0.0) => "0",
                _ => "-1",
            });
        }
        c
    };
    let mut rows: Vec<(Row<'a>, Row<'a>)> = (0..n)
        .filter(|&i| {
            selection
                .as_ref()
                .is_none_or(|s| s.matches(&mut |f| value(f.id, i)))
        })
        .map(|i| {
            (
                fields.iter().map(|f| cell(f, i)).collect(),
                sort.iter().map(|(f, _)| value(f.id, i)).collect(),
            )
        })
        .collect();
    rows.sort_by(|a, b| {
        for (k, (_, desc)) in sort.iter().enumerate() {
            let o = a.1[k].compare(&b.1[k]);
            let o = if *desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    let mut rows: Vec<Row<'a>> = rows.into_iter().map(|r| r.0).collect();
    // Compaction: a column blank in every row is left out.
    let compact = opts.compact(rt);
    let keep: Vec<bool> = fields
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let candidate = opts.compact_all || compact.iter().any(|c| std::ptr::eq(*c, *f));
            !candidate || rows.iter().any(|r| !r[k].text.is_empty())
        })
        .collect();
    if keep.contains(&false) {
        let mut it = keep.iter();
        fields.retain(|_| *it.next().expect("one per field"));
        for r in &mut rows {
            let mut it = keep.iter();
            r.retain(|_| *it.next().expect("one per field"));
        }
    }
    if opts.json {
        Ok(json(&fields, &rows, rt))
    } else if opts.rows {
        Ok(transposed(&fields, &rows, opts))
    } else {
        Ok(columns(&fields, &rows, opts))
    }
}

/// A value as printed: `LVM2_NAME='value'` with `--nameprefixes`.
fn shown(f: &FieldDef, text: &str, opts: &ReportOptions) -> String {
    if !opts.name_prefixes {
        return text.to_string();
    }
    let name = format!("LVM2_{}", f.id.to_ascii_uppercase());
    if opts.unquoted {
        format!("{name}={text}")
    } else {
        format!("{name}='{text}'")
    }
}

/// `--rows`: a line per field, its heading then each object's value,
/// never padded (as LVM2 prints them).
fn transposed(fields: &[&FieldDef], rows: &[Row<'_>], opts: &ReportOptions) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let sep = opts.separator.as_deref().unwrap_or(" ");
    let mut out = String::new();
    for (k, f) in fields.iter().enumerate() {
        let mut parts: Vec<String> = vec![];
        if opts.headings {
            parts.push(f.heading.to_string());
        }
        parts.extend(rows.iter().map(|r| shown(f, &r[k].text, opts)));
        out.push_str("  ");
        out.push_str(&parts.join(sep));
        out.push('\n');
    }
    out
}

/// `n` spaces onto `out` (a column's padding), a slice at a time.
fn push_spaces(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

fn columns(fields: &[&FieldDef], rows: &[Row<'_>], opts: &ReportOptions) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let aligned = (opts.separator.is_none() && !opts.name_prefixes) || opts.aligned;
    let sep = opts.separator.as_deref().unwrap_or(" ");
    // Each cell as printed: its text, or with `--nameprefixes` a copy
    // with the field's name (no per-row copy of a plain report).
    let prefixed: Vec<Vec<String>> = if opts.name_prefixes {
        rows.iter()
            .map(|r| {
                r.iter()
                    .zip(fields)
                    .map(|(c, f)| shown(f, &c.text, opts))
                    .collect()
            })
            .collect()
    } else {
        Vec::new()
    };
    let text = |r: usize, i: usize| -> &str {
        match prefixed.get(r) {
            Some(p) => &p[i],
            None => &rows[r][i].text,
        }
    };
    let widths: Vec<usize> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let w = (0..rows.len())
                .map(|r| text(r, i).chars().count())
                .max()
                .unwrap_or(0);
            w.max(f.width).max(f.heading.len())
        })
        .collect();
    let width: usize = widths.iter().map(|w| w + sep.len()).sum();
    let mut out = String::with_capacity((rows.len() + 1) * (width + 3));
    // Padded as `format!("{t:<w$}")` / `{t:>w$}` would: to `w` characters.
    let mut line = |cells: &mut dyn Iterator<Item = (&str, bool)>| {
        out.push_str("  ");
        for (i, (t, right)) in cells.enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            let pad = if aligned {
                widths[i].saturating_sub(t.chars().count())
            } else {
                0
            };
            if right {
                push_spaces(&mut out, pad);
                out.push_str(t);
            } else {
                out.push_str(t);
                push_spaces(&mut out, pad);
            }
        }
        out.push('\n');
    };
    if opts.headings {
        line(&mut fields.iter().map(|f| (f.heading, false)));
    }
    for r in 0..rows.len() {
        line(
            &mut fields
                .iter()
                .enumerate()
                .map(|(i, f)| (text(r, i), f.kind.right_aligned())),
        );
    }
    out
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            _ => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json(fields: &[&FieldDef], rows: &[Row<'_>], rt: ReportType) -> String {
    let mut out = String::new();
    out.push_str("  {\n      \"report\": [\n          {\n");
    out.push_str(&format!("              \"{}\": [\n", rt.json_key()));
    let lines: Vec<String> = rows
        .iter()
        .map(|r| {
            let kv: Vec<String> = fields
                .iter()
                .zip(r)
                .map(|(f, c)| format!("\"{}\":{}", f.id, json_str(&c.text)))
                .collect();
            format!("                  {{{}}}", kv.join(", "))
        })
        .collect();
    if !lines.is_empty() {
        out.push_str(&lines.join(",\n"));
        out.push('\n');
    }
    out.push_str("              ]\n          }\n      ]\n  }\n");
    out
}

/// `lvs`: one row per reportable LV (one per segment when a segment field
/// is selected). Internal `snapshotN` LVs are never shown; hidden LVs only
/// with `all`.
pub fn report_lvs(records: &[LvRecord<'_>], opts: &ReportOptions) -> Result<String, ReportError> {
    let fields = opts.fields(ReportType::Lvs)?;
    // A segment field shown or selected on gives a row per segment.
    let selection = opts.selection(ReportType::Lvs)?;
    if reads(selection.as_ref(), &[Obj::Pv, Obj::PvSeg]) {
        return Err(ReportError::LvAndPvFields);
    }
    let selected = selection.map(|s| s.fields()).unwrap_or_default();
    let per_seg = fields.iter().chain(&selected).any(|f| f.obj == Obj::Seg);
    // Snapshot facts: one index per VG, one `LvFacts` per record, so no
    // field has to scan the VG (that made large VGs quadratic).
    let ix = Indexes::new(records);
    let facts: Vec<LvFacts<'_>> = records.iter().map(|r| ix.facts(r)).collect();
    let mut items: Vec<(usize, Option<usize>)> = vec![];
    for (i, r) in records.iter().enumerate() {
        let lf = &facts[i];
        if lf.role == LvRole::SnapshotLink {
            continue;
        }
        if !opts.all && !lf.visible {
            continue;
        }
        if per_seg && !r.lv.segments.is_empty() {
            items.extend((0..r.lv.segments.len()).map(|s| (i, Some(s))));
        } else {
            items.push((i, None));
        }
    }
    let f = opts.size_fmt();
    build(items.len(), opts, ReportType::Lvs, |id, k| {
        let (i, s) = items[k];
        let r = &records[i];
        ix.lv_value_with(id, r, &facts[i], s.and_then(|s| r.lv.segments.get(s)), f)
    })
}

/// Whether a selection reads fields of `objs`.
fn reads(sel: Option<&Selection>, objs: &[Obj]) -> bool {
    sel.is_some_and(|s| s.fields().iter().any(|f| objs.contains(&f.obj)))
}

/// The joined rows of a VG for a selection on other objects' fields: its
/// PV segments (with their LV segments) when PV fields are read, else its
/// LV segments, else the VG alone.
fn vg_rows<'r, 'a>(
    vg: &'r VgRecord<'a>,
    pvs: &'r [PvRecord<'a>],
    lvs: &'r [LvRecord<'a>],
    sel: &Selection,
) -> Vec<Joined<'r, 'a>> {
    let mine = |p: &&PvRecord<'a>| p.vg.is_some_and(|(v, _)| v.name == vg.vg.name);
    let mut rows: Vec<Joined<'r, 'a>> = if reads(Some(sel), &[Obj::Pv, Obj::PvSeg]) {
        pvs.iter()
            .filter(mine)
            .flat_map(|p| pv_rows(p, lvs))
            .collect()
    } else if reads(Some(sel), &[Obj::Lv, Obj::Seg]) {
        lvs.iter()
            .filter(|l| l.vg.name == vg.vg.name)
            .flat_map(|l| {
                let segs: Vec<Option<&'a crate::metadata::model::Segment>> =
                    if l.lv.segments.is_empty() {
                        vec![None]
                    } else {
                        l.lv.segments.iter().map(Some).collect()
                    };
                segs.into_iter().map(move |seg| Joined {
                    lv: Some((l, seg)),
                    ..Default::default()
                })
            })
            .collect()
    } else {
        vec![Joined::default()]
    };
    for r in &mut rows {
        r.vg = Some(vg);
    }
    rows
}

fn any_row<'a>(rows: &[Joined<'_, 'a>], sel: &Selection, ix: &Indexes<'a>) -> bool {
    let f = ReportOptions::default().size_fmt();
    rows.iter()
        .any(|row| sel.matches(&mut |fd| joined_value(fd, row, f, ix)))
}

/// Which of `records` `sel` selects, for commands that act on the LVs a
/// `--select` picks (and the display commands): an LV is selected when
/// any of its segments is. PV fields cannot select LVs (LVM2 refuses).
pub fn selected_lvs(records: &[LvRecord<'_>], sel: &Selection) -> Result<Vec<bool>, ReportError> {
    if reads(Some(sel), &[Obj::Pv, Obj::PvSeg]) {
        return Err(ReportError::LvAndPvFields);
    }
    let ix = Indexes::new(records);
    Ok(records
        .iter()
        .map(|r| {
            let segs: Vec<Option<&crate::metadata::model::Segment>> = if r.lv.segments.is_empty() {
                vec![None]
            } else {
                r.lv.segments.iter().map(Some).collect()
            };
            let rows: Vec<Joined<'_, '_>> = segs
                .into_iter()
                .map(|seg| Joined {
                    lv: Some((r, seg)),
                    ..Default::default()
                })
                .collect();
            any_row(&rows, sel, &ix)
        })
        .collect())
}

/// Which of `records` `sel` selects: a VG is selected when one of its
/// PV segments, LV segments (or itself) is, as the selection's fields
/// say (`pvs` and `lvs` are all PVs and LVs read, of any VG).
pub fn selected_vgs(
    records: &[VgRecord<'_>],
    pvs: &[PvRecord<'_>],
    lvs: &[LvRecord<'_>],
    sel: &Selection,
) -> Vec<bool> {
    let ix = Indexes::new(lvs);
    records
        .iter()
        .map(|v| any_row(&vg_rows(v, pvs, lvs, sel), sel, &ix))
        .collect()
}

/// Which of `records` `sel` selects: a PV is selected when one of its
/// segments (with the LV segment on it) is.
pub fn selected_pvs(records: &[PvRecord<'_>], lvs: &[LvRecord<'_>], sel: &Selection) -> Vec<bool> {
    let ix = Indexes::new(lvs);
    records
        .iter()
        .map(|p| {
            if reads(Some(sel), &[Obj::PvSeg, Obj::Lv, Obj::Seg]) {
                any_row(&pv_rows(p, lvs), sel, &ix)
            } else {
                any_row(
                    &[Joined {
                        pv: Some((
                            p,
                            super::join::PvSeg {
                                start: 0,
                                size: 0,
                                lv: None,
                            },
                        )),
                        ..Default::default()
                    }],
                    sel,
                    &ix,
                )
            }
        })
        .collect()
}

/// The options without the selection (applied by the caller already).
fn unselected(opts: &ReportOptions) -> ReportOptions {
    ReportOptions {
        select: None,
        ..opts.clone()
    }
}

/// `vgs`: one row per VG.
pub fn report_vgs(records: &[VgRecord<'_>], opts: &ReportOptions) -> Result<String, ReportError> {
    report_vgs_with_pvs(records, &[], &[], opts)
}

/// `vgs`: a row per VG, or per PV of each VG (of `pvs`) when a PV field
/// is shown or sorted by, as LVM2 does. A selection on PV or LV fields
/// keeps the VGs one of whose PVs or LVs (`lvs`) it selects.
pub fn report_vgs_with_pvs(
    records: &[VgRecord<'_>],
    pvs: &[PvRecord<'_>],
    lvs: &[LvRecord<'_>],
    opts: &ReportOptions,
) -> Result<String, ReportError> {
    let rt = ReportType::Vgs;
    let sel = opts.selection(rt)?;
    let records: Vec<VgRecord<'_>> = match &sel {
        Some(s) => {
            let keep = selected_vgs(records, pvs, lvs, s);
            records
                .iter()
                .zip(keep)
                .filter(|(_, k)| *k)
                .map(|(r, _)| r.clone())
                .collect()
        }
        None => records.to_vec(),
    };
    let opts = &unselected(opts);
    let sorted: Vec<&FieldDef> = sort_fields(opts, rt)?.into_iter().map(|(f, _)| f).collect();
    let per_pv = opts
        .fields(rt)?
        .iter()
        .chain(&sorted)
        .any(|f| f.obj == Obj::Pv);
    let f = opts.size_fmt();
    if !per_pv {
        return build(records.len(), opts, rt, |id, i| {
            vg_value(id, &records[i], f)
        });
    }
    let items: Vec<(usize, usize)> = pvs
        .iter()
        .enumerate()
        .filter_map(|(p, r)| {
            let (vg, _) = r.vg?;
            let v = records.iter().position(|x| x.vg.name == vg.name)?;
            Some((v, p))
        })
        .collect();
    let is_pv = |id: &str| FIELDS.iter().any(|d| d.id == id && d.obj == Obj::Pv);
    build(items.len(), opts, rt, |id, k| {
        let (v, p) = items[k];
        if is_pv(id) {
            pv_value(id, &pvs[p], f)
        } else {
            vg_value(id, &records[v], f)
        }
    })
}

/// `pvs`: one row per PV, orphans included.
pub fn report_pvs(records: &[PvRecord<'_>], opts: &ReportOptions) -> Result<String, ReportError> {
    report_pvs_with_lvs(records, &[], opts)
}

/// `pvs` with the LVs of the VGs read: a row per PV segment (LVM2's
/// PVSEGS report) when a PV segment, LV or segment field is shown or
/// sorted by; otherwise a row per PV, kept when the selection selects
/// one of its segments.
pub fn report_pvs_with_lvs(
    records: &[PvRecord<'_>],
    lvs: &[LvRecord<'_>],
    opts: &ReportOptions,
) -> Result<String, ReportError> {
    let rt = ReportType::Pvs;
    let joined = [Obj::PvSeg, Obj::Lv, Obj::Seg];
    let sorted: Vec<&FieldDef> = sort_fields(opts, rt)?.into_iter().map(|(f, _)| f).collect();
    let per_seg = opts
        .fields(rt)?
        .iter()
        .chain(&sorted)
        .any(|f| joined.contains(&f.obj));
    let f = opts.size_fmt();
    if per_seg {
        let rows: Vec<Joined<'_, '_>> = records.iter().flat_map(|p| pv_rows(p, lvs)).collect();
        let ix = Indexes::new(lvs);
        let by_id = |id: &str| FIELDS.iter().find(|d| d.id == id);
        return build(rows.len(), opts, rt, |id, i| match by_id(id) {
            Some(fd) => joined_value(fd, &rows[i], f, &ix),
            None => pv_value(id, rows[i].pv.expect("a PV row").0, f),
        });
    }
    let sel = opts.selection(rt)?;
    let records: Vec<&PvRecord<'_>> = match &sel {
        Some(s) => {
            let keep = selected_pvs(records, lvs, s);
            records
                .iter()
                .zip(keep)
                .filter(|(_, k)| *k)
                .map(|(r, _)| r)
                .collect()
        }
        None => records.iter().collect(),
    };
    build(records.len(), &unselected(opts), rt, |id, i| {
        pv_value(id, records[i], f)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::dm::state::{LvKernelState, SnapshotStatus};
    use crate::report::fixture::{example_vg, lv_records};

    /// The kernel is asked for an LV report when a column, a sort key or
    /// the selection needs it, and only then.
    #[test]
    fn lv_reports_read_the_kernel_only_for_kernel_fields() {
        let rt = ReportType::Lvs;
        let opts = |fields: &[&str], sort: &[&str], select: Option<&str>| ReportOptions {
            fields: fields.iter().map(|s| s.to_string()).collect(),
            sort: sort.iter().map(|s| s.to_string()).collect(),
            select: select.map(str::to_string),
            ..Default::default()
        };
        // lvs's default columns hold lv_attr and data_percent.
        assert!(opts(&[], &[], None).reads_kernel(rt));
        assert!(!opts(&["lv_name,lv_size,vg_name"], &[], None).reads_kernel(rt));
        assert!(!opts(&["name,size,uuid,lv_tags,origin,devices"], &[], None).reads_kernel(rt));
        assert!(!opts(&["lv_name"], &["-lv_size"], Some("lv_name=~a")).reads_kernel(rt));
        assert!(!opts(&["lv_name,vg_attr,vg_free"], &[], None).reads_kernel(rt));
        assert!(opts(&["lv_name,lv_attr"], &[], None).reads_kernel(rt));
        assert!(opts(&["lv_name", "+lv_active"], &[], None).reads_kernel(rt));
        assert!(opts(&["lv_name"], &["lv_kernel_major"], None).reads_kernel(rt));
        assert!(opts(&["lv_name"], &[], Some("lv_active=active")).reads_kernel(rt));
        assert!(opts(&["lv_all"], &[], None).reads_kernel(rt));
        assert!(opts(&["no_such_field"], &[], None).reads_kernel(rt));
        assert!(opts(&["lv_name"], &[], Some("(")).reads_kernel(rt));
        // A configured default list that needs no kernel.
        let configured = ReportOptions {
            default_fields: Some("lv_name,lv_size".into()),
            ..Default::default()
        };
        assert!(!configured.reads_kernel(rt));
    }

    /// Percent columns are left-aligned like every non-number, non-size
    /// field in libdm (LVM2 prints `25.15 ` under `Data% `); sizes stay
    /// right-aligned.
    #[test]
    fn percent_columns_are_left_aligned() {
        let vg = example_vg();
        let devs = BTreeMap::new();
        let records: Vec<LvRecord<'_>> = vg
            .lvs
            .iter()
            .map(|lv| LvRecord {
                vg: &vg,
                lv,
                state: LvKernelState {
                    known: true,
                    active: true,
                    snapshot: (lv.name == "snap1").then_some(SnapshotStatus::Usage {
                        allocated: 2515,
                        total: 10000,
                        metadata: Some(16),
                    }),
                    ..Default::default()
                },
                pv_devices: &devs,
                kernel_device: None,
                kernel_read_ahead: Default::default(),
            })
            .collect();
        let out = report_lvs(&records, &ReportOptions::default()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "  LV     VG  Attr       LSize  Pool Origin Data%  Meta%  Move Log Cpy%Sync Convert"
        );
        assert_eq!(
            lines[2],
            "  snap1  vg0 swi-a-s---  8.00m      origin 25.15                                  "
        );
        let sep = ReportOptions {
            fields: vec!["lv_name,data_percent,lv_size".into()],
            separator: Some("|".into()),
            aligned: true,
            ..Default::default()
        };
        let out = report_lvs(&records, &sep).unwrap();
        assert!(out.contains("  snap1 |25.15 | 8.00m\n"), "{out}");
    }

    /// `--nameprefixes` in columns: each value after its field's name,
    /// one space apart, not padded (LVM2 2.03.16's layout).
    #[test]
    fn prefixed_columns_are_not_padded() {
        let vg = example_vg();
        let devs = BTreeMap::new();
        let records = lv_records(&vg, &devs);
        let opts = ReportOptions {
            fields: vec!["lv_name,origin".into()],
            headings: false,
            name_prefixes: true,
            ..Default::default()
        };
        let out = report_lvs(&records, &opts).unwrap();
        assert_eq!(
            out,
            "  LVM2_LV_NAME='origin' LVM2_ORIGIN=''\n  LVM2_LV_NAME='snap1' LVM2_ORIGIN='origin'\n"
        );
    }

    /// `--nameprefixes --rows`, compaction of blank columns (`-o#field`)
    /// and `--select`, as LVM2 2.03.16 printed them for the same VG.
    #[test]
    fn prefixes_rows_compaction_and_selection() {
        let vg = example_vg();
        let devs = BTreeMap::new();
        let records = lv_records(&vg, &devs);
        let opts = ReportOptions {
            fields: vec!["lv_name,lv_tags".into(), "#lv_tags".into()],
            headings: false,
            name_prefixes: true,
            rows: true,
            select: Some("lv_name=~^o || lv_name=snap1".into()),
            ..Default::default()
        };
        let out = report_lvs(&records, &opts).unwrap();
        assert_eq!(out, "  LVM2_LV_NAME='origin' LVM2_LV_NAME='snap1'\n");
        let opts = ReportOptions {
            select: Some("lv_nme=x".into()),
            ..opts
        };
        assert!(matches!(
            report_lvs(&records, &opts),
            Err(ReportError::Select(_))
        ));
    }
}
