//! Activation as the commands ask for it (vgchange, lvchange, pvscan):
//! `-a` modes, lvm.conf's filters, LVM2's messages, and whether merges
//! that activation started get a background poller (`--poll`,
//! `--sysinit`). The work itself is `ops::activate`.

use std::ffi::OsString;

use clap::Parser;

use crate::metadata::id::Id;
use crate::metadata::store::VgHandle;
use crate::ops::activate::{self as act, Filter};

use super::common::{failed, parse, vg_arg, CmdError, CommonArgs, Ctx};
use super::poll;
use super::vgselect as select;

/// Activation mode from `-a`: (activate?, auto?).
pub fn parse_mode(mode: &str) -> Result<(bool, bool), CmdError> {
    match mode {
        "y" | "ey" | "ly" | "sy" => Ok((true, false)),
        "ay" => Ok((true, true)),
        "n" | "en" | "ln" | "an" | "sn" => Ok((false, false)),
        other => Err(super::common::usage(format!(
            "Invalid argument for --activate: {other}"
        ))),
    }
}

/// Whether a command starts pollers for merges it finds running: LVM2's
/// `background_polling()`: yes unless `--poll n` or `--sysinit`.
pub fn poll_wanted(poll: Option<&str>, sysinit: bool) -> Result<bool, CmdError> {
    match poll {
        _ if sysinit => Ok(false),
        None | Some("y") | Some("yes") => Ok(true),
        Some("n") | Some("no") => Ok(false),
        Some(other) => Err(super::common::usage(format!(
            "Invalid argument for --poll: {other}"
        ))),
    }
}

fn filter(ctx: &Ctx) -> Filter {
    Filter {
        volume_list: ctx.conf.volume_list(),
        auto_list: ctx.conf.auto_activation_volume_list(),
        ignore_activation_skip: ctx.ignore_activation_skip.get(),
    }
}

/// What every activation prints besides its own result: LVs a filter
/// skipped (verbose) and what an interrupted command had left and this one
/// repaired (always, and only when something was).
fn report(ctx: &Ctx, vg: &str, out: &act::Activated) {
    for lv in &out.skipped {
        ctx.verbose(
            1,
            format!("Not activating {vg}/{lv} since it does not pass activation filter."),
        );
    }
    for r in &out.repaired {
        ctx.print(r);
    }
}

/// LVM2 activates nothing in a VG with a PV on duplicate devices (which
/// device holds the data is the user's call: a filter, or removing the
/// clone), before it talks to the kernel (`vgchange_activate` and
/// `_lvchange_activate` in tools/, via `lvmcache_has_duplicate_devs`).
/// Deactivation stays allowed.
fn no_duplicates(h: &VgHandle) -> Result<(), CmdError> {
    if h.duplicates.is_empty() {
        Ok(())
    } else {
        Err(CmdError::Failed(format!(
            "Cannot activate LVs in VG {} while PVs appear on duplicate devices.",
            h.vg.name
        )))
    }
}

/// The LVs whose devices an activation of `lv` brings up: the LV and, for
/// an origin, its snapshots.
pub fn family(h: &VgHandle, lv: &str) -> Vec<String> {
    let mut v = vec![lv.to_string()];
    v.extend(h.vg.snapshots_of(lv).iter().map(|s| s.cow.name.clone()));
    v
}

/// Sets the read-ahead of `lvs`' devices (LVM2 does after each resume);
/// a refusal is a warning, as in LVM2.
pub fn read_ahead(ctx: &Ctx, dm: &crate::ops::Dm, h: &VgHandle, lvs: &[String]) {
    warn_read_ahead(ctx, h, act::apply_read_ahead(dm, h, lvs));
}

/// The warnings for the LVs whose read-ahead could not be set.
fn warn_read_ahead(ctx: &Ctx, h: &VgHandle, failed: Vec<(String, std::io::Error)>) {
    for (lv, e) in failed {
        ctx.warn(format!(
            "Failed to set read ahead of {}/{lv}: {e}",
            h.vg.name
        ));
    }
}

/// Whether LVs with missing parts are activated (`--activationmode
/// partial`, `-P|--partial`, else lvm.conf `activation/activation_mode`).
pub fn partial_mode(ctx: &Ctx, partial: bool, mode: Option<&str>) -> Result<bool, CmdError> {
    let m = match mode {
        Some(m) => m.to_string(),
        None if partial => "partial".to_string(),
        None => ctx
            .conf
            .get_str("activation/activation_mode", "degraded")
            .to_string(),
    };
    match m.as_str() {
        "partial" => {
            ctx.warn("PARTIAL MODE. Incomplete logical volumes will be processed.");
            Ok(true)
        }
        "complete" | "degraded" => Ok(false),
        other => Err(super::common::usage(format!(
            "Invalid activation mode given: {other}."
        ))),
    }
}

/// The VG as activation sees it: in partial mode, what lies on missing
/// PVs maps to `error` (`dm::tree::with_missing_as_error`).
fn as_activated(h: VgHandle, partial: bool) -> VgHandle {
    if !partial || h.missing.is_empty() {
        return h;
    }
    let mut p = h;
    p.vg = crate::dm::tree::with_missing_as_error(&p.vg, &crate::ops::pv_devices(&p)).into();
    p
}

