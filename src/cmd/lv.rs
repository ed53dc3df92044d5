//! lvcreate, lvremove, lvrename, lvchange.

use std::ffi::OsString;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;

use crate::metadata::alloc::{self, AllocRequest};
use crate::metadata::id::Id;
use crate::metadata::model::{Flags, Lv, Segment, Vg, VIRTUAL_SEGTYPES};
use crate::metadata::names;
use crate::metadata::snapshot;
use crate::metadata::store;
use crate::metadata::units::{self, ExtentSpec};

use super::common::{
    apply_tags, bad_arg, failed, parse, tag_args, usage, vg_arg, CmdError, CommonArgs, Ctx,
};
use super::{activate, confirm, selecting};

use super::lvselect as select;

#[derive(Parser, Debug)]
#[command(about = "Create a logical volume")]
pub(crate) struct LvcreateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Archive and back up the metadata (y, lvm.conf's default) or not (n).
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<String>,
    /// Name of the new LV (default lvolN).
    #[arg(short = 'n', long = "name")]
    name: Option<String>,
    /// Size of the LV.
    #[arg(
        short = 'L',
        long = "size",
        value_name = "Size[m|UNIT]",
        allow_hyphen_values = true
    )]
    size: Option<String>,
    /// Size in extents, or a percentage: 100%FREE, 50%VG, %PVS, %ORIGIN.
    #[arg(
        short = 'l',
        long = "extents",
        value_name = "Number[PERCENT]",
        allow_hyphen_values = true
    )]
    extents: Option<String>,
    /// Number of stripes.
    #[arg(short = 'i', long = "stripes")]
    stripes: Option<u32>,
    /// Stripe size.
    #[arg(short = 'I', long = "stripesize", value_name = "Size[k|UNIT]")]
    stripesize: Option<String>,
    /// Create a COW snapshot of the named origin LV.
    #[arg(short = 's', long = "snapshot")]
    snapshot: bool,
    /// Snapshot chunk size.
    #[arg(short = 'c', long = "chunksize", value_name = "Size[k|UNIT]")]
    chunksize: Option<String>,
    /// Activate the new LV (y) or not (n).
    #[arg(short = 'a', long = "activate", value_name = "y|n|ey|ly")]
    activate: Option<String>,
    /// Zero the start of the new LV (y) or not (n).
    #[arg(short = 'Z', long = "zero", value_name = "y|n")]
    zero: Option<String>,
    /// Permission: r or rw.
    #[arg(short = 'p', long = "permission", value_name = "rw|r")]
    permission: Option<String>,
    /// Add a tag (a leading @ is accepted).
    #[arg(long = "addtag", value_name = "Tag")]
    addtag: Vec<String>,
    /// Segment type: linear, striped or snapshot.
    #[arg(long = "type")]
    segtype: Option<String>,
    /// Persistent device number: y (needs --minor) or n.
    #[arg(short = 'M', long = "persistent", value_name = "y|n")]
    persistent: Option<String>,
    /// Minor number of the LV's device (persistent).
    #[arg(long = "minor", value_name = "Number")]
    minor: Option<i64>,
    /// Major number: ignored, the kernel assigns device-mapper's (a warning says so, as with LVM2).
    #[arg(short = 'j', long = "major", value_name = "Number")]
    major: Option<i64>,
    /// Wipe signatures of other formats where the new LV starts (default:
    /// with -Zy, as lvm.conf allocation/wipe_signatures_when_zeroing_new_lvs says).
    #[arg(short = 'W', long = "wipesignatures", value_name = "y|n")]
    wipesignatures: Option<String>,
    /// Set (y) or clear (n) the activation skip flag: such an LV is not
    /// activated unless -K is given.
    #[arg(short = 'k', long = "setactivationskip", value_name = "y|n")]
    setactivationskip: Option<String>,
    /// Activate LVs even if they have the activation skip flag.
    #[arg(short = 'K', long = "ignoreactivationskip")]
    ignoreactivationskip: bool,
    /// Allow (y) or forbid (n) autoactivation (-aay) of the LV.
    #[arg(long = "setautoactivation", value_name = "y|n")]
    setautoactivation: Option<String>,
    /// Read-ahead: auto, none, or a number of sectors.
    #[arg(short = 'r', long = "readahead", value_name = "auto|none|Sectors")]
    readahead: Option<String>,
    /// VG, or VG/origin (with -s); without it, the VG of `-n VG/LV` or
    /// `$LVM_VG_NAME`.
    #[arg(value_name = "VG|LV")]
    target: Option<String>,
    /// PVs to allocate from.
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

fn yes_no(opt: &Option<String>, default: bool, what: &str) -> Result<bool, CmdError> {
    match opt.as_deref() {
        None => Ok(default),
        Some("y") | Some("yes") | Some("ey") | Some("ly") | Some("ay") => Ok(true),
        Some("n") | Some("no") => Ok(false),
        Some(other) => Err(usage(format!("Invalid argument for {what}: {other}"))),
    }
}

/// The common options with `-A|--autobackup y|n` applied: LVM2 takes it
/// for both backup/archive and backup/backup of this command (`n`: no
/// archive before the change, no backup after it).
pub(crate) fn with_autobackup(
    common: &CommonArgs,
    arg: Option<&str>,
) -> Result<CommonArgs, CmdError> {
    let mut c = common.clone();
    if arg.is_some() {
        let on = yes_no(&arg.map(str::to_string), true, "--autobackup")? as u8;
        c.config
            .push(format!("backup {{ archive = {on} backup = {on} }}"));
    }
    Ok(c)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn new_lv(
    name: &str,
    writable: bool,
    visible: bool,
    segments: Vec<Segment>,
    tags: &[String],
) -> Lv {
    let mut status = Flags::new(&["READ"]);
    if writable {
        status.set("WRITE");
    }
    if visible {
        status.set("VISIBLE");
    }
    Lv {
        name: name.to_string(),
        id: Id::random(),
        status,
        flags: Flags::default(),
        tags: tags.to_vec(),
        creation_time: Some(now()),
        creation_host: Some(store::hostname()),
        allocation_policy: None,
        read_ahead: None,
        major: None,
        minor: None,
        segments,
    }
}

/// What -M/--persistent, --minor and --major ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Persistent {
    Unchanged,
    /// -Mn: dynamic number again.
    Off,
    /// A fixed (major, minor).
    Fixed(i64, i64),
}

