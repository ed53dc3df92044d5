//! Everything the commands ask of the kernel: activation, deactivation,
//! refresh, and the table changes that go with metadata changes
//! (lvcreate, lvremove, lvchange -p). Commands decide the order of
//! metadata commits and kernel changes here; plans come from
//! `dm::plan` and the only kernel calls are `dm::exec::execute_with`.
//!
//! Order, as LVM2 keeps it: a new LV is committed, then activated (and
//! dropped from metadata again if activation fails); an LV is deactivated
//! before it leaves the metadata; a snapshot is added by committing the
//! new metadata and then reloading the origin's stack.

use std::collections::BTreeMap;

use crate::dm::exec::{execute_with, Kernel};
use crate::dm::kernel::DmKernel;
use crate::dm::nodes::Nodes;
use crate::dm::plan::{self, format_plan, Op};
use crate::dm::query::lv_state_in;
use crate::dm::state::KernelDevice;
use crate::dm::target::DevNum;
use crate::dm::tree::PvDevices;
use crate::metadata::device::{BlockDev, FileDev};
use crate::metadata::model::{LvRole, SegmentKind, Vg};
use crate::metadata::store::{self, VgHandle};

use super::common::{failed, CmdError, Ctx};
use super::report::{KernelFacts, LvKernelFacts};
use super::vg::VgchangeArgs;

/// An open connection to device-mapper plus how /dev nodes are made.
struct Dm {
    kernel: DmKernel,
    nodes: Nodes,
}

/// Opens device-mapper unless lvm.conf says `global/activation = 0`;
/// `None` when the kernel has no device-mapper.
fn open_dm(ctx: &Ctx) -> Option<Dm> {
    if !ctx.conf.activation() {
        return None;
    }
    // --noudevsync only stops the waiting; udev's rules still make the
    // nodes (as with LVM2), so nodes are never made twice.
    let udev_rules = ctx.conf.udev_rules();
    // udev_sync = 0 / --noudevsync: never wait for udev (kernel.rs).
    let udev_sync = ctx.conf.udev_sync() && !ctx.common.noudevsync;
    let kernel = DmKernel::open(udev_rules).ok()?.with_udev_sync(udev_sync);
    Some(Dm {
        kernel,
        nodes: Nodes::for_system(udev_rules),
    })
}

fn require_dm(ctx: &Ctx) -> Result<Dm, CmdError> {
    if !ctx.conf.activation() {
        return Err(CmdError::Failed(
            "Activation is disabled by configuration (global/activation = 0).".into(),
        ));
    }
    open_dm(ctx).ok_or_else(|| {
        CmdError::Failed(
            "Failure to communicate with kernel device-mapper driver.\n  Check that device-mapper is available in the kernel.".into(),
        )
    })
}

fn list(dm: &Dm) -> Result<Vec<KernelDevice>, CmdError> {
    dm.kernel.list().map_err(failed)
}

/// Device numbers of the VG's PVs, from the paths the scan found.
fn pv_devices(h: &VgHandle) -> PvDevices {
    let mut out = PvDevices::new();
    for (key, path) in &h.pv_paths {
        if let Ok(st) = nix::sys::stat::stat(path.as_str()) {
            let rdev = st.st_rdev;
            out.insert(
                key.clone(),
                DevNum {
                    major: nix::sys::stat::major(rdev) as u32,
                    minor: nix::sys::stat::minor(rdev) as u32,
                },
            );
        }
    }
    out
}

/// Runs a plan (or prints it in test mode). Interactive interrupts
/// (SIGINT, SIGHUP, SIGQUIT) are held back while it runs, as LVM2 does
/// around its critical sections, so a Ctrl-C cannot stop rlvm between a
/// suspend and its resume; they are delivered when the plan (or its undo)
/// has finished. SIGTERM is left alone: it is how supervisors (and
/// `timeout`) stop a command stuck on a udev cookie nobody completes.
fn run(ctx: &Ctx, dm: &mut Dm, ops: &[Op]) -> Result<(), CmdError> {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal};
    if ops.is_empty() {
        return Ok(());
    }
    ctx.verbose(2, format!("Device-mapper plan:\n{}", format_plan(ops)));
    if ctx.common.test {
        return Ok(());
    }
    let mut held = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGHUP, Signal::SIGQUIT] {
        held.add(s);
    }
    let mut previous = SigSet::empty();
    let blocked =
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&held), Some(&mut previous))
            .is_ok();
    let result = execute_with(&mut dm.kernel, ops, &dm.nodes).map_err(failed);
    if blocked {
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
    }
    result
}

