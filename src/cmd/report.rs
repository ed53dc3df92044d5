//! lvs, vgs, pvs and lvdisplay, vgdisplay, pvdisplay: read-only commands
//! that turn the scan (and the kernel's view of each LV) into report
//! records for `crate::report`.

use std::collections::BTreeMap;
use std::ffi::OsString;

use clap::{Args, Parser};

use crate::metadata::store::{Access, Scan, StoreError, VgHandle};
use crate::report::{self, PvRecord, ReportOptions, Units, VgRecord};
use crate::system::scan::ScanDev;

use super::common::{parse, usage, vg_arg, vg_name_args, CmdError, CommonArgs, Ctx};
use super::lvselect::{self as select, LvSelection};
use super::records::{
    kernel_states, lv_records, pv_device_maps, pv_records, vg_record, KernelFacts,
};

/// The options shared by lvs, vgs and pvs.
#[derive(Args, Debug, Clone)]
pub(super) struct ReportArgs {
    /// Fields to show: a comma list; +field adds, -field removes.
    #[arg(
        short = 'o',
        long = "options",
        allow_hyphen_values = true,
        value_name = "String"
    )]
    options: Vec<String>,
    /// Sort keys (a comma list; -field sorts descending).
    #[arg(
        short = 'O',
        long = "sort",
        allow_hyphen_values = true,
        value_name = "String"
    )]
    sort: Vec<String>,
    /// Suppress the headings line.
    #[arg(long = "noheadings", alias = "noheading")]
    noheadings: bool,
    /// Separate columns with this string (columns are then not aligned).
    #[arg(long = "separator", value_name = "String")]
    separator: Option<String>,
    /// Align columns even with --separator.
    #[arg(long = "aligned")]
    aligned: bool,
    /// Units for sizes: hHbBsSkKmMgGtTpPeE, r/R (rounded human).
    #[arg(long = "units", value_name = "r|R|h|H|b|B|s|S|k|K|m|M|g|G|t|T|p|P|e|E")]
    units: Option<String>,
    /// Do not print unit suffixes.
    #[arg(long = "nosuffix")]
    nosuffix: bool,
    /// basic or json.
    #[arg(long = "reportformat", value_name = "basic|json")]
    reportformat: Option<String>,
    /// Accepted for compatibility.
    #[arg(long = "unbuffered")]
    unbuffered: bool,
    /// Report VGs of other hosts (a system ID not this host's) too.
    #[arg(long = "foreign")]
    pub(super) foreign: bool,
    /// Print each value as LVM2_FIELD='value'.
    #[arg(long = "nameprefixes")]
    nameprefixes: bool,
    /// No quotes around --nameprefixes values.
    #[arg(long = "unquoted")]
    unquoted: bool,
    /// One line per field instead of one per object.
    #[arg(long = "rows")]
    rows: bool,
    /// Binary fields as 1 and 0.
    #[arg(long = "binary")]
    binary: bool,
    /// Only the objects this selection selects (see lvmreport(7)).
    #[arg(short = 'S', long = "select", value_name = "String")]
    select: Option<String>,
}

impl ReportArgs {
    pub(super) fn options(
        &self,
        ctx: &Ctx,
        all: bool,
        rt: report::ReportType,
    ) -> Result<ReportOptions, CmdError> {
        let units = match &self.units {
            Some(u) => Units::parse(u).map_err(|_| usage(BAD_UNITS))?,
            None => Units::parse(&ctx.conf.units()).unwrap_or_default(),
        };
        let json = match self.reportformat.as_deref() {
            None | Some("basic") => false,
            Some("json") => true,
            Some(other) => {
                return Err(usage(format!(
                    "Invalid argument for --reportformat: {other}"
                )))
            }
        };
        Ok(ReportOptions {
            fields: self.options.clone(),
            sort: self.sort.clone(),
            headings: !self.noheadings,
            separator: self.separator.clone(),
            aligned: self.aligned,
            units,
            suffix: !self.nosuffix && ctx.conf.suffix(),
            json,
            all,
            name_prefixes: self.nameprefixes,
            unquoted: self.unquoted,
            rows: self.rows,
            binary: self.binary,
            select: self.select.clone(),
            default_fields: configured_fields(ctx, rt),
            compact_all: ctx.conf.get_bool("report/compact_output", false),
            compact_fields: ctx
                .conf
                .get_str("report/compact_output_cols", "")
                .split(',')
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect(),
        })
    }
}