/// LVM2's rules (toollib.c `get_and_validate_major_minor`, Linux 2.6+):
/// -Mn takes neither --major nor --minor; -My needs --minor; --major is
/// ignored with a warning, the major stored being device-mapper's; a
/// --minor alone makes the number persistent too.
fn persistent_args(
    ctx: &Ctx,
    persistent: &Option<String>,
    major: Option<i64>,
    minor: Option<i64>,
) -> Result<Persistent, CmdError> {
    let on = match persistent.as_deref() {
        None => None,
        Some("y") | Some("yes") => Some(true),
        Some("n") | Some("no") => Some(false),
        Some(other) => return Err(usage(format!("Invalid argument for --persistent: {other}"))),
    };
    if on == Some(false) {
        if major.is_some() || minor.is_some() {
            return Err(usage(
                "Options --major and --minor are incompatible with -Mn.",
            ));
        }
        return Ok(Persistent::Off);
    }
    if on == Some(true) && minor.is_none() {
        return Err(usage(
            "Please specify minor number with --minor when using -My.",
        ));
    }
    if major.is_none() && minor.is_none() {
        return Ok(Persistent::Unchanged);
    }
    let dm_major = crate::dm::kernel::dm_major() as i64;
    if let Some(j) = major {
        ctx.warn(format!(
            "Ignoring supplied major number {j} - kernel assigns major numbers dynamically. Using major number {dm_major} instead."
        ));
    }
    match minor {
        None => Ok(Persistent::Unchanged),
        Some(m) if !(0..=1_048_575).contains(&m) => Err(CmdError::Failed(format!(
            "Minor number {m} outside range 0-1048575."
        ))),
        Some(m) => Ok(Persistent::Fixed(dm_major, m)),
    }
}

fn set_fixed_minor(ctx: &Ctx, lv: &mut Lv, major: i64, minor: i64) {
    lv.status.set("FIXED_MINOR");
    lv.major = Some(major);
    lv.minor = Some(minor);
    ctx.verbose(1, format!("Setting device number to ({major}, {minor})."));
}

/// Sectors in a page: LVM2 keeps read-ahead a multiple of it.
const PAGE_SECTORS: u64 = 8;

/// `-r|--readahead` (LVM2's `readahead_arg` and `_lvchange_readahead`):
/// `auto` (None), `none` (Some(0)) or sectors, rounded down to a page
/// multiple (at least one page) with LVM2's warning.
fn read_ahead_arg(ctx: &Ctx, v: &str) -> Result<Option<u64>, CmdError> {
    match v {
        "auto" => return Ok(None),
        "none" => return Ok(Some(0)),
        _ => {}
    }
    let n: u64 = v
        .parse()
        .ok()
        .filter(|n| *n < u32::MAX as u64)
        .ok_or_else(|| CmdError::BadArg(format!("Invalid argument for --readahead: {v}")))?;
    if n.is_multiple_of(PAGE_SECTORS) {
        return Ok(Some(n));
    }
    let r = (n / PAGE_SECTORS * PAGE_SECTORS).max(PAGE_SECTORS);
    ctx.warn(format!(
        "Overriding readahead to {r} sectors, a multiple of {}K page size.",
        PAGE_SECTORS / 2
    ));
    Ok(Some(r))
}

/// Chunks a COW must at least hold (LVM2's `SNAPSHOT_MIN_CHUNKS`).
const SNAPSHOT_MIN_CHUNKS: u64 = 2;

/// LVM2's `cow_has_min_chunks`: the error when `cow_extents` extents of
/// `extent_size` sectors hold fewer than two `chunk`-sector chunks.
fn snapshot_min_chunks(cow_extents: u64, extent_size: u64, chunk: u64) -> Result<(), String> {
    let min = SNAPSHOT_MIN_CHUNKS * chunk;
    if cow_extents * extent_size >= min {
        return Ok(());
    }
    Err(format!(
        "Snapshot volume cannot be smaller than {SNAPSHOT_MIN_CHUNKS} chunks ({} extents, {}).",
        min.div_ceil(extent_size),
        units::display_size(min)
    ))
}

/// The first free `lvolN` name.
fn default_lv_name(vg: &Vg) -> String {
    (0..)
        .map(|n| format!("lvol{n}"))
        .find(|n| vg.lv(n).is_none())
        .unwrap_or_default()
}