/// The kernel's view of every LV in the VG.
pub fn kernel_states(ctx: &Ctx, h: &VgHandle) -> KernelFacts {
    let mut out = BTreeMap::new();
    let dm = open_dm(ctx);
    let devices = dm.as_ref().and_then(|d| d.kernel.list().ok());
    for lv in &h.vg.lvs {
        let facts = match (&dm, &devices) {
            (Some(dm), Some(devs)) => {
                let state = lv_state_in(&dm.kernel, devs, &h.vg, &lv.name);
                let uuid = crate::dm::names::dm_uuid(&h.vg.id, &lv.id, None);
                let device = devs
                    .iter()
                    .find(|d| d.uuid.as_deref() == Some(uuid.as_str()))
                    .map(|d| (d.dev.major, d.dev.minor));
                LvKernelFacts {
                    state,
                    device,
                    read_ahead: device.and_then(kernel_read_ahead),
                }
            }
            _ => LvKernelFacts::default(),
        };
        out.insert(lv.name.clone(), facts);
    }
    out
}

/// The read-ahead the kernel uses for a device, in sectors (what
/// lvdisplay's "currently set to" shows), from sysfs.
fn kernel_read_ahead((major, minor): (u32, u32)) -> Option<u64> {
    let path = format!("/sys/dev/block/{major}:{minor}/queue/read_ahead_kb");
    let kb: u64 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    Some(kb * 2)
}

/// Visible LVs whose device is open (vgdisplay's "Open LV").
pub fn open_lv_count(ctx: &Ctx, h: &VgHandle) -> u32 {
    kernel_states(ctx, h)
        .iter()
        .filter(|(name, f)| f.state.open && h.vg.lv(name).is_some_and(|l| h.vg.lv_is_visible(l)))
        .count() as u32
}

/// Whether any LV of the VG has a device in the kernel.
pub fn any_lv_active(ctx: &Ctx, vg: &Vg) -> bool {
    let Some(dm) = open_dm(ctx) else {
        return false;
    };
    let Ok(devs) = dm.kernel.list() else {
        return false;
    };
    let prefix = format!("LVM-{}", vg.id.as_raw_str());
    devs.iter()
        .any(|d| d.uuid.as_deref().is_some_and(|u| u.starts_with(&prefix)))
}

/// vgremove: deactivate every LV first.
pub fn deactivate_all_for_removal(ctx: &Ctx, h: &VgHandle) -> Result<(), CmdError> {
    let Some(mut dm) = open_dm(ctx) else {
        return Ok(());
    };
    let ops = plan::plan_deactivate_vg(&h.vg, &list(&dm)?).map_err(failed)?;
    run(ctx, &mut dm, &ops)
}

/// Activation mode from `-a`: Some(true) activate, Some(false) deactivate;
/// `auto` for `-aay`.
fn parse_mode(mode: &str) -> Result<(bool, bool), CmdError> {
    match mode {
        "y" | "ey" | "ly" | "sy" => Ok((true, false)),
        "ay" => Ok((true, true)),
        "n" | "en" | "ln" | "an" | "sn" => Ok((false, false)),
        other => Err(super::common::usage(format!(
            "Invalid argument for --activate: {other}"
        ))),
    }
}

/// LVM2's `volume_list` / `auto_activation_volume_list` match: entries are
/// `vg`, `vg/lv`, `@tag` (VG or LV tag) or `@*` (host tags: not supported,
/// never matches).
fn list_allows(list: &[String], vg: &Vg, lv: &str) -> bool {
    let lv_tags = vg.lv(lv).map(|l| l.tags.clone()).unwrap_or_default();
    list.iter().any(|e| {
        if let Some(tag) = e.strip_prefix('@') {
            vg.tags.iter().any(|t| t == tag) || lv_tags.iter().any(|t| t == tag)
        } else if let Some((v, l)) = e.split_once('/') {
            v == vg.name && l == lv
        } else {
            e == &vg.name
        }
    })
}

