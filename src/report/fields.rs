//! The table of report fields: LVM2's field ids, headings, minimum widths
//! and alignment (`lib/report/columns.h` is the reference), the default
//! column lists, and `-o`/`-O` name resolution (libdm's `_get_field`:
//! case-insensitive, underscores ignored, the object's prefix optional).
//! Pure.

use super::ReportError;

/// Which object a field reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Obj {
    Lv,
    Seg,
    Vg,
    Pv,
    /// A PV segment (`pvseg_start`, `pvseg_size`).
    PvSeg,
}

/// How a value is typed. libdm right-aligns only `DM_REPORT_FIELD_TYPE_NUMBER`
/// (LVM2's `NUM`, `BIN`, `SNUM`) and `DM_REPORT_FIELD_TYPE_SIZE` (`SIZ`)
/// fields; everything else, percents (`PCT`) included, is left-aligned
/// (`_output_field` in `libdm/libdm-report.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    StrList,
    Time,
    Num,
    Size,
    Pct,
    Bin,
}

impl Kind {
    pub fn right_aligned(self) -> bool {
        matches!(self, Kind::Num | Kind::Size | Kind::Bin)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct FieldDef {
    pub id: &'static str,
    pub heading: &'static str,
    pub width: usize,
    pub kind: Kind,
    pub obj: Obj,
}

/// The three report commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportType {
    Lvs,
    Vgs,
    Pvs,
}

impl ReportType {
    /// Objects whose fields the command may show.
    fn objects(self) -> &'static [Obj] {
        match self {
            ReportType::Lvs => &[Obj::Lv, Obj::Seg, Obj::Vg],
            // PV fields give a row per PV (`report_vgs_with_pvs`).
            ReportType::Vgs => &[Obj::Vg, Obj::Pv],
            // LV, segment and PV segment fields give a row per PV segment
            // (`report::join`).
            ReportType::Pvs => &[Obj::Pv, Obj::Vg, Obj::PvSeg, Obj::Lv, Obj::Seg],
        }
    }
    /// LVM2's default `-o` (`report/lvs_cols` etc. in `config_settings.h`).
    pub fn default_fields(self) -> &'static [&'static str] {
        match self {
            ReportType::Lvs => &[
                "lv_name",
                "vg_name",
                "lv_attr",
                "lv_size",
                "pool_lv",
                "origin",
                "data_percent",
                "metadata_percent",
                "move_pv",
                "mirror_log",
                "copy_percent",
                "convert_lv",
            ],
            ReportType::Vgs => &[
                "vg_name",
                "pv_count",
                "lv_count",
                "snap_count",
                "vg_attr",
                "vg_size",
                "vg_free",
            ],
            ReportType::Pvs => &[
                "pv_name", "vg_name", "pv_fmt", "pv_attr", "pv_size", "pv_free",
            ],
        }
    }
    /// Default `-O` sort keys.
    pub fn default_sort(self) -> &'static [&'static str] {
        match self {
            ReportType::Lvs => &["vg_name", "lv_name"],
            ReportType::Vgs => &["vg_name"],
            ReportType::Pvs => &["pv_name"],
        }
    }
    /// Key of the JSON object (`"lv": [...]`).
    pub fn json_key(self) -> &'static str {
        match self {
            ReportType::Lvs => "lv",
            ReportType::Vgs => "vg",
            ReportType::Pvs => "pv",
        }
    }
}

impl Obj {
    fn prefix(self) -> &'static str {
        match self {
            Obj::Lv => "lv_",
            Obj::Seg => "seg_",
            Obj::Vg => "vg_",
            Obj::Pv => "pv_",
            Obj::PvSeg => "pvseg_",
        }
    }
}

macro_rules! f {
    ($obj:ident, $kind:ident, $heading:expr, $width:expr, $id:expr) => {
        FieldDef {
            id: $id,
            heading: $heading,
            width: $width,
            kind: Kind::$kind,
            obj: Obj::$obj,
        }
    };
}