pub fn lvcreate(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvcreateArgs = parse("lvcreate", args)?;
    let ctx = Ctx::new(&with_autobackup(&a.common, a.autobackup.as_deref())?)?;
    let snapshot = a.snapshot || a.segtype.as_deref() == Some("snapshot");
    match a.segtype.as_deref() {
        None | Some("linear") | Some("striped") | Some("snapshot") | Some("error")
        | Some("zero") => {}
        Some(t) => return Err(super::common::unsupported_segtype(t)),
    }
    // `error` / `zero`: no extents allocated, nothing to zero.
    let virtual_type = a
        .segtype
        .as_deref()
        .filter(|t| VIRTUAL_SEGTYPES.contains(t));
    if a.size.is_some() && a.extents.is_some() {
        return Err(usage("Please specify either size or extents (not both)."));
    }
    if a.size.is_none() && a.extents.is_none() {
        return Err(usage("Please specify either size or extents."));
    }
    // Option values are checked while parsing the command line, as LVM2
    // does, before any VG is read.
    let size_arg = match &a.size {
        Some(s) => Some(units::parse_size(s, 'm').map_err(bad_arg("--size", s))?),
        None => None,
    };
    let extents_arg = match &a.extents {
        Some(e) => Some(units::parse_extents(e).map_err(bad_arg("--extents", e))?),
        None => None,
    };
    let addtag = tag_args("--addtag", &a.addtag)?;
    let read_ahead = match &a.readahead {
        Some(v) => read_ahead_arg(&ctx, v)?,
        None => None,
    };
    // `-n VG/LV` names the VG too (LVM2's `validate_lvname_param`).
    let (name_vg, lv_name) = match a.name.as_deref() {
        Some(n) if n.contains('/') => {
            let (v, l) = super::common::lv_arg_cmdline(n)?;
            (Some(v), Some(l))
        }
        n => (None, n.map(str::to_string)),
    };
    let (vg_name, origin_name) = match (&a.target, snapshot) {
        (Some(t), true) => {
            let (v, l) = super::common::lv_arg_cmdline(t)?;
            if l.is_empty() {
                return Err(usage("Logical volume name \"\" is invalid."));
            }
            (v, Some(l))
        }
        (None, true) => {
            return Err(usage(
                "Please specify a logical volume to act as the snapshot origin.",
            ))
        }
        (Some(t), false) => (super::common::lvcreate_vg_arg(t)?, None),
        // No VG argument: the VG of -n, else $LVM_VG_NAME.
        (None, false) => match name_vg.clone() {
            Some(v) => (v, None),
            None => match select::default_vg().map_err(usage)? {
                Some(v) => (v, None),
                None => return Err(usage("Please provide a volume group name")),
            },
        },
    };
    if let Some(nv) = &name_vg {
        if *nv != vg_name {
            return Err(usage(format!(
                "Please use a single volume group name (\"{nv}\" or \"{vg_name}\")."
            )));
        }
    }
    names::validate_vg_name(&vg_name).map_err(|e| usage(e.to_string()))?;
    let skip = yes_no(&a.setactivationskip, false, "--setactivationskip")?;
    let autoactivation = yes_no(&a.setautoactivation, true, "--setautoactivation")?;
    // An LV created with activation skip is left inactive unless -K.
    let activate_new =
        yes_no(&a.activate, true, "--activate")? && (!skip || a.ignoreactivationskip);
    let mut zero = yes_no(&a.zero, activate_new, "--zero")?;
    // -W: as given, else with -Zy when lvm.conf says so (LVM2's
    // allocation/wipe_signatures_when_zeroing_new_lvs, default 1).
    let wipe_given = match &a.wipesignatures {
        Some(_) => Some(yes_no(&a.wipesignatures, false, "--wipesignatures")?),
        None => None,
    };
    let mut wipe = wipe_given.unwrap_or_else(|| {
        zero && ctx
            .conf
            .get_int("allocation/wipe_signatures_when_zeroing_new_lvs", 1)
            != 0
    });
    if let Some(t) = virtual_type {
        // LVM2 ignores an explicit -Zy/-Wy for unzeroable types.
        let asked = match &a.zero {
            Some(_) => zero,
            None => wipe_given.unwrap_or(false),
        };
        if asked {
            ctx.print(format!(
                "Ignoring option -Zy or -Wy for unzeroable {t} volume."
            ));
        }
        zero = false;
        wipe = false;
    }
    // LVM2 refuses -Z for snapshots (the COW header is always written),
    // and zeroing an LV it does not activate (it would create the LV
    // unzeroed); LVM2 exits 0 for the latter, rlvm 5: nothing was made.
    if snapshot && a.zero.is_some() {
        return Err(usage("Option --zero is unsupported with snapshots."));
    }
    if (zero || (wipe_given == Some(true) && !snapshot)) && !activate_new {
        return Err(CmdError::Failed(
            "Cannot zero inactive logical volume with option -Zy or -Wy.".into(),
        ));
    }
    let writable = match a.permission.as_deref() {
        None | Some("rw") => true,
        Some("r") => false,
        Some(p) => {
            return Err(CmdError::BadArg(format!(
                "Invalid argument for --permission: {p}"
            )))
        }
    };
    if let Some(n) = &lv_name {
        names::validate_lv_name(n).map_err(|e| usage(e.to_string()))?;
        names::validate_full_name(&vg_name, n).map_err(|e| usage(e.to_string()))?;
    }
    let stripes = if virtual_type.is_some() {
        1
    } else {
        a.stripes.unwrap_or(1)
    };
    if stripes == 0 {
        return Err(usage("Number of stripes must be at least 1."));
    }
    // -I as LVM2 takes it: a size that is not negative, checked while
    // parsing; the linear form (no -i) does not accept it; one stripe
    // ignores it.
    if let Some(s) = &a.stripesize {
        let st = units::parse_signed_size(s, 'k').map_err(bad_arg("--stripesize", s))?;
        if st.sign == units::Sign::Minus {
            return Err(bad_arg("--stripesize", s)(units::UnitsError::Negative));
        }
        if a.stripes.is_none() {
            return Err(usage(format!(
                "Command does not accept option: --stripesize {s}."
            )));
        }
        if stripes == 1 {
            ctx.error("Ignoring stripesize argument with single stripe.");
        }
    }
    let chunk = match &a.chunksize {
        Some(c) => units::parse_chunk_size(c).map_err(bad_arg("--chunksize", c))?,
        None => 8,
    };
    // A bad --minor is a command-line error for lvcreate (LVM2 checks it
    // while reading the parameters: exit 3).
    let pers = persistent_args(&ctx, &a.persistent, a.major, a.minor).map_err(|e| match e {
        CmdError::Failed(m) => usage(m),
        e => e,
    })?;
    let fixed = match pers {
        Persistent::Fixed(j, m) => Some((j, m)),
        _ => None,
    };

    let (mut handle, _guard) = ctx.load_vg_for_update(&vg_name)?;
    let name = lv_name
        .clone()
        .unwrap_or_else(|| default_lv_name(&handle.vg));
    crate::metadata::phase::mark("vg-loaded");
    if handle.vg.lv(&name).is_some() {
        return Err(CmdError::Failed(format!(
            "Logical Volume \"{name}\" already exists in volume group \"{vg_name}\""
        )));
    }
    if handle.vg.max_lv > 0 {
        let visible = handle.vg.visible_count() as u64;
        if visible >= handle.vg.max_lv {
            return Err(CmdError::Failed(format!(
                "Maximum number of logical volumes ({}) reached in volume group {vg_name}",
                handle.vg.max_lv
            )));
        }
    }
    let origin_extents = match &origin_name {
        Some(o) => Some(snapshot::check_snapshot_origin(&handle.vg, o).map_err(failed)?),
        None => None,
    };
    let (pvs, masked) = super::pvranges::pv_args(&handle, &a.pvs)?;
    // With PE ranges, the allocator (and %PVS) sees the extents outside them as taken.
    let alloc_vg = masked.as_ref().unwrap_or(&handle.vg);
    let extent_size = handle.vg.extent_size;
    let mut extents = match (size_arg, extents_arg) {
        (Some(sectors), _) => {
            if sectors == 0 {
                return Err(usage("Size must be larger than 0."));
            }
            let (ext, rounded) = units::extents_for_size(sectors, extent_size).map_err(failed)?;
            if rounded {
                ctx.print(units::rounding_notice(ext, extent_size));
            }
            ext
        }
        (None, Some(spec)) => {
            if let ExtentSpec::Percent {
                of: units::PercentOf::Origin,
                ..
            } = spec
            {
                if origin_extents.is_none() {
                    return Err(usage("Can't use %ORIGIN without --snapshot."));
                }
            }
            let r = units::resolve_extents_detailed(
                &spec,
                if matches!(
                    spec,
                    ExtentSpec::Percent {
                        of: units::PercentOf::Pvs,
                        ..
                    }
                ) {
                    alloc_vg
                } else {
                    &handle.vg
                },
                origin_extents,
                pvs.as_deref(),
            )
            .map_err(failed)?;
            if let Some(n) = r.notice {
                ctx.print(n);
            }
            r.extents
        }
        (None, None) => 0,
    };
    if extents == 0 {
        return Err(CmdError::Failed(
            "Logical volume size must be larger than 0.".into(),
        ));
    }
    if stripes > 1 && a.stripesize.is_none() {
        ctx.print(format!(
            "Using default stripesize {}.",
            units::display_size(units::DEFAULT_STRIPE_SIZE)
        ));
    }
    let up = alloc::round_up_to_stripes(extents, stripes);
    // A percentage that cannot take the rounded-up size rounds down
    // (`-l100%FREE -i3`), as LVM2 does.
    let free = match &pvs {
        Some(keys) => handle
            .vg
            .pvs
            .iter()
            .filter(|p| keys.contains(&p.key))
            .map(|p| p.pe_count.saturating_sub(handle.vg.pe_used_on(&p.key)))
            .sum(),
        None => handle.vg.pe_free(),
    };
    let percent = matches!(extents_arg, Some(ExtentSpec::Percent { .. }));
    if up != extents && percent && up > free && extents >= stripes as u64 {
        let down = up - stripes as u64;
        ctx.print(format!(
            "Rounding size ({extents} extents) down to stripe boundary size ({down} extents)"
        ));
        extents = down;
    } else if up != extents {
        ctx.print(alloc::stripe_rounding_notice(extents, up, extent_size));
        extents = up;
    }
    if let Some(oe) = origin_extents {
        let max = snapshot::cow_max_extents(oe, extent_size, chunk);
        if extents > max {
            ctx.print(format!(
                "Reducing COW size {} down to maximum usable size {}.",
                units::display_size(extents * extent_size),
                units::display_size(max * extent_size)
            ));
            extents = max;
        }
        // A COW smaller than two chunks cannot hold the header and one
        // exception (LVM2's `cow_has_min_chunks`, checked before anything
        // is written or suspended).
        snapshot_min_chunks(extents, extent_size, chunk).map_err(CmdError::Failed)?;
    }
    let stripe_size = match &a.stripesize {
        Some(s) if stripes > 1 => {
            let st =
                units::parse_stripe_size(s, extent_size).map_err(bad_arg("--stripesize", s))?;
            if let Some(n) = st.notice {
                ctx.print(n);
            }
            Some(st.sectors)
        }
        Some(_) => None,
        None if stripes > 1 => Some(units::DEFAULT_STRIPE_SIZE),
        None => None,
    };
    let req = AllocRequest {
        extents,
        stripes,
        stripe_size,
        pvs,
        contiguous: false,
    };
    let segments = match virtual_type {
        Some(t) => vec![Segment::new_virtual(t, 0, extents)],
        None => alloc::allocate(alloc_vg, &req).map_err(|e| failed(e.for_lv(&name)))?,
    };
    let before = handle.vg.clone();
    match &origin_name {
        None => {
            let mut lv = new_lv(&name, writable, true, segments, &addtag);
            lv.read_ahead = read_ahead;
            if let Some((j, m)) = fixed {
                set_fixed_minor(&ctx, &mut lv, j, m);
            }
            if skip {
                lv.flags.set("ACTIVATION_SKIP");
            }
            if !autoactivation {
                lv.flags.set("NOAUTOACTIVATE");
            }
            handle.vg.lvs.push(lv);
        }
        Some(origin) => {
            if !activate_new {
                return Err(CmdError::Failed(
                    "Snapshots must be active: -an is not supported for snapshots.".into(),
                ));
            }
            let mut cow = new_lv(&name, writable, false, segments, &addtag);
            if let Some((j, m)) = fixed {
                set_fixed_minor(&ctx, &mut cow, j, m);
            }
            handle.vg.lvs.push(cow);
            snapshot::add_snapshot(&mut handle.vg, origin, &name, chunk).map_err(failed)?;
        }
    }
    if activate_new {
        // An LV activation/read_only_volume_list names is activated
        // read-only by LVM2: it is neither zeroed nor wiped.
        let read_only_listed = ctx
            .conf
            .get_str_list("activation/read_only_volume_list")
            .is_some_and(|list| {
                let filter = crate::ops::activate::Filter {
                    volume_list: Some(list),
                    auto_list: None,
                    ignore_activation_skip: true,
                };
                crate::ops::activate::may_activate(&filter, &handle.vg, &name, false)
            });
        if read_only_listed && (zero || wipe) && origin_name.is_none() {
            ctx.warn(format!(
                "Read-only activated logical volume {vg_name}/{name} not zeroed."
            ));
            zero = false;
            wipe = false;
        } else if !zero && origin_name.is_none() && virtual_type.is_none() {
            ctx.warn(format!("Logical volume {vg_name}/{name} not zeroed."));
        }
        crate::metadata::phase::mark("checks");
        let mut dm = ctx.require_dm()?;
        if wipe && origin_name.is_none() && !ctx.common.test {
            let dev = format!("{}/{vg_name}/{name}", ctx.conf.dev_dir().display());
            for sig in crate::ops::lv::wipe_signatures(&ctx, &handle, &name)? {
                ctx.print(format!("Wiping {sig} signature on {dev}."));
            }
        }
        crate::metadata::phase::mark("dm-open-signatures");
        // The scan listed the kernel's devices under the VG's lock, and
        // nothing since changed the kernel: that listing is the one the
        // kernel step would make (1000 active LVs: ~10 ms).
        let listed = ctx.take_scan_listing();
        crate::ops::lv::create(&mut dm, &ctx, &mut handle, &before, &name, zero, listed)?;
        let family = match &origin_name {
            Some(o) => activate::family(&handle, o),
            None => vec![name.clone()],
        };
        activate::read_ahead(&ctx, &dm, &handle, &family);
        crate::metadata::phase::mark("read-ahead");
    } else {
        // Without activation nothing is zeroed, whatever -Z says.
        if virtual_type.is_none() {
            ctx.warn(format!("Logical volume {vg_name}/{name} not zeroed."));
        }
        ctx.commit(&mut handle, &store::command_line())?;
    }
    ctx.print(format!("Logical volume \"{name}\" created."));
    crate::metadata::phase::mark("printed");
    Ok(())
}