/// Whether `lv` may be activated by this command.
fn may_activate(ctx: &Ctx, vg: &Vg, lv: &str, auto: bool) -> bool {
    if let Some(list) = ctx.conf.volume_list() {
        if !list_allows(&list, vg, lv) {
            ctx.verbose(
                1,
                format!(
                    "Not activating {}/{lv} since it does not pass activation filter.",
                    vg.name
                ),
            );
            return false;
        }
    }
    if auto {
        if vg.flags.has("NOAUTOACTIVATE")
            || vg.lv(lv).is_some_and(|l| l.flags.has("NOAUTOACTIVATE"))
        {
            return false;
        }
        if let Some(list) = ctx.conf.auto_activation_volume_list() {
            if !list_allows(&list, vg, lv) {
                return false;
            }
        }
    }
    if vg.lv(lv).is_some_and(|l| l.flags.has("ACTIVATION_SKIP")) {
        return false;
    }
    true
}

/// The LVs `vgchange -ay` activates: visible plain LVs and origins (a
/// snapshot comes with its origin's stack).
fn top_level_lvs(vg: &Vg) -> Vec<String> {
    vg.lvs
        .iter()
        .filter(|l| vg.role(l) == LvRole::Plain && vg.lv_is_visible(l))
        .map(|l| l.name.clone())
        .collect()
}

fn active_count(vg: &Vg, devs: &[KernelDevice]) -> usize {
    vg.lvs
        .iter()
        .filter(|l| vg.lv_is_visible(l))
        .filter(|l| {
            let u = crate::dm::names::dm_uuid(&vg.id, &l.id, None);
            devs.iter().any(|d| d.uuid.as_deref() == Some(u.as_str()))
        })
        .count()
}

pub fn vgchange_activate(
    ctx: &Ctx,
    vg_name: &str,
    mode: &str,
    _a: &VgchangeArgs,
) -> Result<(), CmdError> {
    let (on, auto) = parse_mode(mode)?;
    let mut dm = require_dm(ctx)?;
    let _l = ctx.lock_vg(vg_name, false)?;
    let h = ctx.scan()?.vg(vg_name).map_err(failed)?;
    let pvs = pv_devices(&h);
    if on {
        // Like LVM2: complete LVs come up, LVs on missing PVs are refused
        // by the planner ("Refusing activation of partial LV").
        for w in &h.warnings {
            ctx.warn(w);
        }
        let mut result = Ok(());
        for lv in top_level_lvs(&h.vg) {
            if !may_activate(ctx, &h.vg, &lv, auto) {
                continue;
            }
            let step = plan::plan_activate(&h.vg, &lv, &pvs, &list(&dm)?)
                .map_err(failed)
                .and_then(|ops| run(ctx, &mut dm, &ops));
            if let Err(e) = step {
                if let CmdError::Failed(m) = &e {
                    ctx.error(m);
                }
                result = Err(CmdError::Failed(String::new()));
            }
        }
        let n = active_count(&h.vg, &list(&dm)?);
        ctx.print(format!(
            "{n} logical volume(s) in volume group \"{vg_name}\" now active"
        ));
        result
    } else {
        let ops = plan::plan_deactivate_vg(&h.vg, &list(&dm)?).map_err(failed)?;
        run(ctx, &mut dm, &ops)?;
        let n = active_count(&h.vg, &list(&dm)?);
        ctx.print(format!(
            "{n} logical volume(s) in volume group \"{vg_name}\" now active"
        ));
        Ok(())
    }
}

pub fn vgchange_refresh(ctx: &Ctx, vg_name: &str) -> Result<(), CmdError> {
    let mut dm = require_dm(ctx)?;
    let _l = ctx.lock_vg(vg_name, false)?;
    let h = ctx.scan()?.vg(vg_name).map_err(failed)?;
    let pvs = pv_devices(&h);
    for lv in top_level_lvs(&h.vg) {
        let ops = plan::plan_refresh(&h.vg, &lv, &pvs, &list(&dm)?).map_err(failed)?;
        run(ctx, &mut dm, &ops)?;
    }
    Ok(())
}