/// `report/lvs_cols`, `report/vgs_cols`, `report/pvs_cols` when set.
fn configured_fields(ctx: &Ctx, rt: report::ReportType) -> Option<String> {
    let key = match rt {
        report::ReportType::Lvs => "report/lvs_cols",
        report::ReportType::Vgs => "report/vgs_cols",
        report::ReportType::Pvs => "report/pvs_cols",
    };
    let v = ctx.conf.get_str(key, "");
    (!v.is_empty()).then_some(v)
}

pub(super) fn print_report(
    ctx: &Ctx,
    out: Result<String, report::ReportError>,
) -> Result<(), CmdError> {
    match out {
        Ok(s) => {
            ctx.print_lines(&s);
            Ok(())
        }
        Err(e) => Err(CmdError::Failed(e.to_string())),
    }
}

/// Whether a report may show exported VGs: vgs, pvs, vgdisplay and
/// pvdisplay do; lvs and lvdisplay skip them, or refuse a named one, as
/// LVM2 does (only the former are `ALLOW_EXPORTED` in its command table).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Exported {
    Shown,
    Refused,
}

/// LVM2's shared global lock, taken to list every VG (no VG named; pvs
/// and pvdisplay always take it): listing then sees no VG half created
/// or removed. Each VG is then read under its own lock (`handles`).
pub(super) fn list_lock(
    ctx: &Ctx,
    named: &[String],
) -> Result<Option<crate::system::lock::LockGuard>, CmdError> {
    if named.is_empty() {
        Ok(Some(ctx.lock_global(false)?))
    } else {
        Ok(None)
    }
}

/// The VGs named by the arguments (all VGs when none), read from one scan.
/// Foreign VGs are shown only with `--foreign` (`foreign`); unnamed ones
/// are otherwise skipped with LVM2's "Cannot access" line. A `@tag`
/// argument makes every VG read; with `vg_tags` only those named or
/// carrying one of the tags are kept (vgs), otherwise the caller picks
/// by tag (lvs: LVs with the tag, or all LVs of a VG with it).
pub(super) fn handles(
    ctx: &Ctx,
    scan: &mut Scan,
    names: &[String],
    exported: Exported,
    foreign: bool,
) -> (Vec<VgHandle>, bool) {
    handles_tagged(ctx, scan, names, exported, foreign, false)
}