#[derive(Parser, Debug)]
#[command(about = "Remove logical volume(s) from the system")]
pub(crate) struct LvremoveArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Remove without asking; remove active LVs.
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    force: u8,
    /// Remove the LVs the selection selects (of those named, or all).
    #[arg(short = 'S', long = "select", value_name = "String")]
    select: Option<String>,
    /// LVs (vg/lv) or a whole VG.
    #[arg(required_unless_present = "select", value_name = "VG|LV")]
    lvs: Vec<String>,
}

pub fn lvremove(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvremoveArgs = parse("lvremove", args)?;
    let ctx = Ctx::new(&a.common)?;
    let default_vg = select::default_vg().map_err(CmdError::Failed)?;
    let sel = select::parse(&a.lvs, default_vg.as_deref());
    let selection = match &a.select {
        Some(t) => Some(selecting::parse(t, crate::report::ReportType::Lvs)?),
        None => None,
    };
    let mut result = Ok(());
    for e in &sel.errors {
        ctx.error(e);
        result = Err(CmdError::Failed(String::new()));
    }
    let vgs = if sel.all_vgs() {
        ctx.unnamed_vgs(&ctx.scan()?, store::Access::default())
    } else {
        sel.vgs.clone()
    };
    for vg_name in vgs {
        let (mut handle, _g) = match ctx.load_vg_handling_missing(&vg_name) {
            Ok(x) => x,
            Err(e) => {
                if let CmdError::Failed(m) = &e {
                    ctx.error(m);
                }
                result = Err(CmdError::Failed(String::new()));
                continue;
            }
        };
        // In the VG's order, each LV once (LVM2's process_each_lv_in_vg).
        let mut picked = sel.pick(&handle.vg, false, false);
        if let Some(s) = &selection {
            picked.lvs = selecting::lvs_selected(&ctx, &handle, picked.lvs, s);
        }
        for name in picked.lvs {
            // Gone with its origin, removed earlier in this run.
            if handle.vg.lv(&name).is_none() {
                continue;
            }
            if let Err(e) = remove_lv(&ctx, &mut handle, &name, a.force > 0) {
                if let CmdError::Failed(m) = &e {
                    ctx.error(m);
                }
                result = Err(CmdError::Failed(String::new()));
            }
        }
        for m in picked.missing {
            ctx.error(format!("Failed to find logical volume \"{vg_name}/{m}\""));
            result = Err(CmdError::Failed(String::new()));
        }
    }
    result
}

