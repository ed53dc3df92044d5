//! fullreport: LVM2's combined report (tools/reporter.c, `report_all`):
//! for each VG, five reports one after the other, each with its own
//! headings: the VG, its PVs, its LVs, its PV segments and its LV
//! segments, with LVM2's `report/*_cols_full` columns. Read-only.

use std::ffi::OsString;

use clap::Parser;

use crate::report::{self, ReportOptions, ReportType};

use super::common::{parse, usage, vg_name_args, CmdError, CommonArgs, Ctx};
use super::records::{kernel_states, lv_records, pv_device_maps, pv_records, vg_record};
use super::report::{
    finish, handles, list_lock, open_lv_count, print_report, Exported, ReportArgs,
};

#[derive(Parser, Debug)]
#[command(about = "Display full report")]
pub(crate) struct FullreportArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    report: ReportArgs,
    /// Show hidden (internal) LVs too.
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// The section -o, -O and -S apply to (vg, pv, lv, pvseg or seg;
    /// without it they are not used, as in LVM2).
    #[arg(long = "configreport", value_name = "log|vg|lv|pv|pvseg|seg")]
    configreport: Vec<String>,
    /// VGs to report (all when none).
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

/// One of the five reports of each VG.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Vg,
    Pv,
    Lv,
    PvSeg,
    Seg,
}

const SECTIONS: [Section; 5] = [
    Section::Vg,
    Section::Pv,
    Section::Lv,
    Section::PvSeg,
    Section::Seg,
];

impl Section {
    fn parse(s: &str) -> Option<Section> {
        Some(match s {
            "vg" => Section::Vg,
            "pv" => Section::Pv,
            "lv" => Section::Lv,
            "pvseg" => Section::PvSeg,
            "seg" => Section::Seg,
            _ => return None,
        })
    }

    /// The report type whose fields this section shows.
    #[cfg(test)]
    fn report_type(self) -> ReportType {
        match self {
            Section::Vg => ReportType::Vgs,
            Section::Pv | Section::PvSeg => ReportType::Pvs,
            Section::Lv | Section::Seg => ReportType::Lvs,
        }
    }

    /// The `report/*_sort_full` key and LVM2's default
    /// (lib/config/defaults.h).
    fn sort(self) -> (&'static str, &'static str) {
        match self {
            Section::Vg => ("report/vgs_sort_full", "vg_name"),
            Section::Pv => ("report/pvs_sort_full", "pv_name"),
            Section::Lv => ("report/lvs_sort_full", "vg_name,lv_name"),
            Section::PvSeg => ("report/pvsegs_sort_full", "pv_uuid,pvseg_start"),
            Section::Seg => ("report/segs_sort_full", "lv_uuid,seg_start"),
        }
    }

    /// The `report/*_cols_full` key and LVM2's default (lib/config/defaults.h:
    /// every field of the object; PV and LV segments with their UUIDs).
    fn columns_key(self) -> &'static str {
        match self {
            Section::Vg => "report/vgs_cols_full",
            Section::Pv => "report/pvs_cols_full",
            Section::Lv => "report/lvs_cols_full",
            Section::PvSeg => "report/pvsegs_cols_full",
            Section::Seg => "report/segs_cols_full",
        }
    }
}

/// Every field of `obj`, as LVM2's `<obj>_all`.
fn all_of(obj: report::fields::Obj) -> Vec<String> {
    report::fields::FIELDS
        .iter()
        .filter(|f| f.obj == obj)
        .map(|f| f.id.to_string())
        .collect()
}

/// `pv_all` in LVM2's column order (lib/report/columns.h): the device
/// ID fields come after `pv_in_use` and `pv_duplicate`.
fn pv_all() -> Vec<String> {
    let (mut ids, mut rest): (Vec<String>, Vec<String>) = all_of(report::fields::Obj::Pv)
        .into_iter()
        .partition(|n| n.starts_with("pv_device_id"));
    rest.append(&mut ids);
    rest
}