/// Every field rlvm can report, in LVM2's help order.
pub static FIELDS: &[FieldDef] = &[
    f!(Lv, Str, "LV UUID", 38, "lv_uuid"),
    f!(Lv, Str, "LV", 4, "lv_name"),
    f!(Lv, Str, "LV", 4, "lv_full_name"),
    f!(Lv, Str, "Path", 0, "lv_path"),
    f!(Lv, Str, "DMPath", 0, "lv_dm_path"),
    f!(Lv, Str, "Parent", 0, "lv_parent"),
    f!(Lv, StrList, "Layout", 10, "lv_layout"),
    f!(Lv, StrList, "Role", 10, "lv_role"),
    f!(Lv, Bin, "Merging", 10, "lv_merging"),
    f!(Lv, Bin, "Converting", 0, "lv_converting"),
    f!(Lv, Str, "AllocPol", 10, "lv_allocation_policy"),
    f!(Lv, Bin, "AllocLock", 10, "lv_allocation_locked"),
    f!(Lv, Bin, "FixMin", 10, "lv_fixed_minor"),
    f!(Lv, Bin, "SkipAct", 15, "lv_skip_activation"),
    f!(Lv, Bin, "AutoAct", 0, "lv_autoactivation"),
    f!(Lv, Str, "Active", 0, "lv_active"),
    f!(Lv, Bin, "ActLocal", 10, "lv_active_locally"),
    f!(Lv, Bin, "ActRemote", 10, "lv_active_remotely"),
    f!(Lv, Bin, "ActExcl", 10, "lv_active_exclusively"),
    f!(Lv, Num, "Maj", 0, "lv_major"),
    f!(Lv, Num, "Min", 0, "lv_minor"),
    f!(Lv, Size, "Rahead", 0, "lv_read_ahead"),
    f!(Lv, Size, "LSize", 0, "lv_size"),
    f!(Lv, Num, "#Seg", 0, "seg_count"),
    f!(Lv, Str, "Origin", 0, "origin"),
    f!(Lv, Str, "Origin UUID", 38, "origin_uuid"),
    f!(Lv, Size, "OSize", 0, "origin_size"),
    f!(Lv, Str, "Move", 0, "move_pv"),
    f!(Lv, Str, "Convert", 0, "convert_lv"),
    f!(Lv, Str, "Log", 0, "mirror_log"),
    f!(Lv, Str, "Data", 0, "data_lv"),
    f!(Lv, Str, "Meta", 0, "metadata_lv"),
    f!(Lv, Str, "Pool", 0, "pool_lv"),
    f!(Lv, StrList, "LV Tags", 0, "lv_tags"),
    f!(Lv, Time, "CTime", 26, "lv_time"),
    f!(Lv, Str, "Host", 10, "lv_host"),
    f!(Lv, StrList, "Modules", 0, "lv_modules"),
    f!(Lv, Num, "KMaj", 0, "lv_kernel_major"),
    f!(Lv, Num, "KMin", 0, "lv_kernel_minor"),
    f!(Lv, Size, "KRahead", 0, "lv_kernel_read_ahead"),
    f!(Lv, Str, "LPerms", 8, "lv_permissions"),
    f!(Lv, Bin, "Suspended", 10, "lv_suspended"),
    f!(Lv, Bin, "LiveTable", 20, "lv_live_table"),
    f!(Lv, Bin, "InactiveTable", 20, "lv_inactive_table"),
    f!(Lv, Bin, "DevOpen", 10, "lv_device_open"),
    f!(Lv, Pct, "Data%", 6, "data_percent"),
    f!(Lv, Pct, "Snap%", 6, "snap_percent"),
    f!(Lv, Pct, "Meta%", 6, "metadata_percent"),
    f!(Lv, Pct, "Cpy%Sync", 0, "copy_percent"),
    f!(Lv, Pct, "Cpy%Sync", 0, "sync_percent"),
    f!(Lv, Str, "Health", 15, "lv_health_status"),
    f!(Lv, Bin, "MergeFailed", 15, "lv_merge_failed"),
    f!(Lv, Bin, "SnapInvalid", 15, "lv_snapshot_invalid"),
    f!(Lv, Str, "Attr", 0, "lv_attr"),
    f!(Pv, Str, "Fmt", 0, "pv_fmt"),
    f!(Pv, Str, "PV UUID", 38, "pv_uuid"),
    f!(Pv, Size, "DevSize", 0, "dev_size"),
    f!(Pv, Str, "PV", 10, "pv_name"),
    f!(Pv, Str, "Maj", 0, "pv_major"),
    f!(Pv, Str, "Min", 0, "pv_minor"),
    f!(Pv, Size, "PMdaFree", 9, "pv_mda_free"),
    f!(Pv, Size, "PMdaSize", 9, "pv_mda_size"),
    f!(Pv, Num, "PExtVsn", 0, "pv_ext_vsn"),
    f!(Pv, Size, "1st PE", 7, "pe_start"),
    f!(Pv, Size, "PSize", 0, "pv_size"),
    f!(Pv, Size, "PFree", 0, "pv_free"),
    f!(Pv, Size, "Used", 0, "pv_used"),
    f!(Pv, Str, "Attr", 0, "pv_attr"),
    f!(Pv, Bin, "Allocatable", 0, "pv_allocatable"),
    f!(Pv, Bin, "Exported", 10, "pv_exported"),
    f!(Pv, Bin, "Missing", 10, "pv_missing"),
    f!(Pv, Num, "PE", 3, "pv_pe_count"),
    f!(Pv, Num, "Alloc", 0, "pv_pe_alloc_count"),
    f!(Pv, StrList, "PV Tags", 0, "pv_tags"),
    f!(Pv, Num, "#PMda", 0, "pv_mda_count"),
    f!(Pv, Num, "#PMdaUse", 0, "pv_mda_used_count"),
    f!(Pv, Size, "BA Start", 0, "pv_ba_start"),
    f!(Pv, Size, "BA Size", 0, "pv_ba_size"),
    f!(Pv, Str, "DeviceID", 0, "pv_device_id"),
    f!(Pv, Str, "DeviceIDType", 0, "pv_device_id_type"),
    f!(Pv, Bin, "PInUse", 0, "pv_in_use"),
    f!(Pv, Bin, "Duplicate", 0, "pv_duplicate"),
    f!(Vg, Str, "Fmt", 0, "vg_fmt"),
    f!(Vg, Str, "VG UUID", 38, "vg_uuid"),
    f!(Vg, Str, "VG", 0, "vg_name"),
    f!(Vg, Str, "Attr", 5, "vg_attr"),
    f!(Vg, Str, "VPerms", 10, "vg_permissions"),
    f!(Vg, Bin, "Extendable", 0, "vg_extendable"),
    f!(Vg, Bin, "Exported", 10, "vg_exported"),
    f!(Vg, Bin, "AutoAct", 0, "vg_autoactivation"),
    f!(Vg, Bin, "Partial", 10, "vg_partial"),
    f!(Vg, Str, "AllocPol", 10, "vg_allocation_policy"),
    f!(Vg, Bin, "Clustered", 10, "vg_clustered"),
    f!(Vg, Bin, "Shared", 7, "vg_shared"),
    f!(Vg, Size, "VSize", 0, "vg_size"),
    f!(Vg, Size, "VFree", 0, "vg_free"),
    f!(Vg, Str, "SYS ID", 0, "vg_sysid"),
    f!(Vg, Str, "System ID", 0, "vg_systemid"),
    f!(Vg, Size, "Ext", 0, "vg_extent_size"),
    f!(Vg, Num, "#Ext", 0, "vg_extent_count"),
    f!(Vg, Num, "Free", 0, "vg_free_count"),
    f!(Vg, Num, "MaxLV", 0, "max_lv"),
    f!(Vg, Num, "MaxPV", 0, "max_pv"),
    f!(Vg, Num, "#PV", 0, "pv_count"),
    f!(Vg, Num, "#PV Missing", 0, "vg_missing_pv_count"),
    f!(Vg, Num, "#LV", 0, "lv_count"),
    f!(Vg, Num, "#SN", 0, "snap_count"),
    f!(Vg, Num, "Seq", 0, "vg_seqno"),
    f!(Vg, StrList, "VG Tags", 0, "vg_tags"),
    f!(Vg, Num, "#VMda", 0, "vg_mda_count"),
    f!(Vg, Num, "#VMdaUse", 0, "vg_mda_used_count"),
    f!(Vg, Size, "VMdaFree", 9, "vg_mda_free"),
    f!(Vg, Size, "VMdaSize", 9, "vg_mda_size"),
    f!(Vg, Num, "#VMdaCps", 0, "vg_mda_copies"),
    f!(Seg, Str, "Type", 4, "segtype"),
    f!(Seg, Num, "#Str", 4, "stripes"),
    f!(Seg, Size, "Stripe", 0, "stripe_size"),
    f!(Seg, Size, "Chunk", 0, "chunk_size"),
    f!(Seg, Size, "Start", 0, "seg_start"),
    f!(Seg, Num, "Start", 0, "seg_start_pe"),
    f!(Seg, Size, "SSize", 0, "seg_size"),
    f!(Seg, Num, "SSize", 0, "seg_size_pe"),
    f!(Seg, StrList, "Seg Tags", 0, "seg_tags"),
    f!(Seg, Str, "Devices", 5, "devices"),
    f!(Seg, Str, "Monitor", 0, "seg_monitor"),
    f!(Seg, Bin, "Zero", 0, "zero"),
    f!(PvSeg, Num, "Start", 0, "pvseg_start"),
    f!(PvSeg, Num, "SSize", 0, "pvseg_size"),
];