pub fn lvchange_activate(ctx: &Ctx, vg_name: &str, lv: &str, mode: &str) -> Result<(), CmdError> {
    let (on, auto) = parse_mode(mode)?;
    let mut dm = require_dm(ctx)?;
    let _l = ctx.lock_vg(vg_name, false)?;
    let h = ctx.scan()?.vg(vg_name).map_err(failed)?;
    if h.vg.lv(lv).is_none() {
        return Err(CmdError::Failed(format!(
            "Failed to find logical volume \"{vg_name}/{lv}\""
        )));
    }
    let ops = if on {
        if !may_activate(ctx, &h.vg, lv, auto) {
            return Ok(());
        }
        plan::plan_activate(&h.vg, lv, &pv_devices(&h), &list(&dm)?).map_err(failed)?
    } else {
        plan::plan_deactivate(&h.vg, lv, &list(&dm)?).map_err(failed)?
    };
    run(ctx, &mut dm, &ops)
}

pub fn lvchange_refresh(ctx: &Ctx, vg_name: &str, lv: &str) -> Result<(), CmdError> {
    let mut dm = require_dm(ctx)?;
    let _l = ctx.lock_vg(vg_name, false)?;
    let h = ctx.scan()?.vg(vg_name).map_err(failed)?;
    let ops = plan::plan_refresh(&h.vg, lv, &pv_devices(&h), &list(&dm)?).map_err(failed)?;
    run(ctx, &mut dm, &ops)
}

/// Writes zeros over the first 4 KiB of an LV (LVM2's default `-Zy`), or
/// over the first chunk of a new COW so the kernel sees an empty
/// exception store. Written on the PV where LE 0 lives, before any
/// device-mapper device exists for the LV.
fn zero_lv_start(ctx: &Ctx, h: &VgHandle, lv: &str, bytes: u64) -> Result<(), CmdError> {
    if ctx.common.test {
        return Ok(());
    }
    let Some(l) = h.vg.lv(lv) else {
        return Ok(());
    };
    let Some(seg) = l.segments.first() else {
        return Ok(());
    };
    let SegmentKind::Striped {
        stripes,
        stripe_size,
    } = &seg.kind
    else {
        return Ok(());
    };
    let Some(area) = stripes.first() else {
        return Ok(());
    };
    let Some(pv) = h.vg.pv(&area.pv) else {
        return Ok(());
    };
    let Some(path) = h.pv_path(&area.pv) else {
        return Err(CmdError::Failed(format!(
            "PV {} of {lv} is missing.",
            area.pv
        )));
    };
    // With stripes, the first stripe-size piece is on the first area.
    let len = match stripe_size {
        Some(ss) if stripes.len() > 1 => bytes.min(ss * 512),
        _ => bytes,
    };
    let offset = (pv.pe_start + area.pe * h.vg.extent_size) * 512;
    let dev = FileDev::open(path, true).map_err(|e| failed(format!("{path}: {e}")))?;
    dev.write_at(offset, &vec![0u8; len as usize])
        .and_then(|_| dev.sync())
        .map_err(|e| failed(format!("Failed to wipe start of {}/{lv}: {e}", h.vg.name)))
}

/// lvcreate: `h.vg` already holds the new LV (and, for a snapshot, its
/// `snapshotN` link); `before` is the VG without it.
pub fn create_and_activate(
    ctx: &Ctx,
    h: &mut VgHandle,
    before: &Vg,
    name: &str,
    zero: bool,
) -> Result<(), CmdError> {
    let mut dm = require_dm(ctx)?;
    let is_snapshot = h.vg.role(
        h.vg.lv(name)
            .ok_or_else(|| failed("internal: new LV missing"))?,
    ) == LvRole::Cow;
    if is_snapshot {
        // The COW must read as an empty store: zero its first chunk area
        // (header + first metadata area), whatever -Z says.
        let chunk =
            h.vg.snapshot_by_cow(name)
                .map(|s| s.chunk_size)
                .unwrap_or(8);
        zero_lv_start(ctx, h, name, (2 * chunk * 512).max(4096))?;
    } else if zero {
        zero_lv_start(ctx, h, name, 4096)?;
    } else {
        ctx.warn(format!("Logical volume {}/{name} not zeroed.", h.vg.name));
    }
    ctx.commit(h, &store::command_line())?;
    let pvs = pv_devices(h);
    let kernel_now = list(&dm)?;
    let ops = if is_snapshot {
        let ops = plan::plan_add_snapshot(before, &h.vg, name, &pvs, &kernel_now);
        match ops {
            Ok(ops) if !ops.is_empty() => Ok(ops),
            Ok(_) => plan::plan_activate(&h.vg, name, &pvs, &kernel_now),
            Err(e) => Err(e),
        }
    } else {
        plan::plan_activate(&h.vg, name, &pvs, &kernel_now)
    };
    let result = ops.map_err(failed).and_then(|ops| run(ctx, &mut dm, &ops));
    result.map_err(|e| {
        // Take the new LV out of the metadata again (LVM2 does the same).
        revert_metadata(
            ctx,
            h,
            before,
            e,
            &format!(
                "Aborting. Failed to activate new LV {}/{name}.",
                before.name
            ),
        )
    })
}