/// The VG an activation works on: by UUID when the caller walked VGs by
/// key (several may share a name). A deactivation may read a foreign VG
/// whose LVs are active here, as LVM2 lets them be deactivated.
///
/// Under the VG's lock the devices the command's first scan enumerated are
/// read again, not enumerated anew (`Ctx::rescan`: a dm listing, /sys/block
/// and the filters saved, ~8 ms of `vgchange -ay` at 100 LVs in the test
/// VM). A VG that read does not find, or finds with a PV missing, is looked
/// for once more with a full scan, as LVM2 scans again when its cache
/// disagrees with the metadata: a PV that another command added to the VG
/// between the two scans, on a device the first one did not see, is found.
fn read_vg(ctx: &Ctx, name: &str, id: Option<&Id>, on: bool) -> Result<VgHandle, CmdError> {
    let quick = ctx.rescan()?;
    let read = match select::read_to_activate(ctx, &quick, name, id, on) {
        Ok(read) if read.0.missing.is_empty() => read,
        _ => {
            drop(quick);
            let scan = ctx.scan()?;
            select::read_to_activate(ctx, &scan, name, id, on).map_err(failed)?
        }
    };
    let (h, foreign) = read;
    if foreign {
        select::warn_active_foreign(ctx, &h);
    }
    Ok(h)
}

/// `vgchange -a MODE VG` (and pvscan's autoactivation).
pub fn vgchange_activate(ctx: &Ctx, vg_name: &str, mode: &str, poll: bool) -> Result<(), CmdError> {
    let partial = mode.ends_with('y') && partial_mode(ctx, false, None)?;
    vgchange_activate_mode(ctx, vg_name, None, mode, poll, partial)
}

/// `vgchange -a MODE VG` (the one with UUID `vg_id` when given), LVs with
/// missing parts activated when `partial` (see [`partial_mode`]).
pub fn vgchange_activate_mode(
    ctx: &Ctx,
    vg_name: &str,
    vg_id: Option<&Id>,
    mode: &str,
    poll: bool,
    partial: bool,
) -> Result<(), CmdError> {
    let (on, auto) = parse_mode(mode)?;
    let _l = ctx.lock_vg(vg_name, false)?;
    let h = as_activated(read_vg(ctx, vg_name, vg_id, on)?, partial && on);
    if on {
        if let Err(CmdError::Failed(m)) = no_duplicates(&h) {
            ctx.error(m);
            ctx.print(format!(
                "0 logical volume(s) in volume group \"{vg_name}\" now active"
            ));
            return Err(CmdError::Failed(String::new()));
        }
    }
    let mut dm = ctx.require_dm()?;
    if !on {
        let out = act::deactivate_vg(&mut dm, &h.vg)?;
        report(ctx, vg_name, &out);
        ctx.print(format!(
            "{} logical volume(s) in volume group \"{vg_name}\" now active",
            out.active
        ));
        return Ok(());
    }
    // Like LVM2: complete LVs come up, LVs on missing PVs are refused by
    // the planner ("Refusing activation of partial LV").
    for w in &h.warnings {
        ctx.warn(w);
    }
    let out = act::activate_vg(&mut dm, ctx, &h, &filter(ctx), auto)?;
    report(ctx, vg_name, &out);
    crate::metadata::phase::mark("act-reported");
    // The LVs this command brought up; one already active is left alone,
    // as LVM2 leaves it.
    warn_read_ahead(
        ctx,
        &h,
        act::apply_read_ahead_created(&dm, &h, &out.created),
    );
    for (_, e) in &out.failed {
        ctx.error(e);
    }
    crate::metadata::phase::mark("act-read-ahead");
    if poll {
        poll::start_background(ctx, vg_name, &out.merging);
    }
    crate::metadata::phase::mark("act-pollers");
    ctx.print(format!(
        "{} logical volume(s) in volume group \"{vg_name}\" now active",
        out.active
    ));
    if out.failed.is_empty() {
        Ok(())
    } else {
        Err(CmdError::Failed(String::new()))
    }
}

/// `vgchange --refresh VG`.
pub fn vgchange_refresh(ctx: &Ctx, vg_name: &str, poll: bool) -> Result<(), CmdError> {
    let mut dm = ctx.require_dm()?;
    let _l = ctx.lock_vg(vg_name, false)?;
    let h = ctx.scan()?.vg(vg_name).map_err(failed)?;
    let out = act::refresh_vg(&mut dm, ctx, &h)?;
    report(ctx, vg_name, &out);
    if poll {
        poll::start_background(ctx, vg_name, &out.merging);
    }
    Ok(())
}