fn handles_tagged(
    ctx: &Ctx,
    scan: &mut Scan,
    names: &[String],
    exported: Exported,
    foreign: bool,
    vg_tags: bool,
) -> (Vec<VgHandle>, bool) {
    let access = Access {
        exported: exported == Exported::Shown,
        foreign,
    };
    let tags: Vec<&str> = names.iter().filter_map(|n| n.strip_prefix('@')).collect();
    let plain: Vec<String> = names
        .iter()
        .filter(|n| !n.starts_with('@'))
        .map(|n| vg_arg(n))
        .collect();
    // Unnamed VGs by key (name and UUID): several VGs may share a name.
    let keyed = |scan: &Scan| -> Vec<(String, Option<crate::metadata::id::Id>)> {
        crate::cmd::vgselect::reported_vg_keys(ctx, scan, access)
            .into_iter()
            .map(|(n, id)| (n, Some(id)))
            .collect()
    };
    let wanted = if names.is_empty() {
        keyed(scan)
    } else {
        let mut v: Vec<_> = plain
            .iter()
            .map(|n| (n.clone(), scan.resolve_vg_name(n).ok()))
            .collect();
        if !tags.is_empty() {
            v.extend(keyed(scan).into_iter().filter(|(n, _)| !plain.contains(n)));
        }
        let mut seen = std::collections::HashSet::new();
        v.retain(|(n, id)| seen.insert((n.clone(), *id)));
        v
    };
    let mut ok = true;
    let mut out = Vec::new();
    for (n, id) in wanted {
        let read = match id {
            Some(id) => {
                crate::cmd::vgselect::read_vg_key_locked(ctx, scan, &(n.clone(), id), access)
            }
            None => ctx.read_vg_locked(scan, &n, access),
        };
        let read = match read {
            Ok(r) => r,
            Err(e) => {
                if let CmdError::Failed(m) = e {
                    ctx.error(m);
                }
                ok = false;
                continue;
            }
        };
        match read {
            Ok(h) => {
                if vg_tags
                    && !tags.is_empty()
                    && !plain.contains(&h.vg.name)
                    && !h.vg.tags.iter().any(|t| tags.contains(&t.as_str()))
                {
                    continue;
                }
                for w in &h.warnings {
                    ctx.warn(w);
                }
                out.push(h)
            }
            Err(e @ (StoreError::VgExported(_) | StoreError::VgForeign { .. })) => {
                ctx.error(e);
                ok = false;
            }
            Err(e) => {
                ctx.error(e);
                ctx.error(format!("Cannot process volume group {n}"));
                ok = false;
            }
        }
    }
    (out, ok)
}

/// LVM2's refusal of a `--units` it cannot read (exit 3).
const BAD_UNITS: &str = "Invalid units specification";

/// `--units` of the display commands (human units by default).
fn display_units(opt: &Option<String>) -> Result<Units, CmdError> {
    Units::parse(opt.as_deref().unwrap_or("h")).map_err(|_| usage(BAD_UNITS))
}

/// Exit status once everything that could be reported was reported.
pub(super) fn finish(ok: bool) -> Result<(), CmdError> {
    if ok {
        Ok(())
    } else {
        Err(CmdError::Failed(String::new()))
    }
}

#[derive(Parser, Debug)]
#[command(about = "Display information about logical volumes")]
pub(crate) struct LvsArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    report: ReportArgs,
    /// Show hidden (internal) LVs too.
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// A row per segment, with segment columns by default.
    #[arg(long = "segments")]
    segments: bool,
    /// VGs or LVs (vg/lv) to report.
    #[arg(value_name = "VG|LV")]
    targets: Vec<String>,
}

/// The LV arguments of lvs and lvdisplay, read as every LV command reads
/// them (`select::parse`: paths, whole VGs, `@tag`, `$LVM_VG_NAME`), with
/// the VG names to read: none (all VGs) when a tag is given or nothing
/// is named.
fn lv_selection(targets: &[String]) -> Result<(LvSelection, Vec<String>), CmdError> {
    let default_vg = select::default_vg().map_err(CmdError::Failed)?;
    let sel = select::parse(targets, default_vg.as_deref());
    let vgs = if sel.all_vgs() {
        Vec::new()
    } else {
        sel.vgs.clone()
    };
    Ok((sel, vgs))
}

/// `VG/` arguments (an empty LV name): LVM2's reports look the VG up and
/// say it is not found, or, when it exists, that the LV `VG/` is not
/// (after the report). Taken out of the selection's errors.
fn slash_vgs(sel: &mut LvSelection) -> Vec<String> {
    let mut out = Vec::new();
    sel.errors.retain(|e| {
        match e
            .strip_prefix("Failed to find logical volume \"")
            .and_then(|r| r.strip_suffix("/\""))
        {
            Some(v) if !v.contains('/') => {
                out.push(v.to_string());
                false
            }
            _ => true,
        }
    });
    out
}

/// LVM2's errors for the `VG/` arguments (`slash_vgs`); false when there
/// was one.
fn report_slash_vgs(ctx: &Ctx, scan: &Scan, vgs: &[String]) -> bool {
    let names = scan.vg_names();
    for v in vgs {
        if names.iter().any(|n| n == v) {
            ctx.error(format!("Failed to find logical volume \"{v}/\""));
        } else {
            ctx.error(format!("Volume group \"{v}\" not found"));
            ctx.error(format!("Cannot process volume group {v}"));
        }
    }
    vgs.is_empty()
}

