//! lvextend, lvreduce, lvresize: linear, striped and snapshot (COW) LVs,
//! and origins (grown only, as LVM2). Sizes as LVM2 reads them (`-L` with
//! a sign, `-l` with %VG/%FREE/%PVS/%LV/%ORIGIN), stripe rounding and
//! messages as LVM 2.03.16 prints them; `-r` runs fsadm as LVM2 does;
//! `--use-policies` extends a snapshot past its autoextend threshold. The
//! arithmetic and the kernel reload are `ops::resize`.

use std::ffi::OsString;

use clap::{Args, Parser};

use crate::metadata::alloc::{self, AllocRequest};
use crate::metadata::model::{LvRole, Segment, VIRTUAL_SEGTYPES};
use crate::metadata::snapshot;
use crate::metadata::units::{self, ExtentSpec, PercentOf, Sign};
use crate::ops::resize as rz;

use super::common::{bad_arg, failed, lv_arg, parse, usage, CmdError, CommonArgs, Ctx};
use super::confirm;

#[derive(Args, Debug)]
pub(crate) struct ResizeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// New size, or size to add (+) or take off (-).
    #[arg(
        short = 'L',
        long = "size",
        value_name = "[+|-]Size[m|UNIT]",
        allow_hyphen_values = true
    )]
    size: Option<String>,
    /// New size in extents, or extents to add/take off; a percentage of
    /// VG, FREE, PVS, LV or ORIGIN.
    #[arg(
        short = 'l',
        long = "extents",
        value_name = "[+|-]Number[PERCENT]",
        allow_hyphen_values = true
    )]
    extents: Option<String>,
    /// Stripes of the new space (default: those of the last segment).
    #[arg(short = 'i', long = "stripes")]
    stripes: Option<u32>,
    /// Stripe size of the new space.
    #[arg(short = 'I', long = "stripesize", value_name = "Size[k|UNIT]")]
    stripesize: Option<String>,
    /// Resize the filesystem on the LV too (with fsadm).
    #[arg(short = 'r', long = "resizefs")]
    resizefs: bool,
    /// Do not check the filesystem before resizing it (-r).
    #[arg(short = 'n', long = "nofsck")]
    nofsck: bool,
    /// Do not ask before reducing an active LV.
    #[arg(short = 'f', long = "force", action = clap::ArgAction::Count)]
    force: u8,
    /// Extend a snapshot by activation/snapshot_autoextend_percent when its
    /// usage passes activation/snapshot_autoextend_threshold.
    #[arg(long = "use-policies", alias = "usepolicies")]
    use_policies: bool,
    /// Archive and back up the metadata (y, lvm.conf's default) or not (n).
    #[arg(short = 'A', long = "autobackup", value_name = "y|n")]
    autobackup: Option<String>,
    /// Allocation policy of the new space (contiguous is honoured).
    #[arg(long = "alloc", value_name = "Policy")]
    alloc: Option<String>,
    /// Segment type of the new space: linear or striped.
    #[arg(long = "type")]
    segtype: Option<String>,
    /// The LV (vg/lv).
    #[arg(value_name = "LV")]
    lv: String,
    /// PVs to allocate from.
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

#[derive(Parser, Debug)]
#[command(about = "Add space to a logical volume")]
pub(crate) struct LvextendArgs {
    #[command(flatten)]
    a: ResizeArgs,
}

#[derive(Parser, Debug)]
#[command(about = "Reduce the size of a logical volume")]
pub(crate) struct LvreduceArgs {
    #[command(flatten)]
    a: ResizeArgs,
}

#[derive(Parser, Debug)]
#[command(about = "Resize a logical volume")]
pub(crate) struct LvresizeArgs {
    #[command(flatten)]
    a: ResizeArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Extend,
    Reduce,
    Any,
}

pub fn lvextend(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvextendArgs = parse("lvextend", args)?;
    run("lvextend", Kind::Extend, a.a)
}

pub fn lvreduce(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvreduceArgs = parse("lvreduce", args)?;
    run("lvreduce", Kind::Reduce, a.a)
}

pub fn lvresize(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: LvresizeArgs = parse("lvresize", args)?;
    run("lvresize", Kind::Any, a.a)
}

/// What the size options ask for, read while parsing the command line.
enum Request {
    Size(Sign, u64),
    Extents(Sign, ExtentSpec),
    Policy,
}