/// The default columns of a section, with `<obj>_all` expanded.
fn default_columns(s: Section) -> Vec<String> {
    use report::fields::Obj;
    let uuid = |n: &str| vec![n.to_string()];
    match s {
        Section::Vg => all_of(Obj::Vg),
        Section::Pv => pv_all(),
        Section::Lv => all_of(Obj::Lv),
        Section::PvSeg => [all_of(Obj::PvSeg), uuid("pv_uuid"), uuid("lv_uuid")].concat(),
        Section::Seg => [all_of(Obj::Seg), uuid("lv_uuid")].concat(),
    }
}

/// A configured `*_cols_full` list with `vg_all`... expanded; None when
/// it is not set.
fn configured_columns(ctx: &Ctx, s: Section) -> Option<Vec<String>> {
    use report::fields::Obj;
    let v = ctx.conf.get_str(s.columns_key(), "");
    if v.trim().is_empty() {
        return None;
    }
    Some(
        v.split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .flat_map(|n| match n {
                "vg_all" => all_of(Obj::Vg),
                "pv_all" => pv_all(),
                "lv_all" => all_of(Obj::Lv),
                "pvseg_all" => all_of(Obj::PvSeg),
                "seg_all" => all_of(Obj::Seg),
                other => vec![other.to_string()],
            })
            .collect(),
    )
}

/// The -o, -O and -S given after one `--configreport`, for its section.
#[derive(Debug, Default, PartialEq, Eq)]
struct SectionArgs {
    fields: Vec<String>,
    sort: Vec<String>,
    select: Option<String>,
}

/// LVM2 applies -o, -O and -S to the report the last `--configreport`
/// before them names (none before the first: they are not used). The
/// command line is read in order for that; clap has checked it.
fn section_args(args: &[OsString]) -> Vec<(String, SectionArgs)> {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut out: Vec<(String, SectionArgs)> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        // (option, value, how many arguments it took)
        let split = |long: &str, short: &str| -> Option<(String, usize)> {
            if a == long || a == short {
                return args.get(i + 1).map(|v| (v.clone(), 2));
            }
            if let Some(v) = a.strip_prefix(&format!("{long}=")) {
                return Some((v.to_string(), 1));
            }
            (!short.is_empty() && a.len() > 2 && a.starts_with(short))
                .then(|| (a[2..].to_string(), 1))
        };
        if let Some((v, n)) = split("--configreport", "") {
            out.push((v, SectionArgs::default()));
            i += n;
        } else if let Some((v, n)) = split("--options", "-o") {
            if let Some((_, s)) = out.last_mut() {
                s.fields.push(v);
            }
            i += n;
        } else if let Some((v, n)) = split("--sort", "-O") {
            if let Some((_, s)) = out.last_mut() {
                s.sort.push(v);
            }
            i += n;
        } else if let Some((v, n)) = split("--select", "-S") {
            if let Some((_, s)) = out.last_mut() {
                s.select = Some(v);
            }
            i += n;
        } else {
            i += 1;
        }
    }
    out
}

/// The options of one section: the common layout options, its columns,
/// and the -o/-O/-S given for it after `--configreport`.
fn section_options(
    ctx: &Ctx,
    base: &ReportOptions,
    s: Section,
    given: Option<&SectionArgs>,
) -> ReportOptions {
    let mut o = base.clone();
    let cols = configured_columns(ctx, s).unwrap_or_else(|| default_columns(s));
    o.default_fields = Some(cols.join(","));
    o.fields = given.map(|g| g.fields.clone()).unwrap_or_default();
    o.sort = given.map(|g| g.sort.clone()).unwrap_or_default();
    o.select = given.and_then(|g| g.select.clone());
    if o.sort.is_empty() {
        let (key, default) = s.sort();
        o.sort = vec![ctx.conf.get_str(key, default)];
    }
    o
}