/// LVs named on the command line that a VG read does not have, with
/// LVM2's error for each; false when there was one.
fn report_missing_lvs(ctx: &Ctx, hs: &[VgHandle], sel: &LvSelection) -> bool {
    let mut ok = true;
    for h in hs {
        for l in sel.pick(&h.vg, true, false).missing {
            ctx.error(format!(
                "Failed to find logical volume \"{}/{l}\"",
                h.vg.name
            ));
            ok = false;
        }
    }
    ok
}

pub fn lvs(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvsArgs = parse("lvs", args)?;
    let ctx = Ctx::new(&a.common)?;
    lvs_report(&ctx, &a.report, a.all, a.segments, &a.targets)
}

/// `lvs` (and `lvdisplay -C`).
fn lvs_report(
    ctx: &Ctx,
    r: &ReportArgs,
    all: bool,
    segments: bool,
    targets: &[String],
) -> Result<(), CmdError> {
    let (mut sel, vg_names) = lv_selection(targets)?;
    let slashed = slash_vgs(&mut sel);
    for e in &sel.errors {
        ctx.error(e);
    }
    if vg_names.is_empty() && (!sel.all_vgs() || !slashed.is_empty()) {
        // Every argument was refused: nothing is reported (not all VGs).
        if !slashed.is_empty() {
            report_slash_vgs(ctx, &ctx.scan()?, &slashed);
        }
        return finish(false);
    }
    // An LV named explicitly is shown even when hidden (a merging
    // snapshot, `[snap]`), as LVM2 does; only whole VGs need -a for that.
    let only_named = !sel.lvs.is_empty() && sel.whole.is_empty() && sel.tags.is_empty();
    let mut opts = r.options(ctx, all || only_named, report::ReportType::Lvs)?;
    if segments {
        opts.default_fields = Some(segment_fields(ctx, "report/segs_cols", SEGS_COLS));
    }
    let _g = list_lock(ctx, &vg_names)?;
    let mut scan = ctx.scan()?;
    let (hs, mut ok) = handles(ctx, &mut scan, &vg_names, Exported::Refused, r.foreign);
    // Only what the columns, sort keys and selection read is asked of the
    // kernel: `lvs -o lv_name,lv_size` of a VG of 1000 active LVs makes no
    // device-mapper query (one per LV otherwise).
    let states: Vec<_> = if opts.reads_kernel(report::ReportType::Lvs) {
        hs.iter().map(|h| kernel_states(ctx, h)).collect()
    } else {
        hs.iter().map(|_| KernelFacts::new()).collect()
    };
    let devs = pv_device_maps(&hs);
    let records = lv_records(&hs, &devs, &states, Some(&sel));
    ok &= report_missing_lvs(ctx, &hs, &sel);
    // lvs prints its report at the end, after the errors.
    ok &= report_slash_vgs(ctx, &scan, &slashed);
    print_report(ctx, report::report_lvs(&records, &opts))?;
    finish(ok && sel.errors.is_empty())
}

#[derive(Parser, Debug)]
#[command(about = "Display information about volume groups")]
pub(crate) struct VgsArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    report: ReportArgs,
    #[arg(short = 'a', long = "all")]
    all: bool,
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

pub fn vgs(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgsArgs = parse("vgs", args)?;
    let ctx = Ctx::new(&a.common)?;
    vgs_report(&ctx, &a.report, a.all, &a.vgs)
}