pub(crate) fn remove_lv(
    ctx: &Ctx,
    handle: &mut store::VgHandle,
    name: &str,
    force: bool,
) -> Result<(), CmdError> {
    let vg_name = handle.vg.name.clone();
    let Some(lv) = handle.vg.lv(name) else {
        // Already removed together with its origin.
        return Err(CmdError::Failed(format!(
            "Failed to find logical volume \"{vg_name}/{name}\""
        )));
    };
    if handle.vg.role(lv) == crate::metadata::model::LvRole::SnapshotLink {
        // No LV to LVM2 (the COW carries the snapshot).
        return Err(CmdError::Failed(format!(
            "Failed to find logical volume \"{vg_name}/{name}\""
        )));
    }
    crate::ops::merge::check_removable(ctx.dm().as_ref(), &handle.vg, name).map_err(failed)?;
    let snapshots: Vec<String> = handle
        .vg
        .snapshots_of(name)
        .iter()
        .map(|s| s.cow.name.clone())
        .collect();
    if !snapshots.is_empty() && !force {
        let q = format!(
            "Removing origin {name} will also remove {} snapshots(s). Proceed? [y/n]: ",
            snapshots.len()
        );
        if !confirm(ctx, &q) {
            return Err(CmdError::Failed(format!(
                "Logical volume {name} not removed."
            )));
        }
    }
    let before = handle.vg.clone();
    let mut removed: Vec<String> = snapshots.clone();
    removed.push(name.to_string());
    // Drop the COWs, their snapshot links and the LV itself.
    let links: Vec<String> = handle
        .vg
        .snapshots()
        .iter()
        .filter(|s| removed.contains(&s.cow.name) || s.origin.name == name)
        .map(|s| s.link.name.clone())
        .collect();
    handle
        .vg
        .lvs
        .retain(|l| !removed.contains(&l.name) && !links.contains(&l.name));
    crate::ops::lv::remove(ctx.dm().as_mut(), ctx, handle, &before, &removed)?;
    for r in snapshots.iter().chain(std::iter::once(&name.to_string())) {
        ctx.print(format!("Logical volume \"{r}\" successfully removed."));
    }
    Ok(())
}

#[derive(Parser, Debug)]
#[command(about = "Rename a logical volume")]
pub(crate) struct LvrenameArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// VG OLD NEW, VG/OLD VG/NEW or VG/OLD NEW.
    #[arg(required = true, num_args = 2..=3, value_name = "ARG")]
    args: Vec<String>,
}