fn parse_request(name: &str, kind: Kind, a: &ResizeArgs) -> Result<Request, CmdError> {
    if a.size.is_some() && a.extents.is_some() {
        return Err(usage("Please specify either size or extents but not both."));
    }
    let req = if let Some(s) = &a.size {
        let v = units::parse_signed_size(s, 'm').map_err(bad_arg("--size", s))?;
        if v.sectors == 0 && v.sign == Sign::None {
            return Err(usage("--size may not be zero."));
        }
        Request::Size(v.sign, v.sectors)
    } else if let Some(e) = &a.extents {
        let (sign, spec) = units::parse_signed_extents(e).map_err(bad_arg("--extents", e))?;
        if sign == Sign::None && matches!(spec, ExtentSpec::Extents(0)) {
            return Err(usage("--extents may not be zero."));
        }
        Request::Extents(sign, spec)
    } else if a.use_policies {
        Request::Policy
    } else if kind == Kind::Extend && !a.pvs.is_empty() {
        // lvextend LV PV...: all the free space on those PVs.
        Request::Extents(
            Sign::Plus,
            ExtentSpec::Percent {
                pct: 100,
                of: PercentOf::Pvs,
            },
        )
    } else {
        return Err(usage(format!(
            "No command with matching syntax recognised.  Run '{name} --help' for more information."
        )));
    };
    let sign = match &req {
        Request::Size(s, _) | Request::Extents(s, _) => *s,
        Request::Policy => Sign::Plus,
    };
    match (kind, sign) {
        (Kind::Extend, Sign::Minus) => {
            Err(usage("Negative argument not permitted - use lvreduce."))
        }
        (Kind::Reduce, Sign::Plus) => Err(usage("Positive sign not permitted - use lvextend.")),
        _ => Ok(req),
    }
}