/// `vgs` (and `vgdisplay -C`).
fn vgs_report(ctx: &Ctx, r: &ReportArgs, all: bool, vgs: &[String]) -> Result<(), CmdError> {
    let opts = r.options(ctx, all, report::ReportType::Vgs)?;
    let named = vg_name_args(vgs)?;
    let _g = list_lock(ctx, &named)?;
    let mut scan = ctx.scan()?;
    let (hs, ok) = handles_tagged(ctx, &mut scan, &named, Exported::Shown, r.foreign, true);
    // The open LV count is vgdisplay's alone (no report field shows it):
    // vgs asks the kernel nothing unless LV fields are wanted (a table
    // query per device of the system: 1000 ioctls with 1000 active LVs).
    let records: Vec<VgRecord> = hs.iter().map(|h| vg_record(h, 0)).collect();
    // PV fields in vgs give a row per PV of each VG, as in LVM2.
    let pvs: Vec<PvRecord> = pv_records(&scan, &hs, &[], None)
        .into_iter()
        .filter(|r| r.vg.is_some())
        .collect();
    let (states, devs) = lv_inputs(ctx, &hs, wants_lvs(r, &opts, report::ReportType::Vgs));
    let lvs = lv_records(&hs, &devs, &states, None);
    print_report(
        ctx,
        report::report_vgs_with_pvs(&records, &pvs, &lvs, &opts),
    )?;
    finish(ok)
}

/// Whether a pvs report may show, sort or select on `pv_device_id` or
/// `pv_device_id_type` (or all fields): only then is the devices file read.
fn wants_device_ids(r: &ReportArgs) -> bool {
    r.options
        .iter()
        .chain(&r.sort)
        .chain(&r.select)
        .map(|a| a.to_ascii_lowercase().replace('_', ""))
        .any(|a| a.contains("deviceid") || a.contains("all"))
}

/// Whether a vgs or pvs report reads LVs: LV, segment or PV segment
/// fields shown, or a selection or sort that may name them.
fn wants_lvs(r: &ReportArgs, opts: &ReportOptions, rt: report::ReportType) -> bool {
    use report::fields::Obj;
    r.select.is_some()
        || !opts.sort.is_empty()
        || opts.fields(rt).is_ok_and(|f| {
            f.iter()
                .any(|f| matches!(f.obj, Obj::Lv | Obj::Seg | Obj::PvSeg))
        })
}

/// The kernel facts and PV device names of the VGs' LVs, for LV records
/// (empty when `wanted` is false: the kernel is not asked).
fn lv_inputs(
    ctx: &Ctx,
    hs: &[VgHandle],
    wanted: bool,
) -> (Vec<KernelFacts>, Vec<BTreeMap<String, String>>) {
    if !wanted {
        return (vec![], vec![]);
    }
    (
        hs.iter().map(|h| kernel_states(ctx, h)).collect(),
        pv_device_maps(hs),
    )
}

#[derive(Parser, Debug)]
#[command(about = "Display information about physical volumes")]
pub(crate) struct PvsArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    report: ReportArgs,
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// A row per PV segment, with PV segment columns by default.
    #[arg(long = "segments")]
    segments: bool,
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

/// The scanned paths of the PVs named on the command line (any name of
/// the device will do), with LVM2's error for each that is not one: "Cannot
/// use X: device not found" for what is not a usable device, "Failed to
/// find physical volume" for a device without a PV. `false` if any failed.
/// `@tag` arguments are not devices: they select the PVs with that tag
/// (`PvArgs::tags`).
fn pv_args(ctx: &Ctx, scan: &Scan, args: &[String]) -> (Vec<String>, bool) {
    let mut ok = true;
    let mut paths = Vec::new();
    for arg in args.iter().filter(|a| !a.starts_with('@')) {
        match crate::system::scan::resolve_device(arg, &ctx.conf) {
            Err(crate::system::scan::ScanError::NotFound(_)) => {
                ctx.error(format!("Cannot use {arg}: device not found"));
                ok = false;
            }
            Err(e) => {
                ctx.error(e);
                ok = false;
            }
            Ok(dev) => {
                let path = super::common::scan_name(&dev, scan);
                if scan
                    .pv_by_path(&path)
                    .is_some_and(|p| !scan.pv_is_outdated(&p.id()))
                {
                    paths.push(path);
                } else {
                    ctx.error(format!("Failed to find physical volume \"{arg}\"."));
                    ok = false;
                }
            }
        }
    }
    (paths, ok)
}