/// After a kernel step failed (and the executor undid its part), commits
/// `before` again so metadata and kernel agree, and returns the error with
/// `what` appended.
fn revert_metadata(
    ctx: &Ctx,
    h: &mut VgHandle,
    before: &Vg,
    err: CmdError,
    what: &str,
) -> CmdError {
    let mut revert = before.clone();
    revert.seqno = h.vg.seqno;
    h.vg = revert;
    if let Err(e2) = ctx.commit(h, &store::command_line()) {
        ctx.error(format!("Failed to revert metadata: {e2:?}"));
    }
    let msg = match err {
        CmdError::Failed(m) => m,
        other => format!("{other:?}"),
    };
    CmdError::Failed(format!("{msg}\n  {what}"))
}

/// lvremove: `h.vg` no longer holds `removed`; `before` does.
pub fn remove_lvs(
    ctx: &Ctx,
    h: &mut VgHandle,
    before: &Vg,
    removed: &[String],
    _force: bool,
) -> Result<(), CmdError> {
    if let Some(mut dm) = open_dm(ctx) {
        let pvs = pv_devices(h);
        let kernel_now = list(&dm)?;
        // The last name is the LV asked for; the others are its snapshots.
        let Some(target) = removed.last() else {
            return Ok(());
        };
        let ops = match before.lv(target).map(|l| before.role(l)) {
            Some(LvRole::Cow) => {
                // A snapshot: refuse if open, else reload the origin's stack.
                let snap_dev = crate::dm::names::dm_name(&before.name, target, None);
                if kernel_now
                    .iter()
                    .any(|d| d.name == snap_dev && d.open_count > 0)
                {
                    return Err(CmdError::Failed(format!(
                        "Logical volume {}/{target} in use.",
                        before.name
                    )));
                }
                plan::plan_remove_snapshot(before, &h.vg, target, &pvs, &kernel_now)
                    .map_err(failed)?
            }
            _ => plan::plan_deactivate(before, target, &kernel_now).map_err(failed)?,
        };
        run(ctx, &mut dm, &ops)?;
    }
    ctx.commit(h, &store::command_line())
}

/// lvrename: `h.vg` has the new names, `before` the old ones. Commit the
/// metadata, then rename the active family's devices (DM_DEV_RENAME, the
/// UUIDs stay) and move their /dev nodes and links. If the kernel refuses,
/// the executor renames back what it renamed and the old metadata is
/// committed again.
pub fn rename_lv(
    ctx: &Ctx,
    h: &mut VgHandle,
    before: &Vg,
    old: &str,
    new: &str,
) -> Result<(), CmdError> {
    let Some(mut dm) = open_dm(ctx) else {
        return ctx.commit(h, &store::command_line());
    };
    let ops =
        plan::plan_rename(before, &h.vg, old, new, &pv_devices(h), &list(&dm)?).map_err(failed)?;
    ctx.commit(h, &store::command_line())?;
    run(ctx, &mut dm, &ops).map_err(|e| {
        revert_metadata(
            ctx,
            h,
            before,
            e,
            &format!(
                "Failed to rename {}/{old} to {new}: devices renamed back.",
                before.name
            ),
        )
    })
}

/// lvchange -p: commit, then reload the active tables read-only or
/// read-write.
pub fn change_permission(
    ctx: &Ctx,
    h: &mut VgHandle,
    before: &Vg,
    lv: &str,
) -> Result<(), CmdError> {
    ctx.commit(h, &store::command_line())?;
    if let Some(mut dm) = open_dm(ctx) {
        let pvs = pv_devices(h);
        let ops = plan::plan_update(before, &h.vg, lv, &pvs, &list(&dm)?).map_err(failed)?;
        run(ctx, &mut dm, &ops)?;
    }
    Ok(())
}