pub fn fullreport(args: Vec<OsString>) -> Result<(), CmdError> {
    let given = section_args(&args);
    let a: FullreportArgs = parse("fullreport", args)?;
    if let Some(bad) = a
        .configreport
        .iter()
        .find(|n| *n != "log" && Section::parse(n).is_none())
    {
        return Err(usage(format!("Invalid argument for --configreport: {bad}")));
    }
    // The log report (`--configreport log`) is not produced.
    let mut per_section: Vec<(Section, SectionArgs)> = Vec::new();
    for (name, g) in given {
        if let Some(s) = Section::parse(&name) {
            per_section.retain(|(x, _)| *x != s);
            per_section.push((s, g));
        }
    }
    let ctx = Ctx::new(&a.common)?;
    let base = a.report.options(&ctx, a.all, ReportType::Vgs)?;
    let named = vg_name_args(&a.vgs)?;
    let _g = list_lock(&ctx, &named)?;
    let mut scan = ctx.scan()?;
    let (hs, ok) = handles(&ctx, &mut scan, &named, Exported::Shown, a.report.foreign);
    let devs = pv_device_maps(&hs);
    // The devices' numbers (pv_major, pv_minor).
    let devices =
        crate::system::scan::candidate_devices(&ctx.conf).map_err(super::common::failed)?;
    for (i, h) in hs.iter().enumerate() {
        let one = std::slice::from_ref(h);
        let states = vec![kernel_states(&ctx, h)];
        let lvs = lv_records(one, &devs[i..=i], &states, None);
        let pvs: Vec<_> = pv_records(&scan, one, &[], Some(&devices))
            .into_iter()
            .filter(|r| r.vg.is_some_and(|(v, _)| v.name == h.vg.name))
            .collect();
        for s in SECTIONS {
            let given = per_section.iter().find(|(x, _)| *x == s).map(|(_, g)| g);
            let o = section_options(&ctx, &base, s, given);
            let out = match s {
                Section::Vg => {
                    let rec = [vg_record(h, open_lv_count(&ctx, h))];
                    report::report_vgs_with_pvs(&rec, &pvs, &lvs, &o)
                }
                Section::Pv => report::report_pvs(&pvs, &o),
                Section::PvSeg => report::report_pvs_with_lvs(&pvs, &lvs, &o),
                Section::Lv | Section::Seg => report::report_lvs(&lvs, &o),
            };
            print_report(&ctx, out)?;
        }
    }
    finish(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_columns_resolve_in_their_report() {
        for s in SECTIONS {
            let cols = default_columns(s);
            assert!(!cols.is_empty(), "{s:?}");
            let o = ReportOptions {
                default_fields: Some(cols.join(",")),
                ..ReportOptions::default()
            };
            let fields = o.fields(s.report_type()).expect("columns resolve");
            assert_eq!(fields.len(), cols.len());
        }
        let seg = default_columns(Section::Seg);
        assert_eq!(seg.last().map(String::as_str), Some("lv_uuid"));
        assert!(seg.iter().any(|c| c == "segtype"));
        let pvseg = default_columns(Section::PvSeg);
        assert_eq!(&pvseg[..2], ["pvseg_start", "pvseg_size"]);
        assert_eq!(&pvseg[2..], ["pv_uuid", "lv_uuid"]);
        let pv = default_columns(Section::Pv);
        assert_eq!(pv[pv.len() - 2..], ["pv_device_id", "pv_device_id_type"]);
    }

    #[test]
    fn options_go_to_the_report_configreport_names() {
        let args: Vec<OsString> = [
            "-o",
            "ignored",
            "--configreport",
            "pv",
            "-o",
            "pv_name",
            "-Opv_size",
            "--configreport=lv",
            "--options=lv_name",
            "-S",
            "lv_size>1",
            "vg0",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let got = section_args(&args);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "pv");
        assert_eq!(got[0].1.fields, ["pv_name"]);
        assert_eq!(got[0].1.sort, ["pv_size"]);
        assert_eq!(got[1].0, "lv");
        assert_eq!(got[1].1.fields, ["lv_name"]);
        assert_eq!(got[1].1.select.as_deref(), Some("lv_size>1"));
    }

    #[test]
    fn configreport_names_a_section() {
        assert_eq!(Section::parse("pvseg"), Some(Section::PvSeg));
        assert_eq!(Section::parse("bogus"), None);
    }
}