/// The PVs named by `args` (paths or `@tag`), all when none; `false`
/// when one could not be found (its error already printed). `None` when
/// every argument failed: nothing is to be reported.
fn named_pv_records<'a>(
    ctx: &Ctx,
    scan: &'a Scan,
    hs: &'a [VgHandle],
    args: &[String],
    devices: Option<&[ScanDev]>,
) -> (Option<Vec<PvRecord<'a>>>, bool) {
    let (paths, ok) = pv_args(ctx, scan, args);
    let tags: Vec<&str> = args.iter().filter_map(|a| a.strip_prefix('@')).collect();
    if !args.is_empty() && paths.is_empty() && tags.is_empty() {
        return (None, ok);
    }
    let filter = if tags.is_empty() {
        paths.clone()
    } else {
        vec![]
    };
    let mut records = pv_records(scan, hs, &filter, devices);
    if !tags.is_empty() {
        records.retain(|r| {
            paths.contains(&r.device)
                || r.vg
                    .is_some_and(|(_, p)| p.tags.iter().any(|t| tags.contains(&t.as_str())))
        });
    }
    // LVM2's process_each_pv warns of a PV whose label says a VG uses it
    // when no VG read has it (its metadata areas ignored or damaged).
    for r in records
        .iter()
        .filter(|r| r.is_pv && r.vg.is_none() && r.ext_used)
    {
        ctx.warn(format!(
            "PV {} is marked in use but no VG was found using it.",
            r.device
        ));
        ctx.warn(format!("PV {} might need repairing.", r.device));
    }
    (Some(records), ok)
}

pub fn pvs(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: PvsArgs = parse("pvs", args)?;
    let ctx = Ctx::new(&a.common)?;
    pvs_report(&ctx, &a.report, a.all, a.segments, &a.pvs)
}

/// LVM2's default `report/segs_cols` and `report/pvsegs_cols`.
const SEGS_COLS: &str = "lv_name,vg_name,lv_attr,stripes,segtype,seg_size";
const PVSEGS_COLS: &str = "pv_name,vg_name,pv_fmt,pv_attr,pv_size,pv_free,pvseg_start,pvseg_size";

/// The configured `--segments` columns, or LVM2's defaults.
fn segment_fields(ctx: &Ctx, key: &str, default: &str) -> String {
    let v = ctx.conf.get_str(key, "");
    if v.is_empty() {
        default.to_string()
    } else {
        v
    }
}

/// `pvs` (and `pvdisplay -C`): `all` adds the devices that are no PV.
fn pvs_report(
    ctx: &Ctx,
    r: &ReportArgs,
    all: bool,
    segments: bool,
    pv_args: &[String],
) -> Result<(), CmdError> {
    let mut opts = r.options(ctx, all, report::ReportType::Pvs)?;
    if segments {
        opts.default_fields = Some(segment_fields(ctx, "report/pvsegs_cols", PVSEGS_COLS));
    }
    let _g = ctx.lock_global(false)?;
    let mut scan = ctx.scan()?;
    let (hs, _) = handles(ctx, &mut scan, &[], Exported::Shown, r.foreign);
    let devices = if all {
        Some(crate::system::scan::candidate_devices(&ctx.conf).map_err(super::common::failed)?)
    } else {
        None
    };
    let (records, ok) = named_pv_records(ctx, &scan, &hs, pv_args, devices.as_deref());
    let Some(mut records) = records else {
        return finish(ok);
    };
    if wants_device_ids(r) {
        for rec in records.iter_mut().filter(|p| {
            p.vg.is_some_and(|(_, pv)| pv.device_id.is_none() && pv.device_id_type.is_none())
        }) {
            rec.listed_id =
                crate::system::devicesfile::listed_id(&ctx.conf, std::path::Path::new(&rec.device));
        }
    }
    let (states, devs) = lv_inputs(ctx, &hs, wants_lvs(r, &opts, report::ReportType::Pvs));
    let lvs = lv_records(&hs, &devs, &states, None);
    print_report(ctx, report::report_pvs_with_lvs(&records, &lvs, &opts))?;
    finish(ok)
}