/// `vgchange --poll y VG`: the VG's devices repaired first (what a killed
/// command left would stop a merge from running or finishing), then
/// pollers for every merge running in the VG.
pub fn vgchange_poll(ctx: &Ctx, vg_name: &str) -> Result<(), CmdError> {
    let mut dm = ctx.require_dm()?;
    let _l = ctx.lock_vg(vg_name, false)?;
    let h = ctx.scan()?.vg(vg_name).map_err(failed)?;
    let out = act::reconcile_vg(&mut dm, ctx, &h)?;
    report(ctx, vg_name, &out);
    poll::start_background(ctx, vg_name, &out.merging);
    Ok(())
}

/// `lvchange -a MODE VG/LV`.
pub fn lvchange_activate(
    ctx: &Ctx,
    vg_name: &str,
    lv: &str,
    mode: &str,
    poll: bool,
) -> Result<(), CmdError> {
    lvchange_activate_mode(ctx, vg_name, lv, mode, poll, false)
}

/// `lvchange -a MODE VG/LV`, with missing parts as `error` when `partial`.
pub fn lvchange_activate_mode(
    ctx: &Ctx,
    vg_name: &str,
    lv: &str,
    mode: &str,
    poll: bool,
    partial: bool,
) -> Result<(), CmdError> {
    let (on, auto) = parse_mode(mode)?;
    let _l = ctx.lock_vg(vg_name, false)?;
    let h = as_activated(read_vg(ctx, vg_name, None, on)?, partial && on);
    if on {
        no_duplicates(&h)?;
    }
    let mut dm = ctx.require_dm()?;
    if !on {
        let out = act::deactivate_lv(&mut dm, &h.vg, lv)?;
        report(ctx, vg_name, &out);
        return Ok(());
    }
    let out = act::activate_lv(&mut dm, ctx, &h, lv, &filter(ctx), auto)?;
    report(ctx, vg_name, &out);
    read_ahead(ctx, &dm, &h, &family(&h, lv));
    if poll {
        poll::start_background(ctx, vg_name, &out.merging);
    }
    Ok(())
}

/// `lvchange --refresh VG/LV`: a deferred merge starts here when nothing
/// is open.
pub fn lvchange_refresh(ctx: &Ctx, vg_name: &str, lv: &str, poll: bool) -> Result<(), CmdError> {
    let mut dm = ctx.require_dm()?;
    let _l = ctx.lock_vg(vg_name, false)?;
    let h = ctx.scan()?.vg(vg_name).map_err(failed)?;
    let out = act::refresh_lv(&mut dm, ctx, &h, lv)?;
    report(ctx, vg_name, &out);
    if poll {
        poll::start_background(ctx, vg_name, &out.merging);
    }
    Ok(())
}

/// `lvchange --poll y VG/LV`: the VG's devices repaired first, then a
/// poller for the LV's merge, if it runs.
pub fn lvchange_poll(ctx: &Ctx, vg_name: &str, lv: &str) -> Result<(), CmdError> {
    let mut dm = ctx.require_dm()?;
    let _l = ctx.lock_vg(vg_name, false)?;
    let h = ctx.scan()?.vg(vg_name).map_err(failed)?;
    let origin =
        h.vg.snapshot_by_cow(lv)
            .map(|s| s.origin.name.clone())
            .unwrap_or_else(|| lv.to_string());
    let out = act::reconcile_vg(&mut dm, ctx, &h)?;
    report(ctx, vg_name, &out);
    let merging: Vec<String> = out.merging.into_iter().filter(|o| *o == origin).collect();
    poll::start_background(ctx, vg_name, &merging);
    Ok(())
}

/// `vgmknodes [VG...]`: the kernel's devices of each VG reconciled with
/// its metadata (leftovers of interrupted commands repaired, tables of
/// active LVs reloaded where wrong) and its /dev nodes and links made or
/// removed to match.
pub fn vgmknodes_vg(ctx: &Ctx, vg_name: &str) -> Result<(), CmdError> {
    let mut dm = ctx.require_dm()?;
    let _l = ctx.lock_vg(vg_name, false)?;
    let h = ctx.scan()?.vg(vg_name).map_err(failed)?;
    let out = act::reconcile_vg(&mut dm, ctx, &h)?;
    report(ctx, vg_name, &out);
    Ok(())
}

#[derive(Parser, Debug)]
#[command(about = "Create the special files for volume group devices in /dev")]
pub(crate) struct VgmknodesArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Accepted for compatibility: rlvm always checks the active LVs' tables.
    #[arg(long = "refresh")]
    refresh: bool,
    /// VGs (default: all).
    #[arg(value_name = "VG")]
    vgs: Vec<String>,
}

pub fn vgmknodes(args: Vec<OsString>) -> Result<(), CmdError> {
    let a: VgmknodesArgs = parse("vgmknodes", args)?;
    let ctx = Ctx::new(&a.common)?;
    let names: Vec<String> = if a.vgs.is_empty() {
        ctx.scan()?.vg_names()
    } else {
        a.vgs.iter().map(|v| vg_arg(v)).collect()
    };
    let mut result = Ok(());
    for name in &names {
        if let Err(e) = vgmknodes_vg(&ctx, name) {
            if let CmdError::Failed(m) = &e {
                ctx.error(m);
            }
            result = Err(CmdError::Failed(String::new()));
        }
    }
    result
}