pub fn lvrename(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvrenameArgs = parse("lvrename", args)?;
    let ctx = Ctx::new(&a.common)?;
    let (vg_name, old, new) = match a.args.as_slice() {
        [vg, old, new] => {
            let vg = vg_arg(vg);
            // LVM2: an old name with a VG must name the same VG, and the
            // VG must be a valid name (both command-line errors).
            let old = match old.rsplit_once('/') {
                Some((ovg, o)) => {
                    let ovg = vg_arg(ovg);
                    if ovg != vg {
                        return Err(usage(format!(
                            "Please use a single volume group name (\"{vg}\" or \"{ovg}\")."
                        )));
                    }
                    o.to_string()
                }
                None => old.clone(),
            };
            if names::validate_vg_name(&vg).is_err() {
                return Err(usage("Please provide a valid volume group name"));
            }
            let new = match new.rsplit_once('/') {
                Some((nvg, n)) => {
                    let nvg = vg_arg(nvg);
                    if nvg != vg {
                        return Err(usage(format!(
                            "Logical volume names must have the same volume group (\"{vg}\" or \"{nvg}\")."
                        )));
                    }
                    n.to_string()
                }
                None => new.clone(),
            };
            (vg, old, new)
        }
        [old, new] => {
            let (vg, o) = super::common::lv_arg_cmdline(old)?;
            let n = if new.contains('/') {
                let (nvg, n) = super::common::lv_arg_cmdline(new)?;
                if nvg != vg {
                    return Err(usage(format!(
                        "Logical volume names must have the same volume group (\"{vg}\" or \"{nvg}\")."
                    )));
                }
                n
            } else {
                new.clone()
            };
            (vg, o, n)
        }
        _ => return Err(usage("Old and new logical volume names required")),
    };
    names::validate_lv_name(&new).map_err(|e| usage(e.to_string()))?;
    names::validate_full_name(&vg_name, &new).map_err(|e| usage(e.to_string()))?;
    if old == new {
        return Err(usage("Old and new logical volume names must differ"));
    }
    let (mut handle, _g) = ctx.load_vg_for_update(&vg_name)?;
    let Some(lv) = handle.vg.lv(&old) else {
        return Err(CmdError::Failed(format!(
            "Existing logical volume \"{old}\" not found in volume group \"{vg_name}\""
        )));
    };
    if handle.vg.role(lv) == crate::metadata::model::LvRole::SnapshotLink {
        return Err(CmdError::Failed(format!(
            "Cannot rename internal LV \"{old}\"."
        )));
    }
    if handle.vg.lv(&new).is_some() {
        return Err(CmdError::Failed(format!(
            "Logical volume \"{new}\" already exists in volume group \"{vg_name}\""
        )));
    }
    let before = handle.vg.clone();
    snapshot::rename_lv(&mut handle.vg, &old, &new);
    crate::ops::lv::rename(ctx.dm().as_mut(), &ctx, &mut handle, &before, &old, &new)?;
    ctx.print(format!(
        "Renamed \"{old}\" to \"{new}\" in volume group \"{vg_name}\""
    ));
    Ok(())
}

#[derive(Parser, Debug)]
#[command(about = "Change the attributes of logical volume(s)")]
pub(crate) struct LvchangeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Activate (y, ey, ly, ay) or deactivate (n).
    #[arg(short = 'a', long = "activate", value_name = "y|n|ay|ey|ly")]
    pub activate: Option<String>,
    /// Permission: r or rw.
    #[arg(short = 'p', long = "permission", value_name = "rw|r")]
    pub permission: Option<String>,
    /// Add a tag (a leading @ is accepted).
    #[arg(long = "addtag", value_name = "Tag")]
    pub addtag: Vec<String>,
    /// Remove a tag.
    #[arg(long = "deltag", value_name = "Tag")]
    pub deltag: Vec<String>,
    /// Reload the LV's tables from metadata.
    #[arg(long = "refresh")]
    pub refresh: bool,
    /// Monitoring by dmeventd: rlvm runs no event daemon (its LV types
    /// need none), so y and n are accepted and change nothing.
    #[arg(long = "monitor", value_name = "y|n")]
    pub monitor: Option<String>,
    #[arg(long = "poll", value_name = "y|n")]
    pub poll: Option<String>,
    #[arg(long = "ignoremonitoring")]
    pub ignoremonitoring: bool,
    #[arg(long = "sysinit")]
    pub sysinit: bool,
    /// Persistent device number: y (needs --minor) or n.
    #[arg(short = 'M', long = "persistent", value_name = "y|n")]
    pub persistent: Option<String>,
    /// Minor number of the LV's device (persistent).
    #[arg(long = "minor", value_name = "Number")]
    pub minor: Option<i64>,
    /// Major number: ignored, the kernel assigns device-mapper's (a warning says so, as with LVM2).
    #[arg(short = 'j', long = "major", value_name = "Number")]
    pub major: Option<i64>,
    /// Set (y) or clear (n) the activation skip flag: such an LV is not
    /// activated unless -K is given.
    #[arg(short = 'k', long = "setactivationskip", value_name = "y|n")]
    pub setactivationskip: Option<String>,
    /// Activate LVs even if they have the activation skip flag.
    #[arg(short = 'K', long = "ignoreactivationskip")]
    pub ignoreactivationskip: bool,
    /// Allow (y) or forbid (n) autoactivation (-aay) of the LV.
    #[arg(long = "setautoactivation", value_name = "y|n")]
    pub setautoactivation: Option<String>,
    /// Read-ahead: auto, none, or a number of sectors.
    #[arg(short = 'r', long = "readahead", value_name = "auto|none|Sectors")]
    pub readahead: Option<String>,
    /// complete, degraded or partial: partial activates LVs with missing
    /// parts, which read as errors.
    #[arg(long = "activationmode", value_name = "complete|degraded|partial")]
    pub activationmode: Option<String>,
    /// The same as --activationmode partial.
    #[arg(short = 'P', long = "partial")]
    pub partial: bool,
    /// Change the LVs the selection selects (of those named, or all).
    #[arg(short = 'S', long = "select", value_name = "String")]
    pub select: Option<String>,
    #[arg(required_unless_present = "select", value_name = "VG|LV")]
    pub lvs: Vec<String>,
}