/// The `-S` of a display command, parsed (its errors as the report
/// commands print them, exit 5).
fn display_selection(
    r: &ReportArgs,
    rt: report::ReportType,
) -> Result<Option<report::Selection>, CmdError> {
    match &r.select {
        None => Ok(None),
        Some(s) => report::Selection::parse(s, rt)
            .map(Some)
            .map_err(|e| CmdError::Failed(e.to_string())),
    }
}

/// Keeps the items a selection selects (`keep[i]` for `items[i]`).
fn keep_selected<T>(items: &mut Vec<T>, keep: &[bool]) {
    let mut it = keep.iter();
    items.retain(|_| *it.next().unwrap_or(&true));
}

/// LVM2's refusal of display options that do not go together (exit 3).
fn incompatible(cmd: &str) -> CmdError {
    usage(format!(
        "Incompatible options selected\n  Run `{cmd} --help' for more information."
    ))
}

#[derive(Parser, Debug)]
#[command(about = "Display information about a logical volume")]
pub(crate) struct LvdisplayArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    report: ReportArgs,
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// Report in columns, as lvs does.
    #[arg(short = 'C', long = "columns")]
    columns: bool,
    #[arg(value_name = "VG|LV")]
    targets: Vec<String>,
}

pub fn lvdisplay(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvdisplayArgs = parse("lvdisplay", args)?;
    let ctx = Ctx::new(&a.common)?;
    if a.columns {
        return lvs_report(&ctx, &a.report, a.all, false, &a.targets);
    }
    let units = display_units(&a.report.units)?;
    let (mut sel, vg_names) = lv_selection(&a.targets)?;
    let slashed = slash_vgs(&mut sel);
    for e in &sel.errors {
        ctx.error(e);
    }
    if vg_names.is_empty() && (!sel.all_vgs() || !slashed.is_empty()) {
        // Every argument was refused: nothing is reported (not all VGs).
        if !slashed.is_empty() {
            report_slash_vgs(&ctx, &ctx.scan()?, &slashed);
        }
        return finish(false);
    }
    let _g = list_lock(&ctx, &vg_names)?;
    let mut scan = ctx.scan()?;
    let (hs, ok) = handles(
        &ctx,
        &mut scan,
        &vg_names,
        Exported::Refused,
        a.report.foreign,
    );
    let states: Vec<_> = hs.iter().map(|h| kernel_states(&ctx, h)).collect();
    let devs = pv_device_maps(&hs);
    let mut records = lv_records(&hs, &devs, &states, Some(&sel));
    if let Some(sel) = display_selection(&a.report, report::ReportType::Lvs)? {
        let keep =
            report::selected_lvs(&records, &sel).map_err(|e| CmdError::Failed(e.to_string()))?;
        keep_selected(&mut records, &keep);
    }
    ctx.print_lines(&report::lvdisplay(&records, a.all, units));
    // LVM2 names a missing LV after the ones it displayed.
    let found = report_missing_lvs(&ctx, &hs, &sel);
    let slashes = report_slash_vgs(&ctx, &scan, &slashed);
    finish(ok && found && slashes && sel.errors.is_empty())
}

#[derive(Parser, Debug)]
#[command(about = "Display volume group information")]
pub(crate) struct VgdisplayArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    report: ReportArgs,
    /// Report in columns, as vgs does.
    #[arg(short = 'C', long = "columns")]
    columns: bool,
    #[arg(short = 'A', long = "activevolumegroups")]
    active: bool,
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