fn run(name: &str, kind: Kind, a: ResizeArgs) -> Result<(), CmdError> {
    let req = parse_request(name, kind, &a)?;
    match a.segtype.as_deref() {
        None | Some("linear") | Some("striped") | Some("error") | Some("zero") => {}
        Some(t) => return Err(super::common::unsupported_segtype(t)),
    }
    if a.stripes == Some(0) {
        return Err(usage("Number of stripes must be at least 1."));
    }
    let ctx = Ctx::new(&super::lv::with_autobackup(
        &a.common,
        a.autobackup.as_deref(),
    )?)?;
    let (vg_name, lv_name) = lv_arg(&a.lv)?;
    let (mut h, _guard) = ctx.load_vg_for_update(&vg_name)?;
    let vg_name = h.vg.name.clone();
    let full = format!("{vg_name}/{lv_name}");
    let Some(lv) = h.vg.lv(&lv_name) else {
        return Err(CmdError::Failed(format!(
            "Logical volume {lv_name} not found in volume group {vg_name}."
        )));
    };
    let role = h.vg.role(lv);
    if role == LvRole::SnapshotLink {
        return Err(CmdError::Failed(format!(
            "Can't resize internal logical volume {full}."
        )));
    }
    if snapshot::is_merging_origin(&h.vg, &lv_name) || snapshot::is_merging_cow(&h.vg, &lv_name) {
        return Err(CmdError::Failed(format!(
            "Cannot resize logical volume {full} while it is merging."
        )));
    }
    let cow_of =
        h.vg.snapshot_by_cow(&lv_name)
            .map(|s| (s.origin.extent_count(), s.chunk_size));
    let is_origin = h.vg.is_origin(&lv_name);
    let extent_size = h.vg.extent_size;
    let current = lv.extent_count();
    let (pvs, masked) = super::pvranges::pv_args(&h, &a.pvs)?;
    let dm = ctx.dm();
    let state = dm
        .as_ref()
        .map(|d| crate::dm::query::lv_state(d.kernel(), &h.vg, &lv_name))
        .unwrap_or_default();

    // The new size before stripe rounding.
    let mut percent = false;
    let mut new = match &req {
        Request::Size(sign, sectors) => {
            let mut ext = sectors / extent_size;
            let rest = sectors % extent_size;
            if rest != 0 {
                if *sign != Sign::Minus {
                    ext += 1;
                }
                ctx.print(format!(
                    "Rounding size to boundary between physical extents: {}.",
                    units::display_size(ext * extent_size)
                ));
            }
            apply_sign(*sign, current, ext, &full)?
        }
        Request::Extents(sign, ExtentSpec::Extents(n)) => apply_sign(*sign, current, *n, &full)?,
        Request::Extents(sign, ExtentSpec::Percent { pct, of }) => {
            percent = true;
            let base = match of {
                PercentOf::Vg => h.vg.pe_total(),
                PercentOf::Free => h.vg.pe_free(),
                PercentOf::Lv => current,
                PercentOf::Origin => match cow_of {
                    Some((o, _)) => o,
                    None => {
                        return Err(CmdError::Failed(
                            "Specified LV does not have an origin LV.".into(),
                        ))
                    }
                },
                PercentOf::Pvs => match &pvs {
                    Some(keys) => {
                        let v = masked.as_ref().unwrap_or(&h.vg);
                        v.pvs
                            .iter()
                            .filter(|p| keys.contains(&p.key))
                            .map(|p| p.pe_count.saturating_sub(v.pe_used_on(&p.key)))
                            .sum()
                    }
                    None => h.vg.pe_total(),
                },
            };
            let n = rz::percent_of(*pct, base, *sign != Sign::Minus);
            apply_sign(*sign, current, n, &full)?
        }
        Request::Policy => {
            let Some(n) = policy_extents(&ctx, &full, current, cow_of.is_some(), &state)? else {
                return Ok(());
            };
            current + n
        }
    };
    if new == 0 {
        return Err(CmdError::Failed(format!(
            "Unable to reduce {full} below 1 extent."
        )));
    }
    if let Some((origin, chunk)) = cow_of {
        let max = snapshot::cow_max_extents(origin, extent_size, chunk);
        if new > max {
            ctx.print(format!(
                "Reached maximum COW size {} ({max} extents).",
                units::display_size(max * extent_size)
            ));
            new = max;
        }
    }
    // -r with an unchanged size resizes only the filesystem (LVM2 too).
    if new == current && a.resizefs {
        return resize_fs_only(&ctx, &a, &full, &state, current * extent_size);
    }
    if new == current {
        return Err(CmdError::Failed(format!(
            "New size ({new} extents) matches existing size ({current} extents)."
        )));
    }
    let growing = new > current;

    // Space of a virtual type (`error`, `zero`): --type, else the type of
    // the last segment when no other is asked for (LVM2 extends with the
    // last segment's type); stripes are ignored, nothing is allocated.
    let virtual_type: Option<String> = match a.segtype.as_deref() {
        Some(t) if VIRTUAL_SEGTYPES.contains(&t) => Some(t.to_string()),
        Some(_) => None,
        None => {
            h.vg.lv(&lv_name)
                .and_then(|l| l.segments.last())
                .and_then(|s| s.virtual_type())
                .map(str::to_string)
        }
    };
    if growing && kind != Kind::Reduce {
        if let Some(t) = &virtual_type {
            if role != LvRole::Plain || is_origin {
                return Err(CmdError::Failed(format!(
                    "Cannot extend {full} with segment type {t}: only plain LVs can have it."
                )));
            }
            let before = h.vg.clone();
            let lv = h.vg.lv_mut(&lv_name).expect("found");
            lv.segments
                .push(Segment::new_virtual(t, current, new - current));
            alloc::merge_segments(&mut lv.segments);
            ctx.print(rz::size_changed_notice(&h.vg, &lv_name, current, new));
            let mut dm = dm;
            rz::resize(dm.as_mut(), &ctx, &mut h, &before, &lv_name)?;
            ctx.print(format!("Logical volume {full} successfully resized."));
            return Ok(());
        }
    }

    // Stripes of the space added, or of the segment the new end falls in.
    let (stripes, stripe_size) = if growing {
        let (last_stripes, last_size) = rz::stripes_at(h.vg.lv(&lv_name).expect("found"), current);
        let stripes = a.stripes.map(u64::from).unwrap_or(last_stripes);
        let size = if stripes > 1 {
            match &a.stripesize {
                Some(s) => {
                    let st = units::parse_stripe_size(s, extent_size)
                        .map_err(bad_arg("--stripesize", s))?;
                    if let Some(n) = st.notice {
                        ctx.print(n);
                    }
                    Some(st.sectors)
                }
                None => match last_size.filter(|_| last_stripes > 1) {
                    Some(ls) => {
                        ctx.print(format!(
                            "Using stripesize of last segment {}",
                            units::display_size(ls)
                        ));
                        Some(ls)
                    }
                    None => {
                        ctx.print(format!(
                            "Using default stripesize {}",
                            units::display_size(units::DEFAULT_STRIPE_SIZE)
                        ));
                        Some(units::DEFAULT_STRIPE_SIZE)
                    }
                },
            }
        } else {
            None
        };
        (stripes, size)
    } else {
        rz::stripes_at(h.vg.lv(&lv_name).expect("found"), new - 1)
    };
    let seg_start = if growing {
        current
    } else {
        rz::segment_start_at(h.vg.lv(&lv_name).expect("found"), new - 1)
    };
    let row = stripes * stripe_size.map_or(1, |s| (s / extent_size).max(1));
    let r = rz::round_to_stripes(new, current, seg_start, row, percent, h.vg.pe_free());
    if let Some(n) = r.notice {
        ctx.print(n);
    }
    let new = r.extents;
    match kind {
        Kind::Extend if new < current => {
            return Err(CmdError::Failed(format!(
                "New size given ({new} extents) not larger than existing size ({current} extents)"
            )))
        }
        Kind::Reduce if new > current => {
            return Err(CmdError::Failed(format!(
                "New size given ({new} extents) not less than existing size ({current} extents)"
            )))
        }
        _ => {}
    }
    if new == current {
        return Err(CmdError::Failed(format!(
            "New size ({new} extents) matches existing size ({current} extents)"
        )));
    }
    let growing = new > current;
    if !growing && is_origin {
        return Err(CmdError::Failed(
            "Snapshot origin volumes cannot be reduced in size yet.".into(),
        ));
    }
    if !growing && cow_of.is_some() && state.active {
        return Err(CmdError::Failed(format!(
            "Cannot reduce active snapshot {full}: its exceptions could be lost (deactivate its origin first)."
        )));
    }
    if a.resizefs && !state.active {
        return Err(CmdError::Failed(format!(
            "Logical volume {full} must be activated before resizing filesystem."
        )));
    }
    if a.resizefs && cow_of.is_some() {
        return Err(CmdError::Failed(format!(
            "Cannot resize the filesystem of snapshot {full}: its COW holds no filesystem."
        )));
    }

    // Reducing an active LV: LVM2's warning, and its question without -f.
    if !growing && state.active && !a.resizefs {
        ctx.warn(format!(
            "Reducing active{} logical volume to {}.",
            if state.open { " and open" } else { "" },
            units::display_size(new * extent_size)
        ));
        ctx.warn("THIS MAY DESTROY YOUR DATA (filesystem etc.)");
        if a.force == 0
            && !confirm(
                &ctx,
                &format!("Do you really want to reduce {full}? [y/n]: "),
            )
        {
            return Err(CmdError::Failed(format!(
                "Logical volume {full} NOT reduced."
            )));
        }
    }
    if a.resizefs {
        fsadm_check(&ctx, &a, &full)?;
        if !growing {
            fsadm_resize(&ctx, &a, &full, new * extent_size)?;
        }
    }

    let before = h.vg.clone();
    if growing {
        let lv = h.vg.lv(&lv_name).expect("found");
        let contiguous = a.alloc.as_deref() == Some("contiguous")
            || lv.allocation_policy.as_deref() == Some("contiguous");
        let areq = AllocRequest {
            extents: new - current,
            stripes: stripes as u32,
            stripe_size,
            pvs,
            contiguous,
        };
        let segs = alloc::extend(masked.as_ref().unwrap_or(&h.vg), lv, &areq)
            .map_err(|e| failed(e.for_lv(&lv_name)))?;
        let lv = h.vg.lv_mut(&lv_name).expect("found");
        lv.segments.extend(segs);
        alloc::merge_segments(&mut lv.segments);
    } else {
        rz::truncate(h.vg.lv_mut(&lv_name).expect("found"), new);
    }
    rz::follow_origin_size(&mut h.vg, &lv_name);
    ctx.print(rz::size_changed_notice(&h.vg, &lv_name, current, new));
    let mut dm = dm;
    rz::resize(dm.as_mut(), &ctx, &mut h, &before, &lv_name)?;
    if a.resizefs && growing {
        fsadm_resize(&ctx, &a, &full, new * extent_size)?;
    }
    ctx.print(format!("Logical volume {full} successfully resized."));
    Ok(())
}