/// libdm's comparison: case-insensitive with every `_` ignored.
fn same(a: &str, b: &str) -> bool {
    same_prefixed(a, "", b)
}

/// [`same`] of `id` and `prefix` followed by `name`, without building the
/// joined name (every field of every report is looked up this way).
fn same_prefixed(id: &str, prefix: &str, name: &str) -> bool {
    let fold = |c: &u8| (*c != b'_').then(|| c.to_ascii_lowercase());
    id.as_bytes().iter().filter_map(fold).eq(prefix
        .as_bytes()
        .iter()
        .chain(name.as_bytes())
        .filter_map(fold))
}

/// Looks a field name up as `lvs`/`vgs`/`pvs` would: exact id first, then
/// with the object's prefix (`name` → `lv_name` in lvs).
pub fn resolve(name: &str, rt: ReportType) -> Result<&'static FieldDef, ReportError> {
    let allowed = rt.objects();
    let candidates = || {
        allowed
            .iter()
            .flat_map(|o| FIELDS.iter().filter(move |f| f.obj == *o))
    };
    candidates()
        .find(|f| same(f.id, name))
        .or_else(|| candidates().find(|f| same_prefixed(f.id, f.obj.prefix(), name)))
        .ok_or_else(|| ReportError::UnrecognisedField(name.to_string()))
}