pub fn vgdisplay(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgdisplayArgs = parse("vgdisplay", args)?;
    let ctx = Ctx::new(&a.common)?;
    if a.columns {
        return vgs_report(&ctx, &a.report, false, &a.vgs);
    }
    let units = display_units(&a.report.units)?;
    let selection = display_selection(&a.report, report::ReportType::Vgs)?;
    let named = vg_name_args(&a.vgs)?;
    let _g = list_lock(&ctx, &named)?;
    let mut scan = ctx.scan()?;
    let (hs, ok) = handles_tagged(
        &ctx,
        &mut scan,
        &named,
        Exported::Shown,
        a.report.foreign,
        true,
    );
    for h in &hs {
        let open = open_lv_count(&ctx, h);
        if a.active && !kernel_states(&ctx, h).values().any(|f| f.state.active) {
            continue;
        }
        let record = vg_record(h, open);
        if let Some(sel) = &selection {
            let one = std::slice::from_ref(h);
            let pvs = pv_records(&scan, one, &[], None);
            let (states, devs) = lv_inputs(&ctx, one, true);
            let lvs = lv_records(one, &devs, &states, None);
            if !report::selected_vgs(std::slice::from_ref(&record), &pvs, &lvs, sel)[0] {
                continue;
            }
        }
        ctx.print_lines(&report::vgdisplay(&record, units));
    }
    finish(ok)
}

#[derive(Parser, Debug)]
#[command(about = "Display various attributes of physical volume(s)")]
pub(crate) struct PvdisplayArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    report: ReportArgs,
    /// Report in columns, as pvs does.
    #[arg(short = 'C', long = "columns")]
    columns: bool,
    /// One line per PV: its name and free space.
    #[arg(short = 's', long = "short")]
    short: bool,
    /// With -C: devices that are no PV too.
    #[arg(short = 'a', long = "all")]
    all: bool,
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

pub fn pvdisplay(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: PvdisplayArgs = parse("pvdisplay", args)?;
    // LVM2: -a only with -C, and -s not with -C.
    if (a.all && !a.columns) || (a.short && a.columns) {
        return Err(incompatible("pvdisplay"));
    }
    let ctx = Ctx::new(&a.common)?;
    if a.columns {
        return pvs_report(&ctx, &a.report, a.all, false, &a.pvs);
    }
    let units = display_units(&a.report.units)?;
    let selection = display_selection(&a.report, report::ReportType::Pvs)?;
    let _g = ctx.lock_global(false)?;
    let mut scan = ctx.scan()?;
    let (hs, _) = handles(&ctx, &mut scan, &[], Exported::Shown, a.report.foreign);
    let (records, ok) = named_pv_records(&ctx, &scan, &hs, &a.pvs, None);
    let Some(mut records) = records else {
        return finish(ok);
    };
    if let Some(sel) = &selection {
        let (states, devs) = lv_inputs(&ctx, &hs, true);
        let lvs = lv_records(&hs, &devs, &states, None);
        let keep = report::selected_pvs(&records, &lvs, sel);
        keep_selected(&mut records, &keep);
    }
    // LVM2's order (process_each_pv): each VG's PVs by name of VG, in the
    // VG's metadata order, then the orphans, in scan order.
    records.sort_by_key(|r| match r.vg {
        Some((vg, pv)) => (
            0,
            vg.name.clone(),
            vg.pvs.iter().position(|p| p.id == pv.id).unwrap_or(0),
        ),
        None => (1, String::new(), 0),
    });
    if a.short {
        ctx.print_lines(&report::display::pvdisplay_short(&records, units));
    } else {
        ctx.print_lines(&report::pvdisplay(&records, units));
    }
    finish(ok)
}

/// Visible LVs whose device is open (vgdisplay's "Open LV").
pub(super) fn open_lv_count(ctx: &Ctx, h: &VgHandle) -> u32 {
    let visible: std::collections::HashSet<&str> =
        h.vg.lvs
            .iter()
            .zip(h.vg.visible_flags())
            .filter(|(_, v)| *v)
            .map(|(l, _)| l.name.as_str())
            .collect();
    kernel_states(ctx, h)
        .iter()
        .filter(|(name, f)| f.state.open && visible.contains(name.as_str()))
        .count() as u32
}