/// `current` moved by `n` extents as `sign` says.
fn apply_sign(sign: Sign, current: u64, n: u64, full: &str) -> Result<u64, CmdError> {
    Ok(match sign {
        Sign::None => n,
        Sign::Plus => current.saturating_add(n),
        Sign::Minus if n >= current => {
            return Err(CmdError::Failed(format!(
                "Unable to reduce {full} below 1 extent."
            )))
        }
        Sign::Minus => current - n,
    })
}

/// `--use-policies`: extents to add to a snapshot whose usage reached
/// activation/snapshot_autoextend_threshold (by snapshot_autoextend_percent
/// of its size), or `None` when nothing is to be done.
fn policy_extents(
    ctx: &Ctx,
    full: &str,
    current: u64,
    is_cow: bool,
    state: &crate::dm::state::LvKernelState,
) -> Result<Option<u64>, CmdError> {
    if !is_cow {
        return Err(CmdError::Failed(format!(
            "Policy-based resize is supported only for snapshot volumes: {full}."
        )));
    }
    let threshold = ctx
        .conf
        .get_int("activation/snapshot_autoextend_threshold", 100);
    let pct = ctx
        .conf
        .get_int("activation/snapshot_autoextend_percent", 20);
    if threshold >= 100 {
        return Ok(None);
    }
    if pct <= 0 {
        return Err(CmdError::Failed(format!(
            "Can't extend {full} with snapshot autoextend percent set to 0%."
        )));
    }
    let used = state
        .snapshot
        .and_then(|s| s.percent_used())
        .ok_or_else(|| CmdError::Failed(format!("Cannot read the usage of snapshot {full}.")))?;
    if used < threshold.max(50) as f64 {
        return Ok(None);
    }
    Ok(Some(rz::percent_of(pct as u32, current, true).max(1)))
}