/// Looks a field name up for a `--select`: as [`resolve`], then among
/// every object's fields (LVM2 lets `vgs -S lv_name=x` select VGs by
/// their LVs; which combinations work is the report's to say).
pub fn resolve_select(name: &str, rt: ReportType) -> Result<&'static FieldDef, ReportError> {
    resolve(name, rt).or_else(|e| {
        let all = [Obj::Lv, Obj::Seg, Obj::Vg, Obj::Pv, Obj::PvSeg];
        FIELDS
            .iter()
            .find(|f| same(f.id, name))
            .or_else(|| {
                all.iter().find_map(|o| {
                    FIELDS
                        .iter()
                        .find(|f| f.obj == *o && same_prefixed(f.id, o.prefix(), name))
                })
            })
            .ok_or(e)
    })
}

/// Resolves the `-o` arguments (each a comma list) as LVM2 2.03 does: a
/// list starting with `+` appends to the fields so far (the defaults at
/// first), a list starting with `-` removes its fields (a name that does
/// not resolve is ignored: `-a,-b` removes only `a`), any other list
/// replaces the defaults.
pub fn select_fields(
    args: &[String],
    rt: ReportType,
) -> Result<Vec<&'static FieldDef>, ReportError> {
    let defaults: Vec<String> = rt.default_fields().iter().map(|s| s.to_string()).collect();
    select_fields_from(&defaults, args, rt)
}