pub fn lvchange(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvchangeArgs = parse("lvchange", args)?;
    let ctx = Ctx::new(&a.common)?;
    let addtag = tag_args("--addtag", &a.addtag)?;
    let deltag = tag_args("--deltag", &a.deltag)?;
    let perm = match a.permission.as_deref() {
        None => None,
        Some("rw") => Some(true),
        Some("r") => Some(false),
        Some(p) => {
            return Err(CmdError::BadArg(format!(
                "Invalid argument for --permission: {p}"
            )))
        }
    };
    if a.persistent.is_none() && (a.minor.is_some() || a.major.is_some()) {
        return Err(usage("Options --major and --minor need -M|--persistent."));
    }
    let pers = persistent_args(&ctx, &a.persistent, a.major, a.minor)?;
    if a.activate.is_none()
        && perm.is_none()
        && a.addtag.is_empty()
        && a.deltag.is_empty()
        && !a.refresh
        && a.poll.is_none()
        && pers == Persistent::Unchanged
        && a.setactivationskip.is_none()
        && a.setautoactivation.is_none()
        && a.readahead.is_none()
        && a.monitor.is_none()
    {
        return Err(usage(
            "One of -a, -p, -M, --addtag, --deltag, --refresh or --poll is required.",
        ));
    }
    if a.monitor.is_some() {
        yes_no(&a.monitor, false, "--monitor")?;
    }
    let selection = match &a.select {
        Some(t) => Some(selecting::parse(t, crate::report::ReportType::Lvs)?),
        None => None,
    };
    let poll = activate::poll_wanted(a.poll.as_deref(), a.sysinit)?;
    let partial = match a.activate.as_deref() {
        Some(m) if m.ends_with('y') => {
            activate::partial_mode(&ctx, a.partial, a.activationmode.as_deref())?
        }
        _ => false,
    };
    let skip = match &a.setactivationskip {
        Some(_) => Some(yes_no(&a.setactivationskip, false, "--setactivationskip")?),
        None => None,
    };
    let readahead = match &a.readahead {
        Some(v) => Some(read_ahead_arg(&ctx, v)?),
        None => None,
    };
    let autoact = match &a.setautoactivation {
        Some(_) => Some(yes_no(&a.setautoactivation, true, "--setautoactivation")?),
        None => None,
    };
    ctx.ignore_activation_skip.set(a.ignoreactivationskip);
    let mut result = Ok(());
    // LVM2's selection: paths, whole VGs, @tags, $LVM_VG_NAME; a COW is
    // left out of a whole-VG activation change (its origin brings it).
    let default_vg = select::default_vg().map_err(CmdError::Failed)?;
    let sel = select::parse(&a.lvs, default_vg.as_deref());
    for e in &sel.errors {
        ctx.error(e);
        result = Err(CmdError::Failed(String::new()));
    }
    let mut targets: Vec<(String, String)> = Vec::new();
    let scan = ctx.scan()?;
    let vgs = if sel.all_vgs() {
        ctx.unnamed_vgs(&scan, store::Access::default())
    } else {
        sel.vgs.clone()
    };
    let deactivating = a.activate.as_deref().is_some_and(|m| m.ends_with('n'));
    for vg_name in vgs {
        match crate::cmd::vgselect::vg_to_activate(&ctx, &scan, &vg_name, !deactivating) {
            Ok(h) => {
                let mut picked = sel.pick(&h.vg, false, a.activate.is_some());
                if let Some(s) = &selection {
                    picked.lvs = selecting::lvs_selected(&ctx, &h, picked.lvs, s);
                }
                targets.extend(picked.lvs.into_iter().map(|l| (vg_name.clone(), l)));
                for m in picked.missing {
                    ctx.error(format!("Failed to find logical volume \"{vg_name}/{m}\""));
                    result = Err(CmdError::Failed(String::new()));
                }
            }
            Err(e) => {
                ctx.error(e);
                result = Err(CmdError::Failed(String::new()));
            }
        }
    }
    drop(scan);
    for (vg_name, lv_name) in targets {
        let one = (|| -> Result<(), CmdError> {
            let (vg_name, lv_name) = (vg_name.clone(), lv_name.clone());
            if pers != Persistent::Unchanged {
                change_persistent(&ctx, &vg_name, &lv_name, pers)?;
            }
            if !addtag.is_empty()
                || !deltag.is_empty()
                || perm.is_some()
                || skip.is_some()
                || autoact.is_some()
                || readahead.is_some()
            {
                let (mut h, _g) = ctx.load_vg_handling_missing(&vg_name)?;
                let before = h.vg.clone();
                // A snapshot link ("snapshot0") is no LV to LVM2.
                let link = h
                    .vg
                    .lv(&lv_name)
                    .is_some_and(|l| h.vg.role(l) == crate::metadata::model::LvRole::SnapshotLink);
                let Some(lv) = h.vg.lv_mut(&lv_name).filter(|_| !link) else {
                    return Err(CmdError::Failed(format!(
                        "Failed to find logical volume \"{vg_name}/{lv_name}\""
                    )));
                };
                apply_tags(&mut lv.tags, &addtag, &deltag);
                match skip {
                    Some(true) => lv.flags.set("ACTIVATION_SKIP"),
                    Some(false) => lv.flags.clear("ACTIVATION_SKIP"),
                    None => {}
                }
                match autoact {
                    Some(false) => lv.flags.set("NOAUTOACTIVATE"),
                    Some(true) => lv.flags.clear("NOAUTOACTIVATE"),
                    None => {}
                }
                let mut perm_changed = false;
                if let Some(ra) = readahead {
                    if lv.read_ahead == ra {
                        return Err(CmdError::Failed(match ra {
                            None => format!("Read ahead is already auto for {vg_name}/{lv_name}."),
                            Some(n) => {
                                format!("Read ahead is already {n} for {vg_name}/{lv_name}.")
                            }
                        }));
                    }
                    lv.read_ahead = ra;
                    // A reload sets it in the kernel (LVM2's MR_RELOAD).
                    perm_changed = true;
                }
                if let Some(w) = perm {
                    if lv.writable() == w {
                        // LVM2's two messages (`lvchange_permission`).
                        return Err(CmdError::Failed(if w {
                            format!("Logical volume {vg_name}/{lv_name} is already writable.")
                        } else {
                            format!("Logical volume \"{vg_name}/{lv_name}\" is already read only.")
                        }));
                    }
                    if w {
                        lv.status.set("WRITE");
                    } else {
                        lv.status.clear("WRITE");
                    }
                    perm_changed = true;
                }
                if perm_changed {
                    crate::ops::lv::change_permission(
                        ctx.dm().as_mut(),
                        &ctx,
                        &mut h,
                        &before,
                        &lv_name,
                    )?;
                    if readahead.is_some() {
                        if let Some(dm) = ctx.dm() {
                            activate::read_ahead(&ctx, &dm, &h, &activate::family(&h, &lv_name));
                        }
                    }
                    ctx.print(format!("Logical volume {vg_name}/{lv_name} changed."));
                } else {
                    ctx.commit(&mut h, &store::command_line())?;
                    ctx.print(format!("Logical volume {vg_name}/{lv_name} changed."));
                }
            }
            if let Some(mode) = &a.activate {
                activate::lvchange_activate_mode(&ctx, &vg_name, &lv_name, mode, poll, partial)?;
            }
            if a.refresh {
                activate::lvchange_refresh(&ctx, &vg_name, &lv_name, poll)?;
            }
            if a.activate.is_none() && !a.refresh && a.poll.as_deref() == Some("y") {
                activate::lvchange_poll(&ctx, &vg_name, &lv_name)?;
            }
            Ok(())
        })();
        if let Err(e) = one {
            match &e {
                CmdError::Usage(_)
                | CmdError::BadArg(_)
                | CmdError::Clap(_)
                | CmdError::InitFailed(_) => return Err(e),
                CmdError::Failed(m) => ctx.error(m),
            }
            result = Err(CmdError::Failed(String::new()));
        }
    }
    result
}