fn fsadm_path(ctx: &Ctx) -> String {
    ctx.conf
        .get_str("global/fsadm_executable", "/sbin/fsadm")
        .to_string()
}

/// Runs fsadm as LVM2 does (`_fsadm_cmd`): `fsadm [-v] [--dry-run] [-y]
/// [-f] check|resize DEV [SIZEk]`; returns its exit status.
fn fsadm(ctx: &Ctx, a: &ResizeArgs, full: &str, args: &[String]) -> Result<i32, CmdError> {
    let path = fsadm_path(ctx);
    if !std::path::Path::new(&path).exists() {
        return Err(CmdError::Failed(format!(
            "Cannot resize the filesystem of {full}: fsadm not found ({path})."
        )));
    }
    let mut cmd = std::process::Command::new(&path);
    if a.common.verbose > 0 {
        cmd.arg("-v");
    }
    if a.common.test {
        cmd.arg("--dry-run");
    }
    if a.common.yes {
        cmd.arg("-y");
    }
    if a.force > 0 {
        cmd.arg("-f");
    }
    cmd.args(args);
    let st = cmd
        .status()
        .map_err(|e| CmdError::Failed(format!("Failed to run {path} for {full}: {e}")))?;
    Ok(st.code().unwrap_or(1))
}

fn lv_dev(ctx: &Ctx, full: &str) -> String {
    format!("{}/{full}", ctx.conf.dev_dir().display())
}

fn fsadm_check(ctx: &Ctx, a: &ResizeArgs, full: &str) -> Result<(), CmdError> {
    if a.nofsck {
        return Ok(());
    }
    // fsadm exits 3 when the filesystem is mounted: nothing to check then.
    match fsadm(ctx, a, full, &["check".into(), lv_dev(ctx, full)])? {
        0 | 3 => Ok(()),
        _ => Err(CmdError::Failed("Filesystem check failed.".into())),
    }
}

fn fsadm_resize(ctx: &Ctx, a: &ResizeArgs, full: &str, sectors: u64) -> Result<(), CmdError> {
    let size = format!("{}K", sectors / 2);
    match fsadm(ctx, a, full, &["resize".into(), lv_dev(ctx, full), size])? {
        0 => Ok(()),
        _ => Err(CmdError::Failed("Filesystem resize failed.".into())),
    }
}

fn resize_fs_only(
    ctx: &Ctx,
    a: &ResizeArgs,
    full: &str,
    state: &crate::dm::state::LvKernelState,
    sectors: u64,
) -> Result<(), CmdError> {
    if !state.active {
        return Err(CmdError::Failed(format!(
            "Logical volume {full} must be activated before resizing filesystem."
        )));
    }
    ctx.print(format!(
        "New size of {full} matches its existing size: resizing its filesystem only."
    ));
    fsadm_check(ctx, a, full)?;
    fsadm_resize(ctx, a, full, sectors)?;
    ctx.print(format!("Logical volume {full} successfully resized."));
    Ok(())
}