/// [`select_fields`] with other defaults (`report/pvs_cols`...). A
/// `#field` list names columns to compact, not columns to show.
pub fn select_fields_from(
    defaults: &[String],
    args: &[String],
    rt: ReportType,
) -> Result<Vec<&'static FieldDef>, ReportError> {
    let mut out: Vec<&'static FieldDef> = defaults
        .iter()
        .filter(|n| !n.is_empty())
        .map(|n| resolve(n, rt))
        .collect::<Result<_, _>>()?;
    let mut replaced = false;
    for arg in args.iter().filter(|a| !a.starts_with('#')) {
        let names = |list: &str| -> Vec<String> {
            list.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        if let Some(rest) = arg.strip_prefix('-') {
            for name in names(rest) {
                if let Ok(f) = resolve(&name, rt) {
                    out.retain(|x| !std::ptr::eq(*x, f));
                }
            }
            continue;
        }
        let list = match arg.strip_prefix('+') {
            Some(rest) => rest,
            None => {
                if !replaced {
                    out.clear();
                    replaced = true;
                }
                arg.as_str()
            }
        };
        for name in names(list) {
            if name.eq_ignore_ascii_case("all") {
                let objs = rt.objects();
                out.extend(FIELDS.iter().filter(|f| f.obj == objs[0]));
            } else {
                out.push(resolve(&name, rt)?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_libdm_without_case_or_underscores() {
        assert!(same("lv_name", "LVNAME"));
        assert!(same("lv_name", "l_v_n_a_m_e_"));
        assert!(!same("lv_name", "lv_names"));
        assert!(!same("lv_size", "lv_name"));
        assert!(same_prefixed("lv_name", "lv_", "Name"));
        assert!(same_prefixed("vg_extent_count", "vg_", "extentcount"));
        assert!(!same_prefixed("lv_name", "vg_", "name"));
        assert!(!same_prefixed("lv_name", "lv_", ""));
        assert_eq!(resolve("name", ReportType::Lvs).unwrap().id, "lv_name");
        assert!(resolve("nosuchfield", ReportType::Lvs).is_err());
    }

    fn ids(v: &[&FieldDef]) -> Vec<&'static str> {
        v.iter().map(|f| f.id).collect()
    }

    #[test]
    fn aliases_resolve_like_lvm() {
        assert_eq!(resolve("name", ReportType::Lvs).unwrap().id, "lv_name");
        assert_eq!(resolve("size", ReportType::Lvs).unwrap().id, "lv_size");
        assert_eq!(
            resolve("stripesize", ReportType::Lvs).unwrap().id,
            "stripe_size"
        );
        assert_eq!(resolve("LV_NAME", ReportType::Lvs).unwrap().id, "lv_name");
        assert_eq!(resolve("name", ReportType::Vgs).unwrap().id, "vg_name");
        assert_eq!(resolve("start", ReportType::Lvs).unwrap().id, "seg_start");
        assert_eq!(
            resolve("foo", ReportType::Lvs).unwrap_err().to_string(),
            "Unrecognised field: foo"
        );
        assert!(resolve("lv_name", ReportType::Vgs).is_err());
    }

    #[test]
    fn plus_minus_and_replace() {
        let v = select_fields(&["+lv_uuid".into()], ReportType::Vgs);
        assert!(v.is_err());
        let v = select_fields(&["-pool_lv,data_percent".into()], ReportType::Lvs).unwrap();
        assert_eq!(
            ids(&v)[..6],
            [
                "lv_name",
                "vg_name",
                "lv_attr",
                "lv_size",
                "origin",
                "metadata_percent"
            ]
        );
        let v = select_fields(&["name,size".into(), "+attr".into()], ReportType::Lvs).unwrap();
        assert_eq!(ids(&v), ["lv_name", "lv_size", "lv_attr"]);
    }
}