/// lvchange -M: LVM2's `_lvchange_persistent`. -Mn only changes the
/// metadata; -My on an active LV deactivates it (after asking, unless
/// -y), commits, and activates it again on the new number.
fn change_persistent(
    ctx: &Ctx,
    vg_name: &str,
    lv_name: &str,
    p: Persistent,
) -> Result<(), CmdError> {
    let not_found = || {
        CmdError::Failed(format!(
            "Failed to find logical volume \"{vg_name}/{lv_name}\""
        ))
    };
    match p {
        Persistent::Unchanged => return Ok(()),
        Persistent::Off => {
            let (mut h, _g) = ctx.load_vg_for_update(vg_name)?;
            let lv = h.vg.lv_mut(lv_name).ok_or_else(not_found)?;
            if !lv.status.has("FIXED_MINOR") {
                return Err(CmdError::Failed(format!(
                    "Minor number is already not persistent for {vg_name}/{lv_name}."
                )));
            }
            lv.status.clear("FIXED_MINOR");
            lv.major = None;
            lv.minor = None;
            ctx.verbose(
                1,
                format!("Disabling persistent device number for {vg_name}/{lv_name}."),
            );
            ctx.commit(&mut h, &store::command_line())?;
        }
        Persistent::Fixed(j, m) => {
            let active = {
                let h = ctx.scan()?.vg(vg_name).map_err(failed)?;
                if h.vg.lv(lv_name).is_none() {
                    return Err(not_found());
                }
                super::records::kernel_states(ctx, &h)
                    .get(lv_name)
                    .is_some_and(|f| f.device.is_some())
            };
            if active {
                if !confirm(
                    ctx,
                    &format!(
                        "Logical volume {vg_name}/{lv_name} will be deactivated temporarily. Continue? [y/n]: "
                    ),
                ) {
                    return Err(CmdError::Failed(format!(
                        "{vg_name}/{lv_name} device number not changed."
                    )));
                }
                ctx.verbose(
                    1,
                    format!("Deactivating logical volume {vg_name}/{lv_name}."),
                );
                activate::lvchange_activate(ctx, vg_name, lv_name, "n", false)?;
            }
            {
                let (mut h, _g) = ctx.load_vg_for_update(vg_name)?;
                let lv = h.vg.lv_mut(lv_name).ok_or_else(not_found)?;
                set_fixed_minor(ctx, lv, j, m);
                ctx.commit(&mut h, &store::command_line())?;
            }
            if active {
                ctx.verbose(
                    1,
                    format!("Reactivating logical volume {vg_name}/{lv_name}."),
                );
                activate::lvchange_activate(ctx, vg_name, lv_name, "y", true)?;
            }
        }
    }
    ctx.print(format!("Logical volume {vg_name}/{lv_name} changed."));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::snapshot_min_chunks;

    /// `lvcreate -s -c 8k -l 2` in a VG of 4 KiB extents: 8 KiB cannot
    /// hold two 8 KiB chunks; 4 extents can.
    #[test]
    fn cow_needs_two_chunks() {
        assert_eq!(
            snapshot_min_chunks(2, 8, 16),
            Err("Snapshot volume cannot be smaller than 2 chunks (4 extents, 16.00 KiB).".into())
        );
        assert_eq!(snapshot_min_chunks(4, 8, 16), Ok(()));
        assert_eq!(snapshot_min_chunks(3, 8, 8), Ok(()));
        assert!(snapshot_min_chunks(1, 8, 8).is_err());
    }

    /// `-An` turns archive and backup off for the command, `-Ay` on,
    /// whatever lvm.conf says; a bad value is a command-line error.
    #[test]
    fn autobackup_overrides_both_settings() {
        use crate::system::lvmconf::LvmConf;
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("lvm.conf"),
            "backup {\n archive = 1\n backup = 0\n}\n",
        )
        .unwrap();
        let conf = |arg: Option<&str>| {
            let c = super::with_autobackup(&Default::default(), arg).unwrap();
            LvmConf::load_from(d.path(), std::path::Path::new("/dev"), &c.config).unwrap()
        };
        let n = conf(Some("n"));
        assert!(!n.archive_enabled() && !n.backup_enabled());
        let y = conf(Some("y"));
        assert!(y.archive_enabled() && y.backup_enabled());
        let none = conf(None);
        assert!(none.archive_enabled() && !none.backup_enabled());
        assert!(super::with_autobackup(&Default::default(), Some("x")).is_err());
    }
}
